"""The collections one chat server answers from: each one's engine, citation library and page renderer.

A collection's answerer comes from qa.workspace.answerers (opened on its first question, reopened once
a new build is published), so an upload made in the chat is answered from as soon as its index is
published, and a question already running finishes on the build it started with. The library and page
renderer are made once per opened answerer. The demo is the exception: the operator may have pointed
it at a folder of their own (`--corpus/--index`), so the chat hands the shelf the answerer it opened.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import QAError
from ..workspace import DEMO
from ..workspace.answerers import Answerers
from .pages import PageRenderer
from .render import Library


@dataclass(frozen=True)
class Shelved:
    """What the chat needs to answer from one collection and show its sources."""
    name: str
    answerer: Any
    lib: Library
    pages: PageRenderer

    @property
    def build_id(self) -> Optional[str]:
        manifest = getattr(self.answerer.index, "manifest", None)
        return manifest.get("build_id") if isinstance(manifest, dict) else None


class Shelf:
    """`get(name)` -> Shelved for the collection's published build. `answerers`: the cache that opens
    collections (None: only the demo); `demo`: the demo's answerer when the caller opened it (its
    folder may be the operator's own, from `--corpus/--index`), else the demo is opened like the rest."""

    def __init__(self, ws, answerers: Optional[Answerers] = None, demo: Any = None):
        self.ws, self.answerers = ws, answerers
        self._held: dict[str, Shelved] = {}
        self._lock = threading.Lock()
        self._demo = self._shelve(DEMO, demo) if demo is not None else None

    def get(self, name: str) -> Shelved:
        """QAError for an unknown collection or one whose index cannot be opened (the caller says so)."""
        if name == DEMO and self._demo is not None:
            return self._demo
        if self.answerers is None:
            raise QAError(f"this chat serves no collection {name!r}")
        answerer = self.answerers.get(self.ws.collection(name))
        held = self._held.get(name)
        if held is not None and held.answerer is answerer:
            return held
        with self._lock:  # a page renderer per build; two sessions asking at once share one
            held = self._held.get(name)
            if held is None or held.answerer is not answerer:
                held = self._held[name] = self._shelve(name, answerer)
            return held

    def hold(self, name: str, answerer: Any) -> None:
        """An answerer the caller opened at start-up for collection `name`, kept as the one for its
        published build (the demo's is given to the constructor instead)."""
        if self.answerers is not None:
            self.answerers.prime(self.ws.collection(name), answerer)

    @staticmethod
    def _shelve(name: str, answerer: Any) -> Shelved:
        index = answerer.index
        return Shelved(name, answerer, Library.from_index(index), PageRenderer(index))
