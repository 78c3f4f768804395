"""What each abstention signal contributes: the ablation table in docs/evaluation.md, measured.

Every variant answers, with the shipped settings and thresholds, the gold TEST split (unanswerable
questions declined, answerable ones wrongly declined), the held-out on-topic negatives (eval/negatives.jsonl,
test split: never fitted on), the SQuAD 2.0 check half (the questions scripts/fit_answering.py does not fit
on, declined below 0.55 as `qa bench squad --version 2.0` is run) and SQuAD v1.1 on the 16 held-out
articles. Variants: the shipped answer step, and the shipped step with one signal switched off at a time
(the grounding decline, the type check, the two grounding features of the calibration), then all three.
The signals are switched off here, by patching the answer step for the run; the package has no such
switches. Reader calls are cached across variants.

    .venv/bin/python scripts/ablation_abstention.py [--every 2] [--every2 1] [--markdown]
"""
from __future__ import annotations

import argparse
import contextlib
import time
from unittest import mock

from fit_answering import ROOT, CachingEmbedder, CachingReader, memoise_search, squad_items

import qa.answer.answerer
from qa.evaluation.bench.squad import SquadOptions, run_squad
from qa.evaluation.bench.squad_data import cache_root
from qa.evaluation.bench.squad_measures import squad_scores
from qa.neural.embedding import SentenceTransformerEmbedder
from qa.evaluation.gold import load_questions
from qa.answer.grounding import Grounding, salient_terms
from qa.pipeline import open_answerer
from qa.neural.reader import Reader
from qa.settings import Settings

SQUAD2_DECLINE_BELOW = 0.55  # the threshold docs/benchmarks.md runs the SQuAD 2.0 bench at


def no_grounding_decline(question, lex, aliases=None):
    return Grounding(salient_terms(question))


SIGNALS = {
    "grounding": lambda: mock.patch.object(qa.answer.answerer, "ground", no_grounding_decline),
    "types": lambda: mock.patch.object(qa.answer.answerer, "needed_type", lambda qa_: None),
    "features": lambda: mock.patch.object(qa.answer.answerer.Answerer, "unseen", lambda self, g, top: (0.0, 0.0)),
}
VARIANTS = [
    ("**shipped**", ()),
    ("without the grounding decline (\"never mention\")", ("grounding",)),
    ("without the type check", ("types",)),
    ("without the grounding features of the calibration", ("features",)),
    ("without all three", ("grounding", "types", "features")),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=2, help="SQuAD v1.1 held-out questions: every Nth")
    ap.add_argument("--every2", type=int, default=1, help="SQuAD 2.0 half: every Nth (of the check half)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    emb = CachingEmbedder(SentenceTransformerEmbedder())
    reader = CachingReader(Reader())
    gold_qs = load_questions([ROOT / "eval" / "questions.jsonl"], split="test")
    negatives = load_questions([ROOT / "eval" / "negatives.jsonl"], split="test")
    for v in ("1.1", "2.0"):
        run_squad(SquadOptions(v, None, "hybrid", embedder=emb, held_out=True, every=10_000, progress=False,
                               log=lambda s: None))
    shipped = Settings()
    gold = memoise_search(open_answerer(ROOT / "embeddings" / "index", shipped, embedder=emb, reader=reader))
    sq1 = memoise_search(open_answerer(cache_root() / "squad-1.1" / "index", shipped, embedder=emb, reader=reader,
                                       check_corpus=False))
    sq2 = memoise_search(open_answerer(cache_root() / "squad-2.0" / "index",
                                       shipped.replace(answer=shipped.answer.with_decline_below(SQUAD2_DECLINE_BELOW)),
                                       embedder=emb, reader=reader, check_corpus=False))
    s1 = squad_items("1.1", args.every, True)
    check2 = squad_items("2.0", 1, False)[1::2][::args.every2]  # the fitting script's check half

    def f1s(answerer, qs) -> list[float]:
        out = []
        for q in qs:
            a = answerer.ask(q.question)
            pred = a.answer if a.status != "declined" else None
            out.append(100 * squad_scores(pred, () if getattr(q, "impossible", False) else q.answers)[1])
        return out

    def mean(xs) -> str:
        return f"{sum(xs) / len(xs):.1f}"

    rows = []
    for name, off in VARIANTS:
        with contextlib.ExitStack() as stack:
            for s in off:
                stack.enter_context(SIGNALS[s]())
            g = [(q, gold.ask(q.question)) for q in gold_qs]
            unans = [a.status == "declined" for q, a in g if not q.answerable]
            wrong = [a.status == "declined" for q, a in g if q.answerable]
            neg = [gold.ask(q.question).status == "declined" for q in negatives]
            two = f1s(sq2, check2)
            has = [f for f, q in zip(two, check2) if not q.impossible]
            row = (name, f"{sum(unans)}/{len(unans)}", f"{100 * sum(wrong) / len(wrong):.1f}% ({sum(wrong)}/{len(wrong)})",
                   f"{100 * sum(neg) / len(neg):.0f}% ({sum(neg)}/{len(neg)})", mean(two), mean(has),
                   mean(f1s(sq1, s1)))
        rows.append(row)
        print(" | ".join(row), f"({time.time() - t0:.0f}s)", flush=True)
    head = ("variant", "gold test unanswerable declined", "gold test answerable wrongly declined",
            "held-out negatives declined", "SQuAD 2.0 check half F1", "its HasAns F1", "SQuAD v1.1 held-out F1")
    if args.markdown:
        print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    print(f"({len(gold_qs)} gold test questions, {len(negatives)} negatives, {len(check2)} SQuAD 2.0, "
          f"{len(s1)} SQuAD v1.1; {time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
