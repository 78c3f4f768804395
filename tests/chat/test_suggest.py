"""qa.chat.suggest: questions from a folder's own titles and headings, kept when the engine answers them,
and the overview of what the folder holds."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from qa.chat.suggest import (MIN_UNCERTAIN, candidate_questions, candidates, overview, render_overview,
                             suggested_questions)
from qa.errors import QAError
from qa.types import Document, Passage, Sentence

BODY = ("The harbour board reported on the bridge in March. The survey was carried out by the board and its "
        "engineers, who found the deck sound. Traffic on the bridge rose in the year to the survey. ")


def doc(doc_id, title, text=BODY, fmt="html"):
    return Document(doc_id=doc_id, source=f"/f/{doc_id}.{fmt}", text=text, title=title, format=fmt)


def passage(doc_id, section, boilerplate=None, start=0):
    return Passage(passage_id=f"{doc_id}-{start}", doc_id=doc_id, start=start, end=start + 10, text="x" * 10,
                   section=section, boilerplate=boilerplate)


def named(doc_id, text, *names):
    """A sentence of `doc_id` whose entity spans (as the index's analysis stores them) cover `names`."""
    ents = tuple((text.index(n), text.index(n) + len(n), "ORG") for n in names)
    return Sentence(sentence_id=doc_id, passage_id=doc_id, doc_id=doc_id, start=0, end=len(text), text=text,
                    row=0, ents=ents)


def index(docs, passages=(), sentences=()):
    return SimpleNamespace(documents={d.doc_id: d for d in docs}, passages=list(passages),
                           sentences=list(sentences))


KESTREL = BODY + "The Kestrel Bridge crosses the harbour. "


def test_a_title_that_names_a_thing_becomes_a_what_is_question():
    d = doc("k", "The Kestrel Bridge", KESTREL)
    ix = index([d], sentences=[named("k", KESTREL, "Kestrel Bridge")])
    assert candidate_questions(ix) == ["What is the Kestrel Bridge?"]


def test_a_report_title_asks_what_it_found_and_a_topic_heading_is_asked_in_lower_case():
    ix = index([doc("h", "Harbour survey 2019"), doc("r", "notes")],
               [passage("r", "Risks to the Success of the Grant")])
    assert candidate_questions(ix) == ["What did the harbour survey 2019 find?",
                                       "What are the risks to the success of the grant?"]


@pytest.mark.parametrize("heading", [
    "Contents", "References", "Share this article", "Table of Contents", "About the author", "Summary",
    "Wednesday, February 21, 2024", "2019", "Page 3 of 10", "Funding",  # furniture, dates, a lone common word
    "Esper accuses China of intimidation",  # a headline: subject, verb, object
    "Why the bridge matters?", "Assessing the threat", "Russia and Syria",  # a question, a verb, a list
    "Annual report excerpt 04a6711c", "STAFF NOTES", "$15 off the charger"])  # a code, a banner, a price
def test_boilerplate_headings_and_sentences_give_no_question(heading):
    text = BODY + "Esper went to China. "
    ix = index([doc("d", "notes", text)], [passage("d", heading)], [named("d", text, "Esper", "China")])
    assert candidate_questions(ix) == []


def test_at_most_one_per_document_in_document_order_and_the_same_every_time():
    a, b = doc("a", "Cash Flow Hedges"), doc("b", "Interest Rate Swaps")
    ix = index([a, b], [passage("a", "Deferred Tax Assets"), passage("b", "Lease Liabilities")])
    first = candidate_questions(ix)
    assert first == ["What are the cash flow hedges?", "What are the interest rate swaps?"]
    assert candidate_questions(ix) == first
    # the fuller list takes documents in turns: each one's title, then each one's heading
    assert [c.doc_id for c in candidates(ix)] == ["a", "b", "a", "b"]


def test_a_heading_under_which_there_is_only_boilerplate_is_not_used():
    ix = index([doc("d", "notes")], [passage("d", "Deferred Tax Assets", boilerplate="note")])
    assert candidate_questions(ix) == []


def test_a_document_not_in_english_gives_no_question():
    text = "Os atletas da equipa venceram a prova com um tempo recorde na final do campeonato. " * 3
    ix = index([doc("p", "Classificação Geral", text)], [passage("p", "Resultados da Prova")])
    assert candidate_questions(ix) == []


# --------------------------------------------------------------------------- suggested_questions

class FakeAnswerer:
    """Answers from a table: question -> (status, confidence); each ask moves the fake clock by `cost`."""

    def __init__(self, ix, replies, cost=0.0):
        self.index, self.replies, self.cost, self.now, self.asked = ix, replies, cost, 0.0, []

    def clock(self):
        return self.now

    def ask(self, question):
        self.asked.append(question)
        self.now += self.cost
        reply = self.replies.get(question, ("declined", 0.0))
        if reply == "refuse":
            raise QAError("question too long")
        return SimpleNamespace(status=reply[0], confidence=reply[1])


FOUR = index([doc(x, t) for x, t in (("a", "Cash Flow Hedges"), ("b", "Interest Rate Swaps"),
                                     ("c", "Deferred Tax Assets"), ("d", "Lease Liabilities"))],
             [passage("a", "Hedge Accounting Rules")])
Q = {"a": "What are the cash flow hedges?", "b": "What are the interest rate swaps?",
     "c": "What are the deferred tax assets?", "d": "What are the lease liabilities?",
     "a2": "What are the hedge accounting rules?"}


def test_answered_questions_are_kept_and_declined_or_doubtful_ones_dropped():
    replies = {Q["a"]: ("answered", 0.9), Q["b"]: ("declined", 0.0), Q["c"]: ("uncertain", MIN_UNCERTAIN + 0.01),
               Q["d"]: ("uncertain", MIN_UNCERTAIN - 0.01)}
    f = FakeAnswerer(FOUR, replies)
    assert suggested_questions(f, limit=4, clock=f.clock) == [Q["a"], Q["c"]]


def test_one_question_per_document_and_a_refused_question_is_skipped():
    replies = {Q["a"]: "refuse", Q["a2"]: ("answered", 0.9), Q["b"]: ("answered", 0.9)}
    f = FakeAnswerer(FOUR, replies)
    assert suggested_questions(f, limit=4, clock=f.clock) == [Q["b"], Q["a2"]]
    replies[Q["a"]] = ("answered", 0.9)  # once a document has its question, its heading is not asked
    f = FakeAnswerer(FOUR, replies)
    assert suggested_questions(f, limit=4, clock=f.clock) == [Q["a"], Q["b"]] and Q["a2"] not in f.asked


def test_the_limit_and_the_time_budget_stop_the_asking():
    everything = {q: ("answered", 0.9) for q in Q.values()}
    f = FakeAnswerer(FOUR, everything)
    assert suggested_questions(f, limit=2, clock=f.clock) == [Q["a"], Q["b"]] and len(f.asked) == 2
    f = FakeAnswerer(FOUR, everything, cost=1.0)
    assert suggested_questions(f, limit=4, budget_s=2.5, clock=f.clock) == [Q["a"], Q["b"], Q["c"]]
    assert len(f.asked) == 3  # the third started at 2.0 s, inside the budget; none started after


# --------------------------------------------------------------------------- the overview

LISTING = {"collection": "harbour", "indexed": True,
           "documents": [{"doc_id": "a", "title": "Survey", "file": "a.pdf", "format": "pdf", "pages": 12},
                         {"doc_id": "b", "title": "Log", "file": "b.pdf", "format": "pdf", "pages": 3},
                         {"doc_id": "c", "title": "Memo", "file": "c.docx", "format": "docx", "pages": None},
                         {"doc_id": "d", "title": "Page", "file": "d.html", "format": "html", "pages": None},
                         {"doc_id": "e", "title": "Notes", "file": "e.txt", "format": "txt", "pages": None},
                         {"doc_id": "f", "title": "Readme", "file": "f.md", "format": "md", "pages": None}],
           "skipped": [{"file": "<scan>.pdf", "reason": "no-text-layer", "message": "no text layer <b>"},
                       {"file": "sheet.xlsx", "reason": "unsupported", "message": None}]}


def test_the_overview_counts_documents_by_format_and_lists_skipped_files():
    ov = overview(LISTING)
    assert ov["documents"] == 6 and ov["pages"] == 15
    assert [(f["format"], f["count"], f["label"]) for f in ov["formats"]] == [
        ("pdf", 2, "PDFs"), ("docx", 1, "Word file"), ("html", 1, "web page"), ("text", 2, "text files")]
    assert [s["reason"] for s in ov["skipped"]] == ["no-text-layer", "unsupported"]


def test_the_overview_reads_describe_s_account_too():
    described = {"documents": [{"doc_id": "a", "source": "/x/a.html", "format": "html", "pages": None}],
                 "skipped": [{"source": "/x/b.rtf", "reason": "unsupported", "message": "no extractor"}]}
    ov = overview(described)
    assert ov["documents"] == 1 and ov["skipped"][0]["file"] == "/x/b.rtf"


def test_the_overview_html_says_it_all_and_escapes_every_name():
    html = render_overview(overview(LISTING))
    assert "6 documents: 2 PDFs (15 pages), 1 Word file, 1 web page, 2 text files" in html.replace("&#44;", ",").replace("&#58;", ":").replace("&#40;", "(").replace("&#41;", ")")
    assert "<scan>" not in html and "&lt;scan&gt;" in html and "<b>" not in html
    assert "unsupported" in html  # a skipped file without a message shows its reason
    assert "No index yet" in render_overview(overview({"indexed": False}))
