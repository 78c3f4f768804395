"""qa eval on conversations: the schema and its errors, the scoring arithmetic, the CLI, and the shipped set."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional

import pytest

from qa.errors import QAError
from qa.evaluation import conversation_run as run
from qa.evaluation import conversations as convs
from qa.evaluation import gold
from qa.settings import PROJECT_ROOT
from support import DOCS, build_fake, write_corpus, write_jsonl

SHIPPED = [PROJECT_ROOT / "eval" / "conversations" / "corpus.jsonl", PROJECT_ROOT / "eval" / "conversations" / "pages.jsonl"]


def turn(q, answers=("x",), standalone=None, **kw):
    t = {"question": q, "answers": list(answers), "answerable": bool(answers), **kw}
    if standalone is not None:
        t["standalone"] = standalone
    return t


GOOD = {"id": "c1", "split": "dev", "turns": [
    turn("Who led Wilayat Khorasan?", ["Hafiz Saeed Khan"]),
    turn("When was he killed?", ["August 2016"], "When was Hafiz Saeed Khan killed?", resolves="pronoun"),
    turn("Who won the 2019 Cricket World Cup?", [], followup=False),
]}


# --------------------------------------------------------------------------- schema and loading

def test_a_conversation_file_loads_with_defaults_and_splits(tmp_path):
    other = {"id": 2, "turns": [turn("Q1?"), turn("And Q2?", standalone="Q2 of Q1?")]}
    f = write_jsonl(tmp_path / "c.jsonl", [GOOD, other])
    cs = convs.load_conversations([f])
    assert [c.id for c in cs] == ["c1", "2"]
    first, followup, change = cs[0].turns
    assert (first.standalone, first.followup) == ("Who led Wilayat Khorasan?", False)  # the first stands alone
    assert (followup.followup, followup.resolves, followup.standalone) == (True, "pronoun", "When was Hafiz Saeed Khan killed?")
    assert (change.followup, change.answerable, change.standalone) == (False, False, change.question)
    assert cs[1].split == "all" and cs[1].corpus is None
    assert [c.id for c in convs.load_conversations([f], "test")] == ["2"]  # no split = in every split


@pytest.mark.parametrize("line,needle", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "JSON object"),
    ({"turns": [turn("Q?")]}, "missing required field 'id'"),
    ({"id": "a", "question": "Q?", "answers": [], "answerable": False, "turns_": 1}, "question line in a file of conversations"),
    ({"id": "a", "turns": []}, "'turns' must be a non-empty list"),
    ({"id": "a", "turns": ["Q?"]}, "turn 1 must be a JSON object"),
    ({"id": "a", "turns": [{"question": "Q?", "answers": ["x"]}]}, "turn 1: missing required field 'answerable'"),
    ({"id": "a", "turns": [turn("")]}, "turn 1: 'question' must be non-empty"),
    ({"id": "a", "turns": [turn("Q?", answers=[]) | {"answerable": True}]}, "turn 1 is answerable but lists no answers"),
    ({"id": "a", "turns": [turn("Q?", followup=True)]}, "first turn cannot be a follow-up"),
    ({"id": "a", "turns": [turn("Q?"), turn("And Q2?")]}, "turn 2: missing required field 'standalone'"),
    ({"id": "a", "turns": [turn("Q?"), turn("Q2?", standalone="Q2?")]}, "turn 2 is a follow-up but its 'standalone' is the question"),
    ({"id": "a", "turns": [turn("Q?"), turn("Q2?", standalone="Q3?", followup=False)]}, "turn 2 is not a follow-up"),
    ({"id": "a", "turns": [turn("Q?", standalone="Other?")]}, "turn 1 is not a follow-up"),
    ({"id": "a", "turns": [turn("Q?"), turn("And?", standalone="Q2?", resolves="cataphora")]}, "'resolves' must be one of"),
    ({"id": "a", "turns": [turn("Q?"), turn("And?", standalone="Q2?", followup="yes")]}, "'followup' must be true or false"),
    ({"id": "a", "split": "train", "turns": [turn("Q?")]}, "'split' must be dev or test"),
    ({"id": "a", "corpus": 3, "turns": [turn("Q?")]}, "'corpus' must be a folder's path"),
])
def test_bad_conversation_files_raise_clear_errors(tmp_path, line, needle):
    # the first line of this file is a valid conversation, so the bad one is line 2 of a conversation file
    f = write_jsonl(tmp_path / "bad.jsonl", [GOOD, line if isinstance(line, str) else json.dumps(line)])
    with pytest.raises(QAError) as e:
        convs.load_conversations([f])
    assert needle in str(e.value) and "bad.jsonl:2" in str(e.value)
    assert "\n" not in str(e.value).split(" (")[0]  # one line


def test_duplicates_missing_and_empty_files(tmp_path):
    with pytest.raises(QAError, match="duplicate conversation id"):
        convs.load_conversations([write_jsonl(tmp_path / "d.jsonl", [GOOD, GOOD])])
    with pytest.raises(QAError, match="not found"):
        convs.load_conversations([tmp_path / "nope.jsonl"])
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(QAError, match="no conversations"):
        convs.load_conversations([tmp_path / "empty.jsonl"])


def test_the_kind_of_a_file_is_decided_by_its_lines(tmp_path):
    q = {"id": "q1", "question": "Q?", "answers": ["x"], "answerable": True}
    assert convs.file_kind(write_jsonl(tmp_path / "c.jsonl", ["", GOOD, q])) == "conversations"
    assert convs.file_kind(write_jsonl(tmp_path / "q.jsonl", [q, GOOD])) == "questions"
    assert convs.file_kind(write_jsonl(tmp_path / "x.jsonl", ["{oops"])) == "questions"  # the question loader says why
    assert convs.file_kind(tmp_path / "missing.jsonl") == "questions"
    # a file mixing the two is refused by whichever loader reads it, at the offending line
    with pytest.raises(QAError, match=r"q\.jsonl:2: a conversation \(it has 'turns'\) in a file of questions"):
        gold.load_questions([tmp_path / "q.jsonl"])
    with pytest.raises(QAError, match=r"c\.jsonl:3: missing required field 'turns'"):
        convs.load_conversations([tmp_path / "c.jsonl"])


@dataclass
class FakeIndex:
    manifest: dict
    path: str = "fake-index"


def test_the_index_must_be_built_from_the_conversations_folder(tmp_path):
    from qa.ingest.corpus import corpus_hash

    a, b = write_corpus(tmp_path / "a"), write_corpus(tmp_path / "b", {"other.txt": "Something else entirely."})
    ca = convs.GoldConversation("1", [], corpus=str(a), where="f:1")
    cb = convs.GoldConversation("2", [], corpus=str(b), where="f:2")
    assert convs.check_index([ca], FakeIndex({"corpus_hash": corpus_hash(a)})) == a.resolve()
    with pytest.raises(QAError, match="the index at fake-index was built from other documents"):
        convs.check_index([ca], FakeIndex({"corpus_hash": corpus_hash(b)}))
    with pytest.raises(QAError, match="different folders in one run"):
        convs.check_index([ca, cb], FakeIndex({"corpus_hash": corpus_hash(a)}))
    with pytest.raises(QAError, match="corpus folder not found"):
        convs.check_index([convs.GoldConversation("3", [], corpus=str(tmp_path / "gone"), where="f:3")], FakeIndex({}))
    # no corpus field: the bundled documents, found from any working directory
    assert convs.corpus_folder(None) == PROJECT_ROOT / "corpus"


# --------------------------------------------------------------------------- scoring arithmetic

@dataclass
class FakeAnswer:
    answer: Optional[str]
    status: str = "answered"
    confidence: float = 0.8
    understood_as: Optional[str] = None

    def to_dict(self):
        return {"question": "?", "status": self.status, "answer": self.answer, "confidence": self.confidence,
                "citations": [], "understood_as": self.understood_as}


class FakeConversation:
    """The engine's shape (issue 28): ask(question, k=..., docs=None) with a history; canned answers."""

    def __init__(self, script, log):
        self.script, self.log = script, log

    def ask(self, question, k=5, docs=None, as_written=False):
        self.log.append(("conv", id(self), question, k))
        return self.script[question]


class FakeAnswerer:
    def __init__(self, in_context, alone):
        self.in_context, self.alone, self.log = in_context, alone, []

    def warm_up(self):
        self.log.append(("warm",))

    def conversation(self):
        return FakeConversation(self.in_context, self.log)

    def ask(self, question, k=5, docs=None):
        self.log.append(("ask", question, k))
        return self.alone[question]


def _conv(cid, *turns):
    return convs.parse_conversation({"id": cid, "split": "dev", "turns": list(turns)}, f"t:{cid}")


def test_scoring_arithmetic_with_a_fake_conversation():
    c1 = _conv("a", turn("Who led it?", ["Khan"]),
               turn("When was he killed?", ["2016"], "When was Khan killed?", resolves="pronoun"),
               turn("Where was he born?", [], "Where was Khan born?", resolves="pronoun"),
               turn("What is the capital of Iran?", [], followup=False))
    c2 = _conv("b", turn("How many died?", ["97"]),
               turn("And in Karachi?", ["45"], "How many died in Karachi?", resolves="ellipsis"),
               turn("Who paid for it?", ["Turkey"], "Who paid for the attack?", resolves="pronoun"))
    in_context = {
        "Who led it?": FakeAnswer("Hafiz Khan", confidence=0.71234),
        "When was he killed?": FakeAnswer("in August 2016", understood_as="When was Khan killed?"),  # right, as gold
        "Where was he born?": FakeAnswer("Kabul", understood_as="where was khan born"),  # unanswerable, answered
        "What is the capital of Iran?": FakeAnswer(None, "declined", 0.0, understood_as="What is Khan's capital?"),
        "How many died?": FakeAnswer("97", "uncertain", 0.3),
        "And in Karachi?": FakeAnswer("twelve"),  # wrong in context, right alone: lost
        "Who paid for it?": FakeAnswer(None, "declined", 0.1),
    }
    alone = {
        "Who led it?": FakeAnswer("Hafiz Khan", confidence=0.71231),  # the same confidence to 4 places
        "When was Khan killed?": FakeAnswer("2016"),
        "Where was Khan born?": FakeAnswer(None, "declined", 0.0),
        "What is the capital of Iran?": FakeAnswer(None, "declined", 0.0),
        "How many died?": FakeAnswer("97", "answered", 0.3),  # another status: not identical
        "How many died in Karachi?": FakeAnswer("forty-five people"),  # number words equal digits
        "Who paid for the attack?": FakeAnswer("Turkey"),
        # the follow-ups as written, with no history: right only by luck
        "When was he killed?": FakeAnswer("2016"), "Where was he born?": FakeAnswer("Herat"),
        "And in Karachi?": FakeAnswer(None, "declined", 0.0), "Who paid for it?": FakeAnswer(None, "declined", 0.0),
    }
    a = FakeAnswerer(in_context, alone)
    out = run.evaluate_conversations([c1, c2], a, k=3, progress=False)
    convs_used = {e[1] for e in a.log if e[0] == "conv"}
    assert len(convs_used) == 2  # a fresh conversation for each gold conversation
    assert all(e[-1] == 3 for e in a.log if e[0] in ("conv", "ask"))  # k reaches both paths
    assert [e[1] for e in a.log if e[0] == "ask"][1] == "When was Khan killed?"  # the stand-alone form is asked

    m = out["metrics"]
    assert (m["n_conversations"], m["n_turns"], m["n_first"], m["n_followup"], m["n_topic_change"]) == (2, 7, 2, 4, 1)
    # follow-ups: killed (right/right), born (wrong/right), Karachi (wrong/right), paid (wrong/right)
    assert m["followup_accuracy_in_context"] == pytest.approx(1 / 4)
    assert m["followup_accuracy_stand_alone"] == pytest.approx(4 / 4)
    assert m["followup_ratio"] == pytest.approx(0.25)
    assert m["followup_accuracy_as_written"] == pytest.approx(1 / 4)
    assert [e[1] for e in a.log if e[0] == "ask"].count("When was he killed?") == 1  # follow-ups only
    assert m["first_turn_identity"] == pytest.approx(0.5) and m["not_identical"] == ["b#1"]
    assert m["topic_changes_rewritten"] == 1 and m["topic_changes_rewritten_ids"] == ["a#4"]
    assert m["topic_change_accuracy"] == 1.0  # declined an unanswerable question, even though rewritten
    assert m["followups_rewritten"] == pytest.approx(2 / 4)
    assert m["rewrites_matching_gold"] == pytest.approx(2 / 4)  # case and punctuation aside
    assert sorted(m["lost_in_context"]) == ["a#3", "b#2", "b#3"]
    assert m["by_resolves"]["pronoun"] == {"n": 3, "in_context": pytest.approx(1 / 3), "stand_alone": 1.0}
    assert m["by_resolves"]["ellipsis"]["n"] == 1 and "definite" not in m["by_resolves"]
    assert m["targets"] == {"followup_ratio": False, "topic_changes_rewritten": False, "first_turn_identity": False}

    rec = {r["id"]: r for r in out["turns"]}
    assert rec["a#2"]["role"] == "followup" and rec["a#2"]["understood_as"] == "When was Khan killed?"
    assert rec["a#1"]["identical_to_ask"] is True and rec["a#2"]["identical_to_ask"] is None
    assert rec["a#4"]["role"] == "topic-change" and rec["a#4"]["rewritten"] is True
    assert set(rec["b#2"]) >= {"question", "standalone", "answers", "prediction", "stand_alone_prediction",
                               "correct_in_context", "correct_stand_alone", "latency_ms", "split", "resolves"}
    text = run.format_conversations(m)
    assert "MISSED" in text and "in context / stand-alone" in text and "0.250" in text


def test_targets_are_met_and_unmeasurable_ones_say_so():
    c = _conv("a", turn("Q1?", ["x"]), turn("And Q2?", ["y"], "Q2 of Q1?"))
    same = {"Q1?": FakeAnswer("x"), "And Q2?": FakeAnswer("y", understood_as="Q2 of Q1?")}
    alone = {"Q1?": FakeAnswer("x"), "Q2 of Q1?": FakeAnswer("no"), "And Q2?": FakeAnswer("no")}
    out = run.evaluate_conversations([c], FakeAnswerer(same, alone),
                                     k=5, progress=False)
    m = out["metrics"]
    assert m["followup_ratio"] is None  # nothing right alone: no ratio, rather than a division by zero
    assert m["targets"] == {"followup_ratio": None, "topic_changes_rewritten": None, "first_turn_identity": True}
    assert "n/a" in run.format_conversations(m)


def test_an_answerer_without_conversations_is_refused_in_one_line():
    class Plain:
        def ask(self, q, k=5):
            raise AssertionError("never asked")

    with pytest.raises(QAError, match="cannot hold a conversation"):
        run.evaluate_conversations([_conv("a", turn("Q?"))], Plain(), k=5, progress=False)


def test_the_report_section_lists_lost_turns_and_escapes_them(tmp_path):
    from qa.evaluation.report import write_report

    c = _conv("x", turn("Who <b>led</b> it?", ["Khan"]), turn("And <script>?", ["2016"], "When <script>?"))
    a = FakeAnswerer({"Who <b>led</b> it?": FakeAnswer("Khan"), "And <script>?": FakeAnswer("no")},
                     {"Who <b>led</b> it?": FakeAnswer("Khan"), "When <script>?": FakeAnswer("2016"),
                      "And <script>?": FakeAnswer("no")})
    result = {"meta": {"k": 5}, "conversations": run.evaluate_conversations([c], a, k=5, progress=False)}
    write_report(result, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "And &lt;script&gt;?" in page
    assert "Follow-ups right alone, wrong in context (1)" in page and "1 conversations" in page
    write_report(result, tmp_path / "r.md")
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "| x#2 | And <script>? | (as written) | When <script>? | 2016 | answered: no | answered: 2016 |" in md


# --------------------------------------------------------------------------- through the command line

@pytest.fixture(scope="module")
def fake_index(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    corpus = write_corpus(d / "docs", DOCS)
    build_fake(corpus, d / "index")
    return corpus, d / "index"


@pytest.fixture()
def fake_setup(fake_index, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_EMBEDDER", "fake")
    corpus, index = fake_index
    rows = [
        {"id": "h1", "split": "dev", "corpus": str(corpus), "turns": [
            turn("Who surveyed the harbour of Ostland?", ["Marta Kell"]),
            turn("When did she return?", ["1924"], "When did Marta Kell return to Ostland?", resolves="pronoun"),
            turn("When was the lighthouse on Kell Point first lit?", ["1912"], followup=False)]},
        {"id": "h2", "split": "test", "corpus": str(corpus), "turns": [
            turn("Who founded the fisheries cooperative?", ["Jonas Brede"]),
            turn("When was it dissolved?", ["1938"], "When was the fisheries cooperative dissolved?", resolves="pronoun")]},
    ]
    return corpus, index, write_jsonl(tmp_path / "talk.jsonl", rows)


def test_qa_eval_scores_a_conversation_file(fake_setup, tmp_path, capsys):
    from qa.cli import main

    corpus, index, f = fake_setup
    out, report = tmp_path / "out.json", tmp_path / "r.md"
    rc = main(["eval", str(f), "--index", str(index), "--json", str(out), "--report", str(report), "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "2 conversation(s), 5 turns" in printed and "first turns identical to qa ask" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert "results" not in data and data["meta"]["conversation_corpus"] == str(corpus.resolve())
    conv = data["conversations"]
    assert [r["id"] for r in conv["turns"]] == ["h1#1", "h1#2", "h1#3", "h2#1", "h2#2"]
    assert [r["role"] for r in conv["turns"]] == ["first", "followup", "topic-change", "first", "followup"]
    m = conv["metrics"]
    assert (m["n_conversations"], m["n_followup"], m["n_topic_change"]) == (2, 2, 1)
    assert m["first_turn_identity"] == 1.0  # a first turn is answered exactly as `qa ask` answers it
    md = report.read_text(encoding="utf-8")
    assert "## Conversations" in md and "in context / stand-alone" in md
    assert "### First turns not answered as qa ask answers them (0)" in md
    # --split keeps one conversation
    assert main(["eval", str(f), "--index", str(index), "--split", "test", "--quiet"]) == 0
    assert "1 conversation(s), 2 turns" in capsys.readouterr().out
    # questions and conversations in one run: both scored, both printed, one result
    q = write_jsonl(tmp_path / "q.jsonl", [{"id": "q1", "question": "Who founded the fisheries cooperative?",
                                              "answers": ["Jonas Brede"], "answerable": True}])
    assert main(["eval", str(q), str(f), "--index", str(index), "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "1 question(s) from" in printed and "retrieval R@3" in printed and "2 conversation(s)" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [r["id"] for r in data["results"]] == ["q1"] and len(data["conversations"]["turns"]) == 5


def test_qa_eval_refuses_bad_conversation_input_in_one_line(fake_setup, tmp_path, capsys):
    from qa.cli import main

    corpus, index, f = fake_setup
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "turns": [turn("Q?"), turn("And?")]}])
    assert main(["eval", str(bad), "--index", str(index), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.jsonl:1: turn 2: missing required field 'standalone'" in err
    # no corpus field means the bundled documents, and this index is of others
    other = write_jsonl(tmp_path / "bundled.jsonl", [{"id": "y", "turns": [turn("Who led Wilayat Khorasan?")]}])
    assert main(["eval", str(other), "--index", str(index), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "built from other documents" in err and "qa index --corpus" in err and err.count("\n") == 0
    assert main(["eval", str(f), "--index", str(index), "--baseline", str(f), "--quiet"]) == 2
    assert "conversations only" in capsys.readouterr().err


# --------------------------------------------------------------------------- the shipped dev set

def _folded(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\u2019", "'")).casefold()


def test_the_shipped_conversations_load_and_cover_both_folders():
    cs = convs.load_conversations(SHIPPED)
    assert len(cs) >= 30
    folders = {convs.corpus_folder(c.corpus).resolve() for c in cs}
    assert folders == {(PROJECT_ROOT / "corpus").resolve(), (PROJECT_ROOT / "eval" / "conversations" / "pages").resolve()}
    turns = [(n, t) for c in cs for n, t in enumerate(c.turns, 1)]
    assert all(2 <= len(c.turns) <= 4 for c in cs)
    assert {t.resolves for _, t in turns} >= {"pronoun", "possessive", "definite", "ellipsis"}
    assert sum(1 for n, t in turns if n > 1 and not t.followup) >= 5  # topic changes
    assert sum(1 for _, t in turns if not t.answerable) >= 4
    dev = sum(c.split == "dev" for c in cs)
    assert abs(dev - (len(cs) - dev)) <= 2 and all(c.split in ("dev", "test") for c in cs)


def test_the_copied_pages_keep_their_licence_and_say_where_each_came_from():
    pages = PROJECT_ROOT / "eval" / "conversations" / "pages"
    assert "MIT License" in (pages.parent / "LICENSE").read_text(encoding="utf-8")
    meta = json.loads((pages / "metadata.json").read_text(encoding="utf-8"))["documents"]
    assert sorted(meta) == sorted(p.name for p in pages.glob("*.html"))
    assert all(m["url"].startswith("https://") and len(m["key"]) == 64 for m in meta.values())


def test_every_gold_answer_of_the_shipped_conversations_is_in_its_documents():
    """Each accepted answer appears verbatim (case and spacing aside) in the text the index reads from
    the conversation's folder: a gold answer the documents do not hold could never be found."""
    from qa.ingest.corpus import load_corpus

    texts: dict = {}
    missing = []
    for c in convs.load_conversations(SHIPPED):
        folder = convs.corpus_folder(c.corpus)
        if folder not in texts:
            texts[folder] = _folded(" ".join(d.text for d in load_corpus(folder)))
        for n, t in enumerate(c.turns, 1):
            missing += [(c.id, n, a) for a in t.answers if _folded(a) not in texts[folder]]
    assert not missing, missing
