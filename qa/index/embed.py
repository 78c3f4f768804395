"""A build's vectors: the previous build's as a cache, the rest embedded beside spaCy's analysis, under one progress bar."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

import numpy as np

from ..ingest import nlp
from ..neural.embedding import Embedder
from ..types import text_sha
from .loaded import Index

PROGRESS_CHUNK = 1024  # texts per encode call: the bar moves, and a chunk still sorts and pads well


def previous_vectors(old: Optional[Index], model_name: str, precision: str = "fp32") -> dict[str, np.ndarray]:
    """text sha256 -> vector from the published index (loaded, so it verified), when it used the same
    model. This is the embedding cache: keyed by (model, text), it makes a rebuild after a small change
    re-embed only the new texts.
    """
    if old is None:
        return {}
    if old.model_name != model_name or old.manifest["model"].get("precision", "fp32") != precision:
        return {}  # vectors of another model or precision are not these vectors
    cache: dict[str, np.ndarray] = {}
    pv = old.passage_vectors()
    for p in old.evidence:
        cache[text_sha(p.text)] = pv[p.row]
    sv = np.asarray(old.sentence_vectors)
    for s in old.sentences:
        cache[text_sha(s.text)] = sv[s.row]
    return cache


class _Progress:
    """One bar over the whole of a build's slow part: sentences analysed plus texts embedded."""

    def __init__(self, total: int, enabled: bool):
        self._bar = None
        self._lock = threading.Lock()
        if enabled and total:
            from tqdm.auto import tqdm  # only for a bar: pipeline imports the build on the path of `qa ask`

            self._bar = tqdm(total=total, unit="text", desc="analyse + embed", leave=False)

    def __call__(self, n: int) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def embed_missing(texts: list[str], cache: dict[str, np.ndarray], embedder: Embedder,
                  progress: Callable[[int], None] = lambda n: None) -> tuple[np.ndarray, int]:
    """Vectors for texts, from the cache where possible; returns (vectors, number embedded).

    The missing texts are sorted by length once, over all of them, so every batch pads as little as
    possible (that alone was worth a third of the build time), then sent in chunks so the bar moves.
    """
    keys = [text_sha(t) for t in texts]
    missing = list(dict.fromkeys(k for k in keys if k not in cache))
    if missing:
        by_key = dict(zip(keys, texts))
        missing.sort(key=lambda k: len(by_key[k]))
        step = getattr(embedder, "progress_chunk", PROGRESS_CHUNK) or len(missing)
        for i in range(0, len(missing), step):
            chunk = missing[i:i + step]
            for k, v in zip(chunk, embedder.encode([by_key[k] for k in chunk])):
                cache[k] = v
            progress(len(chunk))
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = cache[k]
    return out, len(missing)


def analyse_while_embedding(sentences: list[str], texts: list[str], cache: dict[str, np.ndarray],
                            embedder: Embedder, progress: bool, stages: dict[str, float]):
    """(spans of each sentence, vectors of texts, number embedded), with spaCy's analysis in a thread
    beside the encoder: the encoder's inference releases the GIL, so on two cores the two overlap
    (26.8 s instead of 35.5 s one after the other, on 8 SQuAD articles)."""
    # nlp.analyse is looked up when called, not bound at import: the tests swap in a memo of it
    n_missing = len({text_sha(t) for t in texts} - set(cache))
    bar = _Progress(len(sentences) + n_missing, progress)
    result: dict[str, Any] = {}

    def analyse_all():
        t = time.perf_counter()
        try:
            result["spans"] = nlp.analyse(sentences, progress=bar)
        except BaseException as e:  # re-raised in the building thread
            result["error"] = e
        stages["analyse"] = time.perf_counter() - t

    worker = None
    try:
        if sentences:
            nlp.load()  # in this thread: loading imports modules, which must not race the encoder's first call
            worker = threading.Thread(target=analyse_all, name="qa-analyse", daemon=True)
            worker.start()
        t = time.perf_counter()
        vectors, embedded = embed_missing(texts, cache, embedder, bar)
        stages["embed"] = time.perf_counter() - t
        if worker is not None:
            worker.join()
    finally:
        bar.close()
    if "error" in result:
        raise result["error"]
    return result.get("spans", []), vectors, embedded
