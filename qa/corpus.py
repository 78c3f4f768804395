"""Reading a corpus folder: documents (.txt/.md, UTF-8) with optional metadata, and the corpus hash."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .errors import QAError
from .types import Document

DOC_SUFFIXES = (".txt", ".md")
METADATA_FILE = "metadata.json"
ALIASES_FILE = "aliases.json"
MAX_DOC_BYTES = 20 * 1024 * 1024


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s[:48] or "doc"


def document_files(corpus_dir: Path) -> list[Path]:
    """The document files of a corpus folder, sorted by name; hidden files are skipped."""
    if not corpus_dir.is_dir():
        raise QAError(f"corpus folder not found: {corpus_dir}", fix="pass --corpus DIR with a folder of .txt/.md files")
    files = sorted(
        p for p in corpus_dir.iterdir()
        if p.is_file() and p.suffix.lower() in DOC_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise QAError(f"no .txt or .md files in {corpus_dir}", fix="put UTF-8 .txt/.md documents in the folder")
    return files


def _metadata_file(corpus_dir: Path) -> Any:
    """The parsed `metadata.json` of a corpus folder, None when absent; QAError when it is not JSON."""
    path = Path(corpus_dir) / METADATA_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise QAError(f"{path} is not valid JSON: {e}", fix="fix or remove the metadata file") from None


def read_metadata(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """Per-file metadata from `metadata.json` ({"documents": {file name: {...}}}); empty when absent."""
    path = corpus_dir / METADATA_FILE
    data = _metadata_file(corpus_dir)
    if data is None:
        return {}
    docs = data.get("documents", {}) if isinstance(data, dict) else {}
    if not isinstance(docs, dict):
        raise QAError(f"{path}: 'documents' must map file names to objects", fix="fix the metadata file")
    return docs


MAX_EXAMPLES = 8
MAX_EXAMPLE_CHARS = 200


def read_examples(corpus_dir: str | Path) -> list[str]:
    """The example questions a corpus offers its readers (`"examples": [str, ...]` in `metadata.json`,
    shown as buttons in the chat), in order; empty when there are none. Only the folder knows what its
    documents can answer, so no example is built in. QAError for a list that is not short, plain text."""
    data = _metadata_file(Path(corpus_dir))
    if not isinstance(data, dict) or data.get("examples") is None:
        return []
    path = Path(corpus_dir) / METADATA_FILE
    ex = data["examples"]
    fix = f'make "examples" a list of at most {MAX_EXAMPLES} questions of at most {MAX_EXAMPLE_CHARS} characters'
    if not isinstance(ex, list) or len(ex) > MAX_EXAMPLES:
        raise QAError(f"{path}: 'examples' must be a list of at most {MAX_EXAMPLES} questions", fix=fix)
    out: list[str] = []
    for q in ex:
        if not isinstance(q, str) or not q.strip() or len(q) > MAX_EXAMPLE_CHARS:
            raise QAError(f"{path}: example {str(q)[:60]!r} is not a question of 1 to {MAX_EXAMPLE_CHARS} characters", fix=fix)
        if q.strip() not in out:
            out.append(q.strip())
    return out


def _first_line_title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:120]
    return fallback


def load_corpus(corpus_dir: str | Path) -> list[Document]:
    """All documents of a folder. `source` keeps the folder as given, so citations open as given.

    Bodies are kept byte for byte as decoded (no normalisation), so offsets stay true; a file that is
    not UTF-8 is refused with a message rather than silently re-encoded.
    """
    corpus_dir = Path(corpus_dir)
    meta = read_metadata(corpus_dir)
    docs: list[Document] = []
    seen: dict[str, str] = {}
    for path in document_files(corpus_dir):
        if path.stat().st_size > MAX_DOC_BYTES:
            raise QAError(f"{path} is larger than {MAX_DOC_BYTES // 2**20} MiB", fix="split it into smaller documents")
        try:
            # Offsets index the text exactly as Path.read_text() returns it (newlines translated),
            # because that is how the citation contract says a reader opens the source.
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise QAError(f"{path} is not UTF-8 ({e.reason} at byte {e.start})", fix="save the file as UTF-8") from None
        m = meta.get(path.name, {})
        doc_id = str(m.get("doc_id") or _slug(path.stem))
        if doc_id in seen:
            raise QAError(f"duplicate doc_id {doc_id!r} for {seen[doc_id]} and {path.name}", fix=f"give them distinct doc_ids in {METADATA_FILE}")
        seen[doc_id] = path.name
        docs.append(Document(
            doc_id=doc_id,
            source=str(corpus_dir / path.name),
            text=text,
            title=str(m.get("title") or _first_line_title(text, path.stem)),
            author=m.get("author"),
            publisher=m.get("publisher"),
            date=m.get("date"),
            period=m.get("period"),
        ))
    return docs


def corpus_hash(corpus_dir: str | Path) -> str:
    """sha256 over every document's name and bytes plus the metadata and alias files.

    Cheap enough to run on every start: it decides whether an index is stale without chunking.
    """
    corpus_dir = Path(corpus_dir)
    h = hashlib.sha256()
    names = [p for p in document_files(corpus_dir)]
    for extra in (METADATA_FILE, ALIASES_FILE):
        if (corpus_dir / extra).exists():
            names.append(corpus_dir / extra)
    for p in names:
        h.update(p.name.encode("utf-8") + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()
