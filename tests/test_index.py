"""The index: atomic swap, verification on load, caching, no-op rebuilds (with the fake embedder)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from qa.embedding import HashEmbedder
from qa.errors import IndexProblem, QAError
from qa.index import MANIFEST, build_index, load_index

from conftest import CORPUS


def test_build_writes_plain_files_and_a_manifest(tmp_path):
    idx_dir = tmp_path / "index"
    r = build_index(CORPUS, idx_dir, HashEmbedder())
    assert not r.noop and r.documents == 5 and r.evidence > 50
    assert idx_dir.is_symlink()
    m = json.loads((idx_dir / MANIFEST).read_text())
    for key in ("format_version", "package_version", "model", "chunking", "corpus_hash", "counts", "built_at", "artefacts"):
        assert key in m
    assert m["model"] == {"name": "fake/sha256", "dim": 32, "precision": "fp32", "normalized": True, "metric": "inner_product"}
    assert set(m["artefacts"]) >= {"passages.faiss", "passages.jsonl", "documents.jsonl", "sentences.jsonl"}
    assert not list(idx_dir.rglob("*.pkl")) and not list(idx_dir.rglob("*.pickle"))
    idx = load_index(idx_dir, HashEmbedder())
    assert len(idx.evidence) == r.evidence == idx.passage_index.ntotal


def test_unchanged_corpus_rebuild_is_a_noop_without_the_model(tmp_path):
    idx_dir = tmp_path / "index"
    build_index(CORPUS, idx_dir, HashEmbedder())
    target = os.readlink(idx_dir)
    e = HashEmbedder()
    r = build_index(CORPUS, idx_dir, e)
    assert r.noop and e.calls == 0 and r.seconds < 1.0
    assert os.readlink(idx_dir) == target


def test_same_corpus_in_another_folder_rebuilds_from_cache_and_records_the_new_folder(tmp_path, corpus_copy):
    """The freshness check watches the recorded folder, so a no-op would leave it watching the old one."""
    import shutil

    from qa.errors import IndexProblem
    from qa.index import check_fresh

    idx_dir = tmp_path / "index"
    build_index(corpus_copy, idx_dir, HashEmbedder())
    moved = tmp_path / "moved"
    shutil.copytree(corpus_copy, moved)
    e = HashEmbedder()
    r = build_index(moved, idx_dir, e)
    assert not r.noop and e.calls == 0  # identical texts: every vector comes from the previous build
    assert json.loads((idx_dir / MANIFEST).read_text())["corpus"]["absolute_path"] == str(moved.resolve())
    doc = moved / "002_18472f56b4701dd9.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + "\n\nAn edit in the new folder.\n", encoding="utf-8")
    with pytest.raises(IndexProblem, match="stale"):
        check_fresh(load_index(idx_dir))


def test_changing_one_document_reembeds_only_its_new_text(tmp_path, corpus_copy):
    idx_dir = tmp_path / "index"
    first = build_index(corpus_copy, idx_dir, HashEmbedder())
    doc = corpus_copy / "002_18472f56b4701dd9.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + "\n\nA new closing paragraph about the analysts. It has two sentences.\n",
                   encoding="utf-8")
    e = HashEmbedder()
    r = build_index(corpus_copy, idx_dir, e)
    assert not r.noop
    # one new passage and its two sentences; everything else comes from the previous build
    assert e.texts_seen == 3, e.texts_seen
    assert r.embedded == 3 and r.reused == r.evidence + r.sentences - 3
    idx = load_index(idx_dir)
    assert any("new closing paragraph" in p.text for p in idx.evidence)


def test_cached_vectors_equal_fresh_vectors(tmp_path, corpus_copy):
    a, b = tmp_path / "a", tmp_path / "b"
    build_index(corpus_copy, a, HashEmbedder())
    (corpus_copy / "004_da672b50b9a27326.txt").write_text("A replaced document. Short.\n", encoding="utf-8")
    build_index(corpus_copy, a, HashEmbedder())  # incremental
    build_index(corpus_copy, b, HashEmbedder(), force=True)  # from scratch
    ia, ib = load_index(a), load_index(b)
    assert [p.passage_id for p in ia.passages] == [p.passage_id for p in ib.passages]
    np.testing.assert_array_equal(ia.passage_vectors(), ib.passage_vectors())
    np.testing.assert_array_equal(np.asarray(ia.sentence_vectors), np.asarray(ib.sentence_vectors))


def test_passage_ids_are_stable_across_rebuilds(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    build_index(CORPUS, a, HashEmbedder())
    build_index(CORPUS, b, HashEmbedder(), force=True)
    assert [p.passage_id for p in load_index(a).passages] == [p.passage_id for p in load_index(b).passages]


@pytest.mark.parametrize("victim", ["passages.faiss", "passages.jsonl", "sentence_vectors.npy", "documents.jsonl", "bm25/vocab.index.json"])
def test_a_flipped_byte_is_refused(tmp_path, victim):
    idx_dir = tmp_path / "index"
    build_index(CORPUS, idx_dir, HashEmbedder())
    p = idx_dir / victim
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    with pytest.raises(IndexProblem) as err:
        load_index(idx_dir)
    assert victim in str(err.value) and "qa index" in str(err.value)


def test_missing_index_and_wrong_model_are_refused(tmp_path):
    with pytest.raises(IndexProblem, match="no index at"):
        load_index(tmp_path / "nothing")
    idx_dir = tmp_path / "index"
    build_index(CORPUS, idx_dir, HashEmbedder(dim=32))
    with pytest.raises(IndexProblem, match="built with fake/sha256"):
        load_index(idx_dir, HashEmbedder(dim=16))


def test_a_failed_build_leaves_the_previous_index(tmp_path, corpus_copy):
    idx_dir = tmp_path / "index"
    build_index(corpus_copy, idx_dir, HashEmbedder())
    before = load_index(idx_dir)
    (corpus_copy / "001_78633d65568d95a5.txt").write_text("Changed. Entirely new text here.\n", encoding="utf-8")

    def crash(_):
        raise RuntimeError("simulated crash between writing and publishing")

    with pytest.raises(RuntimeError):
        build_index(corpus_copy, idx_dir, HashEmbedder(), _after_write=crash)
    after = load_index(idx_dir)
    assert [p.passage_id for p in after.passages] == [p.passage_id for p in before.passages]
    # and the next build recovers and cleans up the orphaned build folder
    build_index(corpus_copy, idx_dir, HashEmbedder())
    builds = list((tmp_path / ".index.builds").iterdir())
    assert len(builds) == 1


def test_bad_corpus_gets_a_clear_error(tmp_path):
    with pytest.raises(QAError, match="corpus folder not found"):
        build_index(tmp_path / "missing", tmp_path / "i", HashEmbedder())
    (tmp_path / "empty").mkdir()
    with pytest.raises(QAError, match="no .txt or .md files"):
        build_index(tmp_path / "empty", tmp_path / "i", HashEmbedder())
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.txt").write_bytes(b"caf\xe9 au lait")
    with pytest.raises(QAError, match="not UTF-8"):
        build_index(bad, tmp_path / "i", HashEmbedder())


def test_any_folder_works_and_metadata_is_optional(tmp_path):
    c = tmp_path / "mydocs"
    c.mkdir()
    (c / "notes on bees.md").write_text("# Bees\n\nHoney bees live in hives. A hive has one queen.\n", encoding="utf-8")
    (c / "ants.txt").write_text("Ants live in colonies.\n", encoding="utf-8")
    build_index(c, tmp_path / "i", HashEmbedder())
    idx = load_index(tmp_path / "i")
    assert set(idx.documents) == {"notes-on-bees", "ants"}
    assert idx.documents["notes-on-bees"].title == "Bees"
    assert idx.documents["ants"].source == str(c / "ants.txt")


def test_a_folder_that_is_not_an_index_is_never_replaced(tmp_path):
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "precious.txt").write_text("do not delete", encoding="utf-8")
    with pytest.raises(QAError, match="is not an index"):
        build_index(CORPUS, mine, HashEmbedder())
    assert (mine / "precious.txt").read_text(encoding="utf-8") == "do not delete"
    empty = tmp_path / "empty"
    empty.mkdir()
    build_index(CORPUS, empty, HashEmbedder())  # an empty folder may become the index
    assert load_index(empty).documents
