"""The chat's collection picker and documents panel, as Gradio components and their events.

Filled per visitor when the page loads (never built into the page every visitor gets): the picker
offers the collections the visitor may read, and choosing one starts a new conversation on it. The
panel lists the collection's documents, skipped files and jobs (qa.chat.panel renders it); an editor's
uploads become jobs (qa.workspace.jobs, shared with the REST API), a timer refreshes the panel while
one runs, and an editor may delete a document. Every handler asks qa.chat.site for the visitor's role.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, Optional

import gradio as gr

from ..errors import QAError
from ..workspace import DEMO
from ..workspace.answerers import published_build
from ..workspace.listing import documents_listing, not_indexed
from . import docview, panel, render
from .access import NO_ACCESS
from .conversation import Conversation
from .site import Site


class CollectionControls(NamedTuple):
    """The collection picker and the documents panel: its list, upload box, delete controls and the
    timer that refreshes it while a job runs."""

    pick: gr.Dropdown
    panel: gr.HTML
    upload: gr.File
    delete_pick: gr.Dropdown
    delete_btn: gr.Button
    timer: gr.Timer


def documents_panel(pick: gr.Dropdown) -> CollectionControls:
    """The "Documents" accordion: what the collection holds and each upload's progress; the upload box
    and delete controls are shown to editors only (on load and when the collection changes)."""
    with gr.Accordion("Documents", open=False, elem_id="qa-documents"):
        panel_html = gr.HTML(panel.PANEL_PLACEHOLDER, elem_id="qa-panel", padding=True)
        upload = gr.File(label="Add documents (PDF, Word, web pages, text)", file_count="multiple",
                         elem_id="qa-upload", visible=False)
        with gr.Row():
            delete_pick = gr.Dropdown(choices=[], value=None, label="Delete a document", elem_id="qa-delete-pick",
                                      visible=False, scale=4)
            delete_btn = gr.Button("Delete", variant="stop", size="sm", elem_id="qa-delete", visible=False, scale=1)
    timer = gr.Timer(panel.REFRESH_SECONDS, active=False)
    return CollectionControls(pick, panel_html, upload, delete_pick, delete_btn, timer)



def wire_collections(demo: gr.Blocks, ui: Any, site: Site, answer_events: list) -> None:
    """The picker, filled when the page loads with the visitor's collections; choosing one starts a new
    conversation on it. The documents panel: uploads become jobs (qa.workspace.jobs), a timer refreshes
    the panel while one runs, and an editor may delete a document. Every handler checks the role."""
    cc = ui.collections
    panel_out = [cc.panel, ui.docs_pick, cc.upload, cc.delete_pick, cc.delete_btn, cc.timer]
    private = dict(queue=False, api_visibility="private")

    def readable(user: Optional[str], name: Optional[str]) -> bool:
        return bool(name) and site.may(user, name, "reader")

    def view(user: Optional[str], name: Optional[str], listing: Optional[dict] = None) -> tuple:
        """The panel's outputs for `name` as `user` may see it (`listing`: already read, else read here)."""
        if not readable(user, name):
            return (docview.render_notice(NO_ACCESS), gr.Dropdown(choices=[], value=[]), gr.File(visible=False),
                    gr.Dropdown(choices=[], value=None, visible=False), gr.Button(visible=False), gr.Timer(active=False))
        listing = listing or _listing(site, user, name)
        jobs = [j.to_dict() for j in site.jobs.list(name)] if site.jobs is not None else []
        editor = site.editable(name) and site.may(user, name, "editor")
        html = panel.render_panel(listing, jobs, site.role(user, name), site.editable(name))
        choices = sorted(((d["title"] or d["file"], d["doc_id"]) for d in listing["documents"]),
                         key=lambda t: t[0].lower())
        return (html, gr.Dropdown(choices=choices), gr.File(visible=editor, value=None),
                gr.Dropdown(choices=choices, value=None, visible=editor and bool(choices)),
                gr.Button(visible=editor and bool(choices)), gr.Timer(active=panel.active(jobs)))

    def opened(user: Optional[str], name: Optional[str]) -> tuple[str, tuple]:
        """The evidence panel's first screen for the collection (what it holds: qa.chat.panel) and the
        documents panel's outputs, from one reading of its listing."""
        if not readable(user, name):
            return render.EVIDENCE_PLACEHOLDER, view(user, name)
        listing = _listing(site, user, name)
        return panel.render_intro(listing), view(user, name, listing)

    def on_load(conv: Conversation, request: gr.Request):
        user = site.username(request)
        conv.collection = site.start(user)
        conv.intro, outputs = opened(user, conv.collection)
        return (gr.Dropdown(choices=site.choices(user), value=conv.collection), conv, conv.intro, *outputs)

    def on_pick(name: Any, conv: Conversation, request: gr.Request):
        user = site.username(request)
        with conv.lock:  # a new conversation: follow-ups never reach back into another collection
            conv.turns.clear()
            conv.collection = name if isinstance(name, str) and readable(user, name) else None
            conv.intro, outputs = opened(user, conv.collection)
        shown = ((gr.Column(visible=conv.collection == site.served),) if ui.examples_row is not None else ())
        return ([], conv, conv.intro, docview.DOCUMENT_PLACEHOLDER, *shown, *outputs)

    def on_upload(files: Any, conv: Conversation, request: gr.Request):
        user, name = site.username(request), conv.collection
        if not (site.editable(name) and site.may(user, name, "editor")):
            gr.Warning("Your account may not add documents to this collection.")
            return view(user, name)
        try:
            site.jobs.submit_upload(name, _uploaded(files), user)
        except QAError as e:
            gr.Warning(str(e))
        return view(user, name)

    def on_delete(doc_id: Any, conv: Conversation, request: gr.Request):
        user, name = site.username(request), conv.collection
        if isinstance(doc_id, str) and site.editable(name) and site.may(user, name, "editor"):
            try:
                site.jobs.delete_document(name, doc_id, user)
            except QAError as e:
                gr.Warning(str(e))
        return view(user, name)

    def on_tick(conv: Conversation, request: gr.Request):
        return view(site.username(request), conv.collection)

    ui_reset = [ui.chat, ui.conv, ui.evidence, ui.document] + ([ui.examples_row] if ui.examples_row is not None else [])
    demo.load(on_load, [ui.conv], [cc.pick, ui.conv, ui.evidence] + panel_out, **private)
    cc.pick.input(on_pick, [cc.pick, ui.conv], ui_reset + panel_out, cancels=answer_events, **private)
    cc.upload.upload(on_upload, [cc.upload, ui.conv], panel_out, api_visibility="private", concurrency_limit=2)
    cc.delete_btn.click(on_delete, [cc.delete_pick, ui.conv], panel_out, **private)
    cc.timer.tick(on_tick, [ui.conv], panel_out, **private)


def _listing(site: Site, user: Optional[str], name: str) -> dict:
    """What the collection's published index holds (qa.workspace.listing), read from the answerer the
    chat answers with, so the list and the answers always come from the same build."""
    from qa.index.load import describe

    if name != DEMO and published_build(site.ws.collection(name)) is None:
        return not_indexed(name)
    try:
        return documents_listing(name, describe(site.open(user, name).answerer.index))
    except QAError:  # e.g. an index from an older version: the panel says so, questions say how to fix it
        return not_indexed(name)


def _uploaded(files: Any) -> list[tuple[str, bytes]]:
    """Gradio's uploaded files (paths in its cache, named as the visitor's files were) as (name, bytes).
    Each is removed from the cache once read: Gradio serves its cache to any signed-in visitor who
    knows a path, and a collection's files must be reachable only through the collection's own checks."""
    paths = files if isinstance(files, list) else [files] if files else []
    out = []
    for f in paths:
        p = Path(getattr(f, "name", None) or str(f))
        try:
            out.append((p.name, p.read_bytes()))
        finally:
            p.unlink(missing_ok=True)
    return out
