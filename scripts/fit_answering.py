"""Choose the reader's answer-step settings and fit the confidence calibration, on dev data only.

1. Span choice: a grid over the reader's span settings (qa.settings.SpanSettings), scored with nothing declined on the gold
   set's DEV split ("contains" and EM) and on SQuAD v1.1 questions from the held-out articles (F1).
2. Calibration: a logistic regression over `reader_confidence_features` of the chosen answer, labelled
   "right" (gold dev: contains a gold alias; SQuAD: F1 >= 0.5; unanswerable: never right), fitted on gold
   dev + the dev split of the on-topic negatives (eval/negatives.jsonl) + the SQuAD v1.1 slice + half of
   the SQuAD 2.0 half's questions. Answers `qa ask` declines before the calibration (a term the corpus
   never mentions, no answer of the needed type) are not fitted on.
3. Thresholds: a table of decline thresholds with the gold dev trade-off (unanswerable declined, answerable
   wrongly declined) and SQuAD 2.0 F1 on the OTHER half of the 2.0 questions.

With `--write` it writes the grid's best span settings into qa/models/answering.json (the file the
package loads its tuned values from), with the command and the data that produced them. Every other
value in that file is carried over: the shipped calibrations and thresholds are fitted on a wider mix
of documents by scripts/fit_calibration.py (run it after this one); steps 2 and 3 here only print how
the older, bundled-corpus-and-SQuAD calibration would look. The gold TEST split is never read.
Reader calls and question vectors are cached, so the grid is cheap. Needs scikit-learn.

    .venv/bin/python scripts/fit_answering.py [--every 6] [--quick] [--write]
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from qa.settings import set_offline_environment  # noqa: E402

set_offline_environment()

import numpy as np  # noqa: E402

from qa.answer.answerer import clean_question  # noqa: E402
from qa.evaluation.bench.squad import SquadOptions, run_squad  # noqa: E402
from qa.evaluation.bench.squad_data import cache_root, held_out_titles, load_squad  # noqa: E402
from qa.evaluation.bench.squad_measures import squad_scores  # noqa: E402
from qa.neural.embedding import SentenceTransformerEmbedder  # noqa: E402
from qa.evaluation.runner import evaluate  # noqa: E402
from qa.evaluation.gold import load_questions  # noqa: E402
from qa.evaluation.metrics import contains_any  # noqa: E402
from qa.pipeline import open_answerer  # noqa: E402
from qa.neural.reader import Reader  # noqa: E402
from qa.settings import READER_FEATURES, Settings, Tuned, load_tuned, write_tuned  # noqa: E402

TUNED = load_tuned()
_never = dict(decline_below=-1.0, answer_from=-1.0)
NEVER_DECLINE = dataclasses.replace(TUNED.answer, rules=dataclasses.replace(TUNED.answer.rules, **_never),
                                    reader=dataclasses.replace(TUNED.answer.reader, **_never))
SHIPPED = Settings(answer=NEVER_DECLINE)  # the shipped tuned values, nothing declined


class CachingReader:
    """The reader with a memo per (question, window text): a grid re-reads nothing."""

    def __init__(self, inner):
        self.inner = inner
        self.memo: dict = {}

    def read(self, question, windows, top=5):
        missing = list(dict.fromkeys(w for w in windows if (question, w) not in self.memo))
        if missing:
            got = self.inner.read(question, missing, top)
            for i, w in enumerate(missing):
                self.memo[(question, w)] = [g for g in got if g.window == i]
        return [dataclasses.replace(g, window=i) for i, w in enumerate(windows) for g in self.memo[(question, w)]]


class CachingEmbedder:
    def __init__(self, inner):
        self.inner, self.name, self.dim, self.memo = inner, inner.name, inner.dim, {}

    def encode(self, texts, show_progress=False):
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            for t, v in zip(missing, self.inner.encode(missing)):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


def memoise_search(answerer):
    """Retrieval does not depend on the settings searched here: run it once per question."""
    inner, memo = answerer.retriever.search, {}

    def search(q, k=8, docs=None, **kw):
        key = (q, k, tuple(docs or ()))
        if key not in memo:
            memo[key] = inner(q, k=k, docs=docs, **kw)
        return memo[key]

    answerer.retriever.search = search
    return answerer


def top_answer(answerer, question):
    """(answer text, confidence features) of the best group as `qa ask` chooses it, or None when it
    declines before the calibration (nothing found, a term the corpus never mentions, no typed answer)."""
    q = clean_question(question)
    hits = answerer.retriever.search(q, k=8)
    c = answerer.choose(q, hits)
    if not c.groups:
        return None
    return c.groups[0].best.text, answerer.judge(c)[2]


def squad_items(version, every, held_only):
    data = load_squad(version)
    keep = held_out_titles() if held_only else None
    qs = [q for q in data.questions if keep is None or data.titles[q.article] in keep][::every]
    return qs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=6, help="SQuAD v1.1 held-out questions: every Nth")
    ap.add_argument("--every2", type=int, default=1, help="SQuAD 2.0 half questions: every Nth")
    ap.add_argument("--quick", action="store_true", help="a small grid")
    ap.add_argument("--limit", type=int, default=0, help="at most N questions per set (to try the script)")
    ap.add_argument("--grid", default="", help='the grid as JSON, e.g. \'{"w_read": [1, 2], "w_corr": [0, 0.5]}\'')
    ap.add_argument("--reader", type=Path, default=None, help="reader weights folder (default: qa/models)")
    ap.add_argument("--write", action="store_true", help="write the span settings into qa/models/answering.json")
    args = ap.parse_args()
    t0 = time.time()
    emb = CachingEmbedder(SentenceTransformerEmbedder())
    reader = CachingReader(Reader(args.reader) if args.reader else Reader())
    dev = load_questions([ROOT / "eval" / "questions.jsonl"], split="dev")
    # on-topic unanswerable questions made by scripts/make_negatives.py: the dev ones only (test ones are held out)
    neg_file = ROOT / "eval" / "negatives.jsonl"
    negatives = load_questions([neg_file], split="dev") if neg_file.is_file() else []
    gold = open_answerer(ROOT / "embeddings" / "index", SHIPPED, embedder=emb, reader=reader)
    # build (or reuse) the SQuAD indexes through the benchmark itself, then answer on them directly
    for v in ("1.1", "2.0"):
        run_squad(SquadOptions(v, None, "hybrid", embedder=emb, held_out=True, every=10_000, progress=False,
                               log=lambda s: None))
    sq1 = open_answerer(cache_root() / "squad-1.1" / "index", SHIPPED, embedder=emb, reader=reader, check_corpus=False)
    sq2 = open_answerer(cache_root() / "squad-2.0" / "index", SHIPPED, embedder=emb, reader=reader, check_corpus=False)
    for a in (gold, sq1, sq2):
        memoise_search(a)
    s1 = squad_items("1.1", args.every, True)
    s2 = squad_items("2.0", args.every2, False)
    if args.limit:
        dev, s1, s2 = dev[:args.limit], s1[:args.limit], s2[:2 * args.limit]
    fit2, test2 = s2[0::2], s2[1::2]
    print(f"gold dev {len(dev)}, SQuAD v1.1 held-out {len(s1)}, SQuAD 2.0 fit {len(fit2)} / check {len(test2)}",
          flush=True)

    def score_config(es):
        g, s = gold.with_settings(spans=es), sq1.with_settings(spans=es)
        m = evaluate(dev, g, progress=False)["metrics"]
        f1 = []
        for q in s1:
            r = top_answer(s, q.question)
            f1.append(squad_scores(r[0] if r else None, q.answers)[1])
        return m["contains_accuracy"], m["EM"], m["answer_words_median"], 100 * float(np.mean(f1))

    grid = {
        "reader_windows": [4] if args.quick else [3, 4, 6],
        "w_read": [0.5, 1.0, 2.0] if args.quick else [0.5, 1.0, 2.0, 4.0],
    }
    if args.grid:
        grid = {k: v if isinstance(v, list) else [v] for k, v in json.loads(args.grid).items()}
    rows = []
    for vals in itertools.product(*grid.values()):
        es = dataclasses.replace(TUNED.spans, **dict(zip(grid, vals)))
        c, em, words, f1 = score_config(es)
        rows.append((c + f1 / 100, c, em, words, f1, dict(zip(grid, vals))))
        print(f"{dict(zip(grid, vals))}: dev contains {c:.3f} EM {em:.3f} words {words}  SQuAD F1 {f1:.1f}"
              f"  ({time.time() - t0:.0f}s)", flush=True)
    rows.sort(key=lambda r: -r[0])
    best = rows[0][5]
    print("\nbest (dev contains + SQuAD F1/100):", json.dumps(best))
    es = dataclasses.replace(TUNED.spans, **best)
    gold, sq1, sq2 = (a.with_settings(spans=es) for a in (gold, sq1, sq2))

    # ---- calibration
    X, y, src = [], [], []
    for q in dev:
        r = top_answer(gold, q.question)
        if r:
            X.append(r[1]); y.append(int(q.answerable and contains_any(r[0], q.answers))); src.append("dev")
    for q in s1:
        r = top_answer(sq1, q.question)
        if r:
            X.append(r[1]); y.append(int(squad_scores(r[0], q.answers)[1] >= 0.5)); src.append("squad1")
    for q in negatives:
        r = top_answer(gold, q.question)
        if r:
            X.append(r[1]); y.append(0); src.append("negatives")
    for q in fit2:
        r = top_answer(sq2, q.question)
        if r:
            X.append(r[1]); y.append(int(not q.impossible and squad_scores(r[0], q.answers)[1] >= 0.5)); src.append("squad2")
    from sklearn.linear_model import LogisticRegression
    X, y = np.array(X), np.array(y)
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(X, y)
    w, b = [round(float(v), 2) for v in lr.coef_[0]], round(float(lr.intercept_[0]), 2)
    print(f"calibration on {len(y)} answers ({np.mean(y):.2f} right): weights {tuple(w)} bias {b}")

    def conf(f):
        return 1 / (1 + math.exp(-(b + sum(wi * fi for wi, fi in zip(w, f)))))

    dev_rows = []
    for q in dev:
        r = top_answer(gold, q.question)
        dev_rows.append((q, conf(r[1]) if r else 0.0))
    neg_rows = []
    for q in negatives:
        r = top_answer(gold, q.question)
        neg_rows.append(conf(r[1]) if r else 0.0)
    chk = []
    for q in test2:
        r = top_answer(sq2, q.question)
        chk.append((q, r[0] if r else None, conf(r[1]) if r else 0.0))
    print(f"\n{'threshold':>9} {'dev unans declined':>19} {'dev ans wrongly declined':>25} {'SQuAD2.0 F1 (check half)':>25}"
          f" {'dev negatives declined':>23}")
    for t in np.arange(0.05, 0.8, 0.05):
        ua = [c < t for q, c in dev_rows if not q.answerable]
        aa = [c < t for q, c in dev_rows if q.answerable]
        f1 = [(100.0 if q.impossible else 0.0) if c < t else squad_scores(p, q.answers if not q.impossible else ())[1] * 100
              for q, p, c in chk]
        neg = f"{np.mean([c < t for c in neg_rows]):>23.2f}" if neg_rows else f"{'–':>23}"
        print(f"{t:>9.2f} {np.mean(ua):>19.2f} {np.mean(aa):>25.2f} {np.mean(f1):>25.1f} {neg}")
    print(f"\nspans: {json.dumps(best)}\nanswer.reader: weights {dict(zip(READER_FEATURES, w))}, bias {b}")
    if args.write:
        produced = {
            "command": "scripts/fit_answering.py " + " ".join(sys.argv[1:]),
            "date": datetime.date.today().isoformat(),
            "data": [f"gold questions eval/questions.jsonl, dev split only ({len(dev)} questions; the test split is never read)",
                     f"SQuAD v1.1 dev, questions on the 16 articles the span reader never trained on, every {args.every}th ({len(s1)})"],
            "fitted": [f"spans.{k} (grid {grid[k]}, nothing declined: dev contains + SQuAD v1.1 F1/100)" for k in grid],
            "carried": "every other value is carried over unchanged from the previous file; the calibrations are "
                       "scripts/fit_calibration.py's (the one printed above is for comparison only)",
        }
        if "calibration" in TUNED.produced_by:
            produced["calibration"] = TUNED.produced_by["calibration"]
        out = Tuned(produced, TUNED.retrieval, es, TUNED.answer)
        write_tuned(out)
        print("wrote qa/models/answering.json")
    print(f"({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
