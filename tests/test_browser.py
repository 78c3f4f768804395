"""End to end in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright's sync API).

Ask "Who led Wilayat Khorasan?", wait for the reply, check the bold answer and a citation, click the
citation and see the highlighted quote in the document view; like/dislike lands in the feedback
file; an over-long question gets a friendly refusal; a full queue gets a friendly "busy" reply.
Screenshots go to var/screenshots/ (git-ignored).
"""
import json
import os
import threading
import time

import pytest

from app_support import CHROMIUM, CORPUS, SCREENSHOTS, free_port, load_app_module  # noqa: E402

QUESTION = "Who led Wilayat Khorasan?"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is absent (Debian's chromium package; `apt-get install -y chromium`, "
                              "as .ci/run does)"),
]


def shot(pg, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / name))


def ask(pg, question):
    box = pg.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")


def last_reply(pg):
    return pg.locator("#qa-chat .qa-reply:not(.qa-pending)").last


@pytest.mark.model
def test_ask_cite_and_open_the_document(page, server):
    from qa.ingest.corpus import read_examples

    page.goto(server.url)
    # the "Try:" buttons are the corpus's own example questions (corpus/metadata.json), none built in
    page.locator(".qa-example").first.wait_for()
    assert [t.strip() for t in page.locator(".qa-example").all_inner_texts()] == read_examples(CORPUS)
    ask(page, QUESTION)
    reply = last_reply(page)
    reply.wait_for(timeout=60_000)
    shot(page, "01-answer.png")

    bold = reply.locator(".qa-answer strong").inner_text().strip()
    assert bold, "the reply has no bold answer"
    assert reply.locator(".qa-badge").inner_text().strip() in {"answered", "uncertain"}
    cites = reply.locator("a.qa-cite")
    assert cites.count() >= 1
    quotes = reply.locator("q.qa-quote-text")
    assert quotes.count() >= 1
    first_quote = quotes.first.inner_text().strip()
    assert first_quote
    source = reply.locator(".qa-src").first.inner_text()
    assert "—" in source and len(source) > 3  # names the source's title

    # the evidence panel shows the same quote, highlighted, in its context
    evidence = page.locator("#qa-evidence")
    marks = evidence.locator("mark.qa-quote")
    marks.first.wait_for()
    assert marks.first.inner_text().strip() == first_quote

    # clicking the citation opens the whole document scrolled to the highlighted quote
    reply.locator("a.qa-cite").first.click()
    focus = page.locator("#qa-document #qa-doc-focus")
    focus.wait_for()
    assert focus.inner_text().strip() == first_quote
    page.wait_for_function("""() => {
        const m = document.querySelector('#qa-doc-focus');
        const box = m && m.closest('.qa-doc-body');
        if (!m || !box) return false;
        const r = m.getBoundingClientRect(), b = box.getBoundingClientRect();
        return r.top >= b.top - 1 && r.top < b.bottom && r.top >= 0 && r.top < window.innerHeight;
    }""", timeout=10_000)
    assert page.locator("#qa-evidence .qa-ev-selected").count() == 1
    shot(page, "02-document.png")

    # the gold answer: a cited quote names him, and so does what the user reads
    quotes_text = " ".join(quotes.all_inner_texts())
    assert "Hafez Saeed Khan" in quotes_text or "Hafiz Saeed Khan" in quotes_text
    readable = reply.inner_text() + evidence.inner_text() + page.locator("#qa-document").inner_text()
    assert "Saeed Khan" in readable


def feedback_lines(server, more_than):
    deadline = time.monotonic() + 30  # two clicks round-trip through the app: slow on a loaded 2-core machine
    while time.monotonic() < deadline:
        text = server.feedback.read_text(encoding="utf-8") if server.feedback.exists() else ""
        lines = text.split("\n")[:-1]  # only finished lines: the app may be mid-write
        if len(lines) > more_than:
            return [json.loads(x) for x in lines]
        time.sleep(0.1)
    raise AssertionError("no feedback was written")


@pytest.mark.model
def test_refusal_feedback_empty_input_and_clear(page, server):
    page.goto(server.url)
    ask(page, QUESTION)
    last_reply(page).wait_for(timeout=60_000)

    ask(page, "why " * 300)  # 1,200 characters: a friendly refusal in the chat
    refusal = page.locator("#qa-chat .qa-refusal")
    refusal.wait_for()
    assert "limit is 1000" in refusal.inner_text()
    shot(page, "03-refusal.png")

    # thumbs on each reply land in the feedback file, tied to the right question
    before = len(feedback_lines(server, -1)) if server.feedback.exists() else 0
    page.locator("#qa-chat").get_by_label("Dislike", exact=True).first.click()
    page.locator("#qa-chat").get_by_label("Like", exact=True).last.click()
    records = feedback_lines(server, before + 1)[before:]
    manifest = json.loads((server.index_dir / "manifest.json").read_text(encoding="utf-8"))
    disliked, liked = records
    assert disliked["liked"] is False and disliked["question"] == QUESTION
    assert disliked["answer"]["status"] in {"answered", "uncertain", "declined"}
    assert disliked["build_id"] == manifest["build_id"] and disliked["time"].endswith("+00:00")
    assert liked["liked"] is True and liked["question"] == "why " * 300 and "limit" in liked["answer"]["error"]
    page.locator("#qa-chat").get_by_label("Disliked", exact=True).click()  # taking the thumb back is recorded too
    assert feedback_lines(server, before + 2)[-1]["liked"] is None

    users = page.locator("#qa-chat .qa-question").count()
    page.locator("#qa-question textarea").fill("   ")
    page.locator("#qa-send").click()
    time.sleep(1.0)
    assert page.locator("#qa-chat .qa-question").count() == users  # empty input is ignored

    page.locator("#qa-clear").click()
    page.locator("#qa-evidence .qa-empty").wait_for()
    assert page.locator("#qa-chat .qa-question").count() == 0


class GatedAnswerer:
    """Answers from a real index, but only once the test opens the gate, so the queue stays full."""

    def __init__(self, index):
        self.index = index
        self.started = threading.Event()
        self.gate = threading.Event()

    def ask(self, question, k=5, docs=None):
        from qa.answer.answerer import clean_question
        from qa.types import Answer, Citation

        q = clean_question(question)
        self.started.set()
        self.gate.wait(60)
        p = self.index.evidence[0]
        d = self.index.documents[p.doc_id]
        c = Citation(1, d.doc_id, d.title, d.source, p.passage_id, p.start, p.end, d.text[p.start:p.end], 1.0, d.as_of)
        return Answer(q, "answered", "a gated answer", 0.9, (c,), agreeing=1, considered=1)


def wait_until(cond, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword is deprecated:Warning")
def test_a_full_queue_gets_a_friendly_busy_reply(page, tmp_path):
    """One answer at a time and one waiting: a third question is turned away kindly, with no error toast.
    (No model: a fake embedder indexes the corpus and a gated fake answers.)"""
    from gradio_client import Client
    from qa.neural.embedding import HashEmbedder
    from qa.index.load import load_index
    from qa.index.build import build_index

    build_index(CORPUS, tmp_path / "index", HashEmbedder())
    answerer = GatedAnswerer(load_index(tmp_path / "index"))
    app = load_app_module()
    demo = app.build_demo(answerer, tmp_path / "fb.jsonl", concurrency=1, max_queue=1)
    url = app.launch(demo, "127.0.0.1", free_port())
    client = None
    try:
        page.goto(url)
        page.locator("#qa-question textarea").wait_for()
        assert page.locator(".qa-example").count() == 0  # built with no examples: no "Try:" row
        assert "Try:" not in page.locator("body").inner_text()
        client = Client(url, verbose=False)
        running = client.submit("first?", api_name="/ask")
        wait_until(answerer.started.is_set)
        waiting = client.submit("second?", api_name="/ask")
        wait_until(lambda: len(demo._queue) >= 1)  # Gradio internals: events waiting in the queue
        ask(page, "third?")
        busy = page.locator("#qa-chat .qa-busy")
        busy.wait_for(timeout=15_000)
        assert "busy" in busy.inner_text() and "try again" in busy.inner_text()
        page.wait_for_timeout(300)
        shot(page, "04-busy.png")
        toasts = page.locator('[data-testid="toast-body"]')
        assert all(not t.is_visible() for t in toasts.all()), "an error toast is showing"
        answerer.gate.set()
        assert running.result(timeout=30)["answer"] == "a gated answer"
        assert waiting.result(timeout=30)["answer"] == "a gated answer"
        # once the queue has room, the same page is answered again
        ask(page, "fourth?")
        page.locator("#qa-chat .qa-status-answered").wait_for(timeout=15_000)
    finally:
        answerer.gate.set()
        if client is not None:
            client.close()
        demo.close()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword is deprecated:Warning")
def test_a_pdf_citation_opens_its_page_with_the_quote_highlighted(page, tmp_path):
    """A folder holding a PDF, indexed with the fake embedder and answered with nothing declined (no model):
    the citation opens the page drawn as an image, with highlight boxes over the quote's lines, in view."""
    import io

    from PIL import Image

    from formats_fixtures import report_pdf
    from support import never_decline
    from qa.answer.answerer import Answerer
    from qa.index.build import build_index
    from qa.neural.embedding import HashEmbedder
    from qa.index.load import load_index
    from qa.answer.retrieval import Retriever

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "minutes.pdf").write_bytes(report_pdf(n_pages=3)[0])
    build_index(corpus, tmp_path / "index", HashEmbedder())
    emb = HashEmbedder()
    answerer = Answerer(Retriever(load_index(tmp_path / "index", emb), emb), answer=never_decline())
    app = load_app_module()
    demo = app.build_demo(answerer, tmp_path / "fb.jsonl")
    url = app.launch(demo, "127.0.0.1", free_port())
    try:
        page.goto(url)
        ask(page, "Who reviewed the accounts and heard the reports of the working groups?")  # a quote over 3 lines
        reply = last_reply(page)
        reply.wait_for(timeout=60_000)
        # no title of its own, and its first line is a running head: cited by its file name
        assert reply.locator(".qa-src").first.inner_text().startswith("— minutes, p.")
        assert reply.locator(".qa-src .qa-pageno").first.inner_text().startswith("p.")
        reply.locator("a.qa-cite").first.click()
        img = page.locator("#qa-document .qa-page img.qa-page-img").first
        img.wait_for()
        page.wait_for_function("() => { const i = document.querySelector('#qa-document img.qa-page-img');"
                               " return i && i.complete && i.naturalWidth > 0; }")
        assert img.get_attribute("src").startswith("data:image/png;base64,")
        boxes = page.locator("#qa-document .qa-page .qa-box")
        assert boxes.count() >= 1
        ib = img.bounding_box()
        assert ib["width"] > 300 and abs(ib["height"] / ib["width"] - 792 / 612) < 0.01  # the page's shape
        for k in range(boxes.count()):
            b = boxes.nth(k).bounding_box()
            assert b["width"] > 2 and b["height"] > 2
            assert ib["x"] - 0.5 <= b["x"] and b["x"] + b["width"] <= ib["x"] + ib["width"] + 0.5
            assert ib["y"] - 0.5 <= b["y"] and b["y"] + b["height"] <= ib["y"] + ib["height"] + 0.5
        # the first box is the focus, scrolled into the page view's box and the window
        assert boxes.first.get_attribute("id") == "qa-doc-focus"
        page.wait_for_function("""() => {
            const m = document.querySelector('#qa-doc-focus'), box = m && m.closest('.qa-doc-pages');
            if (!m || !box) return false;
            const r = m.getBoundingClientRect(), b = box.getBoundingClientRect();
            return r.top >= b.top - 1 && r.bottom <= b.bottom + 1 && r.top >= 0 && r.bottom <= window.innerHeight;
        }""", timeout=10_000)
        # ink under the box: the highlight sits over printed text, not blank paper
        fb = boxes.first.bounding_box()
        crop = Image.open(io.BytesIO(page.screenshot(clip=fb))).convert("L")
        assert crop.getextrema()[0] < 110, "no dark text pixels under the first highlight box"
        shot(page, "05-pdf-page.png")
        page.locator("#qa-document").screenshot(path=str(SCREENSHOTS / "06-pdf-page-panel.png"))
        # the text of the page, collapsed until asked for, holds the quote marked
        quote = reply.locator("q.qa-quote-text").first.inner_text().strip()
        page.locator("#qa-document details.qa-page-text summary").click()
        mark = page.locator("#qa-document details.qa-page-text mark.qa-quote").first
        mark.wait_for()
        assert mark.inner_text().strip() == quote
    finally:
        demo.close()


@pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword is deprecated:Warning")
def test_a_follow_up_says_what_it_was_understood_as_and_can_be_asked_as_written(page, tmp_path):
    """A question then a follow-up on a tiny corpus (fake embedder, nothing declined: no model): the reply
    says "Understood as: ...", and its "ask as written" link answers the literal words as a new turn."""
    from support import build_fake, fake_answerer, never_decline, write_corpus
    from qa.answer.answerer import Answerer

    build_fake(write_corpus(tmp_path / "corpus"), tmp_path / "index")
    answerer = Answerer(fake_answerer(tmp_path / "index").retriever, answer=never_decline())
    app = load_app_module()
    demo = app.build_demo(answerer, tmp_path / "fb.jsonl")
    url = app.launch(demo, "127.0.0.1", free_port())
    try:
        page.goto(url)
        ask(page, "Who surveyed the harbour of Ostland?")
        page.locator("#qa-chat .qa-status-answered").first.wait_for(timeout=30_000)
        assert page.locator("#qa-chat .qa-understood").count() == 0  # a first turn is answered as asked
        ask(page, "When did she return?")
        understood = page.locator("#qa-chat .qa-understood")
        understood.wait_for(timeout=30_000)
        assert understood.inner_text().startswith("Understood as: When did Marta Kell return?")
        shot(page, "07-understood-as.png")

        understood.locator("a.qa-aswritten").click()
        page.locator("#qa-chat .qa-as-written").wait_for(timeout=30_000)  # the literal question, marked
        page.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-reply:not(.qa-pending)').length === 3",
                               timeout=30_000)
        questions = [t.strip() for t in page.locator("#qa-chat .qa-question").all_inner_texts()]
        assert questions[-1].startswith("When did she return?") and "(as written)" in questions[-1]
        assert page.locator("#qa-chat .qa-understood").count() == 1  # the new reply is the words as written
        shot(page, "08-asked-as-written.png")

        page.locator("#qa-clear").click()  # afresh: the same follow-up has no one to resolve to
        page.locator("#qa-evidence .qa-empty").wait_for()
        ask(page, "When did she return?")
        last_reply(page).wait_for(timeout=30_000)
        assert page.locator("#qa-chat .qa-understood").count() == 0
    finally:
        demo.close()
