"""Scoring the assistant on gold questions (`qa eval`): retrieval, answers, citations, abstention, conflicts.

Every question goes through `Answerer.ask_with_hits`, the same path `qa ask` takes, so the answer scored
here is exactly the answer a user gets. The per-question scores are stored in the result, so metrics can
be recomputed on any subset (`aggregate`), and a saved result is the baseline a later run is compared
with (`compare`). Tables and reports are qa.evaluation.report's; the metric functions are qa.evaluation.metrics'.

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

Abstention is also split by the reason the answer gives for declining (`decline_reason`: not_mentioned,
no_typed_answer, low_confidence). Results saved before answers recorded a reason count their declines
as "unrecorded", so an old baseline still aggregates and compares.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import QAError
from .gold import GoldQuestion
from .metrics import abstention_by_reason, abstention_prf, contains_any, contains_norm, exact_match, first_relevant_rank, max_over, mean, median, mrr_at, normalize_match, percentile, recall_at, token_f1
from ..settings import DEFAULT_K, PROJECT_ROOT
from ..types import DECLINE_REASONS

RETRIEVE_K = 10
RECALL_KS = (1, 3, 5, 10)
SOURCE_FALLBACK_TYPES = ("description", "reason", "list")
CATEGORIES = ("ok", "retrieval-miss", "extraction-miss", "wrong-decline", "answered-unanswerable",
              "bad-citation", "missed-conflict")
UNRECORDED = "unrecorded"
ABSTENTION_REASONS = (*DECLINE_REASONS, UNRECORDED)

# Headline metrics: --fail-on-regression exits 1 when one of them drops by more than its tolerance
# (absolute, on the questions present in both runs). Offset validity must never drop at all.
TOLERANCE = 0.02
HEADLINE = {
    "contains_accuracy": TOLERANCE,
    "EM": TOLERANCE,
    "F1": TOLERANCE,
    "R@3": TOLERANCE,
    "citation_precision": TOLERANCE,
    "abstention_F1": TOLERANCE,
    "offset_validity": 0.0,
}

# (key, label, kind): kind "rate" is a 0-1 share shown with 3 decimals, "ms" milliseconds, "n" a count,
# "words" a word count. Lower is better only for the keys in LOWER_IS_BETTER.
METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("n_questions", "questions", "n"),
    ("n_answerable", "answerable", "n"),
    ("n_unanswerable", "unanswerable", "n"),
    ("R@1", "retrieval R@1", "rate"),
    ("R@3", "retrieval R@3", "rate"),
    ("R@5", "retrieval R@5", "rate"),
    ("R@10", "retrieval R@10", "rate"),
    ("MRR@10", "retrieval MRR@10", "rate"),
    ("EM", "answer exact match", "rate"),
    ("F1", "answer token F1", "rate"),
    ("contains_accuracy", "answer contains gold", "rate"),
    ("list_item_recall", "list items named (list questions)", "rate"),
    ("answer_words_median", "answer length, median words", "words"),
    ("citation_precision", "citation precision", "rate"),
    ("offset_validity", "citation offset validity", "rate"),
    ("n_citations", "citations checked", "n"),
    ("abstention_precision", "abstention precision", "rate"),
    ("abstention_recall", "abstention recall", "rate"),
    ("abstention_F1", "abstention F1", "rate"),
    ("wrong_decline_rate", "answerable wrongly declined", "rate"),
    ("conflicts_shown", "conflicts shown with citations", "rate"),
    ("n_conflict", "conflict questions", "n"),
    ("latency_p50_ms", "latency p50 (ms)", "ms"),
    ("latency_p95_ms", "latency p95 (ms)", "ms"),
)
LOWER_IS_BETTER = {"wrong_decline_rate", "latency_p50_ms", "latency_p95_ms"}


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


# --------------------------------------------------------------------------- scoring one question

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


# --------------------------------------------------------------------------- aggregate metrics

def aggregate(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics from per-question results (each with 'answerable', 'scores', 'category', 'latency_ms'), and
    the abstention lists the reports show (wrongly declined, unanswerable but answered)."""
    ans = [r for r in results if r["answerable"]]
    unans = [r for r in results if not r["answerable"]]
    ranks = [r["scores"]["rank"] for r in ans]
    m: dict[str, Any] = {"n_questions": len(results), "n_answerable": len(ans), "n_unanswerable": len(unans)}
    for k in RECALL_KS:
        m[f"R@{k}"] = recall_at(ranks, k)
    m["MRR@10"] = mrr_at(ranks, 10)
    m["EM"] = mean([r["scores"]["em"] for r in ans])
    m["F1"] = mean([r["scores"]["f1"] for r in ans])
    m["contains_accuracy"] = mean([1.0 if r["scores"]["contains"] else 0.0 for r in ans])
    m["list_item_recall"] = mean([r["scores"]["list_recall"] for r in ans if "list_recall" in r["scores"]])
    words = [r["scores"]["answer_words"] for r in results if r["scores"]["answer_words"] is not None]
    m["answer_words_median"] = median(words)
    n_cit = sum(r["scores"]["citations"] for r in ans)
    m["citation_precision"] = sum(r["scores"]["citations_precise"] for r in ans) / n_cit if n_cit else None
    n_off = sum(r["scores"]["offsets_checked"] for r in results)
    m["offset_validity"] = sum(r["scores"]["offsets_valid"] for r in results) / n_off if n_off else None
    m["n_citations"] = n_off
    prf = abstention_prf([r["scores"]["declined"] for r in results], [not r["answerable"] for r in results])
    m["abstention_precision"], m["abstention_recall"], m["abstention_F1"] = prf["precision"], prf["recall"], prf["f1"]
    m["wrong_decline_rate"] = mean([1.0 if r["scores"]["declined"] else 0.0 for r in ans])
    reasons = [result_reason(r) for r in results]
    m["abstention_by_reason"] = abstention_by_reason(reasons, [not r["answerable"] for r in results],
                                                     ABSTENTION_REASONS)
    m["wrongly_declined"] = [
        {"id": r["id"], "question": r.get("question"), "reason": why,
         "missing_terms": [str(t) for t in (r.get("prediction") or {}).get("missing_terms") or []],
         "confidence": _confidence(r)}
        for r, why in zip(results, reasons) if r["answerable"] and why is not None]
    m["answered_unanswerable"] = [
        {"id": r["id"], "question": r.get("question"), "answer": (r.get("prediction") or {}).get("answer"),
         "confidence": _confidence(r)}
        for r in unans if not r["scores"]["declined"]]
    conf = [r["scores"]["conflict_shown"] for r in results if r["scores"].get("conflict_shown") is not None]
    m["conflicts_shown"] = mean([1.0 if c else 0.0 for c in conf])
    m["n_conflict"] = len(conf)
    lat = [float(r["latency_ms"]) for r in results if r.get("latency_ms") is not None]
    m["latency_p50_ms"] = percentile(lat, 50)
    m["latency_p95_ms"] = percentile(lat, 95)
    m["categories"] = {c: sum(1 for r in results if r["category"] == c) for c in CATEGORIES}
    m["n_unretrievable"] = sum(1 for r in ans if r["scores"]["relevance"] == "none")
    return m


def _confidence(r: dict[str, Any]) -> Optional[float]:
    c = r["scores"].get("confidence", (r.get("prediction") or {}).get("confidence"))
    return float(c) if isinstance(c, (int, float)) else None


def _hit_row(h, text_norm_cache: dict[str, str]) -> dict[str, Any]:
    p = h.passage
    if p.passage_id not in text_norm_cache:
        text_norm_cache[p.passage_id] = normalize_match(p.text)
    return {"doc_id": p.doc_id, "passage_id": p.passage_id, "start": p.start, "end": p.end,
            "score": round(float(h.score), 4), "text_norm": text_norm_cache[p.passage_id]}


def evaluate(questions: Sequence[GoldQuestion], answerer, k: int = DEFAULT_K, progress: bool = True,
             meta: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Ask every question through `answerer.ask_with_hits` and score it; returns {"meta", "metrics", "results"}."""
    from tqdm import tqdm

    index = answerer.index
    evidence_norm = [(p.doc_id, normalize_match(p.text)) for p in index.evidence]
    norm_cache = {p.passage_id: t for p, (_, t) in zip(index.evidence, evidence_norm)}
    reader = SourceReader()
    answerer.warm_up()  # the models load before the clock starts, not in the first question's latency
    span_reader = getattr(answerer, "reader", None)
    results = []
    for q in tqdm(questions, desc="eval", unit="q", disable=not progress, file=sys.stderr, leave=False):
        t = time.perf_counter()
        try:
            answer, hits = answerer.ask_with_hits(q.question, k=k, retrieve_k=RETRIEVE_K)
        except QAError as e:
            raise QAError(f"question {q.id}: {e}") from None
        latency = (time.perf_counter() - t) * 1000.0
        pred = answer.to_dict()
        mode = relevance_mode(q, evidence_norm)
        rows = [_hit_row(h, norm_cache) for h in hits]
        scores, category = score_question(q, pred, rows, k, reader, mode)
        results.append({
            "id": q.id, "question": q.question, "answers": q.answers, "answerable": q.answerable,
            "type": q.type, "split": q.split, "sources": q.sources,
            **({"conflict": q.conflict} if q.conflict else {}),
            "prediction": pred, "category": category, "latency_ms": round(latency, 2),
            "scores": scores,
            "hits": [{k_: v for k_, v in r.items() if k_ != "text_norm"} for r in rows[:RETRIEVE_K]],
        })
    from .. import __version__

    cal = answerer.settings.calibration(span_reader is not None)
    info = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "qa_version": __version__,
        "index": str(index.path),
        "build_id": index.manifest.get("build_id"),
        "model": index.manifest.get("model", {}).get("name"),
        "reader": span_reader is not None,
        "thresholds": {"decline_below": cal.decline_below, "answer_from": cal.answer_from},
        "k": k,
        "retrieve_k": RETRIEVE_K,
        **(meta or {}),
    }
    return {"meta": info, "metrics": aggregate(results), "results": results}


# --------------------------------------------------------------------------- baseline

def load_result(path: Path) -> dict[str, Any]:
    """A saved `--json` result, checked enough to compare with."""
    path = Path(path)
    if not path.is_file():
        raise QAError(f"baseline not found: {path}", fix="write one with `qa eval --json FILE`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise QAError(f"baseline {path} is not valid JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list) or not isinstance(data.get("metrics"), dict):
        raise QAError(f"baseline {path} is not a `qa eval --json` result (needs 'metrics' and 'results')")
    for r in data["results"]:
        if not isinstance(r, dict) or not {"id", "answerable", "category", "scores"} <= set(r):
            raise QAError(f"baseline {path} has a result without id/answerable/category/scores",
                          fix="regenerate it with this version of `qa eval --json`")
    return data


def compare(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Deltas of every metric, headline regressions beyond tolerance (on the questions in both runs),
    and the questions that newly fail or newly pass."""
    cur_by = {r["id"]: r for r in current["results"]}
    base_by = {r["id"]: r for r in baseline["results"]}
    common = [i for i in cur_by if i in base_by]
    cur_common = aggregate([cur_by[i] for i in common]) if common else {}
    base_common = aggregate([base_by[i] for i in common]) if common else {}
    deltas = {}
    for key, _, _ in METRIC_ROWS:
        a, b = base_common.get(key), cur_common.get(key)
        deltas[key] = {"baseline": a, "current": b, "delta": (b - a) if a is not None and b is not None else None}
    regressions = []
    for key, tol in HEADLINE.items():
        d = deltas[key]["delta"]
        if d is not None and d < -tol - 1e-12:
            regressions.append({"metric": key, "baseline": deltas[key]["baseline"], "current": deltas[key]["current"],
                                "delta": d, "tolerance": tol})
    newly_failing, newly_passing = [], []
    for i in common:
        was, now = base_by[i]["category"], cur_by[i]["category"]
        if was == "ok" and now != "ok":
            newly_failing.append({"id": i, "question": cur_by[i].get("question"), "was": was, "now": now})
        elif was != "ok" and now == "ok":
            newly_passing.append({"id": i, "question": cur_by[i].get("question"), "was": was, "now": now})
    return {
        "common": len(common),
        "only_current": sorted(set(cur_by) - set(base_by)),
        "only_baseline": sorted(set(base_by) - set(cur_by)),
        "baseline_metrics": base_common,
        "current_metrics": cur_common,
        "deltas": deltas,
        "regressions": regressions,
        "newly_failing": newly_failing,
        "newly_passing": newly_passing,
    }


def write_json(result: dict[str, Any], out: Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)
