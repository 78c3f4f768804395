"""Where an index is kept: the kinds of store (a folder by default, PostgreSQL), and open_store, which picks one by URL scheme.

A new kind is a qa.index.stores.base.Store subclass named in STORES, with the URL schemes that name it.
"""
from __future__ import annotations

import os

from .base import BuildRecords, Store
from .folder import FolderStore
from .postgres import PostgresStore

STORES: dict[str, type[Store]] = {"folder": FolderStore, "postgresql": PostgresStore}
DEFAULT = "folder"  # what a location without a known URL scheme names: a folder path

__all__ = ["STORES", "BuildRecords", "Store", "kind_of", "open_store"]


def kind_of(location: str | os.PathLike[str]) -> str:
    """The kind of store `location` names: the one whose URL scheme it starts with, else a folder."""
    text = str(location)
    for kind, cls in STORES.items():
        if text.startswith(tuple(f"{scheme}://" for scheme in cls.schemes)):
            return kind
    return DEFAULT


def open_store(location: str | os.PathLike[str]) -> Store:
    """The store at `location` (a folder path, or a URL such as postgresql://...), not yet read."""
    return STORES[kind_of(location)](location)
