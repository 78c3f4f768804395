"""qa.chat.pages (PDF pages drawn for the document panel: verified originals, a bounded thread-safe cache) and the
app's citation handler opening a PDF citation on its page image. A fake-embedder index of the mixed folder."""
from __future__ import annotations

import base64
import html
import re
import shutil
import threading
from pathlib import Path

import pytest

from formats_fixtures import mixed_folder
from qa.index.build import build_index
from qa.neural.embedding import HashEmbedder
from qa.index.load import load_index
from qa.chat.pages import PageRenderer, original_path, png_size
from qa.chat.docview import PageUnavailable

QUESTION = "What did the committee review at its meetings in the old library?"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("pages")
    corpus = mixed_folder(base / "mixed")
    build_index(corpus, base / "index", HashEmbedder())
    return corpus, base / "index"


@pytest.fixture()
def index(built, tmp_path):
    """A copy of the corpus and its index per test (tests move and change the PDF)."""
    corpus, index_dir = built
    c, i = tmp_path / "mixed", tmp_path / "index"
    shutil.copytree(corpus, c)
    shutil.copytree(index_dir, i)
    idx = load_index(i)
    docs = {k: d.__class__(**{**d.__dict__, "source": d.source.replace(str(corpus), str(c))})
            for k, d in idx.documents.items()}
    idx.documents.clear()
    idx.documents.update(docs)
    return idx


def answer(idx, question=QUESTION, docs=("minutes",)):
    from support import never_decline

    from qa.answer.answerer import Answerer
    from qa.answer.retrieval import Retriever

    emb = HashEmbedder()
    return Answerer(Retriever(idx, emb), answer=never_decline()).ask(question, k=20, docs=list(docs)).to_dict()


def test_a_page_is_drawn_at_the_panels_scale_once_then_served_from_the_cache(index):
    pages = PageRenderer(index)
    img = pages("minutes", 2)
    assert img.png[:8] == b"\x89PNG\r\n\x1a\n" and (img.width, img.height) == png_size(img.png) == (918, 1188)
    assert pages("minutes", 2) is img and pages.renders == 1 and len(pages) == 1
    assert pages.cached_bytes == len(img.png)


def test_the_cache_is_bounded_by_pages_and_bytes_least_recently_used_first(index):
    pages = PageRenderer(index, max_pages=2)
    one, two = pages("minutes", 1), pages("minutes", 2)
    pages("minutes", 1)  # page 1 is now the most recently used
    pages("minutes", 3)  # so page 2 goes
    assert len(pages) == 2 and pages.renders == 3
    assert pages("minutes", 1) is one and pages.renders == 3
    assert pages("minutes", 2) is not two and pages.renders == 4
    small = PageRenderer(index, max_bytes=len(one.png) + 10)
    small("minutes", 1), small("minutes", 2)
    assert len(small) == 1 and small.cached_bytes <= len(one.png) + 10


def test_concurrent_requests_for_a_page_draw_it_once(index):
    pages = PageRenderer(index)
    got, barrier = [], threading.Barrier(8)

    def ask(page):
        barrier.wait()
        got.append(pages("minutes", page))

    threads = [threading.Thread(target=ask, args=(1 + k % 2,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 8 and pages.renders == 2 and len({id(g) for g in got}) == 2


def test_only_pages_of_indexed_pdfs_are_drawn(index):
    pages = PageRenderer(index)
    for doc_id, page in [("sub-report", 1), ("notes", 1), ("no-such-doc", 1), ("minutes", 0), ("minutes", 4),
                         ("minutes", "1"), ("minutes", True), ("../minutes", 1), ("minutes", -1)]:
        with pytest.raises(PageUnavailable):
            pages(doc_id, page)
    assert pages.renders == 0


def test_a_missing_or_changed_original_is_refused_and_its_pages_forgotten(index):
    pages = PageRenderer(index)
    pdf = Path(index.documents["minutes"].source)
    good = pdf.read_bytes()
    pages("minutes", 1)
    pdf.rename(pdf.with_suffix(".moved"))
    with pytest.raises(PageUnavailable, match="no longer where it was indexed"):
        pages("minutes", 1)
    pdf.with_suffix(".moved").rename(pdf)
    pages("minutes", 1)
    pdf.write_bytes(good.replace(b"%%EOF", b"%%EOF\n%changed", 1))  # new bytes (and size): same pages, other file
    with pytest.raises(PageUnavailable, match="has changed since it was indexed"):
        pages("minutes", 1)
    assert len(pages) == 0
    pdf.write_bytes(good)
    assert pages("minutes", 1).png[:4] == b"\x89PNG"


def test_a_relative_source_is_found_under_the_corpus_folder_the_index_records(index, tmp_path, monkeypatch):
    doc = index.documents["minutes"]
    rel = doc.__class__(**{**doc.__dict__, "source": "mixed/minutes.pdf"})
    index.manifest["corpus"] = {"path": "mixed", "absolute_path": str(tmp_path / "mixed")}
    monkeypatch.chdir(tmp_path.parent)  # "mixed/minutes.pdf" does not open from here
    assert original_path(index, rel) == tmp_path / "mixed" / "minutes.pdf"


# --------------------------------------------------------------------------- the app

@pytest.fixture()
def app_demo(index, tmp_path):
    from support import never_decline

    from app_support import load_app_module
    from qa.answer.answerer import Answerer
    from qa.answer.retrieval import Retriever

    app = load_app_module()
    emb = HashEmbedder()
    demo = app.build_demo(Answerer(Retriever(index, emb), answer=never_decline()), tmp_path / "fb.jsonl")
    handler = next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "on_cite")
    return app, demo, handler


def cite(app, handler, a, n=1):
    import gradio as gr

    from qa.chat.conversation import Conversation

    conv = Conversation()
    conv.turns.append({"id": "t", "question": a["question"], "status": "done", "answer": a, "error": None, "html": ""})
    return handler(conv, gr.EventData(None, {"turn": 0, "n": n}))


def test_on_cite_opens_a_pdf_citation_on_its_page_image(app_demo, index):
    app, _, on_cite = app_demo
    a = answer(index)
    c = a["citations"][0]
    assert c["doc_id"] == "minutes" and c["page"] in (1, 2, 3)
    evidence, doc = cite(app, on_cite, a)
    assert "qa-ev-selected" in evidence and f"p&#46; {c['page']}" in evidence
    m = re.search(r'<img class="qa-page-img" src="data:image/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" '
                  r'height="(\d+)"', doc)
    assert m, doc[:500]
    png = base64.b64decode(m.group(1))
    assert png_size(png) == (int(m.group(2)), int(m.group(3))) == (918, 1188)
    assert f'data-page="{c["page"]}"' in doc
    boxes = re.findall(r'<span class="qa-box"( id="qa-doc-focus")? style="left:([\d.]+)%;top:([\d.]+)%;'
                       r'width:([\d.]+)%;height:([\d.]+)%"', doc)
    assert len(boxes) == sum(len(b["rects"]) for b in c["boxes"]) and boxes[0][0]
    for _, left, top, width, height in boxes:
        assert 0 <= float(left) < 100 and 0 <= float(top) < 100 and float(width) > 0 and float(height) > 0
    assert "minutes&#46;pdf" in doc and f"page {c['page']} of 3" in doc
    assert doc.count('id="qa-doc-focus"') == 1 and "<summary>Text of page" in doc


def test_on_cite_falls_back_to_the_text_when_the_original_pdf_is_gone(app_demo, index):
    app, _, on_cite = app_demo
    a = answer(index)
    Path(index.documents["minutes"].source).unlink()
    _, doc = cite(app, on_cite, a)
    assert "<img" not in doc and "no longer where it was indexed" in html.unescape(doc)
    assert '<mark class="qa-quote" id="qa-doc-focus">' in doc


def test_on_cite_for_a_web_page_and_a_word_file(app_demo, index):
    app, _, on_cite = app_demo
    web = answer(index, "When was the great lens of the Skerry Point lighthouse made?", ["sub-article"])
    _, doc = cite(app, on_cite, web)
    link = re.search(r'<a class="qa-orig" href="([^"]*)" target="_blank" rel="noopener noreferrer">', doc)
    assert link and html.unescape(link.group(1)) == web["citations"][0]["url"]
    word = answer(index, "How many berths did the harbour authority count?", ["sub-report"])
    _, doc = cite(app, on_cite, word)
    assert "<img" not in doc and '<mark class="qa-quote" id="qa-doc-focus">' in doc
    assert "Word document" in doc
