# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Schedules for the KL weights λ_G and λ_D of the NVAE objective (spec section 4), the guided-alignment weight λ_A
and the conditional prior's slope δ.

Every schedule is a pure function of the global optimiser step t (the number of completed updates), so a run resumed
from a checkpoint gets exactly the weights of an uninterrupted run. With s = ``start_step`` and u = t − s, every kind
is 0 for u < 0 (t < s) and otherwise:

- ``constant``: w(t) = w_max.
- ``linear``:   w(t) = w_max · min(1, u / W)                        (W = ``warmup_steps``; W = 0 gives w_max).
- ``cosine``:   w(t) = w_max · ½ (1 − cos(π · min(1, u / W)))       (monotonic half-cosine annealing).
- ``cyclical``: Fu et al. (2019) with a cosine ramp: M = ``num_cycles`` cycles of length P = T / M over
  T = ``total_steps``; with the phase τ = (u mod P) / P and R = ``ratio``,
  w(t) = w_max · ½ (1 − cos(π τ / R)) for τ < R, else w_max; and w(t) = w_max once u ≥ T.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from nvib_hf.utils.dataclass_options import reject_unknown_fields

SCHEDULE_KINDS = ("constant", "linear", "cosine", "cyclical")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _offset(step: int, start_step: int) -> int | None:
    """u = step − start_step, or None before the schedule starts."""
    return None if step < start_step else step - start_step


def _half_cosine(x: float) -> float:
    """½ (1 − cos(π x)) for x clipped to [0, 1]: 0 at x = 0, 1 at x = 1, monotonic in between."""
    return 0.5 * (1.0 - math.cos(math.pi * min(max(x, 0.0), 1.0)))


def constant(step: int, max_weight: float, start_step: int = 0) -> float:
    """w(t) = w_max for t ≥ start_step, else 0."""
    return 0.0 if _offset(step, start_step) is None else float(max_weight)


def linear(step: int, max_weight: float, warmup_steps: int, start_step: int = 0) -> float:
    """Linear warm-up: w(t) = w_max · min(1, (t − s) / W) for t ≥ s, else 0."""
    u = _offset(step, start_step)
    if u is None:
        return 0.0
    return float(max_weight) if warmup_steps == 0 else float(max_weight) * min(1.0, u / warmup_steps)


def cosine(step: int, max_weight: float, warmup_steps: int, start_step: int = 0) -> float:
    """Monotonic cosine annealing: w(t) = w_max · ½ (1 − cos(π · min(1, (t − s) / W))) for t ≥ s, else 0."""
    u = _offset(step, start_step)
    if u is None:
        return 0.0
    return float(max_weight) if warmup_steps == 0 else float(max_weight) * _half_cosine(u / warmup_steps)


def cyclical(
    step: int, max_weight: float, total_steps: int, num_cycles: int = 4, ratio: float = 0.5, start_step: int = 0
) -> float:
    """Cyclical cosine annealing (Fu et al., NAACL 2019).

    With u = t − s, P = T / M (T = ``total_steps``, M = ``num_cycles``) and τ = (u mod P) / P:
    w(t) = w_max · ½ (1 − cos(π τ / R)) while τ < R (R = ``ratio``), w_max for the rest of the cycle, 0 before s,
    and w_max after the last cycle (u ≥ T).
    """
    u = _offset(step, start_step)
    if u is None:
        return 0.0
    if u >= total_steps:
        return float(max_weight)
    period = total_steps / num_cycles
    tau = math.fmod(u, period) / period
    return float(max_weight) * (_half_cosine(tau / ratio) if tau < ratio else 1.0)


@dataclass
class KLSchedule:
    """A KL-weight schedule: ``schedule(step) -> weight`` (see the module docstring for the formulas).

    Args:
        kind: one of ``"constant"``, ``"linear"``, ``"cosine"``, ``"cyclical"``.
        max_weight: w_max, the weight reached after warm-up (≥ 0).
        warmup_steps: W, steps from 0 to w_max for ``linear`` / ``cosine`` (≥ 0).
        start_step: s, the weight is 0 before this step (≥ 0).
        num_cycles: M, number of cycles of ``cyclical`` (≥ 1).
        ratio: R ∈ (0, 1], fraction of each cycle spent increasing (``cyclical``).
        total_steps: T, steps covered by the cycles (required, ≥ 1, for ``cyclical``).

    Raises:
        ValueError: naming the field, when a field is out of range or of the wrong type.
    """

    kind: str = "constant"
    max_weight: float = 1.0
    warmup_steps: int = 0
    start_step: int = 0
    num_cycles: int = 4
    ratio: float = 0.5
    total_steps: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` naming the first bad one."""

        def require(ok: bool, name: str, expected: str) -> None:
            if not ok:
                raise ValueError(f"KLSchedule.{name} must be {expected} (got {getattr(self, name)!r}).")

        require(self.kind in SCHEDULE_KINDS, "kind", f"one of {SCHEDULE_KINDS}")
        require(_is_real(self.max_weight) and self.max_weight >= 0, "max_weight", "a finite number >= 0")
        require(_is_int(self.warmup_steps) and self.warmup_steps >= 0, "warmup_steps", "an integer >= 0")
        require(_is_int(self.start_step) and self.start_step >= 0, "start_step", "an integer >= 0")
        require(_is_int(self.num_cycles) and self.num_cycles >= 1, "num_cycles", "an integer >= 1")
        require(_is_real(self.ratio) and 0 < self.ratio <= 1, "ratio", "a number in (0, 1]")
        total_ok = self.total_steps is None or (_is_int(self.total_steps) and self.total_steps >= 1)
        require(total_ok, "total_steps", "None or an integer >= 1")
        if self.kind == "cyclical":
            require(self.total_steps is not None, "total_steps", 'set (an integer >= 1) for kind="cyclical"')

    def __call__(self, step: int) -> float:
        """The weight at global step ``step`` (completed optimiser updates)."""
        if self.kind == "constant":
            return constant(step, self.max_weight, self.start_step)
        if self.kind == "linear":
            return linear(step, self.max_weight, self.warmup_steps, self.start_step)
        if self.kind == "cosine":
            return cosine(step, self.max_weight, self.warmup_steps, self.start_step)
        if self.total_steps is None:  # validate() requires it for "cyclical": only a field changed after that
            raise ValueError('KLSchedule.total_steps must be set (an integer >= 1) for kind="cyclical".')
        return cyclical(step, self.max_weight, self.total_steps, self.num_cycles, self.ratio, self.start_step)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of all fields (inverse of ``from_dict``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KLSchedule:
        """Build from a dict of fields (missing fields take their defaults); unknown keys raise ``ValueError``."""
        reject_unknown_fields(cls, data, "KLSchedule field")
        return cls(**data)


@dataclass
class DecaySchedule:
    """A weight that starts at w_max and falls linearly to 0: w(t) = w_max · max(0, 1 − t / D).

    Used for the guided-alignment weight λ_A (``alignment.py``): a training aid for the first D steps only.

    Args:
        max_weight: w_max, the weight at step 0 (≥ 0).
        decay_steps: D, the step from which the weight is 0 (≥ 0; 0 means always 0).
    """

    max_weight: float = 0.0
    decay_steps: int = 0

    def __post_init__(self) -> None:
        if not (_is_real(self.max_weight) and self.max_weight >= 0):
            raise ValueError(f"DecaySchedule.max_weight must be a finite number >= 0 (got {self.max_weight!r}).")
        if not (_is_int(self.decay_steps) and self.decay_steps >= 0):
            raise ValueError(f"DecaySchedule.decay_steps must be an integer >= 0 (got {self.decay_steps!r}).")

    def __call__(self, step: int) -> float:
        if self.decay_steps == 0:
            return 0.0
        return float(self.max_weight) * max(0.0, 1.0 - step / self.decay_steps)


@dataclass
class RampSchedule:
    """A value that moves linearly from v_0 to v_1 between two steps and stays there:
    v(t) = v_0 for t ≤ t_0, v_0 + (v_1 − v_0)·(t − t_0)/(t_1 − t_0) for t_0 < t < t_1, v_1 for t ≥ t_1.

    Used for δ, the slope of the conditional prior α_0^p = α_p + δ·N of KL_D (spec section 4): lowering δ once the
    decoder reconstructs asks for fewer pseudo-counts, so more vectors are pruned (``docs/recipe.md``).

    Args:
        start_value / end_value: v_0 and v_1 (finite numbers ≥ 0).
        start_step / end_step: t_0 ≤ t_1 (integers ≥ 0); t_0 = t_1 jumps from v_0 to v_1 at t_0.
    """

    start_value: float
    end_value: float
    start_step: int = 0
    end_step: int = 0

    def __post_init__(self) -> None:
        for name in ("start_value", "end_value"):
            value = getattr(self, name)
            if not (_is_real(value) and value >= 0):
                raise ValueError(f"RampSchedule.{name} must be a finite number >= 0 (got {value!r}).")
        for name in ("start_step", "end_step"):
            value = getattr(self, name)
            if not (_is_int(value) and value >= 0):
                raise ValueError(f"RampSchedule.{name} must be an integer >= 0 (got {value!r}).")
        if self.end_step < self.start_step:
            raise ValueError(f"RampSchedule.end_step ({self.end_step}) must be >= start_step ({self.start_step}).")

    def __call__(self, step: int) -> float:
        if step >= self.end_step:
            return float(self.end_value)
        if step <= self.start_step:
            return float(self.start_value)
        share = (step - self.start_step) / (self.end_step - self.start_step)
        return float(self.start_value + (self.end_value - self.start_value) * share)


__all__ = ["SCHEDULE_KINDS", "DecaySchedule", "KLSchedule", "RampSchedule", "constant", "cosine", "cyclical", "linear"]
