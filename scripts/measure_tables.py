"""Cell accuracy of the table extraction on TAT-QA tables rendered as a web page, a Word file and PDFs.

    python scripts/measure_tables.py [--tatqa PATH] [--n 20] [--out DIR] [--json FILE]

Takes the first N tables of the TAT-QA dev set with at least three rows and two columns of text, each
after its first paragraph, and writes them as one web page (a plain <table> each, no <th>, no spans: the
grid as TAT-QA gives it), one Word file ("Table Grid" style) and, printed by headless Chromium from
the page, a PDF with ruled tables and one without rules (a table a page). Each is extracted with
qa.ingest.formats, and every cell of each gold table is looked up in the extracted table: the same
text (white space collapsed, NFKC) at the same row and column, rows and columns without text left
out on both sides (tests/table_fixtures.py `score`). Needs the TAT-QA file (not in the repository)
and Chromium for the PDFs.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from formats_fixtures import chromium, print_to_pdf  # noqa: E402
from table_fixtures import dense, grids_docx, page_html, score, table_cells  # noqa: E402

from qa.ingest.formats import extract  # noqa: E402

TATQA = Path("/work/shared/bench/tatqa/tatqa-dev.json.gz")


def tatqa_sections(path: Path, n: int) -> list[tuple[str, list[list[str]], str]]:
    out = []
    for item in json.load(gzip.open(path)):
        grid = item["table"]["table"]
        d = dense(grid)
        if len(d) >= 3 and d and len(d[0]) >= 2:
            para = item["paragraphs"][0]["text"] if item.get("paragraphs") else ""
            out.append((f"Table {len(out) + 1}", grid, para[:400]))
        if len(out) == n:
            break
    return out


def measure(path: Path, sections, per_page: bool) -> dict:
    t0 = time.process_time()
    r = extract(path)
    seconds = time.process_time() - t0
    total = {"gold_text": 0, "text_cells": 0, "gold_empty": 0, "empty_cells": 0, "tables_found": 0}
    for k, (_, grid, _) in enumerate(sections):
        cands = [t for t in r.tables if not per_page or r.page_of(t.start, t.end) == k + 1]
        scores = [score(grid, table_cells(r.text, t)) for t in cands] or [score(grid, None)]
        best = max(scores, key=lambda s: (s["text_cells"], s["empty_cells"]))
        total["tables_found"] += bool(cands)
        for key in best:
            total[key] += best[key]
    total["tables"] = len(r.tables)
    total["cpu_seconds"] = round(seconds, 2)
    total["text_accuracy"] = round(total["text_cells"] / max(1, total["gold_text"]), 4)
    total["empty_accuracy"] = round(total["empty_cells"] / max(1, total["gold_empty"]), 4)
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tatqa", type=Path, default=TATQA)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None, help="keep the rendered files here")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    sections = tatqa_sections(args.tatqa, args.n)
    out = args.out or Path(tempfile.mkdtemp(prefix="tatqa-tables-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "tatqa.html").write_text(page_html(sections, ruled=False, title="TAT-QA tables"), encoding="utf-8")
    (out / "tatqa.docx").write_bytes(grids_docx(sections))
    results = {"html": measure(out / "tatqa.html", sections, False),
               "docx": measure(out / "tatqa.docx", sections, False)}
    if chromium() is not None:
        for ruled in (True, False):
            name = "pdf-ruled" if ruled else "pdf-unruled"
            html = out / f"{name}.html"
            html.write_text(page_html(sections, ruled=ruled, break_pages=True, title="TAT-QA tables"), encoding="utf-8")
            print_to_pdf(html, out / f"{name}.pdf", header_footer=False)
            results[name] = measure(out / f"{name}.pdf", sections, True)
    print(f"{len(sections)} TAT-QA tables, files in {out}")
    print("| format | tables found | text cells right | empty cells right | CPU s |")
    print("|---|---|---|---|---|")
    for name, t in results.items():
        print(f"| {name} | {t['tables_found']} of {len(sections)} | {t['text_cells']} of {t['gold_text']} "
              f"({t['text_accuracy']:.1%}) | {t['empty_cells']} of {t['gold_empty']} ({t['empty_accuracy']:.1%}) "
              f"| {t['cpu_seconds']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
