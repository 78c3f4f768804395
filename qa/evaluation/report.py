"""The `qa eval --report` file: Markdown or HTML, with the plots, the abstention section and the failures.

A run with conversation files adds their section (qa.evaluation.conversation_report's), and a run of
conversation files only is a report of that section alone. The format follows the suffix: `.html` embeds the plots as base64 PNG data URIs (one self-contained
file); `.md` writes the PNGs beside it (`<stem>-recall_at_k.png`, ...) and links them. All text from
questions, answers and sources is escaped in HTML. The tables' rows are qa.evaluation.tables', the
plots qa.evaluation.plots'.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import QAError
from .conversation_report import html_section, markdown_section, render_alone
from .plots import PLOT_TITLES, PLOTS, make_plots
from .results import HEADLINE, TOLERANCE, aggregate
from .scoring import CATEGORIES
from .tables import (ABSTENTION_HEAD, ANSWERED_UNANSWERABLE_HEAD, WRONGLY_DECLINED_HEAD, abstention_rows,
                     answered_unanswerable_rows, metric_rows, wrongly_declined_rows)

CATEGORY_HELP = {
    "bad-citation": "a quote is not the source text at its offsets, or a right answer none of whose quotes contains a gold alias",
    "answered-unanswerable": "the corpus does not answer it, but the assistant answered",
    "retrieval-miss": "no relevant passage among the top-k hits the answer was made from",
    "wrong-decline": "relevant evidence was retrieved, but the assistant declined",
    "extraction-miss": "answered, but the answer contains no gold alias",
    "missed-conflict": "the sources disagree and not every value is shown with its own citation",
}


def _abstention_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """The run's metrics, recomputed from its results when they were saved before the abstention section."""
    m = result["metrics"]
    return m if "abstention_by_reason" in m else aggregate(result["results"])


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
    parts = [f"{result['metrics'].get('n_questions')} questions"] if "metrics" in result else []
    if result.get("conversations"):
        parts.append(f"{result['conversations']['metrics']['n_conversations']} conversations")
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
    if result.get("conversations"):
        lines += markdown_section(result["conversations"])
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
    if result.get("conversations"):
        out += html_section(result["conversations"])
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
    if "results" not in result:  # conversation files only: no question metrics, no plots
        out.write_text(render_alone(result, suffix == ".md", _meta_line(result), _CSS), encoding="utf-8")
        return [out]
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
