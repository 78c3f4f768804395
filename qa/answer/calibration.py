"""Confidence: the features of a chosen answer and the logistic calibration that maps them to a probability."""
from __future__ import annotations

import math

from .candidates import READER_LOGIT_SCALE
from ..settings import Calibration

AGREEMENT_CAP = 2  # more sources agreeing than this add nothing further
NO_RUNNER_UP_MARGIN = 1.0  # the margin of an answer with no rival
DEFAULT_TYPE_FIT = 0.6


def _margin(group, runner_up) -> float:
    margin = group.score - (runner_up.score if runner_up is not None else group.score - NO_RUNNER_UP_MARGIN)
    return min(max(margin, 0.0), 1.0)


def rule_features(top, group, runner_up) -> tuple[float, ...]:
    """What the calibration reads about an answer the rules chose (RULE_FEATURES): its sentence's
    similarity to the question, the weighted share of question terms it contains, the rarest question
    term it lacks, the span's type fit, the margin over the next different answer, and how many more
    sources agree (capped)."""
    f = top.features
    return (f.get("sim", 0.0), f.get("lex", 0.0), f.get("missing", 0.0), f.get("type", DEFAULT_TYPE_FIT),
            _margin(group, runner_up), float(min(len(group.docs()) - 1, AGREEMENT_CAP)))


def reader_features(top, group, runner_up, sources: int = 0, unseen: tuple[float, float] = (0.0, 0.0)) -> tuple[float, ...]:
    """The calibration's view of a reader-chosen answer (READER_FEATURES): similarity, term share and
    rarest missing term as above, the reader's span logit and its margin over "no answer here" (both
    scaled), the margin over the next different answer, how many more sources say it (`sources`: the
    cited supporters, the entity pass's included; default the group's own documents), and the shares of
    the question's salient terms that the answer's document and its sentence (with the one before) lack."""
    f = top.features
    n = sources or len(group.docs())
    return (f.get("sim", 0.0), f.get("lex", 0.0), f.get("missing", 0.0), f.get("read", 0.0) / READER_LOGIT_SCALE,
            f.get("read_null", 0.0) / READER_LOGIT_SCALE, _margin(group, runner_up), float(min(n - 1, AGREEMENT_CAP)),
            *unseen)


def confidence(cal: Calibration, features: tuple[float, ...]) -> float:
    """The calibrated probability that the answer is right."""
    w = tuple(cal.weights.values())  # in RULE_FEATURES or READER_FEATURES order (checked on load)
    return 1.0 / (1.0 + math.exp(-(cal.bias + sum(wi * fi for wi, fi in zip(w, features)))))


def table_features(m, hits) -> tuple[float, ...]:
    """The calibration's view of an answer read off a table (TABLE_FEATURES, m a qa.answer.tables
    TableMatch): how much of the row's label the question names, whether it names the column (1) or the
    table has only one (0.5), whether the answer is a compared column's header, and whether the row is
    in a passage the search found."""
    row = m.row if m.row >= 0 else m.answer[0].row
    start = m.table.row_span(row)[0]
    hit = any(h.passage.doc_id == m.doc_id and h.passage.start <= start < h.passage.end for h in hits)
    return (m.row_match, m.col_match, float(m.compare), float(hit))
