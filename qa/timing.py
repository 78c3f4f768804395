"""Per-call stage timing: `with record() as times:` collects the seconds each `with stage(name):` inside took.

The recording lives in a context variable, so concurrent questions on other threads (each thread starts
with its own context) never add into each other's figures, and with no recording open `stage` only reads
that variable: the answer path carries the instrumentation at no measurable cost.

A stage opened inside another is subtracted from the outer one, so the stages of one call partition its
time rather than count some of it twice. A record opened inside another also adds its totals to the
outer one when it closes.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Optional

STAGES = ("embed", "bm25", "search", "candidates", "reader", "grouping", "grounding")  # of an Answerer.ask
# of a conversation's turn besides its ask (qa.answer.conversation): making a follow-up stand-alone and
# choosing its passages; `qa bench perf` reports it per turn
RESOLVE = "resolve"

_recording: ContextVar[Optional[dict[str, float]]] = ContextVar("qa_timing_recording", default=None)
_open: ContextVar[Optional["stage"]] = ContextVar("qa_timing_open_stage", default=None)


class stage:
    """`with stage("embed"): ...` adds the block's own seconds (minus any stage nested in it) to the
    current recording under that name; a no-op when nothing is recording."""

    __slots__ = ("name", "_times", "_start", "_inner", "_token")

    def __init__(self, name: str):
        self.name = name
        self._times: Optional[dict[str, float]] = None

    def __enter__(self) -> "stage":
        self._times = _recording.get()
        if self._times is not None:
            self._inner = 0.0
            self._token = _open.set(self)
            self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> bool:
        times = self._times
        if times is not None:
            elapsed = time.perf_counter() - self._start
            _open.reset(self._token)
            times[self.name] = times.get(self.name, 0.0) + elapsed - self._inner
            outer = _open.get()
            if outer is not None:
                outer._inner += elapsed
            self._times = None
        return False


@contextmanager
def record() -> Iterator[dict[str, float]]:
    """A dict filled, as the block runs, with stage name -> seconds for every stage entered inside it
    (in this thread or task); complete once the block has closed."""
    times: dict[str, float] = {}
    outer = _recording.get()
    token = _recording.set(times)
    try:
        yield times
    finally:
        _recording.reset(token)
        if outer is not None:
            for name, seconds in times.items():
                outer[name] = outer.get(name, 0.0) + seconds
