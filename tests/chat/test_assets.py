"""qa.chat.assets: the chat page's CSS and JavaScript come from qa/chat/static/, and an installed package has them."""
from __future__ import annotations

import fnmatch
import tomllib

from conftest import PROJECT_ROOT
from qa.chat import assets

STATIC = PROJECT_ROOT / "qa" / "chat" / "static"


def test_every_static_file_is_package_data():
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["qa"]
    names = sorted(p.relative_to(PROJECT_ROOT / "qa").as_posix() for p in STATIC.iterdir())
    assert names == ["chat/static/bridge.js", "chat/static/chat.css", "chat/static/document.js"]
    assert [n for n in names if not any(fnmatch.fnmatch(n, pat) for pat in patterns)] == []


def test_the_page_gets_each_file_exactly_as_it_is():
    for text, name in ((assets.CSS, "chat.css"), (assets.BRIDGE_JS, "bridge.js"), (assets.DOC_JS, "document.js")):
        assert text == (STATIC / name).read_bytes().decode("utf-8"), name
    assert "window.__qaCiteTrigger = trigger;" in assets.BRIDGE_JS and "#qa-doc-focus" in assets.DOC_JS
    assert ".qa-badge-answered" in assets.CSS
