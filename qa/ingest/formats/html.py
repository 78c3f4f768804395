"""Web pages (trafilatura): the main text without page furniture, headings as Markdown lines, metadata."""
from __future__ import annotations

import re
from copy import deepcopy
from typing import Optional

from .base import MissingLibrary, Rendition, SkipFile, sha256_bytes
from .html_dates import page_date
from .html_tables import SourceTables, table_block
from .metadata import clean_meta, clean_title
from .tables import TableBlock, join_blocks

# 2: the page's declared date first, never a copyright year; 3: a table is one paragraph, one row a line,
# empty cells kept, spans and header rows read from the page's own <table>, a caption a paragraph of its own
HTML_RULES_VERSION = 3

# trafilatura.extract's settings, the best of a grid measured on the article-extraction benchmark
# (scripts/bench_html.py --grid, docs/formats.md): readers' comments are not the article; tables are
# kept since they often carry the facts; favor_recall with fast (no readability/jusText fallback) scored
# highest and is the quickest. deduplicate stays off: its cache would make a second extraction of the
# same page differ, and re-extraction must give the same text.
SETTINGS = {
    "include_comments": False,
    "include_tables": True,
    "favor_precision": False,
    "favor_recall": True,
    "fast": True,
    "deduplicate": False,
}
_BLOCKS = {"p", "head", "list", "item", "quote", "table", "row", "cell", "code", "div", "main", "doc", "comments"}


def _trafilatura():
    try:
        import trafilatura
    except ImportError:
        raise MissingLibrary("trafilatura", "trafilatura lxml_html_clean") from None
    return trafilatura


def extractor_version() -> str:
    return f"{_trafilatura().__version__}+rules.{HTML_RULES_VERSION}"


# --------------------------------------------------------------------------- XML -> text

def _inline(el) -> str:
    """The text of an element and its inline children, <lb/> as a line break."""
    parts = [el.text or ""]
    for child in el:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag not in ("graphic",):
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _norm(s: str) -> str:
    lines = (" ".join(line.split()) for line in s.split("\n"))
    return "\n".join(line for line in lines if line)


def _render(el, out: list, sources: Optional[SourceTables] = None) -> None:
    """Append the rendition paragraphs of a block element of trafilatura's XML to `out` (a table as a
    TableBlock, laid out as `sources`, the page's own tables, say)."""
    tag = el.tag
    if tag == "head":
        text = _norm(_inline(el)).replace("\n", " ")
        if text:
            m = re.match(r"h([1-6])$", el.get("rend") or "")
            out.append("#" * (int(m.group(1)) if m else 2) + " " + text)
    elif tag == "list":
        items = []
        for item in el:
            if item.tag != "item":
                continue
            if any(c.tag in _BLOCKS for c in item):  # an item holding a nested list or paragraphs
                sub: list[str] = []
                text = _norm(item.text or "")
                if text:
                    sub.append(text)
                for c in item:
                    if c.tag in _BLOCKS:
                        _render(c, sub)
                    elif c.tag != "lb":
                        t = _norm(_inline(c) + (c.tail or ""))
                        if t:
                            sub.append(t)
                # a table inside a list item stays text there, without a table record
                sub = [b.text if isinstance(b, TableBlock) else b for b in sub]
                items.extend("- " + s if not s.startswith("- ") else "  " + s for s in sub)
            else:
                text = _norm(_inline(item))
                if text:
                    items.append("- " + text.replace("\n", " "))
        if items:
            out.append("\n".join(items))
    elif tag == "table":
        rows = [[(_cell_text(c), c.get("role") == "head") for c in row if c.tag == "cell"]
                for row in el if row.tag == "row"]
        caption, block = table_block(rows, sources)
        if caption:
            out.append(caption)
        if block is not None:
            out.append(block)
    elif tag in ("quote", "div", "main", "doc"):
        if _norm(el.text or ""):
            out.append(_norm(el.text))
        for c in el:
            if c.tag in _BLOCKS:
                _render(c, out, sources)
            else:
                t = _norm(_inline(c))
                if t:
                    out.append(t)
            if _norm(c.tail or ""):
                out.append(_norm(c.tail))
    elif tag == "comments":
        return
    else:  # p, code and anything unexpected: one paragraph
        text = _norm(_inline(el))
        if text:
            out.append(text)


def _cell_text(cell) -> str:
    """A cell's text on one line: its paragraphs and line breaks become spaces."""
    parts = [cell.text or ""]
    for child in cell:
        parts.append(" " + _inline(child) + " " if child.tag in _BLOCKS else "\n" if child.tag == "lb" else _inline(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def xml_to_rendition(xml: str, tree=None) -> tuple[str, tuple]:
    """The rendition text of trafilatura's XML and its tables; `tree`, the page as parsed, gives the
    tables' spans and header cells, which trafilatura's XML leaves out."""
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    main = root.find("main")
    out: list = []
    _render(main if main is not None else root, out, SourceTables(tree) if tree is not None else None)
    return join_blocks(out)


def xml_to_text(xml: str) -> str:
    return xml_to_rendition(xml)[0]


# --------------------------------------------------------------------------- metadata

def _canonical(tree) -> Optional[str]:
    """The page's own URL as it states it: <link rel="canonical">, else og:url; absolute http(s) only."""
    for xp in ('//link[contains(concat(" ", normalize-space(translate(@rel, "CANONICAL", "canonical")), " "),'
               ' " canonical ")]/@href',
               '//meta[@property="og:url" or @name="og:url"]/@content'):
        for v in tree.xpath(xp):
            v = str(v).strip()
            if re.match(r"^https?://[^\s/]+", v):
                return v
    return None


# --------------------------------------------------------------------------- public API

def _parse(data: bytes):
    from trafilatura.utils import load_html

    tree = load_html(data)
    if tree is None:
        # trafilatura refuses what does not look like a whole page; a fragment ("<p>...</p>", an
        # exported snippet) is still HTML, so lxml wraps it in a document of its own
        import lxml.html
        from lxml.etree import ParserError

        try:
            tree = lxml.html.document_fromstring(data)
        except (ParserError, ValueError):
            tree = None
    if tree is None or not len(tree):
        raise SkipFile("corrupt", "no HTML could be parsed from the file")
    return tree


def extract_html_bytes(data: bytes, settings: Optional[dict] = None) -> Rendition:
    """The rendition of a web page's bytes (any encoding the page declares or trafilatura detects)."""
    trafilatura = _trafilatura()
    if not data.strip():
        raise SkipFile("empty", "the file has no bytes")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SkipFile("not-text", "the file holds NUL bytes: binary, not HTML")
    tree = _parse(data)
    opts = dict(SETTINGS, **(settings or {}))
    # trafilatura prunes the tree it is given, so it gets its own copy; the metadata read the original
    xml = trafilatura.extract(deepcopy(tree), output_format="xml", with_metadata=False, **opts)
    text, tables = xml_to_rendition(xml, tree) if xml else ("", ())
    if not text.strip():
        raise SkipFile("empty", "no main text found in the page")
    try:
        # its own date search is not used (page_date is): extensive=False spares the time
        meta = trafilatura.extract_metadata(tree, extensive=False)
    except Exception:  # odd metadata is no reason to lose the text
        meta = None
    title = clean_title(getattr(meta, "title", None)) if meta else None
    author = clean_meta(getattr(meta, "author", None)) if meta else None
    url = _canonical(tree)
    return Rendition(
        text=text, format="html", extractor="trafilatura", extractor_version=extractor_version(),
        source_sha256=sha256_bytes(data), title=title, author=author, date=page_date(tree, url, text), url=url,
        needs_copy=True, tables=tables,
    )
