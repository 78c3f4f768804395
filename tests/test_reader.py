"""The neural span reader: span decoding against a brute-force oracle, how its spans become cited
candidates (with a fake reader, so the plumbing is tested apart from the model), and the real weights."""
from __future__ import annotations

import numpy as np
import pytest

from hardening_fixtures import build_fake, fake_embedder, write_corpus
from qa.answering import Answerer, AnswerSettings
from qa.errors import QAError
from qa.extract import ExtractSettings
from qa.index import load_index
from qa.reader import MAX_ANSWER_TOKENS, SpanGuess, decode_spans, reader_available, reader_from_env
from qa.retrieval import Retriever


# ---------------------------------------------------------------- decoding

def _oracle(s, e, ctx):
    best = None
    for a in range(len(s)):
        for b in range(a, min(len(s), a + MAX_ANSWER_TOKENS)):
            if ctx[a] and ctx[b] and (best is None or s[a] + e[b] > best[0]):
                best = (s[a] + e[b], a, b)
    return best


@pytest.mark.parametrize("n,seed", [(7, 0), (33, 1), (64, 2), (129, 3)])
def test_best_span_matches_a_brute_force_search(n, seed):
    rng = np.random.default_rng(seed)
    s, e = rng.standard_normal((1, n)).astype(np.float32), rng.standard_normal((1, n)).astype(np.float32)
    q = max(1, n // 5)  # [CLS] question [SEP] context [SEP]
    seq = [None] + [0] * (q - 1) + [None] + [1] * (n - q - 2) + [None]
    offsets = np.array([[[i * 10, i * 10 + 5] for i in range(n)]])
    got = decode_spans(s, e, offsets, [seq], top=1, n_best=n)[0]
    score, a, b = _oracle(s[0], e[0], [sid == 1 for sid in seq])
    assert (got.start, got.end) == (a * 10, b * 10 + 5)
    assert got.score == pytest.approx(score, abs=1e-5)
    assert got.null_score == pytest.approx(float(s[0, 0] + e[0, 0]))


def test_spans_stay_in_the_context_and_are_distinct_and_ordered():
    rng = np.random.default_rng(9)
    n = 40
    s, e = rng.standard_normal((2, n)), rng.standard_normal((2, n))
    s[:, 1:5] += 50  # the question's tokens look like great starts: they must never be chosen
    seq = [None] + [0] * 4 + [None] + [1] * (n - 7) + [None]
    offsets = np.tile(np.array([[i, i + 1] for i in range(n)]), (2, 1, 1))
    got = decode_spans(s, e, offsets, [seq, seq], top=5)
    assert {g.window for g in got} == {0, 1}
    for w in (0, 1):
        mine = [g for g in got if g.window == w]
        assert len(mine) == 5 and len({(g.start, g.end) for g in mine}) == 5
        assert [g.score for g in mine] == sorted((g.score for g in mine), reverse=True)
        assert all(6 <= g.start < g.end <= n - 1 and g.end - g.start <= MAX_ANSWER_TOKENS for g in mine)


# ---------------------------------------------------------------- spans to cited candidates (fake reader)

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
    return Answerer(Retriever(load_index(index_dir, emb), emb), reader=reader,
                    settings=AnswerSettings(uncertain_threshold=-1.0, answer_threshold=-1.0,
                                            reader_uncertain_threshold=-1.0, reader_answer_threshold=-1.0),
                    extract_settings=ExtractSettings(reader_windows=12, **kw))


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


def test_description_questions_can_be_answered_by_the_whole_sentence(small_index):
    q = "What happened to the survey maps in 1931?"
    short = _answerer(small_index, FakeReader("destroyed most of them")).ask(q)
    whole = _answerer(small_index, FakeReader("destroyed most of them"), reader_long="sentence").ask(q)
    assert short.answer == "destroyed most of them"
    assert whole.answer.startswith("The survey maps were kept") and whole.answer.endswith("most of them.")


def test_without_a_reader_the_rule_based_spans_answer(small_index):
    a = _answerer(small_index, None).ask("Who surveyed the harbour of Ostland?")
    assert a.status == "declined" or a.answer  # the fake embedder gives no relevance; the path must still run


# ---------------------------------------------------------------- choosing the reader

def test_reader_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_READER", "off")
    assert reader_from_env() is None
    monkeypatch.delenv("QA_READER")
    assert reader_from_env(fake_embedder()) is None  # plumbing tests never load a model by accident
    monkeypatch.setenv("QA_READER", str(tmp_path))
    with pytest.raises(QAError, match="no reader weights"):
        reader_from_env()


def test_reader_precision_comes_from_the_environment_and_a_bad_one_is_refused(monkeypatch):
    if not reader_available():
        pytest.skip("no reader weights in qa/models/")
    monkeypatch.setenv("QA_READER", "on")
    assert reader_from_env().precision == "fp32"  # built lazily: nothing is loaded here
    monkeypatch.setenv("QA_READER_PRECISION", "BF16 ")
    assert reader_from_env().precision == "bf16"
    monkeypatch.setenv("QA_READER_PRECISION", "int4")
    with pytest.raises(QAError, match="fp32, bf16"):
        reader_from_env()
    monkeypatch.setenv("QA_READER", "off")  # a typo is refused even when no reader runs
    with pytest.raises(QAError, match="QA_READER_PRECISION"):
        reader_from_env()


@pytest.mark.model
def test_the_bundled_weights_read_a_passage_they_never_saw():
    from qa.reader import Reader
    from qa.squad import squad_scores

    assert reader_available(), "qa/models/ must hold the reader weights and card"
    text = "The Varne water mill was rebuilt in 1880 by the miller Petra Lind after a flood carried away the wheel."
    # bf16 (QA_READER_PRECISION=bf16) must read as well; it is slow on CPUs without bf16 units, but correct
    for r in (Reader(), Reader(precision="bf16")):
        for q, want in (("Who rebuilt the mill?", "Petra Lind"), ("When was the mill rebuilt?", "1880"),
                        ("What carried away the wheel?", "a flood")):
            best = max(r.read(q, [text]), key=lambda g: g.score)
            got = text[best.start:best.end]
            # scored as SQuAD scores ("a flood" = "flood"; "the miller Petra Lind" is F1 0.8 against "Petra Lind")
            assert squad_scores(got, [want])[1] >= 0.75, (r.precision, q, got)


@pytest.mark.model
def test_one_reader_shared_by_many_threads_reads_as_one_thread_does():
    """The app answers several questions at once with one Reader: batches of different sizes and
    lengths tokenized at the same time must each come out padded and read exactly as alone."""
    import threading

    from qa.reader import Reader

    r = Reader()
    text = ("The Varne water mill was rebuilt in 1880 by the miller Petra Lind after a flood carried away the "
            "wheel. Its new wheel, cast in iron at a foundry in Oslo, turned until 1954. ")
    jobs = [(q, [text * (1 + (i + w) % 3) for w in range(1 + i % 4)]) for i, q in enumerate(
        ["Who rebuilt the mill?", "When was the mill rebuilt?", "What carried away the wheel?",
         "Where was the new wheel cast?", "Until when did the wheel turn?", "What was the wheel made of?"])]
    alone = [r.read(q, w) for q, w in jobs]
    errors, differ = [], []
    barrier = threading.Barrier(16)

    def worker(i):
        try:
            barrier.wait(timeout=30)
            for k in range(12):
                j = (i + k) % len(jobs)
                got = r.read(*jobs[j])
                if [(g.window, g.start, g.end) for g in got] != [(g.window, g.start, g.end) for g in alone[j]]:
                    differ.append((i, j))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"{e.__class__.__name__}: {e}")

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=300)
    assert not errors, errors[:3]
    assert not differ, differ[:5]


def test_the_card_says_the_reader_never_saw_the_held_out_articles():
    from qa.reader import read_card
    from qa.squad import held_out_titles, load_squad

    card = read_card()
    assert card is not None, "qa/models/ must hold the reader card"
    v1 = load_squad("1.1")
    held = held_out_titles()
    assert len(held) == 16 and held <= set(v1.titles)
    trained_on = [q for q in v1.questions if v1.titles[q.article] not in held]
    assert card["training_data"]["questions"] == len(trained_on)
    assert card["training_data"]["sha256"] == v1.sha256
    assert card["held_out_gold_paragraph"]["articles"] == len(held)


def test_entity_evidence_in_other_documents_reranks_the_readers_answers():
    from types import SimpleNamespace

    from qa.extract import Candidate, Extractor, Group

    def cand(key, doc, score):
        sent = SimpleNamespace(doc_id=doc)
        return Candidate(key, 0, len(key), "PERSON", sent, 0.5, 0, score, key=key)

    def reader_groups():  # fresh: corroborate re-scores in place
        return [Group("saad aziz", [cand("saad aziz", "a", 5.0)], 5.0),
                Group("hafiz saeed khan", [cand("hafiz saeed khan", "b", 4.8)], 4.8)]

    entity = [Group("hafiz saeed khan", [cand("hafiz saeed khan", d, 4.0) for d in "abc"], 4.6),
              Group("saad aziz", [cand("saad aziz", "a", 4.5)], 4.5)]
    off = Extractor.corroborate(SimpleNamespace(settings=ExtractSettings(w_corr=0.0)), reader_groups(), entity)
    assert [g.key for g in off] == ["saad aziz", "hafiz saeed khan"]
    on = Extractor.corroborate(SimpleNamespace(settings=ExtractSettings(w_corr=0.2)), reader_groups(), entity)
    # two further documents (a and c; b is the reader's own) state Hafiz Saeed Khan: 4.8 + 2 × 0.2 > 5.0
    assert [g.key for g in on] == ["hafiz saeed khan", "saad aziz"]
    assert on[0].score == pytest.approx(5.2)
    # entity evidence of a kind that does not fit the question (a date's "2" from "the two countries")
    # corroborates nothing
    for g in entity:
        for c in g.members:
            c.features["type"] = 0.3
    typed = Extractor.corroborate(SimpleNamespace(settings=ExtractSettings(w_corr=0.2, corr_min_type=0.5)),
                                  reader_groups(), entity)
    assert [g.key for g in typed] == ["saad aziz", "hafiz saeed khan"]
    assert typed[1].score == pytest.approx(4.8)


@pytest.mark.parametrize("answer_type,text,typed", [
    ("number", "forty-two", True), ("number", "at least 60", True), ("number", "NAP", False),
    ("number", "11 of the 12", True), ("number", "several hundred fighters", True), ("number", "the police", False),
    ("date", "January 2016", True), ("date", "early May", True), ("date", "the Senate", False),
    ("money", "$500 per month", True), ("percent", "a third", False),
])
def test_number_and_date_questions_gate_spans_without_a_number_or_date(answer_type, text, typed):
    from qa.extract import _TYPE_GATES

    assert bool(_TYPE_GATES[answer_type].search(text)) is typed


def test_the_clause_around_a_span_stops_at_punctuation_and_keeps_the_span():
    from qa.extract import _clause

    t = "In 2015, the group grew quickly because militants were disillusioned with their leaders; others left."
    s = t.index("disillusioned")
    s2, e2 = _clause(t, 0, len(t), s, s + len("disillusioned"))
    assert t[s2:e2] == " the group grew quickly because militants were disillusioned with their leaders"
    s = t.index("others")
    assert t[slice(*_clause(t, 0, len(t), s, s + 6))] == " others left"
    assert t[slice(*_clause(t, 0, len(t), 0, 2))] == "In 2015"


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
    from qa.extract import _trim_span

    s, e = _trim_span(text, 0, len(text))
    assert text[s:e] == want


def test_a_reader_span_around_a_number_is_anchored_on_the_first_number_inside_it():
    from types import SimpleNamespace

    from qa.extract import Candidate, Group

    def cand(text, doc, start, score=4.0):
        return Candidate(text, start, start + len(text), "CARDINAL", SimpleNamespace(doc_id=doc), 0.5, 0, score, key=text)

    span = Group("11 of 12", [cand("11 of the 12", "a", 100)], 5.0)
    eleven, twelve, nine = (Group("11", [cand("11", "a", 100)], 4.6), Group("12", [cand("12", "a", 110, 4.9)], 4.9),
                            Group("9", [cand("nine", "b", 50)], 4.0))
    entity = [twelve, eleven, nine]
    assert Answerer._anchor(span, entity, value=True) is eleven  # the first inside, not the best-scored
    assert Answerer._anchor(span, entity, value=False) is None  # names are anchored only by the same key
    assert Answerer._anchor(Group("9", [cand("nine", "b", 50)], 4.0), entity, value=True) is nine


@pytest.mark.parametrize("answer_type,span,want", [
    ("date", (12, 13), (3, 13)),  # "2" of "December 2" grows to the date
    ("date", (3, 13), (3, 13)),
    ("number", (12, 13), (12, 13)),  # a number question keeps the bare number
    ("date", (15, 17), (15, 17)),  # a number outside any date stays
])
def test_a_bare_day_inside_a_date_grows_to_the_whole_date(answer_type, span, want):
    from qa.extract import _whole_entity

    text = "on December 2, 12 gunmen"
    assert _whole_entity(answer_type, text, *span, [(3, 13, "DATE"), (15, 17, "CARDINAL")]) == want


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

    from qa.extract import _enumeration_start

    sents = [SimpleNamespace(doc_id="a", row=0, text="The group has refrained from it " + span + "."),
             SimpleNamespace(doc_id="a", row=1, text=following)]
    assert (_enumeration_start(sents, sents[0], span) is sents[1]) is opens
    other_doc = [sents[0], SimpleNamespace(doc_id="b", row=1, text=following)]
    assert _enumeration_start(other_doc, sents[0], span) is None  # the next document's first sentence
    assert _enumeration_start(sents[:1], sents[0], span) is None  # the last sentence of the index


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
    from qa.extract import _list_run

    s = text.index(span)
    a, b = _list_run(text, s, s + len(span), len(text), _chunks(text, *chunks))
    assert text[a:b] == want
