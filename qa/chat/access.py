"""Who may use the chat: sign-in against the workspace's accounts (docs/workspace.md, "In the chat").

    check = password_check(ws, log)   # Gradio's `auth=`: async (username, password) -> bool
    check_listening(host, has_users, insecure_no_auth)   # QAError: no accounts on an open address
    NO_ACCESS                                            # the friendly reason given to the refused

app.py hands `check` to Gradio when the workspace has users; Gradio then shows its login page and
guards its own routes and API with the session cookie it sets. What a signed-in visitor may
read or change is qa.chat.site's to say.
"""
from __future__ import annotations

import ipaddress
import sys
from typing import Awaitable, Callable

from qa.errors import QAError


NO_ACCESS = ("your account may not read this collection; "
             "ask an owner of the collection to make you a reader")


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


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable only from this machine: `localhost`, 127.0.0.0/8 or ::1 (an IPv6
    address may come in brackets). Any other name is taken as open: what a name resolves to can
    change, and guessing wrong would publish the whole workspace."""
    h = str(host).strip().lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h[1:-1] if h.startswith("[") and h.endswith("]") else h).is_loopback
    except ValueError:
        return False


def check_listening(host: str, has_users: bool, insecure_no_auth: bool = False) -> None:
    """Refuse an app with no accounts on an address others can reach: without users nobody signs in,
    so every visitor would read every collection. `--insecure-no-auth` is the operator saying that is
    meant (a private network, or a proxy in front that checks who is asking)."""
    if has_users or insecure_no_auth or is_loopback(host):
        return
    raise QAError(f"the workspace has no users, so the chat would be open to anyone who reaches {host}",
                  fix="add one with `qa users add NAME`, listen on 127.0.0.1, "
                      "or pass --insecure-no-auth to serve it without sign-in")
