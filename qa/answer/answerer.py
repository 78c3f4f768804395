"""From a question to an Answer: validation, evidence, span choice, citations, conflicts and abstention."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

from .calibration import confidence, reader_features, rule_features, table_features
from .candidates import CandidateFinder
from ..ingest.chunking import without_footnote
from .conflicts import Subject, anchor, rivals, sources_considered
from .evidence import find_evidence, reader_windows
from ..index import bm25
from .grounding import Grounding, decline_text, ground, unsupported
from .grouping import Keys, corroborate, group, typed_supporters
from ..index.lexicon import VARIANT_MIN, skeleton
from ..index.lexicon import of_index as lexicon_of
from .question import QuestionAnalysis, analyse_question, clean_question  # noqa: F401 (clean_question: its home was here)
from .retrieval import Retriever, check_request
from .spans import trim_span
from .tables import best_match, within_cell
from .tables import quotes as table_quotes
from ..settings import DEFAULT_K, AnswerSettings, SpanSettings, load_tuned
from ..text import text_fragment_url
from ..timing import stage
from .typecheck import LACKING, figures_first, has_type, needed_type
if TYPE_CHECKING:
    from .conversation import Conversation
from ..types import COMPUTATION_TEXT, DECLINE_TEXT, PARTS_JOINER, Answer, Citation, Conflict, Hit

# extraction finds the sentence that bears on a yes/no question; it does not judge yes or no
YES_NO_NOTE = "A yes/no question: this is what the source says; it is not judged yes or no."
# "uncertain" answers are right 40-80% of the time on any documents (docs/evaluation.md): worth reading,
# not "low confidence", which users read as "probably wrong"
LOW_CONFIDENCE_NOTE = "Not certain: check the quoted source."
VALUE_TYPES = ("number", "date", "money", "percent")  # answers that sources can disagree on by value
DOC_STEMS_KEPT = 256  # documents whose stem sets are kept for the grounding features
CLOSEST_SOURCES = 3  # passages whose best sentence is shown as closest material when declining
WARM_UP_QUESTION = "What do the documents say?"  # any question loads the embedder


def make_citation(n: int, index, sent_or_passage, score: float, answer_span: Optional[tuple[int, int]] = None) -> Citation:
    """A citation whose quote is exactly the text at its offsets in `text_source` (the document's text
    rendition), with the page and boxes of a PDF quote and the link of a web page's."""
    doc = index.documents[sent_or_passage.doc_id]
    s, e = sent_or_passage.start, sent_or_passage.end
    e = without_footnote(doc.text, s, e)
    if answer_span is not None:
        e = max(e, answer_span[1])  # never cut into the answer
    cmap = index.charmap(doc.doc_id) if getattr(doc, "format", "txt") == "pdf" and hasattr(index, "charmap") else None
    quote = doc.text[s:e]
    return Citation(
        n=n, doc_id=doc.doc_id, title=doc.title, source=doc.source, passage_id=sent_or_passage.passage_id,
        start=s, end=e, quote=quote, score=round(float(score), 4), date=doc.as_of,
        answer_start=answer_span[0] if answer_span else None, answer_end=answer_span[1] if answer_span else None,
        text_source=getattr(doc, "text_source", None) or doc.source,
        page=cmap.page_of(s, e) if cmap is not None else None,
        boxes=tuple(cmap.boxes_for(s, e)) if cmap is not None else None,
        url=text_fragment_url(doc.url, quote) if getattr(doc, "url", None) and doc.format == "html" else None,
    )


@dataclass(frozen=True)
class Choice:
    """What an answer is chosen from (Answerer.choose): `lacking` names the type the question needs when
    candidates exist but none has it."""
    qa: QuestionAnalysis
    grounding: Grounding
    groups: list
    entity: list
    lacking: Optional[str] = None


def standing(cal, conf: float, qa: QuestionAnalysis, doc) -> tuple[str, Optional[str], list[str]]:
    """(status, as_of, notes) of an answer given at confidence `conf` under `cal`'s thresholds, from `doc`:
    the caveat an uncertain answer carries, and the source's date when the question depends on time."""
    status = "answered" if conf >= cal.answer_from else "uncertain"
    as_of = doc.as_of if qa.time_sensitive else None
    notes = ([LOW_CONFIDENCE_NOTE] if status == "uncertain" else []) + \
        ([f"As of {as_of} (the date of the source)."] if as_of else [])
    return status, as_of, notes


class Answerer:
    """Answers questions over one loaded index. Thread-safe: it keeps no per-question state."""

    def __init__(self, retriever: Retriever, reader=None, spans: Optional[SpanSettings] = None,
                 answer: Optional[AnswerSettings] = None):
        """`reader` is a loaded-on-demand span reader (qa.neural.reader.Reader, or anything with its `read`),
        None for the rule-based spans only. Settings default to the shipped tuned values."""
        self.retriever = retriever
        self.index = retriever.index
        self.reader = reader
        self.spans = spans or load_tuned().spans
        self.settings = answer or load_tuned().answer
        self.aliases = retriever.aliases
        self.keys = Keys(self.aliases)
        self.finder = CandidateFinder(self.index, self.spans)
        self.lexicon = lexicon_of(self.index)
        self._stems: dict[str, frozenset] = {}

    def with_settings(self, spans: Optional[SpanSettings] = None, answer: Optional[AnswerSettings] = None) -> "Answerer":
        """The same index, retriever and reader with other answer-step settings (a fitting script's grid)."""
        return Answerer(self.retriever, self.reader, spans or self.spans, answer or self.settings)

    def _group(self, cands, votes: bool = True):
        return group(cands, self.keys, self.spans.w_agree, self.spans.support_ratio, votes)

    def groups(self, qa, hits: list[Hit]) -> tuple[list, list]:
        """(answer groups, entity groups), each best first. The answer is chosen from the reader's spans
        over the best evidence windows when a reader is loaded, else from typed entity spans. The entity
        groups (no model call) find the other sources that state the chosen answer and rival values."""
        if not hits:
            return [], []
        st, finder = self.spans, self.finder
        alternative = bool(qa.options) and st.options
        with stage("candidates"):
            evidence = find_evidence(self.index, self.aliases, qa, hits, st)
            found = finder.choose_option(qa, self._within_cells(finder.entity_candidates(qa, evidence)))
        with stage("grouping"):
            entity = self._group(found, votes=not alternative)
        if self.reader is None or not evidence:
            return entity, entity
        with stage("candidates"):
            windows = reader_windows(self.index, evidence, st.reader_windows)
        with stage("reader"):
            # an alternative question's options are rarely the reader's first few spans: look further down
            guesses = self.reader.read(qa.text, [w.text for w in windows],
                                       top=st.reader_top_options if alternative else st.reader_top)
        with stage("candidates"):
            found = finder.choose_option(qa, self._within_cells(finder.reader_candidates(qa, evidence, windows, guesses)))
        with stage("grouping"):
            read = self._group(found, votes=not alternative)
            if alternative:
                return read, entity
            return corroborate(read, entity, st.w_corr, st.corr_min_type), entity

    def _within_cells(self, found: list) -> list:
        """Candidates that cross from one table cell into the next cut back to the first cell: an answer
        never runs across a table's columns. Documents without tables cost a lookup."""
        out = []
        for c in found:
            doc = self.index.documents[c.doc_id]
            s, e = within_cell(doc, c.start, c.end) if doc.tables else (c.start, c.end)
            if (s, e) != (c.start, c.end):
                s, e = trim_span(doc.text, s, e)
                if e <= s:
                    continue
                c = dataclasses.replace(c, text=doc.text[s:e], start=s, end=e, key="")
            out.append(c)
        return out

    def warm_up(self, question: Optional[str] = None) -> None:
        """Load what the first real question would, so that it does not wait for it: the models load
        lazily, on first use. Asks `question` (default WARM_UP_QUESTION) and throws the answer away,
        which loads the embedder and, when the question reaches it, the span reader; the reader is
        loaded anyway when it did not (a question about something the corpus never mentions stops
        before it). Later answers are the same with or without a warm-up.

        Raises QAError as `ask` does (an unusable question, a model that cannot load)."""
        q = clean_question(WARM_UP_QUESTION if question is None else question)
        self.ask(q)
        if self.reader is not None and not getattr(self.reader, "loaded", False):
            self.reader.read(q, [q])

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
        check_request(self.index, k, docs)
        hits = self.retriever.search(q, k=max(k, retrieve_k), docs=docs)
        return self.from_hits(q, hits[:k]), hits

    def conversation(self, history: Sequence = ()) -> "Conversation":
        """A conversation over this answerer, after `history` (qa.answer.conversation): follow-ups resolved."""
        from .conversation import Conversation
        return Conversation(self, history)

    def reader_input(self, question: str, k: int = DEFAULT_K) -> tuple[str, list[str]]:
        """What `ask` hands the reader for `question`: the analysed question's text and the windows'
        texts (none when nothing is found). For benchmarks and checks that run readers side by side."""
        q = clean_question(question)
        qa = analyse_question(q)
        hits = self.retriever.search(q, k=k)[:k]
        evidence = find_evidence(self.index, self.aliases, qa, hits, self.spans) if hits else []
        return qa.text, [w.text for w in reader_windows(self.index, evidence, self.spans.reader_windows)] if evidence else []

    def from_hits(self, question: str, hits: list[Hit]) -> Answer:
        """The answer for already-retrieved hits: a typed verbatim span, its supporting sentence in
        every source that says it, conflicts between sources, and a calibrated confidence."""
        c = self.choose(question, hits)
        with stage("grouping"):  # assembling the answer, a table's included
            answer = self._assemble(question, c, hits)
            if c.grounding.absent:
                return answer
            read_off = self.table_answer(c.qa, question, hits)
        if read_off is not None and (answer.status == "declined" or read_off.confidence >= answer.confidence
                                     or read_off.decline_reason == "needs_computation"):
            return read_off
        return answer

    def table_match(self, question: str, hits: list[Hit]):
        """What the question finds in the tables of the documents the hits come from (a TableMatch), or None."""
        docs = [self.index.documents[d] for d in dict.fromkeys(h.passage.doc_id for h in hits)]
        if not any(d.tables for d in docs):
            return None
        return best_match(question, docs, self.settings.table_min_row)

    def table_answer(self, qa: QuestionAnalysis, question: str, hits: list[Hit]) -> Optional[Answer]:
        """An answer read off a table of the documents the hits come from (qa.answer.tables): the cell
        at the row and column the question names, or the header of the column where a row is largest,
        with the table calibration's confidence. None when no table names what the question asks, or
        the confidence is below its threshold."""
        m = self.table_match(question, hits)
        if m is None:
            return None
        citations = tuple(make_citation(i + 1, self.index, q, 1.0, span)
                          for i, (q, span) in enumerate(table_quotes(m, self.index.passages)))
        if m.computed:  # the row and years are there, the figure asked for is not: say so, show them
            closest = tuple(dataclasses.replace(c, answer_start=None, answer_end=None) for c in citations)
            return Answer(question, "declined", None, 0.0, notes=(COMPUTATION_TEXT,), answer_type=qa.answer_type,
                          closest=closest, considered=1, decline_reason="needs_computation")
        cal = self.settings.table
        conf = confidence(cal, table_features(m, hits))
        if conf < cal.decline_below:
            return None
        doc = self.index.documents[m.doc_id]
        status, as_of, notes = standing(cal, conf, qa, doc)
        parts = tuple(doc.text[c.start:c.end] for c in m.answer)
        return Answer(question, status, PARTS_JOINER.join(parts), conf, citations, tuple(notes),
                      agreeing=1, considered=1, answer_type=qa.answer_type, as_of=as_of,
                      parts=parts if len(parts) > 1 else ())

    def choose(self, question: str, hits: list[Hit]) -> "Choice":
        """What the answer is chosen from: the question's analysis and grounding, and the answer and entity
        groups, those whose answer has the type the question needs first. No groups (and no reader call)
        when the question names something the corpus never mentions."""
        with stage("candidates"):  # what the question asks for decides which spans are candidates
            qa = analyse_question(question)
        with stage("grounding"):
            grounding = ground(question, self.lexicon, self.aliases)
        if grounding.absent:
            return Choice(qa, grounding, [], [])
        groups, entity = self.groups(qa, hits)
        with stage("grounding"):  # with the type check: the cost of knowing what the documents do not say
            needed = needed_type(qa)
            typed = self.typed_first(needed, groups, frozenset(bm25.tokenize(question)))
            if needed == "number" and self.spans.figures_first:  # "dozens", when the next sentence says 97
                typed = figures_first(typed)
        return Choice(qa, grounding, typed, entity, lacking=needed if groups and not typed else None)

    def typed_first(self, needed: Optional[str], groups: list, q_stems: frozenset = frozenset()) -> list:
        """The groups whose answer has the type the question needs, best first, then the others (still
        the runners-up an answer's margin is measured against); none when no answer has the type. An
        entity that only repeats the question ("... under Hafiz Saeed Khan" for "after Hafiz Saeed Khan")
        does not give a span its type."""
        if needed is None:
            return groups

        q_skeletons = {skeleton(s) for s in q_stems if len(s) >= VARIANT_MIN}

        def repeats(stem: str) -> bool:  # "Hafez" in the text for the question's "Hafiz"
            return stem in q_stems or (len(stem) >= VARIANT_MIN and skeleton(stem) in q_skeletons)

        def ents(c):  # the entities over the span that do not repeat the question (only those are read)
            text = self.index.documents[c.doc_id].text
            return [x for x in c.sentence.ents if x[0] < c.end and c.start < x[1]
                    and not all(repeats(t) for t in bm25.tokenize(text[x[0]:x[1]]))]

        ok = [has_type(needed, g.best.text, g.best.start, g.best.end, ents(g.best)) for g in groups]
        if not any(ok):
            return []
        return [g for g, t in zip(groups, ok) if t] + [g for g, t in zip(groups, ok) if not t]

    def _assemble(self, question: str, c: "Choice", hits: list[Hit]) -> Answer:
        """The Answer from the chosen groups: declined (saying why), or the best group's span with its
        citations, conflicts, notes and confidence."""
        qa, groups, entity = c.qa, c.groups, c.entity
        closest = self._closest(hits)
        considered = len({h.passage.doc_id for h in hits})
        if c.grounding.absent:
            return Answer(question, "declined", None, 0.0, notes=(decline_text(c.grounding.absent),),
                          answer_type=qa.answer_type, closest=closest, considered=considered,
                          decline_reason="not_mentioned", missing_terms=c.grounding.absent)
        if c.lacking:  # "how many" answered with a name would be wrong whatever its score
            return Answer(question, "declined", None, 0.0, notes=(f"The documents give no {LACKING[c.lacking]} for this.",),
                          answer_type=qa.answer_type, closest=closest, considered=considered,
                          decline_reason="no_typed_answer")
        if not groups:
            return Answer(question, "declined", None, 0.0, notes=(DECLINE_TEXT,), answer_type=qa.answer_type,
                          closest=closest, decline_reason="low_confidence")
        best = groups[0]
        top = best.best
        supporters, anchored, feats, by_reader = self.judge(c)
        cal = self.settings.calibration(by_reader)
        conf = confidence(cal, feats)
        if conf < cal.decline_below:
            return Answer(question, "declined", None, conf, notes=(DECLINE_TEXT,), answer_type=qa.answer_type,
                          closest=closest, considered=considered, decline_reason="low_confidence")
        citations: list[Citation] = [make_citation(i + 1, self.index, c.sentence, c.score, (c.start, c.end))
                                     for i, c in enumerate(supporters[: self.settings.max_citations])]
        notes: list[str] = []
        conflicts: list[Conflict] = []
        if qa.answer_type in VALUE_TYPES and anchored is not None:
            subject = Subject(self.index, anchored.best.sentence) if self.settings.same_subject_conflicts else None
            found = rivals(self.index, self.keys, anchored, entity, self.settings, subject)
            if found:
                conflicts = [Conflict(anchored.best.text, tuple(c.n for c in citations))]
                for _, b in found:
                    citations.append(make_citation(len(citations) + 1, self.index, b.sentence, b.score, (b.start, b.end)))
                    conflicts.append(Conflict(b.text, (citations[-1].n,)))
                notes.append("The sources disagree: " + "; ".join(
                    f"{c.value} [{', '.join(str(n) for n in c.citations)}]" for c in conflicts) + ".")
        credible = {d for g in groups if g.score >= self.settings.conflict_ratio * best.score for d in g.docs()}
        agreeing = len(supporters)
        considered = sources_considered((s.doc_id for s in supporters), credible,
                                        (citations[n - 1].doc_id for x in conflicts for n in x.citations))
        if qa.answer_type == "yes/no":
            notes.append(YES_NO_NOTE)
        status, as_of, more = standing(cal, conf, qa, self.index.documents[top.doc_id])
        notes += more
        return Answer(question, status, top.text, conf, tuple(citations), tuple(notes), tuple(conflicts),
                      agreeing=agreeing, considered=considered, answer_type=qa.answer_type, as_of=as_of)

    def judge(self, c: Choice) -> tuple[list, Optional[object], tuple[float, ...], bool]:
        """What the best group rests on: (its supporters — the best document's candidate, then every
        other document that says it, the entity pass's included — its anchor among the entity groups,
        the calibration's features, and whether the reader chose it)."""
        qa, groups, entity = c.qa, c.groups, c.entity
        best = groups[0]
        top = best.best
        runner = groups[1] if len(groups) > 1 else None  # group keys are distinct: the next different answer
        # cite the documents that say it (a passing mention in an unrelated sentence is not a source)
        supporters = best.supporters()
        anchored = anchor(best, entity, qa.answer_type in VALUE_TYPES)
        if anchored is not None and anchored is not best:
            have = {c.doc_id for c in supporters}
            supporters += [c for c in typed_supporters(anchored, self.spans.corr_min_type) if c.doc_id not in have]
        by_reader = "read" in top.features
        if by_reader:
            with stage("grounding"):
                unseen = self.unseen(c.grounding, top)
            feats = reader_features(top, best, runner, sources=len(supporters), unseen=unseen)
        else:
            feats = rule_features(top, best, runner)
        return supporters, anchored, feats, by_reader

    def unseen(self, grounding: Grounding, top) -> tuple[float, float]:
        """The shares of the question's salient terms that the answer's document, and its sentence with
        the one before, never mention (the corpus does: grounding passed)."""
        if not grounding.terms:
            return 0.0, 0.0
        sent = top.sentence
        prev = self.index.sentences[sent.row - 1] if sent.row >= 1 else None
        text = sent.text + (" " + prev.text if prev is not None and prev.doc_id == sent.doc_id else "")
        return (unsupported(grounding.terms, self._doc_stems(top.doc_id), self.lexicon, self.aliases),
                unsupported(grounding.terms, frozenset(bm25.tokenize(text)), self.lexicon, self.aliases))

    def _doc_stems(self, doc_id: str) -> frozenset:
        # a document's stems, made once: a few ms for a long one, then a set lookup per term
        got = self._stems.get(doc_id)
        if got is None:
            if len(self._stems) >= DOC_STEMS_KEPT:
                self._stems.clear()
            got = self._stems[doc_id] = frozenset(bm25.tokenize(self.index.documents[doc_id].text))
        return got

    def _closest(self, hits: list[Hit]) -> tuple[Citation, ...]:
        """The best sentence of the top passages, as 'closest material' when the answer is declined."""
        out: list[Citation] = []
        for h in hits[:CLOSEST_SOURCES]:
            if h.sentences:
                s = h.sentences[0]
                out.append(make_citation(len(out) + 1, self.index, s.sentence, s.score))
        return tuple(out)
