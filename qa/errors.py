"""The one exception type users see: a one-line problem and the command that fixes it."""
from __future__ import annotations

import os
import re
import shlex


class QAError(Exception):
    """A problem the user can act on. The CLI prints `str(err)` on one line and exits with `code`."""

    def __init__(self, problem: str, fix: str | None = None, code: int = 2):
        self.problem = problem
        self.fix = fix
        self.code = code
        super().__init__(problem if not fix else f"{problem}: {fix}")


def redact(url: str) -> str:
    """A database URL with its password masked, fit to print."""
    return re.sub(r"(://[^:/@]*:)[^@]+@", r"\1***@", str(url))  # an empty password stays empty


def index_command(where: "str | os.PathLike[str]") -> str:
    """The command that rebuilds the index at `where` (a folder or a postgresql:// URL), as it can be
    pasted into a shell from any directory: the folder made absolute (not resolved: an index folder is
    a symlink to its current build) and quoted, a URL's password masked. Without --corpus, `qa index`
    rebuilds an index from the folder it records, so this never swaps in another corpus."""
    w = str(where)
    if w.startswith(("postgresql://", "postgres://")):
        return f"qa index --store {shlex.quote(redact(w))}"
    return f"qa index --index {shlex.quote(os.path.abspath(w))}"


class IndexProblem(QAError):
    """The index at `where` (a folder or a store) is missing, stale, corrupt or built for another model;
    the fix names the command that rebuilds it."""

    def __init__(self, problem: str, where: "str | os.PathLike[str]", fix: str | None = None):
        super().__init__(problem, fix=fix or f"run `{index_command(where)}`", code=2)
