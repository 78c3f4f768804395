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
