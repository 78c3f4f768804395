"""qa.answer.typecheck: which questions need a typed answer, and whether a span has that type."""
from __future__ import annotations

import pytest

from qa.answer.question import analyse_question
from qa.answer.typecheck import has_type, needed_type


@pytest.mark.parametrize("question,needed", [
    ("How many people were killed in the attack?", "number"),
    ("How much money did the bank robberies raise?", "money"),
    ("What percentage of the members were Pakistanis?", "percent"),
    ("When did the Islamic State announce its Khorasan province?", "date"),
    ("In what year was the branch founded?", "date"),
    ("Who led Wilayat Khorasan?", "person"),
    ("Who carried out the Bajaur attack?", "person"),  # a person or an organisation
    ("Which IS-K commander narrated the video?", "someone"),  # a person, not their organisation
    ("Who succeeded Hafiz Saeed Khan as leader?", "someone"),
    # not checked: answered in words too often, or the "when" is not what is asked
    ("How long did the siege last?", None),
    ("When a pathogen is eaten by a phagocyte, what vesicle traps it?", None),
    ("What is the minimum amount of time before a bill can go into law?", None),
    ("Why did IS-K attack the JUI-F?", None),
])
def test_the_type_a_question_needs(question, needed):
    assert needed_type(analyse_question(question)) == needed


def span(text, *ents):
    """(needed, text, start, end, ents) for a span that starts at 0, entities given as (word, label)."""
    out = []
    for word, label in ents:
        i = text.index(word)
        out.append((i, i + len(word), label))
    return text, 0, len(text), out


@pytest.mark.parametrize("needed,args,ok", [
    ("number", span("forty-two berths"), True),
    ("number", span("several hundred"), True),
    ("number", span("1,500", ("1,500", "CARDINAL")), True),
    ("number", span("criminal activities"), False),
    ("number", span("the National Action Plan", ("National Action Plan", "ORG")), False),
    ("money", span("$2 million"), True),
    ("money", span("Rs 500 million"), True),
    ("money", span("15", ("15", "CARDINAL")), False),
    ("money", span("3,400 crowns"), True),
    ("percent", span("40 percent"), True),
    ("percent", span("40"), False),
    ("date", span("August 8", ("August 8", "DATE")), True),
    ("date", span("the late 1990s"), True),
    ("date", span("Bajaur", ("Bajaur", "GPE")), False),
    ("person", span("Hafiz Saeed Khan", ("Hafiz Saeed Khan", "PERSON")), True),
    ("person", span("Abtal-ul-Islam", ("Abtal-ul-Islam", "LAW")), True),  # spaCy's labels on names are noisy
    ("person", span("the police"), True),
    ("person", span("Al-Azaim Foundation", ("Al-Azaim Foundation", "ORG")), True),
    ("person", span("Pakistan and Afghanistan", ("Pakistan", "GPE"), ("Afghanistan", "GPE")), False),
    ("person", span("criminal activities"), False),
    ("someone", span("Al-Azaim Foundation", ("Al-Azaim Foundation", "ORG")), False),
    ("someone", span("his brother"), True),
    ("someone", span("Tehrik-e-Taliban militant, was appointed local leader", ("Tehrik", "ORG")), False),
])
def test_a_span_has_the_needed_type(needed, args, ok):
    assert has_type(needed, *args) is ok


@pytest.mark.parametrize("text,is_vague", [
    ("dozens", True), ("dozens of people", True), ("several hundred", True), ("tens of thousands", True),
    ("hundreds", True), ("many", True),
    ("97", False), ("at least 97", False), ("forty-five", False), ("a hundred", False), ("some 300 fighters", False),
    ("the majority", False),
])
def test_a_vague_quantity_says_a_lot_without_a_figure(text, is_vague):
    from qa.answer.typecheck import vague

    assert vague(text) is is_vague


def _groups(*specs):
    """Groups of one candidate each: (text, document, sentence row)."""
    from types import SimpleNamespace

    from qa.answer.candidates import Candidate
    from qa.answer.grouping import Group

    out = []
    for i, (text, doc, row) in enumerate(specs):
        c = Candidate(text, 0, len(text), "CARDINAL", SimpleNamespace(doc_id=doc, row=row), 0.5, 0, 5.0 - i)
        out.append(Group(text, [c], 5.0 - i, 0.6))
    return out


@pytest.mark.parametrize("specs,first", [
    # "... where dozens of people were gathered. A suicide bomber ..., killing at least 97 people."
    ((("dozens", "a", 10), ("forty-five", "a", 30), ("97", "a", 11)), "97"),
    ((("dozens", "a", 10), ("97", "a", 10)), "97"),  # in the same sentence
    ((("dozens", "a", 10), ("forty-five", "a", 30)), "dozens"),  # a figure far away may count something else
    ((("dozens", "a", 10), ("97", "b", 11)), "dozens"),  # ... as may one in another document
    ((("dozens", "a", 10), ("hundreds", "a", 11)), "dozens"),  # no figure, only another vague quantity
    ((("45", "a", 10), ("97", "a", 11)), "45"),  # a figure first stays first
])
def test_a_counting_answer_prefers_the_figure_beside_a_vague_quantity(specs, first):
    from qa.answer.typecheck import figures_first

    groups = _groups(*specs)
    got = figures_first(groups)
    assert got[0].best.text == first and sorted(g.key for g in got) == sorted(g.key for g in groups)


def test_how_many_died_is_answered_with_the_figure_in_the_next_sentence(tmp_path):
    import dataclasses

    from support import build_fake, fake_answerer, never_decline, write_corpus

    docs = {"ward.txt": "The hospital attack\n\nThe bombers targeted the emergency ward of the city hospital, where dozens "
                        "of people had gathered to mourn a lawyer. A suicide bomber detonated a bomb in the crowd, "
                        "killing at least 97 people.\n"}
    build_fake(write_corpus(tmp_path / "c", docs), tmp_path / "i")
    a = fake_answerer(tmp_path / "i")
    question = "How many people died in the attack on the hospital?"
    on = a.with_settings(spans=dataclasses.replace(a.spans, figures_first=True), answer=never_decline())
    assert on.ask(question).answer == "at least 97"
    off = a.with_settings(spans=dataclasses.replace(a.spans, figures_first=False), answer=never_decline())
    assert off.ask(question).answer == "dozens"  # what the rule changes
