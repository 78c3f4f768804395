"""`qa bench perf`: speed and memory, each figure measured against its bare-library baseline in one run.

Every figure is paired with a baseline measured in the same process, interleaved with it, so the ratio
holds on a noisy machine; medians are reported. Each step runs in its own subprocess so its peak memory
(VmHWM) is its own. The bare baseline is always sentence-transformers' `encode` with its defaults on a
torch model of its own, whatever backend (ONNX Runtime or torch) the pipeline runs. Steps:

- build:       (issue 19's target) the whole `qa index --force` process building a fresh index of 8
               SQuAD v1.1 dev articles vs a bare process (`python -m qa.evaluation.bench.bare`) that imports
               sentence-transformers, loads the model and encodes the same texts (the index's passages
               and sentences, deduplicated): whole-process wall times, interleaved, ratio bare / qa; the
               build's own stage timings when its manifest records them. Then, in this process, forced
               builds of the bench corpus vs bare encode of its texts, and what chunking and sentence
               analysis cost besides.
- ask:         warm `Answerer.ask` vs bare encode + FAISS IndexFlatIP search over the same passage
               vectors (latency p50/p95 and their ratio); in the same loop, the answer step without the
               span reader, all in torch (QA_BACKEND=torch), with the reader in bf16, one reader pass over
               one window, and retrieval alone. Also the mean time per stage of an ask (qa.timing), the
               reader's tokens per question, its GFLOP per question (from the model's shape) and the
               rate that makes, against this machine's sgemm rate measured in the same step.
- noop:        rebuilding an unchanged corpus (in process and through `qa index`): time, model loaded?
- incremental: one document of a copied corpus gets a new paragraph; texts re-embedded vs total.
- vectors:     real SQuAD v1.1 embeddings (cached) for the scale step to derive its synthetic set from.
- scale:       the index layer alone (FAISS add and search, flat vs HNSW, HNSW recall@10 against flat) on
               a synthetic set of unit vectors derived from real SQuAD v1.1 embeddings. Model encoding is
               not part of it: at ~30 passages/s embedding 100,000 passages would take about an hour.
- bf16:        (--precision bf16) an index built with a bf16 model vs fp32: build speed and top-5 overlap
               on the gold questions; kept only if overlap >= 0.98.

The questions come from the caller (`qa bench perf --questions FILE`, default the gold questions for the
bundled corpus, else the corpus's own example questions): nothing here knows what a corpus is about.
`python -m qa.evaluation.bench.perf` takes the same options as `qa bench perf` plus `--only STEP`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional, Sequence


from ...errors import QAError
from ...settings import PROJECT_ROOT, Settings, set_offline_environment
from .measure import Noise, machine_info, maxrss_mb
from .perf_build import step_bf16, step_build, step_incremental, step_noop
from .perf_report import format_table
from .perf_scale import step_scale, step_vectors
from .perf_steps import TARGETS, Bench, _is_fake, read_questions, step_ask

STEP_FUNCTIONS: dict[str, Callable[[Bench], dict]] = {
    "build": step_build, "ask": step_ask, "noop": step_noop, "incremental": step_incremental,
    "vectors": step_vectors, "scale": step_scale, "bf16": step_bf16}
STEPS = tuple(STEP_FUNCTIONS)  # in the order they run: ask, noop and incremental use the build's index


def run_step(name: str, bench: Bench) -> dict[str, Any]:
    """One step in this process, with what the machine was doing meanwhile and this process's peak memory."""
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


def _run_in_subprocess(name: str, bench: Bench, questions_file: Path, log: Callable[[str], None]) -> dict:
    """One step in a fresh process, so that its peak memory (VmHWM) is its own."""
    out = bench.work / f"step-{name}.json"
    cmd = [sys.executable, "-m", "qa.evaluation.bench.perf", "--step", name, "--workdir", str(bench.work),
           "--reps", str(bench.reps), "--scale", str(bench.scale), "--out", str(out),
           "--corpus", str(bench.corpus), "--questions", str(questions_file)] + (["--quick"] if bench.quick else [])
    log(f"perf: {name} ...")
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=str(PROJECT_ROOT))
    if p.returncode != 0 or not out.exists():
        tail = (p.stderr.strip().splitlines() or ["(no output)"])[-1]
        log(f"perf: {name} failed: {tail}")
        return {"error": tail[:300]}
    log(f"perf: {name} done in {time.perf_counter() - t:.1f}s")
    return json.loads(out.read_text(encoding="utf-8"))


def _seed_index(bench: Bench, log: Callable[[str], None]) -> None:
    """The index the build step leaves for ask, noop and incremental, when that step is not run."""
    log("perf: indexing the corpus for the steps that need it (untimed) ...")
    p = subprocess.run([sys.executable, "-m", "qa", "index", "--corpus", str(bench.corpus),
                        "--index", str(bench.work / "seed-index"), "--quiet"],
                       capture_output=True, text=True, cwd=str(PROJECT_ROOT))
    if p.returncode != 0:
        raise QAError(f"could not index {bench.corpus} for the benchmark: {(p.stderr.strip().splitlines() or [''])[-1]}")


def run_perf(settings: Settings, corpus: Path, questions: Sequence[str], json_out: Optional[Path] = None,
             scale: int = 100_000, quick: bool = False, precision: Optional[str] = None,
             steps: Sequence[str] = STEPS[:-1], log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)
             ) -> dict[str, Any]:
    """Every step, each in its own subprocess, on `corpus` with `questions`; the result dict (`--json`)."""
    from ...neural.embedding import make_embedder

    if quick and scale > 10_000:
        scale = 10_000
    steps = list(steps)
    if precision == "bf16" and "bf16" not in steps:
        steps.append("bf16")
    if scale <= 0:
        steps = [s for s in steps if s not in ("scale", "vectors")]
    reps = 1 if quick else 3
    res: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine_info(),
        "quick": quick, "reps": reps, "scale": scale, "fake_embedder": _is_fake(make_embedder(settings)),
        "corpus": str(corpus), "questions": len(questions),
        "targets": TARGETS, "loadavg_start": [round(x, 2) for x in os.getloadavg()], "steps": {},
    }
    work = Path(tempfile.mkdtemp(prefix="qa-perf-"))
    try:
        qfile = work / "questions.jsonl"
        qfile.write_text("".join(json.dumps({"question": q}) + "\n" for q in questions), encoding="utf-8")
        bench = Bench(work, reps, Path(corpus), tuple(questions), settings, scale, quick)
        if "scale" in steps and "vectors" not in steps:
            steps.append("vectors")  # the scale step's input
        if "build" not in steps and any(s in steps for s in ("ask", "noop", "incremental")):
            _seed_index(bench, log)  # they use the build step's index: build just that, untimed
        for name in [s for s in STEPS if s in steps]:
            res["steps"][name] = _run_in_subprocess(name, bench, qfile, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["table"] = format_table(res)
    if json_out:
        json_out = Path(json_out)
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    return res


def main(argv: Optional[Sequence[str]] = None) -> int:
    """One step in this process (the subprocess `run_perf` starts), or the whole benchmark with --only."""
    p = argparse.ArgumentParser(prog="python -m qa.evaluation.bench.perf", description="qa bench perf, step by step")
    p.add_argument("--json", dest="json_out", type=Path, default=None, metavar="OUT")
    p.add_argument("--scale", type=int, default=100_000)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--precision", choices=["bf16"], default=None, help="also measure a bf16 index build")
    p.add_argument("--only", action="append", choices=STEPS, default=None, help="run only these steps")
    p.add_argument("--corpus", type=Path, default=None)
    p.add_argument("--questions", type=Path, default=None)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--step", choices=STEPS, default=None, help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--reps", type=int, default=3, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    set_offline_environment()
    try:
        settings = Settings.from_env()
        corpus = args.corpus or settings.corpus
        questions = read_questions(args.questions, corpus)
        if args.step:
            bench = Bench(args.workdir, args.reps, corpus, questions, settings, args.scale, args.quick)
            args.out.write_text(json.dumps(run_step(args.step, bench), indent=2), encoding="utf-8")
            return 0
        res = run_perf(settings, corpus, questions, args.json_out, args.scale, args.quick, args.precision,
                       steps=args.only or STEPS[:-1],
                       log=(lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr)))
        print(res["table"])
        return 1 if any("error" in r for r in res["steps"].values()) else 0
    except QAError as e:
        print(f"qa bench perf: error: {e}", file=sys.stderr)
        return e.code


if __name__ == "__main__":
    sys.exit(main())
