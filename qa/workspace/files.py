"""The workspace's writes to disk: a JSON file replaced atomically, under one lock file per workspace.

Every write of the workspace (users.json, a collection's collection.json) is a read-modify-write done
while holding an exclusive `fcntl.flock` on `<workspace>/workspace.lock`, so two processes (two `qa
users add`, or the app and the CLI) never lose each other's change. The new contents go to a temporary
file in the same folder, are fsynced, and replace the old file with `os.replace`: a reader (which takes
no lock) sees the old file or the new one, never half of one, and a crash between the write and the
replace leaves the old file as it was.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import QAError

FILE_MODE = 0o600  # users.json holds password hashes and token digests: the owner only
NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_name(name: object, what: str = "collection") -> str:
    """`name` if it is a safe slug (letters, digits, `-`, `_`; 1 to 64 characters), else a QAError
    naming the rule: the name becomes a folder name, so `..`, separators and NUL must never pass."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        shown = repr(name)[:70] if isinstance(name, str) else type(name).__name__
        raise QAError(f"{shown} is not a valid {what} name",
                      fix="use 1 to 64 letters, digits, '-' or '_' (no spaces, dots or slashes)")
    return name


def read_json(path: Path, default: Any) -> Any:
    """The file's JSON, or `default` when it does not exist yet; a damaged file is refused, never
    silently replaced (that would lose every user or member in it)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    except OSError as e:
        raise QAError(f"cannot read {path} ({e.strerror or e.__class__.__name__})") from None
    try:
        return json.loads(text)
    except ValueError:
        raise QAError(f"{path} is not valid JSON (damaged?)", fix="restore it from a backup; it was not changed") from None


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace `path` with `data` as JSON: all of it or none of it, whatever happens mid-way."""
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    write_bytes_atomic(Path(path), text.encode("utf-8"), FILE_MODE)


def write_bytes_atomic(path: Path, data: bytes, mode: Optional[int] = None) -> None:
    """Write `data` as `path`, all or nothing: a hidden temp file beside it (the corpus reader ignores
    dot-files), fsynced, given `mode`, renamed over `path`, and the folder fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (a replaced file could otherwise come back after a power cut)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class WorkspaceLock:
    """An exclusive lock on the workspace, across processes (flock) and threads; re-entrant within a
    thread, because removing a user also rewrites the collections it was a member of, under one lock."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._thread = threading.RLock()
        self._depth = 0
        self._fd = -1

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._thread:
            if self._depth == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    os.close(fd)
                    raise
                self._fd = fd
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                    self._fd = -1
