"""qa.ingest.formats.html: the article without navigation, sidebars or footers; headings; metadata; skips."""
from __future__ import annotations

import gzip
import json

import pytest

from formats_fixtures import ARTICLE_HTML
from qa.settings import PROJECT_ROOT
from qa.ingest.formats import SkipFile, extract, extract_bytes

pytest.importorskip("trafilatura")

BENCH = PROJECT_ROOT / "eval" / "benchmarks" / "article-extraction"


def test_main_text_without_furniture():
    r = extract_bytes(ARTICLE_HTML.encode("utf-8"), ".html")
    t = r.text
    assert "For the first time in forty years, keepers are living at the Skerry Point lighthouse again." in t
    assert "## A station saved by volunteers" in t.split("\n\n")
    assert "## Opening times" in t.split("\n\n")
    for furniture in ("Subscribe today", "Most read", "Storm damage closes coast road", "All rights reserved",
                      "Privacy policy", "Weather"):
        assert furniture not in t, furniture
    assert "\n\n\n" not in t and not t.startswith("\n")
    assert (r.title, r.author, r.date) == ("Lighthouse keepers return to Skerry Point", "Morag Innes", "2023-06-14")
    # the canonical link wins over og:url
    assert r.url == "https://coastcourier.example/news/2023/06/lighthouse-keepers-return"
    assert (r.format, r.extractor, r.needs_copy) == ("html", "trafilatura", True)


def test_og_url_when_no_canonical_and_encodings():
    page = ARTICLE_HTML.replace('<link rel="canonical" href="https://coastcourier.example/news/2023/06/lighthouse-keepers-return">', "")
    assert extract_bytes(page.encode(), ".htm").url == "https://coastcourier.example/og-url-should-not-win"
    latin = ARTICLE_HTML.replace('<meta charset="utf-8">', '<meta charset="iso-8859-1">').replace(
        "two million pounds", "two million pounds (£2m, café fund)")
    r = extract_bytes(latin.encode("iso-8859-1"), ".html")
    assert "(£2m, café fund)" in r.text


def test_re_extraction_is_identical_and_benchmark_pages_extract():
    gt = json.loads((BENCH / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(gt)[:5]:
        data = gzip.decompress((BENCH / "html" / f"{key}.html.gz").read_bytes())
        a, b = extract_bytes(data, ".html"), extract_bytes(data, ".html")
        assert a.text == b.text and a.text.strip()
        # most of the marked article body is in the rendition
        words = set(gt[key]["articleBody"].split())
        assert len(words & set(a.text.split())) > 0.8 * len(words)


def test_headings_are_markdown_and_lists_bulleted():
    body = "<p>" + "The ferry runs twice a day in summer and once a day in winter, weather permitting. " * 4 + "</p>"
    page = (f"<html><head><title>Ferry</title></head><body><article><h1>Island ferry</h1>{body}"
            f"<h3>Fares</h3>{body}<ul><li>Adults: four pounds</li><li>Children: two pounds</li></ul>"
            f"{body}</article></body></html>")
    paras = extract_bytes(page.encode(), ".html").text.split("\n\n")
    assert paras[0] == "# Island ferry"
    assert "### Fares" in paras
    assert "- Adults: four pounds\n- Children: two pounds" in paras


def test_skips(tmp_path):
    cases = {
        "empty.html": (b"", "empty"),
        "blank.html": (b"   \n  ", "empty"),
        "nothing.html": (b"<html><head><title>T</title><script>var a = 1;</script></head><body></body></html>", "empty"),
        "binary.html": (b"\x00\x01\x02\x03" * 300, "not-text"),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(SkipFile) as e:
            extract(tmp_path / name)
        assert e.value.reason == reason, (name, e.value)


@pytest.mark.slow
def test_main_text_f1_on_the_121_page_benchmark_is_at_least_095():
    """The article-extraction benchmark (eval/benchmarks/article-extraction, MIT): our HTML extractor's
    main text against the hand-marked article bodies, scored as the benchmark scores (qa.evaluation.metrics)."""
    import json

    from qa.evaluation.metrics import extraction_prf

    bench = PROJECT_ROOT / "eval" / "benchmarks" / "article-extraction"
    truth = {k: v["articleBody"] for k, v in json.loads((bench / "ground-truth.json").read_text(encoding="utf-8")).items()}
    preds = {}
    for k in truth:
        try:
            preds[k] = extract_bytes(gzip.decompress((bench / "html" / f"{k}.html.gz").read_bytes()), ".html").text
        except SkipFile:
            preds[k] = ""
    m = extraction_prf(preds, truth)
    assert m["pages"] == 121 and m["f1"] >= 0.95, m


# --------------------------------------------------------------------------- the page's date

BODY = "<p>" + "The harbour board met again to discuss the new pier and what it would cost the town. " * 5 + "</p>"


def _page(head: str = "", top: str = "", foot: str = "<footer><p>© 2024 Harbour News. All rights reserved.</p></footer>",
          title: str = "Pier plan approved | Harbour News") -> bytes:
    return (f"<html><head><title>{title}</title>{head}</head><body><nav><a href='/'>Home</a></nav><article>"
            f"<h1>Pier plan approved</h1>{top}{BODY}{BODY}</article>{foot}</body></html>").encode()


def test_a_copyright_year_is_never_the_date():
    """The issue: a page whose article says 2 June 2023 was dated 2024-01-01 from its "© 2024" footer.
    htmldate's extensive search takes the copyright year as a floor (every date before it is refused)
    and, finding nothing after it, returns 1 January of that year."""
    dateline = "<p>KIRKWALL, 2 June 2023 — The harbour board said the pier plan would go ahead after all, and that work could begin in the autumn.</p>"
    assert extract_bytes(_page(top=dateline), ".html").date == "2023-06-02"
    assert extract_bytes(_page(top="<p>Published 2 June 2023</p>"), ".html").date == "2023-06-02"
    assert extract_bytes(_page(top="<p class='byline'>By Ann Lee, 2 June 2023</p>"), ".html").date == "2023-06-02"
    # nothing but a copyright line: no date, not 2024-01-01
    assert extract_bytes(_page(), ".html").date is None
    assert extract_bytes(_page(head="<meta itemprop='copyrightYear' content='2024'>", foot=""), ".html").date is None
    assert extract_bytes(_page(foot="<small>Copyright 2019-2024 Harbour News</small>"), ".html").date is None
    # a month alone is not filled out to the 1st; a date the text merely mentions is no dateline
    assert extract_bytes(_page(top="<p class='date'>June 2023</p>"), ".html").date is None
    assert extract_bytes(_page(top="<p>The board meets again on 14 March 2025 to agree the final design of the pier and the harbour dues.</p>"),
                         ".html").date is None


def test_the_declared_publication_date_comes_first():
    text_date = "<p class='byline'>Updated 9 June 2023</p>"
    meta = "<meta property='article:published_time' content='2023-06-02T18:30:00+01:00'>"
    assert extract_bytes(_page(head=meta, top=text_date), ".html").date == "2023-06-02"
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [{"@type": "WebSite",'
          ' "datePublished": "2001-05-01"}, {"@type": "NewsArticle", "headline": "Pier plan approved",'
          ' "datePublished": "2023-06-02T09:00:00+01:00", "dateModified": "2023-06-09"}]}</script>')
    assert extract_bytes(_page(head=ld, top=text_date), ".html").date == "2023-06-02"
    assert extract_bytes(_page(head="<meta name='dc.date.issued' content='2023-06-02'>"), ".html").date == "2023-06-02"
    timed = '<p><time itemprop="datePublished" datetime="2023-06-02T10:00:00+01:00">2 June</time></p>'
    assert extract_bytes(_page(top=timed), ".html").date == "2023-06-02"
    assert extract_bytes(_page(head="<meta name='pubdate' content='Fri, 02 Jun 2023 10:00:00 +0100'>"), ".html").date == "2023-06-02"


def test_declared_dates_as_real_pages_write_them():
    from trafilatura.utils import load_html

    from qa.ingest.formats.html_dates import declared_date

    url = "https://news.example/story/news/2019/11/19/pier-plan/4241375002/"
    # a CMS's unset fields ("0001-01-01T00:00:00Z") are no date: the URL's is
    zero = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "0001-01-01T00:00:00Z"}</script>'
    assert declared_date(load_html(_page(head=zero)), url) == "2019-11-19"
    # an evening article in New York, stamped the next day in UTC: the URL keeps the publisher's day
    utc = "<meta property='article:published_time' content='2019-11-20T01:19:34.819Z'>"
    assert declared_date(load_html(_page(head=utc)), url) == "2019-11-19"
    assert declared_date(load_html(_page(head=utc)), None) == "2019-11-20"  # as written, with nothing local
    local = "<meta property='article:published_time' content='2019-11-20T01:19:34+01:00'>"
    assert declared_date(load_html(_page(head=local)), url) == "2019-11-20"  # written in its own time


def test_benchmark_pages_keep_their_dates_and_lose_copyright_years():
    """Real pages of the article-extraction benchmark (MIT, eval/benchmarks): the date they declare
    in the ways above, a German byline, and (with every declaration taken out) no date rather than
    1 January of the year in their "© 2019" footer, which is what the old reading gave."""
    import lxml.html
    from trafilatura.utils import load_html

    def page(prefix):
        (path,) = (BENCH / "html").glob(f"{prefix}*.html.gz")
        return gzip.decompress(path.read_bytes())

    assert extract_bytes(page("c58aa507c4"), ".html").date == "2019-11-19"  # JSON-LD 0001-01-01, URL date
    assert extract_bytes(page("06e5123e4e"), ".html").date == "2019-11-18"  # UTC stamp 11-19 07:03, URL 11/18
    assert extract_bytes(page("3f65af7b6b"), ".html").date == "2019-11-18"  # UTC stamp, "November 18, 2019, 08:19 PM"
    assert extract_bytes(page("57b4dafd18"), ".html").date == "2018-09-25"  # "publiziert am 25. September 2018"
    for prefix in ("3ce1c8fdf6", "5f03fc173e", "b3c19dd5f0", "ec3878db7e"):
        tree = load_html(page(prefix))
        for el in tree.xpath('//meta | //script[@type="application/ld+json"] | //link | //*[@itemprop] | //time'):
            el.getparent().remove(el)
        stripped = lxml.html.tostring(tree, encoding="unicode")
        assert "© 2019" in stripped or "Copyright © 2002-2019" in stripped
        assert extract_bytes(stripped.encode(), ".html").date != "2019-01-01", prefix


def test_date_helpers():
    from qa.ingest.formats.html_dates import _date_value, _states_day, text_dateline

    assert [_date_value(v) for v in ("2023-06-02T23:30:00-05:00", "20230602", "2023/6/2", "Fri, 02 Jun 2023 10:00:00 GMT",
                                     "June 2nd, 2023", "2. Juni 2023", "2023", "June 2023", "0001-01-01", "1970-01-01T00:00Z",
                                     "2023-02-30")] == (
        ["2023-06-02"] * 6 + [None] * 5)
    assert _states_day("2023-06-01", "<p>1 June 2023</p>") and _states_day("2023-06-01", "01.06.2023")
    assert not _states_day("2023-06-01", "<p>June 2023</p>") and not _states_day("2023-01-01", "© 2023")
    assert text_dateline("# Pier\n\nLONDON (Reuters), June 2, 2023 - The board said ...") == "2023-06-02"
    assert text_dateline("Updated: June 2, 2023 10:31 AM\n\nThe board said ...") == "2023-06-02"
    assert text_dateline("The board said on 2 June 2023 that the pier would go ahead.") is None


def test_a_default_page_title_is_no_title(tmp_path):
    from qa.ingest.corpus import read_corpus

    (tmp_path / "c").mkdir()
    headless = lambda t: _page(title=t).replace(b"<h1>Pier plan approved</h1>", b"")  # noqa: E731
    # trafilatura cuts "Microsoft Word - pier.docx" at its dash
    for junk in ("Untitled Document", "Microsoft Word - pier.docx", "Insert title here", "1", "Page 1 of 3"):
        (tmp_path / "c" / "pier.html").write_bytes(headless(junk))
        assert extract(tmp_path / "c" / "pier.html").title is None, junk
        assert read_corpus(tmp_path / "c").documents[0].title == "pier"  # the text opens with its body
    # with one <h1>, trafilatura itself prefers it to a one-word <title>
    (tmp_path / "c" / "pier.html").write_bytes(_page(title="Document"))
    assert extract(tmp_path / "c" / "pier.html").title == "Pier plan approved"
