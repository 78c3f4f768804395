"""Answers read off a table: the cell at a named row and column, or the column where a row is largest.

A table (qa.types.Table) is a grid of cells with offsets in its document's text: a row label in its
first columns, column headers in its first rows. A question that names a row ("total allowance for
credit losses") and a column ("2019") is answered with that cell, a question asking in which year (or
column) a row is largest or smallest with the column's header. Matching is on BM25's stems, so
"revenues" finds "Revenue"; a year must be named exactly. Nothing here calls a model.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from ..index import bm25
from ..types import Cell, Document, Passage, Table

YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
# "in which year was X largest?", "which period had the higher X?": the answer is a column's header
_COMPARE = re.compile(r"\b(?:which|what)\s+(?:\w+\s+){0,2}?(?:year|years|period|quarter|month|fiscal year)\b", re.I)
_MORE = re.compile(r"\b(?:highest|largest|greatest|biggest|most|higher|larger|greater|bigger|more|maximum|increased?)\b", re.I)
_LESS = re.compile(r"\b(?:lowest|smallest|least|lower|smaller|less|fewer|minimum|decreased?)\b", re.I)
_NUMBER = re.compile(r"\(?-?\$?\s*\d[\d,]*(?:\.\d+)?\s*%?\)?")


@dataclass(frozen=True)
class TableMatch:
    """What a question found in one table: the cells that answer it (one, or the header of a compared
    column), the row those cells were read from, and how well the question named the row and column."""
    doc_id: str
    table: Table
    answer: tuple[Cell, ...]  # the answering cells: a data cell, or a column's header cell
    row: int  # the data row the answer comes from (the row compared, for a column answer)
    row_match: float  # share of the row label's stems the question names, 0..1
    col_match: float  # 1 the column is named (a year, the header's words), 0.5 the table has one data column
    compare: bool = False  # the answer is the header of the column where the row is largest or smallest


@dataclass(frozen=True)
class _Grid:
    """A table's text read into labels: each row's label stems and each column's header stems."""
    table: Table
    row_stems: dict[int, frozenset]  # data row -> the stems of its label (with its section's, if any)
    col_stems: dict[int, frozenset]  # data column -> the stems of its headers
    col_years: dict[int, frozenset]  # data column -> the years its headers name
    data: dict[tuple[int, int], Cell]  # (row, col) -> a non-empty data cell
    headers: dict[int, Cell]  # data column -> the header cell that names it best (a year first)


def grid(table: Table, text: str) -> _Grid:
    """Read a table's labels: a row's label is its header columns' text, plus the label of a section row
    above it (a row with a label and no data, "Income before taxes:"); a column's header is every
    header row's text over it, a cell spanning several columns over each of them."""
    hr, hc = table.header_rows, table.header_cols
    col_text: dict[int, list[str]] = {}
    best_header: dict[int, Cell] = {}
    for c in table.cells:
        if c.row >= hr or c.start == c.end:
            continue
        for col in range(c.col, c.col + max(1, c.col_span)):
            if col < hc:
                continue
            col_text.setdefault(col, []).append(text[c.start:c.end])
            held = best_header.get(col)
            if held is None or (YEAR.search(text[c.start:c.end]) and not YEAR.search(text[held.start:held.end])) \
                    or (c.col_span == 1 and held.col_span > 1):
                best_header[col] = c
    row_stems: dict[int, frozenset] = {}
    data: dict[tuple[int, int], Cell] = {}
    section: frozenset = frozenset()
    for r in range(hr, table.n_rows):
        label = " ".join(text[c.start:c.end] for c in table.row(r) if c.col < hc)
        cells = {c.col: c for c in table.row(r) if c.col >= hc and c.start < c.end}
        stems = frozenset(bm25.tokenize(label))
        if not cells:
            section = stems  # a section heading: its words belong to the rows under it
            continue
        row_stems[r] = stems | section
        data.update({(r, col): c for col, c in cells.items()})
    cols = sorted({col for _, col in data})
    col_stems = {col: frozenset(bm25.tokenize(" ".join(col_text.get(col, [])))) for col in cols}
    col_years = {col: frozenset(YEAR.findall(" ".join(col_text.get(col, [])))) for col in cols}
    return _Grid(table, row_stems, col_stems, col_years, data, best_header)


def _row_match(q: frozenset, label: frozenset) -> float:
    return len(q & label) / len(label) if label else 0.0


def match_table(question: str, doc: Document, min_row: float) -> Optional[TableMatch]:
    """The best answer `question` finds in the tables of `doc`, or None. A row is named when at least
    `min_row` of its label's stems are in the question; a column when the question names its year or
    the words that set its header apart, or when the table has a single data column."""
    q = frozenset(bm25.tokenize(question))
    years = tuple(dict.fromkeys(YEAR.findall(question)))  # in the order asked
    compare = bool(_COMPARE.search(question)) and bool(_MORE.search(question) or _LESS.search(question))
    best: Optional[TableMatch] = None
    for table in getattr(doc, "tables", ()) or ():
        g = grid(table, doc.text)
        for r, label in g.row_stems.items():
            rm = _row_match(q, label)
            if rm < min_row:
                continue
            found = _compare(question, doc, g, r, rm) if compare else _lookup(q, years, doc, g, r, rm)
            if found is not None and (best is None or _rank(found) > _rank(best)):
                best = found
    return best


def _rank(m: TableMatch) -> tuple:
    return (m.row_match + m.col_match, m.row_match, -m.row)


def _lookup(q: frozenset, years: tuple[str, ...], doc: Document, g: _Grid, r: int, rm: float) -> Optional[TableMatch]:
    cols = [col for (row, col) in g.data if row == r]
    if not cols:
        return None
    if years:
        # each year asked names one column ("in 2019 and 2018": a cell for each, in the order asked)
        named = []
        for y in years:
            cols_y = [col for col in cols if y in g.col_years.get(col, frozenset())]
            if len(cols_y) != 1:
                return None  # a year with no column here, or with several (men and women)
            named.append(cols_y[0])
        return TableMatch(doc.doc_id, g.table, tuple(g.data[(r, col)] for col in named), r, rm, 1.0)
    # no year: a column whose header words the question names, and no other column's
    distinct = {col: g.col_stems[col] - frozenset.intersection(*(g.col_stems[c] for c in cols)) for col in cols} \
        if len(cols) > 1 else {}
    named = [col for col in cols if distinct.get(col) and distinct[col] & q]
    if len(named) == 1:
        return TableMatch(doc.doc_id, g.table, (g.data[(r, named[0])],), r, rm, 1.0)
    if len(cols) == 1:
        return TableMatch(doc.doc_id, g.table, (g.data[(r, cols[0])],), r, rm, 0.5)
    return None


def value(text: str) -> Optional[float]:
    """A cell's number as accountants write it: "$1,496.5" 1496.5, "(114)" -114, "12.5%" 12.5."""
    m = _NUMBER.search(text)
    if not m:
        return None
    s = m.group(0)
    neg = s.strip().startswith("(") and s.strip().endswith(")") or "-" in s
    digits = re.sub(r"[^\d.]", "", s)
    try:
        v = float(digits)
    except ValueError:
        return None
    return -v if neg else v


def _compare(question: str, doc: Document, g: _Grid, r: int, rm: float) -> Optional[TableMatch]:
    """The header of the column where row r is largest (or smallest), among columns named by a year."""
    cols = [col for (row, col) in g.data if row == r and col in g.headers and g.col_years.get(col)]
    vals = {col: value(doc.text[g.data[(r, col)].start:g.data[(r, col)].end]) for col in cols}
    vals = {col: v for col, v in vals.items() if v is not None}
    if len(vals) < 2:
        return None
    less = bool(_LESS.search(question)) and not _MORE.search(question)
    pick = (min if less else max)(vals, key=lambda col: (vals[col], -col))
    if list(vals.values()).count(vals[pick]) > 1:
        return None  # a tie has no single answer
    return TableMatch(doc.doc_id, g.table, (g.headers[pick],), r, rm, 1.0, compare=True)


def best_match(question: str, docs: Sequence[Document], min_row: float) -> Optional[TableMatch]:
    """The best TableMatch over several documents (those the question was searched in)."""
    found = [m for m in (match_table(question, d, min_row) for d in docs) if m is not None]
    return max(found, key=_rank) if found else None


@dataclass(frozen=True)
class RowQuote:
    """A row of a table as a citation quotes it: its line, in the passage that holds it."""
    doc_id: str
    passage_id: str
    start: int
    end: int


def quotes(m: TableMatch, passages: Sequence[Passage]) -> list[tuple[RowQuote, Optional[tuple[int, int]]]]:
    """What an answer read off a table cites, each with its answer span: the row the cell is in, with
    the cell as the span; for a compared row, the header row with the column's header as the span,
    then the row whose cells were compared."""
    def quote(r: int) -> RowQuote:
        s, e = m.table.row_span(r)
        holder = next((p for p in passages if p.doc_id == m.doc_id and p.start <= s < p.end), None)
        return RowQuote(m.doc_id, holder.passage_id if holder else "", s, e)

    cell = m.answer[0]
    if not m.compare:  # the row once for each cell read off it
        return [(quote(m.row), (c.start, c.end)) for c in m.answer]
    return [(quote(cell.row), (cell.start, cell.end)), (quote(m.row), None)]


def within_cell(doc: Document, start: int, end: int) -> tuple[int, int]:
    """A span of `doc` cut back to one table cell when it crosses from one into another ("525 | 742"):
    the part inside the first cell it overlaps. Spans outside tables, or inside one cell, are returned
    as they are."""
    for t in doc.tables:
        if end <= t.start or start >= t.end:
            continue
        inside = [c for c in t.cells if c.start < end and start < c.end]
        if len(inside) <= 1 and all(c.start <= start and end <= c.end for c in inside):
            return start, end
        if inside:
            c = min(inside, key=lambda c: c.start)
            return max(start, c.start), min(end, c.end)
    return start, end
