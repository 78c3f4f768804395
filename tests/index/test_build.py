"""qa.index.build with documents of every format: renditions stored and verified, skipped files named, incremental
extraction, and citations that verify (page and boxes for PDFs, a text-fragment link for web pages)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from formats_fixtures import harbour_docx, mixed_folder
from support import write_corpus
from qa.index.build import BuildOptions, build_index
from qa.ingest.chunking import ChunkSettings
from qa.neural.embedding import HashEmbedder
from qa.errors import IndexProblem, QAError
from qa.index.load import describe, load_index


@pytest.fixture()
def mixed(tmp_path) -> Path:
    return mixed_folder(tmp_path / "mixed")


def _ask(index_dir, question, docs=None):
    from support import never_decline

    from qa.answer.answerer import Answerer
    from qa.answer.retrieval import Retriever

    emb = HashEmbedder()
    return Answerer(Retriever(load_index(index_dir, emb), emb), answer=never_decline()).ask(question, k=20, docs=docs)


def test_a_mixed_folder_indexes_in_one_build_naming_each_skipped_file(mixed, tmp_path):
    r = build_index(mixed, tmp_path / "i", HashEmbedder())
    assert r.documents == 4 and {Path(s.source).name: s.reason for s in r.skipped} == {"broken.pdf": "corrupt",
                                                                                        "photo.jpg": "unsupported"}
    lines = r.skipped_lines()
    assert any("skipped" in line and "broken.pdf" in line and "corrupt" in line for line in lines)
    assert any("skipped" in line and "photo.jpg" in line and "unsupported" in line for line in lines)
    assert "skipped 2 file(s)" in r.summary()
    m = json.loads((tmp_path / "i" / "manifest.json").read_text(encoding="utf-8"))
    assert {s["reason"] for s in m["corpus"]["skipped"]} == {"corrupt", "unsupported"}
    assert {"renditions/minutes/text.txt", "renditions/minutes/charmap/char_page.npy",
            "renditions/sub-report/text.txt", "renditions/sub-article/text.txt"} <= set(m["artefacts"])
    d = describe(tmp_path / "i")
    by_id = {x["doc_id"]: x for x in d["documents"]}
    assert by_id["minutes"]["format"] == "pdf" and by_id["minutes"]["pages"] == 3
    assert by_id["notes"]["text_source"] == str(mixed / "notes.txt")
    assert len(d["skipped"]) == 2
    for doc in load_index(tmp_path / "i").documents.values():  # every rendition opens as UTF-8 and is the text
        assert Path(doc.text_source).read_text(encoding="utf-8") == doc.text


def test_a_pdfs_running_header_and_page_numbers_are_boilerplate_and_its_quotes_carry_page_and_boxes(mixed, tmp_path):
    build_index(mixed, tmp_path / "i", HashEmbedder())
    idx = load_index(tmp_path / "i")
    furniture = {p.text: p.boilerplate for p in idx.passages if p.doc_id == "minutes" and p.boilerplate}
    assert any("Riverside Town Council" in t for t in furniture) and any(t.startswith("Page ") for t in furniture)
    assert not any("Riverside Town Council" in p.text for p in idx.evidence)
    a = _ask(tmp_path / "i", "What did the committee review at its meetings in the old library?", ["minutes"])
    pdf_cites = [c for c in a.citations + a.closest if c.doc_id == "minutes"]
    assert pdf_cites, a.to_dict()
    for c in pdf_cites:
        assert Path(c.text_source).read_text(encoding="utf-8")[c.start:c.end] == c.quote
        assert c.page in (1, 2, 3) and c.boxes and c.boxes[0]["page"] == c.page
        x0, y0, x1, y1 = c.boxes[0]["rects"][0]
        assert 0 <= x0 < x1 <= 612 and 0 <= y0 < y1 <= 792  # inside the letter-size page, in points


def test_a_web_page_citation_links_to_the_original_at_the_quote(mixed, tmp_path):
    build_index(mixed, tmp_path / "i", HashEmbedder())
    a = _ask(tmp_path / "i", "When was the great lens of the Skerry Point lighthouse made?", ["sub-article"])
    cites = [c for c in a.citations + a.closest if c.doc_id == "sub-article"]
    assert cites
    for c in cites:
        assert c.url.startswith("https://coastcourier.example/news/2023/06/lighthouse-keepers-return#:~:text=")
        assert c.page is None and c.boxes is None


def test_an_unchanged_file_is_not_extracted_again_and_a_changed_one_only_re_embeds_what_changed(mixed, tmp_path,
                                                                                               monkeypatch):
    import qa.ingest.corpus

    build_index(mixed, tmp_path / "i", HashEmbedder())
    calls = []
    real = qa.ingest.corpus.extract
    monkeypatch.setattr(qa.ingest.corpus, "extract", lambda p, **kw: calls.append(Path(p).name) or real(p, **kw))
    (mixed / "notes.txt").write_text("Notes. The lighthouse was lit in 1912. It was automated in 1978.\n",
                                     encoding="utf-8")
    r = build_index(mixed, tmp_path / "i", HashEmbedder())
    assert sorted(calls) == ["broken.pdf", "notes.txt"]  # text files are read again; the PDF, Word and web files not
    assert r.renditions_reused == 3 and r.extracted == 0 and r.embedded <= 3
    calls.clear()
    harbour_docx(mixed / "sub" / "report.docx")  # the same text saved again: new bytes, new extraction
    doc = __import__("docx").Document(mixed / "sub" / "report.docx")
    doc.add_paragraph("A second paragraph about the southern quay.")
    doc.save(mixed / "sub" / "report.docx")
    e = HashEmbedder()
    r = build_index(mixed, tmp_path / "i", e)
    assert "report.docx" in calls and r.extracted == 1 and r.renditions_reused == 2
    assert 0 < e.texts_seen <= 3  # the new paragraph (and its sentence); the rest came from the last build


def test_a_damaged_rendition_is_refused_like_any_artefact(mixed, tmp_path):
    build_index(mixed, tmp_path / "i", HashEmbedder())
    p = tmp_path / "i" / "renditions" / "minutes" / "text.txt"
    p.write_text(p.read_text(encoding="utf-8").replace("committee", "commitee", 1), encoding="utf-8")
    with pytest.raises(IndexProblem, match="renditions/minutes/text.txt"):
        load_index(tmp_path / "i")


def test_docs_verify_and_strict_through_the_cli(mixed, tmp_path, capsys, monkeypatch):
    from qa.cli import main

    monkeypatch.setenv("QA_EMBEDDER", "fake")
    idx = str(tmp_path / "i")
    assert main(["index", "--corpus", str(mixed), "--index", idx, "--quiet", "--strict"]) == 1
    assert "2 file(s) skipped (--strict)" in capsys.readouterr().err
    assert main(["index", "--corpus", str(mixed), "--index", idx, "--quiet"]) == 0  # a no-op: still names them
    assert "skipped 2 file(s)" in capsys.readouterr().out
    assert main(["docs", "--index", idx, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {x["format"] for x in d["documents"]} == {"pdf", "docx", "html", "txt"} and len(d["skipped"]) == 2
    assert main(["ask", "How many berths did the harbour authority count?", "--index", idx, "--json", "--k", "20"]) == 0
    answer = capsys.readouterr().out
    (tmp_path / "a.json").write_text(answer, encoding="utf-8")
    assert main(["verify", str(tmp_path / "a.json")]) == 0
    assert " citation(s) hold" in capsys.readouterr().err
    a = json.loads(answer)
    cites = a["citations"] + a["closest"]
    cites[0]["start"] += 1
    (tmp_path / "b.json").write_text(json.dumps(a), encoding="utf-8")
    assert main(["verify", str(tmp_path / "b.json")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out and all(line.startswith("answer [") for line in out)
    (tmp_path / "c.json").write_text("not json", encoding="utf-8")
    assert main(["verify", str(tmp_path / "c.json")]) == 2


@pytest.mark.slow
def test_all_31_sample_pdfs_index_in_one_build_or_are_skipped_for_their_reason(tmp_path):
    """The py-pdf samples (many producers, the awkward cases): one qa index over the folder, subfolders
    and all; every file is indexed or skipped with the reason expected of it, and nothing crashes."""
    from formats_fixtures import EXPECTED_SKIPS, SAMPLES

    r = build_index(SAMPLES, tmp_path / "i", HashEmbedder())
    skipped = {Path(s.source).relative_to(SAMPLES).as_posix(): s.reason for s in r.skipped}
    pdf_skips = {k: v for k, v in skipped.items() if k.endswith(".pdf")}
    assert pdf_skips == EXPECTED_SKIPS
    # the .tex sources, LICENSE and files.json are not documents; README.md is one
    assert all(v == "unsupported" for k, v in skipped.items() if not k.endswith(".pdf"))
    n_pdfs = len(list(SAMPLES.glob("*/*.pdf")))
    assert r.documents == n_pdfs - len(EXPECTED_SKIPS) + 1
    idx = load_index(tmp_path / "i")
    assert sum(d.format == "pdf" and d.pages > 0 for d in idx.documents.values()) == n_pdfs - len(EXPECTED_SKIPS)


def test_every_file_of_the_folder_is_accounted_for_on_the_console_and_in_qa_docs(tmp_path, capsys, monkeypatch):
    """Indexed, or skipped with its reason; the folder's own files and hidden ones are excepted and counted."""
    from qa.cli import main

    monkeypatch.setenv("QA_EMBEDDER", "fake")
    c = write_corpus(tmp_path / "c")
    (c / "memo.rtf").write_text(r"{\rtf1\ansi The memo.}", encoding="utf-8")
    (c / "sheet.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (c / "LICENSE").write_text("Permission is granted.\n", encoding="utf-8")
    (c / "metadata.json").write_text("{}", encoding="utf-8")
    (c / ".DS_Store").write_bytes(b"\x00\x01")
    (c / ".git").mkdir()
    (c / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    idx = str(tmp_path / "i")
    for run in ("build", "no-op"):
        assert main(["index", "--corpus", str(c), "--index", idx, "--quiet"]) == 0, run
        out = capsys.readouterr().out
        for name in ("memo.rtf", "sheet.xlsx", "LICENSE"):
            assert any(name in line and "unsupported" in line for line in out.splitlines()), (run, name, out)
        assert "skipped 3 file(s), excepted 3 (metadata.json and 2 hidden)" in out, (run, out)
    assert main(["docs", "--index", idx]) == 0
    out = capsys.readouterr().out
    assert "3 file(s) skipped" in out and all(n in out for n in ("memo.rtf", "sheet.xlsx", "LICENSE"))
    assert "3 excepted: metadata.json and 2 hidden" in out


def test_build_options_are_checked_and_named_for_what_they_hold(tmp_path):
    corpus = write_corpus(tmp_path / "c")
    with pytest.raises(QAError, match="unknown index type 'ivf'"):
        build_index(corpus, tmp_path / "i", HashEmbedder(), index_type="ivf")
    with pytest.raises(TypeError, match="settings"):  # a ChunkSettings is `chunking`
        build_index(corpus, tmp_path / "i", HashEmbedder(), settings=ChunkSettings(max_tokens=120))
    assert not (tmp_path / "i").exists()
    options = BuildOptions(chunking=ChunkSettings(max_tokens=120), index_type="hnsw")
    build_index(corpus, tmp_path / "i", HashEmbedder(), options)
    m = json.loads((tmp_path / "i" / "manifest.json").read_text(encoding="utf-8"))
    assert m["chunking"]["max_tokens"] == 120 and m["index_type"] == "hnsw"
    assert build_index(corpus, tmp_path / "i", HashEmbedder(), options).noop  # the same options: up to date
    assert not build_index(corpus, tmp_path / "i", HashEmbedder(), options, force=True).noop  # a field over them
