"""`make cluster-demo` end to end: Ray (two nodes, in a loopback-only netns) builds the bundled corpus into a
throw-away PostgreSQL; two app replicas serve it and answer the gold test split as the local FAISS index
does; 200 concurrent questions over both replicas meet no error."""
from __future__ import annotations

import sys

import pytest

from conftest import PROJECT_ROOT
from servers import postgres_unavailable_reason, ray_unavailable_reason

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))

pytestmark = [pytest.mark.slow, pytest.mark.model]


def test_the_cluster_demo_builds_serves_and_agrees_with_faiss():
    for reason in (postgres_unavailable_reason(), ray_unavailable_reason()):
        if reason:
            print(f"SKIP: {reason}")
            pytest.skip(reason)
    import cluster_demo

    res = cluster_demo.run(log=print)
    assert res["replicas_agree"], res["differ"]
    assert res["same_as_faiss"] == [res["questions"]] * 2, res["differ"]
    assert res["load"]["requests"] == 200 and res["load"]["errors"] == 0, res["load"]["error_examples"]
    assert res["ok"]
