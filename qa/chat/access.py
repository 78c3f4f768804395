"""Who may use the chat: sign-in against the workspace's accounts (docs/workspace.md, "In the chat").

    check = password_check(ws, log)   # Gradio's `auth=`: async (username, password) -> bool

app.py hands `check` to Gradio when the workspace has users; Gradio then shows its login page and
guards its own routes and API with the session cookie it sets.
"""
from __future__ import annotations

import sys
from typing import Awaitable, Callable

from qa.errors import QAError


def _log(line: str) -> None:
    print(f"app: {line}", file=sys.stderr, flush=True)


def password_check(ws, log: Callable[[str], None] = _log) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's `auth=` callable over `ws.users.verify`.

    Async, with the argon2 verification in a worker thread: Gradio awaits a coroutine function on its
    event loop, and a plain one would run there, so every sign-in attempt (about 50 ms of argon2 each)
    would stall every other session's page and answers. A workspace that cannot be read (a damaged
    users.json) refuses the sign-in and says why in the server log: the visitor sees Gradio's
    "Incorrect credentials", never a traceback.
    """
    import anyio.to_thread  # Starlette's own dependency; imported here so `qa` alone never needs it

    async def check(username: str, password: str) -> bool:
        try:
            return await anyio.to_thread.run_sync(ws.users.verify, username, password)
        except QAError as e:
            log(f"sign-in refused: {e}")
            return False

    return check
