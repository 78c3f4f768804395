"""What `qa bench squad` measures: the official SQuAD EM/F1 of the answers and the rank of the gold passages.

Both measures are fed one question at a time, in the loop that asks it (qa.evaluation.bench.squad), so
every question is asked once and its answer and hits are scored together.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from ...answer.retrieval import Retriever
from ..metrics import exact_match, mrr_at, recall_at, squad_normalize, token_f1
from .squad_data import SquadQuestion

RETRIEVE_K = 20
SQUAD_KS = (1, 5, 10, 20)
ALL_MODES = ("dense", "bm25", "rrf", "hybrid")


def squad_scores(prediction: Optional[str], golds: Sequence[str]) -> tuple[float, float]:
    """Official SQuAD EM and F1 (0/1 scale) of one prediction; None or "" is the no-answer prediction."""
    golds = [g for g in golds if squad_normalize(g)] or [""]
    pred = prediction or ""
    return max(exact_match(pred, g) for g in golds), max(token_f1(pred, g) for g in golds)


def _first_rank(hits, gold: set[int], k: int = RETRIEVE_K) -> Optional[int]:
    for i, h in enumerate(hits[:k]):
        if h.passage.row in gold:
            return i + 1
    return None


def retrieval_metrics(ranks: Sequence[Optional[int]]) -> dict[str, Any]:
    m: dict[str, Any] = {f"R@{k}": recall_at(ranks, k) for k in SQUAD_KS}
    m["MRR@10"] = mrr_at(ranks, 10)
    m["questions"] = len(ranks)
    return m


class AnswerMeasures:
    """Official SQuAD EM and F1 of the answers, in percent, and for 2.0 of its HasAns and NoAns halves;
    a declined answer is the empty prediction."""

    def __init__(self, version: str):
        self.version = version
        self.em = self.f1 = 0.0
        self.n = self.declined = self.errors = 0
        self.halves = {"HasAns": [0.0, 0.0, 0], "NoAns": [0.0, 0.0, 0]}  # EM sum, F1 sum, questions

    def add(self, q: SquadQuestion, prediction: Optional[str], status: str, refused: bool) -> None:
        """One question's answer: `prediction` None when declined, `refused` when the pipeline refused it."""
        self.n += 1
        self.errors += refused
        self.declined += status == "declined"
        em, f1 = squad_scores(prediction, q.answers if not q.impossible else ())
        self.em += em
        self.f1 += f1
        half = self.halves["NoAns" if q.impossible else "HasAns"]
        half[0] += em
        half[1] += f1
        half[2] += 1

    def result(self) -> dict[str, Any]:
        n = self.n
        out: dict[str, Any] = {"exact_match": 100.0 * self.em / n, "f1": 100.0 * self.f1 / n, "total": n,
                               "declined": self.declined, "errors": self.errors}
        if self.version == "2.0":
            for key, (e_, f_, c_) in self.halves.items():
                out[f"{key}_exact"] = 100.0 * e_ / c_ if c_ else None
                out[f"{key}_f1"] = 100.0 * f_ / c_ if c_ else None
                out[f"{key}_total"] = c_
            out["always_abstain_f1"] = 100.0 * self.halves["NoAns"][2] / n
        return out


class RetrievalMeasures:
    """Where each answerable question's first gold passage ranks in the top RETRIEVE_K, per retriever
    (`mode` one of ALL_MODES, or "all"): the default retriever's rank from the answer's own hits, the
    others' from a search with the same question vector."""

    def __init__(self, mode: str, retriever: Retriever, vectors: dict[str, Any]):
        self.default = retriever.settings.mode
        self.modes = list(ALL_MODES) if mode == "all" else [mode]
        self.others = {m: retriever.with_settings(mode=m) for m in self.modes if m != self.default}
        self.vectors = vectors
        self.ranks: dict[str, list[Optional[int]]] = {m: [] for m in self.modes}

    def add(self, q: SquadQuestion, question: Optional[str], hits: list, gold: set[int]) -> Optional[int]:
        """Rank the gold passages for one question (`question` as cleaned, None when refused); returns the
        rank its prediction records, None for an unanswerable question."""
        if q.impossible:
            return None
        for m in self.modes:
            if m == self.default:
                r = _first_rank(hits, gold)
            elif question is None:
                r = None
            else:
                r = _first_rank(self.others[m].search(question, k=RETRIEVE_K, qvec=self.vectors[question]), gold)
            self.ranks[m].append(r)
        return self.ranks[self.default if self.default in self.modes else self.modes[0]][-1]

    def result(self) -> dict[str, Any]:
        return {m: retrieval_metrics(self.ranks[m]) for m in self.modes}
