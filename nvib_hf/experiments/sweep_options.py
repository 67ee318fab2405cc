# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""``SweepConfig`` (everything ``nvib-hf reproduce`` can set), its grid defaults and ``ModelSpec``, without torch.

Each field's ``metadata["help"]`` documents it: ``nvib-hf reproduce --help`` derives its flags and its list of
config-file keys from them (``nvib_hf.cli.reproduce``). Validation imports the model config (Transformers, torch)
only when a config is checked. ``nvib_hf.experiments.sweep`` re-exports every name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nvib_hf.training.options import PRESETS, TrainOptions
from nvib_hf.utils.dataclass_options import option, reject_unknown_fields

# --- the grid (edit these to change the defaults) ----------------------------------------------------------------
# The NVAE runs: the main job's recipe (the `default` preset) with δ ramped to each δ_end (`final_delta`) over steps
# 1,200-2,000. δ sets the conditional prior's total pseudo-count α_p + δN, so a smaller δ_end keeps fewer vectors
# (docs/recipe.md: δ_end 0.15 / 0.12 / 0.08 kept ~0.6 / 0.58 / 0.35; δ 0.25 kept 0.96); 0.5 raises δ instead.
DEFAULT_NVIB_FINAL_DELTA: list[float] = [0.5, 0.2, 0.12, 0.05]
# The VT-stride runs (`vae_stride`): the fraction of each sentence's vectors kept, chosen at the proportions the
# NVAE runs keep at δ_end 0.12 and 0.05; `vae` is the stride curve's point at 1.
DEFAULT_STRIDE_KEEP_FRACTIONS: list[float] = [0.6, 0.25]
BASELINES: tuple[str, ...] = ("none", "vae", "vae_pooled")
# The points the claims rest on, trained again with each of `extra_seeds` (mean ± spread over the seeds): the
# NVAE at δ_end 0.12 (the main job), the stride baseline at its proportion kept, and VT (claims 2 and 3).
# 3 baselines + 4 NVAE + 2 stride + 3 × 2 extra seeds = 15 models, ~12 min each on this 2-core CPU.
DEFAULT_SEEDED_MODELS: list[str] = ["nvib_d0.12", "stride_0.6", "vae"]
DEFAULT_EXTRA_SEEDS: list[int] = [0, 1]
# TrainOptions of every model: the `default` preset (the README's main job), then these.
SWEEP_TRAIN_DEFAULTS: dict[str, Any] = dict(
    logging_steps=50,  # the plateau exit is read off the logged training CE (training_log.json)
    validation_samples=64,
    report_to=["none"],
    num_examples=5,
)
# Step counts, multiplied by the budget.
STEP_FIELDS: tuple[str, ...] = (
    "max_steps",
    "kl_start_step",
    "kl_warmup_steps",
    "warmup_steps",
    "logging_steps",
    "alignment_steps",
    "delta_ramp_start_step",
    "delta_ramp_end_step",
)
# Set by the sweep for each model; not allowed in ``SweepConfig.train``.
PER_MODEL_FIELDS: frozenset[str] = frozenset(
    {"output_dir", "bottleneck", "final_delta", "eval_samples", "save_steps", "eval_steps", "seed", "stop_after_steps"}
)


@dataclass(frozen=True)
class ModelSpec:
    """One model of the sweep.

    Attributes:
        name: its run name (``runs/NAME``): a baseline's bottleneck, ``nvib_d{δ_end}``, ``stride_{f}``, and
            ``_seed{s}`` after it for the extra seeds.
        bottleneck: ``none``, ``vae``, ``vae_pooled``, ``nvib`` or ``vae_stride``.
        final_delta: δ_end of an NVAE run (``TrainOptions.final_delta``).
        keep_fraction: f of a stride run (``NvaeConfig.stride_keep_fraction``).
        seed: the training seed (``None``: the sweep's ``seed``).
        interpolation_mode: ``mixture`` or, for the one-vector ``vae_pooled``, ``componentwise``.
    """

    name: str
    bottleneck: str
    final_delta: float | None = None
    keep_fraction: float | None = None
    seed: int | None = None
    interpolation_mode: str = "mixture"

    @property
    def setting(self) -> str:
        """The run name without its seed suffix: the point of the frontier this run is a draw of."""
        return self.name.split("_seed")[0]


def nvib_run_name(final_delta: float) -> str:
    """``nvib_d{δ_end}``, e.g. ``nvib_d0.12``."""
    return f"nvib_d{final_delta:g}"


def stride_run_name(keep_fraction: float) -> str:
    """``stride_{f}``, e.g. ``stride_0.6``."""
    return f"stride_{keep_fraction:g}"


@dataclass
class SweepConfig:
    """Everything ``nvib-hf reproduce`` can set (YAML/JSON config keys are these field names).

    Step counts (``train``'s and the preset's ``STEP_FIELDS``, ``interval_steps``, ``lm_steps``) are given at budget
    1 and multiplied by ``budget`` (rounded, at least 1).
    """

    output_dir: str = option("results", "where every result goes")
    budget: float = option(
        1.0,
        "multiplies every step count: models (4800 steps at 1.0, the main job's recipe), checkpoint interval and "
        "language models",
    )
    train: dict[str, Any] = option(
        help="TrainOptions shared by every model on top of the `default` preset, e.g. {d_model: 256, "
        "max_train_sentences: 5000, model: {...}}; step counts at budget 1",
        factory=dict,
        cli=False,
    )
    interval_steps: int = option(800, "checkpoint and validation interval at budget 1")
    eval_sentences: int = option(500, "held-out test sentences for reconstruction and R-PPL")
    num_prior_samples: int = option(200, "sentences generated from the prior per model", flag="--prior-samples")
    interpolation_pairs: int = option(20, "pairs of test sentences to interpolate between")
    interpolation_points: int = option(11, "points per interpolation, τ evenly spaced in [0, 1]")
    lm_steps: int = option(400, "training steps of the reference and R-PPL language models at budget 1")
    lm_batch_size: int = option(32, "batch size of the language models")
    generation_batch_size: int = option(64, "batch size of sampling, interpolation and perplexity")
    seed: int = option(42, "seed of every model's training, of prior samples and of the language models")
    extra_seeds: list[int] = option(
        help="more training seeds for the seeded models (run NAME_seed{s} each)",
        factory=lambda: list(DEFAULT_EXTRA_SEEDS),
        metavar="SEED",
        nargs="*",
    )
    seeded_models: list[str] = option(
        help="the models trained again with every extra seed (the points the claims rest on)",
        factory=lambda: list(DEFAULT_SEEDED_MODELS),
        metavar="NAME",
        nargs="*",
    )
    models: list[str] | None = option(
        None,
        "run only these models: none, vae, vae_pooled, nvib_d{δ}, stride_{f} or NAME_seed{s} names; nvib or "
        "vae_stride for every run of that bottleneck",
        metavar="NAME",
        none="all",
    )
    nvib_final_delta: list[float] = option(
        help="δ_end of the NVAE runs (δ ramps from the preset's 0.25), one run nvib_d{δ} each",
        factory=lambda: list(DEFAULT_NVIB_FINAL_DELTA),
        flag="--final-delta",
        metavar="DELTA",
    )
    stride_keep_fractions: list[float] = option(
        help="fractions of vectors kept by the vae_stride runs, one run stride_{f} each",
        factory=lambda: list(DEFAULT_STRIDE_KEEP_FRACTIONS),
        flag="--stride-fractions",
        metavar="F",
    )
    nvib_model: dict[str, Any] = option(help="NvaeConfig fields of the NVAE runs", factory=dict, cli=False)
    data_reference: bool = option(True, "add a 'data' row scoring real sentences like samples")
    keep_checkpoints: bool = option(False, "keep runs/NAME/checkpoints once a model is trained")
    jobs: int = option(
        1,
        "worker processes that train and evaluate models concurrently; on a GPU, one per model keeps it busy (logs "
        "go to OUTPUT_DIR/runs/NAME/worker.log)",
    )

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

    def first_seed_specs(self) -> list[ModelSpec]:
        """The baselines, the NVAE runs (one per δ_end) and the stride runs (one per f), with the sweep's seed."""
        specs = [
            ModelSpec(name, name, interpolation_mode="componentwise" if name == "vae_pooled" else "mixture")
            for name in BASELINES
        ]
        specs += [ModelSpec(nvib_run_name(d), "nvib", final_delta=float(d)) for d in self.nvib_final_delta]
        return specs + [
            ModelSpec(stride_run_name(f), "vae_stride", keep_fraction=float(f)) for f in self.stride_keep_fractions
        ]

    def all_specs(self) -> list[ModelSpec]:
        """``first_seed_specs``, then each seeded model again with every extra seed."""
        specs = self.first_seed_specs()
        seeded = [s for s in specs if s.name in self.seeded_models]
        extra = [replace(s, name=f"{s.name}_seed{seed}", seed=seed) for seed in self.extra_seeds for s in seeded]
        return specs + extra

    def model_specs(self) -> list[ModelSpec]:
        """The selected models (``models``; a bottleneck name selects every run of it), in ``all_specs`` order."""
        specs = self.all_specs()
        if self.models is None:
            return specs
        chosen = set(self.models)
        groups = chosen & {"nvib", "vae_stride"}  # not run names: every run of that bottleneck
        return [s for s in specs if s.name in chosen or s.bottleneck in groups]

    def base_train_values(self) -> dict[str, Any]:
        """The `default` preset, ``SWEEP_TRAIN_DEFAULTS`` and ``train`` (models merged), step counts scaled."""
        # bf16 (a speed setting of the main job since the sixth session) is left to TrainOptions' fp32: the committed
        # sweep was trained in fp32; `train: {bf16: null}` follows the main job.
        preset = {k: v for k, v in PRESETS["default"].items() if k not in ("output_dir", "bf16")}
        values = {**preset, **SWEEP_TRAIN_DEFAULTS, **self.train}
        values["model"] = {**preset.get("model", {}), **self.train.get("model", {})}
        values.update({name: self.scaled(values[name]) for name in STEP_FIELDS if values.get(name) is not None})
        return values

    def train_options(self, spec: ModelSpec, run_dir: Path) -> TrainOptions:
        """The ``TrainOptions`` of one model: the shared values, then its bottleneck, seed and setting.

        Only NVAE runs ramp δ (``final_delta``); ``vae_pooled`` trains without guided alignment, which needs a
        component per token.
        """
        values = self.base_train_values()
        model = dict(values["model"])
        if spec.bottleneck == "nvib":
            model.update(self.nvib_model)
        if spec.keep_fraction is not None:
            model["stride_keep_fraction"] = spec.keep_fraction
        if spec.bottleneck == "vae_pooled":
            values["lambda_alignment"] = 0.0
        interval = self.scaled(self.interval_steps)
        values.update(
            output_dir=str(run_dir),
            bottleneck=spec.bottleneck,
            final_delta=spec.final_delta,
            eval_samples=self.eval_sentences,
            save_steps=interval,
            eval_steps=interval,
            seed=self.seed if spec.seed is None else spec.seed,
            model=model,
        )
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
        _check_grid("nvib_final_delta", self.nvib_final_delta, nvib_run_name, upper=None)
        _check_grid("stride_keep_fractions", self.stride_keep_fractions, stride_run_name, upper=1.0)
        seeds = self.extra_seeds
        if not isinstance(seeds, list):
            raise ValueError(f"extra_seeds must be a list of integers, got {seeds!r}.")
        for seed in seeds:
            _check_int("extra_seeds entries", seed, minimum=0)
        if len(set(seeds)) != len(seeds) or self.seed in seeds:
            raise ValueError(f"extra_seeds must differ from each other and from seed {self.seed}, got {seeds}.")
        known = [s.name for s in self.first_seed_specs()]
        if not isinstance(self.seeded_models, list) or any(m not in known for m in self.seeded_models):
            raise ValueError(f"seeded_models must name models of the sweep ({known}), got {self.seeded_models!r}.")
        _check_model_fields("nvib_model", self.nvib_model)

    def _validate_train(self) -> None:
        if not isinstance(self.train, dict):
            raise ValueError(f"train must be a mapping of TrainOptions fields, got {self.train!r}.")
        reserved = sorted(PER_MODEL_FIELDS & set(self.train))
        if reserved:
            raise ValueError(
                f"train may not set {reserved}: the sweep sets them per model (use output_dir, "
                "nvib_final_delta, eval_sentences, interval_steps and seed instead)."
            )
        _check_model_fields("train.model", self.train.get("model") or {})
        from nvib_hf.models.nvae.configuration_nvae import NvaeConfig

        try:
            TrainOptions.from_dict(self.base_train_values())
            NvaeConfig(**{**(self.train.get("model") or {}), **self.nvib_model})
        except (TypeError, ValueError) as error:
            raise ValueError(f"bad training or model option: {error}") from error

    def _validate_models(self) -> None:
        if self.models is None:
            return
        valid = [s.name for s in self.all_specs()] + ["nvib", "vae_stride"]
        if not isinstance(self.models, list) or not self.models:
            raise ValueError(f"models must be a non-empty list of model names ({valid}), got {self.models!r}.")
        unknown = [m for m in self.models if m not in valid]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; choose from {valid} ('nvib', 'vae_stride': every such run).")


def _check_number(name: str, value: Any, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, got {value!r}.")


def _check_grid(name: str, values: Any, run_name: Any, upper: float | None) -> None:
    """A non-empty list of positive numbers (at most ``upper``) whose run names differ."""
    if not isinstance(values, list) or not values:
        raise ValueError(f"{name} must be a non-empty list of numbers, got {values!r}.")
    for value in values:
        _check_number(f"{name} entries", value, positive=True)
        if upper is not None and value > upper:
            raise ValueError(f"{name} entries must be at most {upper:g}, got {value!r}.")
    names = [run_name(v) for v in values]
    if len(set(names)) != len(names):
        raise ValueError(f"{name} has repeated values: {values}.")


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def _check_model_fields(name: str, values: Any) -> None:
    """``values`` must be a mapping of NvaeConfig fields other than those set from TrainOptions or per model."""
    if not isinstance(values, dict):
        raise ValueError(f"{name} must be a mapping of NvaeConfig fields, got {values!r}.")
    from nvib_hf.models.nvae.configuration_nvae import NvaeConfig

    defaults = NvaeConfig()
    set_per_model = ("bottleneck", "lambda_gaussian", "lambda_dirichlet", "stride_keep_fraction")
    unknown = sorted(k for k in values if not hasattr(defaults, k) or k in set_per_model)
    if unknown:
        raise ValueError(f"{name}: {unknown} are not NvaeConfig fields the sweep lets you set.")
