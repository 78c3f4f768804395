"""Reading a corpus folder: every document file in it and its subfolders, its metadata, and what was skipped."""
from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

from ..errors import QAError
from .formats import SUFFIXES, Rendition, SkipFile, extract, format_of, version_of
from .formats.metadata import clean_title, title_flaw
from ..types import Document

METADATA_FILE = "metadata.json"
ALIASES_FILE = "aliases.json"
CORPUS_FILES = (METADATA_FILE, ALIASES_FILE)  # the folder's own settings, not documents
MAX_DOC_BYTES = 64 * 1024 * 1024
MAX_EXAMPLES = 8
MAX_EXAMPLE_CHARS = 200


@dataclass(frozen=True)
class Skipped:
    """A file of the folder that is not indexed, and why (a qa.ingest.formats SKIP_REASONS code and a message)."""
    source: str
    reason: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason, "message": self.message}


@dataclass
class CorpusRead:
    """What `read_corpus` found: the documents (in path order), the renditions of those whose text is not
    the file itself (by doc_id), the files skipped, and how many renditions were reused unread."""
    documents: list[Document]
    renditions: dict[str, Rendition] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    reused: int = 0
    seconds: float = 0.0  # spent reading and extracting
    excepted: list[str] = field(default_factory=list)  # the folder's own files and hidden ones (see Scan)


def slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s[:48] or "doc"


class Scan(NamedTuple):
    """The files of a corpus folder and its subfolders, each list sorted by relative path: the documents
    an extractor reads, the other files (skipped as unsupported), and what is excepted on purpose: the
    folder's own metadata.json and aliases.json, and hidden files and folders (a hidden folder counts
    once, unopened)."""
    documents: list[Path]
    other: list[Path]
    excepted: list[str]


def scan(corpus_dir: Path) -> Scan:
    """Every file under a corpus folder, sorted into documents, other files and excepted ones (see Scan)."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise QAError(f"corpus folder not found: {corpus_dir}", fix="pass --corpus DIR with a folder of documents")
    docs, other, excepted = [], [], []
    for root, dirs, files in os.walk(corpus_dir):  # symlinked folders are not followed: no loops
        here = Path(root)
        excepted += [(here / d).relative_to(corpus_dir).as_posix() + "/" for d in dirs if d.startswith(".")]
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            p = here / name
            if name.startswith(".") or (here == corpus_dir and name in CORPUS_FILES):
                excepted.append(p.relative_to(corpus_dir).as_posix())
                continue
            (docs if format_of(p) is not None else other).append(p)
    key = lambda p: p.relative_to(corpus_dir).as_posix()  # noqa: E731
    return Scan(sorted(docs, key=key), sorted(other, key=key), sorted(excepted))


def describe_excepted(excepted: list[str]) -> str:
    """How a summary line names the excepted files: "metadata.json, aliases.json and 2 hidden"."""
    own = [e for e in excepted if e in CORPUS_FILES]
    hidden = len(excepted) - len(own)
    parts = own + ([f"{hidden} hidden"] if hidden else [])
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


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
    """Per-file metadata from `metadata.json` ({"documents": {relative path or file name: {...}}})."""
    path = Path(corpus_dir) / METADATA_FILE
    data = _metadata_file(corpus_dir)
    if data is None:
        return {}
    docs = data.get("documents", {}) if isinstance(data, dict) else {}
    if not isinstance(docs, dict) or not all(isinstance(v, dict) for v in docs.values()):
        raise QAError(f"{path}: 'documents' must map file names to objects", fix="fix the metadata file")
    return docs


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


# Headings that open a document's apparatus rather than name it: once one is reached, the title page (if
# there was one) is behind us, and the next line would be a table of contents or a section's text.
_SECTION_HEADINGS = {
    "contents", "table of contents", "abstract", "summary", "executive summary", "introduction", "preface",
    "foreword", "acknowledgements", "acknowledgments", "index", "references", "bibliography", "appendix",
    "inhalt", "inhaltsverzeichnis", "vorwort", "einleitung", "zusammenfassung", "sommaire",
    "table des matières", "résumé",
}
MAX_HEADING_CHARS = 150  # a longer line is body text, not a heading
_TITLE_LINES = 12  # lines of text (furniture aside) a title is looked for in
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)")
_CELLS = " | "  # how DOCX and web renditions join a table row's cells


def _fold(s: str) -> str:
    return " ".join(s.split()).casefold()


def _first_heading(rendition: Rendition) -> Optional[str]:
    """The title a reader would see at the top of the text: the first top-level heading (`# ...`) among
    its first lines, else its first short line, skipping page furniture (`marks`) and lines that are
    no title (a page number or label, a date alone, a URL, a program's stamp); None when body text
    starts before any such line."""
    text = rendition.text
    marks = sorted((a, b) for a, b, _ in rendition.marks)
    starts = [a for a, _ in marks]
    candidate, seen = None, 0
    for n, m in enumerate(re.finditer(r"[^\n]+", text)):
        if seen >= _TITLE_LINES or n >= 20 * _TITLE_LINES:
            break
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0 and marks[i][1] > m.start():
            continue  # a running head or foot, a page number the extractor marked
        line = m.group().strip()
        if not line:
            continue
        seen += 1
        h = _HEADING.match(line)
        s = h.group(2).strip() if h else line
        if title_flaw(s) is not None:
            continue  # furniture nobody marked: "Page 3 of 10", a dateline, a URL
        if _fold(s) in _SECTION_HEADINGS or len(s) > MAX_HEADING_CHARS:
            break
        if h and (len(h.group(1)) == 1 or candidate is None):
            return s
        if not h and candidate is None and not s.startswith("- ") and _CELLS not in s:
            candidate = s  # a document without heading marks (PDF, text) names itself on its first line
    return candidate


def choose_title(rendition: Rendition, given: dict, path: Path) -> str:
    """The title a document is cited by. `given` is the file's entry in the folder's metadata.json ({}
    when there is none): its title, when it has one, is used as written. Otherwise the title the file
    declares (PDF Info/XMP, DOCX core properties, the web page's), unless it is no title at all (a
    bare number, a page label, a date, a URL, a program's default such as "Microsoft Word - x.docx" or
    "Document1", see qa.ingest.formats.metadata.title_flaw) or the text of the document's own running head or
    foot; then the first heading of the text (see _first_heading); then the file name (with its
    suffix when the name alone is a number or a date, so that "1.pdf" is not cited as "1").

    Depends on nothing but its arguments, so that `qa verify` can re-derive a title from the file."""
    if given.get("title"):
        return str(given["title"])
    furniture = {_fold(rendition.text[a:b]) for a, b, why in rendition.marks}
    own = clean_title(rendition.title)
    if own is not None and _fold(own) not in furniture:
        return own
    heading = _first_heading(rendition)
    if heading is not None:
        return heading
    path = Path(path)
    return path.name if title_flaw(path.stem) is not None else path.stem


def _doc_ids(corpus_dir: Path, files: list[Path], meta: dict[str, dict]) -> dict[Path, str]:
    """A doc_id per file: its metadata's, else its path slugged ("reports/Q3 2024.pdf" -> "reports-q3-2024"),
    with the format appended when two files would share one ("notes.txt" and "notes.pdf": "notes", "notes-pdf")."""
    out: dict[Path, str] = {}
    given: dict[str, str] = {}
    for p in files:
        rel = p.relative_to(corpus_dir).as_posix()
        m = meta.get(rel) or meta.get(p.name) or {}
        if m.get("doc_id"):
            did = str(m["doc_id"])
            if did in given:
                raise QAError(f"duplicate doc_id {did!r} for {given[did]} and {rel}",
                              fix=f"give them distinct doc_ids in {METADATA_FILE}")
            given[did] = rel
            out[p] = did
    taken = set(given)
    for p in files:
        if p in out:
            continue
        rel = p.relative_to(corpus_dir)
        base = slug(rel.with_suffix("").as_posix())
        did = base
        if did in taken:
            did = f"{base}-{format_of(p)}"
            n = 2
            while did in taken:
                did, n = f"{base}-{format_of(p)}-{n}", n + 1
        taken.add(did)
        out[p] = did
    return out


def read_corpus(corpus_dir: str | Path, reuse: Optional[Callable[[str, str, str], Optional[Rendition]]] = None,
                max_bytes: int = MAX_DOC_BYTES) -> CorpusRead:
    """Every document of a folder and its subfolders, in path order. `source` is the file's absolute
    path, so citations, `qa verify` and freshness checks open it from any working directory.

    A UTF-8 .txt/.md file is its own text rendition (exactly `Path.read_text(encoding="utf-8")`: offsets
    index that). PDF, Word and web files, and text files in other encodings, are extracted; `reuse(doc_id,
    sha256, version)` may hand back a stored rendition of identical bytes made by the same extractor
    version, so an unchanged file is not extracted again. A file that cannot be read (encrypted, corrupt,
    empty, no text layer, too large) or of a kind no extractor reads is skipped and named, never fatal.
    """
    t0 = time.perf_counter()
    corpus_dir = Path(corpus_dir).resolve()
    meta = read_metadata(corpus_dir)
    files, other, excepted = scan(corpus_dir)
    out = CorpusRead([], excepted=excepted, skipped=[
        Skipped(str(p), "unsupported", f"no extractor reads {p.suffix or 'files without a suffix'} "
                                       f"(known: {', '.join(sorted(SUFFIXES))})") for p in other])
    ids = _doc_ids(corpus_dir, files, meta)
    for p in files:
        rel = p.relative_to(corpus_dir).as_posix()
        source = str(corpus_dir / rel)
        fmt = format_of(p)
        try:
            rendition = None
            if reuse is not None and fmt in ("pdf", "docx", "html"):
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
                rendition = reuse(ids[p], digest, version_of(fmt))
                out.reused += rendition is not None
            if rendition is None:
                rendition = extract(p, max_bytes=max_bytes)
        except SkipFile as e:
            out.skipped.append(Skipped(source, e.reason, e.message))
            continue
        except OSError as e:
            out.skipped.append(Skipped(source, "corrupt", f"cannot read the file ({e.strerror or e})"))
            continue
        m = meta.get(rel) or meta.get(p.name) or {}
        doc = Document(
            doc_id=ids[p], source=source, text=rendition.text, **document_fields(rendition, m, p),
            format=rendition.format, pages=rendition.pages, original_sha256=rendition.source_sha256,
            extractor=f"{rendition.extractor} {rendition.extractor_version}",
            rendition=f"renditions/{ids[p]}" if rendition.needs_copy else None, tables=rendition.tables,
        )
        out.documents.append(doc)
        if rendition.needs_copy or rendition.marks:
            out.renditions[doc.doc_id] = rendition
    out.seconds = time.perf_counter() - t0
    return out


def document_fields(rendition: Rendition, given: dict[str, Any], path: Path) -> dict[str, Any]:
    """The title, author, publisher, date, period and url a document is cited with: its entry in the
    folder's metadata.json (`given`) wins, even with null ("the text does not say" is a statement),
    else what the file says of itself. `qa verify` derives them again from the original with this."""
    def pick(key, found):
        return given[key] if key in given else found

    return {"title": choose_title(rendition, given, path),
            "author": pick("author", rendition.author), "publisher": given.get("publisher"),
            "date": pick("date", rendition.date), "period": given.get("period"), "url": pick("url", rendition.url)}


def load_corpus(corpus_dir: str | Path) -> list[Document]:
    """The documents of a folder (see read_corpus); files that cannot be read are left out."""
    return read_corpus(corpus_dir).documents


def fingerprint(corpus_dir: str | Path, known: Optional[dict[str, list]] = None) -> tuple[str, dict[str, list]]:
    """(sha256 over every file's relative path and contents plus the metadata and alias files, and
    {relative path: [size, mtime_ns, sha256]}). A file whose size and mtime match `known` (the previous
    build's) is not read again, so checking a large folder of unchanged PDFs is cheap. Other files count
    by their names only: they are not indexed, but adding one changes what a build would report."""
    corpus_dir = Path(corpus_dir)
    files, other, _ = scan(corpus_dir)
    known = known or {}
    h = hashlib.sha256()
    info: dict[str, list] = {}
    for p in files + [corpus_dir / n for n in CORPUS_FILES if (corpus_dir / n).is_file()]:
        rel = p.relative_to(corpus_dir).as_posix()
        st = p.stat()
        k = known.get(rel)
        if k and k[0] == st.st_size and k[1] == st.st_mtime_ns and isinstance(k[2], str):
            digest = k[2]
        else:
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
        info[rel] = [st.st_size, st.st_mtime_ns, digest]
        h.update(rel.encode("utf-8") + b"\0" + digest.encode() + b"\0")
    for p in other:
        h.update(b"other\0" + p.relative_to(corpus_dir).as_posix().encode("utf-8") + b"\0")
    return h.hexdigest(), info


def corpus_hash(corpus_dir: str | Path) -> str:
    """The fingerprint's hash alone: whether an index is stale, decided without chunking."""
    return fingerprint(corpus_dir)[0]
