# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The variables a launcher (``torchrun`` / ``accelerate launch``) gives each process, checked before any work."""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["launcher_ranks"]

# (rank variable, size variable): global and per-machine ranks, as torch.distributed.run sets them.
RANK_PAIRS: tuple[tuple[str, str], ...] = (("RANK", "WORLD_SIZE"), ("LOCAL_RANK", "LOCAL_WORLD_SIZE"))


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r} (set by torchrun / accelerate launch).") from None


def launcher_ranks(environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``(RANK, WORLD_SIZE)`` of this process, ``(0, 1)`` without a launcher.

    Raises ValueError naming the variable when a rank or size is not an integer or 0 ≤ rank < size fails (for
    ``RANK``/``WORLD_SIZE`` and ``LOCAL_RANK``/``LOCAL_WORLD_SIZE``; the upper bound only where the size is set,
    as some launchers set ``LOCAL_RANK`` alone), so a broken launch stops before any data is loaded.
    """
    env = os.environ if environ is None else environ
    ranks = {}
    for rank_name, size_name in RANK_PAIRS:
        rank, size = _integer(env, rank_name, 0), _integer(env, size_name, 1)
        if size < 1 or rank < 0 or (size_name in env and rank >= size):
            raise ValueError(f"{rank_name} must be in [0, {size_name}), got {rank_name}={rank}, {size_name}={size}.")
        ranks[rank_name] = (rank, size)
    return ranks["RANK"]
