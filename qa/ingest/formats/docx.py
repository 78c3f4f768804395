"""Word .docx files (python-docx): body paragraphs and tables in order, headings as Markdown lines."""
from __future__ import annotations

import io
import re
import zipfile
from importlib.metadata import version
from typing import Iterator, Optional, Union

from .base import MissingLibrary, Rendition, SkipFile, sha256_bytes
from .metadata import clean_meta, clean_title, is_default_date
from .tables import GridCell, TableBlock, join_blocks, write_table
from .zipguard import LIMITS, declared_entries, directory_problem

# 2: a template's creation date, default titles and authors are no metadata; 3: a table is one paragraph,
# one row a line, empty and vertically merged cells kept empty at their place, spans and header rows read
DOCX_RULES_VERSION = 3

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


_P, _TBL, _TR, _TC, _SDT, _SDT_CONTENT = _w("p"), _w("tbl"), _w("tr"), _w("tc"), _w("sdt"), _w("sdtContent")
_T, _TAB, _BR, _CR, _NBH, _PPR = _w("t"), _w("tab"), _w("br"), _w("cr"), _w("noBreakHyphen"), _w("pPr")
_TXBX = _w("txbxContent")
_FALLBACK = f"{{{_MC}}}Fallback"
_DEL = _w("del")
_HEADING = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)


def _docx():
    try:
        import docx
    except ImportError:
        raise MissingLibrary("python-docx", "python-docx") from None
    return docx


def extractor_version() -> str:
    try:
        v = version("python-docx")
    except Exception:
        v = "unknown"
    return f"{v}+rules.{DOCX_RULES_VERSION}"


def _check_container(data: bytes) -> None:
    if not data:
        raise SkipFile("empty", "the file has no bytes")
    if data.startswith(_OLE_MAGIC):
        # Word keeps a password-protected .docx inside an OLE container; a bare OLE file is a .doc
        if "EncryptionInfo".encode("utf-16-le") in data or b"EncryptedPackage" in data:
            raise SkipFile("encrypted", "the document is password-protected")
        raise SkipFile("unsupported", "a legacy Word .doc (OLE) file, not .docx")
    # a zip bomb is refused from the package's directory, before python-docx reads a part: its parts
    # are read whole into memory and parsed (zipfile caps each at its declared size, so a directory
    # that lies ends in a CRC error, a "corrupt" skip; the declared sizes are what must be bounded)
    entries = declared_entries(data)
    if entries is not None and entries > LIMITS.max_entries:
        raise SkipFile("too-large", f"a zip bomb: it declares {entries:,} parts (at most {LIMITS.max_entries:,})")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if "word/document.xml" not in {i.filename for i in infos}:
                raise SkipFile("corrupt", "a zip file without word/document.xml: not a Word document")
            bomb = directory_problem(data, z)
            if bomb:
                raise SkipFile("too-large", f"a zip bomb: {bomb}")
    except zipfile.BadZipFile as e:
        raise SkipFile("corrupt", f"not a zip package ({e})") from None


def _style_names(doc) -> dict[str, tuple[str, Optional[str], bool]]:
    """style id -> (name, base style id, whether the style numbers its paragraphs as a list)."""
    out = {}
    for st in doc.styles.element.findall(_w("style")):
        sid = st.get(_w("styleId"))
        name_el = st.find(_w("name"))
        based = st.find(_w("basedOn"))
        ppr = st.find(_PPR)
        if sid:
            out[sid] = ((name_el.get(_w("val")) if name_el is not None else sid) or sid,
                        based.get(_w("val")) if based is not None else None,
                        ppr is not None and ppr.find(_w("numPr")) is not None)
    return out


def _is_list(style_id: Optional[str], styles) -> bool:
    seen = 0
    while style_id and seen < 8:
        name, base, numbered = styles.get(style_id, (style_id, None, False))
        if numbered or re.match(r"^list (bullet|number)", name.strip().lower()):
            return True
        style_id, seen = base, seen + 1
    return False


def _heading_level(style_id: Optional[str], styles) -> Optional[int]:
    """0 for a Title, N for "Heading N" (also through styles based on them), None otherwise."""
    seen = 0
    while style_id and seen < 8:
        name, base, _ = styles.get(style_id, (style_id, None, False))
        n = name.strip().lower()
        if n == "title":
            return 0
        m = _HEADING.match(n)
        if m:
            return int(m.group(1))
        style_id, seen = base, seen + 1
    return None


def _run_text(p) -> tuple[str, list]:
    """A paragraph's visible text (deleted revisions and compatibility fallbacks left out), and the text
    boxes anchored in it, to be read after it."""
    parts: list[str] = []
    boxes: list = []

    def walk(el):
        for child in el:
            tag = child.tag
            if tag in (_FALLBACK, _DEL):
                continue
            if tag == _TXBX:
                boxes.append(child)
                continue
            if tag == _T:
                parts.append(child.text or "")
            elif tag == _TAB:
                parts.append(" ")
            elif tag in (_BR, _CR):
                if child.get(_w("type")) not in ("page", "column"):
                    parts.append("\n")
            elif tag == _NBH:
                parts.append("-")
            elif tag == _PPR:
                continue
            else:
                walk(child)

    walk(p)
    return "".join(parts), boxes


def _clean(s: str) -> str:
    lines = [" ".join(line.split()) for line in s.replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def _blocks(body, styles, plain: bool = False) -> Iterator[Union[str, TableBlock]]:
    """The paragraphs of a body (or table cell, or text box) in document order, as rendition paragraphs;
    `plain` leaves out the heading and list marks (inside a table cell)."""
    for el in body:
        if el.tag == _P:
            yield from _paragraph(el, styles, plain)
        elif el.tag == _TBL:
            yield from _table(el, styles)
        elif el.tag == _SDT:
            content = el.find(_SDT_CONTENT)
            if content is not None:
                yield from _blocks(content, styles, plain)


def _paragraph(p, styles, plain: bool = False) -> Iterator[str]:
    raw, boxes = _run_text(p)
    text = _clean(raw)
    if text and plain:
        yield text
    elif text:
        ppr = p.find(_PPR)
        style_el = ppr.find(_w("pStyle")) if ppr is not None else None
        style_id = style_el.get(_w("val")) if style_el is not None else None
        level = _heading_level(style_id, styles)
        if level is not None:
            # Title is the document's top heading; Heading N sits one level under it
            yield "#" * min(level + 1, 6) + " " + text.replace("\n", " ")
        elif (ppr is not None and ppr.find(_w("numPr")) is not None) or _is_list(style_id, styles):
            yield "- " + text
        else:
            yield text
    for box in boxes:
        yield from _blocks(box, styles, plain)


def _cell_text(tc, styles) -> str:
    # a cell's paragraphs (and the cells of a table nested in it) run together: a row stays one line
    parts = []
    for b in _blocks(tc, styles, plain=True):
        parts.extend([b.text[c.start:c.end] for c in b.table.cells] if isinstance(b, TableBlock) else [b])
    return " ".join(" ".join(p.split()) for p in parts if p.strip())


def _children(el, tag: str) -> Iterator:
    """The `tag` children of a table or row, those inside content controls too."""
    for child in el:
        if child.tag == tag:
            yield child
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _children(content, tag)


def _val(parent, tag: str) -> Optional[str]:
    el = parent.find(_w(tag)) if parent is not None else None
    return None if el is None else (el.get(_w("val")) or "")


def _number(v: Optional[str]) -> int:
    return int(v) if v and v.isdecimal() else 0


def _table(tbl, styles) -> Iterator[TableBlock]:
    """A table as one paragraph: a cell merged across columns (gridSpan) once, with its span; a cell merged
    down (vMerge) once, in its first row, and empty in the rows below; rows repeated as headers on each
    page (tblHeader) head the table, else the first row does (see tables.write_table)."""
    rows, heading = [], True
    for tr in _children(tbl, _TR):
        trpr = tr.find(_w("trPr"))
        heading = heading and _val(trpr, "tblHeader") not in (None, "0", "false", "off")
        col, cells = _number(_val(trpr, "gridBefore")), []
        for tc in _children(tr, _TC):
            tcpr = tc.find(_w("tcPr"))
            span = max(1, _number(_val(tcpr, "gridSpan")))
            merged = _val(tcpr, "vMerge") in ("", "continue")
            cells.append(GridCell(col, "" if merged else _cell_text(tc, styles), span, heading))
            col += span
        rows.append(cells)
    block = write_table(rows, first_row=True)
    if block is not None:
        yield block


def _date(dt) -> Optional[str]:
    try:
        return dt.date().isoformat() if dt is not None else None
    except (AttributeError, ValueError):
        return None


# python-docx's default template (docx/templates/default.docx) was saved at this moment, as created and
# modified; a document made from it keeps both unless its program sets its own, so the stamp says when
# the template was made, not the document.
TEMPLATE_STAMPS = {"2013-12-23T23:15:00"}


def _stamp(dt) -> Optional[str]:
    try:
        return dt.strftime("%Y-%m-%dT%H:%M:%S") if dt is not None else None
    except (AttributeError, ValueError):
        return None


def _core_date(created, modified) -> Optional[str]:
    """The document's date from its core properties: `created`, unless it is a template's stamp or a
    clock's zero; then `modified` when that is a date of its own and not before the (template's) creation,
    since the last save by someone who wrote in it is when the text was made; else None."""
    def real(dt) -> bool:
        d = _date(dt)
        return d is not None and _stamp(dt) not in TEMPLATE_STAMPS and not is_default_date(d)

    if real(created):
        return _date(created)
    if real(modified):
        try:
            later = created is None or modified >= created
        except TypeError:  # one with a time zone, one without: compare the days
            later = _date(modified) >= (_date(created) or "")
        if later:
            return _date(modified)
    return None


def extract_docx_bytes(data: bytes) -> Rendition:
    """The rendition of a .docx file's bytes."""
    docx = _docx()
    _check_container(data)
    doc = docx.Document(io.BytesIO(data))
    styles = _style_names(doc)
    body = doc.element.body
    text, tables = join_blocks(list(_blocks(body, styles)))
    if not text.strip():
        raise SkipFile("empty", "the document has no text")
    try:
        from docx.opc.constants import RELATIONSHIP_TYPE as RT

        # asked for properties a file lacks, python-docx makes up its own (titled "Word Document",
        # modified now), which would date the document by the moment it was read: KeyError instead
        doc.part.package.part_related_by(RT.CORE_PROPERTIES)
        cp = doc.core_properties
        title, author, date = clean_title(cp.title), clean_meta(cp.author), _core_date(cp.created, cp.modified)
    except Exception:  # no or damaged docProps/core.xml is no reason to lose the text
        title = author = date = None
    return Rendition(
        text=text, format="docx", extractor="python-docx", extractor_version=extractor_version(),
        source_sha256=sha256_bytes(data), pages=None, title=title, author=author, date=date, needs_copy=True,
        tables=tables,
    )
