"""Answers read off a table: the cell at a named row and column, a column's header, a list of labels.

A table (qa.types.Table) is a grid of cells with offsets in its document's text: a row label in its
first columns, column headers in its first rows. The question shapes read here:
- a row and a column named ("total allowance for credit losses", "2019"): that cell; several years
  named: a cell for each, in the order asked;
- "in which year was X largest / less than 100?": the header of the column(s) where it is;
- "which years does the table show?": the years of its column headers;
- "what items make up X?" where X is a section of rows: the labels of the rows under it.
A question that asks for a computation (a change, an average, a ratio) gets no cell unless a column
holds that computation ("Change"): `needs_computation` tells the answerer to say so. Matching is on
BM25's stems, so "revenues" finds "Revenue"; a year must be named ("2019", "FY19", "fiscal 2019").
Nothing here calls a model.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from ..index import bm25
from ..types import Cell, Document, Passage, Table

YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_SHORT_FY = re.compile(r"\bFY\s?'?(\d\d)\b", re.I)  # "FY19", "FY 19"
_SPACED_YEAR = re.compile(r"\b([12]) (\d) (\d) (\d)\b")  # "2 0 1 8", as some reports set a year
_WHICH_COLUMN = re.compile(r"\b(?:which|what)\s+(?:\w+\s+){0,2}?(?:years?|fys?|periods?|quarters?|months?)\b", re.I)
_MORE = re.compile(r"\b(?:highest|largest|greatest|biggest|most|higher|larger|greater|bigger|more|maximum|exceed\w*|above|over)\b", re.I)
_LESS = re.compile(r"\b(?:lowest|smallest|least|lower|smaller|less|fewer|minimum|below|under)\b", re.I)
_THAN = re.compile(r"\b(?:than|exceed\w*|above|below|over|under)\s*\$?\s*(-?\(?\d[\d,]*(?:\.\d+)?\)?)", re.I)
_NEGATIVE = re.compile(r"\bnegative\b", re.I)
_TOTAL = re.compile(r"\s*(?:total|net|subtotal)\b", re.I)
_YEARS_SHOWN = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?(?:years|fiscal years|financial years|periods)\b", re.I)
_ITEMS = re.compile(r"\b(?:items|components|elements|categories|parts|types|segments)\b.*\b(?:consist|make|making|made|"
                    r"comprise|comprising|include|included|including|listed|shown|under|in)\b", re.I)
_COMPUTE = re.compile(r"\b(?:change|changes|difference|differences|average|mean|ratio|proportion|growth|increase|decrease|"
                      r"sum|combined|how much (?:more|less|higher|lower))\b", re.I)
_NUMBER = re.compile(r"\(?-?\$?\s*\d[\d,]*(?:\.\d+)?\s*%?\)?")
SECTION_WEIGHT = 0.1  # what naming a row's section adds to naming the row: enough to tell two "Domestic" rows apart


def years_in(text: str) -> list[str]:
    """The years a question or a header names, in order: "2019", "FY19", "fiscal 2019", "2 0 1 9"."""
    text = _SPACED_YEAR.sub(r"\1\2\3\4", text)
    text = _SHORT_FY.sub(lambda m: "20" + m.group(1), text)
    return list(dict.fromkeys(YEAR.findall(text)))


@dataclass(frozen=True)
class TableMatch:
    """What a question found in one table: the cells that answer it, the data row they were read from
    (or compared over), and how well the question named the row and the column."""
    doc_id: str
    table: Table
    answer: tuple[Cell, ...]  # a data cell, several, a column's header, or row labels
    row: int  # the data row the answer comes from (the row compared, for a column answer; -1 for none)
    row_match: float  # share of the row label's stems the question names, 0..1
    col_match: float  # 1 the column is named (a year, the header's words), 0.5 the table has one data column
    compare: bool = False  # the answer is the header of the column(s) where the row is largest, below...
    computed: bool = False  # the question asks for a computation over the row: the cells it would need


@dataclass(frozen=True)
class _Grid:
    """A table's text read into labels: each row's label stems and each column's header stems."""
    table: Table
    row_stems: dict[int, frozenset]  # data row -> the stems of its label (with its section's, if any)
    own_stems: dict[int, frozenset]  # data row -> the stems of its own label
    sections: dict[int, list[int]]  # section row -> the data rows under it
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
            if held is None or (years_in(text[c.start:c.end]) and not years_in(text[held.start:held.end])) \
                    or (c.col_span == 1 and held.col_span > 1):
                best_header[col] = c
    row_stems: dict[int, frozenset] = {}
    own: dict[int, frozenset] = {}
    sections: dict[int, list[int]] = {}
    data: dict[tuple[int, int], Cell] = {}
    section, section_row = frozenset(), -1
    for r in range(hr, table.n_rows):
        label = " ".join(text[c.start:c.end] for c in table.row(r) if c.col < hc)
        cells = {c.col: c for c in table.row(r) if c.col >= hc and c.start < c.end}
        stems = frozenset(bm25.tokenize(label))
        if not cells:
            section, section_row = stems, r  # a section heading: its words belong to the rows under it
            sections[r] = []
            continue
        own[r] = stems
        row_stems[r] = stems | section
        if section_row >= 0:
            sections[section_row].append(r)
            if _TOTAL.match(label):
                section, section_row = frozenset(), -1  # a total closes its section
        data.update({(r, col): c for col, c in cells.items()})
    cols = sorted({col for _, col in data})
    col_stems = {col: frozenset(bm25.tokenize(" ".join(col_text.get(col, [])))) for col in cols}
    col_years = {col: frozenset(years_in(" ".join(col_text.get(col, [])))) for col in cols}
    return _Grid(table, row_stems, own, sections, col_stems, col_years, data, best_header)


def _year_of(cell: Cell, text: str) -> Cell:
    """A header cell narrowed to the year it names ("30 June 2019" -> "2019"): a "which year" question
    is answered with the year. The cell as it is when it names none, or several."""
    found = list(YEAR.finditer(text, cell.start, cell.end))
    if len(found) != 1:
        return cell
    return Cell(cell.row, cell.col, found[0].start(), found[0].end(), cell.header, cell.col_span)


def _row_match(q: frozenset, label: frozenset) -> float:
    return len(q & label) / len(label) if label else 0.0


def needs_computation(question: str) -> bool:
    """Whether the question asks for a figure computed from others (a change, an average, a ratio)."""
    return bool(_COMPUTE.search(question))


def match_table(question: str, doc: Document, min_row: float) -> Optional[TableMatch]:
    """The best answer `question` finds in the tables of `doc`, or None. A row is named when at least
    `min_row` of its label's stems are in the question; a column when the question names its year or
    the words that set its header apart, or when the table has a single data column."""
    q = frozenset(bm25.tokenize(question))
    years = tuple(years_in(question))
    which_column = bool(_WHICH_COLUMN.search(question))
    compare = which_column and bool(_MORE.search(question) or _LESS.search(question) or _NEGATIVE.search(question))
    compute = needs_computation(question) and not compare
    best: Optional[TableMatch] = None
    for table in doc.tables:
        g = grid(table, doc.text)
        for r, label in g.row_stems.items():
            # the row's own label must be named; its section's words only tell two such rows apart
            own = _row_match(q, g.own_stems[r])
            rm = own + SECTION_WEIGHT * _row_match(q, label - g.own_stems[r])
            if own < min_row:
                continue
            if compare:
                found = _compare(question, doc, g, r, rm)
            else:
                found = _lookup(q, years, doc, g, r, rm, compute)
            if found is not None and (best is None or _rank(found) > _rank(best)):
                best = found
        if best is None and not compute:
            best = _listing(question, q, doc, g)
    return best


def _rank(m: TableMatch) -> tuple:
    return (m.row_match + m.col_match, m.row_match, -m.row)


def _lookup(q: frozenset, years: tuple[str, ...], doc: Document, g: _Grid, r: int, rm: float,
            compute: bool) -> Optional[TableMatch]:
    cols = [col for (row, col) in g.data if row == r]
    if not cols:
        return None
    # a column whose header words the question names, and no other column's ("Change", "Men", "As reported")
    distinct = {col: g.col_stems[col] - frozenset.intersection(*(g.col_stems[c] for c in cols)) for col in cols} \
        if len(cols) > 1 else {}
    worded = [col for col in cols if distinct.get(col) and distinct[col] & q]
    if years:
        # each year asked names one column ("in 2019 and 2018": a cell for each, in the order asked)
        named = []
        for y in years:
            cols_y = [col for col in cols if y in g.col_years.get(col, frozenset())]
            if len(cols_y) > 1 and worded:
                cols_y = [col for col in cols_y if col in worded]
            if len(cols_y) != 1:
                return None  # a year with no column here, or with several (men and women)
            named.append(cols_y[0])
        cells = tuple(g.data[(r, col)] for col in named)
        return TableMatch(doc.doc_id, g.table, cells, r, rm, 1.0, computed=compute)
    if len(worded) == 1:
        return TableMatch(doc.doc_id, g.table, (g.data[(r, worded[0])],), r, rm, 1.0)
    if len(cols) == 1 and not compute:
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
    """The header of the column where row r is largest (or smallest), or the headers of the columns
    where it is above (below) a figure or negative, among the columns a year names."""
    cols = [col for (row, col) in g.data if row == r and col in g.headers and g.col_years.get(col)]
    vals = {col: value(doc.text[g.data[(r, col)].start:g.data[(r, col)].end]) for col in cols}
    vals = {col: v for col, v in vals.items() if v is not None}
    if len(vals) < 2:
        return None
    less = bool(_LESS.search(question)) and not _MORE.search(question)
    than = _THAN.search(question)
    if than or _NEGATIVE.search(question):
        limit = value(than.group(1)) if than else 0.0
        picked = [col for col in vals if (vals[col] < limit if less or not than else vals[col] > limit)]
        if not picked:
            return None
    else:
        pick = (min if less else max)(vals, key=lambda col: (vals[col], -col))
        if list(vals.values()).count(vals[pick]) > 1:
            return None  # a tie has no single answer
        picked = [pick]
    answer = tuple(_year_of(g.headers[col], doc.text) for col in picked)
    return TableMatch(doc.doc_id, g.table, answer, r, rm, 1.0, compare=True)


def _listing(question: str, q: frozenset, doc: Document, g: _Grid) -> Optional[TableMatch]:
    """The years of the columns ("which years does the table show?"), or the labels of the rows under
    a section the question names ("what items make up current assets?"); None for other questions."""
    if _YEARS_SHOWN.search(question) and not _MORE.search(question) and not _LESS.search(question):
        seen, cells = set(), []
        for col in sorted(g.headers):
            for y in g.col_years.get(col, ()):
                if y not in seen:
                    seen.add(y)
                    cells.append(_year_of(g.headers[col], doc.text))
        if len(cells) >= 2:
            return TableMatch(doc.doc_id, g.table, tuple(cells), -1, 0.5, 1.0)
        return None
    if not _ITEMS.search(question):
        return None
    text = doc.text
    best = None
    for srow, rows in g.sections.items():
        label = frozenset(bm25.tokenize(" ".join(text[c.start:c.end] for c in g.table.row(srow) if c.col < g.table.header_cols)))
        rm = _row_match(q, label)
        if rm >= 0.99 and rows and (best is None or len(label) > len(best[1])):
            best = (rows, label)
    if best is None:
        return None
    labels = [c for r in best[0] if not _TOTAL.match(text[g.table.row_span(r)[0]:])
              for c in g.table.row(r) if c.col < g.table.header_cols and c.start < c.end]
    return TableMatch(doc.doc_id, g.table, tuple(labels), -1, 1.0, 1.0) if labels else None


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
    """What an answer read off a table cites, each with its answer span: the row of each answering
    cell, with the cell as the span; for a comparison, then the row whose cells were compared."""
    def quote(r: int) -> RowQuote:
        s, e = m.table.row_span(r)
        holder = next((p for p in passages if p.doc_id == m.doc_id and p.start <= s < p.end), None)
        return RowQuote(m.doc_id, holder.passage_id if holder else "", s, e)

    out = [(quote(c.row), (c.start, c.end)) for c in m.answer]
    if m.compare:
        out.append((quote(m.row), None))
    return out


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
