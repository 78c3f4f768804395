"""qa.types: Table and Cell records, and documents carrying them through documents.jsonl."""
from __future__ import annotations

import json

from qa.types import Cell, Document, Table

TABLE = Table(start=10, end=40, n_rows=2, n_cols=3, header_rows=1, header_cols=1, cells=(
    Cell(0, 0, 10, 10, True), Cell(0, 1, 13, 17, True, 2),
    Cell(1, 0, 18, 23, True), Cell(1, 1, 26, 29), Cell(1, 2, 32, 32)))


def test_table_round_trip_and_row_span():
    d = json.loads(json.dumps(TABLE.to_dict()))
    assert d["cells"][1] == [0, 1, 13, 17, 1, 2]
    assert Table.from_dict(d) == TABLE
    # a row's span runs from its first filled cell to its last: empty cells at its ends are not quoted
    assert TABLE.row_span(1) == (18, 29) and TABLE.row_span(0) == (13, 17) and [c.col for c in TABLE.row(0)] == [0, 1]


def test_document_tables_through_documents_jsonl():
    doc = Document(doc_id="d", source="d.html", text="x" * 50, title="t", format="html", tables=(TABLE,))
    row = json.loads(json.dumps({**doc.meta(), "text": doc.text}))
    assert row["tables"] == [TABLE.to_dict()] and "text_source" not in row
    back = Document(**row, text_source="d.html")
    assert back.tables == (TABLE,) and isinstance(back.tables[0], Table)
    # an index written before tables were kept has no such key: its documents load with none
    row.pop("tables")
    assert Document(**row).tables == ()
