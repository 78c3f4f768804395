"""qa.answer.question: the expected answer type, head noun, plural heads and an alternative question's options."""
from __future__ import annotations

import pytest
from qa.answer.question import analyse_question


@pytest.mark.parametrize("question,expected", [
    ("Who led Wilayat Khorasan?", "person"),
    ("Which group claimed the attack?", "organisation"),
    ("Which militant organisation did he belong to?", "organisation"),
    ("How many fighters does IS-K have in Pakistan?", "number"),
    ("How many Pakistanis sat on the shura?", "number"),
    ("In what month and year was the branch announced?", "date"),
    ("When did the attack happen?", "date"),
    ("What year was the brief published?", "date"),
    ("Where did the bombing take place?", "place"),
    ("In which city was the cell based?", "place"),
    ("Which Islamabad mosque is a meeting point for extremists?", "place"),
    ("How much were militants paid to join?", "money"),
    ("What percentage of the members were Pakistani?", "percent"),
    ("Why does LeT oppose attacks inside Pakistan?", "reason"),
    ("What is the title of the video?", "title"),
    ("Which countries does the Khorasan region include?", "list"),
    ("What did the video urge Muslims to do?", "description"),
    ("Did ISIS claim the Quetta hospital attack?", "yes/no"),
    ("Is IS-K active in Pakistan?", "yes/no"),
    ("Do you know what the National Action Plan is?", "description"),  # asks what, not whether
    ("Can you tell me who led the branch?", "person"),
    ("Does the group pay its fighters when they are not fighting?", "yes/no"),  # "when" joins clauses
    ("Is its influence stronger in Afghanistan or Pakistan?", "description"),  # an alternative: options
])
def test_expected_answer_type_from_question_word_and_head_noun(question, expected):
    assert analyse_question(question).answer_type == expected


def test_head_noun_and_time_sensitivity():
    a = analyse_question("How many of the members of the council were Pakistanis?")
    assert a.answer_type == "number" and a.head == "pakistanis" and a.time_sensitive
    assert analyse_question("Who leads IS-K?").time_sensitive
    assert not analyse_question("Where did the bombing take place?").time_sensitive


@pytest.mark.parametrize("question,wants", [
    ("What measures should a comprehensive response include?", True),
    ("What local goals does the TTP pursue?", True),
    ("What 'push' factors drove local militants to switch?", True),
    ("Which countries does the Khorasan region include?", True),  # typed plural head: a list
    ("Which men led the attack?", True),
    ("What headquarters did the group use?", False),
    ("What is the National Action Plan?", False),
    ("What did the video urge Muslims to do?", False),
    ("What happened to the survey maps?", False),
    ("What Islamic State propaganda was found?", False),  # "State" is part of a name
    ("Who led Wilayat Khorasan?", False),
])
def test_a_plural_head_noun_asks_for_a_list(question, wants):
    assert analyse_question(question).wants_list is wants


@pytest.mark.parametrize("question,options", [
    ("Is the Islamic State's influence stronger in Afghanistan or Pakistan?", ("Afghanistan", "Pakistan")),
    ("Were the experiments high-voltage or low-voltage?", ("high-voltage", "low-voltage")),
    ("Is punishment increasing or declining in the South?", ("increasing", "declining")),
    ("Would opportunities be the same in each subject, or would they vary?", ()),  # not two answers
    ("Did the cell have links to ISIS?", ()),
    ("Who founded or led the branch?", ()),  # a wh-question: "or" joins verbs, not answers
])
def test_alternative_questions_name_their_options(question, options):
    assert analyse_question(question).options == options


@pytest.mark.parametrize("question", [
    "What method did the company use to adopt ASC 606?",  # not an organisation: "company" is the subject
    "What Mongolian system did Kublai's government compromise with?",
])
def test_the_nouns_after_the_verb_are_the_subject_not_the_answers_type(question):
    assert analyse_question(question).answer_type == "description"


def test_a_typed_noun_before_the_verb_still_types_the_question():
    assert analyse_question("What year did the company adopt ASC 606?").answer_type == "date"
    assert analyse_question("Which group did the bombers belong to?").answer_type == "organisation"
