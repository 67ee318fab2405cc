# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The sweep's sample and interpolation metrics: pure functions of token sequences (formulas in docs/metrics.md).

NaN marks a metric that is undefined for its input (no n-grams, no samples, no steps)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from nvib_hf.evaluation.sample_quality import ngrams, token_edit_distance

NAN = float("nan")


def distinct_n(samples: Sequence[Sequence[Any]], n: int) -> float:
    """distinct-n = |unique n-grams| / |n-grams|, pooled over all samples (NaN when no sample has n tokens)."""
    grams = ngrams(samples, n)
    return len(set(grams)) / len(grams) if grams else NAN


edit_distance = token_edit_distance  # Levenshtein over token sequences (one implementation, in sample_quality)


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


# The decoder has left the language-model plateau (training CE ≈ 5.4-6.2 nats per word piece, docs/recipe.md) once
# its logged training reconstruction CE falls below this: only a decoder that reads its latent gets there.
PLATEAU_EXIT_CE = 4.0


def plateau_exit_step(log_history: Sequence[dict[str, Any]], threshold: float = PLATEAU_EXIT_CE) -> float:
    """The first logged training step whose reconstruction CE is below ``threshold``; NaN if none is.

    ``log_history`` is the Trainer's log (``training_log.json`` of a model directory); evaluation entries
    (``eval_*`` keys) are skipped.
    """
    for entry in log_history:
        value = entry.get("reconstruction_loss")
        if isinstance(value, (int, float)) and is_finite_number(value) and value < threshold and "step" in entry:
            return float(entry["step"])
    return NAN


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


__all__ = [
    "NAN",
    "PLATEAU_EXIT_CE",
    "plateau_exit_step",
    "change_share",
    "consecutive_edit_distances",
    "copy_rate",
    "distinct_n",
    "edit_distance",
    "is_finite_number",
    "mean_step_edit_distance",
]
