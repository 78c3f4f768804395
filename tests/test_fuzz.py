"""Bad input on the ask path: arbitrary unicode, control characters, lone surrogates, right-to-left marks,
HTML and markdown, sizes from empty to 10 MB. Nothing but QAError may escape, an error is one line, an
answer is well formed (serialisable, quotes at their offsets), and each question is answered or refused in
under 2 s (a generous correctness bound, not a benchmark).

Most examples run on a small index built with the fake embedder; a handful run on the real model.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import PROJECT_ROOT, QUESTIONS, build_fake, env_with, fake_answerer, write_corpus
from qa.errors import QAError

# A bound against hangs and blow-ups (a question that makes the answer step quadratic), not a speed
# target: those are measured by `qa bench perf`. Generous, so a busy machine does not fail it.
LIMIT_S = 20.0
MB = 2**20

NASTY = [
    "", " ", "\t\n\r", "\x00", "\x00" * 50, "\x1b[31mred\x1b[0m", "\x7f\x08\x0c",
    "\u200f", "\u202e", "\u202eWho surveyed the harbour?\u202c", "\u200b\u200c\u200d\u2060\ufeff",
    "\ud800", "a\udfffb", "\udcff\udcfe who founded the cooperative", "\U0001F642" * 400,
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</textarea><svg/onload=alert(1)>",
    "**bold** _it_ [link](javascript:alert(1)) ![img](http://x/y.png)", "# heading\n\n> quote\n\n```\ncode\n```",
    "' OR 1=1 --", "{{7*7}} ${7*7} %s %n %x", "../../../../etc/passwd", "file:///etc/passwd",
    "Who surveyed the harbour?\x00\x07", "Wer hat den Hafen vermessen? مَن مسح الميناء؟ 谁测量了港口？",
    "e\u0301" * 300, "A" * 999, "A" * 1000, "A" * 1001, "\n" * 1001, "x" * (10 * MB),
    "What?" * 200, "?" * 1000, "\\" * 500, "\"'`" * 100,
]

FRAGMENTS = st.sampled_from([
    "Who", "surveyed", "the harbour", "Ostland", "1921", "<b>", "</b>", "<script>", "&amp;", "&#0;", "**", "[x](y)",
    "\u200f", "\u202e", "\u202d", "\u061c", "\ufeff", "\x00", "\x1b[2J", "\r\n", "\ud83d", "\ude42", "\U0001F600",
    "e\u0301", "ﷺ", "\u0000", "\t", "?", "!", ".", " ",
])
ANY_CHAR = st.characters(exclude_categories=())  # every code point, lone surrogates and controls included
QUESTION_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=200),
    st.lists(st.one_of(FRAGMENTS, st.text(ANY_CHAR, max_size=12)), max_size=40).map("".join),
    st.sampled_from(NASTY),
    # near the input cap, and far beyond it (up to 10 MB): refused by length before any work
    st.tuples(st.text(ANY_CHAR, min_size=1, max_size=6), st.integers(990, 1010)).map(lambda t: (t[0] * t[1])[:t[1]]),
    st.tuples(st.text(ANY_CHAR, min_size=1, max_size=6), st.integers(0, 10 * MB)).map(lambda t: (t[0] * (t[1] // len(t[0]) + 1))[:t[1]]),
)


@pytest.fixture(scope="module")
def answerer(tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz")
    corpus = write_corpus(work / "corpus")
    build_fake(corpus, work / "index")
    return fake_answerer(work / "index")


def check_ask(answerer, question, **kw):
    """Answer or refuse within the bound; return the Answer or None (refused)."""
    t = time.perf_counter()
    try:
        a = answerer.ask(question, **kw)
    except QAError as e:
        elapsed = time.perf_counter() - t
        msg = str(e)
        assert msg and "\n" not in msg and "\r" not in msg, f"multi-line error: {msg[:300]!r}"
        assert len(msg) < 2000, f"error message of {len(msg)} characters"
        assert elapsed < LIMIT_S, f"refusing took {elapsed:.2f}s"
        return None
    elapsed = time.perf_counter() - t
    assert elapsed < LIMIT_S, f"answering took {elapsed:.2f}s for a {len(question)}-character question"
    assert a.status in ("answered", "uncertain", "declined")
    d = a.to_dict()
    json.dumps(d, ensure_ascii=False).encode("utf-8")  # printable: no lone surrogates reach the output
    for c in list(a.citations) + list(a.closest):
        assert answerer.index.documents[c.doc_id].text[c.start:c.end] == c.quote
    return a


@settings(max_examples=250, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(question=QUESTION_TEXT)
def test_any_question_is_answered_or_refused_quickly(answerer, question):
    check_ask(answerer, question)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=st.one_of(st.sampled_from(QUESTIONS), st.text(ANY_CHAR, max_size=50)),
       k=st.integers(-5, 100),
       docs=st.one_of(st.none(), st.lists(st.one_of(st.sampled_from(["alpha", "beta", "gamma"]),
                                                     st.text(ANY_CHAR, max_size=20)), max_size=4)))
def test_k_and_document_filters_are_validated(answerer, question, k, docs):
    a = check_ask(answerer, question, k=k, docs=docs)
    if a is not None:
        assert 1 <= k <= 50
        if docs:
            assert {c.doc_id for c in a.citations} <= set(docs)


@pytest.mark.parametrize("question", NASTY, ids=lambda q: repr(q[:20]) + f"/{len(q)}")
def test_nasty_inputs(answerer, question):
    check_ask(answerer, question)


def test_cli_with_undecodable_argv_bytes(tmp_path):
    """A shell can pass bytes that are not UTF-8: Python turns them into lone surrogates; the command must
    still answer or refuse in one line, and its --json output must be valid UTF-8 JSON."""
    corpus = write_corpus(tmp_path / "corpus")
    build_fake(corpus, tmp_path / "index")
    for raw in (b"\xff\xfe Who surveyed the harbour?", b"\xed\xa0\x80", b"\x1b[31m\xc3", b"\x00"[:0] + b"\xc0\xaf"):
        r = subprocess.run([sys.executable.encode(), b"-m", b"qa", b"ask", b"--json", raw, b"--index",
                            str(tmp_path / "index").encode()], capture_output=True, env=env_with(), cwd=str(PROJECT_ROOT),
                           timeout=120)
        err = r.stderr.decode("utf-8", "replace")
        assert r.returncode in (0, 2) and "Traceback" not in err, err[-2000:]
        if r.returncode == 0:
            json.loads(r.stdout.decode("utf-8"))
        else:
            assert len(err.strip().splitlines()) == 1, err


# --------------------------------------------------------------------------- the real model

REAL_NASTY = ["\ud800 who led?", "\u202eWho led Wilayat Khorasan?", "<script>alert(1)</script> Who led?",
              "\x00\x07\x1b[2J", "e\u0301" * 300, "\U0001F642" * 400, "A" * 1000, "x" * (10 * MB),
              "Who led Wilayat Khorasan?" * 40]


@pytest.mark.model
@pytest.mark.parametrize("question", REAL_NASTY, ids=lambda q: repr(q[:16]) + f"/{len(q)}")
def test_real_model_nasty_inputs(real_answerer, question):
    real_answerer.ask("warm-up")  # the first call loads the model; that is not what is timed
    check_ask(real_answerer, question)


@pytest.mark.model
@settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(question=st.text(ANY_CHAR, min_size=900, max_size=1000))
def test_real_model_long_arbitrary_unicode(real_answerer, question):
    real_answerer.ask("warm-up")
    check_ask(real_answerer, question)
