"""What a user sees of the chat page, checked in Chromium at 1400×1000 (issue 30): one typeface family,
no raw "#" before headings, every citation of an answer on the screen at once, dates that never break
inside, nothing scrolled under a label, and feedback that is acknowledged and takes a reason.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from app_support import CHROMIUM, PROJECT_ROOT, AppProcess, app_env, free_port

QUESTION = "Who led Wilayat Khorasan?"

pytestmark = [
    pytest.mark.browser, pytest.mark.model,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (Debian's chromium package)"),
]


def answered(pg, url, question=QUESTION):
    pg.goto(url)
    box = pg.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    reply = pg.locator("#qa-chat .qa-reply:not(.qa-pending)").last
    reply.wait_for(timeout=120_000)
    pg.locator("#qa-evidence .qa-ev-item").first.wait_for()
    return reply


def font_families(pg, selectors) -> dict[str, set[str]]:
    """The fonts Chromium really drew each element's text with (DevTools' platform fonts), by selector."""
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    out = {}
    for sel in selectors:
        families = set()
        for node in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": sel})["nodeIds"]:
            families |= {f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]}
        out[sel] = families
    cdp.detach()
    return out


def test_every_text_is_drawn_in_one_typeface_family_bold_capitals_too(page, server):
    answered(page, server.url)
    drawn = font_families(page, [".qa-title-bar h1", "#qa-chat .qa-answer strong", "#qa-chat .qa-quote-text",
                                 "#qa-chat .qa-badge", "#qa-chat .qa-label", "#qa-send",
                                 "#qa-evidence .qa-ev-title strong", "#qa-evidence .qa-ctx", "#qa-question textarea"])
    assert all(drawn[s] for s in (".qa-title-bar h1", "#qa-chat .qa-answer strong")), drawn  # text was found
    families = set().union(*drawn.values())
    assert len(families) == 1, drawn  # e.g. "Ask" and "Bridge" once drew A and B in a webfont's partial bold


def test_every_citation_of_an_answer_is_on_the_screen_without_scrolling(page, server):
    answered(page, server.url)
    seen = page.evaluate("""() => [...document.querySelectorAll('#qa-evidence .qa-ev-item')].map(el => {
        const r = el.getBoundingClientRect();
        const head = el.querySelector('.qa-ev-title').getBoundingClientRect();
        const hit = document.elementFromPoint(head.left + 5, head.top + head.height / 2);
        return {top: r.top, bottom: r.bottom, inside: r.top >= 0 && r.bottom <= window.innerHeight,
                visible: !!hit && el.contains(hit)};
    })""")
    assert len(seen) >= 3 and page.evaluate("window.scrollY") == 0, seen
    assert all(s["inside"] and s["visible"] for s in seen), seen


def test_dates_never_break_inside_even_in_a_narrow_window(page, server):
    page.set_viewport_size({"width": 900, "height": 1000})
    answered(page, server.url)
    dates = page.evaluate("""() => [...document.querySelectorAll('.qa-nowrap')].map(el =>
        ({text: el.textContent, lines: el.getClientRects().length}))""")
    assert dates and all(d["lines"] == 1 for d in dates), dates
    # every date a source line or evidence title shows is inside one of them
    text = " ".join(page.locator(".qa-date").all_inner_texts())
    import re

    for d in re.findall(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
                        r"December) \d{4}\b", text):
        assert any(d in x["text"] for x in dates), d


def test_no_label_floats_over_the_messages(page, server):
    answered(page, server.url)
    labels = page.locator("#qa-chat label, #qa-chat [data-testid='block-label']")
    assert all(not labels.nth(i).is_visible() for i in range(labels.count()))


def test_feedback_is_acknowledged_and_a_thumbs_down_takes_a_reason(page, server):
    answered(page, server.url)
    page.locator("#qa-chat").get_by_label("Dislike", exact=True).last.click()
    note = page.locator("#qa-feedback-note .qa-feedback-note")
    note.wait_for()
    assert "Thanks" in note.inner_text() and "What was wrong" in note.inner_text()
    reason = page.locator("#qa-reason textarea, #qa-reason input").first
    reason.fill("The leader named in [3] is  the governor, not the founder.")
    reason.press("Enter")
    page.wait_for_function("() => document.querySelector('#qa-feedback-note').innerText.includes('note is saved')")
    assert not page.locator("#qa-reason-row").is_visible()
    deadline = time.monotonic() + 30
    while True:
        lines = server.feedback.read_text(encoding="utf-8").split("\n")[:-1]
        last = json.loads(lines[-1]) if lines else {}
        if last.get("reason") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert last["reason"] == "The leader named in [3] is the governor, not the founder." and last["liked"] is False
    assert last["question"] == QUESTION
    exported = subprocess.run([sys.executable, "-m", "qa", "feedback", "export", "--in", str(server.feedback)],
                              cwd=PROJECT_ROOT, env=app_env(), capture_output=True, text=True, timeout=120)
    cases = [json.loads(x) for x in exported.stdout.splitlines() if x.strip()]
    assert any(c["feedback"]["reason"] == last["reason"] for c in cases), exported.stderr[-500:]


@pytest.fixture(scope="module")
def html_server(tmp_path_factory):
    """The app on a folder holding one web page with headings (its rendition keeps "## " marks)."""
    base = tmp_path_factory.mktemp("html-corpus")
    corpus = base / "docs"
    corpus.mkdir()
    (corpus / "bridge.html").write_text(
        "<html><head><title>The Kestrel Bridge</title></head><body><article><h1>The Kestrel Bridge</h1>"
        "<p>The Kestrel Bridge crosses the river Avel at Lenby. It opened to traffic in 2019.</p>"
        "<h2>Cost</h2><p>The project cost 48 million euros, paid by the regional council.</p>"
        "<h2>Design</h2><p>The bridge was designed by the engineer Ines Vartan of Lenby.</p>"
        "</article></body></html>", encoding="utf-8")
    (corpus / "metadata.json").write_text(json.dumps({"documents": {"bridge.html": {"date": "2024-01-01"}}}),
                                          encoding="utf-8")
    app = AppProcess(["--host", "127.0.0.1", "--port", str(free_port()), "--corpus", str(corpus),
                      "--index", str(base / "index"), "--feedback", str(base / "fb.jsonl")],
                     env=app_env(QA_WORKSPACE=str(base / "ws")))
    app.wait_url(timeout=300)
    yield app
    app.stop()


def test_a_web_pages_headings_show_without_their_raw_marks(page, html_server):
    reply = answered(page, html_server.url, "Who designed the Kestrel Bridge?")
    assert "Ines Vartan" in reply.inner_text()
    page.locator("#qa-evidence .qa-cite-btn").first.click()
    doc = page.locator("#qa-document")
    doc.locator(".qa-doc-body").wait_for()
    shown = doc.locator(".qa-doc-body").inner_text()
    assert "Design" in shown and "Kestrel Bridge" in shown
    assert not [line for line in shown.splitlines() if line.lstrip().startswith("#")], shown
    assert doc.locator(".qa-h").count() >= 2  # the headings are shown as headings
    assert "2024-01-01" in doc.inner_text()  # the page's date is shown, and below, on one line
    one_line = page.evaluate("""() => [...document.querySelectorAll('.qa-nowrap')]
        .filter(el => el.textContent === '2024-01-01').map(el => el.getClientRects().length)""")
    assert one_line and set(one_line) == {1}, one_line


def test_the_first_screen_says_what_the_folder_holds(page, html_server):
    page.goto(html_server.url)
    intro = page.locator("#qa-evidence .qa-intro")
    intro.wait_for()
    text = intro.inner_text()
    assert "1 document" in text and "web page" in text and "The Kestrel Bridge" in text, text
