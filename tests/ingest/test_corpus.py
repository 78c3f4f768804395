"""qa.ingest.corpus: reading a folder of documents, its metadata and example questions."""
from __future__ import annotations

from conftest import CORPUS
import json
from pathlib import Path
import pytest
from qa.neural.embedding import HashEmbedder
from qa.errors import QAError
from qa.index.load import load_index
from qa.index.build import build_index
from qa.ingest.corpus import read_corpus, scan


def test_example_questions_come_from_the_corpus_metadata_and_bad_ones_are_refused(tmp_path):

    import pytest

    from qa.ingest.corpus import MAX_EXAMPLES, read_examples
    from qa.errors import QAError

    assert read_examples(CORPUS)[0] == "Who led Wilayat Khorasan?"  # the bundled corpus offers its own
    (tmp_path / "a.txt").write_text("Some text.\n", encoding="utf-8")
    assert read_examples(tmp_path) == []  # no metadata: no examples, nothing built in
    meta = tmp_path / "metadata.json"
    meta.write_text(json.dumps({"documents": {}}), encoding="utf-8")
    assert read_examples(tmp_path) == []
    meta.write_text(json.dumps({"examples": [" When was the contract signed? ", "When was the contract signed?",
                                             "Who may end it?"]}), encoding="utf-8")
    assert read_examples(tmp_path) == ["When was the contract signed?", "Who may end it?"]
    for bad in ("a question", ["ok?", 3], ["ok?", ""], ["x" * 201], ["q?"] * (MAX_EXAMPLES + 1)):
        meta.write_text(json.dumps({"examples": bad}), encoding="utf-8")
        with pytest.raises(QAError, match="examples|example"):
            read_examples(tmp_path)
    meta.write_text("{broken", encoding="utf-8")
    with pytest.raises(QAError, match="not valid JSON"):
        read_examples(tmp_path)


def test_bad_corpus_gets_a_clear_error(tmp_path):
    with pytest.raises(QAError, match="corpus folder not found"):
        build_index(tmp_path / "missing", tmp_path / "i", HashEmbedder())
    (tmp_path / "empty").mkdir()
    with pytest.raises(QAError, match="no documents in .*empty"):
        build_index(tmp_path / "empty", tmp_path / "i", HashEmbedder())
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.pdf").write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(QAError, match=r"no documents in .*bad; 1 file\(s\) skipped, e.g. .*x.pdf \(corrupt\)"):
        build_index(bad, tmp_path / "i", HashEmbedder())


def test_any_folder_works_and_metadata_is_optional(tmp_path):
    c = tmp_path / "mydocs"
    c.mkdir()
    (c / "notes on bees.md").write_text("# Bees\n\nHoney bees live in hives. A hive has one queen.\n", encoding="utf-8")
    (c / "ants.txt").write_text("Ants live in colonies.\n", encoding="utf-8")
    build_index(c, tmp_path / "i", HashEmbedder())
    idx = load_index(tmp_path / "i")
    assert set(idx.documents) == {"notes-on-bees", "ants"}
    assert idx.documents["notes-on-bees"].title == "Bees"
    assert idx.documents["ants"].source == str(c / "ants.txt")


def test_a_text_file_in_another_encoding_is_decoded_and_its_rendition_kept(tmp_path):
    c = tmp_path / "c"
    c.mkdir()
    (c / "latin.txt").write_bytes("Caf\u00e9 au lait is served at the harbour caf\u00e9 every morning.\n".encode("cp1252"))
    (c / "plain.txt").write_text("Plain UTF-8 text about the harbour.\n", encoding="utf-8")
    read = read_corpus(c)
    latin, plain = read.documents
    assert latin.text.startswith("Café au lait") and latin.rendition == "renditions/latin"
    assert plain.rendition is None and plain.text == (c / "plain.txt").read_text(encoding="utf-8")
    assert set(read.renditions) == {"latin"}


def test_subfolders_are_walked_hidden_files_are_not_and_ids_stay_distinct(tmp_path):
    c = tmp_path / "c"
    (c / "reports" / ".git").mkdir(parents=True)
    for rel in ("notes.txt", "notes.md", "reports/Q3 2024.txt", "reports/.draft.txt", "reports/.git/x.txt"):
        (c / rel).write_text(f"Text of {rel}. It has a sentence.\n", encoding="utf-8")
    (c / "metadata.json").write_text(json.dumps({"documents": {"reports/Q3 2024.txt": {"title": "Quarter three"}}}),
                                     encoding="utf-8")
    files, other, excepted = scan(c)
    assert [p.relative_to(c).as_posix() for p in files] == ["notes.md", "notes.txt", "reports/Q3 2024.txt"]
    assert other == []
    assert excepted == ["metadata.json", "reports/.draft.txt", "reports/.git/"]  # a hidden folder once, unopened
    docs = {d.doc_id: d for d in read_corpus(c).documents}
    assert set(docs) == {"notes", "notes-txt", "reports-q3-2024"}  # the second "notes" says its format
    assert docs["reports-q3-2024"].title == "Quarter three" and docs["reports-q3-2024"].source == str(c / "reports/Q3 2024.txt")


def test_every_bad_file_is_named_with_its_reason_and_the_rest_is_read(tmp_path):
    from formats_fixtures import SAMPLES

    c = tmp_path / "c"
    c.mkdir()
    (c / "good.txt").write_text("The harbour was surveyed in 1921.\n", encoding="utf-8")
    (c / "empty.md").write_bytes(b"")
    (c / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (c / "random.pdf").write_bytes(b"\x00\xff" * 500)
    (c / "random.docx").write_bytes(b"PK\x03\x04 not a zip")
    (c / "picture.png").write_bytes(b"\x89PNG")
    locked = next((SAMPLES / "005-libreoffice-writer-password").glob("*.pdf"))
    (c / "locked.pdf").write_bytes(locked.read_bytes())
    good = (SAMPLES / "004-pdflatex-4-pages" / "pdflatex-4-pages.pdf").read_bytes()
    (c / "cut.pdf").write_bytes(good[: len(good) // 2])
    read = read_corpus(c)
    assert [d.doc_id for d in read.documents] == ["good"]
    got = {Path(s.source).name: s.reason for s in read.skipped}
    assert got == {"picture.png": "unsupported", "binary.txt": "not-text", "cut.pdf": "corrupt", "empty.md": "empty",
                   "locked.pdf": "encrypted", "random.docx": "corrupt", "random.pdf": "corrupt"}
    assert all(s.message for s in read.skipped)


def test_metadata_comes_from_the_files_themselves_unless_metadata_json_says(tmp_path):
    from formats_fixtures import ARTICLE_HTML

    c = tmp_path / "c"
    c.mkdir()
    (c / "article.html").write_text(ARTICLE_HTML, encoding="utf-8")
    doc = read_corpus(c).documents[0]
    assert doc.format == "html" and doc.author == "Morag Innes" and doc.date == "2023-06-14"
    assert doc.url == "https://coastcourier.example/news/2023/06/lighthouse-keepers-return"
    assert "Lighthouse keepers return" in doc.title and "Most read" not in doc.text and "Privacy" not in doc.text
    (c / "metadata.json").write_text(json.dumps({"documents": {"article.html": {"date": "2023-07-01", "title": "T"}}}),
                                     encoding="utf-8")
    doc = read_corpus(c).documents[0]
    assert (doc.date, doc.title, doc.author) == ("2023-07-01", "T", "Morag Innes")


# --------------------------------------------------------------------------- titles

def _r(text, title=None, marks=(), fmt="pdf"):
    from qa.ingest.formats import Rendition

    return Rendition(text=text, format=fmt, extractor="x", extractor_version="1", source_sha256="0", title=title,
                     marks=tuple(marks))


BODY = "The harbour board met on Tuesday to hear the engineers' report on the north pier and its costs. " * 3


def test_a_title_is_the_declared_one_unless_it_is_no_title():
    from qa.ingest.corpus import choose_title

    p = Path("reports/pier-report.pdf")
    r = _r(f"Pier report\n\n{BODY}", title="North pier survey")
    assert choose_title(r, {}, p) == "North pier survey"
    assert choose_title(r, {"title": "Given"}, p) == "Given"  # metadata.json is used as written
    assert choose_title(r, {"title": None, "date": "2023-01-02"}, p) == "North pier survey"
    for junk in ("1", "Microsoft Word - pier.docx", "Document1", "untitled", "Page 2 of 9", "2 June 2023"):
        assert choose_title(_r(f"Pier report\n\n{BODY}", title=junk), {}, p) == "Pier report", junk


def test_a_running_head_is_no_title_and_the_first_heading_skips_furniture():
    from qa.ingest.corpus import choose_title

    p = Path("pier-report.pdf")
    head = "Harbour Board - Minutes 2023"
    text = f"{head}\n\n1\n\nPage 1 of 3\n\n2 June 2023\n\nhttps://harbour.example/minutes\n\nNorth pier repairs\n\n{BODY}"
    marks = [(0, len(head), "header"), (len(head) + 2, len(head) + 3, "page-number")]
    assert choose_title(_r(text, title=head, marks=marks), {}, p) == "North pier repairs"
    # the same head unmarked (a one-page file) is an ordinary first line
    assert choose_title(_r(text), {}, p) == head


def test_without_a_heading_the_file_name_is_the_title():
    from qa.ingest.corpus import choose_title

    assert choose_title(_r(BODY), {}, Path("a/pier-report.pdf")) == "pier-report"  # body text is no heading
    assert choose_title(_r(f"1\n\n{BODY}", marks=[(0, 1, "page-number")]), {}, Path("x/3.pdf")) == "3.pdf"
    assert choose_title(_r(f"Contents\n\n1 Pier 2\n\n{BODY}"), {}, Path("pier.pdf")) == "pier"
    assert choose_title(_r(""), {}, Path("2023-06-02.txt")) == "2023-06-02.txt"


def test_a_top_heading_wins_over_a_first_line_and_a_subheading_does_not():
    from qa.ingest.corpus import choose_title

    p = Path("accounts.docx")
    assert choose_title(_r(f"CONFIDENTIAL\n\n# Harbour accounts\n\n{BODY}", fmt="docx"), {}, p) == "Harbour accounts"
    assert choose_title(_r(f"Harbour accounts\n\nPrepared by the treasurer\n\n## Income\n\n{BODY}", fmt="docx"),
                        {}, p) == "Harbour accounts"
    assert choose_title(_r(f"## Income\n\n{BODY}", fmt="docx"), {}, p) == "Income"
    assert choose_title(_r(f"- first item\n\nIncome | 2023\n\n{BODY}", fmt="docx"), {}, p) == "accounts"


def test_no_pdf_sample_is_titled_by_a_number():
    """The issue: pdfTeX files were titled "1", their first page number. Each sample's title now."""
    from formats_fixtures import SAMPLES, sample_paths, sample_result
    from qa.ingest.corpus import choose_title
    from qa.ingest.formats import SkipFile
    from qa.ingest.formats.metadata import title_flaw

    got = {}
    for path in sample_paths():
        r = sample_result(path)
        if not isinstance(r, SkipFile):
            got[path.relative_to(SAMPLES).as_posix()] = choose_title(r, {}, path)
    assert len(got) == 23 and all(title_flaw(t) is None for t in got.values()), got
    assert {k: got[k] for k in ("001-trivial/minimal-document.pdf", "004-pdflatex-4-pages/pdflatex-4-pages.pdf",
                                "006-pdflatex-outline/pdflatex-outline.pdf", "018-base64-image/base64image.pdf",
                                "026-latex-multicolumn/multicolumn.pdf", "021-pdfa/crazyones-pdfa.pdf",
                                "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf")} == {
        "001-trivial/minimal-document.pdf": "minimal-document",  # "1", then body text
        "004-pdflatex-4-pages/pdflatex-4-pages.pdf": "pdflatex-4-pages",
        "006-pdflatex-outline/pdflatex-outline.pdf": "pdflatex-outline",  # "1", then "Contents"
        "018-base64-image/base64image.pdf": "base64image",  # only a trial version's stamp
        "026-latex-multicolumn/multicolumn.pdf": "Two-Column Document with Lorem Ipsum",
        "021-pdfa/crazyones-pdfa.pdf": "The Crazy Ones",
        "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf": "Geometrie und Topologie",  # its Info title
    }
