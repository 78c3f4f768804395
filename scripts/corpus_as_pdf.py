"""The bundled corpus printed to PDF: do the gold questions get the same answers, and do citations name the right page?

1. Each document of corpus/ becomes a small HTML page (one paragraph per line, as the text has them)
   printed to PDF by headless Chromium, with Chromium's own header and footer (date, title, address,
   page numbers) left on, as a real printed document has them; metadata.json and aliases.json follow,
   keyed by the PDF names, so doc_ids, titles and dates are the same.
2. The PDF folder and the text folder are indexed with the same model and every gold question is asked
   of both: an answer is "the same" when its normalised text (qa.evaluation.metrics.normalize_match) and its status
   (declined or not) agree.
3. Every citation of a PDF answer names a page; poppler's `pdftotext` (a second extractor) must find
   the quote's first words on that page (each of them: its reading order may differ).

    .venv/bin/python scripts/corpus_as_pdf.py [--out DIR] [--json OUT]
"""
from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from qa.settings import set_offline_environment  # noqa: E402

set_offline_environment()

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
PAGE_CSS = "body { font-family: serif; font-size: 12pt; line-height: 1.35; margin: 0; } p { margin: 0 0 0.6em 0; }"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def to_html(text: str, title: str) -> str:
    paras = [f"<p>{html.escape(line.strip())}</p>" for line in text.splitlines() if line.strip()]
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{PAGE_CSS}</style></head><body>{''.join(paras)}</body></html>")


def print_corpus(corpus: Path, out: Path, timeout: int = 180) -> list[Path]:
    """corpus/*.txt and *.md printed to out/*.pdf, with the folder's metadata and aliases renamed to match."""
    exe = chromium()
    if exe is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    out.mkdir(parents=True, exist_ok=True)
    made = []
    meta = json.loads((corpus / "metadata.json").read_text(encoding="utf-8")) if (corpus / "metadata.json").is_file() else {}
    docs_meta = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in sorted([*corpus.glob("*.txt"), *corpus.glob("*.md")]):
            page = Path(tmp) / (src.stem + ".html")
            page.write_text(to_html(src.read_text(encoding="utf-8"), src.stem), encoding="utf-8")
            pdf = out / (src.stem + ".pdf")
            with tempfile.TemporaryDirectory() as profile:
                subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}",
                                page.as_uri()], check=True, capture_output=True, timeout=timeout)
            made.append(pdf)
            if src.name in meta.get("documents", {}):
                docs_meta[pdf.name] = meta["documents"][src.name]
    if meta:
        (out / "metadata.json").write_text(json.dumps({**meta, "documents": docs_meta}, indent=2, ensure_ascii=False),
                                           encoding="utf-8")
    if (corpus / "aliases.json").is_file():
        shutil.copy(corpus / "aliases.json", out / "aliases.json")
    return made


def pdftotext_pages(path: Path) -> list[str]:
    r = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=120, check=True)
    pages = r.stdout.decode("utf-8", "replace").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def squash(s: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", s).casefold())


def page_problems(answers, pdf_dir: Path) -> tuple[int, list[str]]:
    """(citations checked, problems): each PDF citation's page must hold the quote's first words in
    poppler's text of that page."""
    pages: dict[str, list[str]] = {}
    checked, problems = 0, []
    for a in answers:
        for c in list(a.citations) + list(a.closest):
            if c.page is None:
                problems.append(f"{c.source}: a PDF citation without a page")
                continue
            src = Path(c.source)
            if c.source not in pages:
                pages[c.source] = [squash(p) for p in pdftotext_pages(src if src.is_absolute() else ROOT / src)]
            # the quote's first words, each found on the page: pdftotext may read a page in another
            # order (a pull quote between two lines of a paragraph), so they need not be contiguous
            words = [w for w in (squash(x) for x in c.quote.split()[:8]) if len(w) >= 3][:6]
            checked += 1

            doc_pages = pages[c.source]

            def holds(i: int) -> bool:  # the quote starts on page i; it may run on to the next
                return bool(words) and words[0] in doc_pages[i] and all(w in "".join(doc_pages[i:i + 2]) for w in words)

            if not (1 <= c.page <= len(doc_pages)) or not holds(c.page - 1):
                where = [i + 1 for i in range(len(doc_pages)) if holds(i)]
                problems.append(f"{c.source} chars {c.start}-{c.end}: cited page {c.page}, pdftotext finds it on {where}")
    return checked, problems


def compare(text_dir: Path, pdf_dir: Path, work: Path, embedder=None, log=print) -> dict:
    """Index both folders, ask every gold question of both, compare; the result dict."""
    from qa.index.build import build_index
    from qa.neural.embedding import make_embedder
    from qa.evaluation.gold import DEFAULT_QUESTIONS, load_questions
    from qa.evaluation.metrics import normalize_match
    from qa.pipeline import open_answerer
    from qa.settings import Settings

    settings = Settings()
    embedder = embedder or make_embedder(settings)
    t = time.perf_counter()
    reports = {name: build_index(d, work / f"{name}-index", embedder) for name, d in (("text", text_dir), ("pdf", pdf_dir))}
    build_s = time.perf_counter() - t
    answerers = {name: open_answerer(work / f"{name}-index", settings, embedder=embedder) for name in reports}
    qs = load_questions([ROOT / DEFAULT_QUESTIONS])
    same, differ, pdf_answers = 0, [], []
    for q in qs:
        a, b = (answerers[n].ask(q.question) for n in ("text", "pdf"))
        pdf_answers.append(b)
        key = lambda x: (x.status == "declined", normalize_match(x.answer or ""))  # noqa: E731
        if key(a) == key(b):
            same += 1
        else:
            differ.append({"id": q.id, "question": q.question, "text": a.answer, "pdf": b.answer,
                           "text_status": a.status, "pdf_status": b.status})
    checked, problems = page_problems(pdf_answers, pdf_dir)
    res = {"questions": len(qs), "same": same, "same_share": round(same / len(qs), 4), "differ": differ,
           "citations_checked": checked, "page_problems": problems,
           "pdf_documents": reports["pdf"].documents, "pdf_skipped": [s.to_dict() for s in reports["pdf"].skipped],
           "index_seconds": round(build_s, 1), "pdf_build_seconds": round(reports["pdf"].seconds, 2),
           "pdf_extract_seconds": round(reports["pdf"].extract_seconds, 2),
           "extract_share": round(reports["pdf"].extract_seconds / reports["pdf"].seconds, 3)}
    log(f"{same} of {len(qs)} gold answers the same ({100 * same / len(qs):.1f}%); {checked} PDF citations checked "
        f"against pdftotext, {len(problems)} on the wrong page; extraction {res['pdf_extract_seconds']}s of the "
        f"{res['pdf_build_seconds']}s PDF build ({100 * res['extract_share']:.0f}%)")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "corpus-pdf")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    t = time.perf_counter()
    made = print_corpus(ROOT / "corpus", args.out / "corpus")
    print(f"printed {len(made)} documents to PDF in {time.perf_counter() - t:.1f}s")
    res = compare(ROOT / "corpus", args.out / "corpus", args.out)
    for d in res["differ"]:
        print(f"  {d['id']}: text {d['text']!r} ({d['text_status']}) / pdf {d['pdf']!r} ({d['pdf_status']})")
    for p in res["page_problems"]:
        print("  " + p)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0 if res["same_share"] >= 0.95 and not res["page_problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
