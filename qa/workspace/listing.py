"""What a collection's published index holds, as its members see it: documents and skipped files by name.

File names are relative to the collection's documents folder: the server's own paths are not the
caller's business. The REST API (`GET .../documents`) and the chat's documents panel show the same list.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from .answerers import published_build
from .collections import Collection


def relative_name(source: str, corpus: Optional[str]) -> str:
    """`source` relative to the folder the index was built from, or just its file name."""
    if not source:
        return ""
    p = Path(source)
    if corpus:
        try:
            return p.relative_to(corpus).as_posix()
        except ValueError:
            pass
    return p.name


def collection_documents(c: Collection, open_index: Callable[[], Any]) -> dict[str, Any]:
    """{"collection", "indexed", "built_at", "documents": [...], "skipped": [...]} of the published index.
    `open_index()` gives the opened index of a collection kept in a store (a folder index is read from
    its files, without loading vectors). A damaged index raises QAError; the caller says what it means."""
    from ..index.load import describe

    if published_build(c) is None:
        return not_indexed(c.name)
    return documents_listing(c.name, describe(open_index() if c.store else c.index))


def not_indexed(name: str) -> dict[str, Any]:
    return {"collection": name, "indexed": False, "built_at": None, "documents": [], "skipped": []}


def documents_listing(name: str, described: dict[str, Any]) -> dict[str, Any]:
    """qa.index.load.describe's account of an index, as collection `name`'s members see it."""
    corpus = described.get("corpus")
    docs = [{"doc_id": x["doc_id"], "title": x["title"], "file": relative_name(x["source"], corpus),
             "format": x["format"], "pages": x["pages"], "chars": x["chars"], "date": x["date"],
             "url": x["url"]} for x in described["documents"]]
    skipped = [{"file": relative_name(s.get("source", ""), corpus), "reason": s.get("reason"),
                "message": s.get("message")} for s in described["skipped"]]
    return {"collection": name, "indexed": True, "built_at": described["built_at"], "documents": docs,
            "skipped": skipped}
