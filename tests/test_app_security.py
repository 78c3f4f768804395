"""The running app under load and against file-path tricks (the session's shared `python app.py` on
127.0.0.1, see tests/app_support.py).

- 200 concurrent `/ask` API requests: every one is answered or told "busy" (Gradio's queue-full 503) —
  no other status, no exception, no timeout; the latency p95 is recorded.
- /gradio_api/file=/etc/passwd and encoded ../ variants (and files the app does know about: its source,
  the corpus, the index) are refused with 403 or 404.
"""
from __future__ import annotations

import collections
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_support import PROJECT_ROOT, shared_app  # noqa: E402

pytestmark = pytest.mark.model

REQUESTS = 200
REQUEST_TIMEOUT = 120.0
TOTAL_TIMEOUT = 240.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    return shared_app(tmp_path_factory)


def _ask(base: str, question: str) -> tuple[str, str]:
    """One API call as a plain HTTP client makes it: ('answered'|'busy'|'error', detail)."""
    import json

    import httpx

    phase = "POST"
    try:
        # A fresh connection per request: reusing the POST's connection for the GET races uvicorn's 5 s
        # keep-alive close when this client's threads are starved for seconds (the server closes the idle
        # socket as the GET arrives, and the GET meets a reset) — a client-side artefact seen once in CI,
        # not the server failing under load, which is what this test is about.
        with httpx.Client(timeout=REQUEST_TIMEOUT, limits=httpx.Limits(max_keepalive_connections=0)) as c:
            r = c.post(f"{base}/gradio_api/call/ask", json={"data": [question, 5, None]})
            if r.status_code == 503 and "queue is full" in r.text.lower():
                return "busy", r.text[:200]
            if r.status_code != 200:
                return "error", f"POST {r.status_code}: {r.text[:200]}"
            event_id = r.json()["event_id"]
            phase = "GET"
            with c.stream("GET", f"{base}/gradio_api/call/ask/{event_id}") as s:
                if s.status_code != 200:
                    return "error", f"GET {s.status_code}"
                phase = "GET stream"
                body = "".join(s.iter_text())
    except httpx.HTTPError as e:  # say where it broke: connect, request, or the event stream
        return "error", f"{phase}: {e.__class__.__name__}: {e}"
    events = [line[6:].strip() for line in body.splitlines() if line.startswith("event:")]
    data = [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]
    if not events or events[-1] != "complete" or not data:
        return "error", body[-300:]
    result = json.loads(data[-1])[0]
    if result.get("status") not in ("answered", "uncertain", "declined"):
        return "error", str(result)[:300]
    return "answered", result["status"]


def test_two_hundred_concurrent_requests_are_answered_or_told_busy(server, record_property):
    base = server.url.rstrip("/")
    questions = ["Who led Wilayat Khorasan?", "When was IS-K founded?", "What is IS-K's annual budget?",
                 "Which countries does the Islamic State's 'Khorasan' region take in?"]
    outcome: list = [None] * REQUESTS
    latency: list = [None] * REQUESTS
    barrier = threading.Barrier(REQUESTS, timeout=60)

    def worker(i: int):
        try:
            barrier.wait()
            t = time.perf_counter()
            outcome[i] = _ask(base, questions[i % len(questions)])
            latency[i] = time.perf_counter() - t
        except BaseException as e:  # noqa: BLE001 - counted as an error below
            outcome[i] = ("error", f"{e.__class__.__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(REQUESTS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, TOTAL_TIMEOUT - (time.perf_counter() - t0)))
    wall = time.perf_counter() - t0
    assert not any(t.is_alive() for t in threads), f"requests still running after {TOTAL_TIMEOUT}s"
    kinds = collections.Counter(o[0] for o in outcome)
    errors = [o[1] for o in outcome if o[0] == "error"]
    done = sorted(x for x in latency if x is not None)
    p95 = done[min(len(done) - 1, int(0.95 * len(done)))]
    record_property("requests", REQUESTS)
    record_property("answered", kinds["answered"])
    record_property("busy", kinds["busy"])
    record_property("p95_seconds", round(p95, 3))
    print(f"{REQUESTS} concurrent requests in {wall:.1f}s: {kinds['answered']} answered, {kinds['busy']} busy, "
          f"{len(errors)} errors; p50 {done[len(done) // 2]:.2f}s, p95 {p95:.2f}s")
    assert not errors, f"{len(errors)} errors, e.g. {errors[:3]}"
    assert kinds["answered"] > 0
    assert kinds["answered"] + kinds["busy"] == REQUESTS


PATHS = [
    "/gradio_api/file=/etc/passwd",
    "/gradio_api/file=//etc/passwd",
    "/gradio_api/file=%2Fetc%2Fpasswd",
    "/gradio_api/file=../../../../../../etc/passwd",
    "/gradio_api/file=..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/gradio_api/file=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/gradio_api/file=%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "/gradio_api/file=....//....//....//etc/passwd",
    "/gradio_api/file=..\\..\\..\\..\\etc\\passwd",
    "/gradio_api/file=/etc/passwd%00.png",
    "/gradio_api/file=/proc/self/environ",
    "/file=/etc/passwd",
    "/file=../../../../etc/passwd",
    "/static/../../../../etc/passwd",
    "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/file=" + str(PROJECT_ROOT / "app.py"),
    "/gradio_api/file=app.py",
    "/gradio_api/file=" + str(PROJECT_ROOT / "corpus" / "metadata.json"),
    "/gradio_api/file=" + str(PROJECT_ROOT / "pyproject.toml"),
]


@pytest.mark.parametrize("path", PATHS)
def test_file_paths_outside_the_app_are_refused(server, path):
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", path)  # sent exactly as written: no client-side normalising of ../
        r = conn.getresponse()
        body = r.read()
    finally:
        conn.close()
    assert r.status in (403, 404), f"{path} -> {r.status}: {body[:200]!r}"
    assert b"root:" not in body and b"[project]" not in body and b"import gradio" not in body
