"""Answer objects -> HTML for the chat's replies and its evidence panel: pure functions, no gradio, no I/O.

Everything that comes from the corpus or the user is escaped here (by qa.chat.html), and highlighting
is done by character offsets into the document text, never by searching for or injecting corpus markup.

Answers are read with dict access on `Answer.to_dict()` so that fields the answer module has not
filled in yet (conflicts, agreeing, as_of, closest, answer spans) are simply left out.

Citation links have the form `#qa-cite-<turn>-<n>`: `turn` is the reply's place in the conversation
and `n` the citation's display number (1, 2, ... in the order the answer lists them), so the same
answer always renders to the same numbers and ids. A follow-up that was rewritten says so above its
answer ("Understood as: ...") with an "ask as written" link, `#qa-aswritten-<turn>`; the page's
bridge script turns a click on either kind of link into an event for qa.chat.ui.

The document panel is qa.chat.docview; it uses the escaping, the Library and the highlighting here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional

from ..types import REASON_LABELS, decline_headline
from .html import attr, date_html, escape, escape_text  # noqa: F401 (escape, attr: this module's callers use them from here)

STATUS_LABELS = {"answered": "answered", "uncertain": "uncertain", "declined": "not in the corpus"}
BUSY_TEXT = "The assistant is busy right now, so this question was not answered. Please try again in a moment."
MAX_SHOWN_QUESTION = 400  # characters of an over-long question echoed back in the chat
CONTEXT_CHARS = 420  # context shown either side of a quote when its passage is long or unknown
EVIDENCE_CONTEXT = 160  # less in the evidence panel, so every citation of an answer fits on the screen
CITE_HREF = re.compile(r"^#qa-cite-(\d+)-(\d+)$")
AS_WRITTEN_HREF = re.compile(r"^#qa-aswritten-(\d+)$")

# --------------------------------------------------------------------------- citations

def cited(answer: Mapping[str, Any]) -> tuple[list[dict], bool]:
    """The citations a reply shows and whether they are only "closest material" (a declined answer)."""
    cites = [c for c in (answer.get("citations") or []) if isinstance(c, Mapping)]
    if cites:
        return cites, False
    return [c for c in (answer.get("closest") or []) if isinstance(c, Mapping)], True


def display_numbers(cites: list[Mapping[str, Any]]) -> dict[Any, int]:
    """The answer's own citation numbers -> sequential display numbers 1, 2, ... in list order."""
    out: dict[Any, int] = {}
    for i, c in enumerate(cites, 1):
        out.setdefault(c.get("n", i), i)
    return out


def cite_href(turn: int, n: int) -> str:
    return f"#qa-cite-{int(turn)}-{int(n)}"


def parse_cite_href(href: str) -> Optional[tuple[int, int]]:
    m = CITE_HREF.match(href or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def as_written_href(turn: int) -> str:
    return f"#qa-aswritten-{int(turn)}"


def parse_as_written_href(href: str) -> Optional[int]:
    m = AS_WRITTEN_HREF.match(href or "")
    return int(m.group(1)) if m else None


def _cite_link(turn: int, n: int, title: str = "", cls: str = "qa-cite") -> str:
    tip = f' title="{attr("Open " + title + " at the quote")}"' if title else ""
    return f'<a class="{cls}" href="{cite_href(turn, n)}"{tip}>[{n}]</a>'


def _page_label(c: Mapping[str, Any]) -> str:
    """"p. 3" for a PDF citation (its first page; "pp. 3–4" when its boxes run onto the next), else ""."""
    try:
        first = int(c.get("page"))
    except (TypeError, ValueError):
        return ""
    if first < 1:
        return ""
    last = first
    for b in c.get("boxes") or ():
        if isinstance(b, Mapping) and isinstance(b.get("page"), int):
            last = max(last, b["page"])
    return f"p. {first}" if last == first else f"pp. {first}–{last}"


def _source_line(c: Mapping[str, Any]) -> str:
    parts = [f'<cite class="qa-title">{escape(c.get("title") or c.get("doc_id") or "untitled")}</cite>']
    page = _page_label(c)
    if page:
        parts.append(f'<span class="qa-pageno">{escape(page)}</span>')
    if c.get("date"):
        parts.append(f'<span class="qa-date">{date_html(c["date"])}</span>')
    return ", ".join(parts)


# --------------------------------------------------------------------------- chat messages

def render_question(question: object, as_written: bool = False) -> str:
    """The user's message as the chat shows it: escaped, and shortened when it is very long; a question
    re-asked with "ask as written" is marked so, since the same words were just answered otherwise."""
    q = "" if question is None else str(question)
    mark = ' <span class="qa-muted qa-as-written">(as written)</span>' if as_written else ""
    if len(q) > MAX_SHOWN_QUESTION:
        return (f'<span class="qa-question">{escape(q[:MAX_SHOWN_QUESTION])}… '
                f'<span class="qa-muted">({len(q):,} characters)</span>{mark}</span>')
    return f'<span class="qa-question">{escape(q)}{mark}</span>'


def _understood(answer: Mapping[str, Any], turn: int) -> str:
    """"Understood as: <the stand-alone question>" and a link to ask the words as written, for a
    follow-up the conversation rewrote (understood_as set); nothing for a question answered as asked."""
    understood = answer.get("understood_as")
    if not isinstance(understood, str) or not understood.strip():
        return ""
    tip = attr(f"Answer \u201c{answer.get('question') or ''}\u201d without the earlier turns")
    return (f'<p class="qa-understood"><span class="qa-label">Understood as:</span> '
            f'<span class="qa-understood-q">{escape(understood)}</span> '
            f'<a class="qa-aswritten" href="{as_written_href(turn)}" role="button" title="{tip}">ask as written</a></p>')


def _agreement(answer: Mapping[str, Any]) -> str:
    try:
        considered = int(answer.get("considered") or 0)
        agreeing = int(answer.get("agreeing") or 0)
    except (TypeError, ValueError):
        return ""
    if considered <= 0:
        return ""
    noun = "source agrees" if considered == 1 else "sources agree"
    return f'<span class="qa-agree">{agreeing} of {considered} {noun}</span>'


def _conflicts(answer: Mapping[str, Any], numbers: Mapping[Any, int], turn: int, titles: Mapping[int, str]) -> str:
    rows = []
    for c in answer.get("conflicts") or []:
        if not isinstance(c, Mapping):
            continue
        refs = [numbers[n] for n in (c.get("citations") or []) if n in numbers]
        links = " ".join(_cite_link(turn, n, titles.get(n, "")) for n in refs) or '<span class="qa-muted">(uncited)</span>'
        rows.append(f'<li><strong class="qa-conflict-value">{escape(c.get("value"))}</strong> → {links}</li>')
    if not rows:
        return ""
    return f'<div class="qa-conflicts"><span class="qa-label">Sources disagree:</span><ul>{"".join(rows)}</ul></div>'


def render_reply(answer: Mapping[str, Any], turn: int) -> str:
    """One assistant message: bold answer, status badge, agreement, conflicts, as-of date, notes and quotes."""
    status = str(answer.get("status") or "declined")
    cites, closest = cited(answer)
    numbers = display_numbers(cites)
    titles = {i: str(c.get("title") or c.get("doc_id") or "") for i, c in enumerate(cites, 1)}

    meta = [f'<span class="qa-badge qa-badge-{escape(status)}">{escape(STATUS_LABELS.get(status, status))}</span>']
    declined = status == "declined" or answer.get("answer") in (None, "")
    agree = "" if declined else _agreement(answer)  # nothing was agreed on when nothing was answered
    if agree:
        meta.append(agree)
    reason = answer.get("decline_reason") if declined else None
    if reason:
        meta.append(f'<span class="qa-reason">{escape(REASON_LABELS.get(str(reason), str(reason)))}</span>')
    missing = [str(t) for t in (answer.get("missing_terms") or []) if t]
    if missing:
        meta.append(f'<span class="qa-missing">never mentioned: {escape(", ".join(missing))}</span>')
    if answer.get("as_of"):
        meta.append(f'<span class="qa-asof">as of {escape(answer["as_of"])}</span>')
    conf = answer.get("confidence")
    if isinstance(conf, (int, float)):
        meta.append(f'<span class="qa-conf">confidence {conf:.2f}</span>')

    headline = decline_headline(answer.get("notes"), reason) if declined else None
    if declined:
        head = f'<p class="qa-answer"><strong>{escape(headline)}</strong></p>'
    else:
        # the citations that contain the answer span; without spans, the first (best) quote
        support = [i for i, c in enumerate(cites, 1) if c.get("answer_start") is not None] or ([1] if cites else [])
        marks = "".join(f"<sup>{_cite_link(turn, i, titles[i])}</sup>" for i in support)
        head = f'<p class="qa-answer"><strong>{escape(answer.get("answer"))}</strong>{marks}</p>'

    notes = [str(n) for n in (answer.get("notes") or []) if n and str(n) != headline]
    notes_html = "".join(f"<li>{escape(n)}</li>" for n in notes)
    parts = [f'<div class="qa-reply qa-status-{escape(status)}">', _understood(answer, turn),
             f'<div class="qa-meta">{" ".join(meta)}</div>', head,
             _conflicts(answer, numbers, turn, titles)]
    if notes_html:
        parts.append(f'<ul class="qa-notes">{notes_html}</ul>')
    if cites:
        label = "Closest material (it does not answer the question):" if closest else "Sources:"
        items = []
        for i, c in enumerate(cites, 1):
            items.append(f'<li id="qa-q-{int(turn)}-{i}">{_cite_link(turn, i, titles[i])} '
                         f'<q class="qa-quote-text">{escape(c.get("quote"))}</q> '
                         f'<span class="qa-src">— {_source_line(c)}</span></li>')
        parts.append(f'<div class="qa-sources"><span class="qa-label">{escape(label)}</span>'
                     f'<ol class="qa-quotes">{"".join(items)}</ol></div>')
    parts.append("</div>")
    return "".join(p for p in parts if p)


def render_refusal(message: object) -> str:
    """A question the assistant will not take (too long, empty, unknown document): the reason, kindly."""
    text = str(message).strip().rstrip(".")
    return f'<div class="qa-reply qa-refusal"><p>Sorry, I can’t take that question: {escape(text)}.</p></div>'


def render_busy() -> str:
    return f'<div class="qa-reply qa-busy"><p>{escape(BUSY_TEXT)}</p></div>'


def render_note(message: object) -> str:
    """A one-line acknowledgement under the chat (feedback saved, or why not)."""
    return f'<p class="qa-feedback-note" role="status">{escape(message)}</p>'


def render_pending() -> str:
    return '<div class="qa-reply qa-pending"><span class="qa-muted">Searching the corpus…</span></div>'


def render_failure() -> str:
    return ('<div class="qa-reply qa-refusal"><p>Something went wrong while answering this question. '
            'Please try again.</p></div>')


# --------------------------------------------------------------------------- the corpus, as the panels need it

def _no_charmap(doc_id: str) -> None:
    return None


@dataclass(frozen=True)
class Library:
    """Documents (doc_id -> object with title, text, source, as_of, format), passages (passage_id -> with
    doc_id/start/end) and `charmap(doc_id)`: a PDF's qa.ingest.formats.CharMap (page geometry and the page each
    character came from), None for other documents.

    `Library.from_index(index)` wraps a loaded qa.index.load.Index (whose charmap() loads a map once, on first
    use); tests build one from qa.types records.
    """

    documents: Mapping[str, Any]
    passages: Mapping[str, Any]
    charmap: Callable[[str], Any] = field(default=_no_charmap)

    @classmethod
    def from_index(cls, index) -> "Library":
        return cls(index.documents, {p.passage_id: p for p in index.passages}, getattr(index, "charmap", _no_charmap))

    @classmethod
    def of(cls, documents: Iterable[Any], passages: Iterable[Any] = (), charmaps: Optional[Mapping[str, Any]] = None,
           ) -> "Library":
        maps = dict(charmaps or {})
        return cls({d.doc_id: d for d in documents}, {p.passage_id: p for p in passages}, maps.get)


def quote_span(c: Mapping[str, Any], text: str) -> Optional[tuple[int, int]]:
    """The quote's (start, end) when its offsets are valid for the document and point at the quote."""
    try:
        s, e = int(c.get("start")), int(c.get("end"))
    except (TypeError, ValueError):
        return None
    if not (0 <= s < e <= len(text)):
        return None
    quote = c.get("quote")
    if quote is not None and text[s:e] != quote:
        return None
    return s, e


def answer_span(c: Mapping[str, Any], s: int, e: int) -> Optional[tuple[int, int]]:
    """The answer span clipped to the quote, when the citation has one."""
    try:
        a, b = int(c.get("answer_start")), int(c.get("answer_end"))
    except (TypeError, ValueError):
        return None
    a, b = max(a, s), min(b, e)
    return (a, b) if a < b else None


def highlight(text: str, lo: int, hi: int, quote: tuple[int, int], answer: Optional[tuple[int, int]] = None,
              mark_id: Optional[str] = None) -> str:
    """text[lo:hi] escaped, with the quote in <mark class="qa-quote"> and the answer inside it in <mark class="qa-ans">.

    All cutting is by offsets; the quote must lie inside [lo, hi). Heading marks are hidden (escape_text).
    """
    qs, qe = quote
    if mark_id and not re.fullmatch(r"[A-Za-z][\w-]*", mark_id):
        raise ValueError(f"not an element id: {mark_id!r}")
    ident = f' id="{mark_id}"' if mark_id else ""
    inner = escape_text(text, qs, qe)
    if answer:
        a, b = answer
        inner = (escape_text(text, qs, a) + f'<mark class="qa-ans">{escape_text(text, a, b)}</mark>'
                 + escape_text(text, b, qe))
    return (escape_text(text, lo, qs) + f'<mark class="qa-quote"{ident}>' + inner + "</mark>"
            + escape_text(text, qe, hi))


def _snap_left(text: str, i: int, floor: int) -> int:
    if i <= floor:
        return floor
    j = text.rfind(" ", floor, i)
    return j + 1 if j > floor else i


def _snap_right(text: str, i: int, ceil: int) -> int:
    if i >= ceil:
        return ceil
    j = text.find(" ", i, ceil)
    return j if j != -1 else i


def context_window(text: str, s: int, e: int, passage: Optional[tuple[int, int]] = None,
                   width: int = CONTEXT_CHARS) -> tuple[int, int]:
    """The span of text to show around a quote: its passage, trimmed to `width` chars either side at spaces."""
    lo, hi = passage if passage and passage[0] <= s and e <= passage[1] else (0, len(text))
    lo2, hi2 = max(lo, s - width), min(hi, e + width)
    return _snap_left(text, lo2, lo), _snap_right(text, hi2, hi)


def _passage_span(c: Mapping[str, Any], lib: Library, doc_id: str, s: int, e: int) -> Optional[tuple[int, int]]:
    p = lib.passages.get(c.get("passage_id")) if c.get("passage_id") is not None else None
    if p is not None and getattr(p, "doc_id", doc_id) == doc_id and p.start <= s and e <= p.end:
        return p.start, p.end
    for p in lib.passages.values():  # the citation names no (or a stale) passage: find the one holding it
        if p.doc_id == doc_id and p.start <= s and e <= p.end:
            return p.start, p.end
    return None


def doc_meta(doc: Any, c: Mapping[str, Any]) -> tuple[str, str]:
    title = getattr(doc, "title", None) or c.get("title") or c.get("doc_id") or "untitled"
    date = c.get("date") or getattr(doc, "as_of", None) or ""
    return str(title), str(date)


EVIDENCE_PLACEHOLDER = ('<div class="qa-evidence qa-empty"><p class="qa-muted">The passages behind the latest answer '
                        'appear here, with the quoted words highlighted. Click a citation such as [1] to read it in '
                        'its document.</p></div>')


def render_evidence(answer: Optional[Mapping[str, Any]], turn: int, lib: Library, selected: Optional[int] = None) -> str:
    """The evidence panel for one reply: each cited passage with its quote (and answer span) highlighted."""
    if not answer or not isinstance(answer, Mapping):
        return EVIDENCE_PLACEHOLDER
    cites, closest = cited(answer)
    understood = answer.get("understood_as")  # the passages were found for that, not for the words typed
    understood_html = (f' <span class="qa-muted">(understood as <q>{escape(understood)}</q>)</span>'
                       if isinstance(understood, str) and understood.strip() else "")
    head = (f'<div class="qa-ev-head"><span class="qa-label">{"Closest material" if closest else "Evidence"} for</span> '
            f'<q>{escape(answer.get("question"))}</q>{understood_html}</div>')
    if not cites:
        return f'<div class="qa-evidence">{head}<p class="qa-muted">No passages to show: nothing in the corpus came close.</p></div>'
    items = []
    for i, c in enumerate(cites, 1):
        doc_id = str(c.get("doc_id"))
        doc = lib.documents.get(doc_id)
        title, date = doc_meta(doc, c)
        text = getattr(doc, "text", None)
        span = quote_span(c, text) if isinstance(text, str) else None
        if span:
            s, e = span
            passage = _passage_span(c, lib, doc_id, s, e)
            lo, hi = context_window(text, s, e, passage, width=EVIDENCE_CONTEXT)
            plo, phi = passage or (0, len(text))
            body = (("…" if lo > plo else "") + highlight(text, lo, hi, span, answer_span(c, s, e))
                    + ("…" if hi < phi else ""))
            open_link = f'<a class="qa-open" href="{cite_href(turn, i)}">Open in the document ›</a>'
        else:  # the document changed or is missing: show the quote on its own, without offsets
            body = f'<mark class="qa-quote">{escape(c.get("quote"))}</mark>'
            open_link = '<span class="qa-muted">(this quote is no longer in the indexed document)</span>'
        sel = " qa-ev-selected" if selected == i else ""
        page = _page_label(c)
        items.append(
            f'<div class="qa-ev-item{sel}" id="qa-ev-{int(turn)}-{i}">'
            f'<div class="qa-ev-title"><a class="qa-cite qa-cite-btn" href="{cite_href(turn, i)}" role="button" '
            f'title="{attr("Open " + title + " at the quote")}">[{i}]</a> <strong>{escape(title)}</strong>'
            + (f' <span class="qa-pageno">{escape(page)}</span>' if page else "")
            + (f' <span class="qa-date">{date_html(date)}</span>' if date else "") + "</div>"
            f'<blockquote class="qa-ctx">{body}</blockquote>{open_link}</div>')
    return f'<div class="qa-evidence">{head}{"".join(items)}</div>'
