"""qa.index.stores.folder: a load reads one build whole, even when another is published meanwhile."""
from __future__ import annotations

import shutil

import pytest

from qa.errors import IndexProblem
from qa.index.files import PASSAGES
from qa.index.stores import folder
from qa.index.stores.folder import FolderStore
from support import build_fake, write_corpus


@pytest.fixture
def index(tmp_path):
    build_fake(write_corpus(tmp_path / "c"), tmp_path / "i")
    return tmp_path / "i"


def other_build(link):
    """A copy of the current build with one passage line fewer: a different build, whose files must
    never be read together with the first one's manifest."""
    a = link.resolve()
    b = a.parent / "other-build"
    shutil.copytree(a, b)
    lines = (b / PASSAGES).read_text(encoding="utf-8").splitlines(keepends=True)
    (b / PASSAGES).write_text("".join(lines[:-1]), encoding="utf-8")
    return a, b


def test_a_build_published_while_the_index_loads_is_never_mixed_with_the_one_being_read(index, monkeypatch):
    a, b = other_build(index)
    want = len(FolderStore(index).load(search=False).passages)
    real = folder.read_manifest

    def publish_meanwhile(d):
        m = real(d)
        folder._publish(index, b)  # the link switches after the manifest was read, before the records
        return m

    monkeypatch.setattr(folder, "read_manifest", publish_meanwhile)
    loaded = FolderStore(index).load(search=True)
    assert len(loaded.passages) == want and index.resolve() == b  # all of build a, none of b
    assert loaded.path == index  # citations and later reads still name the link


def test_a_build_cleaned_away_mid_load_is_read_again_from_the_new_one(index, monkeypatch):
    a, b = other_build(index)
    good = a.parent / "good-copy"
    shutil.copytree(a, good)
    calls = []
    real = FolderStore._load_build

    def vanish_once(self, build, embedder, search):
        calls.append(build)
        if len(calls) == 1:  # the build being read is published over and removed under the load
            folder._publish(index, good)
            raise IndexProblem("cannot be read (FileNotFoundError)", index)
        return real(self, build, embedder, search)

    monkeypatch.setattr(FolderStore, "_load_build", vanish_once)
    loaded = FolderStore(index).load(search=False)
    assert calls == [a, good] and loaded.manifest["build_id"]


def test_a_damaged_index_that_nobody_republished_is_refused_at_once(index, monkeypatch):
    a, b = other_build(index)
    folder._publish(index, b)  # b's passages disagree with its manifest's checksum
    with pytest.raises(IndexProblem):
        FolderStore(index).load(search=False)
