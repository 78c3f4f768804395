"""qa.evaluation.plots: the figures the report's plots are drawn from."""
from __future__ import annotations

from eval_fixtures import synthetic as _synthetic


def test_threshold_curve_and_reliability_bins():
    from qa.evaluation.plots import reliability_bins, threshold_curve

    result = _synthetic()["results"]
    c = threshold_curve(result, steps=11)
    assert c["coverage"][0] == 1.0 and c["coverage"][-1] <= 1 / 12
    bins = reliability_bins(result)
    assert sum(b["n"] for b in bins) == 12
