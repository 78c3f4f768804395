"""Upload and delete jobs: refusals recorded, files staged then indexed, one build at a time, crash recovery."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from qa.errors import QAError
from qa.index.load import describe, load_index
from qa.settings import PROJECT_ROOT, Settings
from qa.workspace import Workspace
from qa.workspace.jobs import FileResult, Job, Jobs
from support import env_with, fake_embedder

HARBOUR = (b"The harbour was surveyed by Ana Lopes in 1901. It has two deep berths for ships.\n\n"
           b"A second paragraph tells of cranes, tides and the pilots who guide the ships in.\n")
CRANES = b"The cranes on the east quay were built in 1920 by Bo Berg. They lift containers from ships.\n"
TIDES = b"The tide tables of the harbour are printed each spring. Spring tides reach four metres.\n"


@pytest.fixture
def ws(tmp_path):
    w = Workspace.open(tmp_path / "ws")
    w.create_collection("harbour")
    return w


def make_jobs(ws, **kw):
    return Jobs(ws, Settings(embedder="fake", max_upload_mb=1), fake_embedder(), **kw)


def seeded(ws, **kw):
    """Jobs over a collection whose index holds one document (harbour.txt)."""
    jobs = make_jobs(ws, **kw)
    job = jobs.wait(jobs.submit_upload("harbour", [("harbour.txt", HARBOUR)], None).id, 120)
    assert job.state == "done" and job.files == (FileResult("harbour.txt", "indexed"),), job
    return jobs


def doc_ids(ws):
    return sorted(d["doc_id"] for d in describe(ws.collection("harbour").index)["documents"])


def test_refused_files_are_recorded_with_their_reasons_and_nothing_is_written(ws):
    jobs = seeded(ws)
    docs = ws.collection("harbour").documents
    before = sorted(p.name for p in docs.iterdir())
    job = jobs.submit_upload("harbour", [
        ("../escape.txt", b"sneaky"),
        ("big.txt", b"a" * (2**20 + 1)),
        ("fake.pdf", b"plain text, not a PDF at all"),
        ("again.txt", HARBOUR),  # same bytes as harbour.txt
        ("harbour.txt", b"Other words under the same name.\n"),
        ("a\x00b.txt", b"nul in the name"),
    ], "ana")
    assert job.state == "done" and job.progress == 1.0 and job.finished and job.user == "ana"
    assert [(f.status, f.reason) for f in job.files] == [
        ("refused", "bad_name"), ("refused", "too_large"), ("refused", "type_mismatch"),
        ("refused", "duplicate"), ("refused", "exists"), ("refused", "bad_name")]
    assert all(f.message for f in job.files)
    assert job.files[5].name == "a\\x00b.txt"  # escaped: a record never holds a raw NUL
    assert sorted(p.name for p in docs.iterdir()) == before
    assert not list(jobs.dir.glob("*.files"))
    assert jobs.get(job.id) == job and json.loads((jobs.dir / f"{job.id}.json").read_text())["id"] == job.id
    assert Job.from_dict(job.to_dict()) == job


def test_accepted_files_are_indexed_or_skipped_and_the_old_index_answers_until_publish(ws):
    from formats_fixtures import draw_pdf

    gate, reached = threading.Event(), threading.Event()

    def hold(_work):  # the new build is written but not yet published
        reached.set()
        assert gate.wait(60)

    jobs = seeded(ws)
    jobs._after_write = hold
    index = ws.collection("harbour").index
    old = load_index(index)
    job = jobs.submit_upload("harbour", [("cranes.txt", CRANES), ("scan.pdf", draw_pdf([[]])),
                                         ("cranes copy.txt", CRANES)], None)
    assert [f.status for f in job.files] == ["accepted", "accepted", "refused"]
    assert job.files[2].reason == "duplicate"  # a second copy within one upload
    try:
        assert reached.wait(60)
        running = jobs.get(job.id)
        assert running.state == "running" and running.progress == 0.9
        # the files are in the folder, but readers still get the published index
        assert (ws.collection("harbour").documents / "cranes.txt").read_bytes() == CRANES
        assert doc_ids(ws) == ["harbour"] and len(load_index(index).documents) == 1
        assert len(old.documents) == 1
    finally:
        gate.set()
    job = jobs.wait(job.id, 120)
    assert job.state == "done" and job.error is None and job.progress == 1.0
    assert job.files[0] == FileResult("cranes.txt", "indexed")
    assert job.files[1].status == "skipped" and job.files[1].reason == "no-text-layer" and job.files[1].message
    assert doc_ids(ws) == ["cranes", "harbour"]
    assert not list(jobs.dir.glob("*.files"))  # staging emptied


def test_delete_removes_the_document_and_a_failed_build_puts_it_back(ws):
    jobs = seeded(ws)
    jobs.wait(jobs.submit_upload("harbour", [("cranes.txt", CRANES)], None).id, 120)
    docs = ws.collection("harbour").documents
    with pytest.raises(QAError, match="no document"):
        jobs.delete_document("harbour", "nope", None)
    job = jobs.wait(jobs.delete_document("harbour", "cranes", "ana").id, 120)
    assert job.kind == "delete" and job.state == "done" and job.files == (FileResult("cranes.txt", "deleted"),)
    assert doc_ids(ws) == ["harbour"] and not (docs / "cranes.txt").exists()
    # the last document: an index needs one, so the build fails and the file is put back
    job = jobs.wait(jobs.delete_document("harbour", "harbour", None).id, 120)
    assert job.state == "failed" and "no documents" in job.error
    assert (docs / "harbour.txt").read_bytes() == HARBOUR and doc_ids(ws) == ["harbour"]
    with pytest.raises(QAError, match="demo"):
        jobs.submit_upload("demo", [("x.txt", CRANES)], None)


def test_two_jobs_on_one_collection_run_one_build_at_a_time(ws):
    spans, lock = [], threading.Lock()
    gate = threading.Event()

    def slow(_work):
        with lock:
            spans.append(("publish", time.monotonic()))
        assert gate.wait(60)

    jobs = seeded(ws)
    jobs._after_write = slow
    first = jobs.submit_upload("harbour", [("cranes.txt", CRANES)], None)
    second = jobs.submit_upload("harbour", [("tides.txt", TIDES)], None)
    deadline = time.monotonic() + 60
    while jobs.get(first.id).progress < 0.9 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert jobs.get(first.id).state == "running"
    time.sleep(0.3)
    assert jobs.get(second.id).state == "queued"  # waits its turn while the first build is held
    # its file is still staged, not in the folder the first build reads
    assert not (ws.collection("harbour").documents / "tides.txt").exists()
    gate.set()
    a, b = jobs.wait(first.id, 120), jobs.wait(second.id, 120)
    assert a.state == b.state == "done" and a.finished <= b.finished
    assert len(spans) == 2 and doc_ids(ws) == ["cranes", "harbour", "tides"]
    assert [j.id for j in jobs.list("harbour")][-2:] == [first.id, second.id]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_recover_reruns_a_job_a_dead_process_left_and_fails_one_it_cannot_finish(ws, monkeypatch):
    jobs = seeded(ws)
    monkeypatch.setattr(Jobs, "_enqueue", lambda self, job: None)  # "crash" before the worker takes it
    left = jobs.submit_upload("harbour", [("cranes.txt", CRANES)], None)
    ws.create_collection("gone")
    orphan = jobs.submit_upload("gone", [("tides.txt", TIDES)], None)
    monkeypatch.undo()
    for job in (left, orphan):  # as a killed process leaves them
        path = jobs.dir / f"{job.id}.json"
        rec = json.loads(path.read_text())
        rec.update(state="running", pid=_dead_pid())
        path.write_text(json.dumps(rec))
    ws.delete_collection("gone")
    fresh = make_jobs(ws)
    assert sorted(j.id for j in fresh.recover()) == sorted([left.id, orphan.id])
    done = fresh.wait(left.id, 120)
    assert done.state == "done" and done.files == (FileResult("cranes.txt", "indexed"),)
    failed = fresh.wait(orphan.id, 120)
    assert failed.state == "failed" and "no collection 'gone'" in failed.error
    assert fresh.recover() == []  # nothing left to recover, and a finished job is never re-run
    # a job whose owner is alive (this process, through another Jobs) is left to it
    assert make_jobs(ws).recover() == []


CHILD = r"""
import sys, time
from pathlib import Path
from qa.settings import Settings
from qa.workspace import Workspace
from qa.workspace.jobs import Jobs

marker = Path(sys.argv[2])

def hang(work):
    marker.write_text(str(work))
    time.sleep(600)  # the parent kills this process here: written, not published

jobs = Jobs(Workspace.open(sys.argv[1]), Settings(embedder="fake"), _after_write=hang)
job = jobs.submit_upload("harbour", [("cranes.txt", sys.argv[3].encode())], None)
print(job.id, flush=True)
jobs.wait(job.id, 600)
"""

RECOVER = r"""
import json, sys
from qa.settings import Settings
from qa.workspace import Workspace
from qa.workspace.jobs import Jobs

jobs = Jobs(Workspace.open(sys.argv[1]), Settings(embedder="fake"))
ids = [j.id for j in jobs.recover()]
print(json.dumps({"recovered": ids, "job": jobs.wait(sys.argv[2], 300).to_dict()}))
"""


@pytest.mark.slow
def test_kill9_during_an_upload_build_keeps_the_old_index_and_recover_finishes_it(tmp_path):
    """A job killed (-9) between writing and publishing its build: the old index loads and answers, the
    job is left running with its file in the collection, and a fresh process's recover() indexes it."""
    from qa.pipeline import open_answerer

    w = Workspace.open(tmp_path / "ws")
    c = w.create_collection("harbour")
    jobs = Jobs(w, Settings(embedder="fake"))  # the fake the child makes from its settings
    assert jobs.wait(jobs.submit_upload("harbour", [("harbour.txt", HARBOUR)], None).id, 120).state == "done"
    before = describe(c.index)
    marker = tmp_path / "written"
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(w.root), str(marker), CRANES.decode()],
                         env=env_with(), cwd=str(PROJECT_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job_id = p.stdout.readline().strip()
        deadline = time.monotonic() + 120
        while not marker.exists() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), p.stderr.read() if p.poll() is not None else "the build never reached publishing"
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.kill()
        p.wait(30)
        p.stdout.close()
        p.stderr.close()
    assert p.returncode == -signal.SIGKILL

    # the previous index is intact: same build, loads, verifies and answers from it
    after = describe(c.index)
    assert after["built_at"] == before["built_at"] and [d["doc_id"] for d in after["documents"]] == ["harbour"]
    # check_corpus=False, as a server of collections opens them: the folder already holds the upload,
    # so it is newer than the published index until the job publishes
    answer = open_answerer(c.index, Settings(embedder="fake"), check_corpus=False).ask("Who surveyed the harbour?")
    cited = answer.citations or answer.closest  # the fake embedder may decline; it still cites the old index
    assert cited and all(x.doc_id == "harbour" for x in cited)
    stuck = Jobs(w, Settings(embedder="fake")).get(job_id)
    assert stuck.state == "running" and stuck.files == (FileResult("cranes.txt", "accepted"),)
    assert (c.documents / "cranes.txt").read_bytes() == CRANES  # never lost: in the collection

    r = subprocess.run([sys.executable, "-c", RECOVER, str(w.root), job_id], env=env_with(), cwd=str(PROJECT_ROOT),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["recovered"] == [job_id]
    assert out["job"]["state"] == "done" and out["job"]["files"][0]["status"] == "indexed", out
    assert sorted(d["doc_id"] for d in describe(c.index)["documents"]) == ["cranes", "harbour"]
    load_index(c.index)
