# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The sweep's sample and interpolation metrics: pure functions of token sequences (formulas in docs/metrics.md).

NaN marks a metric that is undefined for its input (no n-grams, no samples, no steps)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

NAN = float("nan")


def distinct_n(samples: Sequence[Sequence[Any]], n: int) -> float:
    """distinct-n = |unique n-grams| / |n-grams|, pooled over all samples (NaN when no sample has n tokens)."""
    grams = [tuple(tokens[i : i + n]) for tokens in samples for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else NAN


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn ``a`` into ``b``.

    d[i][j] = min(d[i−1][j] + 1, d[i][j−1] + 1, d[i−1][j−1] + [a_i ≠ b_j]), d[i][0] = i, d[0][j] = j.
    """
    previous = list(range(len(b) + 1))
    for i, item in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (item != other)))
        previous = current
    return previous[-1]


def _key(sequence: Any) -> Any:
    return sequence if isinstance(sequence, str) else tuple(sequence)


def copy_rate(samples: Sequence[Any], training: Iterable[Any]) -> float:
    """Share of samples exactly equal to some training sentence: |{s : s ∈ train}| / |samples| (NaN if none)."""
    if not samples:
        return NAN
    known = training if isinstance(training, (set, frozenset)) else {_key(t) for t in training}
    return sum(_key(s) in known for s in samples) / len(samples)


def consecutive_edit_distances(path: Sequence[Sequence[Any]]) -> list[int]:
    """Edit distances between consecutive decodes x_k, x_{k+1} of one interpolation path."""
    return [edit_distance(a, b) for a, b in zip(path[:-1], path[1:])]


def change_share(paths: Sequence[Sequence[Sequence[Any]]]) -> float:
    """Share of consecutive steps whose decode changes: mean over paths and k of [x_k ≠ x_{k+1}]."""
    changes = [_key(a) != _key(b) for path in paths for a, b in zip(path[:-1], path[1:])]
    return sum(changes) / len(changes) if changes else NAN


def mean_step_edit_distance(paths: Sequence[Sequence[Sequence[Any]]]) -> float:
    """Mean over paths and k of edit_distance(x_k, x_{k+1})."""
    distances = [d for path in paths for d in consecutive_edit_distances(path)]
    return sum(distances) / len(distances) if distances else NAN


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


__all__ = [
    "NAN",
    "change_share",
    "consecutive_edit_distances",
    "copy_rate",
    "distinct_n",
    "edit_distance",
    "is_finite_number",
    "mean_step_edit_distance",
]
