"""qa.answer.candidates: the reader's spans become cited candidates (with a fake reader, so the plumbing is tested apart from the model), and options of an alternative question."""
from __future__ import annotations

import pytest
import dataclasses

from support import build_fake, fake_embedder, never_decline, write_corpus
from qa.index.aliases import AliasTable
from qa.answer.answerer import Answerer
from qa.answer.candidates import Candidate, CandidateFinder
from qa.answer.grouping import Keys, group
from qa.index.load import load_index
from qa.answer.question import analyse_question
from qa.neural.reader import SpanGuess
from qa.answer.retrieval import Retriever
from qa.settings import load_tuned


class FakeReader:
    """Points at a fixed phrase wherever a window contains it (optionally cut to a word piece)."""

    def __init__(self, phrase: str, cut: int = 0, also: str = ""):
        self.phrase, self.cut, self.also, self.calls = phrase, cut, also, 0

    def read(self, question, windows, top=5):
        self.calls += 1
        out = []
        for w, text in enumerate(windows):
            for k, (p, score) in enumerate(((self.phrase, 12.0), (self.also, 11.0))):
                i = text.find(p) if p else -1
                if i >= 0:
                    out.append(SpanGuess(w, i + self.cut * (k == 0), i + len(p) - self.cut * (k == 0), score, 1.0))
        return out


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    d = tmp_path_factory.mktemp("reader")
    build_fake(write_corpus(d / "corpus"), d / "index")
    return d / "index"


def _answerer(index_dir, reader, **kw):
    emb = fake_embedder()
    # the fake embedder makes relevance noise, so nothing is declined here: this tests the span plumbing
    spans = dataclasses.replace(load_tuned().spans, reader_windows=12, **kw)
    return Answerer(Retriever(load_index(index_dir, emb), emb), reader=reader, spans=spans, answer=never_decline())


def test_reader_span_is_the_answer_and_every_quote_holds_it(small_index):
    a = _answerer(small_index, FakeReader("Marta Kell")).ask("Who surveyed the harbour of Ostland?")
    assert a.answer == "Marta Kell"
    assert a.citations
    index = load_index(small_index, fake_embedder())
    for c in a.citations:
        text = index.documents[c.doc_id].text
        assert c.start <= c.answer_start < c.answer_end <= c.end
        assert text[c.start:c.end] == c.quote and text[c.answer_start:c.answer_end] == "Marta Kell"


def test_a_span_cut_inside_words_is_widened_to_whole_words(small_index):
    a = _answerer(small_index, FakeReader("Marta Kell", cut=2)).ask("Who surveyed the harbour of Ostland?")
    assert a.answer == "Marta Kell"


def test_a_span_across_two_sentences_is_never_an_answer(small_index):
    cross = "forty-two berths along the northern quay. It recommended"
    a = _answerer(small_index, FakeReader(cross, also="forty-two")).ask("How many berths did the northern quay have?")
    assert a.answer == "forty-two"


def test_a_span_that_repeats_the_question_is_skipped(small_index):
    a = _answerer(small_index, FakeReader("northern quay", also="forty-two")).ask("How many berths did the northern quay have?")
    assert a.answer == "forty-two"


def test_a_yes_no_question_is_answered_with_the_whole_sentence_and_a_description_with_the_span(small_index):
    reader = FakeReader("destroyed most of them")
    short = _answerer(small_index, reader).ask("What happened to the survey maps in 1931?")
    whole = _answerer(small_index, reader).ask("Were the survey maps destroyed in 1931?")
    assert short.answer == "destroyed most of them"
    assert whole.answer_type == "yes/no"
    assert whole.answer.startswith("The survey maps were kept") and whole.answer.endswith("most of them.")


def test_without_a_reader_the_rule_based_spans_answer(small_index):
    a = _answerer(small_index, None).ask("Who surveyed the harbour of Ostland?")
    assert a.status == "declined" or a.answer  # the fake embedder gives no relevance; the path must still run


def test_an_alternative_question_is_answered_with_an_option_and_mentions_are_no_votes():
    """No model: candidates as the reader would propose them, narrowed to the option they name; a
    span naming both options says nothing; and since the question itself names the options, two
    documents mentioning "Pakistan" must not outvote one that answers "Afghanistan" more strongly."""
    from types import SimpleNamespace

    texts = {"a": "Its influence is stronger in Afghanistan, not Pakistan.",
             "b": "Its influence grew in Pakistan.", "c": "Recruits came from Pakistan."}
    index = SimpleNamespace(documents={d: SimpleNamespace(text=t) for d, t in texts.items()})
    spans = dataclasses.replace(load_tuned().spans, w_agree=0.5)
    finder, keys = CandidateFinder(index, spans), Keys(AliasTable([]))

    def cand(doc, phrase, score):
        t = texts[doc]
        s = t.index(phrase)
        ents = tuple((t.index(w), t.index(w) + len(w), "GPE") for w in ("Afghanistan", "Pakistan") if w in t)
        sent = SimpleNamespace(doc_id=doc, ents=ents, start=0, end=len(t), text=t)
        return Candidate(phrase, s, s + len(phrase), "SPAN", sent, 0.5, 0, score)

    qa = analyse_question("Is its influence stronger in Afghanistan or Pakistan?")
    assert qa.options == ("Afghanistan", "Pakistan")
    cands = [cand("a", "stronger in Afghanistan", 5.0), cand("a", "Afghanistan, not Pakistan", 5.5),
             cand("b", "grew in Pakistan", 4.8), cand("c", "Pakistan", 4.6)]
    chosen = finder.choose_option(qa, cands)
    assert [(c.doc_id, c.text, c.label) for c in chosen] == [
        ("a", "Afghanistan", "GPE"), ("b", "Pakistan", "GPE"), ("c", "Pakistan", "GPE")]
    assert texts["a"][chosen[0].start:chosen[0].end] == "Afghanistan"
    assert [g.key for g in group(chosen, keys, spans.w_agree, spans.support_ratio, votes=False)] == ["afghanistan", "pakistan"]
    assert [g.key for g in group(chosen, keys, spans.w_agree, spans.support_ratio, votes=True)] == ["pakistan", "afghanistan"]  # 4.8 + 0.5 > 5.0
    # no candidate names an option (the sources answer in other words): the candidates stay as they are
    other = [cand("b", "grew", 1.0)]
    assert finder.choose_option(qa, other) == other
