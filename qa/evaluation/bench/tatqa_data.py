"""The TAT-QA dev set `qa bench tatqa` reads: loading and checking it, its excerpts, questions and halves.

The file (copied into eval/benchmarks/tatqa/, CC BY 4.0, sha256-checked at load) is a list of excerpts
of annual reports: a table (rows of cell strings) and the paragraphs around it, with the questions
written against that excerpt. Which of a table's first rows are its column headers the data does not
say; `header_rows` decides it (see there).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from .fitset import split_halves
from .squad_data import BENCH_DIR, read_verified

TATQA_FILE = ("tatqa/tatqa-dev.json.gz", "8da095a819af6db3c14877c6df2d4d29960e41d1a63dd1fa853507bd2a616af5")
ATTRIBUTION = "TAT-QA (Zhu et al., ACL 2021), CC BY 4.0"
ANSWER_TYPES = ("span", "multi-span", "arithmetic", "count")
SOURCES = ("table", "text", "table-text")
HEADLINE_TYPES = ("span", "multi-span")  # answered verbatim from the excerpt's text
SPLIT_SALT = "tatqa"

_YEAR = re.compile(r"(?:19|20)\d\d")
# a figure: an amount, a percentage, a bracketed negative, or a dash standing for nil
_FIGURE = re.compile(r"[\s$€£¥(+\-–—]*(?:\d[\d,]*(?:\.\d+)?|\.\d+)\s*%?\s*\)?\s*|[\s$€£¥(]*[-–—]+\)?\s*")


@dataclass(frozen=True)
class Excerpt:
    uid: str  # the table's uid: the excerpt's key
    rows: tuple[tuple[str, ...], ...]
    paragraphs: tuple[str, ...]  # in their `order`
    header_rows: int


@dataclass(frozen=True)
class TatQuestion:
    uid: str
    question: str
    answer: Any  # a list of strings (span, multi-span) or a number (arithmetic, count)
    answer_type: str
    answer_from: str
    scale: str
    excerpt: str  # the uid of its excerpt


@dataclass
class TatqaData:
    path: Path
    sha256: str
    excerpts: list[Excerpt]
    questions: list[TatQuestion]

    def halves(self) -> dict[str, str]:
        """Each excerpt uid's half ("fit" or "check"): see qa.evaluation.bench.fitset.split_halves."""
        return split_halves((e.uid for e in self.excerpts), SPLIT_SALT)


def _is_label(cell: str) -> bool:
    """A cell a header row holds: empty, a year, or words (a date, "2019 €m", "Change (%)"), not a figure."""
    c = cell.strip()
    return not c or bool(_YEAR.fullmatch(c)) or not _FIGURE.fullmatch(c)


def header_rows(rows: Sequence[Sequence[str]]) -> int:
    """How many of a table's first rows are column headers: the first row always (the data says headers
    come first); after it, each row whose row label is empty ("", "2019", "2018") or whose other cells
    are all labels, one at least not empty ("For the year ended December 31:", "2019", "2018"). The
    first row of figures ends the headers; a table keeps at least one row of body."""
    n = 1
    while n < len(rows) - 1:
        row = rows[n]
        label, rest = (row[0] if row else ""), row[1:]
        if label.strip() == "" or (any(c.strip() for c in rest) and all(_is_label(c) for c in rest)):
            n += 1
        else:
            break
    return n


def load_tatqa(bench_dir: Path = BENCH_DIR) -> TatqaData:
    """Read and verify TAT-QA dev from the project's eval/benchmarks folder (never from elsewhere)."""
    name, want = TATQA_FILE
    path = Path(bench_dir) / name
    excerpts, questions = [], []
    for item in json.loads(read_verified(path, want, "TAT-QA", "eval/benchmarks/tatqa/")):
        rows = tuple(tuple(str(c) for c in r) for r in item["table"]["table"])
        paras = tuple(p["text"] for p in sorted(item["paragraphs"], key=lambda p: int(p["order"])))
        uid = str(item["table"]["uid"])
        excerpts.append(Excerpt(uid, rows, paras, header_rows(rows)))
        for q in sorted(item["questions"], key=lambda q: int(q["order"])):
            questions.append(TatQuestion(str(q["uid"]), q["question"], q["answer"], q["answer_type"],
                                         q["answer_from"], q.get("scale") or "", uid))
    return TatqaData(path, want, excerpts, questions)


def choose_questions(data: TatqaData, split: str, every: int = 1, limit: Optional[int] = None) -> list[TatQuestion]:
    """The questions of a half ("fit", "check" or "all"), in file order; every Nth of them, then the first
    `limit`."""
    halves = data.halves()
    qs = [q for q in data.questions if split == "all" or halves[q.excerpt] == split]
    qs = qs[::every] if every > 1 else qs
    return qs[:limit] if limit else qs
