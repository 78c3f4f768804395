"""What `qa bench tatqa` reports: its per-question records aggregated by group, and the table it prints.

The headline is span and multi-span questions (their answers are text of the excerpt), also by format,
by source (table, text, table-text) and by answer type; arithmetic and count questions (computed
answers, which declining is right for) are reported apart. Every group has EM and F1 (TAT-QA's rules),
gold contained in the answer and in its cited quotes, the share of each status and how often it was
right, and the ECE of the answers given (qa.evaluation.bench.fitset.outcomes). A group's figures come
from its records alone, so a --json result re-aggregates on any subset.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Optional, Sequence

from ..metrics import mean
from .fitset import outcomes
from .tatqa_data import ANSWER_TYPES, HEADLINE_TYPES, SOURCES
from .tatqa_render import FORMATS
from .tatqa_score import NUMERIC_TYPES


def group(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The figures of a group of records (0-1 shares; None where the group is empty)."""
    m: dict[str, Any] = {"n": len(records)}
    for key in ("em", "f1", "contained", "contained_in_quotes"):
        m[key] = mean([float(r["scores"][key]) for r in records])
    m.update(outcomes([{"status": r["prediction"]["status"], "confidence": r["prediction"]["confidence"],
                        "right": r["scores"]["right"]} for r in records]))
    reasons = Counter(r["prediction"]["decline_reason"] or "unrecorded" for r in records
                      if r["prediction"]["status"] == "declined")
    m["decline_reasons"] = dict(sorted(reasons.items()))
    return m


def aggregate(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    head = [r for r in records if r["answer_type"] in HEADLINE_TYPES]
    numeric = [r for r in records if r["answer_type"] in NUMERIC_TYPES]
    return {
        "headline": group(head),
        "headline_by_format": {f: group([r for r in head if r["format"] == f]) for f in FORMATS
                               if any(r["format"] == f for r in head)},
        "headline_by_source": {s: group([r for r in head if r["answer_from"] == s]) for s in SOURCES},
        "by_type": {t: group([r for r in records if r["answer_type"] == t]) for t in ANSWER_TYPES},
        "arithmetic_count": group(numeric),
        "arithmetic_count_by_format": {f: group([r for r in numeric if r["format"] == f]) for f in FORMATS
                                       if any(r["format"] == f for r in numeric)},
    }


def _pct(v: Optional[float]) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


COLUMNS = (("EM", "em"), ("F1", "f1"), ("contained", "contained"), ("cited", "contained_in_quotes"),
           ("answered", "answered_share"), ("uncertain", "uncertain_share"), ("declined", "declined_share"),
           ("ans.right", "answered_right"), ("unc.right", "uncertain_right"), ("decl.right", "declined_right"))


def table_rows(metrics: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, group figures) in the order the table shows them."""
    rows = [("span + multi-span", metrics["headline"])]
    rows += [(f"  {f}", g) for f, g in metrics["headline_by_format"].items()]
    rows += [(f"  from {s}", g) for s, g in metrics["headline_by_source"].items() if g["n"]]
    rows += [(f"  {t}", metrics["by_type"][t]) for t in HEADLINE_TYPES]
    rows.append(("arithmetic + count", metrics["arithmetic_count"]))
    rows += [(f"  {f}", g) for f, g in metrics["arithmetic_count_by_format"].items()]
    rows += [(f"  {t}", metrics["by_type"][t]) for t in NUMERIC_TYPES]
    return rows


def format_table(metrics: dict[str, Any], markdown: bool = False) -> str:
    """The figures as a plain-text (or Markdown) table: percentages, ECE as 0-1."""
    heads = ["group", "n", *(h for h, _ in COLUMNS), "ECE"]
    lines = []
    body = []
    for label, g in table_rows(metrics):
        ece = "–" if g.get("ece") is None else f"{g['ece']:.3f}"
        body.append([label, str(g["n"]), *(_pct(g.get(k)) for _, k in COLUMNS), ece])
    if markdown:
        lines.append("| " + " | ".join(heads) + " |")
        lines.append("|" + "|".join("---" for _ in heads) + "|")
        lines += ["| " + " | ".join(c.strip() if i == 0 else c for i, c in enumerate(row)) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [heads, *body]) for i in range(len(heads))]
    fmt = lambda row: "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
    lines.append(fmt(heads))
    lines.append("-" * len(lines[0]))
    lines += [fmt(r) for r in body]
    return "\n".join(lines)


def format_result(r: dict[str, Any]) -> str:
    n_q = len({rec["id"] for rec in r["records"]})
    lines = [f"TAT-QA dev, {r['split']} half: {n_q} questions x {len(r['formats'])} format(s) "
             f"({', '.join(r['formats'])}); {r['note']}"]
    for f, ix in r["indexes"].items():
        lines.append(f"  {f}: {ix['documents']} documents, {ix['passages']} passages"
                     + (" (index reused)" if ix["reused"] else f" (indexed in {ix['seconds']:.0f}s)"))
    lines.append("")
    lines.append(format_table(r["metrics"]))
    lines.append("EM, F1 and shares in percent (TAT-QA's normalisation and scale); contained: a gold answer inside the "
                 "answer; cited: inside its cited quotes; x.right: how often that status was right (a decline is "
                 "right for arithmetic and count only); ECE of the answers given, 10 bins.")
    t = r["timing"]
    lines.append(f"time: {t['total_s']:.0f}s total, documents and indexes {t['documents_and_indexes_s']:.0f}s, "
                 f"questions {t['questions_s']:.0f}s (p50 {t['latency_p50_ms']:.0f} ms, p95 {t['latency_p95_ms']:.0f} ms)")
    return "\n".join(lines)
