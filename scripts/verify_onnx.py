"""Check the ONNX graphs against torch on the whole gold set: embeddings of every indexed text, the reader's
top span in every window it reads, and (with --answers) every answer.

    python scripts/verify_onnx.py [--index DIR] [--json OUT] [--answers]

Exits 1 when a check fails (cosine < 0.9999, a different top span, a different answer). The result for
the bundled corpus is in docs/onnx.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from qa.settings import Settings, set_offline_environment  # noqa: E402


def reader_agreement(answerer, questions: Sequence, a, b) -> dict:
    """For each question, the windows `answerer` gives its reader: do readers `a` and `b` put the same
    top span in each window? Returns counts, the worst score difference and the questions that differ."""
    out = {"questions": 0, "windows": 0, "same_top_span": 0, "max_score_diff": 0.0, "differ": []}
    for g in questions:
        text, windows = answerer.reader_input(g.question)
        if not windows:
            continue
        best = [{x.window: x for x in reversed(r.read(text, windows, top=answerer.spans.reader_top))} for r in (a, b)]
        out["questions"] += 1
        for w in range(len(windows)):
            x, y = best[0].get(w), best[1].get(w)
            out["windows"] += 1
            if (x and (x.start, x.end)) == (y and (y.start, y.end)):
                out["same_top_span"] += 1
                if x:
                    out["max_score_diff"] = max(out["max_score_diff"], abs(x.score - y.score))
            elif g.question not in out["differ"]:
                out["differ"].append(g.question)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=None, help="an index of the bundled corpus (default: build one)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--answers", action="store_true", help="also ask every gold question with both backends")
    args = ap.parse_args(argv)
    set_offline_environment()
    import tempfile

    from qa.index.build import build_index
    from qa.neural.embedding import make_embedder
    from qa.evaluation.gold import load_questions
    from qa.index.load import load_index
    from qa.pipeline import open_answerer
    from qa.neural.reader import make_reader

    onnx_s, torch_s = Settings(), Settings(backend="torch")
    emb_o, emb_t = make_embedder(onnx_s), make_embedder(torch_s)
    tmp = tempfile.TemporaryDirectory()
    index_dir = args.index or Path(tmp.name) / "index"
    if args.index is None:
        build_index(ROOT / "corpus", index_dir, emb_o)
    index = load_index(index_dir)
    texts = list(dict.fromkeys([p.text for p in index.evidence] + [s.text for s in index.sentences]))
    t = time.perf_counter()
    vo, vt = emb_o.encode(texts), emb_t.encode(texts)
    cos = (vo * vt).sum(1)
    res = {"texts": len(texts), "cosine_min": float(cos.min()), "max_abs_diff": float(np.abs(vo - vt).max())}
    questions = load_questions([ROOT / "eval" / "questions.jsonl"])
    answerer = open_answerer(index_dir, onnx_s, embedder=emb_o)
    res["reader"] = reader_agreement(answerer, questions, make_reader(onnx_s), make_reader(torch_s))
    ok = res["cosine_min"] >= 0.9999 and not res["reader"]["differ"]
    if args.answers:
        other = open_answerer(index_dir, torch_s, embedder=emb_t)
        changed = []
        for g in questions:
            x, y = answerer.ask(g.question), other.ask(g.question)
            if (x.status, x.answer) != (y.status, y.answer):
                changed.append({"question": g.question, "onnx": [x.status, x.answer], "torch": [y.status, y.answer]})
        res["answers"] = {"questions": len(questions), "same": len(questions) - len(changed), "changed": changed}
        ok = ok and len(changed) <= 0.02 * len(questions)
    res["seconds"] = round(time.perf_counter() - t, 1)
    res["ok"] = ok
    print(json.dumps(res, indent=1))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
