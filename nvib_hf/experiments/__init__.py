# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The paper's comparison (``run_sweep``, ``nvib-hf reproduce``) and its parts, importable from here.

Each name is imported from its module on first use (PEP 562), so importing ``nvib_hf.experiments.sweep_options``
(the command line does, for ``--help``) does not load the whole sweep. The modules import one another directly, never
through this package, which keeps the import graph free of cycles (``tests/test_architecture.py``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# module (relative to this package) -> the public names it defines
_EXPORTS: dict[str, tuple[str, ...]] = {
    "sweep_options": (
        "BASELINES",
        "DEFAULT_EXTRA_SEEDS",
        "DEFAULT_NVIB_FINAL_DELTA",
        "DEFAULT_SEEDED_MODELS",
        "DEFAULT_STRIDE_KEEP_FRACTIONS",
        "PER_MODEL_FIELDS",
        "STEP_FIELDS",
        "SWEEP_TRAIN_DEFAULTS",
        "ModelSpec",
        "SweepConfig",
        "nvib_run_name",
        "stride_run_name",
    ),
    "metrics": (
        "change_share",
        "consecutive_edit_distances",
        "copy_rate",
        "distinct_n",
        "edit_distance",
        "mean_step_edit_distance",
        "plateau_exit_step",
    ),
    "claims": ("evaluate_claims", "claims_markdown", "summarize"),
    "context": ("SweepContext", "word_pieces"),
    "evaluate": ("evaluate_model", "interpolation_metrics", "interpolation_paths", "prior_samples", "sample_metrics"),
    "runner": ("config_signature", "data_row", "run_model", "train_model"),
    "outputs": ("RESULT_COLUMNS", "format_cell", "read_row", "write_json", "write_outputs"),
    "plots": ("plot_bleu_vs_vectors_kept", "plot_samples_vs_reconstruction"),
    "sweep": ("default_command", "run_sweep"),
    "workers": ("run_models_in_parallel",),
}
_MODULE_OF: dict[str, str] = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:  # the same names for type checkers and editors
    from .claims import claims_markdown, evaluate_claims, summarize
    from .context import SweepContext, word_pieces
    from .evaluate import evaluate_model, interpolation_metrics, interpolation_paths, prior_samples, sample_metrics
    from .metrics import (
        change_share,
        consecutive_edit_distances,
        copy_rate,
        distinct_n,
        edit_distance,
        mean_step_edit_distance,
        plateau_exit_step,
    )
    from .outputs import RESULT_COLUMNS, format_cell, read_row, write_json, write_outputs
    from .plots import plot_bleu_vs_vectors_kept, plot_samples_vs_reconstruction
    from .runner import config_signature, data_row, run_model, train_model
    from .sweep import default_command, run_sweep
    from .sweep_options import (
        BASELINES,
        DEFAULT_EXTRA_SEEDS,
        DEFAULT_NVIB_FINAL_DELTA,
        DEFAULT_SEEDED_MODELS,
        DEFAULT_STRIDE_KEEP_FRACTIONS,
        PER_MODEL_FIELDS,
        STEP_FIELDS,
        SWEEP_TRAIN_DEFAULTS,
        ModelSpec,
        SweepConfig,
        nvib_run_name,
        stride_run_name,
    )
    from .workers import run_models_in_parallel


def __getattr__(name: str) -> Any:
    """``nvib_hf.experiments.NAME``: the attribute of the module that defines it, imported now."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# the names of _EXPORTS (tests/test_architecture.py checks that they agree)
__all__ = [
    "BASELINES",
    "DEFAULT_EXTRA_SEEDS",
    "DEFAULT_NVIB_FINAL_DELTA",
    "DEFAULT_SEEDED_MODELS",
    "DEFAULT_STRIDE_KEEP_FRACTIONS",
    "ModelSpec",
    "PER_MODEL_FIELDS",
    "RESULT_COLUMNS",
    "STEP_FIELDS",
    "SWEEP_TRAIN_DEFAULTS",
    "SweepConfig",
    "SweepContext",
    "change_share",
    "claims_markdown",
    "config_signature",
    "consecutive_edit_distances",
    "copy_rate",
    "data_row",
    "default_command",
    "distinct_n",
    "edit_distance",
    "evaluate_claims",
    "evaluate_model",
    "format_cell",
    "interpolation_metrics",
    "interpolation_paths",
    "mean_step_edit_distance",
    "nvib_run_name",
    "plot_bleu_vs_vectors_kept",
    "plateau_exit_step",
    "plot_samples_vs_reconstruction",
    "prior_samples",
    "read_row",
    "run_model",
    "run_models_in_parallel",
    "run_sweep",
    "sample_metrics",
    "stride_run_name",
    "summarize",
    "train_model",
    "word_pieces",
    "write_json",
    "write_outputs",
]
