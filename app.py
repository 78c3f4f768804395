#!/usr/bin/env python
"""The chat app's command: serve the chat page (qa.chat.ui) and the REST API (qa.api) on one server.

    python app.py [--host H] [--port P] [--corpus DIR] [--index DIR] [--feedback PATH]
                  [--collection NAME] [--insecure-no-auth]

Defaults: 127.0.0.1:7860 (env QA_HOST, QA_PORT), the bundled corpus and index (env QA_CORPUS,
QA_INDEX), feedback in var/feedback.jsonl (env QA_FEEDBACK); every setting comes from
`qa.settings.Settings.from_env()`, with the options above on top. A missing or stale index is built
first, with its progress in the terminal; a bad corpus or an index that cannot be built or loaded
is a one-line message and exit code 2.

The page opens on the collection served (--collection NAME, else the demo: the bundled corpus or the
--corpus/--index given). When the workspace (QA_WORKSPACE) has users, visitors sign in and pick among
the collections they may read; with no users it listens only on a loopback address unless
--insecure-no-auth is given. docs/workspace.md, "In the chat".
"""
import argparse
import sys
import traceback
from pathlib import Path
from typing import Callable, Optional

from qa.settings import (DEFAULT_CORPUS, DEFAULT_FEEDBACK, DEFAULT_HOST, DEFAULT_INDEX, DEFAULT_PORT,  # noqa: E402
                         Settings, set_offline_environment)

set_offline_environment()

from qa.chat.access import check_listening  # noqa: E402
from qa.chat.site import Site  # noqa: E402
from qa.chat.ui import (MAX_QUEUE, build_demo, chat_site, launch, make_jobs,  # noqa: E402,F401 (the tests' handles)
                        require_sign_in)
from qa.errors import QAError, redact  # noqa: E402
from qa.index.build import choose_corpus  # noqa: E402
from qa.index.stores.folder import check_target  # noqa: E402
from qa.index.stores.postgres import append_feedback as to_store  # noqa: E402
from qa.ingest.corpus import read_examples  # noqa: E402
from qa.pipeline import ensure_index, open_answerer  # noqa: E402
from qa.workspace import DEMO, Workspace  # noqa: E402
from qa.workspace.commands import collection_target  # noqa: E402


def serve_api(demo, settings: Settings, say: Callable[[str], None], ws=None, site: Optional[Site] = None) -> None:
    """The REST API (/api/v1) on the chat's own server, first among its routes: the workspace's
    collections, its tokens and roles; with no users it refuses every call (docs/workspace.md). `site`:
    the chat's, whose jobs runner (one per process) and opened collections the API shares. Jobs a crash
    left behind are finished first."""
    from qa.api import mounted_api

    ws = ws or Workspace.open(settings=settings)
    jobs = site.jobs if site is not None and site.jobs is not None else make_jobs(ws, settings)
    for job in jobs.recover():
        say(f"finishing job {job.id} of collection {job.collection!r}, left by a stopped server")
    kwargs = dict(getattr(demo, "qa_launch_kwargs", {}))
    answerers = site.shelf.answerers if site is not None else None
    kwargs["app_kwargs"] = {"routes": [mounted_api(ws, settings, jobs, answerers)]}
    # Gradio refuses a bigger file before it is written to its cache; qa.ingest.uploads checks again
    kwargs["max_file_size"] = f"{settings.max_upload_mb}mb"
    demo.qa_launch_kwargs = kwargs


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
                   help="open the page on this collection of the workspace (`qa collections list`) instead of "
                        "--corpus/--index; visitors may pick any other they may read (default: the demo collection)")
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
        if not examples and not (signed_in and served != DEMO):  # a folder without example questions of its own
            from qa.chat.suggest import suggested_questions

            examples = suggested_questions(answerer)
            say(f"suggested {len(examples)} question(s) from the documents' titles and headings"
                + (" (none the engine could answer with confidence)" if not examples else ""))
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
