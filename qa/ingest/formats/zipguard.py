"""Zip bombs: whether a zip package (a .docx) would unzip to more than it may, without trusting its sizes."""
# Two checks, cheapest first. `directory_problem` reads only the end record and the central directory
# (the entry count, the declared sizes, nested archives by name); it is what the DOCX extractor runs
# before python-docx opens the package. `inflate_problem` then inflates every entry in bounded steps,
# throwing the bytes away, and stops as soon as an entry gives more than it declared or the whole
# more than the limit: a package whose directory lies is caught without ever holding its contents.
# (Python's zipfile never returns more than an entry's declared size either; it fails the CRC instead,
# so python-docx reading a lying package ends in a "corrupt" skip, not in memory exhaustion.)
from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Optional

_EOCD = b"PK\x05\x06"
_LOCAL = b"PK\x03\x04"
_STEP = 1 << 16  # bytes fed to and taken from zlib at a time


@dataclass(frozen=True)
class ZipLimits:
    """What a Word package may unzip to. Real .docx files hold tens to a few hundred parts and
    compress 3 to 20 times (XML), images not at all; a bomb compresses a thousand times and more."""
    max_unzipped: int = 200 * 2**20  # all entries together, uncompressed
    max_ratio: int = 100  # uncompressed over compressed size of the whole package ...
    ratio_floor: int = 20 * 2**20  # ... counted only above this total: small XML may compress very well
    max_entries: int = 5_000


LIMITS = ZipLimits()
# Office packages Word embeds for charts and OLE objects: nothing here opens them, and refusing them
# would refuse every document with a chart. Any other archive inside the package is refused.
_EMBEDDED_PACKAGES = (".xlsx", ".xlsm", ".xlsb", ".docx", ".docm", ".pptx", ".pptm", ".bin")
_ARCHIVE_SUFFIXES = (".zip", ".jar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".cab")


def _nested_allowed(name: str) -> bool:
    return name.startswith("word/embeddings/") and name.lower().endswith(_EMBEDDED_PACKAGES)


def declared_entries(data: bytes) -> Optional[int]:
    """The entry count the end-of-central-directory record declares, read before zipfile builds an
    object per entry (a crafted directory of millions would cost gigabytes); None without a record.
    A ZIP64 package declares 0xFFFF here: more than any Word file has, so it counts as too many."""
    pos = data.rfind(_EOCD, max(0, len(data) - 65_557))  # the record and its comment of at most 64 KiB
    if pos < 0 or pos + 22 > len(data):
        return None
    return struct.unpack_from("<H", data, pos + 10)[0]


def directory_problem(data: bytes, z: zipfile.ZipFile, limits: ZipLimits = LIMITS) -> Optional[str]:
    """Why the package's own directory says it is a bomb, in a few words; None if it looks sane."""
    infos = z.infolist()
    if len(infos) > limits.max_entries:
        return f"it holds {len(infos):,} parts (at most {limits.max_entries:,})"
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped:
        return f"its parts unzip to {total / 2**20:,.1f} MiB (at most {limits.max_unzipped / 2**20:,.0f} MiB)"
    if total > limits.ratio_floor and total > limits.max_ratio * max(1, len(data)):
        return f"it unzips to {total / max(1, len(data)):,.0f} times its size"
    nested = next((i.filename for i in infos if i.filename.lower().endswith(_ARCHIVE_SUFFIXES)
                   and not _nested_allowed(i.filename)), None)
    if nested:
        return f"it holds another archive ({nested[:80]})"
    return None


def _data_start(data: bytes, info: zipfile.ZipInfo) -> Optional[int]:
    """Where an entry's compressed bytes begin: after its local header, whose name and extra field
    lengths may differ from the central directory's."""
    h = info.header_offset
    if h < 0 or h + 30 > len(data) or data[h:h + 4] != _LOCAL:
        return None
    name_len, extra_len = struct.unpack_from("<HH", data, h + 26)
    start = h + 30 + name_len + extra_len
    return start if start + info.compress_size <= len(data) else None


def inflate_problem(data: bytes, z: zipfile.ZipFile, limits: ZipLimits = LIMITS) -> Optional[tuple[str, str]]:
    """Inflate every entry in steps of 64 KiB, keeping nothing: ("zip_bomb", why) when an entry gives
    more than it declares, the whole more than `limits.max_unzipped`, or an entry is itself a zip
    archive; ("corrupt", why) when an entry is damaged (bad header, CRC, unknown compression); None if
    every entry unzips to exactly what the directory says. Work is bounded by the limit, not the lie."""
    total = 0
    view = memoryview(data)
    for info in z.infolist():
        name = info.filename[:80]
        start = _data_start(data, info)
        if start is None:
            return "corrupt", f"the part {name} lies outside the file"
        if info.flag_bits & 0x1:
            return "corrupt", f"the part {name} is encrypted"
        raw = view[start:start + info.compress_size]
        if info.compress_type == zipfile.ZIP_STORED:
            pieces = (raw[i:i + _STEP] for i in range(0, len(raw), _STEP))
            inflater = None
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            inflater = zlib.decompressobj(-15)
            pieces = _inflate(inflater, raw)
        else:
            return "corrupt", f"the part {name} uses a compression Word does not (method {info.compress_type})"
        size, crc, head = 0, 0, b""
        try:
            for piece in pieces:
                if len(head) < 4:
                    head += bytes(piece[:4 - len(head)])
                size += len(piece)
                total += len(piece)
                if size > info.file_size:
                    return "zip_bomb", f"the part {name} unzips to more than the {info.file_size:,} bytes it declares"
                if total > limits.max_unzipped:
                    return "zip_bomb", f"its parts unzip to more than {limits.max_unzipped / 2**20:,.0f} MiB"
                crc = zlib.crc32(piece, crc)
        except zlib.error as e:
            return "corrupt", f"the part {name} does not unzip ({e})"
        if head == _LOCAL and not _nested_allowed(info.filename):
            return "zip_bomb", f"it holds another zip archive ({name})"
        if size != info.file_size or crc != info.CRC or (inflater is not None and not inflater.eof):
            return "corrupt", f"the part {name} is damaged (its size or checksum does not match)"
    return None


def _inflate(inflater, raw: memoryview):
    """The inflated bytes of `raw`, at most _STEP at a time: zlib keeps the rest of its input as
    `unconsumed_tail` rather than producing it, so a bomb never fills memory."""
    for i in range(0, len(raw), _STEP):
        out = inflater.decompress(raw[i:i + _STEP], _STEP)
        yield out
        while inflater.unconsumed_tail and not inflater.eof:
            yield inflater.decompress(inflater.unconsumed_tail, _STEP)
        if inflater.eof:
            return
    rest = inflater.flush()
    if rest:
        yield rest
