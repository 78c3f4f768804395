"""CI's quality gate: the test split, scored with the real model, must not regress against eval/baseline.json."""
from __future__ import annotations

import json

import pytest

from qa.cli import main

from conftest import PROJECT_ROOT

pytestmark = pytest.mark.model

BASELINE = PROJECT_ROOT / "eval" / "baseline.json"


def test_test_split_does_not_regress_against_the_committed_baseline(real_index_dir, tmp_path, capsys):
    out = tmp_path / "current.json"
    rc = main(["eval", "--split", "test", "--index", str(real_index_dir), "--baseline", str(BASELINE),
               "--fail-on-regression", "--json", str(out), "--quiet"])
    printed = capsys.readouterr()
    assert rc == 0, printed.out[-3000:] + printed.err[-2000:]
    current = json.loads(out.read_text(encoding="utf-8"))
    assert current["metrics"]["offset_validity"] == 1.0
    # the gate compares like with like: the same questions as the baseline
    base_ids = {r["id"] for r in json.loads(BASELINE.read_text(encoding="utf-8"))["results"]}
    assert {r["id"] for r in current["results"]} == base_ids
