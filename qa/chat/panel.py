"""The chat's documents panel as HTML: a collection's documents, skipped files, and its upload jobs.

Pure functions over plain data (qa.workspace.listing's list, qa.workspace.jobs' Job.to_dict()), no
gradio and no I/O; every name and message is escaped by qa.chat.render.escape.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from .render import EVIDENCE_PLACEHOLDER, escape
from .suggest import overview, render_overview

RECENT_JOBS = 5  # finished jobs still shown, newest first, so an upload's outcome stays readable
REFRESH_SECONDS = 2.0  # the panel refreshes this often while a job of its collection is queued or running
FILE_STATUS_TEXT = {"accepted": "waiting to be indexed", "refused": "refused", "indexed": "indexed",
                    "skipped": "skipped", "deleted": "deleted"}
JOB_STAGE_TEXT = ((0.3, "checked and staged"), (0.9, "building the index"), (1.0, "publishing"))
PANEL_PLACEHOLDER = '<div class="qa-panel qa-empty"><p class="qa-muted">Loading the documents…</p></div>'


def active(jobs: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any of these jobs is still queued or running (the panel keeps refreshing while one is)."""
    return any(j.get("state") in ("queued", "running") for j in jobs)


def _stage(progress: float) -> str:
    for upto, text in JOB_STAGE_TEXT:
        if progress < upto:
            return text
    return "publishing"


def _file_line(f: Mapping[str, Any]) -> str:
    status = str(f.get("status"))
    text = FILE_STATUS_TEXT.get(status, status)
    why = f.get("message") or f.get("reason")
    detail = f': {escape(why)}' if why and status in ("refused", "skipped") else ""
    return (f'<li class="qa-file qa-file-{escape(status)}"><span class="qa-file-name">{escape(f.get("name"))}</span>'
            f' <span class="qa-file-status">{escape(text)}{detail}</span></li>')


def render_job(job: Mapping[str, Any]) -> str:
    """One upload or deletion: its state (with a coarse stage while it runs) and each file's outcome."""
    kind = "Deleting" if job.get("kind") == "delete" else "Uploading"
    state = job.get("state")
    if state in ("queued", "running"):
        pct = int(round(100 * float(job.get("progress") or 0)))
        head = f'{kind}: {"waiting for its turn" if state == "queued" else _stage(float(job.get("progress") or 0))} ({pct}%)'
    elif state == "failed":
        head = f'{kind} failed: {escape(job.get("error") or "see the server log")}'
    else:
        head = "Deleted" if job.get("kind") == "delete" else "Upload finished"
    files = "".join(_file_line(f) for f in job.get("files") or ())
    return (f'<div class="qa-job qa-job-{escape(state)}" data-job="{escape(job.get("id"))}">'
            f'<p class="qa-job-head">{escape(head) if state != "failed" else head}</p><ul>{files}</ul></div>')


def _document_rows(docs: list[Mapping[str, Any]]) -> str:
    rows = []
    for d in docs:
        meta = [str(d.get("format") or "")]
        if d.get("pages"):
            meta.append(f'{d["pages"]} page{"s" if d["pages"] != 1 else ""}')
        if d.get("date"):
            meta.append(str(d["date"]))  # the cell does not wrap (.qa-doc-meta)
        rows.append(f'<tr><td class="qa-doc-title">{escape(d.get("title") or d.get("file"))}</td>'
                    f'<td class="qa-doc-file">{escape(d.get("file"))}</td>'
                    f'<td class="qa-doc-meta">{escape(" · ".join(m for m in meta if m))}</td></tr>')
    return "".join(rows)


def render_panel(listing: Mapping[str, Any], jobs: list[Mapping[str, Any]], role: Optional[str],
                 editable: bool) -> str:
    """The panel for one collection. `listing`: qa.workspace.listing.collection_documents; `jobs`: its
    jobs, oldest first; `role`: the visitor's; `editable`: whether uploads are possible at all (the demo
    never is)."""
    name = listing.get("collection")
    docs = list(listing.get("documents") or ())
    skipped = list(listing.get("skipped") or ())
    parts = [f'<div class="qa-panel" data-collection="{escape(name)}">']
    if listing.get("indexed"):
        n = len(docs)
        parts.append(f'<p class="qa-panel-head">{n} document{"s" if n != 1 else ""} in '
                     f'<b>{escape(name)}</b>' + (f', {len(skipped)} skipped' if skipped else "") + '</p>')
    else:
        parts.append(f'<p class="qa-panel-head"><b>{escape(name)}</b> has no index yet.</p>')
    running = [j for j in jobs if j.get("state") in ("queued", "running")]
    finished = [j for j in jobs if j.get("state") not in ("queued", "running")][-RECENT_JOBS:][::-1]
    shown = running + finished
    if shown:
        parts.append('<div class="qa-jobs">' + "".join(render_job(j) for j in shown) + "</div>")
    if docs:
        parts.append('<table class="qa-doc-table"><thead><tr><th>Title</th><th>File</th><th></th></tr></thead>'
                     f'<tbody>{_document_rows(docs)}</tbody></table>')
    if skipped:
        items = "".join(f'<li><span class="qa-file-name">{escape(s.get("file"))}</span>: '
                        f'{escape(s.get("message") or s.get("reason"))}</li>' for s in skipped)
        parts.append(f'<p class="qa-muted">Skipped when indexing:</p><ul class="qa-skipped">{items}</ul>')
    if not editable:
        parts.append('<p class="qa-muted">This collection is read-only here. To upload documents of your own, '
                     'create a collection with <code>qa collections create NAME</code>.</p>')
    elif role not in ("editor", "owner"):
        parts.append('<p class="qa-muted">You may read this collection; an editor or owner adds and deletes its '
                     'documents.</p>')
    parts.append("</div>")
    return "".join(parts)


INTRO_TITLES = 8  # documents named on the first screen; the Documents panel lists them all


def render_intro(listing: Mapping[str, Any]) -> str:
    """The first screen's evidence panel: what the collection holds (how many documents of which kind,
    the files skipped and why) and the first few titles, so a new user sees what there is to ask
    about before the first question; then the usual hint."""
    if not listing.get("indexed"):
        return EVIDENCE_PLACEHOLDER
    docs = list(listing.get("documents") or ())
    titles = sorted({(d.get("title") or d.get("file") or "").strip() for d in docs} - {""}, key=str.lower)
    shown = "".join(f"<li>{escape(t)}</li>" for t in titles[:INTRO_TITLES])
    more = (f'<li class="qa-muted">and {len(titles) - INTRO_TITLES} more (the Documents panel lists them)</li>'
            if len(titles) > INTRO_TITLES else "")
    listed = f'<ul class="qa-intro-titles">{shown}{more}</ul>' if shown else ""
    return (f'<div class="qa-intro" data-collection="{escape(listing.get("collection"))}">'
            f'<p class="qa-label">In this collection</p>{render_overview(overview(listing))}{listed}</div>'
            + EVIDENCE_PLACEHOLDER)
