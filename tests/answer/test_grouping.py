"""qa.answer.grouping: one key for one answer however it is spelled, and corroboration by the entity pass."""
from __future__ import annotations

import pytest
from qa.index.aliases import AliasTable
from qa.answer.candidates import Candidate
from qa.answer.grouping import Group, Keys, corroborate, group, normalise


def test_normalisation_groups_spellings_numbers_and_aliases():
    aliases = AliasTable([["Hafez Saeed Khan", "Hafiz Saeed Khan"], ["Hafez", "Hafiz"], ["IS-K", "ISKP"]])
    assert normalise("Hafiz Saeed Khan", aliases) == normalise("Hafez Saeed Khan", aliases)
    assert normalise("twelve", aliases) == normalise("12", aliases)
    assert normalise("ISKP", aliases) == normalise("IS-K", aliases)
    assert normalise("the Afghan Taliban", aliases) == normalise("Afghan Taliban.", aliases)
    # a name glossed by another name of it is one answer, not three ("(TTP" is a reader's cut)
    ttp = AliasTable([["Tehrik-e-Taliban Pakistan", "Tehreek-e-Taliban Pakistan", "TTP"]])
    keys = {normalise(t, ttp) for t in ("Tehreek-e-Taliban Pakistan (TTP)", "Tehreek-e-Taliban Pakistan (TTP",
                                        "the Tehreek-e-Taliban Pakistan", "TTP", "Tehrik-e-Taliban Pakistan")}
    assert keys == {"tehrik e taliban pakistan"}
    assert normalise("Lahore (Punjab)", ttp) == "lahore punjab"  # a gloss that is not the same name stays


def test_entity_evidence_in_other_documents_reranks_the_readers_answers():
    from types import SimpleNamespace

    def cand(key, doc, score):
        sent = SimpleNamespace(doc_id=doc)
        return Candidate(key, 0, len(key), "PERSON", sent, 0.5, 0, score, key=key)

    def reader_groups():  # fresh: corroborate re-scores in place
        return [Group("saad aziz", [cand("saad aziz", "a", 5.0)], 5.0, 0.6),
                Group("hafiz saeed khan", [cand("hafiz saeed khan", "b", 4.8)], 4.8, 0.6)]

    entity = [Group("hafiz saeed khan", [cand("hafiz saeed khan", d, 4.0) for d in "abc"], 4.6, 0.6),
              Group("saad aziz", [cand("saad aziz", "a", 4.5)], 4.5, 0.6)]
    off = corroborate(reader_groups(), entity, w_corr=0.0, min_type=0.5)
    assert [g.key for g in off] == ["saad aziz", "hafiz saeed khan"]
    on = corroborate(reader_groups(), entity, w_corr=0.2, min_type=0.5)
    # two further documents (a and c; b is the reader's own) state Hafiz Saeed Khan: 4.8 + 2 × 0.2 > 5.0
    assert [g.key for g in on] == ["hafiz saeed khan", "saad aziz"]
    assert on[0].score == pytest.approx(5.2)
    # entity evidence of a kind that does not fit the question (a date's "2" from "the two countries")
    # corroborates nothing
    for g in entity:
        for c in g.members:
            c.features["type"] = 0.3
    typed = corroborate(reader_groups(), entity, w_corr=0.2, min_type=0.5)
    assert [g.key for g in typed] == ["saad aziz", "hafiz saeed khan"]
    assert typed[1].score == pytest.approx(4.8)


def test_a_person_named_in_full_and_by_part_is_one_group_and_each_document_counts_once():
    from types import SimpleNamespace

    def cand(text, doc, score):
        return Candidate(text, 0, len(text), "PERSON", SimpleNamespace(doc_id=doc), 0.5, 0, score)

    keys = Keys(AliasTable([["Hafez", "Hafiz"]]))
    cands = [cand("Hafiz Khan", "a", 5.0), cand("Hafez Saeed Khan", "b", 4.0), cand("Saad Aziz", "c", 4.5),
             cand("Hafiz Saeed Khan", "b", 3.0)]
    groups = group(cands, keys, w_agree=0.3, support_ratio=0.6)
    assert [g.key for g in groups] == ["hafez saeed khan", "saad aziz"]
    # documents a and b support it (b's 4.0 >= 0.6 x 5.0), b once however often it says it: 5.0 + 0.3
    assert groups[0].docs() == ["a", "b"] and groups[0].score == pytest.approx(5.3)
    assert keys("Hafiz Khan") == "hafez khan" and keys("Hafiz Khan") is keys("Hafiz Khan")  # memoised
