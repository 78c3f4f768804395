"""A watched folder: the sync plan as a specification, a sync built and published, and the real watch loop."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.index.load import describe
from qa.neural.embedding import HashEmbedder
from qa.settings import PROJECT_ROOT, Settings
from qa.workspace import Workspace
from qa.workspace.jobs import FileResult, Jobs
from qa.workspace.watch import MANIFEST, Owned, Seen, Watcher, describe_batch, ignored, load_manifest, plan_sync
from support import env_with, fake_embedder

MB = 2**20
HARBOUR = b"The harbour was surveyed by Ana Lopes in 1901. It has two deep berths for ships.\n"
CRANES = b"The cranes on the east quay were built in 1920 by Bo Berg. They lift containers from ships.\n"
TIDES = b"The tide tables of the harbour are printed each spring. Spring tides reach four metres.\n"
PILOTS = b"Pilots guide the ships in at night. Their boats are painted red and white.\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plan(files: dict[str, bytes], owned=None, present=None, others=None, *, busy=(), broken=(), max_bytes=MB,
         seen=None):
    """plan_sync over in-memory folders: DIR's `files` (all with time 1 unless `seen` says), what the watch
    owns, what the collection holds. A read of a `busy` file gives None, of a `broken` one PermissionError;
    every read is recorded, so a test can say what was never opened."""
    reads = []

    def read(rel):
        reads.append(rel)
        if rel in broken:
            raise PermissionError(13, "Permission denied")
        return None if rel in busy else files[rel]

    source = {rel: (seen or {}).get(rel, Seen(len(data), 1)) for rel, data in files.items()}
    p = plan_sync(source, owned or {}, present or {}, others or {}, read, max_bytes)
    return p, reads


def owned_copy(data: bytes, mtime_ns: int = 1) -> Owned:
    return Owned(len(data), mtime_ns, sha(data))


# ----------------------------------------------------------------- the plan, as a specification

def test_new_files_are_added_subfolders_included():
    p, _ = plan({"a.txt": HARBOUR, "sub/deeper/b.md": CRANES})
    assert p.add == {"a.txt": owned_copy(HARBOUR), "sub/deeper/b.md": owned_copy(CRANES)}
    assert not (p.change or p.remove or p.refused or p.busy)


def test_an_unchanged_copy_is_kept_unread_and_a_changed_one_is_copied_again():
    owned = {"a.txt": owned_copy(HARBOUR), "b.txt": owned_copy(CRANES)}
    present = {"a.txt": len(HARBOUR), "b.txt": len(CRANES)}
    p, reads = plan({"a.txt": HARBOUR, "b.txt": TIDES}, owned, present)
    assert p.keep == {"a.txt": owned["a.txt"]} and reads == ["b.txt"]
    assert p.change == {"b.txt": owned_copy(TIDES)} and not p.add and not p.remove


def test_a_new_time_with_the_same_bytes_only_updates_the_manifest():
    p, _ = plan({"a.txt": HARBOUR}, {"a.txt": owned_copy(HARBOUR)}, {"a.txt": len(HARBOUR)},
                seen={"a.txt": Seen(len(HARBOUR), 7)})
    assert p.touched == {"a.txt": owned_copy(HARBOUR, 7)} and not p.changes


def test_a_copy_gone_from_the_collection_or_left_pending_by_a_crash_is_copied_again():
    pending = Owned(len(CRANES), 1, sha(CRANES), pending=True)
    p, _ = plan({"a.txt": HARBOUR, "b.txt": CRANES}, {"a.txt": owned_copy(HARBOUR), "b.txt": pending},
                {"b.txt": len(CRANES)})
    assert p.add == {"a.txt": owned_copy(HARBOUR)} and p.change == {"b.txt": owned_copy(CRANES)}


def test_a_file_gone_from_the_folder_is_removed_but_web_uploads_are_never_touched():
    owned = {"a.txt": owned_copy(HARBOUR), "sub/b.txt": owned_copy(CRANES)}
    others = {"web.txt": sha(TIDES), "Notes.md": sha(PILOTS)}
    present = {"a.txt": len(HARBOUR), "sub/b.txt": len(CRANES), "web.txt": len(TIDES), "Notes.md": len(PILOTS)}
    p, _ = plan({"a.txt": HARBOUR}, owned, present, others)
    assert p.remove == ("sub/b.txt",)
    assert not ({"web.txt", "Notes.md"} & {*p.remove, *p.add, *p.change, *p.touched})


def test_a_file_named_like_a_web_upload_or_holding_its_bytes_is_refused_not_copied():
    others = {"web.txt": sha(TIDES)}
    p, _ = plan({"WEB.txt": HARBOUR, "copy.txt": TIDES}, present={"web.txt": len(TIDES)}, others=others)
    assert {r.name: r.reason for r in p.refused} == {"WEB.txt": "exists", "copy.txt": "duplicate"}
    assert not p.add and all(r.message for r in p.refused)


def test_refused_files_name_their_reason_and_a_huge_one_is_never_opened():
    p, reads = plan({"fake.pdf": b"plain text, not a PDF", "empty.txt": b"", "big.txt": b"x" * (MB + 1),
                     "sheet.xlsx": b"PK", "bad:name.txt": HARBOUR, "we\u202eird/a.txt": CRANES,
                     "twice.txt": HARBOUR, "ok.txt": HARBOUR, "locked.txt": TIDES}, broken={"locked.txt"})
    assert {r.name: r.reason for r in p.refused} == {
        "fake.pdf": "type_mismatch", "empty.txt": "empty", "big.txt": "too_large", "sheet.xlsx": "unknown_type",
        "bad:name.txt": "bad_name", "we\u202eird/a.txt": "bad_name", "twice.txt": "duplicate",
        "locked.txt": "unreadable"}
    assert list(p.add) == ["ok.txt"]  # "ok.txt" sorts before "twice.txt": the second copy is the duplicate
    assert "big.txt" not in reads and "bad:name.txt" not in reads and "sheet.xlsx" not in reads


def test_a_copied_file_that_is_now_refused_is_removed():
    p, _ = plan({"a.txt": b"\x00\x01binary now"}, {"a.txt": owned_copy(HARBOUR)}, {"a.txt": len(HARBOUR)},
                seen={"a.txt": Seen(11, 2)})
    assert p.remove == ("a.txt",) and [r.reason for r in p.refused] == ["unknown_type"]


def test_a_file_being_written_is_busy_and_keeps_its_earlier_copy():
    owned = {"a.txt": owned_copy(HARBOUR)}
    p, _ = plan({"a.txt": HARBOUR + b"more", "new.txt": CRANES}, owned, {"a.txt": len(HARBOUR)},
                busy={"a.txt", "new.txt"}, seen={"a.txt": Seen(99, 2)})
    assert p.busy == ("a.txt", "new.txt") and p.keep == owned
    assert not (p.add or p.change or p.remove or p.refused)


@pytest.mark.parametrize("rel", [".hidden.txt", ".git/notes.txt", "sub/.cache/a.txt", "~$report.docx",
                                 ".~lock.report.docx#", "a.txt.swp", "notes.md~", "#notes.md#", "draft.tmp",
                                 "paper.pdf.crdownload", "Thumbs.db"])
def test_hidden_and_temp_files_are_ignored(rel):
    assert ignored(rel)
    p, reads = plan({rel: HARBOUR})
    assert p.ignored == (rel,) and not p.add and not p.refused and reads == []


def test_ordinary_names_are_not_ignored():
    assert not any(ignored(r) for r in ["a.txt", "sub/report.docx", "notes~draft.md", "tmp/a.txt", "a.temperature.md"])


# ----------------------------------------------------------------- a sync, built and published

@pytest.fixture
def ws(tmp_path):
    w = Workspace.open(tmp_path / "ws")
    w.create_collection("harbour")
    return w


def write(folder: Path, rel: str, data: bytes) -> None:
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_bytes(data)


def indexed(ws) -> list[str]:
    c = ws.collection("harbour")
    return sorted(Path(d["source"]).relative_to(c.documents.resolve()).as_posix() for d in describe(c.index)["documents"])


def published_build(ws) -> str:
    from qa.index.stores import open_store

    return open_store(ws.collection("harbour").index).recorded()["build_id"]


def watcher(ws, folder, lines, embedder=None, **kw):
    return Watcher(ws, ws.collection("harbour"), folder, embedder or fake_embedder(), Settings(embedder="fake",
                   max_upload_mb=1), log=lines.append, settle_s=0, **kw)


def test_a_sync_copies_builds_and_publishes_and_leaves_web_uploads_alone(ws, tmp_path):
    jobs = Jobs(ws, Settings(embedder="fake", max_upload_mb=1), fake_embedder())
    assert jobs.wait(jobs.submit_upload("harbour", [("web.txt", PILOTS)], "ana").id, 120).files == \
        (FileResult("web.txt", "indexed"),)
    src = tmp_path / "src"
    write(src, "a.txt", HARBOUR)
    write(src, "sub/b.md", CRANES)
    write(src, "fake.pdf", b"plain text, not a PDF")
    write(src, ".~lock.a.txt#", b"lock")
    lines = []
    w = watcher(ws, src, lines)
    b = w.sync(first=True)
    docs = ws.collection("harbour").documents
    assert indexed(ws) == ["a.txt", "sub/b.md", "web.txt"]
    assert (docs / "sub/b.md").read_bytes() == CRANES and not (docs / "fake.pdf").exists()
    assert not (docs / ".~lock.a.txt#").exists()
    line = describe_batch("harbour", b)
    assert "added a.txt, sub/b.md" in line and "fake.pdf (type_mismatch" in line and b.build_id in line
    assert b.build_id == published_build(ws)
    folder, owned = load_manifest(docs.parent / MANIFEST)
    assert folder == str(src.resolve()) and sorted(owned) == ["a.txt", "sub/b.md"]
    assert not any(e.pending for e in owned.values())

    write(src, "a.txt", TIDES)  # changed
    (src / "sub/b.md").unlink()  # gone
    b = w.sync()
    assert (sorted(b.plan.change), b.plan.remove) == (["a.txt"], ("sub/b.md",)) and b.error is None
    assert indexed(ws) == ["a.txt", "web.txt"] and (docs / "a.txt").read_bytes() == TIDES
    assert not (docs / "sub").exists()  # the folder it emptied went with it
    assert b.refused == []  # fake.pdf was told once; not again until it changes
    assert sorted(load_manifest(docs.parent / MANIFEST)[1]) == ["a.txt"]

    for rel in ("a.txt", "fake.pdf"):
        (src / rel).unlink()
    w.sync()
    assert indexed(ws) == ["web.txt"] and (docs / "web.txt").read_bytes() == PILOTS


class Broken(HashEmbedder):
    def encode(self, texts, show_progress=False):
        raise RuntimeError("the embedder is down")


def test_a_failed_build_keeps_the_published_index_and_its_files_and_the_next_sync_retries(ws, tmp_path):
    src = tmp_path / "src"
    write(src, "a.txt", HARBOUR)
    write(src, "b.txt", CRANES)
    lines = []
    w = watcher(ws, src, lines)
    first = w.sync(first=True).build_id
    docs = ws.collection("harbour").documents
    (src / "b.txt").unlink()
    write(src, "c.txt", TIDES)
    w.embedder = Broken()
    b = w.sync()
    assert "the embedder is down" in b.error and b.build_id is None
    line = describe_batch("harbour", b)
    assert "build failed, the previous index stays published" in line and "put back until a build succeeds b.txt" in line
    assert published_build(ws) == first and indexed(ws) == ["a.txt", "b.txt"]
    assert (docs / "b.txt").read_bytes() == CRANES  # the published index's file is back
    assert not list(docs.parent.glob(".watch-aside-*"))
    w.embedder = fake_embedder()
    b = w.sync()  # nothing new in the folder: it builds because the last build failed
    assert b.error is None and b.plan.remove == ("b.txt",) and indexed(ws) == ["a.txt", "c.txt"]


def test_the_demo_a_folder_inside_the_collection_and_a_second_watch_are_refused(ws, tmp_path):
    from qa.workspace.watch import watching

    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(QAError, match="project's own corpus"):
        Watcher(ws, ws.collection("demo"), src, fake_embedder())
    with pytest.raises(QAError, match="own documents folder"):
        watcher(ws, ws.root, [])
    with pytest.raises(QAError, match="not a folder"):
        write(src, "a.txt", HARBOUR)
        watcher(ws, src / "a.txt", [])
    with watching(ws, "harbour"), pytest.raises(QAError, match="already watched"):
        with watching(ws, "harbour"):
            pass


# ----------------------------------------------------------------- the real loop

def _wait_until(check, p: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise AssertionError(f"the watch ended ({p.returncode}) before {what}: {p.stderr.read()[-2000:]}")
        try:
            if check():
                return
        except Exception:  # the index may not exist yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


@pytest.mark.slow
def test_the_watch_command_follows_the_folder_and_stops_cleanly_on_ctrl_c(ws, tmp_path):
    src = tmp_path / "src"
    write(src, "a.txt", HARBOUR)
    p = subprocess.Popen([sys.executable, "-m", "qa", "index", "--collection", "harbour", "--watch", str(src),
                          "--debounce-ms", "200"], env=env_with(QA_WORKSPACE=str(ws.root)), cwd=str(PROJECT_ROOT),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until(lambda: indexed(ws) == ["a.txt"], p, "the first sync published a.txt")
        write(src, "sub/b.md", CRANES)
        _wait_until(lambda: indexed(ws) == ["a.txt", "sub/b.md"], p, "the new file was published")
        (src / "sub/b.md").unlink()
        _wait_until(lambda: indexed(ws) == ["a.txt"], p, "the removed file was published away")
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "stopped watching" in err
    assert "added sub/b.md" in err and "removed sub/b.md" in err
    owned = json.loads((ws.collection("harbour").documents.parent / MANIFEST).read_text())["files"]
    assert sorted(owned) == ["a.txt"]
    assert os.listdir(ws.collection("harbour").documents) == ["a.txt"]


@pytest.mark.parametrize("args,says", [
    (["--watch", "{src}"], "--watch needs --collection NAME"),
    (["--collection", "nope", "--watch", "{src}"], "no collection 'nope'"),
    (["--collection", "demo", "--watch", "{src}"], "the demo collection is the project's own corpus"),
    (["--collection", "harbour", "--watch", "{src}/missing"], "no folder"),
    (["--collection", "harbour", "--watch", "{src}/a.txt"], "is not a folder"),
    (["--collection", "harbour", "--debounce-ms", "100"], "--debounce-ms is for --watch"),
    (["--collection", "harbour", "--watch", "{src}", "--debounce-ms", "0"], "--debounce-ms must be between"),
])
def test_the_command_refuses_bad_input_in_one_line(ws, tmp_path, monkeypatch, capsys, args, says):
    from qa.cli import main
    from support import assert_one_line_error

    src = tmp_path / "src"
    write(src, "a.txt", HARBOUR)
    monkeypatch.setenv("QA_WORKSPACE", str(ws.root))
    monkeypatch.setenv("QA_EMBEDDER", "fake")
    rc = main(["index", *[a.format(src=src) for a in args]])
    err = capsys.readouterr().err
    assert_one_line_error(rc, err, "index")
    assert says in err


def test_a_missing_watchfiles_names_its_pip_command(ws, tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # as if not installed: importing it fails
    with pytest.raises(QAError, match="pip install watchfiles"):
        watcher(ws, src, []).run()


def test_a_first_file_still_being_written_waits_quietly_instead_of_failing_a_build(ws, tmp_path):
    src = tmp_path / "src"
    write(src, "a.txt", HARBOUR)  # written just now: with an hour to settle, it is still "being written"
    w = Watcher(ws, ws.collection("harbour"), src, fake_embedder(), Settings(embedder="fake", max_upload_mb=1),
                log=[].append, settle_s=3600)
    b = w.sync(first=True)
    assert b.plan.busy == ("a.txt",) and b.error is None and b.report is None
    line = describe_batch("harbour", b)
    assert "still being written, retried a.txt" in line and "failed" not in line and "in step" not in line
    w.settle_s = 0  # settled: the next batch copies and builds it
    assert w.sync().build_id == published_build(ws) and indexed(ws) == ["a.txt"]
