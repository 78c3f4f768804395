"""qa.evaluation.runner: scoring one question, aggregating, comparing with a baseline, and real `qa eval` runs."""
from __future__ import annotations

import json
import pytest
from qa.evaluation import runner as ev
from qa.evaluation import gold
from qa.evaluation import report
from qa.errors import QAError
from qa.cli import main
from conftest import PROJECT_ROOT
from support import write_jsonl


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
    assert ev.categorize(**{**BASE, **changes}) == expected


def _cite(n, quote, start=0):
    return {"n": n, "quote": quote, "source": "x", "start": start, "end": start + len(quote)}


def test_conflict_shown_needs_each_value_with_its_own_citation():
    pred = {"citations": [_cite(1, "the massacre of forty-two Ismailis"), _cite(2, "Forty-five people were killed")],
            "conflicts": [{"value": "42", "citations": [1]}, {"value": "forty-five", "citations": [2]}]}
    assert ev.conflict_shown(pred, ["forty-two", "Forty-five"])
    # a value whose entry cites a quote that does not contain it is not shown
    bad = {**pred, "conflicts": [{"value": "42", "citations": [2]}, {"value": "45", "citations": [2]}]}
    assert not ev.conflict_shown(bad, ["forty-two", "Forty-five"])
    assert not ev.conflict_shown({"citations": pred["citations"], "conflicts": []}, ["42"])


def test_offset_check_reads_relative_to_cwd_then_project_root(tmp_path, monkeypatch):
    doc = tmp_path / "doc.txt"
    doc.write_text("Alpha beta gamma.", encoding="utf-8")
    r = ev.SourceReader()
    assert r.offsets_valid({"source": str(doc), "start": 6, "end": 10, "quote": "beta"})
    assert not r.offsets_valid({"source": str(doc), "start": 5, "end": 10, "quote": "beta"})
    assert not r.offsets_valid({"source": str(tmp_path / "missing.txt"), "start": 0, "end": 1, "quote": "A"})
    monkeypatch.chdir(tmp_path)
    corpus_file = sorted((PROJECT_ROOT / "corpus").glob("*.txt"))[0]
    text = corpus_file.read_text(encoding="utf-8")
    rel = f"corpus/{corpus_file.name}"  # not under tmp_path: found relative to the project root
    assert ev.SourceReader().offsets_valid({"source": rel, "start": 0, "end": 20, "quote": text[:20]})


def _result(qid, *, answerable=True, category="ok", rank=1, contains=True, em=0.0, f1=0.5, declined=False,
            conf=0.7, question=None, quote="Hafiz Saeed Khan led it.", reason=None, missing=()):
    """A hand-made result; without `reason` it is in the format saved before answers recorded why they
    declined (no decline_reason or missing_terms anywhere)."""
    answer = None if declined else "Hafiz Saeed Khan"
    cite = {"n": 1, "doc_id": "d", "quote": quote, "source": "s", "start": 0, "end": len(quote)}
    r = {
        "id": qid, "question": question or f"question {qid}?", "answers": ["Hafiz Saeed Khan"] if answerable else [],
        "answerable": answerable, "type": "person", "category": category, "latency_ms": 10.0,
        "prediction": {"status": "declined" if declined else "answered", "answer": answer, "confidence": conf,
                       "citations": [] if declined else [cite], "closest": [cite] if declined else [],
                       "conflicts": []},
        "scores": {"declined": declined, "rank": rank if answerable else None, "relevance": "alias",
                   "relevant_in_k": rank is not None, "offsets_checked": 1, "offsets_valid": 1, "confidence": conf,
                   "answer_words": None if declined else 3,
                   "em": em if answerable else None, "f1": f1 if answerable else None,
                   "contains": contains if answerable else None,
                   "citations": 0 if declined or not answerable else 1,
                   "citations_precise": 1 if answerable and not declined and contains else 0,
                   "conflict_shown": None, "correct": answerable and contains and not declined},
    }
    if reason is not None:
        r["prediction"].update(decline_reason=reason, missing_terms=list(missing))
        r["scores"]["decline_reason"] = reason
    return r


def _synthetic():
    results = [_result(f"q{i}", rank=(i % 4) + 1, contains=i % 3 != 0, em=float(i % 2), conf=i / 12) for i in range(10)]
    results.append(_result("u1", answerable=False, declined=True, conf=0.1))
    results.append(_result("u2", answerable=False, category="answered-unanswerable", conf=0.6,
                           question="<script>alert('x')</script> & co?"))
    results[0]["category"] = "extraction-miss"
    return {"meta": {"split": "test", "k": 5}, "metrics": ev.aggregate(results), "results": results}


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
    table = report.format_table(m)
    assert "retrieval R@3" in table and "0.800" in table


def test_compare_flags_regressions_beyond_tolerance_on_common_questions():
    base = _synthetic()
    cur = json.loads(json.dumps(base))
    diff = ev.compare(cur, base)
    assert diff["common"] == 12 and not diff["regressions"] and not diff["newly_failing"]
    # one question flips from right to wrong: contains accuracy drops by 0.1 > 0.02
    r = next(r for r in cur["results"] if r["id"] == "q1")
    r["scores"]["contains"] = False
    r["category"] = "extraction-miss"
    cur["results"].append(_result("new", contains=False))  # only in the current run: not compared
    diff = ev.compare(cur, base)
    assert diff["common"] == 12 and diff["only_current"] == ["new"]
    assert [x["metric"] for x in diff["regressions"]] == ["contains_accuracy"]
    assert diff["regressions"][0]["delta"] == pytest.approx(-0.1)
    assert [x["id"] for x in diff["newly_failing"]] == ["q1"]
    assert not diff["newly_passing"]
    back = ev.compare(base, cur)
    assert [x["id"] for x in back["newly_passing"]] == ["q1"] and not back["regressions"]
    assert "REGRESSION" in report.format_comparison(diff, "b.json")


def test_compare_offset_validity_has_zero_tolerance():
    base = _synthetic()
    cur = json.loads(json.dumps(base))
    cur["results"][3]["scores"]["offsets_valid"] = 0  # 1 of 12 citations: -0.083, but any drop fails
    for r in cur["results"]:
        r["scores"]["offsets_checked"] = 1
    diff = ev.compare(cur, base)
    assert "offset_validity" in [x["metric"] for x in diff["regressions"]]


def test_load_result_rejects_other_json(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{"metrics": {}}', encoding="utf-8")
    with pytest.raises(QAError, match="not a `qa eval --json` result"):
        ev.load_result(p)
    with pytest.raises(QAError, match="baseline not found"):
        ev.load_result(tmp_path / "none.json")



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
    m = ev.aggregate(_declines())
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
    sub = ev.aggregate([r for r in _declines() if r["id"] in ("u1", "a1")])
    assert sub["abstention_by_reason"] == {
        "not_mentioned": {"declined": 1, "right": 1, "precision": 1.0, "recall": 1.0},
        "low_confidence": {"declined": 1, "right": 0, "precision": 0.0, "recall": 0.0}}


def test_score_question_records_the_decline_reason():
    q = gold.GoldQuestion(id="x", question="Who led Zarb-e-Azb?", answers=[], answerable=False)
    declined = {"status": "declined", "answer": None, "confidence": 0.0, "citations": [], "closest": [],
                "conflicts": [], "decline_reason": "not_mentioned", "missing_terms": ["Zarb-e-Azb"]}
    scores, category = ev.score_question(q, declined, [], 5, ev.SourceReader(), "none")
    assert scores["decline_reason"] == "not_mentioned" and category == "ok"
    old = {k: v for k, v in declined.items() if k not in ("decline_reason", "missing_terms")}
    assert ev.score_question(q, old, [], 5, ev.SourceReader(), "none")[0]["decline_reason"] == "unrecorded"
    assert ev.score_question(q, {**declined, "decline_reason": None}, [], 5, ev.SourceReader(),
                             "none")[0]["decline_reason"] == "unrecorded"
    answered = {**declined, "status": "answered", "answer": "x", "decline_reason": None, "missing_terms": []}
    assert ev.score_question(q, answered, [], 5, ev.SourceReader(), "none")[0]["decline_reason"] is None


def test_old_results_without_decline_reason_count_as_unrecorded():
    old = _synthetic()["results"]  # u1 declined, saved before answers said why
    assert all("decline_reason" not in r["scores"] and "decline_reason" not in r["prediction"] for r in old)
    old.append(_result("a9", declined=True, contains=False, category="wrong-decline", conf=0.05))
    m = ev.aggregate(old)
    assert m["abstention_by_reason"] == {"unrecorded": {"declined": 2, "right": 1, "precision": 0.5, "recall": 0.5}}
    assert m["wrongly_declined"] == [
        {"id": "a9", "question": "question a9?", "reason": "unrecorded", "missing_terms": [], "confidence": 0.05}]
    # old and new side by side: the unrecorded reason comes last
    mixed = ev.aggregate(old + [_result("u9", answerable=False, declined=True, reason="not_mentioned")])
    assert list(mixed["abstention_by_reason"]) == ["not_mentioned", "unrecorded"]


def test_compare_an_old_baseline_with_a_new_result(tmp_path):
    base = _synthetic()
    # a baseline written before this version: no reason anywhere, and none of the new metrics
    for key in ("abstention_by_reason", "wrongly_declined", "answered_unanswerable"):
        del base["metrics"][key]
    path = tmp_path / "old.json"
    ev.write_json(base, path)
    old = ev.load_result(path)
    cur = json.loads(json.dumps(old))
    u1 = next(r for r in cur["results"] if r["id"] == "u1")
    u1["prediction"].update(decline_reason="not_mentioned", missing_terms=["Zarb-e-Azb"])
    u1["scores"]["decline_reason"] = "not_mentioned"
    cur["metrics"] = ev.aggregate(cur["results"])
    diff = ev.compare(cur, old)
    assert diff["common"] == 12 and not diff["regressions"] and not diff["newly_failing"]
    assert diff["deltas"]["abstention_F1"]["delta"] == 0.0
    assert list(diff["baseline_metrics"]["abstention_by_reason"]) == ["unrecorded"]
    assert list(diff["current_metrics"]["abstention_by_reason"]) == ["not_mentioned"]
    assert "no headline metric dropped" in report.format_comparison(diff, str(path))
    assert "wrongly declined:" not in report.format_table(old["metrics"])  # old metrics: no section, no crash
    assert "not_mentioned" in report.format_table(cur["metrics"])

FIVE = [
    {"id": "t1", "question": "Who led Wilayat Khorasan?", "answers": ["Hafiz Saeed Khan", "Hafez Saeed Khan", "Saeed Khan"],
     "answerable": True, "sources": ["usip-parvez", "magney-looming", "rani-fa"], "type": "person", "split": "test"},
    {"id": "t2", "question": "How many people sat on the leadership council of the Khorasan branch?",
     "answers": ["twelve", "12"], "answerable": True, "sources": ["usip-parvez", "rani-fa"], "type": "number"},
    {"id": "t3", "question": "At what oven temperature should a sourdough loaf be baked?", "answers": [],
     "answerable": False},
    {"id": "t4", "question": "How many people were killed in the May 2015 attack on Ismailis in Karachi?",
     "answers": ["forty-two", "42", "Forty-five", "45"], "answerable": True, "sources": ["usip-parvez", "rani-fa"],
     "type": "number", "conflict": [{"value": "forty-two", "source": "usip-parvez"}, {"value": "Forty-five", "source": "rani-fa"}]},
    {"id": "t5", "question": "Who won the 2018 FIFA World Cup?", "answers": [], "answerable": False, "type": "organisation"},
]


@pytest.fixture(scope="module")
def cached_model(real_embedder):
    """The session's model with the question vectors computed once, in one batch: every eval run below
    still goes through the unchanged ask path, but the model runs once per question, not once per run."""
    from qa.answer.answerer import clean_question
    from qa.evaluation.bench.squad import PrecomputedEmbedder

    emb = PrecomputedEmbedder(real_embedder)
    qs = gold.load_questions([PROJECT_ROOT / "eval" / "questions.jsonl"])
    emb.add([clean_question(q["question"]) for q in FIVE] + [clean_question(q.question) for q in qs])
    return emb


@pytest.fixture()
def shared_model(monkeypatch, cached_model):
    """Make the CLI use that model instead of loading its own (same model, same answer path)."""
    import qa.pipeline

    monkeypatch.setattr(qa.pipeline, "make_embedder", lambda settings=None: cached_model)
    return cached_model


@pytest.mark.model
def test_five_questions_through_the_cli(tmp_path, real_index_dir, shared_model, capsys):
    from qa.cli import main

    f = write_jsonl(tmp_path / "five.jsonl", FIVE)
    out = tmp_path / "out.json"
    rc = main(["eval", str(f), "--index", str(real_index_dir), "--json", str(out), "--report",
               str(tmp_path / "r.html"), "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "retrieval R@3" in printed and "abstention F1" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) >= {"metrics", "results", "meta"}
    assert [r["id"] for r in data["results"]] == ["t1", "t2", "t3", "t4", "t5"]
    for r in data["results"]:
        assert set(r) >= {"id", "question", "answers", "answerable", "prediction", "category", "latency_ms"}
        assert r["category"] in ev.CATEGORIES and r["latency_ms"] > 0
        assert set(r["prediction"]) >= {"question", "status", "answer", "confidence", "citations", "conflicts"}
    m = data["metrics"]
    assert m["n_questions"] == 5 and m["n_answerable"] == 3 and m["n_unanswerable"] == 2
    assert m["offset_validity"] == 1.0  # every quote is the source text at its offsets
    assert m["R@10"] == 1.0  # these questions are easy to retrieve
    assert m["n_conflict"] == 1
    for key in ("R@1", "R@3", "R@5", "MRR@10", "EM", "F1", "contains_accuracy", "citation_precision",
                "abstention_precision", "abstention_recall", "abstention_F1", "latency_p50_ms", "latency_p95_ms"):
        assert key in m
    assert (tmp_path / "r.html").stat().st_size > 10_000


@pytest.mark.model
def test_bad_question_file_exits_2(tmp_path, real_index_dir, shared_model, capsys):
    from qa.cli import main

    f = write_jsonl(tmp_path / "bad.jsonl", ['{"id": "a", "question": "Q?"}'])
    assert main(["eval", str(f), "--index", str(real_index_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:1" in err and "missing required field" in err and "Traceback" not in err
    assert main(["eval", "--index", str(real_index_dir), "--fail-on-regression", "--quiet"]) == 2


@pytest.mark.model
def test_fail_on_regression_with_a_broken_retriever(tmp_path, real_index_dir, shared_model, monkeypatch, capsys):
    from qa.cli import main
    from qa.answer.retrieval import Retriever

    base = tmp_path / "baseline.json"
    common = ["eval", "--split", "test", "--index", str(real_index_dir), "--quiet"]
    assert main([*common, "--json", str(base)]) == 0
    # the same system against its own baseline: nothing regresses
    assert main([*common, "--baseline", str(base), "--fail-on-regression"]) == 0
    capsys.readouterr()

    original = Retriever.search

    def reversed_search(self, question, k=5, docs=None, retrieval=None, qvec=None):
        hits = original(self, question, k=len(self.index.evidence), docs=docs, retrieval=retrieval, qvec=qvec)
        return list(reversed(hits))[:k]  # the worst passages first

    monkeypatch.setattr(Retriever, "search", reversed_search)
    rc = main([*common, "--baseline", str(base), "--fail-on-regression", "--json", str(tmp_path / "broken.json")])
    assert rc == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "R@3" in out and "newly failing" in out
    broken = json.loads((tmp_path / "broken.json").read_text(encoding="utf-8"))
    assert broken["metrics"]["R@3"] < 0.3
    assert any(r["metric"] == "R@3" for r in broken["baseline"]["regressions"])


BASELINE = PROJECT_ROOT / "eval" / "baseline.json"


@pytest.mark.model
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
