"""One browser session's turns, kept on the server, and each question answered in its conversation.

The engine's qa.answer.conversation is fed the session's earlier turns (or an API caller's history,
checked here with the k and docs a caller sends)."""
from __future__ import annotations

import threading
import uuid
from typing import Any, Optional, Sequence

from ..errors import QAError
from ..settings import DEFAULT_K
from ..types import Answer
from . import render

MAX_HISTORY = 100  # turns an API caller may send: only the last few are read, but every one is checked


class Conversation:
    """One browser session's turns. The chat's messages are always rebuilt from here, so answers that
    finish out of order never overwrite each other, and each reply's HTML (its citation numbers and
    ids) is made once and stays the same on every re-render."""

    def __init__(self):
        self.turns: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.collection: Optional[str] = None  # what the session answers from (None: the chat's default)
        self.feedback_turn: Optional[str] = None  # the disliked reply a reason, once typed, belongs to
        self.intro: Optional[str] = None  # the evidence panel's first screen for its collection (None: the page's)

    def __deepcopy__(self, memo):
        # gr.State deep-copies its initial value for each new session: that copy starts empty (and a
        # lock cannot be copied anyway)
        return Conversation()

    def messages(self) -> list[dict[str, str]]:
        out = []
        for t in self.turns:
            out.append({"role": "user", "content": render.render_question(t["question"], t.get("as_written", False))})
            out.append({"role": "assistant", "content": t["html"]})
        return out

    def history(self, before: int) -> list[dict[str, Any]]:
        """The turns before turn `before` as the engine's history ({"question", "answer"}): only answered
        turns, since a refused, failed or busy one has no answer to resolve a follow-up against (and a
        refused question may not even be one the engine would take)."""
        return [{"question": t["question"], "answer": t["answer"]} for t in self.turns[:before]
                if t["status"] == "done" and isinstance(t.get("answer"), dict)]

    def busy(self) -> bool:
        return any(t["status"] in ("queued", "running") for t in self.turns)

    def add_question(self, question: str, as_written: bool = False) -> bool:
        """`question` as the next turn, waiting for its answer; False (nothing added) while an earlier one
        is still being answered: one question at a time, so each is answered after the turns before it.
        `as_written`: answer the words as they are, without resolving them against the earlier turns."""
        with self.lock:
            if self.busy():
                return False
            self.turns.append({"id": uuid.uuid4().hex, "question": question, "as_written": as_written,
                               "status": "queued", "answer": None, "error": None, "html": render.render_pending()})
            return True

    def rewritten_question(self, turn: Any) -> Optional[str]:
        """The words of turn `turn`'s question, when its answer was a follow-up the conversation rewrote
        (what "ask as written" re-asks); None for any other turn or a turn that is not there."""
        with self.lock:
            if isinstance(turn, bool) or not isinstance(turn, int) or not 0 <= turn < len(self.turns):
                return None
            t = self.turns[turn]
            a = t.get("answer")
            return t["question"] if t["status"] == "done" and isinstance(a, dict) and a.get("understood_as") else None

    def start_next(self) -> Optional[tuple[int, dict[str, Any], list[dict[str, Any]]]]:
        """The first waiting turn, marked running: (its place, the turn, the engine history before it)."""
        with self.lock:
            for i, t in enumerate(self.turns):
                if t["status"] == "queued":
                    t["status"] = "running"
                    return i, t, self.history(i)
            return None

    def turn_for_message(self, index: Any) -> Optional[dict[str, Any]]:
        if isinstance(index, (list, tuple)):
            index = index[0] if index else None
        if not isinstance(index, int) or index < 1 or index % 2 == 0:
            return None
        i = index // 2
        return self.turns[i] if i < len(self.turns) else None


def clean_docs(docs: Any) -> Optional[list[str]]:
    if docs is None or docs == "":
        return None
    if isinstance(docs, str):
        docs = [docs]
    if not isinstance(docs, (list, tuple)) or not all(isinstance(d, str) for d in docs):
        raise QAError("docs must be a list of document ids")
    return list(docs) or None


def clean_k(k: Any) -> int:
    if k is None or k == "":
        return DEFAULT_K
    try:
        kf = float(k)
    except (TypeError, ValueError):
        raise QAError(f"k must be a whole number, not {k!r}") from None
    if kf != int(kf):
        raise QAError(f"k must be a whole number, not {k!r}")
    return int(kf)


def answer_in_conversation(answerer, history: Sequence[dict], question: str, k: int = DEFAULT_K,
                           docs: Optional[Sequence[str]] = None, as_written: bool = False) -> Answer:
    """`question` answered after the turns in `history` (qa.answer.conversation): a follow-up is resolved
    and says what it was understood as; `as_written=True` answers the words as they are.

    The conversation is rebuilt from the history on every call, so the server keeps no engine state
    between requests and an API caller's history is read exactly as the chat's own. An answerer without
    conversations (a test double with only .ask) answers each question alone. Raises QAError as ask does."""
    make = getattr(answerer, "conversation", None)
    if make is None:
        return answerer.ask(question, k=k, docs=docs)
    return make(history=list(history)).ask(question, k=k, docs=docs, as_written=as_written)


def clean_history(history: Any) -> list[dict[str, Any]]:
    """An API caller's history, checked: a list of turns {"question": text, "answer": an answer object, its
    text or null, "understood_as": optional}. The fields of an answer object that follow-ups are resolved
    from must have their JSON types, so a hand-made history is refused with a message, never a traceback."""
    if history is None or history == "":
        return []
    if not isinstance(history, (list, tuple)):
        raise QAError("history must be a list of earlier turns, each {\"question\": ..., \"answer\": ...}")
    if len(history) > MAX_HISTORY:
        raise QAError(f"history has {len(history)} turns; the limit is {MAX_HISTORY}", fix="send the last few")
    out = []
    for i, h in enumerate(history, 1):
        if not isinstance(h, dict) or not isinstance(h.get("question"), str):
            raise QAError(f"history turn {i} must be an object with a \"question\" (text) and an \"answer\"")
        answer = h.get("answer")
        if isinstance(answer, dict):
            _check_answer(i, answer)
        elif answer is not None and not isinstance(answer, str):
            raise QAError(f"history turn {i}: the answer must be an answer object, its text or null")
        if h.get("understood_as") is not None and not isinstance(h.get("understood_as"), str):
            raise QAError(f"history turn {i}: understood_as must be text or null")
        out.append({k: h[k] for k in ("question", "answer", "understood_as") if k in h})
    return out


def _check_answer(i: int, a: dict) -> None:
    def bad(what: str) -> QAError:
        return QAError(f"history turn {i}: the answer's {what}")

    for key in ("status", "answer", "answer_type", "understood_as"):
        if a.get(key) is not None and not isinstance(a[key], str):
            raise bad(f"{key} must be text or null")
    cites = a.get("citations")
    if cites is None:
        return
    if not isinstance(cites, list) or not all(isinstance(c, dict) for c in cites):
        raise bad("citations must be a list of objects")
    for c in cites:
        if c.get("doc_id") is not None and not isinstance(c["doc_id"], str):
            raise bad("citation doc_id must be text")
        for key in ("start", "answer_start", "answer_end"):
            v = c.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise bad(f"citation {key} must be a whole number or null")
