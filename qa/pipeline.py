"""Wiring: one place that turns an index folder into a ready Answerer (used by CLI, eval and app)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .answering import Answerer
from .config import DEFAULT_CORPUS, DEFAULT_INDEX
from .embedding import Embedder, embedder_from_env
from .index import BuildReport, build_index, check_fresh, load_index
from .reader import reader_from_env
from .retrieval import Retriever


def open_answerer(index_dir: str | Path = DEFAULT_INDEX, embedder: Optional[Embedder] = None,
                  check_corpus: bool = True, reader=None, **settings) -> Answerer:
    """Load and verify the index (refusing one whose corpus has changed since it was built), then wrap
    it with the embedder and the span reader (both built lazily: the first question loads them).
    `reader=None` takes the one QA_READER names (see qa.reader.reader_from_env); pass False for none.
    Other keywords (`settings`, `extract_settings`) go to the Answerer."""
    embedder = embedder or embedder_from_env()
    index = load_index(index_dir, embedder)
    if check_corpus:
        check_fresh(index)
    if reader is None:
        reader = reader_from_env(embedder)
    return Answerer(Retriever(index, embedder), reader=reader or None, **settings)


def ensure_index(corpus_dir: str | Path = DEFAULT_CORPUS, index_dir: str | Path = DEFAULT_INDEX,
                 embedder: Optional[Embedder] = None, progress: bool = True, **kw) -> BuildReport:
    """Build the index if it is missing or stale; a no-op (well under a second) otherwise."""
    return build_index(corpus_dir, index_dir, embedder or embedder_from_env(), progress=progress, **kw)
