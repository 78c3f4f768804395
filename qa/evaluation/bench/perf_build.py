"""The build steps of `qa bench perf`: index builds against bare encoding (in process and as whole processes), no-op and incremental rebuilds, bf16.

The package's own layers are imported inside the steps, not at the top: each step runs in a process of
its own so that its peak memory is its own, and a step should not carry the modules only others use.
"""
from __future__ import annotations

import gzip
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ...errors import QAError
from ...settings import PROJECT_ROOT, bundled_model_dir
from .measure import maxrss_mb
from .perf_steps import SQUAD_FILE, TARGETS, Bench, _embedder, _is_fake, bare_encoder

SQUAD_ARTICLES = 8  # of SQuAD v1.1 dev: about 350 paragraphs, a few thousand texts to embed
PROCESS_TIMEOUT_S = 3600


def step_build(bench: Bench) -> dict[str, Any]:
    """The whole `qa index` process on a fresh index of SQuAD articles vs a bare process that loads the
    model and encodes the same texts (the issue's build target), then forced in-process builds of the
    bench corpus vs bare encoding of its texts. The processes go first, while this one holds no model."""
    process = process_build(bench)
    out = in_process_build(bench)
    out["process"] = process
    out["memory_mb"]["peak"] = round(maxrss_mb(), 1)
    return out


def squad_corpus(folder: Path, articles: int = SQUAD_ARTICLES) -> Path:
    """The first `articles` articles of SQuAD v1.1 dev as .txt files (title line, then the paragraphs),
    written once per bench work folder; a half-written folder is never taken for a finished one."""
    if folder.is_dir():
        return folder
    data = json.loads(gzip.open(SQUAD_FILE, "rt", encoding="utf-8").read())
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for i, art in enumerate(data["data"][:articles]):
        title = art["title"].replace("_", " ")
        body = "\n\n".join(p["context"].strip() for p in art["paragraphs"])
        name = re.sub(r"[^A-Za-z0-9]+", "-", art["title"]).strip("-")[:60] or "article"
        (tmp / f"{i + 1:02d}-{name}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    tmp.rename(folder)
    return folder


def _run(cmd: list[str], name: str) -> tuple[float, str]:
    """Wall seconds of a whole process, start to exit, and its stdout; QAError naming it when it fails."""
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=str(PROJECT_ROOT), timeout=PROCESS_TIMEOUT_S)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise QAError(f"{name} failed: {tail[:300]}")
    return wall, p.stdout


def _median_stages(runs: list[dict]) -> Optional[dict[str, float]]:
    """Per-stage medians of the build stage timings the manifests record (when the build records them)."""
    keys = [k for k in dict.fromkeys(k for r in runs for k in r) if all(isinstance(r.get(k), (int, float)) for r in runs)]
    return {k: round(statistics.median(float(r[k]) for r in runs), 3) for k in keys} if keys else None


def process_build(bench: Bench) -> dict[str, Any]:
    """`qa index --force` into a fresh folder vs `python -m qa.evaluation.bench.bare` on the texts that index embeds,
    whole-process wall times, interleaved; ratio = bare / qa index (above 1: qa index is faster)."""
    from ...index.files import read_manifest
    from ...index.load import load_index

    if not SQUAD_FILE.exists():
        return {"skipped": f"{SQUAD_FILE.name} is not in eval/benchmarks"}
    fake = _is_fake(_embedder(bench))  # the bare process encodes with what `qa index` encodes with
    # plumbing runs (the fake embedder) take one article: the same path, without minutes of spaCy
    articles = 1 if fake else SQUAD_ARTICLES
    corpus = squad_corpus(bench.work / f"squad-{articles}-articles", articles)
    fresh = bench.work / "squad-index"
    texts_file = bench.work / "squad-texts.json"
    index_cmd = [sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--index", str(fresh), "--force", "--quiet"]
    bare_cmd = [sys.executable, "-m", "qa.evaluation.bench.bare", str(texts_file),
                "--model", str(bench.settings.model_dir or bundled_model_dir())] + (["--fake"] if fake else [])

    def qa_index() -> tuple[float, str]:
        shutil.rmtree(fresh, ignore_errors=True)  # fresh every time: nothing to reuse from a previous build
        return _run(index_cmd, "qa index")

    # untimed first runs: they also bring the libraries and weights into the page cache for both sides
    first_index_s, stdout = qa_index()
    index = load_index(fresh)
    texts = list(dict.fromkeys([p.text for p in index.evidence] + [s.text for s in index.sentences]))
    texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    first_bare_s, _ = _run(bare_cmd, "qa.evaluation.bench.bare")
    found = re.search(r"embedded (\d+) texts", stdout)
    reps = 1 if bench.quick else max(2, bench.reps)
    index_s, bare_s, bare_parts, stages, manifest_s = [], [], [], [], []
    for r in range(reps):
        for what in (("index", "bare") if r % 2 == 0 else ("bare", "index")):
            if what == "index":
                wall, _ = qa_index()
                index_s.append(wall)
                m = read_manifest(fresh)
                manifest_s.append(m.get("build_seconds"))
                if isinstance(m.get("build_stages"), dict):
                    stages.append(m["build_stages"])
            else:
                wall, out = _run(bare_cmd, "qa.evaluation.bench.bare")
                bare_s.append(wall)
                bare_parts.append(json.loads(out.strip().splitlines()[-1]))
    q, b = statistics.median(index_s), statistics.median(bare_s)
    ratio = b / q
    return {
        "corpus": f"SQuAD v1.1 dev, first {articles} articles", "documents": len(index.documents),
        "evidence": len(index.evidence), "sentences": len(index.sentences), "texts": len(texts),
        "embedded_by_qa_index": int(found.group(1)) if found else None, "reps": reps,
        "qa_index_command": "qa index --corpus C --index FRESH --force --quiet",
        "bare_command": "python -m qa.evaluation.bench.bare TEXTS.json" + (" --fake" if fake else ""),
        "first_qa_index_s": round(first_index_s, 3), "first_bare_s": round(first_bare_s, 3),
        "qa_index_s": [round(x, 3) for x in index_s], "bare_s": [round(x, 3) for x in bare_s],
        "qa_index_median_s": round(q, 3), "bare_median_s": round(b, 3),
        "qa_index_texts_per_s": round(len(texts) / q, 2), "bare_texts_per_s": round(len(texts) / b, 2),
        "bare_parts_s": {k: round(statistics.median(p[k] for p in bare_parts), 3)
                         for k in ("import_s", "load_s", "encode_s")},
        "manifest_build_median_s": round(statistics.median(manifest_s), 3) if all(
            isinstance(x, (int, float)) for x in manifest_s) else None,
        "build_stages_s": _median_stages(stages) if stages else None,
        "ratio": round(ratio, 3), "target": TARGETS["build_ratio"], "goal": TARGETS["build_ratio_goal"],
        "met": ratio >= TARGETS["build_ratio"], "goal_met": ratio >= TARGETS["build_ratio_goal"],
    }


def in_process_build(bench: Bench) -> dict[str, Any]:
    """Forced builds of the bench corpus vs bare encode of the texts the build embeds, in this process,
    interleaved: how much of a build is encoding, without the processes' start-up and model load."""
    from ...index.load import load_index
    from ...index.build import build_index

    corpus, idx_dir = bench.corpus, bench.work / "seed-index"
    embedder = _embedder(bench)
    rss0 = maxrss_mb()
    t = time.perf_counter()
    first = build_index(corpus, idx_dir, embedder, force=True)  # also loads the model: reported apart
    first_s = time.perf_counter() - t
    index = load_index(idx_dir, embedder)
    texts = list(dict.fromkeys([p.text for p in index.evidence] + [s.text for s in index.sentences]))
    bare = bare_encoder(bench, embedder)
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
        "in_process_ratio": round(e / b, 3), "batch_size": getattr(embedder, "batch_size", None),
        "breakdown_s": breakdown,
        "memory_mb": {"before": round(rss0, 1), "after_first_build": round(rss_setup, 1)},
    }


def _build_breakdown(corpus: Path, index) -> dict[str, float]:
    """Where a build's time goes besides encoding: chunking and (when the index has it) sentence analysis,
    each timed once, warm, on the same corpus."""
    from ...ingest.chunking import ChunkSettings, passage_sentences, split_document
    from ...ingest.corpus import load_corpus

    out: dict[str, float] = {}
    t = time.perf_counter()
    docs = load_corpus(corpus)
    chunking = ChunkSettings()
    for d in docs:
        for p in split_document(d, chunking):
            if p.boilerplate is None:
                passage_sentences(p, d.text, chunking.max_wordpieces)
    out["read_and_chunk"] = round(time.perf_counter() - t, 3)
    try:
        from ...ingest.nlp import analyse
    except ImportError:
        return out
    t = time.perf_counter()
    analyse([s.text for s in index.sentences])
    out["sentence_analysis"] = round(time.perf_counter() - t, 3)
    return out


def step_noop(bench: Bench) -> dict[str, Any]:
    """Rebuilding an unchanged corpus: must be quick and must not load the model (nor import torch)."""
    from ...index.build import build_index

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
    from ...index.build import build_index

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
    from ...index.load import load_index

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


def step_bf16(bench: Bench) -> dict[str, Any]:
    """bf16 vs fp32 index builds of the seed corpus: build speed and top-5 overlap on the gold questions."""
    from ...index.load import load_index
    from ...index.build import build_index
    from ...answer.retrieval import Retriever

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
