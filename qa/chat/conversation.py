"""One browser session's turns, kept on the server, and the checks on the k and docs a caller sends."""
from __future__ import annotations

import threading
from typing import Any, Optional

from ..errors import QAError
from ..settings import DEFAULT_K
from . import render


class Conversation:
    """One browser session's turns. The chat's messages are always rebuilt from here, so answers that
    finish out of order never overwrite each other, and each reply's HTML (its citation numbers and
    ids) is made once and stays the same on every re-render."""

    def __init__(self):
        self.turns: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __deepcopy__(self, memo):
        # gr.State deep-copies its initial value for each new session: that copy starts empty (and a
        # lock cannot be copied anyway)
        return Conversation()

    def messages(self) -> list[dict[str, str]]:
        out = []
        for t in self.turns:
            out.append({"role": "user", "content": render.render_question(t["question"])})
            out.append({"role": "assistant", "content": t["html"]})
        return out

    def busy(self) -> bool:
        return any(t["status"] in ("queued", "running") for t in self.turns)

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
