"""Shared by the workspace tests: a fresh workspace with a fast argon2 hasher (the default takes ~0.4 s a hash here)."""
from __future__ import annotations

import pytest


def fast(ws):
    """The workspace with argon2 parameters cheap enough for tests (same algorithm, same code path)."""
    from argon2 import PasswordHasher

    ws.users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return ws


@pytest.fixture
def ws(tmp_path):
    from qa.workspace import Workspace

    return fast(Workspace.open(tmp_path / "ws"))
