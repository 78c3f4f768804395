"""`qa collections`, `qa users` and `--collection` through the real command: output, files, one-line errors."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from qa.errors import QAError
from qa.settings import PROJECT_ROOT
from qa.workspace import Workspace
from qa.workspace.commands import read_password
from support import assert_one_line_error, env_with, write_corpus


def qa(ws_dir, *args, stdin="", **env):
    return subprocess.run([sys.executable, "-m", "qa", *args], input=stdin, capture_output=True, text=True,
                          env=env_with(QA_WORKSPACE=str(ws_dir), **env), cwd=str(PROJECT_ROOT), timeout=120)


def test_users_add_from_a_pipe_token_list_revoke_remove(tmp_path):
    w = tmp_path / "ws"
    r = qa(w, "users", "add", "ana", stdin="two words \n")
    assert r.returncode == 0 and "added user ana" in r.stdout, r.stderr
    users = Workspace.open(w).users
    assert users.verify("ana", "two words ")  # only the line end is removed
    assert_one_line_error(*_rc_err(qa(w, "users", "add", "bo", stdin="\n")), command="users")
    assert_one_line_error(*_rc_err(qa(w, "users", "add", "ana", stdin="x\n")), command="users")
    assert_one_line_error(*_rc_err(qa(w, "users", "add", "../x", stdin="x\n")), command="users")
    assert users.names() == ["ana"]

    r = qa(w, "users", "token", "ana")
    token = r.stdout.strip()
    assert r.returncode == 0 and users.user_for_token(token) == "ana"
    assert "shown only now" in r.stderr
    [info] = users.tokens("ana")
    r = qa(w, "users", "list", "--json")
    listed = json.loads(r.stdout)
    assert listed[0]["name"] == "ana" and listed[0]["tokens"][0]["id"] == info.id
    assert token.split("_", 2)[2] not in r.stdout  # never the secret
    assert info.id in qa(w, "users", "list").stdout

    r = qa(w, "users", "revoke-token", info.id)
    assert r.returncode == 0 and users.user_for_token(token) is None
    assert_one_line_error(*_rc_err(qa(w, "users", "revoke-token", info.id)), command="users")
    r = qa(w, "users", "remove", "ana")
    assert r.returncode == 0 and not users.any()
    assert "no users" in qa(w, "users", "list").stdout


def _rc_err(r):
    return r.returncode, r.stderr


def test_read_password_on_a_terminal_asks_twice(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    answers = iter(["pw", "pw"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert read_password(Tty()) == "pw"
    answers = iter(["pw", "other"])
    with pytest.raises(QAError, match="differ"):
        read_password(Tty())
    answers = iter([""])
    with pytest.raises(QAError, match="empty"):
        read_password(Tty())
    assert read_password(io.StringIO("line one\nline two\n")) == "line one"
    with pytest.raises(QAError, match="empty"):
        read_password(io.StringIO(""))


def test_collections_create_grant_revoke_list_delete(tmp_path):
    w = tmp_path / "ws"
    ws = Workspace.open(w)
    from workspace_fixtures import fast

    fast(ws).users.add("ana", "pw")
    ws.users.add("bo", "pw")
    r = qa(w, "collections", "create", "harbour", "--owner", "ana")
    assert r.returncode == 0 and "qa index --collection harbour" in r.stdout, r.stderr
    assert qa(w, "collections", "grant", "harbour", "bo", "editor").returncode == 0
    assert ws.role("bo", "harbour") == "editor"
    r = qa(w, "collections", "list", "--json")
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["harbour"]["members"] == {"ana": "owner", "bo": "editor"} and "demo" in rows
    r = qa(w, "collections", "list")
    assert "harbour  (ana owner; bo editor)" in r.stdout and "every signed-in user" in r.stdout
    assert qa(w, "collections", "revoke", "harbour", "bo").returncode == 0
    assert ws.role("bo", "harbour") is None
    r = qa(w, "collections", "grant", "harbour", "bo", "admin")
    assert r.returncode == 2 and "invalid choice" in r.stderr  # argparse's own message
    for args in (("create", "../x"), ("create", "harbour"), ("delete", "demo"), ("delete", "nope"),
                 ("grant", "harbour", "ghost", "reader"), ("revoke", "harbour", "bo")):
        assert_one_line_error(*_rc_err(qa(w, "collections", *args)), command="collections")
    r = qa(w, "collections", "delete", "harbour")
    assert r.returncode == 0 and ws.names() == ["demo"]
    assert not (w / "collections" / "harbour").exists()


def test_index_and_ask_a_collection_with_the_fake_embedder(tmp_path):
    w = tmp_path / "ws"
    assert qa(w, "collections", "create", "harbour").returncode == 0
    r = qa(w, "ask", "Who surveyed the harbour of Ostland?", "--collection", "harbour")
    assert_one_line_error(r.returncode, r.stderr)
    assert "qa index --collection harbour" in r.stderr  # not the folder-level hint
    write_corpus(w / "collections" / "harbour" / "documents")
    r = qa(w, "index", "--collection", "harbour", "--quiet")
    assert r.returncode == 0 and "indexed 3 documents" in r.stdout, r.stderr
    r = qa(w, "ask", "Who surveyed the harbour of Ostland?", "--collection", "harbour", "--json")
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert a["citations"] and all("/collections/harbour/documents/" in c["source"] for c in a["citations"])
    r = qa(w, "docs", "--collection", "harbour", "--json")
    assert r.returncode == 0 and len(json.loads(r.stdout)["documents"]) == 3


@pytest.mark.parametrize("args", [
    ("ask", "Who?", "--collection", "demo", "--index", "/tmp/i"),
    ("index", "--collection", "demo", "--corpus", "/tmp/c"),
    ("ask", "Who?", "--collection", "nope"),
    ("ask", "Who?", "--collection", "../etc"),
])
def test_collection_arguments_are_checked_in_one_line(tmp_path, args):
    r = qa(tmp_path / "ws", *args)
    assert_one_line_error(r.returncode, r.stderr, command=args[0])
    if "--index" in args or "--corpus" in args:
        assert "cannot be combined" in r.stderr
    if "nope" in args:
        assert "collections: demo" in r.stderr


def test_store_flags_must_agree_with_the_collection(tmp_path):
    w = tmp_path / "ws"
    Workspace.open(w).create_collection("pg", store="postgresql://u@h/one")
    Workspace.open(w).create_collection("folder")
    r = qa(w, "ask", "Who?", "--collection", "pg", "--store", "postgresql://u@h/two")
    assert_one_line_error(r.returncode, r.stderr)
    assert "keeps its index in postgresql://u@h/one" in r.stderr
    r = qa(w, "ask", "Who?", "--collection", "folder", "--store", "postgresql://u@h/two")
    assert_one_line_error(r.returncode, r.stderr)
    assert "in its folder" in r.stderr


def test_an_unknown_workspace_variable_typo_is_still_refused(tmp_path):
    r = qa(tmp_path / "ws", "collections", "list", QA_WORKSPCE="x")
    assert_one_line_error(r.returncode, r.stderr, command="collections")


def test_index_with_store_records_it_for_the_collection(tmp_path):
    from argparse import Namespace

    from qa.settings import Settings
    from qa.workspace.commands import collection_target

    ws = Workspace.open(tmp_path / "ws")
    ws.create_collection("harbour")
    settings = Settings(workspace=ws.root, store="postgresql://env@h/ignored")
    c, s = collection_target(Namespace(collection="harbour", corpus=None, index=None, store=None), settings)
    assert s.store is None  # QA_STORE does not apply: the collection's record says where its index is
    c, s = collection_target(Namespace(collection="harbour", corpus=None, index=None, store="postgresql://h/db"),
                             settings, building=True)
    assert c.store == s.store == "postgresql://h/db" and ws.collection("harbour").store == "postgresql://h/db"
    c, s = collection_target(Namespace(collection="demo", corpus=None, index=None, store="postgresql://h/d"), settings)
    assert c.is_demo and s.store == "postgresql://h/d" and c.documents == PROJECT_ROOT / "corpus"
