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
from qa.chat.access import NO_ACCESS, check_listening, password_check, reader_check  # noqa: E402
from qa.chat.assets import BRIDGE_JS, CSS, DOC_JS  # noqa: E402
from qa.chat.conversation import (Conversation, answer_in_conversation, clean_docs, clean_history,  # noqa: E402
                                  clean_k)
from qa.chat.feedback import append_feedback, feedback_record  # noqa: E402
from qa.chat.pages import PageRenderer  # noqa: E402
from qa.errors import QAError, redact  # noqa: E402
from qa.index.build import choose_corpus  # noqa: E402
from qa.index.stores.folder import check_target  # noqa: E402
from qa.index.stores.postgres import append_feedback as to_store  # noqa: E402
from qa.ingest.corpus import read_examples  # noqa: E402
from qa.pipeline import ensure_index, open_answerer  # noqa: E402
from qa.workspace import DEMO, Workspace  # noqa: E402
from qa.workspace.commands import collection_target  # noqa: E402

CONCURRENCY = 4  # questions answered at once (the UI and the API share this limit)
MAX_QUEUE = 64  # questions waiting; beyond that the chat says "busy, try again"
MAX_K = 20

# --------------------------------------------------------------------------- the app

class Layout(NamedTuple):
    """The components the events connect."""

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
               may_read: Optional[Callable[[Optional[str]], bool]] = None) -> gr.Blocks:
    """The Blocks app around an Answerer (anything with .ask(question, k=, docs=) and .index; with
    .conversation(history=), as a real Answerer has, follow-ups are answered in their conversation).

    `concurrency` and `max_queue` are applied with demo.queue() here, so tests can make a tiny queue.
    `examples` are the corpus's own example questions (qa.ingest.corpus.read_examples), shown as buttons
    under "Try:"; with none, that row is left out.

    `may_read(username)` (qa.chat.access.reader_check), when the chat has sign-in: answers, document
    views and the API refuse a visitor it says no to, and the page's document list is filled per
    visitor when the page loads, never built into the page every visitor gets.
    """
    index = answerer.index
    lib = render.Library.from_index(index)
    pages = PageRenderer(index)  # PDF pages for the document panel, drawn once, shared by every session
    build_id = index.manifest.get("build_id") if isinstance(getattr(index, "manifest", None), dict) else None
    handlers = Handlers(*_conversation_handlers(answerer, lib, may_read), on_cite=_document_handler(lib, pages, may_read),
                        on_like=_feedback_handler(build_id, Path(feedback_path), feedback_sink))
    theme = gr.themes.Default(primary_hue="blue", neutral_hue="slate")
    with gr.Blocks(title="Ask the corpus", fill_width=True) as demo:
        demo.qa_launch_kwargs = {"theme": theme, "css": CSS}
        ui = _layout(index, examples, listed=may_read is None)
        _wire(ui, handlers, examples, concurrency)
        if may_read is not None:
            demo.load(_document_list(index, may_read), None, [ui.docs_pick], queue=False, api_visibility="private")
        gr.api(_api_endpoint(answerer, may_read), api_name="ask", concurrency_id="answer", concurrency_limit=concurrency)
    _accept_three_values(demo)
    demo.queue(default_concurrency_limit=concurrency, max_size=max_queue)
    return demo


def _doc_choices(index) -> list[tuple[str, str]]:
    return sorted(((d.title or d.doc_id, d.doc_id) for d in index.documents.values()), key=lambda t: t[0].lower())


def _document_list(index, may_read: Callable[[Optional[str]], bool]) -> Callable:
    """On page load: the document filter's choices, for a visitor who may read them (their titles are
    the collection's, so they are not in the page's config, which every signed-in visitor gets)."""

    def fill(request: gr.Request):
        return gr.Dropdown(choices=_doc_choices(index)) if may_read(getattr(request, "username", None)) else gr.skip()

    return fill


def _layout(index, examples: Sequence[str], listed: bool = True) -> Layout:
    """The page, inside the open Blocks: the conversation and its controls on the left, the evidence and
    document panels on the right. `listed`: the document filter's choices are in the page itself
    (else filled on load, per visitor)."""
    doc_choices = _doc_choices(index) if listed else []
    conv_state = gr.State(Conversation())  # deep-copied per session: a fresh one each
    gr.Markdown("# Ask the corpus\nAnswers are quoted from the documents, with numbered citations. "
                "Click a citation to read the passage in its document.", elem_classes=["qa-title-bar"])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chat = gr.Chatbot(label="Conversation", elem_id="qa-chat", height=560, render_markdown=False,
                              sanitize_html=True, latex_delimiters=[], buttons=[], layout="bubble",
                              feedback_options=("Like", "Dislike"),
                              placeholder="Ask about the documents in the corpus. Every answer quotes its sources.")
            with gr.Row():
                box = gr.Textbox(show_label=False, placeholder="Type a question and press Enter", lines=1,
                                 max_lines=6, scale=5, elem_id="qa-question", autofocus=True)
                send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="qa-send")
            example_buttons = []
            if examples:
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
                                        info="Leave empty to search the whole corpus.")
        with gr.Column(scale=2, min_width=360):
            evidence = gr.HTML(render.EVIDENCE_PLACEHOLDER, js_on_load=BRIDGE_JS, elem_id="qa-evidence",
                               label="Evidence", padding=True)
            document = gr.HTML(docview.DOCUMENT_PLACEHOLDER, js_on_load=DOC_JS, elem_id="qa-document",
                               label="Document", padding=True)
    return Layout(conv_state, chat, box, send, example_buttons, clear_btn, k_slider, docs_pick, evidence, document)


def _wire(ui: Layout, h: Handlers, examples: Sequence[str], concurrency: int) -> None:
    """The events: a question (Enter, Ask, an example, or "ask as written" under a rewritten reply) is
    taken at once and answered on the queue; a citation opens its document; a thumb is saved; clearing
    cancels the answers still being worked out. All are private: the one API endpoint is `ask` (see
    _api_endpoint)."""
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


def _accept_three_values(demo: gr.Blocks) -> None:
    """A plain HTTP caller of /ask that sends the three values it always sent (question, k, docs) gets
    history=None. gradio_client fills in a missing default itself, but Gradio's server refuses a call
    with fewer values than parameters, and adding `history` must not break those callers. Gradio 6
    checks the count in Blocks.validate_inputs and then reads the same list, so the list is padded
    there, for /ask only (tests/test_app.py sends three values over plain HTTP)."""
    check = demo.validate_inputs

    def validate_inputs(block_fn, inputs):
        if getattr(block_fn, "api_name", None) == "ask" and isinstance(inputs, list) and len(inputs) == 3:
            inputs.append(None)
        return check(block_fn, inputs)

    demo.validate_inputs = validate_inputs


def _api_endpoint(answerer, may_read: Optional[Callable[[Optional[str]], bool]] = None) -> Callable:
    """The `/ask` API function, typed so gradio_client documents it (Gradio fills in `request` and leaves
    it out of the API's parameters)."""

    def answer_dict(question: Any, k: Any, docs: Any, history: Any) -> dict:
        """The answer after `history` as JSON; QAError (bad input) becomes {"error": message}."""
        try:
            if not isinstance(question, str):
                raise QAError("the question must be text")
            return answer_in_conversation(answerer, clean_history(history), question, clean_k(k),
                                          clean_docs(docs)).to_dict()
        except QAError as e:
            return {"error": str(e)}

    def ask(question: str, k: int = DEFAULT_K, docs: Optional[list[str]] = None,
            history: Optional[list[dict]] = None, request: gr.Request = None) -> dict:
        """Answer a question from the corpus, after the earlier turns in `history` (a list of
        {"question": ..., "answer": <answer object or its text>}) so a follow-up is understood. Returns
        the answer object (status, answer, confidence, citations with document offsets, notes,
        conflicts, understood_as, ...) or {"error": message}."""
        try:
            if may_read is not None and not may_read(getattr(request, "username", None)):
                return {"error": NO_ACCESS}
            return answer_dict(question, k, docs, history)
        except Exception as e:  # never a stack trace to an API client
            traceback.print_exc()
            return {"error": f"internal error while answering ({e.__class__.__name__}); see the server log"}

    return ask


def _conversation_handlers(answerer, lib: render.Library,
                           may_read: Optional[Callable[[Optional[str]], bool]] = None) -> tuple[Callable, ...]:
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
            if may_read is not None and not may_read(getattr(request, "username", None)):
                raise QAError(NO_ACCESS)  # asked per answer: a revoked reader is refused at once
            a = answer_in_conversation(answerer, history, turn["question"], clean_k(k), clean_docs(docs),
                                       as_written=turn.get("as_written", False)).to_dict()
            turn.update(status="done", answer=a, html=render.render_reply(a, i))
            evidence = render.render_evidence(a, i, lib)
        except QAError as e:  # too long, unknown document...: say why, in the chat
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


def _document_handler(lib: render.Library, pages: PageRenderer,
                      may_read: Optional[Callable[[Optional[str]], bool]] = None) -> Callable:
    """on_cite: a citation clicked in a reply or in the evidence panel selects it there and opens its
    document at the quote (with its page image: the only route to the document's text and pages)."""

    def on_cite(conv: Conversation, evt: gr.EventData, request: gr.Request = None):
        if may_read is not None and not may_read(getattr(request, "username", None)):
            return gr.skip(), docview.render_notice(NO_ACCESS)
        data = getattr(evt, "_data", None) or {}
        try:
            i, n = int(data.get("turn")), int(data.get("n"))
        except (TypeError, ValueError):
            return gr.skip(), gr.skip()
        if not (0 <= i < len(conv.turns)) or not conv.turns[i]["answer"]:
            return gr.skip(), gr.skip()
        a = conv.turns[i]["answer"]
        return (render.render_evidence(a, i, lib, selected=n),
                docview.render_document(a, n, lib, nonce=time.monotonic_ns(), page_image=pages))

    return on_cite


def _feedback_handler(build_id: Optional[str], feedback_path: Path, feedback_sink) -> Callable:
    """on_like: a thumb up, down or taken back, saved as one feedback record (to `feedback_sink` when given,
    else appended to `feedback_path`); a record that cannot be saved is logged, never shown."""

    def on_like(conv: Conversation, evt: gr.LikeData):
        turn = conv.turn_for_message(evt.index)
        if turn is None or turn["status"] in ("queued", "running"):
            return
        liked = evt.liked if isinstance(evt.liked, bool) else None  # "" when a thumb is taken back
        answer = turn["answer"] if turn["answer"] is not None else {"error": turn["error"]}
        rec = feedback_record(turn["question"], answer, build_id, liked, reply_id=turn["id"])
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


def serve_api(demo: gr.Blocks, settings: Settings, say: Callable[[str], None], ws=None) -> None:
    """The REST API (/api/v1) on the chat's own server, first among its routes: the workspace's
    collections, its tokens and roles; with no users it refuses every call (docs/workspace.md). Jobs a
    crash left behind are finished first."""
    from qa.api import mounted_api
    from qa.workspace.jobs import Jobs

    ws = ws or Workspace.open(settings=settings)
    jobs = Jobs(ws, settings)
    for job in jobs.recover():
        say(f"finishing job {job.id} of collection {job.collection!r}, left by a stopped server")
    kwargs = dict(getattr(demo, "qa_launch_kwargs", {}))
    kwargs["app_kwargs"] = {"routes": [mounted_api(ws, settings, jobs)]}
    demo.qa_launch_kwargs = kwargs


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
        demo = build_demo(answerer, settings.feedback, examples=examples, max_queue=args.max_queue, feedback_sink=sink,
                          may_read=reader_check(ws, served, True) if signed_in else None)
        serve_api(demo, settings, say, ws)
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
