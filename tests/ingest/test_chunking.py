"""qa.ingest.chunking: passages and sentences with exact offsets, boilerplate marks, splitting without truncation."""
from __future__ import annotations

import re
from hypothesis import given, settings, strategies as st
from qa.ingest.chunking import (ChunkSettings, count_wordpieces, passage_sentences, sentence_spans, split_document)
from qa.ingest.corpus import load_corpus
from qa.types import Document
from conftest import CORPUS


def _doc(text: str) -> Document:
    return Document(doc_id="d", source="d.txt", text=text, title="t")


def test_seed_corpus_offsets_round_trip_and_cover_all_text():
    for doc in load_corpus(CORPUS):
        passages = split_document(doc)
        assert passages, doc.doc_id
        covered = [False] * len(doc.text)
        for p in passages:
            assert doc.text[p.start:p.end] == p.text
            assert p.text == p.text.strip() and p.text
            for i in range(p.start, p.end):
                covered[i] = True
        # everything that is not a passage is whitespace, a bullet mark or a heading
        headings = {p.section for p in passages if p.section}
        leftover = "".join(c if not covered[i] else "\0" for i, c in enumerate(doc.text))
        for chunk in leftover.split("\0"):
            chunk = chunk.strip().strip("•").strip()
            assert not chunk or chunk in headings, (doc.doc_id, chunk[:80])


def test_seed_corpus_boilerplate_is_marked():
    by_doc = {d.doc_id: (d, split_document(d)) for d in load_corpus(CORPUS)}

    def mark(doc_id, needle):
        _, ps = by_doc[doc_id]
        found = [p for p in ps if needle in p.text]
        assert found, needle
        return {p.boilerplate for p in found}

    assert mark("usip-parvez", "Nisar Says Daesh Has No Presence") == {"note"}
    assert mark("usip-parvez", "Understanding Pakistan’s Election Results") == {"related"}
    assert mark("usip-parvez", "Christopher Clary") == {"related"}
    assert mark("magney-looming", "Kay Johnson and Mehreen Zahra-Malik") == {"note"}
    assert mark("magney-looming", "Akismet") == {"comment-form"}
    assert mark("magney-looming", "Photo Credit") == {"caption"}
    assert mark("rani-fa", "Lawyers say prayers") == {"caption"}
    assert mark("rani-fa", "Subscribe to Foreign Affairs") == {"banner"}
    assert mark("rani-fa", "Paywall-free reading") == {"banner"}
    assert mark("dawn-view", "Representational Image") == {"caption"}
    # the body is evidence; the pull quote repeating it is not
    assert None in mark("rani-fa", "first and foremost an ideological threat")
    assert "repeated" in mark("rani-fa", "first and foremost an ideological threat")
    assert mark("usip-parvez", "Hafez Saeed Khan, was nominated") == {None}
    assert mark("rani-fa", "MEHWISH RANI is a Pakistan-based") == {None}


def test_headings_become_sections_not_passages():
    doc = next(d for d in load_corpus(CORPUS) if d.doc_id == "usip-parvez")
    ps = split_document(doc)
    assert not any(p.text == "Origin and Leadership" for p in ps)
    p = next(p for p in ps if "Hafez Saeed Khan" in p.text)
    assert p.section == "Origin and Leadership"


def test_long_paragraph_is_split_at_sentences_without_truncation():
    sent = "The shura met in a village near the border and discussed the plans of the group at length. "
    text = "Heading\n\n" + sent * 60 + "\n\nA short closing paragraph."
    doc = _doc(text)
    ps = split_document(doc, ChunkSettings(max_tokens=120))
    body = [p for p in ps if "shura" in p.text]
    assert len(body) > 1
    for p in body:
        assert count_wordpieces(p.text) <= 256
        assert p.text.endswith(".")
    # the pieces tile the paragraph: joined, they give back every sentence
    assert sum(p.text.count("The shura met") for p in body) == 60


def test_over_long_sentence_is_split_at_words():
    words = " ".join(f"word{i}" for i in range(900))
    doc = _doc(words + ".")
    ps = split_document(doc)
    assert len(ps) > 1
    assert all(count_wordpieces(p.text) <= 256 for p in ps)
    assert " ".join(p.text for p in ps) == words + "."


def test_sentence_spans_respect_abbreviations_and_footnote_markers():
    text = "Dr. Antonio Giustozzi wrote it in the U.S. last year. Daesh has no presence.”1 On the other hand, it grew."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["Dr. Antonio Giustozzi wrote it in the U.S. last year.",
                     "Daesh has no presence.”1", "On the other hand, it grew."]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    "Alpha beta gamma.", "Hafez Saeed Khan led it!", "  • A bullet point here", "Notes", "1. “A title,” Dawn, 2016.",
    "\n", "\n\n", "\r\n", "word " * 30, "Short heading", "Is it? Yes. ", "Reuters", "émigré – naïve", "\t", "[iv] A note,",
]), min_size=0, max_size=40).map("".join))
def test_property_passages_and_sentences_round_trip(text):
    doc = _doc(text)
    for p in split_document(doc):
        assert doc.text[p.start:p.end] == p.text and p.text.strip() == p.text and p.text
        for s, e in passage_sentences(p, doc.text):
            assert p.start <= s < e <= p.end
            assert doc.text[s:e].strip() == doc.text[s:e]
        spans = passage_sentences(p, doc.text)
        # sentences tile the passage up to whitespace
        joined = re.sub(r"\s+", "", "".join(doc.text[s:e] for s, e in spans))
        assert joined == re.sub(r"\s+", "", p.text)
