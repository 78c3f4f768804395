"""qa.chat.render and qa.chat.docview: answer objects -> HTML. Pure functions: no model, no gradio, no browser."""
import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st

from qa.chat import docview, render
from qa.chat.docview import render_document
from qa.chat.render import Library, escape, render_evidence, render_question, render_reply
from qa.types import Document, Passage

EVIL = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "![pwn](http://evil.example/x.png)",
    "[click me](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "https://evil.example/autolink www.evil.example",
    "${alert(1)} {{constructor.constructor('alert(1)')()}}",
    "$$x^2$$ `code` **bold** _em_ | a | b |",
    "&lt;script&gt; &#60;b&#62; \"quoted\" 'single'",
]
EVIL_TEXT = " ".join(EVIL)

ALLOWED_TAGS = {"div", "span", "p", "strong", "sup", "a", "ul", "ol", "li", "q", "cite", "mark", "blockquote"}


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, k, v) for k, v in attrs)

    def handle_data(self, data):
        self.text.append(data)


def parse(fragment: str) -> _Collect:
    p = _Collect()
    p.feed(fragment)
    p.close()
    return p


def assert_inert(fragment: str) -> None:
    """Only our own tags and attributes; links only to in-page citations; no handlers, no scripts."""
    p = parse(fragment)
    assert set(p.tags) <= ALLOWED_TAGS, set(p.tags) - ALLOWED_TAGS
    for tag, name, value in p.attrs:
        assert not name.startswith("on"), (tag, name, value)
        assert name in {"class", "id", "href", "title", "role", "data-nonce"}, (tag, name)
        if name == "href":
            assert re.fullmatch(r"#qa-cite-\d+-\d+|#qa-aswritten-\d+", value), value
    # nothing a Markdown renderer or a JS template would act on survives as raw characters
    raw_text = re.sub(r"<[^>]*>", "", fragment)
    for token in ("![", "](", "${", "{{", "$$", "`", "**", "javascript:", "www.", "://"):
        assert token not in raw_text, token


# --------------------------------------------------------------------------- fixtures

TEXT = ("Intro line.\n\nThe leader was Hafez Saeed Khan, a former TTP commander. Later text here.\n\n"
        "Another paragraph says Hafez Saeed Khan again.")


def lib_and_answer(text=TEXT, title="Doc <b>One</b>", date="2016"):
    q = "The leader was Hafez Saeed Khan, a former TTP commander."
    s = text.index(q)
    e = s + len(q)
    a0 = text.index("Hafez Saeed Khan", s)
    p1 = Passage("p1", "d1", text.index("The leader"), text.index("\n\nAnother"), text[text.index("The leader"):text.index("\n\nAnother")])
    doc = Document("d1", "corpus/d1.txt", text, title, date=date)
    lib = Library.of([doc], [p1])
    cite = {"n": 1, "doc_id": "d1", "title": title, "source": "corpus/d1.txt", "passage_id": "p1", "start": s, "end": e,
            "quote": q, "score": 0.9, "date": date, "answer_start": a0, "answer_end": a0 + len("Hafez Saeed Khan")}
    answer = {"question": "Who led it?", "status": "answered", "answer": "Hafez Saeed Khan", "confidence": 0.81,
              "citations": [cite], "notes": [], "conflicts": [], "agreeing": 2, "considered": 3,
              "answer_type": "person", "as_of": "2016", "closest": []}
    return lib, answer


# --------------------------------------------------------------------------- escaping

@pytest.mark.parametrize("evil", EVIL)
def test_escape_is_inert_and_round_trips(evil):
    out = escape(evil)
    assert "<" not in out and ">" not in out
    assert html.unescape(out) == evil
    assert_inert(f"<span>{out}</span>")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_escape_property(s):
    out = escape(s)
    assert not re.search(r"[<>\"'`\[\]()!*_{}$|~\\]", out)
    expected = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", s.encode("utf-8", "replace").decode("utf-8"))
    assert html.unescape(out) == expected
    out.encode("utf-8")  # always sendable (no lone surrogates)


def test_every_field_of_an_answer_is_escaped():
    lib, a = lib_and_answer()
    c = dict(a["citations"][0], title=EVIL_TEXT, date=EVIL_TEXT, quote=EVIL_TEXT, source=EVIL_TEXT)
    a = dict(a, question=EVIL_TEXT, answer=EVIL_TEXT, notes=[EVIL_TEXT], as_of=EVIL_TEXT, citations=[c],
             conflicts=[{"value": EVIL_TEXT, "citations": [1]}])
    out = render_reply(a, 0)
    assert_inert(out)
    assert html.unescape(re.sub(r"<[^>]*>", "", out)).count(EVIL_TEXT) >= 4  # shown as text, not markup
    assert_inert(render_question(EVIL_TEXT))
    assert_inert(render.render_refusal(EVIL_TEXT))


def test_reply_stays_inert_through_a_markdown_renderer():
    markdown_it = pytest.importorskip("markdown_it")
    lib, a = lib_and_answer()
    c = dict(a["citations"][0], quote=EVIL_TEXT, title=EVIL_TEXT)
    out = render_reply(dict(a, answer=EVIL_TEXT, citations=[c], question=EVIL_TEXT, understood_as=EVIL_TEXT), 0)
    md = markdown_it.MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"])
    rendered = md.render(out) + md.render(render_question(EVIL_TEXT))
    assert "<img" not in rendered and "<script" not in rendered and "<code" not in rendered
    assert "<em>" not in rendered and "<table" not in rendered
    for href in re.findall(r'href="([^"]*)"', rendered):
        assert href.startswith(("#qa-cite-", "#qa-aswritten-")), href


def test_evidence_and_document_escape_corpus_text():
    text = "Before <script>alert(1)</script> the quote: ![x](http://e/x.png) [y](javascript:z) ${a}. After <img src=x onerror=alert(1)>."
    q = "the quote: ![x](http://e/x.png) [y](javascript:z) ${a}."
    s = text.index(q)
    doc = Document("d", "corpus/d.txt", text, "<i>T</i>")
    cite = {"n": 1, "doc_id": "d", "title": "<i>T</i>", "passage_id": "nope", "start": s, "end": s + len(q), "quote": q}
    a = {"question": "<script>q</script>", "status": "answered", "answer": "x", "citations": [cite]}
    ev = render_evidence(a, 0, Library.of([doc]))
    dv = render_document(a, 1, Library.of([doc]))
    assert_inert(ev)
    assert_inert(dv.replace('<div class="qa-doc-body">', "<div>"))
    assert html.unescape(re.sub(r"<[^>]*>", "", dv)).count(text) == 1


# --------------------------------------------------------------------------- the reply

def test_reply_shows_answer_badge_agreement_as_of_and_numbered_quotes():
    lib, a = lib_and_answer()
    out = render_reply(a, 3)
    assert "<strong>Hafez Saeed Khan</strong>" in out
    assert 'qa-badge-answered">answered<' in out
    assert "2 of 3 sources agree" in out
    assert "as of 2016" in out
    assert 'href="#qa-cite-3-1"' in out and ">[1]<" in out
    assert "Doc &lt;b&gt;One&lt;&#47;b&gt;" in out and "2016" in out  # title and date name the source
    assert out == render_reply(a, 3)  # stable: the same answer always renders the same


def test_badges_for_each_status():
    lib, a = lib_and_answer()
    assert ">uncertain<" in render_reply(dict(a, status="uncertain", notes=["Low confidence."]), 0)
    assert "Low confidence" in render_reply(dict(a, status="uncertain", notes=["Low confidence."]), 0)
    declined = dict(a, status="declined", answer=None, citations=[], closest=a["citations"],
                    notes=["The corpus does not say."], agreeing=0, considered=5)
    out = render_reply(declined, 0)
    assert ">not in the corpus<" in out
    assert "<strong>The corpus does not say&#46;</strong>" in out
    assert "Closest material" in out and "qa-cite-0-1" in out
    assert out.count("The corpus does not say") == 1  # the note is not repeated
    assert "sources agree" not in out


def test_citations_are_numbered_sequentially_and_conflicts_follow_the_numbers():
    lib, a = lib_and_answer()
    c = a["citations"][0]
    cites = [dict(c, n=4, quote="a"), dict(c, n=7, quote="b", answer_start=None), dict(c, n=9, quote="c", answer_start=None)]
    a = dict(a, citations=cites, conflicts=[{"value": "nine", "citations": [4]}, {"value": "11", "citations": [9, 7]}])
    out = render_reply(a, 0)
    assert [int(m) for m in re.findall(r'<li id="qa-q-0-(\d+)"', out)] == [1, 2, 3]
    conflicts = out[out.index("qa-conflicts"):out.index("qa-sources")]
    assert "Sources disagree" in conflicts
    assert re.search(r"nine</strong> → <a[^>]*>\[1\]</a>", conflicts)
    assert re.search(r"11</strong> → <a[^>]*>\[3\]</a> <a[^>]*>\[2\]</a>", conflicts)


def test_missing_and_empty_fields_are_fine():
    assert "<strong>x</strong>" in render_reply({"status": "answered", "answer": "x"}, 0)
    out = render_reply({"status": "answered", "answer": "x", "considered": 0, "conflicts": None, "closest": None}, 0)
    assert "agree" not in out and "as of" not in out and "Sources" not in out
    assert "The corpus does not say" in render_reply({}, 0)
    assert render_evidence(None, 0, Library.of([])) == render.EVIDENCE_PLACEHOLDER
    assert render_document({"citations": []}, 1, Library.of([])) == docview.DOCUMENT_PLACEHOLDER


def test_question_is_shortened_when_very_long():
    out = render_question("y" * 1500)
    assert "1,500 characters" in out and out.count("y") == render.MAX_SHOWN_QUESTION


def test_cite_href_round_trip():
    assert render.parse_cite_href(render.cite_href(12, 3)) == (12, 3)
    assert render.parse_cite_href("#qa-cite-1-x") is None
    assert render.parse_cite_href("javascript:alert(1)") is None


# --------------------------------------------------------------------------- evidence and document views

def _marked(fragment: str, cls: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]*>", "", m)) for m in
            re.findall(rf'<mark class="{cls}"[^>]*>(.*?)</mark>(?:</mark>)?', fragment, flags=re.S)]


def test_evidence_highlights_the_quote_and_answer_by_offsets_within_its_passage():
    lib, a = lib_and_answer()
    out = render_evidence(a, 0, lib)
    c = a["citations"][0]
    body = out[out.index('<blockquote'):out.index('</blockquote>')]
    quote_html = body[body.index('<mark class="qa-quote">'):]
    assert html.unescape(re.sub(r"<[^>]*>", "", quote_html)).startswith(c["quote"])
    assert _marked(out, "qa-ans") == ["Hafez Saeed Khan"]
    shown = html.unescape(re.sub(r"<[^>]*>", "", body))
    assert "Later text here." in shown  # context from the passage
    assert "Intro line" not in shown and "Another paragraph" not in shown  # but not beyond it
    assert 'href="#qa-cite-0-1"' in out


def test_highlight_uses_offsets_not_text_search():
    text = "Khan said X. Then Khan said X. End."
    second = text.index("Khan said X", 5)
    doc = Document("d", "d.txt", text, "T")
    cite = {"n": 1, "doc_id": "d", "title": "T", "start": second, "end": second + len("Khan said X"), "quote": "Khan said X"}
    out = render_document({"question": "q", "status": "answered", "answer": "X", "citations": [cite]}, 1, Library.of([doc]))
    before = html.unescape(re.sub(r"<[^>]*>", "", out[out.index('<div class="qa-doc-body">'):out.index('<mark class="qa-quote" id="qa-doc-focus"')]))
    assert before.endswith("Khan said X. Then ")


def test_stale_offsets_fall_back_to_the_quote_alone():
    lib, a = lib_and_answer()
    bad = dict(a["citations"][0], start=0, end=5)  # text at offsets is not the quote
    out = render_evidence(dict(a, citations=[bad]), 0, lib)
    assert "no longer in the indexed document" in out
    assert _marked(out, "qa-quote")[0] == bad["quote"]
    missing = dict(a["citations"][0], doc_id="gone")
    assert "no longer in the indexed document" in render_evidence(dict(a, citations=[missing]), 0, lib)
    assert "not in the loaded index" in render_document(dict(a, citations=[missing]), 1, lib)
    assert 'id="qa-doc-focus"' not in render_document(dict(a, citations=[bad]), 1, lib)


def test_long_passages_are_trimmed_around_the_quote():
    filler = " ".join(["word"] * 2000)
    text = filler + " THE QUOTE HERE. " + filler
    s = text.index("THE QUOTE HERE.")
    doc = Document("d", "d.txt", text, "T")
    p = Passage("p", "d", 0, len(text), text)
    cite = {"n": 1, "doc_id": "d", "title": "T", "passage_id": "p", "start": s, "end": s + 15, "quote": "THE QUOTE HERE."}
    out = render_evidence({"question": "q", "status": "answered", "answer": "x", "citations": [cite]}, 0, Library.of([doc], [p]))
    assert "…" in out and len(out) < 3000


def test_document_view_marks_the_focus_span_and_shows_the_whole_text():
    lib, a = lib_and_answer()
    out = render_document(a, 1, lib, nonce=42)
    assert out.count('id="qa-doc-focus"') == 1
    assert _marked(out, "qa-ans") == ["Hafez Saeed Khan"]
    assert html.unescape(re.sub(r"<[^>]*>", "", out)).count("Another paragraph says Hafez Saeed Khan again.") == 1
    assert 'data-nonce="42"' in out
    assert render_document(a, 2, lib) == docview.DOCUMENT_PLACEHOLDER


def test_evidence_selected_item_is_marked():
    lib, a = lib_and_answer()
    assert "qa-ev-selected" in render_evidence(a, 0, lib, selected=1)
    assert "qa-ev-selected" not in render_evidence(a, 0, lib)


def test_a_declined_reply_leads_with_its_reason_and_escapes_the_missing_terms():
    lib, a = lib_and_answer()
    a = dict(a, status="declined", answer=None, citations=[], closest=a["citations"],
             notes=[f"The documents never mention {EVIL_TEXT}."], decline_reason="not_mentioned",
             missing_terms=[EVIL_TEXT])
    out = render_reply(a, 0)
    assert_inert(out)
    text = html.unescape(re.sub(r"<[^>]*>", " ", out))
    assert f"The documents never mention {EVIL_TEXT}." in text and "not mentioned in the documents" in text
    assert text.count(f"The documents never mention {EVIL_TEXT}.") == 1  # the headline is not repeated as a note
    assert "Closest material" in text


def test_a_low_confidence_decline_says_the_corpus_does_not_say():
    lib, a = lib_and_answer()
    out = render_reply(dict(a, status="declined", answer=None, notes=["The corpus does not say."],
                            decline_reason="low_confidence"), 0)
    text = html.unescape(re.sub(r"<[^>]*>", " ", out))
    assert "The corpus does not say." in text and "low confidence" in text


# --------------------------------------------------------------------------- a follow-up that was rewritten

def test_a_rewritten_follow_up_says_what_was_understood_above_the_answer():
    lib, a = lib_and_answer()
    a = dict(a, question="When was he killed?", understood_as="When was Hafiz Saeed Khan killed?")
    out = render_reply(a, 4)
    text = html.unescape(re.sub(r"<[^>]*>", "", out))
    assert "Understood as: When was Hafiz Saeed Khan killed? ask as written" in text
    assert out.index("qa-understood") < out.index("qa-answer")  # above the answer
    assert 'href="#qa-aswritten-4"' in out and render.parse_as_written_href("#qa-aswritten-4") == 4
    assert render.parse_as_written_href("#qa-aswritten-x") is None and render.parse_as_written_href("") is None
    assert_inert(out)


def test_understood_as_is_escaped():
    lib, a = lib_and_answer()
    out = render_reply(dict(a, question=EVIL_TEXT, understood_as=EVIL_TEXT), 0)
    assert_inert(out)
    understood = out[out.index('class="qa-understood-q"'):out.index("qa-aswritten")]
    assert EVIL_TEXT in html.unescape(re.sub(r"<[^>]*>", "", understood))
    assert "<script>" not in out


@pytest.mark.parametrize("understood", [None, "", "   ", 7])
def test_a_question_answered_as_asked_has_no_understood_line(understood):
    lib, a = lib_and_answer()
    out = render_reply(dict(a, understood_as=understood), 0)
    assert "Understood as" not in out and "qa-aswritten" not in out
    assert out == render_reply({k: v for k, v in a.items() if k != "understood_as"}, 0)


def test_a_question_asked_as_written_is_marked_so_in_the_chat():
    out = render_question("When was he killed?", as_written=True)
    assert "(as written)" in out and "When was he killed?" in html.unescape(out)
    assert "as written" not in render_question("When was he killed?")
    assert "(as written)" in render_question("y" * 1500, as_written=True)


def test_the_evidence_panel_names_the_question_it_was_found_for():
    lib, a = lib_and_answer()
    a = dict(a, question="When was he killed?", understood_as="When was <b>Hafiz</b> killed?")
    head = render_evidence(a, 1, lib).split("</div>")[0]
    text = html.unescape(re.sub(r"<[^>]*>", "", head))
    assert text == "Evidence for When was he killed? (understood as When was <b>Hafiz</b> killed?)"
    assert_inert(render_evidence(a, 1, lib))
    assert "understood as" not in render_evidence(dict(a, understood_as=None), 1, lib)
