"""`qa bench tatqa`: its options, the rows fitting shares with it, and an end-to-end run with the real model and Chromium."""
from __future__ import annotations

import json

import pytest

from qa.evaluation.bench import tatqa
from qa.evaluation.bench.tatqa_data import choose_questions, load_tatqa
from qa.errors import QAError


def test_formats_and_bad_options_are_refused_before_any_work(tmp_path):
    assert tatqa.parse_formats("pdf, html") == ("html", "pdf")
    assert tatqa.parse_formats(["docx"]) == ("docx",)
    with pytest.raises(QAError, match="unknown format"):
        tatqa.parse_formats("html,odt")
    with pytest.raises(QAError, match="unknown format"):
        tatqa.parse_formats("")
    for kw, msg in (({"every": 0}, "--every"), ({"limit": 0}, "--limit")):
        with pytest.raises(QAError, match=msg):
            tatqa.tatqa_set("check", cache_dir=tmp_path, **kw)
    with pytest.raises(QAError, match="unknown split"):
        tatqa.tatqa_set("test", cache_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_the_fitting_rows_ask_each_question_of_its_own_excerpt(tmp_path):
    """tatqa_set: one row per question and format, restricted to its excerpt's document, scored by EM."""
    from qa.neural.embedding import HashEmbedder

    data = load_tatqa()
    first = choose_questions(data, "fit")[0].excerpt
    limit = sum(1 for q in choose_questions(data, "fit") if q.excerpt == first) + 1  # two excerpts
    bench = tatqa.tatqa_set("fit", ("html", "docx"), limit=limit, embedder=HashEmbedder(), cache_dir=tmp_path)
    assert set(bench.answerers) == {"html", "docx"} and bench.split == "fit"
    assert len(bench.questions) == 2 * limit
    assert {q.labels["format"] for q in bench.questions} == {"html", "docx"}
    assert all(q.labels["split"] == "fit" and q.answerable and q.index == q.labels["format"] for q in bench.questions)
    q = bench.questions[0]
    assert q.docs == (f"tatqa-{first[:8]}-html",) and q.labels["excerpt"] == first
    answer, hits = bench.ask(q, retrieve_k=10)
    assert hits and {h.passage.doc_id for h in hits} == {q.docs[0]}  # never another excerpt's passages
    assert bench.right(q, " ; ".join(q.answers)) and not bench.right(q, "something else")
    assert len(bench.answerers["html"].index.documents) == 2  # --limit: a corpus of those excerpts only
    assert [p.name.startswith("tatqa-html-2excerpts-") for p in tmp_path.iterdir() if "html" in p.name] == [True]


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.browser
def test_tatqa_bench_end_to_end_on_two_excerpts_through_the_cli(tmp_path, monkeypatch, real_embedder, capsys):
    import qa.neural.embedding
    from qa.cli import main

    data = load_tatqa()
    check = choose_questions(data, "check")
    two = {q.excerpt for q in check[:1]} | {next(q.excerpt for q in check if q.excerpt != check[0].excerpt)}
    n = sum(1 for q in check if q.excerpt in two)  # the questions of the half's first two excerpts
    monkeypatch.setenv("QA_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(qa.neural.embedding, "make_embedder", lambda settings=None: real_embedder)
    out = tmp_path / "tatqa.json"
    assert main(["bench", "tatqa", "--limit", str(n), "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "span + multi-span" in printed and "arithmetic + count" in printed and "ECE" in printed
    r = json.loads(out.read_text(encoding="utf-8"))
    assert r["split"] == "check" and r["formats"] == ["html", "docx", "pdf"] and r["reader"]
    assert len(r["records"]) == 3 * n
    for f in ("html", "docx", "pdf"):
        assert r["indexes"][f]["documents"] == 2 and not r["indexes"][f]["reused"]
    for rec in r["records"]:
        assert rec["doc"] == f"tatqa-{rec['excerpt'][:8]}-{rec['format']}" and rec["split"] == "check"
        assert set(rec["prediction"]) == {"answer", "status", "confidence", "decline_reason"}
        assert set(rec["scores"]) == {"em", "f1", "contained", "contained_in_quotes", "right"}
        assert rec["gold"] and 0.0 <= rec["scores"]["em"] <= rec["scores"]["f1"] + 1e-9 <= 1.0 + 1e-9
    m = r["metrics"]
    assert m["headline"]["n"] + m["arithmetic_count"]["n"] == 3 * n
    assert set(m["headline_by_format"]) == {"html", "docx", "pdf"}
    for f, g in m["headline_by_format"].items():
        assert g["contained_in_quotes"] > 0, f  # some answer's citations quote the gold, in every format
    assert m["headline"]["em"] > 0  # and some answer is exactly right
    assert r["timing"]["model_calls_in_loop"] == 0  # every question embedded once, up front
    # a second run reuses the documents and the indexes
    again = tatqa.run_tatqa(tatqa.TatqaOptions(limit=n, formats=("pdf",), progress=False, embedder=real_embedder,
                                               cache_dir=tmp_path / "cache", log=lambda s: None))
    assert again["indexes"]["pdf"]["reused"]
    assert [x["prediction"] for x in again["records"]] == [x["prediction"] for x in r["records"] if x["format"] == "pdf"]
