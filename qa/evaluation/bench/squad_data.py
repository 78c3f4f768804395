"""The SQuAD dev sets `qa bench squad` reads: loading and checking them, and writing their articles as a corpus.

The SQuAD JSON (copied into eval/benchmarks/, sha256-checked at load) becomes a corpus folder with one
.txt document per article (its title, then its paragraphs separated by blank lines), so qa's own
`build_index` indexes it like any user's folder.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ...errors import QAError
from ...settings import PROJECT_ROOT, Settings

BENCH_DIR = PROJECT_ROOT / "eval" / "benchmarks"
SQUAD_FILES = {
    "1.1": ("squad-v1.1-dev.json.gz", "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9"),
    "2.0": ("squad-v2.0-dev-half.json.gz", "e67e5969b6dc6c1642154740806b79263b77fc048c7c11ee60d534eb48ef81e8"),
}
# characters str.splitlines() breaks on: replaced by spaces (same length) so a paragraph stays one unit
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def cache_root(settings: Optional[Settings] = None) -> Path:
    """Where benchmark corpora and indexes live: `bench_cache` (env QA_BENCH_CACHE), else eval/benchmarks/cache."""
    return Path((settings.bench_cache if settings else None) or BENCH_DIR / "cache")


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # gold texts as given (duplicates kept, as the official script does)
    impossible: bool
    article: int
    paragraph: int


@dataclass
class SquadData:
    version: str
    path: Path
    sha256: str
    titles: list[str]
    paragraphs: list[list[str]]  # per article, the contexts
    questions: list[SquadQuestion]


def read_verified(path: Path, sha256: str, what: str, where: str) -> str:
    """The text of a committed gzip benchmark file, refused (with the fix: restore `where` from git) when it
    is missing, not gzip, or not the bytes whose sha256 is recorded."""
    if not path.is_file():
        raise QAError(f"{what} data not found at {path}", fix=f"restore it from git ({where})")
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as e:
        raise QAError(f"{path} is not a readable gzip file ({e})", fix="restore it from git") from None
    got = hashlib.sha256(raw).hexdigest()
    if got != sha256:
        raise QAError(f"{path} has sha256 {got[:12]}…, expected {sha256[:12]}… (the file is corrupt or replaced)",
                      fix=f"restore it from git ({where})")
    return raw.decode("utf-8")


def load_squad(version: str, bench_dir: Path = BENCH_DIR) -> SquadData:
    """Read and verify a SQuAD file from the project's eval/benchmarks folder (never from elsewhere)."""
    if version not in SQUAD_FILES:
        raise QAError(f"unknown SQuAD version {version!r}", fix=f"use one of {', '.join(SQUAD_FILES)}")
    name, want = SQUAD_FILES[version]
    path = Path(bench_dir) / name
    data = json.loads(read_verified(path, want, f"SQuAD {version}", "eval/benchmarks/"))
    titles, paragraphs, questions = [], [], []
    for ai, art in enumerate(data["data"]):
        titles.append(str(art["title"]))
        ctxs = []
        for pi, par in enumerate(art["paragraphs"]):
            ctxs.append(par["context"])
            for qa in par["qas"]:
                questions.append(SquadQuestion(
                    str(qa["id"]), qa["question"], tuple(a["text"] for a in qa.get("answers", [])),
                    bool(qa.get("is_impossible", False)), ai, pi))
        paragraphs.append(ctxs)
    return SquadData(version, path, want, titles, paragraphs, questions)


def held_out_titles() -> set[str]:
    """The articles the span reader never trained on: those of the SQuAD 2.0 half (all also in v1.1 dev)."""
    return set(load_squad("2.0").titles)


# --------------------------------------------------------------------------- corpus

def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:40] or "article"


def article_text(title: str, contexts: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """A document's text (title line, then paragraphs separated by a blank line) and each paragraph's
    (start, end) in it. Line-break characters inside a paragraph become spaces, keeping every offset."""
    parts = [title.replace("_", " ")]
    spans = []
    pos = len(parts[0]) + 2
    for c in contexts:
        c = _LINE_BREAKS.sub(" ", c)
        spans.append((pos, pos + len(c)))
        parts.append(c)
        pos += len(c) + 2
    return "\n\n".join(parts) + "\n", spans


def write_corpus(data: SquadData, articles: Sequence[int], folder: Path) -> dict[int, tuple[str, list[tuple[int, int]]]]:
    """Write one .txt per article (only when its bytes change, so the corpus hash stays put) plus
    metadata.json; return article -> (doc_id, paragraph spans)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[int, tuple[str, list[tuple[int, int]]]] = {}
    meta: dict[str, dict[str, str]] = {}
    wanted = set()
    for ai in articles:
        title = data.titles[ai]
        doc_id = f"{ai:03d}-{_slug(title)}"
        fname = f"{doc_id}.txt"
        text, spans = article_text(title, data.paragraphs[ai])
        p = folder / fname
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8", newline="\n")
        meta[fname] = {"doc_id": doc_id, "title": title.replace("_", " "),
                       "publisher": f"SQuAD {data.version} (Rajpurkar et al.), CC BY-SA 4.0"}
        out[ai] = (doc_id, spans)
        wanted.add(fname)
    for stale in folder.glob("*.txt"):
        if stale.name not in wanted:
            stale.unlink()
    mtext = json.dumps({"documents": meta}, indent=1, ensure_ascii=False)
    mp = folder / "metadata.json"
    if not mp.is_file() or mp.read_text(encoding="utf-8") != mtext:
        mp.write_text(mtext, encoding="utf-8")
    return out
