"""qa.answer.calibration: the features an answer's confidence is computed from, and the logistic map."""
from __future__ import annotations



def test_reader_confidence_counts_every_cited_source_capped_at_two_more():
    from types import SimpleNamespace

    from qa.answer.calibration import reader_features

    top = SimpleNamespace(features={"sim": 0.7, "lex": 0.5, "missing": 0.0, "read": 12.0, "read_null": -3.0})
    group = SimpleNamespace(score=3.0, docs=lambda: ["a"])  # the reader read only one document
    runner = SimpleNamespace(score=2.5)
    f = reader_features(top, group, runner)
    assert f == (0.7, 0.5, 0.0, 1.2, -0.3, 0.5, 0.0, 0.0, 0.0)
    # two more documents state the same answer (the entity pass found them): agreement 2, and no more
    assert reader_features(top, group, runner, sources=3)[6] == 2.0
    assert reader_features(top, group, runner, sources=5)[6] == 2.0
    assert reader_features(top, group, None, sources=2)[5:7] == (1.0, 1.0)


def test_reader_confidence_reads_the_salient_terms_the_answers_document_and_sentence_lack():
    from types import SimpleNamespace

    from qa.answer.calibration import reader_features
    from qa.settings import READER_FEATURES

    top = SimpleNamespace(features={"sim": 0.7})
    f = reader_features(top, SimpleNamespace(score=1.0, docs=lambda: ["a"]), None, unseen=(0.5, 1.0))
    assert len(f) == len(READER_FEATURES) and f[-2:] == (0.5, 1.0)
    assert READER_FEATURES[-2:] == ("unseen_doc", "unseen_sent")
