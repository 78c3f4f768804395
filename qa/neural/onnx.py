"""ONNX Runtime sessions for the encoder and the reader: graphs exported once from the weights, cached, verified, run on a shared pool.

Why not torch at answer time: a warm question spent most of its time in PyTorch's per-call overhead, not
in arithmetic (docs/onnx.md has the measurements). The graphs are exported locally with
`torch.onnx.export` (no download) the first time they are needed, into a cache folder (default
`embeddings/onnx/`), each named by a hash of the weights it came from and checked against the sha256
recorded beside it on every load: change the weights and a new graph is made; a damaged file is
re-exported, never used. Exporting needs torch; running needs only onnxruntime and tokenizers. The models
themselves are `qa.neural.embedding.OnnxEmbedder` and `qa.neural.reader.OnnxReader`.

Threads: pieces of work that can run side by side (the reader's windows, the encoder's batches) run on a
process-wide pool of one worker per core, each on a single-threaded session. On two cores this beat one
two-threaded session on each call: small matrices split across threads spend their time synchronising.
A call with one piece only (a question's embedding, a single window) runs on a second session of the
same graph with a thread per core.
`InferenceSession.run` is thread-safe, so these sessions, one pair per process, serve the app's
concurrent requests.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import QAError
from ..settings import DEFAULT_ONNX_CACHE, bundled_model_dir, set_offline_environment
from ..types import file_sha256

EXPORT_VERSION = 1  # bump when the exported graph changes shape or meaning: old cache entries are ignored
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def weights_key(kind: str, files: Sequence[Path]) -> str:
    """A name for the graph made from these weight files: changes when any of them (or the exporter) does."""
    h = hashlib.sha256(f"{kind}:{EXPORT_VERSION}:{OPSET}".encode())
    for f in files:
        st = Path(f).stat()
        h.update(Path(f).name.encode() + b"\0" + _weights_sha(str(f), st.st_size, st.st_mtime_ns).encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=64)
def _weights_sha(path: str, size: int, mtime_ns: int) -> str:
    """Once per process and file version: the encoder and the reader both hash the bundled model."""
    return file_sha256(path)


def model_files(model_dir: Path) -> list[Path]:
    files = sorted(p for p in Path(model_dir).iterdir() if p.suffix in (".safetensors", ".bin") or p.name == "config.json")
    if not any(p.suffix in (".safetensors", ".bin") for p in files):
        raise QAError(f"no model weights in {model_dir}", fix="point QA_MODEL_DIR at an all-MiniLM-L6-v2 folder")
    return files


def _require_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise QAError("the ONNX backend needs onnxruntime, which is not installed",
                      fix="pip install onnxruntime, or set QA_BACKEND=torch") from None
    return onnxruntime


def check_graph(path: Path) -> dict:
    """Run onnx's checker over a freshly exported graph (it raises on a malformed one, and nothing is
    cached); return the versions that made it, for the record beside it."""
    import onnx
    import torch

    onnx.checker.check_model(str(path))
    return {"torch": torch.__version__, "onnx": onnx.__version__}


def cached_graph(cache: Path, kind: str, key: str, export, check=check_graph) -> Path:
    """The verified graph `cache/{kind}-{key}.onnx`, exported by `export(path)` when absent or damaged.

    The graph and its record (sha256, versions) are written under temporary names and renamed into
    place, the record last, so a crash or a concurrent export never leaves a graph that passes the check
    half-written."""
    cache = Path(cache)
    graph, record = cache / f"{kind}-{key}.onnx", cache / f"{kind}-{key}.json"
    if graph.is_file() and record.is_file():
        try:
            want = json.loads(record.read_text(encoding="utf-8")).get("sha256")
        except (OSError, ValueError):
            want = None
        if want and want == file_sha256(graph):
            return graph
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise QAError(f"cannot create the ONNX cache {cache} ({e.strerror})",
                      fix="set QA_ONNX_CACHE to a writable folder, or QA_BACKEND=torch") from None
    print(f"qa: exporting the {kind} to ONNX once, into {cache} ...", file=sys.stderr, flush=True)
    tag = uuid.uuid4().hex[:8]
    tmp_graph, tmp_record = cache / f".{kind}-{key}.{tag}.onnx", cache / f".{kind}-{key}.{tag}.json"
    try:
        export(tmp_graph)
        info = {"sha256": file_sha256(tmp_graph), "kind": kind, "key": key, "export_version": EXPORT_VERSION,
                "opset": OPSET, **check(tmp_graph)}
        tmp_record.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp_graph, graph)
        os.replace(tmp_record, record)
    finally:
        for p in (tmp_graph, tmp_record):
            p.unlink(missing_ok=True)
    return graph


def export_module(module, path: Path, outputs: Sequence[str]) -> None:
    """torch.onnx.export of a module taking (input_ids, attention_mask, token_type_ids), batch and length dynamic.

    The TorchScript exporter (dynamo=False), the one known to work here with transformers 5; the wrapper
    `module` fixes the inputs, since transformers 5 changed the models' `forward`."""
    try:
        import torch
    except ImportError:
        raise QAError("exporting the ONNX graph needs torch once (the graph is then cached)",
                      fix="pip install torch==2.13.0, or copy a filled QA_ONNX_CACHE from another machine") from None
    ids = torch.tensor([[101, 2054, 2003, 1037, 3231, 102, 1037, 3231, 102]])
    dummy = (ids, torch.ones_like(ids), torch.tensor([[0] * 6 + [1] * 3]))
    axes = {n: {0: "batch", 1: "tokens"} for n in INPUTS}
    axes.update({n: ({0: "batch", 1: "tokens"} if n != "embedding" else {0: "batch"}) for n in outputs})
    # the tracer warns about Python conditions in transformers' mask code: they hold for every shape here,
    # which the checks against torch (tests/neural/test_onnx.py) confirm on real inputs
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), dummy, str(path), input_names=list(INPUTS), output_names=list(outputs),
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def quiet_transformers() -> None:
    """No "Loading weights" bar from transformers: one line says an export is under way."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def export_encoder(model_dir: Path, path: Path) -> None:
    """The sentence encoder as sentence-transformers runs it: BERT, mean pooling over real tokens, L2 norm."""
    set_offline_environment()
    import torch
    from transformers import AutoModel

    quiet_transformers()
    pooling = json.loads((Path(model_dir) / "1_Pooling" / "config.json").read_text()) \
        if (Path(model_dir) / "1_Pooling" / "config.json").is_file() else {"pooling_mode_mean_tokens": True}
    if not pooling.get("pooling_mode_mean_tokens"):
        raise QAError(f"{model_dir}: the ONNX encoder implements mean pooling only", fix="set QA_BACKEND=torch")
    bert = AutoModel.from_pretrained(str(model_dir))

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    export_module(Encoder(), path, ["embedding"])


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def pool(threads: int) -> ThreadPoolExecutor:
    """One pool per size per process, shared by the encoder and the reader (their calls never nest)."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="qa-onnx")
        return _POOLS[threads]


class Graph:
    """A graph loaded lazily, once, thread-safely, with its tokenizer; the parts both models share."""

    kind = ""

    def __init__(self, model_dir: Optional[Path], cache: Optional[Path], threads: Optional[int]):
        self.model_dir = Path(model_dir) if model_dir else None
        self.cache = Path(cache) if cache else DEFAULT_ONNX_CACHE
        self.threads = threads or default_threads()
        self._session = None
        self._wide = None  # the same graph on `threads` threads, for a call with one piece of work
        self._tok = None
        self._lock = threading.Lock()
        self.graph_path: Optional[Path] = None

    def _weights(self) -> list[Path]:
        raise NotImplementedError

    def _export(self, path: Path) -> None:
        raise NotImplementedError

    def _tokenizer(self, mdir: Path):
        """The model's own fast tokenizer (tokenizer.json), which transformers wraps: the same word pieces."""
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(mdir / "tokenizer.json"))
        tok.no_padding()
        return tok

    def _load(self) -> None:
        _require_onnxruntime()  # before any export: the missing runtime is the error to show
        mdir = self.model_dir or bundled_model_dir()
        self.model_dir = mdir
        key = weights_key(self.kind, self._weights())
        self.graph_path = cached_graph(self.cache, self.kind, key, self._export)
        self._tok = self._tokenizer(mdir)
        self._session = self._new_session(1)

    def _new_session(self, threads: int):
        ort = _require_onnxruntime()
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        # idle threads that spin between calls take the core from whatever runs next in this process
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(self.graph_path), so, providers=["CPUExecutionProvider"])

    @property
    def session(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()
        return self._session

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def _run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray, alone: bool = False) -> list[np.ndarray]:
        """One forward pass. `alone`: nothing runs beside it (one question, one window), so it gets every
        core: a question's embedding took 10.6 ms instead of 15.3 on two threads (median, gold questions)."""
        session = self.session
        if alone and self.threads > 1:
            if self._wide is None:
                with self._lock:
                    if self._wide is None:
                        self._wide = self._new_session(self.threads)
            session = self._wide
        return session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})


def pad_batch(encodings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, width = len(encodings), max(len(e.ids) for e in encodings)
    ids = np.zeros((n, width), dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    types = np.zeros((n, width), dtype=np.int64)
    for i, e in enumerate(encodings):
        k = len(e.ids)
        ids[i, :k], mask[i, :k], types[i, :k] = e.ids, e.attention_mask, e.type_ids
    return ids, mask, types


