"""qa.ingest.formats.docx: body order with tables, headings as Markdown lines, lists, core properties, skips."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from formats_fixtures import harbour_docx, lie_about_size, repack
from qa.ingest.formats import SkipFile, extract, extract_bytes

docx = pytest.importorskip("docx")


def _save(d) -> bytes:
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _report() -> bytes:
    d = docx.Document()
    cp = d.core_properties
    cp.title, cp.author, cp.created = "Harbour accounts", "Ines Ferreira", dt.datetime(2022, 11, 3, 9, 30)
    d.add_heading("Harbour accounts 2022", level=0)
    d.add_paragraph("The harbour trust closed the year with a small surplus.\tMost income came from moorings.")
    d.add_heading("Income", level=1)
    t = d.add_table(rows=3, cols=3)
    for i, row in enumerate([["Source", "2021", "2022"], ["Moorings", "41,200", "44,900"], ["Fuel sales", "-1,300", ""]]):
        for j, v in enumerate(row):
            t.cell(i, j).text = v
    d.add_paragraph("Income rose by nine per cent.")
    d.add_heading("Spending", level=2)
    d.add_paragraph("Dredging the inner channel", style="List Bullet")
    d.add_paragraph("Replacing two buoys", style="List Number")
    p = d.add_paragraph("Signed for the trust,")
    p.add_run().add_break()
    p.add_run("the treasurer")
    d.add_paragraph("")  # empty paragraphs leave no trace
    return _save(d)


def test_body_order_headings_tables_lists_and_properties():
    data = _report()
    r = extract_bytes(data, ".docx")
    paras = r.text.split("\n\n")
    assert paras == [
        "# Harbour accounts 2022",
        "The harbour trust closed the year with a small surplus. Most income came from moorings.",
        "## Income",
        "Source | 2021 | 2022\nMoorings | 41,200 | 44,900\nFuel sales | -1,300 | ",  # one paragraph, empty cell kept
        "Income rose by nine per cent.",
        "### Spending",
        "- Dredging the inner channel",
        "- Replacing two buoys",
        "Signed for the trust,\nthe treasurer",
    ]
    assert (r.format, r.extractor, r.pages, r.needs_copy) == ("docx", "python-docx", None, True)
    assert (r.title, r.author, r.date) == ("Harbour accounts", "Ines Ferreira", "2022-11-03")
    assert r.page_of(0, 5) is None and r.boxes_for(0, 5) == []
    assert extract_bytes(data, ".docx").text == r.text  # re-extraction gives the same text
    (table,) = r.tables
    assert [(c.row, c.col, r.text[c.start:c.end], c.header) for c in table.cells] == [
        (0, 0, "Source", True), (0, 1, "2021", True), (0, 2, "2022", True),
        (1, 0, "Moorings", True), (1, 1, "41,200", False), (1, 2, "44,900", False),
        (2, 0, "Fuel sales", True), (2, 1, "-1,300", False), (2, 2, "", False)]
    assert (table.header_rows, table.header_cols, table.n_rows, table.n_cols) == (1, 1, 3, 3)
    assert r.text[table.start:table.end] == paras[3]


def test_headings_become_sections_for_the_chunker():
    """The existing chunker reads "## ..." lines as section headings."""
    from qa.ingest.chunking import _MD_HEADING

    r = extract_bytes(_report(), ".docx")
    heads = [m.group(2) for line in r.text.splitlines() if (m := _MD_HEADING.match(line))]
    assert heads == ["Harbour accounts 2022", "Income", "Spending"]


def test_nested_table_merged_cells_and_content_controls():
    d = docx.Document()
    t = d.add_table(rows=2, cols=3)
    a = t.cell(0, 0).merge(t.cell(0, 1))
    a.text = "Quay"
    t.cell(0, 2).text = "Length"
    t.cell(1, 0).text = "North"
    inner = t.cell(1, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text = "old"
    inner.cell(0, 1).text = "new"
    t.cell(1, 2).text = "120 m"
    r = extract_bytes(_save(d), ".docx")
    # the nested table's cells run together inside their cell: the outer row keeps its three columns
    assert r.text == "Quay | Length\nNorth | old new | 120 m"
    (table,) = r.tables
    assert [(c.row, c.col, c.col_span, r.text[c.start:c.end]) for c in table.cells] == [
        (0, 0, 2, "Quay"), (0, 2, 1, "Length"), (1, 0, 1, "North"), (1, 1, 1, "old new"), (1, 2, 1, "120 m")]


def test_style_based_on_a_heading_is_a_heading():
    d = docx.Document()
    from docx.enum.style import WD_STYLE_TYPE

    st = d.styles.add_style("Chapter Head", WD_STYLE_TYPE.PARAGRAPH)
    st.base_style = d.styles["Heading 1"]
    d.add_paragraph("Part one", style="Chapter Head")
    d.add_paragraph("Body text.")
    assert extract_bytes(_save(d), ".docx").text == "## Part one\n\nBody text."


def test_skips(tmp_path):
    empty_doc = _save(docx.Document())
    cases = {
        "empty.docx": (empty_doc, "empty"),
        "zero.docx": (b"", "empty"),
        "junk.docx": (b"PK\x03\x04" + bytes(range(256)) * 8, "corrupt"),
        "legacy.docx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "unsupported"),
        "locked.docx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100 + "EncryptionInfo".encode("utf-16-le"),
                        "encrypted"),
        "half.docx": (_report()[:3000], "corrupt"),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a word document")
    cases["zip.docx"] = (buf.getvalue(), "corrupt")
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(SkipFile) as e:
            extract(tmp_path / name)
        assert e.value.reason == reason, (name, e.value)


# --------------------------------------------------------------------------- dates and titles

def _plain(**core) -> bytes:
    """A document made with python-docx from its default template; `core` sets core properties."""
    d = docx.Document()
    for k, v in core.items():
        setattr(d.core_properties, k, v)
    d.add_paragraph("The harbour trust met on Tuesday and agreed the moorings fees for next year.")
    return _save(d)


def _rewrite(data: bytes, name: str, new: bytes | None) -> bytes:
    """The package with one part replaced (or, with None, removed along with its relationship)."""
    import re

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == name:
                if new is None:
                    continue
                body = new
            elif new is None and info.filename == "_rels/.rels":
                body = re.sub(rb"<Relationship [^>]*Target=\"/?" + re.escape(name.encode()) + rb"\"[^>]*/>", b"", body)
            zout.writestr(info, body)
    return out.getvalue()


# docProps/core.xml as Word writes it
WORD_CORE = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"
 xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<dc:title>%(title)s</dc:title><dc:creator>Ines Ferreira</dc:creator><cp:lastModifiedBy>Tom Hay</cp:lastModifiedBy>
<cp:revision>4</cp:revision>
<dcterms:created xsi:type="dcterms:W3CDTF">%(created)s</dcterms:created>
<dcterms:modified xsi:type="dcterms:W3CDTF">%(modified)s</dcterms:modified>
</cp:coreProperties>"""


def test_a_document_made_from_python_docx_s_template_has_no_date_author_or_title():
    data = _plain()
    core = zipfile.ZipFile(io.BytesIO(data)).read("docProps/core.xml")
    assert b"2013-12-23T23:15:00Z" in core and b"<dc:creator>python-docx</dc:creator>" in core  # what it carries
    r = extract_bytes(data, ".docx")
    assert (r.title, r.author, r.date) == (None, None, None)
    # what the program sets is the document's own
    r = extract_bytes(_plain(created=dt.datetime(2023, 6, 2, 8, 0), author="Ines Ferreira", title="Fees"), ".docx")
    assert (r.title, r.author, r.date) == ("Fees", "Ines Ferreira", "2023-06-02")
    # the template's creation stamp with a save of its own (Word keeps `created`, moves `modified`)
    assert extract_bytes(_plain(modified=dt.datetime(2024, 3, 9, 17, 5)), ".docx").date == "2024-03-09"


def test_word_s_core_properties_give_the_creation_date():
    def core(created, modified, title="Moorings fees 2024"):
        data = _rewrite(_plain(), "docProps/core.xml", WORD_CORE % {
            b"title": title.encode(), b"created": created.encode(), b"modified": modified.encode()})
        r = extract_bytes(data, ".docx")
        return r.title, r.author, r.date

    assert core("2022-11-03T09:30:00Z", "2023-01-10T16:02:00Z") == ("Moorings fees 2024", "Ines Ferreira", "2022-11-03")
    assert core("2013-12-23T23:15:00Z", "2023-01-10T16:02:00Z")[2] == "2023-01-10"  # made from the template
    assert core("2013-12-23T23:15:00Z", "2013-12-23T23:15:00Z")[2] is None
    assert core("1601-01-01T00:00:00Z", "2023-01-10T16:02:00Z")[2] == "2023-01-10"  # a zero FILETIME
    assert core("2022-11-03T09:30:00Z", "2022-11-01T09:30:00Z")[2] == "2022-11-03"  # created wins
    assert core("2022-11-03T09:30:00Z", "2023-01-10T16:02:00Z", title="Document1")[0] is None
    assert core("2022-11-03T09:30:00Z", "2023-01-10T16:02:00Z", title="Microsoft Word - fees.docx")[0] is None


def test_a_file_without_core_properties_is_not_dated_by_its_reading():
    """python-docx makes up properties a file lacks ("Word Document", modified now): they are not the file's."""
    data = _rewrite(_plain(), "docProps/core.xml", None)
    assert "docProps/core.xml" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    r = extract_bytes(data, ".docx")
    assert (r.title, r.author, r.date) == (None, None, None) and "moorings fees" in r.text


def test_a_docx_without_a_title_is_cited_by_its_title_paragraph(tmp_path):
    from qa.ingest.corpus import read_corpus

    d = docx.Document()
    d.add_paragraph("CONFIDENTIAL")
    d.add_heading("Moorings fees 2024", level=0)
    d.add_paragraph("The harbour trust met on Tuesday and agreed the moorings fees for next year.")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "fees.docx").write_bytes(_save(d))
    (doc,) = read_corpus(tmp_path / "c").documents
    assert (doc.title, doc.author, doc.date) == ("Moorings fees 2024", None, None)


def test_zip_bombs_are_skipped_unread_and_lying_sizes_end_in_a_crc_error(tmp_path):
    harbour_docx(tmp_path / "h.docx")
    docx_bytes = (tmp_path / "h.docx").read_bytes()
    # its own limits are the default ones (200 MiB); a directory that declares more is skipped unread
    mb = 2**20
    declared = lie_about_size(repack(docx_bytes, {"word/media/zeros.bin": bytes(mb)}), "word/media/zeros.bin",
                              300 * mb)
    with pytest.raises(SkipFile) as e:
        extract_bytes(declared, ".docx")
    assert e.value.reason == "too-large" and "zip bomb" in e.value.message
    # a document.xml that unzips to more than it declares: zipfile stops at the declared size and fails
    # the CRC, so python-docx never holds more than the directory said
    part = "word/document.xml"
    real = zipfile.ZipFile(io.BytesIO(docx_bytes)).getinfo(part).file_size
    with pytest.raises(SkipFile) as e:
        extract_bytes(lie_about_size(docx_bytes, part, real // 2), ".docx")
    assert e.value.reason == "corrupt"
    assert "Harbour report" in extract_bytes(docx_bytes, ".docx").text
