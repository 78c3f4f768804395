"""qa.evaluation.metrics: SQuAD's normalisation, EM and F1, alias containment, recall and abstention, on hand-made cases."""
from __future__ import annotations

import pytest
from qa.evaluation import metrics


def test_squad_normalisation_and_em():
    assert metrics.squad_normalize("The  Eiffel Tower!") == "eiffel tower"
    assert metrics.squad_normalize("an apple, a pear") == "apple pear"
    assert metrics.exact_match("the Eiffel Tower", "Eiffel Tower.") == 1.0
    assert metrics.exact_match("Eiffel", "Eiffel Tower") == 0.0
    # articles only as whole words: "theatre" keeps its "the"
    assert metrics.squad_normalize("Theatre") == "theatre"


def test_token_f1_and_max_over_aliases():
    assert metrics.token_f1("Hafiz Saeed Khan", "Hafiz Saeed Khan") == 1.0
    # 2 shared tokens: precision 2/3, recall 1 -> F1 0.8
    assert metrics.token_f1("Saeed Khan himself", "Saeed Khan") == pytest.approx(0.8)
    assert metrics.token_f1("nothing shared", "Saeed Khan") == 0.0
    assert metrics.token_f1("", "") == 1.0 and metrics.token_f1("", "x") == 0.0 and metrics.token_f1("x", "") == 0.0
    assert metrics.max_over(metrics.token_f1, "Hafez Khan", ["Hafiz Saeed Khan", "Hafez Khan"]) == 1.0
    assert metrics.max_over(metrics.exact_match, "x", []) == 0.0


def test_match_normalisation_folds_dashes_quotes_and_accents():
    assert metrics.normalize_match("al-Qaeda") == metrics.normalize_match("Al Qaeda")
    assert metrics.normalize_match("Taliban’s regime") == metrics.normalize_match("Taliban's regime")
    assert metrics.normalize_match("Furqān") == "furqan"
    assert metrics.normalize_match("7,000–8,000") == metrics.normalize_match("7,000-8,000")


def test_contains_is_token_bounded():
    assert not metrics.contains_any("founded in 1990", ["9"])
    assert metrics.contains_any("nine of them", ["9"])
    assert metrics.contains_any("It was Hafiz Saeed Khan.", ["Saeed Khan"])
    assert not metrics.contains_any(None, ["x"]) and not metrics.contains_any("text", [])


def test_recall_and_mrr_on_hand_made_rankings():
    relevant = [[True, False], [False, False, True], [False] * 10, [False, True]]
    ranks = [metrics.first_relevant_rank(r) for r in relevant]
    assert ranks == [1, 3, None, 2]
    assert metrics.recall_at(ranks, 1) == 0.25
    assert metrics.recall_at(ranks, 3) == 0.75
    assert metrics.recall_at(ranks, 10) == 0.75
    assert metrics.mrr_at(ranks, 10) == pytest.approx((1 + 1 / 3 + 1 / 2) / 4)
    assert metrics.mrr_at([11], 10) == 0.0
    assert metrics.recall_at([], 5) is None


def test_abstention_precision_recall_f1():
    m = metrics.abstention_prf(declined=[True, True, False, False, True], unanswerable=[True, False, True, False, True])
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    m = metrics.abstention_prf([False, False], [True, False])
    assert m["precision"] is None and m["recall"] == 0.0 and m["f1"] is None
    m = metrics.abstention_prf([True, False], [False, False])
    assert m["precision"] == 0.0 and m["recall"] is None



def test_abstention_by_reason_splits_precision_and_recall():
    reasons = [None, "low_confidence", "not_mentioned", "not_mentioned", "zzz_new", "low_confidence", None]
    unans = [True, True, True, False, True, False, False]
    by = metrics.abstention_by_reason(reasons, unans, order=("not_mentioned", "no_typed_answer", "low_confidence"))
    # the given order for the reasons that occur, then any other reason, sorted
    assert list(by) == ["not_mentioned", "low_confidence", "zzz_new"]
    assert by["not_mentioned"] == {"declined": 2, "right": 1, "precision": 0.5, "recall": 0.25}
    assert by["low_confidence"] == {"declined": 2, "right": 1, "precision": 0.5, "recall": 0.25}
    assert by["zzz_new"] == {"declined": 1, "right": 1, "precision": 1.0, "recall": 0.25}
    overall = metrics.abstention_prf([r is not None for r in reasons], unans)
    assert sum(v["right"] for v in by.values()) / sum(v["declined"] for v in by.values()) == overall["precision"]
    assert sum(v["recall"] for v in by.values()) == pytest.approx(overall["recall"])
    assert metrics.abstention_by_reason(["low_confidence"], [False])["low_confidence"]["recall"] is None
    assert metrics.abstention_by_reason([None, None], [True, False]) == {}

def test_percentiles():
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5
    assert metrics.percentile([10.0], 95) == 10.0
    assert metrics.percentile(list(range(101)), 95) == 95


def test_extraction_scoring_on_hand_made_pages():
    from qa.evaluation.metrics import extraction_prf, shingle_counts

    body = "the keepers are living at the lighthouse again after forty years"
    assert shingle_counts(body, body) == (1.0, 0.0, 0.0)
    assert shingle_counts("", "") == (0.0, 0.0, 0.0)
    tp, fp, fn = shingle_counts(body + " subscribe now for unlimited access today", body)
    assert tp > 0 and fp > 0 and fn == 0 and abs(tp + fp + fn - 1) < 1e-9
    # two pages: one perfect, one empty prediction; a long page weighs no more than a short one
    m = extraction_prf({"a": body, "b": ""}, {"a": body, "b": body * 20})
    assert m["pages"] == 2 and m["precision"] == 1.0 and abs(m["recall"] - 0.5) < 1e-9
