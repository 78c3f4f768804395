"""Shared helpers for the chat-app tests (test_app.py, test_browser.py): a small real index, the app
started as a subprocess (`python app.py ...`) or in a thread, free ports.

Imported by the test modules (not a conftest), e.g. `from app_support import start_app_process`.
"""
from __future__ import annotations

import atexit
import ctypes
import importlib.util
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from qa.settings import OFFLINE_ENV

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT_ROOT / "corpus"
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
URL_LINE = re.compile(r"running at (http://\S+)")
_build_lock = threading.Lock()
_shared: dict[str, "AppProcess"] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({**OFFLINE_ENV, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"})
    for k in ("QA_EMBEDDER", "QA_HOST", "QA_PORT", "QA_FEEDBACK", "QA_INDEX", "QA_CORPUS"):
        env.pop(k, None)
    env.update(extra)
    return env


def _die_with_parent() -> None:  # the app must not outlive a killed test run
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class AppProcess:
    """`python app.py ARGS` with its stdout/stderr collected; `url` once it says it is running."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None):
        self.args = args
        self.proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "app.py"), *args], cwd=PROJECT_ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or app_env(),
                                     preexec_fn=_die_with_parent)
        self.out: list[str] = []
        self.err: list[str] = []
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.out, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.err, False), daemon=True).start()
        self.url: str | None = None

    def _pump(self, stream, sink, announce):
        for line in stream:
            sink.append(line)
            if announce:
                self._lines.put(line)
        if announce:
            self._lines.put(None)

    def wait_url(self, timeout: float = 180.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            m = URL_LINE.search(line)
            if m:
                self.url = m.group(1)
                return self.url
        self.stop()
        raise RuntimeError(f"app did not start (exit {self.proc.returncode}):\n{''.join(self.out)}\n{''.join(self.err)[-3000:]}")

    def wait_exit(self, timeout: float = 120.0) -> int:
        rc = self.proc.wait(timeout)
        time.sleep(0.1)  # let the pumps drain
        return rc

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_app_process(index_dir: Path, feedback: Path, port: int | None = None) -> AppProcess:
    port = port or free_port()
    app = AppProcess(["--host", "127.0.0.1", "--port", str(port), "--corpus", str(CORPUS), "--index", str(index_dir),
                      "--feedback", str(feedback)])
    app.wait_url()
    return app


def shared_app(tmp_path_factory) -> AppProcess:
    """One `python app.py` for the whole test session (API and browser tests), on a free port on
    127.0.0.1, with its own index in the session's temp folder. The index does not exist yet, so the
    app builds it from the real corpus with the real model at start-up (printing its progress), which
    is the start-up path a fresh checkout takes. Stopped when the test process exits."""
    app = _shared.get("app")
    if app is not None and app.proc.poll() is None:
        return app
    base = tmp_path_factory.getbasetemp() / "qa-app"
    base.mkdir(parents=True, exist_ok=True)
    app = start_app_process(base / "index", base / "feedback.jsonl")
    app.index_dir, app.feedback = base / "index", base / "feedback.jsonl"
    _shared["app"] = app
    atexit.register(app.stop)
    return app


def load_app_module():
    """app.py (top level, not a package module) imported by path."""
    spec = importlib.util.spec_from_file_location("qa_chat_app", PROJECT_ROOT / "app.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


REQUEST_TIMEOUT = 120.0


def http_ask(base: str, question: str, k: int = 5, timeout: float = REQUEST_TIMEOUT) -> tuple[str, str, dict | None]:
    """One /ask API call as a plain HTTP client makes it: ('answered'|'busy'|'error', detail, answer)."""
    import json

    import httpx

    phase = "POST"
    try:
        # A fresh connection per request: reusing the POST's connection for the GET races uvicorn's 5 s
        # keep-alive close when this client's threads are starved for seconds (the server closes the idle
        # socket as the GET arrives, and the GET meets a reset) — a client-side artefact seen once in CI,
        # not the server failing under load.
        with httpx.Client(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0)) as c:
            r = c.post(f"{base}/gradio_api/call/ask", json={"data": [question, k, None]})
            if r.status_code == 503 and "queue is full" in r.text.lower():
                return "busy", r.text[:200], None
            if r.status_code != 200:
                return "error", f"POST {r.status_code}: {r.text[:200]}", None
            event_id = r.json()["event_id"]
            phase = "GET"
            with c.stream("GET", f"{base}/gradio_api/call/ask/{event_id}") as s:
                if s.status_code != 200:
                    return "error", f"GET {s.status_code}", None
                phase = "GET stream"
                body = "".join(s.iter_text())
    except httpx.HTTPError as e:  # say where it broke: connect, request, or the event stream
        return "error", f"{phase}: {e.__class__.__name__}: {e}", None
    events = [line[6:].strip() for line in body.splitlines() if line.startswith("event:")]
    data = [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]
    if not events or events[-1] != "complete" or not data:
        return "error", body[-300:], None
    result = json.loads(data[-1])[0]
    if result.get("status") not in ("answered", "uncertain", "declined"):
        return "error", str(result)[:300], None
    return "answered", result["status"], result


# --------------------------------------------------------------------------- workspaces and Chromium

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def chromium_browser():
    """A generator fixture body: Debian's Chromium driven by Playwright, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def harbour_workspace(root: Path, documents: dict[str, str], env: dict[str, str]):
    """A workspace at `root` with users ana (password ana-pass-1) and bo (bo-pass-1), and collection
    "harbour" owned by ana holding `documents` ({file name: text}), indexed by `qa index --collection`
    run with `env` (the real model unless it says QA_EMBEDDER=fake)."""
    from qa.workspace import Workspace

    ws = Workspace.open(root)
    ws.users.add("ana", "ana-pass-1")
    ws.users.add("bo", "bo-pass-1")
    c = ws.create_collection("harbour", owner="ana")
    for name, text in documents.items():
        (c.documents / name).write_text(text, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "qa", "index", "--collection", "harbour"], cwd=PROJECT_ROOT, env=env,
                   check=True, capture_output=True, timeout=600)
    return ws
