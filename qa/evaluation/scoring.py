"""Scoring one eval question: which hits are relevant, its per-question scores, and its one failure category.

Failure categories, first match wins (the order follows the pipeline, so a question is blamed on the
earliest stage that went wrong):

1. bad-citation         a citation's quote is not the source text at its offsets (a broken contract)
2. answered-unanswerable an unanswerable question that was not declined
   (an unanswerable question that was declined is ok)
3. retrieval-miss       answerable, and no relevant passage among the top-k hits the answer was made from
4. wrong-decline        answerable, relevant evidence was retrieved, but the assistant declined
5. extraction-miss      answered, but the answer contains no gold alias
6. bad-citation         the answer is right but none of its citations' quotes contains a gold alias
7. missed-conflict      the sources disagree and not every value is shown with its own citation
8. ok

A declined answer also records why it declined (`decline_reason`: not_mentioned, no_typed_answer,
low_confidence). Results saved before answers recorded a reason count their declines as "unrecorded".
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from .gold import GoldQuestion
from .metrics import contains_any, contains_norm, exact_match, first_relevant_rank, max_over, normalize_match, token_f1
from ..settings import PROJECT_ROOT

RETRIEVE_K = 10
SOURCE_FALLBACK_TYPES = ("description", "reason", "list")
CATEGORIES = ("ok", "retrieval-miss", "extraction-miss", "wrong-decline", "answered-unanswerable",
              "bad-citation", "missed-conflict")
UNRECORDED = "unrecorded"


class SourceReader:
    """Reads cited sources once: relative to the working directory first, then to the project root."""

    def __init__(self):
        self._cache: dict[str, Optional[str]] = {}

    def text(self, source: str) -> Optional[str]:
        if source not in self._cache:
            text = None
            for p in (Path(source), PROJECT_ROOT / source):
                if p.is_file():
                    try:
                        text = p.read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        text = None
                    break
            self._cache[source] = text
        return self._cache[source]

    def offsets_valid(self, c: dict[str, Any]) -> bool:
        text = self.text(str(c.get("source", "")))
        try:
            return text is not None and text[int(c["start"]):int(c["end"])] == c.get("quote")
        except (KeyError, TypeError, ValueError):
            return False


def conflict_shown(prediction: dict[str, Any], values: Sequence[str]) -> bool:
    """Every conflict value is shown: some conflicts entry's value contains it and that entry cites at
    least one citation whose quote contains it (number words equal digits)."""
    by_n = {c.get("n"): c for c in prediction.get("citations") or []}
    entries = prediction.get("conflicts") or []
    for v in values:
        vn = normalize_match(v)
        ok = False
        for e in entries:
            if not contains_norm(normalize_match(str(e.get("value") or "")), vn):
                continue
            if any(n in by_n and contains_norm(normalize_match(by_n[n].get("quote") or ""), vn)
                   for n in e.get("citations") or []):
                ok = True
                break
        if not ok:
            return False
    return True


def decline_reason(prediction: dict[str, Any]) -> Optional[str]:
    """Why the prediction was declined (None when it was answered); UNRECORDED when it does not say."""
    if prediction.get("status") != "declined":
        return None
    return str(prediction.get("decline_reason") or UNRECORDED)


def result_reason(r: dict[str, Any]) -> Optional[str]:
    """A result's decline reason: from its scores, else (results saved before scores held it) from its
    prediction. `declined` in the scores decides, as it does for every other abstention metric."""
    s = r["scores"]
    if not s["declined"]:
        return None
    return s.get("decline_reason") or decline_reason({**(r.get("prediction") or {}), "status": "declined"})


def relevance_mode(q: GoldQuestion, evidence_norm: Sequence[tuple[str, str]]) -> str:
    """How a passage counts as relevant for this question: 'alias' (contains a gold alias, from a gold
    source when sources are listed), 'source' (any passage of a gold source: description/reason/list
    questions whose key phrases appear in no evidence passage), or 'none' (nothing can count)."""
    if not q.answerable:
        return "none"
    aliases = [normalize_match(a) for a in q.answers]
    for doc_id, text in evidence_norm:
        if (not q.sources or doc_id in q.sources) and any(contains_norm(text, a) for a in aliases):
            return "alias"
    if q.type in SOURCE_FALLBACK_TYPES and q.sources:
        return "source"
    return "none"


def passage_relevant(q: GoldQuestion, mode: str, doc_id: str, text_norm: str, aliases_norm: Sequence[str]) -> bool:
    if mode == "alias":
        return (not q.sources or doc_id in q.sources) and any(contains_norm(text_norm, a) for a in aliases_norm)
    if mode == "source":
        return doc_id in q.sources
    return False


def categorize(*, answerable: bool, declined: bool, offsets_ok: bool, retrieved: bool, contains: bool,
               cited_support: bool, conflict_ok: Optional[bool]) -> str:
    """The one failure category of a question (precedence documented at the top of this module)."""
    if not offsets_ok:
        return "bad-citation"
    if not answerable:
        return "ok" if declined else "answered-unanswerable"
    if not retrieved:
        return "retrieval-miss"
    if declined:
        return "wrong-decline"
    if not contains:
        return "extraction-miss"
    if not cited_support:
        return "bad-citation"
    if conflict_ok is False:
        return "missed-conflict"
    return "ok"


def score_question(q: GoldQuestion, prediction: dict[str, Any], hit_rows: list[dict[str, Any]], k: int,
                   reader: SourceReader, mode: str) -> tuple[dict[str, Any], str]:
    """Per-question scores (stored in the results, so metrics can be recomputed on any subset) and category.

    hit_rows: the ranked hits as dicts with doc_id and text_norm (normalised passage text).
    """
    aliases_norm = [normalize_match(a) for a in q.answers]
    relevant = [passage_relevant(q, mode, h["doc_id"], h["text_norm"], aliases_norm) for h in hit_rows]
    rank = first_relevant_rank(relevant[:RETRIEVE_K]) if q.answerable else None
    declined = prediction.get("status") == "declined"
    answer = prediction.get("answer") if not declined else None
    text = answer or ""
    cites = list(prediction.get("citations") or [])
    all_cites = cites + list(prediction.get("closest") or [])
    offsets_valid = sum(1 for c in all_cites if reader.offsets_valid(c))
    s: dict[str, Any] = {
        "declined": declined,
        "rank": rank,
        "relevance": mode,
        "relevant_in_k": any(relevant[:k]),
        "offsets_checked": len(all_cites),
        "offsets_valid": offsets_valid,
        "confidence": float(prediction.get("confidence") or 0.0),
        "decline_reason": decline_reason(prediction),
        "answer_words": len(text.split()) if not declined else None,
    }
    if q.answerable:
        contains = contains_any(text, q.answers)
        s["em"] = max_over(exact_match, text, q.answers)
        s["f1"] = max_over(token_f1, text, q.answers)
        s["contains"] = contains
        if q.type == "list":
            tn = normalize_match(text)
            s["list_recall"] = sum(1 for a in aliases_norm if contains_norm(tn, a)) / len(aliases_norm)
        precise = [contains_any(c.get("quote"), q.answers) for c in cites] if not declined else []
        s["citations"] = len(precise)
        s["citations_precise"] = sum(precise)
    else:
        contains = False
        s.update(em=None, f1=None, contains=None, citations=0, citations_precise=0)
    conflict_ok = None
    if q.conflict and q.answerable:
        conflict_ok = conflict_shown(prediction, [c["value"] for c in q.conflict])
    s["conflict_shown"] = conflict_ok
    s["correct"] = bool(q.answerable and not declined and contains)
    category = categorize(
        answerable=q.answerable, declined=declined, offsets_ok=offsets_valid == len(all_cites),
        retrieved=s["relevant_in_k"], contains=contains,
        cited_support=bool(s.get("citations_precise")), conflict_ok=conflict_ok)
    return s, category
