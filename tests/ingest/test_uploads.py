"""qa.ingest.uploads as a specification: every hostile upload of issue 29 refused with its reason, good files of
each format accepted as what they are, and the DOCX extractor guarded against the same zip bombs."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from formats_fixtures import ARTICLE_HTML, FIXTURES, SAMPLES, harbour_docx, lie_about_size, repack, scripted_pdf
from qa.errors import QAError
from qa.ingest.formats import extract_bytes
from qa.ingest.formats.base import FORMATS
from qa.ingest.formats.zipguard import ZipLimits
from qa.ingest.uploads import (HTTP_STATUS, REFUSAL_REASONS, Upload, UploadRefused, check_upload, safe_name,
                               shown)

MB = 2**20
LIMIT = 50 * MB
# low limits so that a bomb of a few MB, deflated to a few KB, trips them; the test stays small
SMALL = ZipLimits(max_unzipped=2 * MB, max_ratio=100, ratio_floor=1 * MB, max_entries=50)


def refused(name, data, code, **kw) -> UploadRefused:
    with pytest.raises(UploadRefused) as e:
        check_upload(name, data, max_bytes=kw.pop("max_bytes", LIMIT), **kw)
    assert e.value.reason_code == code, e.value.message
    assert "\n" not in e.value.message and isinstance(e.value, QAError)
    return e.value


@pytest.fixture(scope="module")
def docx_bytes(tmp_path_factory) -> bytes:
    p = tmp_path_factory.mktemp("docx") / "harbour.docx"
    harbour_docx(p)
    return p.read_bytes()


def js_pdf(text: str = "The harbour has forty berths.") -> bytes:
    """A PDF whose catalog runs JavaScript on opening and whose page carries a JavaScript link."""
    return scripted_pdf(text, "app.alert\\('opened'\\); this.exportDataObject\\({cName: 'x', nLaunch: 2}\\);")


# --------------------------------------------------------------------------- good files

def test_good_files_of_every_format_are_accepted_as_what_they_are(docx_bytes):
    pdf = (SAMPLES / "001-trivial" / "minimal-document.pdf").read_bytes()
    cases = {
        "minimal-document.pdf": (pdf, "pdf"),
        "Report.PDF": ((FIXTURES / "chromium-report.pdf").read_bytes(), "pdf"),
        "harbour.docx": (docx_bytes, "docx"),
        "article.html": (ARTICLE_HTML.encode(), "html"),
        "tables.htm": ((FIXTURES / "tables.html").read_bytes(), "html"),
        "notes.txt": ("Notes. The lighthouse was lit in 1912.\n".encode(), "txt"),
        "README.md": ((FIXTURES / "README.md").read_bytes(), "md"),
        "página café.txt": ("Le café était fermé.\n".encode("cp1252"), "txt"),  # a legacy encoding is text
        "utf16.txt": ("\ufeffUTF-16 text with a BOM\n".encode("utf-16-le"), "txt"),
        "inline.md": (b"# Notes\n\n<details><p>Markdown may embed HTML.</p></details>\n", "md"),
    }
    for name, (data, fmt) in cases.items():
        up = check_upload(name, data, max_bytes=LIMIT)
        assert up == Upload(name=name, format=fmt, sha256=up.sha256, size=len(data)) and fmt in FORMATS, name
        assert len(up.sha256) == 64


def test_the_name_is_nfc_normalised():
    up = check_upload("cafe\u0301.txt", b"text\n", max_bytes=LIMIT)
    assert up.name == "caf\u00e9.txt"


# --------------------------------------------------------------------------- hostile uploads (issue 29)

def test_a_file_over_the_limit_is_refused_and_an_empty_one_too():
    e = refused("big.txt", b"a" * (MB + 1), "too_large", max_bytes=MB)
    assert '"big.txt"' in e.message and "1.0 MiB" in e.message
    assert check_upload("exact.txt", b"a" * MB, max_bytes=MB).size == MB
    assert '"empty.pdf"' in refused("empty.pdf", b"", "empty").message


@pytest.mark.parametrize("name", [
    "../etc/passwd.txt", "..\\boot.ini.txt", "a/b.pdf", "/abs.pdf", "..", ".", "", ".hidden.pdf",
    "nul\x00.pdf", "bell\x07.txt", "line\nbreak.txt", "invoice\u202efdp.txt", "a" * 296 + ".pdf",
    "é" * 130 + ".txt",  # 134 characters but 264 bytes of UTF-8
    "CON.txt", "nul.pdf", "com1.report.md", "what?.pdf", " lead.pdf",
])
def test_unsafe_names_are_refused_and_shown_safely(name):
    e = refused(name, b"some text\n", "bad_name")
    assert "\x00" not in e.message and "\u202e" not in e.message and len(e.message) < 240


def test_names_of_up_to_200_characters_pass_and_never_are_cut():
    ok = "a" * 196 + ".pdf"
    assert safe_name(ok) == ok
    assert "201 characters" in refused("a" * 197 + ".pdf", b"%PDF-", "bad_name").message


def test_a_suffix_the_project_does_not_index_is_an_unknown_type():
    for name in ("photo.png", "setup.exe", "noext", "archive.tar.gz", "report.pdf.exe", "old.doc"):
        refused(name, b"text\n", "unknown_type")


def test_unknown_bytes_are_refused_naming_what_they_look_like():
    assert "PNG image" in refused("notes.txt", b"\x89PNG\r\n\x1a\n" + bytes(200), "unknown_type").message
    assert "Windows program" in refused("report.pdf", b"MZ\x90\x00" + bytes(300), "unknown_type").message
    assert "binary" in refused("data.md", bytes(range(256)) * 4, "unknown_type").message
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)
    assert "legacy Office" in refused("letter.docx", ole, "unknown_type").message
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("a.txt", "hello")
    assert "zip archive" in refused("a.docx", plain_zip.getvalue(), "unknown_type").message


def test_a_name_that_says_pdf_over_bytes_that_say_otherwise_is_a_type_mismatch(docx_bytes):
    e = refused("report.pdf", ARTICLE_HTML.encode(), "type_mismatch")
    assert '"report.pdf"' in e.message and "web page" in e.message
    refused("report.pdf", b"just some words\n", "type_mismatch")
    refused("report.pdf", docx_bytes, "type_mismatch")
    refused("report.docx", js_pdf(), "type_mismatch")
    refused("page.html", b"no markup at all, only words\n", "type_mismatch")
    refused("notes.txt", js_pdf(), "type_mismatch")


def test_a_duplicate_by_content_names_the_existing_file():
    data = b"The same words.\n"
    first = check_upload("a.txt", data, max_bytes=LIMIT)
    e = refused("b.txt", data, "duplicate", existing_hashes={first.sha256: "a.txt"})
    assert '"b.txt"' in e.message and '"a.txt"' in e.message
    assert check_upload("c.txt", data + b"!", max_bytes=LIMIT, existing_hashes={first.sha256: "a.txt"})


def test_a_zip_bomb_docx_is_refused_from_its_directory(docx_bytes):
    bomb = repack(docx_bytes, {"word/media/zeros.bin": bytes(4 * MB)})  # 4 MiB of zeros deflate to ~4 KiB
    assert len(bomb) < 64 * 1024
    e = refused("harbour.docx", bomb, "zip_bomb", zip_limits=SMALL)
    assert '"harbour.docx"' in e.message and "MiB" in e.message
    many = repack(docx_bytes, {f"word/media/{i}.txt": b"x" for i in range(60)})
    assert "parts" in refused("many.docx", many, "zip_bomb", zip_limits=SMALL).message
    nested = repack(docx_bytes, {"word/media/inner.zip": b"PK\x05\x06" + bytes(18)})
    assert "archive" in refused("nested.docx", nested, "zip_bomb").message
    # ratio: 6 MiB of zeros is under a total limit of 16 MiB but over a hundred times the package's size
    ratio = repack(docx_bytes, {"word/media/zeros.bin": bytes(6 * MB)})
    roomy = ZipLimits(max_unzipped=16 * MB, max_ratio=100, ratio_floor=1 * MB, max_entries=50)
    assert "times its size" in refused("ratio.docx", ratio, "zip_bomb", zip_limits=roomy).message


def test_a_zip_bomb_docx_whose_sizes_lie_is_caught_while_unzipping(docx_bytes):
    honest = repack(docx_bytes, {"word/media/zeros.bin": bytes(3 * MB)})
    liar = lie_about_size(honest, "word/media/zeros.bin", 1000)  # the directory says 1,000 bytes
    e = refused("liar.docx", liar, "zip_bomb", zip_limits=SMALL)
    assert "more than the 1,000 bytes it declares" in e.message
    # an archive hidden under a harmless name is found by its bytes
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("x", "y")
    assert "zip archive" in refused("hidden.docx", repack(docx_bytes, {"word/media/image1.png": inner.getvalue()}),
                                    "zip_bomb").message


def test_a_damaged_docx_part_is_corrupt(docx_bytes):
    b = bytearray(docx_bytes)
    info = zipfile.ZipFile(io.BytesIO(docx_bytes)).getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    b[start + 20] ^= 0xFF
    refused("damaged.docx", bytes(b), "corrupt")


def test_a_pdf_with_javascript_is_accepted_and_read_as_text_never_run():
    import pypdfium2

    data = js_pdf()
    up = check_upload("scripted.pdf", data, max_bytes=LIMIT)
    assert up.format == "pdf"
    r = extract_bytes(data, ".pdf")
    assert "The harbour has forty berths." in r.text and "alert" not in r.text
    # PDFium runs document JavaScript only through V8 inside a form-fill environment: this build has no
    # V8 (nor XFA), and the extractor never sets up forms
    assert not {"V8", "XFA"} & set(pypdfium2.version.PDFIUM_INFO.flags)
    pdf_source = (Path(__file__).parents[2] / "qa" / "ingest" / "formats" / "pdf.py").read_text(encoding="utf-8")
    assert "init_forms" not in pdf_source and "FormFill" not in pdf_source


# --------------------------------------------------------------------------- the interface

def test_every_refusal_has_a_status_and_refusals_are_qa_errors():
    assert set(HTTP_STATUS) == set(REFUSAL_REASONS) >= {"too_large", "bad_name", "unknown_type", "type_mismatch",
                                                       "duplicate", "zip_bomb", "empty"}
    with pytest.raises(ValueError):
        UploadRefused("nope", "x")
    with pytest.raises(ValueError):
        check_upload("a.txt", b"x", max_bytes=0)
    assert shown("a\x00b") == '"a\\x00b"'


@pytest.mark.parametrize("data", [b"%PDF-", b"PK\x03\x04", b"PK\x05\x06" + bytes(18), b"\xef\xbb\xbf",
                                  b"\xff\xfe", b"<html", bytes(10), b"PK\x03\x04" + bytes(100) + b"PK\x05\x06"])
def test_odd_bytes_give_an_upload_or_a_refusal_never_a_traceback(data):
    for name in ("x.pdf", "x.docx", "x.html", "x.txt", "x.md"):
        try:
            check_upload(name, data, max_bytes=LIMIT)
        except UploadRefused:
            pass


def test_a_zip_needing_a_newer_version_is_refused_not_raised(docx_bytes):
    b = bytearray(docx_bytes)
    pos = b.find(b"PK\x01\x02")
    b[pos + 6] = 99  # version needed to extract: zipfile raises NotImplementedError for it
    with pytest.raises(UploadRefused):
        check_upload("new.docx", bytes(b), max_bytes=LIMIT)


def test_randomly_damaged_word_files_are_refused_with_a_reason_never_a_traceback(docx_bytes):
    import random

    rnd = random.Random(29)
    for _ in range(300):
        d = bytearray(docx_bytes)
        for _ in range(rnd.randint(1, 12)):  # the directory at the end is where zipfile is most fragile
            d[rnd.randrange(len(d) - 1500, len(d)) if rnd.random() < 0.7 else rnd.randrange(len(d))] = rnd.randrange(256)
        try:
            check_upload("x.docx", bytes(d[:rnd.randrange(len(d) // 2, len(d) + 1)]), max_bytes=LIMIT)
        except UploadRefused as e:
            assert e.reason_code in REFUSAL_REASONS
