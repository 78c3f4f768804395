"""qa.workspace.files: names are safe slugs; a write is all or nothing; two processes writing at once both land."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from qa.settings import PROJECT_ROOT
from qa.errors import QAError
from qa.workspace.files import check_name, read_json, write_json_atomic


@pytest.mark.parametrize("name", ["a", "Harbour_2", "x-y", "A" * 64])
def test_safe_names_pass(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "..", "../x", "a/b", "a\\b", "a\x00b", "a b", "x.y", "A" * 65, None, 3, "é"])
def test_unsafe_names_are_refused_with_the_rule(name):
    with pytest.raises(QAError, match="letters, digits"):
        check_name(name)


def test_a_crash_between_write_and_replace_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    write_json_atomic(path, {"v": 1})

    def crash(*_a, **_k):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_json_atomic(path, {"v": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["users.json"]  # the temporary file is gone too
    assert (path.stat().st_mode & 0o777) == 0o600


def test_a_damaged_file_is_refused_not_replaced(tmp_path):
    path = tmp_path / "users.json"
    path.write_text("{half", encoding="utf-8")
    with pytest.raises(QAError, match="not valid JSON"):
        read_json(path, {})
    assert read_json(tmp_path / "none.json", {"empty": True}) == {"empty": True}


ADDER = """
import sys
from argon2 import PasswordHasher
from qa.workspace import Workspace
ws = Workspace.open(sys.argv[1])
ws.users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
for i in range(int(sys.argv[3])):
    ws.users.add(f"{sys.argv[2]}{i}", "pw")
    ws.users.new_token(f"{sys.argv[2]}{i}")
"""


def test_concurrent_adds_from_two_processes_all_land(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", ADDER, str(tmp_path / "ws"), who, "8"], env=env,
                              stderr=subprocess.PIPE, text=True) for who in ("a", "b")]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    from qa.workspace import Workspace

    users = Workspace.open(tmp_path / "ws").users
    assert users.names() == sorted([f"a{i}" for i in range(8)] + [f"b{i}" for i in range(8)])
    assert all(len(users.tokens(n)) == 1 for n in users.names())
