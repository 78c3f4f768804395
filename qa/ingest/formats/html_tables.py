"""A web page's own <table>s, read for what trafilatura's XML leaves out: column spans and header cells."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

from .tables import GridCell, TableBlock, write_table

_SKIP = {"table", "script", "style", "template"}
MAX_SPAN = 100  # as trafilatura caps a span


def _squash(s: str) -> str:
    return "".join(s.split())


def _span(cell, attr: str) -> int:
    v = (cell.get(attr) or "1").strip()
    return min(int(v), MAX_SPAN) if v.isdecimal() and int(v) > 0 else 1


def _text(el) -> str:
    """An element's text without the tables nested in it (trafilatura writes those on their own)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag.lower() not in _SKIP:
            parts.append(" " + _text(child) + " ")
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


@dataclass(frozen=True)
class _Source:
    caption: str
    rows: tuple[tuple[GridCell, ...], ...]
    key: tuple[str, ...]


def _read(table) -> _Source:
    """A <table> as rows of cells at their grid columns: a column span kept as one cell, a place a row span
    covers left empty (its text stands once, in the first row it spans)."""
    caption, trs = "", []
    for child in table:
        tag = child.tag.lower() if isinstance(child.tag, str) else ""
        if tag == "caption":
            caption = _text(child)
        elif tag == "tr":
            trs.append((child, False))
        elif tag in ("thead", "tbody", "tfoot"):
            trs.extend((tr, tag == "thead") for tr in child if isinstance(tr.tag, str) and tr.tag.lower() == "tr")
    covered: dict[int, int] = {}  # column -> rows a row span still covers
    rows = []
    for tr, in_head in trs:
        cells, col = [], 0
        for cell in tr:
            tag = cell.tag.lower() if isinstance(cell.tag, str) else ""
            if tag not in ("td", "th"):
                continue
            while covered.get(col, 0) > 0:
                covered[col] -= 1
                col += 1
            span, down = _span(cell, "colspan"), _span(cell, "rowspan")
            cells.append(GridCell(col, _text(cell), span, tag == "th" or in_head))
            if down > 1:
                for c in range(col, col + span):
                    covered[c] = down - 1
            col += span
        for c in [c for c in covered if c >= col and covered[c] > 0]:
            covered[c] -= 1
        rows.append(tuple(cells))
    key = tuple(t for t in [_squash(caption)] + [_squash(c.text) for row in rows for c in row] if t)
    return _Source(caption, tuple(rows), key)


class SourceTables:
    """The <table>s of a page as parsed, each matched at most once to a table of trafilatura's XML by
    its text (white space aside), read only when the XML has a table."""

    def __init__(self, tree):
        self._tree = tree
        self._tables: Optional[list[_Source]] = None
        self._used: set[int] = set()

    def match(self, key: tuple[str, ...]) -> Optional[_Source]:
        if self._tables is None:
            self._tables = [_read(t) for t in self._tree.iter("table")]
        for n, src in enumerate(self._tables):
            if n not in self._used and src.key == key:
                self._used.add(n)
                return src
        return None


def table_block(rows: Sequence[Sequence[tuple[str, bool]]],
                sources: Optional[SourceTables]) -> tuple[Optional[str], Optional[TableBlock]]:
    """(the caption, the table) from trafilatura's rows of (cell text, marked as head). Its texts are
    kept; when the page's own table has the same text, its layout is used (trafilatura pads a span with
    empty cells and marks only the first row of <th> as head), else trafilatura's grid as it is."""
    key = tuple(t for t in (_squash(text) for row in rows for text, _ in row) if t)
    src = sources.match(key) if sources is not None else None
    if src is None:
        return None, write_table([[GridCell(k, text, 1, head) for k, (text, head) in enumerate(row)] for row in rows])
    texts = [text for row in rows for text, _ in row if text]
    caption = texts.pop(0) if src.caption and _squash(src.caption) else None  # trafilatura's first row
    it = iter(texts)
    grid = [[replace(c, text=next(it)) if _squash(c.text) else replace(c, text="") for c in row] for row in src.rows]
    return caption, write_table(grid)
