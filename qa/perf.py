"""`qa bench perf`: speed and memory, each figure measured against its bare-library baseline in one run.

Every figure is paired with a baseline measured in the same process, interleaved with it, so the ratio
holds on a noisy machine; medians are reported. Each step runs in its own subprocess so its peak memory
(VmHWM, i.e. ru_maxrss of that process alone) is its own. Steps:

- ask:         warm `Answerer.ask` vs bare `model.encode(question)` + FAISS IndexFlatIP search over the
               same passage vectors (latency p50/p95 and their ratio); in the same loop, the answer
               step without the span reader and with the reader in bf16, one reader pass over one window, and
               retrieval alone.
- build:       forced index build of the seed corpus vs bare `model.encode` of the exact texts the build
               embeds (its passages and sentences, deduplicated), same batch size (throughput ratio).
- noop:        rebuilding an unchanged corpus (in process and through `qa index`): time, model loaded?
- incremental: one document of a copied corpus gets a new paragraph; texts re-embedded vs total.
- scale:       the index layer alone (FAISS add and search, flat vs HNSW, HNSW recall@10 against flat) on
               a synthetic set of unit vectors derived from real SQuAD v1.1 embeddings. Model encoding is
               not part of it: at ~30 passages/s embedding 100,000 passages would take about an hour.
- bf16:        (--precision bf16) an index built with a bf16 model vs fp32: build speed and top-5 overlap
               on the gold questions; kept only if overlap >= 0.98.

`python -m qa.perf` takes the same options as `qa bench perf` plus `--precision bf16`.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .config import DEFAULT_CORPUS, DEFAULT_K, PROJECT_ROOT
from .errors import QAError

QUESTIONS_FILE = PROJECT_ROOT / "eval" / "questions.jsonl"
SQUAD_FILE = PROJECT_ROOT / "eval" / "benchmarks" / "squad-v1.1-dev.json.gz"
CACHE_DIR = PROJECT_ROOT / "var" / "perf-cache"
FALLBACK_QUESTIONS = [
    "Who led Wilayat Khorasan?",
    "When was the Islamic State Khorasan Province founded?",
    "Which groups did ISKP recruit from?",
    "Where did ISKP carry out attacks?",
    "What happened at Kabul airport in August 2021?",
    "Who was the first governor of the Khorasan province?",
    "Which Pakistani militant group did many early ISKP members come from?",
    "How did the Taliban respond to ISKP?",
]
TARGETS = {"ask_p50_ratio": 1.5, "build_ratio": 0.95, "noop_seconds": 1.0, "bf16_overlap": 0.98}
STEPS = ("build", "ask", "noop", "incremental", "vectors", "scale", "bf16")


# --------------------------------------------------------------------------- measuring helpers

def _maxrss_mb() -> float:
    """Peak resident set size of this process so far (MiB).

    VmHWM is per address space, so it starts afresh at exec; ru_maxrss (the fallback) would also
    count the parent's size at fork, which Linux carries across execve.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _rss_mb() -> float:
    """Current resident set size (VmRSS), for memory held at a point rather than the peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _busy_jiffies() -> Optional[int]:
    try:
        f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f[:8])
        return user + nice + system + irq + softirq + steal
    except (OSError, ValueError, IndexError):
        return None


class _Noise:
    """How much of the machine other processes used while a step ran (0 = quiet, 1 = both cores busy)."""

    def __init__(self):
        self.t = time.perf_counter()
        self.busy = _busy_jiffies()
        self.own = self._own()

    @staticmethod
    def _own() -> float:
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def others(self) -> Optional[float]:
        busy = _busy_jiffies()
        if busy is None or self.busy is None:
            return None
        wall = time.perf_counter() - self.t
        hz = os.sysconf("SC_CLK_TCK")
        other = (busy - self.busy) / hz - (self._own() - self.own)
        return round(max(0.0, other / (wall * (os.cpu_count() or 1))), 3)


def _pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, dtype=np.float64), q)) if len(xs) else float("nan")


def _ms(xs: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": round(_pct(xs, 50) * 1000, 3), "p95_ms": round(_pct(xs, 95) * 1000, 3), "n": len(xs)}


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("numpy", "faiss-cpu", "torch", "sentence-transformers", "bm25s", "spacy"):
        try:  # from the installed metadata: importing torch here would bloat every step's process
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gb": mem_gb, "platform": platform.platform(),
            "versions": versions}


def _gold_questions() -> list[str]:
    if QUESTIONS_FILE.exists():
        qs = []
        for line in QUESTIONS_FILE.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line).get("question")
                if q:
                    qs.append(q)
        if qs:
            return qs
    return list(FALLBACK_QUESTIONS)


def _embedder(precision: str = "fp32"):
    from .embedding import SentenceTransformerEmbedder, embedder_from_env

    e = embedder_from_env()
    if isinstance(e, SentenceTransformerEmbedder):
        e.precision = precision
    return e


def _bare_encoder(embedder) -> Callable[[list[str]], np.ndarray]:
    """The library call the pipeline wraps: SentenceTransformer.encode with the same batch size."""
    from .embedding import SentenceTransformerEmbedder

    if isinstance(embedder, SentenceTransformerEmbedder):
        model = embedder.model
        bs = embedder.batch_size
        return lambda texts: model.encode(texts, batch_size=bs, normalize_embeddings=True,
                                          convert_to_numpy=True, show_progress_bar=False)
    return embedder.encode  # the fake: plumbing runs only


def _is_fake(embedder) -> bool:
    from .embedding import SentenceTransformerEmbedder

    return not isinstance(embedder, SentenceTransformerEmbedder)


# --------------------------------------------------------------------------- the steps (run in a subprocess)

def step_build(work: Path, reps: int) -> dict[str, Any]:
    """Forced builds of the seed corpus vs bare encode of the texts the build embeds, interleaved."""
    from .index import build_index, load_index

    corpus, idx_dir = Path(DEFAULT_CORPUS), work / "seed-index"
    embedder = _embedder()
    rss0 = _maxrss_mb()
    t = time.perf_counter()
    first = build_index(corpus, idx_dir, embedder, force=True)  # also loads the model: reported apart
    first_s = time.perf_counter() - t
    index = load_index(idx_dir, embedder)
    texts = list(dict.fromkeys([p.text for p in index.evidence] + [s.text for s in index.sentences]))
    bare = _bare_encoder(embedder)
    bare(texts[:8])  # warm the bare path's first-call costs too
    rss_setup = _maxrss_mb()
    builds, bares, embedded = [], [], []
    for r in range(reps):
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
        "memory_mb": {"before": round(rss0, 1), "after_first_build": round(rss_setup, 1), "peak": round(_maxrss_mb(), 1)},
    }


def _build_breakdown(corpus: Path, index) -> dict[str, float]:
    """Where a build's time goes besides encoding: chunking and (when the index has it) sentence analysis,
    each timed once, warm, on the same corpus."""
    from .chunking import ChunkSettings, passage_sentences, split_document
    from .corpus import load_corpus

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
        from .analysis import analyse
    except ImportError:
        return out
    t = time.perf_counter()
    analyse([s.text for s in index.sentences])
    out["sentence_analysis"] = round(time.perf_counter() - t, 3)
    return out


def step_ask(work: Path, reps: int) -> dict[str, Any]:
    """Warm Answerer.ask vs bare encode + IndexFlatIP search over the same passage vectors, interleaved."""
    import faiss

    from .pipeline import open_answerer

    idx_dir = work / "seed-index"
    embedder = _embedder()
    rss0 = _maxrss_mb()
    answerer = open_answerer(idx_dir, embedder)
    qs = _gold_questions()
    for q in qs[:10]:  # warm-up: model load, first-call allocations, BM25 and alias tables
        answerer.ask(q)
    rss_default = _maxrss_mb()  # the shipped configuration alone, before the variants below add their models
    # in the same run, the same answer step without the span reader (QA_READER=off: what the reader costs)
    # and with the reader in bfloat16 (QA_READER_PRECISION=bf16: faster only on CPUs with bf16 units)
    variants: dict[str, Any] = {}
    if answerer.reader is not None:
        variants["rules_only"] = open_answerer(idx_dir, embedder, reader=False)
        if answerer.reader.precision != "bf16":
            from .reader import Reader

            variants["reader_bf16"] = open_answerer(idx_dir, embedder,
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
        from .question import analyse_question

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
    rss_setup = _maxrss_mb()
    asks, bares, retrieves = [], [], []
    variant_times: dict[str, list[float]] = {name: [] for name in variants}
    if one_window:
        variant_times["reader_one_window"] = []
    for r in range(reps):
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
    a, b, rt = _ms(asks), _ms(bares), _ms(retrieves)
    threads = None
    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:
        pass
    cpu = _bf16_units()
    ratio = a["p50_ms"] / b["p50_ms"] if b["p50_ms"] else float("nan")
    return {
        "questions": len(qs), "reps": reps, "passages": int(pv.shape[0]), "ask": a, "bare": b,
        "ratio_p50": round(ratio, 3), "ratio_p95": round(a["p95_ms"] / b["p95_ms"], 3) if b["p95_ms"] else None,
        "overhead_p50_ms": round(a["p50_ms"] - b["p50_ms"], 3),
        "retrieve": rt, "retrieve_ratio_p50": round(rt["p50_ms"] / b["p50_ms"], 3) if b["p50_ms"] else None,
        "retrieve_target": 1.3,
        "reader": answerer.reader is not None,
        **{k: v for name, ts in variant_times.items() if ts and b["p50_ms"]
           for k, v in ((name, _ms(ts)), (f"{name}_ratio_p50", round(_ms(ts)["p50_ms"] / b["p50_ms"], 3)))},
        "cpu_bf16": cpu,
        "target": TARGETS["ask_p50_ratio"], "met": ratio <= TARGETS["ask_p50_ratio"], "torch_threads": threads,
        "memory_mb": {"before": round(rss0, 1), "shipped_after_warmup": round(rss_default, 1),
                      "after_warmup": round(rss_setup, 1), "peak": round(_maxrss_mb(), 1)},
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


def _shipped_rss(a: dict) -> str:
    """The ask step's memory: the shipped configuration alone, and the step's peak with the variants."""
    return f"{a['memory_mb']['shipped_after_warmup']:.0f} ({a['peak_rss_mb']:.0f} with the variants below loaded too)"


def step_noop(work: Path, reps: int) -> dict[str, Any]:
    """Rebuilding an unchanged corpus: must be quick and must not load the model (nor import torch)."""
    from .index import build_index

    corpus, idx_dir = Path(DEFAULT_CORPUS), work / "seed-index"
    embedder = _embedder()
    rss0 = _maxrss_mb()
    times, reports = [], []
    for _ in range(max(3, reps * 3)):
        t = time.perf_counter()
        reports.append(build_index(corpus, idx_dir, embedder))
        times.append(time.perf_counter() - t)
    loaded = bool(getattr(embedder, "loaded", False))
    torch_imported = "torch" in sys.modules
    rss_inproc = _maxrss_mb()
    cli = []
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cli_noop = True
    for _ in range(max(3, reps)):
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--index", str(idx_dir), "--quiet"],
                           capture_output=True, text=True, env=env, timeout=300)
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
        "memory_mb": {"before": round(rss0, 1), "peak_in_process": round(rss_inproc, 1), "peak": round(_maxrss_mb(), 1)},
    }


def step_incremental(work: Path, reps: int) -> dict[str, Any]:
    """Append a paragraph to one document of a copied corpus and rebuild: how many texts re-embed."""
    from .index import build_index

    src = Path(DEFAULT_CORPUS)
    corpus = work / "corpus-incremental"
    idx_dir = work / "incremental-index"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(idx_dir, ignore_errors=True)
    shutil.copytree(src, corpus)
    shutil.copytree((work / "seed-index").resolve(), idx_dir)  # a plain folder: published as a legacy build
    embedder = _embedder()
    rss0 = _maxrss_mb()
    before = build_index(corpus, idx_dir, embedder)  # same bytes and names: nothing to do
    # one new paragraph right after the first evidence passage of the first document (appending at the
    # very end could land in a notes section, which is boilerplate and never embedded)
    from .index import load_index

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
        "memory_mb": {"before": round(rss0, 1), "peak": round(_maxrss_mb(), 1)},
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


def _base_vectors(work: Path, quick: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """Real embeddings to derive the synthetic set from: SQuAD v1.1 dev paragraphs, and real questions.

    Cached under var/perf-cache (keyed by file hash, model and counts). Falls back to the seed index's
    passage and sentence vectors (and the gold questions) when the SQuAD file is not in eval/benchmarks.
    """
    embedder = _embedder()
    n_par, n_q = (300, 100) if quick else (None, 500)
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
    from .index import load_index

    index = load_index(work / "seed-index", embedder)
    base = np.concatenate([index.passage_vectors(), np.asarray(index.sentence_vectors)])
    queries = np.asarray(embedder.encode(_gold_questions()), dtype=np.float32)
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


def step_vectors(work: Path, quick: bool) -> dict[str, Any]:
    """Embed (or find cached) the real vectors the scale test derives its synthetic set from. Run apart
    from the scale step so the model's memory does not count in the index layer's peak."""
    t = time.perf_counter()
    base, queries, source = _base_vectors(work, quick)
    np.save(work / "scale-base.npy", base, allow_pickle=False)
    np.save(work / "scale-queries.npy", queries, allow_pickle=False)
    (work / "scale-source.txt").write_text(source, encoding="utf-8")
    return {"source": source, "base": int(len(base)), "queries": int(len(queries)),
            "seconds": round(time.perf_counter() - t, 2), "memory_mb": {"peak": round(_maxrss_mb(), 1)}}


def step_scale(work: Path, reps: int, n: int, quick: bool) -> dict[str, Any]:
    """The index layer on n synthetic vectors: FAISS add time, single-query latency, recall, memory.

    Latency is measured with FAISS's default OpenMP threads (what `qa` runs with) and with one thread,
    interleaved: on a shared 2-core machine OpenMP's spinning threads can make a single query slower.
    """
    import faiss

    from .index import make_faiss

    base = np.load(work / "scale-base.npy", allow_pickle=False)
    queries = np.load(work / "scale-queries.npy", allow_pickle=False)
    source = (work / "scale-source.txt").read_text(encoding="utf-8")
    rss_base = _rss_mb()
    t = time.perf_counter()
    X = synthetic_vectors(base, n)
    gen_s = time.perf_counter() - t
    dim = X.shape[1]
    rss0, peak0 = _rss_mb(), _maxrss_mb()
    threads = faiss.omp_get_max_threads()
    out: dict[str, Any] = {"n": n, "dim": dim, "vectors_from": source, "queries": len(queries),
                           "generate_s": round(gen_s, 2), "faiss_threads": threads,
                           "note": "index layer only (FAISS add/search) on synthetic vectors; no model encoding"}
    indexes = {}
    for kind in ("flat", "hnsw"):
        before = _rss_mb()
        t = time.perf_counter()
        indexes[kind] = make_faiss(X, kind, dim)
        build_s = time.perf_counter() - t
        out[kind] = {"build_s": round(build_s, 3), "vectors_per_s": round(n / build_s, 1),
                     "held_mb": round(_rss_mb() - before, 1), "peak_mb": round(_maxrss_mb(), 1)}
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
    for r in range(reps):
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
        out[kind].update(_ms(lat[(kind, threads)]))
        if threads != 1:
            out[kind]["one_thread"] = _ms(lat[(kind, 1)])
    out["hnsw_recall_at_10"] = round(recall, 4)
    out["hnsw_speedup_p50"] = round(out["flat"]["p50_ms"] / out["hnsw"]["p50_ms"], 2) if out["hnsw"]["p50_ms"] else None
    out["memory_mb"] = {"base_vectors_loaded": round(rss_base, 1), "after_vectors": round(rss0, 1),
                        "vectors_mb": round(X.nbytes / 2**20, 1), "peak_before_indexes": round(peak0, 1),
                        "peak": round(_maxrss_mb(), 1)}
    return out


def step_bf16(work: Path, reps: int) -> dict[str, Any]:
    """bf16 vs fp32 index builds of the seed corpus: build speed and top-5 overlap on the gold questions."""
    from .index import build_index, load_index
    from .retrieval import Retriever

    corpus = Path(DEFAULT_CORPUS)
    emb = {"fp32": _embedder("fp32"), "bf16": _embedder("bf16")}
    if _is_fake(emb["fp32"]):
        return {"skipped": "the fake embedder has no precision"}
    dirs = {p: work / f"{p}-index" for p in emb}
    rss0 = _maxrss_mb()
    for p in emb:  # warm-up builds (model loads)
        build_index(corpus, dirs[p], emb[p], force=True)
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for r in range(reps):
        for p in (("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")):
            t = time.perf_counter()
            build_index(corpus, dirs[p], emb[p], force=True)
            times[p].append(time.perf_counter() - t)
    ret = {p: Retriever(load_index(dirs[p], emb[p]), emb[p]) for p in emb}
    mixed = Retriever(ret["bf16"].index, emb["fp32"])  # a bf16 index asked with the default fp32 model
    qs = _gold_questions()
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
        "memory_mb": {"before": round(rss0, 1), "peak": round(_maxrss_mb(), 1)},
    }


def run_step(name: str, work: Path, reps: int, scale: int, quick: bool) -> dict[str, Any]:
    noise = _Noise()
    t = time.perf_counter()
    if name == "build":
        res = step_build(work, reps)
    elif name == "ask":
        res = step_ask(work, reps)
    elif name == "noop":
        res = step_noop(work, reps)
    elif name == "incremental":
        res = step_incremental(work, reps)
    elif name == "vectors":
        res = step_vectors(work, quick)
    elif name == "scale":
        res = step_scale(work, reps, scale, quick)
    elif name == "bf16":
        res = step_bf16(work, reps)
    else:
        raise QAError(f"unknown perf step {name!r}")
    res["step_wall_s"] = round(time.perf_counter() - t, 2)
    res["others_cpu_share"] = noise.others()
    res["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    res["peak_rss_mb"] = round(_maxrss_mb(), 1)
    return res


# --------------------------------------------------------------------------- orchestration and the table

def _run_in_subprocess(name: str, work: Path, reps: int, scale: int, quick: bool, log: Callable[[str], None]) -> dict:
    out = work / f"step-{name}.json"
    cmd = [sys.executable, "-m", "qa.perf", "--step", name, "--workdir", str(work), "--reps", str(reps),
           "--scale", str(scale), "--out", str(out)] + (["--quick"] if quick else [])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    log(f"perf: {name} ...")
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(PROJECT_ROOT))
    if p.returncode != 0 or not out.exists():
        tail = (p.stderr.strip().splitlines() or ["(no output)"])[-1]
        log(f"perf: {name} failed: {tail}")
        return {"error": tail[:300]}
    log(f"perf: {name} done in {time.perf_counter() - t:.1f}s")
    return json.loads(out.read_text(encoding="utf-8"))


def _yes(b: Optional[bool]) -> str:
    return "—" if b is None else ("met" if b else "MISSED")


def _noisy(r: dict) -> str:
    s = r.get("others_cpu_share")
    return "" if s is None else (f" (noisy: others used {s:.0%})" if s >= 0.10 else "")


def format_table(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        f"qa bench perf — {res['date']} — {m['cpu']}, {m['cores']} cores, {m.get('mem_gb')} GiB"
        + (" — FAKE EMBEDDER (plumbing only)" if res.get("fake_embedder") else "")
        + (" — quick" if res.get("quick") else ""),
        "",
        "| measure | qa | bare baseline | ratio | target | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    s = res["steps"]

    def err(name):
        return f"| {name} | error: {s[name]['error']} | | | | |"

    if "ask" in s:
        a = s["ask"]
        if "error" in a:
            lines.append(err("ask"))
        else:
            lines.append(f"| warm `ask` latency p50{_noisy(a)}{' (with the span reader)' if a.get('reader') else ''} | {a['ask']['p50_ms']:.1f} ms | {a['bare']['p50_ms']:.1f} ms "
                         f"(encode + IndexFlatIP) | {a['ratio_p50']:.2f}× | ≤ {a['target']}× {_yes(a['met'])} | "
                         f"{_shipped_rss(a)} |")
            lines.append(f"| warm `ask` latency p95 | {a['ask']['p95_ms']:.1f} ms | {a['bare']['p95_ms']:.1f} ms | "
                         f"{a['ratio_p95']:.2f}× | | |")
            if a.get("rules_only"):
                lines.append(f"| warm `ask` p50 without the span reader (`QA_READER=off`) | {a['rules_only']['p50_ms']:.1f} ms | "
                             f"{a['bare']['p50_ms']:.1f} ms | {a['rules_only_ratio_p50']:.2f}× | ≤ {a['target']}× "
                             f"{_yes(a['rules_only_ratio_p50'] <= a['target'])} | |")
            if a.get("reader_bf16"):
                lines.append(f"| warm `ask` p50 with the reader in bf16 (`QA_READER_PRECISION=bf16`; CPU bf16 units: {a.get('cpu_bf16')}) | "
                             f"{a['reader_bf16']['p50_ms']:.1f} ms | {a['bare']['p50_ms']:.1f} ms | {a['reader_bf16_ratio_p50']:.2f}× | "
                             f"≤ {a['target']}× {_yes(a['reader_bf16_ratio_p50'] <= a['target'])} | |")
            if a.get("reader_one_window"):
                lines.append(f"| the reader alone, one pass over one window (the least any reader answer adds) | "
                             f"{a['reader_one_window']['p50_ms']:.1f} ms | {a['bare']['p50_ms']:.1f} ms | "
                             f"{a['reader_one_window_ratio_p50']:.2f}× | | |")
            if a.get("retrieve"):
                rr = a["retrieve_ratio_p50"]
                lines.append(f"| retrieval alone p50 (BM25 + dense + fusion + sentences) | {a['retrieve']['p50_ms']:.1f} ms | "
                             f"{a['bare']['p50_ms']:.1f} ms (encode + IndexFlatIP) | {rr:.2f}× | ≤ 1.3× "
                             f"{_yes(rr <= 1.3)} | |")
    if "build" in s:
        b = s["build"]
        if "error" in b:
            lines.append(err("build"))
        else:
            lines.append(f"| index build throughput{_noisy(b)} ({b['evidence']} passages + {b['sentences']} sentences) | "
                         f"{b['build_passages_per_s']:.1f} passages/s ({b['build_median_s']:.2f} s) | "
                         f"{b['bare_passages_per_s']:.1f} passages/s ({b['bare_median_s']:.2f} s, encode of the same "
                         f"{b['texts_embedded']} texts) | {b['ratio']:.2f}× | ≥ {b['target']}× {_yes(b['met'])} | {b['peak_rss_mb']:.0f} |")
            bd = b.get("breakdown_s") or {}
            if bd:
                parts = ", ".join(f"{k.replace('_', ' ')} {v:.2f} s" for k, v in bd.items())
                lines.append(f"| build time besides encoding (each timed once, warm) | {parts} | | | | |")
    if "noop" in s:
        n = s["noop"]
        if "error" in n:
            lines.append(err("noop"))
        else:
            lines.append(f"| no-op rebuild | {n['in_process_median_s'] * 1000:.1f} ms in process (first call "
                         f"{n['in_process_s'][0]:.2f} s), {n['cli_median_s']:.2f} s "
                         f"`qa index`; model loaded: {'yes' if n['model_loaded'] else 'no'}, torch imported: "
                         f"{'yes' if n['torch_imported'] else 'no'} | | | < {n['target_s']:.0f} s, no model {_yes(n['met'])} | {n['peak_rss_mb']:.0f} |")
    if "incremental" in s:
        i = s["incremental"]
        if "error" in i:
            lines.append(err("incremental"))
        else:
            lines.append(f"| rebuild after one paragraph added | re-embedded {i['embedded']} of {i['total_texts']} texts "
                         f"({i['evidence']} passages, {i['sentences']} sentences); {i['seconds']:.1f} s incl. model load | "
                         f"| | | {i['peak_rss_mb']:.0f} |")
    if "vectors" in s and "error" in s["vectors"]:
        lines.append(err("vectors"))
    if "scale" in s:
        c = s["scale"]
        if "error" in c:
            lines.append(err("scale"))
        else:
            f, h = c["flat"], c["hnsw"]
            lines.append(f"| scale {c['n']:,}: flat build (FAISS add){_noisy(c)} | {f['build_s']:.2f} s, holds {f['held_mb']:.0f} MiB | | | | {c['peak_rss_mb']:.0f} (step) |")
            lines.append(f"| scale {c['n']:,}: HNSW build (M=32, efC={h['params']['efConstruction']}) | {h['build_s']:.1f} s, "
                         f"holds {h['held_mb']:.0f} MiB | | | | |")
            lines.append(f"| scale {c['n']:,}: query p50 / p95 (k=10, {c['queries']} real questions) | "
                         f"HNSW {h['p50_ms']:.2f} / {h['p95_ms']:.2f} ms | flat {f['p50_ms']:.2f} / {f['p95_ms']:.2f} ms | "
                         f"{c['hnsw_speedup_p50']:.1f}× faster | | |")
            if "one_thread" in f:
                lines.append(f"| scale {c['n']:,}: same with FAISS on 1 thread (default {c['faiss_threads']}) | "
                             f"HNSW {h['one_thread']['p50_ms']:.2f} / {h['one_thread']['p95_ms']:.2f} ms | "
                             f"flat {f['one_thread']['p50_ms']:.2f} / {f['one_thread']['p95_ms']:.2f} ms | | | |")
            lines.append(f"| scale {c['n']:,}: HNSW recall@10 vs flat (efSearch={h['params']['efSearch']}) | {c['hnsw_recall_at_10']:.3f} | 1.000 | | | |")
    if "bf16" in s:
        b = s["bf16"]
        if "error" in b:
            lines.append(err("bf16"))
        elif "skipped" in b:
            lines.append(f"| bf16 index build | skipped: {b['skipped']} | | | | |")
        else:
            lines.append(f"| bf16 index build (`--precision bf16`) | top-5 overlap {b['top5_overlap']:.3f} "
                         f"(fp32 queries on a bf16 index: {b['top5_overlap_bf16_index_fp32_queries']:.3f}); "
                         f"{'kept' if b['kept'] else 'not kept'} | fp32 build | {b['speed_ratio']:.2f}× speed | "
                         f"overlap ≥ {b['target_overlap']} {_yes(b['top5_overlap'] >= b['target_overlap'])} | {b['peak_rss_mb']:.0f} |")
    lines.append("")
    if "scale" in s and "error" not in s["scale"]:
        lines.append(f"Scale rows measure the index layer (FAISS) on {s['scale']['n']:,} synthetic unit vectors "
                     f"(random convex combinations of 2-3 real embeddings from {s['scale']['vectors_from']}), "
                     "not model encoding.")
    lines.append("Medians of interleaved runs; each step ran in its own process (peak RSS = that process's "
                 "high-water mark, VmHWM). 'noisy' marks steps during which other processes used ≥10% of the CPU.")
    return "\n".join(lines)


def run_perf(json_out: Optional[Path] = None, scale: int = 100_000, quick: bool = False,
             precision: Optional[str] = None, steps: Sequence[str] = STEPS[:-1],
             log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict[str, Any]:
    if quick and scale > 10_000:
        scale = 10_000
    steps = list(steps)
    if precision == "bf16" and "bf16" not in steps:
        steps.append("bf16")
    if scale <= 0:
        steps = [s for s in steps if s not in ("scale", "vectors")]
    reps = 1 if quick else 3
    from .embedding import embedder_from_env

    res: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine_info(),
        "quick": quick, "reps": reps, "scale": scale, "fake_embedder": _is_fake(embedder_from_env()),
        "targets": TARGETS, "loadavg_start": [round(x, 2) for x in os.getloadavg()], "steps": {},
    }
    work = Path(tempfile.mkdtemp(prefix="qa-perf-"))
    try:
        if "scale" in steps and "vectors" not in steps:
            steps.append("vectors")  # the scale step's input
        if "build" not in steps and any(s in steps for s in ("ask", "noop", "incremental")):
            steps.append("build")  # they use its index
        order = [s for s in STEPS if s in steps]
        for name in order:
            res["steps"][name] = _run_in_subprocess(name, work, reps, scale, quick, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["table"] = format_table(res)
    if json_out:
        json_out = Path(json_out)
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    return res


def run_perf_cli(args) -> int:
    """`qa bench perf [--json OUT] [--scale N] [--quick]` (and `--precision bf16` where the CLI has it)."""
    res = run_perf(getattr(args, "json_out", None), scale=getattr(args, "scale", 100_000),
                   quick=getattr(args, "quick", False), precision=getattr(args, "precision", None),
                   log=(lambda s: None) if getattr(args, "quiet", False) else (lambda s: print(s, file=sys.stderr)))
    print(res["table"])
    failed = [n for n, r in res["steps"].items() if "error" in r]
    if failed:
        print(f"qa bench perf: steps failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m qa.perf", description="qa bench perf, with --precision bf16")
    p.add_argument("--json", dest="json_out", type=Path, default=None, metavar="OUT")
    p.add_argument("--scale", type=int, default=100_000)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--precision", choices=["bf16"], default=None, help="also measure a bf16 index build")
    p.add_argument("--only", action="append", choices=STEPS, default=None, help="run only these steps")
    p.add_argument("--quiet", action="store_true")
    # worker mode (one step in this process)
    p.add_argument("--step", choices=STEPS, default=None, help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--reps", type=int, default=3, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        if args.step:
            res = run_step(args.step, args.workdir, args.reps, args.scale, args.quick)
            args.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
            return 0
        if args.only:
            res = run_perf(args.json_out, args.scale, args.quick, args.precision, steps=args.only,
                           log=(lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr)))
            print(res["table"])
            return 1 if any("error" in r for r in res["steps"].values()) else 0
        return run_perf_cli(args)
    except QAError as e:
        print(f"qa bench perf: error: {e}", file=sys.stderr)
        return e.code


if __name__ == "__main__":
    sys.exit(main())
