"""`qa eval`: reads question and conversation files, scores them, prints, saves, reports and compares.

The command line (qa.cli) parses the options and hands them here, so the command stays one screen there.
Each file's kind is decided by its first line (qa.evaluation.conversations.file_kind): questions are
scored by qa.evaluation.runner, conversations by qa.evaluation.conversation_run, both in one run when
both are given. A baseline compares question runs only: conversation results are new with issue 28 and
have no committed baseline yet.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import QAError
from .conversation_run import evaluate_conversations, format_conversations
from .conversations import check_index, file_kind, load_conversations
from .gold import DEFAULT_QUESTIONS, load_questions
from .results import compare, load_result, write_json
from .runner import evaluate, run_meta
from .tables import format_comparison, format_table


def run_eval(args, settings) -> int:
    from ..pipeline import open_answerer

    files = list(args.files) or [DEFAULT_QUESTIONS]
    for f in files:
        if not Path(f).is_file():
            raise QAError(f"question file not found: {f}", fix="pass JSONL files of gold questions or conversations")
    conv_files = [f for f in files if file_kind(f) == "conversations"]
    question_files = [f for f in files if f not in conv_files]
    questions = load_questions(question_files, args.split) if question_files else []
    conversations = load_conversations(conv_files, args.split) if conv_files else []
    if args.fail_on_regression and not args.baseline:
        raise QAError("--fail-on-regression needs --baseline FILE")
    if args.baseline and not questions:
        raise QAError("--baseline compares runs of questions, and these files hold conversations only")
    baseline = load_result(args.baseline) if args.baseline else None
    if args.report is not None and Path(args.report).suffix.lower() not in (".md", ".html", ".htm"):
        raise QAError(f"report file must end in .md or .html, not {args.report}")
    answerer = open_answerer(args.index, settings)
    folder = check_index(conversations, answerer.index) if conversations else None  # before any question is asked
    meta = {"files": [str(f) for f in files], "split": args.split,
            **({"conversation_corpus": str(folder)} if folder else {})}
    result = (evaluate(questions, answerer, k=args.k, progress=not args.quiet, meta=meta) if questions
              else {"meta": run_meta(answerer, args.k, meta)})
    if conversations:
        result["conversations"] = evaluate_conversations(conversations, answerer, k=args.k, progress=not args.quiet)
    diff = compare(result, baseline) if baseline is not None else None
    if diff is not None:
        result["baseline"] = {"path": str(args.baseline), "regressions": diff["regressions"],
                              "newly_failing": diff["newly_failing"], "newly_passing": diff["newly_passing"]}
    if args.json_out:
        write_json(result, args.json_out)
    if args.report:
        from .report import write_report

        write_report(result, args.report, diff)
    _print(args, result, diff, questions, question_files, conversations, conv_files)
    return 1 if diff is not None and args.fail_on_regression and diff["regressions"] else 0


def _print(args, result, diff, questions, question_files, conversations, conv_files) -> None:
    where = f"index {result['meta']['index']}, k={args.k}"
    if questions:
        print(f"{len(questions)} question(s) from {', '.join(map(str, question_files))} (split {args.split}), {where}")
        print(format_table(result["metrics"]))
    if diff is not None:
        print()
        print(format_comparison(diff, str(args.baseline)))
    if conversations:
        if questions:
            print()
        n_turns = sum(len(c.turns) for c in conversations)
        print(f"{len(conversations)} conversation(s), {n_turns} turns, from {', '.join(map(str, conv_files))} "
              f"(split {args.split}), {where}")
        print(format_conversations(result["conversations"]["metrics"]))
    if args.json_out:
        print(f"wrote {args.json_out}")
    if args.report:
        print(f"wrote {args.report}")
