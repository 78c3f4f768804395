"""qa.settings: the tuned values are data, validated on load; QA_* variables are read in one place, and refused when unknown."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.settings import (ENVIRONMENT, READER_FEATURES, RULE_FEATURES, TUNED_FILE, AnswerSettings, Settings, SpanSettings,
                         load_tuned, parse_tuned, write_tuned)


def _shipped() -> dict:
    return json.loads(TUNED_FILE.read_text(encoding="utf-8"))


def test_the_shipped_file_loads_and_says_how_it_was_made():
    t = load_tuned()
    assert t.produced_by["command"].startswith("scripts/fit_answering.py")
    assert t.produced_by["data"] and all("test split" not in d or "never" in d for d in t.produced_by["data"])
    assert list(t.answer.reader.weights) == list(READER_FEATURES)
    assert list(t.answer.rules.weights) == list(RULE_FEATURES)
    assert t.answer.reader.decline_below < t.answer.reader.answer_from
    assert "person" in t.spans.type_fit and t.spans.type_fit["person"]["PERSON"] == 1.0


def test_to_dict_round_trips_the_file_exactly():
    assert load_tuned().to_dict() == _shipped()
    assert parse_tuned(load_tuned().to_dict()) == load_tuned()


@pytest.mark.parametrize("path,value,needle", [
    (("spans", "w_read"), -1.0, "spans.w_read must be a number from 0"),
    (("spans", "w_read"), "2", "spans.w_read must be a number"),
    (("spans", "reader_windows"), 2.5, "spans.reader_windows must be a whole number"),
    (("spans", "options"), 1, "spans.options must be true or false"),
    (("retrieval", "mode"), "fuzzy", "retrieval.mode must be one of hybrid, rrf, dense, bm25"),
    (("answer", "reader", "bias"), None, "answer.reader.bias must be a number"),
    (("answer", "reader", "weights"), {"sim": 1.0}, "answer.reader.weights must map exactly these features"),
    (("spans", "type_fit", "person", "PERSON"), 1.5, "spans.type_fit.person.PERSON must be a number from 0 to 1"),
    (("spans", "type_fit", "colour"), {"NP": 0.5}, "spans.type_fit.colour is not an answer type"),
    (("format",), 2, "format must be 1"),
])
def test_a_bad_value_is_refused_with_its_name(path, value, needle):
    data = _shipped()
    d = data
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    with pytest.raises(QAError, match=needle.replace("(", r"\(")):
        parse_tuned(data, "answering.json")


def test_unknown_and_missing_values_are_refused():
    data = _shipped()
    data["spans"]["w_typo"] = 1.0
    with pytest.raises(QAError, match="spans.w_typo is not a setting"):
        parse_tuned(data)
    data = _shipped()
    del data["answer"]["max_citations"]
    with pytest.raises(QAError, match="answer.max_citations is missing"):
        parse_tuned(data)
    data = _shipped()
    data["extra"] = {}
    with pytest.raises(QAError, match="extra is not a section"):
        parse_tuned(data)


def test_a_missing_or_broken_file_says_what_to_run(tmp_path):
    with pytest.raises(QAError, match="missing.*fit_answering"):
        load_tuned(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(QAError, match="not readable JSON"):
        load_tuned(tmp_path / "bad.json")


def test_write_tuned_writes_what_load_reads(tmp_path):
    from dataclasses import replace

    t = load_tuned()
    out = replace(t, spans=replace(t.spans, w_read=3.0))
    write_tuned(out, tmp_path / "a.json")
    assert load_tuned(tmp_path / "a.json").spans.w_read == 3.0
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(QAError):
        write_tuned(replace(t, spans=replace(t.spans, w_read=-5.0)), tmp_path / "b.json")
    assert not (tmp_path / "b.json").exists()


def test_from_env_reads_every_variable_it_documents():
    env = {"QA_CORPUS": "/c", "QA_INDEX": "/i", "QA_FEEDBACK": "/f.jsonl", "QA_HOST": "0.0.0.0", "QA_PORT": "8000",
           "QA_READER": "/weights", "QA_READER_PRECISION": "bf16", "QA_PRECISION": "bf16", "QA_MODEL_DIR": "/m",
           "QA_EMBEDDER": "fake", "QA_BENCH_CACHE": "/b", "QA_DEBUG": "1", "QA_STORE": "postgresql://u@h/db",
           "QA_BACKEND": "Torch", "QA_ONNX_CACHE": "/o", "QA_MAX_UPLOAD_MB": "20", "QA_WORKSPACE": "/w"}
    assert set(env) == set(ENVIRONMENT)
    s = Settings.from_env(environ=env)
    assert (s.corpus, s.index, s.feedback, s.model_dir, s.bench_cache, s.workspace) == \
        tuple(map(Path, ("/c", "/i", "/f.jsonl", "/m", "/b", "/w")))
    assert (s.host, s.port, s.reader, s.reader_precision, s.embed_precision, s.embedder, s.debug) == \
        ("0.0.0.0", 8000, "/weights", "bf16", "bf16", "fake", True)
    assert (s.store, s.backend, s.onnx_cache, s.max_upload_mb) == ("postgresql://u@h/db", "torch", Path("/o"), 20)
    d = Settings.from_env(environ={})
    assert d == Settings() and d.reader is None and d.port == 7860 and not d.debug


@pytest.mark.parametrize("raw", ["0", "65", "-1", "1.5", "lots"])
def test_qa_max_upload_mb_is_a_whole_number_of_mib_up_to_the_extraction_limit(raw):
    from qa.ingest.corpus import MAX_DOC_BYTES
    from qa.settings import MAX_UPLOAD_MB

    assert MAX_UPLOAD_MB * 2**20 <= MAX_DOC_BYTES  # an accepted upload is never too large to index
    with pytest.raises(QAError, match="QA_MAX_UPLOAD_MB"):
        Settings.from_env(environ={"QA_MAX_UPLOAD_MB": raw})
    assert Settings.from_env(environ={"QA_MAX_UPLOAD_MB": "64"}).max_upload_mb == 64
    assert Settings.from_env(environ={}).max_upload_mb == 50


@pytest.mark.parametrize("raw,want", [("off", "off"), ("0", "off"), ("False", "off"), ("on", "bundled"),
                                      ("1", "bundled"), ("", None)])
def test_qa_reader_values(raw, want):
    assert Settings.from_env(environ={"QA_READER": raw}).reader == want


@pytest.mark.parametrize("env,needle", [
    ({"QA_PORT": "http"}, "QA_PORT must be a port number"),
    ({"QA_PORT": "70000"}, "port 70000 is out of range"),
    ({"QA_READER_PRECISION": "int8"}, "QA_READER_PRECISION: must be one of fp32, bf16"),
    ({"QA_PRECISION": "fp16"}, "QA_PRECISION: must be one of fp32, bf16"),
    ({"QA_BACKEND": "tensorflow"}, "QA_BACKEND: must be one of onnx, torch"),
    ({"QA_READR": "off"}, "unknown setting QA_READR"),
])
def test_a_bad_or_unknown_variable_is_refused(env, needle):
    with pytest.raises(QAError, match=needle):
        Settings.from_env(environ=env)


def test_the_test_suites_own_variables_are_not_settings():
    assert Settings.from_env(environ={"QA_TEST_KILL_SEED": "5"}) == Settings()


def test_options_override_the_environment_and_none_means_not_given():
    s = Settings.from_env(environ={"QA_PORT": "8000", "QA_INDEX": "/i"}, port=9000, index=None)
    assert s.port == 9000 and s.index == Path("/i")


def test_settings_round_trip_through_a_dict_and_forbid_unknown_keys():
    s = Settings.from_env(environ={"QA_INDEX": "/i", "QA_READER": "off"})
    assert Settings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    with pytest.raises(QAError, match="colour is not a setting"):
        Settings.from_dict({"colour": "blue"})


def test_the_tuned_groups_are_frozen_and_have_no_defaults_in_code():
    with pytest.raises(TypeError):
        SpanSettings()  # every tuned value comes from the data file
    a = load_tuned().answer
    with pytest.raises(Exception):
        a.max_citations = 9
    t = a.with_decline_below(0.55)
    assert isinstance(t, AnswerSettings) and t.reader.decline_below == t.rules.decline_below == 0.55
