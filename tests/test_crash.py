"""Crash safety: a rebuild killed at random moments (kill -9) never loses the index."""
from __future__ import annotations

import os
import time

import pytest

from support import kill_trials


@pytest.mark.slow
def test_kill9_during_rebuild_keeps_a_loadable_index(tmp_path):
    """At >= 10 random moments a rebuild is killed; each time the index loads, verifies and answers."""
    seed = int(os.environ.get("QA_TEST_KILL_SEED", time.time_ns() % 2**31))
    lines: list[str] = []
    try:
        report = kill_trials(tmp_path, trials=10, seed=seed, cli_share=0.15, log=lines.append)
    except AssertionError as e:
        raise AssertionError(f"seed {seed} (rerun with QA_TEST_KILL_SEED={seed}): {e}\n" + "\n".join(lines)) from None
    assert len(report.trials) == 10
    assert report.killed >= 3, report.summary()  # most kills land inside a build; the rest test a finished one
    print(report.summary())
