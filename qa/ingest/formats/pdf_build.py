"""The PDF rendition as it is written: text with a page, box and PDFium index per character, tables as rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ...types import Cell, Table
from .tables import SEPARATOR, GridCell, guess_header_cols, guess_header_rows

_NAN_BOX = (np.nan, np.nan, np.nan, np.nan)


def display(box, page_box, rot):
    """A page-space box as (left, top, right, bottom) in displayed-page points (y down)."""
    bx0, by0, bx1, by1 = page_box
    x0, y0, x1, y1 = box
    if rot == 90:
        return (y0 - by0, x0 - bx0, y1 - by0, x1 - bx0)
    if rot == 180:
        return (bx1 - x1, y0 - by0, bx1 - x0, y1 - by0)
    if rot == 270:
        return (by1 - y1, bx1 - x1, by1 - y0, bx1 - x0)
    return (x0 - bx0, by1 - y1, x1 - bx0, by1 - y0)


@dataclass
class TableLine:
    """A table of a page, standing in the page's list of lines where its first character stood: `rows` of
    (column, column span, characters) cells, the characters as a Line holds them. It is a paragraph of
    its own; `text` ends a sentence, so no paragraph of the next page is joined onto it."""
    rows: list
    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0
    height: float = 0.0
    chars: list = field(default_factory=list)  # none of its own: its cells hold them
    hyphen: Optional[tuple] = None
    furniture: Optional[str] = None
    rtl: bool = False
    text: str = "."

    def cell_text(self, chars) -> str:
        return "".join(c[1] for c in chars)


class Builder:
    """The rendition text with, per character, its page, box and page-character index, and its tables."""

    def __init__(self):
        self.parts: list[str] = []
        self.pages: list[int] = []
        self.boxes: list = []
        self.index: list[int] = []
        self.tables: list[Table] = []
        self.n = 0

    def add(self, ch: str, page: int, box, idx: int):
        self.parts.append(ch)
        self.pages.append(page)
        self.boxes.append(box)
        self.index.append(idx)
        self.n += 1

    def add_line(self, chars: list, page: int, line=None):
        if isinstance(line, TableLine):
            self.add_table(line, page)
            return
        n = len(chars)
        self.parts.extend(c[1] for c in chars)
        self.index.extend(c[0] for c in chars)
        self.boxes.extend(c[2] if c[0] >= 0 else _NAN_BOX for c in chars)
        self.pages.extend(page if c[0] >= 0 else 0 for c in chars)  # -1: a space the extractor put there
        self.n += n

    def insert(self, s: str):
        n = len(s)
        self.parts.append(s)
        self.pages.extend([0] * n)
        self.boxes.extend([_NAN_BOX] * n)
        self.index.extend([-1] * n)
        self.n += n

    def add_table(self, table: TableLine, page: int):
        """One row a line, cells joined by SEPARATOR (inserted characters, page 0), each cell's characters
        mapped to the page as the other lines' are; its header rows and label column guessed from the text."""
        grid = [[GridCell(col, table.cell_text(chars), span) for col, span, chars in row] for row in table.rows]
        header_rows = guess_header_rows(grid)
        header_cols = guess_header_cols(grid, header_rows)
        start, cells = self.n, []
        for r, row in enumerate(table.rows):
            if r:
                self.insert("\n")
            for k, (col, span, chars) in enumerate(row):
                if k:
                    self.insert(SEPARATOR)
                s = self.n
                self.add_line(chars, page)
                cells.append(Cell(r, col, s, self.n, r < header_rows or col < header_cols, span))
        n_cols = max(c.col + c.col_span for c in cells)
        self.tables.append(Table(start, self.n, len(table.rows), n_cols, tuple(cells), header_rows, header_cols))
