"""Wiring: one place that turns an index folder and settings into a ready Answerer (CLI, eval, app, Python)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .answer.answerer import Answerer
from .neural.embedding import Embedder, make_embedder
from .index.load import check_fresh, load_index
from .index.build import BuildOptions, BuildReport, build_index, choose_corpus
from .index.loaded import Index
from .neural.reader import make_reader
from .answer.retrieval import Retriever
from .settings import Settings


def open_answerer(index_dir: str | Path | None = None, settings: Optional[Settings] = None,
                  embedder: Optional[Embedder] = None, reader=None, check_corpus: bool = True) -> Answerer:
    """Load and verify the index (refusing one whose corpus has changed since it was built), then wrap
    it with the embedder and the span reader (both loaded lazily: the first question loads them).

        from qa import open_answerer
        answer = open_answerer("embeddings/index").ask("Who led Wilayat Khorasan?")

    `index_dir` defaults to the settings' index; `settings` to the shipped defaults (no environment
    variables are read here: the CLI and the app pass `Settings.from_env()`). `reader=None` takes the
    one the settings name; pass False for none."""
    if settings is not None and not isinstance(settings, Settings):
        raise TypeError(f"open_answerer's second argument is the Settings, not {type(settings).__name__}")
    settings = settings or Settings()
    embedder = embedder or make_embedder(settings)
    index = open_index(index_dir, settings, embedder)
    if check_corpus:
        check_fresh(index)
    if reader is None:
        reader = make_reader(settings, embedder)
    retriever = Retriever(index, embedder, settings.retrieval)
    return Answerer(retriever, reader=reader or None, spans=settings.spans, answer=settings.answer)


def open_index(index_dir: str | Path | None = None, settings: Optional[Settings] = None, embedder=None) -> Index:
    """The index the settings point at, loaded and verified: the PostgreSQL store `settings.store` names
    (a postgresql:// URL, env QA_STORE), else the folder `index_dir` (default `settings.index`)."""
    settings = settings or Settings()
    location = settings.store or (index_dir if index_dir is not None else settings.index)
    return load_index(location, embedder)


def ensure_index(corpus_dir: str | Path | None, index_dir: str | Path, settings: Optional[Settings] = None,
                 embedder: Optional[Embedder] = None, progress: bool = True, **option_fields) -> BuildReport:
    """Build the index if it is missing or stale; a no-op (well under a second) otherwise. With no
    `corpus_dir` it is the folder the index records (qa.index.build.choose_corpus). `option_fields` are
    the build's other options by name (qa.index.build.BuildOptions: log=..., force=...)."""
    settings = settings or Settings()
    corpus = choose_corpus(index_dir, settings.store, corpus_dir)
    options = BuildOptions(progress=progress, **option_fields)
    return build_index(corpus, index_dir, embedder or make_embedder(settings), options, store=settings.store)
