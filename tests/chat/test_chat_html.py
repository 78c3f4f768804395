"""qa.chat.html: heading marks hidden without moving an offset, and dates that never break inside."""
from __future__ import annotations

import re

from qa.chat.html import date_html, escape, escape_text
from qa.chat.render import highlight

TEXT = "# The Kestrel Bridge\nIt cost 48 million.\n## Costs\nThe # sign stays.\n#hashtag too"


def visible(html: str) -> str:
    """What a reader sees: hidden marks dropped, tags removed, references decoded."""
    import html as h

    html = re.sub(r'<span class="qa-hmark"[^>]*>.*?</span>', "", html)
    return h.unescape(re.sub(r"<[^>]+>", "", html))


def test_heading_marks_are_hidden_and_headings_shown_as_headings():
    out = escape_text(TEXT, 0, len(TEXT))
    assert visible(out) == "The Kestrel Bridge\nIt cost 48 million.\nCosts\nThe # sign stays.\n#hashtag too"
    assert out.count('class="qa-h"') == 2 and out.count('class="qa-hmark"') == 2
    # the marks are still in the markup (hidden), so the text between offsets is unchanged
    import html as h

    assert h.unescape(re.sub(r"<[^>]+>", "", out)) == TEXT


def test_a_slice_that_starts_mid_line_or_cuts_a_heading_keeps_every_character():
    for a, b in ((3, 30), (0, 10), (21, 48), (40, len(TEXT))):
        shown = re.sub(r"<[^>]+>", "", escape_text(TEXT, a, b))
        import html as h

        assert h.unescape(shown) == TEXT[a:b], (a, b)


def test_a_highlight_across_a_heading_hides_its_mark_and_keeps_the_quote():
    s = TEXT.index("Costs")
    out = highlight(TEXT, 0, len(TEXT), (s, s + 5))
    assert '<mark class="qa-quote">Costs</mark>' in out and "qa-hmark" in out
    assert "## " not in visible(out)


def test_dates_stay_whole_and_long_notes_may_still_wrap():
    out = date_html("2024-01-01 (written after 8 August 2016, before May 2017)")
    assert re.findall(r'<span class="qa-nowrap">(.*?)</span>', out) == [
        escape("2024-01-01"), escape("8 August 2016"), escape("May 2017")]
    assert "written after" in out and date_html(None) == "" and date_html("<b>") == escape("<b>")
