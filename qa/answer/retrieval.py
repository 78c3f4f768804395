"""Finding evidence: dense and BM25 candidates fused into passage hits with their best sentences."""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Optional, Sequence

import numpy as np

from ..index import bm25
from ..index.aliases import AliasTable
from ..neural.embedding import Embedder
from ..index.loaded import Index
from ..errors import QAError
from ..settings import MAX_K, RetrievalSettings, load_tuned
from ..timing import stage
from ..types import Hit, ScoredSentence

MODES = ("hybrid", "rrf", "dense", "bm25")


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.argsort(-scores[part], kind="stable")]


def allowed_rows(index: Index, docs: Optional[Iterable[str]]) -> Optional[np.ndarray]:
    """Evidence rows of the chosen documents, or None for no filter."""
    if not docs:
        return None
    wanted = set(docs)
    return np.array([p.row for p in index.evidence if p.doc_id in wanted], dtype=np.int64)


def check_request(index: Index, k: int, docs: Optional[Sequence[str]]) -> None:
    """QAError for a k out of range or a document id the index does not have (what a caller sends)."""
    if k < 1 or k > MAX_K:
        raise QAError(f"k must be between 1 and {MAX_K}, not {k}")
    if docs:
        unknown = sorted(set(docs) - set(index.documents))
        if unknown:
            shown = ", ".join(repr(u[:60]) if not (u.isprintable() and len(u) <= 60) else u for u in unknown[:10])
            raise QAError(f"unknown document id(s): {shown}",  # escaped: ids are user input, errors are one line
                          fix=f"choose from {', '.join(sorted(index.documents))}")


def search_vectors(
    index: Index,
    qvec: np.ndarray,
    k: int = 5,
    lexical_scores: Optional[np.ndarray] = None,
    retrieval: Optional[RetrievalSettings] = None,
    rows: Optional[np.ndarray] = None,
) -> list[Hit]:
    """Pure ranking from a question vector (and BM25 scores): no model call happens here.

    `rows` restricts the search to those evidence rows (a document filter). Ties keep row order, so
    results are deterministic.
    """
    retrieval = retrieval or load_tuned().retrieval
    n = len(index.evidence)
    if n == 0 or k <= 0:
        return []
    q = np.ascontiguousarray(qvec, dtype=np.float32).reshape(1, -1)
    mode = retrieval.mode
    dense: dict[int, float] = {}
    if mode != "bm25":
        if rows is None:
            want = min(n, max(retrieval.candidates, k))
            dense = dict(index.vectors.search(q[0], want))
        elif len(rows):
            vecs = index.vectors.passages(rows)
            sims = vecs @ q[0]
            dense = {int(rows[j]): float(sims[j]) for j in _top(sims, max(retrieval.candidates, k))}
    lex_rank: dict[int, float] = {}
    lex = lexical_scores
    if mode != "dense" and lex is not None and len(lex):
        if rows is not None:
            masked = np.full(n, -np.inf, dtype=np.float32)
            masked[rows] = lex[rows]
            lex = masked
        for r in _top(lex, max(retrieval.candidates, k)):
            if lex[r] > 0:
                lex_rank[int(r)] = float(lex[r])
    cands = list(dict.fromkeys([*dense.keys(), *lex_rank.keys()]))
    if not cands:
        return []
    # dense scores for lexical-only candidates, so every candidate is scored on the same footing
    missing = [r for r in cands if r not in dense]
    if missing and mode != "bm25":
        vecs = index.vectors.passages(missing)
        for r, s in zip(missing, vecs @ q[0]):
            dense[r] = float(s)
    # every candidate's sentence vectors in one fetch (one round trip for a networked store); each
    # candidate's similarities are then computed on its own slice, as they always were
    all_rows = [r for c in cands for r in index.evidence[c].sentence_rows]
    sv = index.vectors.sentences(all_rows)
    best_sent: dict[int, float] = {}
    sent_scores: dict[int, list[ScoredSentence]] = {}
    at = 0
    for r in cands:
        p = index.evidence[r]
        srows = list(p.sentence_rows)
        sims = sv[at:at + len(srows)] @ q[0] if srows else np.zeros(0)
        at += len(srows)
        order = np.argsort(-sims, kind="stable")
        sent_scores[r] = [ScoredSentence(index.sentences[srows[j]], float(sims[j])) for j in order]
        best_sent[r] = float(sims[order[0]]) if len(order) else 0.0
    lex_max = max(lex_rank.values()) if lex_rank else 1.0
    fused: dict[int, float] = {}
    if mode == "rrf":
        d_order = sorted(dense, key=lambda r: (-dense[r], r))
        l_order = sorted(lex_rank, key=lambda r: (-lex_rank[r], r))
        for rank, r in enumerate(d_order):
            fused[r] = fused.get(r, 0.0) + 1.0 / (retrieval.rrf_k + rank + 1)
        for rank, r in enumerate(l_order):
            fused[r] = fused.get(r, 0.0) + 1.0 / (retrieval.rrf_k + rank + 1)
    elif mode == "dense":
        fused = {r: dense[r] for r in cands}
    elif mode == "bm25":
        fused = {r: lex_rank.get(r, 0.0) for r in cands}
    else:
        for r in cands:
            fused[r] = (retrieval.w_lexical * lex_rank.get(r, 0.0) / lex_max
                        + retrieval.w_dense * dense.get(r, 0.0)
                        + retrieval.w_sentence * best_sent[r])
    order = sorted(cands, key=lambda r: (-fused[r], r))[:k]
    return [
        Hit(index.evidence[r], fused[r], dense=dense.get(r, 0.0), lexical=lex_rank.get(r, 0.0),
            sentences=tuple(sent_scores[r][:retrieval.sentences_per_hit]))
        for r in order
    ]


class Retriever:
    """Embeds the question (once) and ranks evidence. The model is passed in, never built here."""

    def __init__(self, index: Index, embedder: Embedder, retrieval: Optional[RetrievalSettings] = None,
                 aliases: Optional[AliasTable] = None):
        self.index = index
        self.embedder = embedder
        self.settings = retrieval or load_tuned().retrieval
        self.aliases = aliases if aliases is not None else AliasTable.from_index(index)

    def embed(self, question: str) -> np.ndarray:
        return self.embedder.encode([question])[0]

    def search(self, question: str, k: int = 5, docs: Optional[Sequence[str]] = None,
               retrieval: Optional[RetrievalSettings] = None, qvec: Optional[np.ndarray] = None) -> list[Hit]:
        """Top-k evidence passages for a question, best first, each with its best sentences."""
        retrieval = retrieval or self.settings
        if qvec is None:
            with stage("embed"):
                qvec = self.embed(question)
        with stage("bm25"):
            lex = self.lexical_scores(question, retrieval) if retrieval.mode != "dense" else None
        with stage("search"):
            return search_vectors(self.index, qvec, k, lex, retrieval, allowed_rows(self.index, docs))

    def lexical_scores(self, question: str, retrieval: Optional[RetrievalSettings] = None) -> np.ndarray:
        """BM25 of the question plus, down-weighted, BM25 of the other names of what it mentions."""
        retrieval = retrieval or self.settings
        lex = bm25.scores(self.index, question)
        extra = self.aliases.expand(question)[len(question):]
        if extra.strip() and retrieval.w_alias:
            lex = lex + retrieval.w_alias * bm25.scores(self.index, extra)
        return lex

    def with_settings(self, **changes) -> "Retriever":
        return Retriever(self.index, self.embedder, replace(self.settings, **changes), self.aliases)
