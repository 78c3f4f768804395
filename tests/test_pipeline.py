"""qa.pipeline and the public API: `from qa import open_answerer, Answer, QAError`, then `.ask(question)`."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT
from support import build_fake, write_corpus


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("api")
    build_fake(write_corpus(d / "corpus"), d / "index")
    return d / "index"


def test_the_documented_way_to_use_the_package(index_dir):
    from qa import Answer, QAError, Settings, open_answerer

    answerer = open_answerer(index_dir, Settings(embedder="fake"))
    a = answerer.ask("Who surveyed the harbour of Ostland?")
    assert isinstance(a, Answer) and a.status in ("answered", "uncertain", "declined")
    with pytest.raises(QAError, match="empty"):
        answerer.ask("   ")
    with pytest.raises(QAError, match="no index at"):
        open_answerer(index_dir.parent / "nothing", Settings(embedder="fake"))


def test_library_calls_read_no_environment(index_dir, monkeypatch):
    """Only the CLI and the app read QA_* variables (through Settings.from_env): a library call behaves
    the same wherever it runs. A reader named in the environment must not appear here."""
    from qa import Settings, open_answerer

    monkeypatch.setenv("QA_READER", "/no/such/weights")  # Settings.from_env() would refuse this folder
    assert open_answerer(index_dir, Settings(embedder="fake")).reader is None


def test_the_import_in_the_readme_works_in_a_fresh_interpreter():
    r = subprocess.run([sys.executable, "-c", "from qa import open_answerer, Answer, QAError; print(open_answerer.__name__)"],
                       capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "open_answerer", r.stderr


def test_an_unknown_attribute_is_an_attribute_error():
    import qa

    with pytest.raises(AttributeError):
        qa.no_such_thing  # noqa: B018
