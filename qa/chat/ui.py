"""The chat page as Gradio Blocks: its layout, its events, and the `/ask` API endpoint.

    demo = build_demo(answerer, feedback_path, examples=..., site=chat_site(ws, settings, served, signed_in, answerer))
    url = launch(demo, host, port)

With qa.chat.documents_ui, the only package modules that import gradio (6.x); app.py is the command
that starts them. HTML comes from qa.chat.render, qa.chat.docview and qa.chat.panel, which escape all
corpus and user text; the chatbot renders it as sanitized HTML with Markdown off.

Conversations: each question is answered after the session's earlier turns (qa.chat.conversation
feeds them to the engine's qa.answer.conversation), so "When was he killed?" after "Who led Wilayat
Khorasan?" is understood; the reply then says "Understood as: ..." with an "ask as written" link.
"Clear conversation" starts afresh, and so does picking another collection.

API: one named endpoint, `/ask` (question, k=qa.settings.DEFAULT_K, docs=None: a list of doc ids,
history=None: the earlier turns, [{"question": ..., "answer": <answer object or its text>}, ...],
collection=None: the one the chat opens on) -> the answer object as JSON (Answer.to_dict(), with
`understood_as`), or {"error": message} for a question, history or collection it will not take:

    from gradio_client import Client
    client = Client("http://127.0.0.1:7860/")
    first = client.predict("Who led Wilayat Khorasan?", api_name="/ask")
    print(client.predict("When was he killed?", history=[{"question": "Who led Wilayat Khorasan?",
                                                          "answer": first}], api_name="/ask"))

Accounts: when the workspace (QA_WORKSPACE) has users, the page and its API ask for a sign-in first
(Gradio's login page; gradio_client: Client(url, auth=(name, password))). Each visitor picks among the
collections they may read, and every answer, document view and API call is checked against their
role when it comes (qa.chat.site). docs/workspace.md, "In the chat".

Load: answers run on Gradio's queue, at most CONCURRENCY at once (UI and API share the limit) with
at most MAX_QUEUE waiting. Gradio 6 refuses a join to a full queue with HTTP 503, and its browser
client then shows a red "Error" toast ("This application is currently busy. Please try again.").
Here the answer event's .failure() handler turns the pending reply into a friendly "busy, try again"
message in the chat, and a few lines of page script hide that one toast (qa/chat/static/bridge.js). API
clients get gradio_client's own error for a full queue.

Long because the page's layout, its events and their handlers are read together: each handler is
wired to exactly the components laid out beside it.
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional, Sequence

from ..errors import QAError
from ..settings import DEFAULT_FEEDBACK, DEFAULT_HOST, DEFAULT_K, DEFAULT_PORT, Settings
from ..workspace import DEMO
from ..workspace.answerers import Answerers, default_opener
from ..workspace.listing import documents_listing
from . import docview, panel, render
from .access import password_check
from .assets import BRIDGE_JS, CSS, DOC_JS
from .conversation import Conversation, answer_in_conversation, clean_docs, clean_history, clean_k
from .documents_ui import CollectionControls, documents_panel, wire_collections
from .feedback import append_feedback, feedback_record
from .shelf import Shelf
from .site import Site

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # gradio's own switch, read when it is imported

import gradio as gr  # noqa: E402


CONCURRENCY = 4  # questions answered at once (the UI and the API share this limit)
MAX_QUEUE = 64  # questions waiting; beyond that the chat says "busy, try again"
MAX_K = 20
# The system's own fonts, whole: Gradio's default webfont ships only some glyphs of its bold weights,
# so capitals such as "A" and "B" fell back to another typeface in bold text (issue 30)
SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Noto Sans",
                "Liberation Sans", "DejaVu Sans", "sans-serif")
SYSTEM_MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "DejaVu Sans Mono", "monospace")

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
    feedback: "FeedbackControls"
    examples_row: Optional[gr.Column] = None
    collections: Optional[CollectionControls] = None


class FeedbackControls(NamedTuple):
    """Under the chat: the acknowledgement of a thumb, and the one-line reason a thumbs-down asks for."""

    note: gr.HTML
    row: gr.Row
    reason: gr.Textbox
    send: gr.Button


class Handlers(NamedTuple):
    """The server side of the chat's events."""

    submit: Callable
    respond: Callable
    on_failure: Callable
    clear: Callable
    as_written: Callable
    on_cite: Callable
    on_like: Callable
    on_reason: Callable


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
    on_like, on_reason = _feedback_handler(Path(feedback_path), feedback_sink)
    intro = render.EVIDENCE_PLACEHOLDER if site.has_collections else _intro(answerer.index)  # else filled per visitor
    handlers = Handlers(*_conversation_handlers(site, intro), on_cite=_document_handler(site),
                        on_like=on_like, on_reason=on_reason)
    theme = gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=SYSTEM_FONTS, font_mono=SYSTEM_MONO)
    with gr.Blocks(title="Ask the corpus", fill_width=True) as demo:
        demo.qa_launch_kwargs = {"theme": theme, "css": CSS}
        ui = _layout(answerer.index, examples, site, intro)
        answer_events = _wire(ui, handlers, examples, concurrency)
        if site.has_collections:
            wire_collections(demo, ui, site, answer_events)
        gr.api(_api_endpoint(site), api_name="ask", concurrency_id="answer", concurrency_limit=concurrency)
    _accept_old_calls(demo)
    demo.queue(default_concurrency_limit=concurrency, max_size=max_queue)
    return demo


def _intro(index) -> str:
    """The first screen's evidence panel for a chat with one index: what it holds (qa.chat.panel)."""
    from ..index.load import describe

    try:
        return panel.render_intro(documents_listing(DEMO, describe(index)))
    except (QAError, AttributeError, KeyError, TypeError):  # an index without an account of itself (a test double)
        return render.EVIDENCE_PLACEHOLDER


def _doc_choices(index) -> list[tuple[str, str]]:
    return sorted(((d.title or d.doc_id, d.doc_id) for d in index.documents.values()), key=lambda t: t[0].lower())


def _layout(index, examples: Sequence[str], site: Site, intro: str) -> Layout:
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
            # no floating label: messages scrolled under it (issue 30)
            chat = gr.Chatbot(label="Conversation", show_label=False, elem_id="qa-chat", height=480, render_markdown=False,
                              sanitize_html=True, latex_delimiters=[], buttons=[], layout="bubble",
                              feedback_options=("Like", "Dislike"),
                              placeholder="Ask about the documents in the corpus. Every answer quotes its sources.")
            feedback_note = gr.HTML("", elem_id="qa-feedback-note", padding=False)
            with gr.Row(visible=False, elem_id="qa-reason-row") as reason_row:
                reason_box = gr.Textbox(show_label=False, placeholder="What was wrong? One line, e.g. the right answer "
                                        "or the passage that has it", lines=1, max_lines=1, scale=5, elem_id="qa-reason")
                reason_send = gr.Button("Send", size="sm", scale=1, min_width=80, elem_id="qa-reason-send")
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
                controls = documents_panel(pick)
        with gr.Column(scale=2, min_width=360):
            evidence = gr.HTML(intro, js_on_load=BRIDGE_JS, elem_id="qa-evidence",
                               label="Evidence", padding=True)
            document = gr.HTML(docview.DOCUMENT_PLACEHOLDER, js_on_load=DOC_JS, elem_id="qa-document",
                               label="Document", padding=True)
    return Layout(conv_state, chat, box, send, example_buttons, clear_btn, k_slider, docs_pick, evidence, document,
                  FeedbackControls(feedback_note, reason_row, reason_box, reason_send), examples_row, controls)


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
    fb = ui.feedback
    ui.chat.like(h.on_like, [ui.conv], [fb.note, fb.row, fb.reason, ui.conv], queue=False, api_visibility="private")
    for trigger in (fb.reason.submit, fb.send.click):
        trigger(h.on_reason, [fb.reason, ui.conv], [fb.note, fb.row, fb.reason, ui.conv], queue=False,
                api_visibility="private")
    clear_outputs = [ui.chat, ui.conv, ui.evidence, ui.document, ui.box, ui.feedback.note, ui.feedback.row]
    ui.clear_btn.click(h.clear, [ui.conv], clear_outputs, queue=False, api_visibility="private", cancels=answer_events)
    ui.chat.clear(h.clear, [ui.conv], clear_outputs, queue=False, api_visibility="private", cancels=answer_events)
    return answer_events


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


def _conversation_handlers(site: Site, intro: str = render.EVIDENCE_PLACEHOLDER) -> tuple[Callable, ...]:
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
            conv.feedback_turn = None
        return ([], conv, conv.intro or intro, docview.DOCUMENT_PLACEHOLDER, "", "", gr.Row(visible=False))

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


FEEDBACK_SAVED = {True: "Thanks: saved as a helpful answer.",
                  False: "Thanks: saved. What was wrong? A line below helps whoever checks it (optional).",
                  None: "Your thumb was taken back."}
REASON_SAVED = "Thanks: your note is saved with the feedback."
NOT_SAVED = "Sorry: the feedback could not be saved (the server log says why)."


def _feedback_handler(feedback_path: Path, feedback_sink) -> tuple[Callable, Callable]:
    """on_like: a thumb up, down or taken back, saved as one feedback record (to `feedback_sink` when given,
    else appended to `feedback_path`) with the build the answer came from, and acknowledged under the
    chat; a thumbs-down opens a one-line box for what was wrong. on_reason: that line, saved as one more
    record of the same reply (the last record is its verdict). A record that cannot be saved is logged
    and the note says so, never with a traceback."""

    def save(turn: dict, liked: Optional[bool], reason: Optional[str] = None) -> bool:
        answer = turn["answer"] if turn["answer"] is not None else {"error": turn["error"]}
        rec = feedback_record(turn["question"], answer, turn.get("build_id"), liked, reply_id=turn["id"], reason=reason)
        try:
            (feedback_sink or (lambda r: append_feedback(feedback_path, r)))(rec)
            return True
        except (OSError, QAError) as e:
            print(f"app: could not save feedback: {e}", file=sys.stderr)
            return False

    def on_like(conv: Conversation, evt: gr.LikeData):
        turn = conv.turn_for_message(evt.index)
        if turn is None or turn["status"] in ("queued", "running"):
            return gr.skip(), gr.skip(), gr.skip(), conv
        liked = evt.liked if isinstance(evt.liked, bool) else None  # "" when a thumb is taken back
        saved = save(turn, liked)
        conv.feedback_turn = turn["id"] if saved and liked is False else None
        note = render.render_note(FEEDBACK_SAVED[liked] if saved else NOT_SAVED)
        return note, gr.Row(visible=conv.feedback_turn is not None), "", conv

    def on_reason(text: Any, conv: Conversation):
        turn = next((t for t in conv.turns if t["id"] == conv.feedback_turn), None)
        if turn is None or not isinstance(text, str) or not text.strip():
            return gr.skip(), gr.skip(), gr.skip(), conv
        saved = save(turn, False, text)
        conv.feedback_turn = None if saved else conv.feedback_turn
        return render.render_note(REASON_SAVED if saved else NOT_SAVED), gr.Row(visible=not saved), "", conv

    return on_like, on_reason


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


def make_jobs(ws, settings: Settings, embedder=None):
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
    return Site(ws, shelf, served, signed_in, make_jobs(ws, settings, embedder))


def launch(demo: gr.Blocks, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """Start serving in a background thread; returns the URL. demo.block_thread() waits, demo.close() stops."""
    _, url, _ = demo.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True,
                            show_error=False, footer_links=["api"], run_history=False, ssr_mode=False,
                            **getattr(demo, "qa_launch_kwargs", {}))
    return url
