"""qa.evaluation.bench.tatqa_score: TAT-QA's normalisation, numbers with their scale, multi-span sets, EM/F1, containment."""
from __future__ import annotations

import pytest

from qa.evaluation.bench.tatqa_score import (best_pairing, contained, contained_in_quotes, em_f1, gold_items,
                                             item_number, normalize_item, normalize_tokens, prediction_readings)


def test_currency_signs_and_thousands_separators_do_not_count():
    assert em_f1("$1,496.5", ["1496.5"], "", "span") == (1.0, 1.0)
    assert em_f1("1496.5", ["$1,496.5"], "million", "span") == (1.0, 1.0)
    assert em_f1("$  1,452.4", ["$1,452.4"], "million", "span") == (1.0, 1.0)  # a cell's spacing
    assert em_f1("1,496.6", ["$1,496.5"], "million", "span") == (0.0, 0.0)


def test_percent_sign_and_percent_scale_are_the_same_number():
    assert em_f1("22.2%", ["22.2"], "percent", "span")[0] == 1.0
    assert em_f1("22.2", ["22.2%"], "percent", "span")[0] == 1.0
    assert em_f1("22.2%", ["22.2%"], "", "span")[0] == 1.0
    assert em_f1("0.222", ["22.2"], "percent", "span")[0] == 1.0  # a bare number is also read as written
    assert em_f1("22.3%", ["22.2"], "percent", "span")[0] == 0.0


def test_a_stated_scale_word_is_compared_with_the_question_scale():
    gold = ["$1,496.5"]
    assert em_f1("$1,496.5 million", gold, "million", "span")[0] == 1.0
    assert em_f1("1.4965 billion", gold, "million", "span")[0] == 1.0
    assert em_f1("1,496.5 thousand", gold, "million", "span")[0] == 0.0
    assert em_f1("1496500000", gold, "million", "span")[0] == 1.0  # the full figure, written out
    # a stated scale is not multiplied by the question's again (the official script would, for one dev answer)
    assert normalize_item("$3.0 million", "million") == normalize_item("3,000,000", "")
    assert item_number("1.5 million dollars").value == 1.5e6
    assert item_number("12 months") is None and item_number("December 31, 2019") is None


def test_negative_numbers_in_brackets():
    assert em_f1("(2.3)", ["-2.3"], "", "arithmetic") == (1.0, 1.0)
    assert em_f1("$(9,688)", ["-9688"], "thousand", "arithmetic")[0] == 1.0
    assert em_f1("(9.4%)", ["-9.4"], "percent", "span")[0] == 1.0
    assert em_f1("(2.3)", ["2.3"], "", "arithmetic") == (0.0, 0.0)
    assert em_f1("\u22122.3", ["-2.3"], "", "arithmetic")[0] == 1.0  # a typographic minus sign


def test_text_loses_case_punctuation_and_articles():
    assert em_f1("The annual basis.", ["annual basis"], "", "span") == (1.0, 1.0)
    assert normalize_tokens("An (2.3) 12% $ 1,452.4 the Company's") == ["-2.3000", "0.1200", "1452.4000", "companys"]
    em, f1 = em_f1("on an annual basis", ["Annual basis"], "", "span")
    assert em == 0.0 and f1 == pytest.approx(0.8)  # {on, annual, basis} against {annual, basis}


def test_multi_span_answers_are_sets_matched_item_by_item():
    gold = ["fixed-price type", "cost-plus type", "time-and-material type"]
    assert em_f1("fixed-price type, cost-plus type and time-and-material type", gold, "", "multi-span") == (1.0, 1.0)
    assert em_f1("time-and-material type; fixed-price type; cost-plus type", gold, "", "multi-span")[0] == 1.0
    em, f1 = em_f1("cost-plus type and fixed-price type", gold, "", "multi-span")
    assert em == 0.0 and f1 == pytest.approx(2 / 3)  # two of three items, the third missing
    em, f1 = em_f1("cost-plus type, fixed-price type, time-and-material type, other", gold, "", "multi-span")
    assert em == 0.0 and f1 == pytest.approx(3 / 4)  # an extra item costs too
    # an item with "and" inside it survives the reading that splits only at commas
    assert em_f1("Sales and marketing, Research and development", ["Research and development", "Sales and marketing"],
                 "", "multi-span")[0] == 1.0
    # numbers in a multi-span answer are numbers: the table's row as the answer names every year
    assert em_f1("2019 | 2018 | 2017", ["2017", "2018", "2019"], "", "multi-span")[0] == 1.0
    assert em_f1("2019", ["2019", "2018"], "", "multi-span") == (0.0, 0.5)
    assert [["a, b and c"], ["a", "b and c"], ["a", "b", "c"]] == prediction_readings("a, b and c", True)
    assert prediction_readings("a, b and c", False) == [["a, b and c"]]


def test_arithmetic_and_count_f1_is_exact_match():
    assert em_f1("-12.6", ["-12.6"], "million", "arithmetic") == (1.0, 1.0)
    assert em_f1("44.1 56.7 -12.6", ["-12.6"], "million", "arithmetic") == (0.0, 0.0)
    assert gold_items(3, "count") == ["3"] and gold_items(3.0, "count") == ["3"]
    assert gold_items(-12.6, "arithmetic") == ["-12.6"] and gold_items(["a", "b"], "multi-span") == ["a", "b"]
    assert em_f1("3", gold_items(3, "count"), "", "count") == (1.0, 1.0)


def test_no_prediction_scores_nothing():
    assert em_f1(None, ["x"], "", "span") == (0.0, 0.0)
    assert em_f1("  ", ["x"], "", "span") == (0.0, 0.0)
    assert not contained(None, ["x"]) and not contained_in_quotes([], ["x"])


def test_gold_contained_in_the_answer_and_in_the_quotes():
    row = "Total sales | $1,496.5 | $1,202.9 | $1,107.7"
    assert contained(row, ["1496.5"]) and contained(row, ["$1,202.9"])
    assert not contained("Total sales | $11,496.5", ["$1,496.5"])  # whole numbers, not digits inside one
    assert not contained("fixed-price type contracts", ["fixed-price type", "cost-plus type"])  # every item
    assert contained("The annual basis is used.", ["Annual basis"])
    assert contained_in_quotes(["fixed-price type contracts.", "a cost-plus type contract"],
                               ["fixed-price type", "cost-plus type"])  # items from different quotes
    assert not contained_in_quotes(["fixed-price type contracts."], ["fixed-price type", "cost-plus type"])
    # a number before a list's joiner or a sentence's punctuation is still a number
    assert contained("2019; 2018", ["2019", "2018"]) and contained("in 2019, sales rose by 5.", ["2019", "5"])


def test_best_pairing_is_one_to_one_and_optimal():
    assert best_pairing([[1.0, 0.9], [0.9, 0.0]]) == pytest.approx(1.8)  # greedy would take 1.0 and get 1.0
    assert best_pairing([[0.5], [0.7]]) == pytest.approx(0.7)  # one column serves one row only
    assert best_pairing([]) == 0.0
