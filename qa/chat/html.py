"""Text as inert HTML for the chat: escaping, a rendition's heading marks hidden, dates kept whole.

The escaping also turns every ASCII punctuation mark into a numeric character reference, so the output
stays inert if a Markdown renderer ever sees it (no `![x](...)` images, `[x](...)` links, autolinks,
emphasis, tables, code spans or `$$` maths), and if a JS template engine sees it (no `${...}`).
"""
from __future__ import annotations

import re
import string

from ..text import printable

_ESCAPES = {ord(c): f"&#{ord(c)};" for c in string.punctuation}
_ESCAPES.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&#39;"})


def escape(text: object) -> str:
    """Text as inert HTML: `& < > " '` escaped, other ASCII punctuation as numeric references.

    Control characters become spaces and lone surrogates become "?", so the result can always be
    sent as JSON and shown by a browser. The browser displays exactly the original characters.
    """
    return printable("" if text is None else str(text)).translate(_ESCAPES)


def attr(text: object) -> str:
    """A value for an HTML attribute in double quotes (escape() already covers quotes)."""
    return escape(text)



HEADING_MARK = re.compile(r"#{1,6} ")


def escape_text(text: str, a: int, b: int) -> str:
    """text[a:b] escaped, with the heading marks of a web page's or Word file's rendition ("## " at a
    line's start, where its extractor put them) hidden rather than shown as raw "#": the mark stays in
    the text, so every offset still points at the same character, and a heading whose whole line is
    in the slice is shown as a heading."""
    out, i = [], a
    for m in HEADING_MARK.finditer(text, a, b):
        at = m.start()
        if at > 0 and text[at - 1] != "\n":
            continue
        end = text.find("\n", m.end(), b)
        whole = end != -1 or b == len(text)
        end = end if end != -1 else b
        mark = f'<span class="qa-hmark" aria-hidden="true">{escape(m.group(0))}</span>'
        out.append(escape(text[i:at]))
        out.append(f'<span class="qa-h">{mark}{escape(text[m.end():end])}</span>' if whole
                   else mark + escape(text[m.end():end]))
        i = end
    out.append(escape(text[i:b]))
    return "".join(out)


_DATE_TOKEN = re.compile(r"\d{4}-\d{2}(?:-\d{2})?|\d{1,2} [A-Z][a-z]+ \d{4}|[A-Z][a-z]+ \d{1,2}, \d{4}|[A-Z][a-z]+ \d{4}")


def date_html(text: object) -> str:
    """A date or an "as of" note, escaped, with each date in it kept on one line ("2024-01-01" never
    breaks after "2024-01-"; "8 August 2016" stays whole), while a long note may still wrap between words."""
    s = "" if text is None else str(text)
    out, i = [], 0
    for m in _DATE_TOKEN.finditer(s):
        out.append(escape(s[i:m.start()]) + f'<span class="qa-nowrap">{escape(m.group(0))}</span>')
        i = m.end()
    return "".join(out) + escape(s[i:])
