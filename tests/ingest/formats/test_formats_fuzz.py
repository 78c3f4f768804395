"""Arbitrary bytes under every supported suffix: only a Rendition or a SkipFile may come out."""
from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats_fixtures import ARTICLE_HTML, SAMPLES, hyphen_pdf
from qa.ingest.formats import Rendition, SkipFile, SUFFIXES, extract_bytes


def _docx_bytes() -> bytes:
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_heading("Title", 1)
    d.add_paragraph("Some text in a paragraph.")
    t = d.add_table(rows=1, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "a", "b"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


SEEDS = {
    ".pdf": [hyphen_pdf(), (SAMPLES / "016-libre-office-link/libre-office-link.pdf").read_bytes()],
    ".docx": [_docx_bytes()],
    ".html": [ARTICLE_HTML.encode("utf-8")],
    ".htm": [b"<html><body><p>short</p></body></html>"],
    ".txt": ["Caf\u00e9 cr\u00e8me\r\n".encode("cp1252"), b"plain text\n"],
    ".md": [b"# Heading\n\nBody.\n"],
}


def _check(data: bytes, suffix: str) -> None:
    try:
        r = extract_bytes(data, suffix)
    except SkipFile as e:
        assert e.reason and e.message
        return
    assert isinstance(r, Rendition) and isinstance(r.text, str) and r.text.strip()
    r.text.encode("utf-8")  # no lone surrogates: the text can be written out as UTF-8
    if r.charmap is not None:
        assert len(r.charmap) == len(r.text)
    for s, e, why in r.marks:
        assert 0 <= s < e <= len(r.text) and why


@st.composite
def mutated(draw, suffix):
    """A valid seed file with bytes flipped, cut off, spliced or repeated."""
    seed = bytearray(draw(st.sampled_from(SEEDS[suffix])))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        if not seed:
            break
        i = draw(st.integers(0, len(seed) - 1))
        if op == "flip":
            seed[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del seed[i:i + draw(st.integers(1, 4096))]
        elif op == "insert":
            seed[i:i] = draw(st.binary(min_size=1, max_size=64))
        else:
            seed[i:i] = seed[i:i + draw(st.integers(1, 512))]
    return bytes(seed)


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(suffix, data):
    _check(data, suffix)


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
@FUZZ
@given(data=st.data())
def test_mutated_files(suffix, data):
    _check(data.draw(mutated(suffix)), suffix)


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".html"])
def test_other_formats_bytes_under_the_wrong_suffix(suffix):
    for seeds in SEEDS.values():
        for seed in seeds:
            _check(seed, suffix)
