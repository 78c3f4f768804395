"""Accounts: users with argon2 password hashes, and API tokens stored as digests, in `<workspace>/users.json`.

    users = Workspace.open().users
    users.add("ana", "correct horse")            # QAError if the name is taken or invalid, or the password empty
    users.verify("ana", "correct horse") -> bool # constant-time (argon2); an unknown name costs a hash too
    token = users.new_token("ana")               # "qa_<id>_<secret>": shown once, only its sha256 is kept
    users.user_for_token(token) -> "ana" | None  # constant-time digest comparison
    users.tokens("ana") -> [TokenInfo(id, user, created)]  # never the secrets
    users.revoke_token(id)                       # the id, or the whole token
    users.remove("ana")                          # also drops its tokens and its collection memberships
    users.names() -> [str];  users.any() -> bool;  "ana" in users

users.json: {"format": 1, "users": {name: {"hash", "created"}}, "tokens": {id: {"user", "sha256",
"created"}}}. Why one JSON file rather than SQLite: a workspace has tens of users, not millions; one
file replaced atomically under the workspace lock (qa.workspace.files) is all-or-nothing, readable and
restorable by hand, and the same mechanism writes the collections' member lists.

Passwords: argon2id through argon2-cffi's PasswordHasher (the reference argon2 binding, maintained
by the argon2-cffi project, with safe default parameters; hashes carry their parameters, so raising
them later rehashes on the next successful sign-in). Tokens carry 256 random bits, so a plain sha256 of
the token is enough to store them: nothing can be guessed from a digest of a random value.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from ..errors import QAError
from .files import WorkspaceLock, check_name, read_json, write_json_atomic

USERS_FORMAT = 1
TOKEN_RE = re.compile(r"qa_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
MAX_PASSWORD_CHARS = 4096  # argon2 takes any length; this only stops a pasted file from being hashed


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed: never its secret."""

    id: str
    user: str
    created: str


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Users:
    """The accounts of one workspace; each change is one locked, atomic rewrite of users.json."""

    def __init__(self, path: Path, lock: WorkspaceLock, forget_member: Callable[[str], None]):
        self.path = Path(path)
        self._lock = lock
        self._forget_member = forget_member  # strips a removed user from every collection
        self._ph = None  # made on first use: listing users or collections needs no argon2
        self._dummy_hash: Optional[str] = None

    @property
    def _hasher(self):
        if self._ph is None:
            try:
                from argon2 import PasswordHasher
            except ImportError:
                raise QAError("argon2-cffi is not installed (password hashes need it)",
                              fix="pip install argon2-cffi, or re-run `make` to install the project") from None
            self._ph = PasswordHasher()
        return self._ph

    @_hasher.setter
    def _hasher(self, hasher) -> None:  # the tests choose cheaper parameters
        self._ph = hasher

    # ----------------------------------------------------------------- reading

    def _data(self) -> dict:
        data = read_json(self.path, {"format": USERS_FORMAT, "users": {}, "tokens": {}})
        if not isinstance(data, dict) or data.get("format") != USERS_FORMAT:
            raise QAError(f"{self.path} is not a users file of format {USERS_FORMAT}", fix="restore it from a backup")
        data.setdefault("users", {})
        data.setdefault("tokens", {})
        return data

    def names(self) -> list[str]:
        return sorted(self._data()["users"])

    def any(self) -> bool:
        """Whether any account exists: with none, the app is single-user (and loopback-only)."""
        return bool(self._data()["users"])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._data()["users"]

    def created(self, name: str) -> str:
        return self._user(self._data(), name)["created"]

    def tokens(self, name: str) -> list[TokenInfo]:
        data = self._data()
        self._user(data, name)
        return sorted((TokenInfo(i, t["user"], t["created"]) for i, t in data["tokens"].items() if t["user"] == name),
                      key=lambda t: (t.created, t.id))

    # ----------------------------------------------------------------- passwords

    def add(self, name: str, password: str) -> None:
        check_name(name, "user")
        self._check_password(password)
        h = self._hasher.hash(password)  # outside the lock: hashing takes tens of milliseconds
        with self._lock.held():
            data = self._data()
            if name in data["users"]:
                raise QAError(f"user {name} already exists",
                              fix="choose another name (`qa users list` shows the taken ones)")
            data["users"][name] = {"hash": h, "created": now()}
            write_json_atomic(self.path, data)

    def verify(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s. Takes an argon2 verification whether or not the user exists,
        so the time taken does not tell which names have accounts."""
        from argon2.exceptions import InvalidHashError, VerificationError

        user = self._data()["users"].get(name) if isinstance(name, str) else None
        if not isinstance(password, str):
            password = ""
        stored = user["hash"] if user else self._dummy()
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        if user is None:
            return False
        if self._hasher.check_needs_rehash(stored):
            self._rehash(name, stored, password)
        return True

    def _rehash(self, name: str, old: str, password: str) -> None:
        """Hashes made with weaker parameters are upgraded on a successful sign-in (the only time the
        password is known)."""
        h = self._hasher.hash(password)
        with self._lock.held():
            data = self._data()
            user = data["users"].get(name)
            if user and user["hash"] == old:  # not changed meanwhile by someone else
                user["hash"] = h
                write_json_atomic(self.path, data)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def _check_password(self, password: object) -> None:
        if not isinstance(password, str) or not password:
            raise QAError("the password is empty", fix="give a non-empty password")
        if len(password) > MAX_PASSWORD_CHARS:
            raise QAError(f"the password is over {MAX_PASSWORD_CHARS} characters")

    # ----------------------------------------------------------------- tokens

    def new_token(self, name: str) -> str:
        """A new API token for `name`, returned once: only its digest is stored."""
        with self._lock.held():
            data = self._data()
            self._user(data, name)
            token_id = secrets.token_hex(6)
            while token_id in data["tokens"]:
                token_id = secrets.token_hex(6)
            token = f"qa_{token_id}_{secrets.token_urlsafe(32)}"
            data["tokens"][token_id] = {"user": name, "sha256": _digest(token), "created": now()}
            write_json_atomic(self.path, data)
        return token

    def user_for_token(self, token: object) -> Optional[str]:
        """The user a token belongs to, or None (malformed, unknown, revoked, or its user removed).
        The digest is always compared, in constant time, so timing does not tell a known id."""
        m = TOKEN_RE.fullmatch(token) if isinstance(token, str) else None
        data = self._data()
        entry = data["tokens"].get(m.group(1)) if m else None
        expected = entry["sha256"] if entry else "0" * 64
        ok = hmac.compare_digest(_digest(token if isinstance(token, str) else ""), expected)
        if not (ok and entry and entry["user"] in data["users"]):
            return None
        return entry["user"]

    def revoke_token(self, token_id: str) -> str:
        """Revoke a token by its id (or the whole token); returns the user it belonged to."""
        m = TOKEN_RE.fullmatch(token_id) if isinstance(token_id, str) else None
        token_id = m.group(1) if m else token_id
        with self._lock.held():
            data = self._data()
            entry = data["tokens"].pop(token_id, None) if isinstance(token_id, str) else None
            if entry is None:
                raise QAError(f"no token with id {str(token_id)[:40]!r}", fix="`qa users list` shows each user's token ids")
            write_json_atomic(self.path, data)
        return entry["user"]

    # ----------------------------------------------------------------- removal

    def remove(self, name: str) -> None:
        """Remove the account, its tokens and its memberships, under one lock (never a token or a role
        left behind for a name that could be given to someone else later)."""
        with self._lock.held():
            data = self._data()
            self._user(data, name)
            self._forget_member(name)
            del data["users"][name]
            data["tokens"] = {i: t for i, t in data["tokens"].items() if t["user"] != name}
            write_json_atomic(self.path, data)

    def _user(self, data: dict, name: str) -> dict:
        user = data["users"].get(name) if isinstance(name, str) else None
        if user is None:
            known = ", ".join(sorted(data["users"])) or "none yet"
            raise QAError(f"no user {str(name)[:64]!r}", fix=f"users: {known}; add one with `qa users add NAME`")
        return user
