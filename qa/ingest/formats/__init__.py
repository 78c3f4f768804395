"""Turning document files (PDF, DOCX, HTML, text) into text renditions whose offsets can be re-checked."""
# extract(path) picks the extractor by the file's suffix and returns a Rendition, or raises SkipFile
# with a reason code; no other exception escapes, whatever bytes the file holds (MissingLibrary aside,
# which is a broken installation, not a bad file). The extraction libraries are imported only when a
# file of their format is read, so importing this package stays cheap. See docs/formats.md.
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Callable, Union

from .base import SKIP_REASONS, CharMap, MissingLibrary, Rendition, SkipFile

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Extractor:
    """Where a format's extractor lives: a module of this package, imported on first use, whose
    `function(data, **options)` turns a file's bytes into a Rendition. A versioned extractor's module
    also has `extractor_version()`: a stored rendition made by another version is extracted again."""
    module: str
    function: str
    options: tuple[tuple[str, str], ...] = ()
    versioned: bool = True

    def load(self) -> Callable[[bytes], Rendition]:
        run = getattr(import_module(f"{__name__}.{self.module}"), self.function)
        options = dict(self.options)
        return (lambda data: run(data, **options)) if options else run


# The table a new format joins: a row here (its name and extractor) and its suffixes below.
EXTRACTORS: dict[str, Extractor] = {
    "pdf": Extractor("pdf", "extract_pdf_bytes"),
    "docx": Extractor("docx", "extract_docx_bytes"),
    "html": Extractor("html", "extract_html_bytes"),
    # text files are cheap to read again every time: no stored rendition to invalidate
    "txt": Extractor("text", "extract_text_bytes", (("fmt", "txt"),), versioned=False),
    "md": Extractor("text", "extract_text_bytes", (("fmt", "md"),), versioned=False),
}
# suffix (lower case) -> format name
SUFFIXES: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".txt": "txt",
    ".md": "md",
}

__all__ = [
    "SUFFIXES", "EXTRACTORS", "Extractor", "DEFAULT_MAX_BYTES", "SKIP_REASONS", "CharMap", "MissingLibrary",
    "Rendition", "SkipFile", "extract", "extract_bytes", "format_of", "is_supported", "version_of",
]


def format_of(path: Union[str, Path]) -> str | None:
    """The format a file's suffix names ("pdf", "docx", "html", "txt", "md"), None if unsupported."""
    return SUFFIXES.get(Path(path).suffix.lower())


def is_supported(path: Union[str, Path]) -> bool:
    return format_of(path) is not None


def version_of(fmt: str) -> str | None:
    """The version string the extractor of `fmt` stamps on its renditions (library, engine and rule
    versions): a stored rendition with another version must be extracted again. None for text files,
    which are cheap to read again every time."""
    extractor = EXTRACTORS[fmt]
    if not extractor.versioned:
        return None
    return import_module(f"{__name__}.{extractor.module}").extractor_version()


def extract_bytes(data: bytes, suffix: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Rendition:
    """The rendition of a file's bytes, its format named by `suffix` (".pdf", "x.PDF", "pdf" all do)."""
    fmt = SUFFIXES.get("." + suffix.rsplit(".", 1)[-1].lower())
    if fmt is None:
        raise SkipFile("unsupported", f"no extractor for {suffix!r} files (known: {', '.join(sorted(SUFFIXES))})")
    if len(data) > max_bytes:
        raise SkipFile("too-large", f"{len(data):,} bytes, over the limit of {max_bytes:,}")
    run = EXTRACTORS[fmt].load()  # outside the net below: a missing library or a bug of ours is not a bad file
    try:
        return run(data)
    except (SkipFile, MissingLibrary):
        raise
    except MemoryError:
        raise SkipFile("too-large", "ran out of memory reading it") from None
    except RecursionError:
        raise SkipFile("corrupt", "nesting too deep to read") from None
    except Exception as e:  # any library's failure on odd bytes is a file we cannot read, not a crash
        raise SkipFile("corrupt", f"{type(e).__name__}: {str(e)[:200]}") from None


def extract(path: Union[str, Path], max_bytes: int = DEFAULT_MAX_BYTES) -> Rendition:
    """The rendition of the file at `path`, by its suffix (case-insensitive). SkipFile for an unsupported
    suffix, a file over `max_bytes`, and anything the extractor cannot read; MissingLibrary (an
    ImportError naming the pip command) when the format's library is not installed."""
    p = Path(path)
    if format_of(p) is None:
        raise SkipFile("unsupported", f"no extractor for {p.suffix or 'suffix-less'} files")
    try:
        size = p.stat().st_size
    except OSError as e:
        raise SkipFile("corrupt", f"cannot read the file ({e.strerror or e})") from None
    if size > max_bytes:
        raise SkipFile("too-large", f"{size:,} bytes, over the limit of {max_bytes:,}")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise SkipFile("corrupt", f"cannot read the file ({e.strerror or e})") from None
    return extract_bytes(data, p.suffix, max_bytes=max_bytes)
