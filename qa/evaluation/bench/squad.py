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

`run_squad` runs these steps in order: `prepare_corpus` (the data, the questions chosen, the corpus
folder), `open_index` (build or reuse the cached index), `gold_passages`, `embed_questions`, then
`answer_all`, which asks each question once and feeds the answer to `AnswerMeasures` and its hits to
`RetrievalMeasures`, and last `result_record`.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
from tqdm import tqdm

from ...answer.answerer import Answerer, clean_question
from ...errors import QAError
from ...index.build import BuildReport, build_index
from ...neural import embedding
from ...pipeline import open_answerer
from ...settings import DEFAULT_K, PROJECT_ROOT, Settings
from ..metrics import percentile
from ..results import write_json
from .squad_data import SquadData, SquadQuestion, cache_root, held_out_titles, load_squad, write_corpus
from .squad_measures import ALL_MODES, RETRIEVE_K, AnswerMeasures, RetrievalMeasures


def _to_stderr(s: str) -> None:
    print(s, file=sys.stderr)


@dataclass(frozen=True)
class SquadOptions:
    """What one `run_squad` asks and where it works: `qa bench squad`'s options, and what scripts and
    tests hand in besides (a model of their own, a cache folder, a quiet log).

    `held_out` and `every` choose which questions are asked, never which paragraphs are searched: the
    corpus is every article unless `limit` cuts the questions to the first few articles."""

    version: str = "1.1"
    limit: Optional[int] = None
    mode: str = "hybrid"  # one of ALL_MODES, or "all"
    held_out: bool = False
    every: int = 1
    json_out: Optional[Path] = None
    progress: bool = True
    cache_dir: Optional[Path] = None  # default: cache_root(settings)
    embedder: Any = None  # default: the model the settings name
    settings: Optional[Settings] = None
    log: Callable[[str], None] = _to_stderr

    def check(self) -> None:
        """QAError (exit 2) for options no run can take, before any work."""
        if self.limit is not None and self.limit < 1:
            raise QAError(f"--limit must be at least 1, not {self.limit}")
        if self.every < 1:
            raise QAError(f"--every must be at least 1, not {self.every}")
        if self.mode not in (*ALL_MODES, "all"):
            raise QAError(f"unknown mode {self.mode!r}", fix=f"use one of {', '.join(ALL_MODES)} or all")


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
        missing = [t for t in texts if t not in self.vectors]
        if missing:
            self.misses += len(missing)
            for t, v in zip(missing, self.inner.encode(missing)):
                self.vectors[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


# --------------------------------------------------------------------------- scoring

def gold_rows_for(by_doc: dict[str, list], doc_id: str, span: tuple[int, int]) -> tuple[set[int], list[str]]:
    """Evidence rows overlapping a paragraph span of a document (`by_doc`: each document's passages), and
    (when none) why: the boilerplate labels of the passages there, or 'heading' when the paragraph
    produced no passage at all."""
    s, e = span
    rows, reasons = set(), []
    for p in by_doc.get(doc_id, []):
        if p.start < e and p.end > s:
            if p.row is not None:
                rows.add(p.row)
            else:
                reasons.append(p.boilerplate or "unknown")
    if not rows and not reasons:
        reasons = ["heading"]
    return rows, (reasons if not rows else [])


# --------------------------------------------------------------------------- the steps of a run

@dataclass
class Sample:
    """The questions asked and the articles searched, written as a corpus folder under `work`."""
    data: SquadData
    questions: list[SquadQuestion]
    articles: list[int]
    restricted: bool
    paragraphs: int
    note: str
    work: Path
    docs: dict[int, tuple[str, list[tuple[int, int]]]]  # article -> (doc_id, paragraph spans)


def prepare_corpus(opts: SquadOptions, settings: Settings) -> Sample:
    """Load the data, choose the questions, and write the articles they need as a corpus folder."""
    data = load_squad(opts.version)
    questions = list(data.questions)
    selection = []
    if opts.held_out:
        keep = held_out_titles()
        questions = [q for q in questions if data.titles[q.article] in keep]
        selection.append(f"held-out articles only ({len({q.article for q in questions})})")
    if opts.every > 1:
        questions = questions[::opts.every]
        selection.append(f"every {opts.every}th question")
    questions = questions[:opts.limit] if opts.limit else questions
    articles = sorted({q.article for q in questions}) if opts.limit else list(range(len(data.titles)))
    restricted = len(articles) < len(data.titles)
    root = Path(opts.cache_dir) if opts.cache_dir else cache_root(settings)
    work = root / (f"squad-{opts.version}" + (f"-first{len(articles)}articles" if restricted else ""))
    docs = write_corpus(data, articles, work / "corpus")
    n_pars = sum(len(data.paragraphs[a]) for a in articles)
    note = (f"corpus restricted to the {len(articles)} article(s) the first {len(questions)} questions come from "
            f"({n_pars} of {sum(len(p) for p in data.paragraphs)} paragraphs)") if restricted else \
        f"full corpus: {len(articles)} articles, {n_pars} paragraphs"
    if selection:
        note += "; questions: " + ", ".join(selection)
    return Sample(data, questions, articles, restricted, n_pars, note, work, docs)


@dataclass
class Opened:
    """The index of a sample's corpus, and the answerer over it whose embedder holds the question vectors."""
    report: BuildReport
    embedder: PrecomputedEmbedder
    answerer: Answerer


def open_index(sample: Sample, opts: SquadOptions, settings: Settings) -> Opened:
    """Build the sample's index, or reuse the cached one when its corpus has not changed."""
    # looked up on the module when called, so a test can hand every run its session's model
    inner = opts.embedder or embedding.make_embedder(settings)
    report = build_index(sample.work / "corpus", sample.work / "index", inner, progress=opts.progress, log=opts.log)
    opts.log(report.summary())
    pre = PrecomputedEmbedder(inner)
    return Opened(report, pre, open_answerer(sample.work / "index", settings, embedder=pre))


@dataclass
class Gold:
    """Gold passages per (article, paragraph) asked about, and the paragraphs with no evidence passage."""
    rows: dict[tuple[int, int], set[int]]
    no_evidence: dict[tuple[int, int], list[str]]  # why: boilerplate labels, or "heading"

    def summary(self, questions: Sequence[SquadQuestion]) -> dict[str, Any]:
        """The result's `gold_without_evidence`: how many paragraphs and answerable questions, and why."""
        reasons: dict[str, int] = {}
        for rs in self.no_evidence.values():
            for r in sorted(set(rs)):
                reasons[r] = reasons.get(r, 0) + 1
        missing = sum(1 for q in questions if (q.article, q.paragraph) in self.no_evidence and not q.impossible)
        return {"paragraphs": len(self.no_evidence), "paragraphs_with_questions": len(self.rows),
                "answerable_questions": missing, "reasons": reasons}


def gold_passages(sample: Sample, index) -> Gold:
    """The gold passages of every paragraph the sample's questions were written on."""
    gold = Gold({}, {})
    by_doc: dict[str, list] = {}  # grouped once, not once per paragraph
    for p in index.passages:
        by_doc.setdefault(p.doc_id, []).append(p)
    for q in sample.questions:
        key = (q.article, q.paragraph)
        if key not in gold.rows:
            doc_id, spans = sample.docs[q.article]
            rows, reasons = gold_rows_for(by_doc, doc_id, spans[q.paragraph])
            gold.rows[key] = rows
            if not rows:
                gold.no_evidence[key] = reasons
    return gold


def embed_questions(questions: Sequence[SquadQuestion], pre: PrecomputedEmbedder,
                    progress: bool) -> tuple[list[Optional[str]], float]:
    """Each question as the pipeline reads it (None when it refuses it), every vector computed up front
    in batches; and the seconds that took."""
    cleaned: list[Optional[str]] = []
    for q in questions:
        try:
            cleaned.append(clean_question(q.question))
        except QAError:
            cleaned.append(None)
    t = time.perf_counter()
    pre.add([c for c in cleaned if c], progress=progress)
    return cleaned, time.perf_counter() - t


@dataclass
class Asked:
    """One question's answer as the benchmark scores it: its prediction (None when declined) and hits."""
    status: str = "declined"
    confidence: float = 0.0
    prediction: Optional[str] = None
    decline_reason: Optional[str] = None
    hits: list = field(default_factory=list)
    refused: bool = False  # the pipeline refused the question (QAError): scored as declined
    latency_ms: float = 0.0

    def record(self, qid: str, gold_rank: Optional[int]) -> dict[str, Any]:
        return {"id": qid, "prediction": self.prediction, "status": self.status,
                "confidence": round(float(self.confidence), 4), "decline_reason": self.decline_reason,
                "gold_rank": gold_rank}


def ask(answerer: Answerer, question: Optional[str]) -> Asked:
    """Ask one cleaned question (None: refused before asking) the way `qa ask` does, timed."""
    t = time.perf_counter()
    asked = Asked(refused=question is None)
    if question is not None:
        try:
            answer, hits = answerer.ask_with_hits(question, k=DEFAULT_K, retrieve_k=RETRIEVE_K)
            asked = Asked(answer.status, answer.confidence,
                          answer.answer if answer.status != "declined" else None, answer.decline_reason, hits)
        except QAError:
            asked.refused = True
    asked.latency_ms = (time.perf_counter() - t) * 1000.0
    return asked


@dataclass
class Answered:
    """What asking every question produced: the measures, each prediction, and the time it took."""
    answers: AnswerMeasures
    retrieval: RetrievalMeasures
    predictions: list[dict[str, Any]]
    latencies: list[float]  # ms per question, the answer step only
    seconds: float  # the whole loop, the other retrievers' searches included


def answer_all(opts: SquadOptions, sample: Sample, opened: Opened, gold: Gold,
               cleaned: Sequence[Optional[str]]) -> Answered:
    """Ask every question once; its answer feeds the answer measures and its hits the retrieval measures."""
    retrieval = RetrievalMeasures(opts.mode, opened.answerer.retriever, opened.embedder.vectors)
    done = Answered(AnswerMeasures(opts.version), retrieval, [], [], 0.0)
    t = time.perf_counter()
    for q, cq in tqdm(list(zip(sample.questions, cleaned)), desc=f"squad {opts.version}", unit="q",
                      disable=not opts.progress, file=sys.stderr, leave=False):
        asked = ask(opened.answerer, cq)
        done.latencies.append(asked.latency_ms)
        done.answers.add(q, asked.prediction, asked.status, asked.refused)
        rank = done.retrieval.add(q, cq, asked.hits, gold.rows[(q.article, q.paragraph)])
        done.predictions.append(asked.record(q.id, rank))
    done.seconds = time.perf_counter() - t
    return done


def result_record(sample: Sample, opts: SquadOptions, opened: Opened, gold: Gold, done: Answered,
                  timing: dict[str, Any]) -> dict[str, Any]:
    """The result dict (what --json writes)."""
    data, index, report = sample.data, opened.answerer.index, opened.report
    return {
        "benchmark": "squad",
        "version": opts.version,
        "data": {"file": str(data.path.relative_to(PROJECT_ROOT)) if data.path.is_relative_to(PROJECT_ROOT) else str(data.path),
                 "sha256": data.sha256, "licence": "CC BY-SA 4.0",
                 "attribution": "SQuAD, Rajpurkar et al. 2016 (v1.1) and 2018 (v2.0)"},
        "limit": opts.limit,
        "corpus": {
            "restricted": sample.restricted, "note": sample.note, "articles": len(sample.articles),
            "articles_total": len(data.titles), "paragraphs": sample.paragraphs,
            "folder": str(sample.work / "corpus"), "index": str(sample.work / "index"),
            "documents": len(index.documents), "passages": len(index.passages),
            "evidence_passages": len(index.evidence), "sentences": len(index.sentences),
            "index_reused": report.noop, "index_seconds": round(report.seconds, 2),
        },
        "questions": done.answers.n,
        "answerable": done.answers.halves["HasAns"][2],
        "unanswerable": done.answers.halves["NoAns"][2],
        "gold_without_evidence": gold.summary(sample.questions),
        "retrieval_note": "gold = evidence passages overlapping the question's paragraph; answerable questions only; "
                          "questions whose paragraph has no evidence passage count as misses",
        "default_mode": done.retrieval.default,
        "retrieval": done.retrieval.result(),
        "answers": done.answers.result(),
        "answers_note": "official SQuAD EM/F1 in percent of answer.answer from the default retriever; declined = empty",
        "timing": timing,
        "predictions": done.predictions,
    }


def run_squad(options: Optional[SquadOptions] = None) -> dict[str, Any]:
    """Run the benchmark (see the steps at the top of this module) and return its result dict (what
    --json writes)."""
    opts = options or SquadOptions()
    settings = opts.settings or Settings()
    opts.check()
    t_start = time.perf_counter()
    sample = prepare_corpus(opts, settings)
    opts.log(f"SQuAD {opts.version}: {len(sample.questions)} questions; {sample.note}")
    opened = open_index(sample, opts, settings)
    gold = gold_passages(sample, opened.answerer.index)
    cleaned, embed_s = embed_questions(sample.questions, opened.embedder, opts.progress)
    done = answer_all(opts, sample, opened, gold, cleaned)
    timing = {
        "total_s": round(time.perf_counter() - t_start, 1), "question_embedding_s": round(embed_s, 1),
        "questions_s": round(done.seconds, 1), "latency_p50_ms": round(percentile(done.latencies, 50) or 0.0, 1),
        "latency_p95_ms": round(percentile(done.latencies, 95) or 0.0, 1),
        "model_calls_in_loop": opened.embedder.misses,
    }
    result = result_record(sample, opts, opened, gold, done, timing)
    if opts.json_out:
        write_json(result, Path(opts.json_out))
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
