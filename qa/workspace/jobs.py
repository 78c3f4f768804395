"""Background jobs that turn uploads and deletions into a collection's published index, one build at a time.

    from qa.workspace.jobs import Jobs, Job, FileResult
    jobs = Jobs(ws, settings, embedder=None)      # one per process; the embedder is made when first needed
    job = jobs.submit_upload(collection, [(name, data), ...], user)   # checked, staged, then built
    job = jobs.delete_document(collection, doc_id, user)             # QAError for an unknown doc_id
    jobs.get(job_id) -> Optional[Job]; jobs.list(collection=None) -> [Job] (oldest first)
    jobs.recover() -> [Job]          # at start-up: re-runs what a crash left queued or running
    jobs.wait(job_id, timeout) -> Job  # TimeoutError when it is not finished in time

Role checks are the caller's: the API checks `ws.may(user, collection, "editor")` first.

On disk, under `<workspace>/jobs/`: `<id>.json` is a job's record (replaced atomically), `<id>.files/` its
staged uploads (or, for a deletion, the removed file until the new index is published), and
`<collection>.lock` / `<collection>.stage.lock` serialise builds and staging across threads and processes.

Why staged: an upload's files are written (temp file + os.replace) to the job's folder when it is
submitted, and moved into the collection's documents folder only when the job's turn comes, under the
collection's build lock. So a build always reads a folder nothing else is changing, the document routes
serve exactly the published index's files until the next publish, and a crash at any moment leaves
every accepted byte either staged or in the documents folder, where `recover()` finds it.

Progress is a coarse fraction, not a measurement: 0.1 files checked and staged, 0.2 moved into the
collection, 0.3 build started, 0.9 build written (publishing), 1.0 finished.
Long because a job's whole life (check, stage, move in, build, statuses, failure, recovery) is kept in
one module, so its crash safety can be read in one place.
"""
from __future__ import annotations

import hashlib
import logging
import os
import queue
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import QAError
from ..ingest.uploads import UploadRefused, check_upload, shown
from ..settings import Settings
from .collections import Collection, Workspace
from .files import WorkspaceLock, fsync_dir, read_json, write_bytes_atomic, write_json_atomic
from .users import now

STATES = ("queued", "running", "done", "failed")
KINDS = ("upload", "delete")
# "deleted" is the file of a delete job once the index without it is published
FILE_STATUSES = ("accepted", "refused", "indexed", "skipped", "deleted")
STAGED, MOVED, BUILDING, WRITTEN, FINISHED = 0.1, 0.2, 0.3, 0.9, 1.0
_ID = re.compile(r"[0-9]{8}T[0-9]{6}-[0-9a-f]{12}")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileResult:
    """One file of a job: accepted (staged or in the collection, not indexed yet), refused (never written;
    `reason` a qa.ingest.uploads refusal code), indexed, skipped by the indexer (`reason` its SkipFile
    code), or deleted."""
    name: str
    status: str
    reason: Optional[str] = None
    message: Optional[str] = None

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class Job:
    """An upload or a deletion and the build that publishes it; dates are ISO UTC strings."""
    id: str
    collection: str
    kind: str
    state: str
    progress: float
    files: tuple[FileResult, ...]
    error: Optional[str]
    created: str
    finished: Optional[str]
    user: Optional[str]

    def to_dict(self) -> dict:
        return {"id": self.id, "collection": self.collection, "kind": self.kind, "state": self.state,
                "progress": self.progress, "files": [f.to_dict() for f in self.files], "error": self.error,
                "created": self.created, "finished": self.finished, "user": self.user}

    @classmethod
    def from_dict(cls, d: dict) -> "Job":
        files = tuple(FileResult(f["name"], f["status"], f.get("reason"), f.get("message")) for f in d["files"])
        return cls(d["id"], d["collection"], d["kind"], d["state"], float(d["progress"]), files, d.get("error"),
                   d["created"], d.get("finished"), d.get("user"))


class Jobs:
    """The jobs of one workspace, run by one worker thread per collection (so a collection's jobs run in
    the order they were submitted, one build at a time) and by a file lock across processes.
    `_after_write` is called with a build's folder just before it is published (tests crash a job there)."""

    def __init__(self, ws: Workspace, settings: Optional[Settings] = None, embedder=None, *,
                 _after_write: Optional[Callable[[Any], None]] = None):
        self.ws = ws
        self.settings = settings or Settings.from_env()
        self._embedder = embedder
        self._after_write = _after_write
        self.dir = ws.root / "jobs"
        self._mutex = threading.Lock()
        self._queues: dict[str, queue.Queue] = {}
        self._locks: dict[str, WorkspaceLock] = {}
        self._mine: set[str] = set()  # ids queued or running in this process

    # ----------------------------------------------------------------- the interface

    def submit_upload(self, collection: str, files: list[tuple[str, bytes]], user: Optional[str]) -> Job:
        """Check every file, stage the accepted ones and queue the build; refused files are only recorded.
        A file named like one already in the collection (case aside) with other bytes is refused as
        `exists`: replacing it would silently lose the old version."""
        c = self._editable(collection)
        if not files:
            raise QAError("no files to upload", fix="choose at least one file")
        job_id = _new_id()
        max_bytes = self.settings.max_upload_mb * 2**20
        results: list[FileResult] = []
        with self._lock(f"{c.name}.stage").held():
            hashes, names = self._existing(c)
            staged = self._staging(job_id)
            for name, data in files:
                try:
                    up = check_upload(name, data, max_bytes=max_bytes, existing_hashes=hashes)
                    if up.name.casefold() in names:
                        raise UploadRefused("exists", f"{shown(up.name)} is already in collection {c.name!r} with "
                                                      "other contents; delete that document first, or rename this file")
                except UploadRefused as e:
                    results.append(FileResult(_label(name), "refused", e.reason_code, e.message))
                    continue
                hashes[up.sha256] = up.name  # a second copy in the same upload is a duplicate too
                names[up.name.casefold()] = up.name
                _write_atomic(staged / up.name, bytes(data))
                results.append(FileResult(up.name, "accepted"))
            accepted = any(r.status == "accepted" for r in results)
            job = Job(job_id, c.name, "upload", "queued" if accepted else "done", STAGED if accepted else FINISHED,
                      tuple(results), None, now(), None if accepted else now(), user)
            self._save(job)  # under the stage lock: another upload now sees these files as staged
        if accepted:
            self._enqueue(job)
        return job

    def delete_document(self, collection: str, doc_id: str, user: Optional[str]) -> Job:
        """Queue the removal of the file behind the published document `doc_id` and the rebuild without it.
        The file stays in place until the job runs, and is kept aside until the new index is published:
        a failed build puts it back."""
        c = self._editable(collection)
        doc = next((d for d in self._describe(c)["documents"] if d["doc_id"] == doc_id), None)
        if doc is None:
            raise QAError(f"no document {str(doc_id)[:80]!r} in collection {c.name!r}",
                          fix="list its documents to see their ids")
        try:
            rel = Path(doc["source"]).resolve().relative_to(c.documents.resolve()).as_posix()
        except ValueError:  # an index built from another folder: never delete a file outside the collection
            raise QAError(f"document {doc_id!r} is not a file of collection {c.name!r}'s documents folder") from None
        job = Job(_new_id(), c.name, "delete", "queued",
                  0.0, (FileResult(rel, "accepted"),), None, now(), None, user)
        self._save(job)
        self._enqueue(job)
        return job

    def get(self, job_id: str) -> Optional[Job]:
        """The job, or None (an id that is not one, or a record that is damaged: logged)."""
        if not isinstance(job_id, str) or not _ID.fullmatch(job_id):
            return None
        try:
            rec = read_json(self.dir / f"{job_id}.json", None)
            return Job.from_dict(rec) if rec is not None else None
        except (QAError, KeyError, TypeError, ValueError) as e:
            log.warning("job record %s is damaged and left as it is: %s", job_id, e)
            return None

    def list(self, collection: Optional[str] = None) -> list[Job]:
        """Every job (of `collection`), oldest first: ids start with their UTC time."""
        if not self.dir.is_dir():
            return []
        jobs = (self.get(p.stem) for p in sorted(self.dir.glob("*.json")))
        return [j for j in jobs if j is not None and (collection is None or j.collection == collection)]

    def recover(self) -> list[Job]:
        """Queue again every job left queued or running by a process that is gone (killed, crashed, or
        stopped mid-build); each then finishes or is marked failed with its reason. Call at start-up."""
        out = []
        for job in self.list():
            if job.state in ("queued", "running") and job.id not in self._mine:
                rec = read_json(self.dir / f"{job.id}.json", {})
                if _alive(rec.get("pid"), rec.get("pid_start")):
                    continue  # another live process owns it and will finish it
                log.warning("recovering job %s (%s, %s) left %s by process %s", job.id, job.kind, job.collection,
                            job.state, rec.get("pid"))
                self._enqueue(job)
                out.append(job)
        return out

    def wait(self, job_id: str, timeout: float = 600.0) -> Job:
        """The job once done or failed; TimeoutError if it is not finished within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None:
                raise QAError(f"no job {str(job_id)[:40]!r}")
            if job.state in ("done", "failed"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.state} after {timeout:g}s")
            time.sleep(0.05)

    @property
    def embedder(self):
        with self._mutex:
            if self._embedder is None:
                from ..neural.embedding import make_embedder

                self._embedder = make_embedder(self.settings)
            return self._embedder

    # ----------------------------------------------------------------- running a job

    def _enqueue(self, job: Job) -> None:
        with self._mutex:
            self._mine.add(job.id)
            q = self._queues.get(job.collection)
            if q is None:
                q = self._queues[job.collection] = queue.Queue()
                threading.Thread(target=self._worker, args=(q,), name=f"qa-jobs-{job.collection}", daemon=True).start()
        q.put(job.id)

    def _worker(self, q: "queue.Queue[str]") -> None:
        # Daemon thread: a process that exits mid-build is a crash like any other, which recover() handles.
        while True:
            job_id = q.get()
            try:
                self._run(job_id)
            except Exception:  # _run records every failure; this is a bug in the recording itself
                log.exception("job %s could not be recorded as failed", job_id)
            finally:
                with self._mutex:
                    self._mine.discard(job_id)

    def _run(self, job_id: str) -> None:
        job = self.get(job_id)
        if job is None:
            return
        with self._lock(job.collection).held():
            job = self.get(job_id)  # again: another process may have finished it while we waited
            if job is None or job.state in ("done", "failed"):
                return
            job = self._save(replace(job, state="running"))
            try:
                c = self.ws.collection(job.collection)
                if job.kind == "upload":
                    job = self._run_upload(c, job)
                else:
                    job = self._run_delete(c, job)
            except Exception as e:
                if not isinstance(e, QAError):
                    log.exception("job %s failed", job_id)
                why = str(e) if isinstance(e, QAError) else f"{type(e).__name__}: {e}"
                job = self.get(job_id) or job
                kept = " (its files are kept in the collection; the next build that succeeds indexes them)" \
                    if job.kind == "upload" and any(f.status == "accepted" for f in job.files) else ""
                self._save(replace(job, state="failed", error=why[:500] + kept, finished=now()))

    def _run_upload(self, c: Collection, job: Job) -> Job:
        staged = self._staging(job.id)
        files = list(job.files)
        c.documents.mkdir(parents=True, exist_ok=True)
        with self._lock(f"{c.name}.stage").held():
            for i, f in enumerate(files):
                src, dst = staged / f.name, c.documents / f.name
                if f.status != "accepted" or not src.exists():
                    continue  # refused, or moved in by a run a crash interrupted
                if not _move_no_clobber(src, dst):
                    if _sha256(dst) == _sha256(src):
                        src.unlink()  # the interrupted run had linked it in already
                    else:  # a file of that name appeared by another way since the upload was checked
                        files[i] = FileResult(f.name, "refused", "exists", f"{shown(f.name)} appeared in collection "
                                              f"{c.name!r} with other contents meanwhile; it was not replaced")
                        src.unlink()
            shutil.rmtree(staged, ignore_errors=True)
        job = self._save(replace(job, files=tuple(files), progress=MOVED))
        self._build(c, job)
        published = self._describe(c)
        sources = {d["source"] for d in published["documents"]}
        skipped = {s["source"]: s for s in published["skipped"]}
        missing = []
        for i, f in enumerate(files):
            if f.status != "accepted":
                continue
            path = str(c.documents.resolve() / f.name)
            if path in skipped:
                files[i] = FileResult(f.name, "skipped", skipped[path]["reason"], skipped[path]["message"])
            elif path in sources:
                files[i] = FileResult(f.name, "indexed")
            else:  # never report success for a file the index does not account for
                missing.append(f.name)
        error = f"not in the published index: {', '.join(missing)}" if missing else None
        return self._save(replace(job, files=tuple(files), state="failed" if missing else "done", progress=FINISHED,
                                  error=error, finished=now()))

    def _run_delete(self, c: Collection, job: Job) -> Job:
        rel = job.files[0].name
        src, kept = c.documents / rel, self._staging(job.id) / "file"
        if src.exists() and not kept.exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, kept)  # set aside, not removed, until the index without it is published
            fsync_dir(src.parent)
        job = self._save(replace(job, progress=MOVED))
        try:
            self._build(c, job)
        except BaseException:
            if kept.exists() and not _move_no_clobber(kept, src):
                log.error("job %s: %s could not be put back; it is kept at %s", job.id, rel, kept)
            else:
                shutil.rmtree(kept.parent, ignore_errors=True)
            raise
        shutil.rmtree(kept.parent, ignore_errors=True)
        return self._save(replace(job, files=(FileResult(rel, "deleted"),), state="done", progress=FINISHED,
                                  finished=now()))

    def _build(self, c: Collection, job: Job) -> None:
        from ..index.build import BuildOptions, build_index

        self._save(replace(job, progress=BUILDING))

        def written(work) -> None:
            self._save(replace(self.get(job.id) or job, progress=WRITTEN))
            if self._after_write is not None:
                self._after_write(work)

        build_index(c.documents.resolve(), c.index, self.embedder, BuildOptions(), store=c.store, _after_write=written)

    # ----------------------------------------------------------------- helpers

    def _editable(self, name: str) -> Collection:
        c = self.ws.collection(name)
        if c.is_demo:
            raise QAError("the demo collection is the project's own corpus: nobody uploads to it or deletes from it",
                          fix="create a collection of your own with `qa collections create NAME`")
        return c

    def _describe(self, c: Collection) -> dict:
        from ..index.load import describe, load_index

        return describe(load_index(c.store, search=False) if c.store else c.index)

    def _existing(self, c: Collection) -> tuple[dict[str, str], dict[str, str]]:
        """{sha256: name} of the collection's files and of uploads staged for it, and {casefolded name:
        name} of its top-level files and staged uploads (uploads are written at the top)."""
        hashes: dict[str, str] = {}
        names: dict[str, str] = {}
        if c.documents.is_dir():
            for p in sorted(c.documents.rglob("*")):
                rel = p.relative_to(c.documents)
                if p.is_file() and not any(part.startswith(".") for part in rel.parts):
                    hashes[_sha256(p)] = rel.as_posix()
                    if len(rel.parts) == 1:
                        names[p.name.casefold()] = p.name
        for job in self.list(c.name):
            if job.kind == "upload" and job.state in ("queued", "running"):
                for p in sorted(self._staging(job.id).glob("*")):
                    if p.is_file() and not p.name.startswith("."):
                        hashes[_sha256(p)] = p.name
                        names[p.name.casefold()] = p.name
        return hashes, names

    def _staging(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.files"

    def build_lock(self, name: str) -> WorkspaceLock:
        """The lock a build of collection `name` holds (`NAME.stage`: its staging), across threads and
        processes: a watched folder (qa.workspace.watch) takes the same ones, so it never races a job."""
        return self._lock(name)

    def _lock(self, name: str) -> WorkspaceLock:
        with self._mutex:
            if name not in self._locks:
                self._locks[name] = WorkspaceLock(self.dir / f"{name}.lock")
            return self._locks[name]

    def _save(self, job: Job) -> Job:
        # the process that last touched a job is its owner: recover() leaves a live owner's jobs alone
        write_json_atomic(self.dir / f"{job.id}.json", {**job.to_dict(), "pid": os.getpid(),
                                                        "pid_start": _start_time(os.getpid())})
        return job


def _new_id() -> str:
    """A job id that sorts by time, to the microsecond (list() is oldest first), and is unguessable enough
    not to collide: `20250101T120000-<microseconds><6 hex>`."""
    t = datetime.now(timezone.utc)
    return f"{t:%Y%m%dT%H%M%S}-{t.microsecond:06d}{secrets.token_hex(3)}"


def _label(name: object) -> str:
    """A refused file's name as its record may hold it: escaped, cut, always valid UTF-8."""
    if not isinstance(name, str) or not name:
        return "(no name)"
    return shown(name, 200)[1:-1]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write an uploaded file as `path`, all or nothing (files.write_bytes_atomic)."""
    write_bytes_atomic(path, data)


def _move_no_clobber(src: Path, dst: Path) -> bool:
    """Move `src` to `dst` unless `dst` exists (False then). A hard link never replaces a file, so a file
    that appears at `dst` meanwhile is never overwritten; a crash between link and unlink leaves both."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: check, then rename (we hold the stage lock)
        if dst.exists():
            return False
        os.replace(src, dst)
    else:
        os.unlink(src)
    fsync_dir(dst.parent)
    fsync_dir(src.parent)
    return True


def _start_time(pid: int) -> Optional[str]:
    """When process `pid` started (Linux: /proc/PID/stat field 22), so a reused pid is not taken for it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return None if fields[0] == "Z" else fields[19]  # a zombie has finished running: gone


def _alive(pid: object, started: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False  # this process: a job of ours not in self._mine was left by an earlier Jobs or a crash
    if Path("/proc").is_dir():
        return started is not None and _start_time(pid) == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
