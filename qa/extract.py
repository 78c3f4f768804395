"""Choosing the answer span: typed candidates from evidence sentences, scored, grouped across sources."""
from __future__ import annotations

import dataclasses
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional, Sequence

from . import lexical
from .aliases import AliasTable
from .chunking import without_footnote
from .question import LONG_TYPES, TYPE_LABELS, QuestionAnalysis
from .types import Hit, ScoredSentence, Sentence

_WORD = re.compile(r"\w+(?:[’'-]\w+)*", re.UNICODE)
SUPPORT_RATIO = 0.6  # a document's evidence for an answer counts as support above this share of the best
_WH = {"who", "whom", "whose", "what", "when", "where", "which", "why", "how"}
_NUM_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}
_NUMBERISH = (r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|"
               r"forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|dozens?|"
               r"several|few|half|a quarter|once|twice)\b")
# what a span must contain to be a number, money, percentage or date at all (the reader does not type its spans)
_TYPE_GATES = {
    "number": re.compile(_NUMBERISH, re.I),
    "money": re.compile(_NUMBERISH, re.I),
    "percent": re.compile(_NUMBERISH, re.I),
    "date": re.compile(r"\d|\b(?:january|february|march|april|may|june|july|august|september|october|november|"
                       r"december|spring|summer|autumn|fall|winter|century|decade|year|month|week|today|"
                       r"yesterday|ago|early|late)\b", re.I),
}
_REASON_CUES = re.compile(
    r"\b(because|due to|owing to|as a result of|in order to|so as to|so that|since|given that|by asserting that|"
    r"asserting that|rooted in|motivated by|driven by|for the sake of|aimed at|to counter|to avoid|to prevent|"
    r"in an attempt to|seeking|as part of)\b", re.I)


@dataclass(frozen=True)
class ExtractSettings:
    """Weights of the candidate score, fitted by a random search on the gold set's dev split together
    with a 600-question slice of SQuAD v1.1 dev (the sentence's relevance dominates: find the right
    sentence, then the right span in it). Never tuned on the gold test split."""

    w_type: float = 1.05  # fit of the span's entity label to the expected answer type
    w_sent: float = 1.9  # cosine of the sentence to the question
    w_lex: float = 2.9  # IDF-weighted share of the question's terms found in the sentence
    w_prox: float = 0.5  # closeness of the span to the question's terms inside the sentence
    w_overlap: float = 0.62  # penalty for repeating the question's own words
    # ... and for a question word that is part of a longer proper name in the span ("Pakistan" in
    # "Tehreek-e-Taliban Pakistan" for "... network operating in Pakistan?"): a name is not a repetition
    w_overlap_name: float = 0.0
    w_head: float = 0.23  # the span names or counts the question's head noun ("nine Pakistanis")
    w_rank: float = 0.19  # rank of the passage
    w_agree: float = 0.3  # each further document giving the same answer
    w_spec: float = 0.09  # rare words make better answers than the corpus's everyday names
    sentences_per_hit: int = 3
    max_answer_words: int = 12
    # the sentences before an evidence sentence, in its passage, whose question terms count for w_context
    # of their weight ("... Karachi. Forty-five people died."). Two or three: dev EM +1 question, SQuAD
    # v1.1 F1 +0.4 / +0.6, but the SQuAD 2.0 check half 58.0 -> 57.4 at its best threshold (README)
    context_sentences: int = 1
    w_context: float = 0.5
    # the neural reader (used when one is loaded), chosen by scripts/fit_answering.py on gold dev "contains"
    # + SQuAD v1.1 F1 on held-out articles: how many evidence windows it reads, the weight of its span
    # logit, of the entity-type fit of its span, the cost of a span in a neighbouring sentence, the shape
    # of description/reason answers, and corroboration by entity evidence the reader did not read
    # (tied with 0 on dev, within 0.7 F1 on SQuAD; it is what keeps "Who led Wilayat Khorasan?" on the
    # name three sources give rather than the one "cell led by Saad Aziz")
    reader_windows: int = 4
    w_read: float = 2.0
    w_type_read: float = 0.0
    w_neighbour: float = 0.3
    # description/reason questions: the reader's "span", the "clause" around it, or its whole "sentence"
    reader_long: str = "span"
    reader_long_types: tuple[str, ...] = LONG_TYPES  # ... for these answer types
    # answer types whose reader span grows to the entity or noun chunk around it: none. For descriptions
    # it won one dev question and cost 1.2 SQuAD F1 (README, experiments)
    grow_types: tuple[str, ...] = ()
    w_corr: float = 1.0  # each further document whose entities state the reader's answer
    # ... counting (and citing) only entity evidence whose label fits the question this well: a date
    # question's "2" is not stated by "the two countries" (0.5 chosen from 0 / 0.5 / 0.8: dev contains
    # 0.635 -> 0.651, SQuAD F1 68.5 -> 68.4)
    corr_min_type: float = 0.5
    w_null: float = 0.0  # the reader's margin of the span over "no answer in this window" (no gain measured)
    w_gate: float = 0.0  # cost of a span with no digit, number word or date word for such a question (ditto)
    # an alternative question ("... in Afghanistan or Pakistan?") is answered by one of its options
    options: bool = True
    # a span that only announces an enumeration ("for two key reasons", "three main factors") answers
    # with the sentence that opens it ("First, ...") when that sentence follows
    enumerations: bool = True
    # a question asking for several things ("What measures ...", "In which provinces ...") gets the whole
    # coordinated run its reader span starts ("X with Afghanistan, the elimination of Y, ..., and Z")
    list_runs: bool = True


@dataclass
class Candidate:
    text: str
    start: int  # document offsets of the span
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


@dataclass(frozen=True)
class Evidence:
    """An evidence sentence as the extractor sees it: relevance score, features and stemmed words."""
    sentence: Sentence
    scored: ScoredSentence
    rank: int
    base: float
    feats: dict
    toks: list
    q_stems: set


@dataclass(frozen=True)
class Window:
    """A stretch of one document the reader reads: a few whole sentences (their rows) and the text."""
    doc_id: str
    start: int
    end: int
    rows: tuple[int, ...]
    text: str
    center: int  # the row of the evidence sentence the window was opened around


@dataclass
class Group:
    key: str
    members: list[Candidate]
    score: float

    @property
    def best(self) -> Candidate:
        return max(self.members, key=lambda c: c.score)

    def docs(self) -> list[str]:
        return list(dict.fromkeys(c.doc_id for c in sorted(self.members, key=lambda c: -c.score)))

    def best_per_doc(self) -> dict[str, Candidate]:
        """Each document's best candidate for this answer, best document first."""
        out: dict[str, Candidate] = {}
        for c in sorted(self.members, key=lambda c: -c.score):
            out.setdefault(c.doc_id, c)
        return out

    def supporters(self) -> list[Candidate]:
        """The best document's candidate, then every other document whose own evidence for this
        answer is credible (within SUPPORT_RATIO of the best): the sources that say it. Corroboration
        scoring, citations and "N of M sources agree" all count these."""
        ranked = list(self.best_per_doc().values())
        top = ranked[0].score
        return ranked[:1] + [c for c in ranked[1:] if top > 0 and c.score >= SUPPORT_RATIO * top]


def typed_supporters(group: Group, min_type: float) -> list[Candidate]:
    """An entity group's supporters whose label fits the question's type at least `min_type` (see
    ExtractSettings.corr_min_type): the ones that may corroborate, and be cited for, another pass's answer."""
    return [c for c in group.supporters() if c.features.get("type", 1.0) >= min_type]


# irregular past forms that questions use for words the texts use in another form ("who led" / "leader")
_IRREGULAR = {"led": "lead", "won": "win", "began": "begin", "fought": "fight", "took": "take", "gave": "give",
              "held": "hold", "left": "leav", "paid": "pay", "sent": "send", "told": "tell", "made": "make",
              "brought": "bring", "built": "build", "caught": "catch", "chose": "choos", "drove": "drive",
              "fled": "flee", "grew": "grow", "hid": "hide", "kept": "keep", "lost": "lose", "met": "meet",
              "ran": "run", "rose": "rise", "saw": "see", "sought": "seek", "sold": "sell", "spoke": "speak",
              "stood": "stand", "struck": "strike", "taught": "teach", "thought": "think", "went": "go",
              "wrote": "write", "killed": "kill", "died": "die", "dead": "die", "death": "die"}


@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    toks = lexical.tokenize(word)
    s = toks[0] if toks else ""
    return _IRREGULAR.get(s, s)


def _related(q_stems: set[str], stem: str) -> Optional[str]:
    """The question stem a sentence stem matches: exactly, or as a shared root of 4+ letters
    ("lead" ~ "leader", "leadership"), which stemming alone does not join."""
    if stem in q_stems:
        return stem
    if len(stem) >= 4:
        # the closest in length when several match ("leader": "leade" before "lead" and "leadership"),
        # then the first alphabetically: never the set's iteration order, which each run's hash seed changes
        found = [q for q in q_stems
                 if len(q) >= 4 and (stem.startswith(q) or q.startswith(stem)) and abs(len(stem) - len(q)) <= 6]
        if found:
            return min(found, key=lambda q: (abs(len(stem) - len(q)), q))
    return None


def _tokens(text: str, offset: int = 0) -> tuple[tuple[int, int, str], ...]:
    """(start, end, stem) of each word; stems are '' for stop words."""
    return tuple((m.start() + offset, m.end() + offset, _stem(m.group())) for m in _WORD.finditer(text))


# The index's sentences come back question after question as evidence, and tokenizing them was a third
# of the rules' time; spans (one-off texts) use `_tokens` uncached. A question touches a few dozen
# sentences; 8,192 entries stay bounded (~25 MB) in a long-running app over a large corpus.
_sentence_tokens = lru_cache(maxsize=8192)(_tokens)


def question_overlap(words: Sequence[tuple[str, str]], q_stems: set[str], empty: float) -> tuple[float, float]:
    """For a span's (word, stem) pairs (stems '' for stop words): (the share of its content words that
    repeat the question, the share that do so only as part of a longer proper name). A capitalised question
    word in a run of capitalised words that holds a word the question does not have ("Pakistan" in
    "Tehreek-e-Taliban Pakistan") names something else."""
    content = [i for i, (_, t) in enumerate(words) if t]
    if not content:
        return empty, 0.0
    rep = [i for i in content if words[i][1] in q_stems]
    if not rep:
        return 0.0, 0.0
    runs: list[list[int]] = []
    for i, (w, _) in enumerate(words):
        if w[0].isupper():
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
    in_name = set()
    for run in runs:
        if len(run) > 1 and any(words[i][1] and words[i][1] not in q_stems for i in run):
            in_name.update(run)
    named = sum(1 for i in rep if i in in_name)
    return len(rep) / len(content), named / len(content)


def option_stems(qa: QuestionAnalysis, settings: "ExtractSettings") -> set[str]:
    """The stems of an alternative question's options: naming one is answering, not repeating."""
    return {_stem(o) for o in qa.options} if settings.options else set()


def number_value(text: str) -> Optional[float]:
    """The number a span states ('forty-two' -> 42, '11' -> 11, '2,000–3,000' -> 2000), or None."""
    t = text.lower().replace(",", "")
    m = re.search(r"\d+(?:\.\d+)?", t)
    if m:
        return float(m.group())
    total, seen = 0, False
    for w in re.split(r"[\s-]+", t):
        if w in _NUM_WORDS:
            v = _NUM_WORDS[w]
            total = total * v if v == 100 and total else total + v
            seen = True
    return float(total) if seen else None


_NAME_GLOSS = re.compile(r"^(?:the\s+)?(.+?)\s*\(([^()]+)\)?$", re.I)
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.I)


def normalise(text: str, aliases: Optional[AliasTable] = None) -> str:
    """Grouping key: case, punctuation, articles, spelled-out numbers and alias spellings folded."""
    t = text.strip()
    if aliases is not None:
        # "Tehreek-e-Taliban Pakistan (TTP)": a name followed by another name of it is that name once
        m = _NAME_GLOSS.match(t) if "(" in t else None
        if m and aliases.canonical(m.group(1)).lower() == aliases.canonical(m.group(2)).lower():
            t = m.group(1)
        t = aliases.canonical(_ARTICLE.sub("", t, count=1))
    v = number_value(t)
    words = [w for w in re.findall(r"\w+", t.lower()) if w not in ("the", "a", "an")]
    if v is not None and all(w in _NUM_WORDS or w.isdigit() for w in words):
        return f"#{v:g}"
    if aliases is not None:
        # a canonical name may be several words ("TTP" -> "Tehrik-e-Taliban Pakistan"): split it like any text
        return " ".join(re.findall(r"\w+", " ".join(aliases.canonical(w) for w in words).lower()))
    return " ".join(words)


class Extractor:
    """Scores candidate spans for a question over retrieved hits. Pure: no model calls."""

    def __init__(self, index, aliases: AliasTable, settings: ExtractSettings = ExtractSettings()):
        self.index = index
        self.aliases = aliases
        self.settings = settings
        self._keys: dict[str, str] = {}

    def key(self, text: str) -> str:
        """`normalise(text, aliases)`, memoised: candidate texts (a corpus's entities) recur across
        questions. Bounded; a plain dict is safe to share between threads here (a lost entry is only
        recomputed)."""
        k = self._keys.get(text)
        if k is None:
            if len(self._keys) >= 65536:
                self._keys = {}
            k = self._keys[text] = normalise(text, self.aliases)
        return k

    # ------------------------------------------------------------------ question terms
    def question_terms(self, question: str) -> dict[str, float]:
        """Stems of the question's own words with their IDF weights (question words left out)."""
        terms: dict[str, float] = {}
        for s in lexical.tokenize(question):
            s = _IRREGULAR.get(s, s)
            if s not in _WH:
                terms[s] = lexical.idf(self.index, s)
        return terms

    def _alias_stems(self, question: str) -> list[tuple[int, set[str]]]:
        """For each alias group the question names, the stems of the name it used: a sentence that
        uses any other name of the group ("Khorasan Province" for "Wilayat Khorasan") has them too."""
        return [(gi, {_IRREGULAR.get(t, t) for t in lexical.tokenize(name)}) for gi, name in self.aliases.mentions(question)]

    # ------------------------------------------------------------------ evidence
    def evidence(self, qa: QuestionAnalysis, hits: Sequence[Hit]) -> list["Evidence"]:
        """Each distinct evidence sentence of the hits (the best few per hit), with its relevance score
        `base` and the features the calibration reads. Candidates of either kind start from these."""
        st = self.settings
        terms = self.question_terms(qa.text)
        total_w = sum(terms.values()) or 1.0
        q_stems = set(terms)
        memo: dict[str, Optional[str]] = {}

        def related(stem: str) -> Optional[str]:
            if stem not in memo:
                memo[stem] = _related(q_stems, stem)
            return memo[stem]

        alias_stems = self._alias_stems(qa.text)
        out: list[Evidence] = []
        seen_sent: set[str] = set()
        for rank, hit in enumerate(hits):
            for ss in hit.sentences[:st.sentences_per_hit]:
                sent = ss.sentence
                if sent.sentence_id in seen_sent:
                    continue
                seen_sent.add(sent.sentence_id)
                toks = [(a, b, related(t) or t) for a, b, t in _sentence_tokens(sent.text, sent.start)]
                present = {t for _, _, t in toks if t in q_stems}
                # the sentence before often names what this one talks about ("... Karachi. Forty-five
                # people died."), so its terms count for w_context (half)
                ctx: set = set()
                for back in range(1, st.context_sentences + 1):
                    prev = self.index.sentences[sent.row - back] if sent.row >= back else None
                    if prev is None or prev.passage_id != sent.passage_id:
                        break
                    ctx |= {related(t) for _, _, t in _sentence_tokens(prev.text)} - {None}
                ctx -= present
                for gi, stems in alias_stems:
                    if not stems <= present and self.aliases.names_group(sent.text, gi):
                        present = present | (stems & q_stems)
                lex_cov = (sum(terms[t] for t in present) + st.w_context * sum(terms[t] for t in ctx)) / total_w
                present = present | ctx
                # the rarest question word the sentence lacks: questions the corpus cannot answer tend to
                # hinge on a word it never uses ("wounded", "budget", "succeeded")
                missing = max((min(terms[t], 6.0) / 6.0 for t in q_stems - present), default=0.0)
                base = st.w_sent * ss.score + st.w_lex * lex_cov + st.w_rank / (1 + rank)
                feats = {"sim": ss.score, "lex": lex_cov, "rank": rank, "missing": missing, "hit": hit.score}
                out.append(Evidence(sent, ss, rank, base, feats, toks, q_stems))
        return out

    # ------------------------------------------------------------------ candidates
    def candidates(self, qa: QuestionAnalysis, hits: Sequence[Hit],
                   evidence: Optional[list["Evidence"]] = None) -> list[Candidate]:
        """Typed spans from the index-time entities of each evidence sentence (the rule-based reader)."""
        st = self.settings
        head_stem = _stem(qa.head) if qa.head else ""
        opt_stems = option_stems(qa, st)
        out: list[Candidate] = []
        for ev in (self.evidence(qa, hits) if evidence is None else evidence):
            sent, ss, rank, base, feats, toks, q_stems = ev.sentence, ev.scored, ev.rank, ev.base, ev.feats, ev.toks, ev.q_stems
            if qa.answer_type in LONG_TYPES:
                out.append(self._long_candidate(qa, sent, ss, rank, base, feats))
                continue
            if qa.answer_type == "list":
                c = self._list_candidate(qa, sent, ss, rank, base, feats)
                if c:
                    out.append(c)
                continue
            q_positions = [i for i, (_, _, t) in enumerate(toks) if t in q_stems]
            labels = TYPE_LABELS[qa.answer_type]
            starts = [a for a, _, _ in toks]
            doc_text = self.index.documents[sent.doc_id].text
            for (s, e, label) in sent.ents:
                tf = labels.get(label, 0.0)
                if tf <= 0:
                    continue
                span_text = doc_text[s:e]
                # the words inside the span: a contiguous run of the sentence's (sorted) words
                i0 = i1 = bisect_left(starts, s)
                while i1 < len(toks) and toks[i1][1] <= e:
                    i1 += 1
                idx = range(i0, i1)
                words = [(doc_text[a:b], t) for a, b, t in toks[i0:i1]]
                content = [t for _, t in words if t]
                overlap, named = question_overlap(words, q_stems - opt_stems, 0.0)
                if content and overlap >= 0.99:
                    continue  # only repeats the question ("Who led Wilayat Khorasan?" -> "Wilayat Khorasan")
                if len(span_text.split()) > st.max_answer_words:
                    continue
                if idx and q_positions:
                    d = min(min(abs(i - j) for j in q_positions) for i in idx)
                    prox = 1.0 / (1.0 + max(0, d - 1) / 3.0)
                else:
                    prox = 0.0
                head = 0.0
                if head_stem and idx:
                    after = [t for _, _, t in toks[idx[-1] + 1: idx[-1] + 4]]
                    inside = [t for _, t in words]
                    if head_stem in after or head_stem in inside:
                        head = 1.0
                spec = (sum(min(lexical.idf(self.index, t), 5.0) for t in content) / (5.0 * len(content))) if content else 0.6
                score = (base + st.w_type * tf + st.w_prox * prox - st.w_overlap * (overlap - named)
                         - st.w_overlap_name * named + st.w_head * head + st.w_spec * spec)
                out.append(Candidate(span_text, s, e, label, sent, ss.score, rank, score,
                                     features={**feats, "type": tf, "prox": prox, "overlap": overlap, "head": head, "spec": spec}))
        for c in out:
            c.key = self.key(c.text)
        return out

    # ------------------------------------------------------------------ the neural reader's spans
    def reader_windows(self, evidence: Sequence["Evidence"], n: int) -> list["Window"]:
        """The text the reader reads: around each of the `n` most relevant evidence sentences, that
        sentence with its neighbours in the same passage."""
        out: list[Window] = []
        sents = self.index.sentences
        for ev in sorted(evidence, key=lambda ev: -ev.base)[:n]:
            s = ev.sentence
            rows = [r for r in (s.row - 1, s.row, s.row + 1)
                    if 0 <= r < len(sents) and sents[r].passage_id == s.passage_id]
            lo, hi = sents[rows[0]].start, sents[rows[-1]].end
            out.append(Window(s.doc_id, lo, hi, tuple(rows), self.index.documents[s.doc_id].text[lo:hi], s.row))
        return out

    def choose_option(self, qa: QuestionAnalysis, candidates: list[Candidate]) -> list[Candidate]:
        """For an alternative question, each candidate that names exactly one of its options, narrowed to
        that option's words in the document (the span's score kept); the candidates unchanged when none
        does (the sources may answer in other words)."""
        stems = option_stems(qa, self.settings)
        if not stems:
            return candidates
        out: list[Candidate] = []
        for c in candidates:
            text = self.index.documents[c.doc_id].text
            found = [(a, b, t) for a, b, t in _tokens(text[c.start:c.end], c.start) if t in stems]
            if not found or len({t for _, _, t in found}) > 1:
                continue
            a, b, _ = found[0]
            out.append(dataclasses.replace(c, text=text[a:b], start=a, end=b,
                                           label=next((lab for x, y, lab in c.sentence.ents if (x, y) == (a, b)), "SPAN"),
                                           key=self.key(text[a:b])))
        return out or candidates

    def reader_candidates(self, qa: QuestionAnalysis, evidence: Sequence["Evidence"],
                          windows: Sequence["Window"], guesses: Sequence) -> list[Candidate]:
        """Candidates from the reader's spans (`SpanGuess`es over `windows`): each is scored by the
        evidence score of the sentence it sits in plus the reader's own logit, so the reader chooses
        the words and retrieval still decides between sentences."""
        st = self.settings
        by_row = {ev.sentence.row: ev for ev in evidence}
        sents = self.index.sentences
        out: list[Candidate] = []
        seen: set[tuple[str, int, int]] = set()
        long = qa.answer_type in st.reader_long_types
        whole = qa.answer_type == "yes/no" or (long and st.reader_long == "sentence")
        clause = long and st.reader_long == "clause"
        opt_stems = option_stems(qa, st)
        for g in sorted(guesses, key=lambda g: -g.score):
            w = windows[g.window]
            doc_id = w.doc_id
            text = self.index.documents[doc_id].text
            s, e = _whole_words(text, w.start + g.start, w.start + g.end)
            s, e = _trim_span(text, s, e)
            sent = next((sents[r] for r in w.rows if sents[r].start <= s and e <= sents[r].end), None)
            if sent is None:
                continue  # a span across sentences: no single sentence can be its quote
            s, e = _whole_entity(qa.answer_type, text, s, e, sent.ents)
            if qa.answer_type in st.grow_types:
                s, e = _enclosing_span(s, e, sent.ents)
            scored = sent  # the sentence whose evidence score the candidate takes
            opener = (_enumeration_start(sents, sent, text[s:e])
                      if st.enumerations and qa.answer_type in (*LONG_TYPES, "list") else None)
            if opener is not None:  # the answer is what the span announces; its evidence score stays
                s, e = _trim_span(text, opener.start, without_footnote(text, opener.start, opener.end))
                sent = opener
            elif whole:
                s, e = _trim_span(text, sent.start, without_footnote(text, sent.start, sent.end))
            elif st.list_runs and qa.wants_list:
                s, e = _list_run(text, s, e, without_footnote(text, sent.start, sent.end), sent.ents)
            elif clause:
                s, e = _trim_span(text, *_clause(text, sent.start, sent.end, s, e))
            if e <= s or (doc_id, s, e) in seen:
                continue
            seen.add((doc_id, s, e))
            ev = by_row.get(scored.row)
            if ev is not None:
                base = ev.base
            else:  # a neighbour of the evidence sentence that is not evidence itself
                ev = by_row[w.center]
                base = ev.base - st.w_neighbour
            feats, sim = ev.feats, ev.scored.score
            text = text[s:e]
            words = [(text[a:b], t) for a, b, t in _tokens(text)]
            overlap, named = question_overlap(words, ev.q_stems - opt_stems, 1.0)
            if overlap >= 0.99:
                continue
            label = next((lab for a, b, lab in sent.ents if a == s and b == e), "SPAN")
            tf = TYPE_LABELS.get(qa.answer_type, {}).get(label, 0.0) if qa.answer_type not in LONG_TYPES else 0.0
            read = g.score - g.null_score
            gate = _TYPE_GATES.get(qa.answer_type)
            untyped = gate is not None and not gate.search(text)
            score = (base + st.w_read * g.score / 10.0 + st.w_null * read / 10.0 + st.w_type_read * tf
                     - st.w_overlap * (overlap - named) - st.w_overlap_name * named - st.w_gate * untyped)
            out.append(Candidate(text, s, e, label, sent, sim, ev.rank, score,
                                 features={**feats, "type": tf, "read": g.score, "read_null": read,
                                           "prox": 1.0, "overlap": overlap}))
        for c in out:
            c.key = self.key(c.text)
        return out

    def _long_candidate(self, qa, sent: Sentence, ss: ScoredSentence, rank: int, base: float, feats) -> Candidate:
        """Reasons: the clause from a cue ('because', 'due to', ...) to the end; else the sentence."""
        s, e = sent.start, sent.end
        bonus = 0.0
        if qa.answer_type == "reason":
            m = _REASON_CUES.search(sent.text)
            if m:
                bonus = 0.3
                s = sent.start + m.start()
        text = self.index.documents[sent.doc_id].text
        s, e = _trim_span(text, s, without_footnote(text, s, e))
        return Candidate(text[s:e], s, e, "CLAUSE" if s != sent.start else "SENT", sent, ss.score, rank,
                         base + 0.5 + bonus, features={**feats, "cue": bonus > 0})

    def _list_candidate(self, qa, sent: Sentence, ss: ScoredSentence, rank: int, base: float, feats) -> Optional[Candidate]:
        """Lists: the run of same-type entities joined by commas/'and' inside one sentence."""
        from .question import _head_type

        want = _head_type(qa.head or "") or (_head_type((qa.head or "")[:-1]) if qa.head else None)
        labels = TYPE_LABELS.get(want or "description", TYPE_LABELS["description"])
        text = self.index.documents[sent.doc_id].text
        ents = [(s, e, l) for s, e, l in sent.ents if labels.get(l, 0) >= 0.8 and l != "NP"]
        best: Optional[tuple[int, int, int]] = None
        i = 0
        while i < len(ents):
            j = i
            while j + 1 < len(ents) and re.fullmatch(r"\s*(,|and|or|, and|, or|;)\s*", text[ents[j][1]:ents[j + 1][0]]):
                j += 1
            if j > i and (best is None or j - i > best[2]):
                best = (ents[i][0], ents[j][1], j - i)
            i = j + 1
        if best is None:
            s, e = _trim_span(text, sent.start, sent.end)
            return Candidate(text[s:e], s, e, "SENT", sent, ss.score, rank, base + 0.3, features=feats)
        s, e, n = best
        return Candidate(text[s:e], s, e, "LIST", sent, ss.score, rank, base + 0.8 + 0.1 * n, features=feats)

    # ------------------------------------------------------------------ grouping
    def group(self, cands: list[Candidate], votes: bool = True) -> list[Group]:
        """Same answer after normalisation, from any document, becomes one group; best first. With
        `votes` off a group scores as its best member: an alternative question names its options, so a
        source mentioning one is no vote for it."""
        groups: dict[str, list[Candidate]] = {}
        for c in cands:
            groups.setdefault(c.key, []).append(c)
        # a person named in full and by part ("Hafiz Khan" / "Hafez Saeed Khan") is one person
        keys = sorted(groups, key=lambda k: -len(k))
        for k in list(keys):
            if k not in groups or not all(c.label == "PERSON" for c in groups[k]):
                continue
            kw = set(k.split())
            for longer in keys:
                if longer != k and longer in groups and len(kw) >= 1 and kw < set(longer.split()) \
                        and all(c.label == "PERSON" for c in groups[longer]):
                    groups[longer].extend(groups.pop(k))
                    break
        out = []
        for k, members in groups.items():
            g = Group(k, members, 0.0)
            # corroboration: each further document whose own evidence for this answer is credible
            g.score = g.best.score + (self.settings.w_agree * (len(g.supporters()) - 1) if votes else 0.0)
            out.append(g)
        out.sort(key=lambda g: (-g.score, g.key))
        return out

    def corroborate(self, reader_groups: list[Group], entity_groups: list[Group]) -> list[Group]:
        """Reader groups re-ranked by agreement the reader did not read: each further document whose
        own entity evidence states the same answer (same normalised key) adds `w_corr`. The reader
        reads a few windows; the entity pass sees every retrieved sentence."""
        if not self.settings.w_corr:
            return reader_groups
        by_key = {g.key: g for g in entity_groups}
        for g in reader_groups:
            other = by_key.get(g.key)
            if other is not None:
                extra = {c.doc_id for c in typed_supporters(other, self.settings.corr_min_type)} - set(g.docs())
                g.score += self.settings.w_corr * len(extra)
        reader_groups.sort(key=lambda g: (-g.score, g.key))
        return reader_groups


_BARE_DAY = re.compile(r"\d{1,2}")
# "for two key reasons", "three main factors which ...": a count of a kind of thing, not the things
_ENUM_POINTER = re.compile(
    r"\b(?:two|three|four|five|six|seven|several|a few|a number of|a couple of|[2-9])\s+(?:[\w-]+\s+){0,2}?"
    r"(?:reasons|factors|ways|steps|points|goals|causes|elements|aspects|measures|areas|lessons|challenges|"
    r"options|things|trends|priorities|objectives|drivers|motives|explanations|issues|components|pillars|"
    r"stages|phases|problems|conditions|considerations|dimensions|features|strategies|concerns|risks)\b", re.I)
# ... and the sentence that opens the enumeration
_ENUM_OPENER = re.compile(r"\W*(?:first(?:ly)?\b|the first\b|one\s+(?:reason|factor|way|is)\b|to begin with\b|"
                          r"for one\b|(?:1|i)[.)]\s)", re.I)


def _enumeration_start(sents, sent: Sentence, span_text: str) -> Optional[Sentence]:
    """The sentence after `sent` in its document when `span_text` only announces an enumeration that
    that sentence opens ("... for two key reasons. First, TTP has strong ties ..."), else None."""
    if not _ENUM_POINTER.search(span_text) or sent.row + 1 >= len(sents):
        return None
    nxt = sents[sent.row + 1]
    return nxt if nxt.doc_id == sent.doc_id and _ENUM_OPENER.match(nxt.text) else None


def _whole_entity(answer_type: str, text: str, s: int, e: int, ents) -> tuple[int, int]:
    """A date question's span that is a bare day number inside a date ("2" of "December 2") grows to
    the whole date: the day alone answers nothing."""
    if answer_type == "date" and _BARE_DAY.fullmatch(text[s:e]):
        for a, b, lab in ents:
            if lab == "DATE" and a <= s and e <= b and (a, b) != (s, e):
                return a, b
    return s, e


def _enclosing_span(s: int, e: int, ents) -> tuple[int, int]:
    """The smallest index-time entity or noun chunk strictly around [s, e) ("women" -> "well-educated
    women"), else the span itself."""
    around = [(b - a, a, b) for a, b, _ in ents if a <= s and e <= b and (a, b) != (s, e)]
    return min(around)[1:] if around else (s, e)


_CLOSER = {"“": "”", "\"": "\"", "(": ")", "[": "]"}
_OPENER = {v: k for k, v in _CLOSER.items()}


def _trim_span(text: str, s: int, e: int) -> tuple[int, int]:
    """[s, e) without edge spaces and leading list punctuation, and without a quote mark or bracket at
    either edge whose partner is not inside the span: the reader's span of a title quoted as
    “To the Muslims ... bin Qasim,” starts at the opening mark, and the comma keeps the closing one out.
    (An apostrophe is left alone: at the end it is usually a plural possessive, "militants’".)"""
    while True:
        s0, e0 = s, e
        while s < e and (text[s].isspace() or text[s] in ",;:—–-"):
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e and text[s] in _CLOSER and _CLOSER[text[s]] not in text[s + 1:e]:
            s += 1
        if s < e and text[e - 1] in _OPENER and _OPENER[text[e - 1]] not in text[s:e - 1]:
            e -= 1
        if (s, e) == (s0, e0):
            return s, e


_CLAUSE_BREAK = re.compile(r"[,;:()—–]|\s-\s")


def _clause(text: str, lo: int, hi: int, s: int, e: int) -> tuple[int, int]:
    """The clause of the sentence text[lo:hi] around the span [s, e): out to the nearest comma, semicolon,
    colon, dash or bracket on each side (the span's own punctuation is kept)."""
    left = [m.end() for m in _CLAUSE_BREAK.finditer(text, lo, s)]
    right = next((m.start() for m in _CLAUSE_BREAK.finditer(text, e, hi)), hi)
    s2 = left[-1] if left else lo
    if right == hi and text[hi - 1:hi] in ".?!":
        right = hi - 1
    return s2, max(right, e)


_LIST_STOP = re.compile(r"[;:—–]|\s-\s")
_LIST_AND = re.compile(r"\s+(?:and|or)\s+", re.I)
_LIST_LAST = re.compile(r"\s*(?:and|or)\s", re.I)
# an item may open with a gerund ("prioritizing police training"), not with a preposition or pronoun in -ing
_ING = re.compile(r"\s*(?:and\s+|or\s+)?(?!(?:during|according|including|regarding|concerning|following|"
                  r"excluding|considering|notwithstanding|nothing|something|anything|everything)\b)[a-z]+ing\b")
_PRONOUNS = {"it", "they", "he", "she", "we", "you", "i", "them", "this", "these", "those", "that", "which", "who"}
MAX_ITEM_WORDS = 12  # a longer "item" is a clause, not a member of a list
MAX_LIST_WORDS = 40


def _list_run(text: str, s: int, e: int, hi: int, ents=()) -> tuple[int, int]:
    """The coordinated run of items that the span [s, e) starts, up to `hi` (its sentence's end), else the
    span itself. Items are told from clauses by the index-time noun chunks and entities `ents`
    (document offsets): comma-separated items that each open with one (or with an -ing word), up to and
    including the one that opens with "and"/"or" ("greater security cooperation with Afghanistan, the
    elimination of terrorist safe havens, ..., and promoting programs ..."); or, without commas, the
    noun chunk that an "and"/"or" right after the span opens ("Sindh and Balochistan").
    A span that already holds a list ("Dublin, Cork, Youghal and Waterford") stays as it is."""
    if "," in text[s:e] or _LIST_AND.search(text[s:e]):
        return s, e
    starts: dict[int, int] = {}
    for a, b, _ in ents:
        if a >= e and text[a:b].lower() not in _PRONOUNS:
            starts[a] = max(starts.get(a, a), b)
    stop = _LIST_STOP.search(text, e, hi)
    limit = stop.start() if stop else hi

    def opens_item(a: int, b: int) -> bool:
        lead = len(text[a:b]) - len(text[a:b].lstrip())
        word = re.match(r"(?:and|or)\s+", text[a + lead:b], re.I)
        at = a + lead + (word.end() if word else 0)
        return at in starts or bool(_ING.match(text, at))

    c = text.find(",", e, limit)
    if c >= 0 and len(text[s:c].split()) <= MAX_ITEM_WORDS and not _LIST_AND.search(text[e:c]):
        pos = c + 1
        while pos < limit:
            nxt = text.find(",", pos, limit)
            b = nxt if nxt >= 0 else limit
            if not opens_item(pos, b) or len(text[pos:b].split()) > MAX_ITEM_WORDS:
                break
            if _LIST_LAST.match(text, pos):
                end = len(text[:b].rstrip(" .!?"))
                return (s, end) if len(text[s:end].split()) <= MAX_LIST_WORDS else (s, e)
            if nxt < 0:
                break
            pos = nxt + 1
    # no comma list: "X and Y" right after the span, Y a noun chunk or entity. Not "bank robberies in Sindh
    # and Balochistan": there the "and" joins the places inside the phrase, not robberies to something else
    m = _LIST_AND.match(text, e)
    if m and m.end() in starts:
        return s, starts[m.end()]
    return s, e


def _whole_words(text: str, s: int, e: int) -> tuple[int, int]:
    """Widen a span that starts or ends inside a word (a word piece) to the whole word."""
    while s > 0 and text[s - 1].isalnum() and text[s].isalnum():
        s -= 1
    while e < len(text) and text[e].isalnum() and text[e - 1].isalnum():
        e += 1
    return s, e
