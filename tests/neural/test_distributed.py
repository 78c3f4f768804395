"""qa.neural.distributed on a real two-node Ray cluster (in a loopback-only netns): same vectors as a local
encode, in input order, and a SIGKILLed actor either recovers or fails with RayEmbedError."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from servers import REPO_ROOT, ray_cluster  # noqa: E402

SQUAD = REPO_ROOT / "eval" / "benchmarks" / "squad-v1.1-dev.json.gz"


def squad_texts(paragraphs: int, questions: int) -> list[str]:
    """Real SQuAD v1.1 dev texts, long (paragraphs) and short (questions) interleaved."""
    data = json.loads(gzip.open(SQUAD, "rt", encoding="utf-8").read())["data"]
    ps = [p for a in data for p in a["paragraphs"]]
    contexts = [p["context"] for p in ps][:paragraphs]
    qs = [q["question"] for p in ps for q in p["qas"]][:questions]
    per = len(qs) // max(1, len(contexts))
    out = []
    for i, c in enumerate(contexts):
        out += [c] + qs[i * per:(i + 1) * per]
    return out


def result(out: subprocess.CompletedProcess) -> dict:
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    assert lines, f"no RESULT line; stdout={out.stdout[-2000:]!r} stderr={out.stderr[-3000:]!r}"
    return json.loads(lines[-1][len("RESULT "):])


def test_import_needs_no_ray():
    code = "import sys; sys.modules['ray'] = None; import qa.neural.distributed as d; print(d.DEFAULT_BATCH)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "250", out.stderr


@pytest.fixture(scope="module")
def cluster():
    with ray_cluster(num_workers=1, cpus_per_node=1) as c:
        yield c


@pytest.fixture(scope="module")
def texts_and_local(real_embedder):
    texts = squad_texts(24, 96)
    assert len(texts) == 120
    return texts, real_embedder.encode(texts)


DRIVER_EQUAL = textwrap.dedent("""
    import json, sys, numpy as np
    from qa.neural.distributed import RayEmbedPool
    texts = json.load(open(sys.argv[1]))
    with RayEmbedPool("auto") as pool:
        v = pool.embed(texts, batch_size=20)
        nodes = {a["node_id"] for a in pool.stats.actors if a["texts"]}
        print("RESULT " + json.dumps({"actors": len(pool.actors), "nodes": len(nodes), "batches": pool.stats.batches}))
    np.save(sys.argv[2], v)
""")


@pytest.mark.slow
@pytest.mark.model
def test_embed_on_ray_matches_local_encode(cluster, texts_and_local, tmp_path):
    texts, local = texts_and_local
    (tmp_path / "t.json").write_text(json.dumps(texts))
    out = cluster.run(DRIVER_EQUAL, [str(tmp_path / "t.json"), str(tmp_path / "v.npy")], timeout=55)
    assert out.returncode == 0, out.stderr[-3000:]
    info = result(out)
    assert info == {"actors": 2, "nodes": 2, "batches": 6}, info
    remote = np.load(tmp_path / "v.npy")
    assert remote.shape == local.shape == (120, 384)
    assert float(np.abs(remote - local).max()) < 1e-5


DRIVER_KILL = textwrap.dedent("""
    import json, os, signal, sys, threading, numpy as np
    from qa.neural.distributed import RayEmbedPool, RayEmbedError
    texts = json.load(open(sys.argv[1]))
    restarts = int(sys.argv[3])
    with RayEmbedPool("auto", max_restarts=restarts, max_task_retries=restarts) as pool:
        victim = pool.pids()[0]
        killed = threading.Event()
        def progress(done, total):
            if not killed.is_set():
                killed.set()
                os.kill(victim, signal.SIGKILL)   # mid-run: the first batch is back, the rest are not
        try:
            v = pool.embed(texts, batch_size=10, batch_retries=restarts, progress=progress)
        except RayEmbedError as e:
            print("RESULT " + json.dumps({"error": str(e)})); sys.exit(0)
        alive = []
        for a in pool.actors:
            try:
                alive.append(pool._ray.get(a.pid.remote(), timeout=30))
            except Exception:
                pass
        print("RESULT " + json.dumps({"killed": victim, "resubmitted": pool.stats.resubmitted, "pids_now": alive}))
    np.save(sys.argv[2], v)
""")


@pytest.mark.slow
@pytest.mark.model
def test_killed_actor_is_restarted_and_vectors_are_still_right(cluster, texts_and_local, tmp_path):
    texts, local = texts_and_local
    (tmp_path / "t.json").write_text(json.dumps(texts))
    out = cluster.run(DRIVER_KILL, [str(tmp_path / "t.json"), str(tmp_path / "v.npy"), "2"], timeout=58)
    assert out.returncode == 0, out.stderr[-3000:]
    info = result(out)
    assert "error" not in info, info
    assert info["killed"] not in info["pids_now"] and len(info["pids_now"]) == 2  # a new process took over
    remote = np.load(tmp_path / "v.npy")
    assert float(np.abs(remote - local).max()) < 1e-5


@pytest.mark.slow
@pytest.mark.model
def test_killed_actor_without_restarts_fails_cleanly_or_finishes_elsewhere(cluster, texts_and_local, tmp_path):
    """With max_restarts=0 and no batch retries, the dead actor's batches cannot run: a RayEmbedError
    that names the batch, not a hang or a wrong array."""
    texts, _ = texts_and_local
    (tmp_path / "t.json").write_text(json.dumps(texts))
    out = cluster.run(DRIVER_KILL, [str(tmp_path / "t.json"), str(tmp_path / "v.npy"), "0"], timeout=58)
    assert out.returncode == 0, out.stderr[-3000:]
    info = result(out)
    assert "error" in info, info
    assert "batch" in info["error"] and "failed" in info["error"]


@pytest.mark.slow
@pytest.mark.model
def test_an_index_built_on_ray_is_the_index_a_local_build_makes(cluster, real_embedder, tmp_path):
    """`qa index --ray auto` run inside the cluster's namespace: the same passage ids, vectors equal within
    1e-5, and the same manifest apart from the build's own record."""
    from support import write_corpus

    from qa.index.build import build_index
    from qa.index.load import load_index

    corpus = write_corpus(tmp_path / "c")
    build_index(corpus, tmp_path / "local", real_embedder)
    out = cluster.run("import sys\nfrom qa.cli import main\nsys.exit(main(sys.argv[1:]))",
                      ["index", "--corpus", str(corpus), "--index", str(tmp_path / "ray"), "--ray", "auto", "--quiet"],
                      timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    a, b = load_index(tmp_path / "local"), load_index(tmp_path / "ray")
    assert [p.passage_id for p in a.passages] == [p.passage_id for p in b.passages]
    assert np.abs(a.passage_vectors() - b.passage_vectors()).max() <= 1e-5
    assert np.abs(a.sentence_vectors - b.sentence_vectors).max() <= 1e-5
    record = {"build_id", "built_at", "build_seconds", "extract_seconds", "build_stages", "artefacts"}
    assert {k: v for k, v in a.manifest.items() if k not in record} == {k: v for k, v in b.manifest.items() if k not in record}
    vector_files = {"passages.faiss", "sentence_vectors.npy"}  # equal within 1e-5, not byte for byte
    assert {k: v for k, v in a.manifest["artefacts"].items() if k not in vector_files} == \
        {k: v for k, v in b.manifest["artefacts"].items() if k not in vector_files}


def test_a_failed_ray_build_leaves_the_published_index_as_it_was(tmp_path, monkeypatch):
    """No cluster needed: when the cluster cannot finish (RayEmbedError), the build stops before it
    publishes, with one line, and the previous index is untouched."""
    from support import build_fake, write_corpus

    import qa.neural.distributed
    from qa.index.build import build_index
    from qa.neural.embedding import HashEmbedder
    from qa.errors import QAError
    from qa.index.load import load_index

    corpus = write_corpus(tmp_path / "c")
    build_fake(corpus, tmp_path / "i")
    before = [p.passage_id for p in load_index(tmp_path / "i").passages]
    (corpus / "alpha.txt").write_text("A changed survey. It needs new vectors.\n", encoding="utf-8")

    def fail(*a, **k):
        raise qa.neural.distributed.RayEmbedError("batch 0 failed on actor 1: the node died")

    monkeypatch.setattr(qa.neural.distributed, "embed_on_ray", fail)
    monkeypatch.setitem(sys.modules, "ray", object())  # RayEmbedder checks Ray is installed
    emb = qa.neural.distributed.RayEmbedder("auto", HashEmbedder())
    with pytest.raises(QAError, match="the Ray build failed, the published index is unchanged"):
        build_index(corpus, tmp_path / "i", emb)
    assert [p.passage_id for p in load_index(tmp_path / "i").passages] == before


def test_embed_on_ray_hands_its_options_to_the_pool_and_to_the_batches(monkeypatch):
    """No cluster needed: every RayOptions field reaches RayEmbedPool or its embed(), and the pool is closed."""
    import qa.neural.distributed as d

    seen = {}

    class Pool:
        def __init__(self, address, **kw):
            seen["pool"] = (address, kw)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            seen["closed"] = True

        def embed(self, texts, batch_size, **kw):
            seen["embed"] = (list(texts), batch_size, kw)
            return "vectors"

    monkeypatch.setattr(d, "RayEmbedPool", Pool)
    options = d.RayOptions(batch_size=7, num_actors=3, cpus_per_actor=2, use_gpu=False, max_restarts=1,
                           max_task_retries=0, batch_retries=4, timeout=9.0, model_dir="/m", precision="bf16",
                           runtime_env={"pip": ["x"]})
    assert d.embed_on_ray(["a"], "ray://h:1", options) == "vectors"
    assert seen["pool"] == ("ray://h:1", {"num_actors": 3, "cpus_per_actor": 2, "use_gpu": False, "max_restarts": 1,
                                          "max_task_retries": 0, "model_dir": "/m", "precision": "bf16",
                                          "runtime_env": {"pip": ["x"]}})
    assert seen["embed"] == (["a"], 7, {"batch_retries": 4, "timeout": 9.0}) and seen["closed"]
    d.embed_on_ray(["a"])
    assert seen["pool"][0] == "auto" and seen["embed"][1] == d.DEFAULT_BATCH  # the defaults: RayEmbedPool's own


def test_ray_embedder_asks_the_cluster_for_its_own_model_and_batch_size(monkeypatch):
    import qa.neural.distributed as d
    from qa.neural.embedding import HashEmbedder

    calls = []

    def fake(texts, address, options):
        calls.append((texts, address, options))
        return np.zeros((len(texts), 8), dtype=np.float32)

    monkeypatch.setattr(d, "embed_on_ray", fake)
    monkeypatch.setitem(sys.modules, "ray", object())  # RayEmbedder checks Ray is installed
    emb = d.RayEmbedder("ray://h:1", HashEmbedder(), model_dir="/m", batch_size=5)
    assert emb.encode(["x", "y"]).shape == (2, 8)
    assert calls == [(["x", "y"], "ray://h:1", d.RayOptions(batch_size=5, model_dir="/m", precision="fp32"))]
