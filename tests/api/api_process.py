"""A workspace with one user, a token and a small collection, served by `python app.py --collection` (real server).

Shared by tests/api/test_api_load.py, tests/api/test_api_hostile.py and scripts/bench_api.py; not a test
module. The app runs as a subprocess from this checkout (cwd and PYTHONPATH), on 127.0.0.1 and a free
port, with QA_WORKSPACE pointing at the workspace made here, and builds the collection's index at
start-up with the real model (the path a fresh `app.py --collection` takes).
"""
from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # app_support, formats_fixtures (when imported from scripts/)

from app_support import PROJECT_ROOT, AppProcess, app_env, free_port  # noqa: E402

USER = "ana"
COLLECTION = "harbour"
# The collection's documents before any upload: two short articles of made-up facts.
ORIGINALS = {
    "tides.txt": "The Tide Tables of Ostland\n\nThe tide tables of Ostland are printed every spring by the port office. "
                 "The harbour master Lena Voss signed the first printed tables in 1896. High water at the northern "
                 "quay comes about forty minutes after high water at the lighthouse.\n",
    "survey.txt": "The Harbour Survey\n\nThe harbour of Ostland was surveyed in 1921 by the engineer Marta Kell. Her "
                  "report counted forty-two berths along the northern quay. It recommended dredging the eastern "
                  "channel before the winter storms.\n",
}


@dataclass
class Served:
    """A running app serving COLLECTION of a workspace; `api` is the base URL of the REST API."""
    app: AppProcess
    workspace: Path
    token: str = field(repr=False)  # kept out of a failing test's report
    api: str = ""

    @property
    def documents(self) -> Path:
        return self.workspace / "collections" / COLLECTION / "documents"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        self.app.stop()


def make_workspace(root: Path, originals: dict[str, str] | Path = ORIGINALS) -> tuple[Path, str]:
    """A workspace under `root` with user USER (owner of COLLECTION, which holds `originals`: {name: text},
    or a folder whose files are copied), and a token."""
    import shutil

    from argon2 import PasswordHasher

    from qa.workspace import Workspace

    ws = Workspace.open(root / "ws")
    ws.users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # no sign-in is timed here
    ws.users.add(USER, "pw-" + USER)
    c = ws.create_collection(COLLECTION, owner=USER)
    if isinstance(originals, Path):
        shutil.copytree(originals, c.documents, dirs_exist_ok=True)
    else:
        c.documents.mkdir(parents=True, exist_ok=True)
        for name, text in originals.items():
            (c.documents / name).write_text(text, encoding="utf-8")
    return ws.root, ws.users.new_token(USER)


def serve(root: Path, max_upload_mb: Optional[int] = None, originals: dict[str, str] | Path = ORIGINALS,
          timeout: float = 300.0) -> Served:
    """Make the workspace and start `python app.py --collection COLLECTION` on it; returns once it listens."""
    workspace, token = make_workspace(root, originals)
    extra = {"QA_WORKSPACE": str(workspace), "PYTHONPATH": str(PROJECT_ROOT)}
    if max_upload_mb is not None:
        extra["QA_MAX_UPLOAD_MB"] = str(max_upload_mb)
    env = app_env(**extra)
    port = free_port()
    app = AppProcess(["--host", "127.0.0.1", "--port", str(port), "--collection", COLLECTION,
                      "--feedback", str(root / "feedback.jsonl")], env=env)
    url = app.wait_url(timeout).rstrip("/")
    return Served(app, workspace, token, f"{url}/api/v1")


# --------------------------------------------------------------------------- files of each kind

def docx_bytes(title: str, body: str) -> bytes:
    import docx

    d = docx.Document()
    d.add_heading(title, 1)
    d.add_paragraph(body)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def pdf_bytes(title: str, body: str) -> bytes:
    """A one-page PDF with a title and the body wrapped in short lines (PDFium's editing API)."""
    import textwrap

    from formats_fixtures import draw_pdf

    runs = [(72, 720, 16, title)]
    for i, line in enumerate(textwrap.wrap(body, 80)):
        runs.append((72, 690 - 16 * i, 11, line))
    return draw_pdf([runs])


def html_bytes(title: str, body: str) -> bytes:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>"
            f"<body><main><article><h1>{title}</h1><p>{body}</p></article></main></body></html>").encode("utf-8")


def document(kind: str, title: str, body: str) -> bytes:
    """A small file of `kind` (txt, html, docx, pdf) holding `title` and `body`."""
    if kind == "txt":
        return f"{title}\n\n{body}\n".encode("utf-8")
    return {"html": html_bytes, "docx": docx_bytes, "pdf": pdf_bytes}[kind](title, body)
