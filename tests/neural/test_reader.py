"""qa.neural.reader: span decoding against a brute-force oracle, choosing the reader from settings, and the bundled weights."""
from __future__ import annotations

import numpy as np
import pytest
from support import fake_embedder
from qa.errors import QAError
from qa.neural.reader import MAX_ANSWER_TOKENS, decode_spans, make_reader, reader_available
from qa.settings import Settings


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


def test_the_settings_choose_the_reader(tmp_path):
    env = lambda **kw: Settings.from_env(environ={f"QA_{k}": v for k, v in kw.items()})  # noqa: E731
    assert make_reader(env(READER="off")) is None
    assert make_reader(env(), fake_embedder()) is None  # plumbing tests never load a model by accident
    with pytest.raises(QAError, match="no reader weights"):
        make_reader(env(READER=str(tmp_path)))
    if reader_available():  # built lazily: nothing is loaded here
        assert make_reader(env()).precision == "fp32"
        assert make_reader(env(READER="on"), fake_embedder()) is not None  # asked for by name: even with the fake
        assert make_reader(env(READER_PRECISION="BF16 ")).precision == "bf16"
    for bad in ("int4", "fp16"):  # a typo is refused even when no reader runs
        with pytest.raises(QAError, match="QA_READER_PRECISION: must be one of fp32, bf16"):
            env(READER="off", READER_PRECISION=bad)


@pytest.mark.model
def test_the_bundled_weights_read_a_passage_they_never_saw():
    from qa.neural.reader import Reader
    from qa.evaluation.bench.squad_measures import squad_scores

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

    from qa.neural.reader import Reader

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
    from qa.neural.reader import read_card
    from qa.evaluation.bench.squad_data import held_out_titles, load_squad

    card = read_card()
    assert card is not None, "qa/models/ must hold the reader card"
    v1 = load_squad("1.1")
    held = held_out_titles()
    assert len(held) == 16 and held <= set(v1.titles)
    trained_on = [q for q in v1.questions if v1.titles[q.article] not in held]
    assert card["training_data"]["questions"] == len(trained_on)
    assert card["training_data"]["sha256"] == v1.sha256
    assert card["held_out_gold_paragraph"]["articles"] == len(held)
