"""Gold conversations: the JSONL schema `qa eval` reads for follow-up questions, validated line by line.

One conversation a line: `{"id", "split"?, "corpus"?, "turns": [turn, ...]}`, each turn
`{"question", "answers", "answerable", "standalone"?, "followup"?, "resolves"?}`:

- `standalone` is the turn's question rewritten to stand alone ("When was Hafiz Saeed Khan killed?" for
  "When was he killed?"); it is what the turn is compared with, asked with no history. The first turn
  and a change of topic stand alone already, so theirs is the question itself (and may be left out).
- `followup` is true (the default) for a turn after the first that leans on the earlier turns, false for
  a change of topic: a question that must be answered as written, never rewritten.
- `resolves` optionally names what a follow-up leaves to the conversation (RESOLVES), so results can be
  broken down by it.
- `corpus` is the folder the conversation is about (relative to the working directory or the project);
  without it, the bundled `corpus/`. `qa eval` refuses an index built from other documents, since every
  answer would then be scored against the wrong text.

A file is a conversation file when its first line has "turns" (`file_kind`); the question loader
(qa.evaluation.gold) refuses a conversation line in a file of questions, and this one a question line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import QAError
from ..settings import PROJECT_ROOT
from .gold import _str_list, load_records

DEFAULT_CONVERSATION_CORPUS = "corpus"  # relative to the project: the bundled documents
RESOLVES = ("pronoun", "possessive", "demonstrative", "definite", "ellipsis")
SPLITS = ("dev", "test", "all")
MAX_TURNS = 20


@dataclass
class GoldTurn:
    question: str
    answers: list[str]
    answerable: bool
    standalone: str
    followup: bool  # False for the first turn and for a change of topic
    resolves: Optional[str] = None


@dataclass
class GoldConversation:
    id: str
    turns: list[GoldTurn]
    split: str = "all"
    corpus: Optional[str] = None  # as written in the file; None = the bundled corpus
    where: str = ""  # file:line, for errors about the conversation as a whole


def file_kind(path: str | Path) -> str:
    """'conversations' when the file's first non-empty line is a JSON object with "turns", else
    'questions' (an unreadable or malformed file is left to the question loader's error)."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError:
                        return "questions"
                    return "conversations" if isinstance(obj, dict) and "turns" in obj else "questions"
    except (OSError, UnicodeDecodeError):
        pass
    return "questions"


def _text(obj: dict, key: str, where: str) -> str:
    v = obj[key]
    if not isinstance(v, str) or not v.strip():
        raise QAError(f"{where}: '{key}' must be non-empty text")
    return v


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def parse_turn(obj: Any, n: int, where: str) -> GoldTurn:
    """Turn `n` (1-based) of a conversation; `where` is the file and line of the conversation."""
    at = f"{where}: turn {n}"
    if not isinstance(obj, dict):
        raise QAError(f"{at} must be a JSON object")
    for key in ("question", "answers", "answerable"):
        if key not in obj:
            raise QAError(f"{at}: missing required field '{key}'",
                          fix="each turn needs question, answers, answerable (and standalone after the first)")
    question = _text(obj, "question", at)
    if not isinstance(obj["answerable"], bool):
        raise QAError(f"{at}: 'answerable' must be true or false")
    answers = _str_list(obj["answers"], "answers", at)
    if obj["answerable"] and not answers:
        raise QAError(f"{at} is answerable but lists no answers", fix="add the accepted answers, or set answerable to false")
    followup = obj.get("followup", n > 1)
    if not isinstance(followup, bool):
        raise QAError(f"{at}: 'followup' must be true or false")
    if n == 1 and followup:
        raise QAError(f"{at}: the first turn cannot be a follow-up (there is nothing before it)")
    if "standalone" in obj:
        standalone = _text(obj, "standalone", at)
    elif followup:
        raise QAError(f"{at}: missing required field 'standalone'",
                      fix="write the follow-up's question as it would be asked alone")
    else:
        standalone = question
    # a turn that stands alone is compared with itself; a follow-up that needs no rewriting is a
    # mislabelled topic change, and either mistake would skew the comparison silently
    if not followup and not _same(standalone, question):
        raise QAError(f"{at} is not a follow-up, so its 'standalone' must be its question",
                      fix="set followup to true if it leans on earlier turns")
    if followup and _same(standalone, question):
        raise QAError(f"{at} is a follow-up but its 'standalone' is the question itself",
                      fix='set "followup": false for a question that stands alone')
    resolves = obj.get("resolves")
    if resolves is not None and resolves not in RESOLVES:
        raise QAError(f"{at}: 'resolves' must be one of {', '.join(RESOLVES)}")
    if resolves is not None and not followup:
        raise QAError(f"{at}: only a follow-up resolves anything ('resolves' on a turn that stands alone)")
    return GoldTurn(question, answers, obj["answerable"], standalone, followup, resolves)


def parse_conversation(obj: Any, where: str) -> GoldConversation:
    if not isinstance(obj, dict):
        raise QAError(f"{where}: each line must be a JSON object")
    for key in ("id", "turns"):
        if key not in obj:
            hint = " (a question line in a file of conversations?)" if "question" in obj else ""
            raise QAError(f"{where}: missing required field '{key}'{hint}",
                          fix="each line of a conversation file needs id and turns")
    cid = obj["id"]
    if not isinstance(cid, (str, int)) or isinstance(cid, bool) or str(cid).strip() == "":
        raise QAError(f"{where}: 'id' must be a non-empty string")
    turns = obj["turns"]
    if not isinstance(turns, list) or not turns:
        raise QAError(f"{where}: 'turns' must be a non-empty list of turns")
    if len(turns) > MAX_TURNS:
        raise QAError(f"{where}: {len(turns)} turns; at most {MAX_TURNS} are scored in one conversation")
    split = obj.get("split") or "all"
    if split not in SPLITS:
        raise QAError(f"{where}: 'split' must be dev or test")
    corpus = obj.get("corpus")
    if corpus is not None and not (isinstance(corpus, str) and corpus.strip()):
        raise QAError(f"{where}: 'corpus' must be a folder's path")
    parsed = [parse_turn(t, n, where) for n, t in enumerate(turns, 1)]
    return GoldConversation(str(cid), parsed, split, corpus, where)


def load_conversations(paths: Sequence[str | Path], split: str = "all") -> list[GoldConversation]:
    """Gold conversations from JSONL files, filtered by split ('all' keeps everything; a conversation
    without a split is in every split). Raises QAError naming the file and line of any problem."""
    return load_records(paths, split, parse_conversation, "conversation")


def corpus_folder(value: Optional[str]) -> Path:
    """The folder a conversation's `corpus` names: relative to the working directory when it is there,
    else to the project (so the shipped files work from anywhere); None is the bundled corpus."""
    if value is None:  # never a `corpus/` of the working directory: the bundled one is meant
        return PROJECT_ROOT / DEFAULT_CONVERSATION_CORPUS
    p = Path(value)
    if p.is_absolute() or p.is_dir():
        return p
    return PROJECT_ROOT / p


def check_index(conversations: Sequence[GoldConversation], index) -> Path:
    """The one folder the conversations are about, checked against the documents the index was built
    from (by the corpus fingerprint, which does not depend on where the folder lies). Raises QAError
    when they are about several folders, or about other documents than the index's."""
    from ..ingest.corpus import corpus_hash

    folders = {}
    for c in conversations:
        folders.setdefault(corpus_folder(c.corpus).resolve(), c.where)
    if len(folders) > 1:
        a, b = list(folders.items())[:2]
        raise QAError(f"conversations over different folders in one run: {a[0]} ({a[1]}) and {b[0]} ({b[1]})",
                      fix="run `qa eval --index DIR FILE` once per folder, with an index of that folder")
    folder, where = next(iter(folders.items()))
    if not folder.is_dir():
        raise QAError(f"{where}: corpus folder not found: {folder}")
    built_from = getattr(index, "manifest", {}).get("corpus_hash")
    if built_from and corpus_hash(folder) != built_from:
        raise QAError(f"{where}: the conversations are about the documents in {folder}, but the index at "
                      f"{index.path} was built from other documents",
                      fix=f"build an index of that folder (qa index --corpus {folder} --index DIR) and pass --index DIR")
    return folder
