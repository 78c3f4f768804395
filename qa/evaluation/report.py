"""Showing eval results: the metric tables `qa eval` prints, and its `--report` file (Markdown or HTML, with plots).

Both have an abstention section: declines by reason (precision and recall of each), the answerable
questions declined, and the unanswerable ones answered.

The format follows the suffix: `.html` embeds the plots as base64 PNG data URIs (one self-contained
file); `.md` writes the PNGs beside it (`<stem>-recall_at_k.png`, ...) and links them. All text from
questions, answers and sources is escaped in HTML. matplotlib is imported here only, with the Agg
backend, so nothing needs a display.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import QAError
from .metrics import contains_any
from .results import HEADLINE, METRIC_ROWS, RECALL_KS, TOLERANCE, aggregate
from .scoring import CATEGORIES

PLOTS = ("recall_at_k", "confidence", "reliability")
PLOT_TITLES = {
    "recall_at_k": "Retrieval recall@k",
    "confidence": "Accuracy and coverage against the confidence threshold",
    "reliability": "Reliability diagram",
}
CATEGORY_HELP = {
    "bad-citation": "a quote is not the source text at its offsets, or a right answer none of whose quotes contains a gold alias",
    "answered-unanswerable": "the corpus does not answer it, but the assistant answered",
    "retrieval-miss": "no relevant passage among the top-k hits the answer was made from",
    "wrong-decline": "relevant evidence was retrieved, but the assistant declined",
    "extraction-miss": "answered, but the answer contains no gold alias",
    "missed-conflict": "the sources disagree and not every value is shown with its own citation",
}


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


def _abstention_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """The run's metrics, recomputed from its results when they were saved before the abstention section."""
    m = result["metrics"]
    return m if "abstention_by_reason" in m else aggregate(result["results"])


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


# --------------------------------------------------------------------------- data for plots

def would_be_correct(r: dict[str, Any]) -> bool:
    """Whether the answer would be right if it were given: for a declined question, the closest
    material's first quote stands in for the answer the assistant held back. Unanswerable: never."""
    if not r.get("answerable"):
        return False
    p = r.get("prediction") or {}
    if p.get("status") != "declined":
        return bool(r.get("scores", {}).get("contains"))
    closest = p.get("closest") or []
    return bool(closest) and contains_any(closest[0].get("quote"), r.get("answers") or [])


def threshold_curve(results: Sequence[dict[str, Any]], steps: int = 101) -> dict[str, list[float]]:
    """For thresholds t in [0, 1]: coverage (share of questions answered at conf >= t), accuracy of those
    answers, and overall accuracy (right answers plus right abstentions, over all questions)."""
    conf = [float((r.get("prediction") or {}).get("confidence") or 0.0) for r in results]
    good = [would_be_correct(r) for r in results]
    unans = [not r.get("answerable") for r in results]
    n = len(results) or 1
    ts, cov, acc, overall = [], [], [], []
    for i in range(steps):
        t = i / (steps - 1)
        answered = [j for j, c in enumerate(conf) if c >= t]
        right = sum(1 for j in answered if good[j])
        abstained_right = sum(1 for j, c in enumerate(conf) if c < t and unans[j])
        ts.append(t)
        cov.append(len(answered) / n)
        acc.append(right / len(answered) if answered else float("nan"))
        overall.append((right + abstained_right) / n)
    return {"threshold": ts, "coverage": cov, "accuracy": acc, "overall": overall}


def reliability_bins(results: Sequence[dict[str, Any]], n_bins: int = 10) -> list[dict[str, Any]]:
    bins = [{"lo": i / n_bins, "hi": (i + 1) / n_bins, "n": 0, "right": 0, "conf_sum": 0.0} for i in range(n_bins)]
    for r in results:
        c = float((r.get("prediction") or {}).get("confidence") or 0.0)
        b = bins[min(int(c * n_bins), n_bins - 1)]
        b["n"] += 1
        b["right"] += would_be_correct(r)
        b["conf_sum"] += c
    for b in bins:
        b["accuracy"] = b["right"] / b["n"] if b["n"] else None
        b["mean_conf"] = b["conf_sum"] / b["n"] if b["n"] else None
    return bins


def expected_calibration_error(bins: Sequence[dict[str, Any]]) -> Optional[float]:
    total = sum(b["n"] for b in bins)
    if not total:
        return None
    return sum(b["n"] / total * abs(b["accuracy"] - b["mean_conf"]) for b in bins if b["n"])


def _thresholds(result: dict[str, Any]) -> tuple[float, float]:
    """(decline below, answer at or above) of the run: recorded in its meta, else the shipped values."""
    t = result.get("meta", {}).get("thresholds")
    if isinstance(t, dict) and {"decline_below", "answer_from"} <= set(t):
        return float(t["decline_below"]), float(t["answer_from"])
    from ..settings import load_tuned

    cal = load_tuned().answer.calibration(bool(result.get("meta", {}).get("reader")))
    return cal.decline_below, cal.answer_from


# --------------------------------------------------------------------------- plots

def make_plots(result: dict[str, Any]) -> dict[str, bytes]:
    """PNG bytes of each plot, by name (see PLOTS)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    results = result["results"]
    out: dict[str, bytes] = {}

    def png(fig) -> bytes:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        return buf.getvalue()

    # recall@k
    ranks = [r["scores"]["rank"] for r in results if r.get("answerable")]
    ks = list(range(1, 11))
    rec = [sum(1 for x in ranks if x is not None and x <= k) / len(ranks) if ranks else 0.0 for k in ks]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(ks, rec, marker="o")
    for k in RECALL_KS:
        ax.annotate(f"{rec[k - 1]:.2f}", (k, rec[k - 1]), textcoords="offset points", xytext=(0, -14), ha="center", fontsize=8)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.set_title(f"Recall@k ({len(ranks)} answerable questions)")
    out["recall_at_k"] = png(fig)

    # accuracy / coverage against the threshold, and the coverage-accuracy curve
    curve = threshold_curve(results)
    low, high = _thresholds(result)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    a1.plot(curve["threshold"], curve["accuracy"], label="accuracy of answers given")
    a1.plot(curve["threshold"], curve["coverage"], label="coverage (share answered)")
    a1.plot(curve["threshold"], curve["overall"], label="overall (right answers + right declines)")
    a1.axvspan(0, low, color="grey", alpha=0.08, lw=0)
    a1.text(low / 2, 0.03, "estimated:\ndeclined answers\njudged by the\nclosest quote", fontsize=6, ha="center",
            color="dimgrey")
    a1.axvline(low, color="grey", ls="--", lw=1)
    a1.axvline(high, color="grey", ls=":", lw=1)
    a1.text(low, 1.02, "decline", fontsize=7, ha="center")
    a1.text(high, 1.02, "uncertain", fontsize=7, ha="center")
    a1.set_xlabel("confidence threshold (answer when confidence >= threshold)")
    a1.set_ylim(0, 1.08)
    a1.grid(alpha=0.3)
    a1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    cov = [c for c, a in zip(curve["coverage"], curve["accuracy"]) if a == a]
    acc = [a for a in curve["accuracy"] if a == a]
    a2.plot(cov, acc, marker=".", ms=3)
    a2.set_xlabel("coverage")
    a2.set_ylabel("accuracy")
    a2.set_xlim(0, 1.02)
    a2.set_ylim(0, 1.05)
    a2.grid(alpha=0.3)
    a2.set_title("coverage / accuracy", fontsize=9)
    fig.suptitle("Accuracy against confidence", fontsize=10)
    out["confidence"] = png(fig)

    # reliability diagram
    bins = reliability_bins(results)
    ece = expected_calibration_error(bins)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    centers = [(b["lo"] + b["hi"]) / 2 for b in bins]
    heights = [b["accuracy"] or 0.0 for b in bins]
    ax.bar(centers, heights, width=0.09, alpha=0.7, edgecolor="black", label="accuracy in bin")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    for c, b in zip(centers, bins):
        if b["n"]:
            ax.text(c, (b["accuracy"] or 0) + 0.02, f"n={b['n']}", ha="center", fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability" + (f" (ECE {ece:.3f})" if ece is not None else ""))
    ax.legend(fontsize=7, loc="upper left")
    out["reliability"] = png(fig)
    return out


# --------------------------------------------------------------------------- content

def _quote(r: dict[str, Any]) -> str:
    p = r.get("prediction") or {}
    cites = p.get("citations") or p.get("closest") or []
    if not cites:
        return ""
    c = cites[0]
    return f"[{c.get('n')}] {c.get('quote', '')} ({c.get('doc_id', '')})"


def _prediction(r: dict[str, Any]) -> str:
    p = r.get("prediction") or {}
    status = p.get("status", "?")
    ans = p.get("answer")
    conf = p.get("confidence")
    extra = f" (conf {conf:.2f})" if isinstance(conf, (int, float)) else ""
    if p.get("conflicts"):
        extra += "; conflicts: " + "; ".join(f"{c.get('value')} {c.get('citations')}" for c in p["conflicts"])
    return f"{status}{extra}: {ans}" if ans else f"{status}{extra}"


def _gold(r: dict[str, Any]) -> str:
    if not r.get("answerable"):
        return "(unanswerable)"
    g = " | ".join(r.get("answers") or [])
    if r.get("conflict"):
        g += "  — conflict: " + " vs ".join(f"{c['value']} ({c.get('source', '')})" for c in r["conflict"])
    return g


def failures_by_category(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {c: [] for c in CATEGORIES if c != "ok"}
    for r in result["results"]:
        if r.get("category", "ok") != "ok":
            groups.setdefault(r["category"], []).append(r)
    return {c: rs for c, rs in groups.items() if rs}


def _meta_line(result: dict[str, Any]) -> str:
    m = result.get("meta", {})
    parts = [f"{result['metrics'].get('n_questions')} questions"]
    for key in ("split", "k", "index", "build_id", "model", "created"):
        if m.get(key) is not None:
            parts.append(f"{key} {m[key]}")
    return ", ".join(parts)


def _md_cell(s: Any) -> str:
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def render_markdown(result: dict[str, Any], plot_files: dict[str, str], diff: Optional[dict[str, Any]] = None) -> str:
    base = diff["baseline_metrics"] if diff and diff.get("common") else None
    cur = diff["current_metrics"] if base is not None else result["metrics"]
    lines = ["# Evaluation report", "", _md_cell(_meta_line(result)), ""]
    lines += ["## Metrics", ""]
    if base is not None:
        lines += [f"Compared with the baseline on the {diff['common']} question(s) in both runs.", "",
                  "| metric | value | vs baseline |", "|---|---:|---:|"]
        lines += [f"| {label} | {v} | {d} |" for _, label, v, d in metric_rows(cur, base)]
    else:
        lines += ["| metric | value |", "|---|---:|"]
        lines += [f"| {label} | {v} |" for _, label, v, _ in metric_rows(cur)]
    cats = result["metrics"].get("categories", {})
    lines += ["", "Categories: " + ", ".join(f"{c} {n}" for c, n in cats.items()), ""]
    if diff is not None:
        lines += _diff_md(diff)
    lines += ["## Plots", ""]
    for name in PLOTS:
        if name in plot_files:
            lines += [f"### {PLOT_TITLES[name]}", "", f"![{PLOT_TITLES[name]}]({plot_files[name]})", ""]
    lines += _abstention_md(_abstention_metrics(result))
    lines += ["## Failures by category", ""]
    groups = failures_by_category(result)
    if not groups:
        lines += ["No failures.", ""]
    for cat, rs in groups.items():
        lines += [f"### {cat} ({len(rs)})", "", f"_{CATEGORY_HELP.get(cat, '')}_", "",
                  "| id | question | gold | prediction | cited quote |", "|---|---|---|---|---|"]
        for r in rs:
            lines.append("| " + " | ".join(_md_cell(x) for x in (r["id"], r["question"], _gold(r), _prediction(r), _quote(r))) + " |")
        lines.append("")
    return "\n".join(lines)


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: int = 0) -> list[str]:
    """A Markdown table; the last `numeric` columns are right-aligned."""
    align = ["---"] * (len(head) - numeric) + ["---:"] * numeric
    return (["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
            + ["| " + " | ".join(_md_cell(x) for x in r) + " |" for r in rows] + [""])


def _abstention_md(metrics: dict[str, Any]) -> list[str]:
    lines = ["## Abstention", ""]
    rows = abstention_rows(metrics)
    lines += _md_table(ABSTENTION_HEAD, rows, numeric=4) if rows else ["Nothing declined.", ""]
    for title, head, rows in (("Wrongly declined", WRONGLY_DECLINED_HEAD, wrongly_declined_rows(metrics)),
                              ("Unanswerable, not declined", ANSWERED_UNANSWERABLE_HEAD,
                               answered_unanswerable_rows(metrics))):
        lines += [f"**{title}** ({len(rows)})", ""]
        if rows:
            lines += _md_table(head, rows, numeric=1)
    return lines


def _diff_md(diff: dict[str, Any]) -> list[str]:
    lines = ["## Against the baseline", ""]
    if diff["regressions"]:
        lines.append("**Regressions beyond tolerance:** " + "; ".join(
            f"{r['metric']} {r['baseline']:.3f} → {r['current']:.3f} ({r['delta']:+.3f})" for r in diff["regressions"]))
    else:
        lines.append(f"No headline metric ({', '.join(HEADLINE)}) dropped by more than {TOLERANCE} "
                     "(offset validity: any drop).")
    lines.append("")
    for title, key in (("Newly failing", "newly_failing"), ("Newly passing", "newly_passing")):
        lines.append(f"**{title}** ({len(diff[key])})" + (":" if diff[key] else ""))
        lines.append("")
        for it in diff[key]:
            lines.append(f"- {_md_cell(it['id'])} ({it['was']} → {it['now']}): {_md_cell(it['question'])}")
        lines.append("")
    return lines


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:14px}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#a00;font-weight:bold}
img{max-width:100%;border:1px solid #eee}.help{color:#555;font-style:italic}"""


def render_html(result: dict[str, Any], plots: dict[str, bytes], diff: Optional[dict[str, Any]] = None) -> str:
    e = html.escape
    base = diff["baseline_metrics"] if diff and diff.get("common") else None
    cur = diff["current_metrics"] if base is not None else result["metrics"]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>Evaluation report</title>',
           f"<style>{_CSS}</style></head><body>", "<h1>Evaluation report</h1>", f"<p>{e(_meta_line(result))}</p>",
           "<h2>Metrics</h2>"]
    if base is not None:
        out.append(f"<p>Compared with the baseline on the {diff['common']} question(s) in both runs.</p>")
    out.append("<table><tr><th>metric</th><th>value</th>" + ("<th>vs baseline</th>" if base is not None else "") + "</tr>")
    for _, label, v, d in metric_rows(cur, base):
        out.append(f"<tr><td>{e(label)}</td><td class='n'>{e(v)}</td>" + (f"<td class='n'>{e(d)}</td>" if base is not None else "") + "</tr>")
    out.append("</table>")
    cats = result["metrics"].get("categories", {})
    out.append("<p>Categories: " + e(", ".join(f"{c} {n}" for c, n in cats.items())) + "</p>")
    if diff is not None:
        out.append("<h2>Against the baseline</h2>")
        if diff["regressions"]:
            out.append("<p class='bad'>Regressions beyond tolerance: " + e("; ".join(
                f"{r['metric']} {r['baseline']:.3f} → {r['current']:.3f} ({r['delta']:+.3f})" for r in diff["regressions"])) + "</p>")
        else:
            out.append(f"<p>No headline metric ({e(', '.join(HEADLINE))}) dropped by more than {TOLERANCE} (offset validity: any drop).</p>")
        for title, key in (("Newly failing", "newly_failing"), ("Newly passing", "newly_passing")):
            out.append(f"<h3>{title} ({len(diff[key])})</h3>")
            if diff[key]:
                out.append("<ul>" + "".join(f"<li>{e(it['id'])} ({e(it['was'])} → {e(it['now'])}): {e(it['question'] or '')}</li>"
                                            for it in diff[key]) + "</ul>")
    out.append("<h2>Plots</h2>")
    for name in PLOTS:
        if name in plots:
            data = base64.b64encode(plots[name]).decode("ascii")
            out.append(f"<h3>{e(PLOT_TITLES[name])}</h3><img alt='{e(PLOT_TITLES[name])}' src='data:image/png;base64,{data}'>")
    out += _abstention_html(_abstention_metrics(result))
    out.append("<h2>Failures by category</h2>")
    groups = failures_by_category(result)
    if not groups:
        out.append("<p>No failures.</p>")
    for cat, rs in groups.items():
        out.append(f"<h3>{e(cat)} ({len(rs)})</h3><p class='help'>{e(CATEGORY_HELP.get(cat, ''))}</p>")
        out.append("<table><tr><th>id</th><th>question</th><th>gold</th><th>prediction</th><th>cited quote</th></tr>")
        for r in rs:
            out.append("<tr>" + "".join(f"<td>{e(str(x))}</td>" for x in (r["id"], r["question"], _gold(r), _prediction(r), _quote(r))) + "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: int = 0) -> list[str]:
    """A table of escaped cells; the last `numeric` columns are right-aligned."""
    e = html.escape
    first_n = len(head) - numeric
    out = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td class='n'>{e(str(x))}</td>" if i >= first_n else f"<td>{e(str(x))}</td>"
                                    for i, x in enumerate(r)) + "</tr>")
    out.append("</table>")
    return out


def _abstention_html(metrics: dict[str, Any]) -> list[str]:
    out = ["<h2>Abstention</h2>"]
    rows = abstention_rows(metrics)
    out += _html_table(ABSTENTION_HEAD, rows, numeric=4) if rows else ["<p>Nothing declined.</p>"]
    for title, head, rows in (("Wrongly declined", WRONGLY_DECLINED_HEAD, wrongly_declined_rows(metrics)),
                              ("Unanswerable, not declined", ANSWERED_UNANSWERABLE_HEAD,
                               answered_unanswerable_rows(metrics))):
        out.append(f"<h3>{title} ({len(rows)})</h3>")
        if rows:
            out += _html_table(head, rows, numeric=1)
    return out


def write_report(result: dict[str, Any], out: str | Path, diff: Optional[dict[str, Any]] = None) -> list[Path]:
    """Write the report (format from the suffix); returns every file written."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".md", ".html", ".htm"):
        raise QAError(f"report file must end in .md or .html, not {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    plots = make_plots(result)
    written = []
    if suffix == ".md":
        files = {}
        for name, data in plots.items():
            p = out.with_name(f"{out.stem}-{name}.png")
            p.write_bytes(data)
            files[name] = p.name
            written.append(p)
        out.write_text(render_markdown(result, files, diff), encoding="utf-8")
    else:
        out.write_text(render_html(result, plots, diff), encoding="utf-8")
    written.append(out)
    return written
