"""The conversations section of the `qa eval --report` file (Markdown or HTML), and a report of it alone.

It has the metrics table with the targets, follow-ups by what they resolve, and the turns worth reading:
follow-ups right alone but wrong in context, follow-ups wrong in context, topic changes that were
rewritten, and first turns that differ from `qa ask`. Every text from questions and answers is escaped
in HTML, as in qa.evaluation.report.
"""
from __future__ import annotations

import html
from typing import Any, Sequence

from .conversation_run import resolves_rows, table_rows

METRICS_HEAD = ("metric", "value", "target", "")
RESOLVES_HEAD = ("follow-up resolves", "turns", "in context", "stand-alone")
TURN_HEAD = ("turn", "question", "understood as", "gold stand-alone form", "gold", "in context", "stand-alone")


def _said(p: dict[str, Any]) -> str:
    status = p.get("status", "?")
    return f"{status}: {p['answer']}" if p.get("answer") else status


def _turn_row(r: dict[str, Any]) -> tuple[str, ...]:
    gold = " | ".join(r["answers"]) if r["answerable"] else "(unanswerable)"
    return (r["id"], r["question"], r.get("understood_as") or "(as written)", r["standalone"], gold,
            _said(r["prediction"]), _said(r["stand_alone_prediction"]))


def turn_groups(conv: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(title, turns) for each group of turns worth reading, in the order the report shows them."""
    turns = conv["turns"]
    fu = [r for r in turns if r["role"] == "followup"]
    return [
        ("Follow-ups right alone, wrong in context", [r for r in fu if r["correct_stand_alone"] and not r["correct_in_context"]]),
        ("Follow-ups wrong both ways", [r for r in fu if not r["correct_stand_alone"] and not r["correct_in_context"]]),
        ("Topic changes rewritten", [r for r in turns if r["role"] == "topic-change" and r["rewritten"]]),
        ("First turns not answered as qa ask answers them", [r for r in turns if r["role"] == "first" and not r["identical_to_ask"]]),
    ]


def _md_cell(s: Any) -> str:
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return (["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
            + ["| " + " | ".join(_md_cell(x) for x in r) + " |" for r in rows] + [""])


def markdown_section(conv: dict[str, Any], level: int = 2) -> list[str]:
    h = "#" * level
    m = conv["metrics"]
    lines = [f"{h} Conversations", "", "Each turn asked in its conversation, and its stand-alone form asked alone.", ""]
    lines += _md_table(METRICS_HEAD, table_rows(m))
    if m.get("by_resolves"):
        lines += _md_table(RESOLVES_HEAD, resolves_rows(m))
    for title, rs in turn_groups(conv):
        lines += [f"{h}# {title} ({len(rs)})", ""]
        if rs:
            lines += _md_table(TURN_HEAD, [_turn_row(r) for r in rs])
    return lines


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(x)}</th>" for x in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{e(str(x))}</td>" for x in r) + "</tr>" for r in rows]
    return out + ["</table>"]


def html_section(conv: dict[str, Any], level: int = 2) -> list[str]:
    m = conv["metrics"]
    out = [f"<h{level}>Conversations</h{level}>",
           "<p>Each turn asked in its conversation, and its stand-alone form asked alone.</p>"]
    out += _html_table(METRICS_HEAD, table_rows(m))
    if m.get("by_resolves"):
        out += _html_table(RESOLVES_HEAD, resolves_rows(m))
    for title, rs in turn_groups(conv):
        out.append(f"<h{level + 1}>{html.escape(title)} ({len(rs)})</h{level + 1}>")
        if rs:
            out += _html_table(TURN_HEAD, [_turn_row(r) for r in rs])
    return out


def render_alone(result: dict[str, Any], markdown: bool, meta_line: str, css: str) -> str:
    """A report of a run of conversation files only (no questions, so no question metrics or plots)."""
    if markdown:
        return "\n".join(["# Evaluation report", "", _md_cell(meta_line), ""] + markdown_section(result["conversations"]))
    e = html.escape
    return "\n".join(["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>Evaluation report</title>',
                      f"<style>{css}</style></head><body>", "<h1>Evaluation report</h1>", f"<p>{e(meta_line)}</p>"]
                     + html_section(result["conversations"]) + ["</body></html>"])
