"""Right-to-left lines of a PDF page: a line's characters from PDFium's order into logical order."""
from __future__ import annotations

import unicodedata
from typing import Callable, Hashable

# PDFium's own right-to-left handling (CPDF_TextPage::CloseTempLine) assumes that every glyph maps to one
# character drawn in visual order: it reverses each right-to-left run of the line and mirrors the
# brackets in it. Producers break that assumption in two common ways, both seen on real files:
#   * a glyph whose ToUnicode entry holds several characters (a ligature, or a whole shaped cluster:
#     WeasyPrint puts a word's text on its first glyph) already reads in logical order, and PDFium's
#     reversal turns it backwards ("حَبيبي" comes out as "يبيبَح");
#   * Chromium marks its right-to-left words /ReversedChars and gives Arabic glyphs an /ActualText each;
#     PDFium then leaves each Arabic word in visual order and mirrors brackets Chromium already mapped
#     to their logical character.
# So the order is rebuilt here from geometry instead: glyphs are sorted along the text's baseline
# (visual order), and the visual order is turned into logical order with the Unicode bidirectional
# algorithm's rules (UAX #9: W4, W5, W7, N1, N2, I1, I2, L2), applied to the visual string. Reordering
# by the levels of a visual string gives back the logical string whenever a line has one level of
# embedding (right-to-left text with left-to-right words or numbers in it, or the reverse), which is
# what the standard inverse reordering does and what a PDF, having no embedding controls, can express.

_STRONG_R = frozenset(("R", "AL"))
_NUMBER = frozenset(("EN", "AN"))
_RTL_FIRST = 0x0590  # Hebrew, the first right-to-left block; no code point below it is right-to-left
# the brackets PDFium's GetMirrorChar swaps in a right-to-left run, which we swap back: the character
# the PDF gives (its ToUnicode or /ActualText) is already the logical one wherever we have checked
_MIRROR = dict(zip("()[]{}<>«»‹›", ")(][}{><»«›‹"))


def is_rtl(ch: str) -> bool:
    return ord(ch) >= _RTL_FIRST and unicodedata.bidirectional(ch) in _STRONG_R


def has_rtl(chars) -> bool:
    """Whether a line [(index, character, box), ...] has any right-to-left letter."""
    return any(is_rtl(c[1]) for c in chars)


def _kind(ch: str) -> str:
    """The bidi class that matters for reordering: "L", "R", "NUM", a separator or terminator ("CS",
    "ES", "ET"), "NSM" for a combining mark, else "ON" (neutral)."""
    k = unicodedata.bidirectional(ch)
    if k in _STRONG_R:
        return "R"
    if k == "L":
        return "L"
    if k in _NUMBER:
        return "NUM"
    if k in ("CS", "ES", "ET", "NSM"):
        return k
    return "ON"


def paragraph_rtl(chars) -> bool:
    """A line's base direction: right-to-left when it has at least as many right-to-left letters as
    left-to-right ones. (The bidi algorithm takes the first strong letter in logical order, which is
    what we are looking for; the majority is the usual stand-in for a visual line.)"""
    r = sum(1 for c in chars if is_rtl(c[1]))
    left = sum(1 for c in chars if unicodedata.bidirectional(c[1]) == "L")
    return r >= left


def levels(kinds: list[str], rtl: bool) -> list[int]:
    """Embedding levels of a visual sequence of classes (see _kind; "NSM" counts as neutral here)."""
    n = len(kinds)
    t = list(kinds)
    for i in range(1, n - 1):  # W4: "1,000", "3.5", "10/20" are one number
        if t[i] in ("CS", "ES") and t[i - 1] == "NUM" and t[i + 1] == "NUM":
            t[i] = "NUM"
    i = 0
    while i < n:  # W5: "%", "$", "°" next to a number belong to it
        if t[i] != "ET":
            i += 1
            continue
        j = i
        while j < n and t[j] == "ET":
            j += 1
        if (i > 0 and t[i - 1] == "NUM") or (j < n and t[j] == "NUM"):
            t[i:j] = ["NUM"] * (j - i)
        i = j
    if not rtl:  # W7: in left-to-right text, a number after left-to-right letters is left-to-right
        prev = "L"
        for i in range(n):
            if t[i] in ("L", "R"):
                prev = t[i]
            elif t[i] == "NUM" and prev == "L":
                t[i] = "L"
    edge = "R" if rtl else "L"
    i = 0
    while i < n:  # N1, N2: neutrals between two runs of one direction take it, others the paragraph's
        if t[i] in ("L", "R", "NUM"):
            i += 1
            continue
        j = i
        while j < n and t[j] not in ("L", "R", "NUM"):
            j += 1
        before = edge if i == 0 else ("L" if t[i - 1] == "L" else "R")
        after = edge if j == n else ("L" if t[j] == "L" else "R")
        t[i:j] = [before if before == after else edge] * (j - i)
        i = j
    # I1, I2: right-to-left letters at 1; numbers, and left-to-right letters in right-to-left text, at 2
    return [1 if k == "R" else 2 if (k == "NUM" or rtl) else 0 for k in t]


def reorder(lv: list[int]) -> list[int]:
    """L2: from the highest level down to 1, reverse every run at that level or above. Returns the
    positions of the input in their new order."""
    order = list(range(len(lv)))
    lv = list(lv)
    for k in range(max(lv, default=0), 0, -1):
        i = 0
        while i < len(lv):
            if lv[i] < k:
                i += 1
                continue
            j = i
            while j < len(lv) and lv[j] >= k:
                j += 1
            order[i:j] = order[i:j][::-1]
            lv[i:j] = lv[i:j][::-1]
            i = j
    return order


def _base_of(k, glyphs, kinds, spans, direction, object_of):
    """The letter glyph a mark glyph `k` belongs to, or None.

    PDFium gives a cluster with an /ActualText (Chromium's letter-and-vowel clusters) as equal slices of
    its text object's box, one per character, in an order that depends on its guess of the object's
    direction: the mark's slice then touches its letter's rather than lying over it, and may lie nearer
    another letter. So a letter sliced from the same text object, with the same extent across the
    baseline, comes first (the nearest, then the nearest in PDFium's order); else the letter the mark is
    drawn over the most."""
    dx, dy = direction
    lo, hi = spans[k]
    mine = glyphs[k][0]
    cross = _across(mine[2], dx, dy)
    obj = object_of(mine[0])
    best = None
    for b, g in enumerate(glyphs):
        if kinds[b] == "NSM" or object_of(g[0][0]) != obj:
            continue
        other = _across(g[0][2], dx, dy)
        if abs(other[0] - cross[0]) > 0.01 or abs(other[1] - cross[1]) > 0.01:
            continue
        gap = max(spans[b][0] - hi, lo - spans[b][1], 0.0)
        key = (gap, abs(g[0][0] - mine[0]))
        if best is None or key < best[0]:
            best = (key, b)
    if best is not None:
        return best[1]
    over, found = 0.0, None
    for b in range(len(glyphs)):
        if kinds[b] == "NSM":
            continue
        o = min(hi, spans[b][1]) - max(lo, spans[b][0])
        if o > over:
            over, found = o, b
    return found


def _across(box, dx: float, dy: float) -> tuple[float, float]:
    """A box's extent across the baseline (its height, whatever way the text runs)."""
    ys = (-box[0] * dy + box[1] * dx, -box[2] * dy + box[1] * dx, -box[0] * dy + box[3] * dx, -box[2] * dy + box[3] * dx)
    return min(ys), max(ys)


def _place_spaces(glyphs, bases, spans, where) -> None:
    """Move each space PDFium gives with no width into a gap between words. PDFium skips a space glyph
    drawn on its own (Chromium's, in an empty text object) and makes up a space of its own at the end
    of the glyph before it in the content stream, which in right-to-left text can be the wrong side of
    a bracket or inside the next letter. The gaps along the baseline say where words really part: with
    n such spaces on a line, the n widest gaps (letters of a word touch, overlap, or nearly so; Arabic
    letters that do not join leave a point or so) take one space each, the closest first."""
    spaces = [k for k in bases if spans[k][1] - spans[k][0] < 1e-3 and all(c[1].isspace() for c in glyphs[k])]
    if not spaces:
        return
    space_set = set(spaces)
    solid = sorted((k for k in bases if k not in space_set), key=lambda k: (where[k], k))
    gaps = sorted(((spans[b][0] - spans[a][1], spans[a][1], spans[b][0]) for a, b in zip(solid, solid[1:])
                   if spans[b][0] > spans[a][1]), reverse=True)[:len(spaces)]
    if not gaps:
        return
    # PDFium also makes up spaces between the slices of clusters (see _base_of), more than there are
    # words; a gap under half the usual word gap is inside a word
    usual = gaps[len(gaps) // 2][0]
    gaps = [g for g in gaps if g[0] >= 0.5 * usual]

    def dist(k, j):
        _, lo, hi = gaps[j]
        return max(lo - where[k], where[k] - hi, 0.0)

    pairs = sorted((dist(k, j), k, j) for k in spaces for j in range(len(gaps)))
    done, taken = {}, set()
    for _, k, j in pairs:
        if k not in done and j not in taken:
            done[k] = j
            taken.add(j)
    for k in spaces:  # more spaces than gaps: the extra ones join a neighbour (and collapse with it)
        j = done.get(k, min(range(len(gaps)), key=lambda j: dist(k, j)))
        where[k] = (gaps[j][1] + gaps[j][2]) / 2


def _own_run(glyph: list, own: str) -> list:
    """The characters of a mixed-direction glyph that belong to direction `own`: its letters of that
    direction, and the numbers, marks and neutrals between them."""
    kinds = [_kind(c[1]) for c in glyph]
    at = [k for k, kind in enumerate(kinds) if kind == own]
    if not at:
        return []
    return [c for k, c in enumerate(glyph[at[0]:at[-1] + 1], at[0]) if kinds[k] not in ("L", "R") or kinds[k] == own]


def piece_gap(a: list, b: list, direction: tuple[float, float]):
    """If two pieces of a line [(index, character, box), ...] lie side by side on one visual line (they
    share its height, do not overlap along it and lie within three line heights of each other), a
    point box in the middle of the gap between them, else None."""
    dx, dy = direction

    def extent(chars):
        along, across = [], []
        for _, _, box in chars:
            if box[2] > box[0] and box[3] > box[1]:
                for x, y in ((box[0], box[1]), (box[2], box[3])):
                    along.append(x * dx + y * dy)
                    across.append(-x * dy + y * dx)
        return (min(along), max(along), min(across), max(across)) if along else None

    ea, eb = extent(a), extent(b)
    if ea is None or eb is None:
        return None
    height = min(ea[3] - ea[2], eb[3] - eb[2])
    if height <= 0 or min(ea[3], eb[3]) - max(ea[2], eb[2]) < 0.5 * height:
        return None
    lo, hi = (ea[1], eb[0]) if ea[0] < eb[0] else (eb[1], ea[0])
    if hi < lo - 0.1 * height or hi - lo > 3 * height:
        return None
    m, c = (lo + hi) / 2, (ea[2] + ea[3]) / 2
    x, y = m * dx - c * dy, m * dy + c * dx
    return (x, y, x, y)


def logical_order(chars: list, direction: tuple[float, float], object_of: Callable[[int], Hashable]) -> list:
    """One line's characters [(index, character, box), ...], given in PDFium's order, in logical order.

    `direction` is the text's baseline (the glyphs' x axis) in page space, so that visual order is the
    order along it whatever the page's /Rotate. `object_of(index)` names the PDF text object a
    character was drawn by. Every character keeps its own index and box; brackets in right-to-left
    runs are given back as the PDF states them (PDFium mirrors them).
    """
    rtl = paragraph_rtl(chars)
    dx, dy = direction

    def span(box):
        xs = (box[0] * dx + box[1] * dy, box[2] * dx + box[1] * dy,
              box[0] * dx + box[3] * dy, box[2] * dx + box[3] * dy)
        return min(xs), max(xs)

    # 1. Glyphs. Characters with one box come from one glyph: its ToUnicode string, which is in logical
    # order and which PDFium reversed (and may have split) if it is right-to-left; reordering the
    # characters as if they were visual undoes that, since the reordering is its own inverse here.
    by_box: dict = {}
    for c in chars:
        by_box.setdefault(c[2], []).append(c)
    glyphs = []
    for group in by_box.values():
        if len(group) > 1 and has_rtl(group):
            kinds = [_kind(c[1]) for c in group]
            group = [group[k] for k in reorder(levels(kinds, rtl))]
        glyphs.append(group)

    # 2. A glyph whose text mixes directions is a producer's error: one glyph is drawn in one direction.
    # WeasyPrint gives the first glyph of "habibi", drawn after an Arabic word, the text "حَبيبي h": a
    # copy of the word before it, with no ink of its own. Such a glyph keeps the characters of the
    # direction of the rest of its text object (here "h"); the copy is dropped.
    kept = []
    for g in glyphs:
        ks = {_kind(c[1]) for c in g}
        if "R" in ks and "L" in ks:
            obj = object_of(g[0][0])
            votes = [_kind(c[1]) for h in glyphs if h is not g and object_of(h[0][0]) == obj for c in h]
            r, left = votes.count("R"), votes.count("L")
            if r != left:
                g = _own_run(g, "R" if r > left else "L")
        if g:
            kept.append(g)
    glyphs = kept

    def kind_of(g) -> str:
        ks = {_kind(c[1]) for c in g}
        if "R" in ks and "L" in ks:
            return "R" if rtl else "L"
        for k in ("R", "L", "NUM"):
            if k in ks:
                return k
        if ks == {"NSM"}:
            return "NSM"
        return next(iter(ks)) if len(g) == 1 else "ON"

    kinds = [kind_of(g) for g in glyphs]
    spans = [span(g[0][2]) for g in glyphs]

    # 3. A mark drawn as a glyph of its own rides with the letter it belongs to: logically it follows it.
    marks: dict[int, list[int]] = {}
    bases = []
    for k in range(len(glyphs)):
        b = _base_of(k, glyphs, kinds, spans, (dx, dy), object_of) if kinds[k] == "NSM" else None
        if b is None:
            bases.append(k)
        else:
            marks.setdefault(b, []).append(k)
    for b, ms in marks.items():  # a letter and its marks take the room of both (sliced, they lie side by side)
        spans[b] = (min(spans[m][0] for m in [b] + ms), max(spans[m][1] for m in [b] + ms))

    # 4. Visual order along the baseline, then logical order by the bidi levels.
    where = {k: (spans[k][0] + spans[k][1]) / 2 for k in bases}
    _place_spaces(glyphs, bases, spans, where)
    bases.sort(key=lambda k: (where[k], k))
    lv = levels([kinds[k] for k in bases], rtl)
    out = []
    for pos in reorder(lv):
        k = bases[pos]
        odd = lv[pos] % 2 == 1
        for m in [k] + marks.get(k, []):
            for c in glyphs[m]:
                out.append((c[0], _MIRROR.get(c[1], c[1]), c[2]) if odd else c)
    return out
