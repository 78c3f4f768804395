"""Shared helpers for the hardening, fuzz, concurrency and no-pickle tests, and for scripts/soak.py.

Everything here uses the fake HashEmbedder (QA_EMBEDDER=fake) unless a function says otherwise, so it is
fast and needs no model. The kill -9 trials (`kill_trials`) are the crash-safety test: a rebuild is killed
at random moments and the previous index must still load, verify and answer.

Run as a script it is the fork server the kill trials use:
    python tests/support.py fork-server CORPUS INDEX
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from qa.settings import OFFLINE_ENV

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent

FAKE_ENV = {"QA_EMBEDDER": "fake", **OFFLINE_ENV}

# A small corpus of prose paragraphs: enough passages and sentences for real chunking, quick to index.
DOCS = {
    "alpha.txt": """The Harbour Survey of Ostland

The harbour of Ostland was surveyed in 1921 by the engineer Marta Kell. Her report counted forty-two berths along the northern quay. It recommended dredging the eastern channel before the winter storms.

Kell returned in 1924 to inspect the new breakwater. She found that the breakwater had settled by nine centimetres. The council paid 3,400 crowns for the repairs.

The survey maps were kept in the town hall until a fire in 1931 destroyed most of them. Two copies survived in the naval archive.
""",
    "beta.txt": """Notes on the Ostland Fisheries

Fishing boats in Ostland landed mostly herring and cod. In 1925 the catch reached 18,000 tonnes, the highest figure of the decade. The cooperative that sold the catch was founded by Jonas Brede.

Brede argued that the cooperative should own its own smokehouse. The members agreed in 1927 and built it beside the eastern channel. It employed sixty workers at its peak.

The cooperative was dissolved in 1938 after two poor seasons. Its smokehouse became a warehouse for the harbour authority.
""",
    "gamma.md": """# The Ostland Lighthouse

The lighthouse on Kell Point was lit for the first time in 1912. Its lamp could be seen from twenty nautical miles away in clear weather.

The first keeper was Ada Rusk, who kept the light for thirty years. She wrote a daily log that recorded the weather, the ships that passed and the state of the lamp.

In 1942 the light was dimmed for the duration of the war. It was electrified in 1950 and automated in 1978.
""",
}

OTHER_DOCS = {
    "delta.txt": """The Mill at Varne

The water mill at Varne ground wheat and rye for three villages. It was rebuilt in 1880 after a flood carried away the old wheel.

The miller Petra Lind kept accounts that survive in the county record office. They show that the mill ground 1,200 sacks in its best year.
""",
}

QUESTIONS = [
    "Who surveyed the harbour of Ostland?",
    "How many berths did the northern quay have?",
    "When was the lighthouse on Kell Point first lit?",
    "Who founded the fisheries cooperative?",
    "What happened to the survey maps in 1931?",
]


def write_jsonl(path: Path, rows) -> Path:
    """A JSONL file of rows (dicts, or lines given as they are)."""
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def never_decline():
    """The shipped answer settings with nothing declined: a test of span plumbing with the fake
    embedder, whose relevance scores are noise, must see every answer."""
    from dataclasses import replace

    from qa.settings import load_tuned

    a = load_tuned().answer
    never = dict(decline_below=-1.0, answer_from=-1.0)
    return replace(a, rules=replace(a.rules, **never), reader=replace(a.reader, **never))


def write_corpus(d: Path, docs: dict[str, str] = DOCS, extra: str = "") -> Path:
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (d / name).write_text(text + extra, encoding="utf-8")
    return d


def fake_embedder(dim: int = 32, name: str = "fake/sha256"):
    from qa.neural.embedding import HashEmbedder

    return HashEmbedder(dim=dim, name=name)


def build_fake(corpus: Path, index: Path, **kw):
    from qa.index.build import build_index

    emb = kw.pop("embedder", None) or fake_embedder()
    return build_index(corpus, index, emb, **kw)


def fake_answerer(index: Path):
    from qa.answer.answerer import Answerer
    from qa.index.load import load_index
    from qa.answer.retrieval import Retriever

    emb = fake_embedder()
    return Answerer(Retriever(load_index(index, emb), emb))


def env_with(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QA_EMBEDDER", "QA_PRECISION", "QA_INDEX", "QA_CORPUS")}
    env.update(FAKE_ENV)
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run_qa(args: list[str], env: Optional[dict] = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m qa ARGS` in a subprocess (fake embedder unless env says otherwise)."""
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          env=env if env is not None else env_with(), cwd=str(PROJECT_ROOT), timeout=timeout)


def assert_one_line_error(rc: int, stderr: str, command: str = "ask") -> None:
    """The CLI's contract for a problem the user can fix: exit code 2 and one line naming it."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert rc == 2, f"exit code {rc}, stderr: {stderr[-2000:]}"
    assert len(lines) == 1, f"expected one line, got: {stderr[-2000:]}"
    assert lines[0].startswith(f"qa {command}: error:"), lines[0]
    assert "Traceback" not in stderr


# --------------------------------------------------------------------------- kill -9 trials

FORK_SERVER = """\
import os, sys, time
sys.path.insert(0, {here!r})
corpus, index = sys.argv[1], sys.argv[2]
os.environ.update({env!r})
from qa.index.load import load_index
from qa.index.build import build_index
from qa.neural.embedding import HashEmbedder
import faiss, bm25s  # noqa: F401  (imported before forking, so a child starts building at once)
try:
    from qa import analysis
    analysis.settings(); analysis._nlp()
except Exception:
    pass
print("READY", flush=True)
for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "build":
        force = cmd[1] == "1"
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                build_index(corpus, index, HashEmbedder(), force=force)
            except BaseException as e:
                sys.stderr.write("child build failed: %r\\n" % (e,))
                code = 3
            os._exit(code)
        print("PID", pid, time.perf_counter(), flush=True)
    elif cmd[0] == "reap":
        pid = int(cmd[1])
        _, status = os.waitpid(pid, 0)
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        print("STATUS", sig, code, time.perf_counter(), flush=True)
    elif cmd[0] == "quit":
        break
"""


class ForkServer:
    """A warm process (everything imported) that forks one build per request, so a kill -9 can land
    anywhere in the build itself rather than mostly in interpreter start-up."""

    def __init__(self, corpus: Path, index: Path):
        code = FORK_SERVER.format(here=str(PROJECT_ROOT), env=FAKE_ENV)
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(corpus), str(index)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                                     env=env_with(), cwd=str(PROJECT_ROOT))
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            raise RuntimeError(f"fork server did not start: {line!r} {err[-2000:]}")

    def start_build(self, force: bool) -> int:
        self.proc.stdin.write(f"build {int(force)}\n")
        self.proc.stdin.flush()
        parts = self.proc.stdout.readline().split()
        assert parts and parts[0] == "PID", parts
        return int(parts[1])

    def reap(self, pid: int) -> tuple[int, int]:
        """(signal that ended it or 0, exit code or -1)."""
        self.proc.stdin.write(f"reap {pid}\n")
        self.proc.stdin.flush()
        parts = self.proc.stdout.readline().split()
        assert parts and parts[0] == "STATUS", parts
        return int(parts[1]), int(parts[2])

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


@dataclass
class Trial:
    n: int
    via: str  # "fork" (warm build process) or "cli" (`python -m qa index`)
    force: bool
    delay: float
    killed: bool  # False when the build had already finished
    build_before: str
    build_after: str
    answer_status: str
    seconds: float


@dataclass
class TrialReport:
    trials: list[Trial] = field(default_factory=list)
    build_seconds: float = 0.0
    cli_seconds: float = 0.0

    @property
    def killed(self) -> int:
        return sum(t.killed for t in self.trials)

    def summary(self) -> str:
        new = sum(t.build_after != t.build_before for t in self.trials)
        return (f"{len(self.trials)} trials: {self.killed} killed mid-build, {len(self.trials) - self.killed} finished first; "
                f"previous index kept {len(self.trials) - new} times, new index published {new} times; "
                f"every time the index loaded, verified and answered (build ~{self.build_seconds:.2f}s, "
                f"CLI ~{self.cli_seconds:.2f}s)")


def check_index(index: Path, question: str = QUESTIONS[0]) -> tuple[str, str]:
    """Load (which verifies every checksum) and answer; returns (build id, answer status)."""
    from qa.index.load import load_index

    idx = load_index(index, fake_embedder())
    a = fake_answerer(index).ask(question)
    assert a.status in ("answered", "uncertain", "declined")
    for c in a.citations:
        assert idx.documents[c.doc_id].text[c.start:c.end] == c.quote
    return idx.build_id, a.status


def kill_trials(work: Path, trials: int = 10, seed: int = 0, cli_share: float = 0.2,
                log: Callable[[str], None] = lambda s: None) -> TrialReport:
    """Kill -9 rebuilds at `trials` random moments; after each, the index must load, verify and answer.

    Most kills hit a build forked from a warm process (so the moment falls inside the build: reading,
    chunking, embedding, writing, fsync, rename, publish, cleanup); `cli_share` of them kill a whole
    `python -m qa index --force` run. Each trial first changes the corpus so a rebuild has work to do.
    Raises AssertionError on the first failure.
    """
    rng = random.Random(seed)
    work = Path(work)
    corpus, index = write_corpus(work / "corpus"), work / "index"
    build_fake(corpus, index)
    report = TrialReport()
    server = ForkServer(corpus, index)
    try:
        # how long a build takes from the warm process (forced, and incremental after a change), and one
        # whole CLI run: these set the kill windows
        durations = []
        for force in (True, False):
            with open(corpus / "beta.txt", "a", encoding="utf-8") as f:
                f.write(f"\nA paragraph added before timing a build (force={force}). It has two sentences.\n")
            t = time.perf_counter()
            pid = server.start_build(force)
            assert server.reap(pid) == (0, 0), "an unkilled build failed"
            durations.append(time.perf_counter() - t)
        report.build_seconds = min(durations)
        t = time.perf_counter()
        r = run_qa(["index", "--corpus", str(corpus), "--index", str(index), "--force", "--quiet"])
        assert r.returncode == 0, r.stderr
        report.cli_seconds = time.perf_counter() - t
        # stratified kill moments: trial i is killed in the i-th slice of [0, 1.2 x build time], in a random
        # order, so the kills cover the whole build and some land after it finished (new index published)
        slices = list(range(trials))
        rng.shuffle(slices)
        for n in range(trials):
            frac = (slices[n] + rng.random()) / trials * 1.2
            before, _ = check_index(index)
            with open(corpus / "alpha.txt", "a", encoding="utf-8") as f:
                f.write(f"\nTrial {n} added this paragraph about berth number {n}. It is new text to embed.\n")
            force = rng.random() < 0.5
            via = "cli" if rng.random() < cli_share else "fork"
            t0 = time.perf_counter()
            if via == "fork":
                delay = frac * report.build_seconds
                pid = server.start_build(force)
                time.sleep(delay)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                sig, code = server.reap(pid)
                killed = sig == signal.SIGKILL
                assert killed or code == 0, f"trial {n}: build exited with {code} before the kill"
            else:
                delay = frac * report.cli_seconds
                args = ["index", "--corpus", str(corpus), "--index", str(index), "--quiet"] + (["--force"] if force else [])
                p = subprocess.Popen([sys.executable, "-m", "qa", *args], env=env_with(), cwd=str(PROJECT_ROOT),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                p.wait(timeout=60)
                killed = p.returncode == -signal.SIGKILL
                assert killed or p.returncode == 0, f"trial {n}: qa index exited with {p.returncode}: {p.stderr.read()[-500:]}"
                p.stderr.close()
            after, status = check_index(index)
            trial = Trial(n, via, force, round(delay, 3), killed, before, after, status, round(time.perf_counter() - t0, 3))
            report.trials.append(trial)
            log(f"trial {n}: {via} force={force} kill after {delay:.3f}s -> {'killed' if killed else 'finished'}, "
                f"index {'kept' if after == before else 'replaced'}, answer {status}")
        # a build after all that succeeds and leaves no debris behind
        r = build_fake(corpus, index, force=True)
        assert not r.noop
        check_index(index)
        builds = index.parent / f".{index.name}.builds"
        left = sorted(p.name for p in builds.iterdir())
        assert left == [os.path.basename(os.readlink(index))], f"stale builds left: {left}"
        assert not list(index.parent.glob(f".{index.name}.link-*")), "stray symlinks left"
    finally:
        server.close()
    return report


# --------------------------------------------------------------------------- corrupting an index

def copy_build(index: Path, dest: Path) -> Path:
    """A plain-folder copy of the build an index symlink points at."""
    shutil.copytree(Path(index).resolve(), dest)
    return dest


def flip_byte(path: Path, pos: Optional[int] = None) -> None:
    data = bytearray(path.read_bytes())
    if not data:
        path.write_bytes(b"\xff")
        return
    i = len(data) // 2 if pos is None else pos % len(data)
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


def resign(index_dir: Path) -> None:
    """Rewrite the manifest's checksums to match the files as they are now (a 'consistent' corruption)."""
    import hashlib

    m = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    for name in m["artefacts"]:
        p = index_dir / name
        m["artefacts"][name] = {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "bytes": p.stat().st_size}
    (index_dir / "manifest.json").write_text(json.dumps(m, indent=2), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - helper entry point
    if len(sys.argv) >= 2 and sys.argv[1] == "fork-server":
        os.execv(sys.executable, [sys.executable, "-c", FORK_SERVER.format(here=str(PROJECT_ROOT), env=FAKE_ENV), *sys.argv[2:]])
    print(__doc__)


class StandInReader:
    """A span reader with the real ones' `read` signature: keeps what the answer step hands it, answers
    with one short span per window, and can take some time per call (spinning, so a stage timer sees it)."""

    def __init__(self, seconds: float = 0.0):
        self.seen: list[tuple[str, list[str]]] = []
        self.calls = 0
        self.seconds = seconds

    def read(self, question, windows, top=5):
        import time

        from qa.neural.reader import SpanGuess

        self.calls += 1
        self.seen.append((question, list(windows)))
        end = time.perf_counter() + self.seconds
        while time.perf_counter() < end:
            pass
        return [SpanGuess(i, 0, min(5, len(w)), 1.0, 0.0) for i, w in enumerate(windows)]

