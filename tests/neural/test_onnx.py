"""qa.neural.onnx and the ONNX models: graphs cached by weights and verified, and the same outputs as torch."""
from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pytest

from qa.neural.embedding import HashEmbedder, OnnxEmbedder, SentenceTransformerEmbedder, make_embedder
from qa.errors import QAError
from qa.neural.onnx import Graph, cached_graph, weights_key
from qa.neural.reader import OnnxReader, Reader, make_reader, reader_available
from qa.settings import Settings

no_check = lambda path: {}  # noqa: E731 - the fakes below write bytes, not ONNX


class CountingExport:
    def __init__(self, payload: bytes = b"graph"):
        self.calls, self.payload = 0, payload

    def __call__(self, path):
        self.calls += 1
        path.write_bytes(self.payload)


def test_a_graph_is_exported_once_then_served_from_the_cache(tmp_path):
    export = CountingExport()
    p = cached_graph(tmp_path / "c", "encoder", "k1", export, check=no_check)
    assert p.read_bytes() == b"graph" and export.calls == 1
    record = json.loads((tmp_path / "c" / "encoder-k1.json").read_text())
    assert record["kind"] == "encoder" and len(record["sha256"]) == 64
    assert cached_graph(tmp_path / "c", "encoder", "k1", export, check=no_check) == p
    assert export.calls == 1
    assert sorted(x.name for x in (tmp_path / "c").iterdir()) == ["encoder-k1.json", "encoder-k1.onnx"]


def test_a_damaged_or_unrecorded_graph_is_exported_again_never_used(tmp_path):
    export = CountingExport()
    p = cached_graph(tmp_path, "reader", "k", export, check=no_check)
    p.write_bytes(b"grapH")  # one flipped byte
    assert cached_graph(tmp_path, "reader", "k", export, check=no_check).read_bytes() == b"graph"
    (tmp_path / "reader-k.json").unlink()
    cached_graph(tmp_path, "reader", "k", export, check=no_check)
    (tmp_path / "reader-k.json").write_text("{not json")
    cached_graph(tmp_path, "reader", "k", export, check=no_check)
    assert export.calls == 4


def test_a_failed_export_leaves_nothing_behind(tmp_path):
    def broken(path):
        path.write_bytes(b"half")
        raise RuntimeError("exporter crashed")

    with pytest.raises(RuntimeError):
        cached_graph(tmp_path, "encoder", "k", broken, check=no_check)
    assert list(tmp_path.iterdir()) == []

    def bad_graph(path):
        raise ValueError("not a model")

    with pytest.raises(ValueError):
        cached_graph(tmp_path, "encoder", "k", CountingExport(), check=bad_graph)
    assert list(tmp_path.iterdir()) == []


def test_concurrent_exports_leave_one_good_graph(tmp_path):
    export = CountingExport()
    threads = [threading.Thread(target=cached_graph, args=(tmp_path, "e", "k", export), kwargs={"check": no_check})
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["e-k.json", "e-k.onnx"]
    assert cached_graph(tmp_path, "e", "k", CountingExport(b"other"), check=no_check).read_bytes() == b"graph"


def test_an_unwritable_cache_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(QAError, match="cannot create the ONNX cache") as e:
        cached_graph(tmp_path / "file" / "cache", "e", "k", CountingExport(), check=no_check)
    assert "QA_ONNX_CACHE" in e.value.fix


def test_the_key_follows_the_weights(tmp_path):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    a.write_bytes(b"1")
    b.write_bytes(b"1")
    k = weights_key("encoder", [a])
    assert weights_key("encoder", [a]) == k and weights_key("reader", [a]) != k
    a.write_bytes(b"2")
    assert weights_key("encoder", [a]) != k


def test_the_settings_choose_the_backend_and_nothing_loads_until_used():
    assert isinstance(make_embedder(Settings()), OnnxEmbedder)
    assert isinstance(make_embedder(Settings(backend="torch")), SentenceTransformerEmbedder)
    assert isinstance(make_embedder(Settings(embed_precision="bf16")), SentenceTransformerEmbedder)  # bf16: torch
    assert isinstance(make_embedder(Settings(embedder="fake")), HashEmbedder)
    if reader_available():
        assert isinstance(make_reader(Settings()), OnnxReader)
        assert type(make_reader(Settings(backend="torch"))) is Reader
        assert type(make_reader(Settings(reader_precision="bf16"))) is Reader
    e = make_embedder(Settings())
    assert e.name == SentenceTransformerEmbedder().name and e.dim == 384 and not e.loaded
    assert e.encode([]).shape == (0, 384) and not e.loaded


def test_without_onnxruntime_the_error_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    e = OnnxEmbedder(cache=tmp_path)
    with pytest.raises(QAError, match="needs onnxruntime") as err:
        Graph._load(e)  # the fast tier refuses model loads: call the real one, which fails first
    assert "pip install onnxruntime" in err.value.fix and "QA_BACKEND=torch" in err.value.fix


# ----------------------------------------------------------------------------- the real models

LONG = " ".join(["The Islamic State Khorasan Province claimed the attack on the airport in Kabul."] * 30)
TEXTS = ["Who led Wilayat Khorasan?", "Karachi", "", "ISKP’s “Voice of Khurasan” — 2021–22, ½ of attacks", LONG,
         "a", "When was the group founded, and by whom? " * 3]


@pytest.mark.model
def test_onnx_embeddings_match_torch():
    """Cosine >= 0.9999 on fixed inputs (in practice > 0.99999), alone and in mixed-length batches,
    including a text past the 256-token limit, where both cut it the same way. (The default cache:
    on a fresh clone the first model test exports into it, so the suite runs without one.)"""
    onnx, torch_ = OnnxEmbedder(), SentenceTransformerEmbedder()
    a, b = onnx.encode(TEXTS * 5), torch_.encode(TEXTS * 5)
    cos = (a * b).sum(1)
    assert cos.min() >= 0.9999, cos
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    one = np.stack([onnx.encode([t])[0] for t in TEXTS])
    assert np.abs(one - a[:len(TEXTS)]).max() < 1e-5  # padding in a batch changes nothing
    assert onnx.graph_path.is_file() and onnx.graph_path.with_suffix(".json").is_file()


@pytest.mark.model
def test_the_onnx_reader_finds_the_torch_readers_spans_on_gold_questions(real_answerer):
    """The windows the answer step reads for gold questions: the same top span in every window as the
    torch reader, and the same scores within 1e-3. Every third question here, to keep the suite's time;
    `scripts/verify_onnx.py` checks all of them (docs/onnx.md has its result)."""
    from conftest import PROJECT_ROOT
    from qa.evaluation.gold import load_questions

    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    from verify_onnx import reader_agreement

    onnx, torch_ = OnnxReader(), Reader()
    questions = load_questions([PROJECT_ROOT / "eval" / "questions.jsonl"])[::3]
    res = reader_agreement(real_answerer, questions, onnx, torch_)
    assert res["differ"] == [] and res["same_top_span"] == res["windows"] > len(questions)
    assert res["questions"] >= 0.9 * len(questions) and res["max_score_diff"] < 1e-3
    assert onnx.tokens_read == onnx.tokens_padded > 0  # one unpadded pass per window
    assert torch_.tokens_padded >= torch_.tokens_read == onnx.tokens_read


@pytest.mark.model
def test_one_onnx_reader_serves_concurrent_questions(tmp_path):
    r = OnnxReader()
    q, w = "Who claimed the attack?", [LONG[:300], "The group claimed the attack in a statement.", "Nothing here."]
    want = r.read(q, w)
    out, errors = [], []

    def ask():
        try:
            out.append(r.read(q, w))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(out) == 8 and all(o == want for o in out)
    assert r.calls == 9


@pytest.mark.model
def test_a_real_answer_with_the_onnx_backend_never_imports_torch(real_index_dir):
    """The point of the backend: with its graphs in the cache, answering loads neither torch nor
    transformers (exporting them, once, does)."""
    import subprocess

    from conftest import PROJECT_ROOT

    OnnxEmbedder().session, OnnxReader().session  # noqa: B018 - export into the default cache if absent
    code = f"""
import sys
from qa import open_answerer
a = open_answerer({str(real_index_dir)!r}).ask("Who led Wilayat Khorasan?")
print(a.status != "declined", a.answer, sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "True Hafiz Saeed Khan []"


@pytest.mark.model
def test_a_question_past_the_readers_limit_is_cut_as_the_torch_reader_cuts_it():
    q = "Who led Wilayat Khorasan when the Islamic State's branch first claimed attacks in Pakistan? " * 6
    w = ["Hafiz Saeed Khan led Wilayat Khorasan from January 2015.", "The branch claimed attacks in Bajaur."]
    onnx, torch_ = OnnxReader(), Reader()
    assert onnx.token_counts(q, w) == torch_.token_counts(q, w)
    assert [(g.window, g.start, g.end) for g in onnx.read(q, w)] == [(g.window, g.start, g.end) for g in torch_.read(q, w)]
