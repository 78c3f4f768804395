"""qa.evaluation.runner: real `qa eval` runs through the CLI, against a baseline and the committed one."""
from __future__ import annotations

import json
import pytest
from qa.evaluation import gold
from qa.evaluation import scoring
from qa.cli import main
from conftest import PROJECT_ROOT
from support import write_jsonl


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
        assert r["category"] in scoring.CATEGORIES and r["latency_ms"] > 0
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
