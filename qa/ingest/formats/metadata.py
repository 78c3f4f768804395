"""Metadata as files state it, cleaned: placeholders and program defaults are no title, clock zeros no date."""
from __future__ import annotations

import datetime as _dt
import re
from typing import Optional


# what producers write when nobody filled the field in (ReportLab: "untitled" by "anonymous"; python-docx's
# template: author "python-docx"; Office on a machine whose user has no name: "Microsoft Office User")
PLACEHOLDERS = {"untitled", "anonymous", "unknown", "none", "null", "n/a", "-", "title", "author", "user",
                "admin", "administrator", "owner", "python-docx", "microsoft office user", "windows user",
                "about:blank"}


def clean_meta(value) -> Optional[str]:
    """A metadata string as a person would write it: NULs and surrounding space dropped; None if empty
    or a placeholder."""
    if value is None:
        return None
    s = " ".join(str(value).replace("\x00", " ").split())
    return s if s and s.casefold() not in PLACEHOLDERS else None


# Titles a program writes when nobody gave one: Office's print-to-PDF names the file ("Microsoft Word -
# report.docx"), new files are "Document1", "Presentation1", "Book1", "Slide 1", InDesign's "Layout 1",
# Google Docs' "Untitled document", python-docx's "Word Document", an editor's HTML template "Document" or
# "Insert title here"; a converter that knows nothing else writes the file name.
_FORMAT_DEFAULT = re.compile(
    r"""^(?:
        microsoft\s+(?:office\s+)?(?:word|powerpoint|excel|publisher)(?:\s*-\s*.*)?
      | untitled(?:[\s_-]*(?:document|presentation|spreadsheet|page|project|\d+))*
      | (?:document|doc|presentation|book|sheet|slide|drawing|publication|layout|page)\s*\d*
      | new\s+(?:document|presentation|page)(?:\s*\d+)?
      | (?:microsoft\s+)?(?:word|powerpoint|excel)\s+(?:document|presentation|worksheet)
      | insert\s+(?:your\s+)?title\s+here | (?:type\s+|enter\s+)?(?:your\s+)?title\s+here
      | title\s+of\s+(?:the\s+)?document | click\s+here\s+to\s+enter\s+text\.?
      | header | footer | heading(?:\s*\d)? | subtitle
      | .*\S\.(?:docx?|dotx?|pdf|pptx?|xlsx?|rtf|odt|ods|odp|txt|tex|dvi|ps|eps|html?|indd|pages|key|md)
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# a trial copy of a PDF or Word library stamps its name on the first page
_WATERMARK = re.compile(r"\b(?:trial|evaluation|unregistered|demo)\s+(?:version|copy|edition)\b|\bevaluation\s+warning\b",
                        re.IGNORECASE)
_NUMBER = re.compile(r"^[\d\s.,:;/()\[\]#+*–—-]+$")
# "Page 3", "Page 3 of 10", "p. 3", "S. 3 von 10", "- 3 -", "3/10", and front-matter numbers "iv", "xii"
_PAGE_LABEL = re.compile(
    r"^(?:page|pages|p\.?|pp\.?|pg\.?|seite|s\.|página|pagina|pag\.)\s*[\divx]+(?:\s*(?:of|/|von|de|di|sur)\s*\d+)?$"
    r"|^(?=[ivx]+$)x{0,3}(?:ix|iv|v?i{0,3})$",
    re.IGNORECASE,
)
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.|mailto:)\S*$|^[\w-]+(?:\.[\w-]+)+/\S*$", re.IGNORECASE)
_DATE_WORDS = {
    # months and weekdays (English, German, French, Spanish), their abbreviations, and the words a
    # dateline wraps a date in ("Published on", "publiziert am", "mis à jour le")
    *"""january february march april may june july august september october november december
        jan feb mar apr jun jul aug sep sept oct nov dec
        monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
        januar februar märz mai juni juli oktober dezember montag dienstag mittwoch donnerstag freitag
        samstag sonntag janvier février mars avril juin juillet août septembre octobre novembre décembre
        enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
        st nd rd th of the on at as am pm utc gmt published posted updated last modified revised created
        date dated issued publiziert veröffentlicht aktualisiert vom um uhr publié mis à jour le publicado
        el de actualizado""".split()
}


def _date_only(s: str) -> bool:
    if not re.search(r"\d", s):
        return False
    words = re.findall(r"[^\W\d_]+", s.casefold())
    return all(w in _DATE_WORDS for w in words) and not re.search(r"\d{5,}", s)


def title_flaw(value: Optional[str]) -> Optional[str]:
    """Why a string cannot be a document's title, or None when it can: "empty", "placeholder",
    "number" (a page number or any bare figure), "page-label" ("Page 3 of 10", "- 3 -", "iv"), "date" (a
    date or dateline alone), "url", "format-default" (what a program writes when nobody gave a title,
    a file name among them) or "watermark" (a trial version's stamp)."""
    s = " ".join(str(value or "").replace("\x00", " ").split())
    if not s:
        return "empty"
    if s.casefold() in PLACEHOLDERS:
        return "placeholder"
    if _NUMBER.match(s) and re.search(r"\d", s):
        return "number"
    if _PAGE_LABEL.match(s):
        return "page-label"
    if _date_only(s):
        return "date"
    if _URL.match(s):
        return "url"
    if _FORMAT_DEFAULT.match(s):
        return "format-default"
    if _WATERMARK.search(s):
        return "watermark"
    return None


def clean_title(value) -> Optional[str]:
    """A title as clean_meta gives it, or None when it is not a title at all (see title_flaw)."""
    s = clean_meta(value)
    return s if s is not None and title_flaw(s) is None else None


# Dates that mean "never set": zero values of the usual clocks (the year 1, Windows' 1601, OLE's
# 1899-12-30, Excel's 1900, the Mac's 1904, Unix's 1970, DOS and zip's 1980) that a writer puts in
# a field it has no value for.
_ZERO_DATES = {"1900-01-01", "1904-01-01", "1970-01-01", "1980-01-01"}


def is_default_date(iso: Optional[str]) -> bool:
    """Whether an ISO date is a clock's zero value rather than a date anyone meant."""
    return bool(iso) and (iso[:10] in _ZERO_DATES or iso[:4] < "1900")


def iso_date(y: int, m: int, d: int) -> Optional[str]:
    """yyyy-mm-dd when the three numbers are a real calendar date, else None."""
    try:
        return _dt.date(int(y), int(m), int(d)).isoformat()
    except (ValueError, TypeError, OverflowError):
        return None
