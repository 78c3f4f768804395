"""Chat feedback: thumbs up/down appended to a JSONL file, and `qa feedback export` to eval cases.

One line per click: {"time", "reply_id", "question", "answer" (the Answer.to_dict() object, or
{"error": ...} for a refused question), "build_id" (the index manifest's), "liked": true|false|null,
"reason": the user's words on what was wrong, or null}. `liked` is null when the user takes a thumb
back; a reason given after a thumbs-down is one more line for the same reply; the last line for a
reply_id is the verdict.

Appends hold a process lock and an exclusive flock, write one whole line, flush and fsync, so likes
from many threads or processes never interleave or tear lines (a crash can at worst leave an
unterminated last line, which the reader skips).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from ..errors import QAError
from ..types import DECLINE_TEXT

_APPEND_LOCK = threading.Lock()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


MAX_REASON = 500  # characters of a reason kept: one line of what was wrong, not an essay


def feedback_record(question: str, answer: Optional[Mapping[str, Any]], build_id: Optional[str], liked: Optional[bool],
                    reply_id: Optional[str] = None, time: Optional[str] = None,
                    reason: Optional[str] = None) -> dict[str, Any]:
    """One feedback line. `liked` None means the thumb was taken back; `reason` is cleaned to one line."""
    return {
        "time": time or utc_now(),
        "reply_id": reply_id,
        "question": question,
        "answer": dict(answer) if answer is not None else None,
        "build_id": build_id,
        "liked": liked,
        "reason": clean_reason(reason),
    }


def clean_reason(reason: object) -> Optional[str]:
    """A user's reason as one line of at most MAX_REASON characters, or None when there is none."""
    if not isinstance(reason, str):
        return None
    line = " ".join(reason.split())[:MAX_REASON]
    return line or None


def append_feedback(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one record as one line: locked (threads and processes), flushed and fsynced."""
    path = Path(path)
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _APPEND_LOCK:
        with open(path, "ab") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def read_feedback(path: str | Path) -> list[dict[str, Any]]:
    """All records of a feedback file. A bad line is a QAError naming it; a torn last line is skipped."""
    path = Path(path)
    if not path.is_file():
        raise QAError(f"no feedback file at {path}",
                      fix="like or dislike answers in the chat app first, or pass --in FILE")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise QAError(f"cannot read {path} ({e.strerror or e.__class__.__name__})") from None
    lines = raw.split(b"\n")
    records = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        torn = i == len(lines) and not raw.endswith(b"\n")
        try:
            rec = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            if torn:
                print(f"qa feedback: skipping the unfinished last line of {path}", file=sys.stderr)
                continue
            raise QAError(f"{path} line {i} is not valid JSON ({e.__class__.__name__})",
                          fix="fix or delete that line") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("question"), str) or "liked" not in rec:
            raise QAError(f"{path} line {i} is not a feedback record (it needs \"question\" and \"liked\")",
                          fix="fix or delete that line")
        records.append(rec)
    return records


def case_id(question: str, prediction: str) -> str:
    h = hashlib.sha256(f"{question}\x1f{prediction}".encode("utf-8", "replace")).hexdigest()
    return f"fb-{h[:12]}"


def export_cases(records: Iterable[Mapping[str, Any]], include_liked: bool = False) -> list[dict[str, Any]]:
    """Eval-format cases from feedback: disliked replies (and liked ones with include_liked).

    The last record per reply_id is its verdict (a taken-back thumb drops it). Replies that were not
    answers (refused or failed questions) are skipped. The gold answers are left for a person to
    fill in: `answers` is empty and `needs_gold` is true; `prediction` is what the assistant said.
    Cases are deduplicated by id (question plus prediction), keeping the first.
    """
    latest: dict[Any, Mapping[str, Any]] = {}
    for i, r in enumerate(records):
        key = r.get("reply_id") or ("line", i)
        latest.pop(key, None)
        latest[key] = r
    cases: dict[str, dict[str, Any]] = {}
    for r in latest.values():
        liked = r.get("liked")
        if liked is None or (liked and not include_liked):
            continue
        ans = r.get("answer")
        if not isinstance(ans, Mapping) or "status" not in ans:
            continue
        question = str(r.get("question") or ans.get("question") or "")
        declined = ans.get("status") == "declined"
        prediction = ans.get("answer") if isinstance(ans.get("answer"), str) else DECLINE_TEXT
        cid = case_id(question, prediction)
        cases.setdefault(cid, {
            "id": cid,
            "question": question,
            "answers": [],
            "answerable": not declined,
            "sources": [],
            "type": "description",
            "split": "test",
            "needs_gold": True,
            "prediction": prediction,
            "feedback": {"liked": bool(liked), "time": r.get("time"), "build_id": r.get("build_id"),
                         "status": ans.get("status"), "confidence": ans.get("confidence"),
                         "reason": r.get("reason")},
        })
    return list(cases.values())


def write_cases(cases: list[dict[str, Any]], out: Optional[Path]) -> None:
    """Exported cases as JSONL: to `out` (replaced atomically), or to standard output."""
    text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as e:
        raise QAError(f"cannot write {out} ({e.strerror or e.__class__.__name__})") from None
