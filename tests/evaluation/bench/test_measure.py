"""qa.evaluation.bench's measuring parts that need no model: FLOP counts, the sgemm rate, the reader's work, the bare process, the report's rows."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from support import StandInReader

from qa.evaluation.bench.measure import bert_flops, sgemm_gflops


def test_bert_flops_matches_a_hand_count():
    # 2 layers, d=4, d_ff=8. Per token per layer the linear layers hold 4·16 + 2·4·8 = 128 weights,
    # 256 FLOPs; attention adds 2·2·L²·4 per sequence: L=3 -> 144, L=1 -> 16.
    # (256·3 + 144) + (256·1 + 16) = 1184 per layer, 2368 for both.
    assert bert_flops([3, 1], layers=2, hidden=4, ffn=8) == 2368
    # MiniLM-L6 (6 layers, 384, 1536), one 128-token sequence: 2·(4·384² + 2·384·1536) = 3,538,944 per
    # token, ·128 = 452,984,832, plus 4·128²·384 = 25,165,824; ·6 layers
    assert bert_flops([128], layers=6, hidden=384, ffn=1536) == 6 * (452_984_832 + 25_165_824)
    assert bert_flops([], layers=6, hidden=384, ffn=1536) == 0


def test_padding_costs_more_than_the_same_tokens_unpadded():
    unpadded = bert_flops([100, 20], 6, 384, 1536)
    padded = bert_flops([100, 100], 6, 384, 1536)
    assert padded > unpadded
    assert bert_flops([100, 20], 6, 384, 1536) == bert_flops([100], 6, 384, 1536) + bert_flops([20], 6, 384, 1536)


def test_sgemm_rate_is_a_positive_finite_number():
    rate = sgemm_gflops(n=256, reps=3)
    assert rate > 0 and math.isfinite(rate)


def test_the_windows_the_bench_tokenizes_are_those_the_answer_step_reads(tmp_path):
    from support import QUESTIONS, build_fake, fake_answerer, write_corpus

    from qa.answer.answerer import Answerer
    from qa.evaluation.bench.perf_steps import _windows

    build_fake(write_corpus(tmp_path / "c"), tmp_path / "i")
    plain = fake_answerer(tmp_path / "i")
    reader = StandInReader()
    answerer = Answerer(plain.retriever, reader=reader)
    read = 0
    for q in QUESTIONS:
        reader.seen.clear()
        answerer.ask(q)
        text, windows = _windows(answerer, q)
        assert reader.seen == ([(text, windows)] if windows else [])
        read += bool(windows)
    assert read >= len(QUESTIONS) - 1  # the comparison is of real windows, not of two empty lists


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from qa.settings import bundled_model_dir

    return AutoTokenizer.from_pretrained(str(bundled_model_dir()))


def _bench(tmp_path):
    from qa.evaluation.bench.perf_steps import Bench
    from qa.settings import Settings

    return Bench(tmp_path, 1, tmp_path, (), Settings(embedder="fake"))


def test_reader_work_counts_tokens_and_flops_per_question(tmp_path, tokenizer):
    from qa.evaluation.bench.perf_steps import reader_work

    question = "Who surveyed the harbour?"
    wins = ["The harbour of Ostland was surveyed in 1921 by the engineer Marta Kell.", "Kell returned in 1924."]
    lengths = [len(tokenizer(question, w)["input_ids"]) for w in wins]
    counts = lambda q, ws: [len(tokenizer(q, w)["input_ids"]) for w in ws]  # noqa: E731 - as the readers count
    answerer = SimpleNamespace(reader=SimpleNamespace(token_counts=counts))
    windows = {"q1": (question, wins), "q2": (question, [])}  # q2: no evidence, the reader never runs
    w = reader_work(_bench(tmp_path), answerer, windows, {"read": [], "padded": []}, reader_s=0.01, sgemm=100.0)
    assert w["model"] == {"layers": 6, "hidden": 384, "ffn": 1536}  # the bundled MiniLM's config
    assert w["tokens_per_question"] == pytest.approx(sum(lengths) / 2, abs=0.05)
    assert w["tokens_padded_per_question"] == pytest.approx(max(lengths) * 2 / 2, abs=0.05)
    assert w["tokens_counted_by"].startswith("tokenized here")
    gflop = bert_flops(lengths, 6, 384, 1536) / 2 / 1e9
    assert w["gflop_per_question"] == pytest.approx(gflop, abs=1e-4)
    assert w["gflop_per_question_padded"] > w["gflop_per_question"]
    assert w["gflops"] == pytest.approx(gflop / 0.01, rel=0.01)
    assert w["share_of_sgemm"] == pytest.approx(gflop / 0.01 / 100.0, rel=0.01)
    counted = reader_work(_bench(tmp_path), answerer, windows, {"read": [40, 60], "padded": [80, 80]}, 0.01, 100.0)
    assert counted["tokens_per_question"] == 50 and counted["tokens_padded_per_question"] == 80
    assert counted["tokens_counted_by"] == "reader counters"
    assert counted["tokenized_tokens_per_question"] == w["tokens_per_question"]


def test_reader_work_without_a_reader_names_every_figure_as_missing(tmp_path):
    from qa.evaluation.bench.perf_steps import reader_work

    w = reader_work(_bench(tmp_path), SimpleNamespace(reader=None), {}, {"read": [], "padded": []}, 0.0, 100.0)
    assert w["reader"] is False and w["tokens_per_question"] is None and w["gflops"] is None


def test_the_bare_process_encodes_the_texts_and_prints_its_times(tmp_path, capsys):
    from qa.evaluation.bench import bare

    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps(["one text", "another text", "a third"]), encoding="utf-8")
    assert bare.main([str(texts), "--fake"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["texts"] == 3 and out["dim"] == 32
    assert all(out[k] >= 0 for k in ("import_s", "load_s", "encode_s"))
    texts.write_text(json.dumps({"not": "a list"}), encoding="utf-8")
    assert bare.main([str(texts), "--fake"]) == 2


def test_the_squad_corpus_is_one_text_file_per_article_written_once(tmp_path):
    from qa.evaluation.bench.perf_build import SQUAD_FILE, squad_corpus
    from qa.ingest.corpus import load_corpus

    if not SQUAD_FILE.exists():
        pytest.skip(f"{SQUAD_FILE.name} is not in eval/benchmarks")
    folder = squad_corpus(tmp_path / "squad", articles=2)
    files = sorted(folder.glob("*.txt"))
    assert len(files) == 2 and files[0].name.startswith("01-")
    stamp = files[0].stat().st_mtime_ns
    assert squad_corpus(tmp_path / "squad", articles=2) == folder and files[0].stat().st_mtime_ns == stamp
    docs = load_corpus(folder)
    assert len(docs) == 2 and all(len(d.text) > 1000 for d in docs)


def test_build_stage_medians_keep_only_the_stages_every_run_timed():
    from qa.evaluation.bench.perf_build import _median_stages

    runs = [{"embed": 1.0, "analyse": 3.0, "note": "x"}, {"embed": 3.0, "analyse": 1.0, "note": "y"}, {"embed": 2.0}]
    assert _median_stages(runs) == {"embed": 2.0}
    assert _median_stages([{"note": "x"}]) is None


def test_the_report_shows_targets_goals_and_the_reader_rows():
    from qa.evaluation.bench.perf_report import _target, format_table

    assert _target(3.5, "≤", 4.0, 3.0) == "≤ 4.0× met; goal ≤ 3.0× MISSED"
    assert _target(1.6, "≥", 1.3, 1.5) == "≥ 1.3× met; goal ≥ 1.5× met"
    lat = {"p50_ms": 30.0, "p95_ms": 40.0, "mean_ms": 31.0, "n": 10}
    bare = {"p50_ms": 10.0, "p95_ms": 12.0, "mean_ms": 10.0, "n": 10}
    ask = {
        "ask": lat, "bare": bare, "ratio_p50": 3.0, "ratio_p95": 3.33, "reader": True, "target": 4.0, "goal": 3.0,
        "met": True, "goal_met": True, "memory_mb": {"shipped_after_warmup": 500.0}, "peak_rss_mb": 900.0,
        "rules_only": bare, "rules_only_ratio_p50": 1.0, "rules_only_target": 1.0,
        "torch_backend": {**lat, "p50_ms": 60.0}, "torch_backend_ratio_p50": 6.0, "speedup_over_torch_p50": 2.0,
        "stages_ms": {"embed": 5.0, "reader": 20.0, "unattributed": 1.0},
        "variant_stages_ms": {"torch_backend": {"embed": 10.0, "reader": 45.0}},
        "reader_work": {"tokens_per_question": 600.0, "tokens_padded_per_question": 700.0, "sequences_per_question": 4.0,
                        "tokens_counted_by": "reader counters", "gflop_per_question": 2.1,
                        "gflop_per_question_padded": 2.4, "gflops": 105.0, "reader_stage_ms": 20.0,
                        "share_of_sgemm": 0.7},
        "sgemm_gflops": 150.0, "variants_skipped": {"reader_bf16": "the shipped reader is bf16 already"},
    }
    res = {"machine": {"cpu": "CPU", "cores": 2}, "date": "today", "steps": {"ask": ask}}
    table = format_table(res)
    assert "≤ 4.0× met; goal ≤ 3.0× met" in table
    assert "all in torch (`QA_BACKEND=torch`; the shipped step is 2.00× as fast)" in table
    assert "600 tokens in 4.0 windows (700 with padding; reader counters)" in table
    assert "105.0 GFLOP/s in 20.0 ms = 70% of sgemm" in table and "numpy sgemm 150.0 GFLOP/s" in table
    assert "embed 10.0, reader 45.0" in table and "reader_bf16: the shipped reader is bf16 already" in table


class _CountingReader(StandInReader):
    """The counters the readers keep (tokens through the network, unpadded and padded), over a real
    tokenizer, and a little time per call so the reader stage has something to show."""

    def __init__(self, tokenizer):
        super().__init__(seconds=0.002)
        self.tokenizer = tokenizer
        self.tokens_read = self.tokens_padded = 0

    def token_counts(self, question, windows):
        return [len(self.tokenizer(question, w)["input_ids"]) for w in windows]

    def read(self, question, windows, top=5):
        n = self.token_counts(question, windows)
        self.tokens_read += sum(n)
        self.tokens_padded += max(n, default=0) * len(n)
        return super().read(question, windows, top)


def test_the_ask_step_times_stages_and_counts_the_readers_work(tmp_path, tokenizer, monkeypatch):
    """The ask step with a reader in it, in this process: no model, so a counting stand-in reads."""
    from support import QUESTIONS, build_fake, write_corpus

    import qa.pipeline
    from qa.evaluation.bench.perf_steps import Bench, step_ask
    from qa.settings import Settings

    corpus = write_corpus(tmp_path / "c")
    build_fake(corpus, tmp_path / "seed-index")
    reader = _CountingReader(tokenizer)
    monkeypatch.setattr(qa.pipeline, "make_reader", lambda settings, embedder=None: reader)
    bench = Bench(tmp_path, 2, corpus, tuple(QUESTIONS), Settings(embedder="fake"), quick=True)
    out = step_ask(bench)
    assert out["reader"] and out["reader_class"] == "_CountingReader"
    assert out["rules_only"]["n"] == 2 * len(QUESTIONS) and "reader_one_window" in out
    assert out["variants_skipped"]["reader_bf16"] == "no reader weights folder"
    assert out["stages_ms"]["reader"] >= 2.0 and out["variant_stages_ms"]["rules_only"]["reader"] == 0.0
    w = out["reader_work"]
    assert w["tokens_counted_by"] == "reader counters"
    # the counters' difference around each timed ask is that ask's tokens, as tokenizing the windows finds
    assert w["tokens_per_question"] == pytest.approx(w["tokenized_tokens_per_question"], abs=0.1)
    assert w["tokens_padded_per_question"] >= w["tokens_per_question"] > 0
    assert w["gflops"] == pytest.approx(w["gflop_per_question"] / (out["stages_ms"]["reader"] / 1000), rel=0.02)
    assert w["share_of_sgemm"] == pytest.approx(w["gflops"] / out["sgemm_gflops"], rel=0.02)
