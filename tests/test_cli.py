"""The CLI boundary: clear messages and exit codes, never a traceback; how answers are printed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import pytest
from conftest import PROJECT_ROOT
from support import write_corpus
from qa.cli import _print_answer
from qa.types import Answer, Citation, Conflict


def run(*args, env_extra=None, cwd=PROJECT_ROOT):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_help_is_instant_and_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for c in ("index", "ask", "eval", "bench", "feedback"):
        assert c in r.stdout
    # heavy libraries are not imported for --help
    probe = subprocess.run([sys.executable, "-c", "import sys; from qa.cli import build_parser; build_parser();"
                            "print(sorted(m for m in ('torch','faiss','spacy','gradio') if m in sys.modules))"],
                           capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert probe.stdout.strip() == "[]"


@pytest.mark.parametrize("question,needle", [("", "empty"), ("   \n\t", "empty"), ("x" * 1001, "limit is 1000")])
def test_bad_questions_exit_2_with_a_message(question, needle, tmp_path):
    r = run("ask", question, "--index", str(tmp_path / "none"))
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_missing_index_says_what_to_run(tmp_path):
    r = run("ask", "Who led Wilayat Khorasan?", "--index", str(tmp_path / "none"))
    assert r.returncode == 2
    assert "no index at" in r.stderr and "qa index" in r.stderr and "Traceback" not in r.stderr


def test_index_then_a_noop_rebuild_then_ask_json_through_the_cli(tmp_path):
    env = {"QA_EMBEDDER": "fake"}
    corpus, idx = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    r = run("index", "--corpus", str(corpus), "--index", str(idx), "--quiet", env_extra=env)
    assert r.returncode == 0, r.stderr
    assert "indexed 3 documents" in r.stdout and "passages/s" in r.stdout
    r = run("index", "--corpus", str(corpus), "--index", str(idx), "--quiet", env_extra=env)
    assert r.returncode == 0 and "up to date" in r.stdout
    r = run("ask", "Who surveyed the harbour of Ostland?", "--index", str(idx), "--json", env_extra=env)
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert set(a) >= {"question", "status", "answer", "confidence", "citations", "notes"}
    # (a damaged index through the real command: test_index.test_corruption_through_the_real_command)


def test_an_unknown_qa_variable_is_refused_in_one_line(tmp_path):
    r = run("ask", "Who led Wilayat Khorasan?", "--index", str(tmp_path / "none"), env_extra={"QA_READR": "off"})
    assert r.returncode == 2 and "unknown setting QA_READR" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_corpus_exits_2(tmp_path):
    r = run("index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i"), env_extra={"QA_EMBEDDER": "fake"})
    assert r.returncode == 2 and "corpus folder not found" in r.stderr and "Traceback" not in r.stderr


def test_conflicts_are_printed_with_their_citations(capsys):
    c1 = Citation(1, "a", "Doc A", "corpus/a.txt", "p1", 0, 10, "nine Pakistanis", 0.9, "2016")
    c2 = Citation(2, "b", "Doc B", "corpus/b.txt", "p2", 0, 10, "11 of the 12", 0.8, "2016-08")
    a = Answer("How many?", "answered", "nine", 0.7, (c1, c2), ("The sources disagree: nine [1]; 11 [2].",),
               (Conflict("nine", (1,)), Conflict("11", (2,))), agreeing=1, considered=2, as_of="2016")
    d = a.to_dict()
    assert d["conflicts"] == [{"value": "nine", "citations": [1]}, {"value": "11", "citations": [2]}]
    json.dumps(d)
    _print_answer(a)
    out = capsys.readouterr().out
    assert "Sources disagree" in out and "nine: [1]" in out and "11: [2]" in out and "1 of 2 sources agree" in out


def test_a_declined_answer_prints_the_decline_once_with_no_agreement_count(capsys):
    c = Citation(1, "a", "Doc A", "corpus/a.txt", "p1", 0, 10, "nine Pakistanis", 0.4, "2016")
    a = Answer("What is the capital of France?", "declined", None, 0.01, (), ("The corpus does not say.",),
               agreeing=0, considered=5, closest=(c,))
    _print_answer(a)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "The corpus does not say."
    assert out.count("does not say") == 1 and "sources agree" not in out
    assert "Closest material:" in out and "nine Pakistanis" in out


def test_a_decline_names_its_reason_and_the_terms_the_documents_never_mention(capsys):
    c = Citation(1, "a", "Doc A", "corpus/a.txt", "p1", 0, 10, "Operation in North Waziristan", 0.4, "2016")
    a = Answer("When did Operation Zarb-e-Azb start?", "declined", None, 0.0, (),
               ("The documents never mention Zarb-e-Azb.",), closest=(c,), decline_reason="not_mentioned",
               missing_terms=("Zarb-e-Azb",))
    assert a.to_dict()["decline_reason"] == "not_mentioned" and a.to_dict()["missing_terms"] == ["Zarb-e-Azb"]
    _print_answer(a)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "The documents never mention Zarb-e-Azb."
    assert "declined: not mentioned in the documents" in out and "never mentioned: Zarb-e-Azb" in out
    assert out.count("never mention Zarb-e-Azb.") == 1 and "Closest material:" in out


def test_an_unexpected_error_is_one_line_unless_qa_debug(monkeypatch, capsys):
    import qa.cli

    def broken(args, settings):
        raise RuntimeError("a bug")

    monkeypatch.setitem(qa.cli.COMMANDS, "ask", broken)
    monkeypatch.delenv("QA_DEBUG", raising=False)
    assert qa.cli.main(["ask", "Who?"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["qa ask: error: unexpected RuntimeError: a bug (set QA_DEBUG=1 for the traceback)"]
    monkeypatch.setenv("QA_DEBUG", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        qa.cli.main(["ask", "Who?"])


def test_chat_on_a_pipe_keeps_the_conversation_one_json_answer_a_line(tmp_path):
    env = {"QA_EMBEDDER": "fake"}
    corpus, idx = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    assert run("index", "--corpus", str(corpus), "--index", str(idx), "--quiet", env_extra=env).returncode == 0
    lines = ["Who surveyed the harbour of Ostland?", "", "When did she return?", "=When did she return?", "x" * 1001,
             "When was the lighthouse lit?"]
    r = subprocess.run([sys.executable, "-m", "qa", "chat", "--index", str(idx)], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
                       cwd=PROJECT_ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == 5  # the blank line is skipped; the refused one still has its line
    first, follow, written, refused, other = out
    assert first["understood_as"] is None and first["answer"] == "Marta Kell"
    assert follow["question"] == "When did she return?" and follow["understood_as"] == "When did Marta Kell return?"
    assert written["understood_as"] is None  # "=" asks it as written
    assert "limit is 1000" in refused["error"] and "limit is 1000" in r.stderr and "Traceback" not in r.stderr
    assert other["understood_as"] is None and other["question"] == "When was the lighthouse lit?"
    ask = run("ask", "When was the lighthouse lit?", "--index", str(idx), "--json", env_extra=env)
    assert json.loads(ask.stdout) == other  # a new question in a conversation is answered as qa ask answers it


def test_chat_refuses_a_bad_k_before_loading_anything(tmp_path):
    r = run("chat", "--k", "0", "--index", str(tmp_path / "none"))
    assert r.returncode == 2 and "k must be between" in r.stderr and "Traceback" not in r.stderr
