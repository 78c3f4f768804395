"""qa.index.aliases: the user's alias groups and the acronyms a corpus defines itself."""
from __future__ import annotations

import pytest
from qa.index.aliases import AliasTable, corpus_acronyms
from qa.ingest.corpus import load_corpus
from qa.neural.embedding import HashEmbedder
from qa.index.load import load_index
from qa.index.build import build_index
from conftest import CORPUS


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory):
    d = tmp_path_factory.mktemp("fake") / "index"
    build_index(CORPUS, d, HashEmbedder())
    return load_index(d)


def test_aliases_expand_questions_and_acronyms_come_from_the_corpus(fake_index):
    acr = dict((s, l) for l, s in corpus_acronyms(load_corpus(CORPUS)))
    assert acr["TTP"] == "Tehreek-e-Taliban Pakistan" or acr["TTP"] == "Tehrik-e-Taliban Pakistan"
    assert acr["LeT"] == "Lashkar-e-Taiba"
    table = AliasTable.from_index(fake_index)
    expanded = table.expand("Who led ISKP?")
    assert "Wilayat Khorasan" in expanded and "IS-K" in expanded
    # "is" the verb is not the acronym IS
    assert table.expand("What is this?") == "What is this?"
    assert table.canonical("hafiz saeed khan") == "Hafez Saeed Khan"
