"""The whole scale-out path on this machine: Ray on two nodes builds the corpus into PostgreSQL, two app
replicas serve it, and both answer the gold test split as the local FAISS index does.

1. Starts a throw-away PostgreSQL 16 + pgvector (unix socket) and a two-node Ray cluster inside a
   loopback-only network namespace (tests/servers.py; needs root and `ip netns`).
2. Runs `qa index --corpus corpus --store URL --ray auto` as a driver inside the namespace.
3. Starts two `app.py --store URL` processes on 127.0.0.1.
4. Asks every gold test question through each replica's /ask API and compares the answer objects with
   the local FAISS index's answers (citations' text_source aside: a folder path or the store's copy).
5. Sends 200 concurrent questions spread over the two replicas, and counts errors.
6. Prints one line, and exits 0 only when the replicas agree with each other and with FAISS and the
   load test had no errors.

    make cluster-demo            # or: .venv/bin/python scripts/cluster_demo.py [--json OUT]
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from qa.settings import set_offline_environment  # noqa: E402

set_offline_environment()

LOAD_REQUESTS = 200


def _comparable(answer: dict) -> str:
    a = json.loads(json.dumps(answer))
    for c in a.get("citations", []) + a.get("closest", []):
        c.pop("text_source", None)
    return json.dumps(a, sort_keys=True)


def load_test(bases: list[str], questions: list[str], n: int = LOAD_REQUESTS) -> dict:
    from app_support import http_ask

    outcome: list = [None] * n
    barrier = threading.Barrier(n, timeout=60)

    def worker(i: int):
        try:
            barrier.wait()
            outcome[i] = http_ask(bases[i % len(bases)], questions[i % len(questions)])[:2]
        except BaseException as e:  # noqa: BLE001 - counted as an error
            outcome[i] = ("error", f"{e.__class__.__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    kinds = collections.Counter(o[0] if o else "error" for o in outcome)
    return {"requests": n, "answered": kinds["answered"], "busy": kinds["busy"], "errors": kinds["error"],
            "seconds": round(time.perf_counter() - t0, 1),
            "error_examples": [o[1] for o in outcome if o and o[0] == "error"][:3]}


def run(log=print) -> dict:
    from app_support import CORPUS, AppProcess, free_port, http_ask
    from servers import postgres_server, ray_cluster

    from qa.evaluation.gold import DEFAULT_QUESTIONS, load_questions
    from qa.pipeline import ensure_index, open_answerer
    from qa.settings import Settings

    t0 = time.perf_counter()
    test = [q.question for q in load_questions([ROOT / DEFAULT_QUESTIONS], "test")]
    work = Path(tempfile.mkdtemp(prefix="qa-cluster-demo-"))
    local_settings = Settings()
    ensure_index(CORPUS, work / "local-index", local_settings, progress=False)
    local = open_answerer(work / "local-index", local_settings)
    expected = [_comparable(local.ask(q).to_dict()) for q in test]
    log(f"local FAISS answers for {len(test)} test questions ({time.perf_counter() - t0:.0f}s)")
    res: dict = {"questions": len(test)}
    with postgres_server() as url, ray_cluster(num_workers=1) as cluster:
        t = time.perf_counter()
        out = cluster.run("import sys\nfrom qa.cli import main\nsys.exit(main(sys.argv[1:]))",
                          ["index", "--corpus", str(CORPUS), "--store", url, "--ray", "auto", "--quiet"], timeout=900)
        if out.returncode != 0:
            raise RuntimeError(f"the Ray build failed: {out.stderr[-2000:]}")
        res["build"] = {"seconds": round(time.perf_counter() - t, 1), "summary": out.stdout.strip().splitlines()[-1]}
        log(f"built into PostgreSQL through Ray in {res['build']['seconds']}s: {res['build']['summary']}")
        apps = [AppProcess(["--host", "127.0.0.1", "--port", str(free_port()), "--store", url, "--max-queue", "256",
                            "--corpus", str(CORPUS)]) for _ in range(2)]
        try:
            bases = [a.wait_url(timeout=600).rstrip("/") for a in apps]
            log(f"replicas at {', '.join(bases)}")
            per_replica = []
            for base in bases:
                got = [http_ask(base, q, k=8) for q in test]
                per_replica.append([_comparable(g[2]) if g[2] else g[1] for g in got])
            res["replicas_agree"] = per_replica[0] == per_replica[1]
            res["same_as_faiss"] = [sum(a == b for a, b in zip(r, expected)) for r in per_replica]
            res["differ"] = [test[i] for i, (a, b) in enumerate(zip(per_replica[0], expected)) if a != b][:10]
            res["load"] = load_test(bases, test)
        finally:
            for a in apps:
                a.stop()
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["ok"] = bool(res["replicas_agree"] and min(res["same_as_faiss"]) == len(test) and res["load"]["errors"] == 0)
    log(f"cluster demo: Ray (2 nodes) built the corpus into PostgreSQL in {res['build']['seconds']}s; 2 replicas "
        f"answered {len(test)} test questions, {'identically' if res['replicas_agree'] else 'DIFFERENTLY'}, "
        f"{res['same_as_faiss'][0]} and {res['same_as_faiss'][1]} the same as local FAISS; {LOAD_REQUESTS} concurrent "
        f"questions: {res['load']['answered']} answered, {res['load']['busy']} busy, {res['load']['errors']} errors "
        f"({res['load']['seconds']}s); {res['seconds']}s in all")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    res = run()
    if args.json:
        args.json.write_text(json.dumps(res, indent=2), encoding="utf-8")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
