"""qa.timing: per-call stage times, and the answer path's instrumentation with them."""
from __future__ import annotations

import threading
import time

import pytest

from support import StandInReader

from qa.timing import STAGES, record, stage


def _busy(seconds: float) -> None:
    """Spin rather than sleep: the stage measures wall time either way, and spinning keeps it exact."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_recording_collects_each_stage_it_encloses():
    with record() as times:
        with stage("embed"):
            _busy(0.02)
        with stage("bm25"):
            _busy(0.01)
        with stage("embed"):
            _busy(0.02)
    assert set(times) == {"embed", "bm25"}
    assert 0.04 <= times["embed"] < 0.2
    assert 0.01 <= times["bm25"] < 0.1


def test_a_nested_stage_is_not_counted_twice():
    t = time.perf_counter()
    with record() as times:
        with stage("grouping"):
            _busy(0.01)
            with stage("reader"):
                _busy(0.03)
    wall = time.perf_counter() - t
    assert times["reader"] >= 0.03
    assert 0.01 <= times["grouping"] < 0.03  # its own time only
    assert sum(times.values()) <= wall


def test_stages_outside_a_recording_are_not_kept():
    with stage("embed"):
        _busy(0.005)
    with record() as times:
        pass
    assert times == {}


def test_a_stage_that_raises_still_counts_and_the_error_passes_through():
    with record() as times:
        with pytest.raises(ValueError):
            with stage("search"):
                _busy(0.005)
                raise ValueError("boom")
        with stage("bm25"):
            pass
    assert times["search"] >= 0.005 and "bm25" in times


def test_an_inner_recording_has_its_own_figures_and_adds_them_to_the_outer_one():
    with record() as outer:
        with stage("embed"):
            _busy(0.01)
        with record() as inner:
            with stage("reader"):
                _busy(0.01)
    assert set(inner) == {"reader"}
    assert set(outer) == {"embed", "reader"} and outer["reader"] == inner["reader"]


def test_threads_recording_at_once_do_not_mix():
    barrier = threading.Barrier(2)
    seen: dict[str, dict[str, float]] = {}

    def work(name: str):
        with record() as times:
            barrier.wait()
            for _ in range(20):
                with stage(name):
                    time.sleep(0.001)
        seen[name] = times

    threads = [threading.Thread(target=work, args=(n,)) for n in ("embed", "reader")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(seen["embed"]) == {"embed"} and set(seen["reader"]) == {"reader"}


def test_a_stage_with_nothing_recording_never_reads_the_clock(monkeypatch):
    """The answer path carries the stages always; outside a recording they only look up a variable."""
    import qa.timing

    def clock():
        raise AssertionError("read the clock")

    monkeypatch.setattr(qa.timing.time, "perf_counter", clock)
    for name in STAGES:
        with stage(name):
            pass


def test_an_answer_records_every_stage_and_they_add_up_to_no_more_than_its_time(tmp_path):
    from support import QUESTIONS, build_fake, fake_answerer, write_corpus

    from qa.answer.answerer import Answerer

    build_fake(write_corpus(tmp_path / "c"), tmp_path / "i")
    plain = fake_answerer(tmp_path / "i")
    reader = StandInReader(seconds=0.01)
    read = Answerer(plain.retriever, reader=reader)
    before = plain.ask(QUESTIONS[0])
    t = time.perf_counter()
    with record() as times:
        again = plain.ask(QUESTIONS[0])
    wall = time.perf_counter() - t
    assert again == before  # the instrumentation changes nothing
    assert set(times) == set(STAGES) - {"reader"}
    assert sum(times.values()) <= wall
    with record() as times:
        read.ask(QUESTIONS[0])
    assert set(times) == set(STAGES) and reader.calls == 1
    assert times["reader"] >= 0.01
