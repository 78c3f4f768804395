"""The chat's screenshots in docs/screenshots/, made again from the running app in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

1. `first-screen.png`: the app on the bundled corpus as a new user first sees it (1400×1000).
2. `answer-pdf-page.png`: the bundled corpus printed to PDF (scripts/corpus_as_pdf.py), a question
   answered from it, and its first citation opened on its PDF page with the quote highlighted.

Each app runs from this checkout on a free port of 127.0.0.1 with an empty workspace of its own, so
what is shown is the page itself, not the state of anyone's workspace.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from qa.settings import OFFLINE_ENV  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
QUESTION = "Who led Wilayat Khorasan?"
VIEWPORT = {"width": 1400, "height": 1000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """`python app.py ARGS` until it prints its address; stopped on exit."""

    def __init__(self, args: list[str], workspace: Path):
        env = {**os.environ, **OFFLINE_ENV, "QA_WORKSPACE": str(workspace), "GRADIO_ANALYTICS_ENABLED": "False"}
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1",
                                      "--port", str(free_port()), *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.url = None
        for line in self.proc.stdout:
            m = re.search(r"running at (http://\S+)", line)
            if m:
                self.url = m.group(1)
                break
        if self.url is None:
            raise SystemExit(f"the app did not start (exit {self.proc.wait()})")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(30)


def ask(pg, question: str) -> None:
    box = pg.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    pg.locator("#qa-chat .qa-reply:not(.qa-pending)").last.wait_for(timeout=120_000)
    pg.locator("#qa-evidence .qa-ev-item").first.wait_for()


def first_screen(browser, out: Path, work: Path) -> Path:
    with App([], work / "ws-first") as app:
        pg = browser.new_page(viewport=VIEWPORT)
        pg.goto(app.url)
        pg.locator("#qa-chat").wait_for()
        time.sleep(2)  # the page's load event fills the picker and the documents panel
        path = out / "first-screen.png"
        pg.screenshot(path=str(path))
        pg.close()
    return path


def answer_with_pdf_page(browser, out: Path, work: Path) -> Path:
    from corpus_as_pdf import print_corpus

    pdfs = work / "corpus-pdf"
    print_corpus(ROOT / "corpus", pdfs)
    with App(["--corpus", str(pdfs), "--index", str(work / "pdf-index"), "--feedback", str(work / "fb.jsonl")],
             work / "ws-pdf") as app:
        pg = browser.new_page(viewport=VIEWPORT)
        pg.goto(app.url)
        ask(pg, QUESTION)
        pg.locator("#qa-evidence .qa-cite-btn").first.click()
        pg.locator("#qa-document .qa-page-img").first.wait_for(timeout=60_000)
        pg.wait_for_function("() => [...document.querySelectorAll('#qa-document .qa-page-img')].every(i => i.complete)")
        pg.locator("#qa-document").scroll_into_view_if_needed()
        time.sleep(1)
        path = out / "answer-pdf-page.png"
        pg.screenshot(path=str(path), full_page=True)
        pg.close()
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"screenshots: needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            for make in (first_screen, answer_with_pdf_page):
                print(f"wrote {make(browser, args.out, Path(tmp))}")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
