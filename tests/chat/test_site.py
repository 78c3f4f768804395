"""qa.chat.site and qa.chat.shelf: which collections a chat visitor may open, and the engine of each."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from qa.chat.access import NO_ACCESS
from qa.chat.shelf import Shelf
from qa.chat.site import Site
from qa.errors import QAError
from qa.workspace import Workspace
from qa.workspace.answerers import Answerers


class FakeIndex:
    def __init__(self, build):
        self.manifest = {"build_id": build}
        self.documents, self.passages = {}, []
        self.store = None


def opener_of(builds):
    """Answerers whose published build is `builds[name]` (a test changes it to publish a new one)."""
    opened = []

    def open_collection(c):
        opened.append(c.name)
        return SimpleNamespace(index=FakeIndex(builds[c.name]), name=c.name)

    return Answerers(open_collection, build_of=lambda c: builds.get(c.name)), opened


@pytest.fixture
def ws(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.users.add("ana", "a-pass")
    ws.users.add("bo", "b-pass")
    ws.create_collection("harbour", owner="ana")
    ws.create_collection("archive", owner="bo")
    return ws


def test_roles_are_asked_on_every_request_and_a_nameless_request_is_refused(ws):
    answerers, _ = opener_of({"harbour": "b1", "archive": "b2"})
    site = Site(ws, Shelf(ws, answerers, demo=SimpleNamespace(index=FakeIndex("d"))), "harbour", signed_in=True)
    assert site.may("ana", "harbour") and not site.may("bo", "harbour")
    assert not site.may(None, "harbour") and not site.may("", "demo")  # signed in, yet nameless: never the operator
    ws.grant("harbour", "bo", "reader")
    assert site.may("bo", "harbour") and not site.may("bo", "harbour", "editor")  # no restart
    ws.revoke("harbour", "bo")
    assert not site.may("bo", "harbour")
    assert site.may("bo", "demo") and not site.may("bo", "demo", "editor")  # the demo: read by all, changed by none
    assert not site.may("ana", "nope")  # a missing collection refuses, never raises
    with pytest.raises(QAError, match="make you a reader"):
        site.open("bo", "harbour")
    with pytest.raises(QAError) as missing:
        site.open("bo", "nope")
    assert str(missing.value) == NO_ACCESS  # the same words: a name's existence never leaks


def test_the_picker_offers_what_the_visitor_may_read_the_served_one_first(ws):
    answerers, _ = opener_of({})
    site = Site(ws, Shelf(ws, answerers), "harbour", signed_in=True)
    assert site.choices("ana") == ["harbour", "demo"]
    assert site.choices("bo") == ["demo", "archive"]
    assert site.start("bo") == "demo" and site.start(None) is None and site.choices(None) == []
    single = Site(Workspace.open(ws.root.parent / "solo"), Shelf(None), signed_in=False)
    assert single.choices(None) == ["demo"] and single.role(None, "demo") == "reader"


def test_without_sign_in_the_operator_owns_every_collection_but_the_demo(ws, tmp_path):
    solo = Workspace.open(tmp_path / "solo")
    solo.create_collection("notes")
    site = Site(solo, Shelf(solo, opener_of({})[0]), signed_in=False, jobs=object())
    assert site.may(None, "notes", "owner") and site.editable("notes")
    assert site.may(None, "demo") and not site.editable("demo")
    assert not Site(solo, Shelf(solo), signed_in=False).editable("notes")  # no jobs runner: nothing is changed


def test_the_shelf_reopens_a_collection_once_a_new_build_is_published(ws):
    builds = {"harbour": "b1"}
    answerers, opened = opener_of(builds)
    shelf = Shelf(ws, answerers)
    first = shelf.get("harbour")
    assert shelf.get("harbour") is first and opened == ["harbour"]  # one engine, library and pages per build
    assert first.build_id == "b1"
    builds["harbour"] = "b2"
    second = shelf.get("harbour")
    assert second is not first and second.build_id == "b2" and opened == ["harbour", "harbour"]


def test_an_answerer_opened_at_start_up_is_used_for_its_build(ws):
    builds = {"harbour": "b1"}
    answerers, opened = opener_of(builds)
    shelf = Shelf(ws, answerers)
    mine = SimpleNamespace(index=FakeIndex("b1"))
    shelf.hold("harbour", mine)
    assert shelf.get("harbour").answerer is mine and opened == []
    demo = SimpleNamespace(index=FakeIndex("d"))
    assert Shelf(ws, answerers, demo=demo).get("demo").answerer is demo


def test_a_single_answerer_site_serves_it_to_everyone():
    answerer = SimpleNamespace(index=FakeIndex("x"))
    site = Site.single(answerer)
    assert not site.has_collections and site.open(None, None).answerer is answerer
    assert site.may(None, None) and not site.may(None, None, "editor") and not site.editable("demo")
