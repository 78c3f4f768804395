"""app.py: start-up (builds a missing index, repairs or refuses a corrupt one), the /ask API, bad starts."""
from __future__ import annotations

import json
import sys
from pathlib import Path
import pytest
from app_support import CORPUS, PROJECT_ROOT, AppProcess, load_app_module  # noqa: E402
from types import SimpleNamespace
from support import (
    OTHER_DOCS, QUESTIONS, build_fake, check_index, copy_build, env_with, fake_answerer, flip_byte, write_corpus,
)


ANSWER_KEYS = {"question", "status", "answer", "confidence", "citations", "notes", "conflicts", "agreeing",
               "considered", "answer_type", "as_of", "closest"}


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


@pytest.fixture(scope="module")
def chat_ui(app_module):
    """qa.chat.ui, the page app.py starts (imported after app.py has set up the environment)."""
    from qa.chat import ui

    return ui


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


# --------------------------------------------------------------------------- conversations (fake embedder, in process)

FIRST, FOLLOW = "Who surveyed the harbour of Ostland?", "When did she return?"


@pytest.fixture(scope="module")
def conv_answerer(tmp_path_factory):
    from support import build_fake, never_decline
    from qa.answer.answerer import Answerer

    d = tmp_path_factory.mktemp("conv-app")
    build_fake(write_corpus(d / "c"), d / "i")
    return Answerer(fake_answerer(d / "i").retriever, answer=never_decline())


def test_api_history_makes_a_follow_up_understood(app_module, conv_answerer, chat_ui):
    from qa.chat.site import Site

    ask = chat_ui._api_endpoint(Site.single(conv_answerer))
    first = ask(FIRST)
    assert first["understood_as"] is None and first == conv_answerer.ask(FIRST).to_dict()
    for answer in (first, first["answer"]):  # the answer object, or only its text
        a = ask(FOLLOW, 5, None, [{"question": FIRST, "answer": answer}])
        assert a["understood_as"] == "When did Marta Kell return?" and a["question"] == FOLLOW
    assert ask(FOLLOW, history=None)["understood_as"] is None  # no history: as asked, as before
    assert ask(FOLLOW, history=[])["understood_as"] is None


@pytest.mark.parametrize("history, words", [
    ("nope", "history must be a list"),
    ([{"answer": "x"}], "history turn 1 must be an object"),
    ([{"question": FIRST, "answer": {"citations": [{"start": [1]}]}}], "citation start must be a whole number"),
    ([{"question": "x" * 1001, "answer": "a"}], "limit is 1000"),
])
def test_api_bad_history_is_an_error_object(app_module, conv_answerer, history, words, chat_ui):
    from qa.chat.site import Site

    r = chat_ui._api_endpoint(Site.single(conv_answerer))(FOLLOW, 5, None, history)
    assert set(r) == {"error"} and words in r["error"]


def test_chat_answers_a_follow_up_in_its_conversation_and_asks_it_as_written(app_module, conv_answerer, chat_ui):
    from qa.chat.conversation import Conversation
    from qa.chat.site import Site

    submit, respond, _failure, clear, as_written = chat_ui._conversation_handlers(Site.single(conv_answerer))
    conv = Conversation()

    def turn(question):
        submit(question, conv)
        respond(conv, 5, [])
        return conv.turns[-1]

    assert turn(FIRST)["answer"]["understood_as"] is None
    follow = turn(FOLLOW)
    assert follow["answer"]["understood_as"] == "When did Marta Kell return?"
    assert "Understood as:" in follow["html"] and 'href="#qa-aswritten-1"' in follow["html"]

    as_written("typed meanwhile", conv, SimpleNamespace(_data={"turn": 1}))  # the reply's "ask as written"
    respond(conv, 5, [])
    literal = conv.turns[-1]
    assert literal["question"] == FOLLOW and literal["as_written"]
    assert literal["answer"] == conv_answerer.ask(FOLLOW).to_dict()
    assert "Understood as" not in literal["html"]
    # a reply that was answered as asked has nothing to re-ask
    as_written("", conv, SimpleNamespace(_data={"turn": 0}))
    assert len(conv.turns) == 3

    clear(conv)  # starts afresh: the follow-up no longer has a "she" to resolve
    assert turn(FOLLOW)["answer"]["understood_as"] is None


@pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword is deprecated:Warning")
def test_gradio_client_sends_history_to_ask(app_module, conv_answerer, tmp_path):
    from gradio_client import Client

    from app_support import free_port

    demo = app_module.build_demo(conv_answerer, tmp_path / "fb.jsonl")
    url = app_module.launch(demo, "127.0.0.1", free_port())
    try:
        client = Client(url, verbose=False)
        params = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/ask"]["parameters"]
        assert [p["parameter_name"] for p in params] == ["question", "k", "docs", "history", "collection"]
        first = client.predict(FIRST, api_name="/ask")
        a = client.predict(question=FOLLOW, history=[{"question": FIRST, "answer": first}], api_name="/ask")
        assert a["understood_as"] == "When did Marta Kell return?"
        assert client.predict(FIRST, 5, None, api_name="/ask") == first  # the old three arguments still work
        assert set(client.predict(FOLLOW, 5, None, "nope", api_name="/ask")) == {"error"}
        client.close()
        # a plain HTTP caller that sends the three old arguments is answered as before
        from app_support import http_ask

        outcome, _, answer = http_ask(url.rstrip("/"), FIRST, 5)
        assert outcome == "answered" and answer == first, _
    finally:
        demo.close()


def test_the_rest_api_is_served_on_the_chats_own_server(app_module, conv_answerer, tmp_path):
    """/api/v1 sits first among the chat server's routes: its OpenAPI, its JSON errors, and the page
    beside it on the same port (the workspace is a temporary one)."""
    import json
    import urllib.error
    import urllib.request

    from app_support import free_port

    from qa.settings import Settings

    demo = app_module.build_demo(conv_answerer, tmp_path / "fb.jsonl")
    app_module.serve_api(demo, Settings(embedder="fake", workspace=tmp_path / "ws"), lambda s: None)
    url = app_module.launch(demo, "127.0.0.1", free_port()).rstrip("/")
    try:
        with urllib.request.urlopen(url + "/api/v1/openapi.json", timeout=30) as r:
            spec = json.load(r)
        assert "/ask" in spec["paths"] and "/collections/{name}/documents" in spec["paths"]
        req = urllib.request.Request(url + "/api/v1/ask", data=b'{"question": "q", "collection": "demo"}',
                                     headers={"Content-Type": "application/json"}, method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=30)
        assert e.value.code in (401, 403) and set(json.load(e.value)["error"]) == {"code", "message"}
        with urllib.request.urlopen(url + "/", timeout=30) as r:  # the chat page is still there
            assert r.status == 200 and b"<html" in r.read(2000).lower()
    finally:
        demo.close()


# --------------------------------------------------------------------------- sign-in (accounts in the workspace)

@pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword is deprecated:Warning")
def test_a_workspace_with_users_puts_the_chat_and_its_api_behind_sign_in(app_module, conv_answerer, tmp_path):
    """Gradio's own routes refuse a visitor without the session cookie; the workspace's password gets it."""
    import httpx
    from gradio_client import Client

    from app_support import free_port, http_ask

    from qa.settings import Settings
    from qa.workspace import Workspace

    settings = Settings(embedder="fake", workspace=tmp_path / "ws")
    ws = Workspace.open(settings=settings)
    assert not app_module.require_sign_in(app_module.build_demo(conv_answerer, tmp_path / "fb.jsonl"), ws)
    ws.users.add("ana", "correct horse")
    demo = app_module.build_demo(conv_answerer, tmp_path / "fb.jsonl")
    app_module.serve_api(demo, settings, lambda s: None, ws)
    assert app_module.require_sign_in(demo, ws)
    url = app_module.launch(demo, "127.0.0.1", free_port()).rstrip("/")
    try:
        outcome, detail, _ = http_ask(url, FIRST, 5)  # no cookie: the API call is refused
        assert outcome == "error" and "401" in detail, detail
        with httpx.Client(timeout=30) as c:
            assert c.get(url + "/config").status_code == 401
            assert c.post(url + "/login", data={"username": "ana", "password": "wrong"}).status_code == 400
            assert c.post(url + "/login", data={"username": "bo", "password": "correct horse"}).status_code == 400
            assert c.post(url + "/login", data={"username": "ana", "password": "correct horse"}).status_code == 200
            assert c.get(url + "/config").status_code == 200  # the session cookie opens the page's routes
        with pytest.raises(Exception):
            Client(url, verbose=False)  # gradio_client cannot even read the API without signing in
        client = Client(url, auth=("ana", "correct horse"), verbose=False)
        assert client.predict(FIRST, api_name="/ask") == conv_answerer.ask(FIRST).to_dict()
        client.close()
    finally:
        demo.close()


@pytest.mark.parametrize("host, users, flag, refused", [
    ("0.0.0.0", False, False, True),
    ("192.168.1.5", False, False, True),
    ("0.0.0.0", False, True, False),   # --insecure-no-auth: the operator's choice
    ("0.0.0.0", True, False, False),   # accounts: visitors sign in
    ("127.0.0.1", False, False, False),
    ("localhost", False, False, False),
])
def test_no_users_means_loopback_only(app_module, tmp_path, monkeypatch, capsys, host, users, flag, refused):
    """Refused in one line before anything is built or loaded; the next step (checking the index
    folder) stands in for all the work after the check."""
    from qa.workspace import Workspace

    ws = tmp_path / "ws"
    if users:
        Workspace.open(ws).users.add("ana", "correct horse")
    monkeypatch.setenv("QA_WORKSPACE", str(ws))
    reached = []

    def next_step(index):
        reached.append(index)
        raise app_module.QAError("stopped after the check")

    monkeypatch.setattr(app_module, "check_target", next_step)
    argv = ["--host", host, "--port", "9", "--index", str(tmp_path / "index")] + (["--insecure-no-auth"] if flag else [])
    assert app_module.main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("app: error:")]
    assert len(errors) == 1
    if refused:
        assert "no users" in errors[0] and "--insecure-no-auth" in errors[0] and host in errors[0]
        assert not reached and not (tmp_path / "index").exists()
    else:
        assert errors == ["app: error: stopped after the check"] and reached
    assert not ws.exists() or users  # the check writes nothing into the workspace


# --------------------------------------------------------------------------- what a signed-in user may read

def harbour_site(tmp_path, answerer):
    """A signed-in workspace whose collection "harbour" (ana owns it) is answered by `answerer`."""
    from qa.chat.shelf import Shelf
    from qa.chat.site import Site
    from qa.workspace import Workspace
    from qa.workspace.answerers import Answerers

    ws = Workspace.open(tmp_path / "ws")
    ws.users.add("ana", "a-pass")
    ws.users.add("bo", "b-pass")
    ws.create_collection("harbour", owner="ana")
    shelf = Shelf(ws, Answerers(lambda c: answerer, build_of=lambda c: "b1"), demo=answerer)
    return ws, Site(ws, shelf, "harbour", signed_in=True)


def test_a_visitor_who_may_not_read_is_refused_kindly_by_every_handler(app_module, conv_answerer, tmp_path, chat_ui):
    from qa.chat.access import NO_ACCESS
    from qa.chat.conversation import Conversation

    _, site = harbour_site(tmp_path, conv_answerer)
    submit, respond, *_ = chat_ui._conversation_handlers(site)
    on_cite = chat_ui._document_handler(site)
    ask = chat_ui._api_endpoint(site)
    ana, bo = SimpleNamespace(username="ana"), SimpleNamespace(username="bo")

    conv = Conversation()
    submit(FIRST, conv)
    respond(conv, 5, [], bo)
    refused = conv.turns[-1]
    assert refused["status"] == "refused" and refused["answer"] is None
    assert "make you a reader" in refused["html"] and "Marta" not in refused["html"]
    submit(FIRST, conv)
    respond(conv, 5, [], ana)
    assert conv.turns[-1]["status"] == "done"
    cite = SimpleNamespace(_data={"turn": 1, "n": 1})
    assert "Marta" in on_cite(conv, cite, ana)[1]
    evidence, document = on_cite(conv, cite, bo)  # e.g. revoked since the answer: no document, no page
    assert "make you a reader" in document and "Marta" not in document
    assert ask(FIRST, request=bo) == {"error": NO_ACCESS}
    assert ask(FIRST, request=None) == {"error": NO_ACCESS}
    assert ask(FIRST, request=ana) == conv_answerer.ask(FIRST).to_dict()


@pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword is deprecated:Warning")
def test_signed_in_users_read_only_the_collection_they_may(app_module, conv_answerer, tmp_path):
    """Over the real server: Gradio hands the signed-in name to the handlers, and the page it sends a
    visitor without access holds none of the collection's titles."""
    import httpx
    from gradio_client import Client

    from app_support import free_port

    from qa.chat.access import NO_ACCESS

    ws, site = harbour_site(tmp_path, conv_answerer)
    demo = app_module.build_demo(conv_answerer, tmp_path / "fb.jsonl", site=site)
    assert app_module.require_sign_in(demo, ws)
    url = app_module.launch(demo, "127.0.0.1", free_port()).rstrip("/")
    titles = [d.title for d in conv_answerer.index.documents.values() if d.title]
    assert titles
    try:
        ana = Client(url, auth=("ana", "a-pass"), verbose=False)
        assert ana.predict(FIRST, api_name="/ask") == conv_answerer.ask(FIRST).to_dict()
        ana.close()
        bo = Client(url, auth=("bo", "b-pass"), verbose=False)
        assert bo.predict(FIRST, api_name="/ask") == {"error": NO_ACCESS}
        bo.close()
        with httpx.Client(timeout=30) as c:
            assert c.post(url + "/login", data={"username": "bo", "password": "b-pass"}).status_code == 200
            config = c.get(url + "/config").text
            assert not any(t in config for t in titles)
    finally:
        demo.close()


def test_collection_names_what_the_app_serves(app_module, tmp_path, monkeypatch, capsys):
    from qa.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    c = ws.create_collection("harbour")
    monkeypatch.setenv("QA_WORKSPACE", str(tmp_path / "ws"))
    reached = []

    def next_step(index):
        reached.append(index)
        raise app_module.QAError("stopped after the check")

    monkeypatch.setattr(app_module, "check_target", next_step)
    assert app_module.main(["--port", "9", "--collection", "harbour"]) == 2
    assert reached == [c.index]
    capsys.readouterr()
    for argv, words in ((["--collection", "nope"], "nope"), (["--collection", "harbour", "--index", "x"], "cannot be combined")):
        assert app_module.main(["--port", "9", *argv]) == 2
        errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("app: error:")]
        assert len(errors) == 1 and words in errors[0] and "stopped" not in errors[0], errors
