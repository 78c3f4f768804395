"""The `qa` command line: parses arguments, calls the package, turns errors into messages and exit codes.

Heavy libraries (torch, faiss, spaCy) are imported inside the subcommands so `qa --help` is instant.
Settings come from `Settings.from_env()` once, with the command's options on top.
Exit codes: 0 success, 1 a check failed (e.g. --fail-on-regression), 2 bad input or a broken index.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

from .errors import QAError, redact
from .settings import DEFAULT_CORPUS, DEFAULT_INDEX, DEFAULT_K, Settings, set_offline_environment
from .cli_help import apply_help
from .console import print_answer as _print_answer
from .workspace.commands import add_collection_arg, add_parsers, cmd_collections, cmd_users, collection_hints


def _add_index_arg(p: argparse.ArgumentParser, collection: bool = True) -> None:
    p.add_argument("--index", type=Path, default=None, metavar="DIR",
                   help=f"index folder (default {DEFAULT_INDEX}, env QA_INDEX)")
    p.add_argument("--store", default=None, metavar="URL",
                   help="postgresql://... : the index in PostgreSQL with pgvector instead of a folder (env QA_STORE)")
    if collection:  # `qa eval` scores one index at a time, named by --index
        add_collection_arg(p)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="qa", description="Cited, extractive question answering over a folder of documents.")
    parser.add_argument("--version", action="version", version=f"qa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help="`qa COMMAND --help` says what it is for")

    p = sub.add_parser("index", help="build or refresh the index of a corpus folder")
    p.add_argument("--corpus", type=Path, default=None, metavar="DIR",
                   help=f"folder of .txt, .md, .pdf, .docx and .html documents, subfolders included (env QA_CORPUS; "
                        f"default: the folder the index was built from, or {DEFAULT_CORPUS} for a new index)")
    _add_index_arg(p)
    p.add_argument("--force", action="store_true",
                   help="rebuild and re-embed everything, even from another folder than the index was built from")
    p.add_argument("--index-type", choices=["flat", "hnsw"], default="flat", help="exact (flat) or approximate (hnsw) search")
    p.add_argument("--precision", choices=["fp32", "bf16"], default=None, help="embedding precision (default fp32, env QA_PRECISION)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any file of the folder was skipped")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="embed on a Ray cluster (`auto` for a running local one); needs pip install ray")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--watch", type=Path, default=None, metavar="DIR",
                   help="with --collection: keep the collection in step with DIR (subfolders mirrored), rebuilding "
                        "after each batch of changes until Ctrl+C (docs/workspace.md); needs pip install watchfiles")
    p.add_argument("--debounce-ms", type=int, default=None, metavar="N",
                   help="with --watch: gather changes for up to N ms into one batch (default 1600)")

    p = sub.add_parser("docs", help="list the indexed documents and the files skipped, with reasons")
    _add_index_arg(p)
    p.add_argument("--json", action="store_true", help="print {documents: [...], skipped: [...]} as JSON")

    p = sub.add_parser("verify", help="re-check every claim of an answer against the original files")
    p.add_argument("answer", help="a file of `qa ask --json` output (or `qa eval --json`), or - for standard input")

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", help='the question, in quotes: "Who led Wilayat Khorasan?" (up to 1000 characters)')
    _add_index_arg(p)
    p.add_argument("--k", type=int, default=DEFAULT_K, metavar="N", help=f"passages to retrieve (default {DEFAULT_K})")
    p.add_argument("--doc", action="append", default=None, metavar="ID",
                   help="only search the document with this id, the first column of `qa docs` (repeat for several)")
    p.add_argument("--json", action="store_true", help="print the answer object as JSON")

    p = sub.add_parser("chat", help="a conversation: follow-up questions read in the light of earlier ones")
    _add_index_arg(p)
    p.add_argument("--k", type=int, default=DEFAULT_K, metavar="N", help=f"passages to retrieve (default {DEFAULT_K})")
    p.add_argument("--json", action="store_true", help="one JSON answer object a line (the default on a pipe)")

    p = sub.add_parser("eval", help="score the assistant on gold questions and conversations")
    p.add_argument("files", nargs="*", type=Path,
                   help="JSONL files of questions or of conversations (lines with \"turns\"); default eval/questions.jsonl")
    _add_index_arg(p, collection=False)
    p.add_argument("--split", choices=["dev", "test", "all"], default="all",
                   help="the questions of the dev half (for tuning), the test half (held out) or all (default)")
    p.add_argument("--json", dest="json_out", type=Path, default=None, metavar="OUT", help="write metrics and per-question results")
    p.add_argument("--report", type=Path, default=None, metavar="OUT.md|OUT.html", help="write a report with plots")
    p.add_argument("--baseline", type=Path, default=None, metavar="FILE", help="compare with a saved --json result")
    p.add_argument("--fail-on-regression", action="store_true", help="exit 1 when a headline metric drops beyond tolerance")
    p.add_argument("--k", type=int, default=DEFAULT_K, metavar="N",
                   help=f"passages each answer is made from (default {DEFAULT_K})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("bench", help="benchmarks: SQuAD, TAT-QA, web pages, speed and memory")
    bsub = p.add_subparsers(dest="bench_command", metavar="BENCH", help="`qa bench BENCH --help` says what it measures")
    b = bsub.add_parser("squad", help="SQuAD dev set as a corpus: retrieval and EM/F1")
    b.add_argument("--version", dest="squad_version", choices=["1.1", "2.0"], default="1.1",
                   help="SQuAD 1.1 dev (default), or half of 2.0 dev with unanswerable questions")
    b.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    b.add_argument("--held-out", action="store_true",
                   help="only questions on the 16 articles the span reader never trained on (the SQuAD 2.0 half's); "
                        "retrieval still searches every article")
    b.add_argument("--every", type=int, default=1, metavar="N", help="every Nth question only (a quicker, spread-out sample)")
    b.add_argument("--decline-below", type=float, default=None, metavar="T",
                   help="decline answers with confidence below T (default: the threshold chosen on the gold dev "
                        "split; 0.55 is the one chosen on half of the SQuAD 2.0 half)")
    b.add_argument("--json", dest="json_out", type=Path, default=None, metavar="OUT",
                   help="write the figures and one record per question")
    b.add_argument("--mode", choices=["hybrid", "rrf", "dense", "bm25", "all"], default="hybrid",
                   help="retriever to measure; 'all' compares them in one run")
    b.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    b = bsub.add_parser("tatqa", help="TAT-QA's report excerpts as HTML, Word and PDF: EM/F1 by type, source, format")
    b.add_argument("--split", choices=["fit", "check", "all"], default="check",
                   help="which half of the excerpts (split by a stable hash of each excerpt; default check)")
    b.add_argument("--formats", default="html,docx,pdf", help="formats to write and ask (default html,docx,pdf)")
    b.add_argument("--every", type=int, default=1, metavar="N", help="every Nth question only (a quicker, spread-out sample)")
    b.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N questions, and a corpus of their excerpts only (a quick run)")
    b.add_argument("--json", dest="json_out", type=Path, default=None, metavar="OUT",
                   help="write the figures and one record per question and format")
    b.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    b = bsub.add_parser("pages", help="questions on 121 web pages indexed as one folder: contains/EM/F1, declines")
    b.add_argument("--split", choices=["fit", "check", "all"], default="check",
                   help="which half of the pages (split by a stable hash of each page's key; default check)")
    b.add_argument("--every", type=int, default=1, metavar="N", help="every Nth question only")
    b.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N questions, and a corpus of their pages only (a quick run)")
    b.add_argument("--json", dest="json_out", type=Path, default=None, metavar="OUT",
                   help="write the figures and one record per question")
    b.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    b = bsub.add_parser("perf", help="speed and memory against the bare libraries")
    b.add_argument("--json", dest="json_out", type=Path, default=None, metavar="OUT", help="write every measurement")
    b.add_argument("--scale", type=int, default=100_000, metavar="N", help="passages in the synthetic scale test (0 to skip)")
    b.add_argument("--quick", action="store_true", help="fewer repetitions and a small scale test")
    b.add_argument("--precision", choices=["bf16"], default=None, help="also measure a bf16 index build against fp32")
    b.add_argument("--corpus", type=Path, default=None, metavar="DIR", help="corpus to time (default the bundled one)")
    b.add_argument("--questions", type=Path, default=None, metavar="FILE",
                   help="JSONL of questions to time (default eval/questions.jsonl for the bundled corpus, "
                        "else the corpus's example questions)")

    p = sub.add_parser("feedback", help="turn the chat's thumbs-down answers into eval cases")
    fsub = p.add_subparsers(dest="feedback_command", metavar="ACTION", help="what to do with the feedback")
    f = fsub.add_parser("export", help="turn disliked (and liked) answers into eval cases")
    f.add_argument("--in", dest="feedback_file", type=Path, default=None, metavar="FILE",
                   help="feedback JSONL (default var/feedback.jsonl, env QA_FEEDBACK)")
    f.add_argument("--out", type=Path, default=None, metavar="FILE", help="output JSONL (default: standard output)")
    f.add_argument("--all", action="store_true", help="include liked answers too")
    f.add_argument("--store", default=None, metavar="URL", help="read the feedback table of this PostgreSQL store (env QA_STORE)")
    add_parsers(sub)
    apply_help(parser)
    return parser


def _collection(args, settings: Settings, building: bool = False):
    """--collection NAME: that collection's folders and store (qa.workspace.commands.collection_target)."""
    from .workspace.commands import collection_target

    return collection_target(args, settings, building)


def cmd_index(args, settings: Settings) -> int:
    from .index.build import BuildOptions, build_index, choose_corpus
    from .neural.embedding import make_embedder

    settings = settings.replace(embed_precision=args.precision)
    if args.watch is not None:
        from .workspace.watch import cmd_watch

        return cmd_watch(args, settings)
    if args.debounce_ms is not None:
        raise QAError("--debounce-ms is for --watch", fix="add --watch DIR, or drop --debounce-ms")
    if args.collection:
        c, settings = _collection(args, settings, building=True)
        index_dir, corpus = c.index, c.documents.resolve()
    else:
        index_dir = args.index or settings.index
        corpus = choose_corpus(index_dir, settings.store, args.corpus or settings.corpus)
    embedder = make_embedder(settings)
    if args.ray:
        from .neural.distributed import RayEmbedder

        embedder = RayEmbedder(args.ray, embedder, model_dir=settings.model_dir)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr))
    options = BuildOptions(index_type=args.index_type, force=args.force, progress=not args.quiet, log=log)
    report = build_index(corpus, index_dir, embedder, options, store=settings.store)
    print(report.summary())
    for line in report.skipped_lines():
        print(line)
    if args.strict and report.skipped:
        print(f"qa index: {len(report.skipped)} file(s) skipped (--strict)", file=sys.stderr)
        return 1
    return 0


def cmd_docs(args, settings: Settings) -> int:
    from .ingest.corpus import describe_excepted
    from .index.load import describe
    from .pipeline import open_index

    index_dir, hints = args.index, contextlib.nullcontext()
    if args.collection:
        c, settings = _collection(args, settings)
        index_dir, hints = c.index, collection_hints(c)
    with hints:
        d = describe(open_index(index_dir, settings) if settings.store else (index_dir or settings.index))
    if args.json:
        print(json.dumps(d, ensure_ascii=False, indent=2))
        return 0
    print(f"{len(d['documents'])} document(s) in {d['index']} (corpus {d['corpus']}, built {d['built_at']})")
    for doc in d["documents"]:
        pages = f", {doc['pages']} pages" if doc["pages"] else ""
        date = f", {doc['date']}" if doc["date"] else ""
        print(f"  {doc['doc_id']}  [{doc['format']}{pages}, {doc['chars']:,} chars{date}]  {doc['title']}")
        print(f"      {doc['source']}" + (f"  → text: {doc['text_source']}" if doc["text_source"] != doc["source"] else ""))
    if d["skipped"]:
        print(f"{len(d['skipped'])} file(s) skipped:")
        for s in d["skipped"]:
            print(f"  {s['source']}: {s['reason']} ({s['message']})")
    if d["excepted"]:
        print(f"{len(d['excepted'])} excepted: {describe_excepted(d['excepted'])}")
    return 0


def cmd_verify(args, settings: Settings) -> int:
    from .evaluation.verify import read_answers, verify

    if args.answer == "-":
        text, where = sys.stdin.read(), "standard input"
    else:
        try:
            text, where = Path(args.answer).read_text(encoding="utf-8"), args.answer
        except (OSError, UnicodeDecodeError) as e:
            raise QAError(f"cannot read {args.answer} ({getattr(e, 'strerror', None) or e.__class__.__name__})") from None
    verdict = verify(read_answers(text, where))
    for line in verdict.lines:
        print(line)
    print(f"qa verify: {verdict.summary()}", file=sys.stderr)
    return 0 if verdict.ok else 1


def cmd_ask(args, settings: Settings) -> int:
    from .answer.answerer import clean_question

    clean_question(args.question)  # refuse bad input before loading anything
    a = _answerer(args, settings).ask(args.question, k=args.k, docs=args.doc)
    if args.json:
        print(json.dumps(a.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_answer(a)
    return 0


def cmd_chat(args, settings: Settings) -> int:
    from .console import chat
    from .settings import MAX_K

    if not 1 <= args.k <= MAX_K:  # refused before the index and models load
        raise QAError(f"k must be between 1 and {MAX_K}, not {args.k}")
    return chat(_answerer(args, settings).conversation(), k=args.k, as_json=args.json)


def _answerer(args, settings: Settings):
    """The answerer of `--index`, or of `--collection`'s index (a missing one names its own fix)."""
    from .pipeline import open_answerer

    index_dir, hints = args.index, contextlib.nullcontext()
    if args.collection:
        c, settings = _collection(args, settings)
        index_dir, hints = c.index, collection_hints(c)
    with hints:
        return open_answerer(index_dir, settings)


def cmd_eval(args, settings: Settings) -> int:
    from .evaluation.command import run_eval

    return run_eval(args, settings)


def cmd_bench(args, settings: Settings) -> int:
    log = (lambda s: None) if getattr(args, "quiet", False) else (lambda s: print(s, file=sys.stderr))
    if args.bench_command == "squad":
        from .evaluation.bench.squad import SquadOptions, format_result, run_squad

        t = args.decline_below
        if t is not None:
            if not 0.0 <= t <= 1.0:
                raise QAError(f"--decline-below must be between 0 and 1, not {t}")
            settings = replace(settings, answer=settings.answer.with_decline_below(t))
        r = run_squad(SquadOptions(args.squad_version, args.limit, args.mode, held_out=args.held_out, every=args.every,
                                   json_out=args.json_out, progress=not args.quiet, settings=settings, log=log))
        print(format_result(r))
        if args.json_out:
            print(f"wrote {args.json_out}")
        return 0
    if args.bench_command == "tatqa":
        from .evaluation.bench.tatqa import TatqaOptions, parse_formats, run_tatqa
        from .evaluation.bench.tatqa_report import format_result as format_tatqa

        r = run_tatqa(TatqaOptions(args.split, parse_formats(args.formats), args.every, args.limit, args.json_out,
                                   progress=not args.quiet, settings=settings, log=log))
        print(format_tatqa(r))
        if args.json_out:
            print(f"wrote {args.json_out}")
        return 0
    if args.bench_command == "pages":
        from .evaluation.bench.pages import PagesOptions, format_pages, run_pages

        r = run_pages(PagesOptions(args.split, args.every, args.limit, args.json_out, progress=not args.quiet,
                                   settings=settings, log=log))
        print(format_pages(r))
        if args.json_out:
            print(f"wrote {args.json_out}")
        return 0
    if args.bench_command == "perf":
        from .evaluation.bench.perf import read_questions, run_perf
        from .evaluation.gold import DEFAULT_QUESTIONS

        corpus = args.corpus or settings.corpus or DEFAULT_CORPUS
        qfile = args.questions or (DEFAULT_QUESTIONS if args.corpus is None and Path(DEFAULT_QUESTIONS).is_file() else None)
        res = run_perf(settings, corpus, read_questions(qfile, corpus), args.json_out, scale=args.scale,
                       quick=args.quick, precision=args.precision, log=log)
        print(res["table"])
        failed = [n for n, r in res["steps"].items() if "error" in r]
        if failed:
            print(f"qa bench perf: steps failed: {', '.join(failed)}", file=sys.stderr)
            return 1
        return 0
    raise QAError("choose a benchmark: `qa bench squad`, `qa bench tatqa`, `qa bench pages` or `qa bench perf`")


def cmd_feedback(args, settings: Settings) -> int:
    if args.feedback_command != "export":
        raise QAError("choose an action: `qa feedback export`")
    from .chat.feedback import export_cases, read_feedback, write_cases

    if settings.store and not args.feedback_file:
        from .index.stores.postgres import read_feedback as read_from_store

        src, records = redact(settings.store), read_from_store(settings.store)
    else:
        src = args.feedback_file or settings.feedback
        records = read_feedback(src)
    cases = export_cases(records, include_liked=args.all)
    write_cases(cases, args.out)
    kind = "rated" if args.all else "disliked"
    where = f" to {args.out}" if args.out else ""
    print(f"qa feedback: exported {len(cases)} {kind} answer(s) from {len(records)} feedback record(s) in {src}{where}",
          file=sys.stderr)
    return 0


COMMANDS = {"index": cmd_index, "docs": cmd_docs, "verify": cmd_verify, "ask": cmd_ask, "chat": cmd_chat, "eval": cmd_eval,
            "bench": cmd_bench, "feedback": cmd_feedback, "collections": cmd_collections, "users": cmd_users}


def main(argv: Optional[Sequence[str]] = None) -> int:
    set_offline_environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    debug = False
    try:
        settings = Settings.from_env(store=getattr(args, "store", None))
        debug = settings.debug
        return COMMANDS[args.command](args, settings)
    except QAError as e:
        print(f"qa {args.command}: error: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print(f"qa {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug or a broken install: still one line, the traceback on request
        if debug:
            raise
        print(f"qa {args.command}: error: unexpected {e.__class__.__name__}: {str(e)[:200]} "
              "(set QA_DEBUG=1 for the traceback)", file=sys.stderr)
        return 2
