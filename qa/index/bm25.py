"""The lexical (BM25) side of the index: one tokenizer for build and query time, stored with bm25s."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import IndexProblem
from ..text import TOKEN, fold
from ..types import Passage

LEXICAL_DIR = "bm25"
TOKENIZER_VERSION = 2  # 2: the vocabulary in sorted order (files reproducible)
K1, B = 1.2, 0.75


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def settings() -> dict[str, Any]:
    """Everything that decides lexical tokens and scores; stored in the manifest and compared on load."""
    return {"library": "bm25s", "method": "lucene", "k1": K1, "b": B, "lower": True, "fold_accents": True,
            "stopwords": "bm25s english", "stemmer": "snowball english", "token_pattern": TOKEN.pattern,
            "tokenizer_version": TOKENIZER_VERSION}


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-folded, stop-word-free, stemmed word tokens; single letters dropped."""
    words = [w for w in TOKEN.findall(fold(text).lower()) if (len(w) > 1 or w.isdigit()) and w not in _stopwords()]
    return _stemmer().stemWords(words) if words else []


def build(out_dir: Path, evidence: Sequence[Passage], corpus_dir: Path) -> list[str]:
    """Write the BM25 index of the evidence passages (row order) under out_dir/bm25; return file names."""
    import bm25s

    corpus_tokens = [tokenize(p.text) or [""] for p in evidence]
    model = bm25s.BM25(method="lucene", k1=K1, b=B)
    # our own vocabulary, in sorted order: bm25s numbers tokens in set order, which each process's hash
    # seed changes, so two builds of the same corpus would write different (equivalent) files
    vocab = {t: i for i, t in enumerate(sorted({t for toks in corpus_tokens for t in toks}))}
    model.index(([[vocab[t] for t in toks] for toks in corpus_tokens], vocab), show_progress=False)
    target = out_dir / LEXICAL_DIR
    model.save(str(target), allow_pickle=False, show_progress=False)
    # document frequencies of stems, for weighting question terms when scoring answer sentences
    df: dict[str, int] = {}
    for toks in corpus_tokens:
        for t in set(toks):
            if t:
                df[t] = df.get(t, 0) + 1
    (target / "df.json").write_text(json.dumps({"n": len(corpus_tokens), "df": dict(sorted(df.items()))}, ensure_ascii=False),
                                     encoding="utf-8")
    (target / "tokenizer.json").write_text(json.dumps(settings(), indent=2), encoding="utf-8")
    return sorted(f"{LEXICAL_DIR}/{p.name}" for p in target.iterdir() if p.is_file())


def attach(index) -> None:
    """Load the BM25 model and document frequencies of a verified index into index.bm25 and index.df."""
    import bm25s

    d = Path(index.path) / LEXICAL_DIR
    where = getattr(index, "store", "") or index.path  # what `qa index` rebuilds: a folder or a store
    try:
        stored = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(d), allow_pickle=False, show_progress=False)
        df = json.loads((d / "df.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexProblem(f"lexical index in {index.path} cannot be read ({e.__class__.__name__})", where) from None
    if stored != settings():
        raise IndexProblem(f"lexical index in {index.path} was built with other tokenizer settings", where)
    if int(model.scores["num_docs"]) != len(index.evidence):
        raise IndexProblem(f"lexical index in {index.path} has {model.scores['num_docs']} rows for {len(index.evidence)} passages", where)
    if not (isinstance(df, dict) and df.get("n") == len(index.evidence) and isinstance(df.get("df"), dict)
            and all(isinstance(v, int) for v in df["df"].values())):
        raise IndexProblem(f"lexical index in {index.path} has malformed document frequencies", where)
    vocab = getattr(model, "vocab_dict", None)
    indptr = model.scores.get("indptr")
    if not isinstance(vocab, dict) or indptr is None or abs(len(indptr) - len(vocab)) > 1 \
            or any(not isinstance(v, int) or not 0 <= v < len(indptr) - 1 for k, v in vocab.items() if k):
        raise IndexProblem(f"lexical index in {index.path} has a malformed vocabulary", where)
    index.bm25 = model
    index.df = df


def idf(index, stem: str) -> float:
    """Smoothed inverse document frequency of a stem over the evidence passages."""
    d = index.df
    return float(np.log(1.0 + (d["n"] - d["df"].get(stem, 0) + 0.5) / (d["df"].get(stem, 0) + 0.5)))


def scores(index, query: str) -> np.ndarray:
    """BM25 score of every evidence passage (row order) for a query; zeros when no term matches."""
    model = index.bm25
    ids = model.get_tokens_ids(tokenize(query))
    if not ids:
        return np.zeros(len(index.evidence), dtype=np.float32)
    return np.asarray(model.get_scores_from_ids(ids), dtype=np.float32)
