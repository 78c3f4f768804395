"""The `qa collections` and `qa users` commands, and what `--collection` means to `qa index`, `ask`, `docs` and `chat`.

qa.cli stays thin: it calls `add_parsers` while building its parser and dispatches to `cmd_collections`
and `cmd_users`; `collection_target` turns `--collection NAME` into the documents folder, index folder
and store of that collection. Nothing here loads a model or an index.
"""
from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from dataclasses import replace
from typing import Iterator, TextIO

from ..errors import IndexProblem, QAError
from ..settings import Settings
from .collections import ROLES, Collection, Workspace


def add_parsers(sub) -> None:
    """The `collections` and `users` subcommands, added to qa.cli's subparsers."""
    p = sub.add_parser("collections", help="collections of documents in the workspace (QA_WORKSPACE) and who may use them")
    c = p.add_subparsers(dest="collections_command", metavar="ACTION", help="what to do with collections")
    a = c.add_parser("list", help="every collection: where its documents and index are, its members")
    a.add_argument("--json", action="store_true", help="print the collections as JSON")
    a = c.add_parser("create", help="a new, empty collection (put files in its documents folder, then `qa index --collection`)")
    a.add_argument("name", help="the new collection's name: 1 to 64 letters, digits, - or _")
    a.add_argument("--owner", default=None, metavar="USER", help="give this user the owner role")
    a.add_argument("--store", default=None, metavar="URL", help="keep its index in this PostgreSQL store")
    a = c.add_parser("delete", help="remove a collection: its documents, index and members")
    a.add_argument("name", help="the collection to delete (`qa collections list`)")
    a = c.add_parser("grant", help="give a user a role on a collection (replacing the one it had)")
    a.add_argument("name", help="the collection (`qa collections list`)")
    a.add_argument("user", help="the user (`qa users list`)")
    a.add_argument("role", choices=ROLES,
                   help="reader (ask), editor (also add and delete documents) or owner (also members)")
    a = c.add_parser("revoke", help="take away a user's role on a collection")
    a.add_argument("name", help="the collection (`qa collections list`)")
    a.add_argument("user", help="the user who loses their role")

    p = sub.add_parser("users", help="accounts and API tokens of the workspace (QA_WORKSPACE)")
    u = p.add_subparsers(dest="users_command", metavar="ACTION", help="what to do with users and tokens")
    a = u.add_parser("add", help="add a user; the password is prompted for twice, or read as one line from a pipe")
    a.add_argument("name", help="the new user's name: 1 to 64 letters, digits, - or _")
    a = u.add_parser("token", help="print a new API token for a user (shown once; stored hashed)")
    a.add_argument("name", help="the user the token signs in as")
    a = u.add_parser("revoke-token", help="revoke an API token by its id (`qa users list` shows them)")
    a.add_argument("id", help="the token's id (`qa users list`), not the token")
    a = u.add_parser("list", help="users, their token ids and dates (never the tokens)")
    a.add_argument("--json", action="store_true", help="print the users as JSON")
    a = u.add_parser("remove", help="remove a user, its tokens and its roles")
    a.add_argument("name", help="the user to remove (`qa users list`)")


def add_collection_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", default=None, metavar="NAME",
                   help="a collection of the workspace (`qa collections list`); instead of --corpus/--index")


def collection_target(args, settings: Settings, building: bool = False) -> tuple[Collection, Settings]:
    """The collection `--collection` names and the settings to reach its index: its own store, or its
    index folder (QA_STORE does not apply: the collection's record says where its index is). An explicit
    `--store` is honoured: recorded for the collection by `qa index`, and must match it elsewhere."""
    if getattr(args, "corpus", None) is not None or getattr(args, "index", None) is not None:
        raise QAError("--collection cannot be combined with --corpus or --index",
                      fix="a collection has its own documents and index folders; give one or the other")
    ws = Workspace.open(settings=settings)
    c = ws.collection(args.collection)
    flag = getattr(args, "store", None)
    store = c.store
    if flag and c.store and flag != c.store:
        raise QAError(f"collection {c.name!r} keeps its index in {c.location}, not in the --store given")
    if flag and not c.store:
        if c.is_demo:
            store = flag  # the bundled corpus in a store, as `qa index --store URL` always did
        elif building:
            c = ws.set_store(c.name, flag)
            store = flag
        else:
            raise QAError(f"collection {c.name!r} keeps its index in its folder, not in a store",
                          fix=f"drop --store, or move it with `qa index --collection {c.name} --store URL`")
    return c, replace(settings, store=store)


@contextlib.contextmanager
def collection_hints(c: Collection) -> Iterator[None]:
    """A missing or stale index of a collection is rebuilt with `qa index --collection NAME`, not with
    the folder-level command the index's own hint names (which would not know the documents folder)."""
    try:
        yield
    except IndexProblem as e:
        raise QAError(e.problem, fix=f"run `qa index --collection {c.name}`") from None


def cmd_collections(args, settings: Settings) -> int:
    ws = Workspace.open(settings=settings)
    action = args.collections_command
    if action == "list":
        rows = []
        for c in ws.collections():
            members = ws.members(c.name)
            rows.append({"name": c.name, "documents": str(c.documents), "index": c.location, "created": c.created,
                         "members": members})
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        for r in rows:
            who = ("every signed-in user reads it" if r["name"] == "demo"
                   else "; ".join(f"{u} {role}" for u, role in sorted(r["members"].items())) or "no members")
            print(f"{r['name']}  ({who})")
            print(f"    documents {r['documents']}  index {r['index']}" + (f"  created {r['created']}" if r["created"] else ""))
        return 0
    if action == "create":
        c = ws.create_collection(args.name, owner=args.owner, store=args.store)
        print(f"created collection {c.name}: put its files in {c.documents}, then run `qa index --collection {c.name}`")
        return 0
    if action == "delete":
        c = ws.collection(args.name)
        ws.delete_collection(args.name)
        print(f"deleted collection {c.name} (its documents, index and members)")
        return 0
    if action == "grant":
        ws.grant(args.name, args.user, args.role)
        print(f"{args.user} is now {args.role} of collection {args.name}")
        return 0
    if action == "revoke":
        ws.revoke(args.name, args.user)
        print(f"{args.user} has no role on collection {args.name} any more")
        return 0
    raise QAError("choose an action: `qa collections list|create|delete|grant|revoke`")


def read_password(stdin: TextIO = sys.stdin) -> str:
    """A new password: typed twice at a hidden prompt on a terminal, else the first line of standard
    input (only its line end removed: spaces may be part of a password). An empty one is refused."""
    if stdin.isatty():
        first = getpass.getpass("password: ")
        if first and getpass.getpass("again: ") != first:
            raise QAError("the two passwords differ", fix="type the same password twice")
    else:
        first = stdin.readline().rstrip("\r\n")
    if not first:
        raise QAError("the password is empty", fix="type one at the prompt, or pipe one line: `echo ... | qa users add NAME`")
    return first


def cmd_users(args, settings: Settings) -> int:
    ws = Workspace.open(settings=settings)
    users = ws.users
    action = args.users_command
    if action == "add":
        from .files import check_name

        check_name(args.name, "user")  # before asking for a password
        if args.name in users:
            raise QAError(f"user {args.name} already exists",
                          fix="choose another name (`qa users list` shows the taken ones)")
        users.add(args.name, read_password())
        print(f"added user {args.name}")
        return 0
    if action == "token":
        token = users.new_token(args.name)
        print(token)
        print(f"qa users: a new token for {args.name}; it is shown only now (revoke it with "
              f"`qa users revoke-token {token.split('_')[1]}`)", file=sys.stderr)
        return 0
    if action == "revoke-token":
        user = users.revoke_token(args.id)
        print(f"revoked a token of {user}")
        return 0
    if action == "list":
        rows = [{"name": n, "created": users.created(n),
                 "tokens": [{"id": t.id, "created": t.created} for t in users.tokens(n)],
                 "collections": {c.name: ws.role(n, c.name) for c in ws.visible(n)}} for n in users.names()]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        if not rows:
            print("no users: the app is single-user (loopback only); add one with `qa users add NAME`")
        for r in rows:
            roles = ", ".join(f"{c} {role}" for c, role in r["collections"].items())
            tokens = ", ".join(f"{t['id']} ({t['created']})" for t in r["tokens"]) or "none"
            print(f"{r['name']}  created {r['created']}  collections: {roles}  tokens: {tokens}")
        return 0
    if action == "remove":
        users.remove(args.name)
        print(f"removed user {args.name}, its tokens and its roles")
        return 0
    raise QAError("choose an action: `qa users add|token|revoke-token|list|remove`")
