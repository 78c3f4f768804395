"""qa.evaluation.bench.squad_measures: official SQuAD scoring, and the answer and retrieval measures."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from qa.evaluation.bench import squad_measures
from qa.evaluation.bench.squad_data import SquadQuestion


def test_official_scoring():
    assert squad_measures.squad_scores("Denver Broncos", ["Denver Broncos", "the Denver Broncos"]) == (1.0, 1.0)
    em, f1 = squad_measures.squad_scores("the Broncos", ["Denver Broncos"])
    assert em == 0.0 and f1 == pytest.approx(2 / 3)
    assert squad_measures.squad_scores(None, ["Denver Broncos"]) == (0.0, 0.0)
    # SQuAD 2.0: an unanswerable question is right only with the empty prediction
    assert squad_measures.squad_scores(None, []) == (1.0, 1.0)
    assert squad_measures.squad_scores("", []) == (1.0, 1.0)
    assert squad_measures.squad_scores("Denver", []) == (0.0, 0.0)
    # gold answers that normalise to nothing are ignored, as the official script does
    assert squad_measures.squad_scores(None, ["the", "."]) == (1.0, 1.0)


def _q(qid, impossible=False, answers=("Denver Broncos",)):
    return SquadQuestion(qid, f"question {qid}?", () if impossible else answers, impossible, 0, 0)


def test_answer_measures_score_declines_as_the_empty_prediction_and_split_2_0_in_halves():
    m = squad_measures.AnswerMeasures("2.0")
    m.add(_q("a"), "Denver Broncos", "answered", refused=False)
    m.add(_q("b"), None, "declined", refused=False)
    m.add(_q("c", impossible=True), None, "declined", refused=True)
    r = m.result()
    assert r["total"] == 3 and r["declined"] == 2 and r["errors"] == 1
    assert r["exact_match"] == pytest.approx(200 / 3) and r["f1"] == pytest.approx(200 / 3)
    assert (r["HasAns_total"], r["HasAns_exact"], r["NoAns_total"], r["NoAns_f1"]) == (2, 50.0, 1, 100.0)
    assert r["always_abstain_f1"] == pytest.approx(100 / 3)
    v1 = squad_measures.AnswerMeasures("1.1")
    v1.add(_q("a"), "the Broncos", "uncertain", refused=False)
    assert set(v1.result()) == {"exact_match", "f1", "total", "declined", "errors"}  # no halves in 1.1


class _Retriever:
    """Hits whose passages' rows are fixed per mode: the default (hybrid) hits come from the answer."""

    def __init__(self, mode="hybrid", rows=None):
        self.settings = SimpleNamespace(mode=mode)
        self.rows = rows or {"dense": [5, 3], "bm25": [9], "rrf": [3], "hybrid": []}
        self.searched = []

    def with_settings(self, mode):
        return _Retriever(mode, self.rows)

    def search(self, question, k, qvec):
        assert qvec == "v-" + question  # the question's own vector, never the model
        return [SimpleNamespace(passage=SimpleNamespace(row=r)) for r in self.rows[self.settings.mode]]


def test_retrieval_measures_rank_each_mode_on_the_same_question_vector():
    hits = [SimpleNamespace(passage=SimpleNamespace(row=r)) for r in (1, 2, 3)]
    m = squad_measures.RetrievalMeasures("all", _Retriever(), {"q": "v-q"})
    assert m.default == "hybrid" and m.modes == list(squad_measures.ALL_MODES)
    assert m.add(_q("a"), "q", hits, {3}) == 3  # the default retriever's rank, from the answer's hits
    assert m.add(_q("u", impossible=True), "q", hits, {3}) is None  # unanswerable: not ranked at all
    assert m.add(_q("r"), None, [], {3}) is None  # refused: a miss for every retriever
    assert m.ranks == {"dense": [2, None], "bm25": [None, None], "rrf": [1, None], "hybrid": [3, None]}
    r = m.result()
    assert set(r) == set(squad_measures.ALL_MODES) and r["rrf"]["R@1"] == 0.5 and r["dense"]["questions"] == 2
    only = squad_measures.RetrievalMeasures("dense", _Retriever(), {"q": "v-q"})
    assert only.add(_q("a"), "q", hits, {3}) == 2  # the one measured mode's rank when it is not the default
