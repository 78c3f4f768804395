"""The default store: a folder of plain files (FAISS, NumPy, JSONL), each build beside it, published by one symlink rename.

On disk: `NAME` is a symlink to `.NAME.builds/<build id>`; a build is written into
`.NAME.builds/<build id>.tmp`, fsynced, renamed, and published by replacing the symlink in one rename,
so a crash at any moment leaves the previous index whole. `.NAME.lock` serialises builds.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from ...errors import IndexProblem, QAError
from ...neural.embedding import Embedder
from ...types import Document, Passage, Sentence
from ..files import (DOCUMENTS, MANIFEST, PASSAGE_INDEX, PASSAGES, SENTENCE_VECTORS, SENTENCES, fsync_dir, raw_manifest,
                     read_jsonl, read_manifest, verify_artefacts)
from ..loaded import Index, attach_search_parts
from .base import BuildRecords, Store


class FaissVectors:
    """Passage vectors in a FAISS index (flat or HNSW) and sentence vectors in a memory-mapped array,
    both files of the index folder."""

    def __init__(self, faiss_index: Any, sentence_vectors: np.ndarray):
        self.faiss = faiss_index
        self.sentence_array = sentence_vectors
        self.dim = int(faiss_index.d)

    def search(self, q: np.ndarray, k: int) -> list[tuple[int, float]]:
        D, I = self.faiss.search(np.ascontiguousarray(q, dtype=np.float32).reshape(1, -1), k)
        return [(int(i), float(d)) for d, i in zip(D[0], I[0]) if i >= 0]

    def passages(self, rows: Sequence[int]) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.faiss.reconstruct(int(r)) for r in rows])

    def sentences(self, rows: Sequence[int]) -> np.ndarray:
        return np.asarray(self.sentence_array[list(rows)]) if len(rows) else np.zeros((0, self.dim), dtype=np.float32)

    def all_passages(self) -> np.ndarray:
        n = self.faiss.ntotal
        return self.faiss.reconstruct_n(0, n) if n else np.zeros((0, self.dim), dtype=np.float32)

    def all_sentences(self) -> np.ndarray:
        return np.asarray(self.sentence_array)


class FolderStore(Store):
    """An index folder (`--index DIR`, the default)."""

    def __init__(self, location: str | os.PathLike[str]):
        self.index_dir = Path(location)
        self.label = str(self.index_dir)

    def manifest(self) -> Optional[dict]:
        try:
            m = read_manifest(self.index_dir)
            verify_artefacts(self.index_dir, m)
            return m
        except IndexProblem:
            return None

    def recorded(self) -> Optional[dict]:
        return raw_manifest(self.index_dir)

    def holds_index(self) -> bool:
        """A build, or a folder that is not empty."""
        d = self.index_dir
        return d.is_symlink() or (d.is_dir() and any(d.iterdir()))

    def check(self) -> None:
        check_target(self.index_dir)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return _build_lock(self.index_dir)

    def workdir(self, build_id: str) -> Path:
        builds = _builds_dir(self.index_dir)
        builds.mkdir(parents=True, exist_ok=True)
        return builds / f"{build_id}.tmp"

    def publish(self, work: Path, build_id: str, records: BuildRecords,
                after_write: Optional[Callable[[Any], None]] = None) -> None:
        builds = _builds_dir(self.index_dir)
        final = builds / build_id
        os.rename(work, final)
        fsync_dir(builds)
        if after_write:
            after_write(final)
        _publish(self.index_dir, final)

    def cleanup(self) -> None:
        """Remove builds that nothing points at any more (unfinished ones included)."""
        builds = _builds_dir(self.index_dir)
        current = self.index_dir.resolve() if self.index_dir.is_symlink() else None
        for b in builds.iterdir():
            if b.resolve() != current:
                shutil.rmtree(b, ignore_errors=True)
        for stray in self.index_dir.parent.glob(f".{self.index_dir.name}.link-*"):
            with contextlib.suppress(OSError):
                stray.unlink()

    def load(self, embedder: Optional[Embedder] = None, search: bool = True) -> Index:
        """Manifest, checksums, model and dimension, then every count and cross-reference of the records.

        The folder is a link to its current build, switched atomically when a new one is published. Its
        files are read from the build it points at when the load starts, so a publication meanwhile can
        never mix two builds' files (the load test caught "8 passages, manifest says 7"). If that build
        was cleaned away before it was read whole, the load starts again from the new one."""
        for attempt in range(3):
            build = self.index_dir.resolve()
            try:
                return self._load_build(build, embedder, search)
            except IndexProblem:
                if attempt == 2 or self.index_dir.resolve() == build:
                    raise  # the build did not change under the load: the problem is the index's own

    def _load_build(self, build: Path, embedder: Optional[Embedder], search: bool) -> Index:
        import faiss  # only where a folder index is opened: `qa docs` and `qa --help` do without it

        index_dir = self.index_dir  # the link: what citations and messages name
        manifest = read_manifest(build)
        verify_artefacts(build, manifest)
        model = manifest.get("model", {})
        if embedder is not None and (model.get("name") != embedder.name or int(model.get("dim", -1)) != embedder.dim):
            raise IndexProblem(
                f"index at {index_dir} was built with {model.get('name')} (dim {model.get('dim')}), "
                f"but the embedder is {embedder.name} (dim {embedder.dim})", index_dir)
        try:
            docs = {}
            for d in read_jsonl(build / DOCUMENTS):
                # a rendition opens from where the index is, whatever folder it was built in
                ts = str(index_dir / d["rendition"] / "text.txt") if d.get("rendition") else d["source"]
                docs[d["doc_id"]] = Document(**d, text_source=ts)
            passages = [Passage(**{**p, "sentence_rows": tuple(p.get("sentence_rows", ()))})
                        for p in read_jsonl(build / PASSAGES)]
            sentences = [Sentence(**{**{k: s[k] for k in Sentence.__dataclass_fields__ if k in s},
                                     "ents": tuple(tuple(x) for x in s.get("ents", ()))})
                         for s in read_jsonl(build / SENTENCES)]
            pindex = faiss.read_index(str(build / PASSAGE_INDEX))
            svec = np.load(build / SENTENCE_VECTORS, allow_pickle=False, mmap_mode="r")
        except Exception as e:  # noqa: BLE001 - whatever a parser raises on a damaged file means the same thing
            raise self._unreadable(f"{e.__class__.__name__}: {str(e)[:120]}") from None
        evidence = [p for p in passages if p.row is not None]
        problems = _inconsistencies(manifest, docs, passages, evidence, sentences, pindex, svec)
        if problems:
            raise IndexProblem(f"index at {index_dir} is inconsistent: {'; '.join(problems)}", index_dir)
        # the search parts are read from the same build; then the index names the link again, as its
        # citations do (what is read later, a PDF's page map, comes through the link, as it always has)
        idx = Index(build, manifest, docs, passages, evidence, sentences, FaissVectors(pindex, svec),
                    store=self.label)
        if search:
            idx = attach_search_parts(idx, self._unreadable)
        idx.path = index_dir
        return idx

    def _unreadable(self, detail: str) -> IndexProblem:
        return IndexProblem(f"index at {self.index_dir} cannot be read ({detail})", self.index_dir)


def _inconsistencies(manifest: dict, docs: dict[str, Document], passages: list[Passage], evidence: list[Passage],
                     sentences: list[Sentence], pindex: Any, svec: np.ndarray) -> list[str]:
    """What in the records disagrees with the manifest or with itself (each file verified on its own)."""
    counts = manifest.get("counts", {})
    dim = int(manifest.get("model", {}).get("dim", -1))
    problems = []
    if len(passages) != counts.get("passages"):
        problems.append(f"{len(passages)} passages, manifest says {counts.get('passages')}")
    if pindex.ntotal != len(evidence) or any(p.row != i for i, p in enumerate(evidence)):
        problems.append(f"dense index has {pindex.ntotal} rows for {len(evidence)} evidence passages")
    if svec.shape != (len(sentences), dim) or pindex.d != dim:
        problems.append("vector dimensions or sentence count disagree with the manifest")
    if (any(p.doc_id not in docs for p in passages) or any(s.doc_id not in docs or s.row != i for i, s in enumerate(sentences))
            or any(not 0 <= r < len(sentences) for p in evidence for r in p.sentence_rows)):
        problems.append("passages or sentences refer to documents or rows the index does not hold")
    for d in docs.values():
        if d.rendition:
            try:
                with open(d.text_source, encoding="utf-8", newline="") as f:
                    same = f.read() == d.text
            except (OSError, UnicodeDecodeError):
                same = False
            if not same:
                problems.append(f"the stored rendition of {d.doc_id} is not its text")
                break
    return problems


def _builds_dir(index_dir: Path) -> Path:
    """Where the builds of the index `index_dir` live, beside it (the index is a symlink to one of them)."""
    return index_dir.parent / f".{index_dir.name}.builds"


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


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
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
    fsync_dir(index_dir.parent)
