"""qa.answer.spans: trimmed edges, whole entities, enumerations and list runs, on hand-made text."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("text,want", [
    ("“To the Muslims in the Land of Muhammad bin Qasim,", "To the Muslims in the Land of Muhammad bin Qasim,"),
    ("“To the Muslims,” he said", "“To the Muslims,” he said"),  # the pair is inside: kept
    ("the Pakistani Taliban (TTP)", "the Pakistani Taliban (TTP)"),
    ("Tehrik-e-Taliban Pakistan)", "Tehrik-e-Taliban Pakistan"),
    ('"a bank robbery', "a bank robbery"),
    ('"a bank robbery"', '"a bank robbery"'),
    (" , — the militants’ ", "the militants’"),  # a possessive apostrophe is not a quote
    ("“", ""),
])
def test_a_span_loses_edge_spaces_and_quote_marks_whose_partner_is_outside_it(text, want):
    from qa.answer.spans import trim_span

    s, e = trim_span(text, 0, len(text))
    assert text[s:e] == want


@pytest.mark.parametrize("answer_type,span,want", [
    ("date", (12, 13), (3, 13)),  # "2" of "December 2" grows to the date
    ("date", (3, 13), (3, 13)),
    ("number", (12, 13), (12, 13)),  # a number question keeps the bare number
    ("date", (15, 17), (15, 17)),  # a number outside any date stays
])
def test_a_bare_day_inside_a_date_grows_to_the_whole_date(answer_type, span, want):
    from qa.answer.spans import whole_entity

    text = "on December 2, 12 gunmen"
    assert whole_entity(answer_type, text, *span, [(3, 13, "DATE"), (15, 17, "CARDINAL")]) == want


@pytest.mark.parametrize("span,following,opens", [
    ("for two key reasons", "First, TTP has strong ties to the Afghan Taliban.", True),
    ("three main factors which will determine the future", "The first factor is linked to security.", True),
    ("for two key reasons", "Firstly, the group was short of money.", True),
    ("several reasons", "One reason is the money.", True),
    ("for two key reasons", "TTP has strong ties to the Afghan Taliban.", False),  # no enumeration follows
    ("the Afghan Taliban", "First, TTP has strong ties to the Afghan Taliban.", False),  # names a thing: an answer
    ("twelve members", "First, nine were Pakistanis.", False),  # a count of people is an answer
])
def test_a_span_that_announces_an_enumeration_answers_with_the_sentence_that_opens_it(span, following, opens):
    from types import SimpleNamespace

    from qa.answer.spans import enumeration_start

    sents = [SimpleNamespace(doc_id="a", row=0, text="The group has refrained from it " + span + "."),
             SimpleNamespace(doc_id="a", row=1, text=following)]
    assert (enumeration_start(sents, sents[0], span) is sents[1]) is opens
    other_doc = [sents[0], SimpleNamespace(doc_id="b", row=1, text=following)]
    assert enumeration_start(other_doc, sents[0], span) is None  # the next document's first sentence
    assert enumeration_start(sents[:1], sents[0], span) is None  # the last sentence of the index


def _chunks(text: str, *phrases: str) -> list[tuple[int, int, str]]:
    return [(text.index(p), text.index(p) + len(p), "NP") for p in phrases]


@pytest.mark.parametrize("text,span,chunks,want", [
    # comma-separated items, each opening with a noun chunk or an -ing word, up to the one opening with "and"
    ("It would include greater security cooperation with Afghanistan, the elimination of safe havens, "
     "prioritizing police training, and promoting programs to counter its ideology.", "greater security cooperation",
     ("the elimination", "safe havens", "police training", "programs"),
     "greater security cooperation with Afghanistan, the elimination of safe havens, prioritizing police training, "
     "and promoting programs to counter its ideology"),
    # no comma list: "and" right after the span, opening a noun chunk
    ("He robbed banks in Sindh and Balochistan, he said.", "Sindh", ("Sindh", "Balochistan"), "Sindh and Balochistan"),
    # ... but not an "and" inside a phrase that follows the span: it joins the places, not the robberies
    ("He admitted bank robberies in Sindh and Balochistan.", "bank robberies", ("Sindh", "Balochistan"),
     "bank robberies"),
    # "and" opening a clause, not a noun chunk: the span stays
    ("He worked with scorpion venom and observed that dogs were immune.", "scorpion", ("dogs",), "scorpion"),
    # a relative clause after the comma is no item
    ("A cell consisted of well-educated women, who left for Syria and Iraq.", "women", ("Syria", "Iraq"), "women"),
    ("The plan has twenty points.", "twenty", (), "twenty"),
    ("It hit Quetta, during the war, and Karachi.", "Quetta", ("the war", "Karachi"), "Quetta"),
    ("It applies if they have a direct effect and they are clear.", "a direct effect", ("they",), "a direct effect"),
    # a list cut by a semicolon ends there; a span that is a list already stays
    ("It named Sindh; and Punjab was spared.", "Sindh", ("Punjab",), "Sindh"),
    ("Dublin, Cork and Waterford in the 17th and 18th centuries.", "Dublin, Cork and Waterford", ("the 17th",),
     "Dublin, Cork and Waterford"),
])
def test_a_list_question_gets_the_coordinated_run_its_span_starts(text, span, chunks, want):
    from qa.answer.spans import list_run

    s = text.index(span)
    a, b = list_run(text, s, s + len(span), len(text), _chunks(text, *chunks))
    assert text[a:b] == want


@pytest.mark.parametrize("text,word,want", [
    ("formerly of Lashkar-e-Taiba, a banned group", "Taiba", "Lashkar-e-Taiba"),
    ("formerly of Lashkar-e-Taiba, a banned group", "Lashkar", "Lashkar-e-Taiba"),
    ("Hizb-ut-Tahrir said so", "Tahrir", "Hizb-ut-Tahrir"),
    ("Maria Skłodowska-Curie Institute", "Curie", "Skłodowska-Curie"),
    ("the Afrikaans-speaking people", "Afrikaans", "Afrikaans"),  # a lower-case compound is no name
    ("a pro-ISIS cell in Sialkot", "ISIS", "ISIS"),
    ("Watt's ten-horsepower engines", "ten", "ten"),
    ("the 2014-2015 season", "2015", "2015"),
    ("Lashkar-e-Taiba", "Lashkar-e-Taiba", "Lashkar-e-Taiba"),
])
def test_a_span_inside_a_hyphenated_name_grows_to_the_whole_name(text, word, want):
    from qa.answer.spans import whole_hyphenated

    s = text.index(word)
    a, b = whole_hyphenated(text, s, s + len(word))
    assert text[a:b] == want


@pytest.mark.parametrize("text,word,ent,want", [
    ("the Warsaw University of Technology is", "Warsaw University", "the Warsaw University of Technology",
     "the Warsaw University of Technology"),
    ("Within the EU, the Court of Justice believes", "Justice", "the Court of Justice", "the Court of Justice"),
    ("Osama bin Laden's men", "Osama bin Laden", "Osama bin Laden's", "Osama bin Laden"),  # no possessive
    ("Charlesfort on Parris Island was", "Charlesfort", "Charlesfort on Parris Island", "Charlesfort"),  # two names
    ("the Islamic State (ISIS) carried out", "ISIS", "the Islamic State (ISIS", "ISIS"),  # a gloss is another name
    ("the king of France", "king", "the king of France", "king"),  # not capitalised: not a name's fragment
])
def test_a_capitalised_span_inside_a_longer_name_grows_to_it(text, word, ent, want):
    from qa.answer.spans import whole_name

    s, a = text.index(word), text.index(ent)
    got = whole_name(text, s, s + len(word), [(a, a + len(ent), "ORG")])
    assert text[got[0]:got[1]] == want


class _SpanReader:
    """A reader whose every span is the first occurrence of `word` in the window (else the window's start)."""

    def __init__(self, word: str):
        self.word = word

    def read(self, question, windows, top=5):
        from qa.neural.reader import SpanGuess

        out = []
        for i, w in enumerate(windows):
            at = w.find(self.word)
            if at >= 0:
                out.append(SpanGuess(i, at, at + len(self.word), 9.0, 0.0))
        return out


@pytest.mark.parametrize("whole_names", [True, False])
def test_a_name_is_never_a_fragment_of_a_hyphenated_name(tmp_path, whole_names):
    import dataclasses

    from support import build_fake, fake_answerer, never_decline, write_corpus

    docs = {"groups.txt": "Militant groups\n\nThe Sialkot cell was made up of former members of Lashkar-e-Taiba, a banned "
                          "militant organization. Lashkar-e-Jhangvi is a Sunni sectarian group.\n"}
    build_fake(write_corpus(tmp_path / "c", docs), tmp_path / "i")
    a = fake_answerer(tmp_path / "i")
    a = a.with_settings(spans=dataclasses.replace(a.spans, whole_names=whole_names), answer=never_decline())
    a.reader = _SpanReader("Taiba")
    answer = a.ask("Who founded Lashkar-e-Jhangvi?").answer
    assert answer == ("Lashkar-e-Taiba" if whole_names else "Taiba")
