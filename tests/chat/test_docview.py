"""qa.chat.docview, the document panel, for real documents: a PDF quote on its page image with a highlight box per line,
a web page's link to its original at the quote, a Word file's text. Pure: page images are made-up PNGs."""
from __future__ import annotations

import base64
import html
import io
import re

import numpy as np
import pytest

from qa.chat import docview
from qa.ingest.formats import CharMap
from qa.chat.docview import PageUnavailable, render_document
from qa.chat.render import Library, render_evidence, render_reply
from qa.types import Document
from test_render import EVIL_TEXT, parse

PAGE_TAGS = {"div", "span", "p", "strong", "a", "mark", "img", "details", "summary"}
STYLE = re.compile(r"(aspect-ratio:\d+/\d+|left:[\d.]+%;top:[\d.]+%;width:[\d.]+%;height:[\d.]+%)")
BOX = re.compile(r'<span class="qa-box"( id="qa-doc-focus")? style="left:([\d.]+)%;top:([\d.]+)%;'
                 r'width:([\d.]+)%;height:([\d.]+)%"></span>')


def png(width=6, height=8) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, format="PNG")
    return buf.getvalue()


# Two pages: "Alpha beta." and "Gamma delta." on page 1 (letter-size portrait), "Epsilon." on page 2 (/Rotate 90);
# the blank lines between them are characters the extractor inserted (page 0, no box).
LINES = [(1, 700.0, "Alpha beta."), (1, 680.0, "Gamma delta."), (2, 500.0, "Epsilon.")]
TEXT = "\n\n".join(line for _, _, line in LINES)


def charmap() -> CharMap:
    pages, boxes, index = [], [], []
    for k, (page, y, line) in enumerate(LINES):
        if k:
            pages += [0, 0]
            boxes += [[np.nan] * 4] * 2
            index += [-1, -1]
        for j, _ in enumerate(line):
            pages.append(page)
            boxes.append([72 + 6 * j, y, 78 + 6 * j, y + 11])
            index.append(j)
    return CharMap(char_page=np.array(pages, dtype=np.int16), char_box=np.array(boxes, dtype=np.float32),
                   char_index=np.array(index, dtype=np.int32),
                   page_box=np.array([[0, 0, 612, 792], [0, 0, 612, 792]], dtype=np.float32),
                   page_rotation=np.array([0, 90], dtype=np.int16))


def pdf_setup(quote="Alpha beta.\n\nGamma delta.", title="Minutes <b>2024</b>", source="corpus/sub/min\"utes.pdf"):
    cm = charmap()
    s = TEXT.index(quote)
    e = s + len(quote)
    doc = Document("m", source, TEXT, title, format="pdf", pages=2, rendition="renditions/m")
    boxes = cm.boxes_for(s, e)
    cite = {"n": 1, "doc_id": "m", "title": title, "source": source, "passage_id": "none", "start": s, "end": e,
            "quote": quote, "score": 0.9, "page": cm.page_of(s, e), "boxes": boxes}
    answer = {"question": "q", "status": "answered", "answer": "x", "confidence": 0.7, "citations": [cite]}
    return Library.of([doc], charmaps={"m": cm}), answer, cm


class Pages:
    """A page_image callable: a made-up PNG at 1.5 px per point of the displayed page."""

    def __init__(self, cm, data=None):
        self.cm, self.data, self.calls = cm, data, []

    def __call__(self, doc_id, page):
        self.calls.append((doc_id, page))
        w, h = self.cm.page_size(page)
        return (self.data if self.data is not None else png(), round(w * 1.5), round(h * 1.5))


def boxes(out: str) -> list[tuple]:
    return [(bool(m.group(1)), *(float(m.group(k)) for k in range(2, 6))) for m in BOX.finditer(out)]


def expected(cm, page, rect, width, height):
    pad = docview.BOX_PAD_PT
    x0, y0, x1, y1 = rect
    scale = width / cm.page_size(page)[0]
    left, top, right, bottom = cm.to_pixels(page, [x0 - pad, y0 - pad, x1 + pad, y1 + pad], scale)
    return (100 * left / width, 100 * top / height, 100 * (right - left) / width, 100 * (bottom - top) / height)


def assert_page_view_inert(out: str) -> None:
    p = parse(out)
    assert set(p.tags) <= PAGE_TAGS, set(p.tags) - PAGE_TAGS
    for tag, name, value in p.attrs:
        assert not name.startswith("on"), (tag, name)
        assert name in {"class", "id", "style", "src", "alt", "width", "height", "draggable", "data-page",
                        "data-nonce"}, (tag, name)
        if name == "src":
            assert re.fullmatch(r"data:image/png;base64,[A-Za-z0-9+/]+=*", value), value[:60]
            assert base64.b64decode(value.split(",", 1)[1])[:8] == docview.PNG_SIGNATURE
        if name == "style":
            assert STYLE.fullmatch(value), value


# --------------------------------------------------------------------------- PDF

def test_a_pdf_quote_is_shown_on_its_page_with_a_box_per_line_positioned_by_to_pixels():
    lib, a, cm = pdf_setup()
    pages = Pages(cm)
    out = render_document(a, 1, lib, nonce=7, page_image=pages)
    assert pages.calls == [("m", 1)]
    got = boxes(out)
    rects = a["citations"][0]["boxes"][0]["rects"]
    assert len(got) == len(rects) == 2  # one highlight per quote line
    for (_, *pct), rect in zip(got, rects):
        assert pct == pytest.approx(expected(cm, 1, rect, 918, 1188), abs=1e-3)
    assert [f for f, *_ in got] == [True, False] and out.count('id="qa-doc-focus"') == 1  # the first box
    assert got[0][2] < got[1][2]  # the first line is above the second (y flipped)
    assert 'style="aspect-ratio:918/1188"' in out and 'width="918" height="1188"' in out
    src = re.search(r'<img class="qa-page-img" src="([^"]+)"', out).group(1)
    assert base64.b64decode(src.split(",", 1)[1]) == png()
    head = html.unescape(re.sub(r"<[^>]*>", "", out[:out.index('<div class="qa-doc-pages">')]))
    assert "min\"utes.pdf" in head and "page 1 of 2" in head and "Minutes <b>2024</b>" in head
    assert "corpus/sub" not in head  # the file name, not the path
    # the text of the page, collapsed, the quote marked (by offsets) but not a second focus
    text = out[out.index('<details class="qa-page-text">'):]
    assert "<summary>Text of page 1</summary>" in text
    marks = re.findall(r'<mark class="qa-quote">(.*?)</mark>', text, flags=re.S)
    assert [html.unescape(m) for m in marks] == [a["citations"][0]["quote"]]
    assert "Epsilon" not in text  # page 2 is not part of it
    assert 'data-nonce="7"' in out
    assert_page_view_inert(out)


ANSWER_BOX = re.compile(r'<span class="qa-box qa-box-answer" style="left:([\d.]+)%;top:([\d.]+)%;'
                        r'width:([\d.]+)%;height:([\d.]+)%"></span>')


def test_the_answer_inside_a_quote_gets_a_box_of_its_own_as_a_table_cell_in_its_row_does():
    lib, a, cm = pdf_setup()
    c = a["citations"][0]
    c["answer_start"] = TEXT.index("delta")
    c["answer_end"] = c["answer_start"] + len("delta")
    out = render_document(a, 1, lib, page_image=Pages(cm))
    assert len(boxes(out)) == 2  # the quote's lines as before
    (pct,) = [tuple(float(x) for x in m.groups()) for m in ANSWER_BOX.finditer(out)]
    (rect,) = cm.boxes_for(c["answer_start"], c["answer_end"])[0]["rects"]
    assert pct == pytest.approx(expected(cm, 1, rect, 918, 1188), abs=1e-3)
    c["answer_start"], c["answer_end"] = c["start"], c["end"]  # the answer is the whole quote: no second box
    assert not ANSWER_BOX.search(render_document(a, 1, lib, page_image=Pages(cm)))


def test_a_rotated_page_places_its_boxes_after_the_rotation():
    lib, a, cm = pdf_setup(quote="Epsilon.")
    out = render_document(a, 1, lib, page_image=Pages(cm))
    (focus, *pct), = boxes(out)
    assert focus and 'data-page="2"' in out and 'aspect-ratio:1188/918' in out  # landscape once rotated
    assert pct == pytest.approx(expected(cm, 2, a["citations"][0]["boxes"][0]["rects"][0], 1188, 918), abs=1e-3)
    assert pct[2] < pct[3]  # a horizontal line of text on a page turned by 90 degrees runs down the image


def test_a_quote_over_two_pages_shows_both_and_a_longer_one_says_where_it_goes_on():
    lib, a, cm = pdf_setup(quote="Gamma delta.\n\nEpsilon.")
    pages = Pages(cm)
    out = render_document(a, 1, lib, page_image=pages)
    assert pages.calls == [("m", 1), ("m", 2)]
    assert out.count('<div class="qa-page"') == 2 and out.count('id="qa-doc-focus"') == 1
    assert len(boxes(out)) == 2 and "pages 1–2 of 2" in out and "<summary>Text of pages 1–2</summary>" in out
    docview.MAX_SHOWN_PAGES, keep = 1, docview.MAX_SHOWN_PAGES
    try:
        out = render_document(a, 1, lib, page_image=Pages(cm))
    finally:
        docview.MAX_SHOWN_PAGES = keep
    assert out.count('<div class="qa-page"') == 1 and "The quote goes on to page 2" in html.unescape(out)
    assert "Epsilon" in html.unescape(out[out.index("<details"):])  # the text still holds all of it


def test_names_and_text_are_escaped_in_the_page_view():
    lib, a, cm = pdf_setup(title=EVIL_TEXT, source="corpus/" + EVIL_TEXT.replace("/", "_") + ".pdf")
    out = render_document(a, 1, lib, nonce='"><script>', page_image=Pages(cm))
    assert_page_view_inert(out)
    assert "<script" not in out
    assert html.unescape(re.sub(r"<[^>]*>", "", out)).count(EVIL_TEXT) >= 1


@pytest.mark.parametrize("fetch", [
    "unavailable", "svg", "raises", "zero-size"])
def test_when_no_page_image_can_be_had_the_panel_says_why_and_shows_the_text(fetch):
    lib, a, _ = pdf_setup()

    def page_image(doc_id, page):
        if fetch == "unavailable":
            raise PageUnavailable("The original PDF (minutes.pdf) has changed since it was indexed.")
        if fetch == "svg":
            return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 10, 10
        if fetch == "raises":
            raise RuntimeError("boom")
        return png(), 0, 0

    out = render_document(a, 1, lib, page_image=page_image)
    assert "<img" not in out and "svg" not in out.lower()
    assert re.search(r'<p class="qa-note">[^<]+</p>', out)
    if fetch == "unavailable":
        assert "has changed since it was indexed" in html.unescape(out)
    assert out.count('id="qa-doc-focus"') == 1 and '<mark class="qa-quote" id="qa-doc-focus">' in out
    assert "PDF, shown as its extracted text" in html.unescape(out)


def test_without_a_page_map_or_a_page_fetcher_the_text_is_shown():
    lib, a, cm = pdf_setup()
    assert "<img" not in render_document(a, 1, lib)  # no fetcher: the text view, as before
    bare = Library.of(lib.documents.values())
    out = render_document(a, 1, bare, page_image=Pages(cm))
    assert "<img" not in out and "no page map" in out and 'id="qa-doc-focus"' in out


def test_reply_and_evidence_name_the_page_of_a_pdf_citation():
    lib, a, _ = pdf_setup()
    assert '<span class="qa-pageno">p&#46; 1</span>' in render_reply(a, 0)
    assert '<span class="qa-pageno">p&#46; 1</span>' in render_evidence(a, 0, lib)
    two = render_reply(pdf_setup(quote="Gamma delta.\n\nEpsilon.")[1], 0)
    assert "pp&#46; 1–2" in two
    plain = dict(a["citations"][0], page=None, boxes=None)
    assert "qa-pageno" not in render_reply(dict(a, citations=[plain]), 0)


# --------------------------------------------------------------------------- web page and Word

WEB = "Lighthouse keepers return.\n\nThe great lens was made in Edinburgh in 1872.\n\nTickets at the gate."


def web_setup(url, doc_url="https://coast.example/k"):
    q = "The great lens was made in Edinburgh in 1872."
    s = WEB.index(q)
    doc = Document("w", "corpus/article.html", WEB, "Keepers", format="html", url=doc_url, rendition="renditions/w")
    cite = {"n": 1, "doc_id": "w", "title": "Keepers", "start": s, "end": s + len(q), "quote": q, "url": url}
    return Library.of([doc]), {"question": "q", "status": "answered", "answer": "1872", "citations": [cite]}


def test_a_web_page_citation_links_to_its_original_at_the_quote():
    url = "https://coast.example/k#:~:text=The%20great%20lens%20was%20made%20in%20Edinburgh%20in%201872.&x=\"<'"
    lib, a = web_setup(url)
    out = render_document(a, 1, lib, page_image=lambda *_: pytest.fail("no page images for a web page"))
    link = re.search(r'<a class="qa-orig" href="([^"]*)" target="_blank" rel="noopener noreferrer">([^<]*)</a>', out)
    assert link and html.unescape(link.group(1)) == url and "at the quote" in link.group(2)
    assert "<" not in link.group(1) and "'" not in link.group(1)
    assert '<mark class="qa-quote" id="qa-doc-focus">' in out and "web page, shown as its text" in html.unescape(out)


@pytest.mark.parametrize("url", ["javascript:alert(1)//https://x", " https://x.example/", "data:text/html,x", ""])
def test_only_http_links_to_an_original_are_made(url):
    lib, a = web_setup(url, doc_url=url)
    assert "qa-orig" not in render_document(a, 1, lib)


def test_a_word_citation_shows_its_text_with_the_quote_marked():
    text = "Harbour report\n\nThe harbour authority counted forty-two berths along the northern quay in 1921.\n\nYear\t1921"
    q = "The harbour authority counted forty-two berths along the northern quay in 1921."
    s = text.index(q)
    doc = Document("r", "corpus/sub/report.docx", text, "Harbour report", format="docx", rendition="renditions/r")
    cite = {"n": 1, "doc_id": "r", "title": "Harbour report", "start": s, "end": s + len(q), "quote": q,
            "answer_start": text.index("forty-two"), "answer_end": text.index("forty-two") + 9}
    out = render_document({"question": "q", "status": "answered", "answer": "forty-two", "citations": [cite]}, 1,
                          Library.of([doc]), page_image=lambda *_: pytest.fail("no page images for Word"))
    assert "Word document, shown as its text" in html.unescape(out) and "<img" not in out and "qa-orig" not in out
    assert re.search(r'<mark class="qa-quote" id="qa-doc-focus">The harbour authority counted '
                     r'<mark class="qa-ans">forty&#45;two</mark>', out)
    assert html.unescape(re.sub(r"<[^>]*>", "", out)).count(text) == 1
