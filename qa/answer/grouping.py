"""Grouping candidates that say the same thing across documents, and corroboration between the two passes."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..index.aliases import AliasTable
from .candidates import Candidate
from ..text import TOKEN, VALUE_WORDS, number_value

KEY_MEMO_SIZE = 65536  # grouping keys remembered (a corpus's entities recur across questions)
_NAME_GLOSS = re.compile(r"^(?:the\s+)?(.+?)\s*\(([^()]+)\)?$", re.I)
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.I)
_ARTICLES = ("the", "a", "an")


def normalise(text: str, aliases: Optional[AliasTable] = None) -> str:
    """Grouping key: case, punctuation, articles, spelled-out numbers and alias spellings folded."""
    t = text.strip()
    if aliases is not None:
        # "Tehreek-e-Taliban Pakistan (TTP)": a name followed by another name of it is that name once
        m = _NAME_GLOSS.match(t) if "(" in t else None
        if m and aliases.canonical(m.group(1)).lower() == aliases.canonical(m.group(2)).lower():
            t = m.group(1)
        t = aliases.canonical(_ARTICLE.sub("", t, count=1))
    v = number_value(t)
    words = [w for w in TOKEN.findall(t.lower()) if w not in _ARTICLES]
    if v is not None and all(w in VALUE_WORDS or w.isdigit() for w in words):
        return f"#{v:g}"
    if aliases is not None:
        # a canonical name may be several words ("TTP" -> "Tehrik-e-Taliban Pakistan"): split it like any text
        return " ".join(TOKEN.findall(" ".join(aliases.canonical(w) for w in words).lower()))
    return " ".join(words)


class Keys:
    """`normalise(text, aliases)`, memoised. Bounded; a plain dict is safe to share between threads
    here (a lost entry is only recomputed)."""

    def __init__(self, aliases: AliasTable):
        self.aliases = aliases
        self._memo: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        k = self._memo.get(text)
        if k is None:
            if len(self._memo) >= KEY_MEMO_SIZE:
                self._memo = {}
            k = self._memo[text] = normalise(text, self.aliases)
        return k


@dataclass
class Group:
    """One answer as every candidate that says it; `score` is its best member's plus corroboration."""
    key: str
    members: list[Candidate]
    score: float
    support_ratio: float  # qa.settings.SpanSettings.support_ratio

    @property
    def best(self) -> Candidate:
        return max(self.members, key=lambda c: c.score)

    def docs(self) -> list[str]:
        return list(dict.fromkeys(c.doc_id for c in sorted(self.members, key=lambda c: -c.score)))

    def best_per_doc(self) -> dict[str, Candidate]:
        """Each document's best candidate for this answer, best document first."""
        out: dict[str, Candidate] = {}
        for c in sorted(self.members, key=lambda c: -c.score):
            out.setdefault(c.doc_id, c)
        return out

    def supporters(self) -> list[Candidate]:
        """The best document's candidate, then every other document whose own evidence for this
        answer is credible (within `support_ratio` of the best): the sources that say it. Corroboration
        scoring, citations and "N of M sources agree" all count these."""
        ranked = list(self.best_per_doc().values())
        top = ranked[0].score
        return ranked[:1] + [c for c in ranked[1:] if top > 0 and c.score >= self.support_ratio * top]


def typed_supporters(group: Group, min_type: float) -> list[Candidate]:
    """An entity group's supporters whose label fits the question's type at least `min_type`: the ones
    that may corroborate, and be cited for, another pass's answer."""
    return [c for c in group.supporters() if c.features.get("type", 1.0) >= min_type]


def group(cands: list[Candidate], keys: Keys, w_agree: float, support_ratio: float,
          votes: bool = True) -> list[Group]:
    """Same answer after normalisation, from any document, becomes one group; best first. With
    `votes` off a group scores as its best member: an alternative question names its options, so a
    source mentioning one is no vote for it."""
    groups: dict[str, list[Candidate]] = {}
    for c in cands:
        c.key = keys(c.text)
        groups.setdefault(c.key, []).append(c)
    # a person named in full and by part ("Hafiz Khan" / "Hafez Saeed Khan") is one person
    order = sorted(groups, key=lambda k: -len(k))
    for k in list(order):
        if k not in groups or not all(c.label == "PERSON" for c in groups[k]):
            continue
        kw = set(k.split())
        for longer in order:
            if longer != k and longer in groups and len(kw) >= 1 and kw < set(longer.split()) \
                    and all(c.label == "PERSON" for c in groups[longer]):
                groups[longer].extend(groups.pop(k))
                break
    out = []
    for k, members in groups.items():
        g = Group(k, members, 0.0, support_ratio)
        # corroboration: each further document whose own evidence for this answer is credible
        g.score = g.best.score + (w_agree * (len(g.supporters()) - 1) if votes else 0.0)
        out.append(g)
    out.sort(key=lambda g: (-g.score, g.key))
    return out


def corroborate(reader_groups: list[Group], entity_groups: list[Group], w_corr: float,
                min_type: float) -> list[Group]:
    """Reader groups re-ranked by agreement the reader did not read: each further document whose own
    entity evidence states the same answer (same key) adds `w_corr`. The reader reads a few windows;
    the entity pass sees every retrieved sentence."""
    if not w_corr:
        return reader_groups
    by_key = {g.key: g for g in entity_groups}
    for g in reader_groups:
        other = by_key.get(g.key)
        if other is not None:
            extra = {c.doc_id for c in typed_supporters(other, min_type)} - set(g.docs())
            g.score += w_corr * len(extra)
    reader_groups.sort(key=lambda g: (-g.score, g.key))
    return reader_groups
