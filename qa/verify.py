"""Auditing an answer (`qa verify`): every citation re-checked against its original file, extracted again."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Optional

from .errors import QAError
from .formats import SkipFile, extract, format_of


def read_answers(text: str, where: str) -> list[dict[str, Any]]:
    """Answer objects from `qa ask --json` output: one object, a list of them, or JSON lines; also the
    `results` of a `qa eval --json` file (each one's `prediction`)."""
    text = text.strip()
    if not text:
        raise QAError(f"{where} is empty", fix="pass the output of `qa ask --json`")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as e:
            raise QAError(f"{where} is not JSON ({e.msg} at line {e.lineno})",
                          fix="pass the output of `qa ask --json`") from None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        data = [r.get("prediction") for r in data["results"]]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(a, dict) and isinstance(a.get("citations", []), list) for a in items):
        raise QAError(f"{where} holds no answer object", fix="pass the output of `qa ask --json`")
    return items


class Checker:
    """Re-opens each cited original once, extracts it again, and checks a citation against it."""

    def __init__(self, base: Optional[Path] = None):
        self.base = base
        self._renditions: dict[str, Any] = {}

    def _open(self, source: str) -> Path:
        p = Path(source)
        if not p.is_absolute() and not p.exists() and self.base is not None:
            p = self.base / source
        return p

    def rendition(self, source: str):
        """The original's rendition extracted now, or the reason it cannot be."""
        if source not in self._renditions:
            p = self._open(source)
            try:
                if not p.is_file():
                    raise FileNotFoundError(source)
                if format_of(p) is None:
                    raise SkipFile("unsupported")
                self._renditions[source] = extract(p)
            except FileNotFoundError:
                self._renditions[source] = "the original file is missing"
            except SkipFile as e:
                self._renditions[source] = f"the original cannot be read again ({e.reason}: {e.message})"
            except ImportError as e:
                self._renditions[source] = str(e)
        return self._renditions[source]

    def check(self, c: dict[str, Any]) -> list[str]:
        """What is wrong with one citation (empty when it holds)."""
        try:
            start, end, quote, source = int(c["start"]), int(c["end"]), c["quote"], str(c["source"])
        except (KeyError, TypeError, ValueError):
            return ["the citation lacks source, start, end or quote"]
        r = self.rendition(source)
        if isinstance(r, str):
            return [r]
        problems = []
        if r.text[start:end] != quote:
            problems.append(f"the original's text at chars {start}-{end} is not the quote")
        a, b = c.get("answer_start"), c.get("answer_end")
        if a is not None and b is not None and not (start <= int(a) < int(b) <= end):
            problems.append("the answer span is not inside the quote")
        ts = c.get("text_source")
        if ts:
            p = self._open(str(ts))
            try:
                with open(p, encoding="utf-8", newline="") as f:
                    stored = f.read()
                if stored[start:end] != quote:
                    problems.append(f"{ts} does not hold the quote at chars {start}-{end}")
            except (OSError, UnicodeDecodeError):
                problems.append(f"the text source {ts} cannot be read")
        if r.format == "pdf":
            page = r.page_of(start, end)
            if c.get("page") is not None and c.get("page") != page:
                problems.append(f"the quote is on page {page}, the citation says {c.get('page')}")
            if c.get("boxes") is not None and _boxes(c["boxes"]) != _boxes(r.boxes_for(start, end)):
                problems.append("the quote's boxes differ from the original's")
        return problems


def _boxes(boxes: Iterable) -> list:
    return [(int(b["page"]), [[round(float(v), 1) for v in rect] for rect in b["rects"]]) for b in boxes]


def verify(answers: list[dict[str, Any]], base: Optional[Path] = None) -> tuple[int, int, list[str]]:
    """(citations checked, citations that fail, one line per problem) over every citation and
    closest-material quote of the answers."""
    checker, lines, n, bad = Checker(base), [], 0, 0
    for i, a in enumerate(answers, 1):
        label = f"answer {i}" if len(answers) > 1 else "answer"
        for c in list(a.get("citations") or []) + list(a.get("closest") or []):
            n += 1
            problems = checker.check(c)
            bad += bool(problems)
            lines += [f"{label} [{c.get('n')}] {c.get('source')} chars {c.get('start')}-{c.get('end')}: {p}"
                      for p in problems]
    return n, bad, lines

