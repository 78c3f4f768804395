"""qa.evaluation.bench.tatqa_render: an excerpt as an HTML page and a Word file with the same cells, deterministic files."""
from __future__ import annotations

import io
import json
import time
import zipfile

import pytest

from qa.evaluation.bench import tatqa_render
from qa.evaluation.bench.tatqa_data import Excerpt, header_rows

ROWS = (("", "", "Years Ended September 30,", ""), ("", "2019", "2018", "2017"),
        ("Fixed Price", "$  1,452.4", "$  1,146.2", "$  1,036.9"), ("Other <b>", "44.1", "56.7", "70.8"),
        ("Total sales", "$1,496.5", "$1,202.9", "$1,107.7"))
EXCERPT = Excerpt("3ffd9053-a45d-491c-957a-1b2fa0af0570", ROWS,
                  ("Sales by Contract Type: substantially all of our contracts are fixed-price.",
                   "The table above presents total net sales (in millions) & more."), header_rows(ROWS))


def test_the_html_page_has_every_cell_header_rows_as_th_then_the_paragraphs():
    import lxml.html

    page = tatqa_render.excerpt_html(EXCERPT)
    root = lxml.html.fromstring(page)
    rows = root.findall(".//tr")
    assert len(rows) == len(ROWS) and EXCERPT.header_rows == 2
    for i, (tr, want) in enumerate(zip(rows, ROWS)):
        cells = [c for c in tr if c.tag in ("th", "td")]
        assert [c.text_content() for c in cells] == list(want)  # escaped in the page, the same text
        assert {c.tag for c in cells} == {"th" if i < EXCERPT.header_rows else "td"}
    assert [p.text_content() for p in root.findall(".//p")] == list(EXCERPT.paragraphs)
    assert page.index("<table>") < page.index("<p>")  # the table first
    assert root.findtext(".//title") == tatqa_render.title_of(EXCERPT)


def test_the_word_file_has_a_real_table_with_the_same_cells(tmp_path):
    import docx
    from docx.oxml.ns import qn

    data = tatqa_render.excerpt_docx(EXCERPT)
    d = docx.Document(io.BytesIO(data))
    assert len(d.tables) == 1
    t = d.tables[0]
    assert [[c.text for c in r.cells] for r in t.rows] == [list(r) for r in ROWS]
    marked = [r._tr.trPr is not None and r._tr.trPr.find(qn("w:tblHeader")) is not None for r in t.rows]
    assert marked == [True, True, False, False, False]
    assert [p.text for p in d.paragraphs if p.text] == list(EXCERPT.paragraphs)
    body = list(d.element.body)
    assert body.index(t._tbl) < body.index(d.paragraphs[-1]._p)  # the table first
    assert d.core_properties.title == tatqa_render.title_of(EXCERPT)


def test_the_word_file_is_the_same_bytes_whenever_it_is_written(monkeypatch):
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    first = tatqa_render.excerpt_docx(EXCERPT)
    monkeypatch.setattr(time, "time", lambda: now + 3600)  # python-docx stamps the time of saving
    assert tatqa_render.excerpt_docx(EXCERPT) == first
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_pdf_dates_are_set_to_the_clock_zero_keeping_every_offset():
    raw = b"<< /CreationDate (D:20261206092159+00'00')\n/ModDate (D:20261206092200+00'00') >>"
    fixed = tatqa_render.fixed_pdf_dates(raw)
    assert len(fixed) == len(raw) and b"2026" not in fixed and fixed.count(b"(D:19700101000000+00'00')") == 2


def test_write_corpus_writes_only_what_changed_and_names_each_document(tmp_path):
    folder = tmp_path / "corpus"
    other = Excerpt("53474060-2736-46cb-bd97-1eb42f0ff3c1", ROWS[:3], ("One paragraph.",), 2)
    ids = tatqa_render.write_corpus([EXCERPT, other], "html", folder)
    assert ids == {EXCERPT.uid: "tatqa-3ffd9053-html", other.uid: "tatqa-53474060-html"}
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))["documents"]
    assert meta["tatqa-3ffd9053-html.html"]["doc_id"] == "tatqa-3ffd9053-html"
    page = folder / "tatqa-3ffd9053-html.html"
    stamp = page.stat().st_mtime_ns
    time.sleep(0.01)
    tatqa_render.write_corpus([EXCERPT], "html", folder)  # unchanged: not rewritten; the other one removed
    assert page.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.json", "tatqa-3ffd9053-html.html"]
    with pytest.raises(Exception, match="unknown format"):
        tatqa_render.write_corpus([EXCERPT], "odt", folder)



@pytest.mark.browser
def test_a_printed_pdf_is_the_same_bytes_every_time_and_holds_the_cells(tmp_path):
    import pypdfium2

    if tatqa_render.chromium() is None:
        pytest.skip("chromium is not installed")
    page = tmp_path / "page.html"
    page.write_text(tatqa_render.excerpt_html(EXCERPT), encoding="utf-8")
    tatqa_render.print_pdf(page, tmp_path / "a.pdf")
    time.sleep(1.1)  # Chromium stamps the second: the dates must not leak into the bytes
    tatqa_render.print_pdf(page, tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    doc = pypdfium2.PdfDocument(str(tmp_path / "a.pdf"))
    text = " ".join(doc[0].get_textpage().get_text_range().split())
    for row in ROWS:
        for cell in row:
            assert " ".join(cell.split()) in text
