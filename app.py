#!/usr/bin/env python
"""The chat app: ask the corpus questions, read the cited passages, open each source at its quote.

    python app.py [--host H] [--port P] [--corpus DIR] [--index DIR] [--feedback PATH]
                  [--collection NAME] [--insecure-no-auth]

Defaults: 127.0.0.1:7860 (env QA_HOST, QA_PORT), the bundled corpus and index (env QA_CORPUS,
QA_INDEX), feedback in var/feedback.jsonl (env QA_FEEDBACK); every setting comes from
`qa.settings.Settings.from_env()`, with the options above on top. A missing or stale index is built
first, with its progress in the terminal; a bad corpus or an index that cannot be built or loaded
is a one-line message and exit code 2.

This is the only module that imports gradio (6.x). HTML comes from qa.chat.render and qa.chat.docview, which
escape all corpus and user text; the chatbot renders it as sanitized HTML with Markdown off.

Conversations: each question is answered after the session's earlier turns (qa.chat.conversation
feeds them to the engine's qa.answer.conversation), so "When was he killed?" after "Who led Wilayat
Khorasan?" is understood; the reply then says "Understood as: ..." with an "ask as written" link.
"Clear conversation" starts afresh.

API: one named endpoint, `/ask` (question, k=qa.settings.DEFAULT_K, docs=None: a list of doc ids,
history=None: the earlier turns, [{"question": ..., "answer": <answer object or its text>}, ...]) -> the
answer object as JSON (Answer.to_dict(), with `understood_as`), or {"error": message} for a question or
history it will not take:

    from gradio_client import Client
    client = Client("http://127.0.0.1:7860/")
    first = client.predict("Who led Wilayat Khorasan?", api_name="/ask")
    print(client.predict("When was he killed?", history=[{"question": "Who led Wilayat Khorasan?",
                                                          "answer": first}], api_name="/ask"))

Accounts: when the workspace (QA_WORKSPACE) has users, the page and its API ask for a sign-in first
(Gradio's login page; gradio_client: Client(url, auth=(name, password))), and only readers of the
collection served (--collection NAME, else the demo: every signed-in user) are answered. With no
users it listens only on a loopback address unless --insecure-no-auth is given. docs/workspace.md,
"In the chat".

Load: answers run on Gradio's queue, at most CONCURRENCY at once (UI and API share the limit) with
at most MAX_QUEUE waiting. Gradio 6 refuses a join to a full queue with HTTP 503, and its browser
client then shows a red "Error" toast ("This application is currently busy. Please try again.").
Here the answer event's .failure() handler turns the pending reply into a friendly "busy, try again"
message in the chat, and a few lines of page script hide that one toast (qa/chat/static/bridge.js). API
clients get gradio_client's own error for a full queue.
"""
import argparse
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional, Sequence

from qa.settings import (DEFAULT_CORPUS, DEFAULT_FEEDBACK, DEFAULT_HOST, DEFAULT_INDEX, DEFAULT_K,  # noqa: E402
                         DEFAULT_PORT, Settings, set_offline_environment)

set_offline_environment()
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # gradio's own switch, read when it is imported

import gradio as gr  # noqa: E402

from qa.chat import docview, render  # noqa: E402
from qa.chat import panel  # noqa: E402
from qa.chat.access import NO_ACCESS, check_listening, password_check  # noqa: E402
from qa.chat.assets import BRIDGE_JS, CSS, DOC_JS  # noqa: E402
from qa.chat.conversation import (Conversation, answer_in_conversation, clean_docs, clean_history,  # noqa: E402
                                  clean_k)
from qa.chat.feedback import append_feedback, feedback_record  # noqa: E402
from qa.chat.shelf import Shelf  # noqa: E402
from qa.chat.site import Site  # noqa: E402
from qa.errors import QAError, redact  # noqa: E402
from qa.index.build import choose_corpus  # noqa: E402
from qa.index.stores.folder import check_target  # noqa: E402
from qa.index.stores.postgres import append_feedback as to_store  # noqa: E402
from qa.ingest.corpus import read_examples  # noqa: E402
from qa.pipeline import ensure_index, open_answerer  # noqa: E402
from qa.workspace import DEMO, Workspace  # noqa: E402
from qa.workspace.answerers import Answerers, default_opener, published_build  # noqa: E402
from qa.workspace.commands import collection_target  # noqa: E402
from qa.workspace.listing import documents_listing, not_indexed  # noqa: E402

CONCURRENCY = 4  # questions answered at once (the UI and the API share this limit)
MAX_QUEUE = 64  # questions waiting; beyond that the chat says "busy, try again"
MAX_K = 20

# --------------------------------------------------------------------------- the app

class Layout(NamedTuple):
    """The components the events connect (the collection controls are None for a Site without a workspace)."""

    conv: gr.State
    chat: gr.Chatbot
    box: gr.Textbox
    send: gr.Button
    example_buttons: list
    clear_btn: gr.Button
    k_slider: gr.Slider
    docs_pick: gr.Dropdown
    evidence: gr.HTML
    document: gr.HTML
    examples_row: Optional[gr.Column] = None
    collections: Optional["CollectionControls"] = None


class CollectionControls(NamedTuple):
    """The collection picker and the documents panel: its list, upload box, delete controls and the
    timer that refreshes it while a job runs."""

    pick: gr.Dropdown
    panel: gr.HTML
    upload: gr.File
    delete_pick: gr.Dropdown
    delete_btn: gr.Button
    timer: gr.Timer


class Handlers(NamedTuple):
    """The server side of the chat's events."""

    submit: Callable
    respond: Callable
    on_failure: Callable
    clear: Callable
    as_written: Callable
    on_cite: Callable
    on_like: Callable


def build_demo(answerer, feedback_path: str | Path = DEFAULT_FEEDBACK, *, concurrency: int = CONCURRENCY,
               max_queue: int = MAX_QUEUE, examples: Sequence[str] = (), feedback_sink=None,
               site: Optional[Site] = None) -> gr.Blocks:
    """The Blocks app around an Answerer (anything with .ask(question, k=, docs=) and .index; with
    .conversation(history=), as a real Answerer has, follow-ups are answered in their conversation).

    `concurrency` and `max_queue` are applied with demo.queue() here, so tests can make a tiny queue.
    `examples` are the corpus's own example questions (qa.ingest.corpus.read_examples), shown as buttons
    under "Try:"; with none, that row is left out.

    `site` (qa.chat.site): the workspace's collections, who may read or change each, and the jobs that
    index uploads. With one, the page gets a collection picker and a documents panel, filled per visitor
    when the page loads (never built into the page every visitor gets), and every answer, document view
    and API call is checked against the visitor's role. Without one, `answerer` is all the chat serves.
    """
    site = site or Site.single(answerer)
    handlers = Handlers(*_conversation_handlers(site), on_cite=_document_handler(site),
                        on_like=_feedback_handler(Path(feedback_path), feedback_sink))
    theme = gr.themes.Default(primary_hue="blue", neutral_hue="slate")
    with gr.Blocks(title="Ask the corpus", fill_width=True) as demo:
        demo.qa_launch_kwargs = {"theme": theme, "css": CSS}
        ui = _layout(answerer.index, examples, site)
        answer_events = _wire(ui, handlers, examples, concurrency)
        if site.has_collections:
            _wire_collections(demo, ui, site, answer_events)
        gr.api(_api_endpoint(site), api_name="ask", concurrency_id="answer", concurrency_limit=concurrency)
    _accept_old_calls(demo)
    demo.queue(default_concurrency_limit=concurrency, max_size=max_queue)
    return demo


def _doc_choices(index) -> list[tuple[str, str]]:
    return sorted(((d.title or d.doc_id, d.doc_id) for d in index.documents.values()), key=lambda t: t[0].lower())


def _layout(index, examples: Sequence[str], site: Site) -> Layout:
    """The page, inside the open Blocks: the conversation and its controls on the left, the evidence and
    document panels on the right. With collections, the document filter's choices are filled on load."""
    doc_choices = [] if site.has_collections else _doc_choices(index)
    conv_state = gr.State(Conversation())  # deep-copied per session: a fresh one each
    gr.Markdown("# Ask the corpus\nAnswers are quoted from the documents, with numbered citations. "
                "Click a citation to read the passage in its document.", elem_classes=["qa-title-bar"])
    controls = None
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            pick = None
            if site.has_collections:
                pick = gr.Dropdown(choices=[], value=None, label="Collection", elem_id="qa-collection",
                                   info="The documents questions are answered from.", interactive=True)
            chat = gr.Chatbot(label="Conversation", elem_id="qa-chat", height=560, render_markdown=False,
                              sanitize_html=True, latex_delimiters=[], buttons=[], layout="bubble",
                              feedback_options=("Like", "Dislike"),
                              placeholder="Ask about the documents in the corpus. Every answer quotes its sources.")
            with gr.Row():
                box = gr.Textbox(show_label=False, placeholder="Type a question and press Enter", lines=1,
                                 max_lines=6, scale=5, elem_id="qa-question", autofocus=True)
                send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="qa-send")
            example_buttons, examples_row = [], None
            if examples:  # the served collection's own questions: hidden while another one is picked
                with gr.Column(elem_id="qa-examples") as examples_row:
                    gr.Markdown("**Try:**")
                    with gr.Row():
                        example_buttons = [gr.Button(q, size="sm", variant="secondary", elem_classes=["qa-example"])
                                           for q in examples]
            with gr.Row():
                clear_btn = gr.Button("Clear conversation", size="sm", variant="secondary", scale=0,
                                      min_width=180, elem_id="qa-clear")
            with gr.Accordion("Settings", open=False, elem_id="qa-settings"):
                k_slider = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="Passages to read (k)",
                                     info="How many retrieved passages the answer is chosen from.")
                docs_pick = gr.Dropdown(choices=doc_choices, value=[], multiselect=True,
                                        label="Only search these documents",
                                        info="Leave empty to search the whole collection.")
            if site.has_collections:
                controls = _documents_panel(pick)
        with gr.Column(scale=2, min_width=360):
            evidence = gr.HTML(render.EVIDENCE_PLACEHOLDER, js_on_load=BRIDGE_JS, elem_id="qa-evidence",
                               label="Evidence", padding=True)
            document = gr.HTML(docview.DOCUMENT_PLACEHOLDER, js_on_load=DOC_JS, elem_id="qa-document",
                               label="Document", padding=True)
    return Layout(conv_state, chat, box, send, example_buttons, clear_btn, k_slider, docs_pick, evidence, document,
                  examples_row, controls)


def _documents_panel(pick: gr.Dropdown) -> CollectionControls:
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


def _wire(ui: Layout, h: Handlers, examples: Sequence[str], concurrency: int) -> list:
    """The events: a question (Enter, Ask, an example, or "ask as written" under a rewritten reply) is
    taken at once and answered on the queue; a citation opens its document; a thumb is saved; clearing
    cancels the answers still being worked out. All are private: the one API endpoint is `ask` (see
    _api_endpoint). Returns the answer events (changing the collection cancels them too)."""
    answer_events = []

    def wire(trigger, question_input, take=h.submit):
        step = trigger(take, [question_input, ui.conv], [ui.box, ui.chat, ui.conv], queue=False,
                       api_visibility="private")
        ans = step.then(h.respond, [ui.conv, ui.k_slider, ui.docs_pick], [ui.chat, ui.conv, ui.evidence, ui.document],
                        concurrency_id="answer", concurrency_limit=concurrency, api_visibility="private",
                        show_progress="hidden")
        ans.failure(h.on_failure, [ui.conv], [ui.chat, ui.conv], queue=False, api_visibility="private")
        answer_events.append(ans)

    wire(ui.box.submit, ui.box)
    wire(ui.send.click, ui.box)
    for b, q in zip(ui.example_buttons, examples):
        wire(b.click, gr.State(q))
    wire(ui.evidence.aswritten, ui.box, take=h.as_written)  # the bridge's event (qa/chat/static/bridge.js)
    ui.evidence.cite(h.on_cite, [ui.conv], [ui.evidence, ui.document], queue=False, api_visibility="private")
    ui.chat.like(h.on_like, [ui.conv], None, queue=False, api_visibility="private")
    clear_outputs = [ui.chat, ui.conv, ui.evidence, ui.document, ui.box]
    ui.clear_btn.click(h.clear, [ui.conv], clear_outputs, queue=False, api_visibility="private", cancels=answer_events)
    ui.chat.clear(h.clear, [ui.conv], clear_outputs, queue=False, api_visibility="private", cancels=answer_events)
    return answer_events


# --------------------------------------------------------------------------- collections and documents

def _wire_collections(demo: gr.Blocks, ui: Layout, site: Site, answer_events: list) -> None:
    """The picker, filled when the page loads with the visitor's collections; choosing one starts a new
    conversation on it. The documents panel: uploads become jobs (qa.workspace.jobs), a timer refreshes
    the panel while one runs, and an editor may delete a document. Every handler checks the role."""
    cc = ui.collections
    panel_out = [cc.panel, ui.docs_pick, cc.upload, cc.delete_pick, cc.delete_btn, cc.timer]
    private = dict(queue=False, api_visibility="private")

    def view(user: Optional[str], name: Optional[str]) -> tuple:
        """The panel's outputs for `name` as `user` may see it."""
        if not name or not site.may(user, name, "reader"):
            return (docview.render_notice(NO_ACCESS), gr.Dropdown(choices=[], value=[]), gr.File(visible=False),
                    gr.Dropdown(choices=[], value=None, visible=False), gr.Button(visible=False), gr.Timer(active=False))
        listing = _listing(site, user, name)
        jobs = [j.to_dict() for j in site.jobs.list(name)] if site.jobs is not None else []
        editor = site.editable(name) and site.may(user, name, "editor")
        html = panel.render_panel(listing, jobs, site.role(user, name), site.editable(name))
        choices = sorted(((d["title"] or d["file"], d["doc_id"]) for d in listing["documents"]),
                         key=lambda t: t[0].lower())
        return (html, gr.Dropdown(choices=choices), gr.File(visible=editor, value=None),
                gr.Dropdown(choices=choices, value=None, visible=editor and bool(choices)),
                gr.Button(visible=editor and bool(choices)), gr.Timer(active=panel.active(jobs)))

    def on_load(conv: Conversation, request: gr.Request):
        user = site.username(request)
        conv.collection = site.start(user)
        return (gr.Dropdown(choices=site.choices(user), value=conv.collection), conv, *view(user, conv.collection))

    def on_pick(name: Any, conv: Conversation, request: gr.Request):
        user = site.username(request)
        with conv.lock:  # a new conversation: follow-ups never reach back into another collection
            conv.turns.clear()
            conv.collection = name if isinstance(name, str) and site.may(user, name, "reader") else None
        shown = ((gr.Column(visible=conv.collection == site.served),) if ui.examples_row is not None else ())
        return ([], conv, render.EVIDENCE_PLACEHOLDER, docview.DOCUMENT_PLACEHOLDER, *shown, *view(user, conv.collection))

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
    demo.load(on_load, [ui.conv], [cc.pick, ui.conv] + panel_out, **private)
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


# --------------------------------------------------------------------------- answers, documents, feedback

def _accept_old_calls(demo: gr.Blocks) -> None:
    """A plain HTTP caller of /ask that sends the values it always sent (question, k, docs; or those and
    history) gets None for the parameters added since. gradio_client fills in a missing default itself,
    but Gradio's server refuses a call with fewer values than parameters, and adding `history` and
    `collection` must not break those callers. Gradio 6 checks the count in Blocks.validate_inputs and
    then reads the same list, so the list is padded there, for /ask only (tests/test_app.py sends three
    values over plain HTTP)."""
    check = demo.validate_inputs

    def validate_inputs(block_fn, inputs):
        if getattr(block_fn, "api_name", None) == "ask" and isinstance(inputs, list) and len(inputs) in (3, 4):
            inputs.extend([None] * (5 - len(inputs)))
        return check(block_fn, inputs)

    demo.validate_inputs = validate_inputs


def _api_endpoint(site: Site) -> Callable:
    """The `/ask` API function, typed so gradio_client documents it (Gradio fills in `request` and leaves
    it out of the API's parameters)."""

    def ask(question: str, k: int = DEFAULT_K, docs: Optional[list[str]] = None,
            history: Optional[list[dict]] = None, collection: Optional[str] = None, request: gr.Request = None) -> dict:
        """Answer a question from a collection (default: the one the chat opens on), after the earlier
        turns in `history` (a list of {"question": ..., "answer": <answer object or its text>}) so a
        follow-up is understood. Returns the answer object (status, answer, confidence, citations with
        document offsets, notes, conflicts, understood_as, ...) or {"error": message}."""
        try:
            if not isinstance(question, str):
                raise QAError("the question must be text")
            if collection is not None and not isinstance(collection, str):
                raise QAError("the collection must be a name")
            answerer = site.open(site.username(request), collection).answerer
            return answer_in_conversation(answerer, clean_history(history), question, clean_k(k),
                                          clean_docs(docs)).to_dict()
        except QAError as e:  # bad input; no access (the same words for a collection that is not there)
            return {"error": str(e)}
        except Exception as e:  # never a stack trace to an API client
            traceback.print_exc()
            return {"error": f"internal error while answering ({e.__class__.__name__}); see the server log"}

    return ask


def _conversation_handlers(site: Site) -> tuple[Callable, ...]:
    """submit (a question joins the conversation at once), respond (its answer, in its conversation, on
    the queue), on_failure (the answer event never ran), clear, and as_written (a rewritten follow-up's
    words asked again, as they are)."""

    def submit(question: Any, conv: Conversation):
        if not isinstance(question, str) or not question.strip():
            return gr.skip(), gr.skip(), conv  # empty input is ignored
        if not conv.add_question(question):  # one at a time: the text stays in the box until the answer is in
            return gr.skip(), gr.skip(), conv
        with conv.lock:
            return "", conv.messages(), conv

    def as_written(_box: Any, conv: Conversation, evt: gr.EventData):
        data = getattr(evt, "_data", None) or {}
        question = conv.rewritten_question(data.get("turn"))
        if question is None or not conv.add_question(question, as_written=True):
            return gr.skip(), gr.skip(), conv  # not a rewritten reply, or an answer is still being worked out
        with conv.lock:
            return gr.skip(), conv.messages(), conv  # whatever is being typed in the box stays there

    def respond(conv: Conversation, k: Any, docs: Any, request: gr.Request = None):
        started = conv.start_next()
        if started is None:
            return gr.skip(), conv, gr.skip(), gr.skip()
        i, turn, history = started
        evidence: Any = gr.skip()
        try:
            shelved = site.open(site.username(request), conv.collection)  # per answer: a revoked reader is refused at once
            turn.update(collection=shelved.name, build_id=shelved.build_id)
            a = answer_in_conversation(shelved.answerer, history, turn["question"], clean_k(k), clean_docs(docs),
                                       as_written=turn.get("as_written", False)).to_dict()
            turn.update(status="done", answer=a, html=render.render_reply(a, i))
            evidence = render.render_evidence(a, i, shelved.lib)
        except QAError as e:  # too long, unknown document, no access...: say why, in the chat
            turn.update(status="refused", error=str(e), html=render.render_refusal(e))
        except Exception as e:
            traceback.print_exc()
            turn.update(status="failed", error=f"{e.__class__.__name__}: {e}", html=render.render_failure())
        with conv.lock:
            msgs = conv.messages()
            if not any(t is turn for t in conv.turns):  # the conversation was cleared meanwhile
                return msgs, conv, gr.skip(), gr.skip()
        doc = docview.DOCUMENT_PLACEHOLDER if turn["status"] == "done" else gr.skip()
        return msgs, conv, evidence, doc

    def on_failure(conv: Conversation):
        """The answer event failed before it ran (a full queue, a lost connection): say so in the chat."""
        with conv.lock:
            for t in conv.turns:
                if t["status"] == "queued":
                    t.update(status="busy", error="busy", html=render.render_busy())
            return conv.messages(), conv

    def clear(conv: Conversation):
        with conv.lock:  # in place, so an answer still being worked out cannot bring the old turns back
            conv.turns.clear()
        return [], conv, render.EVIDENCE_PLACEHOLDER, docview.DOCUMENT_PLACEHOLDER, ""

    return submit, respond, on_failure, clear, as_written


def _document_handler(site: Site) -> Callable:
    """on_cite: a citation clicked in a reply or in the evidence panel selects it there and opens its
    document at the quote (with its page image: the only route to the document's text and pages)."""

    def on_cite(conv: Conversation, evt: gr.EventData, request: gr.Request = None):
        data = getattr(evt, "_data", None) or {}
        try:
            i, n = int(data.get("turn")), int(data.get("n"))
        except (TypeError, ValueError):
            return gr.skip(), gr.skip()
        if not (0 <= i < len(conv.turns)) or not conv.turns[i]["answer"]:
            return gr.skip(), gr.skip()
        turn = conv.turns[i]
        try:  # the collection the answer came from, checked again: a revoked reader sees no document
            shelved = site.open(site.username(request), turn.get("collection") or conv.collection)
        except QAError as e:
            return gr.skip(), docview.render_notice(str(e))
        a = turn["answer"]
        return (render.render_evidence(a, i, shelved.lib, selected=n),
                docview.render_document(a, n, shelved.lib, nonce=time.monotonic_ns(), page_image=shelved.pages))

    return on_cite


def _feedback_handler(feedback_path: Path, feedback_sink) -> Callable:
    """on_like: a thumb up, down or taken back, saved as one feedback record (to `feedback_sink` when given,
    else appended to `feedback_path`) with the build the answer came from; a record that cannot be saved
    is logged, never shown."""

    def on_like(conv: Conversation, evt: gr.LikeData):
        turn = conv.turn_for_message(evt.index)
        if turn is None or turn["status"] in ("queued", "running"):
            return
        liked = evt.liked if isinstance(evt.liked, bool) else None  # "" when a thumb is taken back
        answer = turn["answer"] if turn["answer"] is not None else {"error": turn["error"]}
        rec = feedback_record(turn["question"], answer, turn.get("build_id"), liked, reply_id=turn["id"])
        try:
            (feedback_sink or (lambda r: append_feedback(feedback_path, r)))(rec)
        except (OSError, QAError) as e:
            print(f"app: could not save feedback: {e}", file=sys.stderr)

    return on_like


def require_sign_in(demo: gr.Blocks, ws) -> bool:
    """When the workspace has users, Gradio's login page in front of the chat: its `auth=` checks the
    workspace's passwords, and Gradio then refuses its own routes and API (/ask, /config, files...)
    without the session cookie it sets. Decided at start-up: users added later need a restart. Returns
    whether sign-in is required."""
    if not ws.users.any():
        return False
    kwargs = dict(getattr(demo, "qa_launch_kwargs", {}))
    kwargs.update(auth=password_check(ws), auth_message="Sign in with your workspace account.")
    demo.qa_launch_kwargs = kwargs
    return True


def serve_api(demo: gr.Blocks, settings: Settings, say: Callable[[str], None], ws=None, site: Optional[Site] = None) -> None:
    """The REST API (/api/v1) on the chat's own server, first among its routes: the workspace's
    collections, its tokens and roles; with no users it refuses every call (docs/workspace.md). `site`:
    the chat's, whose jobs runner (one per process) and opened collections the API shares. Jobs a crash
    left behind are finished first."""
    from qa.api import mounted_api

    ws = ws or Workspace.open(settings=settings)
    jobs = site.jobs if site is not None and site.jobs is not None else _jobs(ws, settings)
    for job in jobs.recover():
        say(f"finishing job {job.id} of collection {job.collection!r}, left by a stopped server")
    kwargs = dict(getattr(demo, "qa_launch_kwargs", {}))
    answerers = site.shelf.answerers if site is not None else None
    kwargs["app_kwargs"] = {"routes": [mounted_api(ws, settings, jobs, answerers)]}
    # Gradio refuses a bigger file before it is written to its cache; qa.ingest.uploads checks again
    kwargs["max_file_size"] = f"{settings.max_upload_mb}mb"
    demo.qa_launch_kwargs = kwargs


def _jobs(ws, settings: Settings, embedder=None):
    from qa.workspace.jobs import Jobs

    return Jobs(ws, settings, embedder)


def chat_site(ws, settings: Settings, served: str, signed_in: bool, answerer) -> Site:
    """The collections the chat offers: `answerer` (opened at start-up) for the served one, the others
    opened on their first question with its embedder and reader (one copy of the models per process),
    and one jobs runner for uploads made in the chat and through the API."""
    embedder = getattr(getattr(answerer, "retriever", None), "embedder", None)
    opener = default_opener(settings, embedder, getattr(answerer, "reader", None))
    shelf = Shelf(ws, Answerers(opener), demo=answerer if served == DEMO else None)
    if served != DEMO:
        shelf.hold(served, answerer)
    return Site(ws, shelf, served, signed_in, _jobs(ws, settings, embedder))


def launch(demo: gr.Blocks, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """Start serving in a background thread; returns the URL. demo.block_thread() waits, demo.close() stops."""
    _, url, _ = demo.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True,
                            show_error=False, footer_links=["api"], run_history=False, ssr_mode=False,
                            **getattr(demo, "qa_launch_kwargs", {}))
    return url


# --------------------------------------------------------------------------- command line

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="app.py", description="Chat with the corpus: cited, extractive answers in the browser.")
    p.add_argument("--host", default=None, help=f"address to listen on (env QA_HOST; default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=None, help=f"port (env QA_PORT; default {DEFAULT_PORT})")
    p.add_argument("--corpus", type=Path, default=None,
                   help=f"folder of documents: PDF, Word, web pages, text (env QA_CORPUS; default: the folder the "
                        f"index was built from, or {DEFAULT_CORPUS} for a new index)")
    p.add_argument("--index", type=Path, default=None,
                   help=f"index folder, built if missing or stale (env QA_INDEX; default {DEFAULT_INDEX})")
    p.add_argument("--feedback", type=Path, default=None,
                   help=f"feedback JSONL (env QA_FEEDBACK; default {DEFAULT_FEEDBACK})")
    p.add_argument("--store", default=None, metavar="URL",
                   help="serve the index published in this PostgreSQL store (env QA_STORE; built by "
                        "`qa index --store URL`); feedback then goes into its table, so replicas share it")
    p.add_argument("--collection", default=None, metavar="NAME",
                   help="serve this collection of the workspace (`qa collections list`) instead of --corpus/--index; "
                        "with accounts, only its readers are answered (default: the demo collection, open to every "
                        "signed-in user)")
    p.add_argument("--insecure-no-auth", action="store_true",
                   help="serve a workspace without users on a non-loopback --host (anyone who reaches it reads "
                        "everything); refused without this flag")
    p.add_argument("--max-queue", type=int, default=MAX_QUEUE, help=f"questions waiting at most (default {MAX_QUEUE})")
    return p.parse_args(argv)


def served_collection(args: argparse.Namespace, settings: Settings) -> tuple[str, Settings]:
    """The collection the chat serves, whose readers it answers, and the settings that reach it.
    `--collection NAME`: that collection's documents and index (or its store). Otherwise the demo
    collection, which every signed-in user may read: the bundled corpus, or the --corpus/--index the
    operator chose on the command line, served to every signed-in visitor as the demo is."""
    if not args.collection:
        return DEMO, settings
    c, settings = collection_target(args, settings)
    return c.name, settings.replace(index=c.index, corpus=c.documents.resolve())


def main(argv=None) -> int:
    args = parse_args(argv)
    say = lambda s: print(f"app: {s}", file=sys.stderr, flush=True)  # noqa: E731
    debug = False
    try:
        settings = Settings.from_env(corpus=args.corpus, index=args.index, feedback=args.feedback,
                                     host=args.host, port=args.port, store=args.store)
        debug = settings.debug
        if not 0 < args.max_queue <= 10_000:
            raise QAError(f"--max-queue must be from 1 to 10000, not {args.max_queue}")
        ws = Workspace.open(settings=settings)  # before any index or model: an open address may be refused
        signed_in = ws.users.any()
        check_listening(settings.host, signed_in, args.insecure_no_auth)
        base = settings  # other collections are opened with these, not the served one's paths
        served, settings = served_collection(args, settings)
        if settings.store:  # a replica builds nothing: its examples come from the folder it is told, if any
            corpus = settings.corpus or DEFAULT_CORPUS
        else:
            check_target(settings.index)  # before anything is built: never replace a folder of the user's
            corpus = choose_corpus(settings.index, None, settings.corpus)
        examples = read_examples(corpus)  # a bad list is refused before any work is done
        if signed_in and served != DEMO:
            examples = []  # they are the collection's words, in the page every signed-in visitor gets
        sink = None
        if settings.store:  # a replica serves what `qa index --store` published; it builds nothing
            say(f"serving the index published in {redact(settings.store)}")
            sink = lambda rec: to_store(settings.store, rec)  # noqa: E731
        else:
            say(f"checking the index at {settings.index} for the corpus in {corpus}")
            report = ensure_index(corpus, settings.index, settings, progress=True, log=say)
            say(report.summary())
            for line in report.skipped_lines():
                say(line.strip())
        answerer = open_answerer(settings.index, settings)
        say("loading the model")
        answerer.warm_up(examples[0] if examples else None)  # the first visitor should not wait for the model
        site = chat_site(ws, base, served, signed_in, answerer)
        demo = build_demo(answerer, settings.feedback, examples=examples, max_queue=args.max_queue, feedback_sink=sink,
                          site=site)
        serve_api(demo, settings, say, ws, site)
        if signed_in and require_sign_in(demo, ws):
            say(f"the workspace has accounts: visitors sign in, and readers of collection {served!r} are answered")
        try:
            url = launch(demo, settings.host, settings.port)
        except OSError as e:
            raise QAError(f"cannot listen on {settings.host}:{settings.port} ({e})", fix="choose another --port") from None
    except QAError as e:
        print(f"app: error: {e}", file=sys.stderr)
        return e.code
    except OSError as e:
        print(f"app: error: {e.strerror or e} ({getattr(e, 'filename', '') or ''})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("app: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug or a broken install: still one line, the traceback on request
        if debug:
            traceback.print_exc()
        print(f"app: error: unexpected {e.__class__.__name__} while starting: {e}"
              + ("" if debug else " (set QA_DEBUG=1 for the traceback)"), file=sys.stderr)
        return 2
    where = "the store's feedback table" if settings.store else settings.feedback
    print(f"Chat app running at {url}  (feedback: {where}; Ctrl+C to stop)", flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
