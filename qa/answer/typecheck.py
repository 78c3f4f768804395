"""Whether a candidate answer has the type its question needs (a figure, a date, a person or organisation).

"How many" needs a figure, "when" a date, "who" a person or an organisation.

A "how many" question answered with a name is wrong whatever its score, so a candidate of the wrong type
is never shown: the best one of the right type is, and when the evidence holds none the question is
declined ("no figure for this is given"). Each test is lenient on purpose ("several hundred", "the late
1990s", "his brother" pass): it only has to tell a figure from a name, not judge the answer.
"""
from __future__ import annotations

import re
from typing import Optional

from ..text import NUMBER_WORDS, SCALES, TOKEN, number_value

_NUMBER_WORDS = "|".join(sorted({*NUMBER_WORDS, *SCALES, "dozen", "dozens", "hundreds", "thousands", "millions",
                                 "billions", "tens", "several", "few", "half", "once", "twice", "thrice", "couple",
                                 "handful", "scores", "none", "third", "quarter", "majority", "minority"},
                                key=len, reverse=True))
_FIGURE = re.compile(r"\d|\b(?:" + _NUMBER_WORDS + r")\b", re.I)
_MONEY = re.compile(r"[$£€¥₹]|\b(?:rs\.?|pkr|usd|eur|gbp|inr|afn|dollars?|rupees?|pounds?|euros?|afghanis?|yuan|yen|"
                    r"francs?|marks?|riyals?|dirhams?|taka|crores?|lakhs?|cents?|pence|shillings?|guineas?|crowns?|kronor|krona|"
                    r"lira|lire|pesos?|rubles?|roubles?|shekels?|baht|rand|dinars?|florins?|ducats?|guilders?|sterling|"
                    r"million|billion|thousand|trillion|bn|mn)\b", re.I)
_PERCENT = re.compile(r"%|\bper ?cent(?:age)?\b|\bpercentage points?\b", re.I)
_DATE = re.compile(r"\b(?:1\d{3}|20\d{2}|\d{2,4}s|\d{1,2}(?:st|nd|rd|th))\b|\b(?:january|february|march|april|may|june|"
                   r"july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
                   r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|spring|summer|autumn|fall|winter|"
                   r"century|centuries|decade|decades|year|years|month|months|week|weeks|day|days|hours?|minutes?|"
                   r"morning|evening|night|noon|midnight|today|yesterday|tomorrow|ago|later|earlier|recently|"
                   r"era|age|ages|period|reign|dynasty|war|bc|bce|ad|ce|times?|eve|anniversary|holiday|"
                   r"christmas|easter|ramadan|eid|new year)\b", re.I)
_ENTITY_LABELS = {
    "number": {"CARDINAL", "QUANTITY", "MONEY", "PERCENT", "NUM", "ORDINAL"},
    "money": {"MONEY"},
    "percent": {"PERCENT"},
    "date": {"DATE", "TIME", "EVENT"},
}
# a "who" answer that names no one may still be someone by what it calls them ("his brother", "the police")
_PEOPLE = re.compile(
    r"\b(?:man|men|woman|women|people|person|persons|boy|girl|child|children|son|daughter|father|mother|brother|"
    r"sister|wife|husband|family|friend|king|queen|prince|emperor|leader|leaders|chief|head|commander|members?|"
    r"soldiers|militants|fighters|officials?|students?|teachers?|scholars?|priests?|monks?|bishops?|pope|clergy|"
    r"workers|farmers|citizens|residents|settlers|immigrants|natives|founders?|owners?|designers?|architects?|"
    r"engineers?|scientists?|researchers?|doctors?|lawyers?|judges?|players?|nobody|no one|everyone|himself|"
    r"herself|themselves|he|she|they)\b", re.I)
_BODIES = re.compile(
    r"\b(?:government|police|army|forces|military|troops|group|groups|party|council|committee|court|parliament|"
    r"congress|senate|authorities|tribes?|team|club|company|firm|band|university|school|church|agency|ministry)\b",
    re.I)
SHORT_WORDS = 4
_CAPITALISED = re.compile(r"(?:^|\s)[A-Z]")

# labels that say a span names a place, a time or a quantity: not who did something
_NOT_SOMEONE = {"GPE", "LOC", "FAC", "DATE", "TIME", "CARDINAL", "MONEY", "PERCENT", "QUANTITY", "ORDINAL"}
# "who succeeded X", "who took over as leader": a role only a person fills
_SUCCESSION = re.compile(r"\b(?:succeed(?:ed|s)?|replaced?|took over|take over|as (?:the )?(?:new )?(?:leader|head|chief|"
                         r"commander|emir|amir|wali|governor|spokesman|spokesperson|president|founder))\b", re.I)
_DATE_QUESTION = re.compile(r"\b(?:what|which|in what|in which) (?:year|month|date|day|decade|century)\b", re.I)
_MONEY_QUESTION = re.compile(r"\bhow much\b|\b(?:money|cost|costs|price|paid|pay|worth|budget|salary|funding|fund|raised?|"
                             r"spent|spend|dollars?|rupees?|revenue|income|fine|ransom|donations?)\b", re.I)
# words that say "a lot" without saying how many: "dozens", "several hundred", "tens of thousands"
VAGUE_WORDS = frozenset({"dozens", "hundreds", "thousands", "millions", "billions", "scores", "tens", "several", "many",
                         "numerous", "few", "countless", "multiple", "some", "handful", "lots", "various", "plenty"})
FIGURE_REACH = 1  # sentences either side of a vague quantity in which a figure replaces it
# what a declined question's reply says the documents lack, by the type it needed
LACKING = {"number": "figure", "money": "amount", "percent": "percentage", "date": "date",
           "person": "person or organisation", "someone": "person"}


def needed_type(qa) -> Optional[str]:
    """The type a candidate must have for the analysed question `qa`, or None when none is checked.
    Counting questions need a figure ("how many", "how much"); other "number" questions ("how long",
    "how often") are answered in words too often to check. "Who" needs a person or an organisation,
    "which commander" a person."""
    t = qa.answer_type
    if t == "number":
        return "number" if re.search(r"\bhow (?:many|much)\b", qa.text, re.I) else None
    if t == "person" and ((qa.head and qa.head != "who") or _SUCCESSION.search(qa.text)):
        return "someone"
    if t in ("person", "organisation"):
        return "person"
    if t == "date":
        # "When a pathogen is eaten, what ...?" asks what: only a question that asks when needs a date
        asks_when = re.match(r"\s*(?:since |until |till )?when\b(?!.*\b(?:what|which|who|whom|where|how)\b)", qa.text, re.I)
        return "date" if asks_when or _DATE_QUESTION.search(qa.text) else None
    if t == "money":
        return "money" if _MONEY_QUESTION.search(qa.text) else None
    return t if t == "percent" else None


def has_type(needed: str, text: str, start: int, end: int, ents) -> bool:
    """Whether the span `text` (document offsets start..end, in a sentence with entities `ents`) has the
    needed type: an entity of a fitting label overlapping it, or the words of one."""
    labels = {lab for s, e, lab in ents if s < end and start < e and lab != "NP"}
    if needed in ("person", "someone"):
        return _is_someone(text, labels, needed == "someone")
    if labels & _ENTITY_LABELS[needed]:
        return True
    if needed == "number":
        return bool(_FIGURE.search(text))
    if needed == "money":
        return bool(_MONEY.search(text)) and bool(_FIGURE.search(text))
    if needed == "percent":
        return bool(_PERCENT.search(text))
    if needed == "date":
        return bool(_DATE.search(text))


def _is_someone(text: str, labels: set, person_only: bool) -> bool:
    # spaCy's labels on South Asian names are noisy ("Lashkar-e-Taiba" PERSON, "Abtal-ul-Islam" LAW), so
    # a label only rules a span out when it says place, time or quantity (or organisation, for a person)
    # what a short span calls someone names them ("his brother"); a clause that mentions a leader does not
    short = not person_only or len(text.split()) <= SHORT_WORDS
    if "PERSON" in labels or (short and _PEOPLE.search(text)) or (
            not person_only and (labels & {"ORG", "NORP"} or (short and _BODIES.search(text)))):
        return True
    if labels & _NOT_SOMEONE or (person_only and labels & {"ORG", "NORP"}):
        return False
    return bool(_CAPITALISED.search(text))


def vague(text: str) -> bool:
    """Whether a quantity is only vague: a word such as "dozens" or "several", and no digit or number word."""
    words = TOKEN.findall(text.lower())
    return (any(w in VAGUE_WORDS for w in words) and not any(c.isdigit() for c in text)
            and not any(w in NUMBER_WORDS for w in words))


def figures_first(groups: list) -> list:
    """For a counting question whose best answer is a vague quantity ("dozens" of "... where dozens of
    people were gathered"), the best figure stated in that sentence or the next or previous one of the same
    document ("killing at least 97 people") comes first: the evidence says how many. A figure further away
    may count something else; the groups stay as they are when there is none."""
    if not groups or not vague(groups[0].best.text):
        return groups
    near = {(c.doc_id, c.sentence.row) for c in groups[0].members}

    def close(c) -> bool:
        return any(d == c.doc_id and abs(r - c.sentence.row) <= FIGURE_REACH for d, r in near)

    for i, g in enumerate(groups[1:], 1):
        if not vague(g.best.text) and number_value(g.best.text) is not None and any(close(c) for c in g.members):
            return [g] + groups[:i] + groups[i + 1:]
    return groups
