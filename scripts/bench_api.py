#!/usr/bin/env python
"""Benchmark: REST `POST /api/v1/ask` against the engine's warm `answerer.ask`, measured in one run (issue 29).

    .venv/bin/python scripts/bench_api.py [--n 40] [--corpus DIR] [--json OUT] [--max-ratio 1.3]

Makes a workspace in a temp folder with one user, a token and one collection (a copy of `--corpus`,
default the bundled corpus), starts `python app.py --collection` on 127.0.0.1 (it builds the index with
the real model), opens the same index in this process, warms both up, then asks the same questions
alternately of each: the engine's `answerer.ask` here, and the REST route through one keep-alive
httpx.Client. Which goes first alternates, so neither always follows the other's CPU work.

Prints p50/p90 of each and the ratio REST p50 / engine p50; writes them with `--json`. Exit 1 when the
ratio is over `--max-ratio`, 2 when the server or a request fails.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "api"))
from qa.settings import set_offline_environment  # noqa: E402

set_offline_environment()

from api_process import COLLECTION, serve  # noqa: E402


def questions_for(corpus: Path, limit: int = 20) -> list[str]:
    """The gold dev questions for the bundled corpus; otherwise a few generic ones."""
    gold = ROOT / "eval" / "questions.jsonl"
    if corpus.resolve() == (ROOT / "corpus").resolve() and gold.is_file():
        rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r["question"] for r in rows if r.get("split") == "dev"][:limit]
    return ["What is this about?", "Who is named first?", "When did it happen?", "Where was it?"]


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench_api.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=40, help="questions asked of each, alternating (default 40)")
    p.add_argument("--warmup", type=int, default=5, help="questions asked of each before timing (default 5)")
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="the collection's documents (default corpus/)")
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    p.add_argument("--max-ratio", type=float, default=1.3, help="exit 1 when REST p50 / engine p50 is over this")
    args = p.parse_args(argv)

    import httpx

    from qa.pipeline import open_answerer
    from qa.settings import Settings
    from qa.workspace import Workspace

    questions = questions_for(args.corpus)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        t0 = time.monotonic()
        served = serve(Path(tmp), originals=args.corpus)
        started = time.monotonic() - t0
        try:
            c = Workspace.open(served.workspace).collection(COLLECTION)
            # the server's own way of opening it (qa.api.answerers.default_opener), in this process
            answerer = open_answerer(c.index, Settings.from_env(), check_corpus=False)
            client = httpx.Client(base_url=served.api, headers=served.headers, timeout=120)

            def engine(q: str) -> float:
                t = time.perf_counter()
                answerer.ask(q)
                return time.perf_counter() - t

            def rest(q: str) -> float:
                t = time.perf_counter()
                r = client.post("/ask", json={"question": q, "collection": COLLECTION})
                r.json()
                elapsed = time.perf_counter() - t
                if r.status_code != 200:
                    raise RuntimeError(f"REST ask answered {r.status_code}: {r.text[:300]}")
                return elapsed

            for i in range(args.warmup):
                q = questions[i % len(questions)]
                engine(q), rest(q)
            times: dict[str, list[float]] = {"engine": [], "rest": []}
            for i in range(args.n):
                q = questions[i % len(questions)]
                order = ("engine", "rest") if i % 2 == 0 else ("rest", "engine")
                for which in order:
                    times[which].append((engine if which == "engine" else rest)(q))
            client.close()
        except Exception as e:  # a failed server or request: say so with its log
            print(f"bench_api: error: {e}\n{''.join(served.app.err)[-2000:]}", file=sys.stderr)
            return 2
        finally:
            served.stop()

    figures = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "cpu": cpu_model(), "cores": __import__("os").cpu_count(), "python": platform.python_version(),
        "corpus": str(args.corpus), "n": args.n, "warmup": args.warmup, "server_start_s": round(started, 1),
        **{f"{w}_{stat}_ms": round(1000 * f(times[w]), 1) for w in ("engine", "rest")
           for stat, f in (("p50", statistics.median), ("p90", lambda xs: percentile(xs, 90)))},
    }
    figures["ratio_p50"] = round(figures["rest_p50_ms"] / figures["engine_p50_ms"], 3)
    figures["max_ratio"] = args.max_ratio
    print(f"engine ask: p50 {figures['engine_p50_ms']} ms, p90 {figures['engine_p90_ms']} ms")
    print(f"REST ask:   p50 {figures['rest_p50_ms']} ms, p90 {figures['rest_p90_ms']} ms")
    print(f"ratio (REST p50 / engine p50): {figures['ratio_p50']} (limit {args.max_ratio}); "
          f"{args.n} questions each, {figures['cpu']}, {figures['cores']} cores")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if figures["ratio_p50"] > args.max_ratio else 0


if __name__ == "__main__":
    sys.exit(main())
