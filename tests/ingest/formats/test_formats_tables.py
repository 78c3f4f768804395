"""Tables in renditions: every cell's text at its offsets, its place and header flag, in HTML, DOCX and PDF."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from formats_fixtures import FIXTURES, chromium, print_to_pdf  # noqa: E402
from table_fixtures import COSTS, TATQA_LIKE, grids_docx  # noqa: E402

from qa.ingest.formats import Rendition, extract, extract_bytes  # noqa: E402
from qa.ingest.formats.tables import GridCell, guess_header_cols, guess_header_rows, is_number  # noqa: E402
from qa.types import Table  # noqa: E402

# (row, column, span, text, header) of the two tables of tests/data/formats/tables.html
REVENUE = [
    (0, 0, 1, "", True), (0, 1, 3, "Years Ended September 30,", True),
    (1, 0, 1, "", True), (1, 1, 1, "2019", True), (1, 2, 1, "2018", True), (1, 3, 1, "2017", True),
    (2, 0, 1, "Fixed Price", True), (2, 1, 1, "$ 1,452.4", False), (2, 2, 1, "$ 1,146.2", False),
    (2, 3, 1, "$ 1,036.9", False),
    (3, 0, 1, "Other", True), (3, 1, 1, "44.1", False), (3, 2, 1, "56.7", False), (3, 3, 1, "", False),
    (4, 0, 1, "Total sales", True), (4, 1, 1, "$ 1,496.5", False), (4, 2, 1, "$ 1,202.9", False),
    (4, 3, 1, "$ 1,107.7", False),
]
COSTS_CELLS = [
    (0, 0, 1, "", True), (0, 1, 1, "2019", True), (0, 2, 1, "2018", True),
    (1, 0, 1, "Staff costs", True), (1, 1, 1, "525", False), (1, 2, 1, "742", False),
    (2, 0, 1, "Fuel", True), (2, 1, 1, "(31)", False), (2, 2, 1, "48", False),
    (3, 0, 1, "Port charges", True), (3, 1, 1, "", False), (3, 2, 1, "17", False),
    (4, 0, 1, "Total costs", True), (4, 1, 1, "494", False), (4, 2, 1, "807", False),
]


@functools.lru_cache(maxsize=None)
def _extracted(name: str) -> Rendition:
    """A fixture's rendition, extracted once for the tests that only read it."""
    return extract(FIXTURES / name)


def cells(r: Rendition, t: Table) -> list[tuple]:
    return [(c.row, c.col, c.col_span, r.text[c.start:c.end], c.header) for c in t.cells]


def assert_table_text(r: Rendition, t: Table) -> None:
    """One row a line, its cells joined by " | ", an empty cell zero-width at its place."""
    lines = r.text[t.start:t.end].split("\n")
    assert len(lines) == t.n_rows
    for k, line in enumerate(lines):
        assert line == " | ".join(r.text[c.start:c.end] for c in t.row(k))
    assert all(c.start == c.end for c in t.cells if not r.text[c.start:c.end])
    before, after = r.text[:t.start], r.text[t.end:]
    assert (not before or before.endswith("\n\n")) and (not after or after.startswith("\n\n"))


def test_html_cells_places_headers_and_spans():
    r = extract(FIXTURES / "tables.html")
    revenue, costs = r.tables
    assert cells(r, revenue) == REVENUE  # spans and <th> rows from the page's own table
    assert cells(r, costs) == COSTS_CELLS  # no <th>: the first row is text (years) over figures
    assert (revenue.header_rows, revenue.header_cols, costs.header_rows, costs.header_cols) == (2, 1, 1, 1)
    for t in r.tables:
        assert_table_text(r, t)
    assert r.text[revenue.start:revenue.end].split("\n")[3] == "Other | 44.1 | 56.7 | "
    assert r.text[slice(*revenue.row_span(2))] == "Fixed Price | $ 1,452.4 | $ 1,146.2 | $ 1,036.9"
    assert extract(FIXTURES / "tables.html") == r  # the same text and tables again


def test_html_caption_and_fallback_grid():
    page = (b"<html><body><article><p>" + b"A paragraph long enough to be the article's own text. " * 3
            + b"</p><table><caption>Table 1: Fees</caption><tr><th>Item</th><th>Fee</th></tr>"
            b"<tr><td>Mooring</td><td>120</td></tr><tr><td>Crane</td><td></td></tr></table></article></body></html>")
    r = extract_bytes(page, ".html")
    (t,) = r.tables
    assert "\n\nTable 1: Fees\n\nItem | Fee\nMooring | 120\nCrane | " in r.text + "\n"
    assert cells(r, t)[-1] == (2, 1, 1, "", False)


def test_docx_spans_merged_cells_and_repeated_header_rows():
    data = grids_docx([("Revenue", TATQA_LIKE, "Sales by type of contract.")], header_rows=2, spans=True,
                      repeat_header=True)
    r = extract_bytes(data, ".docx")
    (t,) = r.tables
    assert cells(r, t) == REVENUE
    assert (t.header_rows, t.header_cols) == (2, 1)
    assert_table_text(r, t)
    assert extract_bytes(data, ".docx") == r


def test_docx_without_header_marks_heads_with_the_first_row():
    r = extract_bytes(grids_docx([("Costs", COSTS, "Costs by kind.")]), ".docx")
    (t,) = r.tables
    assert cells(r, t) == COSTS_CELLS and t.header_rows == 1


def _rects(r: Rendition, c) -> list[list[float]]:
    return [rc for b in r.boxes_for(c.start, c.end) for rc in b["rects"]]


@pytest.mark.parametrize("k, expected", [(0, REVENUE), (1, COSTS_CELLS)])
def test_pdf_ruled_and_unruled_tables(k, expected):
    """The Chromium print of tables.html: the first table has rules (pdfplumber), the second none."""
    from test_pdf import assert_map_true

    r = _extracted("tables.pdf")
    assert len(r.tables) == 2
    t = r.tables[k]
    assert cells(r, t) == expected
    assert_table_text(r, t)
    assert_map_true(r, (FIXTURES / "tables.pdf").read_bytes())
    # every filled cell has one box, on page 1; rows go down the page and columns to the right
    boxes = {(c.row, c.col): _rects(r, c) for c in t.cells if c.end > c.start}
    assert all(len(v) == 1 for v in boxes.values()) and {b["page"] for c in t.cells for b in r.boxes_for(c.start, c.end)} == {1}
    for (row, col), [rc] in boxes.items():
        for (row2, col2), [rc2] in boxes.items():
            if row2 == row + 1:
                assert rc2[3] <= rc[1] + 0.5  # y grows up: the next row lies below
            if row2 == row and col2 > col:
                assert rc2[0] >= rc[2] - 0.5
    # the table's cells lie between the paragraphs around it on the page
    before = r.text.rfind("\n\n", 0, t.start - 2)
    above = _rects(r, type("S", (), {"start": before + 2, "end": t.start - 2})())
    assert all(rc[3] <= min(a[1] for a in above) + 0.5 for [rc] in boxes.values())


def test_pdf_rendition_is_deterministic_and_saved(tmp_path):
    r = _extracted("tables.pdf")
    again = extract(FIXTURES / "tables.pdf")
    assert again.text == r.text and again.tables == r.tables
    r.save(tmp_path / "r")
    loaded = Rendition.load(tmp_path / "r")
    assert loaded.tables == r.tables and loaded.text == r.text


@pytest.mark.browser
def test_fresh_chromium_print_of_the_tables(tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): cannot print a PDF")
    out = tmp_path / "fresh.pdf"
    print_to_pdf(FIXTURES / "tables.html", out, header_footer=False)
    r, committed = extract(out), extract(FIXTURES / "tables.pdf")
    assert [cells(r, t) for t in r.tables] == [cells(committed, t) for t in committed.tables]


def test_figures_and_header_guesses():
    assert all(map(is_number, ["525", "(31)", "$ 1,452.4", "4.00%", "—", "- - %", "€ 12m", "1,206.4"]))
    assert not any(map(is_number, ["2019", "FY2018", "2019 €m", "Fiscal", "", "Total sales"]))
    grid = [[GridCell(c, t) for c, t in enumerate(row)] for row in TATQA_LIKE]
    assert (guess_header_rows(grid), guess_header_cols(grid, 2)) == (2, 1)
    text = [[GridCell(0, "Name"), GridCell(1, "Role")], [GridCell(0, "Ada"), GridCell(1, "Engineer")]]
    assert (guess_header_rows(text), guess_header_cols(text, 0)) == (0, 0)  # nothing tells a text table's head
