"""Sources that disagree: rival values of a number or date, each with its own citation."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from ..index import bm25
from .grouping import Group
from ..settings import AnswerSettings
from ..text import number_value
from ..types import Sentence

YEAR_FLOOR = 1900  # a value at or above this is read as a year: a year against a count is no disagreement
VALUE_LABELS = ("CARDINAL", "NUM", "DATE", "QUANTITY", "MONEY", "PERCENT")
DEMONYM_ROOT, DEMONYM_SLACK = 4, 2  # "pakistan" + "i": a stem this long may match with this many more letters
NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT"})


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


class Subject:
    """What a chosen value is about: the names (index-time entities of a naming label) in its sentence and
    the one before it in the passage, which often names what the sentence is about ("... the May 2015
    attack on a busload of workers in Karachi. Forty-five people died."). A rival value is about the same
    thing when its sentence (with the one before) names one of them: a whole name, or one holding the
    other's words or their roots ("Wilayat Khorasan" / "Khorasan", "Pakistanis" / "Pakistan"). "The
    Harvard Library ... 18 million volumes" is no rival to "The University of Chicago Library ... 9.8
    million volumes". When the chosen value's sentences name nothing there is nothing to compare, and every
    rival passes as before."""

    def __init__(self, index, best: Sentence):
        self.index = index
        self.names = names_near(index, best)

    def shared_by(self, sentence: Sentence) -> bool:
        if not self.names:
            return True
        return any(same_name(a, b) for a in self.names for b in names_near(self.index, sentence))


def same_name(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two names (stem tuples) name the same thing: the shorter is the longer's last words ("Khorasan"
    of "Wilayat Khorasan", "Khan" of "Hafiz Saeed Khan"), a word matching as itself or its demonym
    ("Pakistanis" / "Pakistan"). A first word is no match: "University" is not "University of Chicago"."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return all(same_stem(x, y) for x, y in zip(short, long_[len(long_) - len(short):]))


def same_stem(x: str, y: str) -> bool:
    if x == y:
        return True
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    return len(short) >= DEMONYM_ROOT and long_.startswith(short) and len(long_) - len(short) <= DEMONYM_SLACK


def names_near(index, sentence: Sentence) -> frozenset:
    """The names (as stem tuples) in a sentence and in the one before it in the same passage."""
    rows = [sentence]
    prev = index.sentences[sentence.row - 1] if sentence.row >= 1 else None
    if prev is not None and prev.passage_id == sentence.passage_id:
        rows.append(prev)
    text = index.documents[sentence.doc_id].text
    names = (tuple(bm25.tokenize(text[a:b])) for r in rows for a, b, lab in r.ents if lab in NAME_LABELS)
    return frozenset(n for n in names if n)


def sources_considered(agreeing: Iterable[str], credible: Iterable[str], conflicting: Iterable[str]) -> int:
    """M of "N of M sources agree": the documents that state the answer, those with a credible other
    answer, and those cited for a rival value. So a shown conflict never sits beside "1 of 1 sources
    agree": M is at least the number of documents its values cite."""
    return len(set(agreeing) | set(credible) | set(conflicting))


def rivals(index, keys: Callable[[str], str], best: Group, groups: list[Group], answer: AnswerSettings,
           subject: Optional[Subject] = None) -> list:
    """Other values of a number or date that credible evidence in other documents states, as
    (group, candidate) pairs, strongest first.

    A rival counts when it comes from a document that does not state the chosen value, scores within
    `conflict_ratio` of it (or within `framed_conflict_ratio` when its sentence and the chosen one also
    share some other number or date: the same frame, "of the 12 members" with a different count), and
    its sentence does not also contain the chosen value (nor the chosen sentence the rival's): two
    sources giving different values for the same thing. With a `subject`, the rival's sentence must also
    be about what the chosen one is about: a museum's cost is no rival to a bridge's.
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
        if subject is not None and not subject.shared_by(c.sentence):
            continue  # another thing's value: "The museum cost 6.5 million pounds" for the bridge's cost
        out.append((g, c))
    return out

