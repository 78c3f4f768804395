"""No pickle on a data path: loading a pickle runs code, so an index or a download must never be one.

Scans the source of every module under qa/ and app.py (with ast) for pickle-based modules, torch.load without
weights_only=True, np.load / anything with allow_pickle=True, and pandas' pickle readers; and checks that a
built index holds no pickle files and that every .npy in it loads with allow_pickle=False.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from support import PROJECT_ROOT, build_fake, write_corpus

PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve"}
PICKLE_FUNCS = {"read_pickle", "to_pickle"}
PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return ""


def _kw(call: ast.Call, name: str, unknown_if_star: bool = False):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    if unknown_if_star and any(k.arg is None for k in call.keywords):
        return ast.Name(id="<**kwargs>")  # cannot tell what **kwargs holds
    return None


def pickle_uses(source: str, filename: str = "<source>") -> list[str]:
    """Every pickle-capable use in a module's source, as 'file:line: what'."""
    found: list[str] = []
    tree = ast.parse(source, filename=filename)
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PICKLE_MODULES:
                    found.append(f"{where}: import {a.name}")
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in PICKLE_MODULES:
                found.append(f"{where}: from {node.module} import ...")
            for a in node.names:
                if a.name in PICKLE_FUNCS:
                    found.append(f"{where}: imports {a.name}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            last = name.rsplit(".", 1)[-1]
            if name.split(".")[0] in PICKLE_MODULES:
                found.append(f"{where}: {name}(...)")
            if last in PICKLE_FUNCS:
                found.append(f"{where}: {name}(...)")
            if name in ("torch.load",) or (last == "load" and name.startswith("torch")):
                wo = _kw(node, "weights_only", unknown_if_star=True)
                if not (isinstance(wo, ast.Constant) and wo.value is True):
                    found.append(f"{where}: {name}(...) without weights_only=True")
            ap = _kw(node, "allow_pickle", unknown_if_star=name in ("np.load", "numpy.load"))
            if ap is not None and not (isinstance(ap, ast.Constant) and ap.value is False):
                found.append(f"{where}: {name}(..., allow_pickle={ast.unparse(ap)})")
    return found


def _sources() -> list[Path]:
    files = sorted((PROJECT_ROOT / "qa").rglob("*.py"))
    if (PROJECT_ROOT / "app.py").exists():
        files.append(PROJECT_ROOT / "app.py")
    return files


def test_the_checker_finds_what_it_looks_for():
    bad = """
import pickle
import joblib as jl
from dill import loads
import numpy as np, torch, pandas as pd
np.load(p, allow_pickle=True)
numpy.load(p, allow_pickle=flag)
torch.load(f)
torch.load(f, weights_only=False)
pd.read_pickle(p)
model.save(d, allow_pickle=True)
"""
    good = """
import numpy as np, torch
np.load(p, allow_pickle=False)
np.load(p)
torch.load(f, weights_only=True)
bm25.load(d, allow_pickle=False)
"""
    assert len(pickle_uses(bad)) == 9, pickle_uses(bad)
    assert pickle_uses(good) == []


def test_no_pickle_in_the_source():
    found = []
    for f in _sources():
        found += pickle_uses(f.read_text(encoding="utf-8"), str(f.relative_to(PROJECT_ROOT)))
    assert not found, "pickle-capable code on a data path:\n" + "\n".join(found)


def test_a_built_index_holds_no_pickle(tmp_path):
    import faiss
    import numpy as np

    corpus = write_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    build_fake(corpus, index)
    files = [p for p in index.resolve().rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert p.suffix not in (".pkl", ".pickle", ".joblib", ".pt", ".bin"), p
        assert not p.read_bytes()[:2] in PICKLE_MAGIC, f"{p} starts like a pickle"
        if p.suffix == ".npy":
            np.load(p, allow_pickle=False)
        elif p.suffix == ".json":
            json.loads(p.read_text(encoding="utf-8"))
        elif p.suffix == ".jsonl":
            for line in p.read_text(encoding="utf-8").splitlines():
                json.loads(line)
        elif p.suffix == ".faiss":
            faiss.read_index(str(p))
        else:
            pytest.fail(f"unexpected file type in the index: {p.name}")
