"""The throw-away servers of tests/servers.py start, answer, and leave nothing behind."""
from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from servers import postgres_server, ray_cluster  # noqa: E402

pytestmark = pytest.mark.slow


def test_postgres_server_vector_round_trip():
    psycopg = pytest.importorskip("psycopg")
    with postgres_server() as url:
        assert "host=/" in url  # a unix socket folder, not a TCP host
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute("SELECT extversion FROM pg_extension WHERE extname='vector'").fetchone()[0]
            assert tuple(int(x) for x in version.split(".")[:2]) >= (0, 5), version  # HNSW needs 0.5+
            assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
            conn.execute("CREATE TABLE t (id int PRIMARY KEY, v vector(3))")
            conn.execute("INSERT INTO t VALUES (1,'[1,0,0]'),(2,'[0,1,0]'),(3,'[0.6,0.8,0]')")
            conn.execute("CREATE INDEX ON t USING hnsw (v vector_ip_ops)")
            rows = conn.execute("SELECT id, -(v <#> '[0,1,0]') FROM t ORDER BY v <#> '[0,1,0]' LIMIT 2").fetchall()
            assert [r[0] for r in rows] == [2, 3]
            assert rows[1][1] == pytest.approx(0.8, abs=1e-6)
        pgdata = Path(url.split("host=", 1)[1]).parent
        assert pgdata.exists()
    assert not pgdata.exists()


def _netns_list() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_ray_cluster_runs_tasks_on_two_nodes():
    driver = textwrap.dedent("""
        import ray, time
        ray.init(logging_level="ERROR")
        nodes = [n for n in ray.nodes() if n["Alive"]]
        @ray.remote(num_cpus=1)
        def where():
            time.sleep(0.3)
            return ray.get_runtime_context().get_node_id()
        seen = set(ray.get([where.remote() for _ in range(8)]))
        print(len(nodes), len(seen), int(ray.cluster_resources()["CPU"]))
    """)
    with ray_cluster() as cluster:
        ns = cluster.namespace
        assert ns in _netns_list()
        out = cluster.run(driver, timeout=45)
        assert out.returncode == 0, out.stderr[-3000:]
        assert out.stdout.split()[-3:] == ["2", "2", "2"], out.stdout
        pids = cluster.pids()
        assert pids
    assert ns not in _netns_list()
    still = [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]]
    assert not still, f"left running: {still}"
