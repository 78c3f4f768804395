"""qa.index.lexicon: what the corpus ever says, with the spelling variants a name takes; stored and checked like every artefact."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from qa.errors import IndexProblem
from qa.index.lexicon import LEXICON_DIR, PAIRS_FILE, STEMS_FILE, Lexicon, attach, build, pair_key, skeleton
from qa.types import Document

TEXT = ("Hafiz Saeed Khan led Wilayat Khorasan from 2015. The Pakistani Taliban and Tehreek-e-Taliban "
        "fought in Bajaur. Bismarck met the Daesh envoys.")


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    return Lexicon.of_texts([TEXT])


def test_a_stem_is_known_exactly_and_an_absent_one_is_not(lex):
    assert lex.has("bajaur") and lex.variants("bajaur") == ("bajaur",)
    assert not lex.has("zarb") and lex.variants("zarb") == ()


def test_transliterations_meet_by_their_consonants(lex):
    assert skeleton("hafiz") == skeleton("hafez") == "hfz"
    assert lex.variants("hafez") == ("hafiz",)
    assert lex.variants("tehrik") == ("tehreek",)
    assert lex.variants("daish") == ("daesh",)


def test_a_root_a_few_letters_longer_or_shorter_is_the_same_name(lex):
    assert "pakistani" in lex.variants("pakistan")
    assert lex.variants("khorasani") == ("khorasan",)


def test_a_one_letter_misspelling_of_a_long_word_is_found_but_a_short_word_is_not_guessed(lex):
    assert lex.variants("bismark") == ("bismarck",)
    assert lex.variants("baj") == ()  # too short to guess at


def test_a_name_must_have_its_words_together(lex):
    assert lex.phrase_together(["wilayat", "khorasan"])
    assert lex.phrase_together(["hafiz", "khan"])  # one word apart ("Hafiz Saeed Khan")
    assert not lex.phrase_together(["wilayat", "bajaur"])  # each occurs, never as one name


def test_pair_keys_are_stable_across_processes():
    # the build and a later question must agree: a salted hash() would not
    assert pair_key("wilayat", "khorasan") == 18200666571387882738


def _doc(text):
    return Document(doc_id="d", source="d.txt", text=text, title="A report", date="2023-08-01")


def test_the_stored_lexicon_reads_back_and_holds_the_documents_metadata(tmp_path):
    build(tmp_path, [_doc("Wilayat Khorasan was announced.")])
    idx = SimpleNamespace(path=tmp_path, lexicon=None)
    attach(idx)
    got = idx.lexicon
    assert got.has("khorasan") and got.has("2023") and got.has("report")  # the date and title count as said
    assert got.pairs.dtype == np.uint64 and list(got.pairs) == sorted(got.pairs)


@pytest.mark.parametrize("damage", ["settings", "stems", "pairs"])
def test_a_damaged_or_foreign_lexicon_is_refused_by_name(tmp_path, damage):
    build(tmp_path, [_doc("Wilayat Khorasan.")])
    d = tmp_path / LEXICON_DIR
    if damage == "settings":
        data = json.loads((d / STEMS_FILE).read_text())
        (d / STEMS_FILE).write_text(json.dumps({**data, "version": 999}))
    elif damage == "stems":
        (d / STEMS_FILE).write_text("{not json")
    else:
        np.save(d / PAIRS_FILE, np.zeros(3, dtype=np.float32), allow_pickle=False)
    idx = SimpleNamespace(path=tmp_path, lexicon=None)
    with pytest.raises(IndexProblem, match="lexicon"):
        attach(idx)
