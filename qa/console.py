"""Answers on the command line: how `qa ask` prints one, and `qa chat`'s loop of questions in a conversation."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional, TextIO

from .errors import QAError
from .types import REASON_LABELS, decline_headline

PROMPT = "? "
CHAT_HELP = ("Ask a question; follow-ups (\"When was he killed?\") are read in the light of the ones before. "
             "Start a line with = to ask it exactly as written. Ctrl-D ends.")


def _shown(path: str) -> str:
    """A recorded (absolute) path as short as the user would type it: relative when it lies below the
    working directory. The JSON keeps it absolute."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def print_answer(a) -> None:
    """An answer as `qa ask` prints it: the answer or the decline, the figures, notes and sources."""
    notes = list(a.notes)
    if a.status == "declined":
        # the decline is the answer: said once, as the first line; "0 of 5 sources agree" would be noise
        head = decline_headline(notes, a.decline_reason)
        print(head)
        notes = [n for n in notes if n != head]
    else:
        label = "Answer (uncertain)" if a.status == "uncertain" else "Answer"
        print(f"{label}: {a.answer}")
    extra = []
    if a.status == "declined" and a.decline_reason:
        extra.append(f"declined: {REASON_LABELS.get(a.decline_reason, a.decline_reason)}")
    if a.missing_terms:
        extra.append("never mentioned: " + ", ".join(a.missing_terms))
    if a.considered and a.status != "declined":
        extra.append(f"{a.agreeing} of {a.considered} sources agree")
    if a.as_of:
        extra.append(f"as of {a.as_of}")
    extra.append(f"confidence {a.confidence:.2f}")
    print("  (" + "; ".join(extra) + ")")
    for n in notes:
        print(f"  note: {n}")
    if a.conflicts:
        print("  Sources disagree:")
        for c in a.conflicts:
            print(f"    {c.value}: " + " ".join(f"[{n}]" for n in c.citations))
    cites = a.citations or a.closest
    if cites:
        print("Closest material:" if not a.citations else "Sources:")
    for c in cites:
        date = f", {c.date}" if c.date else ""
        print(f"  [{c.n}] {c.title}{date} — {_shown(c.source)} chars {c.start}-{c.end}")
        print(f"      “{c.quote}”")


def chat(conversation, k: int, as_json: bool = False, stdin: Optional[TextIO] = None) -> int:
    """Ask each line of `stdin` in `conversation` (a qa.answer.conversation.Conversation): on a terminal
    a line-editing prompt printing answers as `qa ask` does, with "Understood as: ..." when a follow-up
    was rewritten; on a pipe, or with `as_json`, one JSON answer object a line. A line that starts with
    "=" is asked exactly as written. Blank lines are skipped; end of input ends it (exit 0). A question
    that is refused (too long, say) is reported and the conversation goes on: on a pipe as
    {"question", "error"}, so that every question has its line."""
    stdin = stdin or sys.stdin
    interactive = not as_json and stdin.isatty() and sys.stdout.isatty()
    if interactive:
        try:
            import readline  # noqa: F401  (imported for its effect: line editing and history in input())
        except ImportError:
            pass
        print(CHAT_HELP)
    while True:
        try:
            line = input(PROMPT) if interactive else stdin.readline()
        except EOFError:  # Ctrl-D at the prompt
            print()
            return 0
        except KeyboardInterrupt:  # Ctrl-C: the CLI says "interrupted" (exit 130) on a line of its own
            print()
            raise
        if not interactive and not line:
            return 0
        question = line.strip()
        if not question:
            continue
        as_written = question.startswith("=")
        question = question[1:].strip() if as_written else question
        try:
            a = conversation.ask(question, k=k, as_written=as_written)
        except QAError as e:
            print(f"qa chat: {e}", file=sys.stderr)
            if not interactive:
                print(json.dumps({"question": question, "error": str(e)}, ensure_ascii=False), flush=True)
            continue
        if interactive:
            if a.understood_as:
                print(f"Understood as: {a.understood_as}")
            print_answer(a)
            print()
        else:
            print(json.dumps(a.to_dict(), ensure_ascii=False), flush=True)
