"""Measurements for docs/scale.md: vector stores at 10k/100k/1M, lexical search on SQuAD, Ray embedding.

    python scripts/bench_scale.py base                 # embed SQuAD dev texts once (cache in --work)
    python scripts/bench_scale.py vectors --sizes 10000 100000 1000000
    python scripts/bench_scale.py lexical              # PostgreSQL full-text vs bm25s on SQuAD v1.1 dev
    python scripts/bench_scale.py ray                  # embed_on_ray texts/s with 1 and 2 workers (netns cluster)

Every command writes a JSON file of results into --work (default /tmp/qa-scale) and prints it.
Servers are the throw-away ones of tests/servers.py; nothing listens beyond a unix socket / a netns.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qa.settings import set_offline_environment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # its helpers (tests is not a package)
set_offline_environment()
SQUAD = ROOT / "eval" / "benchmarks" / "squad-v1.1-dev.json.gz"
DIM = 384


def conditions() -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                if l.startswith("Model name")), platform.processor())
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "cpu": cpu, "cores": os.cpu_count(),
            "loadavg_start": os.getloadavg(), "python": platform.python_version()}


def squad():
    data = json.loads(gzip.open(SQUAD, "rt", encoding="utf-8").read())["data"]
    paragraphs, questions = [], []  # questions: (text, gold paragraph index)
    for a in data:
        for p in a["paragraphs"]:
            for q in p["qas"]:
                questions.append((q["question"], len(paragraphs)))
            paragraphs.append({"title": a["title"], "text": p["context"]})
    return paragraphs, questions


def sentences_of(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])", text) if len(s.split()) >= 4]


def pct(xs, p) -> float:
    return float(np.percentile(np.asarray(xs) * 1000.0, p))


def save(work: Path, name: str, obj: dict) -> None:
    work.mkdir(parents=True, exist_ok=True)
    (work / name).write_text(json.dumps(obj, indent=2))
    print(json.dumps(obj, indent=2), flush=True)


# ------------------------------------------------------------------------------------------------
def cmd_base(a) -> None:
    """Real MiniLM vectors of SQuAD dev paragraphs, their sentences and 1,000 questions."""
    from qa.neural.embedding import SentenceTransformerEmbedder

    paragraphs, questions = squad()
    sents = [s for p in paragraphs for s in sentences_of(p["text"])]
    rng = np.random.default_rng(0)
    qidx = rng.choice(len(questions), size=1000, replace=False)
    emb = SentenceTransformerEmbedder()
    out = {}
    timing = {}
    for name, texts in (("paragraphs", [p["text"] for p in paragraphs]), ("sentences", sents),
                        ("questions", [questions[i][0] for i in qidx])):
        t = time.perf_counter()
        out[name] = emb.encode(texts)
        timing[name] = {"n": len(texts), "seconds": time.perf_counter() - t}
        print(name, timing[name], flush=True)
    np.savez(a.work / "base.npz", **out, question_idx=qidx)
    save(a.work, "base.json", {"conditions": conditions(), "encode": timing,
                              "torch_threads": __import__("torch").get_num_threads()})


def synthetic(base: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    """n unit vectors: e_a + w*e_b + gaussian noise (sigma 0.03/dim), a,b random real vectors, w~U(0,.5)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    step = 100_000
    for s in range(0, n, step):
        m = min(step, n - s)
        a_ = base[rng.integers(0, len(base), m)]
        b_ = base[rng.integers(0, len(base), m)]
        w = rng.uniform(0, 0.5, (m, 1)).astype(np.float32)
        v = a_ + w * b_ + rng.standard_normal((m, base.shape[1]), dtype=np.float32) * 0.03
        out[s:s + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def exact_topk(x: np.ndarray, q: np.ndarray, k: int = 10) -> np.ndarray:
    best_s = np.full((len(q), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), k), dtype=np.int64)
    for s in range(0, len(x), 200_000):
        sc = q @ x[s:s + 200_000].T
        kk = min(k, sc.shape[1])
        part = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(sc, part, 1)], 1)
        cand_i = np.concatenate([best_i, part + s], 1)
        o = np.argsort(-cand_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, o, 1), np.take_along_axis(cand_i, o, 1)
    return best_i


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10]) & set(t.tolist())) / 10.0 for f, t in zip(found, truth)]))


def bench_faiss(kind: str, x: np.ndarray, q: np.ndarray, truth: np.ndarray, work: Path) -> dict:
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    t = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexFlatIP(DIM)
    else:
        index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80  # as qa.index.build.make_faiss
    index.add(x)
    build = time.perf_counter() - t
    if kind == "hnsw":
        index.hnsw.efSearch = 128
    f = work / f"bench-{kind}.faiss"
    faiss.write_index(index, str(f))
    size = f.stat().st_size
    f.unlink()
    faiss.omp_set_num_threads(1)  # one request, one thread, as a web worker would search
    lat, found = [], []
    for v in q:
        t = time.perf_counter()
        _, ids = index.search(v[None, :], 10)
        lat.append(time.perf_counter() - t)
        found.append(ids[0].tolist())
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    return {"build_s": build, "file_bytes": size, "bytes_per_vector": size / len(x), "p50_ms": pct(lat, 50),
            "p95_ms": pct(lat, 95), "recall@10": recall(found, truth), "queries": len(q)}


def bench_pg(url: str, x: np.ndarray, q: np.ndarray, truth: np.ndarray, n_exact: int, compare_loads: bool) -> dict:
    from psycopg import sql

    from qa.index.stores import pgvector as pv

    conn = pv.connect(url)
    res: dict = {}
    tbl = sql.Identifier(f"vec_{len(x)}")
    loads = ("copy_binary", "copy_text", "executemany") if compare_loads else ("copy_binary",)
    for method in loads:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(tbl))
        conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, embedding vector(384) NOT NULL)").format(tbl))
        t = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            if method == "copy_binary":
                with cur.copy(sql.SQL("COPY {} (id, embedding) FROM STDIN (FORMAT BINARY)").format(tbl)) as cp:
                    cp.set_types(["int4", "vector"])
                    for i in range(len(x)):
                        cp.write_row((i, x[i]))
            elif method == "copy_text":
                with cur.copy(sql.SQL("COPY {} (id, embedding) FROM STDIN").format(tbl)) as cp:
                    for i in range(len(x)):
                        cp.write_row((i, pv.vector_text(x[i])))
            else:
                stmt = sql.SQL("INSERT INTO {} (id, embedding) VALUES (%s, %s)").format(tbl)
                for s in range(0, len(x), 1000):
                    cur.executemany(stmt, [(i, x[i]) for i in range(s, min(s + 1000, len(x)))])
        res[f"load_{method}_s"] = time.perf_counter() - t
        res[f"load_{method}_rows_per_s"] = len(x) / res[f"load_{method}_s"]
        print(len(x), "pg load", method, round(res[f"load_{method}_s"], 2), "s", flush=True)
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(tbl))
    heap = conn.execute("SELECT pg_total_relation_size(%s::regclass)", (tbl.as_string(conn),)).fetchone()[0]
    with conn.transaction():
        conn.execute("SET LOCAL maintenance_work_mem = '6GB'")
        conn.execute("SET LOCAL max_parallel_maintenance_workers = 1")
        t = time.perf_counter()
        conn.execute(sql.SQL("CREATE INDEX ON {} USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64)").format(tbl))
        res["hnsw_build_s"] = time.perf_counter() - t
        print(len(x), "pg hnsw build", round(res["hnsw_build_s"], 1), "s", os.getloadavg(), flush=True)
    total = conn.execute("SELECT pg_total_relation_size(%s::regclass)", (tbl.as_string(conn),)).fetchone()[0]
    res.update({"table_bytes_no_hnsw": heap, "total_bytes": total, "bytes_per_row": total / len(x),
                "hnsw_bytes": total - heap})
    query = sql.SQL("SELECT id FROM {} ORDER BY embedding <#> %s LIMIT 10").format(tbl)
    plan = "\n".join(r[0] for r in conn.execute(sql.SQL("EXPLAIN ") + query, (q[0],)).fetchall())
    res["plan_uses_hnsw"] = "Index Scan" in plan
    for ef in (40, 100):
        conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(ef),))
        for v in q[:20]:  # warm
            conn.execute(query, (v,)).fetchall()
        lat, found = [], []
        for v in q:
            t = time.perf_counter()
            rows = conn.execute(query, (v,)).fetchall()
            lat.append(time.perf_counter() - t)
            found.append([r[0] for r in rows])
        res[f"ef{ef}"] = {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "recall@10": recall(found, truth),
                          "queries": len(q)}
    exact_q = sql.SQL("SELECT id FROM {} ORDER BY (embedding <#> %s) + 0 LIMIT 10").format(tbl)  # never an index
    lat, found = [], []
    for v in q[:n_exact]:
        t = time.perf_counter()
        rows = conn.execute(exact_q, (v,)).fetchall()
        lat.append(time.perf_counter() - t)
        found.append([r[0] for r in rows])
    res["exact"] = {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "recall@10": recall(found, truth[:n_exact]),
                    "queries": n_exact}
    conn.execute(sql.SQL("DROP TABLE {}").format(tbl))
    conn.close()
    return res


def cmd_vectors(a) -> None:
    from servers import postgres_server

    b = np.load(a.work / "base.npz")
    base = np.concatenate([b["paragraphs"], b["sentences"]])
    q = np.ascontiguousarray(b["questions"][: a.queries])
    out = {"conditions": conditions(), "base_vectors": int(len(base)), "queries": int(len(q)),
           "synthetic": "unit(e_a + w*e_b + N(0, 0.03^2) per dim), e_* real MiniLM vectors of SQuAD dev paragraphs "
                        "and sentences, w ~ U(0, 0.5); queries: real MiniLM vectors of SQuAD dev questions",
           "sizes": {}}
    with postgres_server({"max_wal_size": "8GB", "checkpoint_timeout": "30min"}) as url:
        for n in a.sizes:
            t = time.perf_counter()
            x = synthetic(base, n)
            gen = time.perf_counter() - t
            truth = exact_topk(x, q)
            print(n, "generated", round(gen, 1), "s; truth ready", os.getloadavg(), flush=True)
            r: dict = {"generate_s": gen}
            if "faiss" in a.stores:
                for kind in ("flat", "hnsw"):
                    r[f"faiss_{kind}"] = bench_faiss(kind, x, q, truth, a.work)
                    print(n, kind, r[f"faiss_{kind}"], flush=True)
            if "pg" in a.stores:
                r["pgvector_hnsw"] = bench_pg(url, x, q, truth, n_exact=(a.queries if n <= 100_000 else 20),
                                              compare_loads=n <= 100_000)
                print(n, "pg", r["pgvector_hnsw"], flush=True)
            r["loadavg_end"] = os.getloadavg()
            out["sizes"][str(n)] = r
            tag = "" if set(a.stores) == {"faiss", "pg"} else "-" + "-".join(a.stores)
            save(a.work, f"vectors{tag}-{'-'.join(map(str, a.sizes))}.json", out)
            del x


# ------------------------------------------------------------------------------------------------
def ranks_metrics(ranks: list[int | None]) -> dict:
    n = len(ranks)

    def at(k):
        return sum(1 for r in ranks if r is not None and r < k) / n

    return {"R@1": at(1), "R@5": at(5), "R@10": at(10),
            "MRR@10": sum(1.0 / (r + 1) for r in ranks if r is not None and r < 10) / n,
            "no_hit": sum(1 for r in ranks if r is None) / n}


def cmd_lexical(a) -> None:
    import bm25s

    from qa.index import bm25
    from qa.index.stores import pgsearch
    from qa.index.stores import pgvector as pv
    from servers import postgres_server

    paragraphs, questions = squad()
    if a.limit:
        questions = questions[: a.limit]
    out = {"conditions": conditions(), "passages": len(paragraphs), "questions": len(questions), "methods": {}}
    # bm25s exactly as qa.index.bm25 builds and scores it
    t = time.perf_counter()
    model = bm25s.BM25(method="lucene", k1=bm25.K1, b=bm25.B)
    model.index([bm25.tokenize(p["text"]) or [""] for p in paragraphs], show_progress=False)
    build = time.perf_counter() - t
    ranks, lat = [], []
    for qtext, gold in questions:
        t = time.perf_counter()
        ids = model.get_tokens_ids(bm25.tokenize(qtext))
        if ids:
            sc = np.asarray(model.get_scores_from_ids(ids), dtype=np.float32)
            top = np.argsort(-sc, kind="stable")[:10]
            top = [int(i) for i in top if sc[i] > 0]
        else:
            top = []
        lat.append(time.perf_counter() - t)
        ranks.append(top.index(gold) if gold in top else None)
    out["methods"]["bm25s"] = {**ranks_metrics(ranks), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "build_s": build}
    print("bm25s", out["methods"]["bm25s"], flush=True)

    vec_file = a.work / "base.npz"
    pvec = np.load(vec_file)["paragraphs"] if vec_file.exists() else None
    if pvec is None or len(pvec) != len(paragraphs):
        rng = np.random.default_rng(0)
        pvec = rng.standard_normal((len(paragraphs), DIM)).astype(np.float32)
        pvec /= np.linalg.norm(pvec, axis=1, keepdims=True)
    titles = sorted({p["title"] for p in paragraphs})
    docs = [{"doc_id": f"t{i}", "source": f"squad/{t}", "title": t, "text": ""} for i, t in enumerate(titles)]
    tid = {t: f"t{i}" for i, t in enumerate(titles)}
    rows = [{"row": i, "passage_id": f"p{i}", "doc_id": tid[p["title"]], "start_char": 0, "end_char": len(p["text"]),
             "text": p["text"]} for i, p in enumerate(paragraphs)]
    with postgres_server() as url:
        conn = pv.connect(url)
        t = time.perf_counter()
        schema = pv.build(conn, pv.BuildRows(docs, rows, pvec, model="sentence-transformers/all-MiniLM-L6-v2"),
                          pv.BuildPlan(name="squad"))
        out["pg_build_s"] = time.perf_counter() - t
        out["pg_manifest_index_seconds"] = pv.read_manifest(conn, schema)["index_seconds"]
        sizes = pv.table_bytes(conn, schema)
        out["pg_bytes"] = sizes
        out["pg_passages_bytes_per_row"] = sizes["passages"] / len(rows)
        tsv = conn.execute(pv.schema_sql("SELECT sum(pg_column_size(tsv)), sum(pg_column_size(embedding)), "
                                         "sum(pg_column_size(text)) FROM {s}.passages", schema)).fetchone()
        out["pg_column_bytes"] = {"tsv": int(tsv[0]), "embedding": int(tsv[1]), "text": int(tsv[2])}
        variants = [(p, r, 0) for p in ("plain", "websearch", "or") for r in ("ts_rank", "ts_rank_cd")]
        variants += [("or", "ts_rank", 1), ("or", "ts_rank_cd", 1)]
        for parser, rank, norm in variants:
            ranks, lat = [], []
            for qtext, gold in questions:
                t = time.perf_counter()
                hits = pgsearch.text_search(conn, qtext, 10, schema=schema, parser=parser, rank=rank, normalization=norm)
                lat.append(time.perf_counter() - t)
                top = [r for r, _ in hits]
                ranks.append(top.index(gold) if gold in top else None)
            key = f"pg {parser} {rank}" + (f" norm{norm}" if norm else "")
            out["methods"][key] = {**ranks_metrics(ranks), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95)}
            print(key, out["methods"][key], flush=True)
        conn.close()
    # capacity of the file store for the same passages: FAISS flat/HNSW file + passages JSONL
    import faiss

    with tempfile.TemporaryDirectory() as d:
        jl = Path(d) / "passages.jsonl"
        with jl.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({"passage_id": r["passage_id"], "doc_id": r["doc_id"], "start": 0, "end": r["end_char"],
                                    "text": r["text"], "section": None, "boilerplate": None, "row": r["row"],
                                    "sentence_rows": []}, ensure_ascii=False) + "\n")
        fi = faiss.IndexFlatIP(DIM)
        fi.add(pvec)
        faiss.write_index(fi, str(Path(d) / "flat.faiss"))
        hi = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        hi.add(pvec)
        faiss.write_index(hi, str(Path(d) / "hnsw.faiss"))
        out["file_store_bytes_per_passage"] = {
            "jsonl": jl.stat().st_size / len(rows), "faiss_flat": (Path(d) / "flat.faiss").stat().st_size / len(rows),
            "faiss_hnsw": (Path(d) / "hnsw.faiss").stat().st_size / len(rows)}

        model.save(str(Path(d) / "bm25"), allow_pickle=False, show_progress=False)
        out["file_store_bytes_per_passage"]["bm25s"] = sum(p.stat().st_size for p in (Path(d) / "bm25").iterdir()) / len(rows)
    out["loadavg_end"] = os.getloadavg()
    save(a.work, "lexical.json", out)


# ------------------------------------------------------------------------------------------------
RAY_DRIVER = r"""
import json, sys, time
from qa.neural.distributed import RayEmbedPool
texts = json.load(open(sys.argv[1]))
res = {}
for n_actors in (1, 2):
    t = time.perf_counter()
    with RayEmbedPool("auto", num_actors=n_actors) as pool:
        ready = time.perf_counter() - t
        pool.embed(texts[:50], batch_size=50)  # warm
        t = time.perf_counter()
        pool.embed(texts, batch_size=250)
        s = time.perf_counter() - t
        res[n_actors] = {"ready_s": ready, "embed_s": s, "texts_per_s": len(texts) / s,
                         "per_actor": [{"node": a["node_id"][:8], "texts": a["texts"], "busy_s": a["seconds"]}
                                       for a in pool.stats.actors]}
print("RESULT " + json.dumps(res))
"""


def cmd_ray(a) -> None:
    from qa.neural.embedding import SentenceTransformerEmbedder
    from servers import ray_cluster

    paragraphs, _ = squad()
    texts = [p["text"] for p in paragraphs[: a.n]]
    f = a.work / "ray-texts.json"
    a.work.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(texts))
    out = {"conditions": conditions(), "texts": len(texts), "avg_words": float(np.mean([len(t.split()) for t in texts])),
           "batch_size": 250, "cluster": "head + 1 worker node in one netns, 1 CPU each, 1 actor per CPU"}
    import torch

    local = {}
    emb = SentenceTransformerEmbedder()
    emb.encode(texts[:20])
    for threads in (1, 2):
        torch.set_num_threads(threads)
        t = time.perf_counter()
        emb.encode(texts)
        local[threads] = len(texts) / (time.perf_counter() - t)
    out["local_texts_per_s_by_threads"] = local
    with ray_cluster(num_workers=1, cpus_per_node=1) as c:
        r = c.run(RAY_DRIVER, [str(f)], timeout=1800)
        lines = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
        if not lines:
            raise SystemExit(f"driver failed: {r.stderr[-3000:]}")
        out["ray"] = json.loads(lines[-1][7:])
    out["loadavg_end"] = os.getloadavg()
    save(a.work, "ray.json", out)


# ------------------------------------------------------------------------------------------------
def cmd_report(a) -> None:
    """Markdown tables from the JSON results in --work (for docs/scale.md)."""
    w = a.work
    sizes = {}
    for f in sorted(w.glob("vectors*.json")):
        for n, r in json.loads(f.read_text())["sizes"].items():
            sizes.setdefault(n, {}).update(r)
    if sizes:
        print("| vectors | store | build | p50 ms | p95 ms | recall@10 | bytes/vector |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for n in sorted(sizes, key=int):
            r = sizes[n]
            for kind in ("flat", "hnsw"):
                x = r.get(f"faiss_{kind}")
                if x:
                    label = "FAISS flat (exact)" if kind == "flat" else "FAISS HNSW M=32 efC=80 efSearch=128"
                    print(f"| {int(n):,} | {label} | {x['build_s']:.1f} s add | {x['p50_ms']:.2f} | {x['p95_ms']:.2f} "
                          f"| {x['recall@10']:.4f} | {x['bytes_per_vector']:.0f} |")
            g = r.get("pgvector_hnsw")
            if g:
                build = f"{g['load_copy_binary_s']:.1f} s COPY + {g['hnsw_build_s']:.1f} s HNSW"
                for ef in (40, 100):
                    e = g[f"ef{ef}"]
                    print(f"| {int(n):,} | pgvector HNSW m=16 efC=64 ef_search={ef} | {build if ef == 40 else '(same build)'} | "
                          f"{e['p50_ms']:.2f} | {e['p95_ms']:.2f} | {e['recall@10']:.4f} | {g['bytes_per_row']:.0f} |")
                e = g["exact"]
                print(f"| {int(n):,} | pgvector exact (scan, {e['queries']} queries) | – | {e['p50_ms']:.2f} | "
                      f"{e['p95_ms']:.2f} | {e['recall@10']:.4f} | {g['table_bytes_no_hnsw'] / int(n):.0f} |")
        print()
        print("| vectors | COPY binary rows/s | COPY text rows/s | executemany rows/s |")
        print("|---:|---:|---:|---:|")
        for n in sorted(sizes, key=int):
            g = sizes[n].get("pgvector_hnsw", {})
            f = lambda k: f"{g[k]:,.0f}" if k in g else "–"
            print(f"| {int(n):,} | {f('load_copy_binary_rows_per_s')} | {f('load_copy_text_rows_per_s')} | "
                  f"{f('load_executemany_rows_per_s')} |")
        print()
    lx = w / "lexical.json"
    if lx.exists():
        L = json.loads(lx.read_text())
        print("| method | R@1 | R@5 | R@10 | MRR@10 | no hit in top 10 | p50 ms | p95 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for k, m in L["methods"].items():
            print(f"| {k} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['R@10']:.3f} | {m['MRR@10']:.3f} | {m['no_hit']:.3f} "
                  f"| {m['p50_ms']:.2f} | {m['p95_ms']:.2f} |")
        print()
        print(json.dumps({k: L[k] for k in L if k not in ("methods",)}, indent=1))
    ry = w / "ray.json"
    if ry.exists():
        print(json.dumps(json.loads(ry.read_text()), indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-scale"))
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("base")
    v = sub.add_parser("vectors")
    v.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    v.add_argument("--queries", type=int, default=500)
    v.add_argument("--stores", nargs="+", choices=["faiss", "pg"], default=["faiss", "pg"])
    lx = sub.add_parser("lexical")
    lx.add_argument("--limit", type=int, default=0)
    r = sub.add_parser("ray")
    r.add_argument("--n", type=int, default=600)
    sub.add_parser("report")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    {"base": cmd_base, "vectors": cmd_vectors, "lexical": cmd_lexical, "ray": cmd_ray, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
