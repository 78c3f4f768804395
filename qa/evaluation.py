"""Scoring the assistant on gold questions (`qa eval`): retrieval, answers, citations, abstention, conflicts.

Every question goes through `Answerer.ask_with_hits`, the same path `qa ask` takes, so the answer scored
here is exactly the answer a user gets. The metric functions are pure (text and numbers in, numbers out)
so tests can check them on hand-made cases; the CLI and the report build on `evaluate()`'s result dict,
which is also what `--json` writes and what `--baseline` reads back.

Failure categories, first match wins (the order follows the pipeline, so a question is blamed on the
earliest stage that went wrong):

1. bad-citation         a citation's quote is not the source text at its offsets (a broken contract)
2. answered-unanswerable an unanswerable question that was not declined
   (an unanswerable question that was declined is ok)
3. retrieval-miss       answerable, and no relevant passage among the top-k hits the answer was made from
4. wrong-decline        answerable, relevant evidence was retrieved, but the assistant declined
5. extraction-miss      answered, but the answer contains no gold alias
6. bad-citation         the answer is right but none of its citations' quotes contains a gold alias
7. missed-conflict      the sources disagree and not every value is shown with its own citation
8. ok
"""
from __future__ import annotations

import json
import re
import string
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from .config import DEFAULT_K, PROJECT_ROOT, _rel
from .errors import QAError

DEFAULT_QUESTIONS = _rel(PROJECT_ROOT / "eval" / "questions.jsonl")
RETRIEVE_K = 10
RECALL_KS = (1, 3, 5, 10)
SOURCE_FALLBACK_TYPES = ("description", "reason", "list")
CATEGORIES = ("ok", "retrieval-miss", "extraction-miss", "wrong-decline", "answered-unanswerable",
              "bad-citation", "missed-conflict")

# Headline metrics: --fail-on-regression exits 1 when one of them drops by more than its tolerance
# (absolute, on the questions present in both runs). Offset validity must never drop at all.
TOLERANCE = 0.02
HEADLINE = {
    "contains_accuracy": TOLERANCE,
    "EM": TOLERANCE,
    "F1": TOLERANCE,
    "R@3": TOLERANCE,
    "citation_precision": TOLERANCE,
    "abstention_F1": TOLERANCE,
    "offset_validity": 0.0,
}

# (key, label, kind): kind "rate" is a 0-1 share shown with 3 decimals, "ms" milliseconds, "n" a count,
# "words" a word count. Lower is better only for the keys in LOWER_IS_BETTER.
METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("n_questions", "questions", "n"),
    ("n_answerable", "answerable", "n"),
    ("n_unanswerable", "unanswerable", "n"),
    ("R@1", "retrieval R@1", "rate"),
    ("R@3", "retrieval R@3", "rate"),
    ("R@5", "retrieval R@5", "rate"),
    ("R@10", "retrieval R@10", "rate"),
    ("MRR@10", "retrieval MRR@10", "rate"),
    ("EM", "answer exact match", "rate"),
    ("F1", "answer token F1", "rate"),
    ("contains_accuracy", "answer contains gold", "rate"),
    ("list_item_recall", "list items named (list questions)", "rate"),
    ("answer_words_median", "answer length, median words", "words"),
    ("citation_precision", "citation precision", "rate"),
    ("offset_validity", "citation offset validity", "rate"),
    ("n_citations", "citations checked", "n"),
    ("abstention_precision", "abstention precision", "rate"),
    ("abstention_recall", "abstention recall", "rate"),
    ("abstention_F1", "abstention F1", "rate"),
    ("wrong_decline_rate", "answerable wrongly declined", "rate"),
    ("conflicts_shown", "conflicts shown with citations", "rate"),
    ("n_conflict", "conflict questions", "n"),
    ("latency_p50_ms", "latency p50 (ms)", "ms"),
    ("latency_p95_ms", "latency p95 (ms)", "ms"),
)
LOWER_IS_BETTER = {"wrong_decline_rate", "latency_p50_ms", "latency_p95_ms"}


# --------------------------------------------------------------------------- normalisation

def squad_normalize(s: str) -> str:
    """The official SQuAD normalisation: lower case, drop ASCII punctuation and a/an/the, collapse spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _ASCII_PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


_ASCII_PUNCT = frozenset(string.punctuation)

_SMALL = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_SMALL.update({w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())})
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_NUM_WORD = "(?:" + "|".join(sorted([*_SMALL, *_SCALES], key=len, reverse=True)) + ")"
_NUM_RUN = re.compile(rf"\b{_NUM_WORD}(?:(?:[\s\-‐‑–]+(?:and[\s\-]+)?){_NUM_WORD})*\b")


def _words_to_int(words: Sequence[str]) -> int:
    total = current = 0
    for w in words:
        if w in _SMALL:
            current += _SMALL[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _SCALES[w]
            current = 0
    return total + current


def number_words_to_digits(text: str) -> str:
    """'forty-two' -> '42', 'two thousand' -> '2000' (lower-case input; other words untouched)."""
    def repl(m: re.Match) -> str:
        words = [w for w in re.split(r"[\s\-‐‑–]+", m.group(0)) if w and w != "and"]
        return str(_words_to_int(words))

    return _NUM_RUN.sub(repl, text)


def normalize_match(s: str) -> str:
    """Normalisation for "does this text contain that alias": SQuAD's, plus accents folded, number words
    as digits, dashes and slashes as spaces (al-Qaeda == Al Qaeda) and Unicode punctuation removed
    (Taliban’s == Taliban's)."""
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).lower()
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


def _mean(values: Sequence[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


# --------------------------------------------------------------------------- gold questions

@dataclass
class GoldQuestion:
    id: str
    question: str
    answers: list[str]
    answerable: bool
    sources: list[str] = field(default_factory=list)
    type: str = "description"
    split: str = "all"
    conflict: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "question": self.question, "answers": self.answers, "answerable": self.answerable,
             "sources": self.sources, "type": self.type, "split": self.split}
        if self.conflict:
            d["conflict"] = self.conflict
        return d


def _str_list(v: Any, what: str, where: str) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise QAError(f"{where}: '{what}' must be a list of strings")
    return [x for x in v if x.strip()]


def parse_question(obj: Any, where: str) -> GoldQuestion:
    if not isinstance(obj, dict):
        raise QAError(f"{where}: each line must be a JSON object")
    for key in ("id", "question", "answers", "answerable"):
        if key not in obj:
            raise QAError(f"{where}: missing required field '{key}'",
                          fix="each line needs id, question, answers and answerable")
    qid = obj["id"]
    if not isinstance(qid, (str, int)) or isinstance(qid, bool) or str(qid).strip() == "":
        raise QAError(f"{where}: 'id' must be a non-empty string")
    question = obj["question"]
    if not isinstance(question, str) or not question.strip():
        raise QAError(f"{where}: 'question' must be non-empty text")
    if not isinstance(obj["answerable"], bool):
        raise QAError(f"{where}: 'answerable' must be true or false")
    answers = _str_list(obj["answers"], "answers", where)
    if obj["answerable"] and not answers:
        raise QAError(f"{where}: question {qid} is answerable but lists no answers",
                      fix="add the accepted answers, or set answerable to false")
    sources = _str_list(obj.get("sources") or [], "sources", where)
    qtype = obj.get("type") or "description"
    split = obj.get("split") or "all"
    if not isinstance(qtype, str) or not isinstance(split, str):
        raise QAError(f"{where}: 'type' and 'split' must be strings")
    conflict = obj.get("conflict") or []
    if not isinstance(conflict, list) or not all(
            isinstance(c, dict) and isinstance(c.get("value"), str) and c["value"].strip() for c in conflict):
        raise QAError(f"{where}: 'conflict' must be a list of {{\"value\": text, \"source\": doc_id}} objects")
    return GoldQuestion(str(qid), question, answers, obj["answerable"], sources, qtype, split,
                        [{"value": c["value"], "source": str(c.get("source", ""))} for c in conflict])


def load_questions(paths: Sequence[str | Path], split: str = "all") -> list[GoldQuestion]:
    """Gold questions from JSONL files, filtered by split ('all' keeps everything; a question without a
    split is in every split). Raises QAError naming the file and line of any problem."""
    out: list[GoldQuestion] = []
    seen: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise QAError(f"question file not found: {path}", fix="pass a JSONL file of gold questions")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as e:
            raise QAError(f"{path} is not UTF-8 ({e.reason} at byte {e.start})") from None
        n_file = 0
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise QAError(f"{where}: not valid JSON ({e.msg})", fix="one JSON object per line") from None
            q = parse_question(obj, where)
            if q.id in seen:
                raise QAError(f"{where}: duplicate question id {q.id!r} (first seen at {seen[q.id]})")
            seen[q.id] = where
            n_file += 1
            if split == "all" or q.split in (split, "all"):
                out.append(q)
        if n_file == 0:
            raise QAError(f"{path} has no questions")
    if not out:
        raise QAError(f"no questions in the {split!r} split of {', '.join(map(str, paths))}",
                      fix="use --split all")
    return out


# --------------------------------------------------------------------------- citation checks

class SourceReader:
    """Reads cited sources once: relative to the working directory first, then to the project root."""

    def __init__(self):
        self._cache: dict[str, Optional[str]] = {}

    def text(self, source: str) -> Optional[str]:
        if source not in self._cache:
            text = None
            for p in (Path(source), PROJECT_ROOT / source):
                if p.is_file():
                    try:
                        text = p.read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        text = None
                    break
            self._cache[source] = text
        return self._cache[source]

    def offsets_valid(self, c: dict[str, Any]) -> bool:
        text = self.text(str(c.get("source", "")))
        try:
            return text is not None and text[int(c["start"]):int(c["end"])] == c.get("quote")
        except (KeyError, TypeError, ValueError):
            return False


def conflict_shown(prediction: dict[str, Any], values: Sequence[str]) -> bool:
    """Every conflict value is shown: some conflicts entry's value contains it and that entry cites at
    least one citation whose quote contains it (number words equal digits)."""
    by_n = {c.get("n"): c for c in prediction.get("citations") or []}
    entries = prediction.get("conflicts") or []
    for v in values:
        vn = normalize_match(v)
        ok = False
        for e in entries:
            if not contains_norm(normalize_match(str(e.get("value") or "")), vn):
                continue
            if any(n in by_n and contains_norm(normalize_match(by_n[n].get("quote") or ""), vn)
                   for n in e.get("citations") or []):
                ok = True
                break
        if not ok:
            return False
    return True


# --------------------------------------------------------------------------- scoring one question

def relevance_mode(q: GoldQuestion, evidence_norm: Sequence[tuple[str, str]]) -> str:
    """How a passage counts as relevant for this question: 'alias' (contains a gold alias, from a gold
    source when sources are listed), 'source' (any passage of a gold source: description/reason/list
    questions whose key phrases appear in no evidence passage), or 'none' (nothing can count)."""
    if not q.answerable:
        return "none"
    aliases = [normalize_match(a) for a in q.answers]
    for doc_id, text in evidence_norm:
        if (not q.sources or doc_id in q.sources) and any(contains_norm(text, a) for a in aliases):
            return "alias"
    if q.type in SOURCE_FALLBACK_TYPES and q.sources:
        return "source"
    return "none"


def passage_relevant(q: GoldQuestion, mode: str, doc_id: str, text_norm: str, aliases_norm: Sequence[str]) -> bool:
    if mode == "alias":
        return (not q.sources or doc_id in q.sources) and any(contains_norm(text_norm, a) for a in aliases_norm)
    if mode == "source":
        return doc_id in q.sources
    return False


def categorize(*, answerable: bool, declined: bool, offsets_ok: bool, retrieved: bool, contains: bool,
               cited_support: bool, conflict_ok: Optional[bool]) -> str:
    """The one failure category of a question (precedence documented at the top of this module)."""
    if not offsets_ok:
        return "bad-citation"
    if not answerable:
        return "ok" if declined else "answered-unanswerable"
    if not retrieved:
        return "retrieval-miss"
    if declined:
        return "wrong-decline"
    if not contains:
        return "extraction-miss"
    if not cited_support:
        return "bad-citation"
    if conflict_ok is False:
        return "missed-conflict"
    return "ok"


def score_question(q: GoldQuestion, prediction: dict[str, Any], hit_rows: list[dict[str, Any]], k: int,
                   reader: SourceReader, mode: str) -> tuple[dict[str, Any], str]:
    """Per-question scores (stored in the results, so metrics can be recomputed on any subset) and category.

    hit_rows: the ranked hits as dicts with doc_id and text_norm (normalised passage text).
    """
    aliases_norm = [normalize_match(a) for a in q.answers]
    relevant = [passage_relevant(q, mode, h["doc_id"], h["text_norm"], aliases_norm) for h in hit_rows]
    rank = first_relevant_rank(relevant[:RETRIEVE_K]) if q.answerable else None
    declined = prediction.get("status") == "declined"
    answer = prediction.get("answer") if not declined else None
    text = answer or ""
    cites = list(prediction.get("citations") or [])
    all_cites = cites + list(prediction.get("closest") or [])
    offsets_valid = sum(1 for c in all_cites if reader.offsets_valid(c))
    s: dict[str, Any] = {
        "declined": declined,
        "rank": rank,
        "relevance": mode,
        "relevant_in_k": any(relevant[:k]),
        "offsets_checked": len(all_cites),
        "offsets_valid": offsets_valid,
        "confidence": float(prediction.get("confidence") or 0.0),
        "answer_words": len(text.split()) if not declined else None,
    }
    if q.answerable:
        contains = contains_any(text, q.answers)
        s["em"] = max_over(exact_match, text, q.answers)
        s["f1"] = max_over(token_f1, text, q.answers)
        s["contains"] = contains
        if q.type == "list":
            tn = normalize_match(text)
            s["list_recall"] = sum(1 for a in aliases_norm if contains_norm(tn, a)) / len(aliases_norm)
        precise = [contains_any(c.get("quote"), q.answers) for c in cites] if not declined else []
        s["citations"] = len(precise)
        s["citations_precise"] = sum(precise)
    else:
        contains = False
        s.update(em=None, f1=None, contains=None, citations=0, citations_precise=0)
    conflict_ok = None
    if q.conflict and q.answerable:
        conflict_ok = conflict_shown(prediction, [c["value"] for c in q.conflict])
    s["conflict_shown"] = conflict_ok
    s["correct"] = bool(q.answerable and not declined and contains)
    category = categorize(
        answerable=q.answerable, declined=declined, offsets_ok=offsets_valid == len(all_cites),
        retrieved=s["relevant_in_k"], contains=contains,
        cited_support=bool(s.get("citations_precise")), conflict_ok=conflict_ok)
    return s, category


# --------------------------------------------------------------------------- aggregate metrics

def aggregate(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics from per-question results (each with 'answerable', 'scores', 'category', 'latency_ms')."""
    ans = [r for r in results if r["answerable"]]
    unans = [r for r in results if not r["answerable"]]
    ranks = [r["scores"]["rank"] for r in ans]
    m: dict[str, Any] = {"n_questions": len(results), "n_answerable": len(ans), "n_unanswerable": len(unans)}
    for k in RECALL_KS:
        m[f"R@{k}"] = recall_at(ranks, k)
    m["MRR@10"] = mrr_at(ranks, 10)
    m["EM"] = _mean([r["scores"]["em"] for r in ans])
    m["F1"] = _mean([r["scores"]["f1"] for r in ans])
    m["contains_accuracy"] = _mean([1.0 if r["scores"]["contains"] else 0.0 for r in ans])
    m["list_item_recall"] = _mean([r["scores"]["list_recall"] for r in ans if "list_recall" in r["scores"]])
    words = [r["scores"]["answer_words"] for r in results if r["scores"]["answer_words"] is not None]
    m["answer_words_median"] = median(words)
    n_cit = sum(r["scores"]["citations"] for r in ans)
    m["citation_precision"] = sum(r["scores"]["citations_precise"] for r in ans) / n_cit if n_cit else None
    n_off = sum(r["scores"]["offsets_checked"] for r in results)
    m["offset_validity"] = sum(r["scores"]["offsets_valid"] for r in results) / n_off if n_off else None
    m["n_citations"] = n_off
    prf = abstention_prf([r["scores"]["declined"] for r in results], [not r["answerable"] for r in results])
    m["abstention_precision"], m["abstention_recall"], m["abstention_F1"] = prf["precision"], prf["recall"], prf["f1"]
    m["wrong_decline_rate"] = _mean([1.0 if r["scores"]["declined"] else 0.0 for r in ans])
    conf = [r["scores"]["conflict_shown"] for r in results if r["scores"].get("conflict_shown") is not None]
    m["conflicts_shown"] = _mean([1.0 if c else 0.0 for c in conf])
    m["n_conflict"] = len(conf)
    lat = [float(r["latency_ms"]) for r in results if r.get("latency_ms") is not None]
    m["latency_p50_ms"] = percentile(lat, 50)
    m["latency_p95_ms"] = percentile(lat, 95)
    m["categories"] = {c: sum(1 for r in results if r["category"] == c) for c in CATEGORIES}
    m["n_unretrievable"] = sum(1 for r in ans if r["scores"]["relevance"] == "none")
    return m


def format_value(v: Any, kind: str) -> str:
    if v is None:
        return "–"
    if kind == "rate":
        return f"{v:.3f}"
    if kind == "ms":
        return f"{v:.1f}"
    if kind == "words":
        return f"{v:.1f}" if isinstance(v, float) and not v.is_integer() else f"{int(v)}"
    return str(int(v))


def format_delta(d: Optional[float], kind: str) -> str:
    if d is None:
        return ""
    if kind == "rate":
        return f"{d:+.3f}"
    if kind in ("ms", "words"):
        return f"{d:+.1f}"
    return f"{int(d):+d}"


def metric_rows(metrics: dict[str, Any], base: Optional[dict[str, Any]] = None) -> list[tuple[str, str, str, str]]:
    """(key, label, value, delta) rows for tables; delta is empty without a baseline."""
    rows = []
    for key, label, kind in METRIC_ROWS:
        v = metrics.get(key)
        delta = ""
        if base is not None and v is not None and base.get(key) is not None:
            delta = format_delta(v - base[key], kind)
        rows.append((key, label, format_value(v, kind), delta))
    return rows


def format_table(metrics: dict[str, Any], base: Optional[dict[str, Any]] = None) -> str:
    rows = metric_rows(metrics, base)
    w = max(len(r[1]) for r in rows)
    head = f"{'metric':<{w}}  {'value':>8}" + ("  vs baseline" if base is not None else "")
    lines = [head, "-" * len(head)]
    for _, label, value, delta in rows:
        lines.append(f"{label:<{w}}  {value:>8}" + (f"  {delta:>11}" if base is not None else ""))
    cats = metrics.get("categories") or {}
    lines.append("")
    lines.append("categories: " + ", ".join(f"{c} {n}" for c, n in cats.items() if n))
    if metrics.get("n_unretrievable"):
        lines.append(f"note: {metrics['n_unretrievable']} answerable question(s) have no passage in the index "
                     f"that can count as relevant (check their aliases and sources)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- running

def _hit_row(h, text_norm_cache: dict[str, str]) -> dict[str, Any]:
    p = h.passage
    if p.passage_id not in text_norm_cache:
        text_norm_cache[p.passage_id] = normalize_match(p.text)
    return {"doc_id": p.doc_id, "passage_id": p.passage_id, "start": p.start, "end": p.end,
            "score": round(float(h.score), 4), "text_norm": text_norm_cache[p.passage_id]}


def evaluate(questions: Sequence[GoldQuestion], answerer, k: int = DEFAULT_K, progress: bool = True,
             meta: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Ask every question through `answerer.ask_with_hits` and score it; returns {"meta", "metrics", "results"}."""
    from tqdm import tqdm

    index = answerer.index
    evidence_norm = [(p.doc_id, normalize_match(p.text)) for p in index.evidence]
    norm_cache = {p.passage_id: t for p, (_, t) in zip(index.evidence, evidence_norm)}
    reader = SourceReader()
    answerer.retriever.embed("warm-up")  # load the models before the clock starts (they load lazily)
    span_reader = getattr(answerer, "reader", None)
    if span_reader is not None:
        span_reader.read("warm-up", ["warm-up"])
    results = []
    for q in tqdm(questions, desc="eval", unit="q", disable=not progress, file=sys.stderr, leave=False):
        t = time.perf_counter()
        try:
            answer, hits = answerer.ask_with_hits(q.question, k=k, retrieve_k=RETRIEVE_K)
        except QAError as e:
            raise QAError(f"question {q.id}: {e}") from None
        latency = (time.perf_counter() - t) * 1000.0
        pred = answer.to_dict()
        mode = relevance_mode(q, evidence_norm)
        rows = [_hit_row(h, norm_cache) for h in hits]
        scores, category = score_question(q, pred, rows, k, reader, mode)
        results.append({
            "id": q.id, "question": q.question, "answers": q.answers, "answerable": q.answerable,
            "type": q.type, "split": q.split, "sources": q.sources,
            **({"conflict": q.conflict} if q.conflict else {}),
            "prediction": pred, "category": category, "latency_ms": round(latency, 2),
            "scores": scores,
            "hits": [{k_: v for k_, v in r.items() if k_ != "text_norm"} for r in rows[:RETRIEVE_K]],
        })
    from . import __version__

    info = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "qa_version": __version__,
        "index": str(index.path),
        "build_id": index.manifest.get("build_id"),
        "model": index.manifest.get("model", {}).get("name"),
        "reader": span_reader is not None,
        "k": k,
        "retrieve_k": RETRIEVE_K,
        **(meta or {}),
    }
    return {"meta": info, "metrics": aggregate(results), "results": results}


# --------------------------------------------------------------------------- baseline

def load_result(path: Path) -> dict[str, Any]:
    """A saved `--json` result, checked enough to compare with."""
    path = Path(path)
    if not path.is_file():
        raise QAError(f"baseline not found: {path}", fix="write one with `qa eval --json FILE`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise QAError(f"baseline {path} is not valid JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list) or not isinstance(data.get("metrics"), dict):
        raise QAError(f"baseline {path} is not a `qa eval --json` result (needs 'metrics' and 'results')")
    for r in data["results"]:
        if not isinstance(r, dict) or not {"id", "answerable", "category", "scores"} <= set(r):
            raise QAError(f"baseline {path} has a result without id/answerable/category/scores",
                          fix="regenerate it with this version of `qa eval --json`")
    return data


def compare(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Deltas of every metric, headline regressions beyond tolerance (on the questions in both runs),
    and the questions that newly fail or newly pass."""
    cur_by = {r["id"]: r for r in current["results"]}
    base_by = {r["id"]: r for r in baseline["results"]}
    common = [i for i in cur_by if i in base_by]
    cur_common = aggregate([cur_by[i] for i in common]) if common else {}
    base_common = aggregate([base_by[i] for i in common]) if common else {}
    deltas = {}
    for key, _, _ in METRIC_ROWS:
        a, b = base_common.get(key), cur_common.get(key)
        deltas[key] = {"baseline": a, "current": b, "delta": (b - a) if a is not None and b is not None else None}
    regressions = []
    for key, tol in HEADLINE.items():
        d = deltas[key]["delta"]
        if d is not None and d < -tol - 1e-12:
            regressions.append({"metric": key, "baseline": deltas[key]["baseline"], "current": deltas[key]["current"],
                                "delta": d, "tolerance": tol})
    newly_failing, newly_passing = [], []
    for i in common:
        was, now = base_by[i]["category"], cur_by[i]["category"]
        if was == "ok" and now != "ok":
            newly_failing.append({"id": i, "question": cur_by[i].get("question"), "was": was, "now": now})
        elif was != "ok" and now == "ok":
            newly_passing.append({"id": i, "question": cur_by[i].get("question"), "was": was, "now": now})
    return {
        "common": len(common),
        "only_current": sorted(set(cur_by) - set(base_by)),
        "only_baseline": sorted(set(base_by) - set(cur_by)),
        "baseline_metrics": base_common,
        "current_metrics": cur_common,
        "deltas": deltas,
        "regressions": regressions,
        "newly_failing": newly_failing,
        "newly_passing": newly_passing,
    }


def format_comparison(diff: dict[str, Any], baseline_path: str) -> str:
    lines = [f"compared with {baseline_path} on the {diff['common']} question(s) in both runs"]
    if diff["only_current"] or diff["only_baseline"]:
        lines.append(f"  ({len(diff['only_current'])} only in this run, {len(diff['only_baseline'])} only in the baseline: not compared)")
    lines.append(format_table(diff["current_metrics"], diff["baseline_metrics"]).split("\n\ncategories")[0]
                 if diff["common"] else "  nothing in common")
    for title, key in (("newly failing", "newly_failing"), ("newly passing", "newly_passing")):
        items = diff[key]
        lines.append(f"{title}: {len(items)}")
        for it in items:
            lines.append(f"  {it['id']} [{it['was']} -> {it['now']}] {it['question']}")
    if diff["regressions"]:
        lines.append("REGRESSION beyond tolerance:")
        for r in diff["regressions"]:
            lines.append(f"  {r['metric']}: {r['baseline']:.3f} -> {r['current']:.3f} ({r['delta']:+.3f}, tolerance {r['tolerance']})")
    else:
        lines.append("no headline metric dropped beyond tolerance "
                     f"({', '.join(HEADLINE)}; {TOLERANCE} absolute, offset validity 0)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI

def write_json(result: dict[str, Any], out: Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)


def run_eval_cli(args) -> int:
    from .pipeline import open_answerer

    files = list(args.files) or [DEFAULT_QUESTIONS]
    questions = load_questions(files, args.split)
    if args.fail_on_regression and not args.baseline:
        raise QAError("--fail-on-regression needs --baseline FILE")
    baseline = load_result(args.baseline) if args.baseline else None
    if args.report is not None and Path(args.report).suffix.lower() not in (".md", ".html", ".htm"):
        raise QAError(f"report file must end in .md or .html, not {args.report}")
    answerer = open_answerer(args.index)
    result = evaluate(questions, answerer, k=args.k, progress=not args.quiet,
                      meta={"files": [str(f) for f in files], "split": args.split})
    diff = compare(result, baseline) if baseline is not None else None
    if diff is not None:
        result["baseline"] = {"path": str(args.baseline), "regressions": diff["regressions"],
                              "newly_failing": diff["newly_failing"], "newly_passing": diff["newly_passing"]}
    if args.json_out:
        write_json(result, args.json_out)
    if args.report:
        from .report import write_report

        write_report(result, args.report, diff)
    print(f"{len(questions)} question(s) from {', '.join(map(str, files))} (split {args.split}), "
          f"index {result['meta']['index']}, k={args.k}")
    print(format_table(result["metrics"]))
    if diff is not None:
        print()
        print(format_comparison(diff, str(args.baseline)))
    if args.json_out:
        print(f"wrote {args.json_out}")
    if args.report:
        print(f"wrote {args.report}")
    if diff is not None and args.fail_on_regression and diff["regressions"]:
        return 1
    return 0
