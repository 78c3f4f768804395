"""qa.workspace.collections: create, list, delete; names validated; the demo collection; roles and visibility."""
from __future__ import annotations

import dataclasses

import pytest

from qa.errors import QAError
from workspace_fixtures import ws  # noqa: F401  (the fixture)
from qa.settings import PROJECT_ROOT, Settings
from qa.workspace import DEMO, ROLES, Collection, Workspace, allows


def test_open_takes_the_path_then_the_settings(tmp_path):
    assert Workspace.open(tmp_path / "a").root == tmp_path / "a"
    assert Workspace.open(settings=Settings(workspace=tmp_path / "b")).root == tmp_path / "b"
    assert Workspace.open(settings=Settings()).root.as_posix().endswith("var/workspace")
    assert not (tmp_path / "a").exists()  # opening writes nothing
    (tmp_path / "file").write_text("x")
    with pytest.raises(QAError, match="not a folder"):
        Workspace.open(tmp_path / "file")


def test_the_demo_collection_exists_without_being_created(ws):
    [demo] = ws.collections()
    assert demo == Collection(DEMO, PROJECT_ROOT / "corpus", PROJECT_ROOT / "embeddings" / "index")
    assert ws.collection("demo") == demo and demo.is_demo
    with pytest.raises(QAError, match="cannot be deleted"):
        ws.delete_collection("demo")
    with pytest.raises(QAError, match="already exists"):
        ws.create_collection("Demo")
    with pytest.raises(QAError, match="no grants"):
        ws.grant("demo", "ana", "reader")


def test_create_list_and_delete(ws):
    c = ws.create_collection("harbour")
    assert c.name == "harbour" and c.documents.is_dir() and c.created and c.store is None
    assert c.index == ws.root / "collections" / "harbour" / "index" and not c.index.exists()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.name = "x"
    ws.create_collection("archive", store="postgresql://u:secret@h/db")
    assert [x.name for x in ws.collections()] == ["demo", "archive", "harbour"]
    assert ws.collection("archive").location == "postgresql://u:***@h/db"
    (c.documents / "a.txt").write_text("text")
    ws.delete_collection("harbour")
    assert not (ws.root / "collections" / "harbour").exists()
    assert [x.name for x in ws.collections()] == ["demo", "archive"]
    assert not [p for p in (ws.root / "collections").iterdir() if p.name.startswith(".")]


def test_errors_name_what_exists(ws):
    ws.create_collection("harbour")
    with pytest.raises(QAError, match="no collection 'nope'.*demo, harbour"):
        ws.collection("nope")
    with pytest.raises(QAError, match="already exists"):
        ws.create_collection("HARBOUR")
    with pytest.raises(QAError, match="valid collection name"):
        ws.create_collection("../etc")
    with pytest.raises(QAError, match="postgresql"):
        ws.create_collection("x", store="sqlite:///x")
    with pytest.raises(QAError, match="no user 'ghost'"):
        ws.create_collection("y", owner="ghost")
    assert ws.names() == ["demo", "harbour"]


def test_half_made_or_half_deleted_folders_are_never_listed(ws):
    ws.create_collection("harbour")
    (ws.collections_dir / ".new-x-1234").mkdir()
    (ws.collections_dir / ".deleted-y-1234").mkdir()
    (ws.collections_dir / "stray").mkdir()  # no collection.json: not a collection
    assert ws.names() == ["demo", "harbour"]


def test_a_damaged_record_is_refused(ws):
    ws.create_collection("harbour")
    (ws.collections_dir / "harbour" / "collection.json").write_text("{}")
    with pytest.raises(QAError, match="damaged"):
        ws.collection("harbour")


def test_roles_and_visibility(ws):
    for u in ("ana", "bo", "cy"):
        ws.users.add(u, "pw")
    ws.create_collection("private", owner="ana")
    ws.create_collection("shared", owner="ana")
    ws.grant("shared", "bo", "editor")
    assert ws.role("ana", "private") == "owner" and ws.role("bo", "private") is None
    assert ws.role("bo", "shared") == "editor" and ws.role("cy", "shared") is None
    assert ws.role("cy", "demo") == "reader" and ws.role("ghost", "demo") is None
    assert [c.name for c in ws.visible("ana")] == ["demo", "private", "shared"]
    assert [c.name for c in ws.visible("bo")] == ["demo", "shared"]
    assert [c.name for c in ws.visible("cy")] == ["demo"]
    assert ws.visible("ghost") == []
    assert [c.name for c in ws.visible(None)] == ["demo", "private", "shared"]  # single-user mode
    assert ws.role(None, "private") == "owner" and ws.role(None, "demo") == "reader"
    assert ws.may("bo", "shared", "reader") and ws.may("bo", "shared", "editor") and not ws.may("bo", "shared", "owner")
    assert not ws.may("bo", "nope", "reader")
    ws.grant("shared", "bo", "reader")  # a grant replaces the role
    assert ws.members("shared") == {"ana": "owner", "bo": "reader"}
    ws.revoke("shared", "bo")
    assert ws.role("bo", "shared") is None
    with pytest.raises(QAError, match="no role"):
        ws.revoke("shared", "bo")
    with pytest.raises(QAError, match="not a role"):
        ws.grant("shared", "bo", "admin")
    with pytest.raises(QAError, match="no user 'ghost'"):
        ws.grant("shared", "ghost", "reader")


def test_allows_orders_the_roles():
    assert ROLES == ("reader", "editor", "owner")
    assert allows("owner", "editor") and allows("editor", "reader") and not allows("reader", "editor")
    assert not allows(None, "reader")


def test_set_store(ws):
    ws.create_collection("harbour")
    assert ws.set_store("harbour", "postgresql://h/db").store == "postgresql://h/db"
    assert ws.set_store("harbour", None).store is None
