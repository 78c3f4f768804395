"""Auditing an answer (`qa verify`): every claim of an answer object re-checked against its cited originals.

The originals are the ground truth: each cited file is opened and extracted again, and its metadata is
derived again the way `qa index` derives it (its folder's metadata.json, else the file's own), so an
answer edited by hand, or by anything between the program and its reader, fails with one line per
claim that no longer holds. What cannot be checked without the index (a passage id, a score, a
confidence) is not claimed to be.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from ..ingest.corpus import METADATA_FILE, document_fields, read_metadata, slug
from ..errors import QAError
from ..ingest.formats import SkipFile, extract, format_of
from ..text import text_fragment_url
from ..types import DECLINE_REASONS, PARTS_JOINER

STATUSES = ("answered", "uncertain", "declined")


def read_answers(text: str, where: str) -> list[dict[str, Any]]:
    """Answer objects from `qa ask --json` output: one object, a list of them, or JSON lines; also the
    `results` of a `qa eval --json` file (each one's `prediction`)."""
    text = text.strip()
    if not text:
        raise QAError(f"{where} is empty", fix="pass the output of `qa ask --json`")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as e:
            raise QAError(f"{where} is not JSON ({e.msg} at line {e.lineno})",
                          fix="pass the output of `qa ask --json`") from None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        data = [r.get("prediction") for r in data["results"]]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(a, dict) and isinstance(a.get("citations", []), list) for a in items):
        raise QAError(f"{where} holds no answer object", fix="pass the output of `qa ask --json`")
    return items


# --------------------------------------------------------------------------- the originals

@dataclass(frozen=True)
class Original:
    """A cited file as `qa index` would read it today: its rendition and the metadata it would get."""
    path: Path
    rendition: Any  # qa.ingest.formats.Rendition
    entry: dict  # its entry in the metadata.json of its folder ({} when none names it)
    root: Optional[Path]  # the folder whose metadata.json that is (the corpus folder), when one was found
    fields: dict  # title, date, period, url... as qa.ingest.corpus.document_fields derives them

    def doc_id_fits(self, doc_id: str) -> bool:
        """Whether `doc_id` is the one `qa index` gives this file: its metadata's, else its path from the
        corpus folder slugged, with the format (and a number) added when two files would share it. The
        corpus folder is the one holding the metadata.json, else any folder above the file."""
        if self.entry.get("doc_id"):
            return doc_id == str(self.entry["doc_id"])
        fmt = re.escape(self.rendition.format)
        folders = [self.root] if self.root is not None else list(self.path.parents)
        return any(re.fullmatch(rf"{re.escape(slug(self.path.relative_to(f).with_suffix('').as_posix()))}"
                                rf"(-{fmt}(-\d+)?)?", doc_id) for f in folders)

    @property
    def as_of(self) -> Optional[str]:
        return self.fields.get("date") or self.fields.get("period")

    def url_for(self, quote: str) -> Optional[str]:
        url = self.fields.get("url")
        return text_fragment_url(url, quote) if url and self.rendition.format == "html" else None


def _entry(path: Path) -> tuple[Optional[Path], dict]:
    """(the corpus folder, the file's metadata entry): the nearest folder above the file whose
    metadata.json names it (by its path from there, or its name), else the nearest with a metadata.json."""
    nearest = None
    for folder in path.parents:
        if (folder / METADATA_FILE).is_file():
            meta = read_metadata(folder)
            entry = meta.get(path.relative_to(folder).as_posix()) or meta.get(path.name)
            if entry is not None:
                return folder, entry
            nearest = nearest or folder
    return nearest, {}


class Checker:
    """Re-opens each cited original once, extracts it again, and checks a citation against it."""

    def __init__(self, base: Optional[Path] = None):
        self.base = base
        self._originals: dict[str, Any] = {}

    def _open(self, source: str) -> Path:
        p = Path(source)
        if not p.is_absolute() and not p.exists() and self.base is not None:
            p = self.base / source
        return p

    def original(self, source: str):
        """The original at `source` read again (an Original), or the reason it cannot be (a str)."""
        if source not in self._originals:
            p = self._open(source).absolute()
            try:
                if not p.is_file():
                    raise FileNotFoundError(source)
                if format_of(p) is None:
                    raise SkipFile("unsupported")
                r = extract(p)
                root, entry = _entry(p)
                self._originals[source] = Original(p, r, entry, root, document_fields(r, entry, p))
            except FileNotFoundError:
                self._originals[source] = "the original file is missing"
            except SkipFile as e:
                self._originals[source] = f"the original cannot be read again ({e.reason}: {e.message})"
            except (ImportError, QAError) as e:
                self._originals[source] = str(e)
        return self._originals[source]

    def check(self, c: dict[str, Any]) -> list[str]:
        """What is wrong with one citation (empty when it holds)."""
        try:
            start, end, quote, source = int(c["start"]), int(c["end"]), c["quote"], str(c["source"])
            if not isinstance(quote, str):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            return ["the citation lacks source, start, end or quote"]
        o = self.original(source)
        if isinstance(o, str):
            return [o]
        r, problems = o.rendition, []
        if r.text[start:end] != quote:
            problems.append(f"the original's text at chars {start}-{end} is not the quote")
        else:  # a stored rendition that lost the quote (only worth a line when the original holds it)
            problems += self._text_source(c, start, end, quote)
        problems += _answer_span(c, start, end)
        problems += _metadata(c, o)
        problems += _place(c, r, start, end)
        want_url = o.url_for(quote)
        if c.get("url") != want_url:
            problems.append(f"the url is not the page's own address opened at the quote ({want_url or 'none'})")
        return problems

    def span_text(self, c: dict) -> Optional[str]:
        """The original's text at a citation's answer span (so a forged quote offset is reported once,
        by its citation, not again as a wrong answer); from the quote when the original is unreadable."""
        o = self.original(str(c.get("source")))
        a, b = c.get("answer_start"), c.get("answer_end")
        if isinstance(o, str) or not (isinstance(a, int) and isinstance(b, int) and 0 <= a < b):
            return _span_text(c)
        return o.rendition.text[a:b]

    def _text_source(self, c: dict, start: int, end: int, quote: str) -> list[str]:
        ts = c.get("text_source")
        if not ts:
            return []
        try:
            with open(self._open(str(ts)), encoding="utf-8", newline="") as f:
                stored = f.read()
        except (OSError, UnicodeDecodeError):
            return [f"the text source {ts} cannot be read"]
        return [] if stored[start:end] == quote else [f"{ts} does not hold the quote at chars {start}-{end}"]


def _answer_span(c: dict, start: int, end: int) -> list[str]:
    a, b = c.get("answer_start"), c.get("answer_end")
    if a is None and b is None:
        return []
    if not (isinstance(a, int) and isinstance(b, int) and start <= a < b <= end):
        return ["the answer span is not inside the quote"]
    return []


def _metadata(c: dict, o: Original) -> list[str]:
    """doc_id, title and date as `qa index` derives them from the original and its folder's metadata."""
    problems = []
    if not o.doc_id_fits(str(c.get("doc_id"))):
        problems.append(f"the doc_id {c.get('doc_id')!r} is not the original's")
    if c.get("title") != o.fields["title"]:
        problems.append(f"the title is not the original's ({o.fields['title']!r})")
    if c.get("date") != o.as_of:
        problems.append(f"the date is not the original's ({o.as_of or 'none'})")
    return problems


def _place(c: dict, r, start: int, end: int) -> list[str]:
    """A PDF quote's page and boxes as the original lays them out; no page or box for other formats."""
    if r.format != "pdf":
        return [] if c.get("page") is None and not c.get("boxes") else [f"a {r.format} file has no pages or boxes"]
    problems = []
    page = r.page_of(start, end)
    if c.get("page") != page:
        problems.append(f"the quote is on page {page}, the citation says {c.get('page')}")
    try:
        same = _boxes(c.get("boxes") or ()) == _boxes(r.boxes_for(start, end))
    except (KeyError, TypeError, ValueError):
        same = False
    if not same:
        problems.append("the boxes do not cover the quote as the original lays it out")
    return problems


def _boxes(boxes: Iterable) -> list:
    return [(int(b["page"]), [[round(float(v), 1) for v in rect] for rect in b["rects"]]) for b in boxes]


# --------------------------------------------------------------------------- the answer's own claims

def _fold(s: str) -> str:
    return " ".join(str(s).split()).casefold()


def answer_problems(a: dict[str, Any], span_text: Optional[Callable[[dict], Optional[str]]] = None,
                    citations_hold: bool = True) -> list[str]:
    """What the answer claims beyond its citations that they do not bear out: its status and answer
    (the text at the answer span of a cited quote), its conflicts (each value inside each of its
    citations), its numbering, its date and the terms it says the documents never mention.
    `span_text(citation)` reads the text at a citation's answer span (by default, from its quote). When
    a citation does not hold (`citations_hold` False) its own line says so, and the answer is not also
    reported as found at no span: one forged field, one line."""
    status, answer, cites = a.get("status"), a.get("answer"), list(a.get("citations") or [])
    if status not in STATUSES:
        return [f"the status {status!r} is not one of {', '.join(STATUSES)}"]
    problems = []
    conf = a.get("confidence")
    if not isinstance(conf, (int, float)) or not 0.0 <= conf <= 1.0:
        problems.append(f"the confidence {conf!r} is not between 0 and 1")
    understood = a.get("understood_as")  # a follow-up's stand-alone form: what the answer was made for
    if understood is not None and (not isinstance(understood, str) or not understood.strip()):
        problems.append(f"understood_as {understood!r} is neither null nor a question")
    numbers = [c.get("n") for c in cites]
    if numbers != list(range(1, len(cites) + 1)):
        problems.append(f"the citations are numbered {numbers}, not 1 to {len(cites)}")
    if status == "declined":
        if answer is not None or cites:
            problems.append("a declined answer has an answer or citations")
        if a.get("decline_reason") not in DECLINE_REASONS:
            problems.append(f"the decline reason {a.get('decline_reason')!r} is not one of {', '.join(DECLINE_REASONS)}")
        question = _fold(understood if isinstance(understood, str) and understood.strip() else a.get("question") or "")
        problems += [f"the missing term {t!r} is not in the question" for t in a.get("missing_terms") or []
                     if _fold(t) not in question]
        return problems
    if a.get("decline_reason") is not None or a.get("missing_terms"):
        problems.append(f"an {status} answer has a decline reason or missing terms")
    spans = [(span_text or _span_text)(c) for c in cites]
    parts = a.get("parts") or []
    if parts:  # an answer of several parts: each at a citation's answer span, the answer them joined
        if answer != PARTS_JOINER.join(map(str, parts)):
            problems.append(f"the answer {answer!r} is not its parts joined")
        problems += [f"the part {p!r} is not the text at the answer span of any citation" for p in parts
                     if citations_hold and p not in spans]
    elif not isinstance(answer, str) or not answer or (citations_hold and answer not in spans):
        problems.append(f"the answer {answer!r} is not the text at the answer span of any citation")
    by_n = {c.get("n"): c for c in cites}
    for conflict in a.get("conflicts") or []:
        value, ns = conflict.get("value"), conflict.get("citations") or []
        if not ns or any(n not in by_n for n in ns):
            problems.append(f"the conflicting value {value!r} cites {ns}, which are not all citations")
        elif not isinstance(value, str) or any(_fold(value) not in _fold(by_n[n].get("quote", "")) for n in ns):
            problems.append(f"the conflicting value {value!r} is not in every quote it cites ({ns})")
    as_of = a.get("as_of")
    if as_of is not None and as_of not in {c.get("date") for c in cites}:
        problems.append(f"as of {as_of!r} is the date of no cited source")
    agreeing, considered = a.get("agreeing"), a.get("considered")
    if not (isinstance(agreeing, int) and isinstance(considered, int) and 1 <= agreeing <= considered):
        problems.append(f"{agreeing} of {considered} sources agree cannot be")
    return problems


def _span_text(c: dict) -> Optional[str]:
    """The text at a citation's answer span, read from its quote."""
    try:
        s, a, b = int(c["start"]), int(c["answer_start"]), int(c["answer_end"])
        return c["quote"][a - s:b - s] if 0 <= a - s < b - s <= len(c["quote"]) else None
    except (KeyError, TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- the whole

@dataclass(frozen=True)
class Verdict:
    """What `qa verify` found: citations checked and failing, and one line per problem."""
    citations: int
    failing: int
    answers_failing: int
    lines: list[str]

    @property
    def ok(self) -> bool:
        return not self.lines

    def summary(self) -> str:
        s = f"{self.citations - self.failing} of {self.citations} citation(s) hold"
        return s + (f"; {self.answers_failing} answer(s) claim what the citations do not bear out"
                    if self.answers_failing else "")


def verify(answers: list[dict[str, Any]], base: Optional[Path] = None) -> Verdict:
    """Every claim of every answer: its own (answer_problems) and each of its citations' and
    closest-material quotes' (Checker.check)."""
    checker, lines, n, bad, bad_answers = Checker(base), [], 0, 0, 0
    for i, a in enumerate(answers, 1):
        label = f"answer {i}" if len(answers) > 1 else "answer"
        cited = []
        for c in list(a.get("citations") or []) + list(a.get("closest") or []):
            n += 1
            problems = checker.check(c)
            bad += bool(problems)
            cited += [f"{label} [{c.get('n')}] {c.get('source')} chars {c.get('start')}-{c.get('end')}: {p}"
                      for p in problems]
        own = answer_problems(a, checker.span_text, citations_hold=not cited)
        bad_answers += bool(own)
        lines += [f"{label}: {p}" for p in own] + cited
    return Verdict(n, bad, bad_answers, lines)
