"""The metric tables `qa eval` prints: metrics (against a baseline's too), abstention, and the comparison.

The abstention section shows declines by reason (precision and recall of each), the answerable
questions declined, and the unanswerable ones answered; its rows are the report's too
(qa.evaluation.report).
"""
from __future__ import annotations

from typing import Any, Optional

from .results import HEADLINE, METRIC_ROWS, TOLERANCE


# --------------------------------------------------------------------------- tables

def format_value(v: Any, kind: str) -> str:
    if v is None:
        return "–"
    if kind == "rate":
        return f"{v:.3f}"
    if kind == "ms":
        return f"{v:.1f}"
    if kind == "words":
        return f"{v:.1f}" if isinstance(v, float) and not v.is_integer() else f"{int(v)}"
    return str(int(v))


def format_delta(d: Optional[float], kind: str) -> str:
    if d is None:
        return ""
    if kind == "rate":
        return f"{d:+.3f}"
    if kind in ("ms", "words"):
        return f"{d:+.1f}"
    return f"{int(d):+d}"


def metric_rows(metrics: dict[str, Any], base: Optional[dict[str, Any]] = None) -> list[tuple[str, str, str, str]]:
    """(key, label, value, delta) rows for tables; delta is empty without a baseline."""
    rows = []
    for key, label, kind in METRIC_ROWS:
        v = metrics.get(key)
        delta = ""
        if base is not None and v is not None and base.get(key) is not None:
            delta = format_delta(v - base[key], kind)
        rows.append((key, label, format_value(v, kind), delta))
    return rows


def format_table(metrics: dict[str, Any], base: Optional[dict[str, Any]] = None) -> str:
    rows = metric_rows(metrics, base)
    w = max(len(r[1]) for r in rows)
    head = f"{'metric':<{w}}  {'value':>8}" + ("  vs baseline" if base is not None else "")
    lines = [head, "-" * len(head)]
    for _, label, value, delta in rows:
        lines.append(f"{label:<{w}}  {value:>8}" + (f"  {delta:>11}" if base is not None else ""))
    cats = metrics.get("categories") or {}
    lines.append("")
    lines.append("categories: " + ", ".join(f"{c} {n}" for c, n in cats.items() if n))
    if metrics.get("n_unretrievable"):
        lines.append(f"note: {metrics['n_unretrievable']} answerable question(s) have no passage in the index "
                     f"that can count as relevant (check their aliases and sources)")
    if "abstention_by_reason" in metrics:  # metrics saved before it have no section
        lines += ["", format_abstention(metrics)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- abstention

ABSTENTION_HEAD = ("reason", "declined", "right", "precision", "recall")
ABSTENTION_W = (8, 5, 9, 6)  # each header word's width: every count and rate fits under it
WRONGLY_DECLINED_HEAD = ("id", "question", "reason", "missing terms", "confidence")
ANSWERED_UNANSWERABLE_HEAD = ("id", "question", "answer given", "confidence")


def _conf(c: Any) -> str:
    return f"{c:.2f}" if isinstance(c, (int, float)) else "–"


def abstention_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(reason, declined, right, precision, recall) rows, formatted, in the metrics' order of reasons."""
    return [(str(reason), str(v["declined"]), str(v["right"]), format_value(v["precision"], "rate"),
             format_value(v["recall"], "rate"))
            for reason, v in (metrics.get("abstention_by_reason") or {}).items()]


def wrongly_declined_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    return [(str(w["id"]), str(w.get("question") or ""), str(w.get("reason") or ""),
             ", ".join(map(str, w.get("missing_terms") or [])), _conf(w.get("confidence")))
            for w in metrics.get("wrongly_declined") or []]


def answered_unanswerable_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(str(a["id"]), str(a.get("question") or ""), str(a.get("answer") or ""), _conf(a.get("confidence")))
            for a in metrics.get("answered_unanswerable") or []]


def format_abstention(metrics: dict[str, Any]) -> str:
    """The abstention section of the text table: declines by reason, then the questions behind the errors."""
    rows = abstention_rows(metrics)
    if rows:
        w = max(len("abstention"), *(len(r[0]) for r in rows))
        head = f"{'abstention':<{w}}  " + "  ".join(f"{h:>{n}}" for h, n in zip(ABSTENTION_HEAD[1:], ABSTENTION_W))
        lines = [head, "-" * len(head)]
        lines += [f"{r[0]:<{w}}  " + "  ".join(f"{v:>{n}}" for v, n in zip(r[1:], ABSTENTION_W)) for r in rows]
    else:
        lines = ["abstention: nothing declined"]
    wrong = wrongly_declined_rows(metrics)
    lines.append(f"wrongly declined: {len(wrong)}")
    for qid, question, reason, missing, conf in wrong:
        lines.append(f"  {qid} [{reason}{': ' + missing if missing else ''}, conf {conf}] {question}")
    answered = answered_unanswerable_rows(metrics)
    lines.append(f"unanswerable, not declined: {len(answered)}")
    for qid, question, answer, conf in answered:
        lines.append(f"  {qid} [conf {conf}] {question} -> {answer}")
    return "\n".join(lines)


def format_comparison(diff: dict[str, Any], baseline_path: str) -> str:
    lines = [f"compared with {baseline_path} on the {diff['common']} question(s) in both runs"]
    if diff["only_current"] or diff["only_baseline"]:
        lines.append(f"  ({len(diff['only_current'])} only in this run, {len(diff['only_baseline'])} only in the baseline: not compared)")
    lines.append(format_table(diff["current_metrics"], diff["baseline_metrics"]).split("\n\ncategories")[0]
                 if diff["common"] else "  nothing in common")
    for title, key in (("newly failing", "newly_failing"), ("newly passing", "newly_passing")):
        items = diff[key]
        lines.append(f"{title}: {len(items)}")
        for it in items:
            lines.append(f"  {it['id']} [{it['was']} -> {it['now']}] {it['question']}")
    if diff["regressions"]:
        lines.append("REGRESSION beyond tolerance:")
        for r in diff["regressions"]:
            lines.append(f"  {r['metric']}: {r['baseline']:.3f} -> {r['current']:.3f} ({r['delta']:+.3f}, tolerance {r['tolerance']})")
    else:
        lines.append("no headline metric dropped beyond tolerance "
                     f"({', '.join(HEADLINE)}; {TOLERANCE} absolute, offset validity 0)")
    return "\n".join(lines)
