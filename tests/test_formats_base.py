"""qa.formats: dispatch by suffix, size limits, skip reasons, cheap import, missing libraries, the
character map's queries, and no pickle anywhere in the package."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.settings import PROJECT_ROOT
from qa.formats import SKIP_REASONS, SUFFIXES, CharMap, MissingLibrary, Rendition, SkipFile, extract, extract_bytes


def test_suffixes_and_reasons():
    assert SUFFIXES == {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".txt": "txt", ".md": "md"}
    assert set(SKIP_REASONS) == {"encrypted", "corrupt", "empty", "no-text-layer", "too-large", "unsupported", "not-text"}
    with pytest.raises(ValueError):
        SkipFile("because")
    e = SkipFile("empty", "nothing here")
    assert (e.reason, e.message, str(e)) == ("empty", "nothing here", "empty: nothing here")


def test_dispatch_is_case_insensitive(tmp_path):
    for name in ("A.TXT", "b.Md", "c.HTM", "d.Html"):
        (tmp_path / name).write_text("<p>" + "Hello there, this is a page about boats. " * 10 + "</p>", encoding="utf-8")
        r = extract(tmp_path / name)
        assert r.format == SUFFIXES[Path(name).suffix.lower()]


def test_unsupported_too_large_and_missing(tmp_path):
    for name in ("a.rtf", "b.doc", "noext", "c.pdf.bak"):
        (tmp_path / name).write_bytes(b"x")
        with pytest.raises(SkipFile) as e:
            extract(tmp_path / name)
        assert e.value.reason == "unsupported"
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 1000)
    with pytest.raises(SkipFile) as e:
        extract(big, max_bytes=100)
    assert e.value.reason == "too-large"
    with pytest.raises(SkipFile) as e:
        extract_bytes(b"word " * 1000, ".txt", max_bytes=100)
    assert e.value.reason == "too-large"
    with pytest.raises(SkipFile) as e:
        extract(tmp_path / "gone.pdf")
    assert e.value.reason == "corrupt"


def test_library_errors_become_corrupt(monkeypatch):
    import qa.formats as F

    def boom(data):
        raise KeyError("word/document.xml")

    monkeypatch.setattr(F, "_extractor", lambda fmt: boom)
    with pytest.raises(SkipFile) as e:
        extract_bytes(b"PK..", ".docx")
    assert e.value.reason == "corrupt" and "KeyError" in e.value.message


def test_missing_library_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "pypdfium2", None)  # makes `import pypdfium2` fail
    monkeypatch.setitem(sys.modules, "pypdfium2.raw", None)
    with pytest.raises(MissingLibrary) as e:
        extract_bytes(b"%PDF-1.4\n%%EOF", ".pdf")
    assert "pip install pypdfium2" in str(e.value) and isinstance(e.value, ImportError)


def test_import_is_cheap():
    code = ("import sys, qa.formats; heavy = [m for m in ('pypdfium2', 'docx', 'trafilatura', 'charset_normalizer')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_pickle_in_the_package():
    from test_no_pickle import pickle_uses

    found = []
    for f in sorted((PROJECT_ROOT / "qa" / "formats").glob("*.py")):
        found += pickle_uses(f.read_text(encoding="utf-8"), str(f.relative_to(PROJECT_ROOT)))
    assert found == []


def _map(pages, boxes, rotation=(0,), page_box=((0, 0, 600, 800),)):
    n = len(pages)
    return CharMap(
        char_page=np.asarray(pages, dtype=np.int16),
        char_box=np.asarray(boxes, dtype=np.float32).reshape(n, 4),
        char_index=np.asarray([i if p else -1 for i, p in enumerate(pages)], dtype=np.int32),
        page_box=np.asarray(page_box, dtype=np.float32),
        page_rotation=np.asarray(rotation, dtype=np.int16),
    )


def test_charmap_queries():
    nan = [np.nan] * 4
    # "ab cd\n\nef": a b on line 1, c d on line 2 of page 1 (joined by an inserted space), ef on page 2
    pages = [1, 1, 0, 1, 1, 0, 0, 2, 2]
    boxes = [[10, 700, 16, 712], [16, 700, 22, 712], nan, [10, 680, 16, 692], [16, 680, 22, 692], nan, nan,
             [30, 500, 36, 512], [36, 500, 42, 512]]
    cm = _map(pages, boxes, rotation=(0, 90), page_box=((0, 0, 600, 800), (0, 0, 600, 800)))
    assert cm.boxes_for(0, 9) == [
        {"page": 1, "rects": [[10, 700, 22, 712], [10, 680, 22, 692]]},
        {"page": 2, "rects": [[30, 500, 42, 512]]},
    ]
    assert cm.page_of(0, 9) == 1 and cm.page_of(7, 9) == 2
    assert cm.page_of(5, 7) == 2  # only inserted characters: the page of what follows
    assert cm.page_of(-5, 1000) == 1 and cm.boxes_for(4, 2) == []
    assert cm.page_span(1) == (0, 5) and cm.page_span(2) == (7, 9) and cm.page_span(3) is None
    assert cm.page_size(1) == (600, 800) and cm.page_size(2) == (800, 600)
    assert cm.to_pixels(1, [10, 700, 22, 712], 2.0) == [20, 176, 44, 200]
    assert cm.to_pixels(2, [10, 700, 22, 712], 1.0) == [700, 10, 712, 22]
    with pytest.raises(ValueError):
        Rendition(text="abc", format="pdf", extractor="x", extractor_version="1", source_sha256="0", charmap=cm)


def test_rendition_save_load(tmp_path):
    r = Rendition(text="Hé\r\nthere", format="txt", extractor="x", extractor_version="1", source_sha256="ab",
                  title="T", marks=((0, 2, "header"),), encoding="cp1252", needs_copy=True)
    r.save(tmp_path / "r")
    back = Rendition.load(tmp_path / "r")
    assert back == r and back.text == "Hé\r\nthere"
    assert r.page_of(0, 1) is None and r.boxes_for(0, 1) == [] and r.meta()["chars"] == 9
