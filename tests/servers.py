"""Throw-away servers for tests: PostgreSQL 16 + pgvector (pgserver wheel) and a two-node Ray cluster.

Both are context managers that clean up on every exit path (and at interpreter exit as a fallback):

    with postgres_server() as url:            # "postgresql://postgres:@/postgres?host=/tmp/qa-pg-.../pgdata"
        psycopg.connect(url)

    with ray_cluster() as cluster:            # head + 1 worker node, each its own process, in a netns
        proc = cluster.run("import ray; ray.init(); print(len(ray.nodes()))")

The PostgreSQL server listens on a unix socket only (pgserver starts postgres with `-h ""`).
The Ray cluster runs in a fresh network namespace that has only loopback, because Ray binds the machine's
address even when told 127.0.0.1; the driver has to run in that namespace too, hence `cluster.run`.
When a server cannot be had (package missing, not root, no `ip netns`), the context manager calls
`pytest.skip` with the reason, which is also printed; it never falls back to something else silently.
"""
from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Sequence

from qa.settings import OFFLINE_ENV

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _skip(reason: str):
    print(f"SKIP: {reason}", file=sys.stderr, flush=True)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------------

def postgres_unavailable_reason() -> str | None:
    """Why postgres_server() would skip, or None when it can run."""
    try:
        import pgserver  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError as e:
        return f"PostgreSQL test server needs the pgserver and psycopg packages ({e})"
    return None


@contextlib.contextmanager
def postgres_server(settings: dict[str, str] | None = None) -> Iterator[str]:
    """A fresh PostgreSQL 16 with the `vector` extension created and checked; yields its psycopg URL.

    The data folder is a new temp dir, the server listens on a unix socket in it (no TCP at all), and
    the server is stopped and the folder removed when the block ends, however it ends. `settings` are
    applied with ALTER SYSTEM + reload (e.g. {"maintenance_work_mem": "1GB"}).

    pgserver, when run as root, runs postgres as a system user `pgserver` it creates with useradd, and
    widens traversal permissions (o+rx) of the folders above the data folder and its binaries.
    """
    reason = postgres_unavailable_reason()
    if reason:
        _skip(reason)
    import pgserver
    import psycopg

    base = Path(tempfile.mkdtemp(prefix="qa-pg-", dir="/tmp"))
    server = None

    def stop():
        nonlocal server
        if server is not None:
            try:
                server.cleanup()  # pg_ctl stop, then (cleanup_mode="delete") rm -rf pgdata
            finally:
                server = None
        shutil.rmtree(base, ignore_errors=True)

    atexit.register(stop)
    try:
        try:
            server = pgserver.get_server(base / "pgdata", cleanup_mode="delete")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
            log = base / "pgdata" / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"pgserver could not start PostgreSQL ({e}); log tail:\n{tail}") from e
        url = server.get_uri()
        info = server.get_postmaster_info()
        if info.socket_dir is None or info.hostname:
            raise RuntimeError(f"PostgreSQL is listening on TCP ({info}); tests want a unix socket only")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute("SELECT '[1,0]'::vector <#> '[0,1]'::vector")  # the operator set works
            for k, v in (settings or {}).items():
                conn.execute(f"ALTER SYSTEM SET {k} = '{v}'")
            if settings:
                conn.execute("SELECT pg_reload_conf()")
        yield url
    finally:
        stop()
        atexit.unregister(stop)


# --------------------------------------------------------------------------------------------------
# Ray
# --------------------------------------------------------------------------------------------------

def ray_unavailable_reason() -> str | None:
    """Why ray_cluster() would skip, or None when it can run."""
    try:
        import ray  # noqa: F401
    except ImportError as e:
        return f"Ray test cluster needs the ray package ({e})"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "Ray test cluster needs root to create a loopback-only network namespace (ip netns)"
    if shutil.which("ip") is None:
        return "Ray test cluster needs the `ip` command (iproute2) for a network namespace"
    return None


def _ray_bin() -> str:
    cand = Path(PYTHON).with_name("ray")
    return str(cand) if cand.exists() else (shutil.which("ray") or "ray")


def _ns_pids(ns: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=10)
    return [int(p) for p in out.stdout.split()] if out.returncode == 0 else []


def _wait_dead(pids: Sequence[int], timeout: float) -> list[int]:
    end = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < end:
        time.sleep(0.2)
        alive = [p for p in alive if _alive(p)]
    return alive


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclasses.dataclass
class RayCluster:
    """A running test cluster: its namespace, GCS address and the `ray start --block` node processes."""

    namespace: str
    address: str
    temp_dir: Path
    nodes: list[subprocess.Popen]
    env: dict[str, str]

    def run(self, code: str | Path, args: Sequence[str] = (), timeout: float = 120,
            env: dict[str, str] | None = None, check: bool = False) -> subprocess.CompletedProcess:
        """Run a Python driver inside the namespace against this cluster (RAY_ADDRESS is set).

        `code` is a script path or Python source. The working directory is the repo root so that
        `import qa` resolves to this checkout. Output is captured as text.
        """
        argv = ["ip", "netns", "exec", self.namespace, PYTHON]
        argv += [str(code)] if isinstance(code, Path) else ["-c", code]
        argv += list(args)
        proc_env = {**self.env, **(env or {})}
        return subprocess.run(argv, cwd=REPO_ROOT, env=proc_env, capture_output=True, text=True,
                              timeout=timeout, check=check)

    def popen(self, code: str | Path, args: Sequence[str] = (), env: dict[str, str] | None = None,
              **kw) -> subprocess.Popen:
        """Like run() but returns the running process (stdout/stderr piped as text)."""
        argv = ["ip", "netns", "exec", self.namespace, PYTHON]
        argv += [str(code)] if isinstance(code, Path) else ["-c", code]
        argv += list(args)
        return subprocess.Popen(argv, cwd=REPO_ROOT, env={**self.env, **(env or {})}, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

    def pids(self) -> list[int]:
        """Every process in the namespace (head, worker node, their Ray workers, drivers)."""
        return _ns_pids(self.namespace)


def _teardown_ns(ns: str, nodes: list[subprocess.Popen], temp_dir: Path) -> list[str]:
    """Stop the node processes, kill whatever else lives in the namespace, delete it. Returns problems."""
    problems: list[str] = []
    # `ray start --block` does not exit promptly on SIGTERM (the head's waits ~30 s or more), so every
    # process in the namespace gets SIGTERM, a short grace, then SIGKILL; the namespace holds only ours.
    for sig, grace in ((signal.SIGTERM, 4.0), (signal.SIGKILL, 5.0)):
        for p in nodes:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, sig)
        left = [pid for pid in _ns_pids(ns) if _alive(pid)]
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        _wait_dead(left + [p.pid for p in nodes], grace)
    for p in nodes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=2)  # reap
    left = [pid for pid in _ns_pids(ns) if _alive(pid)]
    if left:
        problems.append(f"processes still alive in {ns}: {left}")
    r = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        problems.append(f"ip netns del {ns}: {r.stderr.strip()}")
    shutil.rmtree(temp_dir, ignore_errors=True)
    return problems


@contextlib.contextmanager
def ray_cluster(num_workers: int = 1, cpus_per_node: int = 1, object_store_bytes: int = 100_000_000,
                memory_bytes: int = 4 * 2**30, start_timeout: float = 60) -> Iterator[RayCluster]:
    """A Ray head node plus `num_workers` worker nodes, each a `ray start --block` process of its own,
    inside a new loopback-only network namespace `qa-ray-<random>`.

    Dashboard off, usage stats off, `cpus_per_node` CPUs and a small object store per node. Yields a
    RayCluster whose `.run()` executes a driver in the namespace. On exit (normal, exception, Ctrl-C,
    or interpreter exit) the nodes get SIGTERM, every process left in the namespace is killed by pid,
    the namespace is deleted and the Ray temp dir removed. Skips (printing why) when not root or
    `ip netns` fails.
    """
    reason = ray_unavailable_reason()
    if reason:
        _skip(reason)
    ns = f"qa-ray-{secrets.token_hex(4)}"
    r = subprocess.run(["ip", "netns", "add", ns], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        _skip(f"`ip netns add {ns}` failed: {r.stderr.strip() or r.returncode}")
    temp_dir = Path(tempfile.mkdtemp(prefix="qa-ray-", dir="/tmp"))  # short: Ray's socket paths live here
    nodes: list[subprocess.Popen] = []
    logs: list = []
    done = False

    def teardown():
        nonlocal done
        if not done:
            done = True
            for problem in _teardown_ns(ns, nodes, temp_dir):
                print(f"ray_cluster teardown: {problem}", file=sys.stderr, flush=True)

    atexit.register(teardown)
    try:
        r = subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            _skip(f"cannot bring up loopback in {ns}: {r.stderr.strip()}")
        port = 6379  # the namespace is new and empty, so the default port is free
        address = f"127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update({"RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": address, **OFFLINE_ENV,
                    "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)})
        common = [f"--num-cpus={cpus_per_node}", f"--object-store-memory={object_store_bytes}",
                  f"--memory={memory_bytes}", "--node-ip-address=127.0.0.1", "--disable-usage-stats",
                  f"--temp-dir={temp_dir}", "--block"]

        def start(extra: list[str], name: str) -> subprocess.Popen:
            log = open(temp_dir / f"{name}.log", "w")
            logs.append(log)
            return subprocess.Popen(["ip", "netns", "exec", ns, _ray_bin(), "start", *extra, *common],
                                    cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)

        nodes.append(start(["--head", f"--port={port}", "--include-dashboard=false"], "head"))
        probe = ("import ray,sys,time\n"
                 "ray.init(address=sys.argv[1], logging_level='ERROR')\n"
                 "print(sum(1 for n in ray.nodes() if n['Alive']))\n")
        cluster = RayCluster(ns, address, temp_dir, nodes, env)
        deadline = time.monotonic() + start_timeout

        def wait_nodes(n: int):
            while True:
                dead = [p for p in nodes if p.poll() is not None]
                if dead:
                    raise RuntimeError(f"a Ray node process exited with {dead[0].returncode}: "
                                       f"{(temp_dir / ('head.log' if dead[0] is nodes[0] else 'worker.log')).read_text()[-2000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"Ray cluster in {ns} did not reach {n} nodes in {start_timeout:.0f}s")
                try:
                    out = cluster.run(probe, [address], timeout=max(5.0, min(left, 30.0)))
                except subprocess.TimeoutExpired:
                    continue
                if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(n)]:
                    return
                time.sleep(1.0)

        # worker nodes start right away: `ray start --address` retries until the head's GCS answers
        for i in range(num_workers):
            nodes.append(start([f"--address={address}"], "worker" if i == 0 else f"worker{i}"))
        wait_nodes(1 + num_workers)
        yield cluster
    finally:
        teardown()
        atexit.unregister(teardown)
        for log in logs:
            log.close()
