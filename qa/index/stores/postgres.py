"""The PostgreSQL store (pgvector): where a build is published, verified loading, vector search, and the feedback table.

A build is prepared exactly as for the FAISS folder (qa.index.build writes its files into a work folder),
then loaded into a new schema: documents, evidence passages and sentences become rows (their vectors
`vector(dim)` columns, passages with an HNSW index), every other artefact (the BM25 model, aliases,
text renditions with their PDF page maps, boilerplate passages) becomes a row of `files`, and the
folder manifest rides inside the store's manifest. Publishing is one pointer update in one
transaction (qa.index.stores.pgvector.publish). Loading verifies row counts, model, dimension and
sha256 checksums computed in SQL, copies the files into a local cache folder (checked against their
sha256), and serves vectors from PostgreSQL: every replica reads the same build.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from ...errors import IndexProblem, QAError, redact
from ...neural.embedding import Embedder
from ...types import Document, Passage, Sentence
from ..loaded import Index, attach_search_parts
from . import pgsearch
from . import pgvector as pg
from .base import BuildRecords, Store

NAME = "default"  # the published index's name in qa_meta.current
EXACT_BELOW = 20_000  # passages: below this an exact scan is fast and exact; above it, HNSW
EF_SEARCH = 100  # HNSW candidates per query (pgvector's default is 40: recall 0.97 at 100k, docs/scale.md)
TABLE_FILES = {"documents.jsonl", "passages.jsonl", "sentences.jsonl", "passages.faiss", "sentence_vectors.npy",
               "manifest.json"}  # what the tables hold instead
BOILERPLATE = "boilerplate.jsonl"


def _psycopg():
    """psycopg, an optional dependency: imported only when a store is used, else a QAError saying how to install it."""
    try:
        import psycopg
    except ImportError:
        raise QAError("PostgreSQL support needs psycopg", fix="pip install 'psycopg[binary]'") from None
    return psycopg


def connect(url: str):
    psycopg = _psycopg()
    try:
        return pg.connect(url)
    except psycopg.Error as e:
        raise QAError(f"cannot connect to {redact(url)} ({str(e).strip().splitlines()[0][:160]})",
                      fix="check the URL and that PostgreSQL runs with pgvector") from None
    except pg.StoreProblem as e:
        raise QAError(f"{redact(url)}: {e}",
                      fix="CREATE EXTENSION vector in that database, as a role that may (pgvector installed on the server)") from None


# --------------------------------------------------------------------------- the vectors, served by PostgreSQL

class PgVectors:
    """qa.index.loaded.Vectors over one published build. One connection per thread (a psycopg connection is
    not to be shared by threads that query at once); every query is a single round trip."""

    def __init__(self, url: str, schema: str, dim: int, n_passages: int):
        self.url, self.schema, self.dim = url, schema, dim
        self.exact = n_passages < EXACT_BELOW
        self._local = threading.local()

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = connect(self.url)
        return conn

    def search(self, q: np.ndarray, k: int) -> list[tuple[int, float]]:
        return pgsearch.search(self._conn(), q, k, schema=self.schema, exact=self.exact,
                               ef_search=None if self.exact else max(EF_SEARCH, k))

    def _fetch(self, table: str, rows: Sequence[int]) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, self.dim), dtype=np.float32)
        got = dict(self._conn().execute(
            pg.schema_sql(f"SELECT row, embedding FROM {{s}}.{table} WHERE row = ANY(%s)", self.schema),
            ([int(r) for r in rows],)).fetchall())
        return np.stack([got[int(r)] for r in rows]).astype(np.float32)

    def passages(self, rows: Sequence[int]) -> np.ndarray:
        return self._fetch("passages", rows)

    def sentences(self, rows: Sequence[int]) -> np.ndarray:
        return self._fetch("sentences", rows)

    def _all(self, table: str) -> np.ndarray:
        rows = self._conn().execute(pg.schema_sql(f"SELECT embedding FROM {{s}}.{table} ORDER BY row", self.schema)).fetchall()
        return np.stack([r[0] for r in rows]).astype(np.float32) if rows else np.zeros((0, self.dim), np.float32)

    def all_passages(self) -> np.ndarray:
        return self._all("passages")

    def all_sentences(self) -> np.ndarray:
        return self._all("sentences")


# --------------------------------------------------------------------------- rows <-> records

def _rows(records: BuildRecords, work: Path) -> pg.BuildRows:
    """The build as the store's rows: the tables' rows with their vectors, and as `files` every file of the
    work folder the tables do not hold, with the boilerplate passages (kept for the record: the order of
    all passages with them)."""
    docs = [{"doc_id": d.doc_id, "source": d.source, "title": d.title, "text": d.text, "meta": d.meta()}
            for d in records.documents]
    passages = [{"row": p.row, "passage_id": p.passage_id, "doc_id": p.doc_id, "start_char": p.start,
                 "end_char": p.end, "text": p.text, "meta": {"section": p.section, "n_tokens": p.n_tokens,
                                                              "sentence_rows": list(p.sentence_rows)}}
                for p in records.passages if p.row is not None]
    sentences = [{"row": s.row, "sentence_id": s.sentence_id, "passage_id": s.passage_id, "doc_id": s.doc_id,
                  "start_char": s.start, "end_char": s.end, "text": s.text, "meta": {"ents": [list(x) for x in s.ents]}}
                 for s in records.sentences]
    order = [{**p.__dict__, "sentence_rows": list(p.sentence_rows)} for p in records.passages]
    files = {BOILERPLATE: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in order if r["row"] is None).encode()}
    for p in sorted(work.rglob("*")):
        rel = p.relative_to(work).as_posix()
        if p.is_file() and rel not in TABLE_FILES:
            files[rel] = p.read_bytes()
    model = records.manifest["model"]
    return pg.BuildRows(docs, passages, records.passage_vectors, sentences, records.sentence_vectors,
                        model=model["name"], dim=model["dim"], files=files, extra={"qa": records.manifest})


# --------------------------------------------------------------------------- the store

class PostgresStore(Store):
    """The index in PostgreSQL (`--store URL`, env QA_STORE): each build a schema, published by one pointer update."""

    schemes = ("postgresql", "postgres")

    def __init__(self, location: str):
        self.url = str(location)
        self.label = redact(self.url)

    def manifest(self) -> Optional[dict]:
        try:
            conn = connect(self.url)
        except QAError:
            return None
        try:
            schema = pg.current_schema(conn, NAME)
            body = pg.read_manifest(conn, schema)
            return body.get("qa")
        except Exception:  # noqa: BLE001 - no published build (or a half-made store): nothing current
            return None
        finally:
            conn.close()

    def recorded(self) -> Optional[dict]:
        """Unverified: it only has to say which folder the build came from."""
        return self.manifest()

    def holds_index(self) -> bool:
        """A store whose published build cannot be read is rebuilt from the folder given (no folder of
        a user's is at stake: the build goes into a new schema)."""
        return False

    def check(self) -> None:
        connect(self.url).close()  # a wrong URL is refused before any work is done

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return self._advisory_lock()

    @contextlib.contextmanager
    def _advisory_lock(self) -> Iterator[None]:
        conn = connect(self.url)
        try:
            got = conn.execute("SELECT pg_try_advisory_lock(hashtext('qa-build:' || %s))", (NAME,)).fetchone()[0]
            if not got:
                raise QAError(f"another `qa index` is building into {self.label}", fix="wait for it to finish")
            yield
        finally:
            conn.close()  # a session lock ends with its connection

    def workdir(self, build_id: str) -> Path:
        return Path(tempfile.mkdtemp(prefix="qa-pg-build-")) / build_id

    def publish(self, work: Path, build_id: str, records: BuildRecords,
                after_write: Optional[Callable[[Any], None]] = None) -> None:
        rows = _rows(records, work)
        conn = connect(self.url)
        try:
            schema = pg.build(conn, rows, pg.BuildPlan(name=NAME, publish_now=False))
            if after_write:
                after_write(schema)
            pg.publish(conn, schema, NAME, keep=1)
        finally:
            conn.close()
            shutil.rmtree(work.parent, ignore_errors=True)

    def cleanup(self) -> None:
        pass  # publish() drops builds older than the previous one

    def load(self, embedder: Optional[Embedder] = None, search: bool = True) -> Index:
        """Counts, model, dimension and SQL checksums of rows and files verified, the files copied into a
        local cache folder, the vectors served by PostgreSQL."""
        url = self.url
        psycopg = _psycopg()
        conn = connect(url)
        try:
            try:
                schema = pg.current_schema(conn, NAME)
                body = pg.verify(conn, schema, model=getattr(embedder, "name", None), dim=getattr(embedder, "dim", None))
            except psycopg.errors.UndefinedTable:
                raise _problem(url, "no index is published there") from None
            except pg.StoreProblem as e:
                raise _problem(url, str(e)) from None
            except psycopg.Error as e:
                raise _problem(url, f"cannot be read ({str(e).strip().splitlines()[0][:160]})") from None
            manifest = body.get("qa") or {}
            local = _cache_root() / schema
            _materialise(conn, schema, body.get("files", {}), local, url)
            docs = _documents(conn, schema, manifest, local)
            evidence = [Passage(passage_id=pid, doc_id=did, start=s, end=e, text=t, section=m.get("section"),
                                n_tokens=m.get("n_tokens", 0), row=row, sentence_rows=tuple(m.get("sentence_rows", ())))
                        for row, pid, did, s, e, t, m in conn.execute(pg.schema_sql(
                            "SELECT row, passage_id, doc_id, start_char, end_char, text, meta FROM {s}.passages ORDER BY row",
                            schema))]
            sentences = [Sentence(sentence_id=sid, passage_id=pid, doc_id=did, start=s, end=e, text=t, row=row,
                                  ents=tuple(tuple(x) for x in m.get("ents", ())))
                         for row, sid, pid, did, s, e, t, m in conn.execute(pg.schema_sql(
                             "SELECT row, sentence_id, passage_id, doc_id, start_char, end_char, text, meta FROM {s}.sentences "
                             "ORDER BY row", schema))]
        finally:
            conn.close()
        boiler = [Passage(**{**r, "sentence_rows": tuple(r.get("sentence_rows", ()))})
                  for r in (json.loads(line) for line in (local / BOILERPLATE).read_text(encoding="utf-8").splitlines() if line)]
        doc_order = {d: i for i, d in enumerate(docs)}
        passages = sorted(evidence + boiler, key=lambda p: (doc_order.get(p.doc_id, 0), p.start, p.end))
        counts = manifest.get("counts", {})
        if len(passages) != counts.get("passages") or len(docs) != counts.get("documents"):
            raise _problem(url, f"build {schema} holds {len(passages)} passages of {len(docs)} documents, "
                                f"its manifest says {counts.get('passages')} of {counts.get('documents')}")
        dim = int(manifest.get("model", {}).get("dim", body.get("dim")))
        idx = Index(local, manifest, docs, passages, evidence, sentences, PgVectors(url, schema, dim, len(evidence)),
                    store=self.label)
        if not search:
            return idx
        return attach_search_parts(idx, lambda detail: _problem(url, f"build {schema} cannot be read ({detail})"))


def _documents(conn, schema: str, manifest: dict, local: Path) -> dict[str, Document]:
    """The build's documents, in the corpus's order as a folder index holds them, their renditions opened
    from the local copy."""
    found = {}
    for doc_id, source, title, text, meta in conn.execute(
            pg.schema_sql("SELECT doc_id, source, title, text, meta FROM {s}.documents", schema)):
        d = Document(**{**meta, "doc_id": doc_id, "source": source, "title": title, "text": text})
        ts = str(local / d.rendition / "text.txt") if d.rendition else d.source
        found[doc_id] = Document(**{**d.__dict__, "text_source": ts})
    order = {src: i for i, src in enumerate(manifest.get("corpus", {}).get("documents", []))}
    return {d.doc_id: d for d in sorted(found.values(), key=lambda d: (order.get(d.source, len(order)), d.doc_id))}


def _cache_root() -> Path:
    return Path(tempfile.gettempdir()) / f"qa-store-cache-{os.getuid()}"


def _problem(url: str, problem: str) -> IndexProblem:
    return IndexProblem(f"the index in {redact(url)}: {problem}", url)


def _materialise(conn, schema: str, want: dict[str, str], local: Path, url: str) -> None:
    """Copy the build's files into `local` (once per build), each checked against its sha256."""
    done = local / ".complete"
    if done.is_file() and json.loads(done.read_text(encoding="utf-8")) == want:
        ok = all((local / n).is_file() and hashlib.sha256((local / n).read_bytes()).hexdigest() == d
                 for n, d in want.items())
        if ok:
            return
    tmp = local.with_name(local.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, data in pg.read_files(conn, schema).items():
        if hashlib.sha256(data).hexdigest() != want.get(name):
            raise _problem(url, f"file {name} of build {schema} does not match its checksum")
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (tmp / ".complete").write_text(json.dumps(want), encoding="utf-8")
    shutil.rmtree(local, ignore_errors=True)
    try:
        os.replace(tmp, local)
    except OSError:  # another process put the same build there first
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- feedback, shared by the replicas

FEEDBACK_TABLE = "qa_meta.feedback"


def append_feedback(url: str, record: dict[str, Any]) -> None:
    """One feedback record (qa.chat.feedback.feedback_record) into the store's feedback table."""
    from psycopg.types.json import Jsonb  # psycopg is optional: connect() has said how to install it

    conn = connect(url)
    try:
        with conn.transaction():
            conn.execute("CREATE SCHEMA IF NOT EXISTS qa_meta")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {FEEDBACK_TABLE} (id bigserial PRIMARY KEY, "
                         "at timestamptz NOT NULL DEFAULT now(), record jsonb NOT NULL)")
            conn.execute(f"INSERT INTO {FEEDBACK_TABLE} (record) VALUES (%s)", (Jsonb(record),))
    finally:
        conn.close()


def read_feedback(url: str) -> list[dict[str, Any]]:
    conn = connect(url)
    try:
        exists = conn.execute("SELECT to_regclass(%s)", (FEEDBACK_TABLE,)).fetchone()[0]
        if exists is None:
            return []
        return [r[0] for r in conn.execute(f"SELECT record FROM {FEEDBACK_TABLE} ORDER BY id")]
    finally:
        conn.close()
