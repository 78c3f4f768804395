"""Follow-up questions made stand-alone from the turns before them: pronouns, definite references, ellipsis.

Pure and cheap (regular expressions over a few short strings, no model, no spaCy): the turns carry the
index-time analysis of their cited sentences (entities and noun chunks), which is all it reads. A question
that stands on its own is returned as None, so a change of topic is never rewritten.

Long because the three kinds of reference share one model of the turns before (their referents and
each referent's kind: person, thing, group, event), and each rule needs the others' guards (a pronoun
never replaced by what the question already names, a name's kind read from every recent turn);
split apart, every piece would import every other.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from .question import head_type

TURNS_BACK = 2  # referents older than the last two turns are too stale to pick up silently
PERSON_LABELS = frozenset({"PERSON"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
THING_LABELS = frozenset({"ORG", "NORP", "PRODUCT", "WORK_OF_ART", "EVENT", "LAW", "FAC", "GPE", "LOC"})
# what an answer of each type can be referred back to as (dates and figures are never a pronoun's referent)
TYPE_KINDS = {"person": "person", "organisation": "thing", "place": "place", "title": "thing"}

AUX = r"(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would|should|may|might|must)"
WH = r"(?:who|whom|whose|what|which|when|where|why|how)"
PREPOSITIONS = frozenset("in on at of for from to by with about into after before during under over against "
                         "since until between among through within without".split())
DETERMINERS = r"(?:the|a|an|this|that|these|those|its|his|her|their)"
# words after "the" that never head a noun phrase worth resolving ("the first", "the same")
NOT_HEADS = frozenset("first last next same other most least only whole rest best worst following former latter "
                      "one two three many few".split())
GENERIC_HEADS = frozenset("documents document corpus sources source text question answer time way".split())

_PRONOUN = re.compile(r"\b(he|him|his|himself|she|her|hers|herself|it|its|itself|they|them|their|theirs|themselves|"
                      r"there)\b", re.I)
PRONOUN_KINDS = {
    **{p: ("person",) for p in ("he", "him", "his", "himself", "she", "her", "hers", "herself")},
    **{p: ("thing", "place") for p in ("it", "its", "itself")},
    **{p: ("plural", "thing") for p in ("they", "them", "their", "theirs", "themselves")},
    "there": ("place",),
}
POSSESSIVES = frozenset({"his", "its", "their", "her"})
# "it" that refers to nothing: "Is it true that...", "How long did it take to..."
_DUMMY_IT = re.compile(r"\bit\s+(?:is|was|be|seems?|seemed|takes?|took|would\s+be)\s+(?:\S+\s+){0,3}?(?:that|to|whether)\b|"
                       r"\b(?:is|was)\s+it\s+(?:\S+\s+){0,2}?(?:that|to|whether)\b", re.I)
# existential "there": "Is there...", "there were", "How many are there?"
_BE = r"(?:is|are|was|were|be|been|has|have|had|will|may|might|must|seems?|remains?)"
_EXISTENTIAL = re.compile(rf"\b{_BE}\s+there\b|\bthere\s+{_BE}\b|\bthere'?s\b", re.I)
_EVENT_VERB = re.compile(r"\s+(?:happen(?:ed|s)?|occur(?:red|s)?|t(?:ake|ook|aken)\s+place|unfold(?:ed)?)\b", re.I)
_NAME = re.compile(r"(?:\bthe\s+)?[A-Z][\w’'.-]*(?:(?:\s+|-)(?:(?:of|the|and|de|al|bin|e|el|for)\s+)?"
                   r"[A-Z][\w’'.-]*)*")
_ELLIPSIS = re.compile(r"^(?:and|but|also|so)?,?\s*(?:(?:what|how)\s+about\s+|and\s+)(?P<x>.+?)\s*[?.!]*$", re.I)
# a bare wh-phrase: "In which magazine?", "For what?", "How many?", "When exactly?"
_FRAGMENT = re.compile(rf"^(?P<f>(?:(?:{'|'.join(sorted(PREPOSITIONS))})\s+)?(?:(?:which|what|whose)(?:\s+(?!\w+ed\b)[\w-]+){{0,2}}|"
                       r"how(?:\s+(?:many|much|long|often|old|far|big|large|exactly)(?:\s+[\w-]+)?)?|who|whom|when|where|why)"
                       r"(?:\s+(?:exactly|then|else))?)\s*\?*$", re.I)
_WH_SPLIT = re.compile(rf"^(?P<wh>(?:\w+\s+)?{WH}(?:\s+(?!{AUX}\b)[\w-]+){{0,3}}?)\s+(?P<aux>{AUX})\s+(?P<rest>.+?)\s*\?*$", re.I)
_WH_SUBJECT = re.compile(r"^(?:who|what|which\s+[\w-]+)\s+(?P<verb>[\w-]+)\s+(?P<rest>.+?)\s*\?*$", re.I)
_IRREGULAR = {"led": "lead", "left": "leave", "made": "make", "took": "take", "gave": "give", "said": "say",
              "went": "go", "came": "come", "got": "get", "found": "find", "held": "hold", "built": "build",
              "began": "begin", "became": "become", "fought": "fight", "wrote": "write", "told": "tell",
              "sent": "send", "won": "win", "lost": "lose", "paid": "pay", "bought": "buy", "ran": "run",
              "saw": "see", "knew": "know", "met": "meet", "brought": "bring", "spent": "spend", "set": "set",
              "put": "put", "hit": "hit", "struck": "strike", "rose": "rise", "fell": "fall", "grew": "grow",
              "drew": "draw", "chose": "choose", "kept": "keep", "killed": "kill", "joined": "join"}


@dataclass(frozen=True)
class Mention:
    """An entity or noun chunk of a cited sentence, as the index analysed it (label "NP" for a noun chunk)."""
    text: str
    label: str


@dataclass(frozen=True)
class Prior:
    """What resolution reads of one earlier turn: the stand-alone question it answered, its answer (None
    when declined), the entity label at the answer span and the answer type, and the mentions of its
    cited sentences, first citation first."""
    question: str
    answer: Optional[str] = None
    answer_label: Optional[str] = None
    answer_type: Optional[str] = None
    mentions: tuple[Mention, ...] = ()


@dataclass(frozen=True)
class Resolution:
    """A follow-up made stand-alone: the question to answer and the referents put into it (what the
    answer should be about, for Conversation's scope)."""
    question: str
    referents: tuple[str, ...]


@dataclass(frozen=True)
class _Referent:
    text: str
    kinds: frozenset  # of "person", "place", "thing", "plural", "unknown" (a name no turn gave a kind)
    turn: int = 0  # 0 for the last turn, 1 for the one before


def resolve(question: str, priors: Sequence[Prior]) -> Optional[str]:
    """The stand-alone form of `question` after the turns `priors` (oldest first), or None when it
    stands on its own (or nothing it refers to can be found)."""
    r = resolution(question, priors)
    return r.question if r is not None else None


def resolution(question: str, priors: Sequence[Prior]) -> Optional[Resolution]:
    """`resolve`, with the referents it put in."""
    recent = list(priors)[-TURNS_BACK:][::-1]  # most recent first
    if not recent or not question.strip():
        return None
    q = question.strip()
    out = _ellipsis(q, recent) or _definite(q, recent) or (q, ())
    out = _pronouns(out[0], recent, out[1])
    if out[0] == q:
        return None
    text = out[0][:1].upper() + out[0][1:]
    return Resolution(text, tuple(dict.fromkeys(out[1])))


def _kinds_of_label(label: Optional[str]) -> frozenset:
    if label in PERSON_LABELS:
        return frozenset({"person"})
    if label in PLACE_LABELS:
        return frozenset({"place", "thing"})
    if label == "NORP":
        return frozenset({"plural", "thing"})
    if label == "EVENT":
        return frozenset({"thing", "event"})
    if label in THING_LABELS:
        return frozenset({"thing"})
    return frozenset()


def _plural(noun_phrase: str) -> bool:
    head = noun_phrase.split()[-1].lower() if noun_phrase.split() else ""
    return head.endswith("s") and not head.endswith(("ss", "us", "is"))


def _label_of(text: str, mentions: Sequence[Mention]) -> Optional[str]:
    """The label the cited sentences give this text: an exact entity, else one sharing its last word
    (a surname, "Khan" for "Hafiz Saeed Khan")."""
    low = text.lower().removeprefix("the ")
    ents = [m for m in mentions if m.label != "NP"]
    exact = [m.label for m in ents if m.text.lower().removeprefix("the ") == low]
    last = low.split()[-1:]
    return (exact or [m.label for m in ents if m.text.lower().split()[-1:] == last] or [None])[0]


def _names(q: str) -> list[tuple[int, str]]:
    """The names of a question (capitalised runs, "the" included), without its capitalised first word
    when that is a question word or auxiliary. A name after "the" takes the lowercase nouns after it up to
    the next preposition or the end ("in the Quetta hospital attack")."""
    out = []
    for m in _NAME.finditer(q):
        start, text = m.start(), m.group(0)
        if start == 0 and not text.startswith("the "):
            first, _, rest = text.partition(" ")
            if not rest:
                continue  # a capitalised first word alone says nothing of being a name
            if re.fullmatch(rf"{WH}|{AUX}|in|on|at|for|from|by|and|but|so|also", first, re.I):
                start, text = start + len(first) + 1, rest
        # after a preposition, or with no auxiliary before it ("Who carried out the Quetta hospital attack?");
        # after one the lowercase word is the verb ("When did the TTP claim ...")
        if text.startswith("the ") and (re.search(r"\b(?:%s)\s+$" % "|".join(PREPOSITIONS), q[:start], re.I)
                                        or not re.search(rf"\b{AUX}\b", q[:start], re.I)):
            tail = re.match(r"((?:\s+(?!(?:%s|%s)\b)[a-z][\w-]*)+)\s*[?.!]*$" % ("|".join(PREPOSITIONS), AUX),
                            q[start + len(text):])
            text += tail.group(1) if tail else ""
        out.append((start, text))
    return out


def _question_subjects(q: str, mentions: Sequence[Mention]) -> list[_Referent]:
    """Names and definite noun phrases of a question, in order, with what they can be referred to as."""
    out = []
    for start, text in _names(q):
        # a name no recent turn gave a kind: "it", or "he" when nothing surely a person is found
        kinds = _kinds_of_label(_label_of(text, mentions)) or frozenset({"thing", "unknown"})
        out.append((start, _Referent(text, kinds)))
    for m in re.finditer(r"\b(?:the|this|that)\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?", q):
        head, nxt = m.group(1), m.group(2)
        if head in NOT_HEADS or head in PREPOSITIONS or head in GENERIC_HEADS:
            continue
        # "the hospital attack": keep the second word when a cited noun chunk has the two together
        words = [head] + ([nxt] if nxt and any(f"{head} {nxt}" in x.text.lower() for x in mentions) else [])
        text = "the " + " ".join(words)
        kinds = {"thing"} | ({"place"} if head_type(words[-1]) == "place" else set())
        kinds |= {"plural"} if _plural(text) else set()
        if head_type(words[-1]) == "person":
            kinds = {"person"}
        out.append((m.start(), _Referent(text, frozenset(kinds))))
    return [r for _, r in sorted(out, key=lambda t: t[0])]


def _asked_identity(question: str) -> bool:
    """Whether the question asked to identify something (who/which/what ...), so that its answer is a
    referent for "it"; a where/when/how question's answer is a place or a value, not its topic."""
    return bool(re.match(r"^\s*(?:\w+\s+)?(?:who|whom|which|what)\b", question, re.I))


def _asked_head(question: str) -> Optional[str]:
    """The noun a which/what question asks for ("Which Sunni groups have ..." -> "groups", "Which form of
    plague ..." -> "form", "Which club sacked ..." -> "club"), or None ("What is ...", "What did ...")."""
    m = re.match(r"^\s*(?:\w+\s+)?(?:which|what)\s+(.*)$", question, re.I)
    if not m:
        return None
    words = re.findall(r"[\w’'-]+", m.group(1))[:5]
    if not words or re.fullmatch(AUX, words[0], re.I):
        return None
    for w, nxt in zip(words, words[1:]):
        if w[:1].islower() and (re.fullmatch(AUX, nxt, re.I) or nxt.lower() in PREPOSITIONS or nxt[:1].isupper()):
            return w.lower()
    return next((w.lower() for w in words if w[:1].islower()), None)


def _answer_kinds(p: Prior) -> frozenset:
    """What a turn's answer can be referred back to as. The noun a which/what question asked for says
    more than the entity label at the answer span ("Which club ...?" - a club is never "he", whatever the
    tagger said); an answer of two conjoined names ("X and Y") is "they", never "it" or "he"."""
    kinds = set(_kinds_of_label(p.answer_label) or ({TYPE_KINDS[p.answer_type]} if p.answer_type in TYPE_KINDS else ()))
    head = _asked_head(p.question)
    if head is not None:
        t = head_type(head)
        if t in ("date", "number", "money", "percent") or re.search(r"\d", p.answer or ""):
            return frozenset()
        kinds = {"person"} if t == "person" else {"place", "thing"} if t == "place" else {"thing"}
        if _plural(head):
            kinds = {"plural"} | (kinds - {"person"})
    elif kinds and "person" not in kinds and not _asked_identity(p.question):
        kinds &= {"place"}  # "Where is the museum?" - "Paris": "it" is still the museum
    if kinds and re.search(r"\s(?:and|&)\s", p.answer or ""):
        kinds = {"plural"} | (kinds - {"person", "place"})
    return frozenset(kinds)


def _counted(question: str) -> Optional[str]:
    """What a how-many question counted, as "they" refers back to it: "How many members did the shura
    have?" -> "the members of the shura"; "How many people were killed in X?" -> "the people killed in X"."""
    m = re.match(r"^\s*how\s+many\s+(?P<n>(?:[\w-]+\s+){0,2}?[a-z][\w-]*[a-rt-z]s|people|men|women|children)"
                 r"\s+(?P<rest>.*?)\s*[?.!]*$", question, re.I)
    if not m:
        return None
    n, rest = m.group("n"), m.group("rest")
    have = re.fullmatch(r"(?:did|does|do)\s+(.+?)\s+have", rest, re.I)
    if have:
        return f"the {n} of {have.group(1)}"
    passive = re.fullmatch(rf"(?:were|are|was|is|have\s+been|had\s+been)\s+((?:\w+ly\s+)?\w+(?:ed|en|wn|lt|nt)\b.*)", rest, re.I)
    return f"the {n} {passive.group(1)}" if passive else f"the {n}"


def _candidates(recent: Sequence[Prior]) -> list[_Referent]:
    """Referents by recency and salience: for each turn, most recent first, its answer, then its
    question's names and noun phrases, then the entities of its cited sentences (not those inside its
    answer, which the answer already stands for, nor lowercase ones: "overseas" is no name). A name's
    kind is the one any recent turn gave it."""
    out: list[_Referent] = []
    known = [m for p in recent for m in p.mentions]
    answers = []
    for n, p in enumerate(recent):
        if p.answer:
            kinds = _answer_kinds(p)
            if kinds:
                out.append(_Referent(p.answer, kinds, n))
                answers.append(p.answer.lower())
                known.insert(0, Mention(p.answer, "PERSON" if "person" in kinds else "ORG"))
    i = 0
    for n, p in enumerate(recent):
        if p.answer and _answer_kinds(p):
            i += 1  # after this turn's answer
        counted = _counted(p.question)
        if counted:
            out.insert(i, _Referent(counted, frozenset({"plural"}), n))
            i += 1
        subjects = [dataclasses.replace(r, turn=n) for r in _question_subjects(p.question, known)]
        out[i:i] = subjects
        i += len(subjects)
        mentions = []
        for m in p.mentions:
            kinds = _kinds_of_label(m.label)
            if (m.label != "NP" and kinds and m.text[:1].isupper()
                    and not any(m.text.lower() in a for a in answers)):
                mentions.append(_Referent(m.text, kinds, n))
        out[i:i] = mentions
        i += len(mentions)
    return out


def _agrees(pronoun: str, ref: _Referent, loose: bool = False) -> bool:
    wanted = PRONOUN_KINDS[pronoun]
    if wanted == ("person",):
        return "person" in ref.kinds or (loose and "unknown" in ref.kinds)
    if wanted == ("place",):
        return "place" in ref.kinds
    if wanted[0] == "plural":  # "they": plural things and people, or a named group
        return "plural" in ref.kinds or ("thing" in ref.kinds and "place" not in ref.kinds and ref.text[:1].isupper())
    return "thing" in ref.kinds and "person" not in ref.kinds and "plural" not in ref.kinds


def _skip(q: str, m: re.Match, mentions: Sequence[Mention]) -> bool:
    """Pronouns that refer to nothing earlier: dummy "it", existential "there", and those whose referent
    is in the question itself (a name before it, or a who/which-phrase a possessive binds to)."""
    p = m.group(1).lower()
    if p in ("it", "its") and _DUMMY_IT.search(q):
        return True
    if p == "there" and _EXISTENTIAL.search(q):
        return True
    before = q[:m.start()]
    for _, name in _names(before):  # "Did Khan say he ...": the name in the question is the referent
        kinds = _kinds_of_label(_label_of(name, mentions))
        if not kinds or _agrees(p if p != "her" else "him", _Referent(name, kinds)):
            return True  # unknown kind: leave it, a question is never rewritten on a guess
    if p in POSSESSIVES or p.endswith("self") or p.endswith("selves"):
        # "Which group changed its name?" binds; "Who is its chairman?" does not (who is the predicate),
        # nor "its" to "who" (a person)
        who = "" if p in ("its", "itself") else r"who(?!\s+{AUX}\s*$)|".replace("{AUX}", AUX)
        return bool(re.search(rf"\b(?:{who}(?:which|what)\s+(?!{AUX}\b)\w+)\b", before, re.I))
    return False


def _pronouns(q: str, recent: Sequence[Prior], referents: tuple) -> tuple[str, tuple]:
    """The question with each pronoun replaced by its referent (possessives as "X's")."""
    cands = None
    parts, last, used = [], 0, list(referents)
    for m in _PRONOUN.finditer(q):
        if _skip(q, m, [x for p in recent for x in p.mentions]):
            continue
        p = m.group(1).lower()
        if p == "her" and not _possessive_her(q, m.end()):
            p = "him"  # the object "her" agrees like "him"
        cands = _candidates(recent) if cands is None else cands
        # turn by turn: one that surely agrees, else a name of unknown kind the same turn's question gave
        # and never one the question already names ("How many of them were Pakistanis?"); what "happened"
        # is an event the turns described ("the attack"), not a group or person that answered "Who ...?"
        event = p == "it" and _EVENT_VERB.match(q[m.end():])
        ref = next((r for t in range(TURNS_BACK) for loose in (False, True) for r in cands
                    if r.turn == t and _agrees(p, r, loose) and r.text.lower() not in q.lower()
                    and (not event or r.text.startswith("the ") or "event" in r.kinds)), None)
        if ref is None:
            continue
        text = ref.text
        if p == "there":
            text = ("in " + text) if not re.search(r"\b(?:in|at|to|from|near)\s+$", q[:m.start()], re.I) else text
        elif p in POSSESSIVES or p == "hers" or p == "theirs":
            text = text + ("’" if text.endswith("s") else "’s") if not text.endswith("’s") else text
        parts.append(q[last:m.start()])
        parts.append(text)
        last = m.end()
        used.append(ref.text)
    if not parts:
        return q, tuple(used)
    return "".join(parts) + q[last:], tuple(used)


def _possessive_her(q: str, end: int) -> bool:
    nxt = re.match(r"\s+([\w-]+)", q[end:])
    return bool(nxt) and nxt.group(1).lower() not in PREPOSITIONS and not re.fullmatch(
        rf"{AUX}|and|or|but|that|than|as|if|when|\?", nxt.group(1), re.I)


def _definite(q: str, recent: Sequence[Prior]) -> Optional[tuple[str, tuple]]:
    """ "the attack" / "that cell" made as specific as a recent turn named it ("the Quetta hospital
    attack"), or "that group" as the previous answer to "Which group ...?"."""
    for m in re.finditer(r"\b(the|that|this|these|those)\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?", q):
        head, nxt = m.group(2), m.group(3)
        if head in NOT_HEADS or head in PREPOSITIONS or head in GENERIC_HEADS or (nxt in PREPOSITIONS and nxt != "with"):
            continue  # "the attack on the hospital" says which attack itself ("with" is the verb's)
        for p in recent:
            asked = _head_noun(p.question)
            if p.answer and asked and _singular(asked) == _singular(head):  # "Which group ...?" then "that group"
                return q[:m.start()] + p.answer + q[m.end(2):], (p.answer,)
        # the user's own words in the last questions first, then what the cited sentences said
        for where in ("question", "cited"):
            found = next((f for p in recent if (f := _richer_chunk(head, nxt, p, where)) is not None), None)
            if found is not None:
                text, two = found
                end = m.end(3) if two else m.end(2)
                return q[:m.start()] + text + q[end:], (text,)
    return None


def _head_noun(question: str) -> Optional[str]:
    m = re.match(r"^\s*(?:\w+\s+)?(?:which|what)\s+([a-z][\w-]*)", question, re.I)
    return m.group(1).lower() if m else None


def _singular(w: str) -> str:
    return w[:-1] if w.endswith("s") and not w.endswith(("ss", "us", "is")) else w


def _richer_chunk(head: str, nxt: Optional[str], p: Prior, where: str) -> Optional[tuple[str, bool]]:
    """A name or noun phrase of the turn's question (`where` "question") or a noun chunk or entity of its
    cited sentences ("cited") whose last word is `head` (or `head nxt`), in the same number, and which says
    more: ("the Quetta hospital attack", whether it took `nxt`)."""
    chunks = ([r.text for r in _question_subjects(p.question, p.mentions)] if where == "question"
              else [c.text for c in p.mentions])
    for two in ((True, False) if nxt else (False,)):
        want = [head, nxt] if two else [head]
        for c in chunks:
            words = c.split()
            low = [w.lower() for w in words]
            if (len(low) <= len(want) or low[-len(want):] != want
                    or len(re.findall(r"[A-Za-z]", " ".join(words[:-len(want)]))) < 2):
                continue
            if re.fullmatch(DETERMINERS, low[0]):
                words = ["the"] + words[1:]
                if len(words) <= len(want) + 1:  # "a cell" says no more than "that cell"
                    continue
            elif not words[0][:1].isupper():
                words = ["the"] + words
            return " ".join(words), two
    return None


def _ellipsis(q: str, recent: Sequence[Prior]) -> Optional[tuple[str, tuple]]:
    """ "And the TTP?" / "What about X?" (the previous question about X instead), and a bare wh-phrase,
    "In which magazine?" / "For what?" / "When?" (the previous question asked that way)."""
    prev = recent[0]
    m = _ELLIPSIS.match(q)
    # "And IS-K?": a hyphenated name is no auxiliary
    if m and not re.match(rf"(?:{WH}|{AUX})\b(?!-)", m.group("x"), re.I) and len(m.group("x").split()) <= 6:
        x = m.group("x")
        subjects = _question_subjects(prev.question, prev.mentions)
        prep = x.split()[0].lower()
        if prep in PREPOSITIONS:  # "And in Quetta?": the previous question's phrase with that preposition
            # the phrase ends at the next preposition, clause word or "according to" ("in Pakistan
            # according to the report": only "in Pakistan" is replaced)
            stop = "|".join(sorted(PREPOSITIONS | {"according", "as", "that", "which", "who", "and", "or"}))
            pm = list(re.finditer(rf"\b{prep}\s+(?:the\s+)?[\w-]+(?:\s+(?!(?:{AUX}|{stop})\b)[\w-]+)*?"
                                  rf"(?=\s*\?|\s*,|\s+(?:{stop})\b|$)", prev.question, re.I))
            if pm:
                s = pm[-1]
                return _question(prev.question[:s.start()] + x + prev.question[s.end():]), (x,)
            return None
        if not subjects:
            return None
        old = subjects[-1] if len(subjects) == 1 or "person" not in subjects[0].kinds else subjects[0]
        i = prev.question.rfind(old.text)
        return _question(prev.question[:i] + x + prev.question[i + len(old.text):]), (x,)
    f = _FRAGMENT.match(q)
    if not f or re.search(rf"\b{AUX}\b", q, re.I) or re.search(r"\bone\b", q, re.I):
        return None
    frag = f.group("f")
    split = _WH_SPLIT.match(prev.question)
    if split:
        # "How many deaths?" after "How many plague cases were ...": the new noun takes the old one's
        # modifiers ("How many plague deaths")
        new, old_wh = frag.split(), split.group("wh").split()
        if (len(new) == 3 and len(old_wh) > 3 and [w.lower() for w in new[:2]] == ["how", "many"]
                and [w.lower() for w in old_wh[:2]] == ["how", "many"] and _plural(old_wh[-1]) == _plural(new[2])):
            frag = " ".join(new[:2] + old_wh[2:-1] + new[2:])
        return _question(f"{frag} {split.group('aux')} {split.group('rest')}"), ()
    subj = _WH_SUBJECT.match(prev.question)
    if subj and prev.answer:
        verb, rest = subj.group("verb"), subj.group("rest")
        base = _base(verb)
        if base is None:
            return None
        aux = "did" if base != verb else "does"
        return _question(f"{frag} {aux} {prev.answer} {base} {rest}"), (prev.answer,)
    return None


def _question(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip().rstrip("?.! ")
    return text[:1].upper() + text[1:] + "?"


def _base(verb: str) -> Optional[str]:
    """The bare form of a verb for do-support ("claimed" -> "claim"), or None when not confidently known."""
    v = verb.lower()
    if v in _IRREGULAR:
        return _IRREGULAR[v]
    if re.fullmatch(AUX, v):
        return None
    if v.endswith("ied"):
        return v[:-3] + "y"
    if v.endswith("ed") and len(v) > 4:
        stem = v[:-2]
        if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] in "bdgmnprt":
            return stem[:-1]  # "planned" -> "plan"
        if stem.endswith(("at", "iz", "us", "rv", "lv", "dg", "rc", "nc", "ir", "ur", "os")) or stem.endswith("e"):
            return stem + "e" if not stem.endswith("e") else stem  # "created" -> "create"
        return stem
    if v.endswith("s") and not v.endswith("ss"):
        return v[:-2] if v.endswith("es") and v[:-2].endswith(("sh", "ch", "x")) else v[:-1]
    return None
