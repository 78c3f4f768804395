"""The chat app as a program: start-up errors, and the `/ask` API through gradio_client.

The API tests use one `python app.py` on a free port on 127.0.0.1 (shared with the browser tests),
which builds its own index from the real corpus with the real model into the session's temp folder.
"""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_fixtures import CORPUS, PROJECT_ROOT, AppProcess, app_env, load_app_module, shared_app  # noqa: E402

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


# --------------------------------------------------------------------------- start-up failures (no model needed)

def test_bad_corpus_exits_2_with_one_line_from_the_real_program(tmp_path):
    app = AppProcess(["--port", "9", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "index")])
    rc = app.wait_exit(120)
    err = "".join(app.err)
    assert rc == 2, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("app: error:")] == [
        f"app: error: corpus folder not found: {tmp_path / 'nope'}: pass --corpus DIR with a folder of .txt/.md files"]


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
