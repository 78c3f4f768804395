"""The neural span reader: all-MiniLM-L6-v2 fine-tuned to point at an answer's start and end in a passage.

The weights are a delta over the bundled model: every tensor except the word-embedding table (frozen in
training, so it is the wheel's own) plus a 384→2 start/end head, stored as float16 safetensors in
`qa/models/`. No pickle, no download. `scripts/train_reader.py` makes them from SQuAD data in
`eval/benchmarks/`; the card beside the weights records how, and what they scored on held-out articles.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import QAError
from .onnx import Graph, export_module, model_files, pool, quiet_transformers
from ..settings import MODELS_DIR, PRECISIONS, Settings, bundled_model_dir, set_offline_environment

READER_DIR = MODELS_DIR
READER_WEIGHTS = "reader-minilm-squad.safetensors"
READER_CARD = "reader-minilm-squad.json"
FROZEN = ("embeddings.word_embeddings.weight",)  # not stored: identical to the bundled model's
MAX_LEN = 192
MAX_QUESTION_TOKENS = 48
MAX_ANSWER_TOKENS = 30


@dataclass(frozen=True)
class SpanGuess:
    """One span the reader proposes: character offsets into the window's text, and its logit score."""
    window: int
    start: int
    end: int
    score: float       # start logit + end logit
    null_score: float  # the same window's "no answer here" score (CLS start + CLS end)


def build_model(model_dir: Path):
    """The reader network: the bundled BERT encoder plus a linear start/end head (random until loaded)."""
    import torch
    from transformers import AutoModel

    class SpanReader(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(model_dir))
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 2)

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state
            logits = self.head(h)
            return logits[..., 0], logits[..., 1]

    return SpanReader()


def trainable_state(model) -> dict:
    """The tensors a weights file holds: everything but the frozen word embeddings."""
    return {k: v for k, v in model.state_dict().items()
            if not any(k == f"encoder.{f}" for f in FROZEN)}


def read_card(folder: Path = READER_DIR) -> Optional[dict]:
    p = Path(folder) / READER_CARD
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None


def reader_available(folder: Path = READER_DIR) -> bool:
    return (Path(folder) / READER_WEIGHTS).is_file() and (Path(folder) / READER_CARD).is_file()


def load_weights(model, folder: Path) -> None:
    """Put the trained delta stored in `folder` into a freshly built model; QAError when its tensors are
    not the ones this model trains (weights made for another base model)."""
    from safetensors.torch import load_file

    state = {k: v.float() for k, v in load_file(str(Path(folder) / READER_WEIGHTS)).items()}
    want = set(trainable_state(model))
    if set(state) != want:
        raise QAError(f"{Path(folder) / READER_WEIGHTS} does not fit the bundled model "
                      f"({len(set(state) ^ want)} tensors differ)", fix="retrain with scripts/train_reader.py")
    model.load_state_dict(state, strict=False)


class Reader:
    """Loads lazily, once, thread-safely; `read` scores spans in a batch of windows for one question."""

    def __init__(self, folder: Path = READER_DIR, model_dir: Optional[Path] = None, precision: str = "fp32"):
        """`precision` "bf16" runs the network in bfloat16: about 2.5x faster on CPUs with AMX/AVX-512
        bf16 units, much slower on CPUs without them, and its logits differ from fp32's by up to ~0.06,
        enough to change a few answers (see docs/benchmarks.md). fp32 is the default so that
        figures reproduce on any CPU."""
        if precision not in PRECISIONS:
            raise QAError(f"reader precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.folder = Path(folder)
        self.model_dir = model_dir
        self.precision = precision
        self._model = None
        self._tok = None
        self._lock = threading.Lock()
        # A fast tokenizer is one Rust object whose padding/truncation settings each call sets: two threads
        # tokenizing at once (one with padding, one without) can leave a batch unpadded. The model itself
        # runs unlocked: torch inference is thread-safe and the forward pass is where the time goes.
        self._tok_lock = threading.Lock()
        self.calls = 0
        self.tokens_read = 0    # tokens run through the network, padding excluded (qa bench perf's reader work)
        self.tokens_padded = 0  # the same with padding: what the batch cost

    def _load(self):
        if not reader_available(self.folder):
            raise QAError(f"no reader weights in {self.folder}", fix="run scripts/train_reader.py, or set QA_READER=off")
        set_offline_environment()
        import torch
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        mdir = self.model_dir or bundled_model_dir()
        model = build_model(mdir)
        load_weights(model, self.folder)
        if self.precision == "bf16":
            model.to(torch.bfloat16)
        model.eval()
        self._tok = AutoTokenizer.from_pretrained(str(mdir))
        self._torch = torch
        self._model = model

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._load()
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def tokenizer(self):
        self.model  # noqa: B018 - loads both
        return self._tok

    def read(self, question: str, windows: Sequence[str], top: int = 5) -> list[SpanGuess]:
        """Up to `top` spans per window, best first within each window; offsets index into that window.

        A window longer than the model's length is cut (the caller keeps windows short: a few sentences).
        """
        if not windows:
            return []
        model, tok, torch = self.model, self.tokenizer, self._torch
        with self._tok_lock:
            self.calls += 1
            enc = self._encode(tok, question, windows, padding=True, return_offsets_mapping=True, return_tensors="pt")
            sequence_ids = [enc.sequence_ids(i) for i in range(len(windows))]
            self.tokens_read += int(enc["attention_mask"].sum())
            self.tokens_padded += int(enc["attention_mask"].numel())
        offsets = enc.pop("offset_mapping").numpy()
        with torch.inference_mode():
            s, e = model(**enc)
        return decode_spans(s.float().numpy(), e.float().numpy(), offsets, sequence_ids, top)

    def token_counts(self, question: str, windows: Sequence[str]) -> list[int]:
        """Each window's tokens as `read` encodes it (question + window, cut to MAX_LEN), unpadded."""
        with self._tok_lock:
            enc = self._encode(self.tokenizer, question, windows)
        return [len(ids) for ids in enc["input_ids"]]

    @staticmethod
    def _encode(tok, question: str, windows: Sequence[str], **options):
        """(question cut to MAX_QUESTION_TOKENS, window) pairs, the window cut to fit MAX_LEN; under _tok_lock."""
        q = tok.convert_tokens_to_string(tok.tokenize(question)[:MAX_QUESTION_TOKENS])
        return tok([q] * len(windows), list(windows), truncation="only_second", max_length=MAX_LEN, **options)


def decode_spans(start_logits: np.ndarray, end_logits: np.ndarray, offsets: np.ndarray,
                 sequence_ids: Sequence[Sequence[Optional[int]]], top: int = 5,
                 n_best: int = 20) -> list[SpanGuess]:
    """Best (start, end) token pairs inside each window's context part, mapped back to characters."""
    out: list[SpanGuess] = []
    for w in range(start_logits.shape[0]):
        ctx = np.array([sid == 1 for sid in sequence_ids[w]] + [False] * (start_logits.shape[1] - len(sequence_ids[w])))
        if not ctx.any():
            continue
        s = np.where(ctx, start_logits[w], -np.inf)
        e = np.where(ctx, end_logits[w], -np.inf)
        null = float(start_logits[w, 0] + end_logits[w, 0])
        si = np.argsort(-s)[:n_best]
        ei = np.argsort(-e)[:n_best]
        cands = []
        for a in si:
            if not np.isfinite(s[a]):
                break
            for b in ei:
                if not np.isfinite(e[b]) or b < a or b - a + 1 > MAX_ANSWER_TOKENS:
                    continue
                cands.append((float(s[a] + e[b]), int(a), int(b)))
        cands.sort(reverse=True)
        seen = set()
        for score, a, b in cands:
            cs, ce = int(offsets[w, a, 0]), int(offsets[w, b, 1])
            if ce <= cs or (cs, ce) in seen:
                continue
            seen.add((cs, ce))
            out.append(SpanGuess(w, cs, ce, score, null))
            if len(seen) >= top:
                break
    return out


def export_reader(folder: Path, model_dir: Path, path: Path) -> None:
    """The span reader (qa.neural.reader's network with its trained weights): start and end logits per token."""
    set_offline_environment()
    quiet_transformers()
    model = build_model(model_dir)  # its forward already takes the three inputs, in export order
    load_weights(model, folder)
    export_module(model, path, ["start_logits", "end_logits"])


class OnnxReader(Graph):
    """qa.neural.reader.Reader's network in ONNX Runtime: the same spans, from one unpadded pass per window.

    The windows of a question run side by side on the pool, each at its own length: on two cores this
    was faster than one padded batch (and reads no padding), and its spans are the torch reader's."""

    kind = "reader"

    def __init__(self, folder: Path = READER_DIR, model_dir: Optional[Path] = None, cache: Optional[Path] = None,
                 threads: Optional[int] = None):
        super().__init__(model_dir, cache, threads)
        self.folder = Path(folder)
        self.precision = "fp32"
        self.calls = 0
        self.tokens_read = 0
        self.tokens_padded = 0
        self._count_lock = threading.Lock()

    def _weights(self) -> list[Path]:
        return [self.folder / READER_WEIGHTS] + model_files(self.model_dir)

    def _export(self, path: Path) -> None:
        export_reader(self.folder, self.model_dir, path)

    def _tokenizer(self, mdir: Path):
        # two: a tokenizer that truncates only the second sequence refuses to encode a question alone
        self._qtok = super()._tokenizer(mdir)
        self._qtok.no_truncation()
        tok = super()._tokenizer(mdir)
        tok.enable_truncation(MAX_LEN, strategy="only_second")
        return tok

    def _question(self, question: str) -> str:
        """The question cut to MAX_QUESTION_TOKENS word pieces, as the torch reader cuts it."""
        enc = self._qtok.encode(question, add_special_tokens=False)
        if len(enc.ids) <= MAX_QUESTION_TOKENS:
            return question
        return self._qtok.decoder.decode(enc.tokens[:MAX_QUESTION_TOKENS])

    def _encode(self, question: str, windows: Sequence[str]):
        self.session  # noqa: B018 - loads the tokenizer too
        q = self._question(question)
        return self._tok.encode_batch([(q, w) for w in windows])

    def token_counts(self, question: str, windows: Sequence[str]) -> list[int]:
        """Each window's tokens as `read` encodes it (question + window, cut to MAX_LEN)."""
        return [len(e.ids) for e in self._encode(question, windows)]

    def read(self, question: str, windows: Sequence[str], top: int = 5) -> list[SpanGuess]:
        """Up to `top` spans per window, best first within each window; offsets index into that window."""
        if not windows:
            return []
        encodings = self._encode(question, windows)

        def run(e, alone=False):
            one = lambda xs: np.asarray([xs], dtype=np.int64)  # noqa: E731
            return self._run(one(e.ids), one(e.attention_mask), one(e.type_ids), alone=alone)

        if len(encodings) == 1:
            logits = [run(encodings[0], alone=True)]
        else:
            logits = list(pool(self.threads).map(run, encodings))
        n_tokens = sum(len(e.ids) for e in encodings)
        with self._count_lock:
            self.calls += 1
            self.tokens_read += n_tokens
            self.tokens_padded += n_tokens
        out: list[SpanGuess] = []
        for w, (e, (s, end)) in enumerate(zip(encodings, logits)):
            offsets = np.asarray(e.offsets, dtype=np.int64)[None]
            for g in decode_spans(s, end, offsets, [e.sequence_ids], top):
                out.append(SpanGuess(w, g.start, g.end, g.score, g.null_score))
        return out


def make_reader(settings: Optional[Settings] = None, embedder=None):
    """The reader the settings name: none when `reader` is "off", weights from a folder when it names
    one, else the bundled weights (when present), at `reader_precision`, in ONNX Runtime (the default
    `backend`) or torch; bf16 runs in torch. With the fake embedder (plumbing tests) the reader is off
    unless the settings name one. QAError for a folder without weights."""
    settings = settings or Settings()
    want = settings.reader
    if want == "off" or (want is None and getattr(embedder, "name", "").startswith("fake")):
        return None
    folder = READER_DIR if want in (None, "bundled") else Path(want)
    if not reader_available(folder):
        if want not in (None, "bundled"):
            raise QAError(f"QA_READER={want!r}: no reader weights there",
                          fix="point it at a folder made by scripts/train_reader.py, or set QA_READER=off")
        return None
    if settings.backend == "onnx" and settings.reader_precision == "fp32":
        return OnnxReader(folder, model_dir=settings.model_dir, cache=settings.onnx_cache)
    return Reader(folder, model_dir=settings.model_dir, precision=settings.reader_precision)
