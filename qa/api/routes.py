"""The routes of /api/v1 (issue 29's table): ask, collections, documents, jobs, members, each behind a Bearer token.

Who may do what is the workspace's rule (qa.workspace: reader < editor < owner). A collection the
caller has no role on answers 404 exactly as one that does not exist, so its name's existence, title
and documents never leak; a role too weak for the action answers 403. Uploads and deletions are
handed to the jobs object given to `create_api` (qa.workspace.jobs: submit_upload, delete_document,
get), which writes, indexes and publishes in the background; the API only checks who may ask.
"""
from __future__ import annotations

from typing import Any, Literal, Optional

from fastapi import Depends, FastAPI, File, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from ..chat.conversation import answer_in_conversation, clean_docs, clean_history, clean_k
from ..errors import IndexProblem, QAError
from ..ingest.uploads import HTTP_STATUS, UploadRefused
from ..settings import Settings
from ..workspace import ROLES, Collection, Workspace, check_name
from ..workspace.answerers import Answerers, Opener, default_opener, published_build
from ..workspace.listing import collection_documents
from .errors import ApiError, BodyLimit, install, not_found

PREFIX = "/api/v1"
JSON_BODY_BYTES = 8 * 2**20  # a question with its history: 100 turns of answer objects fit well within this
MULTIPART_OVERHEAD = 2**20  # the multipart framing around the files of one upload


class AskBody(BaseModel):
    question: str = Field(description="the question, in words", max_length=2000)
    collection: str = Field(description="the collection to answer from")
    history: Optional[list[dict[str, Any]]] = Field(
        None, description="earlier turns, oldest first: [{\"question\", \"answer\": answer object or text}]")
    k: Optional[int] = Field(None, description="passages to read (default 5)")
    docs: Optional[list[str]] = Field(None, description="answer only from these document ids")


class NewCollection(BaseModel):
    name: str = Field(description="1 to 64 letters, digits, '-' or '_'")


class Member(BaseModel):
    user: str
    role: Literal["reader", "editor", "owner"]


bearer = HTTPBearer(auto_error=False, description="an API token made by `qa users token NAME`")


def create_api(ws: Workspace, settings: Settings, jobs, answerers: "Opener | Answerers | None" = None,
               prefix: str = PREFIX) -> FastAPI:
    """The API as a FastAPI app whose routes are under `prefix` (/api/v1; OpenAPI at
    /api/v1/openapi.json). `prefix=""` makes the same app to mount at /api/v1 inside another (the chat's
    server: `mounted_api`). `jobs` runs uploads and deletions (see the module docstring); `answerers`
    opens a collection's answerer (default: qa.pipeline.open_answerer on its index or store), called
    again when a new build is published; an Answerers cache is used as it is (the chat shares its own)."""
    api = FastAPI(title="qa REST API", version="1", openapi_url=f"{prefix}/openapi.json",
                  docs_url=f"{prefix}/docs", redoc_url=None,
                  description="Cited extractive answers from a workspace's collections. Every route takes "
                              "`Authorization: Bearer TOKEN`; errors are `{\"error\": {\"code\", \"message\"}}`.")
    install(api)
    upload_bytes = settings.max_upload_mb * 2**20
    api.add_middleware(BodyLimit, prefix=PREFIX, upload_bytes=upload_bytes + MULTIPART_OVERHEAD,
                       json_bytes=JSON_BODY_BYTES)
    cache = answerers if isinstance(answerers, Answerers) else Answerers(answerers or default_opener(settings))

    def caller(credentials: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> str:
        if not ws.users.any():
            # with no accounts nobody can be told apart: an API open to the network would hand every
            # collection to anyone who reaches the port, so it refuses rather than run unauthenticated
            raise ApiError(403, "no_accounts", "this workspace has no users, so the API is closed: add one with "
                                               "`qa users add NAME` and make a token with `qa users token NAME`")
        user = ws.users.user_for_token(credentials.credentials) if credentials else None
        if user is None:
            raise ApiError(401, "unauthorized", "a valid token is needed: send `Authorization: Bearer TOKEN` "
                                                "(make one with `qa users token NAME`)")
        return user

    def collection_for(user: str, name: str, needed: str) -> Collection:
        """The collection when `user` holds `needed` on it; 404 when they hold no role (the same answer as
        for a name that does not exist), 403 when their role is too weak."""
        try:
            check_name(name)
        except QAError:
            raise not_found(f"no collection {name[:64]!r}") from None
        role = ws.role(user, name) if name in ws.names() else None
        if role is None:
            raise not_found(f"no collection {name!r}")
        if ROLES.index(role) < ROLES.index(needed):
            raise ApiError(403, "forbidden", f"you are a {role} of {name!r}; this needs {needed} or above")
        return ws.collection(name)

    # ------------------------------------------------------------------ ask

    @api.post(f"{prefix}/ask", tags=["ask"], summary="Answer a question from a collection, with citations")
    def ask(body: AskBody, user: str = Depends(caller)) -> dict[str, Any]:
        """The answer object (status, answer, confidence, citations with document offsets, notes,
        conflicts, understood_as when a follow-up was resolved against `history`). Needs the reader role."""
        c = collection_for(user, body.collection, "reader")
        try:
            history, k, docs = clean_history(body.history), clean_k(body.k), clean_docs(body.docs)
        except QAError as e:
            raise ApiError(400, "bad_request", str(e)) from None
        answerer = open_for(c)
        try:
            return answer_in_conversation(answerer, history, body.question, k, docs).to_dict()
        except IndexProblem as e:
            raise ApiError(409, "no_index", f"{e.problem}: run `qa index --collection {c.name}`") from None
        except QAError as e:
            raise ApiError(400, "bad_request", str(e)) from None

    def open_for(c: Collection):
        try:
            return cache.get(c)
        except QAError as e:  # missing, stale or damaged index: the collection's state, not the request
            raise ApiError(409, "no_index", str(e)) from None

    # ------------------------------------------------------------------ collections

    @api.get(f"{prefix}/collections", tags=["collections"], summary="The collections you may read, with your role")
    def list_collections(user: str = Depends(caller)) -> dict[str, Any]:
        return {"collections": [{"name": c.name, "role": ws.role(user, c.name), "created": c.created,
                                 "indexed": published_build(c) is not None} for c in ws.visible(user)]}

    @api.post(f"{prefix}/collections", status_code=201, tags=["collections"],
              summary="Create an empty collection; you become its owner")
    def create_collection(body: NewCollection, user: str = Depends(caller)) -> dict[str, Any]:
        try:
            check_name(body.name)
        except QAError as e:
            raise ApiError(400, "bad_name", str(e)) from None
        if body.name.lower() in {n.lower() for n in ws.names()}:
            # names are one namespace for the whole workspace; the message does not repeat the taken
            # name's own spelling, nor whose it is
            raise ApiError(409, "conflict", f"the name {body.name!r} is taken; choose another")
        try:
            c = ws.create_collection(body.name, owner=user)
        except QAError as e:  # a race with another create of the same name
            raise ApiError(409, "conflict", f"the name {body.name!r} is taken; choose another") from e
        cache.forget(c.name)
        return {"name": c.name, "role": "owner", "created": c.created, "indexed": False}

    # ------------------------------------------------------------------ documents

    @api.get(f"{prefix}/collections/{{name}}/documents", tags=["documents"],
             summary="The indexed documents, and the files skipped with their reasons")
    def list_documents(name: str, user: str = Depends(caller)) -> dict[str, Any]:
        c = collection_for(user, name, "reader")
        return documents_of(c)

    def documents_of(c: Collection) -> dict[str, Any]:
        try:
            return collection_documents(c, lambda: open_for(c).index)
        except QAError as e:
            raise ApiError(409, "no_index", str(e)) from None

    @api.post(f"{prefix}/collections/{{name}}/documents", status_code=202, tags=["documents"],
              summary="Upload files (multipart, field `files`); they are checked and indexed in the background")
    async def upload(name: str, files: list[UploadFile] = File(description="one or more documents"),
                     user: str = Depends(caller)) -> dict[str, Any]:
        """Returns the job (202): poll GET /api/v1/jobs/{id}. Each file is checked before it is written
        (its type from its bytes, its size, a safe name, duplicates) and its status is in the job's
        `files`. Needs the editor role. The request body may be at most QA_MAX_UPLOAD_MB (plus 1 MiB)."""
        c = await run_in_threadpool(collection_for, user, name, "editor")
        if c.is_demo:
            raise ApiError(403, "forbidden", "the demo collection is the project's own corpus; nobody changes it")
        batch = [(f.filename or "", await f.read()) for f in files]
        try:
            job = await run_in_threadpool(jobs.submit_upload, c.name, batch, user)
        except UploadRefused as e:
            raise ApiError(HTTP_STATUS.get(e.reason_code, 400), e.reason_code, e.message) from None
        except QAError as e:
            raise ApiError(400, "bad_request", str(e)) from None
        d = job.to_dict()
        refused = [f for f in d["files"] if f.get("status") == "refused"]
        if refused and len(refused) == len(d["files"]):  # nothing accepted: the first refusal's status and words
            code = refused[0].get("reason") or "refused"
            raise ApiError(HTTP_STATUS.get(code, 400), code, refused[0].get("message") or f"the file was refused ({code})")
        return d

    @api.delete(f"{prefix}/collections/{{name}}/documents/{{doc_id}}", status_code=202, tags=["documents"],
                summary="Remove a document; the index is rebuilt without it in the background")
    def delete_document(name: str, doc_id: str, user: str = Depends(caller)) -> dict[str, Any]:
        c = collection_for(user, name, "editor")
        if c.is_demo:
            raise ApiError(403, "forbidden", "the demo collection is the project's own corpus; nobody changes it")
        known = {d["doc_id"] for d in documents_of(c)["documents"]}
        if doc_id not in known:
            raise not_found(f"no document {doc_id[:80]!r} in {c.name!r}")
        try:
            job = jobs.delete_document(c.name, doc_id, user)
        except LookupError:
            raise not_found(f"no document {doc_id[:80]!r} in {c.name!r}") from None
        except QAError as e:
            raise ApiError(400, "bad_request", str(e)) from None
        return job.to_dict()

    # ------------------------------------------------------------------ jobs

    @api.get(f"{prefix}/jobs/{{job_id}}", tags=["jobs"], summary="A job's state, progress and files")
    def get_job(job_id: str, user: str = Depends(caller)) -> dict[str, Any]:
        job = jobs.get(job_id) if len(job_id) <= 100 else None
        d = job.to_dict() if job is not None else None
        # a job of a collection the caller cannot read is as unknown as a job that never was
        if d is None or not ws.may(user, str(d.get("collection")), "reader"):
            raise not_found(f"no job {job_id[:100]!r}")
        return d

    # ------------------------------------------------------------------ members

    @api.post(f"{prefix}/collections/{{name}}/members", tags=["collections"],
              summary="Give a user a role on a collection (replacing the one they had); owners only")
    def add_member(name: str, body: Member, user: str = Depends(caller)) -> dict[str, Any]:
        c = collection_for(user, name, "owner")
        if c.is_demo:
            raise ApiError(403, "forbidden", "the demo collection takes no grants: every signed-in user reads it")
        if body.user not in ws.users:
            raise not_found(f"no user {body.user[:64]!r}")  # never the list of users QAError would give
        ws.grant(c.name, body.user, body.role)
        return {"collection": c.name, "members": ws.members(c.name)}

    return api

