"""qa.evaluation.bench.tatqa_data and fitset's halves: TAT-QA checked at load, header rows, a split by excerpt."""
from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest

from qa.evaluation.bench import tatqa_data
from qa.evaluation.bench.fitset import split_halves
from qa.errors import QAError


@pytest.fixture(scope="module")
def data():
    return tatqa_data.load_tatqa()


def test_load_verifies_the_sha256_and_keeps_the_counts(data, tmp_path):
    assert len(data.excerpts) == 278 and len(data.questions) == 1668
    assert data.path.parent.parent == tatqa_data.BENCH_DIR  # the project's copy, never ../shared
    counts = Counter((q.answer_type, q.answer_from) for q in data.questions)
    assert counts[("span", "text")] == 349 and counts[("multi-span", "table")] == 92
    assert counts[("arithmetic", "table")] == 497 and counts[("count", "table-text")] == 20
    assert {q.scale for q in data.questions} == {"", "thousand", "million", "billion", "percent"}
    first = data.excerpts[0]
    assert first.paragraphs[0].startswith("Sales by Contract Type") and first.rows[4][0] == "Total sales"
    name = tatqa_data.TATQA_FILE[0]
    raw = json.loads(gzip.decompress((tatqa_data.BENCH_DIR / name).read_bytes()))
    raw[0]["questions"][0]["answer"] = ["tampered"]
    (tmp_path / name).parent.mkdir(parents=True)
    (tmp_path / name).write_bytes(gzip.compress(json.dumps(raw).encode()))
    with pytest.raises(QAError, match="sha256"):
        tatqa_data.load_tatqa(tmp_path)
    with pytest.raises(QAError, match="not found"):
        tatqa_data.load_tatqa(tmp_path / "nowhere")


def test_readme_carries_the_licence_and_attribution():
    text = (tatqa_data.BENCH_DIR / "tatqa" / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in text and "Zhu" in text and tatqa_data.TATQA_FILE[1] in text


def test_header_rows_end_at_the_first_row_of_figures():
    assert tatqa_data.header_rows([["", "", "Years Ended September 30,", ""], ["", "2019", "2018", "2017"],
                                   ["Fixed Price", "$  1,452.4", "$  1,146.2", "$  1,036.9"]]) == 2
    assert tatqa_data.header_rows([["($ in millions)", "", ""], ["At December 31:", "2019", "2018"],
                                   ["Recorded investment (1)", "$22,446", "$31,182"]]) == 2
    assert tatqa_data.header_rows([["", "", "December 31,", "", "Change"], ["", "2019", "2018", "$", "%"],
                                   ["Net sales", "$ 93,662", "$ 103,350", "$ (9,688)", "(9.4%)"]]) == 2
    # a section row ("Assets" over nothing) is body, not a header
    assert tatqa_data.header_rows([["As of", "2019", "2018"], ["Assets", "", ""], ["Cash", "1,200", "900"]]) == 1
    assert tatqa_data.header_rows([["OPERATING REVENUES", "Q4 2019", "Q4 2018"], ["Bell Wireless", "2,493", "—"]]) == 1
    assert tatqa_data.header_rows([["", "2019"], ["", "2018"]]) == 1  # at least one row of body


def test_split_halves_are_stable_equal_and_by_key():
    keys = [f"k{i}" for i in range(9)]
    h = split_halves(keys, "salt")
    assert h == split_halves(reversed(keys), "salt")  # not the order they come in
    assert Counter(h.values()) == {"fit": 5, "check": 4}
    many = [f"k{i}" for i in range(100)]
    assert split_halves(many, "salt") != split_halves(many, "other")  # a salt of its own per benchmark
    assert split_halves(keys + keys, "salt") == h


def test_tatqa_halves_are_by_excerpt(data):
    halves = data.halves()
    assert halves == data.halves()
    assert Counter(halves.values()) == {"fit": 139, "check": 139}
    fit = tatqa_data.choose_questions(data, "fit")
    check = tatqa_data.choose_questions(data, "check")
    assert len(fit) + len(check) == 1668 and len(tatqa_data.choose_questions(data, "all")) == 1668
    assert not {q.excerpt for q in fit} & {q.excerpt for q in check}  # no excerpt on both sides
    assert all(halves[q.excerpt] == "check" for q in check)
    assert [q.uid for q in tatqa_data.choose_questions(data, "check", every=5, limit=3)] == [q.uid for q in check[::5][:3]]
