"""A watched folder: `qa index --collection NAME --watch DIR` keeps a collection's documents and index in step with DIR.

    from qa.workspace.watch import plan_sync, Watcher
    plan = plan_sync(source, owned, present, others, read, max_bytes)   # pure: what to copy, remove, refuse
    w = Watcher(ws, collection, folder, embedder, settings)
    w.sync(first=True)      # one batch: plan, copy and set aside under the build lock, build, publish
    w.run(debounce_ms=1600, stop_event=None)   # sync, then one sync per batch of changes (watchfiles)

What it owns, and why so:
- Subfolders of DIR are mirrored (the corpus reader indexes subfolders too); every folder name passes
  the upload name rules, every file `check_upload` (type by bytes, QA_MAX_UPLOAD_MB, safe names).
- Only files the watch put in the collection are ever changed or removed: `<collection>/watch.json`
  (written atomically) records each with its size, time and sha256. Files uploaded through the web stay
  untouched; a DIR file of the same name (case aside) is refused as `exists`, the same bytes as
  `duplicate`. A file refused now that was copied earlier is removed: the collection follows DIR.
- Hidden files and folders and editor or download temp files are ignored. A file whose size or time
  moves while it is read, or that changed in the last second, is "busy" and retried, never copied half.
- Copies are written temp file + os.replace; removed files are set aside until the new index is
  published, and put back if the build fails (the previous index stays published and keeps its files).
- One batch holds the collection's build lock (and its stage lock while it copies), the same locks as
  the upload jobs of qa.workspace.jobs, so a watch never races a server's job in another process; a
  second watch of the same collection is refused.
Long because the plan, its execution under the jobs' locks and the loop that repeats it are one feature,
whose crash safety (manifest written before and after the copies, removals set aside) reads in one place.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Mapping, Optional

from ..errors import QAError
from ..ingest.uploads import UploadRefused, check_upload, safe_name, shown
from ..settings import Settings
from .collections import Collection, Workspace
from .files import fsync_dir, read_json, write_bytes_atomic, write_json_atomic
from .jobs import Jobs

MANIFEST = "watch.json"
DEFAULT_DEBOUNCE_MS = 1600
SETTLE_S = 1.0  # a file changed this recently may still be being written: retried on the next pass
RETRY_MS = 1000  # how soon a busy file is looked at again when no other change comes
SHOWN = 8  # names listed per kind in a batch's line, then "and N more"
# Temp files of editors, office suites and browsers (hidden files are ignored anyway): never documents.
_TEMP = re.compile(r"^~\$|^#.*#$|~$|\.(sw[a-p]|tmp|temp|part|partial|crdownload|download|bak)$|"
                   r"^(thumbs\.db|desktop\.ini)$", re.IGNORECASE)


@dataclass(frozen=True)
class Seen:
    """A file as its folder was scanned: size and modification time (ns)."""
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Owned:
    """A file the watch put in the collection (watch.json): what it copied. `pending`: written in the
    manifest before its copy finished, so a crash mid-copy is copied again rather than trusted."""
    size: int
    mtime_ns: int
    sha256: str
    pending: bool = False

    def to_dict(self) -> dict:
        return {"size": self.size, "mtime_ns": self.mtime_ns, "sha256": self.sha256, "pending": self.pending}


@dataclass(frozen=True)
class Refusal:
    """A file of DIR not copied: a qa.ingest.uploads reason code (or `unreadable`) and one line."""
    name: str
    reason: str
    message: str


@dataclass(frozen=True)
class Plan:
    """What one sync does. `add`/`change`: {relative path: Owned} to copy; `remove`: owned files to take
    out; `touched`: owned files whose time moved but bytes did not (manifest only); `busy`: changing, left
    as they are and retried; `ignored`: hidden and temp files; `keep`: owned files left as they are."""
    add: dict[str, Owned] = field(default_factory=dict)
    change: dict[str, Owned] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    refused: tuple[Refusal, ...] = ()
    busy: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    touched: dict[str, Owned] = field(default_factory=dict)
    keep: dict[str, Owned] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return bool(self.add or self.change or self.remove)


def ignored(rel: str) -> bool:
    """Whether a path of DIR (relative, with /) is a hidden or temp file, or inside a hidden folder."""
    parts = rel.split("/")
    return any(p.startswith(".") for p in parts) or bool(_TEMP.search(parts[-1]))


def plan_sync(source: Mapping[str, Seen], owned: Mapping[str, Owned], present: Mapping[str, int],
              others: Mapping[str, str], read: Callable[[str], Optional[bytes]], max_bytes: int) -> Plan:
    """What to copy into and remove from a collection so that the part of it the watch owns matches DIR.

    `source`: DIR's files {relative path: Seen}; `owned`: the watch's manifest; `present`: the sizes of the
    collection's files {relative path: bytes}; `others`: {relative path: sha256} of its files the watch did
    not put there (web uploads: never touched). `read(rel)` gives a DIR file's bytes, None when it is
    changing or gone (busy), or raises OSError (unreadable). Owned files unchanged in size and time are
    not read again. Pure but for `read`."""
    add: dict[str, Owned] = {}
    change: dict[str, Owned] = {}
    touched: dict[str, Owned] = {}
    keep: dict[str, Owned] = {}
    hashes = {sha: rel for rel, sha in sorted(others.items())}
    names = {rel.casefold(): rel for rel in others}
    todo, ignored_, refused, busy = [], [], [], []
    for rel, seen in sorted(source.items()):
        if ignored(rel):
            ignored_.append(rel)
        elif rel in owned and _unchanged(owned[rel], seen, present.get(rel)):
            keep[rel] = owned[rel]  # first, so a new copy of a kept file is the duplicate
            hashes.setdefault(owned[rel].sha256, rel)
            names.setdefault(rel.casefold(), rel)
        else:
            todo.append((rel, seen))
    for rel, seen in todo:
        try:
            data = _checked(rel, seen, read, max_bytes, hashes)
            if data is None:
                busy.append(rel)
                continue
            taken = names.get(rel.casefold())
            if taken is not None and taken != rel or rel in others:
                raise UploadRefused("exists", f"{shown(rel)} is not copied: {shown(taken or rel)} is already in the "
                                              "collection, not put there by this watch; rename one of them")
        except UploadRefused as e:
            refused.append(Refusal(rel, e.reason_code, e.message))
            continue
        except OSError as e:
            refused.append(Refusal(rel, "unreadable", f"{shown(rel)} cannot be read ({e.strerror or type(e).__name__})"))
            continue
        sha = hashlib.sha256(data).hexdigest()
        hashes[sha], names[rel.casefold()] = rel, rel
        entry = Owned(seen.size, seen.mtime_ns, sha)
        old = owned.get(rel)
        if old is not None and old.sha256 == sha and not old.pending and present.get(rel) == old.size:
            touched[rel] = entry
        else:
            (change if rel in present else add)[rel] = entry
    keep.update({rel: owned[rel] for rel in busy if rel in owned})  # a busy file keeps its earlier copy
    gone = sorted(rel for rel in owned if rel not in {**keep, **touched, **add, **change})
    return Plan(add, change, tuple(gone), tuple(refused), tuple(busy), tuple(ignored_), touched, keep)


def _unchanged(entry: Owned, seen: Seen, present_size: Optional[int]) -> bool:
    return not entry.pending and (entry.size, entry.mtime_ns) == (seen.size, seen.mtime_ns) \
        and present_size == entry.size


def _checked(rel: str, seen: Seen, read, max_bytes: int, hashes: Mapping[str, str]) -> Optional[bytes]:
    """The file's bytes once they pass the upload checks (UploadRefused if not), None when busy. The name
    and size are checked before a byte is read: a huge or badly named file is never opened."""
    *folders, name = rel.split("/")
    for part in folders:
        try:
            safe_name(part)
        except UploadRefused as e:  # a folder has no suffix: every name rule but that one applies
            if e.reason_code != "unknown_type":
                raise UploadRefused("bad_name", f"folder {shown(part)} of {shown(rel)} is refused: "
                                    + e.message.split(" is refused: ", 1)[-1]) from None
    safe_name(name)
    if seen.size > max_bytes:
        raise UploadRefused("too_large", f"{shown(rel)} is {seen.size / 2**20:,.1f} MiB, over the upload limit "
                                         f"of {max_bytes / 2**20:,.1f} MiB")
    data = read(rel)
    if data is None:
        return None
    check_upload(name, data, max_bytes=max_bytes, existing_hashes=hashes)
    return data


# ----------------------------------------------------------------- the folders on disk

def scan(folder: Path) -> dict[str, Seen]:
    """Every regular file under `folder` {relative path: Seen}; hidden folders are not entered, symlinked
    folders not followed (no loops), and a fifo or device is never listed (reading one would hang)."""
    out: dict[str, Seen] = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            p = Path(root) / name
            try:
                st = p.stat()
            except OSError:
                continue  # gone since listed, or a broken link
            if stat.S_ISREG(st.st_mode):
                out[p.relative_to(folder).as_posix()] = Seen(st.st_size, st.st_mtime_ns)
    return out


def read_settled(path: Path, seen: Seen, settle_s: float = SETTLE_S) -> Optional[bytes]:
    """The file's bytes, or None while it is being written: changed in the last `settle_s` seconds, or its
    size or time differ from the scan's or move while it is read, or it is gone."""
    age = time.time_ns() - seen.mtime_ns
    if 0 <= age < settle_s * 1e9:
        return None
    try:
        with open(path, "rb") as f:
            before = os.fstat(f.fileno())
            data = f.read(seen.size + 1)
        after = os.stat(path)
    except FileNotFoundError:
        return None
    stamps = {(before.st_size, before.st_mtime_ns), (after.st_size, after.st_mtime_ns)}
    return data if stamps == {(seen.size, seen.mtime_ns)} and len(data) == seen.size else None


def load_manifest(path: Path) -> tuple[Optional[str], dict[str, Owned]]:
    """(the folder last watched, {relative path: Owned}) from watch.json; (None, {}) when there is none."""
    rec = read_json(path, None)
    if rec is None:
        return None, {}
    try:
        return rec.get("folder"), {rel: Owned(int(e["size"]), int(e["mtime_ns"]), str(e["sha256"]),
                                              bool(e.get("pending")))
                                   for rel, e in rec["files"].items()}
    except (AttributeError, KeyError, TypeError, ValueError):
        raise QAError(f"{path} is damaged", fix="remove it: the watch then copies DIR's files again, and files it "
                                                "had copied stay as if uploaded") from None


def save_manifest(path: Path, folder: Path, owned: Mapping[str, Owned]) -> None:
    write_json_atomic(path, {"folder": str(folder), "files": {rel: e.to_dict() for rel, e in sorted(owned.items())}})


@contextlib.contextmanager
def watching(ws: Workspace, name: str) -> Iterator[None]:
    """Held while a process watches collection `name`: a second watch of it would fight the first."""
    path = ws.root / "jobs" / f"{name}.watch.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise QAError(f"collection {name!r} is already watched by another process",
                          fix="stop that `qa index --watch` first") from None
        yield
    finally:
        os.close(fd)


def check_folder(folder: Path, c: Collection) -> Path:
    """DIR, absolute, once it is a folder that neither holds nor lies inside the collection's documents
    (copying into a folder it watches would feed itself forever)."""
    if not folder.exists():
        raise QAError(f"no folder {folder}", fix="give --watch an existing folder of documents")
    if not folder.is_dir():
        raise QAError(f"{folder} is not a folder", fix="give --watch a folder of documents, not a file")
    src, docs = folder.resolve(), c.documents.resolve()
    if src == docs or docs.is_relative_to(src) or src.is_relative_to(docs):
        raise QAError(f"{folder} holds or is inside collection {c.name!r}'s own documents folder",
                      fix="watch a folder of your own, outside the workspace")
    return src


# ----------------------------------------------------------------- one batch, and the loop


@dataclass
class Batch:
    """What one sync did: its plan, the new refusals (each told once), copies that failed, the build's
    report (None: no build) or the reason it failed, and the published build's id."""
    plan: Plan
    refused: list[Refusal]
    failed: list[str]
    report: object = None
    error: Optional[str] = None
    build_id: Optional[str] = None
    first: bool = False


class Watcher:
    """Keeps collection `c` in step with `folder`. `log` gets one line per batch (stderr by default)."""

    def __init__(self, ws: Workspace, c: Collection, folder: Path, embedder, settings: Optional[Settings] = None,
                 *, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
                 options=None, settle_s: float = SETTLE_S):
        if c.is_demo:
            raise QAError("the demo collection is the project's own corpus: nothing is watched into it",
                          fix="create a collection of your own with `qa collections create NAME`")
        self.ws, self.c, self.folder = ws, c, check_folder(Path(folder), c)
        self.settings = settings or Settings.from_env()
        self.embedder, self.log, self.options, self.settle_s = embedder, log, options, settle_s
        self.jobs = Jobs(ws, self.settings, embedder)  # for its locks: the same ones its upload jobs hold
        self.manifest = c.documents.parent / MANIFEST
        self._told: dict[str, tuple] = {}  # refusals already shown, by file: told again only when it changes
        self._hashes: dict[tuple, str] = {}  # sha256 of web uploads by (path, size, time): read once
        self._dirty = True  # the first sync always builds (the index may be missing or stale)
        self.busy = False

    def sync(self, first: bool = False) -> Batch:
        """One batch: plan and apply it under the collection's locks, then build and publish if anything
        changed (or the last build failed)."""
        if not self.folder.is_dir():
            raise QAError(f"{self.folder} is gone", fix="the collection keeps its files and index as they were")
        with self.jobs.build_lock(self.c.name).held():
            with self.jobs.build_lock(f"{self.c.name}.stage").held():
                plan = self._plan()
                failed, written, aside = self._apply(plan)
            batch = Batch(plan, self._new_refusals(plan), failed, first=first)
            self.busy = bool(plan.busy or failed)
            if not (plan.changes or self._dirty):
                return batch
            if self._nothing_to_index_yet():
                return batch  # e.g. the first file is still being written: its batch builds it
            try:
                batch.report = self._build()
            except BaseException as e:  # a build that fails leaves the published index; the watch goes on
                self._put_back(aside)
                self._dirty = True
                if not isinstance(e, Exception):
                    raise  # Ctrl+C mid-build: stopped, with the published index's files all in place
                batch.error = str(e) if isinstance(e, QAError) else f"{type(e).__name__}: {e}"
                return batch
            self._dirty = False
            if self.options is not None and self.options.force:  # --force: the first build only
                self.options = replace(self.options, force=False)
            save_manifest(self.manifest, self.folder, {rel: e for rel, e in written.items() if rel not in plan.remove})
            shutil.rmtree(aside, ignore_errors=True)
            self._prune(plan.remove)
            batch.build_id = self._build_id()
            return batch

    def run(self, debounce_ms: int = DEFAULT_DEBOUNCE_MS, stop_event=None) -> None:
        """Sync, then sync again after each batch of changes in DIR until Ctrl+C or `stop_event` is set."""
        try:
            from watchfiles import watch
        except ImportError:
            raise QAError("--watch needs the watchfiles library", fix="pip install watchfiles") from None
        with watching(self.ws, self.c.name):
            self.log(describe_batch(self.c.name, self.sync(first=True)))
            for changes in watch(self.folder, watch_filter=self._wanted, debounce=debounce_ms, stop_event=stop_event,
                                 rust_timeout=RETRY_MS, yield_on_timeout=True):
                if changes or self.busy:  # a quiet timeout re-syncs only to retry a busy file
                    b = self.sync()
                    if b.plan.changes or b.refused or b.error is not None:  # busy alone: told when copied
                        self.log(describe_batch(self.c.name, b))

    def _wanted(self, _change, path: str) -> bool:
        """watchfiles' filter: a change to a hidden or temp file alone starts no batch."""
        try:
            rel = Path(path).relative_to(self.folder).as_posix()
        except ValueError:
            return True
        return rel == "." or not ignored(rel)

    # ----------------------------------------------------------------- the steps of a batch

    def _plan(self) -> Plan:
        folder_was, owned = load_manifest(self.manifest)
        if folder_was is not None and folder_was != str(self.folder) and owned:
            self.log(f"{self.c.name}: was watching {folder_was}; the {len(owned)} file(s) copied from there are "
                     f"now kept in step with {self.folder}")
            save_manifest(self.manifest, self.folder, owned)
        present = {rel: s.size for rel, s in scan(self.c.documents).items() if not ignored(rel)} \
            if self.c.documents.is_dir() else {}
        others = {rel: self._sha(rel) for rel in present if rel not in owned}
        return plan_sync(scan(self.folder), owned, present, others,
                         lambda rel: read_settled(self.folder / rel, self._seen(rel), self.settle_s),
                         self.settings.max_upload_mb * 2**20)

    def _apply(self, plan: Plan) -> tuple[list[str], dict[str, Owned], Path]:
        """Copy in what changed and set aside what goes; the manifest names every copy before it is
        written (pending) and after. Returns the copies that failed (retried), the manifest as written
        (the removed files still in it until the publish) and the folder the removed files wait in."""
        _, owned = load_manifest(self.manifest)
        copies = {**plan.add, **plan.change}
        pending = {rel: Owned(e.size, e.mtime_ns, e.sha256, True) for rel, e in copies.items()}
        save_manifest(self.manifest, self.folder, {**owned, **plan.touched, **pending})
        failed = []
        for rel, entry in copies.items():
            try:
                self._copy(rel, entry)
            except (OSError, _Moved):
                failed.append(rel)
                pending.pop(rel)
        written = {**owned, **plan.touched, **{rel: e for rel, e in copies.items() if rel not in failed}}
        save_manifest(self.manifest, self.folder, written)
        aside = self.c.documents.parent / f".watch-aside-{secrets.token_hex(4)}"
        for rel in plan.remove:
            src = self.c.documents / rel
            if src.is_file():
                (aside / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, aside / rel)  # set aside until the index without it is published
                fsync_dir(src.parent)
        return failed, written, aside

    def _copy(self, rel: str, entry: Owned) -> None:
        """DIR's file as the collection's, all or nothing (temp file + os.replace), only if its bytes are
        still the ones checked (else _Moved: it is retried)."""
        dst = self.c.documents / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        data = read_settled(self.folder / rel, Seen(entry.size, entry.mtime_ns), 0)
        if data is None or hashlib.sha256(data).hexdigest() != entry.sha256:
            raise _Moved(rel)
        write_bytes_atomic(dst, data)

    def _build(self):
        from ..index.build import BuildOptions, build_index

        return build_index(self.c.documents.resolve(), self.c.index, self.embedder, self.options or BuildOptions(),
                           store=self.c.store)

    def _nothing_to_index_yet(self) -> bool:
        """No build published and no file in the documents folder: a build could only fail."""
        from .answerers import published_build

        docs = self.c.documents
        return published_build(self.c) is None and not (docs.is_dir() and any(p.is_file() for p in docs.rglob("*")))

    def _put_back(self, aside: Path) -> None:
        """After a failed build: the removed files return, so the published index's files are all there."""
        if not aside.is_dir():
            return
        for p in sorted(aside.rglob("*")):
            if p.is_file():
                dst = self.c.documents / p.relative_to(aside)
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(p, dst)
        shutil.rmtree(aside, ignore_errors=True)

    def _prune(self, removed: tuple[str, ...]) -> None:
        """Remove the subfolders the removals emptied (never the documents folder itself)."""
        for rel in removed:
            d = (self.c.documents / rel).parent
            while d != self.c.documents and d.is_dir() and not any(d.iterdir()):
                d.rmdir()
                d = d.parent
        for left in self.c.documents.parent.glob(".watch-aside-*"):  # a crash's leftovers, now published away
            shutil.rmtree(left, ignore_errors=True)

    def _build_id(self) -> Optional[str]:
        from ..index.stores import open_store

        rec = open_store(self.c.store or self.c.index).recorded() or {}
        return rec.get("build_id")

    def _new_refusals(self, plan: Plan) -> list[Refusal]:
        out = []
        for r in plan.refused:
            key = (r.reason, self._seen(r.name))
            if self._told.get(r.name) != key:
                out.append(r)
            self._told[r.name] = key
        for rel in set(self._told) - {r.name for r in plan.refused}:
            del self._told[rel]
        return out

    def _seen(self, rel: str) -> Optional[Seen]:
        try:
            st = (self.folder / rel).stat()
        except OSError:
            return None
        return Seen(st.st_size, st.st_mtime_ns)

    def _sha(self, rel: str) -> str:
        p = self.c.documents / rel
        st = p.stat()
        key = (rel, st.st_size, st.st_mtime_ns)
        if key not in self._hashes:
            self._hashes[key] = hashlib.sha256(p.read_bytes()).hexdigest()
        return self._hashes[key]


class _Moved(Exception):
    """A DIR file changed between its check and its copy."""


def describe_batch(name: str, b: Batch) -> str:
    """One line: what was added, changed, removed, refused, left busy, and the build published or failed."""
    p = b.plan
    parts = [f"{what} {_names(rels)}" for what, rels in (
        ("added", [r for r in p.add if r not in b.failed]), ("changed", [r for r in p.change if r not in b.failed]),
        ("removed" if b.error is None else "put back until a build succeeds", p.remove),
        ("still being written, retried", [*p.busy, *b.failed])) if rels]
    if b.refused:
        parts.append("refused " + "; ".join(f"{_label(r.name)} ({r.reason}: {r.message})" for r in b.refused[:SHOWN])
                     + (f"; and {len(b.refused) - SHOWN} more" if len(b.refused) > SHOWN else ""))
    if b.error is not None:
        parts.append(f"build failed, the previous index stays published: {b.error[:300]}")
    elif b.report is not None:
        r = b.report
        copied = {str(b.report.corpus / rel) for rel in [*p.add, *p.change]} if r.corpus else set()
        skipped = [f"{_label(Path(s.source).name)} ({s.reason})" for s in r.skipped if s.source in copied]
        state = "index up to date" if r.noop else f"published build {b.build_id}"
        parts.append(f"{state}: {r.documents} documents" + (f", {len(r.skipped)} file(s) skipped by the indexer"
                                                              if r.skipped else "")
                     + (f" (new: {', '.join(skipped)})" if skipped else ""))
    elif b.first and not (p.busy or b.failed):
        parts.append("in step")
    when = time.strftime("%H:%M:%S")
    return f"[{when}] {name}: " + ("; ".join(parts) if parts else "no change")


def _names(rels) -> str:
    rels = list(rels)
    more = f" and {len(rels) - SHOWN} more" if len(rels) > SHOWN else ""
    return ", ".join(_label(r) for r in rels[:SHOWN]) + more


def _label(rel: str) -> str:
    return shown(rel, 120)[1:-1]


# ----------------------------------------------------------------- the command


def cmd_watch(args, settings: Settings) -> int:
    """`qa index --collection NAME --watch DIR [--debounce-ms N]`: runs until Ctrl+C (exit 0)."""
    from ..index.build import BuildOptions
    from ..neural.embedding import make_embedder
    from .commands import collection_target

    if not args.collection:
        raise QAError("--watch needs --collection NAME", fix="watch a folder into a collection of the workspace")
    for flag, given in (("--strict", args.strict), ("--ray", args.ray)):
        if given:
            raise QAError(f"{flag} cannot be combined with --watch")
    debounce = DEFAULT_DEBOUNCE_MS if args.debounce_ms is None else args.debounce_ms
    if not 50 <= debounce <= 60_000:
        raise QAError(f"--debounce-ms must be between 50 and 60000, not {debounce}")
    c, settings = collection_target(args, settings, building=True)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    w = Watcher(Workspace.open(settings=settings), c, args.watch, None, settings, log=log,
                options=BuildOptions(index_type=args.index_type, force=args.force))
    w.embedder = make_embedder(settings)
    log(f"qa index: watching {w.folder} into collection {c.name} (debounce {debounce} ms); Ctrl+C stops")
    stop = signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop ends it as Ctrl+C does
    try:
        w.run(debounce)
    except KeyboardInterrupt:
        log(f"qa index: stopped watching {w.folder}")
    finally:
        signal.signal(signal.SIGTERM, stop)
    return 0


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt
