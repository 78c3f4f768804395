"""The records every extractor returns: the text rendition of a file, its PDF character map, and SkipFile."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ...types import Table

FORMATS = ("pdf", "docx", "html", "txt", "md")

# Why a file was left out, as short codes a caller can count and a person can look up.
SKIP_REASONS = {
    "encrypted": "the file needs a password",
    "corrupt": "the file is damaged, truncated or not what its name says",
    "empty": "the file holds no text",
    "no-text-layer": "the pages are images without a text layer (scanned); OCR would be needed",
    "too-large": "the file is over the size limit",
    "unsupported": "no extractor reads this kind of file",
    "not-text": "the file is binary, not text",
}


class SkipFile(Exception):
    """A file that is not indexed, with a machine-readable `reason` (one of SKIP_REASONS) and a message."""

    def __init__(self, reason: str, message: str = ""):
        if reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {reason!r}")
        self.reason = reason
        self.message = message or SKIP_REASONS[reason]
        super().__init__(f"{reason}: {self.message}")


class MissingLibrary(ImportError):
    """An optional extraction library is not installed; the message names the pip command."""

    def __init__(self, module: str, package: str):
        self.package = package
        super().__init__(f"{module} is needed to read this format: pip install {package}")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the PDF character map

_MAP_FILES = ("char_page", "char_box", "char_index", "page_box", "page_rotation")


@dataclass(frozen=True, eq=False)
class CharMap:
    """Where each character of a PDF rendition sits on its page.

    For rendition character i:
      * `char_page[i]`  its page, 1-based; 0 for a character the extractor inserted (the space joining two
        wrapped lines, the blank line between paragraphs). int16, or int32 past 32,767 pages.
      * `char_box[i]`   its box (x0, y0, x1, y1), float32, NaN for inserted characters.
      * `char_index[i]` its index in PDFium's character list of that page (FPDFText), -1 when inserted,
        so a check can re-open the page and compare the very character.

    Coordinate convention (PDFium's page space, which is PDF user space): units are points (1/72 inch),
    the origin is the bottom-left corner of the page's coordinate system, x grows right and y grows UP,
    and the page's /Rotate is NOT applied (boxes are where the content stream put the glyphs).
    `page_box[p-1]` is the visible page area (x0, y0, x1, y1) in the same space (the crop box
    intersected with the media box, as PDFium renders it) and `page_rotation[p-1]` the page's clockwise
    /Rotate in degrees, so a viewer can flip y and rotate: `to_pixels` does that for the images that
    `qa.ingest.formats.pdf.render_page_png` draws (origin top-left, y down).

    Spaces PDFium generates between words map to the page with a zero-width box; they are skipped when
    boxes are merged into rectangles.
    """

    char_page: np.ndarray
    char_box: np.ndarray
    char_index: np.ndarray
    page_box: np.ndarray
    page_rotation: np.ndarray

    def __post_init__(self):
        n = len(self.char_page)
        if self.char_box.shape != (n, 4) or self.char_index.shape != (n,):
            raise ValueError("character map arrays differ in length")
        if self.page_box.shape != (len(self.page_rotation), 4):
            raise ValueError("page arrays differ in length")

    def __len__(self) -> int:
        return len(self.char_page)

    @property
    def pages(self) -> int:
        return len(self.page_rotation)

    # ---- persistence: plain .npy files, never pickle

    def save(self, directory: str | Path) -> None:
        """Write the five arrays as `<name>.npy` into `directory` (created if needed)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for name in _MAP_FILES:
            np.save(d / f"{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, directory: str | Path) -> "CharMap":
        d = Path(directory)
        arrays = {name: np.load(d / f"{name}.npy", allow_pickle=False) for name in _MAP_FILES}
        return cls(**arrays)

    # ---- queries

    def _span(self, start: int, end: int) -> tuple[int, int]:
        n = len(self.char_page)
        start, end = max(0, int(start)), min(n, int(end))
        return start, max(start, end)

    def page_of(self, start: int, end: int) -> Optional[int]:
        """The page where text[start:end] starts: its first character that came from a page; if the span
        holds only inserted characters, the next page character after it (else the one before)."""
        s, e = self._span(start, end)
        pages = self.char_page
        hit = np.flatnonzero(pages[s:e] > 0)
        if len(hit):
            return int(pages[s + hit[0]])
        after = np.flatnonzero(pages[e:] > 0)
        if len(after):
            return int(pages[e + after[0]])
        before = np.flatnonzero(pages[:s] > 0)
        return int(pages[before[-1]]) if len(before) else None

    def boxes_for(self, start: int, end: int) -> list[dict]:
        """text[start:end] as [{"page": p, "rects": [[x0, y0, x1, y1], ...]}, ...]: one rectangle per line
        per page (the union of the line's character boxes), pages in order of first appearance."""
        s, e = self._span(start, end)
        out: list[dict] = []
        cur_page = 0
        rect: Optional[list[float]] = None

        def flush():
            nonlocal rect
            if rect is not None:
                if not out or out[-1]["page"] != cur_page:
                    out.append({"page": cur_page, "rects": []})
                out[-1]["rects"].append([round(v, 2) for v in rect])
            rect = None

        for i in range(s, e):
            p = int(self.char_page[i])
            if p <= 0:
                continue
            x0, y0, x1, y1 = (float(v) for v in self.char_box[i])
            if not (x1 > x0 and y1 > y0):
                continue  # generated spaces: no ink, and their box would stretch a line to nowhere
            if rect is not None and p == cur_page and _same_line(rect, (x0, y0, x1, y1)):
                rect = [min(rect[0], x0), min(rect[1], y0), max(rect[2], x1), max(rect[3], y1)]
                continue
            flush()
            cur_page, rect = p, [x0, y0, x1, y1]
        flush()
        # a page met twice (text that left a page and came back) keeps both groups, in order
        return out

    def page_span(self, page: int) -> Optional[tuple[int, int]]:
        """(start, end) of the rendition text that came from `page`: its first character to its last
        (the characters inserted between its lines included); None for a page with no text."""
        hit = np.flatnonzero(self.char_page == int(page))
        return (int(hit[0]), int(hit[-1]) + 1) if len(hit) else None

    def page_size(self, page: int) -> tuple[float, float]:
        """(width, height) in points of the page as displayed (after /Rotate)."""
        x0, y0, x1, y1 = (float(v) for v in self.page_box[page - 1])
        w, h = x1 - x0, y1 - y0
        return (h, w) if int(self.page_rotation[page - 1]) % 180 else (w, h)

    def to_pixels(self, page: int, rect, scale: float = 1.0) -> list[float]:
        """A box in page space as [left, top, right, bottom] pixels of the page rendered at `scale`
        (render_page_png's image: origin top-left, y down, /Rotate applied)."""
        bx0, by0, bx1, by1 = (float(v) for v in self.page_box[page - 1])
        rot = int(self.page_rotation[page - 1]) % 360
        x0, y0, x1, y1 = (float(v) for v in rect)
        corners = [(x0, y0), (x0, y1), (x1, y0), (x1, y1)]
        pts = []
        for x, y in corners:
            if rot == 90:
                px, py = y - by0, x - bx0
            elif rot == 180:
                px, py = bx1 - x, y - by0
            elif rot == 270:
                px, py = by1 - y, bx1 - x
            else:
                px, py = x - bx0, by1 - y
            pts.append((px * scale, py * scale))
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return [min(xs), min(ys), max(xs), max(ys)]


def _same_line(rect, box) -> bool:
    """Whether a character box continues the line `rect`: they share most of their height and the
    character is not far off to the side (a second column at the same height starts a new rectangle)."""
    overlap = min(rect[3], box[3]) - max(rect[1], box[1])
    h = min(rect[3] - rect[1], box[3] - box[1])
    if h <= 0 or overlap < 0.5 * h:
        return False
    gap = max(box[0] - rect[2], rect[0] - box[2], 0.0)
    return gap <= 3.0 * max(rect[3] - rect[1], box[3] - box[1])


# --------------------------------------------------------------------------- the rendition

@dataclass(frozen=True)
class Rendition:
    """The UTF-8 text a document's passages are cut from, with what is known about where it came from.

    `text` is deterministic: extracting the same bytes again with the same extractor version gives the
    same string, so a citation's offsets can be re-checked against the original file. `needs_copy` is
    True whenever `text` is not simply `Path.read_text(encoding="utf-8")` of the file (every PDF, DOCX
    and HTML file, and a text file in another encoding): a caller that shows citations must store this
    text (or re-extract) rather than open the file as text.

    `marks` are (start, end, reason) ranges of page furniture ("header", "footer", "page-number") that a
    chunker should treat as boilerplate; each one is a paragraph of its own.

    `tables` are the tables of the text, in order, each a paragraph of its own: one row a line, its cells
    joined by " | ", every cell's text at `text[cell.start:cell.end]` (see qa.types.Table).
    """

    text: str
    format: str
    extractor: str
    extractor_version: str
    source_sha256: str
    pages: Optional[int] = None
    title: Optional[str] = None
    author: Optional[str] = None
    date: Optional[str] = None  # ISO yyyy-mm-dd, only when the file states it
    url: Optional[str] = None  # the page's own canonical URL, when it states one
    marks: tuple[tuple[int, int, str], ...] = ()
    charmap: Optional[CharMap] = field(default=None, compare=False, repr=False)
    encoding: Optional[str] = None  # how a text file's bytes were decoded
    needs_copy: bool = False
    warnings: tuple[str, ...] = ()  # things a reader should know (pages without a text layer, ...)
    tables: tuple[Table, ...] = ()

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}")
        if self.charmap is not None and len(self.charmap) != len(self.text):
            raise ValueError("character map and text differ in length")
        if any(not 0 <= c.start <= c.end <= len(self.text) for t in self.tables for c in t.cells):
            raise ValueError("a table cell lies outside the text")

    def page_of(self, start: int, end: int) -> Optional[int]:
        """The 1-based page where text[start:end] starts; None for formats without pages."""
        return self.charmap.page_of(start, end) if self.charmap is not None else None

    def boxes_for(self, start: int, end: int) -> list[dict]:
        """One rectangle per line per page for text[start:end] (see CharMap); [] without a map."""
        return self.charmap.boxes_for(start, end) if self.charmap is not None else []

    def page_size(self, page: int) -> Optional[tuple[float, float]]:
        return self.charmap.page_size(page) if self.charmap is not None else None

    def meta(self) -> dict:
        """Everything but the text and the map, as JSON-ready values."""
        return {
            "format": self.format, "extractor": self.extractor, "extractor_version": self.extractor_version,
            "source_sha256": self.source_sha256, "pages": self.pages, "title": self.title,
            "author": self.author, "date": self.date, "url": self.url,
            "marks": [list(m) for m in self.marks], "encoding": self.encoding,
            "needs_copy": self.needs_copy, "warnings": list(self.warnings), "chars": len(self.text),
            "tables": [t.to_dict() for t in self.tables],
        }

    def save(self, directory: str | Path) -> None:
        """`text.txt` (UTF-8, newlines as in `text`), `meta.json` and, for PDFs, the map's .npy files."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "text.txt", "w", encoding="utf-8", newline="") as f:
            f.write(self.text)
        (d / "meta.json").write_text(json.dumps(self.meta(), ensure_ascii=False, indent=1), encoding="utf-8")
        if self.charmap is not None:
            self.charmap.save(d / "charmap")

    @classmethod
    def load(cls, directory: str | Path) -> "Rendition":
        d = Path(directory)
        with open(d / "text.txt", encoding="utf-8", newline="") as f:
            text = f.read()
        m = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        cm = CharMap.load(d / "charmap") if (d / "charmap").is_dir() else None
        return cls(
            text=text, format=m["format"], extractor=m["extractor"], extractor_version=m["extractor_version"],
            source_sha256=m["source_sha256"], pages=m["pages"], title=m["title"], author=m["author"],
            date=m["date"], url=m["url"], marks=tuple((int(a), int(b), str(r)) for a, b, r in m["marks"]),
            charmap=cm, encoding=m["encoding"], needs_copy=bool(m["needs_copy"]),
            warnings=tuple(m["warnings"]), tables=tuple(Table.from_dict(t) for t in m.get("tables", ())),
        )
