"""Gold questions: the JSONL schema `qa eval` reads, validated line by line with the file and line in every error."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..errors import QAError
from ..settings import PROJECT_ROOT, rel

DEFAULT_QUESTIONS = rel(PROJECT_ROOT / "eval" / "questions.jsonl")
PROVENANCE = ("derived_from", "method", "changed")  # optional fields of a derived question, in file order


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
    # provenance of a question made from another one (scripts/make_negatives.py): kept so that a
    # result or a report can say which gold question a negative came from and what was changed
    derived_from: Optional[str] = None
    method: Optional[str] = None
    changed: Optional[dict[str, str]] = None

    def to_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "question": self.question, "answers": self.answers, "answerable": self.answerable,
             "sources": self.sources, "type": self.type, "split": self.split}
        if self.conflict:
            d["conflict"] = self.conflict
        for key in PROVENANCE:
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d


def _str_list(v: Any, what: str, where: str) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise QAError(f"{where}: '{what}' must be a list of strings")
    return [x for x in v if x.strip()]


def parse_question(obj: Any, where: str) -> GoldQuestion:
    if not isinstance(obj, dict):
        raise QAError(f"{where}: each line must be a JSON object")
    if "turns" in obj:
        raise QAError(f"{where}: a conversation (it has 'turns') in a file of questions",
                      fix="keep conversations in a file of their own: a file's first line decides its kind")
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
    derived_from, method, changed = obj.get("derived_from"), obj.get("method"), obj.get("changed")
    for key, v in (("derived_from", derived_from), ("method", method)):
        if v is not None and not (isinstance(v, str) and v.strip()):
            raise QAError(f"{where}: '{key}' must be non-empty text")
    if changed is not None and not (isinstance(changed, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in changed.items())):
        raise QAError(f"{where}: 'changed' must be an object of text values, e.g. {{\"from\": ..., \"to\": ...}}")
    return GoldQuestion(str(qid), question, answers, obj["answerable"], sources, qtype, split,
                        [{"value": c["value"], "source": str(c.get("source", ""))} for c in conflict],
                        derived_from, method, None if changed is None else dict(changed))


def load_questions(paths: Sequence[str | Path], split: str = "all") -> list[GoldQuestion]:
    """Gold questions from JSONL files, filtered by split ('all' keeps everything; a question without a
    split is in every split). Raises QAError naming the file and line of any problem."""
    return load_records(paths, split, parse_question, "question", fix="pass a JSONL file of gold questions")


def load_records(paths: Sequence[str | Path], split: str, parse: Callable[[Any, str], Any], kind: str,
                 fix: Optional[str] = None) -> list:
    """The records of JSONL files, each line made one by `parse(obj, "file:line")` (a record with `id`
    and `split`), unique ids, filtered by split; gold questions and gold conversations alike. Raises
    QAError naming the file and line of any problem, and for a file or split with no `kind` at all."""
    out: list = []
    seen: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise QAError(f"{kind} file not found: {path}", fix=fix)
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
            r = parse(obj, where)
            if r.id in seen:
                raise QAError(f"{where}: duplicate {kind} id {r.id!r} (first seen at {seen[r.id]})")
            seen[r.id] = where
            n_file += 1
            if split == "all" or r.split in (split, "all"):
                out.append(r)
        if n_file == 0:
            raise QAError(f"{path} has no {kind}s")
    if not out:
        raise QAError(f"no {kind}s in the {split!r} split of {', '.join(map(str, paths))}", fix="use --split all")
    return out
