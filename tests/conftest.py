"""Shared fixtures: the real model and an index of the bundled corpus, built once per test session.

In the fast tier (`make check`: `-m "not model and not browser and not slow"`) the real model cannot be
loaded at all: a test that needs it and lacks `@pytest.mark.model` fails, naming the marker.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.settings import PROJECT_ROOT, set_offline_environment

set_offline_environment()

CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture(autouse=True, scope="session")
def _analyse_each_sentence_once():
    """spaCy's analysis is a pure function of the sentence text, and most of this suite's index builds
    re-analyse the same few hundred sentences of the bundled corpus (it was over half their time). The
    first build analyses each sentence for real; the rest reuse that result. Builds in subprocesses
    (the CLI and app tests) analyse for real every time."""
    import qa.ingest.nlp

    real, memo = qa.ingest.nlp.analyse, {}

    def analyse(texts, batch_size=64, progress=None):
        todo = [t for t in dict.fromkeys(texts) if t not in memo]
        for t, spans in zip(todo, real(todo, batch_size)):
            memo[t] = spans
        if progress is not None and texts:
            progress(len(texts))
        return [list(memo[t]) for t in texts]

    mp = pytest.MonkeyPatch()
    mp.setattr(qa.ingest.nlp, "analyse", analyse)
    yield
    mp.undo()


@pytest.fixture(autouse=True, scope="session")
def _no_model_in_the_fast_tier(request):
    if "not model" not in (request.config.getoption("markexpr") or ""):
        yield
        return
    from qa.neural.embedding import OnnxEmbedder, SentenceTransformerEmbedder
    from qa.neural.reader import OnnxReader, Reader

    def refuse(*_a, **_k):
        raise RuntimeError("this test loads the real model: mark it @pytest.mark.model")

    mp = pytest.MonkeyPatch()
    mp.setattr(SentenceTransformerEmbedder, "model", property(refuse))
    mp.setattr(Reader, "_load", refuse)
    for cls in (OnnxEmbedder, OnnxReader):
        mp.setattr(cls, "_load", refuse)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def real_embedder():
    """The shipped default: all-MiniLM-L6-v2 in ONNX Runtime (its graph exported on first use when the
    cache is empty, as on a fresh clone)."""
    from qa.neural.embedding import make_embedder
    from qa.settings import Settings

    return make_embedder(Settings())


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory, real_embedder) -> Path:
    """The bundled corpus indexed with the real model into a session temp folder (never embeddings/)."""
    from qa.index.build import build_index

    d = tmp_path_factory.mktemp("real") / "index"
    build_index(CORPUS, d, real_embedder)
    return d


@pytest.fixture(scope="session")
def real_answerer(real_index_dir, real_embedder):
    from qa.pipeline import open_answerer

    return open_answerer(real_index_dir, embedder=real_embedder)


@pytest.fixture()
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the bundled corpus."""
    d = tmp_path / "corpus"
    shutil.copytree(CORPUS, d)
    return d


# --------------------------------------------------------------------------- the app, and Chromium to look at it

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The one `python app.py` on the bundled corpus that the app and browser tests share (app_support)."""
    from app_support import shared_app

    return shared_app(tmp_path_factory)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright (the browser tests skip themselves when it is absent)."""
    from app_support import chromium_browser

    yield from chromium_browser()


@pytest.fixture()
def page(browser):
    """A fresh page at 1400×1000, the size the chat is checked at."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    ctx.close()
