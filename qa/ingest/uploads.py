"""Checking an uploaded file before anything is written: its name, size, type from its bytes, duplicates, zip bombs.

The chat's upload panel and the REST API call one function, before they write a byte:

    from qa.ingest.uploads import check_upload, UploadRefused
    try:
        up = check_upload(name, data, max_bytes=settings.max_upload_mb * 2**20,
                          existing_hashes={sha256: file_name, ...})   # the collection's files
    except UploadRefused as e:
        e.reason_code   # one of REFUSAL_REASONS, for counting and for the HTTP status (HTTP_STATUS)
        e.message       # one friendly line naming the file, fit to show as it is
    up.name, up.format, up.sha256, up.size   # write `data` as up.name; up.format is one of FORMATS

`check_upload` is pure: it reads nothing from disk and writes nothing. It raises UploadRefused for
every bad input and nothing else (a negative `max_bytes` is a caller's bug: ValueError). Checks, in
order, so the cheapest refusal wins:

1. the name (`safe_name`): NFC-normalised, then refused (`bad_name`) when it is empty, ".", "..",
   starts with a dot (the corpus reader leaves hidden files out), holds "/", "\\", NUL, a control or
   bidirectional-override character, or one of <>:"|?* (Windows forbids them, and a collection folder
   should copy anywhere), starts or ends with white space, is a Windows device name (CON, NUL, COM1...,
   whatever its suffix), or is over 200 characters or 255 bytes of UTF-8. An over-long name is refused,
   never cut: a cut name could collide with another file or lose its suffix. A suffix the project does
   not index (SUFFIXES) is `unknown_type`. A name with a folder in it is refused, not trimmed to its last
   part: the caller passes the client's own file name, never a temporary path.
2. `empty` (no bytes), then `too_large` (over `max_bytes`).
3. `duplicate`: the file's SHA-256 is in `existing_hashes` (sha256 -> existing file name).
4. the type from the bytes (`sniff`), never from the name: a PDF has `%PDF-` in its first 1,024 bytes;
   a DOCX is a zip holding `[Content_Types].xml` and `word/document.xml`; anything else with a NUL byte
   or over 1% control bytes is binary (`unknown_type`, naming it when it is a known kind: an image, a
   program, a legacy .doc); other bytes are text (UTF-8, or another encoding the text extractor
   detects; UTF-16/32 with a BOM), and markup (a doctype, <html>, <head>, <body>, <p>, ... in the first
   4 KiB) makes it a web page. The name's suffix must agree (`type_mismatch`): .pdf and .docx need
   their bytes; .html needs markup; .txt and .md take any text, markup too (Markdown embeds HTML).
5. a DOCX is then unzipped in bounded steps and thrown away (qa.ingest.formats.zipguard): `zip_bomb`
   for too many parts, too much unzipped, a ratio of over 100 to 1 above 20 MiB, a nested archive,
   or a part that unzips to more than its declared size; `corrupt` for a damaged part.

A PDF with JavaScript is accepted: PDFium reads its text and never runs scripts (docs/formats.md).
The extractors still run their own checks when the file is indexed; an upload that passes here can be
skipped there (a scanned PDF without text, a password), with a SkipFile reason the panel shows.
"""
from __future__ import annotations

import codecs
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import Mapping, Optional

from ..errors import QAError
from .formats import SUFFIXES
from .formats.base import FORMATS
from .formats.zipguard import LIMITS, ZipLimits, declared_entries, directory_problem, inflate_problem

# Why an upload was refused: short codes a caller can count, and what each means.
REFUSALS = {
    "bad_name": "the file name is unsafe or unusable as a file name",
    "unknown_type": "the file is not a kind the project reads (PDF, Word .docx, web page, text, Markdown)",
    "type_mismatch": "the file's name says one kind and its bytes another",
    "too_large": "the file is over the upload size limit",
    "empty": "the file has no bytes",
    "duplicate": "the same file (by content) is already there",
    "zip_bomb": "the Word file unzips to far more than it holds, or lies about its sizes",
    "corrupt": "the Word file is damaged: its parts do not unzip",
    # never raised by check_upload (it reads no folder): the jobs (qa.workspace.jobs) refuse a name the
    # collection already holds with other bytes, rather than replace and lose the old version
    "exists": "a file of that name, with other contents, is already in the collection",
}
REFUSAL_REASONS = tuple(REFUSALS)
# the status a REST API answers each refusal with
HTTP_STATUS = {"bad_name": 400, "unknown_type": 415, "type_mismatch": 415, "too_large": 413, "empty": 400,
               "duplicate": 409, "zip_bomb": 413, "corrupt": 422, "exists": 409}

MAX_NAME_CHARS = 200
MAX_NAME_BYTES = 255  # what ext4, APFS and NTFS allow in one name
SNIFF_BYTES = 4096
MAX_CONTROL_SHARE = 0.01  # the text extractor's own rule for "binary, not text"
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in "123456789¹²³"),
                    *(f"LPT{i}" for i in "123456789¹²³")}
_WINDOWS_FORBIDDEN = set('<>:"|?*')
# bidirectional controls can make "invoice\u202Efdp.exe" show as "invoiceexe.pdf"
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL_BYTES = bytes(range(0x09)) + bytes(range(0x0E, 0x20)) + b"\x7f"
_MARKUP = re.compile(rb"<!doctype\s+html|<html[\s>]|<(?:head|body|title|meta|p|div|table|h[1-6]|article|main"
                     rb"|section|script|style|span|ul|ol|li|br)[\s>/]", re.IGNORECASE)
_BINARY_KINDS = (  # magic -> what to call it in a message
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"MZ", "a Windows program"), (b"\x7fELF", "a program"), (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"), (b"Rar!", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file (.doc) or a password-protected one"),
)
# suffix's format -> the kinds of bytes it may hold
_ACCEPTS = {"pdf": {"pdf"}, "docx": {"docx"}, "html": {"html"}, "txt": {"text", "html"}, "md": {"text", "html"}}
_KIND_NAMES = {"pdf": "a PDF", "docx": "a Word document", "html": "a web page", "text": "plain text"}


class UploadRefused(QAError):
    """An upload that is not written: `reason_code` (one of REFUSAL_REASONS) and `message`, one friendly
    line naming the file."""

    def __init__(self, reason_code: str, message: str):
        if reason_code not in REFUSALS:
            raise ValueError(f"unknown refusal reason {reason_code!r}")
        self.reason_code = reason_code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Upload:
    """An accepted upload: the safe name to write it as, its format (one of FORMATS), hash and size."""
    name: str
    format: str
    sha256: str
    size: int

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}")


def shown(name: str, limit: int = 60) -> str:
    """A name as a message may show it: control and invisible characters escaped, cut to `limit`."""
    out = "".join(ch if ch.isprintable() and ch not in _BIDI else ascii(ch)[1:-1] for ch in str(name))
    return f'"{out[:limit]}…"' if len(out) > limit else f'"{out}"'


def safe_name(name: str) -> str:
    """`name` NFC-normalised, or UploadRefused ("bad_name", or "unknown_type" for a suffix the project
    does not index). See the module's docstring for the rules."""
    if not isinstance(name, str):
        raise UploadRefused("bad_name", "the file has no name")
    n = unicodedata.normalize("NFC", name)

    def bad(why: str) -> UploadRefused:
        return UploadRefused("bad_name", f"{shown(n)} is refused: {why}; rename the file and upload it again")

    if not n:
        raise UploadRefused("bad_name", "the file has no name; give it one and upload it again")
    if "/" in n or "\\" in n:
        raise bad("a file name may not hold / or \\ (no folders)")
    if n in (".", "..") or n.startswith("."):
        raise bad("a name starting with a dot is a hidden file, which is never indexed")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in _BIDI for ch in n):
        raise bad("the name holds a control or invisible character")
    if _WINDOWS_FORBIDDEN & set(n):
        raise bad('the name holds one of < > : " | ? *')
    if n != n.strip():
        raise bad("the name starts or ends with white space")
    if len(n) > MAX_NAME_CHARS:
        raise bad(f"the name has {len(n)} characters (at most {MAX_NAME_CHARS})")
    if len(n.encode("utf-8")) > MAX_NAME_BYTES:
        raise bad(f"the name is over {MAX_NAME_BYTES} bytes long")
    if n.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        raise bad("the name is a device name on Windows")
    suffix = n.rsplit(".", 1)[-1].lower() if "." in n else ""
    if "." + suffix not in SUFFIXES:
        known = ", ".join(sorted(SUFFIXES))
        raise UploadRefused("unknown_type", f"{shown(n)} is refused: only {known} files are indexed")
    return n


def _text_kind(data: bytes) -> Optional[str]:
    """"html" or "text" for bytes that are text, None for binary."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            head = data[:SNIFF_BYTES * 4].decode(codec, errors="ignore").encode("utf-8", errors="ignore")
            return "html" if _MARKUP.search(head) else "text"
    if b"\0" in data:
        return None
    # control bytes other than tab, newlines and form feed: the text extractor's "not-text" rule
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls > MAX_CONTROL_SHARE * len(data):
        return None
    return "html" if _MARKUP.search(data[:SNIFF_BYTES]) else "text"


def sniff(data: bytes, limits: ZipLimits = LIMITS) -> tuple[Optional[str], str]:
    """(kind, detail): kind one of "pdf", "docx", "html", "text", or None for bytes the project does not
    read, with what they look like. Only a zip's directory is read here (no part is unzipped)."""
    if b"%PDF-" in data[:1024]:
        return "pdf", ""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data, limits)
    for magic, what in _BINARY_KINDS:
        if data.startswith(magic):
            return None, what
    kind = _text_kind(data)
    return (kind, "") if kind else (None, "a binary file")


def _zip_kind(data: bytes, limits: ZipLimits) -> tuple[Optional[str], str]:
    entries = declared_entries(data)
    if entries is not None and entries > limits.max_entries:
        return "zip_bomb", f"it declares {entries:,} parts (at most {limits.max_entries:,})"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
    # zipfile raises NotImplementedError for a version or feature it lacks: odd bytes, not our bug
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        return None, f"a damaged zip archive ({str(e)[:80]})"
    if {"[Content_Types].xml", "word/document.xml"} <= names:
        return "docx", ""
    if "xl/workbook.xml" in names:
        return None, "an Excel workbook"
    if "ppt/presentation.xml" in names:
        return None, "a PowerPoint presentation"
    return None, "a zip archive, not a Word document"


def _docx_problem(data: bytes, limits: ZipLimits) -> Optional[tuple[str, str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            why = directory_problem(data, z, limits)
            if why:
                return "zip_bomb", why
            return inflate_problem(data, z, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, RuntimeError,
            NotImplementedError) as e:
        return "corrupt", f"its zip structure is damaged ({str(e)[:80]})"


def check_upload(name: str, data: bytes, *, max_bytes: int, existing_hashes: Mapping[str, str] = {},
                 zip_limits: ZipLimits = LIMITS) -> Upload:
    """The checked upload, or UploadRefused naming the file and why (see the module's docstring).
    `zip_limits` is for tests; callers keep the default."""
    if not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive number of bytes, not {max_bytes!r}")
    safe = safe_name(name)
    suffix = "." + safe.rsplit(".", 1)[-1]
    fmt = SUFFIXES[suffix.lower()]
    who = shown(safe)
    data = bytes(data)
    if not data:
        raise UploadRefused("empty", f"{who} is empty (0 bytes)")
    if len(data) > max_bytes:
        raise UploadRefused("too_large", f"{who} is {_mib(len(data))}, over the upload limit of {_mib(max_bytes)}")
    digest = hashlib.sha256(data).hexdigest()
    if digest in existing_hashes:
        raise UploadRefused("duplicate", f"{who} is the same file as {shown(existing_hashes[digest])}, "
                                         "already uploaded")
    kind, detail = sniff(data, zip_limits)
    if kind == "zip_bomb":
        raise UploadRefused("zip_bomb", f"{who} is refused as a zip bomb: {detail}")
    if kind is None:
        raise UploadRefused("unknown_type", f"{who} is {detail}, not a PDF, Word .docx, web page or text file")
    if kind not in _ACCEPTS[fmt]:
        raise UploadRefused("type_mismatch", f"{who} is named {suffix} but its bytes are {_KIND_NAMES[kind]}; "
                                             "rename it to match what it is")
    if kind == "docx":
        problem = _docx_problem(data, zip_limits)
        if problem:
            code, why = problem
            lead = "refused as a zip bomb" if code == "zip_bomb" else "a damaged Word file"
            raise UploadRefused(code, f"{who} is {lead}: {why}")
    return Upload(name=safe, format=fmt, sha256=digest, size=len(data))


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"
