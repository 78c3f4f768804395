"""scripts/make_negatives.py: on-topic unanswerable questions derived from answerable ones, checked against the corpus."""
from __future__ import annotations

import json
import subprocess
import sys

from support import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))

import make_negatives  # noqa: E402

from qa.gold import GoldQuestion  # noqa: E402
from qa.types import Document  # noqa: E402


def doc(text):
    return Document(doc_id="d", source="d.txt", text=text, title="T")


def gold(qid, question, split="dev"):
    return GoldQuestion(qid, question, ["x"], True, [], "number", split)


CORPUS = [doc("In May 2015 gunmen killed 45 Ismailis in Karachi. Hafiz Saeed Khan led Wilayat Khorasan. "
              "The Quetta bombing wounded many. Gilgit was quiet.")]


def test_a_swapped_name_never_occurs_in_the_corpus_and_the_split_is_inherited():
    rows = make_negatives.derive([gold("q1", "How many people were killed in the attack in Karachi?", "test")], CORPUS)
    swap = next(r for r in rows if r["method"] == "swap_entity")
    assert swap["changed"]["from"] == "Karachi" and swap["split"] == "test" and swap["derived_from"] == "q1"
    assert swap["changed"]["to"].lower() not in CORPUS[0].text.lower()
    assert swap["changed"]["to"] != "Gilgit"  # in the pool, but the corpus has it
    assert not swap["answerable"] and swap["answers"] == []


def test_an_attribute_is_asked_only_where_no_sentence_gives_it():
    killed = make_negatives.derive([gold("q1", "How many people were killed in the attack in Karachi?")], CORPUS)
    assert any(r["method"] == "absent_attribute" and "injured" in r["question"] for r in killed)
    # "wounded" and Quetta share a sentence: asking how many were injured there may be answerable
    quetta = make_negatives.derive([gold("q2", "How many people were killed in the Quetta bombing?")], CORPUS)
    assert not any("injured" in r["question"] for r in quetta)


def test_a_year_is_swapped_for_one_the_corpus_never_names():
    rows = make_negatives.derive([gold("q1", "Who led the cell in 2015?")], CORPUS)
    year = next(r for r in rows if r["method"] == "swap_year")
    assert year["changed"]["from"] == "2015" and year["changed"]["to"] not in CORPUS[0].text


def test_unanswerable_questions_are_not_derived_from_and_the_output_is_stable():
    qs = [gold("q1", "How many people were killed in Karachi in 2015?"),
          GoldQuestion("q2", "Who won the 2018 FIFA World Cup?", [], False, [], "person", "test")]
    a, b = make_negatives.render(make_negatives.derive(qs, CORPUS)), make_negatives.render(make_negatives.derive(qs, CORPUS))
    assert a == b and all(json.loads(line)["derived_from"] == "q1" for line in a.splitlines())


def test_the_committed_file_is_the_generators_output():
    r = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "make_negatives.py"), "--check"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
