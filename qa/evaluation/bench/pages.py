"""`qa bench pages`: 180 questions on ordinary web pages, the 121 pages of eval/benchmarks/article-extraction as one folder.

The pages (gzip-compressed HTML as they were served, MIT) are written uncompressed into a corpus folder
under the bench cache (`Settings.bench_cache`, env QA_BENCH_CACHE, default eval/benchmarks/cache/:
`pages/`) and indexed there; a second run reuses both. `--limit N` asks the first N questions of the
half and makes a corpus of their pages only (a folder of its own), for quick runs.

The questions (`questions.jsonl`, sha256-checked at load: two answerable and one unanswerable per page
for 60 of the pages) are asked of the whole folder, unrestricted, through qa.evaluation.runner.evaluate,
the very path and scoring of `qa eval`: contains, exact match and F1 (SQuAD normalisation, best over the
accepted answers) on the answerable questions, answerable ones wrongly declined, unanswerable ones
declined, retrieval (a passage of the question's page holding an accepted answer). On top: the share of
each status and how often it was right (an answer containing an accepted answer; a decline of an
unanswerable question) and the ECE of the answers given (qa.evaluation.bench.fitset.outcomes).

Halves are by page: qa.evaluation.bench.fitset.split_halves over the 60 pages' keys. `pages_set` is the
same questions for a fitting script.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from ...errors import QAError
from ...index.build import build_index
from ...neural import embedding
from ...neural.reader import make_reader
from ...pipeline import open_answerer
from ...settings import DEFAULT_K, Settings
from ..gold import GoldQuestion
from ..metrics import contains_any
from ..results import write_json
from .fitset import BenchQuestion, BenchSet, check_split, fmt_share, outcomes, split_halves
from .squad_data import BENCH_DIR, cache_root

PAGES_DIR = BENCH_DIR / "article-extraction"
QUESTIONS = ("questions.jsonl", "94679707268cf62045cf0b6aee447551a05b0ba78bc828d53c53835c3a24c109")
SPLIT_SALT = "pages"


def _to_stderr(s: str) -> None:
    print(s, file=sys.stderr)


def _quiet(s: str) -> None:
    return None


def page_doc_id(key: str) -> str:
    return f"page-{key[:12]}"


def page_keys(pages_dir: Path = PAGES_DIR) -> list[str]:
    """The keys of the pages in the folder (`html/<key>.html.gz`), sorted."""
    return sorted(p.name[:-len(".html.gz")] for p in (Path(pages_dir) / "html").glob("*.html.gz"))


def load_page_questions(pages_dir: Path = PAGES_DIR) -> list[dict[str, Any]]:
    """The questions of questions.jsonl, checked against the sha256 it was copied with, in file order."""
    name, want = QUESTIONS
    path = Path(pages_dir) / name
    if not path.is_file():
        raise QAError(f"web-page questions not found at {path}", fix="restore it from git (eval/benchmarks/)")
    raw = path.read_bytes()
    got = hashlib.sha256(raw).hexdigest()
    if got != want:
        raise QAError(f"{path} has sha256 {got[:12]}…, expected {want[:12]}… (the file is corrupt or replaced)",
                      fix="restore it from git (eval/benchmarks/article-extraction/)")
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


def halves(questions: list[dict[str, Any]]) -> dict[str, str]:
    """Each asked-about page's half, "fit" or "check" (split_halves over their keys)."""
    return split_halves((q["page"] for q in questions), SPLIT_SALT)


def write_pages_corpus(keys: list[str], folder: Path, pages_dir: Path = PAGES_DIR) -> dict[str, str]:
    """Each page uncompressed as `<key>.html` (written only when its bytes change; other files removed)
    with a metadata.json naming its doc_id; return key -> doc_id. Titles are the pages' own."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted, meta = set(), {}
    for key in keys:
        name = f"{key}.html"
        data = gzip.decompress((Path(pages_dir) / "html" / f"{key}.html.gz").read_bytes())
        p = folder / name
        if not p.is_file() or p.read_bytes() != data:
            p.write_bytes(data)
        wanted.add(name)
        meta[name] = {"doc_id": page_doc_id(key)}
    for stale in folder.iterdir():
        if stale.is_file() and stale.name != "metadata.json" and stale.name not in wanted:
            stale.unlink()
    text = json.dumps({"documents": meta}, indent=1, sort_keys=True)
    mp = folder / "metadata.json"
    if not mp.is_file() or mp.read_text(encoding="utf-8") != text:
        mp.write_text(text, encoding="utf-8")
    return {k: page_doc_id(k) for k in keys}


def right_answer(q: BenchQuestion, answer: Optional[str]) -> bool:
    """`qa eval`'s rule: an answerable question's answer contains an accepted answer."""
    return q.answerable and contains_any(answer, q.answers)


def pages_set(split: str = "fit", *, every: int = 1, limit: Optional[int] = None, settings: Optional[Settings] = None,
              embedder=None, reader=None, cache_dir: Optional[Path] = None, progress: bool = False,
              log: Callable[[str], None] = _quiet) -> BenchSet:
    """The web-page questions of a half ("fit", "check", "all"), each asked of the whole folder
    (docs None), and the answerer over the 121 pages' index (index key "pages"), built or reused under
    the bench cache. `embedder` and `reader` as in qa.evaluation.bench.tatqa.tatqa_set."""
    check_split(split)
    if every < 1:
        raise QAError(f"--every must be at least 1, not {every}")
    if limit is not None and limit < 1:
        raise QAError(f"--limit must be at least 1, not {limit}")
    settings = settings or Settings()
    all_q = load_page_questions()
    half = halves(all_q)
    qs = [q for q in all_q if split == "all" or half[q["page"]] == split][::every]
    qs = qs[:limit] if limit else qs
    keys = page_keys()
    if limit:
        keep = {q["page"] for q in qs}
        keys = [k for k in keys if k in keep]
    root = Path(cache_dir) if cache_dir else cache_root(settings)
    work = root / ("pages" if not limit else
                   f"pages-{len(keys)}pages-{hashlib.sha256(''.join(keys).encode()).hexdigest()[:8]}")
    ids = write_pages_corpus(keys, work / "corpus")
    embedder = embedder or embedding.make_embedder(settings)
    if reader is None:
        reader = make_reader(settings, embedder) or False
    report = build_index(work / "corpus", work / "index", embedder, progress=progress, log=log)
    log(report.summary())
    bench = BenchSet("pages", split, [], {"pages": open_answerer(work / "index", settings, embedder=embedder,
                                                                  reader=reader)}, right_answer, {"pages": report})
    for q in qs:
        bench.questions.append(BenchQuestion(
            str(q["id"]), q["question"], None, tuple(q["answers"]), bool(q["answerable"]),
            {"type": str(q.get("type") or ""), "page": q["page"], "doc": ids[q["page"]], "split": half[q["page"]]},
            "pages"))
    bench.notes.append(f"{len(qs)} questions on {len({q['page'] for q in qs})} pages; corpus {len(keys)} pages")
    return bench


@dataclass(frozen=True)
class PagesOptions:
    """`qa bench pages`'s options, and what scripts and tests hand in besides."""

    split: str = "check"
    every: int = 1
    limit: Optional[int] = None
    json_out: Optional[Path] = None
    progress: bool = True
    cache_dir: Optional[Path] = None
    embedder: Any = None
    settings: Optional[Settings] = None
    log: Callable[[str], None] = _to_stderr


def run_pages(options: Optional[PagesOptions] = None) -> dict[str, Any]:
    """Run the benchmark; return its result (what --json writes): `qa eval`'s metrics and results for
    the half's questions, plus status shares, their precision and the ECE."""
    from ..runner import evaluate

    opts = options or PagesOptions()
    settings = opts.settings or Settings()
    t0 = time.perf_counter()
    bench = pages_set(opts.split, every=opts.every, limit=opts.limit, settings=settings, embedder=opts.embedder,
                      cache_dir=opts.cache_dir, progress=opts.progress, log=opts.log)
    opts.log("pages: " + "; ".join(bench.notes))
    t_index = time.perf_counter() - t0
    gold = [GoldQuestion(q.id, q.question, list(q.answers), q.answerable, [q.labels["doc"]], q.labels["type"] or
                         "description", q.labels["split"]) for q in bench.questions]
    t1 = time.perf_counter()
    ev = evaluate(gold, bench.answerers["pages"], k=DEFAULT_K, progress=opts.progress)
    t_ask = time.perf_counter() - t1
    by_id = {q.id: q for q in bench.questions}
    for r in ev["results"]:
        p = r["prediction"]
        declined = p["status"] == "declined"
        r["page"] = by_id[r["id"]].labels["page"]
        r["right"] = (not r["answerable"]) if declined else right_answer(by_id[r["id"]], p.get("answer"))
    out = outcomes([{"status": r["prediction"]["status"], "confidence": r["prediction"]["confidence"],
                     "right": r["right"]} for r in ev["results"]])
    report = bench.builds["pages"]
    index = bench.answerers["pages"].index
    result = {
        "benchmark": "pages", "split": opts.split, "every": opts.every, "limit": opts.limit,
        "note": "; ".join(bench.notes),
        "index": {"documents": len(index.documents), "passages": len(index.passages), "reused": report.noop,
                  "seconds": round(report.seconds, 1)},
        "meta": ev["meta"], "metrics": ev["metrics"], "outcomes": out,
        "timing": {"total_s": round(time.perf_counter() - t0, 1), "index_s": round(t_index, 1),
                   "questions_s": round(t_ask, 1), "latency_p50_ms": ev["metrics"]["latency_p50_ms"],
                   "latency_p95_ms": ev["metrics"]["latency_p95_ms"]},
        "results": ev["results"],
    }
    if opts.json_out:
        write_json(result, Path(opts.json_out))
    return result


def summary_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of the figures, as the table and docs show them."""
    m, o = r["metrics"], r["outcomes"]
    n_ans, n_un = m["n_answerable"], m["n_unanswerable"]
    wrong = round((m["wrong_decline_rate"] or 0) * n_ans)
    un_declined = round((m["abstention_recall"] or 0) * n_un)
    return [
        ("questions (answerable / unanswerable)", f"{m['n_questions']} ({n_ans} / {n_un})"),
        ("retrieval R@1 / R@3 / MRR@10 (answerable)",
         f"{fmt_share(m['R@1'])} / {fmt_share(m['R@3'])} / {fmt_share(m['MRR@10'])}"),
        ("answer contains an accepted answer", fmt_share(m["contains_accuracy"])),
        ("exact match / token F1", f"{fmt_share(m['EM'])} / {fmt_share(m['F1'])}"),
        ("answerable wrongly declined", f"{wrong} of {n_ans} ({fmt_share(m['wrong_decline_rate'])})"),
        ("unanswerable declined", f"{un_declined} of {n_un} ({fmt_share(m['abstention_recall'])})"),
        ("citation precision", fmt_share(m["citation_precision"])),
        ("answered: share / right", f"{fmt_share(o['answered_share'])} / {fmt_share(o['answered_right'])}"),
        ("uncertain: share / right", f"{fmt_share(o['uncertain_share'])} / {fmt_share(o['uncertain_right'])}"),
        ("declined: share / right", f"{fmt_share(o['declined_share'])} / {fmt_share(o['declined_right'])}"),
        (f"ECE of the answers given ({o['ece_n']})", fmt_share(o["ece"])),
    ]


def format_pages(r: dict[str, Any]) -> str:
    ix = r["index"]
    lines = [f"Web pages, {r['split']} half: {r['note']}",
             f"index: {ix['documents']} documents, {ix['passages']} passages"
             + (" (reused)" if ix["reused"] else f" (built in {ix['seconds']:.0f}s)"), ""]
    rows = summary_rows(r)
    w = max(len(a) for a, _ in rows)
    lines += [f"{a:<{w}}  {b}" for a, b in rows]
    lines.append("contains, EM, F1 and citation precision over the answerable questions (SQuAD normalisation, "
                 "best over the accepted answers); right: an answer containing an accepted answer, or a decline "
                 "of an unanswerable question; ECE in 10 bins.")
    t = r["timing"]
    lines.append(f"time: {t['total_s']:.0f}s total, index {t['index_s']:.0f}s, questions {t['questions_s']:.0f}s "
                 f"(p50 {t['latency_p50_ms'] or 0:.0f} ms, p95 {t['latency_p95_ms'] or 0:.0f} ms)")
    return "\n".join(lines)
