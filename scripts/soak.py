#!/usr/bin/env python
"""Crash-safety soak: kill -9 index rebuilds at many random moments; the index must survive every one.

    .venv/bin/python scripts/soak.py --trials 200 [--seed S] [--cli-share 0.2] [--keep DIR]

The same routine as tests/test_crash.py::test_kill9_during_rebuild_keeps_a_loadable_index (which runs
10 trials in `make test`), with as many trials as you like. Each trial changes the corpus, starts a rebuild
(most from a warm fork server, so the kill lands inside the build itself; `--cli-share` of them as a
whole `python -m qa index` process), kills it with SIGKILL at a moment spread over the build's duration,
then loads the index (which verifies every checksum) and answers a question from it. Uses the fake
embedder (QA_EMBEDDER=fake), so no model is needed; about 0.5-3 s per trial on a 2-core machine.

Exit code 0 when every trial passed, 1 on the first failure (with the seed to reproduce it).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from qa.settings import set_offline_environment  # noqa: E402

set_offline_environment()

from support import kill_trials  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="scripts/soak.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=100, help="kills to survive (default 100)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock, printed)")
    p.add_argument("--cli-share", type=float, default=0.2, help="share of kills aimed at a whole `qa index` process")
    p.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (default: a temp folder)")
    p.add_argument("--quiet", action="store_true", help="only the summary")
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else time.time_ns() % 2**31
    work = args.keep or Path(tempfile.mkdtemp(prefix="qa-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"soak: {args.trials} trials, seed {seed}, in {work}", flush=True)
    t = time.perf_counter()
    try:
        report = kill_trials(work, trials=args.trials, seed=seed, cli_share=args.cli_share,
                             log=(lambda s: None) if args.quiet else (lambda s: print(s, flush=True)))
    except AssertionError as e:
        print(f"soak: FAILED (reproduce with --seed {seed} --trials {args.trials}): {e}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"soak: passed in {time.perf_counter() - t:.0f}s: {report.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
