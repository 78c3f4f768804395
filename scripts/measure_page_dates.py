"""How the web-page extractor dates the 121 article-extraction pages: as served, and with every date
declaration taken out, so the fallbacks are put to the test against the date the page declared.

    .venv/bin/python scripts/measure_page_dates.py [--json OUT]

The figures are in docs/formats.md ("Dates"). A date more than a day off the declared one, a 1 January
of a year that only a copyright line gives, or the 1st of a month the page never writes with its day,
is a date taken from furniture.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
from collections import Counter
from pathlib import Path

import lxml.html

from qa.ingest.formats.html import _parse, extract_html_bytes
from qa.ingest.formats.html_dates import _COPYRIGHT, _states_day, declared_date
from qa.settings import PROJECT_ROOT

PAGES = PROJECT_ROOT / "eval" / "benchmarks" / "article-extraction"
DECLARATIONS = ('//meta | //script[@type="application/ld+json"] | //link[@rel="canonical"] | //*[@itemprop]'
                ' | //time | //*[@pubdate]')


def _furniture(date: str, html: str) -> dict[str, bool]:
    copyright_years = "".join(m.group(0) for m in _COPYRIGHT.finditer(html))
    return {"1 January of a copyright year": date.endswith("-01-01") and date[:4] in copyright_years,
            "the 1st of a month not written so": date.endswith("-01") and not _states_day(date, html)}


def _stripped(html: bytes) -> bytes:
    tree = lxml.html.fromstring(html)
    for el in tree.xpath(DECLARATIONS):
        if el.getparent() is not None:
            el.getparent().remove(el)
    return lxml.html.tostring(tree, encoding="unicode").encode("utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None, help="write each page's dates")
    args = ap.parse_args()
    counts: Counter = Counter()
    rows = {}
    for key in sorted(json.loads((PAGES / "ground-truth.json").read_text(encoding="utf-8"))):
        html = gzip.decompress((PAGES / "html" / f"{key}.html.gz").read_bytes())
        text = html.decode("utf-8", "replace")
        served = extract_html_bytes(html).date
        declared = declared_date(_parse(html))
        counts["served: dated"] += served is not None
        for what, hit in (_furniture(served, text) if served else {}).items():
            counts[f"served: {what}"] += hit
        fallback = None
        if declared:
            counts["declared: pages"] += 1
            fallback = extract_html_bytes(_stripped(html)).date
            counts["declarations removed: dated"] += fallback is not None
            if fallback:
                off = abs((dt.date.fromisoformat(fallback) - dt.date.fromisoformat(declared)).days)
                counts["declarations removed: within a day of the declared date"] += off <= 1
                counts["declarations removed: more than a day off"] += off > 1
                for what, hit in _furniture(fallback, text).items():
                    counts[f"declarations removed: {what}"] += hit
        rows[key] = {"served": served, "declared": declared, "declarations_removed": fallback}
    for k in sorted(counts):
        print(f"{k:60s} {counts[k]}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
