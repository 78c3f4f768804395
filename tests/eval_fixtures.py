"""Hand-made `qa eval` results for the evaluation tests: one result row, a small run, and a run with a
decline for each reason."""
from __future__ import annotations

from qa.evaluation.results import aggregate


def result_row(qid, *, answerable=True, category="ok", rank=1, contains=True, em=0.0, f1=0.5, declined=False,
               conf=0.7, question=None, quote="Hafiz Saeed Khan led it.", reason=None, missing=()):
    """A hand-made result; without `reason` it is in the format saved before answers recorded why they
    declined (no decline_reason or missing_terms anywhere)."""
    answer = None if declined else "Hafiz Saeed Khan"
    cite = {"n": 1, "doc_id": "d", "quote": quote, "source": "s", "start": 0, "end": len(quote)}
    r = {
        "id": qid, "question": question or f"question {qid}?", "answers": ["Hafiz Saeed Khan"] if answerable else [],
        "answerable": answerable, "type": "person", "category": category, "latency_ms": 10.0,
        "prediction": {"status": "declined" if declined else "answered", "answer": answer, "confidence": conf,
                       "citations": [] if declined else [cite], "closest": [cite] if declined else [],
                       "conflicts": []},
        "scores": {"declined": declined, "rank": rank if answerable else None, "relevance": "alias",
                   "relevant_in_k": rank is not None, "offsets_checked": 1, "offsets_valid": 1, "confidence": conf,
                   "answer_words": None if declined else 3,
                   "em": em if answerable else None, "f1": f1 if answerable else None,
                   "contains": contains if answerable else None,
                   "citations": 0 if declined or not answerable else 1,
                   "citations_precise": 1 if answerable and not declined and contains else 0,
                   "conflict_shown": None, "correct": answerable and contains and not declined},
    }
    if reason is not None:
        r["prediction"].update(decline_reason=reason, missing_terms=list(missing))
        r["scores"]["decline_reason"] = reason
    return r


def synthetic():
    results = [result_row(f"q{i}", rank=(i % 4) + 1, contains=i % 3 != 0, em=float(i % 2), conf=i / 12) for i in range(10)]
    results.append(result_row("u1", answerable=False, declined=True, conf=0.1))
    results.append(result_row("u2", answerable=False, category="answered-unanswerable", conf=0.6,
                               question="<script>alert('x')</script> & co?"))
    results[0]["category"] = "extraction-miss"
    return {"meta": {"split": "test", "k": 5}, "metrics": aggregate(results), "results": results}


def with_declines():
    result = synthetic()
    result["results"] += [
        result_row("w1", declined=True, contains=False, category="wrong-decline", reason="not_mentioned", conf=0.0,
                   question="<b>Who</b> led <script>alert(1)</script> & co?", missing=["<i>Zarb-e-Azb</i>"]),
        result_row("w2", declined=True, contains=False, category="wrong-decline", reason="low_confidence", conf=0.12),
        result_row("u3", answerable=False, declined=True, reason="not_mentioned", missing=["sourdough"], conf=0.0),
    ]
    result["metrics"] = aggregate(result["results"])
    return result
