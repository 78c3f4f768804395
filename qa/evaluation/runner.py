"""Scoring the assistant on gold questions (`qa eval`): every question asked, timed and scored.

Every question goes through `Answerer.ask_with_hits`, the same path `qa ask` takes, so the answer scored
here is exactly the answer a user gets. Scoring one question (and the failure categories) is
qa.evaluation.scoring's; the metrics of the whole run, saving it and comparing it with a baseline are
qa.evaluation.results'; tables and reports are qa.evaluation.tables' and qa.evaluation.report's.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Any, Optional, Sequence

from tqdm import tqdm

from .. import __version__
from ..errors import QAError
from .gold import GoldQuestion
from .metrics import normalize_match
from .results import aggregate
from .scoring import RETRIEVE_K, SourceReader, relevance_mode, score_question
from ..settings import DEFAULT_K


def _hit_row(h, text_norm_cache: dict[str, str]) -> dict[str, Any]:
    p = h.passage
    if p.passage_id not in text_norm_cache:
        text_norm_cache[p.passage_id] = normalize_match(p.text)
    return {"doc_id": p.doc_id, "passage_id": p.passage_id, "start": p.start, "end": p.end,
            "score": round(float(h.score), 4), "text_norm": text_norm_cache[p.passage_id]}


def evaluate(questions: Sequence[GoldQuestion], answerer, k: int = DEFAULT_K, progress: bool = True,
             meta: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Ask every question through `answerer.ask_with_hits` and score it; returns {"meta", "metrics", "results"}."""
    index = answerer.index
    evidence_norm = [(p.doc_id, normalize_match(p.text)) for p in index.evidence]
    norm_cache = {p.passage_id: t for p, (_, t) in zip(index.evidence, evidence_norm)}
    reader = SourceReader()
    answerer.warm_up()  # the models load before the clock starts, not in the first question's latency
    results = []
    for q in tqdm(questions, desc="eval", unit="q", disable=not progress, file=sys.stderr, leave=False):
        t = time.perf_counter()
        try:
            answer, hits = answerer.ask_with_hits(q.question, k=k, retrieve_k=RETRIEVE_K)
        except QAError as e:
            raise QAError(f"question {q.id}: {e}") from None
        latency = (time.perf_counter() - t) * 1000.0
        pred = answer.to_dict()
        mode = relevance_mode(q, evidence_norm)
        rows = [_hit_row(h, norm_cache) for h in hits]
        scores, category = score_question(q, pred, rows, k, reader, mode)
        results.append({
            "id": q.id, "question": q.question, "answers": q.answers, "answerable": q.answerable,
            "type": q.type, "split": q.split, "sources": q.sources,
            **({"conflict": q.conflict} if q.conflict else {}),
            "prediction": pred, "category": category, "latency_ms": round(latency, 2),
            "scores": scores,
            "hits": [{k_: v for k_, v in r.items() if k_ != "text_norm"} for r in rows[:RETRIEVE_K]],
        })
    return {"meta": run_meta(answerer, k, meta), "metrics": aggregate(results), "results": results}


def run_meta(answerer, k: int, meta: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """What a result records about its run: when, which version, index, model, thresholds and k."""
    index = answerer.index
    span_reader = getattr(answerer, "reader", None)
    cal = answerer.settings.calibration(span_reader is not None)
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "qa_version": __version__,
        "index": str(index.path),
        "build_id": index.manifest.get("build_id"),
        "model": index.manifest.get("model", {}).get("name"),
        "reader": span_reader is not None,
        "thresholds": {"decline_below": cal.decline_below, "answer_from": cal.answer_from},
        "k": k,
        "retrieve_k": RETRIEVE_K,
        **(meta or {}),
    }
