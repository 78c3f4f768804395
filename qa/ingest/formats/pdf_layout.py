"""PDF page layout: PDFium's characters into lines, page furniture marked, lines into paragraphs, hyphens joined.

Long because it is one pipeline over one page model: lines, columns, furniture, paragraphs and joined
hyphens share their measures (line height, gaps, the page's text box), and each step's thresholds are
read against the others'; right-to-left reordering, which stands alone, is in pdf_bidi.
"""
from __future__ import annotations

import ctypes
import difflib
import math
import re
import statistics
import unicodedata
from dataclasses import dataclass
from typing import Optional


from .base import SkipFile
from .pdf_bidi import has_rtl, is_rtl, logical_order, piece_gap
from .pdf_build import Builder, display as _display


# --------------------------------------------------------------------------- characters and lines

_SKIP_CODES = set(range(0x00, 0x09)) | {0x0B, 0x0C} | set(range(0x0E, 0x20)) | set(range(0x7F, 0xA0)) | {
    0xFFFE, 0xFFFF, 0xFEFF, 0xFFFD
}
# hyphens that only a line break puts there: a soft hyphen made visible (Word, LibreOffice) and the
# U+2010 Chromium draws for &shy; and automatic hyphenation; a plain "-" is left to PDFium's judgement
_BREAK_HYPHENS = {"\u00ad", "\u2010"}
_BREAKS = {0x0A, 0x0D}
_HYPHENS = {0x2D, 0xAD, 0x2010, 0x2011, 0xFFFE}


@dataclass
class Line:
    chars: list  # [(page char index, character, (x0, y0, x1, y1)), ...] in PDFium order
    hyphen: Optional[tuple] = None  # the end-of-line hyphen (index, box, character shown if kept)
    # display geometry (points, origin top-left, y down, /Rotate applied)
    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0
    height: float = 0.0
    furniture: Optional[str] = None
    rtl: bool = False  # put in logical order as right-to-left text (its indent and ragged edge mirrored)

    @property
    def text(self) -> str:
        return "".join(c[1] for c in self.chars)


def page_chars(raw, tp, page_box):
    """PDFium's characters of one text page as lines; off-page characters (invisible) and glyph numbers
    standing in for unmapped glyphs are left out, and lines with right-to-left text are put in logical
    order."""
    n = raw.FPDFText_CountChars(tp)
    if n < 0:
        raise SkipFile("corrupt", "PDFium could not read a page's text")
    get_unicode, get_box, is_hyphen = raw.FPDFText_GetUnicode, raw.FPDFText_GetLooseCharBox, raw.FPDFText_IsHyphen
    unmapped_error = raw.FPDFText_HasUnicodeMapError
    rect = raw.FS_RECTF()
    bx0, by0, bx1, by1 = page_box
    lo_x, hi_x, lo_y, hi_y = bx0 - 1, bx1 + 1, by0 - 1, by1 + 1
    lines: list[Line] = [Line([])]
    chars = lines[-1].chars
    pending_high = None
    unmapped_objects = set()  # text objects in which PDFium put glyph numbers for unmapped glyphs
    rtl_seen = False  # a right-to-left letter on the page: only then are its lines looked at for one
    for i in range(n):
        u = get_unicode(tp, i)
        if u == 0x0A or u == 0x0D:
            if chars or lines[-1].hyphen:
                lines.append(Line([]))
                chars = lines[-1].chars
            continue
        get_box(tp, i, rect)
        x0, y0, x1, y1 = rect.left, rect.bottom, rect.right, rect.top
        cx, cy = (x0 + x1) * 0.5, (y0 + y1) * 0.5
        if not (lo_x <= cx <= hi_x and lo_y <= cy <= hi_y):
            continue  # drawn outside the visible page: not text a reader sees
        if x0 < bx0 or x1 > bx1 or y0 < by0 or y1 > by1:
            x0, x1 = min(max(x0, bx0), bx1), min(max(x1, bx0), bx1)
            y0, y1 = min(max(y0, by0), by1), min(max(y1, by0), by1)
        box = (x0, y0, x1, y1)
        # PDFium gives its end-of-line hyphen mark code 0x02; asking only then saves a call per character
        if (u < 0x20 or u in _HYPHENS) and is_hyphen(tp, i):
            lines[-1].hyphen = (i, box, "-")  # the word goes on at the start of the next line
            lines.append(Line([]))
            chars = lines[-1].chars
            continue
        if 0xD800 <= u < 0xE000:
            if u < 0xDC00:
                pending_high = (i, u, box)
            elif pending_high is not None and pending_high[0] == i - 1:
                j, hi, hbox = pending_high
                chars.append((j, chr(0x10000 + ((hi - 0xD800) << 10) + (u - 0xDC00)), hbox))
                pending_high = None
            continue
        if u in _SKIP_CODES or u > 0x10FFFF or 0xFDD0 <= u <= 0xFDEF:
            continue  # control codes and unmapped glyphs are not text
        if u > 0xFF and unmapped_error(tp, i) == 1:
            # A glyph with no text (an empty ToUnicode entry: the rest of a cluster whose text sits on
            # its first glyph) gets its character code as its character. A two-byte code is a glyph
            # number, never text ("ϲΒϴΒ" inside an Arabic word). One-byte codes are kept: a symbolic
            # font's codes often are its letters, and TeX's math fonts give "6=" for "≠", which says
            # more than nothing.
            unmapped_objects.add(_object_id(raw, tp, i))
            continue
        if u >= 0x0590 and not rtl_seen:
            rtl_seen = is_rtl(chr(u))
        chars.append((i, chr(u), box))
    lines = [ln for ln in lines if ln.chars or ln.hyphen]
    if not rtl_seen:
        return lines
    lines = _join_rtl_pieces(raw, tp, lines)
    for ln in lines:
        if ln.chars and has_rtl(ln.chars):
            _to_logical(raw, tp, ln, unmapped_objects)
    return lines


def _join_rtl_pieces(raw, tp, lines: list[Line]) -> list[Line]:
    """Join the pieces PDFium makes of one visual line with right-to-left text, so that the line is put
    in order as a whole: PDFium can break such a line in two and give the left piece first (Chromium's
    pointed Hebrew: "וּבְרָכָה" before "שָׁלוֹם" on the line that starts with it). Pieces join when they
    share the line's height, do not overlap along it, and lie within three line heights of each other;
    the space between them is inserted (index -1)."""
    out: list[Line] = []
    for line in lines:
        prev = out[-1] if out else None
        if (prev is not None and prev.hyphen is None and prev.chars and line.chars
                and (has_rtl(prev.chars) or has_rtl(line.chars))):
            gap = piece_gap(prev.chars, line.chars, _baseline(raw, tp, prev.chars))
            if gap is not None:
                prev.chars = prev.chars + [(-1, " ", gap)] + line.chars
                prev.hyphen = line.hyphen
                continue
        out.append(line)
    return out


def _object_id(raw, tp, i: int):
    return ctypes.cast(raw.FPDFText_GetTextObject(tp, i), ctypes.c_void_p).value


def _to_logical(raw, tp, line: Line, unmapped_objects: set) -> None:
    """Put a line with right-to-left text into logical order (see pdf_bidi)."""
    objects: dict[int, object] = {}

    def object_of(i: int):
        if i not in objects:
            objects[i] = _object_id(raw, tp, i)
        return objects[i]

    if unmapped_objects:
        # PDFium drops its unmapped-glyph flag on a character it passes through its right-to-left
        # path (a lone glyph number U+02F4 is flagged, the same one after an Arabic word is not). In a
        # text object where it did flag glyph numbers, a character above U+00FF that is no letter,
        # mark, digit or space is taken for one too.
        line.chars = [c for c in line.chars
                      if not (ord(c[1]) > 0xFF and unicodedata.category(c[1])[0] not in "LMNZ"
                              and object_of(c[0]) in unmapped_objects)]
    line.chars = logical_order(line.chars, _baseline(raw, tp, line.chars), object_of)
    line.rtl = True


def _baseline(raw, tp, chars) -> tuple[float, float]:
    """The direction of a line's text in page space: the x axis of its first drawn glyph's matrix."""
    m = raw.FS_MATRIX()
    for i, _, box in chars:
        if box[2] > box[0] and raw.FPDFText_GetMatrix(tp, i, m):
            norm = math.hypot(m.a, m.b)
            if norm > 0:
                return (m.a / norm, m.b / norm)
    return (1.0, 0.0)


def tidy(line: Line) -> Optional[Line]:
    """Trim a line's surrounding space, collapse runs of space to their first character, take a
    line-break hyphen off the end (to be dropped or kept when the lines are joined) and drop the
    invisible soft hyphens inside the line."""
    out = []
    for c in line.chars:
        if c[1].isspace() and (not out or out[-1][1].isspace()):
            continue
        out.append(c)
    while out and out[-1][1].isspace():
        out.pop()
    if (line.hyphen is None and len(out) >= 2 and out[-1][1] in _BREAK_HYPHENS and out[-2][1].isalpha()):
        idx, ch, box = out.pop()
        line.hyphen = (idx, box, "-" if ch == "\u00ad" else ch)
    out = [c for c in out if c[1] != "\u00ad"]
    if not out:
        return None if line.hyphen is None else line
    line.chars = out
    return line


def measure_page(lines: list[Line], page_box, rot) -> list[Line]:
    """Set each line's display geometry from its inked characters; lines with no ink are dropped.
    The bottom and the height are medians, robust to one deep or tall glyph."""
    out = []
    for line in lines:
        lefts, tops, rights, bottoms, heights = [], [], [], [], []
        for c in line.chars:
            b = c[2]
            if b[2] > b[0] and b[3] > b[1]:
                d = _display(b, page_box, rot)
                lefts.append(d[0])
                tops.append(d[1])
                rights.append(d[2])
                bottoms.append(d[3])
                heights.append(d[3] - d[1])
        if not lefts:
            continue
        line.left, line.top, line.right = min(lefts), min(tops), max(rights)
        bottoms.sort()
        heights.sort()
        line.bottom = bottoms[len(bottoms) // 2]
        line.height = heights[len(heights) // 2]
        out.append(line)
    return out


# --------------------------------------------------------------------------- page furniture

_PAGE_NUMBER = re.compile(
    r"^\W*(?:(?:page|seite|p\.|pg\.?)\s*)?(?:\d{1,5}|[ivxlcdm]{1,8})(?:\s*(?:of|/|von|de)\s*\d{1,5})?\W*$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+")
BAND = 0.2  # share of the page height at top and bottom where running heads and feet live (LaTeX: ~17%)
CANDIDATES = 3  # lines per band considered (a header can be two or three lines)


def _key(text: str) -> str:
    return re.sub(r"\s+", "", _NUMBER.sub("#", text.casefold()))


def _isolated(lines: list[Line], i: int, toward: int) -> bool:
    """Whether line i is set apart from its neighbour toward the body by more than a line's spacing.
    Pieces on the same visual line (a running head's date on the left, its title in the middle) are one
    head, not neighbours."""
    a = lines[i]
    j = i + toward
    while 0 <= j < len(lines) and _overlap_v(a, lines[j]) >= 0.5 * min(a.height, lines[j].height):
        j += toward
    if not (0 <= j < len(lines)):
        return True
    b = lines[j]
    gap = (b.top - a.bottom) if toward > 0 else (a.top - b.bottom)
    return gap > 0.9 * max(a.height, b.height)


def _overlap_v(a: Line, b: Line) -> float:
    return min(a.bottom, b.bottom) - max(a.top, b.top)


def _band_candidates(pages: list[list[Line]], heights: list[float]):
    """(page number, the page's lines top to bottom, position in them, "header" or "footer") for the
    lines near the top or bottom edge of each page."""
    out = []
    for pno, lines in enumerate(pages, 1):
        if len(lines) < 2:
            continue  # a page's only line is its content, however short
        h = heights[pno - 1]
        order = sorted(range(len(lines)), key=lambda k: lines[k].top)
        geo = [lines[k] for k in order]
        for pos in range(min(CANDIDATES, len(geo))):
            if geo[pos].bottom <= BAND * h:
                out.append((pno, geo, pos, "header"))
        for pos in range(len(geo) - 1, max(len(geo) - 1 - CANDIDATES, -1), -1):
            if geo[pos].top >= (1 - BAND) * h and not (pos < CANDIDATES and geo[pos].bottom <= BAND * h):
                out.append((pno, geo, pos, "footer"))
    return out


def mark_furniture(pages: list[list[Line]], heights: list[float]) -> None:
    """Mark running headers, footers and page numbers in place (line.furniture).

    Three signs, each checked per band (top or bottom): the same text after digits are normalised on
    most pages; a bare page number ("7", "- 7 -", "Page 7 of 9", "vii") at the page's very edge; or a
    line whose number runs with the page number (a running head "8 1.2. Metric spaces" whose section
    changes but whose number is always the page number minus the same offset).
    """
    with_text = sum(1 for p in pages if p)
    need = max(2, -(-with_text * 2 // 5))  # at least two pages, and 40% (odd/even heads alternate)
    cands = _band_candidates(pages, heights)

    # 1. near-identical text in the same band
    clusters: dict[tuple[str, str], list] = {}
    body_height = {pno: statistics.median(ln.height for ln in geo) for pno, geo, _, _ in cands}
    for pno, geo, pos, band in cands:
        k = _key(geo[pos].text)
        line = geo[pos]
        # set apart from the body by space, or by type size (Chromium prints its small head 5 points
        # above the text); a line in the body's own size and spacing is body, even if it repeats
        apart = (_isolated(geo, pos, +1 if band == "header" else -1)
                 or abs(line.height - body_height[pno]) > 0.1 * body_height[pno])
        if not k or not apart:
            continue
        home = (band, k) if (band, k) in clusters else None
        if home is None and len(k) > 8:
            for (b, ck) in clusters:
                if b != band or abs(len(ck) - len(k)) > 0.2 * len(k):
                    continue
                sm = difflib.SequenceMatcher(None, ck, k, autojunk=False)
                if sm.real_quick_ratio() >= 0.85 and sm.quick_ratio() >= 0.85 and sm.ratio() >= 0.85:
                    home = (b, ck)
                    break
        clusters.setdefault(home or (band, k), []).append((pno, geo[pos]))
    for (band, _), members in clusters.items():
        # at the same height on most pages
        tops = sorted(line.top for _, line in members)
        mid = tops[len(tops) // 2]
        same = [(p, line) for p, line in members if abs(line.top - mid) <= 2 * line.height]
        if len({p for p, _ in same}) >= need:
            for _, line in same:
                line.furniture = "page-number" if _PAGE_NUMBER.match(line.text) else band

    # 2. a bare page number at the very top or bottom, set apart from the body
    for pno, geo, pos, band in cands:
        line = geo[pos]
        if line.furniture or not _PAGE_NUMBER.match(line.text):
            continue
        edge = pos == 0 if band == "header" else pos == len(geo) - 1
        if edge and _isolated(geo, pos, +1 if band == "header" else -1):
            line.furniture = "page-number"

    # 3. a number that follows the page number at a constant offset
    offsets: dict[tuple[str, int], list] = {}
    for pno, geo, pos, band in cands:
        line = geo[pos]
        if line.furniture or len(line.text) > 120:
            continue
        if not _isolated(geo, pos, +1 if band == "header" else -1):
            continue
        text = line.text.strip()
        for m in _NUMBER.finditer(text):
            # a running head's page number stands at one end of the line
            if len(m.group()) <= 5 and (m.start() == 0 or m.end() == len(text)):
                offsets.setdefault((band, int(m.group()) - pno), []).append(line)
    for (band, _), lines in offsets.items():
        if len({id(x) for x in lines}) < need:
            continue
        # and it sits at the same height on every page; a body line that happens to fit is elsewhere
        tops = sorted(x.top for x in lines)
        mid = tops[len(tops) // 2]
        same = [x for x in lines if abs(x.top - mid) <= 2 * x.height]
        if len({id(x) for x in same}) >= need:
            for line in same:
                line.furniture = "page-number" if _PAGE_NUMBER.match(line.text) else band


# --------------------------------------------------------------------------- paragraphs

_BULLET = re.compile(r"^(?:[•◦▪‣∙●○■□➢►–—*]|-(?=\s)|\d{1,3}[.)](?=\s))")
_END = re.compile(r"[.!?:;][\"'”’)\]]*$")


def _same_visual_line(a: Line, b: Line) -> bool:
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    if a.rtl and b.rtl:  # right-to-left text goes on to the left
        return overlap >= 0.5 * min(a.height, b.height) and b.right <= a.left + 1.0
    return overlap >= 0.5 * min(a.height, b.height) and b.left >= a.right - 1.0


def paragraph_breaks(lines: list[Line]) -> list[str]:
    """For each line after the first: "join" (same paragraph), "line" (the same visual line, split by
    PDFium) or "para" (a new paragraph)."""
    pitches = []
    for a, b in zip(lines, lines[1:]):
        dy = b.bottom - a.bottom
        if 0.5 * a.height < dy < 2.5 * max(a.height, b.height):
            pitches.append(dy)
    pitch = statistics.median(pitches) if pitches else None
    out = []
    for k in range(1, len(lines)):
        a, b = lines[k - 1], lines[k]
        out.append(_decide(a, b, pitch, lines, k))
    return out


def _usual_left(lines: list[Line], k: int) -> float:
    """The most common left edge among the lines around line k that share its column."""
    b = lines[k]
    near = [x.left for x in lines[max(0, k - 6):k + 7] if not (x.left > b.right or x.right < b.left)]
    counts: dict[int, list[float]] = {}
    for v in near:
        counts.setdefault(round(v / 2.0), []).append(v)
    best = max(counts.values(), key=lambda vs: (len(vs), -min(vs)))
    return min(best)


def _usual_right(lines: list[Line], k: int) -> float:
    """The most common right edge among the lines around line k that share its column (where
    right-to-left lines start)."""
    b = lines[k]
    near = [x.right for x in lines[max(0, k - 6):k + 7] if not (x.left > b.right or x.right < b.left)]
    counts: dict[int, list[float]] = {}
    for v in near:
        counts.setdefault(round(v / 2.0), []).append(v)
    best = max(counts.values(), key=lambda vs: (len(vs), max(vs)))
    return max(best)


def _decide(a: Line, b: Line, pitch, lines, k) -> str:
    if a.furniture or b.furniture:
        return "para"
    if _same_visual_line(a, b):
        return "line"
    h = max(a.height, b.height)
    dy = b.bottom - a.bottom
    if dy <= 0.3 * h:
        return "para"  # back up the page: a new column or a block out of reading order
    if abs(a.height - b.height) > 0.2 * h:
        return "para"  # a change of type size: a heading, a caption, a footnote
    if b.left > a.right or b.right < a.left:
        return "para"  # no horizontal overlap: another column or a side note
    ref = pitch if pitch else 1.2 * h
    if dy > 1.2 * ref + 0.05 * h:
        return "para"  # extra space between the lines
    if _BULLET.match(b.text):
        return "para"
    rtl = a.rtl and b.rtl  # right-to-left lines start at the right: indents and short lines mirror
    if rtl:
        if b.right < a.right - 0.8 * h and abs(a.right - _usual_right(lines, k)) < 0.4 * h:
            return "para"
    elif b.left > a.left + 0.8 * h and abs(a.left - _usual_left(lines, k)) < 0.4 * h:
        # the first line of an indented paragraph; with a hanging indent the indented lines are the
        # usual ones, and the line that sticks out left is the paragraph's first
        return "para"
    neighbours = [x for x in lines[max(0, k - 3):k + 2] if not (x.left > a.right or x.right < a.left)]
    right = max(x.right for x in neighbours)
    left = min(x.left for x in neighbours)
    short = a.left > left + 0.25 * (right - left) if rtl else a.right < right - 0.25 * (right - left)
    if _END.search(a.text) and short:
        return "para"  # a short line ending a sentence: the last line of a paragraph
    return "join"


# --------------------------------------------------------------------------- building the rendition

def _join_hyphen(a: Line, b: Line) -> Optional[tuple]:
    """How a line that ended in a hyphen joins the next: None to drop the hyphen (a word broken in
    two), or the hyphen to keep (the next line starts with a capital: "Anglo-" / "Saxon")."""
    first = b.chars[0][1] if b.chars else ""
    return a.hyphen if first.isupper() else None


def _continues(a: Line, b: Line) -> bool:
    """Whether the first body line `b` of a page carries on the paragraph whose last line `a` ended the
    page before: `a` does not end a sentence (or breaks a word with a hyphen), `b` starts in lower case,
    and the type size is the same."""
    first = next((c[1] for c in b.chars if not c[1].isspace()), "")
    h = max(a.height, b.height)
    return (abs(a.height - b.height) <= 0.2 * h and first.islower()
            and (a.hyphen is not None or not _END.search(a.text)))


def build(pages: list[list[Line]], breaks: list[list[str]]):
    """The rendition: each page's body lines as paragraphs, a paragraph that runs on across a page break
    joined into one, and the page furniture (running heads, footers, page numbers) taken out of the
    reading order into paragraphs of its own, written where a page's body begins (after a paragraph
    carried over from the page before), so no head or page number ever cuts a sentence in two."""
    bld = Builder()
    marks = []
    pending: list[tuple[int, Line]] = []  # furniture lines not yet written, with their page
    last: Optional[Line] = None  # the last body line written

    def para_break():
        if bld.n:
            bld.insert("\n\n")

    def write_furniture():
        for pno, line in pending:
            para_break()
            start = bld.n
            bld.add_line(line.chars, pno)
            marks.append((start, bld.n, line.furniture))
        pending.clear()

    def join(prev: Line, line: Line, how: str, pno: int):
        if prev.hyphen is not None and how == "join":
            keep = _join_hyphen(prev, line)
            if keep is not None:
                bld.add(keep[2], pno, keep[1], keep[0])
        elif how == "line" and (prev.left - line.right if prev.rtl and line.rtl else line.left - prev.right) < 0.15 * max(
                prev.height, line.height):
            pass  # a super- or subscript PDFium split off: it touches its neighbour
        else:
            bld.insert(" ")

    for pno, (lines, brk) in enumerate(zip(pages, breaks), 1):
        body = [(k, ln) for k, ln in enumerate(lines) if not ln.furniture]
        pending.extend((pno, ln) for ln in lines if ln.furniture)
        carried = last is not None and bool(body) and _continues(last, body[0][1])
        for n, (k, line) in enumerate(body):
            if n == 0:
                if carried:
                    join(last, line, "join", pno)
                else:
                    write_furniture()
                    para_break()
            else:
                # the break the page's own layout gave these two lines (furniture between them: a new paragraph)
                pk, prev = body[n - 1]
                how = "para" if k != pk + 1 else brk[k - 1]
                if how == "para":
                    if carried:  # the carried-over paragraph ends here: the furniture goes between
                        write_furniture()
                        carried = False
                    para_break()
                else:
                    join(prev, line, how, pno)
            bld.add_line(line.chars, pno, line)
            last = line
        if carried:
            write_furniture()
    write_furniture()
    return bld, marks


def fix_hyphens(pages: list[list[Line]], breaks: list[list[str]]) -> None:
    """A hyphenated line followed by a paragraph break keeps its hyphen as a character (nothing joins);
    so does the last body line of a page, unless the next page's first body line carries its word on."""
    for p, (lines, brk) in enumerate(zip(pages, breaks)):
        body = [k for k, ln in enumerate(lines) if not ln.furniture]
        for n, k in enumerate(body):
            line = lines[k]
            if line.hyphen is None:
                continue
            if n == len(body) - 1:
                nxt = next((ln for q in pages[p + 1:] for ln in q if not ln.furniture), None)
                joins = nxt is not None and _continues(line, nxt)
            else:
                joins = body[n + 1] == k + 1 and brk[k] == "join"
            if not joins:
                idx, box, ch = line.hyphen
                line.chars.append((idx, ch, box))
                line.hyphen = None
