"""qa.evaluation.report: the metric tables and the --report file with valid plots."""
from __future__ import annotations

import pytest
from qa.evaluation import results as ev
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
            conf=0.7, question=None, quote="Hafiz Saeed Khan led it.", reason=None, missing=()):
    """A hand-made result; without `reason` it is in the format saved before answers recorded why they
    declined (no decline_reason or missing_terms anywhere)."""
    answer = None if declined else "Hafiz Saeed Khan"
    cite = {"n": 1, "doc_id": "d", "quote": quote, "source": "s", "start": 0, "end": len(quote)}
    r = {
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
    if reason is not None:
        r["prediction"].update(decline_reason=reason, missing_terms=list(missing))
        r["scores"]["decline_reason"] = reason
    return r


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

    from qa.evaluation.report import PLOTS, write_report

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
    from qa.evaluation.report import reliability_bins, threshold_curve

    result = _synthetic()["results"]
    c = threshold_curve(result, steps=11)
    assert c["coverage"][0] == 1.0 and c["coverage"][-1] <= 1 / 12
    bins = reliability_bins(result)
    assert sum(b["n"] for b in bins) == 12


def _with_declines():
    result = _synthetic()
    result["results"] += [
        _result("w1", declined=True, contains=False, category="wrong-decline", reason="not_mentioned", conf=0.0,
                question="<b>Who</b> led <script>alert(1)</script> & co?", missing=["<i>Zarb-e-Azb</i>"]),
        _result("w2", declined=True, contains=False, category="wrong-decline", reason="low_confidence", conf=0.12),
        _result("u3", answerable=False, declined=True, reason="not_mentioned", missing=["sourdough"], conf=0.0),
    ]
    result["metrics"] = ev.aggregate(result["results"])
    return result


def test_text_table_has_the_abstention_section():
    from qa.evaluation.report import format_comparison, format_table

    result = _with_declines()
    text = format_table(result["metrics"])
    section = text.split("\n\n")[-1]
    lines = section.splitlines()
    assert lines[0].split() == ["abstention", "declined", "right", "precision", "recall"]
    # u1 was saved without a reason: unrecorded, after the recorded ones
    assert [ln.split()[0] for ln in lines[2:5]] == ["not_mentioned", "low_confidence", "unrecorded"]
    assert lines[2].split() == ["not_mentioned", "2", "1", "0.500", "0.333"]
    assert "wrongly declined: 2" in section and "  w2 [low_confidence, conf 0.12] question w2?" in section
    assert "  w1 [not_mentioned: <i>Zarb-e-Azb</i>, conf 0.00]" in section
    assert "unanswerable, not declined: 1" in section and "  u2 [conf 0.60]" in section
    # the comparison shows the metric table only
    assert "wrongly declined:" not in format_comparison(ev.compare(result, result), "b.json")


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
