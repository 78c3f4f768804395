"""The REST API under /api/v1: tokens, roles, the error shape, and no leak of another user's documents."""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import pytest
from starlette.testclient import TestClient

from support import build_fake, fake_embedder, never_decline, write_corpus

SECRET_TITLE = "The Bo Ledger of Quiet Harbours"
SECRET_WORD = "zanzibarite"
BO_DOCS = {"ledger.txt": f"{SECRET_TITLE}\n\nThe {SECRET_WORD} ledger was kept by the harbour clerk Ivo Marr in 1802.\n"}
ANA_DOCS = {"mill.txt": "The Mill at Varne\n\nThe water mill at Varne was rebuilt in 1880 by the miller Petra Lind.\n",
            "quay.txt": "The Northern Quay\n\nThe northern quay of Ostland had twelve berths. It was built by Jon Asker.\n"}


@dataclass
class FakeJob:
    id: str
    collection: str
    kind: str
    user: str
    files: list = field(default_factory=list)

    def to_dict(self):
        return {"id": self.id, "collection": self.collection, "kind": self.kind, "state": "queued", "progress": 0.0,
                "files": self.files, "error": None, "created": "2025-01-01T00:00:00+00:00", "finished": None,
                "user": self.user}


class FakeJobs:
    """The jobs interface (qa.workspace.jobs): records what it is asked, runs nothing."""

    def __init__(self):
        self.jobs, self.ids, self.calls = {}, itertools.count(1), []

    def _new(self, collection, kind, user, files=()):
        job = FakeJob(f"job{next(self.ids)}", collection, kind, user,
                      [{"name": n, "status": "queued", "reason": None, "message": None} for n in files])
        self.jobs[job.id] = job
        return job

    def submit_upload(self, collection, files, user):
        self.calls.append(("upload", collection, [(n, len(b)) for n, b in files], user))
        return self._new(collection, "upload", user, [n for n, _ in files])

    def delete_document(self, collection, doc_id, user):
        self.calls.append(("delete", collection, doc_id, user))
        return self._new(collection, "delete", user)

    def get(self, job_id):
        return self.jobs.get(job_id)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from argon2 import PasswordHasher

    from qa.answer.answerer import Answerer
    from qa.answer.retrieval import Retriever
    from qa.api import create_api
    from qa.index.load import load_index
    from qa.settings import Settings
    from qa.workspace import Workspace

    root = tmp_path_factory.mktemp("api")
    ws = Workspace.open(root / "ws")
    ws.users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    for u in ("ana", "bo", "cy"):
        ws.users.add(u, "pw-" + u)
    ws.create_collection("ana-notes", owner="ana")
    ws.create_collection("bo-ledger", owner="bo")
    shared = ws.create_collection("shared", owner="ana")
    ws.grant("shared", "bo", "reader")
    for name, docs in (("ana-notes", ANA_DOCS), ("bo-ledger", BO_DOCS), ("shared", ANA_DOCS)):
        c = ws.collection(name)
        write_corpus(c.documents, docs)
        build_fake(c.documents, c.index, progress=False)
    emb = fake_embedder()

    def opener(c):
        return Answerer(Retriever(load_index(c.index, emb), emb), answer=never_decline())

    jobs = FakeJobs()
    api = create_api(ws, Settings(embedder="fake", max_upload_mb=1), jobs, answerers=opener)
    client = TestClient(api, raise_server_exceptions=False)
    tokens = {u: ws.users.new_token(u) for u in ("ana", "bo", "cy")}
    return {"ws": ws, "client": client, "jobs": jobs, "tokens": tokens, "shared": shared}


def call(world, user, method, path, **kw):
    headers = {"Authorization": f"Bearer {world['tokens'][user]}"} if user else {}
    headers.update(kw.pop("headers", {}))
    return world["client"].request(method, "/api/v1" + path, headers=headers, **kw)


def assert_error(r, status, code=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    assert "Traceback" not in r.text
    return body


def no_leak(r):
    assert SECRET_TITLE not in r.text and SECRET_WORD not in r.text and "ledger.txt" not in r.text, r.text


# ---------------------------------------------------------------------- isolation: every route as ana on bo's

BO_ROUTES = [
    ("POST", "/ask", {"json": {"question": "Who kept the ledger?", "collection": "bo-ledger"}}),
    ("GET", "/collections/bo-ledger/documents", {}),
    ("POST", "/collections/bo-ledger/documents", {"files": {"files": ("x.txt", b"hello there", "text/plain")}}),
    ("DELETE", "/collections/bo-ledger/documents/ledger", {}),
    ("POST", "/collections/bo-ledger/members", {"json": {"user": "ana", "role": "owner"}}),
]


@pytest.mark.parametrize("method,path,kw", BO_ROUTES, ids=[f"{m} {p}" for m, p, _ in BO_ROUTES])
def test_every_route_on_a_private_collection_is_404_for_another_user_and_leaks_nothing(world, method, path, kw):
    r = call(world, "ana", method, path, **kw)
    assert_error(r, 404, "not_found")
    no_leak(r)
    # the same answer as for a collection that does not exist at all
    r2 = call(world, "ana", method, path.replace("bo-ledger", "no-such"),
              **({"json": {**kw["json"], "collection": "no-such"}} if "collection" in kw.get("json", {}) else kw))
    assert r2.status_code == 404 and r2.json()["error"]["message"] == r.json()["error"]["message"].replace("bo-ledger", "no-such")
    assert not [c for c in world["jobs"].calls if c[1] == "bo-ledger"]
    assert world["ws"].role("ana", "bo-ledger") is None


def test_listing_shows_only_the_callers_collections_with_their_role(world):
    r = call(world, "ana", "GET", "/collections")
    assert r.status_code == 200
    assert {c["name"]: c["role"] for c in r.json()["collections"]} == {"demo": "reader", "ana-notes": "owner",
                                                                       "shared": "owner"}
    no_leak(r)
    r = call(world, "bo", "GET", "/collections")
    assert {c["name"]: c["role"] for c in r.json()["collections"]} == {"demo": "reader", "bo-ledger": "owner",
                                                                       "shared": "reader"}


def test_a_reader_may_ask_and_list_but_not_change_a_shared_collection(world):
    assert call(world, "bo", "GET", "/collections/shared/documents").status_code == 200
    for method, path, kw in [("POST", "/collections/shared/documents", {"files": {"files": ("a.txt", b"hi", "text/plain")}}),
                             ("DELETE", "/collections/shared/documents/mill", {}),
                             ("POST", "/collections/shared/members", {"json": {"user": "bo", "role": "owner"}})]:
        assert_error(call(world, "bo", method, path, **kw), 403, "forbidden")
    assert world["ws"].role("bo", "shared") == "reader"


def test_jobs_of_a_collection_the_caller_cannot_read_are_404(world):
    r = call(world, "bo", "POST", "/collections/bo-ledger/documents",
             files={"files": ("notes.txt", b"private words", "text/plain")})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["collection"] == "bo-ledger" and job["files"][0]["name"] == "notes.txt"
    assert call(world, "bo", "GET", f"/jobs/{job['id']}").json()["id"] == job["id"]
    r = call(world, "ana", "GET", f"/jobs/{job['id']}")
    assert_error(r, 404, "not_found")
    assert "notes.txt" not in r.text
    assert_error(call(world, "ana", "GET", "/jobs/nothing-like-it"), 404)


# ---------------------------------------------------------------------- tokens

@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer qa_000000000000_" + "A" * 43, "Basic YW5hOnB3", "qa_x"])
def test_a_missing_or_bad_token_is_401_on_every_route(world, header):
    headers = {"Authorization": header} if header else {}
    for method, path, kw in [("GET", "/collections", {}), ("POST", "/ask", {"json": {"question": "q", "collection": "demo"}}),
                             ("GET", "/jobs/job1", {}), *BO_ROUTES]:
        r = world["client"].request(method, "/api/v1" + path, headers=headers, **kw)
        body = assert_error(r, 401, "unauthorized")
        assert "Bearer" in body["error"]["message"]
        no_leak(r)


def test_without_users_the_api_is_closed(tmp_path):
    from qa.api import create_api
    from qa.settings import Settings
    from qa.workspace import Workspace

    client = TestClient(create_api(Workspace.open(tmp_path / "ws"), Settings(embedder="fake"), FakeJobs()))
    body = assert_error(client.get("/api/v1/collections"), 403, "no_accounts")
    assert "qa users add" in body["error"]["message"] and "qa users token" in body["error"]["message"]


# ---------------------------------------------------------------------- errors

def test_validation_errors_have_the_one_shape_and_do_not_echo_the_input(world):
    r = call(world, "ana", "POST", "/ask", json={"collection": "ana-notes", "k": "many-words-here"})
    body = assert_error(r, 422, "invalid_request")
    assert "question" in body["error"]["message"] and "many-words-here" not in r.text
    assert_error(call(world, "ana", "POST", "/ask", content=b"{not json", headers={"Content-Type": "application/json"}), 422)
    assert_error(call(world, "ana", "POST", "/collections/shared/members", json={"user": "bo", "role": "king"}), 422)
    assert_error(call(world, "ana", "POST", "/ask", json={"question": "q", "collection": "ana-notes",
                                                          "history": [{"answer": 3}]}), 400, "bad_request")
    assert_error(call(world, "ana", "GET", "/nowhere"), 404)
    assert_error(call(world, "ana", "PUT", "/collections"), 405)


def test_an_unexpected_failure_is_a_generic_500(world, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("/secret/path/of/the/server")

    monkeypatch.setattr(world["jobs"], "get", boom)
    r = call(world, "ana", "GET", "/jobs/job1")
    assert_error(r, 500, "internal")
    assert "/secret/path" not in r.text


def test_an_upload_over_the_limit_is_413_before_the_jobs_see_it(world):
    before = len(world["jobs"].calls)
    big = b"a" * (3 * 2**20)  # the limit is 1 MiB (+1 MiB of multipart framing)
    r = call(world, "ana", "POST", "/collections/ana-notes/documents", files={"files": ("big.txt", big, "text/plain")})
    assert_error(r, 413, "too_large")

    def chunks():  # no Content-Length: counted while it streams
        yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n\r\n"
        for _ in range(48):
            yield b"a" * 2**16
        yield b"\r\n--b--\r\n"

    r = call(world, "ana", "POST", "/collections/ana-notes/documents", content=chunks(),
             headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert_error(r, 413, "too_large")
    assert len(world["jobs"].calls) == before


def test_a_refused_upload_gets_the_status_of_its_reason(world, monkeypatch):
    from qa.ingest.uploads import UploadRefused

    def refuse(*_a):
        raise UploadRefused("type_mismatch", "report.pdf: its name says PDF and its bytes say text")

    monkeypatch.setattr(world["jobs"], "submit_upload", refuse)
    r = call(world, "ana", "POST", "/collections/ana-notes/documents", files={"files": ("report.pdf", b"text", "application/pdf")})
    assert_error(r, 415, "type_mismatch")


# ---------------------------------------------------------------------- the routes doing their work

def test_ask_answers_with_citations_and_resolves_a_follow_up(world):
    r = call(world, "ana", "POST", "/ask", json={"question": "Who rebuilt the mill at Varne?", "collection": "ana-notes"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["citations"] and first["status"]
    r = call(world, "ana", "POST", "/ask", json={"question": "When was it rebuilt?", "collection": "ana-notes",
                                                 "history": [{"question": "Who rebuilt the mill at Varne?", "answer": first}]})
    assert r.status_code == 200, r.text
    assert r.json()["understood_as"], r.json()


def test_documents_are_listed_with_titles_and_file_names_not_server_paths(world):
    r = call(world, "ana", "GET", "/collections/ana-notes/documents")
    body = r.json()
    assert body["indexed"] and {d["file"] for d in body["documents"]} == {"mill.txt", "quay.txt"}
    assert {d["title"] for d in body["documents"]} == {"The Mill at Varne", "The Northern Quay"}
    assert str(world["ws"].root) not in r.text


def test_create_upload_delete_and_members(world):
    r = call(world, "cy", "POST", "/collections", json={"name": "cy-box"})
    assert r.status_code == 201 and r.json()["role"] == "owner"
    assert_error(call(world, "cy", "POST", "/collections", json={"name": "BO-LEDGER"}), 409, "conflict")
    assert_error(call(world, "cy", "POST", "/collections", json={"name": "../up"}), 400, "bad_name")
    assert call(world, "cy", "GET", "/collections/cy-box/documents").json() == {
        "collection": "cy-box", "indexed": False, "built_at": None, "documents": [], "skipped": []}
    r = call(world, "cy", "POST", "/collections/cy-box/documents",
             files=[("files", ("a.txt", b"alpha", "text/plain")), ("files", ("b.md", b"# beta", "text/markdown"))])
    assert r.status_code == 202 and [f["name"] for f in r.json()["files"]] == ["a.txt", "b.md"]
    assert world["jobs"].calls[-1] == ("upload", "cy-box", [("a.txt", 5), ("b.md", 6)], "cy")

    assert_error(call(world, "cy", "POST", "/collections/cy-box/members", json={"user": "nobody", "role": "reader"}), 404)
    r = call(world, "cy", "POST", "/collections/cy-box/members", json={"user": "bo", "role": "editor"})
    assert r.status_code == 200 and r.json()["members"] == {"cy": "owner", "bo": "editor"}
    assert "cy-box" in [c["name"] for c in call(world, "bo", "GET", "/collections").json()["collections"]]

    doc_id = call(world, "ana", "GET", "/collections/ana-notes/documents").json()["documents"][0]["doc_id"]
    r = call(world, "ana", "DELETE", f"/collections/ana-notes/documents/{doc_id}")
    assert r.status_code == 202 and r.json()["kind"] == "delete"
    assert world["jobs"].calls[-1] == ("delete", "ana-notes", doc_id, "ana")
    assert_error(call(world, "ana", "DELETE", "/collections/ana-notes/documents/no-such-doc"), 404)
    assert_error(call(world, "ana", "POST", "/collections/demo/members", json={"user": "bo", "role": "reader"}), 403)


def test_openapi_is_served_and_documents_every_route_and_the_bearer_scheme(world):
    r = world["client"].get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert {"/api/v1/ask", "/api/v1/collections", "/api/v1/collections/{name}/documents",
            "/api/v1/collections/{name}/documents/{doc_id}", "/api/v1/jobs/{job_id}",
            "/api/v1/collections/{name}/members"} <= set(spec["paths"])
    assert "HTTPBearer" in json.dumps(spec["components"]["securitySchemes"])


# ---------------------------------------------------------------------- end to end with the real jobs

@pytest.mark.slow  # a real build (spaCy's analysis) in a background thread: about 10 s
def test_a_script_uploads_over_rest_waits_for_its_job_and_asks_about_the_new_document(tmp_path):
    """The issue's "a script reaches the same answers over the REST API with a token", with the real
    jobs module: upload, poll the job, ask; the answer cites the uploaded file."""
    from argon2 import PasswordHasher

    from qa.api import create_api
    from qa.settings import Settings
    from qa.workspace import Workspace
    from qa.workspace.jobs import Jobs

    ws = Workspace.open(tmp_path / "ws")
    ws.users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    ws.users.add("ana", "pw-ana")
    c = ws.create_collection("harbour", owner="ana")
    write_corpus(c.documents, {"tides.txt": "The tide tables of Ostland are printed every spring by the port office."})
    build_fake(c.documents, c.index, progress=False)
    settings = Settings(embedder="fake", max_upload_mb=1)
    jobs = Jobs(ws, settings, fake_embedder())
    client = TestClient(create_api(ws, settings, jobs), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {ws.users.new_token('ana')}"}
    text = b"Marta Kell surveyed the harbour of Ostland in 1921 and drew its first chart."
    r = client.post("/api/v1/collections/harbour/documents", headers=auth,
                    files={"files": ("survey.txt", text, "text/plain")})
    assert r.status_code == 202, r.text
    job = jobs.wait(r.json()["id"], timeout=120)
    assert job.state == "done" and [(f.name, f.status) for f in job.files] == [("survey.txt", "indexed")]
    r = client.get(f"/api/v1/jobs/{job.id}", headers=auth)
    assert r.status_code == 200 and r.json()["state"] == "done"
    r = client.post("/api/v1/ask", headers=auth, json={"question": "Who surveyed the harbour of Ostland?",
                                                       "collection": "harbour"})
    assert r.status_code == 200, r.text
    assert any(cit["source"].endswith("survey.txt") for cit in r.json()["citations"] + r.json()["closest"]), r.text
