"""The small frozen records that flow through the package: documents, passages, hits, citations, answers."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

# What a declined answer says: the CLI, the chat and the answer's notes use these words.
DECLINE_TEXT = "The corpus does not say."
PARTS_JOINER = "; "  # between the parts of an answer of several (Answer.parts)
# Why an answer was declined (Answer.decline_reason): a salient question term the documents never
# mention, no candidate of the type the question needs, or a calibrated confidence below the threshold
DECLINE_REASONS = ("not_mentioned", "no_typed_answer", "needs_computation", "low_confidence")
# how the CLI and the chat name each reason
REASON_LABELS = {"not_mentioned": "not mentioned in the documents", "no_typed_answer": "no answer of the type asked for",
                 "needs_computation": "asks for a figure computed from others", "low_confidence": "low confidence"}
# a computation is declined with the figures it would need as the closest material
COMPUTATION_TEXT = "The documents do not state this figure; it would be computed from the figures below."


def decline_headline(notes, reason: Optional[str]) -> str:
    """What a declined answer says first: the reason's own sentence ("The documents never mention
    Zarb-e-Azb.", "The documents give no figure for this."), which is its first note, else DECLINE_TEXT."""
    notes = [str(n) for n in (notes or ()) if n]
    return notes[0] if reason in ("not_mentioned", "no_typed_answer", "needs_computation") and notes else DECLINE_TEXT

def content_id(*parts: object, length: int = 16) -> str:
    """Stable id from content: the same parts always give the same id, across rebuilds and machines."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8"))
    return h.hexdigest()[:length]


def text_sha(text: str) -> str:
    """Full sha256 of a text; the embedding cache key together with the model name."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks: index artefacts and exported graphs are checked by it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Cell:
    """One cell of a table: its place in the grid and its text's offsets in the document's text
    (`text[start:end]`; an empty cell has start == end, where its text would stand). `col_span` > 1 for a
    cell merged across columns (a header over several years). `header`: a column header (in the table's
    header rows) or a row label (in its header columns)."""

    row: int
    col: int
    start: int
    end: int
    header: bool = False
    col_span: int = 1


@dataclass(frozen=True)
class Table:
    """A table of a document, as its rendition writes it: one row a line, cells joined by " | ". `cells`
    in row order; the first `header_rows` rows are column headers and the first `header_cols` columns
    row labels; [start, end) is the text it occupies."""

    start: int
    end: int
    n_rows: int
    n_cols: int
    cells: tuple[Cell, ...]
    header_rows: int = 1
    header_cols: int = 1

    def row(self, r: int) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.row == r)

    def row_span(self, r: int) -> tuple[int, int]:
        """[start, end) of row r's line from its first filled cell to its last (the row's sentence):
        what a citation of one of its cells quotes."""
        cells = [c for c in self.row(r) if c.start < c.end] or list(self.row(r))
        return min(c.start for c in cells), max(c.end for c in cells)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cells"] = [[c.row, c.col, c.start, c.end, int(c.header), c.col_span] for c in self.cells]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Table":
        cells = tuple(Cell(int(r), int(c), int(s), int(e), bool(h), int(span)) for r, c, s, e, h, span in d["cells"])
        return cls(**{**d, "cells": cells})


@dataclass(frozen=True)
class Document:
    """One source file. `source` is its path as the corpus was given, so `Path(source)` opens it.

    `text` is its text rendition, which every offset refers to: for a UTF-8 .txt/.md file the file
    itself; for a PDF, Word file, web page or a text file in another encoding, the extracted text,
    stored in the index folder at `rendition` (relative to the index). `text_source` is the path that
    opens the rendition (`source` itself for a plain text file)."""

    doc_id: str
    source: str
    text: str
    title: str
    author: Optional[str] = None
    publisher: Optional[str] = None
    date: Optional[str] = None  # ISO date, only when the text states it
    period: Optional[str] = None  # what the text lets us infer about when it was written
    format: str = "txt"  # pdf | docx | html | txt | md
    pages: Optional[int] = None
    url: Optional[str] = None  # a web page's own canonical URL, when it states one
    original_sha256: Optional[str] = None  # of the original file's bytes
    extractor: Optional[str] = None  # library and version that made the rendition
    rendition: Optional[str] = None  # folder of the stored rendition inside the index; None: the file itself
    text_source: Optional[str] = None  # set when the index is loaded
    # the tables of `text`, in order (an index written before tables were kept loads with none)
    tables: tuple[Table, ...] = ()

    def __post_init__(self):
        # documents.jsonl and the PostgreSQL store give the tables back as dicts (Table.to_dict)
        if any(not isinstance(t, Table) for t in self.tables) or not isinstance(self.tables, tuple):
            object.__setattr__(self, "tables", tuple(t if isinstance(t, Table) else Table.from_dict(t)
                                                     for t in self.tables))

    @property
    def as_of(self) -> Optional[str]:
        return self.date or self.period

    def meta(self) -> dict[str, Any]:
        """What documents.jsonl stores besides the text (text_source depends on where the index is)."""
        d = {k: v for k, v in self.__dict__.items() if k not in ("text", "text_source", "tables")}
        d["tables"] = [t.to_dict() for t in self.tables]
        return d


@dataclass(frozen=True)
class Sentence:
    """A sentence of an evidence passage, with offsets into its document's text."""

    sentence_id: str
    passage_id: str
    doc_id: str
    start: int
    end: int
    text: str
    row: int  # row in the sentence vector matrix
    ents: tuple[tuple[int, int, str], ...] = ()  # candidate answer spans (document offsets, label)


@dataclass(frozen=True)
class Passage:
    """A paragraph (or a piece of one) with offsets into its document's text.

    `boilerplate` names why a passage is page furniture (notes, captions, banners...); such passages
    are kept for the record but never used as evidence. `row` is the passage's row in the dense
    index, None for boilerplate.
    """

    passage_id: str
    doc_id: str
    start: int
    end: int
    text: str
    section: Optional[str] = None
    boilerplate: Optional[str] = None
    n_tokens: int = 0
    row: Optional[int] = None
    sentence_rows: tuple[int, ...] = ()

    @staticmethod
    def make_id(doc_id: str, start: int, end: int, text: str) -> str:
        return content_id(doc_id, start, end, text)


@dataclass(frozen=True)
class ScoredSentence:
    sentence: Sentence
    score: float


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused score and its best-matching sentences (best first)."""

    passage: Passage
    score: float
    dense: float = 0.0
    lexical: float = 0.0
    sentences: tuple[ScoredSentence, ...] = ()


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    source: str
    passage_id: str
    start: int
    end: int
    quote: str
    score: float
    date: Optional[str] = None
    answer_start: Optional[int] = None  # the answer span inside the quote's document, when short
    answer_end: Optional[int] = None
    # the file whose text holds the quote at [start, end): `source` itself for a plain text file, else the
    # rendition stored in the index (Path(text_source).read_text(encoding="utf-8")[start:end] == quote)
    text_source: Optional[str] = None
    page: Optional[int] = None  # PDF: the 1-based page the quote starts on
    # PDF: the quote's rectangles, [{"page": p, "rects": [[x0, y0, x1, y1], ...]}], in PDF points with the
    # origin at the bottom-left of the page and y up (PDFium's page space; /Rotate not applied)
    boxes: Optional[tuple] = None
    url: Optional[str] = None  # web page: its canonical URL with a #:~:text= fragment for the quote

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["boxes"] = [dict(b) for b in self.boxes] if self.boxes is not None else None
        return d


@dataclass(frozen=True)
class Conflict:
    value: str
    citations: tuple[int, ...]  # citation numbers

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "citations": list(self.citations)}


@dataclass(frozen=True)
class Answer:
    """What `qa ask --json` prints; the shape is a public contract."""

    question: str
    status: str  # "answered" | "uncertain" | "declined"
    answer: Optional[str]
    confidence: float
    citations: tuple[Citation, ...] = ()
    notes: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    agreeing: int = 0  # how many documents support the answer
    considered: int = 0  # how many documents were considered
    answer_type: Optional[str] = None
    as_of: Optional[str] = None
    closest: tuple[Citation, ...] = field(default=())  # closest material when declined
    decline_reason: Optional[str] = None  # one of DECLINE_REASONS when declined, else None
    missing_terms: tuple[str, ...] = ()  # the question's terms the documents never mention
    # an answer of several parts (the cells of a row over the years asked): each part is the text at one
    # citation's answer span, in the order asked, and `answer` is them joined by PARTS_JOINER
    parts: tuple[str, ...] = ()
    # in a conversation, the stand-alone question that was answered ("When was Hafiz Saeed Khan killed?"
    # for "When was he killed?"); None when the question was answered as asked
    understood_as: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "status": self.status,
            "answer": self.answer,
            "confidence": round(float(self.confidence), 4),
            "citations": [c.to_dict() for c in self.citations],
            "notes": list(self.notes),
            "conflicts": [c.to_dict() for c in self.conflicts],
            "agreeing": self.agreeing,
            "considered": self.considered,
            "answer_type": self.answer_type,
            "as_of": self.as_of,
            "closest": [c.to_dict() for c in self.closest],
            "decline_reason": self.decline_reason,
            "missing_terms": list(self.missing_terms),
            "parts": list(self.parts),
            "understood_as": self.understood_as,
        }
