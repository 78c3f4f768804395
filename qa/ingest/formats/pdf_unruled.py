"""Unruled PDF tables: columns of pieces of PDFium's lines that line up, with the rows that head them."""
from __future__ import annotations

import statistics
from typing import Optional

from .pdf_build import display

GAP = 1.0  # a gap between characters wider than this many line heights separates two columns
MAX_CELL_CHARS = 40  # a "column" whose pieces are mostly longer is a column of prose, not a table
PITCH = 1.2  # rows of a table lie at most this many line heights apart
HEAD_ROWS = 3  # lines above an unruled table that may head its columns
LOOKAHEAD = 2  # rows without a second column an unruled table may hold before its next full row

# a grid: rows of (column, column span, (left, top, right, bottom)) in displayed-page points

def _inked(line, page_box, rot) -> list[tuple]:
    """(left, top, right, bottom) of each inked, non-space character of a line, in display points."""
    out = []
    for c in line.chars:
        b = c[2]
        if c[0] >= 0 and not c[1].isspace() and b[2] > b[0] and b[3] > b[1]:
            out.append(display(b, page_box, rot))
    return out


def _visual_rows(lines, page_box, rot) -> list[dict]:
    """The page's lines grouped into visual rows (pieces at one height), top to bottom, each with its
    pieces: runs of characters separated by more than GAP line heights."""
    rows: list[dict] = []
    for line in sorted((ln for ln in lines if not ln.furniture and ln.height > 0), key=lambda ln: ln.top):
        row = rows[-1] if rows else None
        if row and min(row["bottom"], line.bottom) - max(row["top"], line.top) >= 0.5 * min(row["h"], line.height):
            row["lines"].append(line)
            row["top"], row["bottom"] = min(row["top"], line.top), max(row["bottom"], line.bottom)
        else:
            rows.append({"lines": [line], "top": line.top, "bottom": line.bottom, "h": line.height})
    for row in rows:
        boxes = sorted((b for ln in row["lines"] for b in _inked(ln, page_box, rot)), key=lambda b: b[0])
        h = statistics.median(ln.height for ln in row["lines"])
        pieces: list[list] = []
        for b in boxes:
            if pieces and b[0] - pieces[-1][-1][2] <= GAP * h:
                pieces[-1].append(b)
            else:
                pieces.append([b])
        row["h"] = h
        row["pieces"] = [(p[0][0], max(b[2] for b in p), len(p)) for p in pieces]
        row["top"] = min((b[1] for b in boxes), default=row["top"])
        row["bottom"] = max((b[3] for b in boxes), default=row["bottom"])
    return rows


def _columns(rows: list[dict]) -> list[list[float]]:
    """The table's columns: the pieces' extents, overlapping ones merged."""
    spans = sorted([a, b] for row in rows for a, b, _ in row["pieces"])
    cols: list[list[float]] = []
    for a, b in spans:
        if cols and a <= cols[-1][1] + 0.5:
            cols[-1][1] = max(cols[-1][1], b)
        else:
            cols.append([a, b])
    return cols


def _near(a: dict, b: dict) -> bool:
    return b["top"] - a["bottom"] <= PITCH * max(a["h"], b["h"])


def unruled_grids(lines, page_box, rot) -> list[list]:
    """Grids of the tables without rules on a page: runs of at least two rows with pieces in two or more
    columns that line up (up to LOOKAHEAD rows of one piece may sit between them), short pieces (not two columns of
    prose), and up to HEAD_ROWS lines above them that head the columns (a "Years ended" over the years,
    units); rows in order, columns where the pieces' extents do not overlap."""
    rows = _visual_rows(lines, page_box, rot)
    grids, i = [], 0
    while i < len(rows):
        if len(rows[i]["pieces"]) < 2:
            i += 1
            continue
        j = i + 1
        while j < len(rows) and _near(rows[j - 1], rows[j]):
            if len(rows[j]["pieces"]) < 2:  # a label alone ("Industrial Solutions:"), units: more rows follow
                ahead = rows[j + 1:j + 1 + LOOKAHEAD]
                if not any(len(r["pieces"]) >= 2 for r in ahead) or not _near(rows[j], ahead[0]):
                    break
            j += 1
        body = rows[i:j]
        grid = _table(rows, i, body)
        if grid is not None:
            grids.append(grid)
        i = j
    return grids


def _table(rows: list[dict], i: int, body: list[dict]) -> Optional[list]:
    multi = [r for r in body if len(r["pieces"]) >= 2]
    lengths = [n for r in multi for _, _, n in r["pieces"]]
    if len(multi) < 2 or statistics.median(lengths) > MAX_CELL_CHARS:
        return None
    cols = _columns(multi)
    if len(cols) < 2:
        return None
    head = []
    for k in range(i - 1, max(i - 1 - HEAD_ROWS, -1), -1):
        r = rows[k]
        if not _near(r, (head[0] if head else body[0])) or any(a < cols[0][1] for a, _, _ in r["pieces"]):
            break
        if r["pieces"][-1][1] > cols[-1][1] + r["h"]:
            break
        head.insert(0, r)
    rows_in = _unwrap(head + body)
    edges = [cols[0][0] - 2.0] + [(cols[k][1] + cols[k + 1][0]) / 2 for k in range(len(cols) - 1)] + [cols[-1][1] + 2.0]
    grid = []
    for r in rows_in:
        cells: dict[int, int] = {}
        reach: dict[int, tuple[float, float]] = {}
        for a, b, _ in r["pieces"]:
            over = [k for k, (ca, cb) in enumerate(cols) if a < cb and b > ca]
            if not over:
                over = [min(range(len(cols)), key=lambda k: abs((cols[k][0] + cols[k][1]) / 2 - (a + b) / 2))]
            first, last = min(over), max(over)
            if first in cells:
                last = max(last, first + cells[first] - 1)
                a, b = min(a, reach[first][0]), max(b, reach[first][1])
            cells[first], reach[first] = last - first + 1, (a, b)
        top, bottom = r["top"] - 0.5, r["bottom"] + 0.5
        # a cell's box reaches over its whole piece, where a wide heading passes the column's edge
        grid.append([(c, s, (min(edges[c], reach[c][0] - 0.5), top, max(edges[c + s], reach[c][1] + 0.5), bottom))
                     for c, s in sorted(cells.items())])
    return grid


def _unwrap(rows: list[dict]) -> list[dict]:
    """Rows with the lines of a wrapped cell ("Year Ended May" over "31,") joined: where the table's rows
    are set apart by padding, two rows much closer than the usual gap are one."""
    gaps = [b["top"] - a["bottom"] for a, b in zip(rows, rows[1:])]
    if not gaps:
        return rows
    usual, h = statistics.median(gaps), statistics.median(r["h"] for r in rows)
    out = [dict(rows[0])]
    for r, gap in zip(rows[1:], gaps):
        if usual > 0.25 * h and gap < 0.5 * usual:
            last = out[-1]
            last["pieces"] = last["pieces"] + r["pieces"]
            last["top"], last["bottom"] = min(last["top"], r["top"]), max(last["bottom"], r["bottom"])
        else:
            out.append(dict(r))
    return out


