"""From a question to an Answer: validation, retrieval, span choice, citations and abstention."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Optional, Sequence

from .config import DEFAULT_K, MAX_QUESTION_CHARS
from .errors import QAError
from .retrieval import Retriever
from .types import Answer, Citation, Hit, ScoredSentence

DECLINE_TEXT = "The corpus does not say."
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_question(question: object) -> str:
    """The question as the pipeline reads it, or QAError (exit 2) for empty or over-long input.

    Lone surrogates and control characters cannot reach the tokenizer, so they are replaced and
    removed rather than allowed to raise deep inside the model.
    """
    if not isinstance(question, str):
        raise QAError("the question must be text")
    if len(question) > MAX_QUESTION_CHARS:
        raise QAError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}",
                      fix="ask a shorter question")
    q = question.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    q = _CONTROL.sub(" ", q).strip()
    if not q:
        raise QAError("the question is empty", fix="ask a question in words")
    return q


@dataclass(frozen=True)
class AnswerSettings:
    answer_threshold: float = 0.55  # confidence at or above: answered
    uncertain_threshold: float = 0.35  # at or above: answered with a caveat; below: declined
    max_citations: int = 3


def make_citation(n: int, index, sent_or_passage, score: float, answer_span: Optional[tuple[int, int]] = None) -> Citation:
    """A citation whose quote is exactly the document text at its offsets."""
    doc = index.documents[sent_or_passage.doc_id]
    passage_id = getattr(sent_or_passage, "passage_id")
    s, e = sent_or_passage.start, sent_or_passage.end
    return Citation(
        n=n, doc_id=doc.doc_id, title=doc.title, source=doc.source, passage_id=passage_id,
        start=s, end=e, quote=doc.text[s:e], score=round(float(score), 4), date=doc.as_of,
        answer_start=answer_span[0] if answer_span else None, answer_end=answer_span[1] if answer_span else None,
    )


class Answerer:
    """Answers questions over one loaded index. Thread-safe: it keeps no per-question state."""

    def __init__(self, retriever: Retriever, settings: AnswerSettings = AnswerSettings()):
        self.retriever = retriever
        self.index = retriever.index
        self.settings = settings

    def ask(self, question: str, k: int = DEFAULT_K, docs: Optional[Sequence[str]] = None) -> Answer:
        """Answer one question from the top-k passages (optionally only from the given documents).

        Raises QAError for an empty, over-long or otherwise unusable question or an unknown document.
        """
        return self.ask_with_hits(question, k, docs)[0]

    def ask_with_hits(self, question: str, k: int = DEFAULT_K, docs: Optional[Sequence[str]] = None,
                      retrieve_k: int = 0) -> tuple[Answer, list[Hit]]:
        """`ask`, also returning the ranked hits (at least `retrieve_k` of them, for retrieval metrics).

        The answer is made from the first k hits only, so it is exactly what `ask` returns.
        """
        q = clean_question(question)
        if k < 1 or k > 50:
            raise QAError(f"k must be between 1 and 50, not {k}")
        if docs:
            unknown = sorted(set(docs) - set(self.index.documents))
            if unknown:
                raise QAError(f"unknown document id(s): {', '.join(unknown)}",
                              fix=f"choose from {', '.join(sorted(self.index.documents))}")
        hits = self.retriever.search(q, k=max(k, retrieve_k), docs=docs)
        return self.from_hits(q, hits[:k]), hits

    def from_hits(self, question: str, hits: list[Hit]) -> Answer:
        """The answer for already-retrieved hits: the best-scoring sentence, cited."""
        scored: list[tuple[float, ScoredSentence, Hit]] = []
        for h in hits:
            for s in h.sentences:
                scored.append((s.score, s, h))
        if not scored:
            return Answer(question, "declined", None, 0.0, notes=(DECLINE_TEXT,))
        scored.sort(key=lambda t: -t[0])
        best_score, best, _ = scored[0]
        conf = max(0.0, min(1.0, best_score))
        citations = [make_citation(1, self.index, best.sentence, best.score)]
        seen_docs = {best.sentence.doc_id}
        for score, s, _ in scored[1:]:
            if len(citations) >= self.settings.max_citations:
                break
            if s.sentence.doc_id not in seen_docs:
                seen_docs.add(s.sentence.doc_id)
                citations.append(make_citation(len(citations) + 1, self.index, s.sentence, s.score))
        if conf < self.settings.uncertain_threshold:
            return Answer(question, "declined", None, conf, notes=(DECLINE_TEXT,),
                          closest=tuple(citations))
        status = "answered" if conf >= self.settings.answer_threshold else "uncertain"
        notes = () if status == "answered" else ("Low confidence: check the quoted source.",)
        return Answer(question, status, best.sentence.text, conf, tuple(citations), notes,
                      agreeing=1, considered=len({h.passage.doc_id for h in hits}))


def timed_ask(answerer: Answerer, question: str, **kw) -> tuple[Answer, float]:
    t = time.perf_counter()
    a = answerer.ask(question, **kw)
    return a, (time.perf_counter() - t) * 1000.0
