"""One answerer per collection, opened on its first question and reopened when a new build is published.

A build is published atomically (a folder index's link is switched, a store's manifest replaced), so
the published manifest's build_id says which build an answerer was opened on: a question after a new
publication opens the new one, and questions already running finish on the old one (they hold it).
Reading the recorded manifest is one small JSON file for a folder index, cheap beside an answer.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Callable, Optional

from ..index.stores import open_store
from ..settings import Settings
from .collections import Collection

Opener = Callable[[Collection], Any]


def published_build(c: Collection) -> Optional[str]:
    """The build id the collection's published index records, or None when it has none yet."""
    try:
        m = open_store(c.store or c.index).recorded()
    except Exception:  # a missing folder or an unreachable store: as if nothing were published
        return None
    return m.get("build_id") if isinstance(m, dict) else None


def default_opener(settings: Settings, embedder: Any = None, reader: Any = None) -> Opener:
    """Opens a collection's published index with one embedder and one reader for every collection and
    build: `embedder`/`reader` when the caller has them loaded (the chat's), else made on the first
    open. Loading them again for each new build would add most of a second to the first question after
    every upload."""
    shared: dict[str, Any] = {"embedder": embedder, "reader": reader}
    lock = threading.Lock()

    def models() -> tuple[Any, Any]:
        from ..neural.embedding import make_embedder
        from ..neural.reader import make_reader

        with lock:
            if shared["embedder"] is None:
                shared["embedder"] = make_embedder(settings)
            if shared["reader"] is None:
                shared["reader"] = make_reader(settings, shared["embedder"]) or False  # False: settings want none
            return shared["embedder"], shared["reader"]

    def open_collection(c: Collection):
        from ..pipeline import open_answerer  # loads the engine only when a question comes
        from .commands import collection_hints

        embedder_, reader_ = models()
        with collection_hints(c):  # a missing or stale index names `qa index --collection NAME` as the fix
            # no freshness check against the documents folder: an upload job moves its files there
            # before its build is published, and until then the published index is the one to answer from
            return open_answerer(c.index, replace(settings, store=c.store), embedder=embedder_, reader=reader_,
                                 check_corpus=False)

    return open_collection


class Answerers:
    """The cache: `get(collection)` gives the answerer for its published build. `opener` opens one (the
    tests pass a fake); `build_of` reads the published build id (qa.index.stores by default)."""

    def __init__(self, opener: Opener, build_of: Callable[[Collection], Optional[str]] = published_build):
        self.opener, self.build_of = opener, build_of
        self._open: dict[str, tuple[Optional[str], Any]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, c: Collection):
        build = self.build_of(c)
        held = self._open.get(c.name)
        if held is not None and held[0] == build:
            return held[1]
        with self._guard:
            lock = self._locks.setdefault(c.name, threading.Lock())
        with lock:  # one load per collection at a time: two first questions do not load it twice
            held = self._open.get(c.name)
            if held is not None and held[0] == build:
                return held[1]
            answerer = self.opener(c)
            self._open[c.name] = (build, answerer)
            return answerer

    def prime(self, c: Collection, answerer: Any) -> None:
        """Hold an answerer opened elsewhere (the chat opens its collection at start-up) for the build
        published now, so the first question does not open it again."""
        self._open[c.name] = (self.build_of(c), answerer)

    def forget(self, name: str) -> None:
        """Drop a deleted collection's answerer (a new collection of the same name starts afresh)."""
        self._open.pop(name, None)
