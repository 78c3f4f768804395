"""`qa bench tatqa`: TAT-QA's annual-report excerpts as HTML, Word and PDF documents, each question asked of its own.

Each excerpt (a table and its paragraphs) is written as a document in every format asked for
(qa.evaluation.bench.tatqa_render), one corpus folder and one index per format under the bench cache
(`Settings.bench_cache`, env QA_BENCH_CACHE, default eval/benchmarks/cache/: `tatqa-<format>/`); a second
run reuses them. The corpus is all 278 excerpts whatever the half asked, so fit and check share an
index; only `--limit` makes a smaller corpus (the excerpts of the questions it keeps, in a folder of its
own), for quick runs.

Each question is asked once per format with the search restricted to its excerpt's document
(`docs=[doc_id]`), as a user who picked the report would, through `Answerer.ask_with_hits`, the path
`qa ask --doc` takes. It is scored with TAT-QA's rules (qa.evaluation.bench.tatqa_score): EM, F1, gold
contained in the answer and in its cited quotes; a given answer is right when it matches exactly. A
decline is right for arithmetic and count questions (their answers are computed, so no quote states
them) and wrong for span and multi-span ones, the headline. qa.evaluation.bench.tatqa_report
aggregates and prints.

`tatqa_set` is the same questions for a fitting script (see qa.evaluation.bench.fitset).
"""
from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from tqdm import tqdm

from ...answer.answerer import clean_question
from ...errors import QAError
from ...index.build import build_index
from ...neural import embedding
from ...neural.reader import make_reader
from ...pipeline import open_answerer
from ...settings import DEFAULT_K, PROJECT_ROOT, Settings
from ...types import Answer
from ..metrics import percentile
from ..results import write_json
from .fitset import BenchQuestion, BenchSet, check_split
from .squad import PrecomputedEmbedder
from .squad_data import cache_root
from .tatqa_data import ATTRIBUTION, choose_questions, load_tatqa
from .tatqa_render import FORMATS, write_corpus
from .tatqa_report import aggregate
from .tatqa_score import NUMERIC_TYPES, contained, contained_in_quotes, em_f1, gold_items


REFUSED = "refused"  # the decline_reason recorded for a question the pipeline refused to ask


def _to_stderr(s: str) -> None:
    print(s, file=sys.stderr)


def _quiet(s: str) -> None:
    return None


def parse_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """"html,docx" (or a sequence) as a tuple of known formats, in FORMATS order; QAError otherwise."""
    names = [f.strip() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    unknown = sorted(set(names) - set(FORMATS))
    if unknown or not names:
        raise QAError(f"unknown format(s): {', '.join(unknown) or '(none given)'}", fix=f"choose from {','.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in names)


def right_answer(q: BenchQuestion, answer: Optional[str]) -> bool:
    """TAT-QA's rule for a right answer: an exact match (TAT-QA normalisation, the question's scale)."""
    return em_f1(answer, q.answers, q.labels["scale"], q.labels["answer_type"])[0] == 1.0


def tatqa_set(split: str = "fit", formats: Sequence[str] = FORMATS, *, every: int = 1, limit: Optional[int] = None,
              settings: Optional[Settings] = None, embedder=None, reader=None, cache_dir: Optional[Path] = None,
              progress: bool = False, log: Callable[[str], None] = _quiet) -> BenchSet:
    """TAT-QA's questions of a half ("fit", "check", "all"), one row per question and format, each
    restricted to its excerpt's document; the documents written and indexed (or reused) under the bench
    cache, and an answerer per format (index key = the format). `embedder` builds the indexes and embeds
    the questions (default: the one the settings name); `reader` is shared by the answerers (default:
    the one the settings name; False for none)."""
    check_split(split)
    formats = parse_formats(formats)
    if every < 1:
        raise QAError(f"--every must be at least 1, not {every}")
    if limit is not None and limit < 1:
        raise QAError(f"--limit must be at least 1, not {limit}")
    settings = settings or Settings()
    data = load_tatqa()
    questions = choose_questions(data, split, every, limit)
    excerpts = data.excerpts
    if limit:
        keep = {q.excerpt for q in questions}
        excerpts = [e for e in data.excerpts if e.uid in keep]
    embedder = embedder or embedding.make_embedder(settings)
    if reader is None:
        reader = make_reader(settings, embedder) or False
    root = Path(cache_dir) if cache_dir else cache_root(settings)
    subset = "" if len(excerpts) == len(data.excerpts) else \
        f"-{len(excerpts)}excerpts-{hashlib.sha256(''.join(e.uid for e in excerpts).encode()).hexdigest()[:8]}"
    halves = data.halves()
    bench = BenchSet("tatqa", split, [], {}, right_answer)
    doc_ids: dict[str, dict[str, str]] = {}
    for fmt in formats:
        work = root / f"tatqa-{fmt}{subset}"
        doc_ids[fmt] = write_corpus(excerpts, fmt, work / "corpus", log=log)
        report = build_index(work / "corpus", work / "index", embedder, progress=progress, log=log)
        log(f"{fmt}: {report.summary()}")
        bench.builds[fmt] = report
        bench.answerers[fmt] = open_answerer(work / "index", settings, embedder=embedder, reader=reader)
    for q in questions:
        for fmt in formats:
            labels = {"answer_type": q.answer_type, "answer_from": q.answer_from, "scale": q.scale, "format": fmt,
                      "excerpt": q.excerpt, "split": halves[q.excerpt]}
            bench.questions.append(BenchQuestion(q.uid, q.question, (doc_ids[fmt][q.excerpt],),
                                                 tuple(gold_items(q.answer, q.answer_type)), True, labels, fmt))
    bench.notes.append(f"{len(questions)} questions on {len({q.excerpt for q in questions})} excerpts, "
                       f"corpus {len(excerpts)} of {len(data.excerpts)} excerpts, formats {', '.join(formats)}")
    return bench


@dataclass(frozen=True)
class TatqaOptions:
    """What one `run_tatqa` asks and where it works: `qa bench tatqa`'s options, and what scripts and
    tests hand in besides (a model of their own, a cache folder, a quiet log)."""

    split: str = "check"
    formats: tuple[str, ...] = FORMATS
    every: int = 1
    limit: Optional[int] = None
    json_out: Optional[Path] = None
    progress: bool = True
    cache_dir: Optional[Path] = None
    embedder: Any = None
    settings: Optional[Settings] = None
    log: Callable[[str], None] = _to_stderr


def score(q: BenchQuestion, answer) -> dict[str, Any]:
    """One answer's TAT-QA scores and whether its status was the right call."""
    t, scale = q.labels["answer_type"], q.labels["scale"]
    declined = answer.status == "declined"
    text = None if declined else answer.answer
    em, f1 = em_f1(text, q.answers, scale, t)
    quotes = [c.quote for c in answer.citations] if not declined else []
    return {"em": em, "f1": f1, "contained": contained(text, q.answers),
            "contained_in_quotes": contained_in_quotes(quotes, q.answers),
            "right": (t in NUMERIC_TYPES) if declined else em == 1.0}


def run_tatqa(options: Optional[TatqaOptions] = None) -> dict[str, Any]:
    """Run the benchmark and return its result dict (what --json writes): the options, the figures by
    group (qa.evaluation.bench.tatqa_report.aggregate) and one record per question and format."""
    opts = options or TatqaOptions()
    settings = opts.settings or Settings()
    t0 = time.perf_counter()
    inner = opts.embedder or embedding.make_embedder(settings)
    pre = PrecomputedEmbedder(inner)
    bench = tatqa_set(opts.split, opts.formats, every=opts.every, limit=opts.limit, settings=settings, embedder=pre,
                      cache_dir=opts.cache_dir, progress=opts.progress, log=opts.log)
    opts.log("TAT-QA: " + "; ".join(bench.notes))
    t_index = time.perf_counter() - t0
    texts = []
    for q in bench.questions:
        try:
            texts.append(clean_question(q.question))
        except QAError:
            pass
    pre.add(texts, progress=opts.progress)
    for a in bench.answerers.values():
        a.warm_up()  # the models load before the clock starts
    misses = pre.misses
    records, latencies = [], []
    t1 = time.perf_counter()
    for q in tqdm(bench.questions, desc="tatqa", unit="q", disable=not opts.progress, file=sys.stderr, leave=False):
        t = time.perf_counter()
        try:
            answer, _ = bench.ask(q)
        except QAError:  # the pipeline refuses the question (as `qa ask` would): scored as a decline
            answer = Answer(q.question, "declined", None, 0.0, decline_reason=REFUSED)
        latencies.append((time.perf_counter() - t) * 1000.0)
        records.append({
            "id": q.id, "question": q.question, "doc": q.docs[0], **q.labels, "gold": list(q.answers),
            "prediction": {"answer": answer.answer, "status": answer.status,
                           "confidence": round(float(answer.confidence), 4), "decline_reason": answer.decline_reason},
            "scores": score(q, answer), "latency_ms": round(latencies[-1], 1),
        })
    t_ask = time.perf_counter() - t1
    data = load_tatqa()
    result = {
        "benchmark": "tatqa",
        "data": {"file": str(data.path.relative_to(PROJECT_ROOT)) if data.path.is_relative_to(PROJECT_ROOT) else str(data.path),
                 "sha256": data.sha256, "licence": "CC BY 4.0", "attribution": ATTRIBUTION},
        "split": opts.split, "formats": list(opts.formats), "every": opts.every, "limit": opts.limit,
        "note": "; ".join(bench.notes),
        "indexes": {f: {"documents": len(a.index.documents), "passages": len(a.index.passages),
                        "reused": bench.builds[f].noop, "seconds": round(bench.builds[f].seconds, 1)}
                    for f, a in bench.answerers.items()},
        "reader": any(getattr(a, "reader", None) is not None for a in bench.answerers.values()),
        "k": DEFAULT_K,
        "metrics": aggregate(records),
        "timing": {"total_s": round(time.perf_counter() - t0, 1), "documents_and_indexes_s": round(t_index, 1),
                   "questions_s": round(t_ask, 1), "latency_p50_ms": round(percentile(latencies, 50) or 0.0, 1),
                   "latency_p95_ms": round(percentile(latencies, 95) or 0.0, 1),
                   "model_calls_in_loop": pre.misses - misses},
        "records": records,
    }
    if opts.json_out:
        write_json(result, Path(opts.json_out))
    return result
