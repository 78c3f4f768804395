"""qa.index.stores: the kinds of store, and open_store picking one by a location's URL scheme (no server needed)."""
from __future__ import annotations

import pytest

from qa.index.stores import STORES, Store, kind_of, open_store
from qa.index.stores.folder import FolderStore
from qa.index.stores.postgres import PostgresStore


def test_a_location_is_a_folder_unless_its_scheme_names_a_store(tmp_path):
    for folder in (tmp_path / "index", str(tmp_path / "index"), "relative/index"):
        assert isinstance(open_store(folder), FolderStore)
    for url in ("postgresql://qa@db/qa", "postgres://qa@db/qa"):
        assert isinstance(open_store(url), PostgresStore)
    # only a registered scheme leaves the default: other text is a folder path, as `--index` always took it
    assert kind_of("mysql://db/qa") == "folder"


def test_every_kind_is_a_store_and_says_where_it_is_without_a_password(tmp_path):
    assert STORES and all(issubclass(cls, Store) for cls in STORES.values())
    assert open_store(tmp_path / "i").label == str(tmp_path / "i")
    assert open_store("postgresql://qa:s3cret@db/qa").label == "postgresql://qa:***@db/qa"


def test_a_store_kind_must_provide_everything_a_build_and_a_load_use():
    class Half(Store):
        def manifest(self):
            return None

    with pytest.raises(TypeError, match="abstract"):
        Half()
