"""The CLI boundary: clear messages and exit codes, never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, PROJECT_ROOT


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


def test_fake_index_build_noop_and_corruption_through_the_cli(tmp_path):
    env = {"QA_EMBEDDER": "fake"}
    idx = tmp_path / "index"
    r = run("index", "--corpus", str(CORPUS), "--index", str(idx), "--quiet", env_extra=env)
    assert r.returncode == 0, r.stderr
    assert "indexed 5 documents" in r.stdout and "passages/s" in r.stdout
    r = run("index", "--corpus", str(CORPUS), "--index", str(idx), "--quiet", env_extra=env)
    assert r.returncode == 0 and "up to date" in r.stdout
    r = run("ask", "Who led Wilayat Khorasan?", "--index", str(idx), "--json", env_extra=env)
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert set(a) >= {"question", "status", "answer", "confidence", "citations", "notes"}
    p = idx / "passages.jsonl"
    data = bytearray(p.read_bytes())
    data[10] ^= 0x20
    p.write_bytes(bytes(data))
    r = run("ask", "Who led Wilayat Khorasan?", "--index", str(idx), env_extra=env)
    assert r.returncode == 2 and "corrupt" in r.stderr and "qa index" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_corpus_exits_2(tmp_path):
    r = run("index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i"), env_extra={"QA_EMBEDDER": "fake"})
    assert r.returncode == 2 and "corpus folder not found" in r.stderr and "Traceback" not in r.stderr
