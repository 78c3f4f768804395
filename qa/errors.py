"""The one exception type users see: a one-line problem and the command that fixes it."""
from __future__ import annotations


class QAError(Exception):
    """A problem the user can act on. The CLI prints `str(err)` on one line and exits with `code`."""

    def __init__(self, problem: str, fix: str | None = None, code: int = 2):
        self.problem = problem
        self.fix = fix
        self.code = code
        super().__init__(problem if not fix else f"{problem}: {fix}")


class IndexProblem(QAError):
    """The index is missing, stale, corrupt or built for another model; `qa index` fixes it."""

    def __init__(self, problem: str, index_dir: str | None = None):
        fix = "run `qa index`" if index_dir is None else f"run `qa index --index {index_dir}`"
        super().__init__(problem, fix=fix, code=2)
