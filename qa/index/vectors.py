"""Where an index's vectors live and how they are searched: the interface, and the FAISS folder that is its default."""
from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np


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


class FaissVectors:
    """Passage vectors in a FAISS index (flat or HNSW) and sentence vectors in a memory-mapped array,
    both files of the index folder."""

    def __init__(self, faiss_index: Any, sentence_vectors: np.ndarray):
        self.faiss = faiss_index
        self.sentence_array = sentence_vectors
        self.dim = int(faiss_index.d)

    def search(self, q: np.ndarray, k: int) -> list[tuple[int, float]]:
        D, I = self.faiss.search(np.ascontiguousarray(q, dtype=np.float32).reshape(1, -1), k)
        return [(int(i), float(d)) for d, i in zip(D[0], I[0]) if i >= 0]

    def passages(self, rows: Sequence[int]) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.faiss.reconstruct(int(r)) for r in rows])

    def sentences(self, rows: Sequence[int]) -> np.ndarray:
        return np.asarray(self.sentence_array[list(rows)]) if len(rows) else np.zeros((0, self.dim), dtype=np.float32)

    def all_passages(self) -> np.ndarray:
        n = self.faiss.ntotal
        return self.faiss.reconstruct_n(0, n) if n else np.zeros((0, self.dim), dtype=np.float32)

    def all_sentences(self) -> np.ndarray:
        return np.asarray(self.sentence_array)
