"""qa.chat.access: the chat's sign-in check over the workspace's accounts."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from qa.chat.access import password_check
from qa.errors import QAError
from qa.workspace import Workspace


def test_password_check_verifies_against_the_workspace(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.users.add("ana", "correct horse")
    check = password_check(ws)
    assert asyncio.run(check("ana", "correct horse")) is True
    assert asyncio.run(check("ana", "wrong")) is False
    assert asyncio.run(check("bo", "correct horse")) is False


def test_an_unreadable_workspace_refuses_the_sign_in_and_says_why_in_the_log():
    def broken(name, password):
        raise QAError("users.json is damaged")

    said = []
    check = password_check(SimpleNamespace(users=SimpleNamespace(verify=broken)), said.append)
    assert asyncio.run(check("ana", "x")) is False
    assert said == ["sign-in refused: users.json is damaged"]
