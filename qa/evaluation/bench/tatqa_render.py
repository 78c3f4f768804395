"""TAT-QA excerpts as documents a user would have: an HTML page, a Word file and a PDF, written as corpus folders.

Each excerpt becomes one document per format, the table first and then the paragraphs in their order:

- html: a page with a `<table>` whose header rows (qa.evaluation.bench.tatqa_data.header_rows) are `<th>`
  cells and the rest `<td>`, then one `<p>` per paragraph;
- docx: python-docx, a real Word table (its header rows marked as such, `w:tblHeader`, and bold), then
  one paragraph each;
- pdf: headless Chromium prints the HTML page (no header or footer).

The files are deterministic, so an unchanged excerpt never changes the corpus's hash and a second run
reuses the index: the Word file's zip entries carry a fixed time, and the PDF's creation and
modification dates are set to the clock's zero (which the PDF reader takes for "no date"). A PDF is
printed again only when the HTML page it was printed from changed (kept beside the corpus folder).
"""
from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional, Sequence

from ...errors import QAError
from .tatqa_data import ATTRIBUTION, Excerpt

FORMATS = ("html", "docx", "pdf")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-pdf-header-footer")
PAGE_CSS = ("body { font-family: serif; font-size: 11pt; line-height: 1.35; margin: 0; } "
            "table { border-collapse: collapse; margin: 0 0 1em 0; } "
            "th, td { border: 1px solid #888; padding: 2px 6px; vertical-align: top; } "
            "th { font-weight: bold; } p { margin: 0 0 0.6em 0; }")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_PDF_DATE = re.compile(rb"\(D:\d{14}")
_CLOCK_ZERO = b"(D:19700101000000"


def doc_id(uid: str, fmt: str) -> str:
    return f"tatqa-{uid[:8]}-{fmt}"


def title_of(ex: Excerpt) -> str:
    return f"Annual report excerpt {ex.uid[:8]}"


def file_name(ex: Excerpt, fmt: str) -> str:
    return f"{doc_id(ex.uid, fmt)}.{fmt}"


# --------------------------------------------------------------------------- the three formats

def excerpt_html(ex: Excerpt) -> str:
    """The excerpt as a web page: its table (header rows as <th>), then its paragraphs."""
    esc = html.escape
    rows = []
    for i, row in enumerate(ex.rows):
        tag = "th" if i < ex.header_rows else "td"
        cells = "".join(f"<{tag}>{esc(c)}</{tag}>" for c in row)
        rows.append(f"<tr>{cells}</tr>")
    head, body = rows[:ex.header_rows], rows[ex.header_rows:]
    paras = "\n".join(f"<p>{esc(p)}</p>" for p in ex.paragraphs)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title_of(ex))}</title>"
            f"<style>{PAGE_CSS}</style></head>\n<body>\n<main>\n<table>\n<thead>{''.join(head)}</thead>\n"
            f"<tbody>{''.join(body)}</tbody>\n</table>\n{paras}\n</main>\n</body></html>\n")


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with every entry's time fixed (python-docx stamps the time of saving)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def excerpt_docx(ex: Excerpt) -> bytes:
    """The excerpt as a Word file: a table (header rows marked and bold), then the paragraphs."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    d = docx.Document()
    d.core_properties.title = title_of(ex)
    d.core_properties.author = ""
    d.core_properties.comments = ""
    n_cols = max((len(r) for r in ex.rows), default=1)
    table = d.add_table(rows=len(ex.rows), cols=n_cols)
    table.style = "Table Grid"
    for i, row in enumerate(ex.rows):
        header = i < ex.header_rows
        if header:
            tr_pr = table.rows[i]._tr.get_or_add_trPr()
            el = OxmlElement("w:tblHeader")
            el.set(qn("w:val"), "true")
            tr_pr.append(el)
        for j, text in enumerate(row):
            para = table.cell(i, j).paragraphs[0]
            if text:
                para.add_run(text).bold = header or None
    for p in ex.paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return _fixed_zip(buf.getvalue())


def chromium() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def fixed_pdf_dates(data: bytes) -> bytes:
    """A Chromium PDF with its CreationDate and ModDate set to the clock's zero (same length: the
    cross-reference offsets stay right)."""
    return _PDF_DATE.sub(_CLOCK_ZERO, data)


def print_pdf(page: Path, out: Path, timeout: int = 120) -> None:
    """Headless Chromium's print of a local HTML page to `out`, without header and footer, dates fixed."""
    exe = chromium()
    if exe is None:
        raise QAError("the PDF format needs Chromium, which is not installed",
                      fix="apt-get install -y chromium, or choose --formats html,docx")
    with tempfile.TemporaryDirectory() as profile:
        tmp = out.with_name(out.name + ".tmp")
        try:
            subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={tmp}",
                            page.resolve().as_uri()], check=True, capture_output=True, timeout=timeout)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
            raise QAError(f"Chromium could not print {page.name} ({type(e).__name__})") from None
        tmp.write_bytes(fixed_pdf_dates(tmp.read_bytes()))
        tmp.replace(out)


# --------------------------------------------------------------------------- corpus folders

def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    return True


def write_corpus(excerpts: Sequence[Excerpt], fmt: str, folder: Path,
                 log: Callable[[str], None] = lambda s: None, workers: int = 2) -> dict[str, str]:
    """Write one document per excerpt in `fmt` into `folder` (only what changed; files of excerpts no
    longer asked for are removed) with a metadata.json naming each document's doc_id and title; return
    excerpt uid -> doc_id. PDFs are printed `workers` at a time."""
    if fmt not in FORMATS:
        raise QAError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    pages = folder.parent / "pdf-pages"  # the HTML each PDF was printed from: outside the corpus
    meta, wanted, to_print = {}, set(), []
    for ex in excerpts:
        name = file_name(ex, fmt)
        wanted.add(name)
        meta[name] = {"doc_id": doc_id(ex.uid, fmt), "title": title_of(ex), "author": None, "publisher": ATTRIBUTION}
        if fmt == "html":
            _write_if_changed(folder / name, excerpt_html(ex).encode("utf-8"))
        elif fmt == "docx":
            _write_if_changed(folder / name, excerpt_docx(ex))
        else:
            pages.mkdir(parents=True, exist_ok=True)
            page, text = pages / f"{doc_id(ex.uid, fmt)}.html", excerpt_html(ex).encode("utf-8")
            if not ((folder / name).is_file() and page.is_file() and page.read_bytes() == text):
                pending = page.with_name(page.stem + ".pending.html")
                pending.write_bytes(text)
                to_print.append((pending, page, folder / name))
    if to_print:
        log(f"printing {len(to_print)} PDF(s) with Chromium")

        def one(job: tuple[Path, Path, Path]) -> None:
            pending, page, out = job
            print_pdf(pending, out)
            pending.replace(page)  # recorded as printed only once the PDF is written

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(one, to_print))
    for stale in folder.iterdir():
        if stale.is_file() and stale.name != "metadata.json" and stale.name not in wanted:
            stale.unlink()
    _write_if_changed(folder / "metadata.json",
                      json.dumps({"documents": meta}, indent=1, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return {ex.uid: doc_id(ex.uid, fmt) for ex in excerpts}
