"""The table `qa bench perf` prints: each measured figure beside its baseline, ratio and target."""
from __future__ import annotations

from typing import Any, Optional


def _shipped_rss(a: dict) -> str:
    """The ask step's memory: the shipped configuration alone, and the step's peak with the variants."""
    return f"{a['memory_mb']['shipped_after_warmup']:.0f} ({a['peak_rss_mb']:.0f} with the variants below loaded too)"


def _yes(b: Optional[bool]) -> str:
    return "—" if b is None else ("met" if b else "MISSED")


def _target(value: float, sense: str, target: float, goal: Optional[float] = None) -> str:
    """`≤ 4.0× met` and, when the issue sets a goal beyond the target, `goal ≤ 3.0× MISSED`."""
    def ok(limit: float) -> bool:
        return value <= limit if sense == "≤" else value >= limit

    out = f"{sense} {target}× {_yes(ok(target))}"
    return out if goal is None else f"{out}; goal {sense} {goal}× {_yes(ok(goal))}"


def _stages(st: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in st.items())


def _noisy(r: dict) -> str:
    s = r.get("others_cpu_share")
    return "" if s is None else (f" (noisy: others used {s:.0%})" if s >= 0.10 else "")


def format_table(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        f"qa bench perf — {res['date']} — {m['cpu']}, {m['cores']} cores, {m.get('mem_gb')} GiB"
        + (" — FAKE EMBEDDER (plumbing only)" if res.get("fake_embedder") else "")
        + (" — quick" if res.get("quick") else ""),
        "",
        "| measure | qa | bare baseline | ratio | target | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    s = res["steps"]

    def err(name):
        return f"| {name} | error: {s[name]['error']} | | | | |"

    if "ask" in s:
        a = s["ask"]
        if "error" in a:
            lines.append(err("ask"))
        else:
            lines.append(f"| warm `ask` latency p50{_noisy(a)}{' (with the span reader)' if a.get('reader') else ''} | {a['ask']['p50_ms']:.1f} ms | {a['bare']['p50_ms']:.1f} ms "
                         f"(encode + IndexFlatIP) | {a['ratio_p50']:.2f}× | {_target(a['ratio_p50'], '≤', a['target'], a.get('goal'))} | "
                         f"{_shipped_rss(a)} |")
            lines.append(f"| warm `ask` latency p95 | {a['ask']['p95_ms']:.1f} ms | {a['bare']['p95_ms']:.1f} ms | "
                         f"{a['ratio_p95']:.2f}× | | |")
            if a.get("rules_only"):
                lines.append(f"| warm `ask` p50 without the span reader (`QA_READER=off`) | {a['rules_only']['p50_ms']:.1f} ms | "
                             f"{a['bare']['p50_ms']:.1f} ms | {a['rules_only_ratio_p50']:.2f}× | "
                             f"{_target(a['rules_only_ratio_p50'], '≤', a.get('rules_only_target', 1.0))} | |")
            if a.get("torch_backend"):
                lines.append(f"| warm `ask` p50 all in torch (`QA_BACKEND=torch`; the shipped step is "
                             f"{a['speedup_over_torch_p50']:.2f}× as fast) | {a['torch_backend']['p50_ms']:.1f} ms | "
                             f"{a['bare']['p50_ms']:.1f} ms | {a['torch_backend_ratio_p50']:.2f}× | | |")
            if a.get("reader_bf16"):
                lines.append(f"| warm `ask` p50 with the torch reader in bf16 (`QA_READER_PRECISION=bf16`; CPU bf16 units: {a.get('cpu_bf16')}) | "
                             f"{a['reader_bf16']['p50_ms']:.1f} ms | {a['bare']['p50_ms']:.1f} ms | {a['reader_bf16_ratio_p50']:.2f}× | "
                             f"{_target(a['reader_bf16_ratio_p50'], '≤', a['target'])} | |")
            if a.get("reader_one_window"):
                lines.append(f"| the reader alone, one pass over one window (the least any reader answer adds) | "
                             f"{a['reader_one_window']['p50_ms']:.1f} ms | {a['bare']['p50_ms']:.1f} ms | "
                             f"{a['reader_one_window_ratio_p50']:.2f}× | | |")
            if a.get("retrieve"):
                rr = a["retrieve_ratio_p50"]
                lines.append(f"| retrieval alone p50 (BM25 + dense + fusion + sentences) | {a['retrieve']['p50_ms']:.1f} ms | "
                             f"{a['bare']['p50_ms']:.1f} ms (encode + IndexFlatIP) | {rr:.2f}× | "
                             f"{_target(rr, '≤', a.get('retrieve_target', 1.3))} | |")
            for name, label in (("ask", "the shipped step"), ("torch_backend", "all in torch")):
                st = a.get("stages_ms") if name == "ask" else (a.get("variant_stages_ms") or {}).get(name)
                if st:
                    lines.append(f"| where a warm `ask` goes, {label} (mean ms per question) | {_stages(st)} | | | | |")
            rv = a.get("resolve") or {}
            if rv.get("turns"):
                lines.append(f"| resolving follow-ups (`resolve` stage, the questions asked as one conversation; "
                             f"{rv['rewritten']} of {rv['turns']} rewritten) | {rv['mean_ms']:.2f} ms a turn "
                             f"(max {rv['max_ms']:.2f}) | | | < {rv['target_ms']} ms {_yes(rv['met'])} | |")
            w = a.get("reader_work") or {}
            if w.get("tokens_per_question") is not None:
                rate = (f"; {w['gflop_per_question']:.2f} GFLOP per question ({w['gflop_per_question_padded']:.2f} as padded), "
                        f"{w['gflops']:.1f} GFLOP/s in {w['reader_stage_ms']:.1f} ms = {w['share_of_sgemm']:.0%} of sgemm"
                        if w.get("gflops") is not None and w.get("share_of_sgemm") is not None else "")
                lines.append(f"| span reader's work per question | {w['tokens_per_question']:.0f} tokens in "
                             f"{w['sequences_per_question']:.1f} windows ({w['tokens_padded_per_question']:.0f} with padding; "
                             f"{w['tokens_counted_by']}){rate} | numpy sgemm {a['sgemm_gflops']:.1f} GFLOP/s | | | |")
            if a.get("variants_skipped"):
                lines.append("| variants not measured | " + "; ".join(f"{k}: {v}" for k, v in a["variants_skipped"].items())
                             + " | | | | |")
    if "build" in s:
        b = s["build"]
        if "error" in b:
            lines.append(err("build"))
        else:
            pr = b.get("process") or {}
            if "skipped" in pr:
                lines.append(f"| index build, whole `qa index` process | skipped: {pr['skipped']} | | | | |")
            elif pr:
                parts = pr["bare_parts_s"]
                lines.append(f"| index build{_noisy(b)}, whole `qa index --force` process ({pr['corpus']}: "
                             f"{pr['texts']} texts) | {pr['qa_index_median_s']:.2f} s ({pr['qa_index_texts_per_s']:.1f} texts/s) | "
                             f"{pr['bare_median_s']:.2f} s ({pr['bare_texts_per_s']:.1f} texts/s; import {parts['import_s']:.1f} s, "
                             f"load {parts['load_s']:.1f} s, encode {parts['encode_s']:.1f} s) | {pr['ratio']:.2f}× | "
                             f"{_target(pr['ratio'], '≥', pr['target'], pr.get('goal'))} | |")
                if pr.get("build_stages_s"):
                    lines.append(f"| where a `qa index` build goes (its manifest, median s) | "
                                 f"{', '.join(f'{k} {v:.2f}' for k, v in pr['build_stages_s'].items())} | | | | |")
            lines.append(f"| index build in process ({b['evidence']} passages + {b['sentences']} sentences of the bench corpus) | "
                         f"{b['build_passages_per_s']:.1f} passages/s ({b['build_median_s']:.2f} s) | "
                         f"{b['bare_passages_per_s']:.1f} passages/s ({b['bare_median_s']:.2f} s, encode of the same "
                         f"{b['texts_embedded']} texts) | {b['in_process_ratio']:.2f}× | | {b['peak_rss_mb']:.0f} |")
            bd = b.get("breakdown_s") or {}
            if bd:
                parts = ", ".join(f"{k.replace('_', ' ')} {v:.2f} s" for k, v in bd.items())
                lines.append(f"| build time besides encoding (each timed once, warm) | {parts} | | | | |")
    if "noop" in s:
        n = s["noop"]
        if "error" in n:
            lines.append(err("noop"))
        else:
            lines.append(f"| no-op rebuild | {n['in_process_median_s'] * 1000:.1f} ms in process (first call "
                         f"{n['in_process_s'][0]:.2f} s), {n['cli_median_s']:.2f} s "
                         f"`qa index`; model loaded: {'yes' if n['model_loaded'] else 'no'}, torch imported: "
                         f"{'yes' if n['torch_imported'] else 'no'} | | | < {n['target_s']:.0f} s, no model {_yes(n['met'])} | {n['peak_rss_mb']:.0f} |")
    if "incremental" in s:
        i = s["incremental"]
        if "error" in i:
            lines.append(err("incremental"))
        else:
            lines.append(f"| rebuild after one paragraph added | re-embedded {i['embedded']} of {i['total_texts']} texts "
                         f"({i['evidence']} passages, {i['sentences']} sentences); {i['seconds']:.1f} s incl. model load | "
                         f"| | | {i['peak_rss_mb']:.0f} |")
    if "vectors" in s and "error" in s["vectors"]:
        lines.append(err("vectors"))
    if "scale" in s:
        c = s["scale"]
        if "error" in c:
            lines.append(err("scale"))
        else:
            f, h = c["flat"], c["hnsw"]
            lines.append(f"| scale {c['n']:,}: flat build (FAISS add){_noisy(c)} | {f['build_s']:.2f} s, holds {f['held_mb']:.0f} MiB | | | | {c['peak_rss_mb']:.0f} (step) |")
            lines.append(f"| scale {c['n']:,}: HNSW build (M=32, efC={h['params']['efConstruction']}) | {h['build_s']:.1f} s, "
                         f"holds {h['held_mb']:.0f} MiB | | | | |")
            lines.append(f"| scale {c['n']:,}: query p50 / p95 (k=10, {c['queries']} real questions) | "
                         f"HNSW {h['p50_ms']:.2f} / {h['p95_ms']:.2f} ms | flat {f['p50_ms']:.2f} / {f['p95_ms']:.2f} ms | "
                         f"{c['hnsw_speedup_p50']:.1f}× faster | | |")
            if "one_thread" in f:
                lines.append(f"| scale {c['n']:,}: same with FAISS on 1 thread (default {c['faiss_threads']}) | "
                             f"HNSW {h['one_thread']['p50_ms']:.2f} / {h['one_thread']['p95_ms']:.2f} ms | "
                             f"flat {f['one_thread']['p50_ms']:.2f} / {f['one_thread']['p95_ms']:.2f} ms | | | |")
            lines.append(f"| scale {c['n']:,}: HNSW recall@10 vs flat (efSearch={h['params']['efSearch']}) | {c['hnsw_recall_at_10']:.3f} | 1.000 | | | |")
    if "bf16" in s:
        b = s["bf16"]
        if "error" in b:
            lines.append(err("bf16"))
        elif "skipped" in b:
            lines.append(f"| bf16 index build | skipped: {b['skipped']} | | | | |")
        else:
            lines.append(f"| bf16 index build (`--precision bf16`) | top-5 overlap {b['top5_overlap']:.3f} "
                         f"(fp32 queries on a bf16 index: {b['top5_overlap_bf16_index_fp32_queries']:.3f}); "
                         f"{'kept' if b['kept'] else 'not kept'} | fp32 build | {b['speed_ratio']:.2f}× speed | "
                         f"overlap ≥ {b['target_overlap']} {_yes(b['top5_overlap'] >= b['target_overlap'])} | {b['peak_rss_mb']:.0f} |")
    lines.append("")
    if "scale" in s and "error" not in s["scale"]:
        lines.append(f"Scale rows measure the index layer (FAISS) on {s['scale']['n']:,} synthetic unit vectors "
                     f"(random convex combinations of 2-3 real embeddings from {s['scale']['vectors_from']}), "
                     "not model encoding.")
    lines.append("Medians of interleaved runs; each step ran in its own process (peak RSS = that process's "
                 "high-water mark, VmHWM). 'noisy' marks steps during which other processes used ≥10% of the CPU.")
    return "\n".join(lines)
