"""qa.answer.retrieval: the pure ranking against a brute-force oracle, filters, BM25 and determinism."""
from __future__ import annotations

import numpy as np
import pytest
from qa.neural.embedding import HashEmbedder
from qa.index.load import load_index
from qa.index.build import build_index
from dataclasses import replace

from qa.answer.retrieval import Retriever, search_vectors
from qa.settings import load_tuned
from conftest import CORPUS


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory):
    d = tmp_path_factory.mktemp("fake") / "index"
    build_index(CORPUS, d, HashEmbedder())
    return load_index(d)


@pytest.mark.parametrize("k", [1, 2, 7, 74, 75, 200])
def test_dense_search_matches_brute_force(fake_index, k):
    vecs = fake_index.passage_vectors()
    rng = np.random.default_rng(k)
    for _ in range(5):
        q = rng.standard_normal(vecs.shape[1]).astype(np.float32)
        q /= np.linalg.norm(q)
        hits = search_vectors(fake_index, q, k, retrieval=replace(load_tuned().retrieval, mode="dense", candidates=k))
        oracle = np.argsort(-(vecs @ q), kind="stable")[:min(k, len(vecs))]
        assert [h.passage.row for h in hits] == list(oracle)
        np.testing.assert_allclose([h.score for h in hits], (vecs @ q)[oracle], rtol=1e-5, atol=1e-6)
        for h in hits:  # best sentences are sorted and belong to the passage
            ss = [s.score for s in h.sentences]
            assert ss == sorted(ss, reverse=True)
            assert all(s.sentence.passage_id == h.passage.passage_id for s in h.sentences)


def test_document_filter_only_returns_chosen_documents(fake_index):
    r = Retriever(fake_index, HashEmbedder())
    for mode in ("hybrid", "rrf", "dense", "bm25"):
        hits = r.search("Hafez Saeed Khan shura members", k=10, docs=["rani-fa"],
                        retrieval=replace(load_tuned().retrieval, mode=mode))
        assert hits and {h.passage.doc_id for h in hits} == {"rani-fa"}


def test_bm25_finds_exact_names(fake_index):
    # the fake embedder carries no meaning, so this is the lexical side alone
    r = Retriever(fake_index, HashEmbedder(), replace(load_tuned().retrieval, mode="bm25"))
    hits = r.search("Bushra Cheema", k=3)
    assert "Bushra Cheema" in hits[0].passage.text


def test_search_is_deterministic(fake_index):
    r = Retriever(fake_index, HashEmbedder())
    a = [h.passage.passage_id for h in r.search("Karachi attack death toll", k=10)]
    b = [h.passage.passage_id for h in r.search("Karachi attack death toll", k=10)]
    assert a == b
