"""qa.chat.feedback: safe appends from many writers, and `qa feedback export` to eval cases."""
import json
import multiprocessing
import re
import threading
from datetime import datetime, timezone

import pytest

from qa.cli import main as qa_main
from qa.settings import PROJECT_ROOT
from qa.errors import QAError
from qa.chat.feedback import append_feedback, export_cases, feedback_record, read_feedback

ANSWERED = {"question": "Who led Wilayat Khorasan?", "status": "answered", "answer": "Hafez Saeed Khan",
            "confidence": 0.8, "citations": [], "notes": [], "conflicts": [], "agreeing": 1, "considered": 2,
            "answer_type": None, "as_of": None, "closest": []}
DECLINED = dict(ANSWERED, question="What is IS-K's annual budget?", status="declined", answer=None, confidence=0.1)


def rec(answer, liked, reply_id, question=None):
    return feedback_record(question or answer.get("question", "q"), answer, "build-1", liked, reply_id=reply_id)


def test_record_fields_and_round_trip(tmp_path):
    path = tmp_path / "sub" / "feedback.jsonl"
    r = rec(ANSWERED, False, "r1")
    append_feedback(path, r)
    append_feedback(path, rec(DECLINED, True, "r2"))
    got = read_feedback(path)
    assert got[0] == r
    assert set(r) == {"time", "reply_id", "question", "answer", "build_id", "liked", "reason"}
    assert r["reason"] is None
    t = datetime.fromisoformat(r["time"])
    assert t.tzinfo is not None and t.utcoffset() == timezone.utc.utcoffset(t)
    assert got[1]["liked"] is True and got[1]["answer"]["status"] == "declined"
    assert path.read_bytes().endswith(b"\n") and path.read_bytes().count(b"\n") == 2


def test_concurrent_thread_appends_never_interleave(tmp_path):
    path = tmp_path / "fb.jsonl"
    big = "é" * 30_000  # large lines make torn or interleaved writes likely if the lock were missing

    def writer(w):
        for i in range(25):
            append_feedback(path, feedback_record(f"{w}-{i} {big}", ANSWERED, "b", i % 2 == 0, reply_id=f"{w}-{i}"))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) == 200
    assert {r["reply_id"] for r in records} == {f"{w}-{i}" for w in range(8) for i in range(25)}


def _process_writer(path, w):
    for i in range(20):
        append_feedback(path, feedback_record(f"p{w}-{i} " + "x" * 50_000, ANSWERED, "b", False, reply_id=f"p{w}-{i}"))


def test_concurrent_process_appends_never_interleave(tmp_path):
    path = tmp_path / "fb.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_process_writer, args=(str(path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    records = read_feedback(path)
    assert len(records) == 80 and len({r["reply_id"] for r in records}) == 80


def test_export_disliked_by_default_all_with_flag():
    records = [rec(ANSWERED, False, "r1"), rec(DECLINED, False, "r2"),
               rec(dict(ANSWERED, question="Liked one?", answer="Yes"), True, "r3")]
    cases = export_cases(records)
    assert [c["question"] for c in cases] == ["Who led Wilayat Khorasan?", "What is IS-K's annual budget?"]
    c = cases[0]
    assert re.fullmatch(r"fb-[0-9a-f]{12}", c["id"])
    assert c["answers"] == [] and c["needs_gold"] is True and c["prediction"] == "Hafez Saeed Khan"
    assert c["answerable"] is True and c["sources"] == [] and c["type"] == "description" and c["split"] == "test"
    assert cases[1]["answerable"] is False and cases[1]["prediction"] == "The corpus does not say."
    assert len(export_cases(records, include_liked=True)) == 3
    assert export_cases(records)[0]["id"] == c["id"]  # stable ids


def test_export_takes_the_last_verdict_per_reply_and_skips_non_answers():
    records = [
        rec(ANSWERED, False, "r1"), rec(ANSWERED, None, "r1"),  # disliked, then taken back
        rec(DECLINED, True, "r2"), rec(DECLINED, False, "r2"),  # liked, then disliked
        rec({"error": "the question is 1200 characters long"}, False, "r3", question="x" * 1200),  # a refusal
        rec(ANSWERED, False, "r4"),  # same question and prediction as r1: one case
        rec(ANSWERED, False, "r5"),
    ]
    cases = export_cases(records)
    assert [c["question"] for c in cases] == ["What is IS-K's annual budget?", "Who led Wilayat Khorasan?"]


def test_export_matches_the_gold_question_format():
    gold = json.loads((PROJECT_ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()[0])
    case = export_cases([rec(ANSWERED, False, "r1")])[0]
    assert set(gold) - {"conflict"} <= set(case)
    for key in ("answers", "sources"):
        assert isinstance(case[key], list)


def test_exported_cases_load_as_eval_questions_once_the_gold_is_filled_in():
    from qa.evaluation.gold import parse_question as parse

    answered, declined = export_cases([rec(ANSWERED, False, "r1"), rec(DECLINED, False, "r2")])
    with pytest.raises(QAError):  # answerable with no gold yet: not silently scored
        parse(answered, "fb:1")
    filled = dict(answered, answers=["Hafez Saeed Khan"])
    filled.pop("needs_gold")
    assert parse(filled, "fb:1").answers == ["Hafez Saeed Khan"]
    assert parse(declined, "fb:2").answerable is False


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_cli_export_to_file_and_stdout(tmp_path, capsys):
    src = tmp_path / "fb.jsonl"
    write(src, [rec(ANSWERED, False, "r1"), rec(dict(ANSWERED, question="Other?"), True, "r2")])
    out = tmp_path / "out" / "cases.jsonl"
    assert qa_main(["feedback", "export", "--in", str(src), "--out", str(out)]) == 0
    cases = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [c["question"] for c in cases] == ["Who led Wilayat Khorasan?"]
    assert "exported 1" in capsys.readouterr().err
    assert qa_main(["feedback", "export", "--in", str(src), "--all"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2 and all(json.loads(x)["needs_gold"] for x in captured.out.splitlines())


def test_cli_export_bad_input_exits_2(tmp_path, capsys):
    assert qa_main(["feedback", "export", "--in", str(tmp_path / "missing.jsonl")]) == 2
    assert "no feedback file" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rec(ANSWERED, False, "r1")) + "\n{not json\n" + json.dumps(rec(ANSWERED, False, "r2")) + "\n")
    assert qa_main(["feedback", "export", "--in", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"hello": 1}\n')
    assert qa_main(["feedback", "export", "--in", str(wrong)]) == 2
    with pytest.raises(QAError):
        read_feedback(wrong)


def test_a_torn_last_line_is_skipped(tmp_path, capsys):
    path = tmp_path / "fb.jsonl"
    path.write_text(json.dumps(rec(ANSWERED, False, "r1")) + "\n" + '{"time": "2026-', encoding="utf-8")
    assert len(read_feedback(path)) == 1
    assert "unfinished last line" in capsys.readouterr().err


def test_a_reason_is_one_clean_line_kept_with_the_verdict_and_exported():
    from qa.chat.feedback import MAX_REASON

    first = rec(ANSWERED, False, "r1")
    why = feedback_record("q", ANSWERED, "build-1", False, reply_id="r1", reason="  wrong\n person,\tsee [2]  ")
    assert why["reason"] == "wrong person, see [2]"
    assert feedback_record("q", ANSWERED, "b", False, reason="x" * 5000)["reason"] == "x" * MAX_REASON
    assert feedback_record("q", ANSWERED, "b", False, reason="   ")["reason"] is None
    (case,) = export_cases([first, why])  # the reason's record is the reply's last: its verdict
    assert case["feedback"]["reason"] == "wrong person, see [2]"
    (old,) = export_cases([first])
    assert old["feedback"]["reason"] is None
