"""The shared workspace: collections of documents with their indexes, accounts, and who may read or change what.

A layer above qa.pipeline (it names the documents folder and index of each collection; building and
answering stay in qa.index and qa.pipeline) and below qa.cli and app.py, which decide who is asking.
The interface the chat login, upload and REST API work against:

    from qa.workspace import Workspace, Collection, ROLES, DEMO, allows

    ws = Workspace.open(path=None, settings=None)  # path; else settings.workspace; else QA_WORKSPACE
                                                   # (default var/workspace); nothing written until a change
    ws.collections() -> list[Collection]           # the demo first; Collection(name, documents, index, store, created)
    ws.collection(name) -> Collection              # QAError naming the collections that exist when missing
    ws.create_collection(name, owner=None, store=None) -> Collection
    ws.delete_collection(name)                     # removes its folder; the demo is refused
    ws.set_store(name, store)                      # its index in a PostgreSQL store (None: its folder)
    ws.grant(name, user, role); ws.revoke(name, user); ws.members(name) -> {user: role}
    ws.role(user, name) -> "reader" | "editor" | "owner" | None
    ws.may(user, name, needed) -> bool             # role at least `needed`; False for a missing collection
    ws.visible(user) -> list[Collection]           # user None: single-user mode, everything
    ws.users.add(name, password); ws.users.verify(name, password) -> bool
    ws.users.new_token(name) -> "qa_<id>_<secret>"; ws.users.user_for_token(token) -> Optional[str]
    ws.users.tokens(name) -> [TokenInfo(id, user, created)]; ws.users.revoke_token(id)
    ws.users.remove(name); ws.users.names(); ws.users.any(); name in ws.users

Names of collections and users are safe slugs (letters, digits, '-', '_'; 1 to 64 characters); every
problem is a QAError with a one-line message. Files, roles and the demo collection: qa.workspace.collections;
password and token storage: qa.workspace.users; atomic, locked writes: qa.workspace.files.
"""
from .collections import DEMO, ROLES, Collection, Workspace, allows, check_role
from .files import check_name
from .users import TokenInfo, Users

__all__ = ["Workspace", "Collection", "Users", "TokenInfo", "ROLES", "DEMO", "allows", "check_role", "check_name"]
