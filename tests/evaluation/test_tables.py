"""qa.evaluation.tables: the metric table `qa eval` prints, its abstention section, and the comparison."""
from __future__ import annotations

from qa.evaluation import results
from eval_fixtures import with_declines as _with_declines


def test_text_table_has_the_abstention_section():
    from qa.evaluation.tables import format_comparison, format_table

    result = _with_declines()
    text = format_table(result["metrics"])
    section = text.split("\n\n")[-1]
    lines = section.splitlines()
    assert lines[0].split() == ["abstention", "declined", "right", "precision", "recall"]
    # u1 was saved without a reason: unrecorded, after the recorded ones
    assert [ln.split()[0] for ln in lines[2:5]] == ["not_mentioned", "low_confidence", "unrecorded"]
    assert lines[2].split() == ["not_mentioned", "2", "1", "0.500", "0.333"]
    assert "wrongly declined: 2" in section and "  w2 [low_confidence, conf 0.12] question w2?" in section
    assert "  w1 [not_mentioned: <i>Zarb-e-Azb</i>, conf 0.00]" in section
    assert "unanswerable, not declined: 1" in section and "  u2 [conf 0.60]" in section
    # the comparison shows the metric table only
    assert "wrongly declined:" not in format_comparison(results.compare(result, result), "b.json")
