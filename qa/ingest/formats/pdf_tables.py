"""PDF tables: ruled ones found by pdfplumber's table finder, unruled ones by the columns of PDFium's characters.

The table finder is given the page's rules as PDFium reads them (pdfplumber's own reading, through
pdfminer, takes about a second a page of formulas); the unruled finder is in pdf_unruled. Both give a
grid of cell boxes in displayed-page points; the page's own characters (PDFium's, which the rendition is
made of) are then sorted into its cells by their centres, and the table stands in the page's lines as a
TableLine (pdf_build), written as rows of cells.
"""
from __future__ import annotations

import ctypes
import re
from typing import Optional

from .base import MissingLibrary
from .pdf_build import TableLine, display
from .pdf_unruled import unruled_grids  # noqa: F401  (pdf.py takes both finders from here)
from .tables import is_number

MIN_RULES = 3  # rules across and down a page draws before pdfplumber looks for ruled tables there
RULED = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
MIN_INK = 0.1  # share of a table's area its characters' boxes cover at least (0.19 to 0.41 in 22 tables)

# a grid: rows of (column, column span, (left, top, right, bottom) or None for a place without a box)


def rules_drawn(raw, page) -> bool:
    """Whether a page draws what a ruled table is made of: at least MIN_RULES thin horizontal and as many
    thin vertical paths (or boxes) at its top level. pdfminer, under pdfplumber, reads a page in Python
    at about a second a page of formulas, so it is asked only about such pages."""
    n = raw.FPDFPage_CountObjects(page)
    if n < 2 * MIN_RULES:
        return False
    across = down = 0
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    for k in range(n):
        obj = raw.FPDFPage_GetObject(page, k)
        if raw.FPDFPageObj_GetType(obj) != raw.FPDF_PAGEOBJ_PATH:
            continue
        if not raw.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            continue
        w, h = right.value - left.value, top.value - bottom.value
        if w >= 8 * h and w >= 10:  # a rule across, or the top and bottom of a box
            across += 1 if h < 3 else 2
        if h >= 8 * w and h >= 8:
            down += 1 if w < 3 else 2
        if w >= 10 and h >= 8 and w < 8 * h and h < 8 * w:  # a box: two of each
            across, down = across + 2, down + 2
        if across >= MIN_RULES and down >= MIN_RULES:
            return True
    return False


def page_edges(raw, page, page_box, rot) -> list[dict]:
    """The straight rules a page draws (its path objects' level segments, a box's four sides), as
    pdfplumber's edges: displayed-page points from the top-left, "h" or "v"."""
    out: list[dict] = []
    m = raw.FS_MATRIX()
    x, y = ctypes.c_float(), ctypes.c_float()

    def edge(p, q):
        (x0, y0), (x1, y1) = p, q
        if abs(x1 - x0) < 1.0 and abs(y1 - y0) >= 2.0:
            kind = "v"
        elif abs(y1 - y0) < 1.0 and abs(x1 - x0) >= 2.0:
            kind = "h"
        else:
            return
        left, top, right, bottom = display((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), page_box, rot)
        if rot % 180:
            kind = "h" if kind == "v" else "v"
        out.append({"x0": left, "x1": right, "top": top, "bottom": bottom, "width": right - left,
                    "height": bottom - top, "orientation": kind, "object_type": "line"})

    for k in range(raw.FPDFPage_CountObjects(page)):
        obj = raw.FPDFPage_GetObject(page, k)
        if raw.FPDFPageObj_GetType(obj) != raw.FPDF_PAGEOBJ_PATH or not raw.FPDFPageObj_GetMatrix(obj, m):
            continue
        start = cur = None
        for i in range(raw.FPDFPath_CountSegments(obj)):
            seg = raw.FPDFPath_GetPathSegment(obj, i)
            if not raw.FPDFPathSegment_GetPoint(seg, x, y):
                continue
            pt = (m.a * x.value + m.c * y.value + m.e, m.b * x.value + m.d * y.value + m.f)
            kind = raw.FPDFPathSegment_GetType(seg)
            if kind == raw.FPDF_SEGMENT_MOVETO or cur is None:
                start = pt
            elif kind == raw.FPDF_SEGMENT_LINETO:
                edge(cur, pt)
            cur = pt
            if raw.FPDFPathSegment_GetClose(seg) and start is not None:
                edge(cur, start)
                cur = start
    return out


class _Page:
    """What pdfplumber's TableFinder asks of a page for ruled tables: its edges and its box."""

    def __init__(self, edges: list[dict], width: float, height: float):
        self.edges = edges
        self.bbox = (0.0, 0.0, width, height)


def ruled_grids(edges: list[dict], width: float, height: float) -> list[list]:
    """Grids of the ruled tables pdfplumber's table finder builds from a page's rules (PDFium's, so
    pdfminer never parses the page), in displayed-page points; tables of one row or one column (a
    framed note) are left out."""
    try:
        from pdfplumber.table import TableFinder
    except ImportError:
        raise MissingLibrary("pdfplumber", "pdfplumber") from None
    out = []
    for t in TableFinder(_Page(edges, width, height), RULED).tables:
        grid = _grid(t.rows, 0.0, 0.0)
        if len(grid) >= 2 and max(c + s for row in grid for c, s, _ in row) >= 2:
            out.append(grid)
    return out


def _grid(rows, ox: float, oy: float) -> list[list]:
    """pdfplumber's rows (cells aligned to the table's column edges, None where a span covers the place)
    as a grid: a place covered from the left widens that cell, one covered from above stays empty."""
    xs = sorted({float(c[0]) for row in rows for c in row.cells if c is not None})
    grid = []
    for row in rows:
        cells: list = []
        for k, bb in enumerate(row.cells):
            if bb is None:
                last = cells[-1] if cells else None
                if last is not None and last[2] is not None and last[0] + last[1] == k and last[2][2] > xs[k] + 0.5:
                    cells[-1] = (last[0], last[1] + 1, last[2])
                else:
                    cells.append((k, 1, None))
            else:
                x0, top, x1, bottom = (float(v) for v in bb)
                cells.append((k, 1, (x0 - ox, top - oy, x1 - ox, bottom - oy)))
        grid.append(cells)
    return grid


# --------------------------------------------------------------------------- characters into cells

def _inside(box, x: float, y: float, tol: float = 1.0) -> bool:
    return box[0] - tol <= x <= box[2] + tol and box[1] - tol <= y <= box[3] + tol


def take_tables(lines, grids: list[list], page_box, rot, figures: bool = False) -> list:
    """The page's lines with each table's characters taken out of them, and the table put, as a
    TableLine, where its first character's line stood; a line left without characters is dropped. A
    cell's characters keep PDFium's order, with a space (inserted) where they come from two lines. A
    grid that is no table (see _plausible; `figures` for an unruled one) leaves its characters be."""
    def boxes_of(grids):
        cbs = [[b for row in grid for _, _, b in row if b is not None] for grid in grids]
        return [(min(b[0] for b in cb), min(b[1] for b in cb), max(b[2] for b in cb), max(b[3] for b in cb))
                for cb in cbs]

    if not grids:
        return lines
    boxes = boxes_of(grids)
    taken, first, kept = _assign(lines, grids, boxes, page_box, rot)
    tables = [_table_line(grids[g], taken[g], boxes[g]) for g in range(len(grids))]
    good = [g for g, t in enumerate(tables) if first[g] is not None and _plausible(t, figures)]
    if len(good) < len(grids):
        grids = [grids[g] for g in good]
        if not grids:
            return lines
        boxes = boxes_of(grids)
        taken, first, kept = _assign(lines, grids, boxes, page_box, rot)
        tables = [_table_line(grids[g], taken[g], boxes[g]) for g in range(len(grids))]
    out: list = []
    for n, line in enumerate(lines):
        keep = kept.get(n)
        if keep is None:
            out.append(line)
        else:
            hyphen, keep = keep
            chars = [c for c in keep if c is not hyphen]
            if any(not c[1].isspace() for c in chars):
                line.chars = chars
                line.hyphen = line.hyphen if hyphen is not None and any(c is hyphen for c in keep) else None
                out.append(line)
        out.extend(tables[g] for g in range(len(grids)) if first[g] == n)
    return out


def _assign(lines, grids, boxes, page_box, rot):
    """(per grid: (row, column) -> characters; per grid: the line its first character came from; per line
    that gave any: (its end-of-line hyphen as a character or None, the characters it keeps))."""
    taken: list[dict] = [{} for _ in grids]
    first: list[Optional[int]] = [None] * len(grids)
    kept: dict[int, tuple] = {}
    for n, line in enumerate(lines):
        if line.furniture:
            continue
        hyphen = (line.hyphen[0], line.hyphen[2], line.hyphen[1]) if line.hyphen else None
        keep = []
        for c in list(line.chars) + ([hyphen] if hyphen else []):
            place = _place(c, grids, boxes, page_box, rot)
            if place is None:
                keep.append(c)
                continue
            g, key = place
            cell = taken[g].setdefault(key, [])
            if cell and cell[-1][3] != n:
                cell.append((-1, " ", c[2], n))
            cell.append((*c, n))
            first[g] = n if first[g] is None else first[g]
        if len(keep) < len(line.chars) + (hyphen is not None):
            kept[n] = (hyphen, keep)
    return taken, first, kept


_LEADER = re.compile(r"(?:\. ?){4}|…{2}")
_EQUATION = re.compile(r"^\(\d+(?:\.\d+)*[a-z]?\)$")


def _plausible(table: TableLine, figures: bool) -> bool:
    """Whether a grid holds a table: two rows and two columns with text, three cells and at least half of
    them filled, its characters' boxes covering a tenth of its area (a plot's axes enclose a few labels);
    an unruled one (`figures`) also needs three rows, a column besides the first whose cells are mostly
    figures (equation numbers are not), and no dot leaders (a table of contents), so that two columns of
    prose, a formula beside its number or the labels of a plot are left as text."""
    cells = [(col, table.cell_text(chars)) for row in table.rows for col, _, chars in row]
    filled = [(col, t) for col, t in cells if t.strip()]
    rows = sum(1 for row in table.rows if any(chars for _, _, chars in row))
    if rows < 2 or len({col for col, _ in filled}) < 2 or len(filled) < max(3, 0.5 * len(cells)):
        return False
    ink = sum((b[2] - b[0]) * (b[3] - b[1]) for row in table.rows for _, _, chars in row for i, _, b in chars if i >= 0)
    area = (table.right - table.left) * (table.bottom - table.top)
    if ink < MIN_INK * area:
        return False
    if not figures:
        return True
    if rows < 3 or any(_LEADER.search(t) for _, t in filled):
        return False
    for c in {col for col, _ in filled if col > 0}:
        vals = [t for col, t in filled if col == c]
        if (len(vals) >= 2 and sum(map(is_number, vals)) >= 2 / 3 * len(vals)
                and not all(_EQUATION.match(v.strip()) for v in vals)):
            return True
    return False


def _place(c, grids, boxes, page_box, rot) -> Optional[tuple[int, tuple[int, int]]]:
    """(grid, (row, column)) of the cell whose box holds the character's centre; None outside tables."""
    b = c[2]
    if b[0] != b[0]:  # NaN: no place on the page
        return None
    d = display(b, page_box, rot)
    x, y = (d[0] + d[2]) / 2, (d[1] + d[3]) / 2
    for g, grid in enumerate(grids):
        if not _inside(boxes[g], x, y):
            continue
        best, dist = None, None
        for r, row in enumerate(grid):
            for col, _, cb in row:
                if cb is None:
                    continue
                if _inside(cb, x, y, 0.0):
                    return g, (r, col)
                dd = max(cb[0] - x, x - cb[2], 0.0) + 4 * max(cb[1] - y, y - cb[3], 0.0)  # its own row first
                if dist is None or dd < dist:
                    best, dist = (r, col), dd
        return (g, best) if best is not None else None
    return None


def _clean(chars: list) -> list:
    """A cell's characters without spaces at its ends or two in a row."""
    out = []
    for c in chars:
        if c[1].isspace() and (not out or out[-1][1].isspace()):
            continue
        out.append(c[:3])
    while out and out[-1][1].isspace():
        out.pop()
    return out


def _table_line(grid: list, taken: dict, box) -> TableLine:
    """The table as rows of (column, span, characters), every column of the grid present (an empty cell
    where no box or no character is), the spans kept."""
    width = max(c + s for row in grid for c, s, _ in row)
    rows = []
    for r, row in enumerate(grid):
        cells, at = [], 0
        for col, span, _ in sorted(row):
            if col < at:
                continue
            cells.extend((k, 1, []) for k in range(at, col))
            cells.append((col, span, _clean(taken.get((r, col), []))))
            at = col + span
        cells.extend((k, 1, []) for k in range(at, width))
        if any(chars for _, _, chars in cells):
            rows.append(cells)
    return TableLine(rows, left=box[0], top=box[1], right=box[2], bottom=box[3], height=box[3] - box[1])
