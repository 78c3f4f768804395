"""The real all-MiniLM-L6-v2 model end to end on the bundled corpus: cited answers at verified offsets."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT

pytestmark = pytest.mark.model


def _check_offsets(answer: dict, cwd: Path = PROJECT_ROOT):
    for c in answer["citations"] + answer.get("closest", []):
        src = Path(c["source"])
        src = src if src.is_absolute() else cwd / src
        assert src.read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]


def test_who_led_wilayat_khorasan(real_answerer):
    a = real_answerer.ask("Who led Wilayat Khorasan?").to_dict()
    assert a["status"] in ("answered", "uncertain")
    assert any("Hafez Saeed Khan" in c["quote"] or "Hafiz Saeed Khan" in c["quote"] for c in a["citations"])
    _check_offsets(a)


def test_real_embeddings_are_unit_length(real_embedder):
    import numpy as np

    v = real_embedder.encode(["Who led Wilayat Khorasan?", "Karachi"])
    assert v.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)


def test_cli_ask_json_contract_with_default_corpus_paths(real_index_dir):
    r = subprocess.run([sys.executable, "-m", "qa", "ask", "--json", "Who led Wilayat Khorasan?", "--index", str(real_index_dir)],
                       capture_output=True, text=True, cwd=PROJECT_ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert a["citations"] and all(c["source"].startswith(str(PROJECT_ROOT / "corpus")) or c["source"].startswith("corpus/")
                                  for c in a["citations"])
    _check_offsets(a)


def test_every_citation_round_trips_on_many_questions(real_answerer):
    qs = [json.loads(l)["question"] for l in (PROJECT_ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    for q in qs[:40]:
        _check_offsets(real_answerer.ask(q).to_dict())
