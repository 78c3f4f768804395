"""The scale steps of `qa bench perf`: real embeddings to start from (vectors), then the FAISS index layer on a synthetic set (scale).

The package's own layers are imported inside the steps, not at the top: each step runs in a process of
its own so that its peak memory is its own, and a step should not carry the modules only others use.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from typing import Any, Optional

import numpy as np

from .measure import maxrss_mb, ms, rss_mb
from .perf_steps import CACHE_DIR, SQUAD_FILE, Bench, _embedder


def _squad_texts(n_paragraphs: Optional[int], n_questions: int) -> tuple[list[str], list[str]]:
    data = json.loads(gzip.open(SQUAD_FILE, "rt", encoding="utf-8").read())
    paras, qs = [], []
    for art in data["data"]:
        for p in art["paragraphs"]:
            paras.append(p["context"])
            qs.extend(q["question"] for q in p["qas"])
    if n_paragraphs:
        paras = paras[:n_paragraphs]
    step = max(1, len(qs) // n_questions)
    return paras, qs[::step][:n_questions]


def _base_vectors(bench: Bench) -> tuple[np.ndarray, np.ndarray, str]:
    """Real embeddings to derive the synthetic set from: SQuAD v1.1 dev paragraphs, and real questions.

    Cached under var/perf-cache (keyed by file hash, model and counts). Falls back to the seed index's
    passage and sentence vectors (and the gold questions) when the SQuAD file is not in eval/benchmarks.
    """
    embedder = _embedder(bench)
    n_par, n_q = (300, 100) if bench.quick else (None, 500)
    if SQUAD_FILE.exists():
        h = hashlib.sha256(SQUAD_FILE.read_bytes()).hexdigest()[:12]
        tag = embedder.name.replace("/", "_")
        cache = CACHE_DIR / f"squad11-{h}-{tag}-{embedder.dim}-{n_par or 'all'}-{n_q}.npz"
        if cache.exists():
            with np.load(cache, allow_pickle=False) as z:
                return z["base"], z["queries"], f"SQuAD v1.1 dev ({len(z['base'])} paragraphs, cached)"
        paras, qs = _squad_texts(n_par, n_q)
        base = np.asarray(embedder.encode(paras), dtype=np.float32)
        queries = np.asarray(embedder.encode(qs), dtype=np.float32)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, base=base, queries=queries)
        os.replace(tmp, cache)
        return base, queries, f"SQuAD v1.1 dev ({len(paras)} paragraphs, {len(qs)} questions)"
    from ...index.load import load_index

    index = load_index(bench.work / "seed-index", embedder)
    base = np.concatenate([index.passage_vectors(), np.asarray(index.sentence_vectors)])
    queries = np.asarray(embedder.encode(list(bench.questions)), dtype=np.float32)
    return base, queries, f"seed corpus vectors ({len(base)}; {SQUAD_FILE.name} not in eval/benchmarks)"


def synthetic_vectors(base: np.ndarray, n: int, seed: int = 0, chunk: int = 8192) -> np.ndarray:
    """n unit vectors, each a normalised random convex combination of two or three real vectors."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        idx = rng.integers(0, len(base), size=(m, 3))
        w = rng.dirichlet(np.ones(3), size=m).astype(np.float32)
        pairs = rng.random(m) < 0.5
        w[pairs, 2] = 0.0
        w /= w.sum(axis=1, keepdims=True)
        v = np.einsum("mk,mkd->md", w, base[idx])
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[s:s + m] = v
    return out


def step_vectors(bench: Bench) -> dict[str, Any]:
    """Embed (or find cached) the real vectors the scale test derives its synthetic set from. Run apart
    from the scale step so the model's memory does not count in the index layer's peak."""
    t = time.perf_counter()
    base, queries, source = _base_vectors(bench)
    np.save(bench.work / "scale-base.npy", base, allow_pickle=False)
    np.save(bench.work / "scale-queries.npy", queries, allow_pickle=False)
    (bench.work / "scale-source.txt").write_text(source, encoding="utf-8")
    return {"source": source, "base": int(len(base)), "queries": int(len(queries)),
            "seconds": round(time.perf_counter() - t, 2), "memory_mb": {"peak": round(maxrss_mb(), 1)}}


def step_scale(bench: Bench) -> dict[str, Any]:
    """The index layer on n synthetic vectors: FAISS add time, single-query latency, recall, memory.

    Latency is measured with FAISS's default OpenMP threads (what `qa` runs with) and with one thread,
    interleaved: on a shared 2-core machine OpenMP's spinning threads can make a single query slower.
    """
    import faiss

    from ...index.build import make_faiss

    n = bench.scale

    base = np.load(bench.work / "scale-base.npy", allow_pickle=False)
    queries = np.load(bench.work / "scale-queries.npy", allow_pickle=False)
    source = (bench.work / "scale-source.txt").read_text(encoding="utf-8")
    rss_base = rss_mb()
    t = time.perf_counter()
    X = synthetic_vectors(base, n)
    gen_s = time.perf_counter() - t
    dim = X.shape[1]
    rss0, peak0 = rss_mb(), maxrss_mb()
    threads = faiss.omp_get_max_threads()
    out: dict[str, Any] = {"n": n, "dim": dim, "vectors_from": source, "queries": len(queries),
                           "generate_s": round(gen_s, 2), "faiss_threads": threads,
                           "note": "index layer only (FAISS add/search) on synthetic vectors; no model encoding"}
    indexes = {}
    for kind in ("flat", "hnsw"):
        before = rss_mb()
        t = time.perf_counter()
        indexes[kind] = make_faiss(X, kind, dim)
        build_s = time.perf_counter() - t
        out[kind] = {"build_s": round(build_s, 3), "vectors_per_s": round(n / build_s, 1),
                     "held_mb": round(rss_mb() - before, 1), "peak_mb": round(maxrss_mb(), 1)}
    out["hnsw"]["params"] = {"M": 32, "efConstruction": indexes["hnsw"].hnsw.efConstruction,
                             "efSearch": indexes["hnsw"].hnsw.efSearch}
    k = 10
    variants = [(kind, th) for kind in ("flat", "hnsw") for th in sorted({threads, 1}, reverse=True)]
    lat: dict[tuple[str, int], list[float]] = {v: [] for v in variants}
    found: dict[str, list[np.ndarray]] = {"flat": [], "hnsw": []}
    Q = np.ascontiguousarray(queries, dtype=np.float32)
    for kind, th in variants:  # warm-up
        faiss.omp_set_num_threads(th)
        indexes[kind].search(Q[:1], k)
    for r in range(bench.reps):
        for i in range(len(Q)):
            q = Q[i:i + 1]
            order = variants if (i + r) % 2 == 0 else variants[::-1]
            for kind, th in order:
                faiss.omp_set_num_threads(th)
                t = time.perf_counter()
                _, I = indexes[kind].search(q, k)
                lat[(kind, th)].append(time.perf_counter() - t)
                if r == 0 and th == threads:
                    found[kind].append(I[0])
    faiss.omp_set_num_threads(threads)
    recall = float(np.mean([len(set(f.tolist()) & set(h.tolist())) / k for f, h in zip(found["flat"], found["hnsw"])]))
    for kind in ("flat", "hnsw"):
        out[kind].update(ms(lat[(kind, threads)]))
        if threads != 1:
            out[kind]["one_thread"] = ms(lat[(kind, 1)])
    out["hnsw_recall_at_10"] = round(recall, 4)
    out["hnsw_speedup_p50"] = round(out["flat"]["p50_ms"] / out["hnsw"]["p50_ms"], 2) if out["hnsw"]["p50_ms"] else None
    out["memory_mb"] = {"base_vectors_loaded": round(rss_base, 1), "after_vectors": round(rss0, 1),
                        "vectors_mb": round(X.nbytes / 2**20, 1), "peak_before_indexes": round(peak0, 1),
                        "peak": round(maxrss_mb(), 1)}
    return out
