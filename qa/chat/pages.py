"""PDF pages drawn as images for the chat's document panel, from verified originals, cached.

The original is checked against the index, each page is drawn once and kept in a bounded, thread-safe LRU.

`PageRenderer(index)` is the `page_image` callable qa.chat.docview.render_document takes: (doc_id, page) ->
qa.chat.docview.PageImage (PNG bytes, width, height), or qa.chat.docview.PageUnavailable saying why not. Only
documents of the loaded index can be drawn, by id and page number: nothing a browser sends names a
file. The original is the file at `Document.source` (or the same path under the corpus folder the
index records, for an index opened from elsewhere), and it must still have the sha256 recorded at
build time, since the citation's boxes were measured on that file; a missing or changed original is a
PageUnavailable, and the panel falls back to the text rendition.

Pages are cached by (doc_id, page) up to `max_pages` pages and `max_bytes` bytes of PNG; a hit costs a
stat() of the original, which re-verifies it (and drops its pages) when its size or mtime has moved.
Concurrent requests for the same page draw it once. PDFium itself is serialised by qa.ingest.formats.pdf.
"""
from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..ingest.formats import MissingLibrary, SkipFile
from ..ingest.formats.pdf import render_page_png
from .docview import PNG_SIGNATURE, PageImage, PageUnavailable

DEFAULT_SCALE = 1.5  # pixels per point: a letter page is 918 x 1188 px
MAX_SIDE_PX = 2400  # a poster-sized page is drawn smaller, so one page never sends megabytes
MAX_PAGES = 48
MAX_BYTES = 48 * 1024 * 1024
MAX_ORIGINAL_BYTES = 256 * 1024 * 1024


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if png[:8] != PNG_SIGNATURE or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", png[16:24])


def original_path(index: Any, doc: Any) -> Path:
    """Where a document's original file is: its `source` as recorded, else the same file under the corpus
    folder's absolute path (an index opened from another working directory)."""
    p = Path(doc.source)
    if p.exists() or p.is_absolute():
        return p
    corpus = (getattr(index, "manifest", None) or {}).get("corpus", {})
    given, absolute = corpus.get("path"), corpus.get("absolute_path")
    if given and absolute:
        try:
            return Path(absolute) / p.relative_to(given)
        except ValueError:
            pass
    return p


class PageRenderer:
    """(doc_id, page) -> PageImage for the PDFs of one loaded index; see the module docstring."""

    def __init__(self, index: Any, scale: float = DEFAULT_SCALE, max_side: int = MAX_SIDE_PX,
                 max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES):
        self.index = index
        self.scale, self.max_side = float(scale), int(max_side)
        self.max_pages, self.max_bytes = int(max_pages), int(max_bytes)
        self._lock = threading.Lock()
        self._pages: OrderedDict[tuple[str, int], PageImage] = OrderedDict()
        self._bytes = 0
        self._drawing: dict[tuple[str, int], threading.Lock] = {}
        self._verified: dict[str, tuple] = {}  # doc_id -> (path, size, mtime_ns) of the original that matched
        self.renders = 0  # pages drawn (not served from the cache), for tests and logs

    # ---- the cache

    @property
    def cached_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._pages)

    def _drop_doc(self, doc_id: str) -> None:  # under self._lock
        for key in [k for k in self._pages if k[0] == doc_id]:
            self._bytes -= len(self._pages.pop(key).png)
        self._verified.pop(doc_id, None)

    def _keep(self, key: tuple[str, int], img: PageImage) -> None:  # under self._lock
        if len(img.png) > self.max_bytes or key in self._pages:
            return
        self._pages[key] = img
        self._bytes += len(img.png)
        while self._pages and (len(self._pages) > self.max_pages or self._bytes > self.max_bytes):
            _, old = self._pages.popitem(last=False)
            self._bytes -= len(old.png)

    # ---- the original

    def _document(self, doc_id: str, page: Any):
        doc = self.index.documents.get(doc_id)
        if doc is None or getattr(doc, "format", None) != "pdf":
            raise PageUnavailable("This document is not a PDF of the loaded index.")
        if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= (doc.pages or 0):
            raise PageUnavailable(f"Page {page} is not a page of {Path(doc.source).name}.")
        return doc

    def _stamp(self, doc) -> tuple:
        path = original_path(self.index, doc)
        name = Path(doc.source).name
        try:
            st = path.stat()
        except OSError:
            raise PageUnavailable(f"The original PDF ({name}) is no longer where it was indexed, "
                                  "so its text is shown instead.") from None
        return path, st.st_size, st.st_mtime_ns

    def _changed(self, doc) -> PageUnavailable:
        return PageUnavailable(f"The original PDF ({Path(doc.source).name}) has changed since it was indexed, so "
                               "its pages no longer match the quote; its indexed text is shown instead.")

    def _read_verified(self, doc, stamp: tuple) -> bytes:
        path, size, _ = stamp
        if size > MAX_ORIGINAL_BYTES:
            raise PageUnavailable(f"The original PDF ({path.name}) is too large to draw here; "
                                  "its text is shown instead.")
        try:
            data = path.read_bytes()
        except OSError:
            raise PageUnavailable(f"The original PDF ({path.name}) cannot be read, "
                                  "so its text is shown instead.") from None
        if not doc.original_sha256 or hashlib.sha256(data).hexdigest() != doc.original_sha256:
            raise self._changed(doc)
        return data

    # ---- drawing

    def _scale(self, doc_id: str, page: int) -> float:
        cmap = self.index.charmap(doc_id) if hasattr(self.index, "charmap") else None
        if cmap is None:
            return self.scale
        w, h = cmap.page_size(page)
        return min(self.scale, self.max_side / max(w, h, 1.0))

    def _draw(self, doc_id: str, page: int, data: bytes) -> PageImage:
        try:
            png = render_page_png(data, page, scale=self._scale(doc_id, page))
            width, height = png_size(png)
        except (SkipFile, MissingLibrary, ValueError, MemoryError) as e:
            raise PageUnavailable(f"Page {page} could not be drawn ({e.__class__.__name__}), "
                                  "so the text is shown instead.") from None
        return PageImage(png, int(width), int(height))

    def __call__(self, doc_id: str, page: int) -> PageImage:
        doc = self._document(doc_id, page)
        key = (doc_id, page)
        stamp = self._stamp(doc)
        with self._lock:
            if self._verified.get(doc_id) == stamp and key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
            drawing = self._drawing.setdefault(key, threading.Lock())
        try:
            with drawing:  # one thread draws a page; others asking for it meanwhile wait and take the result
                with self._lock:
                    if self._verified.get(doc_id) == stamp and key in self._pages:
                        self._pages.move_to_end(key)
                        return self._pages[key]
                try:
                    data = self._read_verified(doc, stamp)
                except PageUnavailable:
                    with self._lock:
                        self._drop_doc(doc_id)
                    raise
                img = self._draw(doc_id, page, data)
                with self._lock:
                    self.renders += 1
                    if self._verified.get(doc_id) != stamp:
                        self._drop_doc(doc_id)  # pages of an older (or unverified) file go
                        self._verified[doc_id] = stamp
                    self._keep(key, img)
                return img
        finally:
            with self._lock:
                if self._drawing.get(key) is drawing:
                    del self._drawing[key]
