"""Building an index: read, chunk, analyse and embed a corpus, write the build's files, and have its store publish them.

Incremental: an unchanged corpus returns at once without loading the model; a changed one re-embeds
only texts whose vectors the previous build does not have (qa.index.embed), and re-extracts only files
whose bytes or extractor changed. Where the build goes, and how it is published atomically, is the
store's (qa.index.stores: the folder by default, or PostgreSQL).
"""
from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from .. import __version__
from ..errors import QAError
from ..ingest import nlp
from ..ingest.chunking import ChunkSettings, passage_sentences, sentence_id, split_document
from ..ingest.corpus import CorpusRead, Skipped, describe_excepted, fingerprint, read_corpus, scan
from ..ingest.formats import Rendition, format_of, version_of
from ..neural.embedding import Embedder
from ..settings import DEFAULT_CORPUS
from ..types import Passage, Sentence, file_sha256
from . import aliases, bm25, lexicon
from .embed import analyse_while_embedding, previous_vectors
from .files import (DOCUMENTS, FORMAT_VERSION, MANIFEST, PASSAGE_INDEX, PASSAGES, RENDITIONS, SENTENCE_VECTORS,
                    SENTENCES, fsync_dir, fsync_file, recorded_corpus, write_jsonl)
from .loaded import Index
from .stores import BuildRecords, Store, open_store

INDEX_TYPES = ("flat", "hnsw")


def _quiet(line: str) -> None:
    """The default log of a build: nothing."""


@dataclass(frozen=True)
class BuildOptions:
    """How a build is made: its chunking, its FAISS index type (flat: exact; hnsw: approximate, for large
    corpora), whether to rebuild and re-embed everything (`force`, also the way to fill an index with
    another folder's documents), a progress bar, and a log of its steps."""

    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    index_type: str = "flat"
    force: bool = False
    progress: bool = False
    log: Callable[[str], None] = _quiet

    def __post_init__(self):
        if self.index_type not in INDEX_TYPES:
            raise QAError(f"unknown index type {self.index_type!r}", fix=f"use one of {', '.join(INDEX_TYPES)}")


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
    skipped: list[Skipped] = field(default_factory=list)  # files of the folder not indexed, and why
    extracted: int = 0  # renditions extracted in this build (PDF, Word, web pages, re-encoded text)
    renditions_reused: int = 0  # renditions taken unread from the previous build
    extract_seconds: float = 0.0  # of `seconds`, reading and extracting the files
    corpus: Optional[Path] = None  # the documents folder, absolute
    excepted: list[str] = field(default_factory=list)  # the folder's own files and hidden ones, not documents

    def summary(self) -> str:
        """One line: what was done, and how every file of the folder was accounted for."""
        files = f"skipped {len(self.skipped)} file(s)"
        if self.excepted:
            files += f", excepted {len(self.excepted)} ({describe_excepted(self.excepted)})"
        where = f" from {self.corpus}" if self.corpus else ""
        if self.noop:
            return (f"index at {self.index_dir} is up to date{where} ({self.documents} documents, "
                    f"{self.passages} passages); {files}; nothing to do in {self.seconds:.2f}s")
        rate = self.evidence / self.seconds if self.seconds > 0 else 0.0
        return (f"indexed {self.documents} documents{where}: {self.passages} passages ({self.evidence} evidence, "
                f"{self.passages - self.evidence} boilerplate), {self.sentences} sentences, {self.tokens} tokens; "
                f"embedded {self.embedded} texts, reused {self.reused}; {self.seconds:.1f}s, {rate:.1f} passages/s; "
                f"{files}")

    def skipped_lines(self) -> list[str]:
        """One line per file not indexed, with its reason: the console names every one, every time."""
        return [f"  skipped {s.source}: {s.reason} ({s.message})" for s in self.skipped]


def extractor_versions(files: dict[str, list]) -> dict[str, str]:
    """The extractor version of each format the corpus holds beyond plain text (a new version of
    PDFium or of our layout rules makes the index stale). Text-only corpora import nothing."""
    fmts = sorted({f for f in (format_of(r) for r in files) if f in ("pdf", "docx", "html")})
    return {f: version_of(f) for f in fmts}


def build_settings(embedder: Embedder, chunking: ChunkSettings, index_type: str, corpus_h: str,
                   extractors: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """What an index depends on; an existing index with the same values is up to date."""
    return {
        "format_version": FORMAT_VERSION,
        "model": {"name": embedder.name, "dim": embedder.dim, "precision": getattr(embedder, "precision", "fp32"),
                  "normalized": True, "metric": "inner_product"},
        "chunking": chunking.to_dict(),
        "index_type": index_type,
        "lexical": bm25.settings(),
        "lexicon": lexicon.settings(),
        "analysis": nlp.settings(),
        "corpus_hash": corpus_h,
        "extractors": extractors or {},
    }


def _is_current(manifest: Optional[dict], wanted: dict[str, Any], corpus_dir: Path) -> bool:
    """True when the published build was made from the same corpus, in the same folder, with the same
    settings. The folder matters because the freshness check (`check_fresh`) watches the recorded one."""
    if manifest is None:
        return False
    # both paths: an index that recorded a relative --corpus holds relative sources, which only a
    # rebuild makes absolute
    folder = str(corpus_dir.resolve())
    recorded = manifest.get("corpus", {})
    same_folder = recorded.get("absolute_path") == folder and recorded.get("path") == folder
    return same_folder and all(manifest.get(k) == v for k, v in wanted.items())


def choose_corpus(index_dir: str | Path, store: Optional[str], chosen: Optional[str | Path]) -> Path:
    """The documents folder a build of the index reads, absolute: the one chosen (--corpus, QA_CORPUS);
    else the folder the index records, so `qa index --index DIR` rebuilds DIR from its own documents
    (the command every hint prints); else, for an index not built yet, the default corpus. An index
    that exists but records no folder (its manifest is damaged) is refused rather than guessed at."""
    if chosen is not None:
        return Path(chosen).resolve()
    target = open_store(store or index_dir)
    target.check()  # a folder of the user's own is refused as such, not as a damaged index
    recorded = recorded_corpus(target.recorded())
    if recorded is not None:
        if not recorded.is_dir():
            raise QAError(f"{target.label} was built from {recorded}, which is not there any more",
                          fix="pass --corpus with the documents' folder (and --force if it holds other documents)")
        return recorded
    if target.holds_index():
        raise QAError(f"{target.label} does not record which folder it was built from (its manifest is damaged)",
                      fix="pass --corpus with the documents' folder")
    return Path(DEFAULT_CORPUS).resolve()


def check_same_corpus(target: Store, corpus_dir: Path, corpus_h: str, force: bool) -> None:
    """Refuse to fill an index built from one folder with another folder's documents (the index would
    be lost to a mistyped or forgotten --corpus), unless `force`. A folder with exactly the recorded
    contents (the corpus moved or copied) is the same corpus."""
    m = target.recorded()
    recorded = recorded_corpus(m)
    if recorded is not None and recorded != corpus_dir and m.get("corpus_hash") != corpus_h and not force:
        raise QAError(f"{target.label} is the index of {recorded}, not of {corpus_dir}; refusing to replace it",
                      fix="choose another --index, or add --force to rebuild it from the new folder")


def make_faiss(vectors: np.ndarray, index_type: str, dim: int):
    """Inner product over unit vectors: exact (flat) or approximate (HNSW, for large corpora)."""
    import faiss  # heavy, and only a build writes a FAISS index: not loaded where the build is merely imported

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


def build_index(corpus_dir: str | Path, index_dir: str | Path, embedder: Embedder, options: Optional[BuildOptions] = None,
                *, store: Optional[str] = None, _after_write: Optional[Callable[[Any], None]] = None,
                **option_fields: Any) -> BuildReport:
    """Build (or refresh) the index of a corpus folder and have its store publish it atomically.

    The index goes to the folder `index_dir`, or to the store `store` names (a postgresql:// URL) instead.
    `options` says how (BuildOptions); `option_fields` set some of its fields by name over it, as in
    `build_index(corpus, index, embedder, force=True)`. `_after_write` is called with the written build
    just before it is published (tests crash a build there).
    """
    options = replace(options or BuildOptions(), **option_fields)
    t0 = time.perf_counter()
    stages: dict[str, float] = {}  # seconds: read_and_chunk, analyse, embed (side by side), write
    corpus_dir = Path(corpus_dir).resolve()
    target = open_store(store or index_dir)
    current = target.manifest()
    known = (current or {}).get("corpus", {}).get("files")
    chash, files = fingerprint(corpus_dir, known if isinstance(known, dict) else None)
    check_same_corpus(target, corpus_dir, chash, options.force)
    wanted = build_settings(embedder, options.chunking, options.index_type, chash, extractor_versions(files))
    if not options.force and _is_current(current, wanted, corpus_dir):
        return _up_to_date(target.label, current, corpus_dir, t0)

    target.check()
    with target.lock():
        old = None if options.force else target.previous()
        read = _read(corpus_dir, old, options.log)
        passages, sentences = _chunk(read, options.chunking)
        evidence = [p for p in passages if p.row is not None]
        if not evidence:
            raise QAError(f"no usable text in {corpus_dir}: every paragraph was empty or boilerplate",
                          fix="add documents with prose paragraphs")
        stages["read_and_chunk"] = time.perf_counter() - t0
        cache = previous_vectors(old, embedder.name, getattr(embedder, "precision", "fp32"))
        old = None  # its memory is not needed any more
        n_texts = len(evidence) + len(sentences)
        sentences, pvec, svec, embedded = _embed(evidence, sentences, cache, embedder, options, stages)

        t_write = time.perf_counter()
        build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        work = target.workdir(build_id)
        work.mkdir()
        try:
            names = _write_files(work, read, passages, sentences, evidence, pvec, svec, corpus_dir, options.index_type,
                                 embedder.dim)
            seconds = time.perf_counter() - t0
            stages["write"] = time.perf_counter() - t_write
            manifest = {
                **wanted,
                "package_version": __version__,
                "build_id": build_id,
                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "build_seconds": round(seconds, 3),
                "extract_seconds": round(read.seconds, 3),
                "build_stages": {k: round(v, 3) for k, v in stages.items()},
                "corpus": {"path": str(corpus_dir), "absolute_path": str(corpus_dir),
                           "documents": [d.source for d in read.documents], "files": files,
                           "skipped": [s.to_dict() for s in read.skipped], "excepted": read.excepted},
                "counts": {"documents": len(read.documents), "passages": len(passages), "evidence_passages": len(evidence),
                           "sentences": len(sentences), "tokens": sum(p.n_tokens for p in passages),
                           "skipped": len(read.skipped)},
                "artefacts": {n: {"sha256": file_sha256(work / n), "bytes": (work / n).stat().st_size} for n in names},
            }
            _write_manifest(work, manifest)
            target.publish(work, build_id, BuildRecords(read.documents, passages, sentences, pvec, svec, manifest),
                           _after_write)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        target.cleanup()
        return BuildReport(target.label, False, len(read.documents), len(passages), len(evidence), len(sentences),
                           manifest["counts"]["tokens"], embedded, n_texts - embedded,
                           time.perf_counter() - t0, getattr(embedder, "loaded", embedded > 0), read.skipped,
                           len(read.renditions) - read.reused, read.reused, read.seconds, corpus_dir, read.excepted)


def _up_to_date(label: str, manifest: dict, corpus_dir: Path, t0: float) -> BuildReport:
    skipped = [Skipped(**s) for s in manifest.get("corpus", {}).get("skipped", [])]
    return BuildReport(label, True, documents=manifest["counts"]["documents"], passages=manifest["counts"]["passages"],
                       seconds=time.perf_counter() - t0, skipped=skipped, corpus=corpus_dir,
                       excepted=scan(corpus_dir).excepted)


def _read(corpus_dir: Path, old: Optional[Index], log: Callable[[str], None]) -> CorpusRead:
    """The corpus's documents, reusing the previous build's renditions of unchanged files; refused when
    there is none."""
    read = read_corpus(corpus_dir, reuse=_rendition_reuser(old))
    docs = read.documents
    if not docs:
        why = f"; {len(read.skipped)} file(s) skipped, e.g. {read.skipped[0].source} ({read.skipped[0].reason})" \
            if read.skipped else ""
        raise QAError(f"no documents in {corpus_dir}{why}",
                      fix="add .txt, .md, .pdf, .docx or .html documents to the folder")
    log(f"read {len(docs)} documents from {corpus_dir}"
        + (f" ({len(read.renditions) - read.reused} extracted, {read.reused} reused)" if read.renditions else "")
        + (f"; skipped {len(read.skipped)}" if read.skipped else ""))
    return read


def _rendition_reuser(old: Optional[Index]):
    """`reuse(doc_id, sha256, version)` for read_corpus: the previous build's rendition of a file with the
    same bytes, made by the same extractor version, or None. `old` is the previous build, loaded."""
    if old is None:
        return None

    def reuse(doc_id: str, sha256: str, version: Optional[str]) -> Optional[Rendition]:
        d = Path(old.path) / RENDITIONS / doc_id
        try:
            meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
            if meta.get("source_sha256") != sha256 or meta.get("extractor_version") != version:
                return None
            return Rendition.load(d)
        except (OSError, ValueError, KeyError):
            return None

    return reuse


def _chunk(read: CorpusRead, chunking: ChunkSettings) -> tuple[list[Passage], list[Sentence]]:
    """Every document's passages in order, boilerplate included; each evidence passage numbered with its
    dense row and its sentences (rows of their own)."""
    passages: list[Passage] = []
    sentences: list[Sentence] = []
    row = 0
    for doc in read.documents:
        marks = read.renditions[doc.doc_id].marks if doc.doc_id in read.renditions else ()
        for p in split_document(doc, chunking, marks=marks):
            if p.boilerplate is None:
                spans = passage_sentences(p, doc.text, chunking.max_wordpieces, doc.tables)
                srows = []
                for s, e in spans:
                    sentences.append(Sentence(sentence_id(p.passage_id, s, e), p.passage_id, doc.doc_id, s, e,
                                              doc.text[s:e], len(sentences)))
                    srows.append(len(sentences) - 1)
                p = Passage(**{**p.__dict__, "row": row, "sentence_rows": tuple(srows)})
                row += 1
            passages.append(p)
    return passages, sentences


def _embed(evidence: list[Passage], sentences: list[Sentence], cache: dict[str, np.ndarray], embedder: Embedder,
           options: BuildOptions, stages: dict[str, float]) -> tuple[list[Sentence], np.ndarray, np.ndarray, int]:
    """(the sentences with their entities, passage vectors, sentence vectors, number of texts embedded)."""
    texts = [p.text for p in evidence] + [s.text for s in sentences]
    if sentences:
        options.log(f"analysing {len(sentences)} sentences (entities, noun chunks, numbers) while embedding")
    spans, vectors, embedded = analyse_while_embedding([s.text for s in sentences], texts, cache, embedder,
                                                       options.progress, stages)
    sentences = [Sentence(**{**s.__dict__, "ents": tuple((s.start + a, s.start + b, lab) for a, b, lab in sp)})
                 for s, sp in zip(sentences, spans)]
    return sentences, vectors[:len(evidence)], vectors[len(evidence):], embedded


def _write_files(work: Path, read: CorpusRead, passages: list[Passage], sentences: list[Sentence],
                 evidence: list[Passage], pvec: np.ndarray, svec: np.ndarray, corpus_dir: Path, index_type: str,
                 dim: int) -> list[str]:
    """Every file of the build but its manifest, written into `work` and fsynced; their names."""
    import faiss  # as in make_faiss

    write_jsonl(work / DOCUMENTS, ({**d.meta(), "text": d.text} for d in read.documents))
    write_jsonl(work / PASSAGES, ({**p.__dict__, "sentence_rows": list(p.sentence_rows)} for p in passages))
    write_jsonl(work / SENTENCES, ({**s.__dict__, "ents": [list(x) for x in s.ents]} for s in sentences))
    faiss.write_index(make_faiss(pvec, index_type, dim), str(work / PASSAGE_INDEX))
    np.save(work / SENTENCE_VECTORS, np.ascontiguousarray(svec, dtype=np.float32), allow_pickle=False)
    extra_files = (bm25.build(work, evidence, corpus_dir) + lexicon.build(work, read.documents)
                   + aliases.build(work, read.documents, corpus_dir))
    for d in read.documents:  # the text renditions citations open (text_source), with their PDF page maps
        if d.rendition:
            read.renditions[d.doc_id].save(work / d.rendition)
    rendition_files = sorted(p.relative_to(work).as_posix() for p in (work / RENDITIONS).rglob("*")
                             if p.is_file()) if (work / RENDITIONS).is_dir() else []
    names = [DOCUMENTS, PASSAGES, SENTENCES, PASSAGE_INDEX, SENTENCE_VECTORS, *extra_files, *rendition_files]
    for name in names:
        fsync_file(work / name)
    return names


def _write_manifest(work: Path, manifest: dict[str, Any]) -> None:
    """The manifest, written last: a build folder with one is complete."""
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    fsync_file(work / MANIFEST)
    fsync_dir(work)
