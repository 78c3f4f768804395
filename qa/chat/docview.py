"""The document panel: the document behind a citation, scrolled to its quote; a PDF quote on its page images.

Like qa.chat.render (whose escaping, Library and highlighting it uses): pure functions, no gradio, no I/O.
Page images come from the `page_image` callable the caller passes (qa.chat.pages.PageRenderer in the app),
and are sent inside the HTML as data: URIs.
"""
from __future__ import annotations

import base64
import math
import re
from pathlib import PurePath
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence

from .render import Library, answer_span, attr, cited, date_html, doc_meta, escape, escape_text, highlight, quote_span

DOCUMENT_PLACEHOLDER = ('<div class="qa-doc qa-empty"><p class="qa-muted">Click a citation to open its document '
                        'here, scrolled to the quote.</p></div>')


def render_notice(message: object) -> str:
    """The panel saying why no document is shown (for example, the visitor may not read it)."""
    text = str(message).strip()
    return f'<div class="qa-doc qa-empty"><p class="qa-muted">{escape(text[:1].upper() + text[1:])}.</p></div>'


MAX_SHOWN_PAGES = 2  # pages drawn for one quote; a longer one gets a note (its text is all in "Text of ...")
BOX_PAD_PT = 1.0  # highlight boxes reach this far (in points) beyond the glyphs
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FORMAT_NOTES = {"pdf": "PDF, shown as its extracted text", "docx": "Word document, shown as its text",
                "html": "web page, shown as its text"}


class PageImage(NamedTuple):
    """A PDF page drawn by qa.ingest.formats.pdf.render_page_png: PNG bytes and their size in pixels."""

    png: bytes
    width: int
    height: int


class PageUnavailable(Exception):
    """A page cannot be shown as an image (the original PDF is missing or changed, ...): the message says
    why, in words for the reader, and the panel shows the text rendition instead."""


# (doc_id, 1-based page) -> (png_bytes, width_px, height_px); raises PageUnavailable. qa.chat.pages.PageRenderer is one.
PageFetcher = Callable[[str, int], tuple]


def _box_percent(cmap: Any, page: int, rect: Any, scale: float, width: int, height: int) -> Optional[tuple]:
    """A quote rectangle in page space as (left, top, width, height) in % of the page image, via
    CharMap.to_pixels (origin top-left, /Rotate applied), padded a little and clipped to the page."""
    try:
        x0, y0, x1, y1 = (float(v) for v in rect)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x1 <= x0 or y1 <= y0:
        return None
    p = BOX_PAD_PT
    left, top, right, bottom = cmap.to_pixels(page, [x0 - p, y0 - p, x1 + p, y1 + p], scale)
    lo_x, lo_y = max(0.0, 100.0 * left / width), max(0.0, 100.0 * top / height)
    hi_x, hi_y = min(100.0, 100.0 * right / width), min(100.0, 100.0 * bottom / height)
    if not (hi_x > lo_x and hi_y > lo_y):
        return None
    return lo_x, lo_y, hi_x - lo_x, hi_y - lo_y


def _quote_pages(c: Mapping[str, Any], cmap: Any, s: int, e: int) -> tuple[list[int], dict[int, list]]:
    """The pages the quote is on, in order, and each page's rectangles (from the citation, else the map)."""
    groups = c.get("boxes")
    if not isinstance(groups, (list, tuple)) or not groups:
        groups = cmap.boxes_for(s, e)
    rects: dict[int, list] = {}
    for g in groups:
        page = g.get("page") if isinstance(g, Mapping) else None
        if isinstance(page, int) and 1 <= page <= cmap.pages:
            rects.setdefault(page, []).extend(r for r in (g.get("rects") or ()) if isinstance(r, (list, tuple)))
    pages = list(rects)
    if not pages:
        first = c.get("page") if isinstance(c.get("page"), int) else cmap.page_of(s, e)
        if not isinstance(first, int) or not 1 <= first <= cmap.pages:
            raise PageUnavailable("This quote has no place on a page of the PDF, so the text is shown instead.")
        pages = [first]
    return pages, rects


def _answer_rects(c: Mapping[str, Any], cmap: Any, s: int, e: int) -> dict[int, list]:
    """Each page's rectangles of the answer span inside the quote (a table's cell in its quoted row), from
    the page map; none when the answer is the whole quote or not inside it."""
    a, b = c.get("answer_start"), c.get("answer_end")
    if not (isinstance(a, int) and isinstance(b, int) and s <= a < b <= e) or (a, b) == (s, e):
        return {}
    out: dict[int, list] = {}
    for g in cmap.boxes_for(a, b):
        out.setdefault(g["page"], []).extend(g.get("rects") or ())
    return out


def _page_figure(doc_id: str, page: int, file_name: str, cmap: Any, rects: list, page_image: PageFetcher,
                 focus: bool, answer_rects: Sequence = ()) -> tuple[str, bool]:
    """One page image with a highlight per quote rectangle, and a stronger one per answer rectangle (a
    table's cell inside its quoted row); the first highlight (when `focus`) is qa-doc-focus."""
    try:
        png, width, height = page_image(doc_id, page)
    except PageUnavailable:
        raise
    except Exception as e:  # noqa: BLE001 - a page image that fails is a page not shown, not a broken panel
        raise PageUnavailable(f"Page {page} could not be drawn ({e.__class__.__name__}), "
                              "so the text is shown instead.") from None
    pw, _ = cmap.page_size(page)
    if (not isinstance(png, (bytes, bytearray)) or not bytes(png[:8]) == PNG_SIGNATURE or not isinstance(width, int)
            or not isinstance(height, int) or width <= 0 or height <= 0 or pw <= 0):
        raise PageUnavailable(f"Page {page} could not be drawn, so the text is shown instead.")
    scale = width / pw
    boxes = []
    for kind, r in [("qa-box", r) for r in rects] + [("qa-box qa-box-answer", r) for r in answer_rects]:
        pct = _box_percent(cmap, page, r, scale, width, height)
        if pct is None:
            continue
        ident = ' id="qa-doc-focus"' if focus else ""
        focus = False
        boxes.append(f'<span class="{kind}"{ident} style="left:{pct[0]:.3f}%;top:{pct[1]:.3f}%;'
                     f'width:{pct[2]:.3f}%;height:{pct[3]:.3f}%"></span>')
    uri = "data:image/png;base64," + base64.b64encode(bytes(png)).decode("ascii")
    alt = f"Page {page} of {file_name}"
    return (f'<div class="qa-page-wrap"><div class="qa-page-cap">{escape(f"Page {page} of {cmap.pages}")} · '
            f'<span class="qa-file">{escape(file_name)}</span></div>'
            f'<div class="qa-page" data-page="{int(page)}" style="aspect-ratio:{width}/{height}">'
            f'<img class="qa-page-img" src="{uri}" width="{width}" height="{height}" alt="{attr(alt)}" '
            f'draggable="false">{"".join(boxes)}</div></div>'), focus


def _pdf_view(c: Mapping[str, Any], doc_id: str, text: str, span: tuple[int, int], lib: Library,
              page_image: PageFetcher, file_name: str) -> tuple[str, str]:
    """The quote's page(s) as images with the quote's boxes over them, and the text of those pages in a
    collapsed section: (html, "page 3 of 12"). Raises PageUnavailable when no image can be shown."""
    cmap = lib.charmap(doc_id)
    if cmap is None:
        raise PageUnavailable("The index holds no page map for this PDF, so its text is shown instead.")
    s, e = span
    pages, rects = _quote_pages(c, cmap, s, e)
    answer = _answer_rects(c, cmap, s, e)
    shown = pages[:MAX_SHOWN_PAGES]
    figures, focus = [], True
    for p in shown:
        fig, focus = _page_figure(doc_id, p, file_name, cmap, rects.get(p, []), page_image, focus, answer.get(p, ()))
        figures.append(fig)
    if focus:  # no rectangle to highlight: scroll to the page itself
        figures[0] = figures[0].replace('<div class="qa-page-wrap">', '<div class="qa-page-wrap" id="qa-doc-focus">', 1)
    more = ""
    if len(pages) > len(shown):
        rest = pages[len(shown):]
        where = f"page {rest[0]}" if len(rest) == 1 else f"pages {rest[0]}–{rest[-1]}"
        words = f"The quote goes on to {where}; its whole text is below."
        more = f'<p class="qa-muted qa-page-more">{escape(words)}</p>'
    spans = [sp for sp in (cmap.page_span(p) for p in shown) if sp]
    lo, hi = min([s] + [sp[0] for sp in spans]), max([e] + [sp[1] for sp in spans])
    label = f"page {shown[0]}" if len(shown) == 1 else f"pages {shown[0]}–{shown[-1]}"
    body = highlight(text, lo, hi, span, answer_span(c, s, e))
    details = (f'<details class="qa-page-text"><summary>{escape("Text of " + label)}</summary>'
               f'<div class="qa-doc-body qa-page-text-body">{body}</div></details>')
    return f'<div class="qa-doc-pages">{"".join(figures)}{more}</div>{details}', f"{label} of {cmap.pages}"


def _original_link(c: Mapping[str, Any], doc: Any) -> str:
    """A web page's original, opened at the quote (its #:~:text= link), in a new tab; http(s) links only."""
    url = c.get("url") or getattr(doc, "url", None)
    if not isinstance(url, str) or not re.match(r"https?://[^\s/]", url, flags=re.I):
        return ""
    words = "Open the original page at the quote ↗" if c.get("url") else "Open the original page ↗"
    return (f'<a class="qa-orig" href="{attr(url)}" target="_blank" rel="noopener noreferrer">'
            f'{escape(words)}</a>')


def render_document(answer: Optional[Mapping[str, Any]], n: int, lib: Library, nonce: object = "",
                    page_image: Optional[PageFetcher] = None) -> str:
    """The document behind citation n of a reply, scrolled to the quote (the element with id qa-doc-focus).

    A PDF quote, given `page_image`, shows its page(s) drawn as images with a highlight box per quote line,
    and the text of those pages in a collapsed section; when no image can be had (the original is missing
    or changed, see qa.chat.pages) the panel says why and shows the text rendition. Any other document shows
    its whole text with the quote marked, and a web page a link to its original at the quote."""
    if not answer or not isinstance(answer, Mapping):
        return DOCUMENT_PLACEHOLDER
    cites, _ = cited(answer)
    if not (1 <= n <= len(cites)):
        return DOCUMENT_PLACEHOLDER
    c = cites[n - 1]
    doc_id = str(c.get("doc_id"))
    doc = lib.documents.get(doc_id)
    title, date = doc_meta(doc, c)
    text = getattr(doc, "text", None)
    if not isinstance(text, str):
        return (f'<div class="qa-doc"><div class="qa-doc-head"><strong>{escape(title)}</strong></div>'
                f'<p class="qa-muted">This document is not in the loaded index.</p></div>')
    span = quote_span(c, text)
    fmt = str(getattr(doc, "format", None) or "txt")
    source = str(getattr(doc, "source", None) or c.get("source") or "")
    meta = [f'<span class="qa-label">[{n}]</span> <strong>{escape(title)}</strong>']
    if date:
        meta.append(f'<span class="qa-date">{date_html(date)}</span>')
    note = ""
    if span and fmt == "pdf" and page_image is not None:
        file_name = PurePath(source).name or source or title
        try:
            view, where = _pdf_view(c, doc_id, text, span, lib, page_image, file_name)
        except PageUnavailable as e:
            note = f'<p class="qa-note">{escape(e)}</p>'
        else:
            meta += [f'<span class="qa-file">{escape(file_name)}</span>',
                     f'<span class="qa-where">{escape(where)}</span>']
            return (f'<div class="qa-doc qa-doc-pdf" data-nonce="{attr(nonce)}"><div class="qa-doc-head">'
                    f'{" · ".join(meta)}</div>{view}</div>')
    if source:
        meta.append(f'<span class="qa-muted">{escape(source)}</span>')
    if fmt in FORMAT_NOTES:
        meta.append(f'<span class="qa-muted qa-format">{escape(FORMAT_NOTES[fmt])}</span>')
    if span:
        meta.append(f'<span class="qa-muted">characters {span[0]:,}–{span[1]:,}</span>')
        body = highlight(text, 0, len(text), span, answer_span(c, *span), mark_id="qa-doc-focus")
    else:
        meta.append('<span class="qa-muted">(the quote is no longer at its recorded place in this document)</span>')
        body = escape_text(text, 0, len(text))
    link = _original_link(c, doc) if fmt == "html" else ""
    link = f'<div class="qa-doc-links">{link}</div>' if link else ""
    return (f'<div class="qa-doc" data-nonce="{attr(nonce)}"><div class="qa-doc-head">{" · ".join(meta)}</div>'
            f'{note}{link}<div class="qa-doc-body">{body}</div></div>')
