"""Measuring helpers for the benchmarks: peak and current memory, other processes' CPU use, percentiles, the machine."""
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
    return {"p50_ms": round(pct(xs, 50) * 1000, 3), "p95_ms": round(pct(xs, 95) * 1000, 3), "n": len(xs)}


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
    for dist in ("numpy", "faiss-cpu", "torch", "sentence-transformers", "bm25s", "spacy"):
        try:  # from the installed metadata: importing torch here would bloat every step's process
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gb": mem_gb, "platform": platform.platform(),
            "versions": versions}
