"""What one chat server offers each visitor: the collections they may open, their role, and the engine.

    site = Site(ws, shelf, served="harbour", signed_in=True, jobs=jobs)
    site.start(username) -> the collection a new session opens on (None: nothing readable)
    site.choices(username) -> the collection names for the picker
    site.open(username, name) -> Shelved (QAError NO_ACCESS, or the collection's own problem)
    site.may(username, name, "editor")
    Site.single(answerer)   # one engine, no workspace: everyone reads it (tests, embedding)

Every check is made when the request comes, so a grant or revoke takes effect without a restart. With
sign-in, a request without a name is refused: it cannot have come through Gradio's login, and None
would mean the operator in single-user mode. Without sign-in (a workspace with no users) every visitor
is that operator: every collection, as owner (the demo as reader).
"""
from __future__ import annotations

from typing import Any, Optional

from ..errors import QAError
from ..workspace import DEMO
from .access import NO_ACCESS
from .shelf import Shelf, Shelved


class Site:
    def __init__(self, ws, shelf: Shelf, served: str = DEMO, signed_in: bool = False, jobs: Any = None):
        self.ws, self.shelf, self.served, self.signed_in, self.jobs = ws, shelf, served, signed_in, jobs

    @classmethod
    def single(cls, answerer: Any) -> "Site":
        """One answerer and no workspace: no picker, no documents panel, nobody refused."""
        return cls(None, Shelf(None, demo=answerer))

    @property
    def has_collections(self) -> bool:
        return self.ws is not None

    @staticmethod
    def username(request: Any) -> Optional[str]:
        name = getattr(request, "username", None)
        return name if isinstance(name, str) and name else None

    def _who(self, username: Optional[str]) -> Optional[str]:
        return username if self.signed_in else None

    def may(self, username: Optional[str], name: Optional[str], needed: str = "reader") -> bool:
        if self.ws is None:
            return needed == "reader"
        if not name or (self.signed_in and not username):
            return False
        return self.ws.may(self._who(username), name, needed)

    def role(self, username: Optional[str], name: str) -> Optional[str]:
        if self.ws is None:
            return "reader"
        if self.signed_in and not username:
            return None
        try:
            return self.ws.role(self._who(username), name)
        except QAError:
            return None

    def choices(self, username: Optional[str]) -> list[str]:
        """The collections the visitor may read, the served one first, then by name."""
        if self.ws is None or (self.signed_in and not username):
            return []
        try:
            names = [c.name for c in self.ws.visible(self._who(username))]
        except QAError:  # a damaged record: the picker offers what it can prove, which is nothing
            return []
        return sorted(names, key=lambda n: (n != self.served, n != DEMO, n.lower()))

    def start(self, username: Optional[str]) -> Optional[str]:
        if self.ws is None:
            return DEMO
        names = self.choices(username)
        return names[0] if names else None

    def open(self, username: Optional[str], name: Optional[str]) -> Shelved:
        """The collection's engine for a visitor who may read it; QAError(NO_ACCESS) for anyone else,
        asked on every answer, document view and API call."""
        if self.ws is None:
            return self.shelf.get(DEMO)
        name = name or self.served
        if not self.may(username, name, "reader"):
            raise QAError(NO_ACCESS)
        return self.shelf.get(name)

    def editable(self, name: Optional[str]) -> bool:
        """Whether documents can be added to or removed from `name` at all here (never the demo, and
        never without a jobs runner)."""
        return self.ws is not None and self.jobs is not None and bool(name) and name != DEMO
