"""qa.evaluation.report: the --report file, Markdown or HTML, with valid plots and everything escaped."""
from __future__ import annotations

import pytest
from qa.evaluation import results
from qa.errors import QAError
from eval_fixtures import synthetic as _synthetic, with_declines as _with_declines


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(data: bytes):
    assert data[:8] == PNG_MAGIC and len(data) > 2000
    from PIL import Image  # matplotlib depends on pillow
    import io

    img = Image.open(io.BytesIO(data))
    img.verify()
    assert img.size[0] > 200 and img.size[1] > 150


def test_report_markdown_and_html_with_valid_pngs(tmp_path):
    import base64
    import re

    from qa.evaluation.plots import PLOTS
    from qa.evaluation.report import write_report

    result = _synthetic()
    diff = results.compare(result, result)
    md = tmp_path / "out" / "report.md"
    written = write_report(result, md, diff)
    assert md in written and len(written) == 1 + len(PLOTS)
    text = md.read_text(encoding="utf-8")
    assert "| retrieval R@3 | 0.800 |" in text and "### extraction-miss (1)" in text
    assert "### answered-unanswerable (1)" in text and "Newly failing" in text
    for name in PLOTS:
        png = md.with_name(f"report-{name}.png")
        assert f"]({png.name})" in text
        _assert_png(png.read_bytes())

    page = tmp_path / "report.html"
    write_report(result, page)
    h = page.read_text(encoding="utf-8")
    assert "<script>" not in h and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co?" in h
    imgs = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", h)
    assert len(imgs) == len(PLOTS)
    for b in imgs:
        _assert_png(base64.b64decode(b))
    with pytest.raises(QAError, match=r"\.md or \.html"):
        write_report(result, tmp_path / "report.pdf")


def test_html_report_escapes_the_abstention_section(tmp_path):
    from qa.evaluation.report import render_html, render_markdown

    result = _with_declines()
    h = render_html(result, {})
    section = h[h.index("<h2>Abstention</h2>"):h.index("<h2>Failures by category</h2>")]
    assert "<script>" not in h and "<b>" not in section and "<i>" not in section
    assert "&lt;b&gt;Who&lt;/b&gt; led &lt;script&gt;alert(1)&lt;/script&gt; &amp; co?" in section
    assert "&lt;i&gt;Zarb-e-Azb&lt;/i&gt;" in section
    assert "<h3>Wrongly declined (2)</h3>" in section and "<h3>Unanswerable, not declined (1)</h3>" in section
    assert "<td>unrecorded</td><td class='n'>1</td><td class='n'>1</td>" in section
    md = render_markdown(result, {})
    assert "## Abstention" in md and "| not_mentioned | 2 | 1 | 0.500 | 0.333 |" in md
    assert "| w2 | question w2? | low_confidence |  | 0.12 |" in md


def test_report_of_a_result_saved_before_the_abstention_section():
    from qa.evaluation.report import render_html

    result = _synthetic()
    for key in ("abstention_by_reason", "wrongly_declined", "answered_unanswerable"):
        del result["metrics"][key]
    h = render_html(result, {})  # recomputed from the results
    assert "<h2>Abstention</h2>" in h and "<td>unrecorded</td>" in h
