"""qa.evaluation.gold: the gold-question schema, validated with the file and line in every error."""
from __future__ import annotations

import pytest
from qa.settings import PROJECT_ROOT
from qa.evaluation import gold
from support import write_jsonl
from qa.errors import QAError


def test_question_file_defaults_and_split(tmp_path):
    f = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "a", "question": "Q1?", "answers": ["x"], "answerable": True},
        {"id": "b", "question": "Q2?", "answers": [], "answerable": False, "split": "dev"},
        {"id": 3, "question": "Q3?", "answers": ["y"], "answerable": True, "split": "test", "type": "person",
         "sources": ["d1"], "conflict": [{"value": "y", "source": "d1"}]},
    ])
    qs = gold.load_questions([f])
    assert [q.id for q in qs] == ["a", "b", "3"]
    assert qs[0].split == "all" and qs[0].type == "description" and qs[0].sources == []
    assert [q.id for q in gold.load_questions([f], "test")] == ["a", "3"]  # no split = in every split
    assert gold.load_questions([f], "test")[1].conflict == [{"value": "y", "source": "d1"}]


@pytest.mark.parametrize("line,needle", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "JSON object"),
    ('{"id": "a", "question": "Q?", "answerable": true}', "missing required field 'answers'"),
    ('{"id": "a", "question": "", "answers": ["x"], "answerable": true}', "'question' must be non-empty"),
    ('{"id": "a", "question": "Q?", "answers": "x", "answerable": true}', "list of strings"),
    ('{"id": "a", "question": "Q?", "answers": ["x"], "answerable": "yes"}', "true or false"),
    ('{"id": "a", "question": "Q?", "answers": [], "answerable": true}', "lists no answers"),
])
def test_bad_question_files_raise_clear_errors(tmp_path, line, needle):
    f = write_jsonl(tmp_path / "bad.jsonl", [line])
    with pytest.raises(QAError) as e:
        gold.load_questions([f])
    assert needle in str(e.value) and "bad.jsonl:1" in str(e.value)


def test_duplicate_ids_missing_and_empty_files(tmp_path):
    row = {"id": "a", "question": "Q?", "answers": ["x"], "answerable": True}
    with pytest.raises(QAError, match="duplicate question id"):
        gold.load_questions([write_jsonl(tmp_path / "d.jsonl", [row, row])])
    with pytest.raises(QAError, match="not found"):
        gold.load_questions([tmp_path / "nope.jsonl"])
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(QAError, match="no questions"):
        gold.load_questions([tmp_path / "empty.jsonl"])


def test_the_gold_set_loads():
    qs = gold.load_questions([PROJECT_ROOT / "eval" / "questions.jsonl"])
    assert len(qs) == 142 and sum(q.split == "test" for q in qs) == 71
    assert sum(bool(q.conflict) for q in qs) == 5


def test_provenance_fields_load_round_trip_and_unknown_keys_are_ignored(tmp_path):
    row = {"id": "n001", "question": "Who led Wilayat Sindh?", "answers": [], "answerable": False, "sources": [],
           "type": "person", "split": "dev", "derived_from": "q001", "method": "swap_entity",
           "changed": {"from": "Wilayat Khorasan", "to": "Wilayat Sindh"}}
    plain = {"id": "q1", "question": "Q?", "answers": ["x"], "answerable": True, "note": "kept nowhere"}
    q, p = gold.load_questions([write_jsonl(tmp_path / "n.jsonl", [row, plain])])
    assert (q.derived_from, q.method, q.changed) == ("q001", "swap_entity", row["changed"])
    assert q.to_dict() == row  # in the file's own order
    assert p.derived_from is p.method is p.changed is None
    assert "note" not in p.to_dict() and set(p.to_dict()) == {"id", "question", "answers", "answerable", "sources",
                                                             "type", "split"}


@pytest.mark.parametrize("extra,needle", [
    ({"derived_from": 7}, "'derived_from' must be non-empty text"),
    ({"method": ""}, "'method' must be non-empty text"),
    ({"changed": "Khorasan"}, "'changed' must be an object of text values"),
    ({"changed": {"from": "2015", "to": 2017}}, "'changed' must be an object of text values"),
])
def test_bad_provenance_fields_raise_clear_errors(tmp_path, extra, needle):
    f = write_jsonl(tmp_path / "bad.jsonl", [{"id": "n1", "question": "Q?", "answers": [], "answerable": False, **extra}])
    with pytest.raises(QAError) as e:
        gold.load_questions([f])
    assert needle in str(e.value) and "bad.jsonl:1" in str(e.value)


def test_the_negatives_load_with_their_provenance():
    qs = gold.load_questions([PROJECT_ROOT / "eval" / "negatives.jsonl"], "test")
    assert qs and all(not q.answerable and q.split == "test" and q.derived_from and q.method for q in qs)
