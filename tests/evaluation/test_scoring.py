"""qa.evaluation.scoring: one question's scores and failure category, cited sources, conflicts shown."""
from __future__ import annotations

import pytest
from qa.evaluation import gold
from qa.evaluation import scoring
from conftest import PROJECT_ROOT


BASE = dict(answerable=True, declined=False, offsets_ok=True, retrieved=True, contains=True, cited_support=True,
            conflict_ok=None)


@pytest.mark.parametrize("changes,expected", [
    ({}, "ok"),
    ({"offsets_ok": False, "retrieved": False, "contains": False}, "bad-citation"),
    ({"answerable": False, "declined": True, "retrieved": False, "contains": False}, "ok"),
    ({"answerable": False, "retrieved": False, "contains": False}, "answered-unanswerable"),
    ({"answerable": False, "offsets_ok": False}, "bad-citation"),
    ({"retrieved": False, "declined": True, "contains": False}, "retrieval-miss"),
    ({"retrieved": False, "contains": False}, "retrieval-miss"),
    ({"declined": True, "contains": False}, "wrong-decline"),
    ({"contains": False, "conflict_ok": False}, "extraction-miss"),
    ({"cited_support": False, "conflict_ok": False}, "bad-citation"),
    ({"conflict_ok": False}, "missed-conflict"),
    ({"conflict_ok": True}, "ok"),
])
def test_category_precedence(changes, expected):
    assert scoring.categorize(**{**BASE, **changes}) == expected


def _cite(n, quote, start=0):
    return {"n": n, "quote": quote, "source": "x", "start": start, "end": start + len(quote)}


def test_conflict_shown_needs_each_value_with_its_own_citation():
    pred = {"citations": [_cite(1, "the massacre of forty-two Ismailis"), _cite(2, "Forty-five people were killed")],
            "conflicts": [{"value": "42", "citations": [1]}, {"value": "forty-five", "citations": [2]}]}
    assert scoring.conflict_shown(pred, ["forty-two", "Forty-five"])
    # a value whose entry cites a quote that does not contain it is not shown
    bad = {**pred, "conflicts": [{"value": "42", "citations": [2]}, {"value": "45", "citations": [2]}]}
    assert not scoring.conflict_shown(bad, ["forty-two", "Forty-five"])
    assert not scoring.conflict_shown({"citations": pred["citations"], "conflicts": []}, ["42"])


def test_offset_check_reads_relative_to_cwd_then_project_root(tmp_path, monkeypatch):
    doc = tmp_path / "doc.txt"
    doc.write_text("Alpha beta gamma.", encoding="utf-8")
    r = scoring.SourceReader()
    assert r.offsets_valid({"source": str(doc), "start": 6, "end": 10, "quote": "beta"})
    assert not r.offsets_valid({"source": str(doc), "start": 5, "end": 10, "quote": "beta"})
    assert not r.offsets_valid({"source": str(tmp_path / "missing.txt"), "start": 0, "end": 1, "quote": "A"})
    monkeypatch.chdir(tmp_path)
    corpus_file = sorted((PROJECT_ROOT / "corpus").glob("*.txt"))[0]
    text = corpus_file.read_text(encoding="utf-8")
    rel = f"corpus/{corpus_file.name}"  # not under tmp_path: found relative to the project root
    assert scoring.SourceReader().offsets_valid({"source": rel, "start": 0, "end": 20, "quote": text[:20]})


def test_score_question_records_the_decline_reason():
    q = gold.GoldQuestion(id="x", question="Who led Zarb-e-Azb?", answers=[], answerable=False)
    declined = {"status": "declined", "answer": None, "confidence": 0.0, "citations": [], "closest": [],
                "conflicts": [], "decline_reason": "not_mentioned", "missing_terms": ["Zarb-e-Azb"]}
    scores, category = scoring.score_question(q, declined, [], 5, scoring.SourceReader(), "none")
    assert scores["decline_reason"] == "not_mentioned" and category == "ok"
    old = {k: v for k, v in declined.items() if k not in ("decline_reason", "missing_terms")}
    assert scoring.score_question(q, old, [], 5, scoring.SourceReader(), "none")[0]["decline_reason"] == "unrecorded"
    assert scoring.score_question(q, {**declined, "decline_reason": None}, [], 5, scoring.SourceReader(),
                             "none")[0]["decline_reason"] == "unrecorded"
    answered = {**declined, "status": "answered", "answer": "x", "decline_reason": None, "missing_terms": []}
    assert scoring.score_question(q, answered, [], 5, scoring.SourceReader(), "none")[0]["decline_reason"] is None
