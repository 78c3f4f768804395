"""Collections and their members: the `Workspace` folder, each collection's documents, index and roles.

On disk (the folder QA_WORKSPACE names, default `var/workspace`):

    workspace.lock                     every write holds an exclusive flock on it (qa.workspace.files)
    users.json                         accounts and token digests (qa.workspace.users)
    collections/<name>/collection.json {"name", "created", "store", "members": {user: role}}
    collections/<name>/documents/      the collection's files
    collections/<name>/index           its index (a link to its current build, made by the first `qa index
                                       --collection`; unused when "store" names a PostgreSQL store)

The bundled corpus is the collection "demo": documents `corpus/`, index `embeddings/index`. It exists
without being created, is never deleted and takes no grants (it is the project's own folder): every
signed-in user may read it, and so may everyone when the workspace has no users.

Roles, weakest first: reader (ask, read documents), editor (also add and delete documents), owner (also
grant, revoke and delete the collection). `user=None` is single-user mode, the operator at the command
line or an app with no accounts: every collection is visible, as its owner (demo: as reader). The app
must never pass None once `users.any()` is true; a visitor who has not signed in has no role.
"""
from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import QAError, redact
from ..settings import PROJECT_ROOT, Settings
from .files import WorkspaceLock, check_name, fsync_dir, read_json, write_json_atomic
from .users import Users, now

ROLES = ("reader", "editor", "owner")  # weakest first: a role allows what the ones before it allow
DEMO = "demo"
DEMO_DOCUMENTS = PROJECT_ROOT / "corpus"
DEMO_INDEX = PROJECT_ROOT / "embeddings" / "index"
RECORD = "collection.json"


@dataclass(frozen=True)
class Collection:
    """A collection: where its documents and its index are. `store` (a postgresql:// URL) replaces the
    index folder when set; `created` is an ISO date (None for the bundled demo collection)."""

    name: str
    documents: Path
    index: Path
    store: Optional[str] = None
    created: Optional[str] = None

    @property
    def is_demo(self) -> bool:
        return self.name == DEMO

    @property
    def location(self) -> str:
        """Where its index is, fit to print (a store's password masked)."""
        return redact(self.store) if self.store else str(self.index)


def check_role(role: object) -> str:
    if role not in ROLES:
        raise QAError(f"{str(role)[:40]!r} is not a role", fix=f"choose one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def allows(role: Optional[str], needed: str) -> bool:
    """Whether `role` is at least `needed` (an owner may do what an editor may, and so on)."""
    check_role(needed)
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


class Workspace:
    """A workspace folder: its users (`.users`) and its collections. Reads take no lock (files are only
    ever replaced whole); each change is made under the workspace lock."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = WorkspaceLock(self.root / "workspace.lock")
        self.users = Users(self.root / "users.json", self._lock, self._forget_member)

    @classmethod
    def open(cls, path: "str | Path | None" = None, settings: Optional[Settings] = None) -> "Workspace":
        """The workspace at `path`; else the settings' (`settings.workspace`); else the folder QA_WORKSPACE
        names, `var/workspace` by default. Nothing is written until the first change."""
        if path is None:
            path = (settings or Settings.from_env()).workspace
        root = Path(path)
        if root.exists() and not root.is_dir():
            raise QAError(f"workspace {root} is not a folder", fix="point QA_WORKSPACE at a folder")
        return cls(root)

    @property
    def collections_dir(self) -> Path:
        return self.root / "collections"

    # ----------------------------------------------------------------- collections

    def demo(self) -> Collection:
        return Collection(DEMO, DEMO_DOCUMENTS, DEMO_INDEX)

    def collections(self) -> list[Collection]:
        """Every collection, the demo first, then by name."""
        out = [self.demo()]
        if self.collections_dir.is_dir():
            for d in sorted(self.collections_dir.iterdir()):
                # a folder being created or deleted is dot-named (see create/delete): never listed
                if not d.name.startswith(".") and (d / RECORD).is_file():
                    out.append(self._load(d.name))
        return out

    def names(self) -> list[str]:
        return [c.name for c in self.collections()]

    def collection(self, name: str) -> Collection:
        check_name(name)
        if name == DEMO:
            return self.demo()
        if not (self.collections_dir / name / RECORD).is_file():
            raise QAError(f"no collection {name!r}", fix=f"collections: {', '.join(self.names())}; "
                                                        "create one with `qa collections create NAME`")
        return self._load(name)

    def create_collection(self, name: str, owner: Optional[str] = None, store: Optional[str] = None) -> Collection:
        """A new, empty collection (its documents/ and index/ folders made); `owner` gets the owner role."""
        check_name(name)
        if store is not None and not str(store).startswith(("postgresql://", "postgres://")):
            raise QAError(f"a store must be a postgresql:// URL, not {str(store)[:60]!r}")
        with self._lock.held():
            taken = {n.lower(): n for n in self.names()}
            if name.lower() in taken:  # case-blind: two names one file system may confuse
                raise QAError(f"collection {taken[name.lower()]!r} already exists")
            if owner is not None:
                self.users._user(self.users._data(), owner)
            self.collections_dir.mkdir(parents=True, exist_ok=True)
            # built under a dot-name and renamed into place: a crash leaves no half-made collection
            tmp = self.collections_dir / f".new-{name}-{secrets.token_hex(4)}"
            tmp.mkdir()
            try:
                (tmp / "documents").mkdir()  # index/ is made by the first `qa index --collection`
                record = {"name": name, "created": now(), "store": store, "members": {owner: "owner"} if owner else {}}
                write_json_atomic(tmp / RECORD, record)
                tmp.rename(self.collections_dir / name)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            fsync_dir(self.collections_dir)
        return self.collection(name)

    def delete_collection(self, name: str) -> None:
        """Remove the collection's folder (documents, index, members). The demo collection is refused."""
        check_name(name)
        if name == DEMO:
            raise QAError("the demo collection is the project's own corpus and cannot be deleted")
        with self._lock.held():
            self.collection(name)
            # renamed away first, in one step: from then on it is gone for every reader, even if
            # removing the files is interrupted (a leftover .deleted-* folder is only disk space)
            gone = self.collections_dir / f".deleted-{name}-{secrets.token_hex(4)}"
            (self.collections_dir / name).rename(gone)
            fsync_dir(self.collections_dir)
        shutil.rmtree(gone, ignore_errors=True)

    def set_store(self, name: str, store: Optional[str]) -> Collection:
        """Record that the collection's index lives in `store` (None: its index folder)."""
        if store is not None and not str(store).startswith(("postgresql://", "postgres://")):
            raise QAError(f"a store must be a postgresql:// URL, not {str(store)[:60]!r}")
        self._update(name, lambda r: r.__setitem__("store", store))
        return self.collection(name)

    # ----------------------------------------------------------------- members and roles

    def members(self, name: str) -> dict[str, str]:
        """{user: role} of a collection (the demo's is empty: every signed-in user reads it)."""
        check_name(name)
        if name == DEMO:
            return {}
        self.collection(name)
        return dict(self._record(name)["members"])

    def grant(self, name: str, user: str, role: str) -> None:
        """Give `user` `role` on collection `name` (replacing the role it had)."""
        check_name(name)
        check_role(role)
        if name == DEMO:
            raise QAError("the demo collection takes no grants: every signed-in user reads it, nobody changes it")
        with self._lock.held():
            self.users._user(self.users._data(), user)
            self._update(name, lambda r: r["members"].__setitem__(user, role))

    def revoke(self, name: str, user: str) -> None:
        """Take away `user`'s role on collection `name`."""
        check_name(name)
        if name == DEMO:
            raise QAError("the demo collection takes no grants: every signed-in user reads it")

        def drop(r: dict) -> None:
            if user not in r["members"]:
                raise QAError(f"{str(user)[:64]!r} has no role on collection {name!r}")
            del r["members"][user]

        self._update(name, drop)

    def role(self, user: Optional[str], name: str) -> Optional[str]:
        """`user`'s role on collection `name`, or None (no access). None as user: single-user mode."""
        c = self.collection(name)
        if user is None:
            return "reader" if c.is_demo else "owner"
        if user not in self.users:
            return None  # a removed account keeps nothing, even if a stale record still named it
        if c.is_demo:
            return "reader"
        return self._record(name)["members"].get(user)

    def may(self, user: Optional[str], name: str, needed: str) -> bool:
        """Whether `user` holds at least role `needed` on collection `name` (False when it does not exist)."""
        try:
            return allows(self.role(user, name), needed)
        except QAError:
            return False

    def visible(self, user: Optional[str]) -> list[Collection]:
        """The collections `user` may read (None: single-user mode, all of them)."""
        if user is None:
            return self.collections()
        if user not in self.users:
            return []
        return [c for c in self.collections() if c.is_demo or user in self._record(c.name)["members"]]

    # ----------------------------------------------------------------- records

    def _record(self, name: str) -> dict:
        r = read_json(self.collections_dir / name / RECORD, None)
        if not isinstance(r, dict) or r.get("name") != name or not isinstance(r.get("members"), dict):
            raise QAError(f"{self.collections_dir / name / RECORD} is damaged", fix="restore it from a backup")
        return r

    def _load(self, name: str) -> Collection:
        r = self._record(name)
        d = self.collections_dir / name
        return Collection(name, d / "documents", d / "index", r.get("store"), r.get("created"))

    def _update(self, name: str, change) -> None:
        with self._lock.held():
            self.collection(name)
            r = self._record(name)
            change(r)
            write_json_atomic(self.collections_dir / name / RECORD, r)

    def _forget_member(self, user: str) -> None:
        """Called by Users.remove under the lock: the user leaves every collection."""
        with self._lock.held():
            for c in self.collections():
                if not c.is_demo and user in self._record(c.name)["members"]:
                    self._update(c.name, lambda r: r["members"].pop(user, None))
