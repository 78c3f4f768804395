"""qa verify: a real answer holds; an answer edited in any claim fails, with one line saying what is wrong.

Answers are made by the real pipeline (fake embedder) over a folder of every format, then forged one
field at a time. Each forgery is a case of its own, so a check that goes missing fails by name.
"""
from __future__ import annotations

import copy
import json

import pytest

from formats_fixtures import mixed_folder
from support import build_fake, fake_embedder, never_decline

from qa.evaluation.verify import answer_problems, read_answers, verify


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """{kind: answer dict}: answers citing the PDF (pages, boxes), the web page (a url), the DOCX and
    the text file (whose title and doc_id come from the folder's metadata.json), and a declined one."""
    from qa.answer.answerer import Answerer
    from qa.index.load import load_index
    from qa.answer.retrieval import Retriever

    work = tmp_path_factory.mktemp("verify")
    c = mixed_folder(work / "c")
    (c / "metadata.json").write_text(json.dumps({"documents": {"notes.txt": {
        "doc_id": "keeper-notes", "title": "The keeper's notes", "date": "1913-01-02"}}}), encoding="utf-8")
    build_fake(c, work / "i")
    emb = fake_embedder()
    answerer = Answerer(Retriever(load_index(work / "i", emb), emb), answer=never_decline())
    out = {
        "pdf": answerer.ask("What did the council decide about the river?", docs=["minutes"]),
        "html": answerer.ask("When was the great lens made?", docs=["sub-article"]),
        "docx": answerer.ask("How many berths did the harbour authority count?", docs=["sub-report"]),
        "txt": answerer.ask("When was the lighthouse lit?", docs=["keeper-notes"]),
        "declined": answerer.ask("What did the Zanzibar Treaty of Kell say?"),
    }
    out = {k: a.to_dict() for k, a in out.items()}
    assert out["pdf"]["citations"][0]["page"] and out["html"]["citations"][0]["url"]
    assert out["txt"]["citations"][0]["doc_id"] == "keeper-notes" and out["declined"]["status"] == "declined"
    return out


def test_the_real_answers_hold(answers):
    v = verify(list(answers.values()))
    assert v.ok, v.lines
    assert v.citations >= 4 and v.failing == 0 and "hold" in v.summary()


def _first(a):
    return a["citations"][0]


# (kind of answer, the forgery, words of the one line that must say what is wrong)
FORGERIES = {
    "answer not in any quote": ("docx", lambda a: a.update(answer="Napoleon Bonaparte"), "not the text at the answer span"),
    "answer of a declined one": ("declined", lambda a: a.update(answer="Kell"), "declined answer has an answer"),
    "status unknown": ("txt", lambda a: a.update(status="certain"), "status 'certain'"),
    "confidence out of range": ("txt", lambda a: a.update(confidence=1.5), "confidence 1.5"),
    "agreeing beyond considered": ("txt", lambda a: a.update(agreeing=5, considered=1), "5 of 1 sources agree"),
    "as of no source's date": ("txt", lambda a: a.update(as_of="1999-09-09"), "date of no cited source"),
    "numbering": ("txt", lambda a: _first(a).update(n=7), "numbered [7"),
    "missing term the question never named": ("declined", lambda a: a.update(missing_terms=["Atlantis"]),
                                              "'Atlantis' is not in the question"),
    "understood_as not text": ("txt", lambda a: a.update(understood_as=42), "understood_as 42"),
    "understood_as empty": ("txt", lambda a: a.update(understood_as="  "), "understood_as '  '"),
    "decline reason unknown": ("declined", lambda a: a.update(decline_reason="bored"), "decline reason 'bored'"),
    "quote": ("txt", lambda a: _first(a).update(quote=_first(a)["quote"].replace("1912", "1921")), "is not the quote"),
    "quote offsets": ("docx", lambda a: _first(a).update(start=_first(a)["start"] + 3, end=_first(a)["end"] + 3),
                      "is not the quote"),
    "answer span outside the quote": ("docx", lambda a: _first(a).update(answer_end=_first(a)["end"] + 50),
                                      "answer span is not inside the quote"),
    "doc_id": ("docx", lambda a: _first(a).update(doc_id="annual-report"), "doc_id 'annual-report'"),
    "doc_id against metadata.json": ("txt", lambda a: _first(a).update(doc_id="notes"), "doc_id 'notes'"),
    "title": ("html", lambda a: _first(a).update(title="The Times"), "title is not the original's"),
    "title against metadata.json": ("txt", lambda a: _first(a).update(title="Notes"), "title is not the original's"),
    "date": ("txt", lambda a: _first(a).update(date="2020-01-01"), "date is not the original's"),
    "web page's url": ("html", lambda a: _first(a).update(url="https://evil.example/news#:~:text=lens"),
                       "url is not the page's own address"),
    "url's text fragment": ("html", lambda a: _first(a).update(url=_first(a)["url"].split("#")[0] + "#:~:text=volunteers"),
                            "url is not the page's own address"),
    "url on a file that has none": ("docx", lambda a: _first(a).update(url="https://example.org/report"),
                                    "url is not the page's own address"),
    "pdf page": ("pdf", lambda a: _first(a).update(page=_first(a)["page"] + 1), "the citation says"),
    "pdf boxes moved": ("pdf", lambda a: _first(a)["boxes"][0]["rects"][0].__setitem__(0, 300.0), "boxes do not cover"),
    "pdf boxes dropped": ("pdf", lambda a: _first(a).update(boxes=None), "boxes do not cover"),
    "a page for a web page": ("html", lambda a: _first(a).update(page=2), "has no pages or boxes"),
    "text source": ("pdf", lambda a: _first(a).update(text_source=_first(a)["text_source"] + ".gone"),
                    "cannot be read"),
    "conflict value in no quote": ("txt", lambda a: a.update(conflicts=[{"value": "1066", "citations": [1]}]),
                                   "conflicting value '1066' is not in every quote"),
    "conflict citing no citation": ("txt", lambda a: a.update(conflicts=[{"value": a["answer"], "citations": [9]}]),
                                    "which are not all citations"),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_each_forgery_fails_with_one_line_saying_what_is_wrong(answers, name):
    kind, forge, words = FORGERIES[name]
    a = copy.deepcopy(answers[kind])
    forge(a)
    v = verify([a])
    assert not v.ok
    assert len(v.lines) == 1, v.lines
    assert words in v.lines[0], v.lines


def test_a_source_swapped_for_another_file_fails(answers, tmp_path):
    a = copy.deepcopy(answers["docx"])
    _first(a)["source"] = _first(answers["txt"])["source"]
    v = verify([a])
    assert not v.ok and any("is not the quote" in line for line in v.lines)


def test_a_missing_original_is_named(answers, tmp_path):
    a = copy.deepcopy(answers["txt"])
    _first(a)["source"] = str(tmp_path / "gone.txt")
    assert verify([a]).lines == [f"answer [1] {tmp_path / 'gone.txt'} chars {_first(a)['start']}-{_first(a)['end']}: "
                                 "the original file is missing"]


def test_a_conflict_its_quotes_bear_out_holds(answers):
    a = copy.deepcopy(answers["txt"])
    a["conflicts"] = [{"value": a["answer"], "citations": [1]}]
    assert answer_problems(a) == []


def test_the_cli_exits_1_naming_the_forgery_and_0_on_the_real_answer(answers, tmp_path, capsys):
    from qa.cli import main

    real, forged = tmp_path / "real.json", tmp_path / "forged.json"
    real.write_text(json.dumps(answers["html"]), encoding="utf-8")
    a = copy.deepcopy(answers["html"])
    a["answer"] = "Edinburgh Castle"
    forged.write_text(json.dumps(a), encoding="utf-8")
    assert main(["verify", str(real)]) == 0
    assert "citation(s) hold" in capsys.readouterr().err
    assert main(["verify", str(forged)]) == 1
    out, err = capsys.readouterr()
    assert out.strip().splitlines() == ["answer: the answer 'Edinburgh Castle' is not the text at the answer span "
                                        "of any citation"]
    assert "1 answer(s) claim what the citations do not bear out" in err


def test_read_answers_takes_eval_results_and_json_lines(answers):
    lines = "\n".join(json.dumps(a) for a in answers.values())
    assert len(read_answers(lines, "x")) == len(answers)
    assert len(read_answers(json.dumps({"results": [{"prediction": answers["txt"]}]}), "x")) == 1


def test_an_answer_of_several_parts_holds_when_each_part_is_a_cited_span(answers):
    a = copy.deepcopy(answers["docx"])
    first = dict(_first(a))
    a["citations"] = [first, {**first, "n": 2}]
    a["parts"] = [a["answer"], a["answer"]]
    a["answer"] = "; ".join(a["parts"])
    assert answer_problems(a) == []
    a["parts"][1] = "forty-three"
    a["answer"] = "; ".join(a["parts"])
    assert answer_problems(a) == ["the part 'forty-three' is not the text at the answer span of any citation"]
    a["answer"] = "forty-two"
    assert "is not its parts joined" in answer_problems(a)[0]


def test_a_follow_up_holds_with_its_terms_in_the_question_it_was_understood_as(answers):
    # a follow-up's answer was made for its stand-alone form: the terms it says the documents never
    # mention are that question's, not the one as typed ("What did it say?")
    a = copy.deepcopy(answers["declined"])
    assert a["understood_as"] is None and answer_problems(a) == []
    a["understood_as"], a["question"] = a["question"], "What did it say?"
    assert answer_problems(a) == []
    a["understood_as"] = "What did it say?"
    assert "is not in the question" in answer_problems(a)[0]
