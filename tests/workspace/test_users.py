"""qa.workspace.users: argon2 passwords, constant-time checks, tokens stored hashed and revocable."""
from __future__ import annotations

import json

import pytest

from qa.errors import QAError
from workspace_fixtures import ws  # noqa: F401  (the fixture)


def test_add_and_verify(ws):
    assert not ws.users.any()
    ws.users.add("ana", "correct horse")
    assert ws.users.any() and ws.users.names() == ["ana"] and "ana" in ws.users
    assert ws.users.verify("ana", "correct horse")
    assert not ws.users.verify("ana", "correct hors")
    assert not ws.users.verify("nobody", "correct horse")
    assert not ws.users.verify("ana", None)
    stored = json.loads((ws.root / "users.json").read_text())
    assert stored["users"]["ana"]["hash"].startswith("$argon2id$")
    assert "correct horse" not in (ws.root / "users.json").read_text()


def test_an_unknown_user_costs_a_hash_too(ws):
    calls = []
    real = ws.users._hasher

    class Counting:  # PasswordHasher has slots: wrap it rather than patch it
        def verify(self, h, p):
            calls.append(h)
            return real.verify(h, p)

        def __getattr__(self, name):
            return getattr(real, name)

    ws.users._hasher = Counting()
    assert not ws.users.verify("nobody", "x")
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


@pytest.mark.parametrize("name,password,match", [("ana", "", "empty"), ("../ana", "pw", "valid user name"),
                                                 ("ana", "x" * 5000, "over")])
def test_bad_names_and_passwords_are_refused(ws, name, password, match):
    with pytest.raises(QAError, match=match):
        ws.users.add(name, password)
    assert not ws.users.any()


def test_a_name_is_taken_once(ws):
    ws.users.add("ana", "a")
    with pytest.raises(QAError, match="already exists"):
        ws.users.add("ana", "b")
    assert ws.users.verify("ana", "a")


def test_a_weaker_hash_is_upgraded_on_sign_in(ws):
    from argon2 import PasswordHasher

    ws.users.add("ana", "pw")
    old = json.loads((ws.root / "users.json").read_text())["users"]["ana"]["hash"]
    ws.users._hasher = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    assert ws.users.verify("ana", "pw")
    new = json.loads((ws.root / "users.json").read_text())["users"]["ana"]["hash"]
    assert new != old and "t=2" in new and ws.users.verify("ana", "pw")


def test_tokens_are_shown_once_stored_hashed_and_revocable(ws):
    ws.users.add("ana", "pw")
    token = ws.users.new_token("ana")
    assert token.startswith("qa_") and len(token) > 50
    assert ws.users.user_for_token(token) == "ana"
    text = (ws.root / "users.json").read_text()
    secret = token.split("_", 2)[2]
    assert secret not in text
    [info] = ws.users.tokens("ana")
    assert token.startswith(f"qa_{info.id}_") and info.user == "ana" and info.created
    assert secret not in repr(info)
    other = ws.users.new_token("ana")
    assert ws.users.revoke_token(info.id) == "ana"
    assert ws.users.user_for_token(token) is None and ws.users.user_for_token(other) == "ana"
    assert ws.users.revoke_token(other) == "ana"  # the whole token works as well as its id
    with pytest.raises(QAError, match="no token"):
        ws.users.revoke_token(info.id)


@pytest.mark.parametrize("bad", ["", "qa_", "qa_zz_zz", None, 12, "qa_000000000000_" + "A" * 43])
def test_malformed_or_unknown_tokens_are_nobody(ws, bad):
    ws.users.add("ana", "pw")
    ws.users.new_token("ana")
    assert ws.users.user_for_token(bad) is None


def test_a_token_with_one_character_changed_is_nobody(ws):
    ws.users.add("ana", "pw")
    token = ws.users.new_token("ana")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert ws.users.user_for_token(flipped) is None


def test_tokens_of_unknown_users_are_refused(ws):
    with pytest.raises(QAError, match="no user 'ghost'"):
        ws.users.new_token("ghost")


def test_remove_drops_tokens_and_roles(ws):
    ws.users.add("ana", "pw")
    ws.users.add("bo", "pw")
    token = ws.users.new_token("ana")
    ws.create_collection("harbour", owner="ana")
    ws.grant("harbour", "bo", "reader")
    ws.users.remove("ana")
    assert ws.users.names() == ["bo"]
    assert ws.users.user_for_token(token) is None
    assert ws.members("harbour") == {"bo": "reader"}
    ws.users.add("ana", "new")  # the name given again inherits nothing
    assert ws.role("ana", "harbour") is None and ws.users.tokens("ana") == []
    with pytest.raises(QAError, match="no user"):
        ws.users.remove("ghost")
