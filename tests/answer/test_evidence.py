"""qa.answer.evidence: stems matched deterministically, repetition of the question measured on a span's words."""
from __future__ import annotations

from qa.answer.evidence import question_overlap, stem, word_tokens


def test_a_word_related_to_several_question_words_matches_the_same_one_in_every_run():
    """Several question stems can share a root with a sentence's word ("leader": "lead", "leade",
    "leadership"). The match once followed the set's iteration order, which each process's hash seed
    changes, so the same question could get a different answer from run to run."""
    import os
    import subprocess
    import sys

    code = "from qa.answer.evidence import related; print(related({'lead', 'leadership', 'leade', 'leading'}, 'leader'))"
    got = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout.strip() for seed in range(6)}
    assert got == {"leade"}  # the closest in length


def test_question_words_inside_a_longer_name_are_not_repetition():
    def overlap(text, empty=0.0):
        return question_overlap([(text[a:b], t) for a, b, t in word_tokens(text)], q, empty)

    q = {stem(w) for w in ("largest", "militant", "network", "operating", "Pakistan")}
    assert overlap("Tehreek-e-Taliban Pakistan") == (0.5, 0.5)
    assert overlap("Pakistan") == (1.0, 0.0)
    assert overlap("militant groups in Pakistan")[1] == 0.0
    assert overlap("the", 1.0) == (1.0, 0.0)
