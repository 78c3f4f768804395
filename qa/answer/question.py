"""Question analysis: the expected answer type from the question word and its head noun, options, plurals."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..errors import QAError
from ..settings import MAX_QUESTION_CHARS
from ..text import printable


# the types answered by a clause or sentence, not a short span
LONG_TYPES = ("description", "reason", "yes/no")

_HEAD_TYPES = [
    (r"percent(age)?|proportion|share|rate", "percent"),
    (r"year|month|date|day|decade|century|time|era|period|season|week", "date"),
    (r"city|cities|country|countries|province|provinces|region|regions|district|area|town|village|neighbou?rhood|"
     r"state|capital|continent|location|place|border|valley|island|river|mountain|street|site|territory|mosque|"
     r"hospital|building|camp|ward|headquarters", "place"),
    (r"group|groups|organi[sz]ation|organi[sz]ations|faction|factions|outfit|party|parties|network|institute|agency|"
     r"agencies|company|companies|movement|militia|team|band|body|government|wing|council|committee|university|tank|"
     r"offshoot|splinter|arm|"
     r"newspaper|magazine|outlet|branch|affiliate|franchise|chapter|ministry|department|club|union", "organisation"),
    (r"person|man|woman|men|women|leader|commander|spokesman|spokesperson|author|writer|minister|governor|head|chief|"
     r"director|president|official|member|founder|king|queen|emperor|scientist|player|coach|artist|composer|actor|"
     r"politician|wali|diplomat|bomber|analyst|researcher|journalist|who", "person"),
    (r"name|title|video|book|film|song|album|report|brief|article|poem|novel|magazine|publication", "title"),
    (r"amount|sum|price|cost|salary|pay|money|budget|funding|dollars", "money"),
    (r"number|count|total|toll|size|strength|population|figure|estimate", "number"),
    (r"reason|cause|motive|motivation|purpose|why", "reason"),
]


@dataclass(frozen=True)
class QuestionAnalysis:
    text: str
    answer_type: str
    head: Optional[str] = None  # the noun the answer modifies or names ("how many fighters" -> fighters)
    wants_list: bool = False
    time_sensitive: bool = False  # "who leads", "how many fighters": answers change over time
    # an alternative question names its possible answers ("Is it stronger in Afghanistan or Pakistan?")
    options: tuple[str, ...] = ()


_TIME_SENSITIVE = re.compile(
    r"\b(lead|leads|leader|head|heads|run|runs|how many|number of|strength|size|estimate|current(ly)?|now|today|"
    r"still|latest|recent(ly)?|is the|are the)\b", re.I)


_POLAR = r"^\s*(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would|should)\b"
_ALTERNATIVE = re.compile(_POLAR + r".*(?<![\w’'-])([\w’'-]+)\s+or\s+([\w’'-]+)(?![\w’'-])", re.I)
_NOT_AN_OPTION = {"the", "a", "an", "not", "is", "are", "was", "were", "did", "does", "do", "has", "have", "had",
                  "can", "could", "will", "would", "should", "it", "they", "he", "she", "and", "more", "less",
                  "either", "whether", "both"}


_EMBEDDED_WH = re.compile(r"\b(?:know|tell|say|explain|wonder|remember|describe|show|find out)\s+(?:me\s+|us\s+)?"
                          r"(?:who|whom|whose|what|when|where|which|why|how)\b")


def _options(q: str) -> tuple[str, ...]:
    """The two answers an alternative yes/no-shaped question offers (the words around its last "or")."""
    m = _ALTERNATIVE.match(q)
    if not m:
        return ()
    opts = tuple(re.sub(r"[’']s$", "", o) for o in m.groups())
    if any(o.lower() in _NOT_AN_OPTION for o in opts) or opts[0].lower() == opts[1].lower():
        return ()
    return opts


_AUX = re.compile(r"(?:is|are|was|were|do|does|did|has|have|had|will|would|can|could|should|might|must|may)$", re.I)


def _plural(noun: str) -> bool:
    if noun in ("men", "women", "people", "children"):
        return True
    if noun in _NOT_PLURAL or len(noun) <= 3:  # "its", "has", "was"
        return False
    return noun.endswith("s") and not noun.endswith(("ss", "us", "is", "ous"))


_ADJECTIVE = re.compile(r"[a-z-]+(?:al|ic|ive|ous|ful|ent|ant|ary|ar|ish|less|ern|ian)|main|key|major|other|new|local|"
                        r"several|specific|particular|important|certain|different|first|last|early|late|top|big", re.I)
_NOT_PLURAL = {"species", "series", "news", "means", "physics", "politics", "economics", "mathematics", "headquarters",
               "status", "basis", "crisis", "analysis", "thesis", "process", "address", "business"}


def _plural_head(rest: str) -> bool:
    """Whether the words after "what"/"which" name a plural thing: the first word ("What measures should
    ...") or the second after an adjective-like or quoted first ("What local goals", "What 'push' factors").
    A possessive, "kind of ..." and a verb after a noun ("what mechanism moves") do not count."""
    m = re.match(r"\s*([‘'“\"]?)([A-Za-z-]+)([’'”\"]?)(?:\s+([A-Za-z-]+)(?![’']))?", rest)
    if not m:
        return False
    quoted, first, second = m.group(1) or m.group(3), m.group(2), m.group(4)
    if _AUX.match(first) or first[0].isupper():
        return False
    if _plural(first.lower()):
        return True
    return bool(second and (quoted or _ADJECTIVE.fullmatch(first)) and not second[0].isupper()
                and _plural(second.lower()))


def head_type(noun: str) -> Optional[str]:
    for pat, t in _HEAD_TYPES:
        if re.fullmatch(pat, noun, re.I):
            return t
    return None


def analyse_question(question: str) -> QuestionAnalysis:
    """Expected answer type: person, organisation, place, date, number, money, percent, title,
    description, reason, list or yes/no, from rules over the question word and its head noun."""
    q = question.strip()
    ql = q.lower()
    ts = bool(_TIME_SENSITIVE.search(ql))

    def qa(t: str, head: Optional[str] = None, wants_list: bool = False) -> QuestionAnalysis:
        return QuestionAnalysis(q, t, head, wants_list, ts and t in ("person", "number", "organisation"), options)

    options = _options(q)
    # "Did ISIS claim the attack?": no span answers yes or no; the sentence that bears on it does. First,
    # so that a "when" or "how many" inside ("Does it charge a fee when no data is sent?") types nothing;
    # but "Do you know what the NAP is?" asks what, not whether
    if re.match(_POLAR, ql) and not options and not _EMBEDDED_WH.search(ql):
        return qa("yes/no")

    m = re.search(r"\bhow (many|much)\s+(?:of\s+(?:the|its|their)\s+)?([a-z’'-]+)?", ql)
    if m:
        head = m.group(2)
        # "how many of the members ... were Pakistanis": the counted thing is the predicate noun
        pred = re.search(r"\bhow many of .+? (?:were|are|was|is) ([a-z’'-]+)\W*$", ql)
        if pred and pred.group(1) not in ("there", "killed", "left", "based", "involved"):
            head = pred.group(1)
        if m.group(1) == "much" and (head in (None, "money", "funding", "did", "was", "were", "is", "are")
                                     or re.search(r"\b(paid|pay|cost|worth|spend|spent|raise|raised|earn)", ql)):
            return qa("money", head)
        return qa("number", head)
    if re.search(r"\bhow (long|old|large|big|far|often|strong)\b", ql):
        return qa("number")
    if re.search(r"\bwhat percent(age)?\b|\bwhat share\b|\bwhat proportion\b", ql):
        return qa("percent")
    if re.search(r"\bwhy\b|\bfor what reason\b|\bwhat (?:was|were|is|are) the (?:reason|cause|motive|motivation)s?\b|"
                 r"\bwhat (?:led|drove|motivated|prompted|caused)\b|\bhow come\b|\bwhat explains\b", ql):
        return qa("reason")
    if re.search(r"\bwhen\b|\bwhat (year|month|date|day|time)\b|\bin what (year|month)\b|\bwhich (year|month|date|day)\b|"
                 r"\bhow recently\b|\bsince when\b", ql):
        return qa("date")
    if re.search(r"\bwhere\b|\bfrom what (city|country|place)\b", ql):
        return qa("place")
    # "which/what ... <noun>": the first of the next few words that names a type is the head noun
    list_cue = re.search(r"\b(list|name)\s+(the\s+|all\s+|some\s+|two\s+|three\s+)?[a-z]+s\b|\bwhat are (the|some)\b|"
                         r"\bwhich (two|three|four)\b|\bwhat (two|three|four)\b", ql)
    name_of = re.search(r"\bname of (?:the |a |an |its |their )?", ql)
    m = name_of or re.search(r"\b(?:which|what)\b(?:\s+(?:is|was|are|were)\b)?(?:\s+(?:the|a|an)\b)?", ql)
    head, t = None, None
    if m and not name_of and re.match(r"\s*(did|does|do|has|have|had|will|would|can|could|should|might|must)\b",
                                      ql[m.end():]):
        m = None  # "what did the video urge ...": the nouns that follow are the subject, not the answer's type
    if m:
        for orig in re.findall(r"[A-Za-z’'-]+", q[m.end():])[:5]:
            if orig[0].isupper():
                continue  # part of a name ("which Islamic State spokesman"), not the head noun
            w = re.sub(r"[’']s$", "", orig.lower())
            if _AUX.match(w):
                break  # "What method did the company use?": the nouns after the verb are its subject
            t = head_type(w) or (head_type(w[:-1]) if w.endswith("s") else None)
            if t:
                head = w
                break
    if head and t:
        plural = _plural(head)
        if t in ("place", "organisation", "person") and plural:
            return qa("list", head, True)
        return qa(t, head)
    if name_of:
        return qa("title")
    if list_cue:
        return qa("list", None, True)
    if re.search(r"^\s*who\b|\bwho (?:is|was|were|are|led|leads|heads|carried|claimed)\b|\bwhose\b|\bby whom\b|\bwhom\b", ql):
        if re.search(r"\bwho (?:carried out|claimed|was responsible|is responsible|were responsible|attacked|targeted)\b", ql):
            return qa("organisation")
        return qa("person")
    if re.search(r"\bwhat (?:is|was) the name\b|\bwhat (?:is|was) .* called\b|\bwhat (?:is|was) .* known as\b|\btitled?\b", ql):
        return qa("title")
    # "What measures should ...", "What local goals does ...": a plural head with no type asks for several things
    return qa("description", head, bool(m and not name_of and _plural_head(q[m.end():])))


def clean_question(question: object) -> str:
    """The question as the pipeline reads it, or QAError (exit 2) for empty or over-long input.

    Lone surrogates and control characters cannot reach the tokenizer, so they are replaced and
    removed rather than allowed to raise deep inside the model.
    """
    if not isinstance(question, str):
        raise QAError("the question must be text")
    if len(question) > MAX_QUESTION_CHARS:
        raise QAError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}",
                      fix="ask a shorter question")
    q = printable(question).strip()
    if not q:
        raise QAError("the question is empty", fix="ask a question in words")
    return q
