"""The corpus lexicon: every stem and every pair of neighbouring stems the documents use, built at index time.

It answers "does the corpus ever say X?" in microseconds, so a question about something the documents
never mention can be declined by name. Stems are BM25's (qa.index.bm25.tokenize), taken from the whole text
of every document and its metadata (title, author, publisher, date), page furniture included: a name that only a caption or a footnote mentions is still
mentioned. Pairs ("wilayat sindh") catch a name whose words each occur but never together (neighbours, or
up to two words apart, so "Hafiz Khan" is found in "Hafiz Saeed Khan"); they are
stored as sorted 64-bit hashes (a .npy file, no pickle), so a large corpus costs 8 bytes per pair.
"""
from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from functools import cached_property
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from . import bm25
from ..errors import IndexProblem
from ..types import Document

LEXICON_DIR = "lexicon"
STEMS_FILE = "stems.json"
PAIRS_FILE = "pairs.npy"
LEXICON_VERSION = 1
PAIR_GAP = 2  # words allowed between the two stems of a pair
VOWELS = frozenset("aeiouy")
# spelling variants are only looked for in stems this long: a short stem's skeleton matches too much
VARIANT_MIN = 4
ROOT_MIN = 5  # letters a stem needs to stand for a longer or shorter form of itself ("pakistan" ~ "pakistani")
ROOT_SLACK = 3
EDIT_MIN = 7  # a stem this long may be a one-letter misspelling of the corpus's ("bismark", "bismarck")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def settings() -> dict:
    """What decides the lexicon's contents; stored in the manifest, so a change rebuilds the index."""
    return {"version": LEXICON_VERSION, "tokenizer_version": bm25.TOKENIZER_VERSION, "pairs": "blake2b-64",
            "pair_gap": PAIR_GAP}


def pair_key(a: str, b: str) -> int:
    """The 64-bit key of two neighbouring stems (the same at build and question time, on every machine)."""
    return int.from_bytes(hashlib.blake2b(f"{a}\x1f{b}".encode("utf-8"), digest_size=8).digest(), "little")


def skeleton(stem: str) -> str:
    """A stem's consonants, doubles collapsed, first letter kept: transliterations of one name meet
    ("hafiz"/"hafez", "tehrik"/"tehreek", "daesh"/"daish")."""
    out = [stem[0]] if stem else []
    for c in stem[1:]:
        if c not in VOWELS and c != out[-1]:
            out.append(c)
    return "".join(out)


def _collect(texts: Iterable[str]) -> tuple[set[str], set[int]]:
    stems: set[str] = set()
    pairs: set[int] = set()
    for t in texts:
        toks = bm25.tokenize(t)
        stems.update(toks)
        # a few words apart too: "Hafiz Khan" is the "Hafiz Saeed Khan" of the text, not another name
        for gap in range(PAIR_GAP + 1):
            pairs.update(pair_key(a, b) for a, b in zip(toks, toks[gap + 1:]))
    return stems, pairs


def _texts(doc: Document) -> list[str]:
    # what a document says of itself counts as said: "the 2023 article" may be dated only by its metadata
    return [doc.text, *(v for v in (doc.title, doc.author, doc.publisher, doc.date, doc.period) if v)]


def build(out_dir: Path, docs: Sequence[Document]) -> list[str]:
    """Write the lexicon of the documents' texts under out_dir/lexicon; return the file names."""
    stems, pairs = _collect(text for d in docs for text in _texts(d))
    target = out_dir / LEXICON_DIR
    target.mkdir(parents=True, exist_ok=True)
    (target / STEMS_FILE).write_text(json.dumps({**settings(), "stems": sorted(stems)}, ensure_ascii=False),
                                     encoding="utf-8")
    np.save(target / PAIRS_FILE, np.array(sorted(pairs), dtype=np.uint64), allow_pickle=False)
    return [f"{LEXICON_DIR}/{STEMS_FILE}", f"{LEXICON_DIR}/{PAIRS_FILE}"]


class Lexicon:
    """The stems and neighbouring pairs of a corpus, with the spelling variants a name may take."""

    def __init__(self, stems: Iterable[str], pairs: np.ndarray):
        self.sorted_stems = sorted(stems)
        self.stems = frozenset(self.sorted_stems)
        self.pairs = np.asarray(pairs, dtype=np.uint64)

    @classmethod
    def of_texts(cls, texts: Iterable[str]) -> "Lexicon":
        """A lexicon made in memory, from texts (tests, and indexes made without the build)."""
        stems, pairs = _collect(texts)
        return cls(stems, np.array(sorted(pairs), dtype=np.uint64))

    def has(self, stem: str) -> bool:
        return stem in self.stems

    def has_pair(self, a: str, b: str) -> bool:
        k = np.uint64(pair_key(a, b))
        i = int(np.searchsorted(self.pairs, k))
        return i < len(self.pairs) and self.pairs[i] == k

    @cached_property
    def _skeletons(self) -> dict[str, tuple[str, ...]]:
        # made on first use: a question about a name the corpus spells differently is the only caller
        out: dict[str, list[str]] = {}
        for s in self.sorted_stems:
            if len(s) >= VARIANT_MIN and s.isalpha():
                out.setdefault(skeleton(s), []).append(s)
        return {k: tuple(v) for k, v in out.items()}

    def variants(self, stem: str) -> tuple[str, ...]:
        """The corpus's own stems that may be `stem` written otherwise: itself when present; else the same
        consonant skeleton, or the same root a few letters longer or shorter. Empty: never mentioned."""
        if stem in self.stems:
            return (stem,)
        if len(stem) < VARIANT_MIN or not stem.isalpha():
            return ()
        found = list(self._skeletons.get(skeleton(stem), ()) if len(skeleton(stem)) >= 3 else ())
        if len(stem) >= ROOT_MIN:
            i = bisect_left(self.sorted_stems, stem)  # longer forms: "pakistan" -> "pakistani"
            while i < len(self.sorted_stems) and self.sorted_stems[i].startswith(stem):
                if len(self.sorted_stems[i]) - len(stem) <= ROOT_SLACK:
                    found.append(self.sorted_stems[i])
                i += 1
            for n in range(max(ROOT_MIN, len(stem) - ROOT_SLACK), len(stem)):  # shorter: "pakistani" -> "pakistan"
                if stem[:n] in self.stems:
                    found.append(stem[:n])
        if not found and len(stem) >= EDIT_MIN:
            found = [e for e in _edits1(stem) if e in self.stems]
        return tuple(dict.fromkeys(found))

    def mentions(self, stems: Sequence[str], variants: bool = True) -> tuple[bool, ...]:
        """For a phrase's stems: whether each one occurs (itself or, with `variants`, a variant)."""
        return tuple(bool(self.variants(s) if variants else self.has(s)) for s in stems)

    def phrase_together(self, stems: Sequence[str]) -> bool:
        """Whether each neighbouring pair of the phrase's stems occurs side by side (or one word apart)
        somewhere, in any of their variants (a name whose words occur only apart is not the name)."""
        for a, b in zip(stems, stems[1:]):
            va, vb = self.variants(a) or (a,), self.variants(b) or (b,)
            if not any(self.has_pair(x, y) or self.has_pair(y, x) for x in va for y in vb):
                return False
        return True


def _edits1(w: str) -> list[str]:
    """Every string one deletion, transposition, substitution or insertion away (a few hundred)."""
    splits = [(w[:i], w[i:]) for i in range(len(w) + 1)]
    return sorted({a + b[1:] for a, b in splits if b} | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
                  | {a + c + b[1:] for a, b in splits if b for c in _LETTERS} | {a + c + b for a, b in splits for c in _LETTERS})


def attach(index) -> None:
    """Load the lexicon of a verified index into index.lexicon."""
    d = Path(index.path) / LEXICON_DIR
    where = getattr(index, "store", "") or index.path  # what `qa index` rebuilds: a folder or a store
    try:
        data = json.loads((d / STEMS_FILE).read_text(encoding="utf-8"))
        pairs = np.load(d / PAIRS_FILE, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise IndexProblem(f"lexicon in {index.path} cannot be read ({e.__class__.__name__})", where) from None
    if not isinstance(data, dict) or {k: data.get(k) for k in settings()} != settings():
        raise IndexProblem(f"lexicon in {index.path} was built with other settings", where)
    stems = data.get("stems")
    if not isinstance(stems, list) or not all(isinstance(s, str) for s in stems) \
            or pairs.dtype != np.uint64 or pairs.ndim != 1:
        raise IndexProblem(f"lexicon in {index.path} is malformed", where)
    index.lexicon = Lexicon(stems, pairs)


def of_index(index) -> Optional[Lexicon]:
    """The index's lexicon, or None for an index object that carries none (a test's stand-in)."""
    return getattr(index, "lexicon", None)
