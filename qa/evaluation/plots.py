"""The plots of the `qa eval --report` file, as PNG bytes, and the figures they are drawn from.

matplotlib is imported here only, when the plots are drawn, with the Agg backend, so nothing needs a
display and nothing else pays for it.
"""
from __future__ import annotations

import io
from typing import Any, Optional, Sequence

from .metrics import contains_any
from .results import RECALL_KS
from ..settings import load_tuned

PLOTS = ("recall_at_k", "confidence", "reliability")
PLOT_TITLES = {
    "recall_at_k": "Retrieval recall@k",
    "confidence": "Accuracy and coverage against the confidence threshold",
    "reliability": "Reliability diagram",
}


# --------------------------------------------------------------------------- data for plots

def would_be_correct(r: dict[str, Any]) -> bool:
    """Whether the answer would be right if it were given: for a declined question, the closest
    material's first quote stands in for the answer the assistant held back. Unanswerable: never."""
    if not r.get("answerable"):
        return False
    p = r.get("prediction") or {}
    if p.get("status") != "declined":
        return bool(r.get("scores", {}).get("contains"))
    closest = p.get("closest") or []
    return bool(closest) and contains_any(closest[0].get("quote"), r.get("answers") or [])


def threshold_curve(results: Sequence[dict[str, Any]], steps: int = 101) -> dict[str, list[float]]:
    """For thresholds t in [0, 1]: coverage (share of questions answered at conf >= t), accuracy of those
    answers, and overall accuracy (right answers plus right abstentions, over all questions)."""
    conf = [float((r.get("prediction") or {}).get("confidence") or 0.0) for r in results]
    good = [would_be_correct(r) for r in results]
    unans = [not r.get("answerable") for r in results]
    n = len(results) or 1
    ts, cov, acc, overall = [], [], [], []
    for i in range(steps):
        t = i / (steps - 1)
        answered = [j for j, c in enumerate(conf) if c >= t]
        right = sum(1 for j in answered if good[j])
        abstained_right = sum(1 for j, c in enumerate(conf) if c < t and unans[j])
        ts.append(t)
        cov.append(len(answered) / n)
        acc.append(right / len(answered) if answered else float("nan"))
        overall.append((right + abstained_right) / n)
    return {"threshold": ts, "coverage": cov, "accuracy": acc, "overall": overall}


def reliability_bins(results: Sequence[dict[str, Any]], n_bins: int = 10) -> list[dict[str, Any]]:
    bins = [{"lo": i / n_bins, "hi": (i + 1) / n_bins, "n": 0, "right": 0, "conf_sum": 0.0} for i in range(n_bins)]
    for r in results:
        c = float((r.get("prediction") or {}).get("confidence") or 0.0)
        b = bins[min(int(c * n_bins), n_bins - 1)]
        b["n"] += 1
        b["right"] += would_be_correct(r)
        b["conf_sum"] += c
    for b in bins:
        b["accuracy"] = b["right"] / b["n"] if b["n"] else None
        b["mean_conf"] = b["conf_sum"] / b["n"] if b["n"] else None
    return bins


def expected_calibration_error(bins: Sequence[dict[str, Any]]) -> Optional[float]:
    total = sum(b["n"] for b in bins)
    if not total:
        return None
    return sum(b["n"] / total * abs(b["accuracy"] - b["mean_conf"]) for b in bins if b["n"])


def _thresholds(result: dict[str, Any]) -> tuple[float, float]:
    """(decline below, answer at or above) of the run: recorded in its meta, else the shipped values."""
    t = result.get("meta", {}).get("thresholds")
    if isinstance(t, dict) and {"decline_below", "answer_from"} <= set(t):
        return float(t["decline_below"]), float(t["answer_from"])
    cal = load_tuned().answer.calibration(bool(result.get("meta", {}).get("reader")))
    return cal.decline_below, cal.answer_from


# --------------------------------------------------------------------------- plots

def make_plots(result: dict[str, Any]) -> dict[str, bytes]:
    """PNG bytes of each plot, by name (see PLOTS)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    results = result["results"]
    out: dict[str, bytes] = {}

    def png(fig) -> bytes:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        return buf.getvalue()

    # recall@k
    ranks = [r["scores"]["rank"] for r in results if r.get("answerable")]
    ks = list(range(1, 11))
    rec = [sum(1 for x in ranks if x is not None and x <= k) / len(ranks) if ranks else 0.0 for k in ks]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(ks, rec, marker="o")
    for k in RECALL_KS:
        ax.annotate(f"{rec[k - 1]:.2f}", (k, rec[k - 1]), textcoords="offset points", xytext=(0, -14), ha="center", fontsize=8)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.set_title(f"Recall@k ({len(ranks)} answerable questions)")
    out["recall_at_k"] = png(fig)

    # accuracy / coverage against the threshold, and the coverage-accuracy curve
    curve = threshold_curve(results)
    low, high = _thresholds(result)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    a1.plot(curve["threshold"], curve["accuracy"], label="accuracy of answers given")
    a1.plot(curve["threshold"], curve["coverage"], label="coverage (share answered)")
    a1.plot(curve["threshold"], curve["overall"], label="overall (right answers + right declines)")
    a1.axvspan(0, low, color="grey", alpha=0.08, lw=0)
    a1.text(low / 2, 0.03, "estimated:\ndeclined answers\njudged by the\nclosest quote", fontsize=6, ha="center",
            color="dimgrey")
    a1.axvline(low, color="grey", ls="--", lw=1)
    a1.axvline(high, color="grey", ls=":", lw=1)
    a1.text(low, 1.02, "decline", fontsize=7, ha="center")
    a1.text(high, 1.02, "uncertain", fontsize=7, ha="center")
    a1.set_xlabel("confidence threshold (answer when confidence >= threshold)")
    a1.set_ylim(0, 1.08)
    a1.grid(alpha=0.3)
    a1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    cov = [c for c, a in zip(curve["coverage"], curve["accuracy"]) if a == a]
    acc = [a for a in curve["accuracy"] if a == a]
    a2.plot(cov, acc, marker=".", ms=3)
    a2.set_xlabel("coverage")
    a2.set_ylabel("accuracy")
    a2.set_xlim(0, 1.02)
    a2.set_ylim(0, 1.05)
    a2.grid(alpha=0.3)
    a2.set_title("coverage / accuracy", fontsize=9)
    fig.suptitle("Accuracy against confidence", fontsize=10)
    out["confidence"] = png(fig)

    # reliability diagram
    bins = reliability_bins(results)
    ece = expected_calibration_error(bins)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    centers = [(b["lo"] + b["hi"]) / 2 for b in bins]
    heights = [b["accuracy"] or 0.0 for b in bins]
    ax.bar(centers, heights, width=0.09, alpha=0.7, edgecolor="black", label="accuracy in bin")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    for c, b in zip(centers, bins):
        if b["n"]:
            ax.text(c, (b["accuracy"] or 0) + 0.02, f"n={b['n']}", ha="center", fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability" + (f" (ECE {ece:.3f})" if ece is not None else ""))
    ax.legend(fontsize=7, loc="upper left")
    out["reliability"] = png(fig)
    return out
