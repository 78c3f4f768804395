"""Building an index: read, chunk, analyse and embed a corpus, then have its store publish it atomically and incrementally."""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from .. import __version__
from ..ingest.chunking import ChunkSettings, passage_sentences, sentence_id, split_document
from ..ingest.corpus import Skipped, describe_excepted, fingerprint, read_corpus, scan
from ..neural.embedding import Embedder
from ..errors import QAError
from .files import (DOCUMENTS, FORMAT_VERSION, MANIFEST, PASSAGE_INDEX, PASSAGES, RENDITIONS, SENTENCE_VECTORS,
                    SENTENCES, fsync_dir, recorded_corpus, write_jsonl)
from .stores import BuildRecords, Store, open_store
from ..settings import DEFAULT_CORPUS
from ..types import Passage, Sentence, file_sha256, text_sha

INDEX_TYPES = ("flat", "hnsw")


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
    from ..ingest.formats import format_of, version_of

    fmts = sorted({f for f in (format_of(r) for r in files) if f in ("pdf", "docx", "html")})
    return {f: version_of(f) for f in fmts}


def build_settings(embedder: Embedder, settings: ChunkSettings, index_type: str, corpus_h: str,
                   extractors: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """What an index depends on; an existing index with the same values is up to date."""
    from ..ingest import nlp
    from . import bm25, lexicon

    return {
        "format_version": FORMAT_VERSION,
        "model": {"name": embedder.name, "dim": embedder.dim, "precision": getattr(embedder, "precision", "fp32"),
                  "normalized": True, "metric": "inner_product"},
        "chunking": settings.to_dict(),
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


def _previous_vectors(old, model_name: str, precision: str = "fp32") -> dict[str, np.ndarray]:
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


def _rendition_reuser(old):
    """`reuse(doc_id, sha256, version)` for read_corpus: the previous build's rendition of a file with the
    same bytes, made by the same extractor version, or None. `old` is the previous build, loaded."""
    if old is None:
        return None
    from ..ingest.formats import Rendition

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


PROGRESS_CHUNK = 1024  # texts per encode call: the bar moves, and a chunk still sorts and pads well


class _Progress:
    """One bar over the whole of a build's slow part: sentences analysed plus texts embedded."""

    def __init__(self, total: int, enabled: bool):
        self._bar = None
        self._lock = threading.Lock()
        if enabled and total:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="text", desc="analyse + embed", leave=False)

    def __call__(self, n: int) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _embed_missing(texts: list[str], cache: dict[str, np.ndarray], embedder: Embedder,
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


def _analyse_while_embedding(sentences: list[str], texts: list[str], cache: dict[str, np.ndarray],
                             embedder: Embedder, progress: bool, stages: dict[str, float]):
    """(spans of each sentence, vectors of texts, number embedded), with spaCy's analysis in a thread
    beside the encoder: the encoder's inference releases the GIL, so on two cores the two overlap
    (26.8 s instead of 35.5 s one after the other, on 8 SQuAD articles)."""
    from ..ingest.nlp import analyse, load

    n_missing = len({text_sha(t) for t in texts} - set(cache))
    bar = _Progress(len(sentences) + n_missing, progress)
    result: dict[str, Any] = {}

    def analyse_all():
        t = time.perf_counter()
        try:
            result["spans"] = analyse(sentences, progress=bar)
        except BaseException as e:  # re-raised in the building thread
            result["error"] = e
        stages["analyse"] = time.perf_counter() - t

    worker = None
    try:
        if sentences:
            load()  # in this thread: loading imports modules, which must not race the encoder's first call
            worker = threading.Thread(target=analyse_all, name="qa-analyse", daemon=True)
            worker.start()
        t = time.perf_counter()
        vectors, embedded = _embed_missing(texts, cache, embedder, bar)
        stages["embed"] = time.perf_counter() - t
        if worker is not None:
            worker.join()
    finally:
        bar.close()
    if "error" in result:
        raise result["error"]
    return result.get("spans", []), vectors, embedded


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
    store: Optional[str] = None,
    _after_write: Optional[Callable[[Path], None]] = None,
) -> BuildReport:
    """Build (or refresh) the index of a corpus folder and swap it in atomically.

    The new index is written into a fresh folder beside the target, fsynced, then published by
    replacing the `index_dir` symlink in one rename: a crash at any moment leaves the previous index
    whole. With `store` (a postgresql:// URL) the same build is loaded into a new schema of that
    database and published by one pointer update instead (qa.index.stores). An unchanged corpus
    returns at once without loading the model; a changed one re-embeds only texts whose vectors the
    previous build does not have.
    """
    import faiss

    from . import aliases, bm25, lexicon

    t0 = time.perf_counter()
    stages: dict[str, float] = {}  # seconds: read_and_chunk, analyse, embed (side by side), write
    corpus_dir, index_dir = Path(corpus_dir).resolve(), Path(index_dir)
    if index_type not in INDEX_TYPES:
        raise QAError(f"unknown index type {index_type!r}", fix=f"use one of {', '.join(INDEX_TYPES)}")
    target = open_store(store or index_dir)
    current = target.manifest()
    known = (current or {}).get("corpus", {}).get("files")
    chash, files = fingerprint(corpus_dir, known if isinstance(known, dict) else None)
    check_same_corpus(target, corpus_dir, chash, force)
    wanted = build_settings(embedder, settings, index_type, chash, extractor_versions(files))
    if not force and _is_current(current, wanted, corpus_dir):
        m = current
        skipped = [Skipped(**s) for s in m.get("corpus", {}).get("skipped", [])]
        return BuildReport(target.label, True, documents=m["counts"]["documents"],
                           passages=m["counts"]["passages"], seconds=time.perf_counter() - t0, skipped=skipped,
                           corpus=corpus_dir, excepted=scan(corpus_dir).excepted)

    target.check()
    with target.lock():
        old = None if force else target.previous()
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
        passages: list[Passage] = []
        sentences: list[Sentence] = []
        row = 0
        for doc in docs:
            marks = read.renditions[doc.doc_id].marks if doc.doc_id in read.renditions else ()
            for p in split_document(doc, settings, marks=marks):
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
        if not evidence:
            raise QAError(f"no usable text in {corpus_dir}: every paragraph was empty or boilerplate",
                          fix="add documents with prose paragraphs")
        stages["read_and_chunk"] = time.perf_counter() - t0
        cache = _previous_vectors(old, embedder.name, getattr(embedder, "precision", "fp32"))
        old = None  # its memory is not needed any more
        texts = [p.text for p in evidence] + [s.text for s in sentences]
        if sentences:
            log(f"analysing {len(sentences)} sentences (entities, noun chunks, numbers) while embedding")
        spans, vectors, embedded = _analyse_while_embedding([s.text for s in sentences], texts, cache, embedder,
                                                            progress, stages)
        sentences = [Sentence(**{**s.__dict__, "ents": tuple((s.start + a, s.start + b, lab) for a, b, lab in sp)})
                     for s, sp in zip(sentences, spans)]
        pvec, svec = vectors[:len(evidence)], vectors[len(evidence):]

        t_write = time.perf_counter()
        build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        tmp = target.workdir(build_id)
        tmp.mkdir()
        try:
            write_jsonl(tmp / DOCUMENTS, ({**d.meta(), "text": d.text} for d in docs))
            write_jsonl(tmp / PASSAGES, ({**p.__dict__, "sentence_rows": list(p.sentence_rows)} for p in passages))
            write_jsonl(tmp / SENTENCES, ({**s.__dict__, "ents": [list(x) for x in s.ents]} for s in sentences))
            faiss.write_index(make_faiss(pvec, index_type, embedder.dim), str(tmp / PASSAGE_INDEX))
            np.save(tmp / SENTENCE_VECTORS, np.ascontiguousarray(svec, dtype=np.float32), allow_pickle=False)
            extra_files = (bm25.build(tmp, evidence, corpus_dir) + lexicon.build(tmp, docs)
                           + aliases.build(tmp, docs, corpus_dir))
            for d in docs:  # the text renditions citations open (text_source), with their PDF page maps
                if d.rendition:
                    read.renditions[d.doc_id].save(tmp / d.rendition)
            rendition_files = sorted(p.relative_to(tmp).as_posix() for p in (tmp / RENDITIONS).rglob("*")
                                     if p.is_file()) if (tmp / RENDITIONS).is_dir() else []
            names = [DOCUMENTS, PASSAGES, SENTENCES, PASSAGE_INDEX, SENTENCE_VECTORS, *extra_files, *rendition_files]
            for name in names:
                with open(tmp / name, "rb+") as f:
                    os.fsync(f.fileno())
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
                           "documents": [d.source for d in docs], "files": files,
                           "skipped": [s.to_dict() for s in read.skipped], "excepted": read.excepted},
                "counts": {"documents": len(docs), "passages": len(passages), "evidence_passages": len(evidence),
                           "sentences": len(sentences), "tokens": sum(p.n_tokens for p in passages),
                           "skipped": len(read.skipped)},
                "artefacts": {n: {"sha256": file_sha256(tmp / n), "bytes": (tmp / n).stat().st_size} for n in names},
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
            with open(tmp / MANIFEST, "rb+") as f:
                os.fsync(f.fileno())
            fsync_dir(tmp)
            target.publish(tmp, build_id, BuildRecords(docs, passages, sentences, pvec, svec, manifest), _after_write)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        target.cleanup()
        return BuildReport(target.label, False, len(docs), len(passages), len(evidence), len(sentences),
                           manifest["counts"]["tokens"], embedded, len(texts) - embedded,
                           time.perf_counter() - t0, getattr(embedder, "loaded", embedded > 0), read.skipped,
                           len(read.renditions) - read.reused, read.reused, read.seconds, corpus_dir, read.excepted)
