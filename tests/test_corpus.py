"""qa.corpus: reading a folder of documents, its metadata and example questions."""
from __future__ import annotations

from conftest import CORPUS
import json
import pytest
from qa.embedding import HashEmbedder
from qa.errors import QAError
from qa.index import build_index, load_index


def test_example_questions_come_from_the_corpus_metadata_and_bad_ones_are_refused(tmp_path):

    import pytest

    from qa.corpus import MAX_EXAMPLES, read_examples
    from qa.errors import QAError

    assert read_examples(CORPUS)[0] == "Who led Wilayat Khorasan?"  # the bundled corpus offers its own
    (tmp_path / "a.txt").write_text("Some text.\n", encoding="utf-8")
    assert read_examples(tmp_path) == []  # no metadata: no examples, nothing built in
    meta = tmp_path / "metadata.json"
    meta.write_text(json.dumps({"documents": {}}), encoding="utf-8")
    assert read_examples(tmp_path) == []
    meta.write_text(json.dumps({"examples": [" When was the contract signed? ", "When was the contract signed?",
                                             "Who may end it?"]}), encoding="utf-8")
    assert read_examples(tmp_path) == ["When was the contract signed?", "Who may end it?"]
    for bad in ("a question", ["ok?", 3], ["ok?", ""], ["x" * 201], ["q?"] * (MAX_EXAMPLES + 1)):
        meta.write_text(json.dumps({"examples": bad}), encoding="utf-8")
        with pytest.raises(QAError, match="examples|example"):
            read_examples(tmp_path)
    meta.write_text("{broken", encoding="utf-8")
    with pytest.raises(QAError, match="not valid JSON"):
        read_examples(tmp_path)


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
