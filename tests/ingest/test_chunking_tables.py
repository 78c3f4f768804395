"""qa.ingest.chunking on tables: one block, cut only between rows, each row a sentence; other text as before."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formats_fixtures import FIXTURES  # noqa: E402

from qa.ingest.chunking import ChunkSettings, passage_sentences, split_document, table_rows  # noqa: E402
from qa.ingest.formats import extract  # noqa: E402
from qa.types import Document  # noqa: E402


def _doc(path: Path) -> Document:
    r = extract(path)
    return Document(doc_id="t", source=str(path), text=r.text, title="t", format=r.format, tables=r.tables)


def _check(doc: Document, chunking: ChunkSettings) -> list:
    passages = split_document(doc, chunking)
    for t in doc.tables:
        rows = table_rows(t)
        inside = [p for p in passages if t.start <= p.start and p.end <= t.end]
        # the table's passages are whole rows, in order, covering every row once, nothing else with them
        assert [p.start for p in inside] == sorted(p.start for p in inside) and inside
        starts, ends = {s for s, _ in rows}, {e for _, e in rows}
        assert all(p.start in starts and p.end in ends for p in inside)
        assert sum(len([r for r in rows if p.start <= r[0] and r[1] <= p.end]) for p in inside) == len(rows)
        assert not any(p.start < t.start < p.end or p.start < t.end < p.end for p in passages)
        for p in inside:
            sents = passage_sentences(p, doc.text, tables=doc.tables)
            assert sents == [r for r in rows if p.start <= r[0] and r[1] <= p.end]  # a row is a sentence
            assert all("\n" not in doc.text[s:e] for s, e in sents)
    return passages


def test_a_table_is_one_passage_of_its_rows():
    for name in ("tables.html", "tables.pdf"):
        doc = _doc(FIXTURES / name)
        passages = _check(doc, ChunkSettings())
        for t in doc.tables:
            (p,) = [p for p in passages if t.start <= p.start and p.end <= t.end]
            assert "\n" in p.text and "\n\n" not in p.text  # its rows are consecutive lines
            assert p.boilerplate is None  # two tables' header rows repeat: no "repeated" boilerplate


def test_a_long_table_is_cut_between_rows():
    doc = _doc(FIXTURES / "tables.html")
    passages = _check(doc, ChunkSettings(max_tokens=30))
    revenue = doc.tables[0]
    inside = [p for p in passages if revenue.start <= p.start and p.end <= revenue.end]
    assert len(inside) >= 2
    assert doc.text[inside[-1].start:inside[-1].end].startswith("Total sales")


def test_text_around_tables_chunks_as_without_them():
    from dataclasses import replace

    doc = _doc(FIXTURES / "tables.html")
    spans = [(t.start, t.end) for t in doc.tables]
    # (sections may differ: without its record a table row such as "Total sales | ..." reads as a heading)
    outside = lambda ps: [(p.passage_id, p.boilerplate) for p in ps  # noqa: E731
                          if not any(s <= p.start < e for s, e in spans)]
    assert outside(split_document(doc)) == outside(split_document(replace(doc, tables=())))
