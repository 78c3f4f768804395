"""qa.evaluation.bench.squad_data: the SQuAD files checked at load, and their articles written as a corpus."""
from __future__ import annotations

import gzip
import json

import pytest

from qa.evaluation.bench import squad_data
from qa.errors import QAError


def test_article_text_keeps_paragraph_offsets():
    ctxs = ["First paragraph.", "Second\nparagraph with a line break.", " Third, with a leading space. "]
    text, spans = squad_data.article_text("Some_Title", ctxs)
    assert text.startswith("Some Title\n\n")
    for c, (s, e) in zip(ctxs, spans):
        assert text[s:e] == c.replace("\n", " ")
    assert "\n\n\n" not in text and text.endswith("\n")


def test_load_squad_verifies_the_sha256(tmp_path):
    data = squad_data.load_squad("2.0")
    assert len(data.titles) == 16 and len(data.questions) == 6078
    assert sum(q.impossible for q in data.questions) == 3168
    assert data.path.parent == squad_data.BENCH_DIR  # the project's copy, never ../shared
    name = squad_data.SQUAD_FILES["2.0"][0]
    raw = json.loads(gzip.decompress((squad_data.BENCH_DIR / name).read_bytes()))
    raw["data"][0]["title"] = "Tampered"
    (tmp_path / name).write_bytes(gzip.compress(json.dumps(raw).encode()))
    with pytest.raises(QAError, match="sha256"):
        squad_data.load_squad("2.0", bench_dir=tmp_path)
    with pytest.raises(QAError, match="not found"):
        squad_data.load_squad("1.1", bench_dir=tmp_path)
    with pytest.raises(QAError, match="unknown SQuAD version"):
        squad_data.load_squad("3.0")


def test_benchmark_readme_carries_the_licence():
    text = (squad_data.BENCH_DIR / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in text and "Rajpurkar" in text
    for name, sha in squad_data.SQUAD_FILES.values():
        assert name in text and sha in text


def test_write_corpus_is_stable_and_restricted(tmp_path):
    data = squad_data.load_squad("2.0")
    folder = tmp_path / "corpus"
    docs = squad_data.write_corpus(data, [0], folder)
    assert [p.name for p in sorted(folder.glob("*.txt"))] == [f"{docs[0][0]}.txt"]
    first = (folder / f"{docs[0][0]}.txt").stat().st_mtime_ns
    from qa.ingest.corpus import corpus_hash, load_corpus

    h = corpus_hash(folder)
    squad_data.write_corpus(data, [0], folder)
    assert corpus_hash(folder) == h and (folder / f"{docs[0][0]}.txt").stat().st_mtime_ns == first
    (doc,) = load_corpus(folder)
    assert doc.doc_id == docs[0][0] and doc.title == "Normans"
    for ctx, (s, e) in zip(data.paragraphs[0], docs[0][1]):
        assert doc.text[s:e] == ctx.replace("\n", " ")
