"""Web pages (trafilatura): the main text without page furniture, headings as Markdown lines, metadata."""
from __future__ import annotations

import re
from typing import Optional

from .base import MissingLibrary, Rendition, SkipFile, clean_meta, clean_title, is_default_date, iso_date, sha256_bytes, title_flaw

HTML_RULES_VERSION = 2  # 2: the page's declared date first, never a copyright year

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
CELL_SEPARATOR = " | "
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


def _render(el, out: list[str]) -> None:
    """Append the rendition paragraphs of a block element of trafilatura's XML to `out`."""
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
                items.extend("- " + s if not s.startswith("- ") else "  " + s for s in sub)
            else:
                text = _norm(_inline(item))
                if text:
                    items.append("- " + text.replace("\n", " "))
        if items:
            out.append("\n".join(items))
    elif tag == "table":
        for row in el.iter("row"):
            cells = [_norm(_inline(c)).replace("\n", " ") for c in row if c.tag == "cell"]
            cells = [c for c in cells if c]
            if cells:
                out.append(CELL_SEPARATOR.join(cells))
    elif tag in ("quote", "div", "main", "doc"):
        if _norm(el.text or ""):
            out.append(_norm(el.text))
        for c in el:
            if c.tag in _BLOCKS:
                _render(c, out)
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


def xml_to_text(xml: str) -> str:
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    main = root.find("main")
    out: list[str] = []
    _render(main if main is not None else root, out)
    return "\n\n".join(out)


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


def _iso(date: Optional[str]) -> Optional[str]:
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", date or "")
    if not m:
        return None
    d = iso_date(*m.groups())
    return None if is_default_date(d) else d


# --------------------------------------------------------------------------- the page's date

# <meta> names and properties (lower case) by which a page declares when it was first published, the
# most specific first
_PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "article:published", "og:published_time",
    "article.published", "article_date_original", "datepublished", "date_published", "publishdate",
    "publish-date", "publish_date", "publication_date", "pubdate", "parsely-pub-date", "sailthru.date",
    "citation_publication_date", "citation_date", "dc.date.issued", "dcterms.issued", "dc.date.created",
    "dcterms.created", "dc.date", "dcterms.date", "dc:date", "date", "originalpublicationdate", "bt:pubdate",
)
_ARTICLE_TYPES = re.compile(r"(?:Article|Posting|Report|Review|Blog)$")
_MONTHS = {m: i + 1 for i, names in enumerate((
    "january jan januar janvier", "february feb februar février fevrier", "march mar märz maerz mars",
    "april apr avril", "may mai", "june jun juni juin", "july jul juli juillet", "august aug août aout",
    "september sep sept septembre", "october oct oktober octobre", "november nov novembre",
    "december dec dezember décembre decembre")) for m in names.split()}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
# a time of day in UTC, or with no zone (which sites mostly mean as UTC)
_UTC_STAMP = re.compile(r"T\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]00:?00)?\s*$", re.IGNORECASE)
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/_-](\d{1,2})[/_-](\d{1,2})(?:[/_-]|$)")
# a copyright notice and the years after it: "© 2024", "Copyright 2019-2024", "(c) 2024 Harbour News"
_COPYRIGHT = re.compile(r"(©|&copy;|\(c\)|\bcopyright\b)([^<\n]{0,100})", re.IGNORECASE)


def _date_value(value) -> Optional[str]:
    """A date as a page declares it (ISO 8601, RFC 2822, "2 June 2023", "June 2, 2023"), yyyy-mm-dd as
    written (no time zone conversion); None for anything less than a whole date."""
    v = " ".join(str(value or "").split())
    m = re.match(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:$|[^\d])", v) or re.match(r"^(\d{4})(\d{2})(\d{2})(?:$|T)", v)
    if m:
        d = iso_date(*m.groups())
    else:
        from email.utils import parsedate_tz

        parsed = parsedate_tz(v) if re.search(r"\d{1,2} [A-Za-z]{3} \d{4}", v) else None
        if parsed:
            d = iso_date(*parsed[:3])
        else:
            m = re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+({_MONTH_RE})\.?,?\s+(\d{{4}})\b", v, re.I)
            n = re.search(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", v, re.I)
            if m:
                d = iso_date(m.group(3), _MONTHS[m.group(2).lower()], m.group(1))
            elif n:
                d = iso_date(n.group(3), _MONTHS[n.group(1).lower()], n.group(2))
            else:
                d = None
    return None if d is None or is_default_date(d) else d


def _json_ld_dates(tree) -> list[tuple[bool, str, str]]:
    """(is an article, datePublished, the value as written) of the objects a page describes itself by in
    JSON-LD, in order: the top-level objects, their @graph and their main entity (not the lists of other
    pages they link to)."""
    import json

    out = []

    def visit(obj, depth=0):
        if isinstance(obj, list):
            for o in obj:
                visit(o, depth)
            return
        if not isinstance(obj, dict) or depth > 3:
            return
        types = obj.get("@type")
        types = types if isinstance(types, list) else [types]
        article = any(isinstance(t, str) and _ARTICLE_TYPES.search(t) for t in types)
        for key in ("datePublished", "dateCreated"):
            d = _date_value(obj.get(key)) if isinstance(obj.get(key), str) else None
            if d:
                out.append((article, d, obj[key]))
                break
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if key in obj:
                visit(obj[key], depth + 1)

    for el in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            visit(json.loads(el.text_content() or "null"))
        except (ValueError, RecursionError):
            continue  # a page's broken JSON is no reason to lose its other dates
    return out


def _declared(tree, url: Optional[str]) -> list[tuple[str, str]]:
    """(date, the value it was read from) of every publication date the page declares, in the order
    declared_date trusts them."""
    ld = _json_ld_dates(tree)
    out = [(d, raw) for art, d, raw in ld if art]
    metas: dict[str, tuple[str, str]] = {}
    for m in tree.xpath("//meta[@content]"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        d = _date_value(m.get("content"))
        if key and d:
            metas.setdefault(key, (d, m.get("content")))
    out += [metas[key] for key in _PUBLISHED_META if key in metas]
    out += [(d, raw) for art, d, raw in ld if not art]
    for el in tree.xpath('//*[@itemprop="datePublished"] | //time[@pubdate]'):
        raw = el.get("datetime") or el.get("content") or el.text_content()
        d = _date_value(raw)
        if d:
            out.append((d, raw))
    m = _URL_DATE.search(url or "")
    d = iso_date(*m.groups()) if m else None
    if d and not is_default_date(d):
        out.append((d, m.group(0)))
    return out


def declared_date(tree, url: Optional[str] = None) -> Optional[str]:
    """The publication date a page states about itself: JSON-LD datePublished of the article it
    describes, a <meta> publication date (article:published_time, DC, citation_*, ...), an element
    marked itemprop="datePublished" or a <time pubdate>, else the date in its own URL (/2023/06/02/).
    Only whole dates count; a clock's zero (0001-01-01, 1970-01-01) is no date. A date is taken as
    written, except that a UTC time stamp gives way to a date the page writes in its own time a day
    off: an evening article in New York is stamped the next day in UTC, while its URL or its local
    time stamp holds the publisher's day."""
    cands = _declared(tree, url)
    if not cands:
        return None
    d, raw = cands[0]
    if _UTC_STAMP.search(raw):
        import datetime as _dt

        first = _dt.date.fromisoformat(d)
        for d2, raw2 in cands[1:]:
            if not _UTC_STAMP.search(raw2) and abs((_dt.date.fromisoformat(d2) - first).days) == 1:
                return d2
    return d


def _states_day(date: str, html: str) -> bool:
    """Whether the page writes `date` with its day (2023-06-01, 01.06.2023, "1 June 2023", "June 1,
    2023"): a date on the 1st that the page does not write so is a year or a month filled out."""
    y, m, d = (int(x) for x in date.split("-"))
    names = "|".join(k for k, v in _MONTHS.items() if v == m)
    pats = [rf"{y}[-/.]0?{m}[-/.]0?{d}(?!\d)", rf"(?<!\d)0?{d}[./]0?{m}[./]{y}", rf"(?<!\d)0?{m}/0?{d}/{y}",
            rf"(?<!\d)0?{d}(?:st|nd|rd|th)?\.?\s+(?:{names})\.?,?\s+{y}", rf"\b(?:{names})\.?\s+0?{d}(?:st|nd|rd|th)?,?\s+{y}"]
    return any(re.search(p, html, re.IGNORECASE) for p in pats)


def _without_copyright(tree):
    """A copy of the page whose copyright notices have no years: htmldate takes a "© 2024" for the
    page's date when it finds nothing better, and rejects every date before that year as impossible."""
    from copy import deepcopy

    t = deepcopy(tree)
    strip = lambda s: _COPYRIGHT.sub(lambda m: m.group(1) + re.sub(r"\b(?:1[89]|20)\d\d\b", "", m.group(2)), s)  # noqa: E731
    for el in t.iter():
        if isinstance(el.tag, str) and el.text:
            el.text = strip(el.text)
        if el.tail:
            el.tail = strip(el.tail)
        if el.tag == "meta" and "copyright" in " ".join(filter(None, (el.get("name"), el.get("property"),
                                                                      el.get("itemprop")))).lower():
            el.set("content", "")
    return t


_DATE_IN_TEXT = re.compile(
    rf"\b\d{{4}}-\d{{1,2}}-\d{{1,2}}\b|\b\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:{_MONTH_RE})\.?,?\s+\d{{4}}\b"
    rf"|\b(?:{_MONTH_RE})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", re.IGNORECASE)
# a news dateline: the place (and agency) in capitals or as a name, the date, a dash, then the story
_DATELINE = re.compile(r"^(?:[A-ZÀ-Ý][\w.'’()/ -]{0,40},\s*)?(?P<date>[^—–]{6,30}?)\s*[—–-]{1,2}\s+\S")
_DATELINE_PARAGRAPHS = 4


def text_dateline(text: str) -> Optional[str]:
    """The date an article's text opens with: a line that is a date alone or with its words
    ("Published 2 June 2023", "Updated: June 2, 2023 10:31 AM") or a news dateline ("KIRKWALL, 2 June
    2023 — The harbour board ..."), among its first paragraphs (headings aside)."""
    n = 0
    for para in text.split("\n\n"):
        if para.startswith("#"):
            continue
        n += 1
        if n > _DATELINE_PARAGRAPHS:
            break
        line = para.split("\n", 1)[0].strip()
        m = _DATE_IN_TEXT.search(line)
        if m is None:
            continue
        if title_flaw(line) == "date" and len(line) <= 80:
            return _date_value(m.group(0))
        d = _DATELINE.match(line)
        if d and _DATE_IN_TEXT.fullmatch(d.group("date").strip(" ,")):
            return _date_value(d.group("date").strip(" ,"))
    return None


# where a page keeps what is not its article: a date there is a related story's or the site's
_NOT_ARTICLE = {"script", "style", "noscript", "template", "nav", "footer", "aside", "form"}
_BLOCK_CHARS = 80


def block_dateline(tree) -> Optional[str]:
    """The first element of the page (menus, sidebars and footers aside) whose whole text is a date,
    alone or with its words: a byline's "publiziert am 25. September 2018", a "Posted June 2, 2023"."""
    elements = [el for el in tree.iter() if isinstance(el.tag, str)]
    # the length of each element's text, children first, so that only small elements are read whole
    # (reading every element's text would cost the page's size times its depth)
    size: dict = {}
    for el in reversed(elements):
        size[el] = len(el.text or "") + sum(size.get(c, 0) + len(c.tail or "") for c in el)
    skip: set = set()
    for el in elements:
        if el.tag in _NOT_ARTICLE or el.getparent() in skip:
            skip.add(el)
            continue
        if size[el] > 8 * _BLOCK_CHARS:  # white space aside, still too long to be a date alone
            continue
        t = " ".join(el.text_content().split())
        if not t or len(t) > _BLOCK_CHARS:
            continue
        m = _DATE_IN_TEXT.search(t)
        if m and title_flaw(t) == "date":
            d = _date_value(m.group(0))
            if d:
                return d
    return None


def page_date(tree, url: Optional[str] = None, text: str = "") -> Optional[str]:
    """The page's publication date: what it declares (declared_date); else its dateline: what
    htmldate's fast search finds (elements marked as dates, bylines, <time>; unlike its extensive
    search it does not take any date the text mentions) on a copy without copyright notices, an element
    that is a date alone (block_dateline), or the dateline the article's `text` opens with
    (text_dateline); else None. Never a copyright year, never a year or month filled out to the 1st."""
    d = declared_date(tree, url)
    if d:
        return d
    from htmldate import find_date
    from lxml import etree

    t = _without_copyright(tree)
    try:
        d = _iso(find_date(t, extensive_search=False, original_date=True, url=url))
    except Exception:  # odd markup is no reason to lose the text
        d = None
    if d and d.endswith("-01") and not _states_day(d, etree.tostring(t, encoding="unicode", method="html")):
        d = None
    return d or block_dateline(tree) or text_dateline(text)


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
    from copy import deepcopy

    xml = trafilatura.extract(deepcopy(tree), output_format="xml", with_metadata=False, **opts)
    text = xml_to_text(xml) if xml else ""
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
        needs_copy=True,
    )
