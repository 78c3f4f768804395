"""qa.evaluation.bench.perf: the speed benchmark runs end to end (plumbing, with the fake embedder)."""
from __future__ import annotations

import json
import pytest
from support import (
    run_qa,
)


@pytest.mark.slow
def test_perf_bench_runs_end_to_end_on_the_fake_embedder(tmp_path):
    """`qa bench perf --quick` (plumbing only, with the fake embedder): every step runs and reports, so the
    benchmark does not rot while the code it measures changes."""
    out = tmp_path / "perf.json"
    r = run_qa(["bench", "perf", "--quick", "--scale", "2000", "--json", str(out)], timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["fake_embedder"] and res["scale"] == 2000
    assert set(res["steps"]) == {"build", "ask", "noop", "incremental", "vectors", "scale"}
    assert not [n for n, s in res["steps"].items() if "error" in s]
    assert res["steps"]["incremental"]["embedded"] < res["steps"]["incremental"]["total_texts"] / 10
    assert res["steps"]["noop"]["noop"] and not res["steps"]["noop"]["model_loaded"]
    assert 0.9 <= res["steps"]["scale"]["hnsw_recall_at_10"] <= 1.0
    assert "| warm `ask` latency p50" in r.stdout and "FAKE EMBEDDER" in r.stdout
    ask = res["steps"]["ask"]
    from qa.timing import STAGES

    assert set(ask["stages_ms"]) == {*STAGES, "unattributed"}
    assert sum(ask["stages_ms"].values()) == pytest.approx(ask["ask"]["mean_ms"], rel=0.01, abs=0.01)
    assert ask["stages_ms"]["search"] > 0 and ask["stages_ms"]["candidates"] > 0
    rv = ask["resolve"]  # the questions asked as one conversation: what resolving follow-ups costs a turn
    assert rv["turns"] >= 1 and 0 <= rv["mean_ms"] <= rv["max_ms"] and rv["target_ms"] == 2.0
    assert "resolving follow-ups" in res["table"]
    assert ask["sgemm_gflops"] > 0
    assert {"tokens_per_question", "tokens_padded_per_question", "gflop_per_question", "gflops",
            "share_of_sgemm"} <= set(ask["reader_work"])  # None here: the fake runs no reader
    assert ask["target"] == 4.0 and ask["goal"] == 3.0 and ask["rules_only_target"] == 1.0
    build = res["steps"]["build"]["process"]
    assert build["texts"] > 100 and build["embedded_by_qa_index"] == build["texts"]
    assert build["ratio"] == pytest.approx(build["bare_median_s"] / build["qa_index_median_s"], rel=0.01, abs=0.001)  # both rounded
    assert build["target"] == 1.3 and build["goal"] == 1.5 and "--fake" in build["bare_command"]
    assert "whole `qa index --force` process" in r.stdout
