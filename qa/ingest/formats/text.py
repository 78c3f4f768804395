"""Plain text and Markdown files: UTF-8 as the file reads, other encodings detected and decoded."""
from __future__ import annotations

import codecs
import unicodedata

from .base import MissingLibrary, Rendition, SkipFile, sha256_bytes

TEXT_RULES_VERSION = 1
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# single-byte encodings of Latin script that a detector cannot tell apart on most Western text
_LATIN_FAMILY = {
    "cp1250", "cp1252", "latin_1", "iso8859_15", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_9",
    "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_16", "cp1254", "cp1257", "cp1258", "mac_roman",
    "mac_latin2", "mac_iceland", "cp775", "cp850", "cp437",
}
MAX_CONTROL_SHARE = 0.01


def _newlines(text: str) -> str:
    """What Path.read_text does to line ends (universal newlines): CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _controls(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")


def _check_text(text: str) -> None:
    if not text.strip():
        raise SkipFile("empty", "the file holds only white space")
    if _controls(text) > MAX_CONTROL_SHARE * len(text):
        raise SkipFile("not-text", "the file is full of control characters: binary, not text")


def _detect(data: bytes) -> tuple[str, str]:
    """(text, encoding) for bytes that are not UTF-8, by charset-normalizer, preferring cp1252 among
    the Latin single-byte encodings when it reads the bytes no worse (it is by far the most common of
    them, and detectors often name cp1250 for French or Spanish text, which turns "œ" into "ś")."""
    try:
        import charset_normalizer
        from charset_normalizer.md import mess_ratio
    except ImportError:
        raise MissingLibrary("charset-normalizer", "charset-normalizer") from None
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise SkipFile("not-text", "no text encoding fits the bytes: binary, not text")
    enc = best.encoding
    text = str(best)
    if enc in _LATIN_FAMILY and enc != "cp1252":
        try:
            alt = data.decode("cp1252")
        except UnicodeDecodeError:
            alt = None
        if alt is not None and mess_ratio(alt, maximum_threshold=1.0) <= best.chaos + 0.005:
            text, enc = alt, "cp1252"
    return text, enc


def decode(data: bytes) -> tuple[str, str, bool]:
    """(text, encoding, is_utf8) of a text file's bytes, newlines translated as Path.read_text does.
    For UTF-8 the text is exactly what `Path.read_text(encoding="utf-8")` returns (a BOM included).
    The encoding is "utf-8", "utf-16"/"utf-32" (from a byte-order mark) or charset-normalizer's name."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return _newlines(data.decode(enc)), enc, False
            except UnicodeDecodeError:
                raise SkipFile("not-text", f"starts with a {enc} byte-order mark but is not {enc}") from None
    try:
        return _newlines(data.decode("utf-8")), "utf-8", True
    except UnicodeDecodeError:
        pass
    text, enc = _detect(data)
    if "\x00" in text and not enc.startswith(("utf_16", "utf_32")):
        raise SkipFile("not-text", "the file holds NUL bytes: binary, not text")
    return _newlines(text), enc, False


def extract_text_bytes(data: bytes, fmt: str = "txt") -> Rendition:
    """The rendition of a .txt or .md file's bytes."""
    if fmt not in ("txt", "md"):
        raise ValueError(f"not a text format: {fmt!r}")
    if not data:
        raise SkipFile("empty", "the file has no bytes")
    text, enc, is_utf8 = decode(data)
    _check_text(text)
    if is_utf8 or enc in ("utf-16", "utf-32"):  # the file said how to read it: nothing was guessed
        extractor, version = "qa.ingest.formats.text", f"{enc}+rules.{TEXT_RULES_VERSION}"
    else:
        import charset_normalizer

        extractor, version = "charset-normalizer", f"{charset_normalizer.__version__}+rules.{TEXT_RULES_VERSION}"
    return Rendition(
        text=text, format=fmt, extractor=extractor, extractor_version=version, source_sha256=sha256_bytes(data),
        encoding=enc, needs_copy=not is_utf8,
    )
