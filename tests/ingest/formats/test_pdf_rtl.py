"""qa.ingest.formats.pdf on right-to-left text: the shared Arabic samples against pdftotext and against what
their ToUnicode maps say, a Chromium print of Hebrew, Arabic and mixed lines against its HTML source, and
the visual-to-logical reordering of qa.ingest.formats.pdf_bidi on made-up lines."""
from __future__ import annotations

import re
import unicodedata

import pytest

from formats_fixtures import FIXTURES, SAMPLES, chromium, pdftotext_pages, print_to_pdf, squash
from qa.ingest.formats import extract
from qa.ingest.formats.pdf_bidi import logical_order
from test_pdf import assert_map_true

ARABIC = ["habibi.pdf", "habibi-oneline-cmap.pdf", "habibi-rotated.pdf"]
# What the file itself says. Its Arabic font maps the glyph drawn rightmost to the whole word, hah
# first (<03a3> -> 062D 064E 0628 064A 0628 064A 0020) and its other glyphs to nothing; "habibi" is drawn
# to the left of it in a right-to-left paragraph. So in reading order: the word, then "habibi".
HABIBI = "\u062d\u064e\u0628\u064a\u0628\u064a habibi"
RTL_FIXTURE = FIXTURES / "chromium-rtl.pdf"
RTL_HTML = FIXTURES / "chromium-rtl.html"
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _plain(s: str) -> str:
    """pdftotext's text without its bidi controls (it wraps each run in U+202A..U+202E), white space
    normalised."""
    return " ".join(_BIDI_CONTROLS.sub("", s).split())


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", " ".join(s.split()))


@pytest.mark.parametrize("name", ARABIC)
def test_arabic_samples_read_in_logical_order(name):
    path = SAMPLES / "015-arabic" / name
    r = extract(path)
    assert r.text.split("\n\n") == [HABIBI] * r.pages  # one line a page, on every rotation
    assert_map_true(r, path.read_bytes())


@pytest.mark.parametrize("name", ARABIC)
def test_arabic_samples_have_no_character_outside_their_scripts(name):
    """No glyph number (the Greek "ϲΒϴΒ" of glyphs 0x3F2, 0x392, 0x3F4) and no "˴" (glyph 0x2F4, the
    fatha's own glyph): only Arabic, Latin and spaces."""
    text = extract(SAMPLES / "015-arabic" / name).text
    strays = {ch for ch in text if not ch.isspace() and unicodedata.name(ch, "?").split()[0] not in ("ARABIC", "LATIN")}
    assert not strays, sorted(strays)
    assert not re.search("[\u0370-\u03ff\u02b0-\u02ff]", text)


@pytest.mark.skipif(pdftotext_pages(SAMPLES / "015-arabic/habibi.pdf") is None,
                    reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.parametrize("name", ARABIC)
def test_arabic_samples_against_pdftotext(name):
    """The same letters as poppler's pdftotext, page by page, and the same words.

    Not the same string: pdftotext lays the word's multi-character ToUnicode string out left to right
    and then reverses the right-to-left run, so it writes the word backwards ("يبيبَح", yeh first, where
    the file says hah first); and it keeps the copy of the word that WeasyPrint's ToUnicode also gives
    the "h" of "habibi", a glyph with no Arabic ink. So each of our words must be in its text, as it is
    or (a right-to-left word) backwards, and the set of letters must be the same: nothing stray,
    nothing lost. The order is checked against the file's own ToUnicode above."""
    path = SAMPLES / "015-arabic" / name
    r = extract(path)
    ours = r.text.split("\n\n")
    theirs = [_plain(p) for p in pdftotext_pages(path)]
    assert len(ours) == len(theirs) == r.pages
    for mine, poppler in zip(ours, theirs):
        assert set(squash(mine)) == set(squash(poppler))
        for word in mine.split():
            assert word in poppler or word[::-1] in poppler, (word, poppler)


def _source_paragraphs() -> list[str]:
    return [re.sub(r"<[^>]+>", "", p) for p in re.findall(r"<p\b[^>]*>(.*?)</p>", RTL_HTML.read_text(encoding="utf-8"), re.S)]


def test_chromium_rtl_fixture_reads_as_its_source():
    """Hebrew, Hebrew with an English title, a number and brackets, Arabic with a lam-alef ligature,
    Arabic with its vowel marks, a Hebrew paragraph over two lines, and an English line quoting a
    Hebrew and an Arabic word: each paragraph as written in the HTML. Chromium marks its right-to-left
    runs /ReversedChars and gives Arabic glyphs and vowelled clusters an /ActualText each; PDFium alone
    gave "Potter Harry", "ב500-", "ابحرم" for "مرحبا" and mirrored brackets.

    Pointed Hebrew (the third paragraph) is checked by its letters only: PDFium gives each cluster as
    slices of its vowel's small box and makes up a space between every two, which no geometry tells
    from a word space."""
    r = extract(RTL_FIXTURE)
    got = r.text.split("\n\n")
    want = _source_paragraphs()
    assert len(got) == len(want) == 7
    for mine, source in zip(got, want):
        if any(0x05B0 <= ord(ch) <= 0x05C7 for ch in source):
            assert squash(mine) == squash(source)
        else:
            assert _nfc(mine) == _nfc(source)
    assert_map_true(r, RTL_FIXTURE.read_bytes())


@pytest.mark.browser
def test_fresh_chromium_rtl_print(tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): cannot print a PDF")
    out = tmp_path / "rtl.pdf"
    print_to_pdf(RTL_HTML, out, header_footer=False)
    r = extract(out)
    assert r.text == extract(RTL_FIXTURE).text
    assert_map_true(r, out.read_bytes())


# --------------------------------------------------------------------------- the reordering alone

def _drawn(visual: str, width: float = 5.0) -> list:
    """A line drawn left to right, one glyph a character of the visual string, as PDFium's characters
    (index, character, box) in page space."""
    return [(i, ch, (i * width, 0.0, (i + 1) * width, 10.0)) for i, ch in enumerate(visual)]


def _read(chars, direction=(1.0, 0.0)) -> str:
    return "".join(c[1] for c in logical_order(chars, direction, lambda i: 0))


@pytest.mark.parametrize("visual, logical", [
    ("1997 תנשב אצי Harry Potter רפסה", "הספר Harry Potter יצא בשנת 1997"),  # English and a number in Hebrew
    ("the word םולש means peace", "the word שלום means peace"),  # a Hebrew word in English
    ("500-ב", "ב-500"),  # a separator before a number stays with the letter
    ("3.5% לש היילע", "עלייה של 3.5%"),  # a decimal point and a per cent sign belong to the number
    ("1,000 :םוכס", "סכום: 1,000"),
])
def test_visual_lines_read_in_logical_order(visual, logical):
    assert _read(_drawn(visual)) == logical
    # the same line in any order PDFium lists it, and drawn downwards the page (a text matrix turned
    # 90 degrees): the order comes from where the glyphs are, along the text's own direction
    shuffled = _drawn(visual)[::2] + _drawn(visual)[1::2]
    assert _read(shuffled) == logical
    turned = [(i, ch, (0.0, -x1, 10.0, -x0)) for i, ch, (x0, _, x1, _) in _drawn(visual)]
    assert _read(turned, direction=(0.0, -1.0)) == logical


def test_each_character_keeps_its_own_index_and_box():
    chars = _drawn("1997 תנשב")
    out = logical_order(chars, (1.0, 0.0), lambda i: 0)
    assert sorted(out) == sorted(chars)


def test_a_glyph_with_a_word_keeps_its_tounicode_order():
    """WeasyPrint's cluster: one box, seven characters, which PDFium lists backwards."""
    box = (0.0, 0.0, 10.0, 10.0)
    reversed_by_pdfium = [(i, ch, box) for i, ch in enumerate(" \u064a\u0628\u064a\u0628\u064e\u062d")]
    assert _read(reversed_by_pdfium).strip() == HABIBI.split()[0]


def test_a_mark_follows_the_letter_it_is_drawn_over():
    """A holam drawn as its own glyph over the vav of "שלום", listed by PDFium after the word."""
    chars = _drawn("םולש")
    chars.append((9, "\u05b9", (6.0, 10.0, 8.0, 12.0)))
    assert _read(chars) == "שלו\u05b9ם"


def test_a_zero_width_space_goes_to_the_gap_between_words():
    """PDFium's made-up space sits at the end of the glyph before it in the content stream, here inside
    the first letter of the next word; it belongs in the gap between the words."""
    word1 = [(i, ch, (i * 5.0, 0.0, i * 5.0 + 5.0, 10.0)) for i, ch in enumerate("םולש")]  # 0..20
    word2 = [(10 + i, ch, (30.0 + i * 5.0, 0.0, 35.0 + i * 5.0, 10.0)) for i, ch in enumerate("הבר")]  # 30..45
    space = (20, " ", (34.0, 0.0, 34.0, 0.0))
    assert _read(word2 + [space] + word1) == "רבה שלום"
