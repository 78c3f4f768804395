"""Sources that disagree: rival values of a number or date, each with its own citation."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from .grouping import Group
from ..settings import AnswerSettings
from ..text import number_value
from ..types import Sentence

YEAR_FLOOR = 1900  # a value at or above this is read as a year: a year against a count is no disagreement
VALUE_LABELS = ("CARDINAL", "NUM", "DATE", "QUANTITY", "MONEY", "PERCENT")


def anchor(best: Group, entity: list[Group], value: bool) -> Optional[Group]:
    """The chosen answer among the entity groups: the one with the same key, else, for a number or
    date question (a reader span such as "11 of the 12" or "at least 60"), the group of the first
    entity inside the span."""
    same = next((g for g in entity if g.key == best.key), None)
    if same is not None or not value:
        return same
    top = best.best
    inside = [(c.start, -c.end, g) for g in entity for c in g.members
              if c.doc_id == top.doc_id and top.start <= c.start and c.end <= top.end]
    return min(inside, key=lambda t: t[:2])[2] if inside else None


def value_keys(index, keys: Callable[[str], str], sentence: Sentence) -> set[str]:
    """The grouping keys of every number and date a sentence states."""
    text = index.documents[sentence.doc_id].text
    return {keys(text[s:e]) for s, e, lab in sentence.ents if lab in VALUE_LABELS}


def sources_considered(agreeing: Iterable[str], credible: Iterable[str], conflicting: Iterable[str]) -> int:
    """M of "N of M sources agree": the documents that state the answer, those with a credible other
    answer, and those cited for a rival value. So a shown conflict never sits beside "1 of 1 sources
    agree": M is at least the number of documents its values cite."""
    return len(set(agreeing) | set(credible) | set(conflicting))


def rivals(index, keys: Callable[[str], str], best: Group, groups: list[Group], answer: AnswerSettings) -> list:
    """Other values of a number or date that credible evidence in other documents states, as
    (group, candidate) pairs, strongest first.

    A rival counts when it comes from a document that does not state the chosen value, scores within
    `conflict_ratio` of it (or within `framed_conflict_ratio` when its sentence and the chosen one also
    share some other number or date: the same frame, "of the 12 members" with a different count), and
    its sentence does not also contain the chosen value (nor the chosen sentence the rival's): two
    sources giving different values for the same thing.
    """
    best_c = best.best
    best_val = number_value(best_c.text)
    best_docs = set(best.docs())
    best_sentence_keys = value_keys(index, keys, best_c.sentence)
    # each other document's own best few answers to the question that sit right by its terms
    per_doc: dict[str, list] = {}
    for g in groups:
        for c in g.members:
            if (c.doc_id not in best_docs and c.features.get("prox", 0) >= answer.conflict_min_prox
                    and c.features.get("type", 0) >= answer.conflict_min_type):
                per_doc.setdefault(c.doc_id, []).append((g, c))
    options = [gc for lst in per_doc.values()
               for gc in sorted(lst, key=lambda gc: -gc[1].score)[:answer.conflict_per_doc]]
    out: list = []
    for g, c in sorted(options, key=lambda gc: -gc[1].score):
        if c.score < answer.framed_conflict_ratio * best_c.score or any(r[1].doc_id == c.doc_id for r in out):
            continue
        v = number_value(c.text)
        if v is None or best_val is None or v == best_val or any(number_value(r[1].text) == v for r in out):
            continue
        rival_keys = value_keys(index, keys, c.sentence)
        if g.key in best_sentence_keys or best.key in rival_keys:
            continue
        if c.score < answer.conflict_ratio * best_c.score and \
                not (rival_keys & best_sentence_keys) - {g.key, best.key}:
            continue  # a weaker rival needs a shared frame
        if (v >= YEAR_FLOOR) != (best_val >= YEAR_FLOOR):
            continue
        out.append((g, c))
    return out

