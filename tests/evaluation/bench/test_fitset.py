"""qa.evaluation.bench.fitset: status shares, how often each status is right, and the ECE of the answers given."""
from __future__ import annotations

import pytest

from qa.evaluation.bench.fitset import check_split, ece, outcomes
from qa.errors import QAError


def test_ece_weights_each_bin_by_its_share():
    assert ece([]) is None
    assert ece([(0.9, True)] * 9 + [(0.9, False)]) == pytest.approx(0.0)  # 90% confident, 90% right
    # bin [0.2, 0.3): mean 0.25, all wrong -> 0.25; bin [0.8, 0.9): mean 0.85, all right -> 0.15; equal shares
    assert ece([(0.2, False), (0.3 - 1e-9, False), (0.8, True), (0.9 - 1e-9, True)]) == pytest.approx(0.2)
    assert ece([(1.0, False)]) == pytest.approx(1.0) and ece([(1.7, True)]) == pytest.approx(0.0)  # clipped


def test_outcomes_count_statuses_and_how_often_each_is_right():
    recs = [{"status": "answered", "confidence": 0.9, "right": True},
            {"status": "answered", "confidence": 0.8, "right": False},
            {"status": "uncertain", "confidence": 0.3, "right": False},
            {"status": "declined", "confidence": 0.05, "right": True}]
    o = outcomes(recs)
    assert o["n"] == 4 and o["answered_share"] == 0.5 and o["uncertain_share"] == 0.25 and o["declined_share"] == 0.25
    assert o["answered_right"] == 0.5 and o["uncertain_right"] == 0.0 and o["declined_right"] == 1.0
    assert o["ece_n"] == 3  # declines give no answer to be calibrated
    assert o["ece"] == pytest.approx(ece([(0.9, True), (0.8, False), (0.3, False)]))
    empty = outcomes([])
    assert empty["n"] == 0 and empty["answered_share"] is None and empty["ece"] is None


def test_an_unknown_split_is_refused():
    assert check_split("fit") == "fit"
    with pytest.raises(QAError, match="unknown split"):
        check_split("test")
