"""The index in memory (Index), whichever store it came from, and the search parts every store's load attaches."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence

import numpy as np

from ..errors import IndexProblem, QAError
from ..ingest.formats import CharMap
from ..types import Document, Passage, Sentence
from . import aliases, bm25, lexicon
from .lexicon import Lexicon


class Vectors(Protocol):
    """The dense side of an index. Passage rows are the evidence passages' rows (Passage.row); sentence
    rows are Sentence.row. Vectors are float32 unit rows; scores are inner products."""

    dim: int

    def search(self, q: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k evidence rows nearest to the unit vector q, best first, as (row, score)."""

    def passages(self, rows: Sequence[int]) -> np.ndarray:
        """(len(rows), dim) passage vectors, in the order asked."""

    def sentences(self, rows: Sequence[int]) -> np.ndarray:
        """(len(rows), dim) sentence vectors, in the order asked."""

    def all_passages(self) -> np.ndarray:
        """Every passage vector in row order (the embedding cache of a rebuild, benchmarks)."""

    def all_sentences(self) -> np.ndarray:
        """Every sentence vector in row order."""


@dataclass
class Index:
    """A verified index in memory: its records, its vectors wherever they live (qa.index.stores: the FAISS
    folder, or a networked store), and its search parts once attached. `path` is the folder its files
    are read from (for a networked store, the local copy of its files)."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: list[Passage]  # all passages, boilerplate included
    evidence: list[Passage]  # passages with a dense row: evidence[row]
    sentences: list[Sentence]
    vectors: Vectors
    store: str = ""  # where it was loaded from, as the user named it (a folder or a postgresql:// URL)
    bm25: Any = None  # the bm25s model over the evidence passages (qa.index.bm25)
    df: Optional[dict[str, Any]] = None  # {"n": passages, "df": {stem: passages holding it}} (qa.index.bm25.idf)
    lexicon: Optional[Lexicon] = None  # what the corpus ever says (qa.index.lexicon)
    aliases: Optional[dict[str, Any]] = None  # the alias table as stored: {"groups": ..., "acronyms": ...}
    _charmaps: dict[str, Optional[CharMap]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def model_name(self) -> str:
        return self.manifest["model"]["name"]

    @property
    def dim(self) -> int:
        return int(self.manifest["model"]["dim"])

    @property
    def build_id(self) -> str:
        return self.manifest["build_id"]

    def charmap(self, doc_id: str) -> Optional[CharMap]:
        """The page map of a PDF document's rendition (qa.ingest.formats.CharMap), loaded once; None otherwise."""
        if doc_id not in self._charmaps:
            doc = self.documents.get(doc_id)
            d = self.path / doc.rendition / "charmap" if doc is not None and doc.rendition else None
            self._charmaps[doc_id] = CharMap.load(d) if d is not None and d.is_dir() else None
        return self._charmaps[doc_id]

    def passage_vectors(self) -> np.ndarray:
        """The evidence passages' vectors, in row order."""
        return self.vectors.all_passages()

    @property
    def sentence_vectors(self) -> np.ndarray:
        """The sentences' vectors, in row order."""
        return self.vectors.all_sentences()

    @property
    def passage_index(self):
        """The FAISS index of a folder index (None for another store)."""
        return getattr(self.vectors, "faiss", None)


def attach_search_parts(index: Index, unreadable: Callable[[str], IndexProblem]) -> Index:
    """Attach what answering searches besides the vectors (the BM25 model, the lexicon, the aliases), each
    checked as it is read; a malformed alias table is refused here, not at the first question.
    `unreadable(detail)` is the store's own IndexProblem for an artefact whose parser failed otherwise
    than with a QAError."""
    try:
        bm25.attach(index)
        lexicon.attach(index)
        aliases.attach(index)
        aliases.AliasTable.from_data(index.aliases)
    except QAError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever a parser raises on a damaged file means the same thing
        raise unreadable(f"{e.__class__.__name__}: {str(e)[:120]}") from None
    return index
