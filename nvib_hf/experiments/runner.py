# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Running the models of a sweep one by one, with resuming: train (or continue from the last checkpoint), evaluate,
and store the row; a model whose row is stored under the same settings is read back instead."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nvib_hf.experiments.context import SweepContext
from nvib_hf.experiments.evaluate import evaluate_model, sample_metrics
from nvib_hf.experiments.metrics import NAN
from nvib_hf.experiments.outputs import (
    IDENTITY_COLUMNS,
    INTERPOLATION_KEYS,
    JUDGE_KEYS,
    RECONSTRUCTION_KEYS,
    read_row,
    write_json,
)
from nvib_hf.experiments.sweep_options import ModelSpec, SweepConfig
from nvib_hf.training.run import generation_eval_count, run_training


def config_signature(config: SweepConfig) -> str:
    """A hash of the settings shared by every model's metrics (not the choice of models or the λ_D grid), including
    the effective training options (so that a change of the built-in defaults is noticed too)."""
    ignored = (
        "output_dir",
        "models",
        "nvib_final_delta",
        "stride_keep_fractions",
        "extra_seeds",
        "seeded_models",
        "keep_checkpoints",
        "data_reference",
        "jobs",
    )
    values = {k: v for k, v in asdict(config).items() if k not in ignored}
    values["effective_train"] = config.base_train_values()
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def train_model(spec: ModelSpec, run_dir: Path, context: SweepContext) -> None:
    """Train one model into ``run_dir`` unless its model directory is complete; resumes from a checkpoint."""
    from transformers.trainer_utils import get_last_checkpoint

    if (run_dir / "eval_results.json").is_file():
        return
    options = context.config.train_options(spec, run_dir)
    checkpoints = run_dir / "checkpoints"
    resume = checkpoints.is_dir() and get_last_checkpoint(str(checkpoints)) is not None
    result = run_training(options, resume=resume, command=context.command)
    if not result.finished:
        raise RuntimeError(f"{spec.name} stopped at step {result.global_step} of {options.max_steps}.")
    context.status[spec.name] = "trained"


def run_model(spec: ModelSpec, context: SweepContext) -> dict[str, Any]:
    """Train (or resume) and evaluate one model; a model with ``eval_results.json`` + ``metrics.json`` is skipped."""
    run_dir = context.run_dir(spec.name)
    metrics_file = run_dir / "metrics.json"
    if (run_dir / "eval_results.json").is_file() and metrics_file.is_file():
        context.status[spec.name] = "skipped"
        return read_row(metrics_file, config_signature(context.config))
    context.status[spec.name] = "evaluated"
    train_model(spec, run_dir, context)
    if not context.config.keep_checkpoints:
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    row = evaluate_model(spec, run_dir, context)
    write_json(metrics_file, {"signature": config_signature(context.config), "row": row})
    return row


def data_row(context: SweepContext) -> dict[str, Any]:
    """Reference row "data": real test sentences scored like prior samples (cached in ``OUTPUT/lm/data.json``).

    F-PPL, distinct-n, copy and repeat rate of the first ``num_prior_samples`` test sentences; R-PPL of an LM
    trained on ``num_prior_samples`` random training sentences; the external judge's perplexity of the test
    sentences every model's judge ratio divides by (the first 200) when the judge is installed.
    """
    cache = context.output / "lm" / "data.json"
    if cache.is_file():
        return read_row(cache, config_signature(context.config))
    config = context.config
    row: dict[str, Any] = {key: None for key, _ in IDENTITY_COLUMNS} | {"model": "data", "setting": "data"}
    row |= {"bottleneck": "", "interp_mode": ""}
    row |= dict.fromkeys(RECONSTRUCTION_KEYS + INTERPOLATION_KEYS + JUDGE_KEYS, NAN)
    row |= {"plateau_exit_step": NAN, "kl_start_step": NAN}
    test = list(context.sentences["test"]["text"])
    row |= sample_metrics(test[: config.num_prior_samples], context)
    train = context.train_texts
    chosen = random.Random(config.seed).sample(train, min(config.num_prior_samples, len(train)))
    row["r_ppl"] = context.reverse_perplexity(chosen, context.output / "lm" / "data_rppl", "R-PPL LM data")
    row["judge_ppl_samples"] = reference_judge_perplexity(test[: generation_eval_count(config.eval_sentences)])
    row |= {"train_wall_time_s": NAN, "eval_wall_time_s": NAN}
    write_json(cache, {"signature": config_signature(config), "row": row})
    return row


def reference_judge_perplexity(texts: list[str]) -> float:
    """The external judge's perplexity of ``texts`` (NaN when the judge is not installed)."""
    from nvib_hf.evaluation.sample_quality import ExternalJudge, judge_available

    return ExternalJudge().perplexity(texts) if judge_available() else NAN


__all__ = [
    "config_signature",
    "data_row",
    "reference_judge_perplexity",
    "run_model",
    "train_model",
]
