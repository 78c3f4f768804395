"""Measuring helpers for the benchmarks: memory, other processes' CPU use, percentiles, the machine and its sgemm rate, BERT FLOPs."""
from __future__ import annotations

import os
import platform
import resource
import subprocess
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np


def maxrss_mb() -> float:
    """Peak resident set size of this process so far (MiB).

    VmHWM is per address space, so it starts afresh at exec; ru_maxrss (the fallback) would also
    count the parent's size at fork, which Linux carries across execve.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def rss_mb() -> float:
    """Current resident set size (VmRSS), for memory held at a point rather than the peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def busy_jiffies() -> Optional[int]:
    try:
        f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f[:8])
        return user + nice + system + irq + softirq + steal
    except (OSError, ValueError, IndexError):
        return None


class Noise:
    """How much of the machine other processes used while a step ran (0 = quiet, 1 = both cores busy)."""

    def __init__(self):
        self.t = time.perf_counter()
        self.busy = busy_jiffies()
        self.own = self._own()

    @staticmethod
    def _own() -> float:
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def others(self) -> Optional[float]:
        busy = busy_jiffies()
        if busy is None or self.busy is None:
            return None
        wall = time.perf_counter() - self.t
        hz = os.sysconf("SC_CLK_TCK")
        other = (busy - self.busy) / hz - (self._own() - self.own)
        return round(max(0.0, other / (wall * (os.cpu_count() or 1))), 3)


def pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, dtype=np.float64), q)) if len(xs) else float("nan")


def ms(xs: Sequence[float]) -> dict[str, float]:
    """Latency percentiles in milliseconds, and the mean (what per-stage means add up to)."""
    mean = float(np.mean(xs)) if len(xs) else float("nan")
    return {"p50_ms": round(pct(xs, 50) * 1000, 3), "p95_ms": round(pct(xs, 95) * 1000, 3),
            "mean_ms": round(mean * 1000, 3), "n": len(xs)}


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("numpy", "faiss-cpu", "torch", "sentence-transformers", "onnxruntime", "bm25s", "spacy"):
        try:  # from the installed metadata: importing torch here would bloat every step's process
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gb": mem_gb, "platform": platform.platform(),
            "versions": versions}


def sgemm_gflops(n: int = 1024, reps: int = 7) -> float:
    """This machine's float32 matrix-multiply rate through numpy's BLAS (GFLOP/s, median of `reps`), with
    its default threads: the ceiling a CPU encoder's dense layers could reach, measured in the same run
    as the figures compared with it, so a busy or throttled machine lowers both."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)  # the BLAS's thread pool and buffers start on the first call
    rates = []
    for _ in range(max(1, reps)):
        t = time.perf_counter()
        np.matmul(a, b, out=c)
        rates.append(2.0 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return float(np.median(rates))


def bert_flops(tokens_per_sequence: Sequence[int], layers: int, hidden: int, ffn: int) -> float:
    """Floating-point operations (a multiply-add counts 2) of a BERT encoder's forward pass over sequences
    of these lengths, each run on its own (no padding).

    Per layer, every token goes through the four attention projections (Q, K, V, output: 4·d² weights)
    and the two feed-forward matrices (2·d·d_ff): 2·(4·d² + 2·d·d_ff) per token. Attention itself is
    two L×L×d products per sequence (scores Q·Kᵀ, then scores·V): 2·2·L²·d. Embeddings, layer norms,
    softmax, GELU and the output head are O(L·d) and left out: under 1% at these sizes.
    """
    per_token = 2 * (4 * hidden * hidden + 2 * hidden * ffn)
    per_layer = sum(per_token * n + 4 * n * n * hidden for n in tokens_per_sequence)
    return float(layers * per_layer)
