"""The package's shape: one concern per module, dependencies one way, nothing heavy on the path of `qa ask`."""
from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT

QA = PROJECT_ROOT / "qa"
MAX_LINES = 600
LONG_LINES = 400  # a module past this says why at its top ("Long because ...")
# A module's layer is its folder's (qa/ingest/..., qa/neural/..., ...); the few modules at the top of the
# package have their own. Bottom to top: a module may import modules of its own layer or below, never above.
FOLDER_LAYERS = {"ingest": 1, "neural": 2, "index": 3, "answer": 4, "evaluation": 6, "chat": 6, "workspace": 6,
                 "api": 7}  # api: a surface beside cli and app.py, on top of everything
TOP_LAYERS = {"types": 0, "errors": 0, "text": 0, "settings": 0, "timing": 0, "pipeline": 5,
              "cli": 7, "cli_help": 7, "console": 7, "__main__": 7, "": 7}  # "" is the package itself: `from qa import open_answerer` (lazy)


def layer_of(module: str) -> int:
    folder = module.split(".")[0]
    return FOLDER_LAYERS[folder] if folder in FOLDER_LAYERS else TOP_LAYERS[module]


def _modules() -> dict[str, object]:
    out = {}
    for p in QA.rglob("*.py"):
        parts = p.with_suffix("").relative_to(QA).parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _imports(name: str, path) -> set[str]:
    """Every qa module `name` imports, at module level or inside functions (a lazy import still depends)."""
    mods = _modules()
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(n, ast.ImportFrom):
            if n.level:
                base = [x for x in pkg.split(".") if x][:max(0, len([x for x in pkg.split(".") if x]) - (n.level - 1))]
                mod = ".".join(base + ([n.module] if n.module else []))
                targets = [mod] if n.module else [".".join([*base, a.name]) for a in n.names]
            elif n.module and (n.module == "qa" or n.module.startswith("qa.")):
                targets = [n.module[3:]] if n.module != "qa" else [a.name for a in n.names]
            else:
                continue
            out.update(t for t in targets if t in mods)
        elif isinstance(n, ast.Import):
            out.update(a.name[3:] for a in n.names if a.name.startswith("qa.") and a.name[3:] in mods)
    out.discard(name)
    return out


def _graph() -> dict[str, set[str]]:
    return {name: _imports(name, path) for name, path in _modules().items()}


def test_no_module_is_over_600_lines_nor_over_400_without_saying_why():
    for n, p in _modules().items():
        text = p.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        assert lines <= MAX_LINES, (n, lines)
        if lines > LONG_LINES:
            doc = ast.get_docstring(ast.parse(text)) or ""
            assert "Long because" in doc, f"{n} has {lines} lines and does not say why at its top"


def test_every_module_has_a_layer_and_imports_only_its_own_layer_or_below():
    graph = _graph()
    unplaced = [m for m in graph if m.split(".")[0] not in FOLDER_LAYERS and m not in TOP_LAYERS]
    assert not unplaced, f"modules in no layer folder: {unplaced}"
    upward = [(m, d) for m, deps in graph.items() for d in deps if layer_of(d) > layer_of(m)]
    assert not upward, upward


def test_there_is_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(m, path):
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append(path[path.index(d):] + [d] if d in path else [m, d])
            elif d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def test_every_module_opens_with_a_line_saying_what_it_owns():
    for name, path in _modules().items():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and doc.splitlines()[0].strip().endswith((".", ":")), name


GRADIO_MODULES = {"chat.ui", "chat.documents_ui"}  # the chat page; app.py is the command that starts it


def test_only_settings_reads_qa_variables_and_only_the_chat_page_imports_gradio():
    reads = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[|environ\.get\(")
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        assert "import gradio" not in text or name in GRADIO_MODULES, name
        if name != "settings":
            assert not reads.search(text), f"{name} reads the environment: use qa.settings.Settings.from_env()"
    app = (PROJECT_ROOT / "app.py").read_text(encoding="utf-8")
    assert not reads.search(app)


def test_the_ask_path_imports_no_benchmark_evaluation_or_gradio(tmp_path):
    """What `qa ask` and the app's answer step load: the package's answer path, not its harnesses."""
    from support import build_fake, write_corpus

    build_fake(write_corpus(tmp_path / "c"), tmp_path / "i")
    code = f"""
import sys
from qa import open_answerer
from qa.settings import Settings
open_answerer({str(tmp_path / 'i')!r}, Settings(embedder="fake")).ask("Who surveyed the harbour?")
loaded = sorted(m for m in sys.modules if m.startswith(("qa.evaluation.bench", "qa.evaluation.runner", "qa.evaluation.report", "qa.evaluation.gold",
                                                         "qa.evaluation.metrics", "qa.evaluation.scoring", "qa.evaluation.results",
                                                         "qa.evaluation.tables", "qa.evaluation.plots", "gradio", "matplotlib")))
print(loaded)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("statement,heavy", [
    ("import qa", ("numpy", "torch", "faiss", "spacy", "gradio")),
    ("from qa import Answer, QAError, Citation", ("numpy", "torch", "faiss", "spacy", "gradio")),
    ("from qa.cli import build_parser; build_parser()", ("numpy", "torch", "faiss", "spacy", "gradio")),
])
def test_importing_the_package_and_its_cli_stays_light(statement, heavy):
    code = f"import sys; {statement}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr[-1000:]


def test_the_readme_documents_every_variable():
    from qa.settings import ENVIRONMENT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `QA_")]
    assert sorted(line.split("`")[1] for line in table) == sorted(ENVIRONMENT)
    assert len(readme.splitlines()) <= 170  # a front door: about 150 lines
