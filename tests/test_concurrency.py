"""Concurrency: many threads sharing one Answerer (and so one model, one tokenizer, one FAISS index) get
exactly the answers a single thread gets, and no thread fails.

The real-model test uses the session's real index (tests/conftest.py); a fake-embedder variant runs the
same check on the rest of the pipeline (BM25, extraction, FAISS) in a second.
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from support import PROJECT_ROOT, QUESTIONS, build_fake, fake_answerer, write_corpus

THREADS = 50


def _gold_questions(n: int) -> list[str]:
    path = PROJECT_ROOT / "eval" / "questions.jsonl"
    qs = [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return qs[:n]


def _key(a) -> dict:
    """What must not change between runs: status, answer, citations; confidence to 3 decimals (a float
    summed in another order on another thread may differ in its last bits)."""
    d = a.to_dict()
    return {
        "status": d["status"], "answer": d["answer"], "confidence": round(d["confidence"], 3),
        "citations": [(c["doc_id"], c["start"], c["end"], c["quote"]) for c in d["citations"]],
        "closest": [(c["doc_id"], c["start"], c["end"]) for c in d["closest"]],
        "conflicts": d["conflicts"], "agreeing": d["agreeing"], "considered": d["considered"],
    }


def run_concurrently(answerer, questions: list[str], threads: int = THREADS, timeout: float = 300):
    """Every thread asks every question (each in its own rotated order) after a common start signal.
    Returns (answers by thread, errors, seconds)."""
    barrier = threading.Barrier(threads)
    results: list[list] = [[] for _ in range(threads)]
    errors: list[str] = []

    def worker(i: int):
        try:
            barrier.wait(timeout=60)
            order = questions[i % len(questions):] + questions[:i % len(questions)]
            for q in order:
                results[i].append((q, _key(answerer.ask(q))))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(f"thread {i}: {e.__class__.__name__}: {e}")

    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=max(1.0, timeout - (time.perf_counter() - t0)))
    assert not any(t.is_alive() for t in ts), "threads still running after the time limit"
    return results, errors, time.perf_counter() - t0


def _check(answerer, questions):
    reference = {q: _key(answerer.ask(q)) for q in questions}
    results, errors, seconds = run_concurrently(answerer, questions)
    assert not errors, "\n".join(errors[:10])
    diffs = [f"thread {i}: {q!r}: {got} != {reference[q]}"
             for i, rs in enumerate(results) for q, got in rs if got != reference[q]]
    assert all(len(rs) == len(questions) for rs in results)
    assert not diffs, f"{len(diffs)} answers differ from the single-thread run:\n" + "\n".join(diffs[:5])
    return seconds


def test_fifty_threads_share_a_fake_answerer(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    build_fake(corpus, tmp_path / "index")
    _check(fake_answerer(tmp_path / "index"), QUESTIONS)


@pytest.mark.model
def test_fifty_threads_share_the_real_answerer(real_answerer):
    questions = _gold_questions(4) + ["\u202e<b>Who led Wilayat Khorasan?</b>", "What does the corpus say about the moon?"]
    seconds = _check(real_answerer, questions)
    print(f"{THREADS} threads x {len(questions)} questions in {seconds:.1f}s")
