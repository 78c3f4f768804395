"""Shaping an answer span in its document: whole words and entities, trimmed edges, lists and enumerations."""
from __future__ import annotations

import re
from typing import Optional

from ..types import Sentence

_BARE_DAY = re.compile(r"\d{1,2}")
# "for two key reasons", "three main factors which ...": a count of a kind of thing, not the things
_ENUM_POINTER = re.compile(
    r"\b(?:two|three|four|five|six|seven|several|a few|a number of|a couple of|[2-9])\s+(?:[\w-]+\s+){0,2}?"
    r"(?:reasons|factors|ways|steps|points|goals|causes|elements|aspects|measures|areas|lessons|challenges|"
    r"options|things|trends|priorities|objectives|drivers|motives|explanations|issues|components|pillars|"
    r"stages|phases|problems|conditions|considerations|dimensions|features|strategies|concerns|risks)\b", re.I)
# ... and the sentence that opens the enumeration
_ENUM_OPENER = re.compile(r"\W*(?:first(?:ly)?\b|the first\b|one\s+(?:reason|factor|way|is)\b|to begin with\b|"
                          r"for one\b|(?:1|i)[.)]\s)", re.I)


def enumeration_start(sents, sent: Sentence, span_text: str) -> Optional[Sentence]:
    """The sentence after `sent` in its document when `span_text` only announces an enumeration that
    that sentence opens ("... for two key reasons. First, TTP has strong ties ..."), else None."""
    if not _ENUM_POINTER.search(span_text) or sent.row + 1 >= len(sents):
        return None
    nxt = sents[sent.row + 1]
    return nxt if nxt.doc_id == sent.doc_id and _ENUM_OPENER.match(nxt.text) else None


def whole_entity(answer_type: str, text: str, s: int, e: int, ents) -> tuple[int, int]:
    """A date question's span that is a bare day number inside a date ("2" of "December 2") grows to
    the whole date: the day alone answers nothing."""
    if answer_type == "date" and _BARE_DAY.fullmatch(text[s:e]):
        for a, b, lab in ents:
            if lab == "DATE" and a <= s and e <= b and (a, b) != (s, e):
                return a, b
    return s, e


_HYPHENS = "-‐‑"
# labels of names: a span inside one of these is a fragment of a longer name ("Justice" of "Court of Justice")
NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT"})
# lower-case words a name holds between its capitalised ones ("Lashkar-e-Taiba", "Court of Justice", "Hizb ut-Tahrir")
NAME_JOINERS = frozenset({"of", "the", "and", "for", "de", "du", "des", "la", "le", "di", "da", "von", "van", "der",
                          "den", "bin", "ibn", "al", "el", "ul", "ut", "us", "e", "i", "y"})
_NAME_WORD = re.compile(r"[^\W\d_]+|\d+")
_POSSESSIVE = re.compile(r"[’']s?$")
_NOT_IN_NAME = re.compile(r"[()\[\]“”\"‘,;:]")


def _name_words(words: str) -> bool:
    """Whether text added to a name is more of the name: capitalised words and joiners only, and no bracket,
    quote or comma (an acronym's gloss "Hizb ut-Tahrir (HuT)" is another name for it, not more of it)."""
    return not _NOT_IN_NAME.search(words) and all(w[0].isupper() or w in NAME_JOINERS
                                                  for w in _NAME_WORD.findall(words))


def whole_hyphenated(text: str, s: int, e: int) -> tuple[int, int]:
    """A span that is part of a hyphenated name grows to the whole name: "Taiba" of "Lashkar-e-Taiba",
    "Tahrir" of "Hizb-ut-Tahrir". The whole word must be a name: its first letter a capital, and what the
    span gains capitalised words or joiners ("Afrikaans" of "Afrikaans-speaking" and "ISIS" of "pro-ISIS"
    stay as the reader chose them)."""
    a, b = s, e
    while a >= 2 and text[a - 1] in _HYPHENS and text[a - 2].isalnum():
        a -= 1
        while a > 0 and text[a - 1].isalnum():
            a -= 1
    while b + 1 < len(text) and text[b] in _HYPHENS and text[b + 1].isalnum():
        b += 1
        while b < len(text) and text[b].isalnum():
            b += 1
    if (a, b) == (s, e) or not text[a].isupper() or not _name_words(text[a:s] + " " + text[e:b]):
        return s, e
    return a, b


def whole_name(text: str, s: int, e: int, ents, labels=NAME_LABELS) -> tuple[int, int]:
    """A capitalised span inside a longer index-time name of one of `labels` grows to the whole name (the
    shortest that holds it): "Warsaw University" of "Warsaw University of Technology", "Justice" of "the
    Court of Justice". What it gains must be capitalised words or joiners ("Charlesfort on Parris Island"
    is two names), and a possessive ending ("Osama bin Laden's") is left out."""
    if s >= e or not text[s].isupper():
        return s, e
    around = sorted((b - a, a, b) for a, b, lab in ents if lab in labels and a <= s and e <= b and (a, b) != (s, e))
    if not around:
        return s, e
    _, a, b = around[0]
    if _POSSESSIVE.search(text[a:b]) and not _POSSESSIVE.search(text[s:e]):
        b = a + len(_POSSESSIVE.sub("", text[a:b]))
    if e <= b and _name_words(text[a:s] + " " + text[e:b]):
        return a, b
    return s, e


_CLOSER = {"“": "”", "\"": "\"", "(": ")", "[": "]"}
_OPENER = {v: k for k, v in _CLOSER.items()}


def trim_span(text: str, s: int, e: int) -> tuple[int, int]:
    """[s, e) without edge spaces and leading list punctuation, and without a quote mark or bracket at
    either edge whose partner is not inside the span: the reader's span of a title quoted as
    “To the Muslims ... bin Qasim,” starts at the opening mark, and the comma keeps the closing one out.
    (An apostrophe is left alone: at the end it is usually a plural possessive, "militants’".)"""
    while True:
        s0, e0 = s, e
        while s < e and (text[s].isspace() or text[s] in ",;:—–-"):
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e and text[s] in _CLOSER and _CLOSER[text[s]] not in text[s + 1:e]:
            s += 1
        if s < e and text[e - 1] in _OPENER and _OPENER[text[e - 1]] not in text[s:e - 1]:
            e -= 1
        if (s, e) == (s0, e0):
            return s, e


_LIST_STOP = re.compile(r"[;:—–]|\s-\s")
_LIST_AND = re.compile(r"\s+(?:and|or)\s+", re.I)
_LIST_LAST = re.compile(r"\s*(?:and|or)\s", re.I)
# an item may open with a gerund ("prioritizing police training"), not with a preposition or pronoun in -ing
_ING = re.compile(r"\s*(?:and\s+|or\s+)?(?!(?:during|according|including|regarding|concerning|following|"
                  r"excluding|considering|notwithstanding|nothing|something|anything|everything)\b)[a-z]+ing\b")
_PRONOUNS = {"it", "they", "he", "she", "we", "you", "i", "them", "this", "these", "those", "that", "which", "who"}
MAX_ITEM_WORDS = 12  # a longer "item" is a clause, not a member of a list
MAX_LIST_WORDS = 40


def list_run(text: str, s: int, e: int, hi: int, ents=()) -> tuple[int, int]:
    """The coordinated run of items that the span [s, e) starts, up to `hi` (its sentence's end), else the
    span itself. Items are told from clauses by the index-time noun chunks and entities `ents`
    (document offsets): comma-separated items that each open with one (or with an -ing word), up to and
    including the one that opens with "and"/"or" ("greater security cooperation with Afghanistan, the
    elimination of terrorist safe havens, ..., and promoting programs ..."); or, without commas, the
    noun chunk that an "and"/"or" right after the span opens ("Sindh and Balochistan").
    A span that already holds a list ("Dublin, Cork, Youghal and Waterford") stays as it is."""
    if "," in text[s:e] or _LIST_AND.search(text[s:e]):
        return s, e
    starts: dict[int, int] = {}
    for a, b, _ in ents:
        if a >= e and text[a:b].lower() not in _PRONOUNS:
            starts[a] = max(starts.get(a, a), b)
    stop = _LIST_STOP.search(text, e, hi)
    limit = stop.start() if stop else hi

    def opens_item(a: int, b: int) -> bool:
        lead = len(text[a:b]) - len(text[a:b].lstrip())
        word = re.match(r"(?:and|or)\s+", text[a + lead:b], re.I)
        at = a + lead + (word.end() if word else 0)
        return at in starts or bool(_ING.match(text, at))

    c = text.find(",", e, limit)
    if c >= 0 and len(text[s:c].split()) <= MAX_ITEM_WORDS and not _LIST_AND.search(text[e:c]):
        pos = c + 1
        while pos < limit:
            nxt = text.find(",", pos, limit)
            b = nxt if nxt >= 0 else limit
            if not opens_item(pos, b) or len(text[pos:b].split()) > MAX_ITEM_WORDS:
                break
            if _LIST_LAST.match(text, pos):
                end = len(text[:b].rstrip(" .!?"))
                return (s, end) if len(text[s:end].split()) <= MAX_LIST_WORDS else (s, e)
            if nxt < 0:
                break
            pos = nxt + 1
    # no comma list: "X and Y" right after the span, Y a noun chunk or entity. Not "bank robberies in Sindh
    # and Balochistan": there the "and" joins the places inside the phrase, not robberies to something else
    m = _LIST_AND.match(text, e)
    if m and m.end() in starts:
        return s, starts[m.end()]
    return s, e


def whole_words(text: str, s: int, e: int) -> tuple[int, int]:
    """Widen a span that starts or ends inside a word (a word piece) to the whole word."""
    while s > 0 and text[s - 1].isalnum() and text[s].isalnum():
        s -= 1
    while e < len(text) and text[e].isalnum() and text[e - 1].isalnum():
        e += 1
    return s, e
