"""Scoring gold conversations (`qa eval CONVERSATIONS.jsonl`): each turn in its context and alone, compared.

Every conversation is asked through a fresh `answerer.conversation()`, turn after turn, as a user would;
each turn's stand-alone form (qa.evaluation.conversations) is also asked alone with `answerer.ask`. A
turn is correct when it contains a gold alias (answerable; "uncertain" counts as answering) or is
declined (unanswerable), the rule `qa eval` applies to questions. What is reported, against the targets
of TARGETS:

- follow-up accuracy in context beside the same turns' stand-alone accuracy, and their ratio: how much
  of what the rewritten question would get the conversation gets (the stand-alone form is the ceiling the
  resolution is measured against, so retrieval and reading misses do not count against it);
- first-turn identity: a first turn has nothing to resolve, so its answer must be `ask`'s exactly (text,
  status, confidence);
- topic changes rewritten: a turn marked `"followup": false` must come back with `understood_as` null;
- diagnostics: follow-ups asked as written with no history (the floor a small folder's luck gives),
  follow-ups rewritten at all, rewrites equal to the gold stand-alone form, accuracy by what
  the follow-up resolves, and latency in context and alone.
"""
from __future__ import annotations

import re
import sys
import time
from typing import Any, Optional, Sequence

from tqdm import tqdm

from ..errors import QAError
from .conversations import RESOLVES, GoldConversation, GoldTurn
from .metrics import contains_any, mean, percentile

# the targets: in context at least 85% as often right as the rewrites; no topic change
# rewritten; every first turn exactly as `qa ask` answers it
TARGETS = {"followup_ratio": 0.85, "topic_changes_rewritten": 0, "first_turn_identity": 1.0}
CONFIDENCE_PLACES = 4  # Answer.to_dict rounds confidence to 4 places: identity is judged on what users see


def turn_correct(turn: GoldTurn, prediction: dict[str, Any]) -> bool:
    declined = prediction.get("status") == "declined"
    if not turn.answerable:
        return declined
    return not declined and contains_any(prediction.get("answer"), turn.answers)


def identical(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two answers are the same answer: same text, status and confidence (as printed)."""
    conf = lambda p: round(float(p.get("confidence") or 0.0), CONFIDENCE_PLACES)  # noqa: E731
    return a.get("answer") == b.get("answer") and a.get("status") == b.get("status") and conf(a) == conf(b)


def same_question(a: str, b: str) -> bool:
    """The same words in the same order, case and punctuation aside: a rewrite "equal to the gold form"."""
    words = lambda s: re.sub(r"[^\w]+", " ", s.casefold()).split()  # noqa: E731
    return words(a) == words(b)


def role(n: int, turn: GoldTurn) -> str:
    return "first" if n == 1 else ("followup" if turn.followup else "topic-change")


def turn_record(c: GoldConversation, n: int, turn: GoldTurn, in_context: dict[str, Any], alone: dict[str, Any],
                latency: tuple[float, float], as_written: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """One turn's result: the predictions, whether each is right, and what the engine understood.
    `as_written` is a follow-up's question asked alone, with no history (None for other turns)."""
    understood = in_context.get("understood_as")
    r = role(n, turn)
    return {
        "id": f"{c.id}#{n}", "conversation": c.id, "turn": n, "split": c.split, "role": r,
        "resolves": turn.resolves, "question": turn.question, "standalone": turn.standalone,
        "answers": turn.answers, "answerable": turn.answerable,
        "understood_as": understood, "rewritten": understood is not None,
        "rewrite_matches_gold": (understood is not None and same_question(understood, turn.standalone)) if r == "followup" else None,
        "correct_in_context": turn_correct(turn, in_context), "correct_stand_alone": turn_correct(turn, alone),
        "correct_as_written": None if as_written is None else turn_correct(turn, as_written),
        "as_written_said": None if as_written is None else {k: as_written.get(k) for k in ("status", "answer", "confidence")},
        "identical_to_ask": identical(in_context, alone) if r == "first" else None,
        "latency_ms": {"in_context": round(latency[0], 2), "stand_alone": round(latency[1], 2)},
        "prediction": in_context, "stand_alone_prediction": alone,
    }


def _rate(flags: Sequence[bool]) -> Optional[float]:
    return mean([1.0 if f else 0.0 for f in flags])


def aggregate_turns(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The conversation metrics from per-turn records (so they can be recomputed on any subset)."""
    by = {k: [r for r in records if r["role"] == k] for k in ("first", "followup", "topic-change")}
    fu = by["followup"]
    m: dict[str, Any] = {
        "n_conversations": len({r["conversation"] for r in records}), "n_turns": len(records),
        "n_first": len(by["first"]), "n_followup": len(fu), "n_topic_change": len(by["topic-change"]),
        "n_unanswerable": sum(1 for r in records if not r["answerable"]),
    }
    m["followup_accuracy_in_context"] = _rate([r["correct_in_context"] for r in fu])
    m["followup_accuracy_stand_alone"] = _rate([r["correct_stand_alone"] for r in fu])
    a, b = m["followup_accuracy_in_context"], m["followup_accuracy_stand_alone"]
    m["followup_ratio"] = a / b if a is not None and b else None
    m["followup_accuracy_as_written"] = _rate([r["correct_as_written"] for r in fu if r.get("correct_as_written") is not None])
    m["first_turn_identity"] = _rate([r["identical_to_ask"] for r in by["first"]])
    m["topic_changes_rewritten"] = sum(1 for r in by["topic-change"] if r["rewritten"])
    m["topic_change_accuracy"] = _rate([r["correct_in_context"] for r in by["topic-change"]])
    m["followups_rewritten"] = _rate([r["rewritten"] for r in fu])
    m["rewrites_matching_gold"] = _rate([r["rewrite_matches_gold"] for r in fu])
    m["accuracy_in_context"] = _rate([r["correct_in_context"] for r in records])
    m["accuracy_stand_alone"] = _rate([r["correct_stand_alone"] for r in records])
    m["by_resolves"] = {
        k: {"n": len(rs), "in_context": _rate([r["correct_in_context"] for r in rs]),
            "stand_alone": _rate([r["correct_stand_alone"] for r in rs])}
        for k in RESOLVES if (rs := [r for r in fu if r["resolves"] == k])}
    m["latency_p50_in_context_ms"] = percentile([r["latency_ms"]["in_context"] for r in records], 50)
    m["latency_p50_stand_alone_ms"] = percentile([r["latency_ms"]["stand_alone"] for r in records], 50)
    m["targets"] = targets_met(m)
    m["lost_in_context"] = [r["id"] for r in fu if r["correct_stand_alone"] and not r["correct_in_context"]]
    m["not_identical"] = [r["id"] for r in by["first"] if not r["identical_to_ask"]]
    m["topic_changes_rewritten_ids"] = [r["id"] for r in by["topic-change"] if r["rewritten"]]
    return m


def targets_met(m: dict[str, Any]) -> dict[str, Optional[bool]]:
    """Each target met (True), missed (False), or not measurable on these turns (None)."""
    ratio, ident = m["followup_ratio"], m["first_turn_identity"]
    return {
        "followup_ratio": None if ratio is None else ratio >= TARGETS["followup_ratio"],
        "topic_changes_rewritten": None if not m["n_topic_change"] else m["topic_changes_rewritten"] <= TARGETS["topic_changes_rewritten"],
        "first_turn_identity": None if ident is None else ident >= TARGETS["first_turn_identity"],
    }


def evaluate_conversations(conversations: Sequence[GoldConversation], answerer, k: int,
                           progress: bool = True) -> dict[str, Any]:
    """Ask every turn in its conversation and its stand-alone form alone; {"metrics", "turns"}."""
    if not callable(getattr(answerer, "conversation", None)):
        raise QAError("this assistant cannot hold a conversation (its answerer has no conversation())",
                      fix="conversation files need the conversation engine (issue 28)")
    answerer.warm_up()
    records = []
    total = sum(len(c.turns) for c in conversations)
    bar = tqdm(total=total, desc="conversations", unit="turn", disable=not progress, file=sys.stderr, leave=False)
    for c in conversations:
        conv = answerer.conversation()  # a fresh history for every conversation
        for n, turn in enumerate(c.turns, 1):
            try:
                t = time.perf_counter()
                in_context = conv.ask(turn.question, k=k).to_dict()
                t_ctx = (time.perf_counter() - t) * 1000.0
                t = time.perf_counter()
                alone = answerer.ask(turn.standalone, k=k).to_dict()
                t_alone = (time.perf_counter() - t) * 1000.0
                # the floor: a follow-up asked with no history at all. In a small folder many are right
                # by luck (issue 28), and this says how much of the in-context figure is that luck
                as_written = answerer.ask(turn.question, k=k).to_dict() if role(n, turn) == "followup" else None
            except QAError as e:
                raise QAError(f"conversation {c.id}, turn {n}: {e}") from None
            records.append(turn_record(c, n, turn, in_context, alone, (t_ctx, t_alone), as_written))
            bar.update(1)
    bar.close()
    return {"metrics": aggregate_turns(records), "turns": records}


# --------------------------------------------------------------------------- the printed table

# (key, label, kind, target text): kind "rate" 3 decimals, "n" a count, "ms" milliseconds
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("n_conversations", "conversations", "n", ""),
    ("n_turns", "turns", "n", ""),
    ("n_followup", "follow-up turns", "n", ""),
    ("n_topic_change", "topic changes", "n", ""),
    ("followup_accuracy_in_context", "follow-up accuracy, in context", "rate", ""),
    ("followup_accuracy_stand_alone", "follow-up accuracy, stand-alone form", "rate", ""),
    ("followup_ratio", "in context / stand-alone", "rate", f">= {TARGETS['followup_ratio']}"),
    ("followup_accuracy_as_written", "follow-up accuracy, as written, no history", "rate", ""),
    ("first_turn_identity", "first turns identical to qa ask", "rate", "1.000"),
    ("topic_changes_rewritten", "topic changes rewritten", "n", "0"),
    ("topic_change_accuracy", "topic-change accuracy", "rate", ""),
    ("followups_rewritten", "follow-ups rewritten", "rate", ""),
    ("rewrites_matching_gold", "rewrites equal to the gold form", "rate", ""),
    ("accuracy_in_context", "all turns, in context", "rate", ""),
    ("accuracy_stand_alone", "all turns, stand-alone", "rate", ""),
    ("latency_p50_in_context_ms", "latency p50 in context (ms)", "ms", ""),
    ("latency_p50_stand_alone_ms", "latency p50 stand-alone (ms)", "ms", ""),
)
TARGET_KEYS = {"followup_ratio", "first_turn_identity", "topic_changes_rewritten"}


def fmt(v: Any, kind: str) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if kind == "rate" else (f"{v:.1f}" if kind == "ms" else str(v))


def table_rows(m: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(label, value, target, verdict) for every row; verdict is "met", "MISSED" or ""."""
    out = []
    for key, label, kind, target in ROWS:
        verdict = ""
        if key in TARGET_KEYS:
            ok = m.get("targets", {}).get(key)
            verdict = "" if ok is None else ("met" if ok else "MISSED")
        out.append((label, fmt(m.get(key), kind), target, verdict))
    return out


def resolves_rows(m: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(k, str(v["n"]), fmt(v["in_context"], "rate"), fmt(v["stand_alone"], "rate"))
            for k, v in (m.get("by_resolves") or {}).items()]


def format_conversations(m: dict[str, Any]) -> str:
    rows = table_rows(m)
    w = max(len(r[0]) for r in rows)
    head = f"{'conversation metric':<{w}}  {'value':>8}  {'target':>7}"
    lines = [head, "-" * len(head)]
    lines += [f"{label:<{w}}  {value:>8}  {target:>7}  {verdict}".rstrip() for label, value, target, verdict in rows]
    if m.get("by_resolves"):
        lines += ["", "follow-ups by what they resolve: " + "; ".join(
            f"{k} {n} turns, {a} in context vs {b} alone" for k, n, a, b in resolves_rows(m))]
    return "\n".join(lines)
