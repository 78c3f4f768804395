"""PDF files (pypdfium2): a text rendition built from PDFium's characters with a page and box for each."""
from __future__ import annotations

import io
import re
import threading
import xml.etree.ElementTree as ET
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .base import CharMap, MissingLibrary, Rendition, SkipFile, sha256_bytes
from .metadata import clean_meta, clean_title, is_default_date, iso_date
from .pdf_build import TableLine
from .pdf_layout import Line, build, fix_hyphens, mark_furniture, measure_page, page_chars, paragraph_breaks, tidy
from .pdf_tables import page_edges, ruled_grids, rules_drawn, take_tables, unruled_grids

# Bumped whenever the rules below change the text they produce for the same file, so stored
# renditions (and the citations cut from them) are known to need re-extraction.
# 3: glyph numbers of unmapped glyphs dropped; right-to-left lines in logical order; 4: tables as rows of cells
LAYOUT_VERSION = 4
MAX_PAGES = 10_000
MAX_CHARS = 20_000_000
MAX_RENDER_PIXELS = 40_000_000

# PDFium is not thread-safe; one lock serialises every call into it from this module.
_LOCK = threading.RLock()

_ERR_PASSWORD, _ERR_SECURITY = 4, 5


def _pdfium():
    try:
        import pypdfium2
        import pypdfium2.raw
    except ImportError:
        raise MissingLibrary("pypdfium2", "pypdfium2") from None
    return pypdfium2, pypdfium2.raw


def extractor_version() -> str:
    pdfium, _ = _pdfium()
    build = str(pdfium.version.PDFIUM_INFO).split("@")[0]
    try:
        tables = version("pdfplumber")  # its table finder places the ruled tables
    except PackageNotFoundError:
        tables = "none"
    return (f"{pdfium.version.PYPDFIUM_INFO}+pdfium.{build}+layout.{LAYOUT_VERSION}+meta.{META_VERSION}"
            f"+pdfplumber.{tables}")


# --------------------------------------------------------------------------- opening

def _open(data: bytes, password: Optional[str] = None):
    """A PdfDocument, or SkipFile for what cannot be read."""
    pdfium, _ = _pdfium()
    if not data.strip():
        raise SkipFile("empty", "the file has no bytes")
    head = data[:1024]
    if b"%PDF-" not in head:
        raise SkipFile("corrupt", "no %PDF- header: not a PDF")
    # PDFium quietly rebuilds a cut-off file from what is left, which would index half a document as if
    # it were whole; a PDF ends with %%EOF, so its absence means the download or copy was cut short.
    if b"%%EOF" not in data[-4096:]:
        raise SkipFile("corrupt", "truncated: no %%EOF at the end of the file")
    try:
        return pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) in (_ERR_PASSWORD, _ERR_SECURITY):
            raise SkipFile("encrypted", "the PDF is password-protected") from None
        raise SkipFile("corrupt", f"PDFium cannot open it ({e})") from None



# --------------------------------------------------------------------------- metadata

# Bumped whenever the rules below change the title, author or date read from the same file (apart from
# LAYOUT_VERSION, which is about the text). 1: placeholder, numeric and program-default titles and a
# clock's zero dates are dropped.
META_VERSION = 1


def _pdf_date(s: Optional[str]) -> Optional[str]:
    m = re.match(r"^\s*(?:D:)?(\d{4})(\d{2})?(\d{2})?", s or "")
    if not m:
        return None
    return iso_date(m.group(1), m.group(2) or 1, m.group(3) or 1) if m.group(2) and m.group(3) else None


def _xmp_date(s: Optional[str]) -> Optional[str]:
    m = re.match(r"^\s*(\d{4})-(\d{2})-(\d{2})", s or "")
    return iso_date(*m.groups()) if m else None


_XMP_PACKET = re.compile(rb"<x:xmpmeta\b.{0,262144}?</x:xmpmeta>", re.S)
_NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}


def _xmp(data: bytes) -> dict:
    """Title, author and dates from the document's XMP packet, found by scanning the raw bytes (PDFium
    does not expose XMP; packets are written uncompressed so that scanners can find them). Only a packet
    describing a PDF (pdf:, xmp:/xap: or dc: properties) is used, the last one when there are several,
    since an incremental update appends the newer one; a packet inside an embedded image has none."""
    found = None
    for m in _XMP_PACKET.finditer(data):
        pkt = m.group(0)
        if any(t in pkt for t in (b"ns.adobe.com/pdf/", b"purl.org/dc/elements/", b"ns.adobe.com/xap/1.0/")):
            if b"ns.adobe.com/exif/" in pkt or b"ns.adobe.com/tiff/" in pkt:
                continue  # a photo's own metadata
            found = pkt
    if found is None:
        return {}
    out = {}
    try:
        root = ET.fromstring(found)
    except ET.ParseError:
        root = None
    if root is not None:
        def first_li(tag):
            for el in root.iter(f"{{{_NS['dc']}}}{tag}"):
                items = [clean_meta("".join(li.itertext())) for li in el.iter(f"{{{_NS['rdf']}}}li")]
                items = [i for i in items if i] or [clean_meta("".join(el.itertext()))]
                if items and items[0]:
                    return items
            return None
        t = first_li("title")
        a = first_li("creator")
        out["title"] = t[0] if t else None
        out["author"] = ", ".join(a) if a else None
        d = first_li("date")
        out["dc_date"] = _xmp_date(d[0]) if d else None
        for el in root.iter(f"{{{_NS['xmp']}}}CreateDate"):
            out["create_date"] = _xmp_date("".join(el.itertext()))
        if not out.get("create_date"):
            for desc in root.iter(f"{{{_NS['rdf']}}}Description"):
                v = desc.get(f"{{{_NS['xmp']}}}CreateDate")
                if v:
                    out["create_date"] = _xmp_date(v)
    else:
        text = found.decode("utf-8", "replace")

        def grab(tag):
            m = re.search(rf"<dc:{tag}\b.*?(?:<rdf:li[^>]*>(.*?)</rdf:li>|>([^<]+)</dc:{tag}>)", text, re.S)
            return clean_meta(m.group(1) or m.group(2)) if m else None
        out["title"], out["author"] = grab("title"), grab("creator")
        out["dc_date"] = _xmp_date(grab("date"))
        m = re.search(r"<(?:xmp|xap):CreateDate>([^<]+)<", text)
        out["create_date"] = _xmp_date(m.group(1)) if m else None
    return out


def _metadata(doc, data: bytes) -> dict:
    info = {}
    try:
        info = doc.get_metadata_dict(skip_empty=True)
    except Exception:  # a damaged info dictionary is no reason to lose the text
        info = {}
    xmp = _xmp(data)
    # a writer with no date at hand stamps a clock's zero ("D:19700101..."): that is no date, and the next
    # source is asked instead
    dates = (xmp.get("dc_date"), _pdf_date(info.get("CreationDate")), xmp.get("create_date"),
             _pdf_date(info.get("ModDate")))
    return {
        # Office's print-to-PDF titles a file "Microsoft Word - x.docx", other tools "Untitled" or a page
        # number: such a title is dropped here, so that the reader's fallback (a heading of the text) is used
        "title": clean_title(info.get("Title")) or clean_title(xmp.get("title")),
        "author": clean_meta(info.get("Author")) or xmp.get("author"),
        "date": next((d for d in dates if d and not is_default_date(d)), None),
    }


# --------------------------------------------------------------------------- public API

def extract_pdf_bytes(data: bytes, max_pages: int = MAX_PAGES) -> Rendition:
    """The rendition of a PDF's bytes; SkipFile for encrypted, damaged or image-only files."""
    _, raw = _pdfium()
    with _LOCK:
        doc = _open(data)
        try:
            return _extract(doc, data, raw, max_pages)
        finally:
            doc.close()


def _extract(doc, data: bytes, raw, max_pages: int) -> Rendition:
    n_pages = len(doc)
    if n_pages == 0:
        raise SkipFile("empty", "the PDF has no pages")
    if n_pages > max_pages:
        raise SkipFile("too-large", f"{n_pages} pages, over the limit of {max_pages}")
    pages: list[list[Line]] = []
    page_boxes, rotations, heights, warnings, ruled = [], [], [], [], []
    total = 0
    for p in range(n_pages):
        page = doc[p]
        grids: list = []
        try:
            pbox = tuple(float(v) for v in page.get_bbox())
            rot = int(page.get_rotation()) % 360
            w, h = pbox[2] - pbox[0], pbox[3] - pbox[1]
            # rules drawn across and down: pdfplumber's table finder looks for ruled tables there
            if rules_drawn(raw, page.raw):
                grids = ruled_grids(page_edges(raw, page.raw, pbox, rot), *((h, w) if rot % 180 else (w, h)))
            tp = page.get_textpage()
            try:
                lines = page_chars(raw, tp.raw, pbox)
            finally:
                tp.close()
        except SkipFile:
            raise
        except Exception as e:  # one unreadable page: keep the others, and say so
            warnings.append(f"page {p + 1} could not be read ({type(e).__name__})")
            pbox, rot, lines, grids = (0.0, 0.0, 0.0, 0.0), 0, [], []
        finally:
            page.close()
        ruled.append(grids)
        lines = [ln for ln in (tidy(x) if x.chars else x for x in lines) if ln is not None]
        lines = measure_page(lines, pbox, rot)
        total += sum(len(ln.chars) for ln in lines)
        if total > MAX_CHARS:
            raise SkipFile("too-large", f"over {MAX_CHARS:,} characters of text")
        if not lines:
            warnings.append(f"page {p + 1} has no text layer")
        pages.append(lines)
        page_boxes.append(pbox)
        rotations.append(rot)
        w, h = pbox[2] - pbox[0], pbox[3] - pbox[1]
        heights.append(w if rot % 180 else h)
    if not any(any(not c[1].isspace() for ln in lines for c in ln.chars) for lines in pages):
        # The hook for OCR: these pages are images. An OCR step would draw each one with
        # render_page_png, read it with tesseract (Debian's tesseract-ocr, not installed here) and build
        # lines with boxes in page space from its word boxes, so the rest of this module works unchanged.
        raise SkipFile(
            "no-text-layer",
            "no page has a text layer (scanned images); OCR is not part of this build "
            "(it would need Debian's tesseract-ocr and an OCR step in qa.ingest.formats.pdf)",
        )
    mark_furniture(pages, heights)
    for p, lines in enumerate(pages):
        lines = take_tables(lines, ruled[p], page_boxes[p], rotations[p])
        rest = [ln for ln in lines if not isinstance(ln, TableLine)]
        pages[p] = take_tables(lines, unruled_grids(rest, page_boxes[p], rotations[p]), page_boxes[p], rotations[p],
                               figures=True)
    breaks = [_table_breaks(lines, paragraph_breaks(lines)) for lines in pages]
    fix_hyphens(pages, breaks)
    bld, marks = build(pages, breaks)
    tables = tuple(bld.tables)
    text = "".join(bld.parts)
    page_dtype = np.int16 if n_pages < 32_767 else np.int32
    cmap = CharMap(
        char_page=np.asarray(bld.pages, dtype=page_dtype),
        char_box=np.asarray(bld.boxes, dtype=np.float32).reshape(-1, 4),
        char_index=np.asarray(bld.index, dtype=np.int32),
        page_box=np.asarray(page_boxes, dtype=np.float32).reshape(-1, 4),
        page_rotation=np.asarray(rotations, dtype=np.int16),
    )
    meta = _metadata(doc, data)
    return Rendition(
        text=text, format="pdf", extractor="pypdfium2", extractor_version=extractor_version(),
        source_sha256=sha256_bytes(data), pages=n_pages, title=meta["title"], author=meta["author"],
        date=meta["date"], url=None, marks=tuple(marks), charmap=cmap, needs_copy=True,
        warnings=tuple(warnings), tables=tables,
    )


def _table_breaks(lines: list, breaks: list[str]) -> list[str]:
    """A table is a paragraph of its own: a paragraph break before and after it."""
    for k, line in enumerate(lines):
        if isinstance(line, TableLine):
            if k:
                breaks[k - 1] = "para"
            if k < len(breaks):
                breaks[k] = "para"
    return breaks


def render_page_png(source: Union[str, Path, bytes], page: int, scale: float = 2.0) -> bytes:
    """Page `page` (1-based) drawn as a PNG at `scale` pixels per point, /Rotate applied: the image
    CharMap.to_pixels maps boxes onto. The scale is lowered if the image would pass 40 megapixels."""
    pdfium, _ = _pdfium()

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    with _LOCK:
        doc = _open(data)
        try:
            if not 1 <= page <= len(doc):
                raise ValueError(f"page {page} is not in 1..{len(doc)}")
            pg = doc[page - 1]
            w, h = pg.get_size()
            if w * h * scale * scale > MAX_RENDER_PIXELS:
                scale = (MAX_RENDER_PIXELS / max(w * h, 1.0)) ** 0.5
            bitmap = pg.render(scale=scale)
            img = bitmap.to_pil()
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            pg.close()
            return buf.getvalue()
        finally:
            doc.close()
