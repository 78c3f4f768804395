"""qa.ingest.formats.pdf: offsets and boxes that map back to PDFium's characters, hyphen joining, page furniture,
the 31 sample files, page numbers checked against poppler's pdftotext, and skip reasons."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest

from formats_fixtures import (
    EXPECTED_SKIPS, FIXTURES, SAMPLES, draw_pdf, hyphen_pdf, pdftotext_pages, print_to_pdf, report_pdf, sample_key,
    sample_paths, sample_result, squash, tex_words, chromium,
)
from qa.ingest.formats import Rendition, SkipFile, extract, extract_bytes

pdfium = pytest.importorskip("pypdfium2")
raw = pytest.importorskip("pypdfium2.raw")

HYPHEN_MARKS = {"\x02", "\u00ad"}  # PDFium's end-of-line hyphen code; a visible soft hyphen
# PDFium mirrors the brackets of a right-to-left run; the rendition gives back the PDF's own character
MIRRORED = dict(zip("()[]{}<>«»‹›", ")(][}{><»«›‹"))


def _page_truth(data: bytes):
    """Per page: PDFium's characters by index, and the page's visible box (independently of qa.ingest.formats)."""
    doc = pdfium.PdfDocument(data)
    out = []
    try:
        for page in doc:
            tp = page.get_textpage()
            codes = [raw.FPDFText_GetUnicode(tp.raw, i) for i in range(tp.count_chars())]
            out.append(([chr(u) if u <= 0x10FFFF else "" for u in codes], tuple(page.get_bbox())))
            tp.close()
            page.close()
    finally:
        doc.close()
    return out


def assert_map_true(r: Rendition, data: bytes) -> int:
    """Every rendition character that came from a page is that page's character at the mapped index,
    and its box lies inside the page; every inserted character is white space, or a table's cell
    separator outside its cells. Returns how many came from pages."""
    cm = r.charmap
    assert cm is not None and len(cm) == len(r.text)
    assert cm.char_page.dtype in (np.int16, np.int32) and cm.char_box.dtype == np.float32
    truth = _page_truth(data)
    assert cm.pages == len(truth) == r.pages
    pages, index, boxes = cm.char_page, cm.char_index, cm.char_box
    inserted = np.flatnonzero(pages == 0)
    assert {r.text[i] for i in inserted} <= {" ", "\n", "|"}
    in_cells = np.zeros(len(r.text), bool)
    for t in r.tables:
        for c in t.cells:
            in_cells[c.start:c.end] = True
    assert not any(r.text[i] == "|" and in_cells[i] for i in inserted)
    assert (index[inserted] == -1).all() and np.isnan(boxes[inserted]).all()
    tol = 0.01
    for p in range(1, cm.pages + 1):
        at = np.flatnonzero(pages == p)
        if not len(at):
            continue
        chars, (bx0, by0, bx1, by1) = truth[p - 1]
        assert np.allclose(cm.page_box[p - 1], (bx0, by0, bx1, by1), atol=0.01)
        ks = index[at]
        assert ks.min() >= 0 and ks.max() < len(chars)
        for i, k in zip(at.tolist(), ks.tolist()):
            ch, page_ch = r.text[i], chars[k]
            assert ch == page_ch or (page_ch in HYPHEN_MARKS and ch == "-") or MIRRORED.get(page_ch) == ch, (
                f"{i}: {ch!r} != page {p}[{k}] {page_ch!r}")
        b = boxes[at].astype(np.float64)
        inside = ((b[:, 0] >= bx0 - tol) & (b[:, 0] <= b[:, 2]) & (b[:, 2] <= bx1 + tol)
                  & (b[:, 1] >= by0 - tol) & (b[:, 1] <= b[:, 3]) & (b[:, 3] <= by1 + tol))
        assert inside.all(), f"page {p}: boxes outside the page at {at[~inside][:5]}"
    return int((pages > 0).sum())


# --------------------------------------------------------------------------- generated files

def test_report_offsets_boxes_and_furniture():
    data, firsts = report_pdf(n_pages=4)
    r = extract_bytes(data, ".pdf")
    assert r.format == "pdf" and r.pages == 4 and r.needs_copy
    assert assert_map_true(r, data) > 1000
    by_reason = {}
    for s, e, why in r.marks:
        by_reason.setdefault(why, []).append((s, e))
        # each piece of furniture is a paragraph of its own
        assert s == 0 or r.text[s - 2:s] == "\n\n"
        assert e == len(r.text) or r.text[e:e + 2] == "\n\n"
    headers = [r.text[s:e] for s, e in by_reason["header"]]
    numbers = [r.text[s:e] for s, e in by_reason["page-number"]]
    assert headers == ["Riverside Town Council - Minutes 2024"] * 4
    assert numbers == [f"Page {n} of 4" for n in range(1, 5)]
    assert [r.page_of(s, e) for s, e in by_reason["page-number"]] == [1, 2, 3, 4]
    # the body is not furniture, and pages are separated by a blank line
    for n, first in enumerate(firsts, 1):
        i = r.text.index(first)
        assert r.page_of(i, i + len(first)) == n
        assert not any(s <= i < e for s, e, _ in r.marks)
    assert "\n\n\n" not in r.text


def test_paragraphs_from_vertical_gaps():
    data, _ = report_pdf(n_pages=1)
    r = extract_bytes(data, ".pdf")
    paras = [p for p in r.text.split("\n\n")]
    items = [p for p in paras if p.startswith("Item ")]
    assert len(items) >= 5
    # wrapped lines are joined with a space inside a paragraph, never a newline
    assert all("\n" not in p and "  " not in p for p in items)
    assert all(re.match(r"Item \d+ of page 1\. The committee met", p) for p in items)


def test_hyphen_joining():
    data = hyphen_pdf()
    r = extract_bytes(data, ".pdf")
    assert "in extraordinary condition" in r.text  # the printer's hyphen dropped, no space
    assert "the old Anglo-Saxon boundary" in r.text  # a capital after the break: the hyphen is kept
    assert "extra-" not in r.text and "extra ordinary" not in r.text
    assert_map_true(r, data)
    # the joined word's characters still point at their own page characters
    i = r.text.index("extraordinary")
    idx = r.charmap.char_index[i:i + len("extraordinary")]
    assert (idx >= 0).all() and (np.diff(idx) > 0).all()
    assert r.page_of(i, i + 13) == 1


def test_boxes_for_merges_per_line_and_page():
    data, firsts = report_pdf(n_pages=2)
    r = extract_bytes(data, ".pdf")
    first = r.text.index("Item 1 of page 1.")
    para_end = r.text.index("\n\n", first)
    boxes = r.boxes_for(first, para_end)
    assert len(boxes) == 1 and boxes[0]["page"] == 1
    rects = boxes[0]["rects"]
    lines = len(r.text[first:para_end]) // 80  # ~88 characters a line
    assert lines - 1 <= len(rects) <= lines + 2
    tops = [rc[3] for rc in rects]
    assert tops == sorted(tops, reverse=True)  # line by line down the page (y grows up)
    for x0, y0, x1, y1 in rects:
        assert 60 < x0 < x1 < 560 and 30 < y0 < y1 < 780 and 8 < y1 - y0 < 20
    # a span across the page break gives one group per page
    s = r.text.rindex("Item", 0, r.text.index(firsts[1]))
    e = r.text.index(firsts[1]) + 20
    pages = [b["page"] for b in r.boxes_for(s, e)]
    assert pages == [1, 2]
    assert r.page_of(s, e) == 1
    assert r.boxes_for(5, 5) == []


def test_re_extraction_is_identical(tmp_path):
    for data in (report_pdf(3)[0], hyphen_pdf(), (SAMPLES / "026-latex-multicolumn/multicolumn.pdf").read_bytes()):
        a, b = extract_bytes(data, ".pdf"), extract_bytes(data, ".pdf")
        assert a.text == b.text and a.marks == b.marks and a.extractor_version == b.extractor_version
        assert np.array_equal(a.charmap.char_index, b.charmap.char_index)
        assert np.array_equal(a.charmap.char_box, b.charmap.char_box, equal_nan=True)
        assert a.source_sha256 == b.source_sha256


def test_charmap_save_load_without_pickle(tmp_path):
    data, _ = report_pdf(2)
    r = extract_bytes(data, ".pdf")
    r.save(tmp_path / "r")
    for f in (tmp_path / "r" / "charmap").glob("*.npy"):
        np.load(f, allow_pickle=False)  # plain arrays, loadable without pickle
        assert f.read_bytes()[:6] == b"\x93NUMPY"
    back = Rendition.load(tmp_path / "r")
    assert back.text == r.text and back.marks == r.marks and back.pages == r.pages
    assert np.array_equal(back.charmap.char_page, r.charmap.char_page)
    assert np.array_equal(back.charmap.char_box, r.charmap.char_box, equal_nan=True)
    assert back.boxes_for(0, 200) == r.boxes_for(0, 200)


def test_render_page_png_and_pixel_mapping_on_rotated_pages():
    from PIL import Image

    from qa.ingest.formats.pdf import render_page_png

    path = SAMPLES / "015-arabic/habibi-rotated.pdf"
    r = extract(path)
    cm = r.charmap
    assert sorted(int(v) for v in cm.page_rotation) == [0, 90, 180, 270]
    for page in range(1, 5):
        png = render_page_png(path, page, scale=1.0)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        im = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
        w, h = r.page_size(page)
        assert abs(im.shape[1] - w) <= 1.5 and abs(im.shape[0] - h) <= 1.5
        inked = 0
        idx = [i for i in np.flatnonzero(cm.char_page == page) if cm.char_box[i][2] > cm.char_box[i][0]]
        for i in idx:
            left, top, right, bottom = cm.to_pixels(page, cm.char_box[i], 1.0)
            crop = im[int(top):int(np.ceil(bottom)), int(left):int(np.ceil(right))]
            inked += bool(crop.size and (crop < 128).any())
        assert idx and inked == len(idx), f"page {page}: ink under {inked} of {len(idx)} boxes"


# --------------------------------------------------------------------------- skip reasons

def test_encrypted_sample():
    with pytest.raises(SkipFile) as e:
        extract(SAMPLES / "005-libreoffice-writer-password/libreoffice-writer-password.pdf")
    assert e.value.reason == "encrypted"


@pytest.mark.parametrize("key", [k for k, v in EXPECTED_SKIPS.items() if v == "no-text-layer"])
def test_image_only_samples(key):
    with pytest.raises(SkipFile) as e:
        extract(SAMPLES / key)
    assert e.value.reason == "no-text-layer" and "OCR" in e.value.message


def test_truncated_empty_and_junk(tmp_path):
    data = (SAMPLES / "004-pdflatex-4-pages/pdflatex-4-pages.pdf").read_bytes()
    cases = {
        "half.pdf": (data[: len(data) // 2], "corrupt"),
        "empty.pdf": (b"", "empty"),
        "junk.pdf": (bytes(range(256)) * 40, "corrupt"),
        "header-only.pdf": (b"%PDF-1.7\n%%EOF\n", "corrupt"),
    }
    for name, (content, reason) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(SkipFile) as e:
            extract(tmp_path / name)
        assert e.value.reason == reason, (name, e.value)


def test_too_many_pages():
    from qa.ingest.formats.pdf import extract_pdf_bytes

    data, _ = report_pdf(3)
    with pytest.raises(SkipFile) as e:
        extract_pdf_bytes(data, max_pages=2)
    assert e.value.reason == "too-large"


# --------------------------------------------------------------------------- the 31 samples

@pytest.mark.parametrize("path", sample_paths(), ids=sample_key)
def test_every_sample_extracts_or_skips_for_its_reason(path):
    res = sample_result(path)
    want = EXPECTED_SKIPS.get(sample_key(path))
    if want:
        assert isinstance(res, SkipFile) and res.reason == want, res
        return
    assert isinstance(res, Rendition), res
    assert res.text.strip()
    assert assert_map_true(res, path.read_bytes()) > 0
    tex = list(path.parent.glob("*.tex"))
    if tex:
        words = tex_words(tex[0].read_text(encoding="utf-8"))
        have = {w.casefold() for w in re.findall(r"[A-Za-z]{3,}", res.text)}
        assert words <= have, f"missing from the rendition: {sorted(words - have)[:20]}"


def test_sample_count_and_metadata():
    assert len(sample_paths()) == 31
    xmp = sample_result(SAMPLES / "020-xmp/output_with_metadata_pymupdf.pdf")
    assert (xmp.title, xmp.author, xmp.date) == ("Sample PDF with XMP Metadata", "John Doe", "1990-04-28")
    rl = sample_result(SAMPLES / "008-reportlab-inline-image/inline-image.pdf")
    assert (rl.title, rl.author) == (None, None)  # ReportLab's "untitled" by "anonymous" are placeholders
    two = sample_result(SAMPLES / "026-latex-multicolumn/multicolumn.pdf")
    assert [(two.text[s:e], two.page_of(s, e)) for s, e, _ in two.marks] == [("1", 1), ("2", 2), ("3", 3)]
    tex = sample_result(SAMPLES / "001-trivial/minimal-document.pdf")
    assert tex.date == "2022-04-03" and tex.title is None
    geo = sample_result(SAMPLES / "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf")
    assert geo.author == "Martin Thoma" and geo.pages == 117
    # the book's running heads ("8 1.2. METRISCHE RÄUME") are furniture on most pages
    heads = [geo.text[s:e] for s, e, why in geo.marks if why == "header"]
    assert len(heads) > 90 and all(re.match(r"^(\d+ .*|.* \d+)$", h) for h in heads)


@pytest.mark.skipif(pdftotext_pages(SAMPLES / "001-trivial/minimal-document.pdf") is None,
                    reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.parametrize("key", [
    "004-pdflatex-4-pages/pdflatex-4-pages.pdf", "006-pdflatex-outline/pdflatex-outline.pdf",
    "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf", "026-latex-multicolumn/multicolumn.pdf",
    "011-google-doc-document/google-doc-document.pdf", "generated-report", "chromium-report",
])
def test_page_of_agrees_with_pdftotext(key, tmp_path):
    if key == "generated-report":
        path = tmp_path / "report.pdf"
        path.write_bytes(report_pdf(5)[0])
    elif key == "chromium-report":
        path = FIXTURES / "chromium-report.pdf"
    else:
        path = SAMPLES / key
    r = sample_result(path) if path.is_relative_to(SAMPLES) else extract(path)
    poppler = [squash(p) for p in pdftotext_pages(path)]
    assert len(poppler) == r.pages
    checked = unique = 0
    # sampled spans: every sentence-like run of 25+ characters, and the start of every paragraph
    spans = [(m.start(), m.end()) for m in re.finditer(r"[^\n.!?]{25,}[.!?]?", r.text)]
    spans += [(m.start(), min(m.start() + 60, m.end())) for m in re.finditer(r"[^\n]{25,}", r.text)]
    for s, e in spans:
        key_text = squash(r.text[s:e])[:40]
        if len(key_text) < 20:
            continue
        found = [n for n, text in enumerate(poppler, 1) if key_text in text]
        if not found:
            continue  # poppler orders or spells this line differently (math, a table read across)
        page = r.page_of(s, e)
        assert page in found, f"{r.text[s:e][:60]!r}: page_of {page}, pdftotext finds it on {found}"
        checked += 1
        unique += len(found) == 1
    assert checked >= min(r.pages, 3)
    if key not in ("004-pdflatex-4-pages/pdflatex-4-pages.pdf", "006-pdflatex-outline/pdflatex-outline.pdf"):
        assert unique >= r.pages // 2  # 004 and 006 repeat the same blind text on every page


# --------------------------------------------------------------------------- Chromium

def test_committed_chromium_fixture():
    r = extract(FIXTURES / "chromium-report.pdf")
    assert r.pages == 2 and r.title == "Harbour Survey 2023"
    assert "An extraordinary storm" in r.text  # Chromium's U+2010 at the &shy; break, joined
    assert_map_true(r, (FIXTURES / "chromium-report.pdf").read_bytes())
    reasons = sorted({why for _, _, why in r.marks})
    assert reasons == ["footer", "header"]  # the date/title head and the URL + "1/2" foot
    assert all(r.text[s:e].endswith(f"{r.page_of(s, e)}/2") for s, e, why in r.marks if why == "footer")
    # its ruled table is one paragraph of rows of cells (pdfplumber finds the rules)
    (table,) = r.tables
    rows = ["Buoy | Charted position | Found", "R2 | 54°12.31′N 3°04.55′W | 22 m west",
            "R4 | 54°12.40′N 3°04.61′W | 19 m west"]
    assert r.text[table.start:table.end] == "\n".join(rows)
    assert (table.n_rows, table.n_cols) == (3, 3)
    assert [r.text[c.start:c.end] for c in table.row(1)] == ["R2", "54°12.31′N 3°04.55′W", "22 m west"]


@pytest.mark.browser
def test_fresh_chromium_print(tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): cannot print a PDF")
    out = tmp_path / "fresh.pdf"
    print_to_pdf(FIXTURES / "chromium-report.html", out)
    r = extract(out)
    want = extract(FIXTURES / "chromium-report.pdf")
    body = lambda x: "".join(x.text[a:b] for a, b in _unmarked(x))  # noqa: E731
    assert squash(body(r)) == squash(body(want))  # same body; only the printed date may differ
    assert_map_true(r, out.read_bytes())


def _unmarked(r):
    pos = 0
    for s, e, _ in sorted(r.marks):
        yield pos, s
        pos = e
    yield pos, len(r.text)


def test_a_paragraph_running_across_a_page_break_is_one_and_a_close_two_piece_head_is_furniture():
    """Chromium's print: a small date-and-title head a few points above the text, in two pieces on one
    line, and a footer with the address and "n/3". A sentence cut by the page break must read whole,
    with no head or page number inside it; every character still maps to its page."""
    def page(n, body):
        runs = [(24, 777, 8, "12/2/26, 2:04 AM"), (250, 777, 8, "Daesh in Pakistan"),
                (24, 18, 8, f"file:///tmp/brief.html {n}/3")]
        return runs + [(28, 762 - 16 * k, 11, t) for k, t in enumerate(body)]

    body1 = ["The brief describes the shura and its members in some detail here.",
             "One member has ties to a mosque in Islamabad, which serves as a networking"]
    body2 = ["nexus for extremists. The shura recruits from madrassas across the country.",
             "A second paragraph follows after the first one ended on this page."]
    body3 = ["The last page holds one more paragraph of the brief, and it ends here."]
    r = extract_bytes(draw_pdf([page(1, body1), page(2, body2), page(3, body3)]), ".pdf")
    assert "which serves as a networking nexus for extremists." in r.text
    reasons = sorted({why for _, _, why in r.marks})
    assert "header" in reasons and ("footer" in reasons or "page-number" in reasons)
    marked = "".join(r.text[a:b] for a, b, _ in r.marks)
    assert "12/2/26" in marked and "Daesh in Pakistan" in marked and "1/3" in marked
    s = r.text.index("networking nexus")
    assert r.page_of(s, s + 10) == 1 and r.page_of(s + 11, s + 16) == 2


# --------------------------------------------------------------------------- metadata

def _with_info(pdf: bytes, **entries: str) -> bytes:
    """`pdf` with an incremental update that gives it a new document information dictionary, as a tool
    that edits a file's properties writes one (the file's own objects untouched)."""
    size = int(re.findall(rb"/Size\s+(\d+)", pdf)[-1])
    root = re.findall(rb"/Root\s+(\d+\s+\d+\s+R)", pdf)[-1]
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    esc = lambda s: s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")  # noqa: E731
    body = " ".join(f"/{k} ({esc(v)})" for k, v in entries.items())
    obj_at = len(pdf) + 1
    out = pdf + b"\n" + f"{size} 0 obj\n<< {body} >>\nendobj\n".encode("latin-1")
    xref_at = len(out)
    out += (f"xref\n0 1\n0000000000 65535 f \n{size} 1\n{obj_at:010d} 00000 n \n"
            f"trailer\n<< /Size {size + 1} /Root {root.decode()} /Info {size} 0 R /Prev {prev} >>\n"
            f"startxref\n{xref_at}\n%%EOF\n").encode("latin-1")
    return out


def test_a_title_that_is_no_title_is_dropped_and_the_creation_date_kept():
    base, _ = report_pdf(n_pages=2)
    meta = lambda **kw: (lambda r: (r.title, r.author, r.date))(extract_bytes(_with_info(base, **kw), ".pdf"))  # noqa: E731
    assert meta(Title="North pier survey", Author="Ines Ferreira", CreationDate="D:20230602101500+01'00'") == (
        "North pier survey", "Ines Ferreira", "2023-06-02")
    for junk in ("1", "Microsoft Word - pier.docx", "Document1", "Untitled", "https://harbour.example/pier.html"):
        assert meta(Title=junk, CreationDate="D:20230602101500Z") == (None, None, "2023-06-02"), junk
    # a clock's zero is no date: the modification date is asked next, and with none the date is unknown
    assert meta(Title="Pier", CreationDate="D:19700101000000Z", ModDate="D:20230605")[2] == "2023-06-05"
    assert meta(Title="Pier", CreationDate="D:19700101000000Z")[2] is None


def test_a_running_head_in_the_info_title_gives_way_to_the_file_name(tmp_path):
    from qa.ingest.corpus import read_corpus

    head = "Riverside Town Council - Minutes 2024"
    data, _ = report_pdf(n_pages=3, header=head)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "minutes-march.pdf").write_bytes(_with_info(data, Title=head))
    (doc,) = read_corpus(tmp_path / "c").documents
    assert extract(tmp_path / "c" / "minutes-march.pdf").title == head  # the file does say so
    assert doc.title == "minutes-march"  # but it is the running head, and the body has no heading


def test_metadata_of_the_samples_before_and_after():
    """What the samples' Info/XMP give (docs/formats.md lists them): no sample has a title that is no
    title, so every title and date is as it was; the creation dates are kept."""
    want = {
        "001-trivial/minimal-document.pdf": (None, "2022-04-03"),
        "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf": ("Geometrie und Topologie", "2016-12-31"),
        "011-google-doc-document/google-doc-document.pdf": ("PDF Example Document", None),
        "015-arabic/habibi.pdf": ("habibi", None),
        "020-xmp/output_with_metadata_pymupdf.pdf": ("Sample PDF with XMP Metadata", "1990-04-28"),
        "021-pdfa/crazyones-pdfa.pdf": (None, "2023-04-23"),
        "024-annotations/annotated_pdf.pdf": ("Annotated PDF", "1990-04-28"),
        "026-latex-multicolumn/multicolumn.pdf": (None, "2024-01-03"),
    }
    got = {k: (lambda r: (r.title, r.date))(sample_result(SAMPLES / k)) for k in want}
    assert got == want
