"""qa.calibration: the features an answer's confidence is computed from, and the logistic map."""
from __future__ import annotations



def test_reader_confidence_counts_every_cited_source_capped_at_two_more():
    from types import SimpleNamespace

    from qa.calibration import reader_features

    top = SimpleNamespace(features={"sim": 0.7, "lex": 0.5, "missing": 0.0, "read": 12.0, "read_null": -3.0})
    group = SimpleNamespace(score=3.0, docs=lambda: ["a"])  # the reader read only one document
    runner = SimpleNamespace(score=2.5)
    f = reader_features(top, group, runner)
    assert f == (0.7, 0.5, 0.0, 1.2, -0.3, 0.5, 0.0)
    # two more documents state the same answer (the entity pass found them): agreement 2, and no more
    assert reader_features(top, group, runner, sources=3)[-1] == 2.0
    assert reader_features(top, group, runner, sources=5)[-1] == 2.0
    assert reader_features(top, group, None, sources=2)[-2:] == (1.0, 1.0)
