"""The first screen of a folder: questions made from its documents' own titles and headings, and an overview.

Pure functions, no gradio: `candidate_questions` reads an index's titles and section headings (the
chunker's, kept on each passage as `Passage.section`: Markdown `#` lines of HTML and Word renditions,
short title-like lines of text and PDFs) and turns the usable ones into questions by a few templates;
`suggested_questions` keeps those the engine answers; `overview` and `render_overview` say what the
folder holds. No language model: telling a name from a common word uses the document's own text (a word
it also writes in lower case is a common word), so the chat's start-up loads nothing for this.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

from ..errors import QAError
from ..ingest.formats.metadata import title_flaw
from .render import escape

# An "uncertain" answer is kept from this calibrated confidence on: the confidence is the fitted
# probability that the answer is right (docs/evaluation.md, "Calibration on a mix of documents": pooled
# ECE 0.065), so 0.5 keeps a suggestion only when its answer is more likely right than wrong. "Uncertain"
# answers as a whole are right 43% of the time there, too often wrong for a question we put forward.
MIN_UNCERTAIN = 0.5
BUDGET_S = 4.0  # what suggested_questions may spend asking (docs/evaluation.md, "Suggested questions")
PER_DOCUMENT = 2  # candidates tried per document: its title's and its first usable heading's
MAX_NAMED_WORDS = 10  # a longer title is a headline or a sentence, not the name of a thing
MAX_GENERIC_WORDS = 8  # a topic described at more length is a sentence

# Headings of a document's apparatus or a page's furniture: nothing to ask about
BOILERPLATE = frozenset("""
abstract acknowledgements acknowledgments advertisement annex appendix authors background bibliography
comments conclusion conclusions contact contents contributors copyright credits disclaimer discussion
endnotes footnotes foreword glossary home index introduction menu methodology methods navigation newsletter
notes overview preface references related results search sources summary tags topics
""".split()) | {"executive summary", "table of contents", "key findings", "further reading", "see also",
                "external links", "read more", "more from", "you may also like", "most popular", "up next",
                "share this article", "share this story", "share this", "about the author", "about the authors",
                "about us", "contact us", "privacy policy", "terms of use", "works cited", "editor's note"}
_BOILERPLATE_START = re.compile(r"^(about (this|the)\b|share\b|related\b|read (more|next)\b|follow us\b|subscribe\b|"
                                r"sign up\b|leave a\b|click here\b|more (from|by|on)\b|photo\b|image\b|video\b|"
                                r"figure \d|table \d|chapter \d|part \d|appendix\b|annex\b)", re.I)
# Words that make a phrase a sentence (a headline, a quote, a teaser) rather than the name of a thing
_SENTENCE_WORDS = frozenset("""
is are was were be been being am has have had will would can could should may might must shall do does did get
says said say gets got makes made i we you he she they it me us them him my our your his her their this these
those here there how why what when where who whom which whose not no yes don't can't won't isn't
""".split())
_FUNCTION = frozenset("a an the of in on for to from with at by and or as into over under after before between "
                      "among across since during against about versus vs via per within without".split())
_ARTICLES = frozenset({"a", "an", "the"})
_PREPOSITIONS = _FUNCTION - _ARTICLES - {"and", "or"}
# the head of a phrase that reports findings: "Harbour survey 2019" -> "What did the harbour survey 2019 find?"
_REPORTS = frozenset("survey surveys study studies report review assessment inquiry audit census poll "
                     "investigation evaluation analysis trial".split())
# English function words: a document where they are rare is not in English, and the templates are
_ENGLISH = frozenset("the of and to in is that for on with was as by are".split())
# their share of the words: 0.14 to 0.28 on the English pages and documents measured, under 0.03 on the
# others (Portuguese and Indonesian pages among them; scripts/measure_suggestions.py folders, 2026-12-06)
MIN_ENGLISH = 0.08
_WORD = re.compile(r"[^\W_][\w'’.-]*", re.UNICODE)
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
_NUMBERING = re.compile(r"^\s*((\d+(\.\d+)*|[ivxlc]+|[A-Z])[.)]\s+|(chapter|part|section)\s+\w+\s*[:.-]\s*)", re.I)


@dataclass(frozen=True)
class Candidate:
    """A question made from a document's `phrase` (its title or a heading: `origin`)."""
    question: str
    doc_id: str
    origin: str
    phrase: str


def _words(s: str) -> list[str]:
    return _WORD.findall(s)


# the labels of the index's entity spans (Sentence.ents, from spaCy at index time) that are names
NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "WORK_OF_ART", "PRODUCT", "LAW"})


class Vocabulary:
    """What the folder's own text says about words: the words of the names its index found (entity spans,
    from the analysis done at index time, so nothing is loaded here), and the words it writes in lower
    case (common words). `english`: each document's share of English function words."""

    def __init__(self, index: Any):
        self.names: set[str] = set()
        self.lower: set[str] = set()
        self.english: dict[str, float] = {}
        for doc in index.documents.values():
            words = _words(doc.text)
            self.lower.update(w for w in words if w.islower())
            self.english[doc.doc_id] = sum(w.lower() in _ENGLISH for w in words) / max(1, len(words))
        for s in getattr(index, "sentences", None) or ():
            text = index.documents[s.doc_id].text if s.doc_id in index.documents else ""
            for a, b, label in s.ents:
                if label in NAME_LABELS:
                    self.names.update(w.strip(".'’") for w in _words(text[a:b]) if w[:1].isupper())

    def proper(self, word: str) -> bool:
        """A name's word: a word of the names found, an acronym or a word capitalised inside ("USB-C",
        "al-Tanf"). Bare figures are no names, and neither is a capitalised word of a title-case
        heading that no name holds ("Staff Reports")."""
        w = word.strip(".'’")
        if not any(c.isalpha() for c in w) or _YEAR.match(w):
            return False
        if w in self.names or re.sub(r"['’]s$", "", w) in self.names:
            return True
        return any(c.isupper() for c in w[1:])


def _clean(phrase: str) -> str:
    s = _NUMBERING.sub("", " ".join(phrase.split()))
    return " ".join(s.split()).strip(" .-–—")


def _parts(title: str) -> list[str]:
    """The part of a title (or a heading) worth asking about: the longest around " | " or " - " (a page's headline, not
    its site's name); of a "kicker: headline" title, the part after the colon. Bracketed asides go
    ("(USIP Peace Brief)", "[Review]": the kind of document, not its subject)."""
    s = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", title)
    pieces = sorted((p for p in re.split(r"\s+[|–—-]\s+", s) if p.strip()), key=len, reverse=True)
    if not pieces:
        return []
    best = pieces[0].rpartition(":")[2]
    return [_clean(best)] if _clean(best) else []


def _boilerplate(phrase: str) -> bool:
    folded = " ".join(phrase.casefold().replace("’", "'").split())
    return folded in BOILERPLATE or bool(_BOILERPLATE_START.match(folded)) or title_flaw(phrase) is not None


def _id_like(word: str) -> bool:
    """A code, not a word: letters and digits mixed ("04a6711c"), a file name. Years, ordinals and
    measures ("6th", "72W", "1990s") pass."""
    w = word.lower()
    if re.fullmatch(r"\d+[a-z]{0,3}", w) or re.fullmatch(r"[a-z]{1,3}-?\d+", w):
        return False
    return (any(c.isdigit() for c in w) and any(c.isalpha() for c in w)) or bool(re.search(r"\.(pdf|docx?|html?|txt|md)$", w))


def _plural(head: str, vocab: Vocabulary) -> bool:
    h = head.lower().strip(".'’")
    return (h.endswith("s") and not h.endswith(("ss", "us", "is", "ics", "news", "'s", "’s")) and len(h) > 3
            and not vocab.proper(head))


def question_of(phrase: str, vocab: Vocabulary) -> Optional[str]:
    """The question a title or heading asks, or None when it names nothing to ask about:
    a thing named ("The Rukban camp" -> "What is the Rukban camp?"), a report ("Harbour survey 2019" ->
    "What did the harbour survey 2019 find?"), a described topic ("Risks to the success of the grant" ->
    "What are the risks to the success of the grant?"). Sentences (a headline with a verb, a comma, a
    question mark), lists ("Russia and Syria"), furniture, codes, all-capital banners and single common
    words give None."""
    s = _clean(phrase)
    words = _words(s)
    if not words or _boilerplate(s) or re.search(r"[?!,;:\"“”$€£%]", s) or s.isupper():
        return None
    low = [w.lower().strip(".'’") for w in words]
    if any(w in _SENTENCE_WORDS or re.search(r"['’](ve|re|ll|d|m)$|n['’]t$", w) for w in low) \
            or any(_id_like(w) for w in words):
        return None
    for i, w in enumerate(low):
        # a participle as a verb: first ("Assessing the threat") or after a noun ("Forces Blocking Return")
        if not re.search(r"..(ing|ed)$", w) or w in vocab.names or (i > 0 and low[i - 1] in _FUNCTION):
            continue
        if w.endswith("ed") and i > 0:  # "Fatality Linked To"; a first one is an adjective ("Selected works")
            return None
        # "-ing" after a noun is a verb in sentence case or after a plural ("Forces Blocking"), a noun
        # in a title-case one ("Hedge Accounting Rules")
        if w.endswith("ing") and (i == 0 or words[i].islower() or re.search(r"[^s'’]s$", low[i - 1])):
            return None
    if low[0] not in _ARTICLES:
        for i in range(1, len(words) - 1):
            # subject, verb, object: "Esper accuses China", "conditions worsen risk" (a headline)
            before = vocab.proper(words[i - 1]) and not re.search(r"['’]s?$", words[i - 1]) or _plural(words[i - 1], vocab)
            if words[i].islower() and low[i] not in _FUNCTION and before and low[i + 1] not in _FUNCTION:
                return None
    first_prep = next((i for i, w in enumerate(low) if w in _PREPOSITIONS), len(low))
    if "and" in low[:first_prep] or "or" in low[:first_prep]:
        return None  # "Russia and Syria", "Origin and Leadership": a list, not one thing
    head = [w for w in words[:first_prep] if w.lower() not in _ARTICLES]
    content = [w for w in words if w.lower() not in _FUNCTION and any(c.isalpha() for c in w)]
    if not head or len(content) < 2 and not any(c.isupper() for c in (content or [""])[0][1:]):
        return None  # "Funding", "Week 11": too little to ask about on its own; "ISIS" is enough
    named = any(vocab.proper(w) for w in words)
    if len(words) > (MAX_NAMED_WORDS if named else MAX_GENERIC_WORDS):
        return None
    if named:  # as written, names and all, but for a leading article
        text = re.sub(r"^(The|A|An)\b", lambda m: m.group().lower(), s)
    else:  # a topic in title case reads as one in lower case ("Cash Flow Hedges": "cash flow hedges")
        text = _WORD.sub(lambda m: m.group() if sum(c.isupper() for c in m.group()) >= 2 else m.group().lower(), s)
    article = "" if low[0] in _ARTICLES or (named and vocab.proper(words[0])) else "the "
    if any(w in _REPORTS for w in low[:first_prep]):
        return f"What did {article}{text} find?"
    return f"What {'are' if _plural(head[-1], vocab) else 'is'} {article}{text}?"


def _headings(index: Any) -> dict[str, list[str]]:
    """Each document's section headings with body text under them, in the order the text gives them."""
    out: dict[str, list[str]] = {}
    for p in index.passages:
        if p.boilerplate is None and p.section:
            seen = out.setdefault(p.doc_id, [])
            if p.section not in seen:
                seen.append(p.section)
    return out


def document_candidates(doc: Any, headings: Iterable[str], vocab: Vocabulary) -> list[Candidate]:
    """One document's questions: its title's first, then its headings' in order (each question once);
    none for a document not in English, which the templates are."""
    if vocab.english.get(doc.doc_id, 0.0) < MIN_ENGLISH:
        return []
    out, seen = [], set()
    for origin, phrase in [("title", p) for p in _parts(doc.title or "")] + [("heading", p) for h in headings for p in _parts(h)]:
        q = question_of(phrase, vocab)
        if q is not None and q.casefold() not in seen:
            seen.add(q.casefold())
            out.append(Candidate(q, doc.doc_id, origin, phrase))
    return out


def candidates(index: Any, per_document: int = PER_DOCUMENT) -> list[Candidate]:
    """Every document's first `per_document` candidates, taken in turns: each document's first (in the
    index's document order), then each one's second, so that a short list spreads over the folder."""
    heads, vocab = _headings(index), Vocabulary(index)
    lists = [document_candidates(d, heads.get(d.doc_id, ()), vocab)[:per_document] for d in index.documents.values()]
    out, seen = [], set()
    for rank in range(per_document):
        for one in lists:
            if rank < len(one) and one[rank].question.casefold() not in seen:
                seen.add(one[rank].question.casefold())
                out.append(one[rank])
    return out


def candidate_questions(index: Any, limit: int = 12) -> list[str]:
    """At most `limit` questions made from the index's titles and headings, at most one per document
    (its title's, else its first usable heading's), in the index's document order."""
    return [c.question for c in candidates(index, per_document=1)[:limit]]


def kept(answer: Any) -> bool:
    """Whether an answer is good enough to put its question forward (see MIN_UNCERTAIN)."""
    status = getattr(answer, "status", None)
    return status == "answered" or (status == "uncertain" and float(answer.confidence) >= MIN_UNCERTAIN)


def suggested_questions(answerer: Any, limit: int = 4, budget_s: float = BUDGET_S,
                        clock: Callable[[], float] = time.monotonic) -> list[str]:
    """Up to `limit` candidate questions the engine answers (`kept`), at most one per document, asked in
    candidates' order until `budget_s` seconds have gone (the question under way is finished, so the
    budget may be passed by one question's time). The first question also loads the encoder and the
    reader, which the chat's first question would otherwise pay for."""
    start, out, done = clock(), [], set()
    for c in candidates(answerer.index):
        if len(out) >= limit or clock() - start >= budget_s:
            break
        if c.doc_id in done:
            continue
        try:
            answer = answerer.ask(c.question)
        except QAError:
            continue  # a question the engine refuses to take is not one to suggest
        if kept(answer):
            out.append(c.question)
            done.add(c.doc_id)
    return out


# --------------------------------------------------------------------------- the overview

FORMAT_LABELS = (("pdf", "PDF", "PDFs"), ("docx", "Word file", "Word files"), ("html", "web page", "web pages"),
                 ("text", "text file", "text files"))
_TEXT_FORMATS = ("txt", "md")


def overview(listing: Mapping[str, Any]) -> dict[str, Any]:
    """What a folder holds, from qa.workspace.listing's listing or qa.index.load.describe's account:
    {"collection", "indexed", "documents": n, "formats": [{"format", "label", "count"}] (PDF, Word, web
    page, text: those present, in that order), "pages": total PDF pages, "skipped": [{"file", "reason",
    "message"}]}."""
    docs = list(listing.get("documents") or ())
    counts: dict[str, int] = {}
    for d in docs:
        fmt = str(d.get("format") or "txt")
        key = "text" if fmt in _TEXT_FORMATS else fmt
        counts[key] = counts.get(key, 0) + 1
    known = [k for k, _, _ in FORMAT_LABELS]
    formats = [{"format": k, "label": (one if counts[k] == 1 else many), "count": counts[k]}
               for k, one, many in FORMAT_LABELS if counts.get(k)]
    formats += [{"format": k, "label": k, "count": n} for k, n in sorted(counts.items()) if k not in known]
    skipped = [{"file": s.get("file") or s.get("source") or "", "reason": s.get("reason"),
                "message": s.get("message")} for s in listing.get("skipped") or ()]
    return {"collection": listing.get("collection"), "indexed": bool(listing.get("indexed", True)),
            "documents": len(docs), "formats": formats,
            "pages": sum(int(d.get("pages") or 0) for d in docs if d.get("format") == "pdf"), "skipped": skipped}


def render_overview(ov: Mapping[str, Any]) -> str:
    """The overview as HTML (qa-overview): "12 documents: 5 PDFs (84 pages), 4 Word files, 3 web pages",
    then each skipped file with its reason. Everything from the folder is escaped."""
    if not ov.get("indexed"):
        return '<div class="qa-overview qa-empty"><p class="qa-muted">No index yet.</p></div>'
    n = ov.get("documents") or 0
    kinds = []
    for f in ov.get("formats") or ():
        extra = f' ({ov["pages"]} page{"s" if ov["pages"] != 1 else ""})' if f["format"] == "pdf" and ov.get("pages") else ""
        kinds.append(f'{f["count"]} {f["label"]}{extra}')
    head = f'{n} document{"s" if n != 1 else ""}' + (f': {", ".join(kinds)}' if kinds else "")
    parts = [f'<div class="qa-overview"><p class="qa-overview-head">{escape(head)}</p>']
    skipped = list(ov.get("skipped") or ())
    if skipped:
        items = "".join(f'<li><span class="qa-file-name">{escape(s.get("file"))}</span>: '
                        f'{escape(s.get("message") or s.get("reason"))}</li>' for s in skipped)
        parts.append(f'<p class="qa-muted">{len(skipped)} file{"s" if len(skipped) != 1 else ""} skipped:</p>'
                     f'<ul class="qa-skipped">{items}</ul>')
    parts.append("</div>")
    return "".join(parts)
