"""Tables in renditions: rows of cells written as text with each cell's offsets, and header rows guessed."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional, Sequence, Union

from ...types import Cell, Table

SEPARATOR = " | "  # between the cells of a row; rows are lines, a table one paragraph


@dataclass(frozen=True)
class GridCell:
    """A cell as an extractor reads it: its column, its span and its text (one line, white space
    collapsed). `header` is True where the file marks it as a header (<th>, a repeated Word row)."""
    col: int
    text: str = ""
    col_span: int = 1
    header: bool = False


@dataclass(frozen=True)
class TableBlock:
    """A table's paragraph of a rendition: its text and its Table with offsets into that text."""
    text: str
    table: Table


# --------------------------------------------------------------------------- what a cell holds

_CURRENCY = r"(?:[$€£¥₹]|US\$|USD|EUR|GBP|RMB|CHF|Rs\.?)"
_NUMBER = re.compile(
    r"^[(\[]?\s*[-−–+]?\s*" + _CURRENCY + r"?\s*[(]?\s*[-−–+]?\s*\d[\d,.\s]*\d?\s*"
    r"(?:%|pp|bps?|x|k|m|mn|bn|million|billion|thousand)?\s*[)\]]?\s*%?\s*\*?$", re.I)
_NIL = re.compile(r"^(?:[-−–—]\s*)+%?$|^(?:nil|n/?a|none)$", re.I)
_YEAR = re.compile(r"^(?:fy\s*)?(?:19|20)\d\d(?:\s*[-/–]\s*\d{2,4})?(?:\s+" + _CURRENCY + r"?\s*\w{0,8})?$", re.I)


def is_number(s: str) -> bool:
    """A figure a table holds in its body: an amount, a per cent, a bracketed negative, or a dash for nil.
    A year alone ("2019", "FY2018", "2019 €m") is not one: years head columns."""
    s = s.strip()
    return bool(s) and not _YEAR.match(s) and bool(_NUMBER.match(s) or _NIL.match(s))


def guess_header_rows(rows: Sequence[Sequence[GridCell]]) -> int:
    """How many leading rows head the columns: rows with something beyond the label column and no figure
    there (text, years, a spanning "Years ended ...", units such as "(in millions)"), over a body that
    holds figures. 0 when no later row has a figure (a table of text: nothing tells its head)."""
    k = 0
    for row in rows[:-1]:
        others = [c.text for c in row if c.col > 0 and c.text]
        if not others or any(is_number(t) for t in others):
            break
        k += 1
    body = [c.text for row in rows[k:] for c in row if c.col > 0 and c.text]
    return k if any(is_number(t) for t in body) else 0


def guess_header_cols(rows: Sequence[Sequence[GridCell]], header_rows: int) -> int:
    """1 when the first column labels the rows: in the body its cells are text (most of them) beside
    columns that hold figures; else 0."""
    body = rows[header_rows:]
    firsts = [c.text for row in body for c in row if c.col == 0 and c.text]
    figures = any(is_number(c.text) for row in body for c in row if c.col > 0 and c.text)
    if not firsts or not figures:
        return 0
    text = sum(1 for t in firsts if not is_number(t))
    return 1 if text >= 0.75 * len(firsts) else 0


# --------------------------------------------------------------------------- writing a table

def pad_rows(rows: Sequence[Sequence[GridCell]]) -> list[list[GridCell]]:
    """Rows with an empty cell wherever no cell stands (a short row, a gap), so columns line up; rows
    without any text left out."""
    width = max((c.col + c.col_span for row in rows for c in row), default=0)
    out = []
    for row in rows:
        if not any(c.text for c in row):
            continue
        cells, at = [], 0
        for c in sorted(row, key=lambda c: c.col):
            if c.col < at:
                continue  # overlapping spans from odd markup: the first one wins
            cells.extend(GridCell(col) for col in range(at, c.col))
            cells.append(c)
            at = c.col + c.col_span
        cells.extend(GridCell(col) for col in range(at, width))
        out.append(cells)
    return out


def write_table(rows: Sequence[Sequence[GridCell]], header_rows: Optional[int] = None,
                header_cols: Optional[int] = None, first_row: bool = False) -> Optional[TableBlock]:
    """A table as rendition text: one row a line, its cells joined by SEPARATOR (an empty cell is
    zero-width at its place, so the columns line up), with each cell's offsets. `header_rows` and
    `header_cols` default to the rows the file marks as headers, else to the guesses above, else (with
    `first_row`, as a word processor's table is usually made) to the first row when it holds no figure.
    None for a table without text."""
    grid = pad_rows(rows)
    if not grid:
        return None
    if header_rows is None:
        marked = 0
        for row in grid:
            if not all(c.header for c in row if c.text):
                break
            marked += 1
        header_rows = min(marked, len(grid) - 1) if marked else guess_header_rows(grid)
        if not header_rows and first_row and len(grid) > 1:
            header_rows = 0 if any(is_number(c.text) for c in grid[0] if c.col > 0) else 1
    if header_cols is None:
        marked_cols = [row[0].header for row in grid[header_rows:] if row and row[0].text]
        header_cols = 1 if marked_cols and all(marked_cols) else guess_header_cols(grid, header_rows)
    parts: list[str] = []
    cells: list[Cell] = []
    pos = 0
    for r, row in enumerate(grid):
        if r:
            parts.append("\n")
            pos += 1
        for k, c in enumerate(row):
            if k:
                parts.append(SEPARATOR)
                pos += len(SEPARATOR)
            parts.append(c.text)
            cells.append(Cell(r, c.col, pos, pos + len(c.text), r < header_rows or c.col < header_cols, c.col_span))
            pos += len(c.text)
    text = "".join(parts)
    n_cols = max(c.col + c.col_span for c in cells)
    return TableBlock(text, Table(0, len(text), len(grid), n_cols, tuple(cells), header_rows, header_cols))


def shift(table: Table, by: int) -> Table:
    """The same table with every offset moved by `by` characters."""
    return replace(table, start=table.start + by, end=table.end + by,
                   cells=tuple(replace(c, start=c.start + by, end=c.end + by) for c in table.cells))


def join_blocks(blocks: Sequence[Union[str, TableBlock]], sep: str = "\n\n") -> tuple[str, tuple[Table, ...]]:
    """Paragraphs and tables joined into a rendition's text, with the tables' offsets in it."""
    parts: list[str] = []
    tables: list[Table] = []
    pos = 0
    for n, b in enumerate(blocks):
        if n:
            parts.append(sep)
            pos += len(sep)
        if isinstance(b, TableBlock):
            tables.append(shift(b.table, pos))
            b = b.text
        parts.append(b)
        pos += len(b)
    return "".join(parts), tuple(tables)
