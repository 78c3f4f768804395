"""The steps of `qa bench perf`, each run in its own process: build, ask, no-op rebuild, incremental, scale, bf16."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..errors import QAError
from ..settings import DEFAULT_K, PROJECT_ROOT, Settings
from .measure import Noise, maxrss_mb, ms, rss_mb

SQUAD_FILE = PROJECT_ROOT / "eval" / "benchmarks" / "squad-v1.1-dev.json.gz"
CACHE_DIR = PROJECT_ROOT / "var" / "perf-cache"
TARGETS = {"ask_p50_ratio": 1.5, "build_ratio": 0.95, "noop_seconds": 1.0, "bf16_overlap": 0.98}
STEPS = ("build", "ask", "noop", "incremental", "vectors", "scale", "bf16")
@dataclass(frozen=True)
class Bench:
    """What every step measures on: the corpus, the questions asked of it, and the settings."""
    work: Path
    reps: int
    corpus: Path
    questions: tuple[str, ...]
    settings: Settings
    scale: int = 0
    quick: bool = False


def read_questions(path: Optional[Path], corpus: Path) -> tuple[str, ...]:
    """The questions to time: from a JSONL file (a "question" per line, as eval/questions.jsonl), else
    the corpus's own example questions (metadata.json). Only those know what the corpus can answer."""
    from ..corpus import read_examples

    if path is not None:
        if not Path(path).is_file():
            raise QAError(f"question file not found: {path}", fix="pass --questions FILE (JSONL, a \"question\" per line)")
        qs = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    q = json.loads(line).get("question")
                except (ValueError, AttributeError):
                    raise QAError(f"{path}: every line must be a JSON object with a \"question\"") from None
                if isinstance(q, str) and q.strip():
                    qs.append(q)
        if qs:
            return tuple(qs)
        raise QAError(f"{path} holds no questions")
    qs = read_examples(corpus)
    if not qs:
        raise QAError(f"no questions to time on {corpus}",
                      fix="pass --questions FILE, or list \"examples\" in the corpus's metadata.json")
    return tuple(qs)


def _embedder(bench: Bench, precision: str = "fp32"):
    from ..embedding import make_embedder

    return make_embedder(bench.settings.replace(embed_precision=precision))


def _bare_encoder(embedder) -> Callable[[list[str]], np.ndarray]:
    """The library call the pipeline wraps: SentenceTransformer.encode with the same batch size."""
    from ..embedding import SentenceTransformerEmbedder

    if isinstance(embedder, SentenceTransformerEmbedder):
        model = embedder.model
        bs = embedder.batch_size
        return lambda texts: model.encode(texts, batch_size=bs, normalize_embeddings=True,
                                          convert_to_numpy=True, show_progress_bar=False)
    return embedder.encode  # the fake: plumbing runs only


def _is_fake(embedder) -> bool:
    from ..embedding import SentenceTransformerEmbedder

    return not isinstance(embedder, SentenceTransformerEmbedder)


def step_build(bench: Bench) -> dict[str, Any]:
    """Forced builds of the seed corpus vs bare encode of the texts the build embeds, interleaved."""
    from ..index import load_index
    from ..build import build_index

    corpus, idx_dir = bench.corpus, bench.work / "seed-index"
    embedder = _embedder(bench)
    rss0 = maxrss_mb()
    t = time.perf_counter()
    first = build_index(corpus, idx_dir, embedder, force=True)  # also loads the model: reported apart
    first_s = time.perf_counter() - t
    index = load_index(idx_dir, embedder)
    texts = list(dict.fromkeys([p.text for p in index.evidence] + [s.text for s in index.sentences]))
    bare = _bare_encoder(embedder)
    bare(texts[:8])  # warm the bare path's first-call costs too
    rss_setup = maxrss_mb()
    builds, bares, embedded = [], [], []
    for r in range(bench.reps):
        order = ("build", "bare") if r % 2 == 0 else ("bare", "build")
        for what in order:
            t = time.perf_counter()
            if what == "build":
                rep = build_index(corpus, idx_dir, embedder, force=True)
                builds.append(time.perf_counter() - t)
                embedded.append(rep.embedded)
            else:
                bare(texts)
                bares.append(time.perf_counter() - t)
    breakdown = _build_breakdown(corpus, index)
    n_ev = first.evidence
    b, e = statistics.median(builds), statistics.median(bares)
    return {
        "corpus": str(corpus), "documents": first.documents, "passages": first.passages, "evidence": n_ev,
        "sentences": first.sentences, "texts_embedded": len(texts), "embedded_per_build": embedded,
        "first_build_s": round(first_s, 3), "first_build_includes_model_load": True,
        "build_s": [round(x, 3) for x in builds], "bare_s": [round(x, 3) for x in bares],
        "build_median_s": round(b, 3), "bare_median_s": round(e, 3),
        "build_passages_per_s": round(n_ev / b, 2), "bare_passages_per_s": round(n_ev / e, 2),
        "build_texts_per_s": round(len(texts) / b, 2), "bare_texts_per_s": round(len(texts) / e, 2),
        "ratio": round(e / b, 3), "target": TARGETS["build_ratio"], "met": e / b >= TARGETS["build_ratio"],
        "batch_size": getattr(embedder, "batch_size", None), "breakdown_s": breakdown,
        "memory_mb": {"before": round(rss0, 1), "after_first_build": round(rss_setup, 1), "peak": round(maxrss_mb(), 1)},
    }


def _build_breakdown(corpus: Path, index) -> dict[str, float]:
    """Where a build's time goes besides encoding: chunking and (when the index has it) sentence analysis,
    each timed once, warm, on the same corpus."""
    from ..chunking import ChunkSettings, passage_sentences, split_document
    from ..corpus import load_corpus

    out: dict[str, float] = {}
    t = time.perf_counter()
    docs = load_corpus(corpus)
    settings = ChunkSettings()
    for d in docs:
        for p in split_document(d, settings):
            if p.boilerplate is None:
                passage_sentences(p, d.text, settings.max_wordpieces)
    out["read_and_chunk"] = round(time.perf_counter() - t, 3)
    try:
        from ..analysis import analyse
    except ImportError:
        return out
    t = time.perf_counter()
    analyse([s.text for s in index.sentences])
    out["sentence_analysis"] = round(time.perf_counter() - t, 3)
    return out


def step_ask(bench: Bench) -> dict[str, Any]:
    """Warm Answerer.ask vs bare encode + IndexFlatIP search over the same passage vectors, interleaved."""
    import faiss

    from ..pipeline import open_answerer

    idx_dir = bench.work / "seed-index"
    embedder = _embedder(bench)
    rss0 = maxrss_mb()
    answerer = open_answerer(idx_dir, bench.settings, embedder=embedder)
    qs = list(bench.questions)
    for q in qs[:10]:  # warm-up: model load, first-call allocations, BM25 and alias tables
        answerer.ask(q)
    rss_default = maxrss_mb()  # the shipped configuration alone, before the variants below add their models
    # in the same run, the same answer step without the span reader (QA_READER=off: what the reader costs)
    # and with the reader in bfloat16 (QA_READER_PRECISION=bf16: faster only on CPUs with bf16 units)
    variants: dict[str, Any] = {}
    if answerer.reader is not None:
        variants["rules_only"] = open_answerer(idx_dir, bench.settings, embedder=embedder, reader=False)
        if answerer.reader.precision != "bf16":
            from ..reader import Reader

            variants["reader_bf16"] = open_answerer(idx_dir, bench.settings, embedder=embedder,
                                                    reader=Reader(answerer.reader.folder, precision="bf16"))
    pv = np.ascontiguousarray(answerer.index.passage_vectors(), dtype=np.float32)
    flat = faiss.IndexFlatIP(pv.shape[1])
    flat.add(pv)
    bare_encode = _bare_encoder(embedder)

    def bare(q: str):
        v = np.ascontiguousarray(bare_encode([q]), dtype=np.float32)
        return flat.search(v, 5)

    # the least any reader answer costs: one forward pass over the question's single best window (the
    # shipped step reads four). Against `bare` (itself one encoder pass over the question alone) it shows
    # how much of the latency budget a reader of this size leaves, whatever else is made faster
    one_window: dict[str, str] = {}
    if answerer.reader is not None:
        from ..question import analyse_question

        ex = answerer.extractor
        for q in qs:
            qa = analyse_question(q)
            w = ex.reader_windows(ex.evidence(qa, answerer.retriever.search(q, k=DEFAULT_K)), 1)
            if w:
                one_window[q] = w[0].text
    for q in qs[:10]:
        for v in variants.values():
            v.ask(q)
        if q in one_window:
            answerer.reader.read(q, [one_window[q]])
        bare(q)
    rss_setup = maxrss_mb()
    asks, bares, retrieves = [], [], []
    variant_times: dict[str, list[float]] = {name: [] for name in variants}
    if one_window:
        variant_times["reader_one_window"] = []
    for r in range(bench.reps):
        for i, q in enumerate(qs):
            order = ("ask", "bare", "retrieve", *variant_times)
            order = order if (i + r) % 2 == 0 else order[::-1]
            for what in order:
                t = time.perf_counter()
                if what == "ask":
                    answerer.ask(q)
                    asks.append(time.perf_counter() - t)
                elif what in variants:
                    variants[what].ask(q)
                    variant_times[what].append(time.perf_counter() - t)
                elif what == "reader_one_window":
                    if q in one_window:
                        answerer.reader.read(q, [one_window[q]])
                        variant_times[what].append(time.perf_counter() - t)
                elif what == "retrieve":
                    # retrieval alone: embed + BM25 + dense + fusion + sentence scoring (issue #4's budget)
                    answerer.retriever.search(q, k=DEFAULT_K)
                    retrieves.append(time.perf_counter() - t)
                else:
                    bare(q)
                    bares.append(time.perf_counter() - t)
    a, b, rt = ms(asks), ms(bares), ms(retrieves)
    threads = None
    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:
        pass
    cpu = _bf16_units()
    ratio = a["p50_ms"] / b["p50_ms"] if b["p50_ms"] else float("nan")
    return {
        "questions": len(qs), "reps": bench.reps, "passages": int(pv.shape[0]), "ask": a, "bare": b,
        "ratio_p50": round(ratio, 3), "ratio_p95": round(a["p95_ms"] / b["p95_ms"], 3) if b["p95_ms"] else None,
        "overhead_p50_ms": round(a["p50_ms"] - b["p50_ms"], 3),
        "retrieve": rt, "retrieve_ratio_p50": round(rt["p50_ms"] / b["p50_ms"], 3) if b["p50_ms"] else None,
        "retrieve_target": 1.3,
        "reader": answerer.reader is not None,
        **{k: v for name, ts in variant_times.items() if ts and b["p50_ms"]
           for k, v in ((name, ms(ts)), (f"{name}_ratio_p50", round(ms(ts)["p50_ms"] / b["p50_ms"], 3)))},
        "cpu_bf16": cpu,
        "target": TARGETS["ask_p50_ratio"], "met": ratio <= TARGETS["ask_p50_ratio"], "torch_threads": threads,
        "memory_mb": {"before": round(rss0, 1), "shipped_after_warmup": round(rss_default, 1),
                      "after_warmup": round(rss_setup, 1), "peak": round(maxrss_mb(), 1)},
    }


def _bf16_units() -> str:
    """The CPU's bfloat16 instruction sets as Linux lists them (torch's own capability string says
    "AVX512" on a CPU with AMX): what decides whether QA_READER_PRECISION=bf16 is faster."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        return "unknown"
    found = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
    return ", ".join(found) if found else "none"



def step_noop(bench: Bench) -> dict[str, Any]:
    """Rebuilding an unchanged corpus: must be quick and must not load the model (nor import torch)."""
    from ..build import build_index

    corpus, idx_dir = bench.corpus, bench.work / "seed-index"
    embedder = _embedder(bench)
    rss0 = maxrss_mb()
    times, reports = [], []
    for _ in range(max(3, bench.reps * 3)):
        t = time.perf_counter()
        reports.append(build_index(corpus, idx_dir, embedder))
        times.append(time.perf_counter() - t)
    loaded = bool(getattr(embedder, "loaded", False))
    torch_imported = "torch" in sys.modules
    rss_inproc = maxrss_mb()
    cli = []
    cli_noop = True
    for _ in range(max(3, bench.reps)):
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--index", str(idx_dir), "--quiet"],
                           capture_output=True, text=True, timeout=300)
        cli.append(time.perf_counter() - t)
        cli_noop = cli_noop and p.returncode == 0 and "up to date" in p.stdout
    med = statistics.median(times)
    cmed = statistics.median(cli)
    return {
        "noop": all(r.noop for r in reports), "in_process_s": [round(x, 4) for x in times],
        "in_process_median_s": round(med, 4), "cli_s": [round(x, 3) for x in cli], "cli_median_s": round(cmed, 3),
        "cli_noop": cli_noop, "model_loaded": loaded, "torch_imported": torch_imported,
        "target_s": TARGETS["noop_seconds"],
        "met": all(r.noop for r in reports) and not loaded and cmed < TARGETS["noop_seconds"],
        "memory_mb": {"before": round(rss0, 1), "peak_in_process": round(rss_inproc, 1), "peak": round(maxrss_mb(), 1)},
    }


def step_incremental(bench: Bench) -> dict[str, Any]:
    """Append a paragraph to one document of a copied corpus and rebuild: how many texts re-embed."""
    from ..build import build_index

    src = bench.corpus
    corpus = bench.work / "corpus-incremental"
    idx_dir = bench.work / "incremental-index"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(idx_dir, ignore_errors=True)
    shutil.copytree(src, corpus)
    shutil.copytree((bench.work / "seed-index").resolve(), idx_dir)  # a plain folder: published as a legacy build
    embedder = _embedder(bench)
    rss0 = maxrss_mb()
    before = build_index(corpus, idx_dir, embedder)  # same bytes and names: nothing to do
    # one new paragraph right after the first evidence passage of the first document (appending at the
    # very end could land in a notes section, which is boilerplate and never embedded)
    from ..index import load_index

    old = load_index(idx_dir)
    first = old.evidence[0]
    target = Path(old.documents[first.doc_id].source)
    target = corpus / target.name
    text = target.read_text(encoding="utf-8")
    added = ("An added paragraph for the incremental rebuild measurement. It names a meeting held in "
             "Kabul in March 2024, which no other document mentions.")
    target.write_text(text[:first.end] + "\n\n" + added + "\n" + text[first.end:], encoding="utf-8")
    t = time.perf_counter()
    rep = build_index(corpus, idx_dir, embedder)
    wall = time.perf_counter() - t
    total = rep.embedded + rep.reused
    return {
        "copy_was_noop": before.noop, "changed_file": target.name, "added": added,
        "embedded": rep.embedded, "reused": rep.reused,
        "total_texts": total, "evidence": rep.evidence, "sentences": rep.sentences,
        "seconds": round(wall, 3), "model_loaded": rep.model_loaded,
        "note": "seconds include loading the model in a fresh process",
        "memory_mb": {"before": round(rss0, 1), "peak": round(maxrss_mb(), 1)},
    }


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
    from ..index import load_index

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

    from ..build import make_faiss

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


def step_bf16(bench: Bench) -> dict[str, Any]:
    """bf16 vs fp32 index builds of the seed corpus: build speed and top-5 overlap on the gold questions."""
    from ..index import load_index
    from ..build import build_index
    from ..retrieval import Retriever

    corpus = bench.corpus
    emb = {"fp32": _embedder(bench, "fp32"), "bf16": _embedder(bench, "bf16")}
    if _is_fake(emb["fp32"]):
        return {"skipped": "the fake embedder has no precision"}
    dirs = {p: bench.work / f"{p}-index" for p in emb}
    rss0 = maxrss_mb()
    for p in emb:  # warm-up builds (model loads)
        build_index(corpus, dirs[p], emb[p], force=True)
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for r in range(bench.reps):
        for p in (("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")):
            t = time.perf_counter()
            build_index(corpus, dirs[p], emb[p], force=True)
            times[p].append(time.perf_counter() - t)
    ret = {p: Retriever(load_index(dirs[p], emb[p]), emb[p]) for p in emb}
    mixed = Retriever(ret["bf16"].index, emb["fp32"])  # a bf16 index asked with the default fp32 model
    qs = list(bench.questions)
    ov_bf, ov_mixed = [], []
    for q in qs:
        ref = {h.passage.passage_id for h in ret["fp32"].search(q, 5)}
        ov_bf.append(len(ref & {h.passage.passage_id for h in ret["bf16"].search(q, 5)}) / 5)
        ov_mixed.append(len(ref & {h.passage.passage_id for h in mixed.search(q, 5)}) / 5)
    f, b = statistics.median(times["fp32"]), statistics.median(times["bf16"])
    overlap = float(np.mean(ov_bf))
    speed = f / b
    return {
        "questions": len(qs), "fp32_build_s": [round(x, 3) for x in times["fp32"]],
        "bf16_build_s": [round(x, 3) for x in times["bf16"]], "speed_ratio": round(speed, 3),
        "top5_overlap": round(overlap, 4), "top5_overlap_bf16_index_fp32_queries": round(float(np.mean(ov_mixed)), 4),
        "target_overlap": TARGETS["bf16_overlap"],
        "kept": overlap >= TARGETS["bf16_overlap"] and speed > 1.0,
        "memory_mb": {"before": round(rss0, 1), "peak": round(maxrss_mb(), 1)},
    }


STEP_FUNCTIONS = {"build": step_build, "ask": step_ask, "noop": step_noop, "incremental": step_incremental,
                  "vectors": step_vectors, "scale": step_scale, "bf16": step_bf16}


def run_step(name: str, bench: Bench) -> dict[str, Any]:
    if name not in STEP_FUNCTIONS:
        raise QAError(f"unknown perf step {name!r}")
    noise = Noise()
    t = time.perf_counter()
    res = STEP_FUNCTIONS[name](bench)
    res["step_wall_s"] = round(time.perf_counter() - t, 2)
    res["others_cpu_share"] = noise.others()
    res["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    res["peak_rss_mb"] = round(maxrss_mb(), 1)
    return res
