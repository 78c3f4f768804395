"""qa.answer.conflicts: the chosen answer's anchor among the entity groups."""
from __future__ import annotations

import pytest

from qa.index.aliases import AliasTable
from qa.answer.candidates import Candidate
from qa.answer.conflicts import anchor, rivals
from qa.answer.grouping import Group, Keys
from qa.settings import load_tuned


def test_a_reader_span_around_a_number_is_anchored_on_the_first_number_inside_it():
    from types import SimpleNamespace

    def cand(text, doc, start, score=4.0):
        return Candidate(text, start, start + len(text), "CARDINAL", SimpleNamespace(doc_id=doc), 0.5, 0, score, key=text)

    span = Group("11 of 12", [cand("11 of the 12", "a", 100)], 5.0, 0.6)
    eleven, twelve, nine = (Group("11", [cand("11", "a", 100)], 4.6, 0.6), Group("12", [cand("12", "a", 110, 4.9)], 4.9, 0.6),
                            Group("9", [cand("nine", "b", 50)], 4.0, 0.6))
    entity = [twelve, eleven, nine]
    assert anchor(span, entity, value=True) is eleven  # the first inside, not the best-scored
    assert anchor(span, entity, value=False) is None  # names are anchored only by the same key
    assert anchor(Group("9", [cand("nine", "b", 50)], 4.0, 0.6), entity, value=True) is nine


@pytest.mark.parametrize("rival_text,rival_score,want", [
    ("The attack in May 2015 killed 45 people.", 4.5, ["45"]),  # close in score: a rival
    ("The attack in May 2015 killed 45 people.", 3.5, ["45"]),  # weaker, but the same frame ("May 2015")
    ("The attack killed 45 people, police said.", 3.5, []),  # weaker and no shared frame
    ("The attack in May 2015 killed 42 people.", 4.5, []),  # the same value is agreement, not conflict
    ("It was founded in 1990.", 4.5, []),  # a year against a count is another question
])
def test_a_rival_value_needs_credible_evidence_in_another_document(rival_text, rival_score, want):
    from types import SimpleNamespace

    texts = {"a": "In May 2015 gunmen killed forty-two people in Karachi.", "b": rival_text}

    def ents(t):
        out = []
        for v, lab in (("May 2015", "DATE"), ("forty-two", "CARDINAL"), ("45", "CARDINAL"), ("42", "CARDINAL"),
                       ("1990", "DATE")):
            if v in t:
                out.append((t.index(v), t.index(v) + len(v), lab))
        return tuple(out)

    index = SimpleNamespace(documents={d: SimpleNamespace(text=t) for d, t in texts.items()})
    keys = Keys(AliasTable([]))

    def group_of(doc, value, score):
        t = texts[doc]
        sent = SimpleNamespace(doc_id=doc, ents=ents(t))
        c = Candidate(value, t.index(value), t.index(value) + len(value), "CARDINAL", sent, 0.5, 0, score,
                      key=keys(value), features={"prox": 1.0, "type": 1.0})
        return Group(c.key, [c], score, 0.6)

    best = group_of("a", "forty-two", 5.0)
    value = next(v for v in ("45", "42", "1990") if v in rival_text)
    found = rivals(index, keys, best, [best, group_of("b", value, rival_score)], load_tuned().answer)
    assert [c.text for _, c in found] == want


# three things' costs, each in its own document: no two sources disagree about one thing
COSTS = {
    "bridge.txt": "The Tay Bridge\n\nThe restoration of the Tay Bridge in Dundee cost 48 million euros and took four years.\n",
    "museum.txt": "The Kelvin Museum\n\nThe restoration of the Kelvin Museum in Glasgow cost 6.5 million pounds and took two years.\n",
    "observatory.txt": "The Kell Observatory\n\nThe restoration of the Kell Observatory in Perth cost 2.3 million pounds "
                       "and took a year.\n",
}
# two accounts of one attack, the second naming its place only in the sentence before its figure
ATTACK = {
    "first.txt": "The Karachi attack\n\nIn May 2015 gunmen killed forty-two people on a bus in Karachi.\n",
    "second.txt": "The bus attack\n\nThe attack hit a bus of workers in Karachi. In May 2015 forty-five people died in it.\n",
}
# ... and an attack somewhere else
ELSEWHERE = {**ATTACK, "second.txt": ATTACK["second.txt"].replace("Karachi", "Lahore")}


def _answerer(tmp_path, docs, same_subject: bool):
    import dataclasses

    from support import build_fake, fake_answerer, never_decline, write_corpus

    build_fake(write_corpus(tmp_path / "c", docs), tmp_path / "i")
    a = fake_answerer(tmp_path / "i")
    return a.with_settings(answer=dataclasses.replace(never_decline(), same_subject_conflicts=same_subject))


def test_the_costs_of_three_different_things_are_no_disagreement(tmp_path):
    question = "How much did the restoration cost?"
    a = _answerer(tmp_path, COSTS, same_subject=True)
    ans = a.ask(question)
    assert ans.answer and not ans.conflicts and not any("disagree" in n for n in ans.notes), ans.to_dict()
    # the rule is what holds them apart: without it the museum's and the observatory's costs "disagree"
    before = _answerer(tmp_path, COSTS, same_subject=False).ask(question)
    assert len(before.conflicts) >= 2


@pytest.mark.parametrize("docs,shown", [(ATTACK, True), (ELSEWHERE, False)])
def test_a_rival_is_a_conflict_when_its_sentence_or_the_one_before_names_the_same_thing(tmp_path, docs, shown):
    question = "How many people were killed in the May 2015 attack in Karachi?"
    ans = _answerer(tmp_path, docs, same_subject=True).ask(question)
    assert ({c.value.lower() for c in ans.conflicts} == {"forty-two", "forty-five"}) is shown, ans.to_dict()
    before = _answerer(tmp_path, docs, same_subject=False).ask(question)
    assert {c.value.lower() for c in before.conflicts} == {"forty-two", "forty-five"}  # both, without the rule


@pytest.mark.parametrize("docs,question", [
    (COSTS, "How much did the restoration cost?"),
    (ATTACK, "How many people were killed in the May 2015 attack in Karachi?"),
    (ELSEWHERE, "How many people were killed in the May 2015 attack in Karachi?"),
])
@pytest.mark.parametrize("same_subject", [True, False])
def test_a_shown_conflict_never_sits_beside_fewer_sources_than_it_cites(tmp_path, docs, question, same_subject):
    ans = _answerer(tmp_path, docs, same_subject).ask(question)
    cited = {c.n: c.doc_id for c in ans.citations}
    conflicting = {cited[n] for x in ans.conflicts for n in x.citations}
    assert 1 <= ans.agreeing <= ans.considered
    assert ans.considered >= len(conflicting)
    if ans.conflicts:  # the rival values' documents do not agree, so fewer agree than are considered
        assert ans.agreeing < ans.considered


@pytest.mark.parametrize("a,b,same", [
    (("wilayat", "khorasan"), ("khorasan",), True),  # a name and its last word
    (("pakistani",), ("pakistan",), True),  # a demonym and its country
    (("hafiz", "saeed", "khan"), ("khan",), True),
    (("universiti", "chicago", "librari"), ("universiti",), False),  # a first word names nothing in particular
    (("riversid",), ("vistula", "river"), False),  # a longer word is another word
    (("harvard", "librari"), ("universiti", "chicago", "librari"), False),
])
def test_two_names_are_the_same_when_one_is_the_others_last_words(a, b, same):
    from qa.answer.conflicts import same_name

    assert same_name(a, b) is same and same_name(b, a) is same


def test_sources_considered_counts_every_document_a_conflict_cites():
    from qa.answer.conflicts import sources_considered

    assert sources_considered(["a"], [], ["a", "b"]) == 2  # "1 of 2", never "1 of 1", beside a conflict
    assert sources_considered(["a", "b"], ["b", "c"], []) == 3


@pytest.mark.model
def test_the_leadership_council_conflict_counts_both_sources(real_answerer):
    # "11 of the 12" against "nine Pakistanis": each from its own document, so not "1 of 1 sources agree"
    a = real_answerer.ask("How many of the members of the Khorasan branch's leadership council were Pakistanis?")
    assert {c.value.lower() for c in a.conflicts} >= {"nine", "11"}
    assert a.considered >= 2 and a.agreeing < a.considered
