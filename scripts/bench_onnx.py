"""The ONNX backend's design choices, measured on the gold questions' reader windows and on index texts.

    python scripts/bench_onnx.py [--json OUT] [--reps N]

- reader: the shipped arrangement (one unpadded pass per window, windows side by side on the pool)
  against one length-sorted padded batch per question on a two-threaded session, and against the
  same windows one after another; and ONNX Runtime's dynamic int8 quantisation of the reader (speed,
  and how many windows keep their top span).
- encoder: batch sizes for the build (texts of the bundled corpus's index, sorted by length).
Timings are medians of interleaved repetitions in one process; docs/onnx.md has the results.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from qa.settings import Settings, set_offline_environment  # noqa: E402


def gold_windows(answerer, questions):
    """(question text, windows) as the answer step reads them, for every question with windows."""
    return [item for item in (answerer.reader_input(g.question) for g in questions) if item[1]]


def session(path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def batched(reader, sess, q, windows):
    """The alternative the issue proposed: all windows of a question in one padded, length-sorted call."""
    from qa.neural.onnx import pad_batch
    from qa.neural.reader import decode_spans

    encs = reader._tok.encode_batch([(reader._question(q), w) for w in windows])
    order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
    ids, mask, types = pad_batch([encs[i] for i in order])
    s, e = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    offs = np.zeros(ids.shape + (2,), dtype=np.int64)
    for r, i in enumerate(order):
        offs[r, :len(encs[i].ids)] = encs[i].offsets
    return [replace(g, window=order[g.window]) for g in decode_spans(s, e, offs, [encs[i].sequence_ids for i in order])]


def time_it(fns: dict, items, reps: int) -> dict:
    times = {k: [] for k in fns}
    for r in range(reps):
        for i, item in enumerate(items):
            names = list(fns) if (i + r) % 2 == 0 else list(fns)[::-1]
            for k in names:
                t = time.perf_counter()
                fns[k](*item)
                times[k].append(time.perf_counter() - t)
    return {k: round(statistics.median(v) * 1000, 2) for k, v in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    set_offline_environment()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.index.build import build_index
    from qa.neural.embedding import make_embedder
    from qa.evaluation.gold import load_questions
    from qa.index.load import load_index
    from qa.pipeline import open_answerer
    from qa.neural.reader import OnnxReader

    tmp = Path(tempfile.mkdtemp())
    s = Settings()
    emb = make_embedder(s)
    build_index(ROOT / "corpus", tmp / "index", emb)
    answerer = open_answerer(tmp / "index", s, embedder=emb)
    items = gold_windows(answerer, load_questions([ROOT / "eval" / "questions.jsonl"]))
    reader = answerer.reader if isinstance(answerer.reader, OnnxReader) else OnnxReader()
    reader.session  # noqa: B018 - loads
    two = session(reader.graph_path, 2)
    int8_path = tmp / "reader-int8.onnx"
    quantize_dynamic(str(reader.graph_path), str(int8_path), weight_type=QuantType.QInt8)
    int8 = OnnxReader()
    int8.session  # noqa: B018
    int8._session = session(int8_path, 1)
    int8._wide = session(int8_path, 2)
    one_by_one = OnnxReader(threads=1)
    one_by_one._session, one_by_one._tok = reader.session, reader._tok
    res = {"questions": len(items), "windows": sum(len(w) for _, w in items)}
    res["reader_ms_per_question"] = time_it({
        "shipped: a pass per window, side by side": lambda q, w: reader.read(q, w),
        "one padded length-sorted batch, 2 threads": lambda q, w: batched(reader, two, q, w),
        "a pass per window, one after another": lambda q, w: one_by_one.read(q, w),
        "int8 (dynamic), a pass per window": lambda q, w: int8.read(q, w),
    }, items, args.reps)
    best = lambda gs: {g.window: (g.start, g.end) for g in reversed(gs)}  # noqa: E731
    same_b = same_8 = n = 0
    for q, w in items:
        ref = best(reader.read(q, w))
        same_b += sum(ref.get(i) == v for i, v in best(batched(reader, two, q, w)).items())
        same_8 += sum(ref.get(i) == v for i, v in best(int8.read(q, w)).items())
        n += len(ref)
    res["top_span_same_as_shipped"] = {"batched": f"{same_b}/{n}", "int8": f"{same_8}/{n}"}
    index = load_index(tmp / "index")
    texts = list(dict.fromkeys([p.text for p in index.evidence] + [x.text for x in index.sentences]))
    enc = {}
    for bs in (8, 16, 32, 64):
        e = make_embedder(s)
        e.batch_size = bs
        e.encode(texts[:4])
        ts = []
        for _ in range(args.reps):
            t = time.perf_counter()
            e.encode(texts)
            ts.append(time.perf_counter() - t)
        enc[bs] = round(statistics.median(ts), 3)
    res["encoder_seconds_by_batch_size"] = {"texts": len(texts), **enc}
    print(json.dumps(res, indent=1))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
