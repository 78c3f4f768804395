"""Tables for the tests and for scripts/measure_tables.py: grids written as HTML and DOCX, and scored."""
from __future__ import annotations

import html
import io
import unicodedata
from typing import Optional, Sequence

Grid = list[list[str]]

# A table as an annual report prints it: a header over the years, the years, row labels, money, an
# empty cell (Other in 2017) and a total. Written for these tests.
TATQA_LIKE = [
    ["", "Years Ended September 30,", "", ""],
    ["", "2019", "2018", "2017"],
    ["Fixed Price", "$ 1,452.4", "$ 1,146.2", "$ 1,036.9"],
    ["Other", "44.1", "56.7", ""],
    ["Total sales", "$ 1,496.5", "$ 1,202.9", "$ 1,107.7"],
]
# a second, smaller one: a bracketed negative and an empty cell in the first column of figures
COSTS = [
    ["", "2019", "2018"],
    ["Staff costs", "525", "742"],
    ["Fuel", "(31)", "48"],
    ["Port charges", "", "17"],
    ["Total costs", "494", "807"],
]

STYLE = """
body { font-family: "DejaVu Sans", sans-serif; font-size: 11pt; margin: 2cm; }
table { border-collapse: collapse; margin: 1em 0; }
table.ruled td, table.ruled th { border: 1px solid #000; padding: 3px 8px; }
table.plain td, table.plain th { padding: 3px 12px; }
td.n { text-align: right; }
section { break-after: page; }
"""


def _spans(grid: Grid, header_rows: int) -> list[list[tuple[str, int]]]:
    """(text, colspan) per cell: in the header rows, a text followed by empty cells spans them."""
    out = []
    for r, row in enumerate(grid):
        cells: list[tuple[str, int]] = []
        c = 0
        while c < len(row):
            span = 1
            if r < header_rows and row[c]:
                while c + span < len(row) and not row[c + span]:
                    span += 1
            cells.append((row[c], span))
            c += span
        out.append(cells)
    return out


def table_html(grid: Grid, ruled: bool = True, header_rows: int = 0, spans: bool = False) -> str:
    """A <table>: the first `header_rows` rows of <th> in a <thead> (with colspans when `spans`), figures
    right-aligned."""
    rows = _spans(grid, header_rows) if spans else [[(t, 1) for t in row] for row in grid]
    out = [f'<table class="{"ruled" if ruled else "plain"}">']
    for r, row in enumerate(rows):
        if r == 0 and header_rows:
            out.append("<thead>")
        tag = "th" if r < header_rows else "td"
        cells = "".join(f'<{tag}{f" colspan={s}" if s > 1 else ""}{" class=n" if c and tag == "td" else ""}>'
                        f"{html.escape(t)}</{tag}>" for c, (t, s) in enumerate(row))
        out.append(f"<tr>{cells}</tr>")
        if r + 1 == header_rows:
            out.append("</thead><tbody>")
    out.append("</tbody></table>" if header_rows else "</table>")
    return "\n".join(out)


def page_html(sections: Sequence[tuple[str, Grid, str]], ruled: bool = True, header_rows: int = 0,
              spans: bool = False, title: str = "Tables", break_pages: bool = False) -> str:
    """A page of (heading, table, paragraph after it) sections, each table after a paragraph of text."""
    body = []
    for heading, grid, para in sections:
        body.append(f"<section>" if break_pages else "<div>")
        body.append(f"<h2>{html.escape(heading)}</h2>\n<p>{html.escape(para)}</p>")
        body.append(table_html(grid, ruled, header_rows, spans))
        body.append("</section>" if break_pages else "</div>")
    style = STYLE if break_pages else STYLE.replace("section { break-after: page; }", "")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{style}</style></head>\n<body><main>\n<h1>{html.escape(title)}</h1>\n" + "\n".join(body)
            + "\n</main></body></html>\n")


def grids_docx(sections: Sequence[tuple[str, Grid, str]], header_rows: int = 0, spans: bool = False,
               repeat_header: bool = False) -> bytes:
    """A Word file of (heading, table, paragraph) sections, the tables in the "Table Grid" style; with
    `spans`, a header text followed by empty cells is merged across them; with `repeat_header`, the
    header rows are marked to repeat on each page (w:tblHeader)."""
    import docx
    from docx.oxml import OxmlElement

    d = docx.Document()
    for heading, grid, para in sections:
        d.add_heading(heading, level=1)
        d.add_paragraph(para)
        t = d.add_table(rows=len(grid), cols=max(len(r) for r in grid))
        t.style = "Table Grid"
        for r, row in enumerate(_spans(grid, header_rows) if spans else [[(x, 1) for x in row] for row in grid]):
            c = 0
            for text, span in row:
                cell = t.cell(r, c)
                if span > 1:
                    cell = cell.merge(t.cell(r, c + span - 1))
                cell.text = text
                c += span
            if repeat_header and r < header_rows:
                t.rows[r]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- scoring

def _norm(s: Optional[str]) -> str:
    return " ".join(unicodedata.normalize("NFKC", s or "").split())


def dense(grid: Grid) -> Grid:
    """The grid with white space collapsed (NFKC) and rows and columns without any text left out: what a
    reader of the printed table can see."""
    g = [[_norm(x) for x in row] for row in grid]
    width = max((len(r) for r in g), default=0)
    g = [r + [""] * (width - len(r)) for r in g if any(r)]
    keep = [c for c in range(width) if any(r[c] for r in g)]
    return [[r[c] for c in keep] for r in g]


def table_cells(text: str, table) -> list[tuple[int, int, int, str]]:
    """A qa.types.Table's cells as (row, column, span, text)."""
    return [(c.row, c.col, c.col_span, text[c.start:c.end]) for c in table.cells]


def grid_cells(grid: Grid) -> list[tuple[int, int, int, str]]:
    return [(r, c, 1, x or "") for r, row in enumerate(grid) for c, x in enumerate(row)]


def score(gold: Grid, cells: Optional[list[tuple[int, int, int, str]]]) -> dict[str, int]:
    """Cells of the gold grid found with the same text at the same place, rows and columns without text
    left out on both sides (a cell spanning columns stands at each of them): `text_cells` of the
    `gold_text` cells with text, `empty_cells` of the `gold_empty` empty ones."""
    g = dense(gold)
    cells = [(r, c, s, _norm(t)) for r, c, s, t in (cells or []) if _norm(t)]
    rmap = {r: i for i, r in enumerate(sorted({r for r, _, _, _ in cells}))}
    cmap = {k: i for i, k in enumerate(sorted({k for _, c, s, _ in cells for k in range(c, c + s)}))}
    found = {(rmap[r], cmap[k]): t for r, c, s, t in cells for k in range(c, c + s)}
    out = {"gold_text": 0, "text_cells": 0, "gold_empty": 0, "empty_cells": 0}
    for r, row in enumerate(g):
        for c, x in enumerate(row):
            kind = "text" if x else "empty"
            out[f"gold_{kind}"] += 1
            out[f"{kind}_cells"] += found.get((r, c), "") == x
    return out
