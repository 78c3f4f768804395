"""The bundled corpus printed to PDF by Chromium: the gold questions get the same answers as from the text,
and every citation names the page poppler's pdftotext finds its quote on (scripts/corpus_as_pdf.py)."""
from __future__ import annotations

import shutil
import sys

import pytest

from conftest import CORPUS, PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))

pytestmark = [
    pytest.mark.browser, pytest.mark.model, pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("chromium") or not shutil.which("pdftotext"),
                       reason="needs Debian's chromium and poppler-utils (.ci/run installs both)"),
]


def test_the_corpus_as_pdf_answers_as_the_text_does_and_cites_the_right_pages(tmp_path, real_embedder):
    import corpus_as_pdf

    made = corpus_as_pdf.print_corpus(CORPUS, tmp_path / "pdf")
    assert len(made) == 5
    res = corpus_as_pdf.compare(CORPUS, tmp_path / "pdf", tmp_path, embedder=real_embedder, log=print)
    assert res["pdf_documents"] == 5 and not res["pdf_skipped"]
    assert res["same_share"] >= 0.95, res["differ"]
    assert res["citations_checked"] > 100 and not res["page_problems"], res["page_problems"][:5]
