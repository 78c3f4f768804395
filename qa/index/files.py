"""The files of an index build, as a folder holds them: their names, the manifest, and writing them durably.

A build always writes these files into a work folder first; the folder store publishes that folder as
it is, the PostgreSQL store turns it into rows (qa.index.stores). Their names and the manifest's keys
are the on-disk format: existing indexes load only while they stay as they are.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Optional

from ..errors import IndexProblem, index_command
from ..settings import DEFAULT_INDEX
from ..types import file_sha256

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
SENTENCES = "sentences.jsonl"
PASSAGE_INDEX = "passages.faiss"
SENTENCE_VECTORS = "sentence_vectors.npy"
RENDITIONS = "renditions"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_manifest(index_dir: Path) -> dict[str, Any]:
    index_dir = Path(index_dir)
    mpath = index_dir / MANIFEST
    if not index_dir.exists():
        raise _unknown_corpus(f"no index at {index_dir}", index_dir)
    if not mpath.exists():
        raise _unknown_corpus(f"index at {index_dir} has no {MANIFEST}", index_dir)
    manifest = raw_manifest(index_dir)
    if manifest is None:
        raise _unknown_corpus(f"index manifest {mpath} is unreadable", index_dir)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexProblem(
            f"index at {index_dir} has format version {manifest.get('format_version')!r}, this qa reads {FORMAT_VERSION}",
            index_dir)
    return manifest


def raw_manifest(index_dir: Path) -> Optional[dict[str, Any]]:
    """The manifest of the index at `index_dir` as written, unchecked (a damaged index still says which
    folder it was built from); None when there is none or it is not a JSON object."""
    try:
        m = json.loads((Path(index_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def recorded_corpus(manifest: Optional[dict[str, Any]]) -> Optional[Path]:
    """The documents folder an index was built from, absolute, as its manifest records it."""
    corpus = (manifest or {}).get("corpus")
    path = corpus.get("absolute_path") if isinstance(corpus, dict) else None
    return Path(path) if isinstance(path, str) and path else None


def _unknown_corpus(problem: str, index_dir: Path) -> IndexProblem:
    """An index that records no documents folder: the fix names one (but for the default index, whose
    folder is the default corpus), so pasting it never fills a user's index with the bundled corpus."""
    if os.path.abspath(index_dir) == os.path.abspath(DEFAULT_INDEX):
        return IndexProblem(problem, index_dir)
    cmd = index_command(index_dir).replace("qa index ", "qa index --corpus FOLDER ", 1)
    return IndexProblem(problem, index_dir, fix=f"build it with `{cmd}`, FOLDER being your documents' folder")


def verify_artefacts(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Every artefact listed in the manifest exists with its recorded size and sha256.

    FAISS reads a bit-flipped file without complaint and returns wrong neighbours; only this catches it.
    """
    arts = manifest.get("artefacts")
    if not isinstance(arts, dict) or not arts:
        raise IndexProblem(f"index manifest at {index_dir} lists no artefacts", index_dir)
    for name, meta in arts.items():
        p = index_dir / name
        if not p.is_file():
            raise IndexProblem(f"index artefact {name} is missing from {index_dir}", index_dir)
        if p.stat().st_size != meta.get("bytes") or file_sha256(p) != meta.get("sha256"):
            raise IndexProblem(f"index artefact {name} in {index_dir} is corrupt (checksum mismatch)", index_dir)
