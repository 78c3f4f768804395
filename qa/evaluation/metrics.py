"""Answer and retrieval metrics: SQuAD's normalisation, EM and F1, alias containment, recall, abstention. Pure."""
from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from typing import Any, Iterable, Optional, Sequence

from ..text import TOKEN, fold, number_words_to_digits

__all__ = ["squad_normalize", "number_words_to_digits", "normalize_match", "contains_norm", "contains_any",
           "exact_match", "token_f1", "max_over", "recall_at", "mrr_at", "first_relevant_rank", "abstention_prf",
           "abstention_by_reason",
           "percentile", "median", "mean", "shingles", "shingle_counts", "extraction_prf"]

_ASCII_PUNCT = frozenset(string.punctuation)


def squad_normalize(s: str) -> str:
    """The official SQuAD normalisation: lower case, drop ASCII punctuation and a/an/the, collapse spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _ASCII_PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def normalize_match(s: str) -> str:
    """Normalisation for "does this text contain that alias": SQuAD's, plus accents folded, number words
    as digits, dashes and slashes as spaces (al-Qaeda == Al Qaeda) and Unicode punctuation removed
    (Taliban’s == Taliban's)."""
    s = fold(s).lower()
    s = number_words_to_digits(s)
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat == "Pd" or ch == "/":
            out.append(" ")
        elif cat.startswith("P") or ch in _ASCII_PUNCT:
            continue
        else:
            out.append(ch)
    s = re.sub(r"\b(a|an|the)\b", " ", "".join(out))
    return " ".join(s.split())


def contains_norm(text_norm: str, alias_norm: str) -> bool:
    """Whole-token containment of two already-normalised strings ('9' is not inside '1990')."""
    return bool(alias_norm) and f" {alias_norm} " in f" {text_norm} "


def contains_any(text: Optional[str], aliases: Iterable[str]) -> bool:
    if not text:
        return False
    t = normalize_match(text)
    return any(contains_norm(t, normalize_match(a)) for a in aliases)


def exact_match(prediction: str, gold: str) -> float:
    return float(squad_normalize(prediction) == squad_normalize(gold))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 (v2.0 rules: an empty prediction or gold scores 1 only when both are empty)."""
    p, g = squad_normalize(prediction).split(), squad_normalize(gold).split()
    if not p or not g:
        return float(p == g)
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def max_over(fn, prediction: str, golds: Sequence[str]) -> float:
    return max((fn(prediction, g) for g in golds), default=0.0)


# --------------------------------------------------------------------------- metric helpers

def recall_at(ranks: Sequence[Optional[int]], k: int) -> Optional[float]:
    """Share of questions whose first relevant passage is at rank <= k (ranks are 1-based, None = none)."""
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr_at(ranks: Sequence[Optional[int]], k: int = 10) -> Optional[float]:
    if not ranks:
        return None
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks)


def first_relevant_rank(relevant: Sequence[bool]) -> Optional[int]:
    for i, r in enumerate(relevant):
        if r:
            return i + 1
    return None


def abstention_prf(declined: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, Optional[float]]:
    """Precision, recall and F1 of declining, with unanswerable questions as the positive class."""
    tp = sum(1 for d, u in zip(declined, unanswerable) if d and u)
    n_declined, n_unans = sum(declined), sum(unanswerable)
    precision = tp / n_declined if n_declined else None
    recall = tp / n_unans if n_unans else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1}


def abstention_by_reason(reasons: Sequence[Optional[str]], unanswerable: Sequence[bool],
                         order: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """abstention_prf split by why each question was declined (reason None: answered). For each reason
    that occurs, in `order` then any others sorted: declined, right (unanswerable among them), precision
    (right/declined) and recall (right over every unanswerable question, so the recalls add up to the
    overall recall)."""
    n_unans = sum(1 for u in unanswerable if u)
    counts: dict[str, list[int]] = {}
    for reason, u in zip(reasons, unanswerable):
        if reason is not None:
            c = counts.setdefault(reason, [0, 0])
            c[0] += 1
            c[1] += bool(u)
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return {k: {"declined": counts[k][0], "right": counts[k][1], "precision": counts[k][1] / counts[k][0],
                "recall": counts[k][1] / n_unans if n_unans else None} for k in keys}


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Linear-interpolation percentile (numpy's default), without importing numpy."""
    if not values:
        return None
    v = sorted(values)
    pos = (len(v) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def median(values: Sequence[float]) -> Optional[float]:
    return percentile(values, 50)


def mean(values: Sequence[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


# --------------------------------------------------------------------------- main-text extraction

def shingles(text: str, n: int = 4) -> Counter:
    """Word n-grams of a text (`\\w+` tokens) with their counts."""
    toks = TOKEN.findall(text or "")
    return Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))


def shingle_counts(pred: str, truth: str) -> tuple[float, float, float]:
    """(tp, fp, fn) of one page's 4-gram shingles, normalised to sum to 1 (all 0 when neither has any)."""
    p, t = shingles(pred), shingles(truth)
    tp = sum((p & t).values())
    fp, fn = sum(p.values()) - tp, sum(t.values()) - tp
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def extraction_prf(preds: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    """Precision, recall and F1 of extracted main texts, as the article-extraction benchmark scores them:
    each page's normalised shingle counts averaged over pages, then P, R and F1 of the averages."""
    counts = [shingle_counts(preds.get(k, ""), truth[k]) for k in sorted(truth)]
    n = len(counts) or 1
    tp, fp, fn = (sum(c[i] for c in counts) / n for i in range(3))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pages": len(counts)}
