"""qa.evaluation.results: metrics aggregated from per-question results, saved, loaded and compared with a baseline."""
from __future__ import annotations

import json
import pytest
from qa.evaluation import results
from qa.evaluation import tables
from qa.errors import QAError
from eval_fixtures import result_row as _result, synthetic as _synthetic


def test_aggregate_on_synthetic_results():
    m = _synthetic()["metrics"]
    assert m["n_questions"] == 12 and m["n_answerable"] == 10 and m["n_unanswerable"] == 2
    assert m["R@1"] == pytest.approx(0.3) and m["R@3"] == pytest.approx(0.8) and m["R@10"] == 1.0
    assert m["EM"] == pytest.approx(0.5) and m["contains_accuracy"] == pytest.approx(0.6)
    assert m["abstention_precision"] == 1.0 and m["abstention_recall"] == 0.5
    assert m["abstention_F1"] == pytest.approx(2 / 3)
    assert m["offset_validity"] == 1.0 and m["wrong_decline_rate"] == 0.0
    assert m["categories"]["extraction-miss"] == 1 and m["categories"]["answered-unanswerable"] == 1
    assert m["latency_p50_ms"] == 10.0
    table = tables.format_table(m)
    assert "retrieval R@3" in table and "0.800" in table


def test_compare_flags_regressions_beyond_tolerance_on_common_questions():
    base = _synthetic()
    cur = json.loads(json.dumps(base))
    diff = results.compare(cur, base)
    assert diff["common"] == 12 and not diff["regressions"] and not diff["newly_failing"]
    # one question flips from right to wrong: contains accuracy drops by 0.1 > 0.02
    r = next(r for r in cur["results"] if r["id"] == "q1")
    r["scores"]["contains"] = False
    r["category"] = "extraction-miss"
    cur["results"].append(_result("new", contains=False))  # only in the current run: not compared
    diff = results.compare(cur, base)
    assert diff["common"] == 12 and diff["only_current"] == ["new"]
    assert [x["metric"] for x in diff["regressions"]] == ["contains_accuracy"]
    assert diff["regressions"][0]["delta"] == pytest.approx(-0.1)
    assert [x["id"] for x in diff["newly_failing"]] == ["q1"]
    assert not diff["newly_passing"]
    back = results.compare(base, cur)
    assert [x["id"] for x in back["newly_passing"]] == ["q1"] and not back["regressions"]
    assert "REGRESSION" in tables.format_comparison(diff, "b.json")


def test_compare_offset_validity_has_zero_tolerance():
    base = _synthetic()
    cur = json.loads(json.dumps(base))
    cur["results"][3]["scores"]["offsets_valid"] = 0  # 1 of 12 citations: -0.083, but any drop fails
    for r in cur["results"]:
        r["scores"]["offsets_checked"] = 1
    diff = results.compare(cur, base)
    assert "offset_validity" in [x["metric"] for x in diff["regressions"]]


def test_load_result_rejects_other_json(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{"metrics": {}}', encoding="utf-8")
    with pytest.raises(QAError, match="not a `qa eval --json` result"):
        results.load_result(p)
    with pytest.raises(QAError, match="baseline not found"):
        results.load_result(tmp_path / "none.json")


def _declines():
    """Four unanswerable and four answerable questions, declined for each reason or answered."""
    return [
        _result("u1", answerable=False, declined=True, reason="not_mentioned", missing=["Zarb-e-Azb"], conf=0.0),
        _result("u2", answerable=False, declined=True, reason="not_mentioned", missing=["sourdough"], conf=0.0),
        _result("u3", answerable=False, declined=True, reason="low_confidence", conf=0.1),
        _result("u4", answerable=False, category="answered-unanswerable", conf=0.6),
        _result("a1", declined=True, contains=False, category="wrong-decline", reason="low_confidence", conf=0.12),
        _result("a2", declined=True, contains=False, category="wrong-decline", reason="no_typed_answer", conf=0.3),
        _result("a3"),
        _result("a4"),
    ]


def test_abstention_by_reason_and_the_questions_behind_the_errors():
    m = results.aggregate(_declines())
    by = m["abstention_by_reason"]
    assert list(by) == ["not_mentioned", "no_typed_answer", "low_confidence"]  # fixed order, only those that occur
    assert by["not_mentioned"] == {"declined": 2, "right": 2, "precision": 1.0, "recall": 0.5}
    assert by["no_typed_answer"] == {"declined": 1, "right": 0, "precision": 0.0, "recall": 0.0}
    assert by["low_confidence"] == {"declined": 2, "right": 1, "precision": 0.5, "recall": 0.25}
    # the overall figures are unchanged, and the split adds up to them
    assert m["abstention_precision"] == pytest.approx(3 / 5) and m["abstention_recall"] == pytest.approx(3 / 4)
    assert m["wrong_decline_rate"] == pytest.approx(2 / 4)
    assert sum(v["recall"] for v in by.values()) == pytest.approx(m["abstention_recall"])
    assert m["wrongly_declined"] == [
        {"id": "a1", "question": "question a1?", "reason": "low_confidence", "missing_terms": [], "confidence": 0.12},
        {"id": "a2", "question": "question a2?", "reason": "no_typed_answer", "missing_terms": [], "confidence": 0.3}]
    assert m["answered_unanswerable"] == [
        {"id": "u4", "question": "question u4?", "answer": "Hafiz Saeed Khan", "confidence": 0.6}]
    # the reason is in each question's scores, so a subset re-aggregates on its own
    sub = results.aggregate([r for r in _declines() if r["id"] in ("u1", "a1")])
    assert sub["abstention_by_reason"] == {
        "not_mentioned": {"declined": 1, "right": 1, "precision": 1.0, "recall": 1.0},
        "low_confidence": {"declined": 1, "right": 0, "precision": 0.0, "recall": 0.0}}


def test_old_results_without_decline_reason_count_as_unrecorded():
    old = _synthetic()["results"]  # u1 declined, saved before answers said why
    assert all("decline_reason" not in r["scores"] and "decline_reason" not in r["prediction"] for r in old)
    old.append(_result("a9", declined=True, contains=False, category="wrong-decline", conf=0.05))
    m = results.aggregate(old)
    assert m["abstention_by_reason"] == {"unrecorded": {"declined": 2, "right": 1, "precision": 0.5, "recall": 0.5}}
    assert m["wrongly_declined"] == [
        {"id": "a9", "question": "question a9?", "reason": "unrecorded", "missing_terms": [], "confidence": 0.05}]
    # old and new side by side: the unrecorded reason comes last
    mixed = results.aggregate(old + [_result("u9", answerable=False, declined=True, reason="not_mentioned")])
    assert list(mixed["abstention_by_reason"]) == ["not_mentioned", "unrecorded"]


def test_compare_an_old_baseline_with_a_new_result(tmp_path):
    base = _synthetic()
    # a baseline written before this version: no reason anywhere, and none of the new metrics
    for key in ("abstention_by_reason", "wrongly_declined", "answered_unanswerable"):
        del base["metrics"][key]
    path = tmp_path / "old.json"
    results.write_json(base, path)
    old = results.load_result(path)
    cur = json.loads(json.dumps(old))
    u1 = next(r for r in cur["results"] if r["id"] == "u1")
    u1["prediction"].update(decline_reason="not_mentioned", missing_terms=["Zarb-e-Azb"])
    u1["scores"]["decline_reason"] = "not_mentioned"
    cur["metrics"] = results.aggregate(cur["results"])
    diff = results.compare(cur, old)
    assert diff["common"] == 12 and not diff["regressions"] and not diff["newly_failing"]
    assert diff["deltas"]["abstention_F1"]["delta"] == 0.0
    assert list(diff["baseline_metrics"]["abstention_by_reason"]) == ["unrecorded"]
    assert list(diff["current_metrics"]["abstention_by_reason"]) == ["not_mentioned"]
    assert "no headline metric dropped" in tables.format_comparison(diff, str(path))
    assert "wrongly declined:" not in tables.format_table(old["metrics"])  # old metrics: no section, no crash
    assert "not_mentioned" in tables.format_table(cur["metrics"])
