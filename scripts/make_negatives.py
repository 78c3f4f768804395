"""Derive on-topic unanswerable questions from the answerable gold questions, checked against the corpus text.

A negative keeps an answerable question's subject and shape and changes what it hinges on, so that the
corpus no longer answers it:

- `swap_entity`: a place, group, party, agency, person, community or plan of the corpus that the question
  names becomes one of the same kind that the corpus never contains ("Who led Wilayat Khorasan?" ->
  "Who led Wilayat Sindh?");
- `swap_date`: a year or month the question is restricted to becomes one the corpus never names
  ("the May 2015 attack" -> "the May 2017 attack"); `swap_number` does the same for a count it hinges on;
- `absent_attribute`: the question asks for what the sources never give about something they mention
  ("How many people were wounded in the Quetta hospital bombing?"), kept only when no sentence of the
  corpus (nor a sentence and the next) names the thing together with a word for the attribute.

Names are found as capitalised runs and typed by a table of the corpus's names (`KINDS`): the small spaCy
model labels Lahore a person and Karachi an organisation, so its labels cannot choose a pool. spaCy finds
the dates and numbers and the event phrases ("the May 2015 attack on Ismailis in Karachi"). Every check
reads the corpus through the package's own reader, independently of the answer step it measures. A
negative inherits the split of its question: dev ones are fitted on, test ones are held out. The same
questions and corpus give the same file, byte for byte.

    .venv/bin/python scripts/make_negatives.py [--corpus corpus] [--questions FILE] [--out FILE] [--check]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent

from qa.index.aliases import corpus_acronyms, read_user_aliases  # noqa: E402
from qa.ingest.chunking import sentence_spans  # noqa: E402
from qa.ingest.corpus import load_corpus  # noqa: E402
from qa.evaluation.gold import GoldQuestion, load_questions  # noqa: E402
from qa.text import fold  # noqa: E402
from qa.types import Document  # noqa: E402

OUT = ROOT / "eval" / "negatives.jsonl"
PER_QUESTION = 2
METHODS = ("swap_entity", "swap_date", "swap_number", "absent_attribute")

# The corpus's names a question may hinge on: name -> (kind, written with "the"). The subject of the
# whole corpus (the Islamic State and its aliases, Pakistan, Afghanistan, the Taliban) is never swapped:
# a question about another state or movement altogether is off topic, not on-topic and unanswerable.
# Neither are "Pakistanis" and "Afghans": the shura is broken down completely ("nine Pakistanis, two
# Afghans, and one person of unknown origin"), so "how many Uzbeks" would still be answered by subtraction.
KINDS: dict[str, tuple[str, bool]] = {
    "Karachi": ("city", False), "Lahore": ("city", False), "Quetta": ("city", False),
    "Sialkot": ("city", False), "Islamabad": ("city", False), "Peshawar": ("city", False),
    "Kabul": ("afghan_city", False), "Bajaur": ("district", False),
    "Punjab": ("province", False), "Sindh": ("province", False), "Balochistan": ("province", False),
    "Khyber Pakhtunkhwa": ("province", False), "Kashmir": ("province", False),
    "Wilayat Khorasan": ("wilayat", False),
    "Lashkar-e-Taiba": ("group", False), "LeT": ("group", False), "TTP": ("group", True),
    "Tehrik-e-Taliban Pakistan": ("group", True), "Tehreek-e-Taliban Pakistan": ("group", True),
    "Pakistani Taliban": ("group", True), "Lashkar-e-Jhangvi": ("group", False),
    "Jamaat-ul-Ahrar": ("group", False), "Hizb-ut-Tahrir": ("group", False), "Hizb ut-Tahrir": ("group", False),
    "Abtal-ul-Islam": ("group", False), "Sawt-al-Ummah": ("group", False), "Ahle-Sunnat-Wal-Jamaat": ("group", False),
    "JUI-F": ("party", True), "Jamiat-e-Ulema-e-Islam-Fazl": ("party", True),
    "Intelligence Bureau": ("agency", True), "Lal Masjid": ("mosque", True), "National Action Plan": ("plan", True),
    "Hafiz Saeed Khan": ("militant", False), "Hafez Saeed Khan": ("militant", False), "Hafiz Khan": ("militant", False),
    "Omar Mansoor": ("militant", False), "Saad Aziz": ("militant", False),
    "Abu Muhammad al-Adnani": ("militant", False),
    "Tariq Parvez": ("official", False), "Chaudhry Nisar": ("official", False), "Aftab Sultan": ("official", False),
    "Ubaid-ur-Rehman Nizamani": ("official", False), "Bushra Cheema": ("person", False),
    "Bilal Anwar Kasi": ("person", False), "Ismailis": ("community", False),
    # asked about by absent_attribute only (no pool): the subject, and bodies named only in answers
    # (the think tanks the sources cite are left out: their budgets are not this corpus's topic)
    "IS-K": ("subject", False), "National Counter Terrorism Authority": ("body", True),
    "Al-Azaim Foundation": ("body", False),
}


@dataclass(frozen=True)
class Sub:
    name: str
    the: bool = False  # written "the Awami National Party", not "Awami National Party"


# Same-kind substitutes, on topic for militancy in Pakistan and Afghanistan. A substitute is used only
# where the corpus never contains it (some here, e.g. the Pakistan Peoples Party, it does: they are refused)
POOLS: dict[str, list[Sub]] = {
    "city": [Sub(n) for n in ("Multan", "Hyderabad", "Faisalabad", "Rawalpindi", "Gujranwala", "Sukkur", "Mardan",
                              "Abbottabad", "Kohat", "Bannu", "Dera Ismail Khan", "Gilgit", "Chitral", "Zhob",
                              "Turbat", "Gwadar")],
    "afghan_city": [Sub(n) for n in ("Jalalabad", "Kandahar", "Herat", "Kunduz")],
    "district": [Sub(n) for n in ("Orakzai", "Kurram", "North Waziristan", "Swat", "Mohmand", "Lower Dir")],
    "province": [Sub("Gilgit-Baltistan")],
    "wilayat": [Sub("Wilayat Sindh"), Sub("Wilayat Hind")],
    "group": [Sub(n) for n in ("Jaish-e-Muhammad", "Harkat-ul-Mujahideen", "Jundallah", "Lashkar-e-Islam",
                               "Hizbul Mujahideen", "Harkat-ul-Jihad al-Islami", "Lashkar-e-Jhangvi al-Alami")],
    "party": [Sub("Awami National Party", True), Sub("Pakistan Peoples Party", True), Sub("Jamaat-e-Islami", True),
              Sub("Pakistan Tehreek-e-Insaf", True)],
    "agency": [Sub("Inter-Services Intelligence", True), Sub("Federal Investigation Agency", True)],
    "mosque": [Sub("Faisal Mosque", True), Sub("Jamia Binoria", True), Sub("Badshahi Mosque", True)],
    "plan": [Sub("National Internal Security Policy", True), Sub("National Security Policy", True)],
    "militant": [Sub(n) for n in ("Aslam Farooqi", "Shahab al-Muhajir", "Abdul Haseeb Logari", "Abdul Rauf Khadim")],
    "official": [Sub(n) for n in ("Ihsan Ghani", "Moeed Yusuf", "Nasser Khan Janjua")],
    "community": [Sub(n) for n in ("Ahmadis", "Hazaras", "Christians")],
}
# a name followed by one of these modifies it ("the Lal Masjid link"): its "the" belongs to the noun
MODIFIED = {"faction", "factions", "offshoot", "link", "cell", "group", "leadership", "leader", "members",
            "attack", "bombing", "massacre", "hospital", "police", "government", "official", "city", "mosque",
            "chief", "shura", "convention", "supporters", "neighbourhood", "detainee", "donors", "bus", "pro-isis",
            "pro-daesh", "civil", "daesh", "isis"}

# Attribute templates by what they ask about: (attribute, question, type, cue patterns). A cue is a
# word start; the attribute is asked only where no sentence names the thing with one of its cues
WOUND = ("wound", "injur", "hurt", "casualt", "maim")
ARREST = ("arrest", "detain", "detention", "custody", "captur", "convict", "sentenc", "charge", "held", "jail",
          "prison", "bust", "raid", "uncover", "expos", "discover", "dismantl")
MONEY = ("budget", "fund", "financ", "revenue", "money", "income", "donat", "paid", "pay", "spen", "cost",
         "dollar", "rupee", r"\$", "resource", "compensat")
FOUND = ("found", "establish", "formed", "formation", "launch", "set up", "creat", "emerg", "origin", "since",
         "began", "start", "lead", "led", "leader", "head", "chief", "emir", "amir", "wali", "governor")
BASE = ("headquarter", "based", "base", "office", "stronghold", "centre", "center")
BORN = ("born", "birth", "native", "hometown", "hails", "grew up", "year-old", r"aged?\b", "young", "old\b")
TEMPLATES: dict[str, list[tuple[str, str, str, tuple[str, ...]]]] = {
    "event": [
        ("wounded", "How many people were wounded in {e}?", "number", WOUND),
        ("arrests", "Who was arrested over {e}?", "person", ARREST),
        ("compensation", "How much compensation did the government pay the victims of {e}?", "money", MONEY),
        ("time of day", "At what time of day did {e} take place?", "date",
         ("morning", "evening", "night", "noon", "afternoon", "dawn", "dusk", r"a\.m", r"p\.m", "o'clock", "hour",
          "midnight", "time")),
        ("attackers", "How many attackers took part in {e}?", "number",
         ("attacker", "gunm", "assailant", "bomber", "perpetrat", "militant", "fighter")),
        ("weapon", "What kind of explosive was used in {e}?", "description",
         ("explos", "bomb", "device", "vest", "ied", "grenade", "rifle", "gun", "weapon", "detonat")),
    ],
    "video": [
        ("length", "How long is {e}?", "number", ("minute", "hour", "second", "length", "long", "duration")),
        ("views", "How many times has {e} been viewed?", "number",
         ("view", "watch", "share", "audience", "circulat", "download")),
    ],
    "cell": [
        ("arrests", "How many members of {e} were arrested?", "number", ARREST),
        ("recruiter", "Who recruited the members of {e}?", "person",
         ("recruit", "enlist", "lure", "contact", "brought", "persuad", "radicali")),
        ("funding", "How was {e} funded?", "description", MONEY),
        ("leader", "Who led {e}?", "person", ("lead", "led", "head", "chief", "principal", "member", "command")),
    ],
    "org": [
        ("budget", "What is the annual budget of {e}?", "money", MONEY),
        ("founding year", "In which year was {e} founded?", "date", FOUND),
        ("founder", "Who founded {e}?", "person", FOUND),
        ("headquarters", "In which city is {e} headquartered?", "place", BASE),
        ("membership", "How many members does {e} have?", "number",
         ("member", "fighter", "strength", "cadre", "recruit", "militant", "manpower", "personnel", "estimat",
          "number")),
    ],
    "person": [
        ("birth year", "In which year was {e} born?", "date", BORN),
        ("birthplace", "Where was {e} born?", "place", BORN),
        ("education", "Where did {e} study?", "place",
         ("stud", "educat", "graduat", "universit", "school", "madrass", "seminar", "trained", "degree")),
    ],
    "city": [
        ("arrests", "How many Daesh suspects have been arrested in {e}?", "number", ARREST),
        ("first attack", "When did Daesh carry out its first attack in {e}?", "date",
         ("attack", "bomb", "strike", "struck", "kill", "massacre", "assault", "blast", "explo", "suicide")),
        ("police chief", "Who heads the counter-terrorism police in {e}?", "person",
         ("police", "chief", "inspector", "superintendent", "officer", "head", "command")),
    ],
    "body": [
        ("founding year", "In which year was {e} founded?", "date", FOUND),
        ("headquarters", "In which city is {e} based?", "place", BASE),
        ("budget", "What is the annual budget of {e}?", "money", MONEY),
    ],
    "mosque": [
        ("cleric", "Who is the chief cleric of {e}?", "person",
         ("cleric", "imam", "khat", "mullah", "maulana", "prayer", "preach", "lead", "led", "head", "chief")),
        ("founding year", "In which year was {e} built?", "date", ("built", "construct", "found", "establish", "since")),
    ],
    "plan": [("funding", "How much money was allocated to carry out {e}?", "money", MONEY)],
}
FAMILY = {"group": "org", "party": "org", "wilayat": "org", "subject": "org", "body": "body", "agency": "body",
          "mosque": "mosque",
          "militant": "person", "official": "person", "person": "person",
          "city": "city", "afghan_city": "city", "plan": "plan"}
PLACE_KINDS = {"city", "afghan_city", "district", "community"}
HEADS = {"attack": "event", "bombing": "event", "massacre": "event", "video": "video", "cell": "cell"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


# --------------------------------------------------------------------------- the corpus

def _norm(text: str) -> str:
    """Lower case, accents folded, every run of non-word characters one space: "Hizb ut-Tahrir's" and
    "hizb-ut-tahrir s" compare equal, and a phrase search with spaces round it is a whole-word search."""
    return " " + " ".join(re.findall(r"[a-z0-9$]+", fold(text).lower())) + " "


def _skeleton(word: str) -> str:
    """Consonants with doubles collapsed: spellings that differ in vowels or doubling (Tehreek/Tehrik,
    Baluchistan/Balochistan, Mohammad/Muhammad) share one."""
    return re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouy]", "", word))


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:] if len(a) < len(b) else a[i + 1:] == b[i + 1:]


class Corpus:
    """What the checks read: the corpus's text, its sentences, its spellings and its alias groups."""

    MAX_WORDS = 5  # the longest substitute, in words

    def __init__(self, docs: Sequence[Document], aliases: Iterable[Sequence[str]] = ()):
        # the metadata too: answers read it ("period": "2023 (written after the Bajaur attack)"), so a
        # year only it names is not one the corpus never contains
        meta = [_norm(str(v)) for d in docs for v in (d.title, d.author, d.publisher, d.date, d.period) if v]
        self.sentences = [_norm(d.text[s:e]) for d in docs for s, e in sentence_spans(d.text)] + meta
        self.text = "".join(_norm(d.text) for d in docs) + "".join(meta)
        # a sentence and the next: answers run on ("... attack on a busload of workers in Karachi.
        # Forty-five people died."), so a name and an attribute a sentence apart count as together
        self.windows = [a + b for a, b in zip(self.sentences, self.sentences[1:] + [""])]
        self.groups = [list(g) for g in aliases] + corpus_acronyms(docs)
        words = self.text.split()
        self.joined: set[str] = set()
        for n in range(1, self.MAX_WORDS + 1):
            self.joined.update("".join(words[i:i + n]) for i in range(len(words) - n + 1))
        self.skeletons = {_skeleton(j) for j in self.joined}
        self.by_length: dict[int, set[str]] = {}
        for j in self.joined:
            self.by_length.setdefault(len(j), set()).add(j)
        self._seen: dict[str, bool] = {}

    def has(self, phrase: str) -> bool:
        """Whether the corpus contains the phrase: as a whole phrase (case, accents, hyphens and spaces
        ignored), as a name of one of its alias groups, or, for words, under a spelling that differs in
        vowels or doubled letters or by one letter (7+ letters: Multan is not Sultan). A multi-word
        phrase must occur whole: "Wilayat Sindh" is absent though "Sindh" is not."""
        if phrase not in self._seen:
            norm = _norm(phrase)
            joined = norm.replace(" ", "")
            fuzzy = not re.search(r"\d", joined)  # "May 2017" is not a misspelling of "May 2015"
            self._seen[phrase] = (
                norm in self.text or any(_norm(a) == norm for g in self.groups for a in g)
                or (fuzzy and _skeleton(joined) in self.skeletons)
                or (fuzzy and len(joined) >= 7 and any(_one_edit(joined, j) for n in (-1, 0, 1)
                                                       for j in self.by_length.get(len(joined) + n, ()))))
        return self._seen[phrase]

    def names(self, name: str) -> list[str]:
        """The name and every other name of the alias groups it belongs to."""
        out = [name]
        for g in self.groups:
            if any(_norm(a) == _norm(name) for a in g):
                out += [a for a in g if a not in out]
        return out

    def says(self, names: Iterable[str], cues: Iterable[str]) -> bool:
        """Whether a sentence (or a sentence and the next) names one of `names` and holds a cue."""
        keys = [_norm(n) for n in names]
        cue = re.compile(r"(?<![a-z0-9])(?:" + "|".join(cues) + ")")
        return any(any(k in w for k in keys) and cue.search(w) for w in self.windows)


# --------------------------------------------------------------------------- questions

def _nlp():
    from qa.ingest.nlp import _nlp as load  # the project's one spaCy pipeline, loaded without torch

    return load()


def _find(name: str, text: str) -> Optional[re.Match]:
    return re.search(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", text)


def names_in(text: str) -> list[tuple[int, str]]:
    """(position, name) of the KINDS names a text holds, the longest where they overlap, in text order."""
    found: list[tuple[int, int, str]] = []
    for name in sorted(KINDS, key=lambda n: (-len(n), n)):
        m = _find(name, text)
        if m and not any(s <= m.start() < e or m.start() <= s < m.end() for s, e, _ in found):
            found.append((m.start(), m.end(), name))
    return [(s, n) for s, _, n in sorted(found)]


CAPITALISED = re.compile(r"(?<![\w-])[A-Z][\w’'-]*(?:\s+(?:(?:of|the|and|e|ul|al|ut|ur|wal|bin)\s+)*[A-Z][\w’'-]*)*")
UNSWAPPED = {"Islamic State", "Islamic", "State", "IS", "ISIS", "Daesh", "IS-K", "Pakistan", "Pakistani", "Pakistanis",
             "Afghanistan", "Afghan", "Afghans", "Afghan Taliban", "Taliban", "Syria", "Iraq", "Khorasan", "Al Qaeda",
             "Sunni", "Muslims", "US", "Assad", "Iranian", "Civil Hospital"}


def untyped_names(text: str) -> list[str]:
    """Capitalised runs that are neither a KINDS name nor made of the corpus's subject and month names:
    names a pool could swap if the table knew their kind (printed, so a maintainer can add them)."""
    known = [n for _, n in names_in(text)]
    out = []
    for m in CAPITALISED.finditer(text):
        run = m.group().strip("’'")
        parts = [p for p in re.split(r"[’']s\b|[\s’'-]+", run) if p]
        if m.start() == 0 or run in UNSWAPPED or any(k in run or run in k for k in known):
            continue  # the first word of a question is capitalised whatever it is
        if not all(p in UNSWAPPED or p in MONTHS or p.islower() for p in parts):
            out.append(run)
    return out


def _article(before: str, sub: str) -> str:
    """`before` with a closing "a"/"an" made to fit `sub` ("a Punjab official" -> "an Abbottabad official")."""
    m = re.search(r"(?<![\w-])([Aa]n?) $", before)
    if not m:
        return before
    an = sub[0].lower() in "aeiou"
    word = ("An" if an else "A") if m.group(1)[0] == "A" else ("an" if an else "a")
    return before[:m.start(1)] + word + " "


def replace_name(question: str, name: str, sub: Sub) -> str:
    """The question with its first `name` swapped for `sub`, the article made to fit: "the TTP as a
    whole" -> "Jundallah as a whole", "attacking the JUI-F" -> "attacking the Awami National Party",
    but "the Hizb ut-Tahrir faction" keeps its "the" (it is the faction's)."""
    m = _find(name, question)
    before, after = question[:m.start()], question[m.end():]
    nxt = re.match(r"\s*([\w-]+)", after)
    modifier = nxt is not None and nxt.group(1).lower() in MODIFIED and not after.startswith("'")
    possessive = after.startswith(("'s", "’s"))
    has_the = re.search(r"(?<![\w-])the $", before) is not None
    if has_the and not sub.the and not modifier:
        before = before[:-4]
    elif not has_the and sub.the and not modifier and not re.search(r"[’']s $", before):
        before += "the "
    if possessive and has_the and not sub.the:
        before = re.sub(r"(?<![\w-])the $", "", before)
    return _article(before, sub.name) + sub.name + after


@dataclass
class State:
    """What the choices so far have used: substitutes and templates are spread, and no question is asked twice."""
    subs: Counter
    templates: Counter
    asked: set
    attributes: set


def _rotated(items: list, key: str) -> list:
    start = int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(items)
    return items[start:] + items[:start]


def swap_entity(q: GoldQuestion, doc, corpus: Corpus, state: State) -> Optional[dict]:
    for start, name in names_in(q.question):
        kind = KINDS[name][0]
        if kind not in POOLS or not corpus.has(name):
            continue  # only a name the corpus uses is one the question hinges on
        span = doc.char_span(start, start + len(name), alignment_mode="expand")
        if kind in PLACE_KINDS and span is not None and span.root.dep_ == "nsubj":
            continue  # "if Kabul reaches a reconciliation": a city that acts is its government
        if re.search(r"\b(?:including|such as|like|besides|apart from) $", q.question[:start]):
            continue  # "militant groups including Wilayat Khorasan": an example, not what the answer turns on
        taken = {n for _, n in names_in(q.question)}
        subs = [s for s in _rotated(POOLS[kind], q.id + name) if s.name not in taken and not corpus.has(s.name)]
        if subs:
            sub = min(subs, key=lambda s: state.subs[s.name])  # least used so far; ties in rotated order
            return {"question": replace_name(q.question, name, sub), "method": "swap_entity",
                    "changed": {"from": name, "to": sub.name}, "_sub": sub.name}
    return None


def _years(year: int) -> list[int]:
    """Years near `year`, nearest plausible first; never before the Khorasan branch for a question from
    its time (a "2009 IS-K attack" would be a wrong premise, not a missing fact), never after 2024."""
    low = 2015 if year >= 2015 else year - 6
    return [y for d in (2, -3, 1, -1, 3, -2, 4, -4, 5, -5) if low <= (y := year + d) <= 2024]


def swap_date(q: GoldQuestion, doc, corpus: Corpus) -> Optional[dict]:
    for ent in doc.ents:
        m = re.search(r"\b(19|20)\d\d\b", ent.text)
        if ent.label_ != "DATE" or not m:
            continue
        nxt = doc[ent.end].lower_ if ent.end < len(doc) else ""
        if nxt in ("article", "issue", "edition", "brief", "report"):
            continue  # the date names a source, not what the question asks about
        for y in _years(int(m.group())):
            new = ent.text[:m.start()] + str(y) + ent.text[m.end():]
            if not corpus.has(str(y)) and not corpus.has(new):
                text = q.question[:ent.start_char] + new + q.question[ent.end_char:]
                return {"question": text, "method": "swap_date", "changed": {"from": ent.text, "to": new}}
    return None


def swap_number(q: GoldQuestion, doc, corpus: Corpus) -> Optional[dict]:
    for ent in doc.ents:
        if ent.label_ != "CARDINAL" or not re.fullmatch(r"\d[\d,]*", ent.text):
            continue
        prev = doc[ent.start - 1].lower_ if ent.start > 0 else ""
        if prev in ("which", "what", "name"):
            continue  # "which 2 groups": the corpus still names them, the count is not what is asked
        n = int(ent.text.replace(",", ""))
        for new in (n + 7, n * 3, n + 13, n * 5 + 1):
            if not corpus.has(str(new)):
                text = q.question[:ent.start_char] + str(new) + q.question[ent.end_char:]
                return {"question": text, "method": "swap_number", "changed": {"from": ent.text, "to": str(new)}}
    return None


def _phrases(doc) -> list[tuple[str, str, list[str]]]:
    """(family, phrase, names) of the events, videos and cells a question names with a place or IS-K:
    the head noun's determiners, modifiers and prepositional or participial tail ("the May 2015 attack
    on Ismailis in Karachi", "IS-K's December 2022 video aimed at Pakistan"), relative clauses left out."""
    out = []
    for tok in doc:
        family = HEADS.get(tok.lower_)
        if family is None or tok.pos_ not in ("NOUN", "PROPN"):
            continue
        right = tok.i
        for child in tok.rights:
            if child.dep_ in ("prep", "acl"):
                right = max(right, child.right_edge.i)
        span = doc[tok.left_edge.i:right + 1]
        text = span.text
        first = span[0].lower_
        if not (first == "the" or (first != "its" and any(t.tag_ == "POS" for t in span if t.i < tok.i))):
            continue  # "a mosque", "its video": nothing a question could name it by
        names = [n for _, n in names_in(text) if KINDS[n][0] in PLACE_KINDS]
        if family == "video":
            if "IS-K" not in text:
                continue
            names = ["video"]
        if names:
            out.append((family, text[0].lower() + text[1:] if first == "the" else text, names))
    return out


def absent_attribute(q: GoldQuestion, doc, corpus: Corpus, gold_texts: list[str], state: State) -> Optional[dict]:
    things: list[tuple[str, str, list[str]]] = list(_phrases(doc))
    # names in the question, then the names its answer gives (the sources mention both)
    for text in [q.question] + list(q.answers[:1]):
        for _, name in names_in(text):
            kind, the = KINDS[name]
            if kind in FAMILY and corpus.has(name):
                names = corpus.names(name)
                if kind in ("subject", "wilayat"):  # "Daesh in Pakistan draws funding ..." is about IS-K too
                    names += corpus.names("Islamic State")
                things.append((FAMILY[kind], ("the " if the else "") + name, names))
    for family, thing, names in things:
        templates = TEMPLATES[family]
        for attribute, template, qtype, cues in sorted(templates, key=lambda t: state.templates[(family, t[0])]):
            question = template.format(e=thing)
            key = {(_norm(n), cues) for n in names}
            # one question per thing and attribute in the whole file (birth year and birthplace count as
            # one): a dev negative and its test twin would leak what the test split measures
            if key & state.attributes or question.lower() in state.asked or corpus.says(names, cues):
                continue
            # a gold question already asks it ("How many people were wounded in the Bajaur attack?")
            cue = re.compile(r"(?<![a-z0-9])(?:" + "|".join(cues) + ")")
            if any(any(_norm(n) in g for n in names) and cue.search(g) for g in gold_texts):
                continue
            return {"question": question, "method": "absent_attribute", "type": qtype,
                    "changed": {"entity": thing, "attribute": attribute}, "_key": key,
                    "_template": (family, attribute)}
    return None


def derive(questions: Sequence[GoldQuestion], docs: Sequence[Document],
           aliases: Iterable[Sequence[str]] = ()) -> list[dict]:
    """The negatives of the answerable questions, in question order, at most PER_QUESTION each, the
    methods balanced within each split (no ids yet)."""
    corpus = Corpus(docs, aliases)
    source = [q for q in questions if q.answerable]
    gold_texts = [_norm(q.question) for q in questions]
    state = State(Counter(), Counter(), {q.question.lower() for q in questions}, set())
    per_split: dict[str, Counter] = {}
    out: list[dict] = []
    for q, doc in zip(source, _nlp().pipe([q.question for q in source])):
        made = [swap_entity(q, doc, corpus, state), swap_date(q, doc, corpus), swap_number(q, doc, corpus),
                absent_attribute(q, doc, corpus, gold_texts, state)]
        counts = per_split.setdefault(q.split, Counter())
        made = [m for m in made if m and m["question"].lower() not in state.asked and m["question"] != q.question]
        # the methods this split has fewest of first, so that no one method fills the file
        made.sort(key=lambda m: (counts[m["method"]], METHODS.index(m["method"])))
        for m in sorted(made[:PER_QUESTION], key=lambda m: METHODS.index(m["method"])):
            counts[m["method"]] += 1
            state.asked.add(m["question"].lower())
            if "_sub" in m:
                state.subs[m.pop("_sub")] += 1
            if "_key" in m:
                state.attributes |= m.pop("_key")
                state.templates[m.pop("_template")] += 1
            out.append({"question": m["question"], "answers": [], "answerable": False, "sources": [],
                        "type": m.get("type", q.type), "split": q.split, "derived_from": q.id,
                        "method": m["method"], "changed": m["changed"]})
    return out


def render(rows: list[dict]) -> str:
    return "".join(json.dumps({"id": f"n{i:03d}", **r}, ensure_ascii=False) + "\n" for i, r in enumerate(rows, 1))


def generate(corpus_dir: Path, questions_file: Path) -> tuple[str, list[dict]]:
    docs = load_corpus(corpus_dir)
    rows = derive(load_questions([questions_file]), docs, read_user_aliases(corpus_dir))
    return render(rows), rows


def summary(rows: list[dict]) -> str:
    counts = Counter((r["split"], r["method"]) for r in rows)
    lines = []
    for split in sorted({r["split"] for r in rows}):
        n = sum(v for (s, _), v in counts.items() if s == split)
        lines.append(f"  {split}: {n} (" + ", ".join(f"{m} {counts[(split, m)]}" for m in METHODS) + ")")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="corpus folder (default corpus/)")
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 when --out is not this script's output")
    args = ap.parse_args(argv)
    text, rows = generate(args.corpus, args.questions)
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs from the generator output: re-run without --check'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} negatives to {args.out}\n{summary(rows)}")
    untyped = sorted({n for q in load_questions([args.questions]) if q.answerable for n in untyped_names(q.question)})
    if untyped:
        print("names with no kind (never swapped): " + ", ".join(untyped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
