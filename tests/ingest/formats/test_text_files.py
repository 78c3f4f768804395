"""qa.ingest.formats.text: UTF-8 read exactly as Path.read_text does; other encodings detected; binary refused."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.ingest.formats import SkipFile, extract

FRENCH = ("Le cœur a ses raisons que la raison ne connaît point. À côté de l’église, l’été dernier, nous "
          "avons mangé des crêpes « très bonnes » — voilà ! Ça coûte 5 €.\nDeuxième ligne, déjà écrite.\n")
SPANISH = "El niño comió piñas en la montaña; ¿qué más quería? ¡Qué día más señorial! Mañana será otro día.\n"
GERMAN = "Die Größe der Bäume überraschte uns. Schöne Grüße aus München, sagte der Bürgermeister.\n"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_utf8_is_read_text(tmp_path, newline):
    f = tmp_path / "a.md"
    f.write_bytes(("# Title\n\nSome text: naïve café.\n" * 3).replace("\n", newline).encode("utf-8"))
    r = extract(f)
    assert r.text == f.read_text(encoding="utf-8")
    assert (r.format, r.encoding, r.needs_copy, r.pages, r.charmap) == ("md", "utf-8", False, None, None)


def test_utf8_bom_kept_as_read_text_keeps_it(tmp_path):
    f = tmp_path / "bom.txt"
    f.write_bytes("\ufeffHello there.\r\n".encode("utf-8"))
    assert extract(f).text == f.read_text(encoding="utf-8") == "\ufeffHello there.\n"


@pytest.mark.parametrize("text, enc", [
    (FRENCH, "cp1252"), (SPANISH, "cp1252"), (GERMAN, "cp1252"),
    (SPANISH, "latin-1"), (GERMAN, "latin-1"),
    (FRENCH, "utf-16"), (FRENCH, "utf-16-be"), (GERMAN, "utf-32"),
])
def test_other_encodings_decoded(tmp_path, text, enc):
    f = tmp_path / "legacy.txt"
    data = (text * 3).encode(enc)
    if enc == "utf-16-be":
        data = b"\xfe\xff" + data  # UTF-16 with a big-endian byte-order mark
    f.write_bytes(data)
    r = extract(f)
    assert r.text == text * 3
    assert r.needs_copy and r.encoding
    assert extract(f).text == r.text  # the same bytes decode the same way every time


def test_crlf_in_legacy_encoding_translated(tmp_path):
    f = tmp_path / "w.txt"
    f.write_bytes((FRENCH * 2).replace("\n", "\r\n").encode("cp1252"))
    assert extract(f).text == FRENCH * 2


def test_binary_and_empty(tmp_path):
    cases = {
        "zero.txt": (b"", "empty"),
        "space.md": (b" \n\t\n", "empty"),
        "random.txt": (os.urandom(4096), "not-text"),
        "nul.txt": (b"abc\x00\x01\x02" * 200, "not-text"),
        "elf.txt": (b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4, "not-text"),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(SkipFile) as e:
            extract(tmp_path / name)
        assert e.value.reason == reason, (name, e.value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=300))
def test_any_utf8_text_is_read_text_or_skipped(tmp_path, text):
    f = tmp_path / "h.txt"
    f.write_bytes(text.encode("utf-8"))
    try:
        r = extract(f)
    except SkipFile as e:
        assert e.reason in ("empty", "not-text")
        return
    assert r.text == f.read_text(encoding="utf-8")
