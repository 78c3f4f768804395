"""What each part of the answer step contributes: the ablation table in docs/evaluation.md, measured.

Every variant answers the gold set's answerable questions of one split (default: test), SQuAD v1.1
questions from the 16 articles the reader never saw (every Nth) and TAT-QA's span questions whose
answer is in the text (both halves, the HTML rendition, each asked of its own report), with nothing
declined, so the table measures the choice of answer and not abstention. Variants: the rule-based typed spans alone (no reader),
the shipped settings, and the shipped settings with one part switched off at a time. (Variants measured
once and not kept, such as clause- or sentence-long answers for descriptions, are in docs/experiments.md.)

    .venv/bin/python scripts/ablation.py [--split test] [--every 6] [--markdown]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from fit_answering import SHIPPED, TUNED, ROOT, CachingEmbedder, CachingReader, memoise_search, squad_items, top_answer

from qa.evaluation.bench.squad import SquadOptions, run_squad
from qa.evaluation.bench.tatqa import tatqa_set
from qa.evaluation.bench.tatqa_score import em_f1
from qa.evaluation.bench.squad_data import cache_root
from qa.evaluation.bench.squad_measures import squad_scores
from qa.neural.embedding import SentenceTransformerEmbedder
from qa.evaluation.gold import load_questions
from qa.evaluation.metrics import contains_any, exact_match, max_over
from qa.pipeline import open_answerer
from qa.answer.answerer import Answerer, clean_question
from qa.neural.reader import Reader
from qa.settings import SpanSettings


def variants(shipped: SpanSettings) -> list[tuple[str, bool, SpanSettings]]:
    """(name, uses the reader, settings): the shipped settings and each part removed in turn."""
    out = [("rule-based typed spans, no reader", False, shipped),
           ("**reader, shipped settings**", True, shipped)]
    off = {"w_corr": "without entity corroboration from unread documents",
           "w_agree": "without agreement between read windows",
           "corr_min_type": "corroboration by entity evidence of any kind (no `corr_min_type` filter)"}
    for field, name in (("options", "alternative questions not answered from their options"),
                        ("enumerations", "an enumeration's announcement (\"for two key reasons\") kept as the answer"),
                        ("list_runs", "list questions get the bare span, not the coordinated run"),
                        ("whole_names", "a span inside a hyphenated or longer name kept as the fragment"),
                        ("figures_first", "a counting question takes a vague quantity over the figure beside it")):
        if getattr(shipped, field):
            off[field] = name
    for field, name in off.items():
        if getattr(shipped, field):
            out.append((name, True, dataclasses.replace(shipped, **{field: False if isinstance(getattr(shipped, field), bool) else 0.0})))
    out.append(("evidence sentence relevance ignored (reader logit only)", True,
                dataclasses.replace(shipped, w_read=100.0)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test", choices=("dev", "test"))
    ap.add_argument("--every", type=int, default=6, help="SQuAD v1.1 held-out questions: every Nth")
    ap.add_argument("--every-tatqa", type=int, default=1, help="TAT-QA text span questions: every Nth")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    emb = CachingEmbedder(SentenceTransformerEmbedder())
    reader = CachingReader(Reader())
    gold_qs = [q for q in load_questions([ROOT / "eval" / "questions.jsonl"], split=args.split) if q.answerable]
    run_squad(SquadOptions("1.1", None, "hybrid", embedder=emb, held_out=True, every=10_000, progress=False,
                           log=lambda s: None))
    squad = squad_items("1.1", args.every, True)
    tat = tatqa_set("all", formats=("html",), embedder=emb, reader=reader, settings=SHIPPED)
    tat_qs = [q for q in tat.questions if q.labels["answer_type"] in ("span", "multi-span")
              and q.labels["answer_from"] in ("text", "table-text")][::args.every_tatqa]
    rows = []
    for name, use_reader, es in variants(TUNED.spans):
        g = open_answerer(ROOT / "embeddings" / "index", SHIPPED, embedder=emb,
                          reader=reader if use_reader else False).with_settings(spans=es)
        s = open_answerer(cache_root() / "squad-1.1" / "index", SHIPPED, embedder=emb,
                          reader=reader if use_reader else False, check_corpus=False).with_settings(spans=es)
        for a in (g, s):
            memoise_search(a)
        contains, em, words = [], [], []
        for q in gold_qs:
            r = top_answer(g, q.question)
            text = r[0] if r else ""
            contains.append(bool(r) and contains_any(text, q.answers))
            em.append(max_over(exact_match, text, q.answers) if r else 0.0)
            words.append(len(text.split()))
        f1 = [squad_scores((top_answer(s, q.question) or ("",))[0] or None, q.answers)[1] for q in squad]
        tf1 = [tatqa_f1(tat, q, es, use_reader) for q in tat_qs]
        rows.append((name, sum(contains) / len(contains), sum(em) / len(em), statistics.median(words),
                     100 * sum(f1) / len(f1), 100 * sum(tf1) / len(tf1)))
        print(f"{name}: contains {rows[-1][1]:.3f} EM {rows[-1][2]:.3f} words {rows[-1][3]} "
              f"SQuAD F1 {rows[-1][4]:.1f} TAT-QA text F1 {rows[-1][5]:.1f} ({time.time() - t0:.0f}s)", flush=True)
    if args.markdown:
        print(f"\n| variant | {args.split} contains | {args.split} EM | median words | SQuAD v1.1 held-out F1 "
              "| TAT-QA text F1 |")
        print("|---|---|---|---|---|---|")
        for name, c, e, w, f, tf in rows:
            print(f"| {name} | {c:.3f} | {e:.3f} | {w:g} | {f:.1f} | {tf:.1f} |")
    print(f"({len(gold_qs)} answerable {args.split} questions, {len(squad)} SQuAD questions, "
          f"{len(tat_qs)} TAT-QA questions, {time.time() - t0:.0f}s)")


def tatqa_f1(bench, q, spans, use_reader: bool) -> float:
    """TAT-QA F1 of the best group's span for one question, asked of its own report (never declined)."""
    a = bench.answerer(q)
    a = Answerer(a.retriever, a.reader if use_reader else None, spans, a.settings)
    question = clean_question(q.question)
    hits = a.retriever.search(question, k=8, docs=list(q.docs))
    c = a.choose(question, hits)
    text = c.groups[0].best.text if c.groups else None
    return em_f1(text, q.answers, q.labels["scale"], q.labels["answer_type"])[1]


if __name__ == "__main__":
    main()
