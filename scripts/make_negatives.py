"""Derive on-topic unanswerable questions from the answerable gold questions: eval/negatives.jsonl.

A negative keeps an answerable question's shape and subject and changes what it hinges on, so that the
corpus no longer answers it:

- `swap_entity`: a place, group, person or community of the corpus that the question names is replaced
  by one of the same kind that the corpus never contains ("Who led Wilayat Khorasan?" -> "Who led Wilayat Sindh?");
- `swap_year`: a year the question names is replaced by one the corpus never contains;
- `absent_attribute`: the question asks for an attribute the sources never give about what they do
  mention ("How many people were killed in the Bajaur attack?" -> "... injured ..."), kept only when no
  sentence of the corpus holds both the subject and a word for the attribute.

Every check reads the corpus's own text (case-insensitive, whole words), independently of the answer
step it is used to measure. A negative inherits the split of the question it came from: the dev ones
are for fitting (scripts/fit_answering.py), the test ones are held out and never tuned on. Deterministic:
the same questions and corpus give the same file, byte for byte.

    .venv/bin/python scripts/make_negatives.py [--corpus corpus] [--check]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Iterable, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.corpus import load_corpus  # noqa: E402
from qa.gold import load_questions  # noqa: E402

OUT = ROOT / "eval" / "negatives.jsonl"
PER_QUESTION = 2  # negatives derived from one question at most

# Same-kind substitutes, on topic for a corpus about militancy in Pakistan and Afghanistan; a substitute
# is used only where the corpus never contains it
POOLS = {
    "place": ["Gilgit", "Chitral", "Zhob", "Kunduz", "Mardan", "Turbat", "Gwadar", "Sukkur", "Multan", "Abbottabad",
              "Jalalabad", "Herat", "Kohat", "Bannu", "Dera Ismail Khan", "Hyderabad", "Muzaffarabad", "Skardu"],
    "group": ["Jaish-e-Muhammad", "Lashkar-e-Islam", "Harkat-ul-Mujahideen", "Jundallah", "Ansar al-Sharia",
              "Hizb-e-Islami", "Jamaat-e-Islami", "Tehreek-e-Labbaik"],
    "province": ["Wilayat Sindh", "Wilayat Hind", "Wilayat Punjab"],
    "region": ["Gilgit-Baltistan", "Azad Kashmir", "Nuristan", "Kunar", "Paktika"],
    "mosque": ["Faisal Mosque", "Badshahi Mosque", "Jamia Binoria", "Wazir Khan Mosque"],
    "person": ["Abdul Rashid Ghazi", "Mullah Fazlullah", "Baitullah Mehsud", "Hakimullah Mehsud", "Asim Umar",
               "Ilyas Kashmiri"],
}
# the corpus's names a question may hinge on, and their kind (the kind decides the pool). The subject of
# the whole corpus (the Islamic State, Daesh, Pakistan, Afghanistan) is never swapped: a question about
# another country or group altogether is off topic, not on-topic and unanswerable
KNOWN_KINDS = {"Wilayat Khorasan": "province", "Khorasan": "province", "Karachi": "place", "Quetta": "place",
               "Lahore": "place", "Sialkot": "place", "Bajaur": "place", "Islamabad": "place", "Punjab": "region",
               "Balochistan": "region", "Sindh": "region", "Peshawar": "place", "Khyber Pakhtunkhwa": "region",
               "Lashkar-e-Taiba": "group", "Lashkar-e-Jhangvi": "group", "Sipah-e-Sahaba": "group",
               "Jamaat-ul-Ahrar": "group", "Abtal-ul-Islam": "group", "Hizb-ut-Tahrir": "group",
               "Hizb ut-Tahrir": "group", "JUI-F": "group", "TTP": "group", "Lal Masjid": "mosque",
               "Hafiz Saeed Khan": "person", "Hafiz Khan": "person", "Tariq Parvez": "person",
               "Afghans": "nationality", "Pakistanis": "nationality", "Ismailis": "nationality"}
SUBSTITUTE_PLURAL = {"Afghans": "Uzbeks", "Pakistanis": "Tajiks", "Ismailis": "Ahmadis"}
YEARS = ["1987", "1994", "1999", "2003", "2007"]  # used only where the corpus never names them

# attributes the sources never give, as (what the question says, what a negative says instead, words
# for the new attribute that a sentence answering it would hold)
ATTRIBUTES = [
    (r"\bkilled\b", "injured", ("injur", "wound", "hurt")),
    (r"\bdied\b", "were injured", ("injur", "wound", "hurt")),
    (r"\bHow many people\b", "How many police officers", ("police", "officer", "policemen")),
    (r"\bWho led\b", "Who funded", ("fund", "financ", "paid for", "bankroll")),
    (r"\bWhen\b", "At what time of day", ("morning", "evening", "night", "a.m", "p.m", "o'clock", "noon")),
]


def _text_has(text_lower: str, phrase: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(phrase.lower()) + r"(?![\w-])", text_lower) is not None


def _pick(pool: list[str], key: str, corpus: str, taken: set[str]) -> Optional[str]:
    """The pool's first substitute, from a place the key decides, that the corpus never contains."""
    start = int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(pool)
    for s in pool[start:] + pool[:start]:
        if s not in taken and not _text_has(corpus, s) and not any(_text_has(corpus, w) for w in s.split() if len(w) > 5):
            return s
    return None


def _entities(question: str) -> list[tuple[str, str]]:
    """(text, kind) of the known names the question holds, longest first where they overlap, in order."""
    found: list[tuple[str, str]] = []
    for name, kind in sorted(KNOWN_KINDS.items(), key=lambda kv: -len(kv[0])):
        if re.search(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", question) and not any(name in f for f, _ in found):
            found.append((name, kind))
    return sorted(found, key=lambda fk: question.index(fk[0]))


def _sentences(texts: Iterable[str]) -> list[str]:
    return [s.lower() for t in texts for s in re.split(r"(?<=[.!?])\s+", t)]


def derive(questions, docs) -> list[dict]:
    """The negatives of the answerable questions, in question order (no ids yet)."""
    corpus = "\n".join(d.text for d in docs).lower()
    sentences = _sentences(d.text for d in docs)
    out: list[dict] = []
    for q in questions:
        if not q.answerable:
            continue
        made: list[dict] = []
        taken: set[str] = set()

        def add(question: str, method: str, changed: dict):
            if len(made) < PER_QUESTION and question != q.question:
                made.append({"question": question, "answers": [], "answerable": False, "sources": [],
                             "type": q.type, "split": q.split, "derived_from": q.id, "method": method,
                             "changed": changed})

        for name, kind in _entities(q.question):
            if not _text_has(corpus, name):
                continue  # only a name the corpus uses is what the question hinges on
            sub = SUBSTITUTE_PLURAL.get(name) if kind == "nationality" else _pick(POOLS[kind], q.id + name, corpus, taken)
            if sub and not _text_has(corpus, sub):
                taken.add(sub)
                # "the TTP's factions" -> "Jundallah's factions": an acronym takes "the", a name does not
                new = re.sub(r"\bthe " + re.escape(name), sub, q.question, count=1) if name.isupper() and not sub.isupper() \
                    else q.question.replace(name, sub, 1)
                add(new, "swap_entity", {"from": name, "to": sub})
                break
        m = re.search(r"\b(19|20)\d\d\b", q.question)
        if m:
            year = _pick(YEARS, q.id, corpus, set())
            if year:
                add(q.question[:m.start()] + year + q.question[m.end():], "swap_year", {"from": m.group(), "to": year})
        for pattern, replacement, cues in ATTRIBUTES:
            hit = re.search(pattern, q.question)
            if not hit:
                continue
            subject = next((n for n, _ in _entities(q.question) if _text_has(corpus, n)), None)
            if subject is None:
                continue
            # the corpus must never say the new attribute of this subject in one sentence
            if any(_text_has(s, subject) and any(c in s for c in cues) for s in sentences):
                continue
            add(q.question[:hit.start()] + replacement + q.question[hit.end():], "absent_attribute",
                {"entity": subject, "attribute": replacement})
            break
        out.extend(made)
    return out


def render(rows: list[dict]) -> str:
    return "".join(json.dumps({"id": f"n{i:03d}", **r}, ensure_ascii=False) + "\n" for i, r in enumerate(rows, 1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="exit 1 when the file is not what this script makes")
    args = ap.parse_args()
    text = render(derive(load_questions([args.questions]), load_corpus(args.corpus)))
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs from the generator output: re-run without --check'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        counts[(r["split"], r["method"])] = counts.get((r["split"], r["method"]), 0) + 1
    print(f"wrote {len(rows)} negatives to {args.out}: " + ", ".join(f"{s} {m} {n}" for (s, m), n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
