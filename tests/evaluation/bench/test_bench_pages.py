"""`qa bench pages`: the web-page questions checked at load, halves by page, the pages as a corpus, a run through the CLI."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from qa.evaluation.bench import pages
from qa.errors import QAError


def test_questions_are_checked_and_every_asked_page_is_in_the_folder(tmp_path):
    qs = pages.load_page_questions()
    assert len(qs) == 180 and sum(q["answerable"] for q in qs) == 120
    by_page = Counter(q["page"] for q in qs)
    assert len(by_page) == 60 and set(by_page.values()) == {3}
    keys = pages.page_keys()
    assert len(keys) == 121 and set(by_page) <= set(keys)
    (tmp_path / "questions.jsonl").write_text("{}\n", encoding="utf-8")
    with pytest.raises(QAError, match="sha256"):
        pages.load_page_questions(tmp_path)
    with pytest.raises(QAError, match="not found"):
        pages.load_page_questions(tmp_path / "nowhere")


def test_halves_are_by_page_thirty_and_thirty():
    qs = pages.load_page_questions()
    h = pages.halves(qs)
    assert h == pages.halves(list(reversed(qs)))
    assert Counter(h.values()) == {"fit": 30, "check": 30}
    assert Counter(h[q["page"]] for q in qs) == {"fit": 90, "check": 90}


def test_the_pages_corpus_is_the_pages_uncompressed_with_their_doc_ids(tmp_path):
    import gzip

    keys = pages.page_keys()[:2]
    ids = pages.write_pages_corpus(keys, tmp_path / "corpus")
    assert ids == {k: f"page-{k[:12]}" for k in keys}
    for k in keys:
        assert (tmp_path / "corpus" / f"{k}.html").read_bytes() == \
            gzip.decompress((pages.PAGES_DIR / "html" / f"{k}.html.gz").read_bytes())
    meta = json.loads((tmp_path / "corpus" / "metadata.json").read_text(encoding="utf-8"))["documents"]
    assert meta == {f"{k}.html": {"doc_id": ids[k]} for k in keys}
    pages.write_pages_corpus(keys[:1], tmp_path / "corpus")
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == sorted(["metadata.json", f"{keys[0]}.html"])


def test_pages_bench_on_a_few_pages_through_the_cli(tmp_path, monkeypatch, capsys):
    """The fake embedder (no model), one page: the plumbing, the counts and the figures' consistency."""
    from qa.cli import main

    monkeypatch.setenv("QA_EMBEDDER", "fake")
    monkeypatch.setenv("QA_BENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "pages.json"
    assert main(["bench", "pages", "--split", "fit", "--limit", "3", "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "unanswerable declined" in printed and "ECE" in printed and "fit half" in printed
    r = json.loads(out.read_text(encoding="utf-8"))
    fit_pages = {k for k, v in pages.halves(pages.load_page_questions()).items() if v == "fit"}
    assert r["split"] == "fit" and len(r["results"]) == 3
    assert {x["page"] for x in r["results"]} <= fit_pages and r["index"]["documents"] == 1  # one page: its three questions
    m, o = r["metrics"], r["outcomes"]
    assert m["n_answerable"] == 2 and m["n_unanswerable"] == 1
    assert o["n"] == 3 and sum(o[f"n_{s}"] for s in ("answered", "uncertain", "declined")) == 3
    for x in r["results"]:
        declined = x["prediction"]["status"] == "declined"
        assert x["right"] == ((not x["answerable"]) if declined else bool(x["scores"]["contains"]))
        assert x["sources"] == [f"page-{x['page'][:12]}"]
    assert (tmp_path / "cache").is_dir() and any(p.name.startswith("pages-1pages-") for p in (tmp_path / "cache").iterdir())
