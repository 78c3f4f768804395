"""qa.text: number words, folding and control characters, the rules every layer shares."""
from __future__ import annotations

import pytest
from qa.text import fold, number_value, number_words_to_digits, printable
from qa.evaluation.metrics import contains_any, normalize_match


@pytest.mark.parametrize("text,value", [("forty-two", 42), ("Forty-five", 45), ("11", 11), ("twelve", 12),
                                        ("2,000–3,000", 2000), ("one hundred", 100), ("no date", None)])
def test_number_values(text, value):
    assert number_value(text) == value


def test_number_words_equal_digits():
    assert number_words_to_digits("forty-two ismailis") == "42 ismailis"
    assert number_words_to_digits("forty five") == "45"
    assert number_words_to_digits("twelve members") == "12 members"
    assert number_words_to_digits("two thousand") == "2000"
    assert number_words_to_digits("one hundred and twenty") == "120"
    assert number_words_to_digits("someone") == "someone"
    assert normalize_match("Forty-five people") == normalize_match("45 people")
    assert contains_any("the massacre of forty-two Ismailis", ["42"])


def test_folding_and_printable_text():
    assert fold("Furqān Ḥaqqānī") == "Furqan Haqqani"
    assert printable("a\x00b\x7fc\td\n") == "a b c\td\n"  # tab and newline stay
    assert printable("x\ud800y") == "x?y"  # a lone surrogate cannot be encoded, so it is replaced
