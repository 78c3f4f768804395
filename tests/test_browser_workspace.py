"""The shared workspace in real Chromium: two users, a shared and a private collection, a PDF uploaded
from the page, the same answer from the REST API, and a document deleted by its editor (issue 29).

The app runs as `python app.py --collection harbour` over a temporary workspace, with the real model.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

import pytest

from app_support import CHROMIUM, AppProcess, app_env, free_port, harbour_workspace
from formats_fixtures import draw_pdf

QUESTION = "Who was the lighthouse keeper in 1931?"

pytestmark = [
    pytest.mark.browser, pytest.mark.model, pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (Debian's chromium package)"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared-ws") / "ws"
    ws = harbour_workspace(root, {"survey.txt": "Harbour survey\n\nThe harbour survey of 2019 was led by Ilse Moreau. "
                                                "It counted 214 moorings.\n"}, app_env(QA_WORKSPACE=str(root)))
    ws.grant("harbour", "bo", "reader")  # shared: bo reads it, ana edits it
    ws.create_collection("bo-notes", owner="bo")  # private to bo
    return ws


@pytest.fixture(scope="module")
def server(workspace):
    cache = workspace.root.parent / "gradio-cache"
    app = AppProcess(["--host", "127.0.0.1", "--port", str(free_port()), "--collection", "harbour"],
                     env=app_env(QA_WORKSPACE=str(workspace.root), GRADIO_TEMP_DIR=str(cache)))
    app.cache = cache
    app.wait_url(timeout=300)
    yield app
    app.stop()


def signed_in(browser, url, user, password):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(url)
    pg.locator("input[type=text]").first.fill(user)
    pg.locator("input[type=password]").fill(password)
    pg.locator("button[type=submit], button:has-text('Login')").first.click()
    pg.locator("#qa-chat").wait_for()
    pg.wait_for_function("() => { const i = document.querySelector('#qa-collection input'); return i && i.value; }")
    return ctx, pg


def panel_text(pg):
    return pg.locator("#qa-panel").inner_text()


def wait_panel(pg, words, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = panel_text(pg)
        if all(w in text for w in words):
            return text
        time.sleep(0.5)
    raise AssertionError(f"the panel never said {words}: {panel_text(pg)!r}")


def picker_choices(pg):
    pg.locator("#qa-collection input").click()
    options = pg.locator("li[role=option]")
    options.first.wait_for()
    names = [options.nth(i).get_attribute("aria-label") for i in range(options.count())]
    pg.keyboard.press("Escape")
    return names


def rest_ask(url, token, collection):
    body = json.dumps({"question": QUESTION, "collection": collection}).encode()
    req = urllib.request.Request(url.rstrip("/") + "/api/v1/ask", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_upload_a_pdf_in_the_page_ask_it_there_and_over_rest_then_delete_it(browser, server, workspace, tmp_path):
    pdf = tmp_path / "lighthouse.pdf"
    pdf.write_bytes(draw_pdf([[(72, 700, 12, "The Lighthouse Log"),
                               (72, 670, 11, "The lighthouse keeper in 1931 was Tomas Brandt, who kept the lamp.")]]))
    ctx, pg = signed_in(browser, server.url, "ana", "ana-pass-1")
    try:
        assert picker_choices(pg) == ["harbour", "demo"]  # never bo's private collection
        pg.locator("#qa-documents").get_by_text("Documents").first.click()
        wait_panel(pg, ["1 document in", "survey.txt"])
        pg.locator("#qa-upload input[type=file]").set_input_files(str(pdf))
        text = wait_panel(pg, ["Upload finished", "lighthouse.pdf indexed", "2 documents in"])
        assert "survey.txt" in text
        # the upload left no copy in Gradio's cache, which any signed-in visitor could fetch by its path
        assert not [p for p in server.cache.rglob("lighthouse.pdf")], list(server.cache.rglob("*"))

        box = pg.locator("#qa-question textarea")
        box.fill(QUESTION)
        box.press("Enter")
        reply = pg.locator("#qa-chat .qa-reply:not(.qa-pending)").last
        reply.wait_for(timeout=120_000)
        assert "Tomas Brandt" in reply.locator(".qa-answer, b, strong").first.inner_text()

        token = workspace.users.new_token("ana")  # the same question from a script gets the same answer
        status, answer = rest_ask(server.url, token, "harbour")
        assert status == 200 and answer["answer"] == "Tomas Brandt" and answer["status"] == "answered"

        pg.locator("#qa-delete-pick input").click()
        pg.locator("li[role=option]", has_text="Lighthouse").first.click()
        pg.locator("#qa-delete").click()
        wait_panel(pg, ["Deleted", "1 document in"])
        assert "lighthouse.pdf" not in pg.locator("#qa-panel table").inner_text()
        assert not (workspace.collection("harbour").documents / "lighthouse.pdf").exists()
    finally:
        ctx.close()


def test_a_reader_sees_the_shared_collection_but_cannot_upload_and_never_sees_a_private_one(browser, server, workspace):
    ctx, pg = signed_in(browser, server.url, "bo", "bo-pass-1")
    try:
        assert picker_choices(pg) == ["harbour", "demo", "bo-notes"]
        pg.locator("#qa-documents").get_by_text("Documents").first.click()
        text = wait_panel(pg, ["in harbour"])
        assert "editor or owner adds" in text
        assert not pg.locator("#qa-upload").is_visible() and not pg.locator("#qa-delete").is_visible()
    finally:
        ctx.close()
    status, body = rest_ask(server.url, workspace.users.new_token("ana"), "bo-notes")
    assert status == 404 and set(body["error"]) == {"code", "message"}
