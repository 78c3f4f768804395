"""qa.answer.answerer: citations at true offsets, and the whole answer step on the bundled corpus with the real model."""
from __future__ import annotations

import pytest
from qa.answer.answerer import make_citation
from qa.errors import QAError


@pytest.mark.parametrize("sentence,quote", [
    ("They share an anti-Shia agenda.21", "They share an anti-Shia agenda."),
    ("He called it “the state.”1", "He called it “the state.”"),
    ("It began in 2015.17", "It began in 2015."),
    ("See the report.[4]", "See the report."),
    ("The rate rose to 3.5", "The rate rose to 3.5"),
    ("Twelve men attended.", "Twelve men attended."),
])
def test_a_quote_leaves_out_a_footnote_number_glued_to_its_end(sentence, quote):
    from types import SimpleNamespace
    text = "Intro. " + sentence + " After."
    doc = SimpleNamespace(doc_id="d", title="D", source="corpus/d.txt", as_of=None, text=text)
    sent = SimpleNamespace(doc_id="d", passage_id="p", start=7, end=7 + len(sentence))
    c = make_citation(1, SimpleNamespace(documents={"d": doc}), sent, 1.0)
    assert c.quote == quote == text[c.start:c.end]


@pytest.mark.model
def test_short_span_cited_by_every_source_that_says_it(real_answerer):
    a = real_answerer.ask("Who led Wilayat Khorasan?")
    assert a.answer in ("Hafez Saeed Khan", "Hafiz Saeed Khan")
    assert a.agreeing >= 2 and len({c.doc_id for c in a.citations}) == a.agreeing
    for c in a.citations:  # the answer span sits inside each quote, at its own offsets
        assert c.start <= c.answer_start < c.answer_end <= c.end
        assert c.quote[c.answer_start - c.start:c.answer_end - c.start].replace("Hafiz", "Hafez") == "Hafez Saeed Khan"


@pytest.mark.model
@pytest.mark.parametrize("question", ["Is the Islamic State's influence stronger in Afghanistan or Pakistan?",
                                      "Is the Islamic State's influence stronger in Pakistan or Afghanistan?"])
def test_an_alternative_question_is_answered_with_one_of_its_options(real_answerer, question):
    # the options are the question's own words, yet naming one is the answer (in either order); that
    # every source mentions Pakistan is no vote for it
    a = real_answerer.ask(question)
    assert a.answer == "Afghanistan" and a.status != "declined"
    assert "stronger in Afghanistan than in Pakistan" in a.citations[0].quote


@pytest.mark.model
def test_a_yes_no_question_is_answered_with_the_sentence_that_bears_on_it(real_answerer):
    from qa.answer.answerer import YES_NO_NOTE

    a = real_answerer.ask("Was Hafiz Saeed Khan killed in a drone strike?")
    assert a.answer_type == "yes/no" and YES_NO_NOTE in a.notes
    assert "drone strike" in a.answer and len(a.answer.split()) > 8  # a statement, not a noun phrase
    c = a.citations[0]
    assert c.quote[c.answer_start - c.start:c.answer_end - c.start] == a.answer
    assert not a.answer.endswith("]")  # the glued footnote marker ("[iii]") is not part of it


@pytest.mark.model
def test_never_answers_with_the_question_itself(real_answerer):
    for q in ("Who led Wilayat Khorasan?", "What is Wilayat Khorasan?", "Who is Hafez Saeed Khan?"):
        a = real_answerer.ask(q)
        if a.answer:
            assert a.answer.lower() not in q.lower(), (q, a.answer)


@pytest.mark.model
@pytest.mark.parametrize("question,expected", [
    ("How many people were killed in the May 2015 attack on Ismailis in Karachi?", {"forty-two", "forty-five"}),
    # the weaker rival ("nine Pakistanis" of a "twelve-member shura") shares the frame "12" with "11 of the 12"
    ("How many of the members of the Khorasan branch's leadership council were Pakistanis?", {"nine", "11"}),
])
def test_disagreeing_sources_are_both_shown(real_answerer, question, expected):
    a = real_answerer.ask(question)
    values = {c.value.lower() for c in a.conflicts}
    assert expected <= values, a.to_dict()
    cited = {c.n: c for c in a.citations}
    for conflict in a.conflicts:
        assert all(conflict.value in cited[n].quote for n in conflict.citations)
    assert any("disagree" in n for n in a.notes)


@pytest.mark.model
def test_off_topic_question_is_declined_with_closest_material(real_answerer):
    a = real_answerer.ask("What is the best temperature to bake sourdough bread?")
    assert a.status == "declined" and a.answer is None and a.closest
    assert "does not say" in a.notes[0]


@pytest.mark.model
def test_time_sensitive_answers_carry_the_source_date(real_answerer):
    a = real_answerer.ask("How many IS-K fighters are estimated to be in Pakistan?")
    assert a.status != "declined", a.to_dict()
    assert a.as_of and any(a.as_of in n for n in a.notes)
    assert all(c.date for c in a.citations)


def test_a_question_about_something_the_corpus_never_names_is_declined_by_name_without_reading(tmp_path):
    from support import StandInReader, build_fake, fake_answerer, write_corpus

    build_fake(write_corpus(tmp_path / "c"), tmp_path / "i")
    a = fake_answerer(tmp_path / "i")
    a.reader = StandInReader()
    ans = a.ask("Who surveyed the harbour of Zarbland in 1921?")
    assert ans.status == "declined" and ans.decline_reason == "not_mentioned"
    assert ans.missing_terms == ("Zarbland",) and ans.notes[0] == "The documents never mention Zarbland."
    assert ans.closest and a.reader.calls == 0  # the closest material is shown; no model was asked
    d = ans.to_dict()
    assert d["decline_reason"] == "not_mentioned" and d["missing_terms"] == ["Zarbland"]
    # the same question about the harbour the corpus does name is read, and not declined for grounding
    assert a.ask("Who surveyed the harbour of Ostland in 1921?").decline_reason != "not_mentioned"
    assert a.reader.calls == 1


class _CountingEmbedder:
    """The fake model, keeping the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, []

    def encode(self, texts, show_progress=False):
        self.texts += list(texts)
        return self.inner.encode(texts)


def _loading_reader():
    """A stand-in reader that says, as the real ones do, whether it has loaded (here: read once)."""
    from support import StandInReader

    class Loading(StandInReader):
        @property
        def loaded(self):
            return self.calls > 0

    return Loading()


def test_warm_up_asks_one_question_and_loads_the_reader_even_when_that_question_stops_before_it(tmp_path):
    from support import build_fake, fake_answerer, write_corpus
    from qa.answer.answerer import WARM_UP_QUESTION

    build_fake(write_corpus(tmp_path / "c"), tmp_path / "i")
    a = fake_answerer(tmp_path / "i")
    a.retriever.embedder = emb = _CountingEmbedder(a.retriever.embedder)
    named, unknown = "Who surveyed the harbour of Ostland in 1921?", "Who surveyed the harbour of Zarbland in 1921?"
    a.reader = _loading_reader()
    cold = a.ask(named)
    a.reader = _loading_reader()
    a.warm_up(named)  # the question reaches the reader: that one read loads it
    assert emb.texts[-1] == named
    assert a.reader.calls == 1 and a.reader.seen[0][1] != [named]  # the evidence windows: no extra read
    a.reader = _loading_reader()
    a.warm_up(unknown)  # declined before reading (the corpus never names Zarbland): read anyway
    assert emb.texts[-1] == unknown and a.reader.seen == [(unknown, [unknown])]
    a.warm_up(unknown)  # loaded now: nothing more is read
    assert a.reader.calls == 1
    a.reader = None
    a.warm_up()  # no reader to load; the default question
    assert emb.texts[-1] == WARM_UP_QUESTION
    a.reader = _loading_reader()
    assert a.ask(named) == cold  # a warm-up changes no answer
    with pytest.raises(QAError, match="empty"):
        a.warm_up("   ")


def test_the_decline_names_the_term_whole_as_the_question_writes_it(tmp_path):
    from support import StandInReader, build_fake, fake_answerer, write_corpus

    build_fake(write_corpus(tmp_path / "c"), tmp_path / "i")
    a = fake_answerer(tmp_path / "i")
    a.reader = StandInReader()
    # the corpus names Ostland but no regatta: the reply is about the regatta the user asked for
    ans = a.ask("Who won the Ostland Regatta of 1921?")
    assert (ans.status, ans.decline_reason, ans.missing_terms) == ("declined", "not_mentioned", ("the Ostland Regatta",))
    assert ans.notes[0] == "The documents never mention the Ostland Regatta."
    assert ans.to_dict()["missing_terms"] == ["the Ostland Regatta"]


@pytest.mark.model
@pytest.mark.parametrize("question,missing", [
    ("In which year did Pakistan's army launch Operation Zarb-e-Azb?", ("Operation Zarb-e-Azb",)),
    ("Who led Wilayat Sindh?", ("Wilayat Sindh",)),
])
def test_the_documents_never_mention_it(real_answerer, question, missing):
    a = real_answerer.ask(question)
    assert (a.status, a.decline_reason, a.missing_terms) == ("declined", "not_mentioned", missing)
    assert a.notes[0] == f"The documents never mention {missing[0]}." and a.closest


@pytest.mark.model
def test_a_how_much_question_with_no_amount_in_the_evidence_is_declined_not_answered_with_words(real_answerer):
    a = real_answerer.ask("How much money did Daesh's Pakistan network raise from bank robberies?")
    assert (a.status, a.answer, a.decline_reason) == ("declined", None, "no_typed_answer")
    assert a.notes[0] == "The documents give no amount for this."


@pytest.mark.model
def test_a_counting_question_the_corpus_answers_gets_a_figure(real_answerer):
    from qa.answer.typecheck import has_type

    a = real_answerer.ask("How many people were killed in the May 2015 attack on Ismailis in Karachi?")
    assert a.status != "declined" and a.decline_reason is None and has_type("number", a.answer, 0, 0, ())


@pytest.mark.model
def test_most_held_out_negatives_and_gold_unanswerables_are_declined(real_answerer):
    # the targets, as gates: held-out negatives (never fitted on) >= 80% declined, and at least
    # 7 of the gold test split's 8 unanswerable questions
    from support import PROJECT_ROOT

    from qa.evaluation.gold import load_questions

    negatives = load_questions([PROJECT_ROOT / "eval" / "negatives.jsonl"], split="test")
    declined = [real_answerer.ask(q.question).status == "declined" for q in negatives]
    assert sum(declined) >= 0.8 * len(declined), f"{sum(declined)} of {len(declined)}"
    unanswerable = [q for q in load_questions([PROJECT_ROOT / "eval" / "questions.jsonl"], split="test")
                    if not q.answerable]
    assert sum(real_answerer.ask(q.question).status == "declined" for q in unanswerable) >= 7
