"""The questions of a benchmark's half as rows that fitting and measuring share, and what their answers came to.

`qa bench tatqa` and `qa bench pages` ask their questions through a `BenchSet`, and so does a fitting
script (scripts/fit_answering.py), so that a fit and a measurement ask the same questions of the same
index the same way and judge them by the same rule:

    from qa.evaluation.bench.tatqa import tatqa_set       # or: from qa.evaluation.bench.pages import pages_set
    bench = tatqa_set("fit", formats=("html",), embedder=emb, reader=reader, settings=settings)
    for q in bench.questions:                            # BenchQuestion rows
        answer, hits = bench.ask(q)                      # the answerer of q.index, restricted to q.docs
        ok = bench.right(q, answer.answer)               # the benchmark's own "this answer is right"

Halves are by document (an excerpt, a page), never by question, so no document has questions on both
sides: `split_halves` orders the documents' keys by a salted sha256 and gives the first half (rounded
up) to "fit", the rest to "check". It depends on the keys alone, so a half is the same on every
machine and in every run.

The outcome measures both benchmarks report (`outcomes`): the share of each status (answered,
uncertain, declined), how often each status was right (an answer that is right; a decline where
declining was right), and the expected calibration error of the confidence of the answers given
(10 equal-width bins, |accuracy - mean confidence| weighted by the bin's share).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from ...settings import DEFAULT_K

SPLITS = ("fit", "check", "all")
STATUSES = ("answered", "uncertain", "declined")
ECE_BINS = 10


def split_halves(keys: Iterable[str], salt: str) -> dict[str, str]:
    """Each document key's half, "fit" or "check": the keys ordered by sha256(salt + ":" + key), the first
    half (rounded up) fit. Equal halves, the same for the same keys on any machine."""
    ordered = sorted(set(keys), key=lambda k: hashlib.sha256(f"{salt}:{k}".encode("utf-8")).hexdigest())
    n_fit = (len(ordered) + 1) // 2
    return {k: ("fit" if i < n_fit else "check") for i, k in enumerate(ordered)}


def check_split(split: str) -> str:
    from ...errors import QAError

    if split not in SPLITS:
        raise QAError(f"unknown split {split!r}", fix=f"use one of {', '.join(SPLITS)}")
    return split


@dataclass(frozen=True)
class BenchQuestion:
    """One question as a benchmark asks it.

    `docs`: the documents the search is restricted to (None: the whole index). `answers`: the accepted
    answers (pages: any one of them is right; TAT-QA: the gold items, all of which a multi-span answer
    names). `labels`: where it comes from (TAT-QA: answer_type, answer_from, scale, format, excerpt;
    pages: type, page), and its half ("split"). `index`: which of the set's answerers asks it."""

    id: str
    question: str
    docs: Optional[tuple[str, ...]]
    answers: tuple[str, ...]
    answerable: bool
    labels: Mapping[str, str]
    index: str


@dataclass
class BenchSet:
    """A benchmark half ready to ask: its questions, the answerer of each index they are asked of, and
    the benchmark's rule for a right answer (`right(question, answer text or None) -> bool`)."""

    name: str
    split: str
    questions: list[BenchQuestion]
    answerers: dict[str, Any]  # index key -> Answerer
    right: Callable[[BenchQuestion, Optional[str]], bool]
    builds: dict[str, Any] = field(default_factory=dict)  # index key -> BuildReport (built or reused)
    notes: list[str] = field(default_factory=list)

    def answerer(self, q: BenchQuestion):
        return self.answerers[q.index]

    def ask(self, q: BenchQuestion, k: int = DEFAULT_K, retrieve_k: int = 0):
        """(Answer, hits) for one question, as the benchmark asks it: `Answerer.ask_with_hits`, the path
        `qa ask` takes (with `--doc` for each of `q.docs`)."""
        return self.answerer(q).ask_with_hits(q.question, k=k, docs=list(q.docs) if q.docs else None,
                                              retrieve_k=retrieve_k)


# --------------------------------------------------------------------------- outcomes

def ece(pairs: Sequence[tuple[float, bool]], bins: int = ECE_BINS) -> Optional[float]:
    """Expected calibration error of (confidence, right) pairs over equal-width bins; None for no pairs."""
    if not pairs:
        return None
    sums = [[0, 0.0, 0] for _ in range(bins)]  # n, confidence sum, right
    for c, ok in pairs:
        c = min(max(float(c), 0.0), 1.0)
        b = sums[min(int(c * bins), bins - 1)]
        b[0] += 1
        b[1] += c
        b[2] += bool(ok)
    n = len(pairs)
    return sum(b[0] / n * abs(b[2] / b[0] - b[1] / b[0]) for b in sums if b[0])


def outcomes(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Status shares, how often each status is right, and the ECE of the answers given.

    Each record has `status`, `confidence` and `right` (a given answer that is right, or a decline where
    declining was right)."""
    n = len(records)
    out: dict[str, Any] = {"n": n}
    for s in STATUSES:
        these = [r for r in records if r["status"] == s]
        out[f"{s}_share"] = len(these) / n if n else None
        out[f"{s}_right"] = sum(bool(r["right"]) for r in these) / len(these) if these else None
        out[f"n_{s}"] = len(these)
    given = [(float(r["confidence"]), bool(r["right"])) for r in records if r["status"] != "declined"]
    out["ece"] = ece(given)
    out["ece_n"] = len(given)
    return out


def fmt_share(v: Optional[float], digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"
