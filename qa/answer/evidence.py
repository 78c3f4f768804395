"""Evidence sentences for a question: their words and stems, relevance scores, and the reader's windows."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Sequence

from ..index import bm25
from ..index.aliases import AliasTable
from .question import QuestionAnalysis
from ..settings import SpanSettings
from ..text import WORD
from ..types import Hit, ScoredSentence, Sentence

QUESTION_WORDS = {"who", "whom", "whose", "what", "when", "where", "which", "why", "how"}
# a question word this rare (IDF) or rarer that a sentence lacks counts fully in the "missing" feature
MISSING_IDF_CAP = 6.0
SHARED_ROOT_MIN = 4  # letters a stem needs to match another as a shared root ("lead" ~ "leader")
SHARED_ROOT_SLACK = 6  # ... and how much longer the other may be

# irregular past forms that questions use for words the texts use in another form ("who led" / "leader")
IRREGULAR = {"led": "lead", "won": "win", "began": "begin", "fought": "fight", "took": "take", "gave": "give",
             "held": "hold", "left": "leav", "paid": "pay", "sent": "send", "told": "tell", "made": "make",
             "brought": "bring", "built": "build", "caught": "catch", "chose": "choos", "drove": "drive",
             "fled": "flee", "grew": "grow", "hid": "hide", "kept": "keep", "lost": "lose", "met": "meet",
             "ran": "run", "rose": "rise", "saw": "see", "sought": "seek", "sold": "sell", "spoke": "speak",
             "stood": "stand", "struck": "strike", "taught": "teach", "thought": "think", "went": "go",
             "wrote": "write", "killed": "kill", "died": "die", "dead": "die", "death": "die"}


@lru_cache(maxsize=4096)
def stem(word: str) -> str:
    """The stem of a word's first term (BM25's stemmer, irregular past forms mapped); '' for a stop word."""
    toks = bm25.tokenize(word)
    s = toks[0] if toks else ""
    return IRREGULAR.get(s, s)


def related(q_stems: set[str], s: str) -> Optional[str]:
    """The question stem a sentence stem matches: exactly, or as a shared root of 4+ letters
    ("lead" ~ "leader", "leadership"), which stemming alone does not join."""
    if s in q_stems:
        return s
    if len(s) >= SHARED_ROOT_MIN:
        # the closest in length when several match ("leader": "leade" before "lead" and "leadership"),
        # then the first alphabetically: never the set's iteration order, which each run's hash seed changes
        found = [q for q in q_stems if len(q) >= SHARED_ROOT_MIN and (s.startswith(q) or q.startswith(s))
                 and abs(len(s) - len(q)) <= SHARED_ROOT_SLACK]
        if found:
            return min(found, key=lambda q: (abs(len(s) - len(q)), q))
    return None


def word_tokens(text: str, offset: int = 0) -> tuple[tuple[int, int, str], ...]:
    """(start, end, stem) of each word; stems are '' for stop words."""
    return tuple((m.start() + offset, m.end() + offset, stem(m.group())) for m in WORD.finditer(text))


# The index's sentences come back question after question as evidence, and tokenizing them was a third
# of the rules' time; spans (one-off texts) use `word_tokens` uncached. A question touches a few dozen
# sentences; 8,192 entries stay bounded (~25 MB) in a long-running app over a large corpus.
sentence_tokens = lru_cache(maxsize=8192)(word_tokens)


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


def option_stems(qa: QuestionAnalysis, spans: SpanSettings) -> set[str]:
    """The stems of an alternative question's options: naming one is answering, not repeating."""
    return {stem(o) for o in qa.options} if spans.options else set()


def question_terms(index, question: str) -> dict[str, float]:
    """Stems of the question's own words with their IDF weights (question words left out)."""
    terms: dict[str, float] = {}
    for s in bm25.tokenize(question):
        s = IRREGULAR.get(s, s)
        if s not in QUESTION_WORDS:
            terms[s] = bm25.idf(index, s)
    return terms


@dataclass(frozen=True)
class Evidence:
    """An evidence sentence as the answer step sees it: relevance score `base`, the features the
    calibration reads, its words with the stems the question shares, and the question's stems."""
    sentence: Sentence
    scored: ScoredSentence
    rank: int
    base: float
    feats: dict
    toks: list
    q_stems: set


def find_evidence(index, aliases: AliasTable, qa: QuestionAnalysis, hits: Sequence[Hit],
                  spans: SpanSettings) -> list[Evidence]:
    """Each distinct evidence sentence of the hits (the best few per hit), scored by its similarity to
    the question, the weighted share of the question's terms it holds and its passage's rank.
    Candidates of either kind start from these."""
    terms = question_terms(index, qa.text)
    total_w = sum(terms.values()) or 1.0
    q_stems = set(terms)
    memo: dict[str, Optional[str]] = {}

    def rel(s: str) -> Optional[str]:
        if s not in memo:
            memo[s] = related(q_stems, s)
        return memo[s]

    # for each alias group the question names, the stems of the name it used: a sentence that uses any
    # other name of the group ("Khorasan Province" for "Wilayat Khorasan") has them too
    alias_stems = [(gi, {IRREGULAR.get(t, t) for t in bm25.tokenize(name)}) for gi, name in aliases.mentions(qa.text)]
    out: list[Evidence] = []
    seen: set[str] = set()
    for rank, hit in enumerate(hits):
        for ss in hit.sentences[:spans.sentences_per_hit]:
            sent = ss.sentence
            if sent.sentence_id in seen:
                continue
            seen.add(sent.sentence_id)
            toks = [(a, b, rel(t) or t) for a, b, t in sentence_tokens(sent.text, sent.start)]
            present = {t for _, _, t in toks if t in q_stems}
            # the sentence before, in the same passage, often names what this one talks about
            # ("... Karachi. Forty-five people died."): its terms count for w_context of their weight
            ctx: set = set()
            prev = index.sentences[sent.row - 1] if sent.row >= 1 else None
            if prev is not None and prev.passage_id == sent.passage_id:
                ctx = {rel(t) for _, _, t in sentence_tokens(prev.text)} - {None}
            ctx -= present
            for gi, stems in alias_stems:
                if not stems <= present and aliases.names_group(sent.text, gi):
                    present = present | (stems & q_stems)
            lex_cov = (sum(terms[t] for t in present) + spans.w_context * sum(terms[t] for t in ctx)) / total_w
            present = present | ctx
            # the rarest question word the sentence lacks: questions the corpus cannot answer tend to
            # hinge on a word it never uses ("wounded", "budget", "succeeded")
            missing = max((min(terms[t], MISSING_IDF_CAP) / MISSING_IDF_CAP for t in q_stems - present), default=0.0)
            base = spans.w_sent * ss.score + spans.w_lex * lex_cov + spans.w_rank / (1 + rank)
            feats = {"sim": ss.score, "lex": lex_cov, "rank": rank, "missing": missing, "hit": hit.score}
            out.append(Evidence(sent, ss, rank, base, feats, toks, q_stems))
    return out


@dataclass(frozen=True)
class Window:
    """A stretch of one document the reader reads: a few whole sentences (their rows) and the text."""
    doc_id: str
    start: int
    end: int
    rows: tuple[int, ...]
    text: str
    center: int  # the row of the evidence sentence the window was opened around


def reader_windows(index, evidence: Sequence[Evidence], n: int) -> list[Window]:
    """The text the reader reads: around each of the `n` most relevant evidence sentences, that
    sentence with its neighbours in the same passage."""
    out: list[Window] = []
    sents = index.sentences
    for ev in sorted(evidence, key=lambda ev: -ev.base)[:n]:
        s = ev.sentence
        rows = [r for r in (s.row - 1, s.row, s.row + 1) if 0 <= r < len(sents) and sents[r].passage_id == s.passage_id]
        lo, hi = sents[rows[0]].start, sents[rows[-1]].end
        out.append(Window(s.doc_id, lo, hi, tuple(rows), index.documents[s.doc_id].text[lo:hi], s.row))
    return out
