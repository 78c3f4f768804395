"""From a question to an Answer: validation, retrieval, span choice, citations and abstention."""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Optional, Sequence

from .chunking import without_footnote
from .config import DEFAULT_K, MAX_QUESTION_CHARS
from .errors import QAError
from .extract import ExtractSettings, Extractor, number_value, typed_supporters
from .question import analyse_question
from .retrieval import Retriever
from .types import Answer, Citation, Conflict, Hit

# extraction finds the sentence that bears on a yes/no question; it does not judge yes or no
YES_NO_NOTE = "A yes/no question: this is what the source says; it is not judged yes or no."
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


VALUE_TYPES = ("number", "date", "money", "percent")  # answers that sources can disagree on by value


@dataclass(frozen=True)
class AnswerSettings:
    """Abstention thresholds on the calibrated confidence, and the logistic calibration itself.

    The calibration maps the evidence features of the chosen answer (see `confidence_features`) to a
    probability of being right; its weights and the thresholds were fitted on the gold set's dev split
    (see eval/README.md), never on the test split.
    """

    answer_threshold: float = 0.5  # confidence at or above: answered
    # below: declined. Chosen on dev as the threshold with the best abstention F1 (0.47: half of dev's
    # unanswerable questions declined, 8% of its answerable ones wrongly declined); the pair of
    # targets (>= 90% and <= 5%) is out of reach of these features, and this is the trade-off we took
    uncertain_threshold: float = 0.3
    max_citations: int = 5
    conflict_ratio: float = 0.8  # a rival value within this share of the best score is a credible conflict
    # a weaker rival (down to this share) is one too when its sentence shares another value with the chosen
    # one: the same frame ("of the 12 members", "in May 2015") stated with a different number
    framed_conflict_ratio: float = 0.65
    # logistic regression over confidence_features (sim, lex, missing, type, margin, agreement), fitted on
    # the dev split with the label "the answer contains a gold alias" (unanswerable questions count as 0)
    weights: tuple[float, ...] = (1.47, 1.66, -2.34, 0.42, 1.23, -1.03)
    bias: float = -0.3
    # the same, over reader_confidence_features (sim, lex, missing, read/10, read-null/10, margin, agreement),
    # for answers the span reader chose: fitted by scripts/fit_answering.py on 2,087 answers (gold dev, a
    # SQuAD v1.1 held-out slice, half of the SQuAD 2.0 half), label "right" = contains a gold alias / F1 >= 0.5.
    # "agreement" counts every cited source (the entity pass's corroborating documents included)
    reader_weights: tuple[float, ...] = (3.13, 0.17, -0.89, 1.59, 0.22, 0.91, 0.42)
    reader_bias: float = -3.67
    # below: declined. Chosen on the gold dev split: in the middle of the gap between its highest
    # unanswerable question (0.158) and the next answerable one (0.175), so every unanswerable dev question
    # is declined and 2% of answerable ones wrongly. SQuAD 2.0's adversarial unanswerables want more: 0.55 was best on half of
    # the SQuAD 2.0 half (scripts/fit_answering.py's table; `qa bench squad --decline-below`)
    reader_uncertain_threshold: float = 0.17
    reader_answer_threshold: float = 0.5  # at or above: answered; between: "uncertain" with a caveat

    def confidence(self, features: Sequence[float], reader: bool) -> float:
        """The calibrated probability that the answer is right, by the calibration for its path."""
        w, b = (self.reader_weights, self.reader_bias) if reader else (self.weights, self.bias)
        return 1.0 / (1.0 + math.exp(-(b + sum(wi * f for wi, f in zip(w, features)))))

    def thresholds(self, reader: bool) -> tuple[float, float]:
        """(decline below, answer at or above) for the calibration that scored the answer."""
        if reader:
            return self.reader_uncertain_threshold, self.reader_answer_threshold
        return self.uncertain_threshold, self.answer_threshold


def confidence_features(top, group, runner_up) -> tuple[float, ...]:
    """What the calibration reads about the chosen answer: its sentence's similarity to the question,
    the weighted share of question terms it contains, the rarest question term it lacks, the span's
    type fit, the margin over the next different answer, and how many more sources agree (capped)."""
    f = top.features
    margin = group.score - (runner_up.score if runner_up is not None else group.score - 1.0)
    return (f.get("sim", 0.0), f.get("lex", 0.0), f.get("missing", 0.0), f.get("type", 0.6),
            min(max(margin, 0.0), 1.0), float(min(len(group.docs()) - 1, 2)))


def reader_confidence_features(top, group, runner_up, sources: int = 0) -> tuple[float, ...]:
    """The calibration's view of a reader-chosen answer: the sentence's similarity, term share and
    rarest missing term as above, the reader's span logit and its margin over "no answer here" (both
    scaled by 1/10), the margin over the next different answer, and how many more sources say it
    (`sources`: the cited supporters, the entity pass's included; default the group's own documents)."""
    f = top.features
    margin = group.score - (runner_up.score if runner_up is not None else group.score - 1.0)
    n = sources or len(group.docs())
    return (f.get("sim", 0.0), f.get("lex", 0.0), f.get("missing", 0.0), f.get("read", 0.0) / 10.0,
            f.get("read_null", 0.0) / 10.0, min(max(margin, 0.0), 1.0), float(min(n - 1, 2)))


def make_citation(n: int, index, sent_or_passage, score: float, answer_span: Optional[tuple[int, int]] = None) -> Citation:
    """A citation whose quote is exactly the document text at its offsets."""
    doc = index.documents[sent_or_passage.doc_id]
    passage_id = getattr(sent_or_passage, "passage_id")
    s, e = sent_or_passage.start, sent_or_passage.end
    e = without_footnote(doc.text, s, e)
    if answer_span is not None:
        e = max(e, answer_span[1])  # never cut into the answer
    return Citation(
        n=n, doc_id=doc.doc_id, title=doc.title, source=doc.source, passage_id=passage_id,
        start=s, end=e, quote=doc.text[s:e], score=round(float(score), 4), date=doc.as_of,
        answer_start=answer_span[0] if answer_span else None, answer_end=answer_span[1] if answer_span else None,
    )


class Answerer:
    """Answers questions over one loaded index. Thread-safe: it keeps no per-question state."""

    def __init__(self, retriever: Retriever, settings: AnswerSettings = AnswerSettings(), reader=None,
                 extract_settings: ExtractSettings = ExtractSettings()):
        """`reader` is a loaded-on-demand `qa.reader.Reader` (or None for the rule-based spans only)."""
        self.retriever = retriever
        self.index = retriever.index
        self.settings = settings
        self.reader = reader
        self.extractor = Extractor(self.index, retriever.aliases, extract_settings)

    def groups(self, qa, hits: list[Hit]) -> tuple[list, list]:
        """(answer groups, entity groups), each best first. The answer is chosen from the reader's spans
        over the best evidence windows when a reader is loaded, else from typed entity spans. The entity
        groups (no model call) find the other sources that state the chosen answer and rival values."""
        if not hits:
            return [], []
        ex = self.extractor
        alternative = bool(qa.options) and ex.settings.options
        evidence = ex.evidence(qa, hits)
        entity = ex.group(ex.choose_option(qa, ex.candidates(qa, hits, evidence)), votes=not alternative)
        if self.reader is None or not evidence:
            return entity, entity
        windows = ex.reader_windows(evidence, ex.settings.reader_windows)
        # an alternative question's options are rarely the reader's first few spans: look further down
        guesses = self.reader.read(qa.text, [w.text for w in windows], top=20 if alternative else 5)
        read = ex.group(ex.choose_option(qa, ex.reader_candidates(qa, evidence, windows, guesses)), votes=not alternative)
        return (read if alternative else ex.corroborate(read, entity)), entity

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
                shown = ", ".join(repr(u[:60]) if not (u.isprintable() and len(u) <= 60) else u for u in unknown[:10])
                raise QAError(f"unknown document id(s): {shown}",  # escaped: ids are user input, errors are one line
                              fix=f"choose from {', '.join(sorted(self.index.documents))}")
        hits = self.retriever.search(q, k=max(k, retrieve_k), docs=docs)
        return self.from_hits(q, hits[:k]), hits

    def from_hits(self, question: str, hits: list[Hit]) -> Answer:
        """The answer for already-retrieved hits: a typed verbatim span, its supporting sentence in
        every source that says it, conflicts between sources, and a calibrated confidence."""
        qa = analyse_question(question)
        groups, entity = self.groups(qa, hits)
        closest = self._closest(hits)
        if not groups:
            return Answer(question, "declined", None, 0.0, notes=(DECLINE_TEXT,), answer_type=qa.answer_type,
                          closest=closest)
        best = groups[0]
        top = best.best
        supporters, anchor, feats, by_reader = self.judge(qa, groups, entity)
        decline_below, answer_from = self.settings.thresholds(by_reader)
        conf = self.settings.confidence(feats, by_reader)
        if conf < decline_below:
            return Answer(question, "declined", None, conf, notes=(DECLINE_TEXT,), answer_type=qa.answer_type,
                          closest=closest, considered=len({h.passage.doc_id for h in hits}))
        citations: list[Citation] = [make_citation(i + 1, self.index, c.sentence, c.score, (c.start, c.end))
                                     for i, c in enumerate(supporters[: self.settings.max_citations])]
        notes: list[str] = []
        conflicts: list[Conflict] = []
        if qa.answer_type in VALUE_TYPES:
            conflicts = self._conflicts(anchor, entity, citations) if anchor is not None else []
            if conflicts:
                notes.append("The sources disagree: " + "; ".join(
                    f"{c.value} [{', '.join(str(n) for n in c.citations)}]" for c in conflicts) + ".")
        credible = {d for g in groups if g.score >= self.settings.conflict_ratio * best.score for d in g.docs()}
        agreeing = len(supporters)
        considered = max(agreeing, len(credible))
        doc = self.index.documents[top.doc_id]
        as_of = doc.as_of if qa.time_sensitive else None
        status = "answered" if conf >= answer_from else "uncertain"
        if qa.answer_type == "yes/no":
            notes.append(YES_NO_NOTE)
        if status == "uncertain":
            notes.append("Low confidence: check the quoted source.")
        if as_of:
            notes.append(f"As of {as_of} (the date of the source).")
        return Answer(question, status, top.text, conf, tuple(citations), tuple(notes), tuple(conflicts),
                      agreeing=agreeing, considered=considered, answer_type=qa.answer_type, as_of=as_of)

    def judge(self, qa, groups, entity) -> tuple[list, Optional[object], tuple[float, ...], bool]:
        """What the best group rests on: (its supporters — the best document's candidate, then every
        other document that says it, the entity pass's included — its anchor among the entity groups,
        the calibration's features, and whether the reader chose it)."""
        best = groups[0]
        top = best.best
        runner = groups[1] if len(groups) > 1 else None  # group keys are distinct: the next different answer
        # cite the documents that say it (a passing mention in an unrelated sentence is not a source)
        supporters = best.supporters()
        anchor = self._anchor(best, entity, qa.answer_type in VALUE_TYPES)
        if anchor is not None and anchor is not best:
            have = {c.doc_id for c in supporters}
            supporters += [c for c in typed_supporters(anchor, self.extractor.settings.corr_min_type)
                           if c.doc_id not in have]
        by_reader = "read" in top.features
        if by_reader:
            feats = reader_confidence_features(top, best, runner, sources=len(supporters))
        else:
            feats = confidence_features(top, best, runner)
        return supporters, anchor, feats, by_reader

    @staticmethod
    def _anchor(best, entity, value: bool):
        """The chosen answer among the entity groups: the one with the same key, else, for a number or
        date question (a reader span such as "11 of the 12" or "at least 60"), the group of the first
        entity inside the span."""
        same = next((g for g in entity if g.key == best.key), None)
        if same is not None or not value:
            return same
        top = best.best
        inside = [(c.start, -c.end, g) for g in entity for c in g.members
                  if c.doc_id == top.doc_id and top.start <= c.start and c.end <= top.end]
        return min(inside, key=lambda t: t[:2])[2] if inside else None

    def _conflicts(self, best, groups, citations: list[Citation]) -> list[Conflict]:
        """Other values of a number or date that credible evidence in other documents states.

        A rival counts when it comes from a document that does not state the chosen value, scores within
        `conflict_ratio` of it (or within `framed_conflict_ratio` when its sentence and the chosen one also
        share some other number or date: the same frame), and its sentence does not also contain the
        chosen value (nor the chosen sentence the rival's): two sources giving different values for the
        same thing.
        """
        best_c = best.best
        best_val = number_value(best_c.text)
        best_docs = set(best.docs())
        best_sentence_keys = self._value_keys(best_c.sentence)
        # each other document's own best two answers to the question that sit right by its terms
        per_doc: dict[str, list] = {}
        for g in groups:
            for c in g.members:
                if c.doc_id not in best_docs and c.features.get("prox", 0) >= 0.75 and c.features.get("type", 0) >= 0.9:
                    per_doc.setdefault(c.doc_id, []).append((g, c))
        options = [gc for lst in per_doc.values() for gc in sorted(lst, key=lambda gc: -gc[1].score)[:2]]
        rivals = []
        for g, c in sorted(options, key=lambda gc: -gc[1].score):
            if c.score < self.settings.framed_conflict_ratio * best_c.score or any(r[1].doc_id == c.doc_id for r in rivals):
                continue
            v = number_value(c.text)
            if v is None or best_val is None or v == best_val or any(number_value(r[1].text) == v for r in rivals):
                continue
            rival_keys = self._value_keys(c.sentence)
            if g.key in best_sentence_keys or best.key in rival_keys:
                continue
            if c.score < self.settings.conflict_ratio * best_c.score and \
                    not (rival_keys & best_sentence_keys) - {g.key, best.key}:
                continue  # a weaker rival needs a shared frame
            if (v >= 1900) != (best_val >= 1900):
                continue  # a year against a count is two different questions, not a disagreement
            rivals.append((g, c))
        if not rivals:
            return []
        out = [Conflict(best_c.text, tuple(c.n for c in citations))]
        for g, b in rivals:
            citations.append(make_citation(len(citations) + 1, self.index, b.sentence, b.score, (b.start, b.end)))
            out.append(Conflict(b.text, (citations[-1].n,)))
        return out

    def _value_keys(self, sentence) -> set[str]:
        text = self.index.documents[sentence.doc_id].text
        return {self.extractor.key(text[s:e]) for s, e, lab in sentence.ents
                if lab in ("CARDINAL", "NUM", "DATE", "QUANTITY", "MONEY", "PERCENT")}

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
