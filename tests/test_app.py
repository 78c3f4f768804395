"""app.py: start-up (builds a missing index, repairs or refuses a corrupt one), the /ask API, bad starts."""
from __future__ import annotations

import json
import sys
from pathlib import Path
import pytest
from app_support import CORPUS, PROJECT_ROOT, AppProcess, load_app_module, shared_app  # noqa: E402
from types import SimpleNamespace
from support import (
    OTHER_DOCS, QUESTIONS, build_fake, check_index, copy_build, env_with, fake_answerer, flip_byte, write_corpus,
)


ANSWER_KEYS = {"question", "status", "answer", "confidence", "citations", "notes", "conflicts", "agreeing",
               "considered", "answer_type", "as_of", "closest"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    return shared_app(tmp_path_factory)


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


@pytest.mark.model
def test_startup_builds_the_missing_index_then_prints_the_url(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert any("running at http://127.0.0.1:" in line for line in server.out)
    err = "".join(server.err)
    assert "indexed 5 documents" in err or "is up to date" in err
    assert "Traceback" not in err
    assert (server.index_dir / "manifest.json").is_file()


@pytest.mark.model
def test_ask_returns_the_answer_object_with_true_citations(client):
    a = client.predict("Who led Wilayat Khorasan?", 5, None, api_name="/ask")
    assert set(a) >= ANSWER_KEYS
    assert a["status"] in {"answered", "uncertain", "declined"}
    cites = a["citations"] or a["closest"]
    assert cites
    for c in cites:
        text = (PROJECT_ROOT / c["source"]).read_text(encoding="utf-8") if not Path(c["source"]).is_absolute() \
            else Path(c["source"]).read_text(encoding="utf-8")
        assert text[c["start"]:c["end"]] == c["quote"]
    json.dumps(a)  # plain JSON


@pytest.mark.model
def test_ask_defaults_and_keywords(client):
    a = client.predict(question="Who led Wilayat Khorasan?", api_name="/ask")
    b = client.predict(question="Who led Wilayat Khorasan?", docs=["rani-fa"], k=3, api_name="/ask")
    assert "error" not in a and "error" not in b
    assert all(c["doc_id"] == "rani-fa" for c in b["citations"] + b["closest"])


@pytest.mark.model
@pytest.mark.parametrize("args, words", [
    (("x" * 1001, 5, None), "limit is 1000"),
    (("   ", 5, None), "empty"),
    (("Who led Wilayat Khorasan?", 5, ["no-such-doc"]), "unknown document"),
    (("Who led Wilayat Khorasan?", 0, None), "k must be"),
])
def test_bad_questions_return_an_error_object(client, args, words):
    r = client.predict(*args, api_name="/ask")
    assert set(r) == {"error"} and words in r["error"]


@pytest.mark.model
def test_only_ask_is_a_public_endpoint(client):
    info = client.view_api(print_info=False, return_format="dict")
    assert list(info["named_endpoints"]) == ["/ask"]
    assert not info["unnamed_endpoints"]


@pytest.mark.slow  # starts the real program (gradio's import alone is seconds); the in-process cases are fast
def test_bad_corpus_exits_2_with_one_line_from_the_real_program(tmp_path):
    app = AppProcess(["--port", "9", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "index")])
    rc = app.wait_exit(120)
    err = "".join(app.err)
    assert rc == 2, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("app: error:")] == [
        f"app: error: corpus folder not found: {tmp_path / 'nope'}: pass --corpus DIR with a folder of documents"]


@pytest.fixture(scope="module")
def app_module():
    return load_app_module()


@pytest.mark.parametrize("case", ["empty-corpus", "bad-metadata", "bad-examples", "not-an-index", "index-is-a-file",
                                  "bad-port"])
def test_bad_start_is_one_line_and_exit_2(app_module, tmp_path, capsys, case):
    corpus, index, extra = CORPUS, tmp_path / "index", []
    if case == "empty-corpus":
        corpus = tmp_path / "empty"
        corpus.mkdir()
    elif case == "bad-metadata":
        corpus = tmp_path / "c"
        corpus.mkdir()
        (corpus / "a.txt").write_text("Some text.\n", encoding="utf-8")
        (corpus / "metadata.json").write_text("{broken", encoding="utf-8")
    elif case == "bad-examples":
        corpus = tmp_path / "c"
        corpus.mkdir()
        (corpus / "a.txt").write_text("Some text.\n", encoding="utf-8")
        (corpus / "metadata.json").write_text('{"examples": "not a list"}', encoding="utf-8")
    elif case == "not-an-index":  # an existing folder that is not an index must not be replaced (its files lost)
        index = tmp_path / "mine"
        index.mkdir()
        (index / "keep.txt").write_text("precious", encoding="utf-8")
    elif case == "index-is-a-file":
        index = tmp_path / "file"
        index.write_text("x", encoding="utf-8")
    else:
        extra = ["--port", "70000"]
    assert app_module.main(["--port", "9", "--corpus", str(corpus), "--index", str(index), *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("app: error:")]) == 1, err
    if case == "not-an-index":
        assert (index / "keep.txt").read_text(encoding="utf-8") == "precious"
        assert not index.is_symlink()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("hardening")
    corpus = write_corpus(work / "corpus")
    index = work / "index"
    build_fake(corpus, index)
    other_corpus = write_corpus(work / "other-corpus", OTHER_DOCS)
    other_index = work / "other-index"
    build_fake(other_corpus, other_index)
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    reference = fake_answerer(index).ask(QUESTIONS[0]).to_dict()
    return SimpleNamespace(work=work, corpus=corpus, index=index, other_index=other_index,
                           artefacts=[*manifest["artefacts"], "manifest.json"], reference=reference, n=[0])


def _case_dir(built) -> Path:
    built.n[0] += 1
    return copy_build(built.index, built.work / f"case-{built.n[0]}")


APP = PROJECT_ROOT / "app.py"


needs_app = pytest.mark.skipif(not APP.exists(), reason="app.py does not exist yet")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@needs_app
@pytest.mark.slow
def test_app_start_up_refuses_a_corrupt_index_it_cannot_rebuild(built, tmp_path):
    """app.py rebuilds a missing or stale index from --corpus; with no corpus to rebuild from, a corrupt
    index must end start-up with one line and exit code 2."""
    import subprocess

    d = _case_dir(built)
    flip_byte(d / "passages.faiss")
    r = subprocess.run([sys.executable, str(APP), "--corpus", str(tmp_path / "no-corpus"), "--index", str(d),
                        "--port", str(_free_port())], capture_output=True, text=True, env=env_with(),
                       cwd=str(PROJECT_ROOT), timeout=180)
    lines = [line for line in r.stderr.splitlines() if line.startswith("app: error")]
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]


@needs_app
@pytest.mark.slow
def test_app_start_up_repairs_a_corrupt_index(built):
    """With the corpus at hand, app.py's contract is to rebuild: the corrupt index is replaced by one that
    verifies, and the app serves (it is stopped as soon as it says so)."""
    import signal
    import subprocess

    d = _case_dir(built)
    flip_byte(d / "passages.faiss")
    p = subprocess.Popen([sys.executable, str(APP), "--corpus", str(built.corpus), "--index", str(d),
                          "--port", str(_free_port())], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env_with(), cwd=str(PROJECT_ROOT))
    try:
        line = p.stdout.readline()  # the app prints one line on stdout once it serves
        if "running at" not in line:
            p.wait(timeout=60)
            err = p.stderr.read()
            assert p.returncode == 2 and "Traceback" not in err, err[-2000:]
            return
        check_index(d)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        p.stdout.close()
        p.stderr.close()
