"""Text rules every layer shares: word patterns, accent folding, number words and control characters."""
from __future__ import annotations

import re
import unicodedata
from typing import Optional, Sequence
from urllib.parse import quote as urlquote

# A term, before stop words and stemming: what BM25 indexes and what grouping keys are made of.
TOKEN = re.compile(r"\w+", re.UNICODE)
# A word with the hyphens and apostrophes inside it ("Tehrik-e-Taliban", "Taliban’s"): the unit whose
# document offsets answer spans are widened to and matched on. It is one or more TOKENs.
WORD = re.compile(r"\w+(?:[’'-]\w+)*", re.UNICODE)
# C0 controls but tab, newline and carriage return, and DEL: they cannot reach a tokenizer or a browser
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fold(text: str) -> str:
    """Accents removed ("Furqān" -> "Furqan"): NFKD, then the combining marks dropped, no dictionary."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def printable(text: str) -> str:
    """`text` safe to tokenize, send as JSON and show: lone surrogates become "?", controls spaces."""
    return CONTROL.sub(" ", text.encode("utf-8", "replace").decode("utf-8"))


# --------------------------------------------------------------------------- number words

UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
NUMBER_WORDS = {**UNITS, **TENS}
SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
# The words `number_value` reads (it accumulates, so only "hundred" of the scales, plus "dozen")
VALUE_WORDS = frozenset({*NUMBER_WORDS, "hundred", "dozen"})
_NUMBER_RUN = re.compile(
    r"\b{w}(?:(?:[\s\-‐‑–]+(?:and[\s\-]+)?){w})*\b".format(
        w="(?:" + "|".join(sorted([*NUMBER_WORDS, *SCALES], key=len, reverse=True)) + ")"))
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def words_to_int(words: Sequence[str]) -> int:
    """["two", "thousand", "five"] -> 2005: number words (NUMBER_WORDS and SCALES) as one integer."""
    total = current = 0
    for w in words:
        if w in NUMBER_WORDS:
            current += NUMBER_WORDS[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * SCALES[w]
            current = 0
    return total + current


def number_words_to_digits(text: str) -> str:
    """'forty-two' -> '42', 'two thousand' -> '2000' (lower-case input; other words untouched)."""
    def repl(m: re.Match) -> str:
        words = [w for w in re.split(r"[\s\-‐‑–]+", m.group(0)) if w and w != "and"]
        return str(words_to_int(words))

    return _NUMBER_RUN.sub(repl, text)


def number_value(text: str) -> Optional[float]:
    """The number a span states ('forty-two' -> 42, '11' -> 11, '2,000–3,000' -> 2000), or None.
    The first figure wins; otherwise its number words are added up ("a hundred" multiplies)."""
    t = text.lower().replace(",", "")
    m = _DIGITS.search(t)
    if m:
        return float(m.group())
    total, seen = 0, False
    for w in re.split(r"[\s-]+", t):
        if w in NUMBER_WORDS:
            total += NUMBER_WORDS[w]
        elif w == "hundred":
            total = total * 100 if total else 100
        elif w == "dozen":
            total += 12
        else:
            continue
        seen = True
    return float(total) if seen else None


def text_fragment_url(url: str, quote: str) -> str:
    """`url` with a `#:~:text=` fragment, so a browser opens the page scrolled to the quote (its first and
    last words when it is long). Commas, dashes and ampersands are escaped: they are the fragment's syntax."""
    def enc(t: str) -> str:
        return urlquote(t, safe="").replace("-", "%2D")

    words = quote.split()
    frag = enc(" ".join(words)) if len(words) <= 8 else f"{enc(' '.join(words[:4]))},{enc(' '.join(words[-4:]))}"
    return f"{url.split('#', 1)[0]}#:~:text={frag}"
