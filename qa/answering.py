"""From a question to an Answer: validation, retrieval, span choice, citations and abstention."""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Optional, Sequence

from .config import DEFAULT_K, MAX_QUESTION_CHARS
from .errors import QAError
from .extract import Extractor
from .question import analyse_question
from .retrieval import Retriever
from .types import Answer, Citation, Conflict, Hit

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
    """Abstention thresholds on the calibrated confidence, and the logistic calibration itself.

    The calibration maps the evidence features of the chosen answer (see `confidence_features`) to a
    probability of being right; its weights and the thresholds were fitted on the gold set's dev split
    (see eval/README.md), never on the test split.
    """

    answer_threshold: float = 0.5  # confidence at or above: answered
    uncertain_threshold: float = 0.3  # at or above: answered with a caveat; below: declined
    max_citations: int = 5
    conflict_ratio: float = 0.8  # a rival value within this share of the best score is a credible conflict
    weights: tuple[float, ...] = (3.0, 4.0, 0.8, 0.5, 0.6)  # sim, lex, type, margin, agreement
    bias: float = -4.2


def confidence_features(top, group, runner_up) -> tuple[float, ...]:
    """What the calibration reads: sentence similarity, weighted question-term coverage, type fit,
    margin over the next different answer, and how many sources agree (capped)."""
    margin = group.score - (runner_up.score if runner_up is not None else 0.0)
    return (top.sentence_score, top.features.get("lex", 0.0), top.features.get("type", 0.6),
            min(margin, 1.0), min(len(group.docs()) - 1, 2))


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
        self.extractor = Extractor(self.index, retriever.aliases)

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
        """The answer for already-retrieved hits: a typed verbatim span, its supporting sentence in
        every source that says it, conflicts between sources, and a calibrated confidence."""
        qa = analyse_question(question)
        groups = self.extractor.group(self.extractor.candidates(qa, hits)) if hits else []
        closest = self._closest(hits)
        if not groups:
            return Answer(question, "declined", None, 0.0, notes=(DECLINE_TEXT,), answer_type=qa.answer_type,
                          closest=closest)
        best = groups[0]
        top = best.best
        runner = next((g for g in groups[1:] if not set(g.docs()) <= set() and g.key != best.key), None)
        feats = confidence_features(top, best, runner)
        z = self.settings.bias + sum(w * f for w, f in zip(self.settings.weights, feats))
        conf = 1.0 / (1.0 + math.exp(-z))
        if conf < self.settings.uncertain_threshold:
            return Answer(question, "declined", None, conf, notes=(DECLINE_TEXT,), answer_type=qa.answer_type,
                          closest=closest, considered=len({h.passage.doc_id for h in hits}))
        citations: list[Citation] = []
        for doc_id in best.docs()[: self.settings.max_citations]:
            c = max((m for m in best.members if m.doc_id == doc_id), key=lambda m: m.score)
            citations.append(make_citation(len(citations) + 1, self.index, c.sentence, c.score, (c.start, c.end)))
        notes: list[str] = []
        conflicts: list[Conflict] = []
        if qa.answer_type in ("number", "date", "money", "percent"):
            conflicts = self._conflicts(best, groups, citations)
            if conflicts:
                notes.append("The sources disagree: " + "; ".join(
                    f"{c.value} [{', '.join(str(n) for n in c.citations)}]" for c in conflicts) + ".")
        credible = {d for g in groups if g.score >= self.settings.conflict_ratio * best.score for d in g.docs()}
        agreeing = len(best.docs())
        considered = max(agreeing, len(credible))
        doc = self.index.documents[top.doc_id]
        as_of = doc.as_of if qa.time_sensitive else None
        status = "answered" if conf >= self.settings.answer_threshold else "uncertain"
        if status == "uncertain":
            notes.append("Low confidence: check the quoted source.")
        if as_of:
            notes.append(f"As of {as_of} (the date of the source).")
        return Answer(question, status, top.text, conf, tuple(citations), tuple(notes), tuple(conflicts),
                      agreeing=agreeing, considered=considered, answer_type=qa.answer_type, as_of=as_of)

    def _conflicts(self, best, groups, citations: list[Citation]) -> list[Conflict]:
        """Other values of a number/date that credible evidence in other documents states."""
        from .extract import number_value

        out: list[Conflict] = []
        best_docs = set(best.docs())
        best_val = number_value(best.best.text)
        rivals = []
        for g in groups[1:]:
            if g.score < self.settings.conflict_ratio * best.score:
                break
            b = g.best
            if b.doc_id in best_docs or b.features.get("type", 0) < 0.9:
                continue
            v = number_value(b.text)
            if v is None or v == best_val or any(number_value(r.best.text) == v for r in rivals):
                continue
            if best.best.features.get("head", 0) and not b.features.get("head", 0):
                continue  # the best value names the asked-for thing and the rival does not
            rivals.append(g)
        if not rivals:
            return []
        out.append(Conflict(best.best.text, tuple(c.n for c in citations)))
        for g in rivals:
            b = g.best
            citations.append(make_citation(len(citations) + 1, self.index, b.sentence, b.score, (b.start, b.end)))
            out.append(Conflict(b.text, (citations[-1].n,)))
        return out

    def _closest(self, hits: list[Hit]) -> tuple[Citation, ...]:
        """The best sentence of the top passages, as 'closest material' when the answer is declined."""
        out: list[Citation] = []
        for h in hits[:3]:
            if h.sentences:
                s = h.sentences[0]
                out.append(make_citation(len(out) + 1, self.index, s.sentence, s.score))
        return tuple(out)


def timed_ask(answerer: Answerer, question: str, **kw) -> tuple[Answer, float]:
    t = time.perf_counter()
    a = answerer.ask(question, **kw)
    return a, (time.perf_counter() - t) * 1000.0
