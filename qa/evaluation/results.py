"""An eval run's results as a whole: metrics aggregated from per-question scores, saved, loaded, compared.

The per-question scores are stored in the result, so metrics can be recomputed on any subset
(`aggregate`), and a saved result is the baseline a later run is compared with (`compare`). Abstention
is split by the reason the answer gives for declining; results saved before answers recorded a reason
count their declines as "unrecorded", so an old baseline still aggregates and compares.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import QAError
from .metrics import abstention_by_reason, abstention_prf, mean, median, mrr_at, percentile, recall_at
from .scoring import CATEGORIES, UNRECORDED, result_reason
from ..types import DECLINE_REASONS

RECALL_KS = (1, 3, 5, 10)
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
