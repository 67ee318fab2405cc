# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""How glibc's ``malloc`` serves the large tensors of a CPU training step.

A training step of the main job allocates and frees the same large buffers every step: the logits and their
gradient (32 × 34 × 8,000 floats ≈ 35 MB), the log-softmax output and its gradient. glibc serves every allocation
above its *mmap threshold* with a fresh ``mmap`` and returns it with ``munmap`` when freed; its dynamic threshold
never rises above 32 MiB, so these buffers come from the kernel as new zeroed pages at every step, and the page
faults cost more than the arithmetic (cross-entropy forward + backward over [1088, 8000] fp32 logits: ~44 ms with
glibc's defaults, ~12 ms when freed memory is kept; ``benchmarks/bench_throughput.py``). PyTorch's CPU
performance guide recommends jemalloc or tcmalloc for the same reason; ``keep_freed_memory`` gets the effect with
the C library every Linux machine has: it raises the mmap threshold and the trim threshold so that freed buffers
stay in the heap and are reused. The cost is that the process keeps its peak memory until it exits, which a
training process reaches at its first step anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, <malloc.h>
KEEP_FREED_LIMIT = 2**31 - 1  # the largest value mallopt's int takes: every buffer from the heap, none trimmed


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None  # musl has no mallopt


def keep_freed_memory() -> bool:
    """Keep freed memory in the heap for reuse (see the module docstring): glibc's mmap and trim thresholds raised
    to ``KEEP_FREED_LIMIT``. True when the C library took both; False elsewhere (macOS, Windows, musl), where
    nothing changes."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, KEEP_FREED_LIMIT)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREED_LIMIT)
    )
