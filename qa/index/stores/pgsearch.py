"""Queries over a published build in PostgreSQL: vector top-k (HNSW or exact) and full-text top-k.

Vectors. Passages carry an HNSW index over inner product (`vector_ip_ops`; the vectors are unit
length, so this is cosine). `search(..., exact=True)` ranks every row (the ground truth, and the right
plan for a small filtered set) by sorting on an expression no index serves. A document filter uses the
exact plan by default: pgvector 0.6 filters HNSW candidates after the scan, which can return fewer than k.
Lexical: a generated `tsvector` column ('english') with a GIN index and ts_rank/ts_rank_cd top-k.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .pgvector import TS_CONFIG, StoreProblem, current_schema, schema_sql


def search(conn, query_vector: np.ndarray, k: int = 10, *, schema: str | None = None, table: str = "passages",
           exact: bool | None = None, ef_search: int | None = None, doc_ids: Sequence[str] | None = None,
           name: str = "default") -> list[tuple[int, float]]:
    """Top-k (row, inner product) for one unit query vector, best first.

    exact=None: HNSW unless a document filter is given (then exact over the filtered rows).
    """
    if table not in ("passages", "sentences"):
        raise StoreProblem(f"no vectors in table {table}")
    if exact is None:
        exact = doc_ids is not None
    q = np.asarray(query_vector, dtype=np.float32).ravel()
    with conn.transaction():
        schema = schema or current_schema(conn, name)
        if not exact and ef_search is not None:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(int(ef_search)),))
        where = "WHERE doc_id = ANY(%(docs)s)" if doc_ids is not None else ""
        # Exact: "+ 0" makes the sort key an expression no index provides, so the plan is a scan and
        # sort whatever the planner settings. (SET enable_indexscan=off is not enough: psycopg prepares
        # a statement after 5 runs and PostgreSQL keeps its cached HNSW plan when that setting changes.)
        order = "(embedding <#> %(q)s) + 0" if exact else "d"
        stmt = schema_sql(f"SELECT row, embedding <#> %(q)s AS d FROM {{s}}.{table} {where} ORDER BY {order} LIMIT %(k)s", schema)
        rows = conn.execute(stmt, {"q": q, "k": int(k), "docs": list(doc_ids or [])}).fetchall()
    return [(int(r), -float(d)) for r, d in rows]


_PARSERS = {
    "plain": "plainto_tsquery(%(cfg)s::regconfig, %(q)s)",
    "websearch": "websearch_to_tsquery(%(cfg)s::regconfig, %(q)s)",
    # plainto_tsquery ANDs every word; a question rarely shares all its words with the passage
    "or": "replace(plainto_tsquery(%(cfg)s::regconfig, %(q)s)::text, ' & ', ' | ')::tsquery",
}
_RANKS = {"ts_rank": "ts_rank(tsv, query.q, %(norm)s)", "ts_rank_cd": "ts_rank_cd(tsv, query.q, %(norm)s)"}


def text_search(conn, query: str, k: int = 10, *, schema: str | None = None, parser: str = "plain",
                rank: str = "ts_rank_cd", normalization: int = 0, doc_ids: Sequence[str] | None = None,
                name: str = "default") -> list[tuple[int, float]]:
    """PostgreSQL full-text top-k (row, rank) over passages: tsquery `parser`, `rank` function."""
    if parser not in _PARSERS or rank not in _RANKS:
        raise StoreProblem(f"parser one of {sorted(_PARSERS)}, rank one of {sorted(_RANKS)}")
    with conn.transaction():
        schema = schema or current_schema(conn, name)
        where = "AND doc_id = ANY(%(docs)s)" if doc_ids is not None else ""
        stmt = schema_sql(f"SELECT row, {_RANKS[rank]} AS score FROM {{s}}.passages, (SELECT {_PARSERS[parser]} AS q) AS query "
                          f"WHERE tsv @@ query.q {where} ORDER BY score DESC, row LIMIT %(k)s", schema)
        rows = conn.execute(stmt, {"cfg": TS_CONFIG, "q": query, "k": int(k), "norm": int(normalization),
                                   "docs": list(doc_ids or [])}).fetchall()
    return [(int(r), float(s)) for r, s in rows]
