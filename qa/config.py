"""Default locations and the environment variables that override them."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _rel(p: Path) -> Path:
    """A project path as short as the user would type it: relative when we run from the project root."""
    try:
        return p.relative_to(Path.cwd()) if Path.cwd() == PROJECT_ROOT else p
    except ValueError:
        return p


DEFAULT_CORPUS = Path(os.environ.get("QA_CORPUS") or _rel(PROJECT_ROOT / "corpus"))
DEFAULT_INDEX = Path(os.environ.get("QA_INDEX") or _rel(PROJECT_ROOT / "embeddings" / "index"))
DEFAULT_FEEDBACK = Path(os.environ.get("QA_FEEDBACK") or _rel(PROJECT_ROOT / "var" / "feedback.jsonl"))
MAX_QUESTION_CHARS = 1000
DEFAULT_K = 8
