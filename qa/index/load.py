"""Opening an index for use: loading it from its store, refusing a stale one, and describing its documents."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from ..errors import IndexProblem, QAError, redact
from ..ingest.corpus import fingerprint
from ..neural.embedding import Embedder
from .files import DOCUMENTS, read_jsonl, read_manifest, verify_artefacts
from .loaded import Index
from .stores import open_store


def load_index(location: str | os.PathLike[str], embedder: Optional[Embedder] = None, search: bool = True) -> Index:
    """Load and verify the index at `location` (a folder, or a store's URL): manifest, checksums, model and
    dimension, counts (qa.index.stores.base.Store.load).

    `search=False` loads it as a rebuild's cache (its vectors and renditions) without the BM25 model and
    aliases, so a change of tokenizer settings does not cost a rebuild every vector.
    Raises IndexProblem (exit code 2 at the CLI) naming the problem and the command that fixes it.
    """
    return open_store(location).load(embedder, search=search)


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


def describe(index: "str | Path | Index") -> dict[str, Any]:
    """What `qa docs` shows: each document's id, title, source, format, pages, characters, text source,
    date and number of tables, every file skipped with its reason, and the files excepted (the folder's own, hidden). Given a folder it reads the manifest and
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
                for d in read_jsonl(index_dir / DOCUMENTS)]
    docs = [{"doc_id": d["doc_id"], "title": d.get("title"), "source": d["source"], "format": d.get("format", "txt"),
             "pages": d.get("pages"), "chars": len(d.get("text", "")), "text_source": d["text_source"],
             "date": d.get("date") or d.get("period"), "url": d.get("url"), "extractor": d.get("extractor"),
             "tables": len(d.get("tables") or ())}
            for d in rows]
    corpus = manifest.get("corpus", {})
    return {"index": where, "corpus": corpus.get("path"), "built_at": manifest.get("built_at"),
            "documents": docs, "skipped": list(corpus.get("skipped", [])), "excepted": list(corpus.get("excepted", []))}
