"""Main-text extraction benchmark for web pages: qa.ingest.formats.html against trafilatura's defaults.

Reads the copy of the article-extraction benchmark in eval/benchmarks/article-extraction/ (121 pages
with a person's marking of each page's article body) and scores each extractor as that benchmark does:
`\\w+` tokens, word 4-gram shingles with counts, true positives the multiset overlap, false positives and
false negatives the excess on each side; the three counts of a page are normalised to sum to 1 (so a
long page weighs no more than a short one), averaged over pages, and precision, recall and F1 are taken
from the averages.

    python scripts/bench_html.py                  # ours and trafilatura's defaults
    python scripts/bench_html.py --grid           # also the settings grid behind qa.ingest.formats.html.SETTINGS
    python scripts/bench_html.py --json out.json
"""
from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from qa.evaluation.metrics import extraction_prf  # noqa: E402

BENCH = ROOT / "eval" / "benchmarks" / "article-extraction"


def score(preds: dict[str, str], truth: dict[str, str]) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in extraction_prf(preds, truth).items()}


def load() -> tuple[dict[str, bytes], dict[str, str]]:
    gt = json.loads((BENCH / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {k: gzip.decompress((BENCH / "html" / f"{k}.html.gz").read_bytes()) for k in gt}
    return pages, {k: v["articleBody"] for k, v in gt.items()}


def run(name: str, fn, pages: dict[str, bytes], truth: dict[str, str]) -> dict:
    preds, failed = {}, 0
    t0 = time.perf_counter()
    for k, html in pages.items():
        try:
            preds[k] = fn(html) or ""
        except Exception:
            preds[k], failed = "", failed + 1
    dt = time.perf_counter() - t0
    res = dict(score(preds, truth), name=name, seconds=round(dt, 2), pages_per_second=round(len(pages) / dt, 1),
               failed=failed)
    print(f"{name:44s} P {res['precision']:.4f}  R {res['recall']:.4f}  F1 {res['f1']:.4f}  "
          f"{res['pages_per_second']:6.1f} pages/s  failed {failed}", flush=True)
    return res


def ours(settings=None):
    from qa.ingest.formats import SkipFile
    from qa.ingest.formats.html import extract_html_bytes

    def fn(html: bytes) -> str:
        try:
            return extract_html_bytes(html, settings=settings).text
        except SkipFile:
            return ""
    return fn


def trafilatura_default(html: bytes) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", action="store_true", help="also score a grid of trafilatura settings")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    pages, truth = load()
    results = [
        run("trafilatura defaults (extract, txt)", trafilatura_default, pages, truth),
        run("qa.ingest.formats.html (SETTINGS)", ours(), pages, truth),
    ]
    if args.grid:
        base = {"include_comments": False, "include_tables": True, "favor_precision": False,
                "favor_recall": False, "fast": False}
        grid = [
            ("trafilatura defaults, comments dropped", {}),
            ("favor_precision", {"favor_precision": True}),
            ("favor_recall", {"favor_recall": True}),
            ("fast (no fallback extractors)", {"fast": True}),
            ("favor_precision + fast", {"favor_precision": True, "fast": True}),
            ("favor_recall + fast", {"favor_recall": True, "fast": True}),
            ("favor_recall + fast, no tables", {"favor_recall": True, "fast": True, "include_tables": False}),
        ]
        for label, s in grid:
            results.append(run(f"grid: {label}", ours(dict(base, **s)), pages, truth))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
