"""`qa bench squad`: the SQuAD dev set as a corpus, scored for retrieval and official EM/F1.

The data and its corpus folder are qa.evaluation.bench.squad_data's: one .txt document per article,
indexed with qa's own `build_index` into eval/benchmarks/cache/ (git-ignored; a second run reuses it).
Every question then goes through `Answerer.ask_with_hits`, the path `qa ask` takes:

- retrieval: R@1/5/10/20 and MRR@10, where the gold passages are the evidence passages overlapping the
  paragraph the question was written on (found by character offsets, so a paragraph split into several
  passages has several gold passages). Gold paragraphs the chunker marked as boilerplate have no
  evidence passage; they are counted as misses and reported.
- answers: the official SQuAD EM and F1 (in percent) of `answer.answer`; a declined answer is the empty
  prediction. For 2.0 also HasAns/NoAns EM and F1.

`--mode all` also measures dense-only, BM25-only and reciprocal-rank fusion retrieval on the same
question vectors; answers always come from the default retriever. `--limit N` takes the first N
questions and restricts the corpus to the articles they come from (a small, quick index).

Question vectors are computed once, in batches, and handed to the unchanged answer path through a
caching embedder, so the hot loop never runs the model.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ...errors import QAError
from ..runner import write_json
from ..metrics import exact_match, mrr_at, percentile, recall_at, squad_normalize, token_f1
from ...settings import DEFAULT_K, PROJECT_ROOT, Settings
from .squad_data import cache_root, held_out_titles, load_squad, write_corpus

RETRIEVE_K = 20
SQUAD_KS = (1, 5, 10, 20)
ALL_MODES = ("dense", "bm25", "rrf", "hybrid")


# --------------------------------------------------------------------------- question vectors

class PrecomputedEmbedder:
    """Wraps an embedder with vectors computed ahead (in batches); other texts go to the model."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.vectors: dict[str, Any] = {}
        self.misses = 0

    def add(self, texts: Sequence[str], batch: int = 256, progress: bool = False) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        bar = None
        if progress and todo:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="embedding questions", unit="q", file=sys.stderr, leave=False)
        for i in range(0, len(todo), batch):
            chunk = todo[i:i + batch]
            for t, v in zip(chunk, self.inner.encode(chunk)):
                self.vectors[t] = v
            if bar:
                bar.update(len(chunk))
        if bar:
            bar.close()

    def encode(self, texts: Sequence[str], show_progress: bool = False):
        import numpy as np

        missing = [t for t in texts if t not in self.vectors]
        if missing:
            self.misses += len(missing)
            for t, v in zip(missing, self.inner.encode(missing)):
                self.vectors[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


# --------------------------------------------------------------------------- scoring

def squad_scores(prediction: Optional[str], golds: Sequence[str]) -> tuple[float, float]:
    """Official SQuAD EM and F1 (0/1 scale) of one prediction; None or "" is the no-answer prediction."""
    golds = [g for g in golds if squad_normalize(g)] or [""]
    pred = prediction or ""
    return max(exact_match(pred, g) for g in golds), max(token_f1(pred, g) for g in golds)


def gold_rows_for(index, doc_id: str, span: tuple[int, int]) -> tuple[set[int], list[str]]:
    """Evidence rows overlapping a paragraph span, and (when none) why: the boilerplate labels of the
    passages there, or 'heading' when the paragraph produced no passage at all."""
    s, e = span
    rows, reasons = set(), []
    by_doc = index.extras.get("_squad_by_doc")
    if by_doc is None:
        by_doc = {}
        for p in index.passages:
            by_doc.setdefault(p.doc_id, []).append(p)
        index.extras["_squad_by_doc"] = by_doc
    for p in by_doc.get(doc_id, []):
        if p.start < e and p.end > s:
            if p.row is not None:
                rows.add(p.row)
            else:
                reasons.append(p.boilerplate or "unknown")
    if not rows and not reasons:
        reasons = ["heading"]
    return rows, (reasons if not rows else [])


def _first_rank(hits, gold: set[int], k: int = RETRIEVE_K) -> Optional[int]:
    for i, h in enumerate(hits[:k]):
        if h.passage.row in gold:
            return i + 1
    return None


def retrieval_metrics(ranks: Sequence[Optional[int]]) -> dict[str, Any]:
    m: dict[str, Any] = {f"R@{k}": recall_at(ranks, k) for k in SQUAD_KS}
    m["MRR@10"] = mrr_at(ranks, 10)
    m["questions"] = len(ranks)
    return m


def run_squad(version: str = "1.1", limit: Optional[int] = None, mode: str = "hybrid", *,
              json_out: Optional[Path] = None, progress: bool = True, cache_dir: Optional[Path] = None,
              embedder=None, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
              held_out: bool = False, every: int = 1, settings: Optional[Settings] = None) -> dict[str, Any]:
    """Run the benchmark and return its result dict (what --json writes).

    `held_out` and `every` choose which questions are asked, never which paragraphs are searched: the
    corpus is every article unless `limit` cuts the questions to the first few articles."""
    from tqdm import tqdm

    from ...answer.answerer import clean_question
    from ...neural.embedding import make_embedder
    from ...index.build import build_index
    from ...pipeline import open_answerer

    settings = settings or Settings()
    if limit is not None and limit < 1:
        raise QAError(f"--limit must be at least 1, not {limit}")
    if every < 1:
        raise QAError(f"--every must be at least 1, not {every}")
    if mode not in (*ALL_MODES, "all"):
        raise QAError(f"unknown mode {mode!r}", fix=f"use one of {', '.join(ALL_MODES)} or all")
    t_start = time.perf_counter()
    data = load_squad(version)
    questions = list(data.questions)
    selection = []
    if held_out:
        keep = held_out_titles()
        questions = [q for q in questions if data.titles[q.article] in keep]
        selection.append(f"held-out articles only ({len({q.article for q in questions})})")
    if every > 1:
        questions = questions[::every]
        selection.append(f"every {every}th question")
    questions = questions[:limit] if limit else questions
    articles = sorted({q.article for q in questions}) if limit else list(range(len(data.titles)))
    restricted = len(articles) < len(data.titles)
    root = Path(cache_dir) if cache_dir else cache_root(settings)
    name = f"squad-{version}" + (f"-first{len(articles)}articles" if restricted else "")
    work = root / name
    docs = write_corpus(data, articles, work / "corpus")
    n_pars = sum(len(data.paragraphs[a]) for a in articles)
    note = (f"corpus restricted to the {len(articles)} article(s) the first {len(questions)} questions come from "
            f"({n_pars} of {sum(len(p) for p in data.paragraphs)} paragraphs)") if restricted else \
        f"full corpus: {len(articles)} articles, {n_pars} paragraphs"
    if selection:
        note += "; questions: " + ", ".join(selection)
    log(f"SQuAD {version}: {len(questions)} questions; {note}")

    inner = embedder or make_embedder(settings)
    report = build_index(work / "corpus", work / "index", inner, progress=progress, log=log)
    log(report.summary())
    pre = PrecomputedEmbedder(inner)
    answerer = open_answerer(work / "index", settings, embedder=pre)
    index = answerer.index
    retriever = answerer.retriever
    default_mode = retriever.settings.mode
    modes = list(ALL_MODES) if mode == "all" else [mode]
    others = {m: retriever.with_settings(mode=m) for m in modes if m != default_mode}

    # gold passages per paragraph, and the paragraphs with no evidence passage
    gold: dict[tuple[int, int], set[int]] = {}
    no_evidence: dict[tuple[int, int], list[str]] = {}
    for q in questions:
        key = (q.article, q.paragraph)
        if key not in gold:
            doc_id, spans = docs[q.article]
            rows, reasons = gold_rows_for(index, doc_id, spans[q.paragraph])
            gold[key] = rows
            if not rows:
                no_evidence[key] = reasons

    cleaned = []
    for q in questions:
        try:
            cleaned.append(clean_question(q.question))
        except QAError:
            cleaned.append(None)
    t_embed = time.perf_counter()
    pre.add([c for c in cleaned if c], progress=progress)
    embed_s = time.perf_counter() - t_embed

    ranks: dict[str, list[Optional[int]]] = {m: [] for m in modes}
    em_sum = f1_sum = 0.0
    sub = {"HasAns": [0.0, 0.0, 0], "NoAns": [0.0, 0.0, 0]}
    predictions, latencies = [], []
    declined = errors = 0
    t_loop = time.perf_counter()
    for q, cq in tqdm(list(zip(questions, cleaned)), desc=f"squad {version}", unit="q", disable=not progress,
                      file=sys.stderr, leave=False):
        t = time.perf_counter()
        hits: list = []
        status, conf, pred, why = "declined", 0.0, None, None
        if cq is not None:
            try:
                answer, hits = answerer.ask_with_hits(cq, k=DEFAULT_K, retrieve_k=RETRIEVE_K)
                status, conf, why = answer.status, answer.confidence, answer.decline_reason
                pred = answer.answer if answer.status != "declined" else None
            except QAError:
                errors += 1
        else:
            errors += 1
        latencies.append((time.perf_counter() - t) * 1000.0)
        declined += status == "declined"
        em, f1 = squad_scores(pred, q.answers if not q.impossible else ())
        em_sum += em
        f1_sum += f1
        bucket = sub["NoAns" if q.impossible else "HasAns"]
        bucket[0] += em
        bucket[1] += f1
        bucket[2] += 1
        g = gold[(q.article, q.paragraph)]
        rank = None
        if not q.impossible:
            for m in modes:
                if m == default_mode:
                    r = _first_rank(hits, g)
                elif cq is None:
                    r = None
                else:
                    h = others[m].search(cq, k=RETRIEVE_K, qvec=pre.vectors[cq])
                    r = _first_rank(h, g)
                ranks[m].append(r)
            rank = ranks[modes[0]][-1] if default_mode not in modes else ranks[default_mode][-1]
        predictions.append({"id": q.id, "prediction": pred, "status": status, "confidence": round(float(conf), 4),
                            "decline_reason": why, "gold_rank": rank})
    loop_s = time.perf_counter() - t_loop

    n = len(questions)
    answers: dict[str, Any] = {"exact_match": 100.0 * em_sum / n, "f1": 100.0 * f1_sum / n, "total": n,
                               "declined": declined, "errors": errors}
    if version == "2.0":
        for key, (e_, f_, c_) in sub.items():
            answers[f"{key}_exact"] = 100.0 * e_ / c_ if c_ else None
            answers[f"{key}_f1"] = 100.0 * f_ / c_ if c_ else None
            answers[f"{key}_total"] = c_
        answers["always_abstain_f1"] = 100.0 * sub["NoAns"][2] / n
    q_with_gold_missing = sum(1 for q in questions if (q.article, q.paragraph) in no_evidence and not q.impossible)
    reasons: dict[str, int] = {}
    for rs in no_evidence.values():
        for r in sorted(set(rs)):
            reasons[r] = reasons.get(r, 0) + 1
    result = {
        "benchmark": "squad",
        "version": version,
        "data": {"file": str(data.path.relative_to(PROJECT_ROOT)) if data.path.is_relative_to(PROJECT_ROOT) else str(data.path),
                 "sha256": data.sha256, "licence": "CC BY-SA 4.0",
                 "attribution": "SQuAD, Rajpurkar et al. 2016 (v1.1) and 2018 (v2.0)"},
        "limit": limit,
        "corpus": {
            "restricted": restricted, "note": note, "articles": len(articles), "articles_total": len(data.titles),
            "paragraphs": n_pars, "folder": str(work / "corpus"), "index": str(work / "index"),
            "documents": len(index.documents), "passages": len(index.passages),
            "evidence_passages": len(index.evidence), "sentences": len(index.sentences),
            "index_reused": report.noop, "index_seconds": round(report.seconds, 2),
        },
        "questions": n,
        "answerable": sub["HasAns"][2],
        "unanswerable": sub["NoAns"][2],
        "gold_without_evidence": {
            "paragraphs": len(no_evidence), "paragraphs_with_questions": len(gold),
            "answerable_questions": q_with_gold_missing, "reasons": reasons,
        },
        "retrieval_note": "gold = evidence passages overlapping the question's paragraph; answerable questions only; "
                          "questions whose paragraph has no evidence passage count as misses",
        "default_mode": default_mode,
        "retrieval": {m: retrieval_metrics(ranks[m]) for m in modes},
        "answers": answers,
        "answers_note": "official SQuAD EM/F1 in percent of answer.answer from the default retriever; declined = empty",
        "timing": {
            "total_s": round(time.perf_counter() - t_start, 1), "question_embedding_s": round(embed_s, 1),
            "questions_s": round(loop_s, 1), "latency_p50_ms": round(percentile(latencies, 50) or 0.0, 1),
            "latency_p95_ms": round(percentile(latencies, 95) or 0.0, 1), "model_calls_in_loop": pre.misses,
        },
        "predictions": predictions,
    }
    if json_out:
        write_json(result, Path(json_out))
    return result


def format_result(r: dict[str, Any]) -> str:
    lines = [f"SQuAD {r['version']} — {r['questions']} questions"
             + (f" (limit {r['limit']})" if r["limit"] else "") + f"; {r['corpus']['note']}",
             f"index: {r['corpus']['documents']} documents, {r['corpus']['evidence_passages']} evidence passages "
             f"({r['corpus']['passages'] - r['corpus']['evidence_passages']} boilerplate), {r['corpus']['sentences']} sentences"
             + (" (reused)" if r["corpus"]["index_reused"] else f" (built in {r['corpus']['index_seconds']:.0f}s)")]
    g = r["gold_without_evidence"]
    lines.append(f"gold paragraphs with no evidence passage: {g['paragraphs']} of {g['paragraphs_with_questions']} "
                 f"({g['answerable_questions']} answerable questions; reasons {g['reasons'] or 'none'})")
    lines.append("")
    head = f"{'retriever':<10} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'R@20':>6} {'MRR@10':>7}   questions"
    lines += [head, "-" * len(head)]
    for m, v in r["retrieval"].items():
        label = m + (" *" if m == r["default_mode"] else "")
        lines.append(f"{label:<10} " + " ".join(f"{v[k]:>6.3f}" if v[k] is not None else f"{'–':>6}" for k in ("R@1", "R@5", "R@10", "R@20"))
                     + (f" {v['MRR@10']:>7.3f}" if v["MRR@10"] is not None else f" {'–':>7}") + f"   {v['questions']}")
    lines.append("(* the default retriever, which the answers come from)")
    a = r["answers"]
    lines.append("")
    lines.append(f"answers: EM {a['exact_match']:.1f}  F1 {a['f1']:.1f}  (official SQuAD, percent; {a['declined']} declined"
                 + (f", {a['errors']} refused" if a["errors"] else "") + ")")
    if r["version"] == "2.0":
        def pct(k: str) -> str:  # a sample can hold no question of one kind
            return f"{a[k]:.1f}" if a.get(k) is not None else "–"

        lines.append(f"  HasAns EM {pct('HasAns_exact')} F1 {pct('HasAns_f1')} ({a['HasAns_total']})   "
                     f"NoAns EM {pct('NoAns_exact')} F1 {pct('NoAns_f1')} ({a['NoAns_total']})   "
                     f"always abstaining would score {pct('always_abstain_f1')}")
    t = r["timing"]
    lines.append(f"time: {t['total_s']:.0f}s total, question embedding {t['question_embedding_s']:.1f}s, "
                 f"answering {t['questions_s']:.0f}s (p50 {t['latency_p50_ms']:.0f} ms, p95 {t['latency_p95_ms']:.0f} ms per question)")
    return "\n".join(lines)
