"""qa.ingest.formats: dispatch by suffix, size limits, skip reasons, cheap import, missing libraries, the
character map's queries, and no pickle anywhere in the package."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.settings import PROJECT_ROOT
from qa.ingest.formats import SKIP_REASONS, SUFFIXES, CharMap, MissingLibrary, Rendition, SkipFile, extract, extract_bytes


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
    import qa.ingest.formats as F

    def boom(data):
        raise KeyError("word/document.xml")

    monkeypatch.setitem(F.EXTRACTORS, "docx", F.Extractor("docx", "boom"))
    monkeypatch.setattr("qa.ingest.formats.docx.boom", boom, raising=False)
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
    code = ("import sys, qa.ingest.formats; heavy = [m for m in ('pypdfium2', 'docx', 'trafilatura', 'charset_normalizer')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_pickle_in_the_package():
    from test_no_pickle import pickle_uses

    found, files = [], sorted((PROJECT_ROOT / "qa" / "ingest" / "formats").glob("*.py"))
    assert len(files) >= 8  # the extractors are there to scan
    for f in files:
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


# --------------------------------------------------------------------------- metadata helpers

NOT_TITLES = {
    "1": "number", "  12 ": "number", "2024": "number", "3.": "number", "- 3 -": "number", "[7]": "number",
    "Page 3": "page-label", "Page 3 of 10": "page-label", "p. 12": "page-label", "Seite 4 von 9": "page-label",
    "iv": "page-label", "XII": "page-label",
    "2 June 2023": "date", "June 2, 2023": "date", "Monday, 3 June 2023": "date", "2023-06-02": "number",
    "12/2/26, 12:55 AM": "date", "Published 2 June 2023": "date", "3. Juni 2023": "date", "Oct 2019": "date",
    "https://example.org/report": "url", "www.example.org": "url", "file:///home/me/page.html": "url",
    "example.org/news/1": "url",
    "Microsoft Word - minutes.docx": "format-default", "Microsoft PowerPoint - deck": "format-default",
    "Microsoft Word": "format-default",
    "Document1": "format-default", "Document": "format-default", "Presentation1": "format-default",
    "Book1": "format-default", "Slide 1": "format-default", "Layout 1": "format-default",
    "Untitled document": "format-default", "untitled-1": "format-default", "Word Document": "format-default",
    "PowerPoint Presentation": "format-default", "Insert title here": "format-default",
    "Header": "format-default", "Q3 report (final).docx": "format-default",
    r"C:\Users\ines\Desktop\accounts.xlsx": "format-default",
    "untitled": "placeholder", "Anonymous": "placeholder", "python-docx": "placeholder",
    "Produced with a Trial Version of PDF Annotator - www.PDFAnnotator.com": "watermark",
    "Evaluation Warning: The document was created with Spire.Doc for .NET.": "watermark",
    "": "empty", " \x00 ": "empty",
}
TITLES = ["Harbour Survey 2023", "CV", "Civil works", "Node.js", "May 2023 budget", "3.2 Results", "Book of Kells",
          "Page Layout Guide", "Document management in 2023", "1984", "The Crazy Ones", "1 Your Chapter",
          "Minutes of 2 June 2023 meeting", "Why PDF (.pdf) files break"]


def test_title_flaw_names_what_is_no_title():
    from qa.ingest.formats.metadata import clean_title, title_flaw

    assert {s: title_flaw(s) for s in NOT_TITLES} == NOT_TITLES
    assert all(clean_title(s) is None for s in NOT_TITLES)
    # a year alone is a number; "1984" is listed to show the price: it is not taken as a title
    assert [s for s in TITLES if title_flaw(s) is not None] == ["1984"]
    assert clean_title("  Harbour\x00 Survey   2023 ") == "Harbour Survey 2023"


def test_a_clocks_zero_is_no_date():
    from qa.ingest.formats.metadata import is_default_date

    zeros = ["0001-01-01", "1601-01-01", "1899-12-30", "1900-01-01", "1904-01-01", "1970-01-01", "1980-01-01"]
    assert all(is_default_date(d) for d in zeros)
    assert not any(is_default_date(d) for d in ["1970-01-02", "1990-04-28", "2013-12-23", "2023-06-02", None, ""])


def test_every_format_has_an_extractor_and_every_suffix_a_format():
    """A new format is a row of EXTRACTORS and its suffixes: nothing else dispatches on formats."""
    import qa.ingest.formats as F
    from qa.ingest.formats.base import FORMATS

    assert set(F.EXTRACTORS) == set(FORMATS) == set(F.SUFFIXES.values())
    for fmt, ex in F.EXTRACTORS.items():
        assert callable(ex.load())
        assert (F.version_of(fmt) is None) == (not ex.versioned)
