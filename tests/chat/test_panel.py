"""qa.chat.panel: the documents panel says what a collection holds and what became of each upload."""
from __future__ import annotations

from qa.chat.panel import RECENT_JOBS, active, render_job, render_panel

LISTING = {"collection": "harbour", "indexed": True, "built_at": "2026-12-06T10:00:00+00:00",
           "documents": [{"doc_id": "d1", "title": "Harbour survey", "file": "survey.txt", "format": "txt",
                          "pages": None, "date": None},
                         {"doc_id": "d2", "title": None, "file": "log.pdf", "format": "pdf", "pages": 3,
                          "date": "2024-01-01"}],
           "skipped": [{"file": "scan.pdf", "reason": "no-text-layer", "message": "scan.pdf has no text layer"}]}


def job(state, files, kind="upload", progress=0.5, error=None, id="j1"):
    return {"id": id, "collection": "harbour", "kind": kind, "state": state, "progress": progress,
            "files": files, "error": error}


def test_the_panel_lists_documents_and_skipped_files_with_their_reasons():
    html = render_panel(LISTING, [], "reader", editable=True)
    assert "2 documents in" in html and "1 skipped" in html
    assert "Harbour survey" in html and "log&#46;pdf" in html  # a document without a title shows its file
    assert "3 pages" in html and "scan&#46;pdf has no text layer" in html
    assert "editor or owner adds" in html  # a reader is told who may add documents


def test_each_uploaded_file_shows_what_became_of_it():
    files = [{"name": "a.pdf", "status": "indexed"},
             {"name": "b.pdf", "status": "refused", "reason": "type_mismatch", "message": "b.pdf is not a PDF"},
             {"name": "c.docx", "status": "skipped", "reason": "corrupt", "message": None}]
    html = render_job(job("done", files, progress=1.0))
    assert "Upload finished" in html
    assert "qa-file-indexed" in html and "b&#46;pdf is not a PDF" in html and "corrupt" in html
    running = render_job(job("running", [{"name": "a.pdf", "status": "accepted"}], progress=0.3))
    assert "building the index" in running and "30&#37;" in running and "waiting to be indexed" in running
    failed = render_job(job("failed", [], error="<script>alert(1)</script>"))
    assert "failed" in failed and "<script>" not in failed  # escaped like everything else


def test_running_jobs_come_first_and_only_the_last_finished_ones_are_kept():
    finished = [job("done", [{"name": f"f{i}.txt", "status": "indexed"}], id=f"d{i}") for i in range(RECENT_JOBS + 3)]
    jobs = finished + [job("queued", [{"name": "new.txt", "status": "accepted"}], id="q")]
    html = render_panel(LISTING, jobs, "editor", editable=True)
    assert html.index('data-job="q"') < html.index(f'data-job="d{RECENT_JOBS + 2}"')
    assert 'data-job="d0"' not in html and html.count("qa-job ") == RECENT_JOBS + 1
    assert active(jobs) and not active(finished)


def test_a_read_only_collection_says_how_to_get_one_to_upload_to():
    html = render_panel({**LISTING, "collection": "demo"}, [], "reader", editable=False)
    assert "read-only" in html and "qa collections create NAME" in html
    empty = render_panel({"collection": "new", "indexed": False, "documents": [], "skipped": []}, [], "owner", True)
    assert "has no index yet" in empty and "read-only" not in empty


def test_the_first_screen_says_what_the_collection_holds_and_names_its_documents():
    from qa.chat.panel import INTRO_TITLES, render_intro

    html = render_intro(LISTING)
    assert "In this collection" in html and "2 documents" in html and "scan&#46;pdf" in html
    assert "Harbour survey" in html and "log&#46;pdf" in html  # titles, or the file when there is none
    many = {**LISTING, "documents": [{"doc_id": f"d{i}", "title": f"Report {i:02d}", "file": f"r{i}.txt",
                                      "format": "txt"} for i in range(INTRO_TITLES + 3)]}
    html = render_intro(many)
    assert html.count("<li>Report") == INTRO_TITLES and "and 3 more" in html
    assert "Click a citation" in html  # the usual hint still follows
    assert "In this collection" not in render_intro({"collection": "new", "indexed": False})
