"""qa: a cited, extractive question-answering assistant over a folder of documents.

    from qa import open_answerer
    answer = open_answerer("embeddings/index").ask("Who led Wilayat Khorasan?")
    print(answer.answer, [c.quote for c in answer.citations])

`open_answerer` is imported on first use, so `import qa` (and `qa --help`) stays instant.
"""
from .errors import QAError
from .types import Answer, Citation

__version__ = "0.1.0"
__all__ = ["open_answerer", "Answer", "Citation", "QAError", "Settings", "__version__"]


def __getattr__(name: str):
    if name == "open_answerer":
        from .pipeline import open_answerer

        return open_answerer
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
