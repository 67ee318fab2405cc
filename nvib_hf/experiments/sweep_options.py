# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""``SweepConfig`` (everything ``nvib-hf reproduce`` can set), its grid defaults and ``ModelSpec`` (one model)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nvib_hf.models.nvae.configuration_nvae import NvaeConfig
from nvib_hf.training.run import TrainOptions
from nvib_hf.utils.dataclass_options import reject_unknown_fields

# --- the grid (edit these to change the defaults) ----------------------------------------------------------------
# λ_D of the NVAE runs (a log grid) and their shared NvaeConfig fields: δ < 1 makes the conditional prior's total
# α_0^p = α_p + δN smaller than one count per token, so a larger λ_D asks for fewer vectors.
DEFAULT_NVIB_LAMBDA_DIRICHLET: list[float] = [0.01, 0.1, 1.0, 10.0]
DEFAULT_NVIB_MODEL: dict[str, Any] = {"delta": 0.25}
BASELINES: tuple[str, ...] = ("none", "vae", "vae_pooled")
# TrainOptions shared by every model of the sweep. Step counts are at budget 1 and are multiplied by the budget.
SWEEP_TRAIN_DEFAULTS: dict[str, Any] = dict(
    # Model sizes, batch and learning rate are TrainOptions' defaults (the README's main job); the step counts are
    # repeated here so that the budget scales them.
    max_steps=TrainOptions.max_steps,
    # KL weights 0 for three quarters of the run: with the KL on from half-way, every latent model of the README's
    # GPU run 1 collapsed before its decoder learned to read the latent; with this schedule at budget 2 (run 2)
    # they reconstruct.
    kl_start_step=1350,
    kl_warmup_steps=225,
    warmup_steps=TrainOptions.warmup_steps,
    logging_steps=50,
    validation_samples=64,
    report_to=["none"],
    num_examples=5,
)
STEP_FIELDS: tuple[str, ...] = ("max_steps", "kl_start_step", "kl_warmup_steps", "warmup_steps", "logging_steps")
# Set by the sweep for each model; not allowed in ``SweepConfig.train``.
PER_MODEL_FIELDS: frozenset[str] = frozenset(
    {
        "output_dir",
        "bottleneck",
        "lambda_dirichlet",
        "eval_samples",
        "save_steps",
        "eval_steps",
        "seed",
        "stop_after_steps",
    }
)


@dataclass(frozen=True)
class ModelSpec:
    """One model of the sweep: its run name, bottleneck, λ_D (NVAE runs only) and interpolation mode."""

    name: str
    bottleneck: str
    lambda_dirichlet: float | None = None
    interpolation_mode: str = "mixture"


def nvib_run_name(lambda_dirichlet: float) -> str:
    """``nvib_ld{λ_D}``, e.g. ``nvib_ld0.1``, ``nvib_ld3``."""
    return f"nvib_ld{lambda_dirichlet:g}"


@dataclass
class SweepConfig:
    """Everything ``nvib-hf reproduce`` can set (YAML/JSON config keys are these field names).

    Step counts (``train``'s ``max_steps``, ``kl_warmup_steps``, ``warmup_steps``, ``logging_steps``,
    ``interval_steps``, ``lm_steps``) are given at budget 1 and multiplied by ``budget`` (rounded, at least 1).
    """

    output_dir: str = "results"
    budget: float = 1.0
    train: dict[str, Any] = field(default_factory=dict)  # TrainOptions overrides shared by every model
    interval_steps: int = 300  # checkpoint and validation interval
    eval_sentences: int = 500  # held-out test sentences for reconstruction and R-PPL
    num_prior_samples: int = 500
    interpolation_pairs: int = 20
    interpolation_points: int = 11
    lm_steps: int = 400  # reference LM and every R-PPL LM
    lm_batch_size: int = 32
    generation_batch_size: int = 64
    seed: int = 42
    models: list[str] | None = None  # None: every baseline and every NVAE run
    nvib_lambda_dirichlet: list[float] = field(default_factory=lambda: list(DEFAULT_NVIB_LAMBDA_DIRICHLET))
    nvib_model: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_NVIB_MODEL))
    data_reference: bool = True  # add a "data" row: the metrics of real sentences
    keep_checkpoints: bool = False  # keep runs/NAME/checkpoints once a model is trained
    jobs: int = 1  # worker processes training/evaluating models concurrently (workers.py)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SweepConfig:
        """A validated config; raises ValueError naming any unknown key or bad value."""
        reject_unknown_fields(cls, values, "sweep option")
        config = cls(**values)
        config.validate()
        return config

    def scaled(self, steps: int) -> int:
        """``max(1, round(steps · budget))``."""
        return max(1, round(steps * self.budget))

    def all_specs(self) -> list[ModelSpec]:
        """The baselines, then one NVAE run per λ_D."""
        specs = [
            ModelSpec(name, name, None, "componentwise" if name == "vae_pooled" else "mixture") for name in BASELINES
        ]
        return specs + [ModelSpec(nvib_run_name(lam), "nvib", float(lam)) for lam in self.nvib_lambda_dirichlet]

    def model_specs(self) -> list[ModelSpec]:
        """The selected models (``models``; ``"nvib"`` selects every NVAE run), in ``all_specs`` order."""
        specs = self.all_specs()
        if self.models is None:
            return specs
        chosen = set(self.models)
        return [s for s in specs if s.name in chosen or (s.bottleneck == "nvib" and "nvib" in chosen)]

    def base_train_values(self) -> dict[str, Any]:
        """``SWEEP_TRAIN_DEFAULTS`` updated by ``train``, step counts scaled by the budget."""
        values = {**SWEEP_TRAIN_DEFAULTS, **self.train}
        values.update({name: self.scaled(values[name]) for name in STEP_FIELDS if values.get(name) is not None})
        return values

    def train_options(self, spec: ModelSpec, run_dir: Path) -> TrainOptions:
        """The ``TrainOptions`` of one model: shared values, plus its bottleneck, λ_D and NVAE fields."""
        values = self.base_train_values()
        model = dict(values.get("model") or {})
        if spec.bottleneck == "nvib":
            model.update(self.nvib_model)
        interval = self.scaled(self.interval_steps)
        values.update(
            output_dir=str(run_dir),
            bottleneck=spec.bottleneck,
            eval_samples=self.eval_sentences,
            save_steps=interval,
            eval_steps=interval,
            seed=self.seed,
            model=model,
        )
        if spec.lambda_dirichlet is not None:
            values["lambda_dirichlet"] = spec.lambda_dirichlet
        return TrainOptions.from_dict(values)

    def validate(self) -> None:
        """Raise ValueError with a clear message for any bad value."""
        _check_number("budget", self.budget, positive=True)
        for name in (
            "interval_steps",
            "eval_sentences",
            "num_prior_samples",
            "interpolation_pairs",
            "lm_steps",
            "lm_batch_size",
            "generation_batch_size",
            "jobs",
        ):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("interpolation_points", self.interpolation_points, minimum=2)
        _check_int("seed", self.seed, minimum=0)
        if not isinstance(self.output_dir, str) or not self.output_dir:
            raise ValueError(f"output_dir must be a non-empty path, got {self.output_dir!r}.")
        self._validate_grid()
        self._validate_train()
        self._validate_models()

    def _validate_grid(self) -> None:
        lambdas = self.nvib_lambda_dirichlet
        if not isinstance(lambdas, list) or not lambdas:
            raise ValueError(f"nvib_lambda_dirichlet must be a non-empty list of numbers, got {lambdas!r}.")
        for value in lambdas:
            _check_number("nvib_lambda_dirichlet entries", value, positive=False)
        names = [nvib_run_name(v) for v in lambdas]
        if len(set(names)) != len(names):
            raise ValueError(f"nvib_lambda_dirichlet has repeated values: {lambdas}.")
        _check_model_fields("nvib_model", self.nvib_model)

    def _validate_train(self) -> None:
        if not isinstance(self.train, dict):
            raise ValueError(f"train must be a mapping of TrainOptions fields, got {self.train!r}.")
        reserved = sorted(PER_MODEL_FIELDS & set(self.train))
        if reserved:
            raise ValueError(
                f"train may not set {reserved}: the sweep sets them per model (use output_dir, "
                "nvib_lambda_dirichlet, eval_sentences, interval_steps and seed instead)."
            )
        _check_model_fields("train.model", self.train.get("model") or {})
        try:
            TrainOptions.from_dict(self.base_train_values())
            NvaeConfig(**{**(self.train.get("model") or {}), **self.nvib_model})
        except (TypeError, ValueError) as error:
            raise ValueError(f"bad training or model option: {error}") from error

    def _validate_models(self) -> None:
        if self.models is None:
            return
        valid = [s.name for s in self.all_specs()] + ["nvib"]
        if not isinstance(self.models, list) or not self.models:
            raise ValueError(f"models must be a non-empty list of model names ({valid}), got {self.models!r}.")
        unknown = [m for m in self.models if m not in valid]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; choose from {valid} ('nvib' = every NVAE run).")


def _check_number(name: str, value: Any, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, got {value!r}.")


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def _check_model_fields(name: str, values: Any) -> None:
    """``values`` must be a mapping of NvaeConfig fields other than ``bottleneck``/``lambda_dirichlet``."""
    if not isinstance(values, dict):
        raise ValueError(f"{name} must be a mapping of NvaeConfig fields, got {values!r}.")
    defaults = NvaeConfig()
    unknown = sorted(k for k in values if not hasattr(defaults, k) or k in ("bottleneck", "lambda_dirichlet"))
    if unknown:
        raise ValueError(f"{name}: {unknown} are not NvaeConfig fields the sweep lets you set.")


__all__ = [
    "BASELINES",
    "DEFAULT_NVIB_LAMBDA_DIRICHLET",
    "DEFAULT_NVIB_MODEL",
    "ModelSpec",
    "PER_MODEL_FIELDS",
    "STEP_FIELDS",
    "SWEEP_TRAIN_DEFAULTS",
    "SweepConfig",
    "nvib_run_name",
]
