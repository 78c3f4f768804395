"""`qa eval`: metric functions on hand-made cases, question files, the report, the baseline check, and
real runs through the CLI on the bundled corpus."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa import evaluation as ev
from qa.errors import QAError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- normalisation, EM and F1

def test_squad_normalisation_and_em():
    assert ev.squad_normalize("The  Eiffel Tower!") == "eiffel tower"
    assert ev.squad_normalize("an apple, a pear") == "apple pear"
    assert ev.exact_match("the Eiffel Tower", "Eiffel Tower.") == 1.0
    assert ev.exact_match("Eiffel", "Eiffel Tower") == 0.0
    # articles only as whole words: "theatre" keeps its "the"
    assert ev.squad_normalize("Theatre") == "theatre"


def test_token_f1_and_max_over_aliases():
    assert ev.token_f1("Hafiz Saeed Khan", "Hafiz Saeed Khan") == 1.0
    # 2 shared tokens: precision 2/3, recall 1 -> F1 0.8
    assert ev.token_f1("Saeed Khan himself", "Saeed Khan") == pytest.approx(0.8)
    assert ev.token_f1("nothing shared", "Saeed Khan") == 0.0
    assert ev.token_f1("", "") == 1.0 and ev.token_f1("", "x") == 0.0 and ev.token_f1("x", "") == 0.0
    assert ev.max_over(ev.token_f1, "Hafez Khan", ["Hafiz Saeed Khan", "Hafez Khan"]) == 1.0
    assert ev.max_over(ev.exact_match, "x", []) == 0.0


def test_number_words_equal_digits():
    assert ev.number_words_to_digits("forty-two ismailis") == "42 ismailis"
    assert ev.number_words_to_digits("forty five") == "45"
    assert ev.number_words_to_digits("twelve members") == "12 members"
    assert ev.number_words_to_digits("two thousand") == "2000"
    assert ev.number_words_to_digits("one hundred and twenty") == "120"
    assert ev.number_words_to_digits("someone") == "someone"
    assert ev.normalize_match("Forty-five people") == ev.normalize_match("45 people")
    assert ev.contains_any("the massacre of forty-two Ismailis", ["42"])


def test_match_normalisation_folds_dashes_quotes_and_accents():
    assert ev.normalize_match("al-Qaeda") == ev.normalize_match("Al Qaeda")
    assert ev.normalize_match("Taliban’s regime") == ev.normalize_match("Taliban's regime")
    assert ev.normalize_match("Furqān") == "furqan"
    assert ev.normalize_match("7,000–8,000") == ev.normalize_match("7,000-8,000")


def test_contains_is_token_bounded():
    assert not ev.contains_any("founded in 1990", ["9"])
    assert ev.contains_any("nine of them", ["9"])
    assert ev.contains_any("It was Hafiz Saeed Khan.", ["Saeed Khan"])
    assert not ev.contains_any(None, ["x"]) and not ev.contains_any("text", [])


# --------------------------------------------------------------------------- retrieval and abstention

def test_recall_and_mrr_on_hand_made_rankings():
    relevant = [[True, False], [False, False, True], [False] * 10, [False, True]]
    ranks = [ev.first_relevant_rank(r) for r in relevant]
    assert ranks == [1, 3, None, 2]
    assert ev.recall_at(ranks, 1) == 0.25
    assert ev.recall_at(ranks, 3) == 0.75
    assert ev.recall_at(ranks, 10) == 0.75
    assert ev.mrr_at(ranks, 10) == pytest.approx((1 + 1 / 3 + 1 / 2) / 4)
    assert ev.mrr_at([11], 10) == 0.0
    assert ev.recall_at([], 5) is None


def test_abstention_precision_recall_f1():
    m = ev.abstention_prf(declined=[True, True, False, False, True], unanswerable=[True, False, True, False, True])
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    m = ev.abstention_prf([False, False], [True, False])
    assert m["precision"] is None and m["recall"] == 0.0 and m["f1"] is None
    m = ev.abstention_prf([True, False], [False, False])
    assert m["precision"] == 0.0 and m["recall"] is None


def test_percentiles():
    assert ev.percentile([1, 2, 3, 4], 50) == 2.5
    assert ev.percentile([10.0], 95) == 10.0
    assert ev.percentile(list(range(101)), 95) == 95


# --------------------------------------------------------------------------- categories

BASE = dict(answerable=True, declined=False, offsets_ok=True, retrieved=True, contains=True, cited_support=True,
            conflict_ok=None)


@pytest.mark.parametrize("changes,expected", [
    ({}, "ok"),
    ({"offsets_ok": False, "retrieved": False, "contains": False}, "bad-citation"),
    ({"answerable": False, "declined": True, "retrieved": False, "contains": False}, "ok"),
    ({"answerable": False, "retrieved": False, "contains": False}, "answered-unanswerable"),
    ({"answerable": False, "offsets_ok": False}, "bad-citation"),
    ({"retrieved": False, "declined": True, "contains": False}, "retrieval-miss"),
    ({"retrieved": False, "contains": False}, "retrieval-miss"),
    ({"declined": True, "contains": False}, "wrong-decline"),
    ({"contains": False, "conflict_ok": False}, "extraction-miss"),
    ({"cited_support": False, "conflict_ok": False}, "bad-citation"),
    ({"conflict_ok": False}, "missed-conflict"),
    ({"conflict_ok": True}, "ok"),
])
def test_category_precedence(changes, expected):
    assert ev.categorize(**{**BASE, **changes}) == expected


def _cite(n, quote, start=0):
    return {"n": n, "quote": quote, "source": "x", "start": start, "end": start + len(quote)}


def test_conflict_shown_needs_each_value_with_its_own_citation():
    pred = {"citations": [_cite(1, "the massacre of forty-two Ismailis"), _cite(2, "Forty-five people were killed")],
            "conflicts": [{"value": "42", "citations": [1]}, {"value": "forty-five", "citations": [2]}]}
    assert ev.conflict_shown(pred, ["forty-two", "Forty-five"])
    # a value whose entry cites a quote that does not contain it is not shown
    bad = {**pred, "conflicts": [{"value": "42", "citations": [2]}, {"value": "45", "citations": [2]}]}
    assert not ev.conflict_shown(bad, ["forty-two", "Forty-five"])
    assert not ev.conflict_shown({"citations": pred["citations"], "conflicts": []}, ["42"])


# --------------------------------------------------------------------------- question files

def _write_jsonl(path: Path, rows) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_question_file_defaults_and_split(tmp_path):
    f = _write_jsonl(tmp_path / "q.jsonl", [
        {"id": "a", "question": "Q1?", "answers": ["x"], "answerable": True},
        {"id": "b", "question": "Q2?", "answers": [], "answerable": False, "split": "dev"},
        {"id": 3, "question": "Q3?", "answers": ["y"], "answerable": True, "split": "test", "type": "person",
         "sources": ["d1"], "conflict": [{"value": "y", "source": "d1"}]},
    ])
    qs = ev.load_questions([f])
    assert [q.id for q in qs] == ["a", "b", "3"]
    assert qs[0].split == "all" and qs[0].type == "description" and qs[0].sources == []
    assert [q.id for q in ev.load_questions([f], "test")] == ["a", "3"]  # no split = in every split
    assert ev.load_questions([f], "test")[1].conflict == [{"value": "y", "source": "d1"}]


@pytest.mark.parametrize("line,needle", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "JSON object"),
    ('{"id": "a", "question": "Q?", "answerable": true}', "missing required field 'answers'"),
    ('{"id": "a", "question": "", "answers": ["x"], "answerable": true}', "'question' must be non-empty"),
    ('{"id": "a", "question": "Q?", "answers": "x", "answerable": true}', "list of strings"),
    ('{"id": "a", "question": "Q?", "answers": ["x"], "answerable": "yes"}', "true or false"),
    ('{"id": "a", "question": "Q?", "answers": [], "answerable": true}', "lists no answers"),
])
def test_bad_question_files_raise_clear_errors(tmp_path, line, needle):
    f = _write_jsonl(tmp_path / "bad.jsonl", [line])
    with pytest.raises(QAError) as e:
        ev.load_questions([f])
    assert needle in str(e.value) and "bad.jsonl:1" in str(e.value)


def test_duplicate_ids_missing_and_empty_files(tmp_path):
    row = {"id": "a", "question": "Q?", "answers": ["x"], "answerable": True}
    with pytest.raises(QAError, match="duplicate question id"):
        ev.load_questions([_write_jsonl(tmp_path / "d.jsonl", [row, row])])
    with pytest.raises(QAError, match="not found"):
        ev.load_questions([tmp_path / "nope.jsonl"])
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(QAError, match="no questions"):
        ev.load_questions([tmp_path / "empty.jsonl"])


def test_the_gold_set_loads():
    qs = ev.load_questions([ev.PROJECT_ROOT / "eval" / "questions.jsonl"])
    assert len(qs) == 142 and sum(q.split == "test" for q in qs) == 71
    assert sum(bool(q.conflict) for q in qs) == 5


def test_offset_check_reads_relative_to_cwd_then_project_root(tmp_path, monkeypatch):
    doc = tmp_path / "doc.txt"
    doc.write_text("Alpha beta gamma.", encoding="utf-8")
    r = ev.SourceReader()
    assert r.offsets_valid({"source": str(doc), "start": 6, "end": 10, "quote": "beta"})
    assert not r.offsets_valid({"source": str(doc), "start": 5, "end": 10, "quote": "beta"})
    assert not r.offsets_valid({"source": str(tmp_path / "missing.txt"), "start": 0, "end": 1, "quote": "A"})
    monkeypatch.chdir(tmp_path)
    corpus_file = sorted((ev.PROJECT_ROOT / "corpus").glob("*.txt"))[0]
    text = corpus_file.read_text(encoding="utf-8")
    rel = f"corpus/{corpus_file.name}"  # not under tmp_path: found relative to the project root
    assert ev.SourceReader().offsets_valid({"source": rel, "start": 0, "end": 20, "quote": text[:20]})


# --------------------------------------------------------------------------- aggregate, baseline, report

def _result(qid, *, answerable=True, category="ok", rank=1, contains=True, em=0.0, f1=0.5, declined=False,
            conf=0.7, question=None, quote="Hafiz Saeed Khan led it."):
    answer = None if declined else "Hafiz Saeed Khan"
    cite = {"n": 1, "doc_id": "d", "quote": quote, "source": "s", "start": 0, "end": len(quote)}
    return {
        "id": qid, "question": question or f"question {qid}?", "answers": ["Hafiz Saeed Khan"] if answerable else [],
        "answerable": answerable, "type": "person", "category": category, "latency_ms": 10.0,
        "prediction": {"status": "declined" if declined else "answered", "answer": answer, "confidence": conf,
                       "citations": [] if declined else [cite], "closest": [cite] if declined else [],
                       "conflicts": []},
        "scores": {"declined": declined, "rank": rank if answerable else None, "relevance": "alias",
                   "relevant_in_k": rank is not None, "offsets_checked": 1, "offsets_valid": 1, "confidence": conf,
                   "answer_words": None if declined else 3,
                   "em": em if answerable else None, "f1": f1 if answerable else None,
                   "contains": contains if answerable else None,
                   "citations": 0 if declined or not answerable else 1,
                   "citations_precise": 1 if answerable and not declined and contains else 0,
                   "conflict_shown": None, "correct": answerable and contains and not declined},
    }


def _synthetic():
    results = [_result(f"q{i}", rank=(i % 4) + 1, contains=i % 3 != 0, em=float(i % 2), conf=i / 12) for i in range(10)]
    results.append(_result("u1", answerable=False, declined=True, conf=0.1))
    results.append(_result("u2", answerable=False, category="answered-unanswerable", conf=0.6,
                           question="<script>alert('x')</script> & co?"))
    results[0]["category"] = "extraction-miss"
    return {"meta": {"split": "test", "k": 5}, "metrics": ev.aggregate(results), "results": results}


def test_aggregate_on_synthetic_results():
    m = _synthetic()["metrics"]
    assert m["n_questions"] == 12 and m["n_answerable"] == 10 and m["n_unanswerable"] == 2
    assert m["R@1"] == pytest.approx(0.3) and m["R@3"] == pytest.approx(0.8) and m["R@10"] == 1.0
    assert m["EM"] == pytest.approx(0.5) and m["contains_accuracy"] == pytest.approx(0.6)
    assert m["abstention_precision"] == 1.0 and m["abstention_recall"] == 0.5
    assert m["abstention_F1"] == pytest.approx(2 / 3)
    assert m["offset_validity"] == 1.0 and m["wrong_decline_rate"] == 0.0
    assert m["categories"]["extraction-miss"] == 1 and m["categories"]["answered-unanswerable"] == 1
    assert m["latency_p50_ms"] == 10.0
    table = ev.format_table(m)
    assert "retrieval R@3" in table and "0.800" in table


def test_compare_flags_regressions_beyond_tolerance_on_common_questions():
    base = _synthetic()
    cur = json.loads(json.dumps(base))
    diff = ev.compare(cur, base)
    assert diff["common"] == 12 and not diff["regressions"] and not diff["newly_failing"]
    # one question flips from right to wrong: contains accuracy drops by 0.1 > 0.02
    r = next(r for r in cur["results"] if r["id"] == "q1")
    r["scores"]["contains"] = False
    r["category"] = "extraction-miss"
    cur["results"].append(_result("new", contains=False))  # only in the current run: not compared
    diff = ev.compare(cur, base)
    assert diff["common"] == 12 and diff["only_current"] == ["new"]
    assert [x["metric"] for x in diff["regressions"]] == ["contains_accuracy"]
    assert diff["regressions"][0]["delta"] == pytest.approx(-0.1)
    assert [x["id"] for x in diff["newly_failing"]] == ["q1"]
    assert not diff["newly_passing"]
    back = ev.compare(base, cur)
    assert [x["id"] for x in back["newly_passing"]] == ["q1"] and not back["regressions"]
    assert "REGRESSION" in ev.format_comparison(diff, "b.json")


def test_compare_offset_validity_has_zero_tolerance():
    base = _synthetic()
    cur = json.loads(json.dumps(base))
    cur["results"][3]["scores"]["offsets_valid"] = 0  # 1 of 12 citations: -0.083, but any drop fails
    for r in cur["results"]:
        r["scores"]["offsets_checked"] = 1
    diff = ev.compare(cur, base)
    assert "offset_validity" in [x["metric"] for x in diff["regressions"]]


def test_load_result_rejects_other_json(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{"metrics": {}}', encoding="utf-8")
    with pytest.raises(QAError, match="not a `qa eval --json` result"):
        ev.load_result(p)
    with pytest.raises(QAError, match="baseline not found"):
        ev.load_result(tmp_path / "none.json")


def _assert_png(data: bytes):
    assert data[:8] == PNG_MAGIC and len(data) > 2000
    from PIL import Image  # matplotlib depends on pillow
    import io

    img = Image.open(io.BytesIO(data))
    img.verify()
    assert img.size[0] > 200 and img.size[1] > 150


def test_report_markdown_and_html_with_valid_pngs(tmp_path):
    import base64
    import re

    from qa.report import PLOTS, write_report

    result = _synthetic()
    diff = ev.compare(result, result)
    md = tmp_path / "out" / "report.md"
    written = write_report(result, md, diff)
    assert md in written and len(written) == 1 + len(PLOTS)
    text = md.read_text(encoding="utf-8")
    assert "| retrieval R@3 | 0.800 |" in text and "### extraction-miss (1)" in text
    assert "### answered-unanswerable (1)" in text and "Newly failing" in text
    for name in PLOTS:
        png = md.with_name(f"report-{name}.png")
        assert f"]({png.name})" in text
        _assert_png(png.read_bytes())

    page = tmp_path / "report.html"
    write_report(result, page)
    h = page.read_text(encoding="utf-8")
    assert "<script>" not in h and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co?" in h
    imgs = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", h)
    assert len(imgs) == len(PLOTS)
    for b in imgs:
        _assert_png(base64.b64decode(b))
    with pytest.raises(QAError, match=r"\.md or \.html"):
        write_report(result, tmp_path / "report.pdf")


def test_threshold_curve_and_reliability_bins():
    from qa.report import reliability_bins, threshold_curve

    result = _synthetic()["results"]
    c = threshold_curve(result, steps=11)
    assert c["coverage"][0] == 1.0 and c["coverage"][-1] <= 1 / 12
    bins = reliability_bins(result)
    assert sum(b["n"] for b in bins) == 12


# --------------------------------------------------------------------------- real runs

FIVE = [
    {"id": "t1", "question": "Who led Wilayat Khorasan?", "answers": ["Hafiz Saeed Khan", "Hafez Saeed Khan", "Saeed Khan"],
     "answerable": True, "sources": ["usip-parvez", "magney-looming", "rani-fa"], "type": "person", "split": "test"},
    {"id": "t2", "question": "How many people sat on the leadership council of the Khorasan branch?",
     "answers": ["twelve", "12"], "answerable": True, "sources": ["usip-parvez", "rani-fa"], "type": "number"},
    {"id": "t3", "question": "At what oven temperature should a sourdough loaf be baked?", "answers": [],
     "answerable": False},
    {"id": "t4", "question": "How many people were killed in the May 2015 attack on Ismailis in Karachi?",
     "answers": ["forty-two", "42", "Forty-five", "45"], "answerable": True, "sources": ["usip-parvez", "rani-fa"],
     "type": "number", "conflict": [{"value": "forty-two", "source": "usip-parvez"}, {"value": "Forty-five", "source": "rani-fa"}]},
    {"id": "t5", "question": "Who won the 2018 FIFA World Cup?", "answers": [], "answerable": False, "type": "organisation"},
]


@pytest.fixture(scope="module")
def cached_model(real_embedder):
    """The session's model with the question vectors computed once, in one batch: every eval run below
    still goes through the unchanged ask path, but the model runs once per question, not once per run."""
    from qa.answering import clean_question
    from qa.squad import PrecomputedEmbedder

    emb = PrecomputedEmbedder(real_embedder)
    gold = ev.load_questions([ev.PROJECT_ROOT / "eval" / "questions.jsonl"])
    emb.add([clean_question(q["question"]) for q in FIVE] + [clean_question(q.question) for q in gold])
    return emb


@pytest.fixture()
def shared_model(monkeypatch, cached_model):
    """Make the CLI use that model instead of loading its own (same model, same answer path)."""
    import qa.pipeline

    monkeypatch.setattr(qa.pipeline, "embedder_from_env", lambda: cached_model)
    return cached_model


@pytest.mark.model
def test_five_questions_through_the_cli(tmp_path, real_index_dir, shared_model, capsys):
    from qa.cli import main

    f = _write_jsonl(tmp_path / "five.jsonl", FIVE)
    out = tmp_path / "out.json"
    rc = main(["eval", str(f), "--index", str(real_index_dir), "--json", str(out), "--report",
               str(tmp_path / "r.html"), "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "retrieval R@3" in printed and "abstention F1" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) >= {"metrics", "results", "meta"}
    assert [r["id"] for r in data["results"]] == ["t1", "t2", "t3", "t4", "t5"]
    for r in data["results"]:
        assert set(r) >= {"id", "question", "answers", "answerable", "prediction", "category", "latency_ms"}
        assert r["category"] in ev.CATEGORIES and r["latency_ms"] > 0
        assert set(r["prediction"]) >= {"question", "status", "answer", "confidence", "citations", "conflicts"}
    m = data["metrics"]
    assert m["n_questions"] == 5 and m["n_answerable"] == 3 and m["n_unanswerable"] == 2
    assert m["offset_validity"] == 1.0  # every quote is the source text at its offsets
    assert m["R@10"] == 1.0  # these questions are easy to retrieve
    assert m["n_conflict"] == 1
    for key in ("R@1", "R@3", "R@5", "MRR@10", "EM", "F1", "contains_accuracy", "citation_precision",
                "abstention_precision", "abstention_recall", "abstention_F1", "latency_p50_ms", "latency_p95_ms"):
        assert key in m
    assert (tmp_path / "r.html").stat().st_size > 10_000


@pytest.mark.model
def test_bad_question_file_exits_2(tmp_path, real_index_dir, shared_model, capsys):
    from qa.cli import main

    f = _write_jsonl(tmp_path / "bad.jsonl", ['{"id": "a", "question": "Q?"}'])
    assert main(["eval", str(f), "--index", str(real_index_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:1" in err and "missing required field" in err and "Traceback" not in err
    assert main(["eval", "--index", str(real_index_dir), "--fail-on-regression", "--quiet"]) == 2


@pytest.mark.model
def test_fail_on_regression_with_a_broken_retriever(tmp_path, real_index_dir, shared_model, monkeypatch, capsys):
    from qa.cli import main
    from qa.retrieval import Retriever

    base = tmp_path / "baseline.json"
    common = ["eval", "--split", "test", "--index", str(real_index_dir), "--quiet"]
    assert main([*common, "--json", str(base)]) == 0
    # the same system against its own baseline: nothing regresses
    assert main([*common, "--baseline", str(base), "--fail-on-regression"]) == 0
    capsys.readouterr()

    original = Retriever.search

    def reversed_search(self, question, k=5, docs=None, settings=None, qvec=None):
        hits = original(self, question, k=len(self.index.evidence), docs=docs, settings=settings, qvec=qvec)
        return list(reversed(hits))[:k]  # the worst passages first

    monkeypatch.setattr(Retriever, "search", reversed_search)
    rc = main([*common, "--baseline", str(base), "--fail-on-regression", "--json", str(tmp_path / "broken.json")])
    assert rc == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "R@3" in out and "newly failing" in out
    broken = json.loads((tmp_path / "broken.json").read_text(encoding="utf-8"))
    assert broken["metrics"]["R@3"] < 0.3
    assert any(r["metric"] == "R@3" for r in broken["baseline"]["regressions"])
