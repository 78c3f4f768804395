"""Issue 29's hostile uploads through the real server's REST route: each is refused with its reason, or read safely.

`python app.py --collection harbour` runs as a subprocess on 127.0.0.1 with QA_MAX_UPLOAD_MB=1. The
checks themselves are unit-tested in tests/ingest/test_uploads.py; here the bytes go through HTTP,
multipart parsing, the body limit and the real jobs, and the test looks at what reached the disk.
Names the client library would tidy (a NUL, "../") are sent in a multipart body written by hand.
"""
from __future__ import annotations

import io
import socket
import threading
from pathlib import Path

import httpx
import pytest

from api_process import COLLECTION, ORIGINALS, docx_bytes, serve
from formats_fixtures import scripted_pdf as scripted

pytestmark = [pytest.mark.slow, pytest.mark.model]  # the app builds its index with the real model

MIB = 2**20
LIMIT_MB = 1
TEXT = b"The quay at Ostland was paved with granite setts in 1899 by the stonemason Ola Brekke.\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = serve(tmp_path_factory.mktemp("hostile"), max_upload_mb=LIMIT_MB, timeout=120)
    yield s
    s.stop()


@pytest.fixture()
def api(server):
    with httpx.Client(base_url=server.api, headers=server.headers, timeout=120) as c:
        yield c
    # whatever a test sent, the server is still up and answering
    assert server.app.proc.poll() is None, "".join(server.app.err)[-3000:]
    with httpx.Client(base_url=server.api, headers=server.headers, timeout=30) as c:
        r = c.get("/collections")
    assert r.status_code == 200 and COLLECTION in [x["name"] for x in r.json()["collections"]], r.text


def multipart(filename: bytes, data: bytes, boundary: bytes = b"qa-hostile-boundary") -> tuple[bytes, dict]:
    """One `files` part whose filename is exactly these bytes (httpx would percent-encode a NUL)."""
    body = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + filename +
            b"\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--" + boundary + b"--\r\n")
    return body, {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}


def upload_raw(api: httpx.Client, filename: bytes, data: bytes) -> httpx.Response:
    body, headers = multipart(filename, data)
    return api.post(f"/collections/{COLLECTION}/documents", content=body, headers=headers)


def refusal(r: httpx.Response) -> str:
    """The reason code of an upload of one file that was refused. The route answers 202 with the job,
    finished at once, its file `refused` with the reason (qa.workspace.jobs records refusals rather than
    raising them); an error status is accepted too, if it is the one HTTP_STATUS gives that reason."""
    from qa.ingest.uploads import HTTP_STATUS

    body = r.json()
    if r.status_code == 202:
        assert body["state"] == "done" and body["progress"] == 1.0, body
        [f] = body["files"]
        assert f["status"] == "refused" and f["message"], body
        return f["reason"]
    code = body["error"]["code"]
    assert r.status_code == HTTP_STATUS[code], (r.status_code, body)
    return code


def with_part(docx: bytes, name: str, data: bytes) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            z.writestr(info.filename, zin.read(info.filename))
        z.writestr(name, data)
    return out.getvalue()


def hostile_files() -> dict[str, tuple[bytes, bytes, str]]:
    """case -> (file name as sent, bytes, the reason it must be refused with)."""
    from formats_fixtures import lie_about_size

    docx = docx_bytes("Harbour dues", "The harbour dues were raised in 1902.")
    bomb = with_part(docx, "word/media/zeros.bin", bytes(40 * MIB))  # 40 MiB of zeros in about 40 KiB
    liar = lie_about_size(with_part(docx, "word/media/zeros.bin", bytes(3 * MIB)), "word/media/zeros.bin", 1000)
    return {
        "over the limit": (b"just-over.txt", b"a" * (LIMIT_MB * MIB + 1), "too_large"),
        "zip bomb": (b"dues.docx", bomb, "zip_bomb"),
        "zip bomb whose sizes lie": (b"dues-liar.docx", liar, "zip_bomb"),
        "../ in the name": (b"../evil-up.txt", TEXT + b"1", "bad_name"),
        "../../ deeper": (b"../../evil-deep.txt", TEXT + b"2", "bad_name"),
        "backslashes": (b"..\\evil-back.txt", TEXT + b"3", "bad_name"),
        "NUL in the name": (b"evil-nul\x00.txt", TEXT + b"4", "bad_name"),
        "300 characters": (b"e" * 296 + b".txt", TEXT + b"5", "bad_name"),
        ".pdf of text": (b"report.pdf", TEXT + b"6", "type_mismatch"),
        ".pdf of a web page": (b"page.pdf", b"<!DOCTYPE html><html><body><p>" + TEXT + b"</p></body></html>",
                               "type_mismatch"),
    }


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_a_body_over_the_limit_is_a_json_413_not_a_dropped_connection(server, api):
    before = files_under(server.workspace)
    for size in (3 * MIB, 20 * MIB):  # Content-Length says it: refused before the body is read
        r = api.post(f"/collections/{COLLECTION}/documents", files={"files": ("big.txt", b"a" * size, "text/plain")})
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "too_large" and "MiB" in r.json()["error"]["message"]

    def chunks():  # no Content-Length: counted while it streams
        yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n\r\n"
        for _ in range(4 * 16):
            yield b"a" * 2**16
        yield b"\r\n--b--\r\n"

    r = api.post(f"/collections/{COLLECTION}/documents", content=chunks(),
                 headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    # nothing written: no job record, no staged or moved file
    assert files_under(server.workspace) == before


@pytest.mark.parametrize("case", list(hostile_files()))
def test_a_hostile_upload_is_refused_with_its_reason_and_nothing_is_written(server, api, case):
    name, data, reason = hostile_files()[case]
    docs_before = files_under(server.documents)
    r = upload_raw(api, name, data)
    assert r.status_code in (202, 400, 409, 413, 415, 422), r.text
    assert refusal(r) == reason, r.text
    if r.status_code == 202:  # the job is kept and says the same
        job = api.get(f"/jobs/{r.json()['id']}").json()
        assert [(f["status"], f["reason"]) for f in job["files"]] == [("refused", reason)]
    assert files_under(server.documents) == docs_before
    assert not [p for p in (server.workspace / "jobs").glob("*.files") if any(p.iterdir())]  # nothing staged
    # nothing escaped the documents folder either: no file of that name, tidied (folders or NUL taken out)
    # or cut short, anywhere in or above the workspace
    leaf = name.replace(b"\\", b"/").rsplit(b"/", 1)[-1].replace(b"\x00", b"").decode()
    assert not [p for p in server.workspace.parent.rglob("*")
                if p.name == leaf or (len(leaf) > 200 and p.name.startswith(leaf[:40]))]
    docs = api.get(f"/collections/{COLLECTION}/documents").json()
    assert leaf not in {d["file"] for d in docs["documents"]} | {s["file"] for s in docs["skipped"]}


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections: where the PDF's script would call home."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port, self.hits, self.stopped = self.sock.getsockname()[1], 0, False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def stop(self):
        self.stopped = True
        self.thread.join(2)
        self.sock.close()


JS_MARKER = "quillwortscript"


def scripted_pdf(text: str, url: str) -> bytes:
    """A one-page PDF written by hand whose catalog runs JavaScript on opening (/OpenAction and the
    JavaScript name tree) and whose page has a JavaScript link: the script would fetch `url`."""
    js = (f"var {JS_MARKER} = 1; app.launchURL('{url}', true); this.submitForm('{url}'); "
          f"Net.HTTP.request({{cVerb: 'GET', cURL: '{url}'}});").replace("(", "\\(").replace(")", "\\)")
    return scripted(text, js)


def test_a_pdf_with_javascript_is_indexed_as_text_and_its_script_never_runs(server, api):
    listener = Listener()
    sentence = "The signal lamp of Varne burned green oil on every winter night."
    try:
        data = scripted_pdf(sentence, f"http://127.0.0.1:{listener.port}/the-script-ran")
        r = api.post(f"/collections/{COLLECTION}/documents", files={"files": ("scripted.pdf", data, "application/pdf")})
        assert r.status_code == 202 and r.json()["files"][0]["status"] == "accepted", r.text
        job = r.json()
        for _ in range(1200):
            job = api.get(f"/jobs/{job['id']}").json()
            if job["state"] in ("done", "failed"):
                break
            threading.Event().wait(0.1)
        assert job["state"] == "done" and job["files"][0]["status"] == "indexed", job
        docs = {d["file"]: d for d in api.get(f"/collections/{COLLECTION}/documents").json()["documents"]}
        assert docs["scripted.pdf"]["format"] == "pdf" and docs["scripted.pdf"]["pages"] == 1
        answer = api.post("/ask", json={"question": "What did the signal lamp of Varne burn?",
                                        "collection": COLLECTION}).json()
        cited = [c for c in answer["citations"] + answer["closest"] if c["source"].endswith("scripted.pdf")]
        assert cited, answer
        # the page's text is indexed as plain text; the script is neither text nor run
        rendition = Path(cited[0]["text_source"]).read_text(encoding="utf-8")
        assert sentence in rendition and rendition[cited[0]["start"]:cited[0]["end"]] == cited[0]["quote"]
        assert JS_MARKER not in rendition and "launchURL" not in rendition
        assert JS_MARKER not in str(answer)
        assert (server.documents / "scripted.pdf").read_bytes() == data  # stored as sent, scripts and all
    finally:
        listener.stop()
    assert listener.hits == 0, "something ran the PDF's script: it called the listener"
    assert set(files_under(server.documents)) >= {*ORIGINALS, "scripted.pdf"}
