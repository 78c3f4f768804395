"""Grounding of a question in the corpus: its salient terms, and which of them the documents never mention.

Salient terms are what a question hinges on and a paraphrase cannot replace: names (runs of capitalised
words, acronyms), figures and years, and quoted titles. A question about something the corpus never
names cannot be answered from it, however close its other words come ("In which year did Pakistan's
army launch Operation Zarb-e-Azb?"), so such a term is the strongest reason to decline, and the reply
names it. A term is mentioned when the corpus has its stems (or a spelling variant of them: "Hafez",
"Hafiz") and, for a name of several words, has them side by side; an alias of a mentioned name counts.
Ordinary words are left to the calibration: the documents say "took over" where a user says "succeeded".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from ..index import bm25
from ..index.lexicon import Lexicon
from ..text import NUMBER_WORDS

# words that open a question capitalised without being a name
_OPENERS = frozenset("""who whom whose what when where which why how is are was were do does did has have had can could
will would should shall may might must in on at of for from by to with as about after before during since
according name list tell give describe explain compare identify summarise summarize state say the a an and or
if besides apart other than between among among under over through""".split())
# lower-case words a name may hold between its capitalised words ("Islamic State of Iraq", "Jamiat-e-Ulema")
# "and" is not one: "Britain and North America" are two names
_JOINERS = frozenset({"of", "the", "al", "el", "ul", "bin", "ibn", "de", "e", "i"})
_WORD = re.compile(r"[\w’'-]*\w")
_POSSESSIVE = re.compile(r"[’']s$", re.I)
_QUOTED = re.compile(r"“([^”]{2,80})”|\"([^\"]{2,80})\"|(?<![\w])‘([^’]{2,80})’(?![\w])")
_FIGURE = re.compile(r"\d[\d,.]*\d|\d{2,}")
_ADJECTIVAL = re.compile(r"(?:an|ian|ean|ish|ese|ic|ch|i)$")  # "American", "British", "Islamic", "French", "Pakistani"
_SHORT_ACRONYM = re.compile(r"[A-Z]{1,4}(?:-[A-Z]{1,2})?")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_THE_BEFORE = re.compile(r"(?:^|(?<=\s))(the)\s+$", re.I)
_WORD_AFTER = re.compile(r"\s+([a-z][\w’'-]*)")
# lower-case words that may follow a noun phrase but not go on with it: after "the World Cup" in "When did
# the World Cup take place?" the "the" is the name's; before "final" in "the World Cup final" it is not
_AFTER_PHRASE = frozenset("""is are was were be been being do does did has have had can could will would should shall
may might must not in on at of for from by to with as about after before during since into against than and or but
nor that which who whom whose when where while if first last ever also still take took taken begin began begun
happen happened occur occurred become became win won hold held say said""".split())


# the clause a question names its source in: "..., according to NJ.com?" (up to the clause's end)
_ACCORDING = re.compile(r"\b(?:according to|as reported by|reported by|told)\s+(?:the\s+|a\s+|an\s+)?$", re.I)
_CLAUSE_END = re.compile(r"\s*(?:[,;?.!]|$)")
# a name followed by what it wrote or who wrote for it: "the Reuters report", "a KLOOK reviewer"
_SOURCE_NOUN = re.compile(r"(?:[’']s)?\s+(?:report|reports|reported|reporting|column|columnist|article|story|piece|review|"
                          r"reviewer|reviewers|writer|editorial|coverage|interview|post|blog|newsletter|podcast|"
                          r"opinion|op-ed|analysis)\b", re.I)


@dataclass(frozen=True)
class Term:
    """A salient term as the question writes it, its kind (name | figure | quoted) and its stems, and how
    a reply names it (`named`): the question's own characters, with a quoted title's quotes and a "the"
    the name takes ("the World Cup", "“Rise of the Khilafah”"); empty for a term made without a question."""
    text: str
    kind: str
    stems: tuple[str, ...]
    named: str = ""


@dataclass(frozen=True)
class Grounding:
    """A question's salient terms and those the corpus never mentions (`absent`, in question order)."""
    terms: tuple[Term, ...] = ()
    absent: tuple[str, ...] = ()

    @property
    def grounded(self) -> bool:
        return not self.absent


def _names(question: str) -> list[tuple[int, int]]:
    """Where the runs of capitalised words are (acronyms and hyphenated names included), split at a
    possessive: "the Islamic State's Khorasan branch" -> "Islamic State", "Khorasan"."""
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(question)]
    out: list[tuple[int, int]] = []
    run: list[tuple[str, int, int]] = []
    pending: list[tuple[str, int, int]] = []  # joiners seen since the run's last capitalised word

    def close():
        # "The Weaving House", "One of FIS": the opening word is not part of the name
        while run and (not bm25.tokenize(run[0][0]) or run[0][0].lower() in _OPENERS or run[0][0].lower() in NUMBER_WORDS):
            run.pop(0)
        while run and run[-1][0].lower() in _JOINERS:
            run.pop()
        # a lone capitalised first word is sentence case ("Roughly how many ..."), unless an acronym
        if run and not (run[0][1] == words[0][1] and len(run) == 1 and not run[0][0].isupper()):
            out.append((run[0][1], run[-1][2]))
        run.clear()
        pending.clear()

    for i, (w, s, e) in enumerate(words):
        if run and question[run[-1][2]:s].strip() and not pending:
            close()  # punctuation between two capitalised words parts two names ("Jr, Sr")
        # "al-Qaeda" is a name; "pro-ISIS" describes one
        cap = w[0].isupper() or (w.split("-")[0].lower() in _JOINERS and any(c.isupper() for c in w))
        if i == 0 and w.lower() in _OPENERS:
            cap = False
        if cap:
            run.extend(pending)
            pending.clear()
            run.append((w, s, e))
            if _POSSESSIVE.search(w):
                run[-1] = (w, s, e - 2)
                close()
        elif run and w.lower() in _JOINERS:
            pending.append((w, s, e))
        else:
            close()
    close()
    return out


@lru_cache(maxsize=4096)
def salient_terms(question: str) -> tuple[Term, ...]:
    """The question's names, figures and quoted titles, each once, in the order it gives them."""
    found: list[tuple[str, str, int, int]] = []  # text, kind, and where the question writes it
    for m in _QUOTED.finditer(question):
        found.append((next(g for g in m.groups() if g), "quoted", m.start(), m.end()))
    # blanked to their length, so that a name's place in it is its place in the question
    unquoted = _QUOTED.sub(lambda m: " " * len(m.group()), question)
    found += [(question[s:e], "name", s, e) for s, e in _names(unquoted) if not _attribution(question, s, e)]
    found += [(m.group(), "figure", m.start(), m.end()) for m in _FIGURE.finditer(unquoted)
              if not any(m.group() in n for n, k, _, _ in found if k == "name")]
    out: list[Term] = []
    seen: set[tuple[str, ...]] = set()
    for text, kind, start, end in found:
        stems = tuple(bm25.tokenize(text))
        if stems and stems not in seen:
            seen.add(stems)
            out.append(Term(text, kind, stems, _as_written(question, kind, start, end)))
    return tuple(out)


def _attribution(question: str, start: int, end: int) -> bool:
    """Whether the name at [start, end) says where the question's fact was read ("..., according to the
    LA Times?", "the Reuters report", "a KLOOK reviewer"), not what it is about: a page seldom names its
    own publisher in its text, so such a name is no reason to decline, nor evidence against an answer."""
    if _SOURCE_NOUN.match(question, end):
        return True
    # "according to ScienceAlert?", not "according to a Punjab government official" (what he said is the fact)
    return bool(_ACCORDING.search(question, 0, start)) and bool(_CLAUSE_END.match(question, end))


def _as_written(question: str, kind: str, start: int, end: int) -> str:
    """How the question writes the term, for the reply to name it so: a quoted title in its quotes, and a
    name with the "the" before it when the name takes it ("never mention the World Cup"), not when the
    "the" is a noun's the name qualifies ("the Kohat bus attack": never mention Kohat)."""
    m = _THE_BEFORE.search(question, 0, start)
    if m is None or kind == "figure":  # "the 2018 estimate": the "the" is the estimate's
        return question[start:end]
    opens = not question[:m.start()].strip()
    if m.group(1) == "The" and not opens:  # capitalised mid-question, it is the title's ("The Weaving House")
        return question[m.start():end]
    after = _WORD_AFTER.match(question, end)
    if after and after.group(1) not in _AFTER_PHRASE:
        return question[start:end]
    # the question's opening "The" is capitalised as a sentence's first word, not as the name's
    return ("the" if opens else m.group(1)) + question[m.end(1):end]


def _absent(term: Term, lex: Lexicon) -> bool:
    """Whether the corpus never mentions the term: it lacks one of its words, or has them all but never
    side by side. Some absences are too weak to decline on and count as mentioned: a short acronym (a
    user's own "WWII", "PO"), words apart that an adjective joins ("North American Huguenot": American
    here, Huguenot there), and a name the corpus writes as one word or two ("Apple Talk")."""
    have = lex.mentions(term.stems, variants=term.kind != "figure")
    if all(have):
        return not lex.phrase_together(term.stems) \
            and not any(_ADJECTIVAL.search(w) for w in re.split(r"[\s-]+", term.text)[:-1])
    return not (term.kind == "name" and (_SHORT_ACRONYM.fullmatch(term.text) or _written_otherwise(term, lex)))


def _written_otherwise(term: Term, lex: Lexicon) -> bool:
    """Whether the corpus writes the name as one word or as two ("Apple Talk" / "AppleTalk", "UserDatagram" /
    "User Datagram")."""
    joined = bm25.tokenize("".join(term.text.split()))
    if len(term.text.split()) > 1 and len(joined) == 1 and lex.has(joined[0]):
        return True
    parts = [p for w in term.text.split() for p in _CAMEL.split(w)]
    stems = [st for p in parts for st in bm25.tokenize(p)]
    return len(stems) > len(term.stems) and all(lex.mentions(stems)) and lex.phrase_together(stems)


def ground(question: str, lex: Optional[Lexicon], aliases=None) -> Grounding:
    """The question's salient terms, and those the corpus never mentions. An alias of a mentioned name
    counts as mentioned (the user's alias list and the acronyms the corpus defines). No lexicon: every
    term counts as mentioned."""
    terms = salient_terms(question)
    if lex is None or not terms:
        return Grounding(terms)
    absent: list[str] = []
    for t in terms:
        if not _absent(t, lex):
            continue
        if aliases is not None and _alias_mentioned(t.text, lex, aliases):
            continue
        # the whole term, not the words the corpus lacks: "World" of "the World Cup" is in the corpus,
        # "Cup" alone is not what the user asked about
        absent.append(t.named or t.text)
    return Grounding(terms, tuple(dict.fromkeys(absent)))


def _alias_stems(text: str, aliases):
    """The stems of every name in each alias group the text names (the term's other names)."""
    for gi, _ in aliases.mentions(text):
        for name in aliases.groups[gi]:
            stems = bm25.tokenize(name)
            if stems:
                yield stems


def _alias_mentioned(text: str, lex: Lexicon, aliases) -> bool:
    return any(all(lex.mentions(stems)) and lex.phrase_together(stems) for stems in _alias_stems(text, aliases))


def unsupported(terms: tuple[Term, ...], stems, lex: Optional[Lexicon], aliases=None) -> float:
    """The share of the terms a text (its set of stems) does not hold, in any of their spelling variants,
    by a name's last word, or, with `aliases`, under another name of their alias group ("Khorasan Province" holds "Wilayat
    Khorasan"): the evidence side of grounding, which lowers confidence rather than declining."""
    if not terms:
        return 0.0

    def held(s: str) -> bool:
        return s in stems or (lex is not None and any(v in stems for v in lex.variants(s)))

    def named(t: Term) -> bool:
        # a person is often named by their last name alone ("the death of Khan"), a place by its head
        if all(held(s) for s in t.stems) or (t.kind == "name" and len(t.stems) > 1 and held(t.stems[-1])):
            return True
        return aliases is not None and any(all(held(s) for s in stems) for stems in _alias_stems(t.text, aliases))

    return sum(1 for t in terms if not named(t)) / len(terms)


def decline_text(absent: tuple[str, ...]) -> str:
    """"The documents never mention the World Cup." (two or three terms are listed; more are counted)."""
    names = list(absent)
    if len(names) == 1:
        listed = names[0]
    elif len(names) <= 3:
        listed = ", ".join(names[:-1]) + " or " + names[-1]
    else:
        listed = ", ".join(names[:3]) + f" or {len(names) - 3} other term(s) of the question"
    return f"The documents never mention {listed}."
