"""What qa.ingest.formats does with the 31 sample PDFs, and how fast it extracts PDF and web pages.

    python scripts/bench_formats.py                    # table + speeds, printed as Markdown
    python scripts/bench_formats.py --long-pages 300   # size of the generated long PDF
    python scripts/bench_formats.py --json out.json

Rates are given per CPU second of this process (time.process_time) as well as per wall-clock
second: on a shared machine the wall clock mostly measures the other work.

Reads only files in the repository (tests/data/pdf-samples/, eval/benchmarks/article-extraction/);
the long PDF is drawn in memory with PDFium's editing API (tests/formats_fixtures.py).
"""
from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from formats_fixtures import SAMPLES, long_pdf, sample_key, sample_paths  # noqa: E402

from qa.ingest.formats import SkipFile, extract, extract_bytes  # noqa: E402


def samples_table() -> tuple[list[dict], dict]:
    rows = []
    pages = seconds = cpu = 0.0
    for p in sample_paths():
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            r = extract(p)
            dt = time.perf_counter() - t0
            cpu += time.process_time() - c0
            kinds = sorted({m[2] for m in r.marks})
            rows.append({"file": sample_key(p), "result": "indexed", "pages": r.pages, "chars": len(r.text),
                         "furniture": f"{len(r.marks)} ({', '.join(kinds)})" if r.marks else "",
                         "metadata": ", ".join(f"{k}={v}" for k, v in (("title", r.title), ("author", r.author),
                                                                     ("date", r.date)) if v),
                         "seconds": round(dt, 3)})
            pages += r.pages
            seconds += dt
        except SkipFile as e:
            rows.append({"file": sample_key(p), "result": f"skipped: {e.reason}", "pages": None, "chars": 0,
                         "furniture": "", "metadata": e.message, "seconds": round(time.perf_counter() - t0, 3)})
    return rows, {"pages": int(pages), "seconds": round(seconds, 2), "pages_per_second": round(pages / seconds, 1),
                  "cpu_seconds": round(cpu, 2), "pages_per_cpu_second": round(pages / cpu, 1)}


def long_pdf_speed(n_pages: int, repeats: int = 3) -> dict:
    data = long_pdf(n_pages)
    times, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        r = extract_bytes(data, ".pdf")
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    best, cpu = min(times), min(cpus)
    return {"pages": r.pages, "bytes": len(data), "chars": len(r.text), "seconds_best": round(best, 2),
            "seconds_median": round(statistics.median(times), 2), "pages_per_second": round(r.pages / best, 1),
            "cpu_seconds": round(cpu, 2), "pages_per_cpu_second": round(r.pages / cpu, 1), "marks": len(r.marks)}


def html_speed(repeats: int = 2) -> dict:
    bench = ROOT / "eval" / "benchmarks" / "article-extraction"
    gt = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [gzip.decompress((bench / "html" / f"{k}.html.gz").read_bytes()) for k in sorted(gt)]
    extract_bytes(pages[0], ".html")  # imports and trafilatura's caches warm up outside the clock
    times, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for html in pages:
            try:
                extract_bytes(html, ".html")
            except SkipFile:
                pass
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    best, cpu = min(times), min(cpus)
    mb = sum(len(h) for h in pages) / 2**20
    return {"pages": len(pages), "megabytes": round(mb, 1), "seconds_best": round(best, 2),
            "pages_per_second": round(len(pages) / best, 1), "cpu_seconds": round(cpu, 2),
            "pages_per_cpu_second": round(len(pages) / cpu, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--long-pages", type=int, default=300)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    extract(SAMPLES / "001-trivial/minimal-document.pdf")  # import PDFium outside the clock
    rows, sample_speed = samples_table()
    print("| file | result | pages | chars | furniture marks | metadata / reason |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['file']} | {r['result']} | {r['pages'] or ''} | {r['chars'] or ''} | {r['furniture']} | "
              f"{r['metadata']} |")
    print(f"\nsamples: {sample_speed}")
    long = long_pdf_speed(args.long_pages)
    print(f"long generated PDF: {long}")
    web = html_speed()
    print(f"web pages: {web}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"samples": rows, "sample_speed": sample_speed, "long_pdf": long,
                                         "html": web}, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
