"""The on-disk index: building it atomically and incrementally, and loading it only after verifying it."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np

from . import __version__
from .chunking import ChunkSettings, passage_sentences, sentence_id, split_document
from .corpus import corpus_hash, load_corpus
from .embedding import Embedder
from .errors import IndexProblem, QAError
from .types import Document, Passage, Sentence, text_sha

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
SENTENCES = "sentences.jsonl"
PASSAGE_INDEX = "passages.faiss"
SENTENCE_VECTORS = "sentence_vectors.npy"
INDEX_TYPES = ("flat", "hnsw")


# --------------------------------------------------------------------------- file helpers

def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --------------------------------------------------------------------------- the loaded index

@dataclass
class Index:
    """A verified index in memory. Rows of `passage_index` are the evidence passages, in order."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: list[Passage]  # all passages, boilerplate included
    evidence: list[Passage]  # passages with a dense row: evidence[row]
    sentences: list[Sentence]
    passage_index: Any  # faiss.Index
    sentence_vectors: np.ndarray  # (n_sentences, dim) float32, unit rows
    extras: dict[str, Any] = field(default_factory=dict)  # per-feature artefacts (lexical index...)

    @property
    def model_name(self) -> str:
        return self.manifest["model"]["name"]

    @property
    def dim(self) -> int:
        return int(self.manifest["model"]["dim"])

    @property
    def build_id(self) -> str:
        return self.manifest["build_id"]

    def passage_vectors(self) -> np.ndarray:
        """The evidence passages' vectors, reconstructed from the FAISS index."""
        n = self.passage_index.ntotal
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.passage_index.reconstruct_n(0, n)


def _builds_dir(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.builds"


def read_manifest(index_dir: Path) -> dict[str, Any]:
    index_dir = Path(index_dir)
    mpath = index_dir / MANIFEST
    if not index_dir.exists():
        raise IndexProblem(f"no index at {index_dir}", str(index_dir) if str(index_dir) != default_index_str() else None)
    if not mpath.exists():
        raise IndexProblem(f"index at {index_dir} has no {MANIFEST}", _fix_arg(index_dir))
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError) as e:
        raise IndexProblem(f"index manifest {mpath} is unreadable ({e.__class__.__name__})", _fix_arg(index_dir)) from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexProblem(
            f"index at {index_dir} has format version {manifest.get('format_version')!r}, this qa reads {FORMAT_VERSION}",
            _fix_arg(index_dir))
    return manifest


def default_index_str() -> str:
    from .settings import DEFAULT_INDEX

    return str(DEFAULT_INDEX)


def _fix_arg(index_dir: Path) -> Optional[str]:
    return None if str(index_dir) == default_index_str() else str(index_dir)


def verify_artefacts(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Every artefact listed in the manifest exists with its recorded size and sha256.

    FAISS reads a bit-flipped file without complaint and returns wrong neighbours; only this catches it.
    """
    arts = manifest.get("artefacts")
    if not isinstance(arts, dict) or not arts:
        raise IndexProblem(f"index manifest at {index_dir} lists no artefacts", _fix_arg(index_dir))
    for name, meta in arts.items():
        p = index_dir / name
        if not p.is_file():
            raise IndexProblem(f"index artefact {name} is missing from {index_dir}", _fix_arg(index_dir))
        if p.stat().st_size != meta.get("bytes") or _sha256_file(p) != meta.get("sha256"):
            raise IndexProblem(f"index artefact {name} in {index_dir} is corrupt (checksum mismatch)", _fix_arg(index_dir))


def load_index(index_dir: str | Path, embedder: Optional[Embedder] = None) -> Index:
    """Load and verify an index: manifest, checksums, model and dimension, counts.

    Raises IndexProblem (exit code 2 at the CLI) naming the problem and the command that fixes it.
    """
    import faiss

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    verify_artefacts(index_dir, manifest)
    fix = _fix_arg(index_dir)
    model = manifest.get("model", {})
    if embedder is not None and (model.get("name") != embedder.name or int(model.get("dim", -1)) != embedder.dim):
        raise IndexProblem(
            f"index at {index_dir} was built with {model.get('name')} (dim {model.get('dim')}), "
            f"but the embedder is {embedder.name} (dim {embedder.dim})", fix)
    try:
        docs = {d["doc_id"]: Document(**d) for d in _read_jsonl(index_dir / DOCUMENTS)}
        passages = [Passage(**{**p, "sentence_rows": tuple(p.get("sentence_rows", ()))}) for p in _read_jsonl(index_dir / PASSAGES)]
        sentences = [Sentence(**{**{k: s[k] for k in Sentence.__dataclass_fields__ if k in s},
                                 "ents": tuple(tuple(x) for x in s.get("ents", ()))}) for s in _read_jsonl(index_dir / SENTENCES)]
        pindex = faiss.read_index(str(index_dir / PASSAGE_INDEX))
        svec = np.load(index_dir / SENTENCE_VECTORS, allow_pickle=False, mmap_mode="r")
    except Exception as e:  # noqa: BLE001 - whatever a parser raises on a damaged file means the same thing
        raise IndexProblem(f"index at {index_dir} cannot be read ({e.__class__.__name__}: {str(e)[:120]})", fix) from None
    evidence = [p for p in passages if p.row is not None]
    counts = manifest.get("counts", {})
    problems = []
    if len(passages) != counts.get("passages"):
        problems.append(f"{len(passages)} passages, manifest says {counts.get('passages')}")
    if pindex.ntotal != len(evidence) or any(p.row != i for i, p in enumerate(evidence)):
        problems.append(f"dense index has {pindex.ntotal} rows for {len(evidence)} evidence passages")
    if svec.shape != (len(sentences), int(model.get("dim", -1))) or pindex.d != int(model.get("dim", -1)):
        problems.append("vector dimensions or sentence count disagree with the manifest")
    if (any(p.doc_id not in docs for p in passages) or any(s.doc_id not in docs or s.row != i for i, s in enumerate(sentences))
            or any(not 0 <= r < len(sentences) for p in evidence for r in p.sentence_rows)):
        problems.append("passages or sentences refer to documents or rows the index does not hold")
    if problems:
        raise IndexProblem(f"index at {index_dir} is inconsistent: {'; '.join(problems)}", fix)
    idx = Index(index_dir, manifest, docs, passages, evidence, sentences, pindex, svec)
    from . import aliases, lexical  # parts of every index, imported here to keep layers one-way

    try:
        lexical.attach(idx)
        aliases.attach(idx)
        aliases.AliasTable.from_data(idx.extras["aliases"])  # a malformed table is refused here, not at the first question
    except QAError:
        raise
    except Exception as e:  # noqa: BLE001 - as above: a damaged artefact, whatever the parser raised
        raise IndexProblem(f"index at {index_dir} cannot be read ({e.__class__.__name__}: {str(e)[:120]})", fix) from None
    return idx


def check_fresh(index: Index) -> None:
    """Refuse an index whose corpus folder (as recorded at build time) has changed since: its citations
    would point at offsets of text that is no longer there. A folder that is not reachable from here
    (an index copied elsewhere) is not checked. The absolute path is used when recorded, so a relative
    `--corpus` given at build time is still checked from another working directory."""
    recorded = index.manifest.get("corpus", {})
    path = Path(recorded.get("absolute_path") or recorded.get("path") or "")
    if not str(path) or not path.is_dir():
        return
    try:
        current = corpus_hash(path)
    except QAError:
        current = None
    if current != index.manifest.get("corpus_hash"):
        raise IndexProblem(f"index at {index.path} is stale: the corpus in {path} changed since it was built",
                           _fix_arg(index.path))


# --------------------------------------------------------------------------- building

@dataclass
class BuildReport:
    index_dir: Path
    noop: bool
    documents: int = 0
    passages: int = 0
    evidence: int = 0
    sentences: int = 0
    tokens: int = 0
    embedded: int = 0  # texts sent to the model in this build
    reused: int = 0  # texts whose vectors came from the previous build
    seconds: float = 0.0
    model_loaded: bool = False

    def summary(self) -> str:
        if self.noop:
            return f"index at {self.index_dir} is up to date ({self.documents} documents, {self.passages} passages); nothing to do in {self.seconds:.2f}s"
        rate = self.evidence / self.seconds if self.seconds > 0 else 0.0
        return (f"indexed {self.documents} documents: {self.passages} passages ({self.evidence} evidence, "
                f"{self.passages - self.evidence} boilerplate), {self.sentences} sentences, {self.tokens} tokens; "
                f"embedded {self.embedded} texts, reused {self.reused}; {self.seconds:.1f}s, {rate:.1f} passages/s")


def build_settings(embedder: Embedder, settings: ChunkSettings, index_type: str, corpus_h: str) -> dict[str, Any]:
    """What an index depends on; an existing index with the same values is up to date."""
    from . import analysis, lexical

    return {
        "format_version": FORMAT_VERSION,
        "model": {"name": embedder.name, "dim": embedder.dim, "precision": getattr(embedder, "precision", "fp32"),
                  "normalized": True, "metric": "inner_product"},
        "chunking": settings.to_dict(),
        "index_type": index_type,
        "lexical": lexical.settings(),
        "analysis": analysis.settings(),
        "corpus_hash": corpus_h,
    }


def index_is_current(index_dir: Path, wanted: dict[str, Any], corpus_dir: Path) -> bool:
    """True when the index verifies and was built from the same corpus, in the same folder, with the same
    settings. The folder matters because the freshness check (`check_fresh`) watches the recorded one."""
    try:
        manifest = read_manifest(index_dir)
        verify_artefacts(index_dir, manifest)
    except IndexProblem:
        return False
    same_folder = manifest.get("corpus", {}).get("absolute_path") == str(corpus_dir.resolve())
    return same_folder and all(manifest.get(k) == v for k, v in wanted.items())


def _previous_vectors(index_dir: Path, model_name: str, precision: str = "fp32") -> dict[str, np.ndarray]:
    """text sha256 -> vector from the current index, when it verifies and used the same model.

    This is the embedding cache: keyed by (model, text), it makes a rebuild after a small change
    re-embed only the new texts.
    """
    try:
        old = load_index(index_dir)
    except QAError:
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


@contextlib.contextmanager
def _build_lock(index_dir: Path):
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with open(lock_path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise QAError(f"another `qa index` is building {index_dir}", fix="wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _embed_missing(texts: list[str], cache: dict[str, np.ndarray], embedder: Embedder, progress: bool
                   ) -> tuple[np.ndarray, int]:
    """Vectors for texts, from the cache where possible; returns (vectors, number embedded).

    The missing texts go to the model in one call, so it can sort all of them by length and pad
    each batch as little as possible (that alone is worth a third of the build time here).
    """
    keys = [text_sha(t) for t in texts]
    missing = list(dict.fromkeys(k for k in keys if k not in cache))
    if missing:
        by_key = {text_sha(t): t for t in texts}
        todo = [by_key[k] for k in missing]
        vecs = embedder.encode(todo, show_progress=progress)
        for k, v in zip(missing, vecs):
            cache[k] = v
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = cache[k]
    return out, len(missing)


def make_faiss(vectors: np.ndarray, index_type: str, dim: int):
    """Inner product over unit vectors: exact (flat) or approximate (HNSW, for large corpora)."""
    import faiss

    if index_type == "flat":
        index = faiss.IndexFlatIP(dim)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        raise QAError(f"unknown index type {index_type!r}", fix=f"use one of {', '.join(INDEX_TYPES)}")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def build_index(
    corpus_dir: str | Path,
    index_dir: str | Path,
    embedder: Embedder,
    *,
    settings: ChunkSettings = ChunkSettings(),
    index_type: str = "flat",
    force: bool = False,
    progress: bool = False,
    log: Callable[[str], None] = lambda s: None,
    _after_write: Optional[Callable[[Path], None]] = None,
) -> BuildReport:
    """Build (or refresh) the index of a corpus folder and swap it in atomically.

    The new index is written into a fresh folder beside the target, fsynced, then published by
    replacing the `index_dir` symlink in one rename: a crash at any moment leaves the previous index
    whole. An unchanged corpus returns at once without loading the model; a changed one re-embeds only
    texts whose vectors the previous build does not have.
    """
    import faiss

    from . import aliases, lexical

    t0 = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    if index_type not in INDEX_TYPES:
        raise QAError(f"unknown index type {index_type!r}", fix=f"use one of {', '.join(INDEX_TYPES)}")
    chash = corpus_hash(corpus_dir)
    wanted = build_settings(embedder, settings, index_type, chash)
    if not force and index_is_current(index_dir, wanted, corpus_dir):
        m = read_manifest(index_dir)
        return BuildReport(index_dir, True, documents=m["counts"]["documents"], passages=m["counts"]["passages"],
                           seconds=time.perf_counter() - t0)

    check_target(index_dir)
    with _build_lock(index_dir):
        docs = load_corpus(corpus_dir)
        log(f"read {len(docs)} documents from {corpus_dir}")
        passages: list[Passage] = []
        sentences: list[Sentence] = []
        row = 0
        for doc in docs:
            for p in split_document(doc, settings):
                if p.boilerplate is None:
                    spans = passage_sentences(p, doc.text, settings.max_wordpieces)
                    srows = []
                    for s, e in spans:
                        sentences.append(Sentence(sentence_id(p.passage_id, s, e), p.passage_id, doc.doc_id, s, e,
                                                  doc.text[s:e], len(sentences)))
                        srows.append(len(sentences) - 1)
                    p = Passage(**{**p.__dict__, "row": row, "sentence_rows": tuple(srows)})
                    row += 1
                passages.append(p)
        evidence = [p for p in passages if p.row is not None]
        if sentences:
            from .analysis import analyse

            log(f"analysing {len(sentences)} sentences (entities, noun chunks, numbers)")
            spans = analyse([s.text for s in sentences])
            sentences = [Sentence(**{**s.__dict__, "ents": tuple((s.start + a, s.start + b, lab) for a, b, lab in sp)})
                         for s, sp in zip(sentences, spans)]
        if not evidence:
            raise QAError(f"no usable text in {corpus_dir}: every paragraph was empty or boilerplate",
                          fix="add documents with prose paragraphs")

        cache = {} if force else _previous_vectors(index_dir, embedder.name, getattr(embedder, "precision", "fp32"))
        texts = [p.text for p in evidence] + [s.text for s in sentences]
        vectors, embedded = _embed_missing(texts, cache, embedder, progress)
        pvec, svec = vectors[:len(evidence)], vectors[len(evidence):]

        builds = _builds_dir(index_dir)
        builds.mkdir(parents=True, exist_ok=True)
        build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        tmp = builds / f"{build_id}.tmp"
        tmp.mkdir()
        try:
            _write_jsonl(tmp / DOCUMENTS, ({**d.meta(), "text": d.text} for d in docs))
            _write_jsonl(tmp / PASSAGES, ({**p.__dict__, "sentence_rows": list(p.sentence_rows)} for p in passages))
            _write_jsonl(tmp / SENTENCES, ({**s.__dict__, "ents": [list(x) for x in s.ents]} for s in sentences))
            faiss.write_index(make_faiss(pvec, index_type, embedder.dim), str(tmp / PASSAGE_INDEX))
            np.save(tmp / SENTENCE_VECTORS, np.ascontiguousarray(svec, dtype=np.float32), allow_pickle=False)
            extra_files = lexical.build(tmp, evidence, corpus_dir) + aliases.build(tmp, docs, corpus_dir)
            names = [DOCUMENTS, PASSAGES, SENTENCES, PASSAGE_INDEX, SENTENCE_VECTORS, *extra_files]
            for name in names:
                with open(tmp / name, "rb+") as f:
                    os.fsync(f.fileno())
            seconds = time.perf_counter() - t0
            manifest = {
                **wanted,
                "package_version": __version__,
                "build_id": build_id,
                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "build_seconds": round(seconds, 3),
                "corpus": {"path": str(corpus_dir), "absolute_path": str(corpus_dir.resolve()),
                           "documents": [d.source for d in docs]},
                "counts": {"documents": len(docs), "passages": len(passages), "evidence_passages": len(evidence),
                           "sentences": len(sentences), "tokens": sum(p.n_tokens for p in passages)},
                "artefacts": {n: {"sha256": _sha256_file(tmp / n), "bytes": (tmp / n).stat().st_size} for n in names},
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
            with open(tmp / MANIFEST, "rb+") as f:
                os.fsync(f.fileno())
            _fsync_dir(tmp)
            final = builds / build_id
            os.rename(tmp, final)
            _fsync_dir(builds)
            if _after_write:
                _after_write(final)  # tests use this to stop "between" writing and publishing
            _publish(index_dir, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _cleanup(index_dir)
        return BuildReport(index_dir, False, len(docs), len(passages), len(evidence), len(sentences),
                           manifest["counts"]["tokens"], embedded, len(texts) - embedded,
                           time.perf_counter() - t0, getattr(embedder, "loaded", embedded > 0))


def check_target(index_dir: Path) -> None:
    """Refuse to replace a path that is not ours: only a symlink, an empty folder, or an index folder
    (one with a manifest) may be replaced; anything else could be a user's own files. Publishing an
    index replaces its path (and clears old builds), so a mistyped `--index some/folder` would
    otherwise make that folder's contents disappear."""
    index_dir = Path(index_dir)
    if index_dir.is_symlink() or not index_dir.exists():
        return
    if index_dir.is_dir() and (not any(index_dir.iterdir()) or (index_dir / MANIFEST).is_file()):
        return
    what = "a folder that does not hold a qa index" if index_dir.is_dir() else "a file, not an index folder"
    raise QAError(f"{index_dir} exists and is not an index ({what}); refusing to replace it",
                  fix="choose another --index folder, or move that one away")


def _publish(index_dir: Path, build: Path) -> None:
    """Point index_dir at build with one atomic rename of a symlink."""
    check_target(index_dir)
    if index_dir.exists() and not index_dir.is_symlink():
        # an index folder from before symlinks (or made by hand): keep it as a build, then link
        legacy = _builds_dir(index_dir) / f"legacy-{uuid.uuid4().hex[:8]}"
        os.rename(index_dir, legacy)
    link_tmp = index_dir.parent / f".{index_dir.name}.link-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(build, index_dir.parent), link_tmp)
    os.replace(link_tmp, index_dir)
    _fsync_dir(index_dir.parent)


def _cleanup(index_dir: Path) -> None:
    """Remove builds that nothing points at any more (unfinished ones included)."""
    builds = _builds_dir(index_dir)
    current = index_dir.resolve() if index_dir.is_symlink() else None
    for b in builds.iterdir():
        if b.resolve() != current:
            shutil.rmtree(b, ignore_errors=True)
    for stray in index_dir.parent.glob(f".{index_dir.name}.link-*"):
        with contextlib.suppress(OSError):
            stray.unlink()
