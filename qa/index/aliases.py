"""Names that mean the same thing: the user's alias list plus acronyms the corpus defines itself."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..ingest.corpus import ALIASES_FILE
from ..errors import IndexProblem, QAError
from ..types import Document

INDEX_FILE = "aliases.json"
# "Tehrik-e-Taliban Pakistan (TTP)": capitalised words (with short joiners) then an acronym in brackets
_DEFINITION = re.compile(
    r"((?:[A-Z][\w’'.]*(?:-[\w’']+)*)(?:[\s-]+(?:(?:of|the|and|for|e|ul|al|ut|wal|de)[\s-]+)*[A-Z][\w’'.]*(?:-[\w’']+)*){0,7})"
    r"\s+\(([A-Z][A-Za-z]{0,3}(?:-?[A-Z][A-Za-z]?){0,5})\)")


def _initials(words: Sequence[str], all_words: bool) -> str:
    return "".join(w[0] for w in words if w and (all_words or w[0].isupper())).lower()


def corpus_acronyms(docs: Iterable[Document]) -> list[list[str]]:
    """[long form, acronym] pairs defined in the documents, e.g. ["Tehrik-e-Taliban Pakistan", "TTP"]."""
    found: dict[str, str] = {}
    for doc in docs:
        for m in _DEFINITION.finditer(doc.text):
            long, short = m.group(1), m.group(2)
            letters = re.sub(r"[^A-Za-z]", "", short).lower()
            parts = re.split(r"[\s-]+", long)
            # the shortest tail of the phrase whose initials spell the acronym
            for i in range(len(parts) - 1, -1, -1):
                tail = parts[i:]
                if _initials(tail, False) == letters or _initials(tail, True) == letters:
                    found.setdefault(short, " ".join(tail) if " " in long else "-".join(tail))
                    if " " in long and "-" in long:
                        # keep the original spelling of the tail, hyphens included
                        start = m.start(1) + long.rfind(tail[0]) if len(tail) < len(parts) else m.start(1)
                        found[short] = doc.text[start:m.end(1)]
                    break
    return [[lf, sf] for sf, lf in sorted(found.items())]


def read_user_aliases(corpus_dir: Path) -> list[list[str]]:
    """Alias groups from corpus/aliases.json: {"groups": [["IS-K", "ISKP", ...], ...]}."""
    path = Path(corpus_dir) / ALIASES_FILE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        groups = data["groups"] if isinstance(data, dict) else data
        if not all(isinstance(g, list) and all(isinstance(x, str) for x in g) for g in groups):
            raise ValueError("each group must be a list of strings")
    except (ValueError, KeyError, TypeError) as e:
        raise QAError(f"{path} is not a valid alias list ({e})", fix='write {"groups": [["IS-K", "ISKP"], ...]}') from None
    return [[x.strip() for x in g if x.strip()] for g in groups if len(g) > 1]


def build(out_dir: Path, docs: Sequence[Document], corpus_dir: Path) -> list[str]:
    data = {"groups": read_user_aliases(corpus_dir), "acronyms": corpus_acronyms(docs)}
    (out_dir / INDEX_FILE).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return [INDEX_FILE]


def _pattern(term: str) -> re.Pattern:
    # short all-caps terms ("IS") match case-sensitively, so "is" the verb does not expand
    flags = 0 if (term.isupper() and len(term) <= 4) else re.I
    return re.compile(r"(?<![\w-])" + re.escape(term) + r"(?![\w-])", flags)


@dataclass
class AliasTable:
    groups: list[list[str]] = field(default_factory=list)
    _compiled: list[list[tuple[str, re.Pattern]]] = field(default_factory=list, repr=False)

    def __post_init__(self):
        self._compiled = [[(t, _pattern(t)) for t in g] for g in self.groups]
        self._canon = {}
        for g in self.groups:
            for t in g:
                self._canon.setdefault(t.lower(), g[0])

    @classmethod
    def from_data(cls, data: dict) -> "AliasTable":
        groups = [list(g) for g in data.get("groups", [])]
        groups += [list(p) for p in data.get("acronyms", [])]
        return cls(groups)

    @classmethod
    def from_index(cls, index) -> "AliasTable":
        return cls.from_data(index.aliases or {})

    def expand(self, question: str) -> str:
        """The question plus the other names of every alias group it mentions (for BM25)."""
        extra: list[str] = []
        for group in self._compiled:
            if any(p.search(question) for _, p in group):
                extra.extend(t for t, p in group if not p.search(question))
        return question if not extra else question + " " + " ".join(extra)

    def mentions(self, text: str) -> list[tuple[int, str]]:
        """(group number, the matched name) for every alias group the text names."""
        out = []
        for gi, group in enumerate(self._compiled):
            for t, p in group:
                m = p.search(text)
                if m:
                    out.append((gi, m.group()))
                    break
        return out

    def names_group(self, text: str, gi: int) -> bool:
        return any(p.search(text) for _, p in self._compiled[gi])

    def canonical(self, term: str) -> str:
        """The first name of the term's group (case-insensitive), or the term itself."""
        return self._canon.get(term.lower(), term)


def attach(index) -> None:
    """Load the alias table of a verified index into index.aliases (as stored; AliasTable.from_index reads it)."""
    try:
        index.aliases = json.loads((Path(index.path) / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexProblem(f"alias table in {index.path} cannot be read ({e.__class__.__name__})",
                           getattr(index, "store", "") or index.path) from None
