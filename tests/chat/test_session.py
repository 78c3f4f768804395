"""qa.chat.conversation: a session's turns feed the engine's conversation; an API caller's history is checked."""
import pytest

from support import build_fake, fake_answerer, never_decline, write_corpus
from qa.answer.answerer import Answerer
from qa.chat.conversation import MAX_HISTORY, Conversation, answer_in_conversation, clean_history
from qa.errors import QAError

FIRST = "Who surveyed the harbour of Ostland?"
FOLLOW = "When did she return?"


@pytest.fixture(scope="module")
def answerer(tmp_path_factory):
    d = tmp_path_factory.mktemp("chatconv")
    build_fake(write_corpus(d / "c"), d / "i")
    return Answerer(fake_answerer(d / "i").retriever, answer=never_decline())


def answered(conv: Conversation, answerer, **kw) -> dict:
    """What app.py's respond does with the next waiting turn: answer it after the turns before it."""
    i, turn, history = conv.start_next()
    a = answer_in_conversation(answerer, history, turn["question"], as_written=turn["as_written"], **kw).to_dict()
    turn.update(status="done", answer=a)
    return a


def test_the_sessions_turns_are_the_engines_history(answerer):
    conv = Conversation()
    assert conv.add_question(FIRST)
    first = answered(conv, answerer)
    assert first["understood_as"] is None
    assert conv.add_question(FOLLOW)
    a = answered(conv, answerer)
    assert a["understood_as"] == "When did Marta Kell return?"
    assert a["question"] == FOLLOW
    # the same as the engine's own conversation gives
    live = answerer.conversation()
    live.ask(FIRST)
    assert live.ask(FOLLOW).to_dict() == a


def test_only_answered_turns_are_history(answerer):
    conv = Conversation()
    conv.add_question(FIRST)
    answered(conv, answerer)
    conv.add_question("why " * 300)
    _, turn, _ = conv.start_next()
    turn.update(status="refused", error="too long")  # refused: no answer to resolve against
    conv.add_question("third?")
    _, turn, history = conv.start_next()
    assert [h["question"] for h in history] == [FIRST]
    assert history[0]["answer"] is conv.turns[0]["answer"]


def test_one_question_at_a_time():
    conv = Conversation()
    assert conv.add_question("a?")
    assert not conv.add_question("b?")  # the first is still waiting for its answer
    assert [t["question"] for t in conv.turns] == ["a?"]


def test_ask_as_written_re_asks_the_words_without_the_earlier_turns(answerer):
    conv = Conversation()
    conv.add_question(FIRST)
    answered(conv, answerer)
    conv.add_question(FOLLOW)
    answered(conv, answerer)
    assert conv.rewritten_question(0) is None  # answered as asked: nothing to re-ask
    assert conv.rewritten_question(1) == FOLLOW
    for bad in (2, -1, "1", None, True):
        assert conv.rewritten_question(bad) is None
    assert conv.add_question(conv.rewritten_question(1), as_written=True)
    a = answered(conv, answerer)
    assert a["understood_as"] is None and a == answerer.ask(FOLLOW).to_dict()
    assert "(as written)" in conv.messages()[-2]["content"]


def test_cleared_conversation_starts_afresh(answerer):
    conv = Conversation()
    conv.add_question(FIRST)
    answered(conv, answerer)
    conv.turns.clear()  # what app.py's clear does
    conv.add_question(FOLLOW)
    _, _, history = conv.start_next()
    assert history == []
    assert answer_in_conversation(answerer, history, FOLLOW).understood_as is None


def test_an_answerer_without_conversations_answers_alone():
    class Plain:
        def ask(self, question, k=5, docs=None):
            return ("alone", question, k, docs)

    assert answer_in_conversation(Plain(), [{"question": "q", "answer": "a"}], "x?", 3) == ("alone", "x?", 3, None)


def test_a_history_of_answer_objects_or_their_text_is_kept():
    a = {"status": "answered", "answer": "Marta Kell", "citations": [{"doc_id": "alpha", "start": 3}]}
    got = clean_history([{"question": FIRST, "answer": a}, {"question": "x?", "answer": "text", "understood_as": None},
                         {"question": "y?"}, {"question": "z?", "answer": None, "extra": 1}])
    assert got == [{"question": FIRST, "answer": a}, {"question": "x?", "answer": "text", "understood_as": None},
                   {"question": "y?"}, {"question": "z?", "answer": None}]
    assert clean_history(None) == [] and clean_history([]) == [] and clean_history("") == []


@pytest.mark.parametrize("history, needle", [
    ("not a list", "history must be a list"),
    ({"question": "q"}, "history must be a list"),
    ([["q", "a"]], "history turn 1 must be an object"),
    ([{"question": "ok?", "answer": "a"}, {"answer": "a"}], "history turn 2 must be an object"),
    ([{"question": 7, "answer": "a"}], "\"question\" (text)"),
    ([{"question": "q", "answer": 5}], "answer object, its text or null"),
    ([{"question": "q", "answer": "a", "understood_as": 3}], "understood_as must be text"),
    ([{"question": "q", "answer": {"status": 1}}], "status must be text"),
    ([{"question": "q", "answer": {"answer": ["x"]}}], "answer must be text"),
    ([{"question": "q", "answer": {"citations": "c"}}], "citations must be a list of objects"),
    ([{"question": "q", "answer": {"citations": [1]}}], "citations must be a list of objects"),
    ([{"question": "q", "answer": {"citations": [{"doc_id": 3}]}}], "doc_id must be text"),
    ([{"question": "q", "answer": {"citations": [{"start": [1]}]}}], "start must be a whole number"),
    ([{"question": "q", "answer": {"citations": [{"answer_end": 1.5}]}}], "answer_end must be a whole number"),
    ([{"question": "q", "answer": "a"}] * (MAX_HISTORY + 1), f"the limit is {MAX_HISTORY}"),
])
def test_bad_history_is_refused_with_a_message(history, needle):
    with pytest.raises(QAError) as e:
        clean_history(history)
    assert needle in str(e.value)
