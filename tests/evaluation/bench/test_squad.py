"""`qa bench squad`: gold passages, the question vectors, its options, and small real runs."""
from __future__ import annotations

import json

import pytest

from qa.evaluation.bench import squad
from qa.evaluation.bench.squad import SquadOptions
from qa.errors import QAError
from qa.types import Passage


def test_gold_rows_overlap_and_boilerplate_reasons():
    def p(start, end, row=None, boiler=None, doc="d"):
        return Passage(f"{doc}{start}", doc, start, end, "x" * (end - start), boilerplate=boiler, row=row)

    by_doc = {"d": [p(0, 10, 0), p(10, 20, 1), p(30, 40, None, "banner")], "other": [p(0, 50, 7, doc="other")]}
    assert squad.gold_rows_for(by_doc, "d", (5, 15)) == ({0, 1}, [])  # a paragraph split in two passages
    assert squad.gold_rows_for(by_doc, "d", (12, 20)) == ({1}, [])
    assert squad.gold_rows_for(by_doc, "d", (30, 40)) == (set(), ["banner"])
    assert squad.gold_rows_for(by_doc, "d", (22, 28)) == (set(), ["heading"])


def test_precomputed_embedder_runs_the_model_once_per_text():
    from qa.neural.embedding import HashEmbedder

    inner = HashEmbedder()
    emb = squad.PrecomputedEmbedder(inner)
    emb.add(["a", "b", "a"])
    assert inner.texts_seen == 2
    v = emb.encode(["b", "a"])
    assert v.shape == (2, inner.dim) and inner.texts_seen == 2 and emb.misses == 0
    assert (emb.encode(["c"]) == inner.encode(["c"])).all() and emb.misses == 1
    assert emb.name == inner.name and emb.dim == inner.dim


def test_bad_limit_and_mode():
    with pytest.raises(QAError, match="--limit"):
        squad.run_squad(SquadOptions("1.1", limit=0))
    with pytest.raises(QAError, match="unknown mode"):
        squad.run_squad(SquadOptions("1.1", limit=5, mode="magic"))
    with pytest.raises(QAError, match="--every"):
        squad.run_squad(SquadOptions("1.1", every=0))


@pytest.mark.slow
@pytest.mark.model
def test_squad_limit_run_through_the_cli(tmp_path, monkeypatch, real_embedder, capsys):
    import qa.neural.embedding
    from qa.cli import main

    monkeypatch.setenv("QA_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(qa.neural.embedding, "make_embedder", lambda settings=None: real_embedder)
    out = tmp_path / "squad.json"
    assert main(["bench", "squad", "--version", "1.1", "--limit", "200", "--mode", "all", "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "restricted" in printed and "R@5" in printed and "EM" in printed
    r = json.loads(out.read_text(encoding="utf-8"))
    assert r["questions"] == 200 and r["limit"] == 200
    assert r["corpus"]["restricted"] and r["corpus"]["articles"] == 1 and "restricted" in r["corpus"]["note"]
    assert str(tmp_path / "cache") in r["corpus"]["index"]
    assert set(r["retrieval"]) == {"dense", "bm25", "rrf", "hybrid"}
    for m, v in r["retrieval"].items():
        assert v["questions"] == 200
        assert 0.5 < v["R@5"] <= v["R@10"] <= v["R@20"] <= 1.0, m
        assert v["R@1"] <= v["MRR@10"] <= v["R@10"], m
    assert r["retrieval"]["hybrid"]["R@20"] > 0.9
    assert 0 <= r["answers"]["exact_match"] <= r["answers"]["f1"] <= 100
    assert r["answers"]["f1"] > 5  # far from perfect, but not nothing
    assert r["gold_without_evidence"]["paragraphs_with_questions"] >= 1
    assert len(r["predictions"]) == 200
    for p in r["predictions"]:
        assert set(p) >= {"id", "prediction"} and (p["prediction"] is None or isinstance(p["prediction"], str))
    assert r["timing"]["model_calls_in_loop"] == 0  # every question embedded once, up front

    # the second run reuses the corpus and index (a no-op build)
    again = squad.run_squad(SquadOptions("1.1", limit=200, mode="hybrid", progress=False, embedder=real_embedder,
                                         cache_dir=tmp_path / "cache"))
    assert again["corpus"]["index_reused"]
    assert again["retrieval"]["hybrid"] == r["retrieval"]["hybrid"]
    assert [p["prediction"] for p in again["predictions"]] == [p["prediction"] for p in r["predictions"]]


@pytest.mark.slow
@pytest.mark.model
def test_squad_2_limit_run_reports_has_and_no_answer(tmp_path, real_embedder):
    r = squad.run_squad(SquadOptions("2.0", limit=120, progress=False, cache_dir=tmp_path, embedder=real_embedder,
                                     json_out=tmp_path / "v2.json"))
    a = r["answers"]
    assert r["questions"] == 120 and a["HasAns_total"] + a["NoAns_total"] == 120
    assert a["HasAns_total"] > 20 and a["NoAns_total"] > 20
    for key in ("exact_match", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1", "always_abstain_f1"):
        assert 0 <= a[key] <= 100
    # overall = weighted mean of the two halves
    assert a["f1"] == pytest.approx((a["HasAns_f1"] * a["HasAns_total"] + a["NoAns_f1"] * a["NoAns_total"]) / 120)
    assert r["retrieval"]["hybrid"]["questions"] == a["HasAns_total"]  # retrieval on answerable questions only
    assert r["retrieval"]["hybrid"]["R@5"] > 0.5
    saved = json.loads((tmp_path / "v2.json").read_text(encoding="utf-8"))
    assert len(saved["predictions"]) == 120


@pytest.mark.parametrize("t", ["3", "-0.1", "nan"])
def test_a_decline_threshold_outside_0_to_1_is_refused_before_any_work(t, capsys):
    from qa.cli import main

    assert main(["bench", "squad", "--limit", "1", "--decline-below", t, "--quiet"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
