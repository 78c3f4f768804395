"""The pgvector store prototype against a throw-away PostgreSQL 16 + pgvector (tests/servers.py)."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from servers import postgres_server  # noqa: E402

pytest.importorskip("psycopg")
from qa.index.stores import pgsearch  # noqa: E402
from qa.index.stores import pgvector as pv  # noqa: E402

pytestmark = pytest.mark.slow
DIM = 384


def unit(rng, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def corpus(n_docs: int = 6, n_pass: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    words = "river castle harvest winter trade silk caravan library poem bridge market salt".split()
    docs = [{"doc_id": f"d{i}", "source": f"corpus/d{i}.txt", "title": f"Doc {i}", "text": f"document {i} – ā"}
            for i in range(n_docs)]
    ps = [{"row": i, "passage_id": f"p{i}", "doc_id": f"d{i % n_docs}", "start_char": 10 * i, "end_char": 10 * i + 9,
           "text": " ".join(rng.choice(words, 8)) + f" item{i}", "section": "s"} for i in range(n_pass)]
    ss = [{"row": j, "sentence_id": f"s{j}", "passage_id": f"p{j // 2}", "doc_id": f"d{(j // 2) % n_docs}",
           "start_char": 0, "end_char": 5, "text": f"sentence {j}"} for j in range(2 * n_pass)]
    return docs, ps, unit(rng, n_pass), ss, unit(rng, 2 * n_pass)


@pytest.fixture(scope="module")
def url():
    with postgres_server() as u:
        yield u


@pytest.fixture()
def conn(url):
    c = pv.connect(url)
    yield c
    c.close()


def test_build_verify_and_exact_search_match_numpy(conn):
    docs, ps, pvec, ss, svec = corpus()
    schema = pv.build(conn, pv.BuildRows(docs, ps, pvec, ss, svec, model="minilm"), pv.BuildPlan(name="t1"))
    assert pv.current_schema(conn, "t1") == schema
    man = pv.verify(conn, name="t1", model="minilm", dim=DIM)
    assert man["tables"]["passages"]["rows"] == 300 and "passages_hnsw" in man["indexes"]
    sql = pv.checksums(conn, schema)
    for t, rows, vec in (("documents", docs, None), ("passages", ps, pvec), ("sentences", ss, svec)):
        assert sql[t]["sha256"] == pv.python_checksum(t, rows, vec)
    q = pvec[17] * 0.6 + pvec[3] * 0.4
    q /= np.linalg.norm(q)
    top = np.argsort(-(pvec @ q))[:10]
    got = pgsearch.search(conn, q, 10, schema=schema, exact=True)
    assert [r for r, _ in got] == top.tolist()
    assert got[0][1] == pytest.approx(float(pvec[top[0]] @ q), abs=1e-5)
    approx = pgsearch.search(conn, q, 10, name="t1", ef_search=100)
    assert len(set(r for r, _ in approx) & set(top.tolist())) >= 8
    sent = pgsearch.search(conn, svec[5], 1, schema=schema, table="sentences", exact=True)
    assert sent[0][0] == 5


def test_document_filter_returns_k_rows_from_those_documents(conn):
    docs, ps, pvec, ss, svec = corpus(seed=1)
    schema = pv.build(conn, pv.BuildRows(docs, ps, pvec, ss, svec, model="minilm"), pv.BuildPlan(name="t2"))
    got = pgsearch.search(conn, pvec[0], 10, schema=schema, doc_ids=["d1", "d4"])
    assert len(got) == 10 and all(ps[r]["doc_id"] in ("d1", "d4") for r, _ in got)
    allowed = [i for i, p in enumerate(ps) if p["doc_id"] in ("d1", "d4")]
    best = sorted(allowed, key=lambda i: -float(pvec[i] @ pvec[0]))[:10]
    assert [r for r, _ in got] == best


def test_load_methods_give_identical_rows(conn):
    docs, ps, pvec, ss, svec = corpus(n_pass=120, seed=2)
    sums = set()
    for method in pv.LOAD_METHODS:
        schema = pv.build(conn, pv.BuildRows(docs, ps, pvec, ss, svec, model="minilm"),
                          pv.BuildPlan(name=f"m_{method}", method=method))
        sums.add(tuple(v["sha256"] for v in pv.checksums(conn, schema).values()))
    assert len(sums) == 1


def test_verify_catches_tampering_and_wrong_model(conn):
    docs, ps, pvec, ss, svec = corpus(n_pass=50, seed=3)
    schema = pv.build(conn, pv.BuildRows(docs, ps, pvec, ss, svec, model="minilm"), pv.BuildPlan(name="t3"))
    with pytest.raises(pv.StoreProblem, match="model"):
        pv.verify(conn, schema, model="other-model")
    with pytest.raises(pv.StoreProblem, match="dimension"):
        pv.verify(conn, schema, dim=768)
    conn.execute(pv.schema_sql("UPDATE {s}.passages SET text = text || '!' WHERE row = 7", schema))
    with pytest.raises(pv.StoreProblem, match="passages checksum"):
        pv.verify(conn, schema)
    conn.execute(pv.schema_sql("UPDATE {s}.passages SET text = left(text, -1) WHERE row = 7", schema))
    pv.verify(conn, schema)  # undone: verifies again
    conn.execute(pv.schema_sql("DELETE FROM {s}.sentences WHERE row = 0", schema))
    with pytest.raises(pv.StoreProblem, match="sentences has 99 rows"):
        pv.verify(conn, schema)


def test_failed_build_leaves_published_build_untouched(conn):
    docs, ps, pvec, ss, svec = corpus(n_pass=40, seed=4)
    good = pv.build(conn, pv.BuildRows(docs, ps, pvec, ss, svec, model="minilm"), pv.BuildPlan(name="t4"))
    before = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'qa_b_%'")}
    bad = [dict(p) for p in ps]
    bad[3]["passage_id"] = bad[2]["passage_id"]  # UNIQUE violation half-way through the load
    with pytest.raises(Exception, match="duplicate key"):
        pv.build(conn, pv.BuildRows(docs, bad, pvec, ss, svec, model="minilm"), pv.BuildPlan(name="t4"))
    assert pv.current_schema(conn, "t4") == good
    after = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'qa_b_%'")}
    assert after == before  # the half-built schema was dropped


def test_readers_never_see_a_half_built_index(url):
    """A reader loops (resolve pointer, count rows, read manifest) in one transaction each while two
    builds of different sizes are loaded, indexed and published: every read is a complete build."""
    writer = pv.connect(url)
    sizes = [200, 260, 330]
    docs, ps, pvec, ss, svec = corpus(n_pass=sizes[0], seed=5)
    pv.build(writer, pv.BuildRows(docs, ps, pvec, ss, svec, model="minilm"), pv.BuildPlan(name="swap"))
    seen, bad, stop = [], [], threading.Event()

    def reader():
        c = pv.connect(url)
        deadline = time.monotonic() + 50
        while not stop.is_set() and time.monotonic() < deadline:
            with c.transaction():
                c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                schema = pv.current_schema(c, "swap")
                n = c.execute(pv.schema_sql("SELECT count(*) FROM {s}.passages", schema)).fetchone()[0]
                man = pv.read_manifest(c, schema)
                hits = c.execute(pv.schema_sql("SELECT count(*) FROM (SELECT row FROM {s}.passages "
                                       "ORDER BY embedding <#> %s LIMIT 5) t", schema), (pvec[0],)).fetchone()[0]
            seen.append(n)
            if n != man["tables"]["passages"]["rows"] or hits != 5:
                bad.append((schema, n, man["tables"]["passages"]["rows"], hits))
        c.close()

    t = threading.Thread(target=reader)
    t.start()
    try:
        for n in sizes[1:]:
            docs, ps, pvec2, ss, svec = corpus(n_pass=n, seed=n)
            pv.build(writer, pv.BuildRows(docs, ps, pvec2, ss, svec, model="minilm"), pv.BuildPlan(name="swap"))
            time.sleep(0.3)
    finally:
        stop.set()
        t.join(60)
        writer.close()
    assert not bad, bad[:5]
    assert set(seen) <= set(sizes) and sizes[-1] in seen and len(seen) > 5


def test_full_text_search_parsers(conn):
    docs, ps, pvec, ss, svec = corpus(n_pass=100, seed=6)
    schema = pv.build(conn, pv.BuildRows(docs, ps, pvec, ss, svec, model="minilm"), pv.BuildPlan(name="t6"))
    target = ps[42]["text"]
    hits = pgsearch.text_search(conn, target, 5, schema=schema)
    assert hits and hits[0][0] == 42
    # plainto_tsquery ANDs every word, so one word the passage lacks loses it; the OR form keeps it
    assert not any(r == 42 for r, _ in pgsearch.text_search(conn, f"{target} zebra", 5, schema=schema))
    assert pgsearch.text_search(conn, f"{target} zebra", 5, schema=schema, parser="or")[0][0] == 42
    assert pgsearch.text_search(conn, "the of and", 5, schema=schema) == []  # stop words only
    restricted = pgsearch.text_search(conn, "river", 50, schema=schema, parser="websearch", rank="ts_rank", doc_ids=["d2"])
    assert restricted and all(ps[r]["doc_id"] == "d2" for r, _ in restricted)


def test_vectors_round_trip_binary(conn):
    docs, ps, pvec, ss, svec = corpus(n_pass=20, seed=7)
    schema = pv.build(conn, pv.BuildRows(docs, ps, pvec, ss, svec, model="minilm"), pv.BuildPlan(name="t7"))
    back = conn.execute(pv.schema_sql("SELECT embedding FROM {s}.passages ORDER BY row", schema), binary=True).fetchall()
    assert np.array_equal(np.stack([b[0] for b in back]), pvec)


def test_exact_search_stays_exact_after_statements_are_prepared(conn):
    """psycopg prepares a statement after 5 runs; the exact query must not reuse an HNSW plan."""
    docs, ps, pvec, ss, svec = corpus(n_pass=2000, seed=8)
    schema = pv.build(conn, pv.BuildRows(docs, ps, pvec, ss[:10], svec[:10], model="minilm"), pv.BuildPlan(name="t8"))
    q = pvec[11]
    for _ in range(7):
        approx = pgsearch.search(conn, q, 10, schema=schema, ef_search=1)  # ef_search=1: at most 1 row from HNSW
    truth = np.argsort(-(pvec @ q))[:10].tolist()
    for _ in range(7):
        assert [r for r, _ in pgsearch.search(conn, q, 10, schema=schema, exact=True)] == truth
    assert len(approx) < 10  # the HNSW plan was really in use for the approximate statement
