"""TAT-QA's answer scores: its normalisation, exact match, F1 and "gold contained". Pure.

Written from the description of the dataset's official evaluation (Zhu et al., ACL 2021; their
`tatqa_metric.py`), not from its code:

- An answer is a list of items: the gold's list for span and multi-span questions, its number for
  arithmetic and count. A predicted answer is one string; for a multi-span question it is also read as
  a list (split at "; ", " | ", line breaks, ", " and a last "and"/"or", or at every "and"), and the
  reading that scores best counts.
- An item that reads as a number ("$1,496.5", "(2.3)", "12%", "1.5 million": the first word a number
  once `$€£¥%(),[]'"` are dropped, a second word if any a scale word) is compared as a number: brackets
  make it negative, "%" divides by 100, a scale word multiplies. An item that states no scale of its own
  is in the question's `scale` (thousand, million, billion, percent), gold and prediction alike: a
  report's table says "(in millions)" once and its cells give bare figures. A bare predicted number is
  also compared as written (the official script's alternative reading, so "1496500000" matches
  "$1,496.5" in millions). Numbers are rounded to 2 decimals before the scale (4 for percentages).
- Any other item is normalised token by token: lower case; a token that reads as a number becomes its
  value; other tokens lose ASCII punctuation; "a", "an" and "the" go; white space collapses.
- Exact match: the normalised items of the prediction and the gold are the same multiset. F1: items
  are paired one to one so that the summed F1 of their token sets is largest, and the sum is divided by
  the larger item count (so a missing or an extra item costs). Arithmetic and count questions: F1 = EM.
- Gold contained: every gold item's normalised tokens occur in a row in the prediction's (numbers as
  numbers, the scale not applied: a quote is text). The same test on a citation's quote says whether the
  cited text holds the answer.

Where this differs from the official script, on purpose: the official script appends the scale word to
text items on both sides (only shared tokens, so it inflates F1 alone), multiplies an item that states
its own scale by the question's scale again (one gold answer of the dev set, "$3.0 million" in
millions), and accepts Python's float spellings ("inf", "1_000") as numbers; this module does none of
these. "−" (U+2212) is read as a minus sign, and a bracketed figure with thousands separators ("(9,688)")
is negative too (the official pattern allows digits, points and spaces only).
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, Optional, Sequence

SCALES = {"": 1.0, "thousand": 1e3, "million": 1e6, "billion": 1e9, "percent": 0.01}
_SCALE_WORDS = (("hundred", 1e2), ("thousand", 1e3), ("million", 1e6), ("billion", 1e9), ("percent", 0.01))
_DROP_IN_NUMBER = set("'\"\\$€£¥%(),[]")
_NUMERIC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_BRACKETED = re.compile(r"\([\d.,\s%]+\)")
_PUNCT = set(string.punctuation)
_ARTICLES = {"a", "an", "the"}
_SEPARATORS = r";\s+|\s\|\s|\n+|,\s+(?:and\s+|or\s+)?"
_LIST_SPLITS = (re.compile(rf"\s*(?:{_SEPARATORS})\s*"),  # "a; b", "a, b, and c", one row a line
                re.compile(rf"\s*(?:{_SEPARATORS}|\s+(?:and|or)\s+(?=[^,]*$))\s*"),  # "a, b and c"
                re.compile(rf"\s*(?:{_SEPARATORS}|\s+and\s+)\s*"))  # "a and b and c"
NUMERIC_TYPES = ("arithmetic", "count")


def _word_scale(word: str) -> Optional[float]:
    w = word.lower()
    return next((v for name, v in _SCALE_WORDS if name in w), None)


def _clean(word: str) -> str:
    return "".join(ch for ch in word.replace("\u2212", "-") if ch not in _DROP_IN_NUMBER)


def _token_value(token: str) -> Optional[float]:
    """The value of one token that reads as a number ("$1,496.5", "(2.3)", "12%"), else None."""
    c = _clean(token)
    if not c or not _NUMERIC.fullmatch(c):
        return None
    v = float(c)
    if _BRACKETED.search(token.strip()):
        v = -abs(v)
    if "%" in token:
        v *= 0.01
    return v


@dataclass(frozen=True)
class Number:
    value: float  # the item's own value: brackets, "%" and a scale word applied
    own_scale: bool  # it says "%" or a scale word itself


def item_number(item: str) -> Optional[Number]:
    """An item that reads as a number: its first word (once currency signs, commas, brackets and quotes
    are dropped) is one, and a second word, if any, is a scale word ("1.5 million", "20 percent")."""
    words = [w for w in (_clean(x) for x in item.split()) if w]
    if not words or not _NUMERIC.fullmatch(words[0]):
        return None
    scale = None
    if len(words) >= 2:
        scale = _word_scale(words[1])
        if scale is None:
            return None
    v = float(words[0])
    if _BRACKETED.search(item.strip()):
        v = -abs(v)
    percent = "%" in item
    if percent:
        v *= 0.01
    if scale is not None:
        v *= scale
    return Number(v, percent or scale is not None)


def _num_key(v: float) -> str:
    return "%.4f" % v


def scaled_value(item: str, scale: str) -> Optional[float]:
    """The value an item stands for in a question of this `scale` (None: not a number)."""
    n = item_number(item)
    if n is None:
        return None
    if n.own_scale:
        return round(n.value, 4)
    return round(n.value, 2) * SCALES.get(scale, 1.0)


def normalize_tokens(text: str) -> list[str]:
    """The tokens of a text as TAT-QA compares them: numbers as their values, other words lower-cased
    without ASCII punctuation, no articles."""
    out = []
    for tok in text.split():
        v = _token_value(tok.rstrip(",;:."))  # "2019;" of a list, "2019," or "5." in prose: still numbers
        if v is not None:
            out.append(_num_key(round(v, 4)))
            continue
        t = "".join(ch for ch in tok.lower() if ch not in _PUNCT)
        out.extend(w for w in t.split() if w not in _ARTICLES)
    return out


def normalize_item(item: str, scale: str = "") -> str:
    """One answer item normalised: a number's scaled value, else its normalised tokens joined."""
    v = scaled_value(item, scale)
    if v is not None:
        return _num_key(v)
    return " ".join(normalize_tokens(item))


def gold_items(answer: Any, answer_type: str) -> list[str]:
    """A question's gold answer as a list of item strings (a count as an integer)."""
    if answer_type == "count":
        return [str(int(float(answer)))]
    if isinstance(answer, (list, tuple)):
        return [str(a) for a in answer]
    return [str(answer)]


def prediction_readings(prediction: str, multi: bool) -> list[list[str]]:
    """The ways a predicted string is read as a list of items: as one item, and for a multi-span
    question also split at list separators ("; ", " | ", line breaks, ", "), at those and a last
    "and"/"or", and at those and every "and"."""
    readings = [[prediction]]
    if multi:
        for rx in _LIST_SPLITS:
            items = [x for x in (s.strip(" .,;") for s in rx.split(prediction)) if x]
            if items and items not in readings:
                readings.append(items)
    return readings


def _bag_f1(pred: set[str], gold: set[str]) -> float:
    if not pred and not gold:
        return 1.0
    same = len(pred & gold)
    if not same:
        return 0.0
    p, r = same / len(pred), same / len(gold)
    return 2 * p * r / (p + r)


def best_pairing(scores: Sequence[Sequence[float]]) -> float:
    """The largest sum of scores[g][p] over one-to-one pairings of rows with columns (an exact search
    over subsets of the columns: answers have a handful of items)."""
    if not scores or not scores[0]:
        return 0.0
    n_cols = len(scores[0])
    if n_cols > 16:  # a prediction read as a long list: pair greedily
        used, total = set(), 0.0
        for row in scores:
            best = max((j for j in range(n_cols) if j not in used), key=lambda j: row[j], default=None)
            if best is not None:
                used.add(best)
                total += row[best]
        return total
    best: dict[int, float] = {0: 0.0}
    for row in scores:
        nxt: dict[int, float] = dict(best)  # this row left unpaired
        for mask, total in best.items():
            for j in range(n_cols):
                if not mask & (1 << j):
                    m = mask | (1 << j)
                    s = total + row[j]
                    if s > nxt.get(m, -1.0):
                        nxt[m] = s
        best = nxt
    return max(best.values())


def _em_f1(pred_items: Sequence[str], gold_norm: Sequence[str]) -> tuple[float, float]:
    em = float(sorted(pred_items) == sorted(gold_norm))
    bags_p = [set(p.split()) for p in pred_items]
    bags_g = [set(g.split()) for g in gold_norm]
    scores = [[_bag_f1(p, g) for p in bags_p] for g in bags_g]
    f1 = best_pairing(scores) / max(len(bags_p), len(bags_g))
    return em, f1


def em_f1(prediction: Optional[str], gold: Sequence[str], scale: str, answer_type: str) -> tuple[float, float]:
    """(exact match, F1) of a predicted string against a question's gold items; None or "" scores 0."""
    if not prediction or not prediction.strip() or not gold:
        return 0.0, 0.0
    gold_norm = [normalize_item(g, scale) for g in gold]
    best = (0.0, 0.0)
    for items in prediction_readings(prediction, answer_type == "multi-span"):
        candidates = [[normalize_item(i, scale) for i in items]]
        if len(items) == 1:
            n = item_number(items[0])
            if n is not None and not n.own_scale:  # a bare number, also as written
                candidates.append([_num_key(round(n.value, 4))])
        for c in candidates:
            got = _em_f1(c, gold_norm)
            if got > best:
                best = got
    em, f1 = best
    if answer_type in NUMERIC_TYPES:
        f1 = em
    return em, f1


def _contains_run(hay: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    return n > 0 and any(list(hay[i:i + n]) == list(needle) for i in range(len(hay) - n + 1))


def contained(text: Optional[str], gold: Sequence[str]) -> bool:
    """Every gold item occurs in the text, token for token (numbers as numbers, no scale applied)."""
    if not text or not gold:
        return False
    hay = normalize_tokens(text)
    return all(_contains_run(hay, normalize_tokens(g)) for g in gold)


def contained_in_quotes(quotes: Sequence[str], gold: Sequence[str]) -> bool:
    """Every gold item occurs in one of the quotes (items may come from different quotes)."""
    if not quotes or not gold:
        return False
    hays = [normalize_tokens(q) for q in quotes if q]
    return all(any(_contains_run(h, normalize_tokens(g)) for h in hays) for g in gold)
