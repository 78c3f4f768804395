"""qa.chat.access: the chat's sign-in check over the workspace's accounts."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from qa.chat.access import check_listening, is_loopback, password_check
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


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True), ("LocalHost", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("10.0.0.1", False),
    ("my-host.lan", False), ("localhost.evil.example", False), ("", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_no_users_on_an_open_address_is_refused_unless_the_operator_says_so():
    with pytest.raises(QAError) as e:
        check_listening("0.0.0.0", has_users=False)
    assert "no users" in str(e.value) and "--insecure-no-auth" in str(e.value) and "\n" not in str(e.value)
    check_listening("0.0.0.0", has_users=False, insecure_no_auth=True)
    check_listening("0.0.0.0", has_users=True)
    check_listening("127.0.0.1", has_users=False)
