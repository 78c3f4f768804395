"""Every command the program prints as advice, pasted into a shell as it stands, loses nothing.

Each case damages or outdates a user's index (in folders whose names need quoting), takes the command
the error message prints between backticks, runs it literally with bash from another directory, and
checks the index afterwards: the same documents, from the same folder, answering again. Advice that
cannot name the user's folder must fail harmlessly when pasted, leaving the index as it was.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import DOCS, OTHER_DOCS, env_with, flip_byte, write_corpus

from conftest import PROJECT_ROOT

BIN = Path(sys.executable).parent  # where the `qa` command of this installation lives
pytestmark = pytest.mark.slow  # a dozen index builds and pastes in subprocesses: about 50 s

ADVICE = re.compile(r"`(qa [^`]+)`")


def qa(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env_with(),
                          cwd=str(cwd), timeout=120)


def paste(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command as a user would paste it: through the shell, `qa` found on the PATH."""
    env = {**env_with(), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, cwd=str(cwd), timeout=120)


def advice(stderr: str) -> str:
    found = ADVICE.findall(stderr)
    assert len(found) == 1, f"expected one command in {stderr!r}"
    return found[0]


def holdings(index: Path, cwd: Path) -> list[tuple[str, str]]:
    r = qa("docs", "--index", str(index), "--json", cwd=cwd)
    assert r.returncode == 0, r.stderr
    return sorted((d["doc_id"], d["source"]) for d in json.loads(r.stdout)["documents"])


@pytest.fixture
def user(tmp_path):
    """A user's folder and its index, built from a working directory of their own, with a relative
    --corpus (it must be recorded absolute); and a second directory to paste advice from."""
    home = tmp_path / "home"
    corpus = write_corpus(home / "my docs")
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir()
    r = qa("index", "--corpus", "my docs", "--index", "my index", "--quiet", cwd=home)
    assert r.returncode == 0, r.stderr
    index = home / "my index"
    return {"home": home, "corpus": corpus, "index": index, "elsewhere": elsewhere,
            "holds": holdings(index, elsewhere)}


def _ask(user) -> subprocess.CompletedProcess:
    return qa("ask", "Who surveyed the harbour of Ostland?", "--index", str(user["index"]), cwd=user["elsewhere"])


def _pasted_advice_rebuilds_the_same_index(user, stderr: str) -> None:
    command = advice(stderr)
    r = paste(command, user["elsewhere"])
    assert r.returncode == 0, f"{command!r} failed: {r.stderr}"
    assert holdings(user["index"], user["elsewhere"]) == user["holds"]
    assert _ask(user).returncode == 0
    assert str(user["corpus"]) in r.stdout  # the summary says which folder it read


def test_the_recorded_folder_and_sources_are_absolute(user):
    assert all(Path(source).is_absolute() and Path(source).parent == user["corpus"] for _, source in user["holds"])


def test_a_stale_index_prints_a_command_that_rebuilds_it_from_its_own_folder(user):
    doc = user["corpus"] / sorted(DOCS)[0]
    doc.write_text(doc.read_text(encoding="utf-8") + "\nA new line.\n", encoding="utf-8")
    r = _ask(user)
    assert r.returncode == 2 and "stale" in r.stderr
    _pasted_advice_rebuilds_the_same_index(user, r.stderr)


@pytest.mark.parametrize("artefact", ["passages.jsonl", "lexicon/stems.json"])
def test_a_damaged_index_prints_a_command_that_rebuilds_it_from_its_own_folder(user, artefact):
    flip_byte(user["index"] / artefact)
    r = _ask(user)
    assert r.returncode == 2 and ("corrupt" in r.stderr or "cannot be read" in r.stderr), r.stderr
    _pasted_advice_rebuilds_the_same_index(user, r.stderr)


def test_an_index_of_an_older_format_prints_a_command_that_rebuilds_it_from_its_own_folder(user):
    m = user["index"] / "manifest.json"
    m.write_text(json.dumps({**json.loads(m.read_text(encoding="utf-8")), "format_version": 0}), encoding="utf-8")
    r = _ask(user)
    assert r.returncode == 2 and "format version" in r.stderr
    _pasted_advice_rebuilds_the_same_index(user, r.stderr)


def test_advice_that_cannot_know_the_folder_fails_harmlessly_when_pasted(user):
    """A manifest too damaged to say which folder it came from: the advice names FOLDER, and pasting it
    as it stands refuses in one line and leaves the index's files as they were."""
    m = user["index"] / "manifest.json"
    m.write_text("{not json", encoding="utf-8")
    r = _ask(user)
    assert r.returncode == 2 and "--corpus FOLDER" in r.stderr
    before = sorted((p.relative_to(user["index"]).as_posix(), p.read_bytes()) for p in user["index"].rglob("*") if p.is_file())
    pasted = paste(advice(r.stderr), user["elsewhere"])
    assert pasted.returncode == 2 and "Traceback" not in pasted.stderr
    after = sorted((p.relative_to(user["index"]).as_posix(), p.read_bytes()) for p in user["index"].rglob("*") if p.is_file())
    assert after == before
    # without --corpus the damaged index is not guessed at either (it would be the bundled corpus)
    r = qa("index", "--index", str(user["index"]), "--quiet", cwd=user["elsewhere"])
    assert r.returncode == 2 and "does not record which folder" in r.stderr


def test_a_missing_index_names_the_folder_to_give_and_pasting_it_creates_nothing(tmp_path):
    where = tmp_path / "no such index"
    r = qa("ask", "Who surveyed the harbour?", "--index", str(where), cwd=tmp_path)
    assert r.returncode == 2 and "no index at" in r.stderr
    pasted = paste(advice(r.stderr), tmp_path)
    assert pasted.returncode == 2 and "corpus folder not found" in pasted.stderr and "FOLDER" in pasted.stderr
    assert not where.exists()


def test_qa_index_without_corpus_rebuilds_from_the_recorded_folder_from_anywhere(user):
    (user["corpus"] / "added.txt").write_text("The lighthouse of Ostland was lit in 1890.\n", encoding="utf-8")
    r = qa("index", "--index", str(user["index"]), "--quiet", cwd=user["elsewhere"])
    assert r.returncode == 0, r.stderr
    assert holdings(user["index"], user["elsewhere"]) == sorted(
        user["holds"] + [("added", str(user["corpus"] / "added.txt"))])


def test_another_folder_is_refused_in_one_line_naming_both_unless_forced(user):
    other = write_corpus(user["home"] / "other docs", OTHER_DOCS)
    r = qa("index", "--corpus", str(other), "--index", str(user["index"]), "--quiet", cwd=user["elsewhere"])
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1
    assert str(user["corpus"]) in lines[0] and str(other) in lines[0] and "--force" in lines[0]
    assert holdings(user["index"], user["elsewhere"]) == user["holds"]
    r = qa("index", "--corpus", str(other), "--index", str(user["index"]), "--force", "--quiet", cwd=user["elsewhere"])
    assert r.returncode == 0, r.stderr
    assert {Path(s).parent for _, s in holdings(user["index"], user["elsewhere"])} == {other}


def test_the_same_documents_in_a_new_place_are_the_same_corpus(user):
    """A folder moved (or copied) with every file the same is no other corpus: no --force needed."""
    moved = user["home"] / "moved docs"
    user["corpus"].rename(moved)
    r = qa("index", "--index", str(user["index"]), "--quiet", cwd=user["elsewhere"])
    assert r.returncode == 2 and "not there any more" in r.stderr
    r = qa("index", "--corpus", str(moved), "--index", str(user["index"]), "--quiet", cwd=user["elsewhere"])
    assert r.returncode == 0, r.stderr
    assert {Path(s).parent for _, s in holdings(user["index"], user["elsewhere"])} == {moved}


def test_rebuild_commands_are_written_only_by_index_command():
    """Advice to run `qa index` on a given index is made in one place (qa.errors.index_command), which
    quotes the path and makes it absolute: no f-string elsewhere splices a path or URL into one."""
    offenders = []
    for path in [*sorted((PROJECT_ROOT / "qa").rglob("*.py")), PROJECT_ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.JoinedStr):
                continue
            for a, b in zip(node.values, node.values[1:]):
                if isinstance(a, ast.Constant) and isinstance(b, ast.FormattedValue) and "`qa index" in str(a.value) \
                        and str(a.value).endswith(("--index ", "--store ", "--corpus ")):
                    offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_printed_command_is_quoted_absolute_and_masks_a_password(tmp_path, monkeypatch):
    from qa.errors import IndexProblem, index_command

    monkeypatch.chdir(tmp_path)
    assert index_command("my index") == f"qa index --index '{tmp_path / 'my index'}'"
    assert index_command("postgresql://me:secret@db/qa") == "qa index --store 'postgresql://me:***@db/qa'"
    assert "secret" not in str(IndexProblem("stale", "postgresql://me:secret@db/qa"))


def test_a_stale_store_prints_a_command_that_rebuilds_it_from_its_own_folder(tmp_path):
    """The same for a PostgreSQL store: the hint names the store (not its local copy of files)."""
    from servers import postgres_server

    corpus = write_corpus(tmp_path / "my docs")
    with postgres_server() as url:
        assert qa("index", "--corpus", str(corpus), "--store", url, "--quiet", cwd=tmp_path).returncode == 0
        doc = corpus / sorted(DOCS)[0]
        doc.write_text(doc.read_text(encoding="utf-8") + "\nA new line.\n", encoding="utf-8")
        r = qa("ask", "Who surveyed the harbour of Ostland?", "--store", url, cwd=tmp_path)
        assert r.returncode == 2 and "stale" in r.stderr and "--store" in advice(r.stderr)
        pasted = paste(advice(r.stderr), tmp_path)
        assert pasted.returncode == 0, pasted.stderr
        assert qa("ask", "Who surveyed the harbour of Ostland?", "--store", url, cwd=tmp_path).returncode == 0
