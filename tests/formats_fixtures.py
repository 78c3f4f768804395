"""Helpers for the qa.ingest.formats tests: PDFs drawn with PDFium's own editing API (no browser needed), a
realistic web page, and paths to the committed samples."""
from __future__ import annotations

import ctypes
import io
import re
import shutil
import struct
import subprocess
import tempfile
import textwrap
import zipfile
from pathlib import Path

DATA = Path(__file__).parent / "data"
SAMPLES = DATA / "pdf-samples"
FIXTURES = DATA / "formats"

# What each of the 31 samples must come to: extracted, or skipped with this reason.
EXPECTED_SKIPS = {
    "005-libreoffice-writer-password/libreoffice-writer-password.pdf": "encrypted",
    "007-imagemagick-images/imagemagick-ASCII85Decode.pdf": "no-text-layer",
    "007-imagemagick-images/imagemagick-CCITTFaxDecode.pdf": "no-text-layer",
    "007-imagemagick-images/imagemagick-images.pdf": "no-text-layer",
    "007-imagemagick-images/imagemagick-lzw.pdf": "no-text-layer",
    "017-unreadable-meta-data/unreadablemetadata.pdf": "corrupt",  # poppler cannot read it either
    "019-grayscale-image/grayscale-image.pdf": "no-text-layer",
    "023-cmyk-image/cmyk-image.pdf": "no-text-layer",
}


def sample_paths() -> list[Path]:
    return sorted(SAMPLES.glob("*/*.pdf"))


def sample_key(p: Path) -> str:
    return f"{p.parent.name}/{p.name}"


# --------------------------------------------------------------------------- drawing PDFs

def draw_pdf(pages: list[list[tuple[float, float, float, str]]], size=(612.0, 792.0), font="Helvetica") -> bytes:
    """A PDF whose page k holds the text runs pages[k] = [(x, y, font size, text), ...], y from the
    bottom of the page, in one of the standard 14 fonts (WinAnsi text only)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    doc = pdfium.PdfDocument.new()
    try:
        for runs in pages:
            page = doc.new_page(*size)
            for x, y, fs, text in runs:
                obj = raw.FPDFPageObj_NewTextObj(doc.raw, font.encode("ascii"), ctypes.c_float(fs))
                units = text.encode("utf-16-le") + b"\x00\x00"
                buf = (ctypes.c_ushort * (len(units) // 2)).from_buffer_copy(units)
                raw.FPDFText_SetText(obj, buf)
                raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
                raw.FPDFPage_InsertObject(page.raw, obj)
            raw.FPDFPage_GenerateContent(page.raw)
            page.close()
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()
    finally:
        doc.close()


BODY = (
    "The committee met on the first Monday of each month in the old library of the town hall. "
    "Its members reviewed the accounts, heard the reports of the working groups and voted on the "
    "proposals that had been sent to them in writing at least a week before the meeting. "
)


def report_pdf(n_pages: int = 4, header: str = "Riverside Town Council - Minutes 2024",
               footer: str = "Page {n} of {total}", lines_per_page: int = 30) -> tuple[bytes, list[str]]:
    """A multi-page report with a running header, a page-number footer and a body of paragraphs
    (blank space between them), like a word processor's output. Returns the PDF and, per page, the
    body's first words so a test can find them."""
    width = 88
    pages, firsts = [], []
    para = 0
    for n in range(1, n_pages + 1):
        runs = [(72, 750, 9, header)] if header else []
        y = 712.0
        first = None
        count = 0
        while count < lines_per_page:
            para += 1
            text = f"Item {para} of page {n}. " + BODY * (1 + para % 2)
            for line in textwrap.wrap(text, width):
                if count >= lines_per_page:
                    break
                runs.append((72, y, 11, line))
                first = first or line
                y -= 14
                count += 1
            y -= 10
        if footer:
            runs.append((290, 40, 9, footer.format(n=n, total=n_pages)))
        pages.append(runs)
        firsts.append(first)
    return draw_pdf(pages), firsts


def hyphen_pdf() -> bytes:
    """One page whose lines break inside words with a hyphen: a lower-case continuation (the hyphen
    is the printer's, to be dropped) and a capitalised one (a real compound, to be kept)."""
    lines = [
        "The inspectors found the drainage system in extra-",
        "ordinary condition after the winter, with every",
        "culvert clear and the old Anglo-",
        "Saxon boundary ditch still carrying water to the",
        "river as it has done for a thousand years.",
    ]
    return draw_pdf([[(72, 700 - 14 * k, 11, t) for k, t in enumerate(lines)]])


def long_pdf(n_pages: int) -> bytes:
    """A long plain report for timing: n pages of 45 body lines each, header and footer."""
    data, _ = report_pdf(n_pages=n_pages, lines_per_page=45)
    return data


# --------------------------------------------------------------------------- chromium

def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def print_to_pdf(html_path: Path, out: Path, timeout: int = 120, header_footer: bool = True) -> None:
    """Chromium's --print-to-pdf of a local HTML file (headless, no network, a throw-away profile);
    header_footer=False leaves out the print date, title, URL and page numbers."""
    exe = chromium()
    if exe is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    extra = [] if header_footer else ["--no-pdf-header-footer"]
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", *extra,
             f"--user-data-dir={profile}", f"--print-to-pdf={out}", html_path.resolve().as_uri()],
            check=True, capture_output=True, timeout=timeout,
        )


def scripted_pdf(text: str, js: str) -> bytes:
    """A one-page PDF written by hand whose catalog runs JavaScript `js` (already escaped for a PDF
    string) on opening (/OpenAction and the JavaScript name tree), and whose page also carries a
    JavaScript link annotation: the upload checks and readers must treat it as text, never run it."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /Names << /JavaScript 6 0 R >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Annots [8 0 R]"
        b" /Resources << /Font << /F1 7 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /S /JavaScript /JS (" + js.encode() + b") >>",
        b"<< /Names [(init) 5 0 R] >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Annot /Subtype /Link /Rect [72 700 300 740] /A 5 0 R >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


# --------------------------------------------------------------------------- pdftotext

def pdftotext_pages(path: Path) -> list[str] | None:
    """poppler's text of each page (form feeds split them), None when pdftotext is not installed."""
    exe = shutil.which("pdftotext")
    if exe is None:
        return None
    out = subprocess.run([exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=120)
    pages = out.stdout.decode("utf-8", "replace").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def squash(s: str) -> str:
    """Letters and digits only, case-folded and NFKC-normalised: what two extractors agree on whatever
    their spacing, hyphenation and line breaks."""
    import unicodedata

    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", s).casefold())


# --------------------------------------------------------------------------- web page

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Lighthouse keepers return to Skerry Point | The Coast Courier</title>
<link rel="canonical" href="https://coastcourier.example/news/2023/06/lighthouse-keepers-return">
<meta property="og:url" content="https://coastcourier.example/og-url-should-not-win">
<meta name="author" content="Morag Innes">
<meta property="article:published_time" content="2023-06-14T08:30:00+01:00">
</head><body>
<header class="site-header"><a href="/">The Coast Courier</a>
<nav class="main-nav"><ul><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/weather">Weather</a></li><li><a href="/subscribe">Subscribe today for unlimited access</a></li></ul></nav></header>
<main><article>
<h1>Lighthouse keepers return to Skerry Point</h1>
<p class="byline">By Morag Innes, 14 June 2023</p>
<p>For the first time in forty years, keepers are living at the Skerry Point lighthouse again. The
light itself has been automatic since 1983, but the trust that now owns the station has brought back
two resident keepers to look after the buildings and to welcome visitors through the summer months.</p>
<p>The new keepers, a retired ferry captain and his wife, moved into the restored cottages in May. They
will open the tower to the public on four days a week and keep a daily log of the weather, as the
keepers before them did for more than a century.</p>
<h2>A station saved by volunteers</h2>
<p>The station had been empty and decaying for years when a group of volunteers formed the trust in
2015. Since then they have raised more than two million pounds, replaced the roofs of the cottages and
repaired the great lens, which was made in Edinburgh in 1872 and is one of only three of its kind.</p>
<p>The trust's chair said the return of the keepers was the moment the volunteers had worked for. She
said the lighthouse had always been a living place and that it felt right to see smoke rising from the
cottage chimneys once more.</p>
<h2>Opening times</h2>
<p>The tower will be open from Thursday to Sunday until the end of September. Tickets can be bought at
the gate, and children under twelve go free. Visitors are asked to keep to the marked paths because
the cliffs are home to a large colony of nesting seabirds.</p>
</article></main>
<aside class="sidebar"><h3>Most read</h3><ul><li><a href="/a">Council votes on new harbour fees</a></li>
<li><a href="/b">Storm damage closes coast road</a></li><li><a href="/c">Ferry timetable changes announced</a></li></ul></aside>
<footer class="site-footer"><p>Copyright 2023 The Coast Courier. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a> | <a href="/terms">Terms of use</a> | <a href="/contact">Contact us</a></p></footer>
</body></html>
"""


# --------------------------------------------------------------------------- a mixed corpus folder

def harbour_docx(path: Path) -> None:
    """A small Word file: a heading, a paragraph and a table."""
    import docx

    d = docx.Document()
    d.add_heading("Harbour report", 1)
    d.add_paragraph("The harbour authority counted forty-two berths along the northern quay in 1921.")
    t = d.add_table(rows=2, cols=2)
    for (r, k), v in {(0, 0): "Year", (0, 1): "Berths", (1, 0): "1921", (1, 1): "42"}.items():
        t.cell(r, k).text = v
    d.save(path)


def repack(docx: bytes, extra: dict[str, bytes]) -> bytes:
    """The Word package with more parts added (deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            z.writestr(info.filename, zin.read(info.filename))
        for name, data in extra.items():
            z.writestr(name, data)
    return out.getvalue()


def lie_about_size(data: bytes, part: str, size: int) -> bytes:
    """The package with `part`'s uncompressed size set to `size` in its local header and the central
    directory: its bytes unzip to more (or less) than it says."""
    b = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(part)
    struct.pack_into("<I", b, info.header_offset + 22, size)
    pos = b.find(b"PK\x01\x02")
    while pos != -1:
        n = struct.unpack_from("<H", b, pos + 28)[0]
        if b[pos + 46:pos + 46 + n] == part.encode():
            struct.pack_into("<I", b, pos + 24, size)
        pos = b.find(b"PK\x01\x02", pos + 4)
    return bytes(b)


def mixed_folder(c: Path) -> Path:
    """A corpus folder of every format, in a subfolder too, with two files that are skipped: minutes.pdf
    (3 pages, report_pdf), sub/report.docx, sub/article.html, notes.txt, broken.pdf and photo.jpg."""
    (c / "sub").mkdir(parents=True)
    pdf, _ = report_pdf(n_pages=3)
    (c / "minutes.pdf").write_bytes(pdf)
    harbour_docx(c / "sub" / "report.docx")
    (c / "sub" / "article.html").write_text(ARTICLE_HTML, encoding="utf-8")
    (c / "notes.txt").write_text("Notes. The lighthouse was lit in 1912.\n", encoding="utf-8")
    (c / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00" * 100)
    (c / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    return c


# --------------------------------------------------------------------------- cached extractions

_CACHE: dict[str, object] = {}


def sample_result(p: Path):
    """extract(p) for a sample, once per test session: a Rendition or the SkipFile it raised."""
    from qa.ingest.formats import SkipFile, extract

    key = sample_key(p)
    if key not in _CACHE:
        try:
            _CACHE[key] = extract(p)
        except SkipFile as e:
            _CACHE[key] = e
    return _CACHE[key]


def tex_words(tex: str) -> set[str]:
    """Words of three or more letters a LaTeX source prints in its body (commands, their options and
    the arguments that are not text removed)."""
    body = tex.split("\\begin{document}", 1)[-1]
    body = re.sub(r"%.*", "", body)
    body = re.sub(r"\\begin\{tabular\*?\}(?:\{[^}]*\})+", " ", body)  # the column spec is not text
    body = re.sub(r"\\(?:begin|end|includegraphics|usepackage|label|ref|cite)\s*(?:\[[^\]]*\])?\{[^}]*\}", " ", body)
    body = re.sub(r"\\[a-zA-Z]+\*?", " ", body)
    body = re.sub(r"\[[^\]]*\]", " ", body)
    return {w.casefold() for w in re.findall(r"[A-Za-z]{3,}", body)}
