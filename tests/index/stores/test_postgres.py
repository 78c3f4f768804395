"""qa.index.stores.postgres against a real PostgreSQL 16 + pgvector (tests/servers.py starts it on a unix socket):
the same answers as the folder, atomic publishing, verification, replicas, feedback, and the CLI."""
from __future__ import annotations

import json
import threading

import pytest

from servers import postgres_server
from support import build_fake, never_decline, write_corpus
from qa.index.build import build_index
from qa.neural.embedding import HashEmbedder
from qa.errors import IndexProblem
from qa.pipeline import open_index
from qa.settings import Settings

pytestmark = pytest.mark.slow

QUESTIONS = ["Who surveyed the harbour of Ostland?", "How many berths did the northern quay have?",
             "When was the lighthouse on Kell Point first lit?", "Who founded the fisheries cooperative?"]


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("store") / "corpus")


def _answers(answerer):
    out = []
    for q in QUESTIONS:
        a = answerer.ask(q).to_dict()
        for c in a["citations"] + a["closest"]:
            c.pop("text_source")  # a folder's own path, or the store's local copy
        out.append(json.dumps(a, sort_keys=True))
    return out


def _answerer(store=None, index=None):
    from qa.answer.answerer import Answerer
    from qa.answer.retrieval import Retriever

    emb = HashEmbedder()
    idx = open_index(index, Settings(embedder="fake", store=store), emb)
    return Answerer(Retriever(idx, emb), answer=never_decline())


def test_a_store_build_answers_exactly_as_the_folder_does_and_a_rebuild_is_a_noop(pg, corpus, tmp_path):
    r = build_index(corpus, tmp_path / "unused", HashEmbedder(), store=pg)
    assert not r.noop and r.documents == 3
    e = HashEmbedder()
    assert build_index(corpus, tmp_path / "unused", e, store=pg).noop and e.calls == 0
    build_fake(corpus, tmp_path / "folder")
    assert _answers(_answerer(store=pg)) == _answers(_answerer(index=tmp_path / "folder"))
    idx = open_index(None, Settings(embedder="fake", store=pg), HashEmbedder())
    assert idx.vectors.exact and len(idx.evidence) == len(open_index(tmp_path / "folder", Settings(embedder="fake"),
                                                                     HashEmbedder()).evidence)


def test_a_change_reuses_the_stores_vectors_and_publishing_never_shows_half_a_build(pg, tmp_path):
    import psycopg

    with psycopg.connect(pg, autocommit=True) as conn:  # a store of its own: another corpus than the module's
        conn.execute("CREATE DATABASE changes")
    pg = _database(pg, "changes")
    c = write_corpus(tmp_path / "c")
    build_index(c, tmp_path / "unused", HashEmbedder(), store=pg)
    before = _answerer(store=pg)
    old_answers = _answers(before)
    (c / "alpha.txt").write_text((c / "alpha.txt").read_text(encoding="utf-8") + "\nA new closing line of the survey.\n",
                                 encoding="utf-8")
    e = HashEmbedder()
    stop, errors = threading.Event(), []

    def reader():  # a replica asking all the while: old build or new, never an error
        while not stop.is_set():
            try:
                _answers(_answerer(store=pg))
            except Exception as ex:  # noqa: BLE001 - exactly what this test looks for
                errors.append(f"{ex.__class__.__name__}: {ex}")

    t = threading.Thread(target=reader)
    t.start()
    try:
        r = build_index(c, tmp_path / "unused", e, store=pg)
    finally:
        stop.set()
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert not r.noop and 0 < e.texts_seen <= 3  # the new line and its sentence; the rest from the store
    assert _answers(before) == old_answers  # an index loaded before the swap keeps working on its build


def test_a_tampered_row_is_refused_with_the_command_that_fixes_it(tmp_path):
    from qa.index.stores.postgres import connect

    with postgres_server() as url:
        build_index(write_corpus(tmp_path / "c"), tmp_path / "unused", HashEmbedder(), store=url)
        conn = connect(url)
        schema = conn.execute("SELECT schema FROM qa_meta.current").fetchone()[0]
        conn.execute(f'UPDATE "{schema}".passages SET text = text || \'!\' WHERE row = 0')
        with pytest.raises(IndexProblem, match=r"checksum .*qa index --store"):
            open_index(None, Settings(embedder="fake", store=url), HashEmbedder())
        conn.execute(f'UPDATE "{schema}".passages SET text = left(text, -1) WHERE row = 0')
        conn.execute(f"UPDATE \"{schema}\".files SET data = data || '\\x00'::bytea WHERE name = 'aliases.json'")
        with pytest.raises(IndexProblem, match="aliases.json is corrupt"):
            open_index(None, Settings(embedder="fake", store=url), HashEmbedder())
        with pytest.raises(IndexProblem, match="built with|model"):
            open_index(None, Settings(store=url), HashEmbedder(dim=16, name="other/model"))
    with postgres_server() as empty:
        with pytest.raises(IndexProblem, match="no index is published there"):
            open_index(None, Settings(embedder="fake", store=empty), HashEmbedder())


def test_replicas_answer_identically_and_share_one_feedback_table(pg, corpus, tmp_path):
    from qa.chat.feedback import feedback_record
    from qa.index.stores.postgres import append_feedback, read_feedback

    build_index(corpus, tmp_path / "unused", HashEmbedder(), store=pg)
    a, b = _answerer(store=pg), _answerer(store=pg)
    assert _answers(a) == _answers(b)
    answer = a.ask(QUESTIONS[0]).to_dict()
    for n, liked in enumerate((False, True)):
        append_feedback(pg, feedback_record(QUESTIONS[0], answer, "b1", liked, reply_id=f"r{n}"))
    got = read_feedback(pg)
    assert [r["liked"] for r in got[-2:]] == [False, True]


def test_the_cli_builds_asks_lists_and_exports_through_the_store(pg, corpus, capsys, monkeypatch):
    from qa.cli import main

    monkeypatch.setenv("QA_EMBEDDER", "fake")
    with_password = pg.replace("postgres:@", "postgres:s3cret@")  # the socket trusts: a password is ignored
    assert main(["index", "--corpus", str(corpus), "--store", with_password, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert ":***@" in out and "s3cret" not in out  # the URL's password is never printed
    assert main(["ask", QUESTIONS[0], "--store", pg, "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert a["citations"] or a["closest"]
    monkeypatch.setenv("QA_STORE", pg)
    assert main(["docs", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["documents"]) == 3
    assert main(["feedback", "export", "--all"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("QA_STORE", "mysql://nope")
    assert main(["ask", QUESTIONS[0]]) == 2
    assert "QA_STORE: a store must be a postgresql:// URL" in capsys.readouterr().err


def _database(url: str, name: str, user: str = "postgres") -> str:
    """The server's URL, for another database and role (pgserver trusts its unix socket)."""
    return url.replace("postgres:@/postgres?", f"{user}:@/{name}?")


def test_pgvector_is_enabled_on_demand_and_refused_in_one_line_where_the_role_may_not(pg, corpus, tmp_path, capsys,
                                                                                    monkeypatch):
    import psycopg

    from qa.cli import main

    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("CREATE DATABASE fresh")
        conn.execute("CREATE DATABASE locked")
        conn.execute("CREATE ROLE visitor LOGIN")  # no CREATE on `locked`: may not create an extension there
    fresh, locked = _database(pg, "fresh"), _database(pg, "locked", user="visitor")
    with psycopg.connect(fresh, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vector'").fetchone()[0] == 0
    monkeypatch.setenv("QA_EMBEDDER", "fake")
    assert main(["index", "--corpus", str(corpus), "--store", fresh, "--quiet"]) == 0
    assert "indexed 3 documents" in capsys.readouterr().out
    with psycopg.connect(fresh, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vector'").fetchone()[0] == 1
    assert main(["index", "--corpus", str(corpus), "--store", locked, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not be created" in err[0] and "CREATE EXTENSION vector in that database" in err[0]
    assert "Traceback" not in err[0], err
