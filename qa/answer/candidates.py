"""Candidate answer spans: typed entities of the evidence sentences (the rules) and the span reader's spans."""
from __future__ import annotations

import dataclasses
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..index import bm25
from ..ingest.chunking import without_footnote
from .evidence import Evidence, Window, option_stems, question_overlap, stem, word_tokens
from .question import LONG_TYPES, QuestionAnalysis, head_type
from ..settings import SpanSettings
from .spans import enumeration_start, list_run, trim_span, whole_entity, whole_hyphenated, whole_name, whole_words
from ..types import ScoredSentence, Sentence

REPEAT_SHARE = 0.99  # a span whose content words repeat the question this much only repeats it
PROX_DECAY_WORDS = 3.0  # closeness halves when a span sits this many words further from the question's terms
HEAD_LOOKAHEAD = 3  # words after a span in which the question's head noun counts ("nine Pakistanis")
SPEC_IDF_CAP = 5.0  # IDF at which a word counts as fully specific
SPEC_NO_CONTENT = 0.6  # specificity of a span of stop words or numbers only
READER_LOGIT_SCALE = 10.0  # reader logits are divided by this before weighting (they run to about 20)
_REASON_CUES = re.compile(
    r"\b(because|due to|owing to|as a result of|in order to|so as to|so that|since|given that|by asserting that|"
    r"asserting that|rooted in|motivated by|driven by|for the sake of|aimed at|to counter|to avoid|to prevent|"
    r"in an attempt to|seeking|as part of)\b", re.I)
_HYPHENATED_NAME = re.compile(r"\b[A-Z]\w*(?:[-‐‑]\w+)+")
_LIST_JOINER = re.compile(r"\s*(,|and|or|, and|, or|;)\s*")


@dataclass
class Candidate:
    """A possible answer: a span of one evidence sentence (document offsets), its label, and its score.
    `key` is set when candidates are grouped (qa.answer.grouping); `features` feed the calibration."""
    text: str
    start: int
    end: int
    label: str
    sentence: Sentence
    sentence_score: float
    hit_rank: int
    score: float
    key: str = ""
    features: dict = field(default_factory=dict)

    @property
    def doc_id(self) -> str:
        return self.sentence.doc_id


def split_names(text: str) -> str:
    """`text` with the hyphens of its hyphenated names ("Lashkar-e-Taiba", not "anti-Pakistan") made spaces,
    so that each of a name's words is a word of its own (the offsets stay)."""
    return _HYPHENATED_NAME.sub(lambda m: re.sub(r"[-‐‑]", " ", m.group()), text)


class CandidateFinder:
    """Makes and scores candidate spans over one index. Pure: no model calls (the reader's spans come in)."""

    def __init__(self, index, spans: SpanSettings):
        self.index = index
        self.settings = spans

    def _text(self, doc_id: str) -> str:
        return self.index.documents[doc_id].text

    # ------------------------------------------------------------------ the rules: typed entity spans
    def entity_candidates(self, qa: QuestionAnalysis, evidence: Sequence[Evidence]) -> list[Candidate]:
        """Typed spans from the index-time entities of each evidence sentence: scored by the sentence's
        relevance, the span's type fit, its closeness to the question's terms, specificity, the head
        noun, and a penalty for repeating the question. Descriptions and reasons get a clause or the
        sentence; lists the longest run of same-type entities."""
        st = self.settings
        head_stem = stem(qa.head) if qa.head else ""
        opt_stems = option_stems(qa, st)
        out: list[Candidate] = []
        for ev in evidence:
            sent, ss, rank, base, feats, toks, q_stems = ev.sentence, ev.scored, ev.rank, ev.base, ev.feats, ev.toks, ev.q_stems
            if qa.answer_type in LONG_TYPES:
                out.append(self._long_candidate(qa, sent, ss, rank, base, feats))
                continue
            if qa.answer_type == "list":
                out.append(self._list_candidate(qa, sent, ss, rank, base, feats))
                continue
            q_positions = [i for i, (_, _, t) in enumerate(toks) if t in q_stems]
            labels = st.type_fit[qa.answer_type]
            starts = [a for a, _, _ in toks]
            doc_text = self._text(sent.doc_id)
            for (s, e, label) in sent.ents:
                tf = labels.get(label, 0.0)
                if tf <= 0:
                    continue
                if st.whole_names:
                    s, e = whole_hyphenated(doc_text, s, e)
                span_text = doc_text[s:e]
                # the words inside the span: a contiguous run of the sentence's (sorted) words
                i0 = i1 = bisect_left(starts, s)
                while i1 < len(toks) and toks[i1][1] <= e:
                    i1 += 1
                idx = range(i0, i1)
                words = [(doc_text[a:b], t) for a, b, t in toks[i0:i1]]
                content = [t for _, t in words if t]
                overlap, named = question_overlap(words, q_stems - opt_stems, 0.0)
                if content and overlap >= REPEAT_SHARE:
                    continue  # only repeats the question ("Who led Wilayat Khorasan?" -> "Wilayat Khorasan")
                if len(span_text.split()) > st.max_answer_words:
                    continue
                if idx and q_positions:
                    d = min(min(abs(i - j) for j in q_positions) for i in idx)
                    prox = 1.0 / (1.0 + max(0, d - 1) / PROX_DECAY_WORDS)
                else:
                    prox = 0.0
                head = 0.0
                if head_stem and idx:
                    after = [t for _, _, t in toks[idx[-1] + 1: idx[-1] + 1 + HEAD_LOOKAHEAD]]
                    if head_stem in after or head_stem in [t for _, t in words]:
                        head = 1.0
                spec = (sum(min(bm25.idf(self.index, t), SPEC_IDF_CAP) for t in content)
                        / (SPEC_IDF_CAP * len(content))) if content else SPEC_NO_CONTENT
                score = (base + st.w_type * tf + st.w_prox * prox - st.w_overlap * (overlap - named)
                         + st.w_head * head + st.w_spec * spec)
                out.append(Candidate(span_text, s, e, label, sent, ss.score, rank, score,
                                     features={**feats, "type": tf, "prox": prox, "overlap": overlap, "head": head, "spec": spec}))
        return out

    def _long_candidate(self, qa, sent: Sentence, ss: ScoredSentence, rank: int, base: float, feats) -> Candidate:
        """Reasons: the clause from a cue ('because', 'due to', ...) to the end; else the sentence."""
        s, e = sent.start, sent.end
        bonus = 0.0
        if qa.answer_type == "reason":
            m = _REASON_CUES.search(sent.text)
            if m:
                bonus = self.settings.w_reason_cue
                s = sent.start + m.start()
        text = self._text(sent.doc_id)
        s, e = trim_span(text, s, without_footnote(text, s, e))
        return Candidate(text[s:e], s, e, "CLAUSE" if s != sent.start else "SENT", sent, ss.score, rank,
                         base + self.settings.w_long + bonus, features={**feats, "cue": bonus > 0})

    def _list_candidate(self, qa, sent: Sentence, ss: ScoredSentence, rank: int, base: float, feats) -> Candidate:
        """Lists: the longest run of same-type entities joined by commas/'and' inside one sentence."""
        st = self.settings
        want = head_type(qa.head or "") or (head_type((qa.head or "")[:-1]) if qa.head else None)
        labels = st.type_fit.get(want or "description", st.type_fit["description"])
        text = self._text(sent.doc_id)
        ents = [(s, e, lab) for s, e, lab in sent.ents if labels.get(lab, 0) >= st.list_min_type and lab != "NP"]
        best: Optional[tuple[int, int, int]] = None
        i = 0
        while i < len(ents):
            j = i
            while j + 1 < len(ents) and _LIST_JOINER.fullmatch(text[ents[j][1]:ents[j + 1][0]]):
                j += 1
            if j > i and (best is None or j - i > best[2]):
                best = (ents[i][0], ents[j][1], j - i)
            i = j + 1
        if best is None:
            s, e = trim_span(text, sent.start, sent.end)
            return Candidate(text[s:e], s, e, "SENT", sent, ss.score, rank, base + st.w_list_sentence, features=feats)
        s, e, n = best
        return Candidate(text[s:e], s, e, "LIST", sent, ss.score, rank, base + st.w_list + st.w_list_item * n,
                         features=feats)

    # ------------------------------------------------------------------ the neural reader's spans
    def reader_candidates(self, qa: QuestionAnalysis, evidence: Sequence[Evidence], windows: Sequence[Window],
                          guesses: Sequence) -> list[Candidate]:
        """Candidates from the reader's spans (`SpanGuess`es over `windows`): each is scored by the
        evidence score of the sentence it sits in plus the reader's own logit, so the reader chooses
        the words and retrieval still decides between sentences. A span is widened to whole words and
        never crosses a sentence; a yes/no question gets the whole sentence, an enumeration's
        announcement the sentence that opens it, a list question the run its span starts."""
        st = self.settings
        by_row = {ev.sentence.row: ev for ev in evidence}
        sents = self.index.sentences
        out: list[Candidate] = []
        seen: set[tuple[str, int, int]] = set()
        opt_stems = option_stems(qa, st)
        for g in sorted(guesses, key=lambda g: -g.score):
            w = windows[g.window]
            doc_id = w.doc_id
            text = self._text(doc_id)
            s, e = whole_words(text, w.start + g.start, w.start + g.end)
            s, e = trim_span(text, s, e)
            sent = next((sents[r] for r in w.rows if sents[r].start <= s and e <= sents[r].end), None)
            if sent is None:
                continue  # a span across sentences: no single sentence can be its quote
            s, e = whole_entity(qa.answer_type, text, s, e, sent.ents)
            if st.whole_names and qa.answer_type != "yes/no":  # "Taiba" of "Lashkar-e-Taiba" names no one
                s, e = whole_name(text, *whole_hyphenated(text, s, e), sent.ents)
            scored = sent  # the sentence whose evidence score the candidate takes
            opener = (enumeration_start(sents, sent, text[s:e])
                      if st.enumerations and qa.answer_type in (*LONG_TYPES, "list") else None)
            if opener is not None:  # the answer is what the span announces; its evidence score stays
                s, e = trim_span(text, opener.start, without_footnote(text, opener.start, opener.end))
                sent = opener
            elif qa.answer_type == "yes/no":
                s, e = trim_span(text, sent.start, without_footnote(text, sent.start, sent.end))
            elif st.list_runs and qa.wants_list:
                s, e = list_run(text, s, e, without_footnote(text, sent.start, sent.end), sent.ents)
            if e <= s or (doc_id, s, e) in seen:
                continue
            seen.add((doc_id, s, e))
            ev = by_row.get(scored.row)
            if ev is not None:
                base = ev.base
            else:  # a neighbour of the evidence sentence that is not evidence itself
                ev = by_row[w.center]
                base = ev.base - st.w_neighbour
            span = text[s:e]
            # a hyphenated name's words each count: "Lashkar-e-Taiba" does not repeat "Lashkar-e-Jhangvi"
            words = [(span[a:b], t) for a, b, t in word_tokens(split_names(span) if st.whole_names else span)]
            overlap, named = question_overlap(words, ev.q_stems - opt_stems, 1.0)
            if overlap >= REPEAT_SHARE:
                continue
            label = next((lab for a, b, lab in sent.ents if a == s and b == e), "SPAN")
            score = base + st.w_read * g.score / READER_LOGIT_SCALE - st.w_overlap * (overlap - named)
            out.append(Candidate(span, s, e, label, sent, ev.scored.score, ev.rank, score,
                                 features={**ev.feats, "read": g.score, "read_null": g.score - g.null_score,
                                           "prox": 1.0, "overlap": overlap}))
        return out

    # ------------------------------------------------------------------ alternative questions
    def choose_option(self, qa: QuestionAnalysis, candidates: list[Candidate]) -> list[Candidate]:
        """For an alternative question, each candidate that names exactly one of its options, narrowed to
        that option's words in the document (the span's score kept); the candidates unchanged when none
        does (the sources may answer in other words)."""
        stems = option_stems(qa, self.settings)
        if not stems:
            return candidates
        out: list[Candidate] = []
        for c in candidates:
            text = self._text(c.doc_id)
            found = [(a, b, t) for a, b, t in word_tokens(text[c.start:c.end], c.start) if t in stems]
            if not found or len({t for _, _, t in found}) > 1:
                continue
            a, b, _ = found[0]
            out.append(dataclasses.replace(c, text=text[a:b], start=a, end=b, key="",
                                           label=next((lab for x, y, lab in c.sentence.ents if (x, y) == (a, b)), "SPAN")))
        return out or candidates
