"""The bare process `qa bench perf` times a whole `qa index` against: load the model, encode the texts, nothing else.

    python -m qa.evaluation.bench.bare TEXTS.json --model DIR [--fake]

TEXTS.json is a JSON list of strings. It imports sentence-transformers, loads the model on the CPU and
encodes the texts with `SentenceTransformer.encode` and its defaults (the library as a user would first
call it), then prints one JSON line: import_s, load_s, encode_s, texts, dim. Of the package it loads only the
light `qa/__init__` on the way here, so its wall time is the library's. `--fake` encodes with the hash
embedder instead, for the benchmark's plumbing runs.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m qa.evaluation.bench.bare", description="load the model, encode texts, print the times")
    p.add_argument("texts", type=Path, help="a JSON list of strings")
    p.add_argument("--model", default=None, help="the sentence-transformers model folder (default the bundled one)")
    p.add_argument("--fake", action="store_true", help="encode with the hash embedder (plumbing runs)")
    args = p.parse_args(argv)
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        print("qa.evaluation.bench.bare: TEXTS.json must hold a JSON list of strings", file=sys.stderr)
        return 2
    t = time.perf_counter()
    if args.fake:
        from ...neural.embedding import HashEmbedder

        import_s = time.perf_counter() - t
        t = time.perf_counter()
        encode = HashEmbedder().encode
    else:
        from sentence_transformers import SentenceTransformer

        import_s = time.perf_counter() - t
        if args.model is None:
            from ...settings import bundled_model_dir

            args.model = str(bundled_model_dir())
        t = time.perf_counter()
        encode = SentenceTransformer(args.model, device="cpu").encode
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    vectors = encode(texts)
    encode_s = time.perf_counter() - t
    print(json.dumps({"import_s": round(import_s, 4), "load_s": round(load_s, 4), "encode_s": round(encode_s, 4),
                      "texts": len(texts), "dim": int(vectors.shape[1]) if len(texts) else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
