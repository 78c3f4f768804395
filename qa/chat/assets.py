"""The chat page's own CSS and JavaScript: the files in qa/chat/static/, read once when this is imported.

They are package data (pyproject.toml's [tool.setuptools.package-data]), so an installed package has them.
app.py hands them to Gradio unchanged: CSS to launch(css=...), the scripts as gr.HTML(js_on_load=...),
where `element`, `trigger` and `watch` are the panel's own (Gradio 6 provides them).

- static/chat.css styles every class qa.chat.render and qa.chat.docview write (qa-reply, qa-ev-*, qa-doc-*,
  qa-page*, qa-box, ...).
- static/bridge.js is installed by the evidence panel. Citation links are plain hash links
  (#qa-cite-<turn>-<n>): the chatbot's sanitizer keeps href/class/id but drops data-* attributes and
  handlers, so one document-level listener turns any such click, in a chat reply or in the evidence
  panel, into the panel's custom "cite" event; an "ask as written" link (#qa-aswritten-<turn>, under a
  rewritten follow-up) likewise into its "aswritten" event. A full queue makes Gradio's client show a red "Error"
  toast ("This application is currently busy. Please try again."); the failed event's .failure()
  handler already says so in the chat, kindly, so that toast (and only that one) is hidden. It also
  keeps the selected evidence item in view inside the panel's own scroll box.
- static/document.js is installed by the document panel: it scrolls the highlighted quote (a PDF page's
  first highlight box, id qa-doc-focus) into view whenever a citation opens it. A page image's box has
  its size before the image decodes (aspect-ratio in the CSS), so the scroll lands where it should.
"""
from __future__ import annotations

from importlib.resources import files


def read_static(name: str) -> str:
    """One file of qa/chat/static/, as text."""
    return files(__package__).joinpath("static", name).read_text(encoding="utf-8")


CSS = read_static("chat.css")
BRIDGE_JS = read_static("bridge.js")
DOC_JS = read_static("document.js")
