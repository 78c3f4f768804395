"""Measure the first screen's suggested questions (qa.chat.suggest) on folders nobody tuned the rules on.

    PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python scripts/measure_suggestions.py --prepare /tmp/suggest-bench
    PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python scripts/measure_suggestions.py --measure /tmp/suggest-bench \
        --index embeddings/index [--json OUT]

`--prepare DIR` writes the folders (read from the shared benchmark data only here, never at run time):
`pages30` (every 4th of the 121 article-extraction pages, 30 of them), `pages50` (50 others: odd
positions) and `tatqa8` (8 TAT-QA excerpts as Word files, every 35th), then indexes each with the real
model (`qa index`). `--measure DIR` prints, per folder (the bundled index given by --index, then those of
DIR), every candidate with the engine's answer to it (status, confidence, seconds), and the time
`suggested_questions` takes in a fresh process state (the answerer opened anew, so the encoder and the
reader are loaded inside the measured time, as at the chat's start-up) and once warm.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path("/work/shared/bench")
FOLDERS = ("pages30", "pages50", "tatqa8")


def prepare(out: Path) -> None:
    src = SHARED / "article-extraction" / "html"
    keys = sorted(p.name[:-len(".html.gz")] for p in src.glob("*.html.gz"))
    for name, chosen in (("pages30", keys[0::4][:30]), ("pages50", keys[1::2][:50])):
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        for k in chosen:
            (d / f"{k[:12]}.html").write_bytes(gzip.decompress((src / f"{k}.html.gz").read_bytes()))
    from qa.evaluation.bench.tatqa_data import load_tatqa
    from qa.evaluation.bench.tatqa_render import excerpt_docx, file_name
    d = out / "tatqa8"
    d.mkdir(parents=True, exist_ok=True)
    for ex in load_tatqa(SHARED).excerpts[::35][:8]:
        (d / file_name(ex, "docx")).write_bytes(excerpt_docx(ex))
    for name in FOLDERS:
        subprocess.run([sys.executable, "-m", "qa", "index", "--corpus", str(out / name),
                        "--index", str(out / f"{name}-index"), "--quiet"], check=True)


def measure_one(index_dir: Path) -> dict:
    from qa.chat.suggest import candidates, kept, suggested_questions
    from qa.pipeline import open_answerer
    from qa.settings import Settings

    t0 = time.perf_counter()
    answerer = open_answerer(index_dir, Settings.from_env(), check_corpus=False)
    opened = time.perf_counter() - t0
    t0 = time.perf_counter()
    cold = suggested_questions(answerer, limit=4)  # first questions: the encoder and reader load here
    cold_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    suggested_questions(answerer, limit=4)  # again, warm: the models are loaded
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    unlimited = suggested_questions(answerer, limit=100, budget_s=1e9)
    unlimited_s = time.perf_counter() - t0
    rows = []
    for c in candidates(answerer.index):
        t = time.perf_counter()
        a = answerer.ask(c.question)
        rows.append({"doc_id": c.doc_id, "origin": c.origin, "phrase": c.phrase, "question": c.question,
                     "status": a.status, "confidence": round(float(a.confidence), 3), "kept": kept(a),
                     "answer": a.answer, "cited": [x.doc_id for x in a.citations][:3],
                     "seconds": round(time.perf_counter() - t, 3)})
    return {"index": str(index_dir), "documents": len(answerer.index.documents), "open_s": round(opened, 2),
            "candidates": len(rows), "suggested": cold, "suggested_s_cold": round(cold_s, 2),
            "suggested_s_warm": round(warm_s, 2), "suggested_all": unlimited,
            "suggested_all_s": round(unlimited_s, 2), "asked": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prepare", type=Path)
    ap.add_argument("--measure", type=Path)
    ap.add_argument("--index", type=Path, default=ROOT / "embeddings" / "index")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.prepare:
        prepare(args.prepare)
    if args.measure:
        results = []
        for index_dir in [args.index] + [args.measure / f"{n}-index" for n in FOLDERS]:
            r = measure_one(index_dir)
            results.append(r)
            print(f"== {index_dir}: {r['documents']} documents, {r['candidates']} candidates; "
                  f"suggested {len(r['suggested'])} in {r['suggested_s_cold']} s cold, {r['suggested_s_warm']} s warm; "
                  f"with no limit or budget {len(r['suggested_all'])} in {r['suggested_all_s']} s")
            for q in r["suggested"]:
                print(f"   suggested: {q}")
            for row in r["asked"]:
                print(f"   {'+' if row['kept'] else '-'} {row['status']:9} {row['confidence']:.2f} {row['seconds']:5.2f}s "
                      f"{row['question']}  -> {row['answer']!r} {row['cited']}")
        if args.json:
            args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "results": results}, indent=1))


if __name__ == "__main__":
    main()
