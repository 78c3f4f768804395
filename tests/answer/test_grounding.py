"""qa.answer.grounding: a question's salient terms, and which of them the corpus never mentions (named in the reply)."""
from __future__ import annotations

import pytest

from qa.index.aliases import AliasTable
from qa.answer.grounding import Term, decline_text, ground, salient_terms, unsupported
from qa.index.lexicon import Lexicon

CORPUS = ["Hafiz Saeed Khan, a former Tehrik-e-Taliban Pakistan commander, led Wilayat Khorasan from 2015.",
          "Attacks in Sindh and Balochistan were funded by bank robberies.",
          "The Islamic State's Khorasan Province (ISKP) claimed the Bajaur attack in July."]


@pytest.fixture(scope="module")
def lex():
    return Lexicon.of_texts(CORPUS)


@pytest.mark.parametrize("question,terms", [
    ("In which year did Pakistan's army launch Operation Zarb-e-Azb?", ["Pakistan", "Operation Zarb-e-Azb"]),
    ("Who took over the Islamic State's Khorasan branch after Hafiz Saeed Khan?",
     ["Islamic State", "Khorasan", "Hafiz Saeed Khan"]),
    # sentence case is no name; "IS-K" has no stems BM25 keeps ("is" is a stop word), so nothing to check
    ("Roughly how many fighters did IS-K have in 2023?", ["2023"]),
    ("Who won the 2018 FIFA World Cup?", ["FIFA World Cup", "2018"]),
    ("Which refugees went to Britain and North America?", ["Britain", "North America"]),  # "and" parts two names
    ("What did the video “Rise of the Khilafah” urge?", ["Rise of the Khilafah"]),
    ("Which group is al-Qaeda's rival, not the pro-ISIS cells?", ["al-Qaeda"]),
    ("What is located on the site of The Weaving House?", ["Weaving House"]),
    ("how many people died?", []),
])
def test_salient_terms_are_names_figures_and_quoted_titles(question, terms):
    assert [t.text for t in salient_terms(question)] == terms


def test_a_name_the_corpus_never_uses_is_named_whole_not_by_the_words_it_lacks(lex):
    g = ground("In which year did Pakistan's army launch Operation Zarb-e-Azb?", Lexicon.of_texts(CORPUS + ["Pakistan's army began an operation."]))
    assert g.absent == ("Operation Zarb-e-Azb",) and not g.grounded


# "World", "Lashkar-e-Jhangvi", "Hafiz" and "Khan" occur; "Cup", "al-Alami" and "Saeed" do not
PARTLY = ["The World Bank funded the stadium.", "Lashkar-e-Jhangvi split in 2012.", "Hafiz Khan led the group."]


@pytest.mark.parametrize("question,absent", [
    ("Who won the World Cup?", ("the World Cup",)),
    ("What did Lashkar-e-Jhangvi al-Alami claim?", ("Lashkar-e-Jhangvi al-Alami",)),  # hyphenated words
    ("Who was Hafiz Saeed Khan's deputy?", ("Hafiz Saeed Khan",)),  # the name, without its possessive
    ("What did the video “Rise of the Khilafah” urge?", ("“Rise of the Khilafah”",)),  # a title in its quotes
    ("Was Lashkar-e-Jhangvi al-Alami in the World Cup?", ("Lashkar-e-Jhangvi al-Alami", "the World Cup")),
])
def test_a_missing_term_is_named_whole_as_the_question_writes_it(question, absent):
    g = ground(question, Lexicon.of_texts(PARTLY))
    assert g.absent == absent
    assert decline_text(g.absent) == "The documents never mention " + " or ".join(absent) + "."


@pytest.mark.parametrize("question,absent", [
    ("The World Cup was won by whom?", ("the World Cup",)),  # capitalised as the sentence's first word
    ("When did the World Cup take place?", ("the World Cup",)),
    ("Who founded the World Cup's youth team?", ("the World Cup",)),
    ("Who won the World Cup final?", ("World Cup",)),  # the "the" is the final's
    ("What is on the site of The Weaving House?", ("The Weaving House",)),  # capitalised as the title's
    ("How many died in the 2019 attack?", ("2019",)),
])
def test_a_missing_name_keeps_the_the_it_takes(question, absent):
    assert ground(question, Lexicon.of_texts(PARTLY)).absent == absent


def test_words_that_occur_but_never_together_are_not_the_name(lex):
    assert ground("Who led Wilayat Sindh?", lex).absent == ("Wilayat Sindh",)
    assert ground("Who led Wilayat Khorasan?", lex).grounded


def test_spelling_variants_and_aliases_count_as_mentioned(lex):
    assert ground("Who was Hafez Saeed Khan?", lex).grounded  # Hafiz in the corpus
    aliases = AliasTable([["Daesh Khorasan", "ISKP"]])
    assert not ground("What did Daesh Khorasan claim?", lex).grounded
    assert ground("What did Daesh Khorasan claim?", lex, aliases).grounded


def test_weak_absences_are_not_declined_on(lex):
    # a user's own short acronym, and an adjective joining words the corpus has apart
    assert ground("What did the PO decide about Bajaur?", lex).grounded
    assert ground("Which Pakistani Khorasan commander led?", lex).grounded
    assert ground("Did the Islamic Pakistani Bajaur cell exist?", lex).grounded  # the adjective need not open it


def test_a_name_written_as_one_word_or_two_is_the_same_name():
    lex = Lexicon.of_texts(["AppleTalk ran over the User Datagram Protocol."])
    assert ground("What was Apple Talk?", lex).grounded
    assert ground("What does UserDatagram Protocol guarantee?", lex).grounded


def test_a_figure_must_occur_exactly(lex):
    assert ground("Who led Wilayat Khorasan in 2015?", lex).grounded
    assert ground("Who led Wilayat Khorasan in 2016?", lex).absent == ("2016",)


def test_no_lexicon_means_every_term_counts_as_mentioned():
    assert ground("Who led Wilayat Sindh?", None).grounded


def test_unsupported_is_the_share_of_terms_a_text_lacks(lex):
    terms = (Term("Bajaur", "name", ("bajaur",)), Term("Hafez", "name", ("hafez",)))
    assert unsupported(terms, {"bajaur"}, lex) == 0.5
    assert unsupported(terms, {"bajaur", "hafiz"}, lex) == 0.0  # the variant the corpus uses
    assert unsupported((), set(), lex) == 0.0
    assert unsupported((Term("Hafiz Saeed Khan", "name", ("hafiz", "saeed", "khan")),), {"khan"}, lex) == 0.0
    # another name of the term's alias group holds it
    ks = (Term("Khorasan Shura", "name", ("khorasan", "shura")),)
    assert unsupported(ks, {"leadership", "council"}, lex) == 1.0
    assert unsupported(ks, {"leadership", "council"}, lex, AliasTable([["Khorasan Shura", "leadership council"]])) == 0.0


def test_the_reply_names_the_missing_terms():
    assert decline_text(("Zarb-e-Azb",)) == "The documents never mention Zarb-e-Azb."
    assert decline_text(("FIFA World Cup", "2018")) == "The documents never mention FIFA World Cup or 2018."
    assert decline_text(tuple("ABCDE")).endswith("A, B, C or 2 other term(s) of the question.")


def test_a_source_the_question_names_is_no_salient_term():
    """Where a fact was read is not what it is about: a page seldom names its own publisher, so "according
    to ScienceAlert" must not decline a question the page answers."""
    from qa.answer.grounding import salient_terms

    def names(q):
        return [t.text for t in salient_terms(q)]

    assert names("How many flybys of Europa will NASA make, according to ScienceAlert?") == ["Europa", "NASA"]
    assert names("What did the Reuters report say about WeWork?") == ["WeWork"]
    assert names("How long is the play, according to a KLOOK reviewer?") == []
    assert names("According to Dawn, who led Wilayat Khorasan?") == ["Wilayat Khorasan"]
    # a person a question quotes is part of the fact, not its source
    assert "Gilgit-Baltistan" in names("How many had left, according to a Gilgit-Baltistan government official?")
