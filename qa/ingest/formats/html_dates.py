"""A web page's publication date: what the page declares about itself, else a dateline, never a copyright year."""
from __future__ import annotations

import datetime as _dt
import json
import re
from copy import deepcopy
from email.utils import parsedate_tz
from typing import Optional

from lxml import etree

from .metadata import is_default_date, iso_date, title_flaw


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
    t = _without_copyright(tree)
    try:
        d = _iso(find_date(t, extensive_search=False, original_date=True, url=url))
    except Exception:  # odd markup is no reason to lose the text
        d = None
    if d and d.endswith("-01") and not _states_day(d, etree.tostring(t, encoding="unicode", method="html")):
        d = None
    return d or block_dateline(tree) or text_dateline(text)
