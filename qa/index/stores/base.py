"""The store seam: what every place an index is kept offers a build and a load (Store), and what a build hands it."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Optional

import numpy as np

from ...errors import QAError
from ...neural.embedding import Embedder
from ...types import Document, Passage, Sentence
from ..loaded import Index


@dataclass(frozen=True)
class BuildRecords:
    """A finished build besides its files in the work folder: a store that keeps rows (PostgreSQL) loads these."""

    documents: list[Document]
    passages: list[Passage]  # all, boilerplate included
    sentences: list[Sentence]
    passage_vectors: np.ndarray  # of the evidence passages, in row order
    sentence_vectors: np.ndarray
    manifest: dict[str, Any]


class Store(ABC):
    """One place an index is kept. A build (qa.index.build) reads the published manifest to see whether it
    is up to date, checks and locks the place, takes the previous build as its cache, writes its files
    into `workdir()`, then `publish()`es them atomically and `cleanup()`s; answering `load()`s the
    published build, verified."""

    schemes: tuple[str, ...] = ()  # URL schemes naming a store of this kind (qa.index.stores.open_store)
    label: str  # where it is, fit to print (a URL's password masked)

    @abstractmethod
    def manifest(self) -> Optional[dict]:
        """The published build's manifest when it verifies, else None."""

    @abstractmethod
    def recorded(self) -> Optional[dict]:
        """The published build's manifest as written, even when the build is damaged (it still says
        which folder it was made from), else None."""

    @abstractmethod
    def holds_index(self) -> bool:
        """Whether something is published here that a build would replace."""

    @abstractmethod
    def check(self) -> None:
        """Refuse, before any work is done, a place a build may not go (QAError)."""

    @abstractmethod
    def lock(self) -> ContextManager[None]:
        """Held for the whole of a build: a second build of the same index is refused, not interleaved."""

    def previous(self) -> Optional[Index]:
        """The published build, loaded without its search parts (its vectors and renditions are a rebuild's
        caches), or None when there is none that loads."""
        try:
            return self.load(search=False)
        except QAError:
            return None

    @abstractmethod
    def workdir(self, build_id: str) -> Path:
        """A path, not yet created, for the build's files."""

    @abstractmethod
    def publish(self, work: Path, build_id: str, records: BuildRecords,
                after_write: Optional[Callable[[Any], None]] = None) -> None:
        """Make the build in `work` the one readers get, in one atomic step. `after_write` is called with
        the written build just before that step (tests stop a build there)."""

    @abstractmethod
    def cleanup(self) -> None:
        """Remove what earlier builds left that nothing reads any more."""

    @abstractmethod
    def load(self, embedder: Optional[Embedder] = None, search: bool = True) -> Index:
        """The published build, verified (and against `embedder`'s model and dimension when given), with
        its search parts attached unless `search=False` (a rebuild's cache: a change of tokenizer
        settings must not cost it every vector). IndexProblem names what is wrong and the fixing command."""
