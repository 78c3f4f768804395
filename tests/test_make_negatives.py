"""scripts/make_negatives.py: on-topic unanswerable questions derived from answerable ones, checked against the corpus."""
from __future__ import annotations

import json
import sys
from collections import Counter

import pytest

from support import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))

import make_negatives  # noqa: E402

from qa.evaluation.gold import GoldQuestion, load_questions  # noqa: E402
from qa.types import Document  # noqa: E402


def doc(text, doc_id="d"):
    return Document(doc_id=doc_id, source=f"{doc_id}.txt", text=text, title="T")


def gold(qid, question, split="dev", qtype="number", answers=("x",)):
    return GoldQuestion(qid, question, list(answers), True, [], qtype, split)


CORPUS = [doc("In May 2015 gunmen killed 45 Ismailis in Karachi. Hafiz Saeed Khan led Wilayat Khorasan. "
              "The Quetta bombing wounded many. Gilgit was quiet. The Tehrik-e-Taliban Pakistan fought on. "
              "Officials in Sindh and Balochistan met in 2017. The Lahore cell was formed in 2015. It took money "
              "from donors.")]


def corpus_has(phrase, docs=CORPUS):
    return make_negatives._norm(phrase) in make_negatives._norm(" ".join(d.text for d in docs))


def by_method(rows, method):
    return [r for r in rows if r["method"] == method]


def test_a_swapped_in_name_never_occurs_in_the_corpus_and_the_split_is_inherited():
    rows = make_negatives.derive([gold("q1", "How many people were killed in the attack in Karachi?", "test")], CORPUS)
    swap, = by_method(rows, "swap_entity")
    assert swap["changed"]["from"] == "Karachi" and swap["changed"]["to"] in [s.name for s in make_negatives.POOLS["city"]]
    assert not corpus_has(swap["changed"]["to"]) and swap["changed"]["to"] != "Gilgit"  # in the pool, but in the corpus
    assert swap["question"] == f"How many people were killed in the attack in {swap['changed']['to']}?"
    assert (swap["split"], swap["derived_from"], swap["answerable"], swap["answers"]) == ("test", "q1", False, [])


def test_a_substitute_the_corpus_contains_is_refused_even_spelt_otherwise():
    c = make_negatives.Corpus(CORPUS)
    assert c.has("gilgit") and c.has("Wilayat Khorasan")
    assert c.has("Tehreek-e-Taliban Pakistan") and c.has("Baluchistan")  # vowel spellings of the corpus's names
    assert c.has("Balochistam")  # one letter off a long word
    assert not c.has("Wilayat Sindh")  # a phrase counts whole: "Sindh" alone occurs, "Wilayat Sindh" does not
    assert not c.has("Multan") and not c.has("May 2016") and c.has("May 2015")
    assert make_negatives.Corpus(CORPUS, [["Wilayat Khorasan", "Khorasan Province"]]).has("Khorasan Province")
    # every city of the pool but one is in the corpus: that one is the only possible substitute
    pool = [s.name for s in make_negatives.POOLS["city"]]
    crowded = [doc(" ".join(f"{p} was calm." for p in pool[1:]) + " Karachi was not.")]
    for qid in ("q1", "q2", "q3"):
        swap, = by_method(make_negatives.derive([gold(qid, "Who bombed Karachi's market?")], crowded), "swap_entity")
        assert swap["changed"]["to"] == pool[0]
    none_left = [doc(" ".join(f"{p} was calm." for p in pool) + " Karachi was not.")]
    assert by_method(make_negatives.derive([gold("q1", "Who bombed Karachi's market?")], none_left), "swap_entity") == []


def test_an_attribute_is_asked_only_where_no_sentence_gives_it():
    q = gold("q1", "How many people were killed in the attack on Ismailis in Karachi?")
    killed = make_negatives.derive([q], CORPUS)
    absent, = by_method(killed, "absent_attribute")
    assert absent["question"] == "How many people were wounded in the attack on Ismailis in Karachi?"
    assert absent["changed"] == {"entity": "the attack on Ismailis in Karachi", "attribute": "wounded"}
    assert absent["type"] == "number"
    # "wounded" and Quetta share a sentence: how many were wounded there may be answerable
    quetta = make_negatives.derive([gold("q2", "How many people were killed in the Quetta bombing?")], CORPUS)
    assert not any("wounded" in r["question"] for r in quetta)
    assert by_method(quetta, "absent_attribute")  # another attribute the corpus never gives is asked instead
    # a cue in the sentence after the name counts too ("The Lahore cell was formed ... . It took money ...")
    c = make_negatives.Corpus(CORPUS)
    assert c.says(["Lahore"], make_negatives.MONEY) and not c.says(["Karachi"], make_negatives.MONEY)
    used = Counter({("cell", "arrests"): 1, ("cell", "recruiter"): 1})  # so "funding" is the first template
    q = gold("q3", "Who led the Lahore cell?", qtype="person")
    absent = make_negatives.absent_attribute(q, make_negatives._nlp()(q.question), c, [],
                                             make_negatives.State(Counter(), used, set(), set()))
    assert absent["changed"] == {"entity": "the Lahore cell", "attribute": "leader"}


def test_a_gold_question_is_not_asked_again():
    asked = GoldQuestion("q9", "How many people were injured in the attack in Karachi?", [], False, [], "number", "test")
    rows = make_negatives.derive([gold("q1", "How many people were killed in the attack on Ismailis in Karachi?"), asked],
                                 CORPUS)
    assert not any("wounded" in r["question"] for r in rows) and {r["derived_from"] for r in rows} == {"q1"}


def test_a_date_is_swapped_for_one_the_corpus_never_names():
    rows = make_negatives.derive([gold("q1", "Who attacked the Ismailis in May 2015?", "test", "person")], CORPUS)
    date, = by_method(rows, "swap_date")
    # 2017 is two years on, but the corpus names it: the next plausible year is taken
    assert date["changed"] == {"from": "May 2015", "to": "May 2016"} and date["split"] == "test"
    assert date["question"] == "Who attacked the Ismailis in May 2016?"
    # the year of a source is not what a question hinges on
    source = make_negatives.derive([gold("q2", "Who won, according to the 2015 article?")], CORPUS)
    assert by_method(source, "swap_date") == []


def test_articles_follow_the_substitute():
    sub = make_negatives.Sub
    assert make_negatives.replace_name("Why has the TTP as a whole not joined?", "TTP", sub("Jundallah")) == \
        "Why has Jundallah as a whole not joined?"
    assert make_negatives.replace_name("What does the TTP's chief say?", "TTP", sub("Jundallah")) == \
        "What does Jundallah's chief say?"
    assert make_negatives.replace_name("What did the Hizb ut-Tahrir faction do?", "Hizb ut-Tahrir", sub("Jundallah")) == \
        "What did the Jundallah faction do?"
    assert make_negatives.replace_name("Who attacked the JUI-F?", "JUI-F", sub("Awami National Party", True)) == \
        "Who attacked the Awami National Party?"
    assert make_negatives.replace_name("What did a Karachi detainee say?", "Karachi", sub("Abbottabad")) == \
        "What did an Abbottabad detainee say?"


def test_unanswerable_questions_are_not_derived_from_and_the_output_is_stable():
    qs = [gold("q1", "How many people were killed in Karachi in May 2015?"),
          gold("q2", "Who led Wilayat Khorasan?", "test", "person"),
          GoldQuestion("q3", "Who won the 2018 FIFA World Cup?", [], False, [], "person", "test")]
    a = make_negatives.render(make_negatives.derive(qs, CORPUS))
    assert a == make_negatives.render(make_negatives.derive(qs, CORPUS))
    rows = [json.loads(line) for line in a.splitlines()]
    assert [r["id"] for r in rows] == [f"n{i:03d}" for i in range(1, len(rows) + 1)]
    assert {r["derived_from"] for r in rows} == {"q1", "q2"}
    assert all(r["split"] == {"q1": "dev", "q2": "test"}[r["derived_from"]] for r in rows)
    assert all(len([r for r in rows if r["derived_from"] == q]) <= make_negatives.PER_QUESTION for q in ("q1", "q2"))


def test_the_committed_file_is_the_generators_output(tmp_path, capsys):
    assert make_negatives.main(["--check"]) == 0, capsys.readouterr().out
    stale = tmp_path / "negatives.jsonl"
    stale.write_text(make_negatives.OUT.read_text(encoding="utf-8").replace("n001", "n000"), encoding="utf-8")
    assert make_negatives.main(["--check", "--out", str(stale)]) == 1
    assert "differs" in capsys.readouterr().out


@pytest.fixture(scope="module")
def bundled():
    from qa.index.aliases import read_user_aliases
    from qa.ingest.corpus import load_corpus

    corpus_dir = PROJECT_ROOT / "corpus"
    return make_negatives.Corpus(load_corpus(corpus_dir), read_user_aliases(corpus_dir))


def test_the_committed_negatives_hold_no_name_or_date_the_corpus_has(bundled):
    negatives = load_questions([make_negatives.OUT])
    gold_by_id = {q.id: q for q in load_questions([PROJECT_ROOT / "eval" / "questions.jsonl"])}
    for q in negatives:
        source = gold_by_id[q.derived_from]
        assert not q.answerable and source.answerable and q.split == source.split and q.method in make_negatives.METHODS
        if q.method != "absent_attribute":
            assert not bundled.has(q.changed["to"]) and q.changed["to"] in q.question, q.id
            assert q.changed["from"] in source.question
    counts = {s: sum(q.split == s for q in negatives) for s in ("dev", "test")}
    assert all(40 <= n <= 80 for n in counts.values()), counts
    assert max(sum(q.derived_from == d for q in negatives) for d in gold_by_id) <= make_negatives.PER_QUESTION
