"""qa.report: the metric tables and the --report file with valid plots."""
from __future__ import annotations

import pytest
from qa import evaluation as ev
from qa.errors import QAError


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _synthetic():
    results = [_result(f"q{i}", rank=(i % 4) + 1, contains=i % 3 != 0, em=float(i % 2), conf=i / 12) for i in range(10)]
    results.append(_result("u1", answerable=False, declined=True, conf=0.1))
    results.append(_result("u2", answerable=False, category="answered-unanswerable", conf=0.6,
                           question="<script>alert('x')</script> & co?"))
    results[0]["category"] = "extraction-miss"
    return {"meta": {"split": "test", "k": 5}, "metrics": ev.aggregate(results), "results": results}


def _result(qid, *, answerable=True, category="ok", rank=1, contains=True, em=0.0, f1=0.5, declined=False,
            conf=0.7, question=None, quote="Hafiz Saeed Khan led it."):
    answer = None if declined else "Hafiz Saeed Khan"
    cite = {"n": 1, "doc_id": "d", "quote": quote, "source": "s", "start": 0, "end": len(quote)}
    return {
        "id": qid, "question": question or f"question {qid}?", "answers": ["Hafiz Saeed Khan"] if answerable else [],
        "answerable": answerable, "type": "person", "category": category, "latency_ms": 10.0,
        "prediction": {"status": "declined" if declined else "answered", "answer": answer, "confidence": conf,
                       "citations": [] if declined else [cite], "closest": [cite] if declined else [],
                       "conflicts": []},
        "scores": {"declined": declined, "rank": rank if answerable else None, "relevance": "alias",
                   "relevant_in_k": rank is not None, "offsets_checked": 1, "offsets_valid": 1, "confidence": conf,
                   "answer_words": None if declined else 3,
                   "em": em if answerable else None, "f1": f1 if answerable else None,
                   "contains": contains if answerable else None,
                   "citations": 0 if declined or not answerable else 1,
                   "citations_precise": 1 if answerable and not declined and contains else 0,
                   "conflict_shown": None, "correct": answerable and contains and not declined},
    }


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

    from qa.report import PLOTS, write_report

    result = _synthetic()
    diff = ev.compare(result, result)
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


def test_threshold_curve_and_reliability_bins():
    from qa.report import reliability_bins, threshold_curve

    result = _synthetic()["results"]
    c = threshold_curve(result, steps=11)
    assert c["coverage"][0] == 1.0 and c["coverage"][-1] <= 1 / 12
    bins = reliability_bins(result)
    assert sum(b["n"] for b in bins) == 12
