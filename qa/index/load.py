"""The on-disk index: its files, and loading it only after verifying it (qa.index.build writes it)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from ..ingest.corpus import fingerprint
from ..neural.embedding import Embedder
from ..errors import IndexProblem, QAError, index_command, redact
from ..ingest.formats import CharMap
from ..types import Document, Passage, Sentence, file_sha256
from .lexicon import Lexicon
from .vectors import FaissVectors, Vectors

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
SENTENCES = "sentences.jsonl"
PASSAGE_INDEX = "passages.faiss"
SENTENCE_VECTORS = "sentence_vectors.npy"
INDEX_TYPES = ("flat", "hnsw")


# --------------------------------------------------------------------------- file helpers

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
    """A verified index in memory: its records, and its vectors wherever they live (qa.index.vectors: the
    FAISS folder, or a networked store). `path` is the folder its files are read from (for a networked
    store, the local copy of its files)."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: list[Passage]  # all passages, boilerplate included
    evidence: list[Passage]  # passages with a dense row: evidence[row]
    sentences: list[Sentence]
    vectors: Vectors
    store: str = ""  # where it was loaded from, as the user named it (a folder or a postgresql:// URL)
    bm25: Any = None  # the bm25s model over the evidence passages (qa.index.bm25)
    df: Optional[dict[str, Any]] = None  # {"n": passages, "df": {stem: passages holding it}} (qa.index.bm25.idf)
    lexicon: Optional[Lexicon] = None  # what the corpus ever says (qa.index.lexicon)
    aliases: Optional[dict[str, Any]] = None  # the alias table as stored: {"groups": ..., "acronyms": ...}
    _charmaps: dict[str, Optional[CharMap]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def model_name(self) -> str:
        return self.manifest["model"]["name"]

    @property
    def dim(self) -> int:
        return int(self.manifest["model"]["dim"])

    @property
    def build_id(self) -> str:
        return self.manifest["build_id"]

    def charmap(self, doc_id: str) -> Optional[CharMap]:
        """The page map of a PDF document's rendition (qa.ingest.formats.CharMap), loaded once; None otherwise."""
        if doc_id not in self._charmaps:
            doc = self.documents.get(doc_id)
            d = self.path / doc.rendition / "charmap" if doc is not None and doc.rendition else None
            self._charmaps[doc_id] = CharMap.load(d) if d is not None and d.is_dir() else None
        return self._charmaps[doc_id]

    def passage_vectors(self) -> np.ndarray:
        """The evidence passages' vectors, in row order."""
        return self.vectors.all_passages()

    @property
    def sentence_vectors(self) -> np.ndarray:
        """The sentences' vectors, in row order."""
        return self.vectors.all_sentences()

    @property
    def passage_index(self):
        """The FAISS index of a folder index (None for another store)."""
        return getattr(self.vectors, "faiss", None)


def _builds_dir(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.builds"


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
    from ..settings import DEFAULT_INDEX

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


def load_index(index_dir: str | Path, embedder: Optional[Embedder] = None, search: bool = True) -> Index:
    """Load and verify an index: manifest, checksums, model and dimension, counts.

    `search=False` loads it as a rebuild's cache (its vectors and renditions) without the BM25 model and
    aliases, so a change of tokenizer settings does not cost a rebuild every vector.
    Raises IndexProblem (exit code 2 at the CLI) naming the problem and the command that fixes it.
    """
    import faiss

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    verify_artefacts(index_dir, manifest)
    model = manifest.get("model", {})
    if embedder is not None and (model.get("name") != embedder.name or int(model.get("dim", -1)) != embedder.dim):
        raise IndexProblem(
            f"index at {index_dir} was built with {model.get('name')} (dim {model.get('dim')}), "
            f"but the embedder is {embedder.name} (dim {embedder.dim})", index_dir)
    try:
        docs = {}
        for d in _read_jsonl(index_dir / DOCUMENTS):
            # a rendition opens from where the index is, whatever folder it was built in
            ts = str(index_dir / d["rendition"] / "text.txt") if d.get("rendition") else d["source"]
            docs[d["doc_id"]] = Document(**d, text_source=ts)
        passages = [Passage(**{**p, "sentence_rows": tuple(p.get("sentence_rows", ()))}) for p in _read_jsonl(index_dir / PASSAGES)]
        sentences = [Sentence(**{**{k: s[k] for k in Sentence.__dataclass_fields__ if k in s},
                                 "ents": tuple(tuple(x) for x in s.get("ents", ()))}) for s in _read_jsonl(index_dir / SENTENCES)]
        pindex = faiss.read_index(str(index_dir / PASSAGE_INDEX))
        svec = np.load(index_dir / SENTENCE_VECTORS, allow_pickle=False, mmap_mode="r")
    except Exception as e:  # noqa: BLE001 - whatever a parser raises on a damaged file means the same thing
        raise IndexProblem(f"index at {index_dir} cannot be read ({e.__class__.__name__}: {str(e)[:120]})", index_dir) from None
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
    if problems:
        raise IndexProblem(f"index at {index_dir} is inconsistent: {'; '.join(problems)}", index_dir)
    idx = Index(index_dir, manifest, docs, passages, evidence, sentences, FaissVectors(pindex, svec), store=str(index_dir))
    if not search:
        return idx
    from . import aliases, bm25, lexicon  # parts of every index, imported here to keep layers one-way

    try:
        bm25.attach(idx)
        lexicon.attach(idx)
        aliases.attach(idx)
        aliases.AliasTable.from_data(idx.aliases)  # a malformed table is refused here, not at the first question
    except QAError:
        raise
    except Exception as e:  # noqa: BLE001 - as above: a damaged artefact, whatever the parser raised
        raise IndexProblem(f"index at {index_dir} cannot be read ({e.__class__.__name__}: {str(e)[:120]})", index_dir) from None
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
    known = recorded.get("files")
    try:
        current = fingerprint(path, known if isinstance(known, dict) else None)[0]
    except (QAError, OSError):
        current = None
    if current != index.manifest.get("corpus_hash"):
        where = index.store or str(index.path)  # a store's files are a local copy: the store is rebuilt
        raise IndexProblem(f"index at {redact(where)} is stale: the corpus in {path} changed since it was built",
                           where)


# --------------------------------------------------------------------------- building


def describe(index: "str | Path | Index") -> dict[str, Any]:
    """What `qa docs` shows: each document's id, title, source, format, pages, characters, text source
    and date, every file skipped with its reason, and the files excepted (the folder's own, hidden). Given a folder it reads the manifest and
    documents.jsonl only (after verifying their checksums), loading no vectors and no model; given a
    loaded Index (a networked store's) it reads that."""
    if isinstance(index, Index):
        manifest, where = index.manifest, index.store or str(index.path)
        rows = [{**d.meta(), "text": d.text, "text_source": d.text_source} for d in index.documents.values()]
    else:
        index_dir = Path(index)
        manifest, where = read_manifest(index_dir), str(index_dir)
        verify_artefacts(index_dir, manifest)
        rows = [{**d, "text_source": str(index_dir / d["rendition"] / "text.txt") if d.get("rendition") else d["source"]}
                for d in _read_jsonl(index_dir / DOCUMENTS)]
    docs = [{"doc_id": d["doc_id"], "title": d.get("title"), "source": d["source"], "format": d.get("format", "txt"),
             "pages": d.get("pages"), "chars": len(d.get("text", "")), "text_source": d["text_source"],
             "date": d.get("date") or d.get("period"), "url": d.get("url"), "extractor": d.get("extractor")}
            for d in rows]
    corpus = manifest.get("corpus", {})
    return {"index": where, "corpus": corpus.get("path"), "built_at": manifest.get("built_at"),
            "documents": docs, "skipped": list(corpus.get("skipped", [])), "excepted": list(corpus.get("excepted", []))}
