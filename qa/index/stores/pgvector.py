"""PostgreSQL with pgvector: the tables, loading, checksums and atomic publishing of an index build.

Long because a build's layout, loading, checksums and publishing are one protocol over one schema: the
checksums computed in Python before loading and in SQL after must agree byte for byte with the tables
they hash, and publish() relies on what build() writes last, so they are kept and read together.

Layout. Every build lives in its own schema `qa_b_<utc time>_<hex>` with tables documents, passages,
sentences (vectors as `vector(dim)`), files (the build's other artefacts as bytes: the BM25 model, the
alias table, text renditions) and manifest (one JSON row). A pointer table
`qa_meta.current(name, schema, previous)` says which build readers use. A build is loaded and indexed
in its own schema, verified, and published by updating the pointer row in ONE transaction, so a
reader either resolves the old build or the new one, never a half-built one. The previous build is
kept (readers that resolved it a moment ago keep working) and older ones are dropped.

Indexes. Passages carry an HNSW index over inner product (`vector_ip_ops`; the vectors are unit
length, so this is cosine) and a generated `tsvector` column ('english') with a GIN index; the queries
over them are qa.index.stores.pgsearch.

Integrity. `checksums()` computes, in SQL, per-table row counts, vector dimensions and a sha256 over
each row's canonical bytes; `python_checksum()` computes the same value from the rows before loading.
The manifest stores the Python values; `verify()` recomputes them in SQL and compares, with the model
name and dimension a loader expects.

Loading uses COPY (binary by default; text and executemany are kept for comparison).

psycopg is imported where it is used: it is an optional dependency, and this module is imported
wherever an index is opened (qa.index.stores).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import secrets
import struct
import time
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

META = "qa_meta"
PREFIX = "qa_b_"
TS_CONFIG = "english"
_SCHEMA_RE = re.compile(r"^qa_b_[0-9]{14}_[0-9a-f]{6}$")
TABLES = ("documents", "passages", "sentences")
LOAD_METHODS = ("copy_binary", "copy_text", "executemany")


class StoreProblem(RuntimeError):
    """The store is missing, half-published, or does not match what the loader expects."""


# --------------------------------------------------------------------------------------------------
# connection and the vector type
# --------------------------------------------------------------------------------------------------

def connect(url: str, **kw):
    """A psycopg 3 autocommit connection with the `vector` type registered (numpy rows <-> vector).

    The functions here expect autocommit: each `with conn.transaction()` is then a real transaction,
    which is what makes publish() atomic and visible at once.
    """
    import psycopg

    kw.setdefault("autocommit", True)
    conn = psycopg.connect(url, **kw)
    try:
        register_vector(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def register_vector(conn) -> None:
    """Teach this connection to send numpy arrays as pgvector `vector` (binary) and read them back."""
    import psycopg
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format
    from psycopg.types import TypeInfo

    info = TypeInfo.fetch(conn, "vector")
    if info is None:  # created where the role may, as haystack's and LlamaIndex's pgvector stores do
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as e:  # no privilege, or pgvector not installed on the server: PostgreSQL says
            reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else e.__class__.__name__
            raise StoreProblem(f"the `vector` type is missing and could not be created ({reason})") from None
        info = TypeInfo.fetch(conn, "vector")
    if info is None:
        raise StoreProblem("the `vector` type is missing: CREATE EXTENSION vector (pgvector) first")
    info.register(conn)

    class VectorBinaryDumper(Dumper):
        format = Format.BINARY
        oid = info.oid

        def dump(self, obj):
            return vector_bytes(obj)

    class VectorBinaryLoader(Loader):
        format = Format.BINARY

        def load(self, data):
            dim, _ = struct.unpack_from(">HH", data)
            return np.frombuffer(bytes(data), dtype=">f4", count=dim, offset=4).astype(np.float32)

    class VectorTextLoader(Loader):
        format = Format.TEXT

        def load(self, data):
            return np.array(json.loads(bytes(data)), dtype=np.float32)

    conn.adapters.register_dumper(np.ndarray, VectorBinaryDumper)
    conn.adapters.register_loader(info.oid, VectorBinaryLoader)
    conn.adapters.register_loader(info.oid, VectorTextLoader)


def vector_bytes(v: np.ndarray) -> bytes:
    """pgvector's binary form of one vector (what `vector_send` returns): dim, 0, float4 big-endian."""
    a = np.asarray(v, dtype=">f4").ravel()
    return struct.pack(">HH", a.shape[0], 0) + a.tobytes()


def vector_text(v: np.ndarray) -> str:
    """pgvector's text form, exact for float32 (9 significant digits round-trip)."""
    return "[" + ",".join(f"{x:.9g}" for x in np.asarray(v, dtype=np.float32).tolist()) + "]"


def _ident(schema: str):
    from psycopg import sql

    if not (_SCHEMA_RE.match(schema) or schema == META):
        raise StoreProblem(f"not a qa build schema name: {schema!r}")
    return sql.Identifier(schema)


def schema_sql(template: str, schema: str):
    """SQL with {s} replaced by the quoted schema name."""
    from psycopg import sql

    return sql.SQL(template).format(s=_ident(schema))


# --------------------------------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------------------------------

def ensure_meta(conn) -> None:
    """The extension and the pointer tables (idempotent)."""
    with conn.transaction():
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {META}")
        conn.execute(f"""CREATE TABLE IF NOT EXISTS {META}.current (
            name text PRIMARY KEY, schema text NOT NULL, previous text, published_at timestamptz NOT NULL)""")
        conn.execute(f"""CREATE TABLE IF NOT EXISTS {META}.history (
            id bigserial PRIMARY KEY, name text NOT NULL, schema text NOT NULL, previous text,
            published_at timestamptz NOT NULL DEFAULT now())""")


def new_build_schema(conn, dim: int = 384) -> str:
    """Create an empty build schema (tables, no vector/text indexes yet) and return its name."""
    name = f"{PREFIX}{_dt.datetime.now(_dt.timezone.utc):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
    create_tables(conn, name, dim)
    return name


def create_tables(conn, schema: str, dim: int = 384) -> None:
    if not (0 < int(dim) <= 16000):
        raise StoreProblem(f"bad vector dimension {dim}")
    d = int(dim)
    with conn.transaction():
        conn.execute(schema_sql("CREATE SCHEMA {s}", schema))
        conn.execute(schema_sql("""CREATE TABLE {s}.documents (
            doc_id text PRIMARY KEY, source text NOT NULL, title text NOT NULL, text text NOT NULL,
            meta jsonb NOT NULL DEFAULT '{{}}')""", schema))
        conn.execute(schema_sql(f"""CREATE TABLE {{s}}.passages (
            row int PRIMARY KEY, passage_id text NOT NULL UNIQUE, doc_id text NOT NULL,
            start_char int NOT NULL, end_char int NOT NULL, text text NOT NULL,
            meta jsonb NOT NULL DEFAULT '{{{{}}}}', embedding vector({d}) NOT NULL,
            tsv tsvector GENERATED ALWAYS AS (to_tsvector('{TS_CONFIG}', text)) STORED)""", schema))
        conn.execute(schema_sql(f"""CREATE TABLE {{s}}.sentences (
            row int PRIMARY KEY, sentence_id text NOT NULL UNIQUE, passage_id text NOT NULL,
            doc_id text NOT NULL, start_char int NOT NULL, end_char int NOT NULL, text text NOT NULL,
            meta jsonb NOT NULL DEFAULT '{{{{}}}}', embedding vector({d}) NOT NULL)""", schema))
        conn.execute(schema_sql("CREATE TABLE {s}.files (name text PRIMARY KEY, data bytea NOT NULL, "
                                "sha256 text NOT NULL)", schema))
        conn.execute(schema_sql("CREATE TABLE {s}.manifest (id boolean PRIMARY KEY DEFAULT true CHECK (id), "
                                "body jsonb NOT NULL)", schema))


def create_indexes(conn, schema: str, *, m: int = 16, ef_construction: int = 64, sentence_hnsw: bool = False,
                   text_index: bool = True, maintenance_work_mem: str | None = "1GB",
                   parallel_workers: int | None = None) -> dict[str, float]:
    """HNSW on passages (and optionally sentences), GIN on the tsvector, btree on doc_id. Seconds each."""
    timings: dict[str, float] = {}
    with conn.transaction():
        if maintenance_work_mem:
            conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (maintenance_work_mem,))
        if parallel_workers is not None:
            conn.execute("SELECT set_config('max_parallel_maintenance_workers', %s, true)", (str(int(parallel_workers)),))
        steps = [("passages_hnsw", f"CREATE INDEX passages_hnsw ON {{s}}.passages USING hnsw (embedding vector_ip_ops) "
                                   f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"),
                 ("passages_doc", "CREATE INDEX passages_doc ON {s}.passages (doc_id)"),
                 ("sentences_passage", "CREATE INDEX sentences_passage ON {s}.sentences (passage_id)")]
        if text_index:
            steps.append(("passages_tsv", "CREATE INDEX passages_tsv ON {s}.passages USING gin (tsv)"))
        if sentence_hnsw:
            steps.append(("sentences_hnsw", f"CREATE INDEX sentences_hnsw ON {{s}}.sentences USING hnsw (embedding vector_ip_ops) "
                                            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"))
        for name, stmt in steps:
            t = time.perf_counter()
            conn.execute(schema_sql(stmt, schema))
            timings[name] = time.perf_counter() - t
        conn.execute(schema_sql("ANALYZE {s}.passages", schema))
        conn.execute(schema_sql("ANALYZE {s}.sentences", schema))
    return timings


# --------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------

_COLS = {
    "documents": (("doc_id", "text"), ("source", "text"), ("title", "text"), ("text", "text"), ("meta", "jsonb")),
    "passages": (("row", "int4"), ("passage_id", "text"), ("doc_id", "text"), ("start_char", "int4"),
                 ("end_char", "int4"), ("text", "text"), ("meta", "jsonb"), ("embedding", "vector")),
    "sentences": (("row", "int4"), ("sentence_id", "text"), ("passage_id", "text"), ("doc_id", "text"),
                  ("start_char", "int4"), ("end_char", "int4"), ("text", "text"), ("meta", "jsonb"),
                  ("embedding", "vector")),
}


def _tuples(table: str, rows: Sequence[Mapping[str, Any]], vectors: np.ndarray | None) -> Iterable[tuple]:
    names = [c for c, _ in _COLS[table]]
    base = [c for c in names if c not in ("meta", "embedding")]
    for i, r in enumerate(rows):
        meta = {k: v for k, v in r.items() if k not in names}
        if "meta" in r:
            meta.update(r["meta"])
        vals = [r[c] for c in base] + [meta]
        if vectors is not None:
            vals.append(vectors[i])
        yield vals


def load_rows(conn, schema: str, table: str, rows: Sequence[Mapping[str, Any]], vectors: np.ndarray | None = None,
              method: str = "copy_binary", page: int = 1000) -> int:
    """Insert rows (dicts with the table's columns; other keys go to `meta`) and their vectors."""
    from psycopg import sql
    from psycopg.types.json import Jsonb

    if table not in _COLS:
        raise StoreProblem(f"unknown table {table}")
    cols = _COLS[table]
    has_vec = cols[-1][0] == "embedding"
    if has_vec:
        if vectors is None or len(vectors) != len(rows):
            raise StoreProblem(f"{table}: {len(rows)} rows but {0 if vectors is None else len(vectors)} vectors")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    col_sql = sql.SQL(", ").join(sql.Identifier(c) for c, _ in cols)
    target = sql.SQL("{}.{}").format(_ident(schema), sql.Identifier(table))
    n = 0
    with conn.transaction(), conn.cursor() as cur:
        if method == "copy_binary":
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(target, col_sql)) as cp:
                cp.set_types([t for _, t in cols])
                for vals in _tuples(table, rows, vectors if has_vec else None):
                    vals[len(vals) - (2 if has_vec else 1)] = Jsonb(vals[len(vals) - (2 if has_vec else 1)])
                    cp.write_row(vals)
                    n += 1
        elif method == "copy_text":
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, col_sql)) as cp:
                for vals in _tuples(table, rows, vectors if has_vec else None):
                    if has_vec:
                        vals[-1] = vector_text(vals[-1])
                        vals[-2] = json.dumps(vals[-2])
                    else:
                        vals[-1] = json.dumps(vals[-1])
                    cp.write_row(vals)
                    n += 1
        elif method == "executemany":
            ph = sql.SQL(", ").join(sql.Placeholder() for _ in cols)
            stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(target, col_sql, ph)
            batch = []
            for vals in _tuples(table, rows, vectors if has_vec else None):
                vals[len(vals) - (2 if has_vec else 1)] = Jsonb(vals[len(vals) - (2 if has_vec else 1)])
                batch.append(vals)
                if len(batch) >= page:
                    cur.executemany(stmt, batch)
                    n += len(batch)
                    batch = []
            if batch:
                cur.executemany(stmt, batch)
                n += len(batch)
        else:
            raise StoreProblem(f"unknown load method {method!r}; one of {LOAD_METHODS}")
    return n


def load_files(conn, schema: str, files: Mapping[str, bytes]) -> dict[str, str]:
    """Store named byte strings (a build's artefacts other than its rows); {name: sha256}."""
    out = {}
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(schema_sql("COPY {s}.files (name, data, sha256) FROM STDIN (FORMAT BINARY)", schema)) as cp:
            cp.set_types(["text", "bytea", "text"])
            for name, data in sorted(files.items()):
                out[name] = hashlib.sha256(data).hexdigest()
                cp.write_row([name, bytes(data), out[name]])
    return out


def file_checksums(conn, schema: str) -> dict[str, str]:
    """{name: sha256 of the stored bytes}, computed in PostgreSQL."""
    rows = conn.execute(schema_sql("SELECT name, encode(sha256(data), 'hex') FROM {s}.files", schema))
    return {n: d for n, d in rows}


def read_files(conn, schema: str, prefix: str = "") -> dict[str, bytes]:
    rows = conn.execute(schema_sql("SELECT name, data FROM {s}.files WHERE starts_with(name, %s)", schema), (prefix,))
    return {n: bytes(d) for n, d in rows}


# --------------------------------------------------------------------------------------------------
# checksums and manifest
# --------------------------------------------------------------------------------------------------

def _row_bytes(table: str, r: Mapping[str, Any], v: np.ndarray | None) -> bytes:
    def s(x) -> bytes:
        return str(x).encode("utf-8") + b"\x00"

    def i4(x) -> bytes:
        return struct.pack(">i", int(x))

    if table == "documents":
        return s(r["doc_id"]) + s(r["source"]) + s(r["title"]) + str(r["text"]).encode("utf-8")
    if table == "passages":
        head = i4(r["row"]) + s(r["passage_id"]) + s(r["doc_id"]) + i4(r["start_char"]) + i4(r["end_char"])
    else:
        head = (i4(r["row"]) + s(r["sentence_id"]) + s(r["passage_id"]) + s(r["doc_id"]) + i4(r["start_char"])
                + i4(r["end_char"]))
    return head + vector_bytes(v) + str(r["text"]).encode("utf-8")


def python_checksum(table: str, rows: Sequence[Mapping[str, Any]], vectors: np.ndarray | None = None) -> str:
    """sha256 over the per-row sha256 digests in key order; equals the SQL value of checksums()."""
    key = "doc_id" if table == "documents" else "row"
    order = sorted(range(len(rows)), key=lambda i: rows[i][key]) if table != "documents" else \
        sorted(range(len(rows)), key=lambda i: str(rows[i][key]).encode("utf-8"))
    h = hashlib.sha256()
    for i in order:
        h.update(hashlib.sha256(_row_bytes(table, rows[i], None if vectors is None else vectors[i])).digest())
    return h.hexdigest()


_SQL_ROW = {
    "documents": "convert_to(doc_id,'UTF8')||'\\x00'::bytea||convert_to(source,'UTF8')||'\\x00'::bytea"
                 "||convert_to(title,'UTF8')||'\\x00'::bytea||convert_to(text,'UTF8')",
    "passages": "int4send(row)||convert_to(passage_id,'UTF8')||'\\x00'::bytea||convert_to(doc_id,'UTF8')"
                "||'\\x00'::bytea||int4send(start_char)||int4send(end_char)||vector_send(embedding)"
                "||convert_to(text,'UTF8')",
    "sentences": "int4send(row)||convert_to(sentence_id,'UTF8')||'\\x00'::bytea||convert_to(passage_id,'UTF8')"
                 "||'\\x00'::bytea||convert_to(doc_id,'UTF8')||'\\x00'::bytea||int4send(start_char)"
                 "||int4send(end_char)||vector_send(embedding)||convert_to(text,'UTF8')",
}


def checksums(conn, schema: str) -> dict[str, dict[str, Any]]:
    """Per table, computed in PostgreSQL: rows, vector dimensions seen, sha256 of the rows."""
    out: dict[str, dict[str, Any]] = {}
    for table in TABLES:
        key = "convert_to(doc_id,'UTF8')" if table == "documents" else "row"
        dims = "NULL::int, NULL::int" if table == "documents" else "min(vector_dims(embedding)), max(vector_dims(embedding))"
        stmt = (f"SELECT count(*), {dims}, encode(sha256(coalesce(string_agg(sha256({_SQL_ROW[table]}), ''::bytea "
                f"ORDER BY {key}), ''::bytea)), 'hex') FROM {{s}}.{table}")
        n, dmin, dmax, digest = conn.execute(schema_sql(stmt, schema)).fetchone()
        if n == 0:
            digest = hashlib.sha256(b"").hexdigest()
        out[table] = {"rows": int(n), "dim": None if dmin is None else ([dmin] if dmin == dmax else [dmin, dmax]),
                      "sha256": digest}
    return out


def write_manifest(conn, schema: str, body: Mapping[str, Any]) -> None:
    from psycopg.types.json import Jsonb

    with conn.transaction():
        conn.execute(schema_sql("INSERT INTO {s}.manifest (id, body) VALUES (true, %s) "
                                "ON CONFLICT (id) DO UPDATE SET body = excluded.body", schema), (Jsonb(dict(body)),))


def read_manifest(conn, schema: str) -> dict[str, Any]:
    row = conn.execute(schema_sql("SELECT body FROM {s}.manifest", schema)).fetchone()
    if row is None:
        raise StoreProblem(f"build {schema} has no manifest (not finished)")
    return row[0]


def verify(conn, schema: str | None = None, *, model: str | None = None, dim: int | None = None,
           name: str = "default") -> dict[str, Any]:
    """Recompute counts, dimensions and checksums in SQL and compare with the manifest; return it.

    Raises StoreProblem naming the first mismatch (model, dimension, rows, checksum, missing index).
    """
    schema = schema or current_schema(conn, name)
    man = read_manifest(conn, schema)
    if model is not None and man.get("model") != model:
        raise StoreProblem(f"build {schema} was made with model {man.get('model')!r}, not {model!r}")
    if dim is not None and man.get("dim") != dim:
        raise StoreProblem(f"build {schema} has dimension {man.get('dim')}, not {dim}")
    got = checksums(conn, schema)
    for table, want in man.get("tables", {}).items():
        have = got.get(table)
        if have is None or have["rows"] != want["rows"]:
            raise StoreProblem(f"{schema}.{table} has {None if have is None else have['rows']} rows, manifest says {want['rows']}")
        if table != "documents" and have["rows"] and have["dim"] != [man["dim"]]:
            raise StoreProblem(f"{schema}.{table} has vector dimensions {have['dim']}, manifest says {man['dim']}")
        if have["sha256"] != want["sha256"]:
            raise StoreProblem(f"{schema}.{table} checksum {have['sha256'][:12]}… differs from the manifest's {want['sha256'][:12]}…")
    want_files = man.get("files")
    if want_files is not None:
        have_files = file_checksums(conn, schema)
        for fname, digest in want_files.items():
            if have_files.get(fname) != digest:
                raise StoreProblem(f"{schema}.files: {fname} is {'missing' if fname not in have_files else 'corrupt'}")
        if set(have_files) - set(want_files):
            raise StoreProblem(f"{schema}.files holds files the manifest does not list")
    idx = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,))}
    missing = [i for i in man.get("indexes", []) if i not in idx]
    if missing:
        raise StoreProblem(f"build {schema} lacks indexes {missing}")
    return man


# --------------------------------------------------------------------------------------------------
# publishing
# --------------------------------------------------------------------------------------------------

def current_schema(conn, name: str = "default") -> str:
    row = conn.execute(f"SELECT schema FROM {META}.current WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise StoreProblem(f"no published index named {name!r}")
    return row[0]


def publish(conn, schema: str, name: str = "default", keep: int = 1) -> str | None:
    """Point `name` at `schema` in one transaction; drop builds older than the `keep` previous ones.

    The new build must have its manifest (written last by build()). Returns the previous schema.
    """
    _ident(schema)
    if not conn.autocommit:
        raise StoreProblem("publish() needs an autocommit connection (see connect())")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('qa-publish:' || %s))", (name,))
        read_manifest(conn, schema)
        row = conn.execute(f"SELECT schema FROM {META}.current WHERE name = %s FOR UPDATE", (name,)).fetchone()
        previous = row[0] if row else None
        conn.execute(f"""INSERT INTO {META}.current (name, schema, previous, published_at) VALUES (%s, %s, %s, now())
                         ON CONFLICT (name) DO UPDATE SET schema = excluded.schema, previous = excluded.previous,
                         published_at = excluded.published_at""", (name, schema, previous))
        conn.execute(f"INSERT INTO {META}.history (name, schema, previous) VALUES (%s, %s, %s)", (name, schema, previous))
    prune(conn, name, keep)
    return previous


def prune(conn, name: str = "default", keep: int = 1) -> list[str]:
    """Drop build schemas of `name` that are neither current nor among the `keep` latest previous ones."""
    hist = [r[0] for r in conn.execute(f"SELECT schema FROM {META}.history WHERE name = %s ORDER BY id DESC", (name,))]
    if not hist:
        return []
    seen: list[str] = []
    for s in hist:
        if s not in seen:
            seen.append(s)
    live = set(seen[:1 + max(0, keep)])
    existing = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'qa\\_b\\_%'")}
    dropped = []
    for s in seen[1 + max(0, keep):]:
        if s in existing and s not in live:
            drop_build(conn, s)
            dropped.append(s)
    return dropped


def drop_build(conn, schema: str, lock_timeout: str = "5s") -> None:
    with conn.transaction():
        conn.execute("SELECT set_config('lock_timeout', %s, true)", (lock_timeout,))
        conn.execute(schema_sql("DROP SCHEMA IF EXISTS {s} CASCADE", schema))


@dataclass(frozen=True)
class BuildRows:
    """What one build holds: the rows of its tables (dicts with the columns; other keys go to `meta`), their
    vectors in row order, its other files by name, the model that embedded them, and any further
    manifest entries (`extra`: qa's own manifest rides there)."""

    documents: Sequence[Mapping[str, Any]]
    passages: Sequence[Mapping[str, Any]]
    passage_vectors: np.ndarray
    sentences: Sequence[Mapping[str, Any]] = ()
    sentence_vectors: np.ndarray | None = None
    _: KW_ONLY
    model: str
    dim: int | None = None  # default: the passage vectors' width
    files: Mapping[str, bytes] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildPlan:
    """How a build is loaded (`method`, one of LOAD_METHODS), indexed (HNSW `m`, `ef_construction`, and
    over sentences too with `sentence_hnsw`) and published (as `name`, now or later, keeping `keep`
    previous builds)."""

    name: str = "default"
    method: str = "copy_binary"
    m: int = 16
    ef_construction: int = 64
    sentence_hnsw: bool = False
    publish_now: bool = True
    keep: int = 1


def build(conn, rows: BuildRows, plan: BuildPlan = BuildPlan()) -> str:
    """Load everything into a new build schema, index it, write and verify the manifest, then publish.

    A failure before publishing drops the new schema and leaves the published build as it was.
    """
    if not conn.autocommit:
        raise StoreProblem("build() needs an autocommit connection (see connect())")
    dim = int(rows.dim or rows.passage_vectors.shape[1])
    sentence_vectors = rows.sentence_vectors
    if sentence_vectors is None:
        sentence_vectors = np.zeros((0, dim), dtype=np.float32)
    ensure_meta(conn)
    schema = new_build_schema(conn, dim)
    try:
        t = time.perf_counter()
        load_rows(conn, schema, "documents", rows.documents, None, plan.method)
        load_rows(conn, schema, "passages", rows.passages, rows.passage_vectors, plan.method)
        load_rows(conn, schema, "sentences", rows.sentences, sentence_vectors, plan.method)
        file_sums = load_files(conn, schema, rows.files)
        load_s = time.perf_counter() - t
        idx_t = create_indexes(conn, schema, m=plan.m, ef_construction=plan.ef_construction,
                               sentence_hnsw=plan.sentence_hnsw)
        body = {"format": "qa-pgvector/1", "schema": schema, "model": rows.model, "dim": dim,
                "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "hnsw": {"m": plan.m, "ef_construction": plan.ef_construction, "ops": "vector_ip_ops"},
                "text_search": {"config": TS_CONFIG, "index": "gin"},
                "indexes": sorted(idx_t), "load_method": plan.method, "load_seconds": round(load_s, 3),
                "index_seconds": {k: round(v, 3) for k, v in idx_t.items()},
                "tables": {
                    "documents": {"rows": len(rows.documents), "sha256": python_checksum("documents", rows.documents)},
                    "passages": {"rows": len(rows.passages),
                                 "sha256": python_checksum("passages", rows.passages, rows.passage_vectors)},
                    "sentences": {"rows": len(rows.sentences),
                                  "sha256": python_checksum("sentences", rows.sentences, sentence_vectors)},
                }, "files": file_sums, **dict(rows.extra)}
        write_manifest(conn, schema, body)
        verify(conn, schema, model=rows.model, dim=dim)
    except BaseException:
        drop_build(conn, schema)
        raise
    if plan.publish_now:
        publish(conn, schema, plan.name, plan.keep)
    return schema


def table_bytes(conn, schema: str) -> dict[str, int]:
    """pg_total_relation_size of each table (heap + TOAST + all its indexes) and of each index."""
    out = {}
    for t in (*TABLES, "manifest"):
        out[t] = int(conn.execute("SELECT pg_total_relation_size(%s::regclass)", (f'"{schema}".{t}',)).fetchone()[0])
    for (iname,) in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,)).fetchall():
        out[f"index:{iname}"] = int(conn.execute("SELECT pg_relation_size(%s::regclass)", (f'"{schema}".{iname}',)).fetchone()[0])
    return out
