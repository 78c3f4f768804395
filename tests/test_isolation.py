"""Issue 29's isolation target: every route of the running server, walked as a visitor without access.

One `python app.py --collection harbour` over a workspace where ana owns "harbour" and bo has no role
on it. Every REST route, Gradio's own routes and API, and its file route are asked for ana's
collection as bo, as an anonymous caller and with a bad token: each is refused (401, 403 or 404, or the
chat API's error object) and no response holds the collection's titles, text, file names or ids.
The chat's page images are never a route of their own (qa.chat.docview embeds them in the document
view, which the chat's event handlers show only to readers: tests/test_app.py), so there is none to walk.
"""
from __future__ import annotations

import json
import time

import pytest

from app_support import AppProcess, app_env, free_port, harbour_workspace
from support import FAKE_ENV

SECRETS = ["Secret Harbour Ledger", "Zephyrine", "ledger.txt", "cargo-1888.txt", "pier nine"]
REFUSED = {401, 403, 404}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import httpx

    root = tmp_path_factory.mktemp("iso") / "ws"
    env = app_env(QA_WORKSPACE=str(root), **FAKE_ENV)
    ws = harbour_workspace(root, {"ledger.txt": "Secret Harbour Ledger\n\nThe Zephyrine cargo was landed at pier "
                                                "nine in 1888.\n"}, env)
    c = ws.collection("harbour")
    app = AppProcess(["--host", "127.0.0.1", "--port", str(free_port()), "--collection", "harbour"], env=env)
    url = app.wait_url(timeout=300).rstrip("/")
    ana, bo = ws.users.new_token("ana"), ws.users.new_token("bo")
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {ana}"}) as client:
        r = client.post("/api/v1/collections/harbour/documents",
                        files=[("files", ("cargo-1888.txt", b"Cargo of 1888\n\nThe Zephyrine cargo held tea.\n"))])
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        deadline = time.monotonic() + 120
        while client.get(f"/api/v1/jobs/{job}").json()["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, "ana's upload did not finish"
            time.sleep(0.3)
        docs = client.get("/api/v1/collections/harbour/documents").json()["documents"]
    assert len(docs) == 2
    yield {"url": url, "ws": ws, "ana": ana, "bo": bo, "job": job, "doc_id": docs[0]["doc_id"],
           "path": str(c.documents / "ledger.txt"), "app": app}
    app.stop()


def leaks(text: str, world) -> list[str]:
    return [s for s in SECRETS + [world["doc_id"], world["path"]] if s in text]


def text_leaks(text: str) -> list[str]:
    """The document's own words (a refusal may echo the path it was asked for, never the file's text)."""
    return [s for s in ("Secret Harbour Ledger", "Zephyrine", "pier nine") if s in text]


def rest_routes(world):
    doc, job = world["doc_id"], world["job"]
    return [
        ("POST", "/api/v1/ask", {"json": {"question": "Which cargo was landed at pier nine?", "collection": "harbour"}}),
        ("GET", "/api/v1/collections/harbour/documents", {}),
        ("POST", "/api/v1/collections/harbour/documents", {"files": [("files", ("x.txt", b"An upload.\n"))]}),
        ("DELETE", f"/api/v1/collections/harbour/documents/{doc}", {}),
        ("GET", f"/api/v1/jobs/{job}", {}),
        ("POST", "/api/v1/collections/harbour/members", {"json": {"user": "bo", "role": "owner"}}),
    ]


@pytest.mark.parametrize("who", ["bo", "anonymous", "bad token"])
def test_every_rest_route_refuses_a_caller_without_access_and_says_nothing(world, who):
    import httpx

    headers = {"bo": {"Authorization": f"Bearer {world['bo']}"}, "anonymous": {},
               "bad token": {"Authorization": "Bearer qa_0000_not-a-token"}}[who]
    with httpx.Client(base_url=world["url"], timeout=60, headers=headers) as client:
        for method, path, kwargs in rest_routes(world):
            r = client.request(method, path, **kwargs)
            assert r.status_code in REFUSED, (who, method, path, r.status_code, r.text[:300])
            assert set(r.json()["error"]) == {"code", "message"}, (method, path)
            assert not leaks(r.text, world), (who, method, path, r.text[:300])
        listed = client.get("/api/v1/collections")
        if who == "bo":
            assert [c["name"] for c in listed.json()["collections"]] == ["demo"]
        else:
            assert listed.status_code in REFUSED
        assert not leaks(listed.text, world)
    assert not (world["ws"].collection("harbour").documents / "x.txt").exists()
    assert world["ws"].role("bo", "harbour") is None


def test_gradio_routes_refuse_a_visitor_who_has_not_signed_in(world):
    import httpx

    with httpx.Client(base_url=world["url"], timeout=60) as client:
        for method, path, kwargs in [
            ("GET", "/config", {}),
            ("GET", "/gradio_api/info", {}),
            ("POST", "/gradio_api/call/ask", {"json": {"data": ["Which cargo?", 5, None, None, "harbour"]}}),
            ("POST", "/gradio_api/queue/join", {"json": {"data": ["x"], "fn_index": 0, "session_hash": "abc"}}),
            ("POST", "/gradio_api/upload", {"files": [("files", ("x.txt", b"x"))]}),
            ("GET", f"/gradio_api/file={world['path']}", {}),
        ]:
            r = client.request(method, path, **kwargs)
            assert r.status_code in REFUSED, (method, path, r.status_code, r.text[:300])
            assert not leaks(r.text, world), (method, path)
        page = client.get("/")  # the login page, and nothing of the collection's
        assert page.status_code == 200 and not leaks(page.text, world)


def test_a_signed_in_visitor_without_a_role_gets_nothing_from_the_page_its_api_or_its_files(world):
    import httpx
    from gradio_client import Client

    from qa.chat.access import NO_ACCESS

    with httpx.Client(base_url=world["url"], timeout=60) as client:
        assert client.post("/login", data={"username": "bo", "password": "bo-pass-1"}).status_code == 200
        config = client.get("/config")
        assert config.status_code == 200 and not leaks(config.text, world)
        info = client.get("/gradio_api/info")
        assert not leaks(info.text, world)
        for who in ("bo", "ana"):  # the workspace's files are never served by Gradio's file route
            r = client.get(f"/gradio_api/file={world['path']}")
            assert r.status_code in REFUSED and not text_leaks(r.text), (who, r.status_code)
            client.post("/login", data={"username": "ana", "password": "ana-pass-1"})
    bo = Client(world["url"], auth=("bo", "bo-pass-1"), verbose=False)
    try:
        for collection in (None, "harbour", "nope"):  # the served one, named, and one that does not exist
            answer = bo.predict("Which cargo was landed at pier nine?", 5, None, None, collection, api_name="/ask")
            assert answer == {"error": NO_ACCESS}, (collection, answer)
    finally:
        bo.close()
    ana = Client(world["url"], auth=("ana", "ana-pass-1"), verbose=False)
    try:  # the same call as a reader is answered: the refusals above are about the role, not the call
        answer = ana.predict("Which cargo was landed at pier nine?", 5, None, None, "harbour", api_name="/ask")
        assert "error" not in answer and answer["citations"], json.dumps(answer)[:300]
    finally:
        ana.close()
