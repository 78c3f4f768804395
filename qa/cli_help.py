"""The `qa` command line's help text: what each command is for and worked examples, in one table.

`build_parser` (qa.cli) calls `apply_help` once its parsers exist; each parser's `--help` and the list
of examples under `qa --help` are both made from `COMMANDS`, so an example is written once. The
examples run against the bundled corpus (the `demo` collection); tests/test_cli_help.py parses every
one with the real parser. Standard library only: `qa --help` must stay instant.
"""
from __future__ import annotations

import argparse
import re
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    note: str  # printed as a shell comment above the lines, so a copied block still runs
    lines: tuple[str, ...]  # command lines; the first is the one `qa --help` lists for a top-level command


@dataclass(frozen=True)
class CommandHelp:
    description: str  # for a new user: what the command is for; paragraphs split by a blank line
    examples: tuple[Example, ...]


def _ex(note: str, *lines: str) -> Example:
    return Example(note, lines)


ASK = 'qa ask "Who led Wilayat Khorasan?"'

# Keyed by the words after `qa`; every parser of the tree has an entry (tests/test_cli_help.py).
COMMANDS: dict[str, CommandHelp] = {
    "index": CommandHelp(
        "Build the search index of a folder of documents (.txt, .md, .pdf, .docx, .html; subfolders "
        "included), or bring an index up to date: only new and changed files are read and embedded again. "
        "Each file that could not be read is listed with its reason.\n\n"
        "Without --corpus the index is refreshed from the folder it was built from; the default index is "
        "the bundled demo corpus's. Ask a new index with `qa ask ... --index DIR`.",
        (_ex("index your own folder into an index of its own", "qa index --corpus ~/my-docs --index ~/my-docs-index"),
         _ex("refresh the bundled demo index after changing corpus/", "qa index"),
         _ex("keep a collection in step with a folder until Ctrl+C (pip install watchfiles)",
             "qa index --collection reports --watch ~/reports"))),
    "docs": CommandHelp(
        "List the documents of an index (id, format, pages, size, date, title, file) and the files that were "
        "skipped, with the reason. The id in the first column is what `qa ask --doc ID` takes.",
        (_ex("the documents of the bundled demo index", "qa docs"),
         _ex("another index, as JSON", "qa docs --index ~/my-docs-index --json"))),
    "verify": CommandHelp(
        "Check an answer saved by `qa ask --json` against the original files: every cited file is opened and "
        "extracted again, and each claim (quotes, the answer span, titles, dates, pages, boxes, links, "
        "conflicts) is compared with it. Exit 0 when all hold, 1 with one line per problem.",
        (_ex("answer, then check the answer's citations", f"{ASK} --json | qa verify -"),
         _ex("the same through a file", f"{ASK} --json > answer.json", "qa verify answer.json"))),
    "ask": CommandHelp(
        "Answer one question from the indexed documents. The answer is words copied from a document, with "
        "numbered quotes of its sources (file and character offsets); when the documents do not say, it "
        "says so instead of guessing.\n\n"
        "The bundled demo index is used unless --index or --collection names another.",
        (_ex("ask the bundled demo corpus", ASK),
         _ex("search only one document (ids from `qa docs`; repeat --doc for more)",
             'qa ask "How many died in the May 2015 Karachi attack?" --doc usip-parvez'),
         _ex("the answer as JSON, for scripts and for `qa verify`", f"{ASK} --json > answer.json"))),
    "chat": CommandHelp(
        "Ask questions one after another: a follow-up such as \"When was he killed?\" is read in the light of "
        "the earlier questions and shown as \"Understood as: ...\" (start a line with = to ask it as "
        "written).\n\n"
        "On a terminal it is a prompt with line editing; Ctrl+D ends it. On a pipe it reads one question a "
        "line and prints one JSON answer a line.",
        (_ex('then type "Who led Wilayat Khorasan?" and "When was he killed?"', "qa chat"),
         _ex("the same two questions from a pipe, one JSON answer a line",
             "printf 'Who led Wilayat Khorasan?\\nWhen was he killed?\\n' | qa chat"))),
    "eval": CommandHelp(
        "Score the assistant on questions with known answers (eval/questions.jsonl by default) or on gold "
        "conversations: retrieval, exact match and F1, citations and declines. With --baseline it shows "
        "what changed since a saved result. eval/README.md explains the files and the metrics.",
        (_ex("score the dev half of the gold questions", "qa eval --split dev"),
         _ex("the check CI runs: exit 1 when a headline metric got worse",
             "qa eval --split test --baseline eval/baseline.json --fail-on-regression"),
         _ex("follow-up questions: the gold conversations, with a report",
             "qa eval eval/conversations/corpus.jsonl --report eval/out/conversations.html"))),
    "bench": CommandHelp(
        "Benchmarks on public data sets bundled in eval/benchmarks/: SQuAD (Wikipedia), TAT-QA (tables of "
        "financial reports as HTML, Word and PDF), 121 web pages, and speed and memory. Each builds and "
        "caches an index of its own (QA_BENCH_CACHE), so a first run takes longer.",
        (_ex("a quick SQuAD run", "qa bench squad --limit 200"),
         _ex("speed and memory, quickly", "qa bench perf --quick --scale 0"))),
    "bench squad": CommandHelp(
        "Index the articles of the SQuAD dev set as a corpus and ask its questions: retrieval recall and the "
        "official exact match and F1. Version 2.0 (half of its dev set) adds questions that have no answer "
        "and should be declined.",
        (_ex("a quick run: the first 200 questions, over the article they come from", "qa bench squad --limit 200"),
         _ex("every 10th question on articles the reader never trained on",
             "qa bench squad --version 2.0 --held-out --every 10"),
         _ex("compare the retrievers over the whole set, saving the figures",
             "qa bench squad --mode all --json eval/out/squad-1.1.json"))),
    "bench tatqa": CommandHelp(
        "Write TAT-QA's excerpts of financial reports (a table and its paragraphs) as HTML, Word and PDF "
        "files, and ask each question of its own excerpt: exact match and F1 by answer type, by where the "
        "answer is (table or text) and by format.",
        (_ex("a quick run in one format", "qa bench tatqa --formats html --limit 50"),
         _ex("every format on the check half, saving one record per question",
             "qa bench tatqa --json eval/out/tatqa.json"))),
    "bench pages": CommandHelp(
        "Index 121 saved web pages as one folder and ask 180 questions about them: how often the answer "
        "contains the gold one, exact match and F1, and how often unanswerable questions are declined.",
        (_ex("a quick run on 30 questions and their pages", "qa bench pages --limit 30"),
         _ex("both halves, saving the figures", "qa bench pages --split all --json eval/out/pages.json"))),
    "bench perf": CommandHelp(
        "Time building an index and answering questions, and measure memory, each against the bare libraries "
        "(sentence-transformers, FAISS) doing the same work in the same run; a synthetic test shows search "
        "at scale.",
        (_ex("a quick run without the scale test", "qa bench perf --quick --scale 0"),
         _ex("the full run, saving the figures", "qa bench perf --json eval/out/perf.json"))),
    "feedback": CommandHelp(
        "The thumbs up and down that users give answers in the chat app (python app.py), kept in "
        "var/feedback.jsonl or in the PostgreSQL store.",
        (_ex("disliked answers as eval cases", "qa feedback export --out eval/out/feedback-cases.jsonl"),)),
    "feedback export": CommandHelp(
        "Turn the answers users disliked in the chat app into eval cases (JSON lines): each keeps the "
        "question and what the assistant said, and waits for a person to fill in the right answer before "
        "`qa eval` can score it. --all adds the liked answers too.",
        (_ex("disliked answers, after rating some in the chat app",
             "qa feedback export --out eval/out/feedback-cases.jsonl"),
         _ex("liked and disliked, from a copied feedback file, to standard output",
             "qa feedback export --all --in feedback.jsonl"))),
    "collections": CommandHelp(
        "Collections are separate sets of documents, each with its own index and members, kept in the "
        "workspace (QA_WORKSPACE, default var/workspace). The bundled corpus is the collection `demo`, which "
        "every signed-in user reads. `qa index`, `ask`, `docs` and `chat` take --collection NAME.",
        (_ex("every collection and who may use it", "qa collections list"),
         _ex("a collection of your own, owned by alice, then its index and a question",
             "qa collections create reports --owner alice", "qa index --collection reports",
             'qa ask "What changed in 2023?" --collection reports'))),
    "collections list": CommandHelp(
        "List every collection: where its documents and index are, when it was created and its members.",
        (_ex("as a table", "qa collections list"), _ex("as JSON", "qa collections list --json"))),
    "collections create": CommandHelp(
        "Create an empty collection. Put its files in the documents folder it prints, then build its index "
        "with `qa index --collection NAME`.",
        (_ex("a collection owned by alice (add her first with `qa users add alice`)",
             "qa collections create reports --owner alice", "qa index --collection reports"),)),
    "collections delete": CommandHelp(
        "Delete a collection with its documents folder, its index and its members. It cannot be undone.",
        (_ex("delete the collection reports", "qa collections delete reports"),)),
    "collections grant": CommandHelp(
        "Give a user a role on a collection, replacing the role they had: a reader may ask and read its "
        "documents, an editor may also add and delete documents, an owner may also manage members and "
        "delete it. The demo collection takes no grants.",
        (_ex("bob may ask the collection reports", "qa collections grant reports bob reader"),)),
    "collections revoke": CommandHelp(
        "Take away a user's role on a collection: it no longer shows them the collection in the chat app or "
        "over the REST API.",
        (_ex("bob may no longer use reports", "qa collections revoke reports bob"),)),
    "users": CommandHelp(
        "Accounts that sign in to the chat app, and API tokens for its REST API under /api/v1. While there "
        "are no users the app asks for no sign-in and listens only on this machine.",
        (_ex("add a user (the password is asked for)", "qa users add alice"),
         _ex("a token for the REST API", "qa users token alice"))),
    "users add": CommandHelp(
        "Add a user. The password is asked for twice at a hidden prompt, or read as one line from a pipe.",
        (_ex("at the prompt", "qa users add alice"),
         _ex("from a file's first line", "qa users add bob < password.txt"))),
    "users token": CommandHelp(
        "Print a new API token for a user, to send as `Authorization: Bearer TOKEN` to the REST API. It is "
        "shown only this once and stored hashed; its id, for `qa users revoke-token`, goes to standard error.",
        (_ex("a token for alice", "qa users token alice"),)),
    "users revoke-token": CommandHelp(
        "Revoke one API token by its id: the short id `qa users token` prints and `qa users list` shows, "
        "not the token itself.",
        (_ex("revoke a token by the id `qa users token` printed (here 6f1687927046)",
             "qa users revoke-token 6f1687927046"),)),
    "users list": CommandHelp(
        "List the users with their collections and roles, and the ids and dates of their tokens (never the "
        "tokens).",
        (_ex("as a table", "qa users list"), _ex("as JSON", "qa users list --json"))),
    "users remove": CommandHelp(
        "Remove a user with their tokens and their roles on collections.",
        (_ex("remove bob", "qa users remove bob"),)),
}

# Arguments made in qa.workspace.commands without a help text of their own, keyed by (command, dest)

_WIDTH = 78  # argparse fills to the terminal; the description is wrapped here because its paragraphs are kept


def _fill(paragraph: str) -> str:
    """`paragraph` wrapped, a `quoted command` never split across lines (no-break spaces while wrapping)."""
    kept = re.sub(r"`[^`]*`", lambda m: m.group().replace(" ", "\u00a0"), paragraph)
    return textwrap.fill(kept, _WIDTH, break_on_hyphens=False).replace("\u00a0", " ")


def epilog(examples: tuple[Example, ...], title: str = "examples:") -> str:
    """The examples as a copyable block: each note a shell comment above its command lines."""
    blocks = ["\n".join([f"  # {e.note}", *(f"  {line}" for line in e.lines)]) for e in examples]
    return title + "\n" + "\n\n".join(blocks)


def top_epilog(commands: list[str]) -> str:
    """One example per top-level command, in the order `qa --help` lists the commands."""
    lines = [f"  {COMMANDS[c].examples[0].lines[0]}" for c in commands]
    return "examples (`qa COMMAND --help` says more, with more examples):\n" + "\n".join(lines)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def walk(parser: argparse.ArgumentParser, path: str = ""):
    """(words after `qa`, parser) for the parser and every sub-command under it."""
    yield path, parser
    for name, child in _subparsers(parser).items():
        yield from walk(child, f"{path} {name}".strip())


def apply_help(parser: argparse.ArgumentParser) -> None:
    """Give every sub-command its description and examples from the table (arguments carry their own help)."""
    for path, p in walk(parser):
        p.formatter_class = argparse.RawDescriptionHelpFormatter  # keeps the examples' lines and indents
        if path:
            h = COMMANDS[path]
            p.description = "\n\n".join(_fill(par) for par in h.description.split("\n\n"))
            p.epilog = epilog(h.examples)
        else:
            p.epilog = top_epilog(list(_subparsers(p)))
