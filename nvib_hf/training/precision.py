# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Numeric precision of a training run: when bf16 autocast pays, and the attention kernels it needs on a CPU.

Measured on this project's 2-core CPU (``benchmarks/bench_throughput.py``): with AVX512-bf16 (or AMX) a bf16 matrix
product of the main job's output layer ([1088, 128] × [128, 8000]) runs ~4× faster than in fp32 and bf16 training
pays; without them (an AVX2-only CPU) bf16 products take a slow fallback and a step is ~4× slower than in fp32.
"""

from __future__ import annotations

import contextlib

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

__all__ = ["attention_kernels", "native_bf16", "resolve_bf16"]


def native_bf16() -> bool:
    """Whether this machine computes in bf16 natively: a CUDA GPU that supports it, else a CPU with AVX512-bf16 or
    AMX tiles (``torch.cpu``'s capability checks)."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_bf16(bf16: bool | None) -> bool:
    """``TrainOptions.bf16``: True / False as given, ``None`` (auto) as ``native_bf16()``."""
    return native_bf16() if bf16 is None else bf16


def attention_kernels(bf16: bool, device_type: str) -> contextlib.AbstractContextManager:
    """The SDPA kernels of a training step: under bf16 autocast on a CPU the math kernel, else PyTorch's choice.

    On a CPU, SDPA's flash kernel runs its bf16 backward ~4× slower than fp32 at this project's sizes (batch 32,
    4 heads, 34 positions: 5.8 ms against 1.8 ms forward + backward), while the math kernel (matrix products and a
    softmax, which AVX512-bf16 / AMX run fast) takes 1.5 ms; in fp32 the flash kernel is the faster one
    (``benchmarks/bench_throughput.py``, "bf16 with SDPA's flash kernel")."""
    if bf16 and device_type == "cpu":
        return sdpa_kernel([SDPBackend.MATH])
    return contextlib.nullcontext()
