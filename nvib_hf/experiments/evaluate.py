# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The evaluation of one trained model of the sweep: reconstruction and the external judge's perplexities (read from
its training run), the plateau exit (from its training log), generation from the prior (F-PPL, R-PPL, distinct-n,
copy rate, repeat rate) and interpolation between test sentences, all decoded greedily."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from nvib_hf.evaluation.sample_quality import repeat_rate
from nvib_hf.experiments.context import SweepContext, word_pieces
from nvib_hf.experiments.metrics import (
    NAN,
    change_share,
    copy_rate,
    distinct_n,
    is_finite_number,
    mean_step_edit_distance,
    plateau_exit_step,
)
from nvib_hf.experiments.outputs import JUDGE_KEYS, PRIOR_KEYS, RECONSTRUCTION_KEYS, write_json
from nvib_hf.experiments.sweep_options import ModelSpec
from nvib_hf.training.run import TrainOptions, card_training_args

GREEDY: dict[str, Any] = {"num_beams": 1, "do_sample": False}


def prior_samples(model: Any, tokenizer: Any, count: int, seed: int, batch_size: int) -> list[str]:
    """Greedy decodes of ``count`` prior latents, component counts drawn from the stored length distribution."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    samples: list[str] = []
    for start in range(0, count, batch_size):
        number = min(batch_size, count - start)
        samples += model.sample_prior(number, tokenizer=tokenizer, generator=generator, **GREEDY)
    return [s.strip() for s in samples]


def sample_metrics(texts: list[str], context: SweepContext) -> dict[str, float]:
    """F-PPL, distinct-1/2, copy rate and repeat rate of a set of sentences (generated or real)."""
    pieces = word_pieces(texts, context.tokenizer)
    return {
        "f_ppl": context.forward_perplexity(texts),
        "distinct_1": distinct_n(pieces, 1),
        "distinct_2": distinct_n(pieces, 2),
        "copy_rate": copy_rate(pieces, context.train_token_set),
        "repeat_rate": repeat_rate(texts),
    }


def interpolation_paths(
    model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], taus: Sequence[float], mode: str, batch_size: int
) -> list[list[str]]:
    """For each pair (A, B): the greedy decodes at every τ (``model.interpolate`` in ``mode``).

    The latents of all τ of a chunk of pairs are stacked into one batch and decoded by a single ``generate`` call.
    """
    from nvib_hf.models.nvae.nvib import NvibLatent

    paths: list[list[str]] = []
    step = max(1, batch_size // len(taus))
    for start in range(0, len(pairs), step):
        chunk = pairs[start : start + step]
        latent_a = model.encode_latent(texts=[a for a, _ in chunk], tokenizer=tokenizer)
        latent_b = model.encode_latent(texts=[b for _, b in chunk], tokenizer=tokenizer)
        latents = model.interpolate(latent_a, latent_b, list(taus), mode=mode)  # one [P, K, ·] latent per τ
        stacked = NvibLatent(**{k: torch.cat([latent[k] for latent in latents]) for k in latents[0].keys()})
        decoded = model.generate_from_latent(stacked, tokenizer, **GREEDY)  # τ-major: index t·P + p
        paths += [[decoded[t * len(chunk) + p].strip() for t in range(len(taus))] for p in range(len(chunk))]
    return paths


def interpolation_metrics(paths: list[list[str]], context: SweepContext) -> dict[str, float]:
    """Mean token edit distance and change share of consecutive decodes; F-PPL and repeat rate of the decodes with
    0 < τ < 1."""
    tokens = [word_pieces(path, context.tokenizer) for path in paths]
    inner = [text for path in paths for text in path[1:-1]]
    return {
        "interp_edit_distance": mean_step_edit_distance(tokens),
        "interp_change_share": change_share(tokens),
        "interp_f_ppl": context.forward_perplexity(inner) if inner else NAN,
        "interp_repeat_rate": repeat_rate(inner) if inner else NAN,
    }


def evaluate_model(spec: ModelSpec, run_dir: Path, context: SweepContext) -> dict[str, Any]:
    """The row of one trained model: reconstruction (from ``eval_results.json``), prior and interpolation
    metrics. Also writes ``prior_samples.txt``, ``interpolations.json`` and the re-written model card."""
    from nvib_hf.evaluation.language_model import best_device
    from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration

    start = time.time()
    model = NvaeForConditionalGeneration.from_pretrained(run_dir)
    model.to(best_device()).eval()  # pyright: ignore[reportArgumentType]  (pyright misreads transformers' `.to`)
    reconstruction = json.loads((run_dir / "eval_results.json").read_text())
    config, tokenizer = context.config, context.tokenizer
    row = base_row(spec, config.seed) | training_columns(run_dir)
    row |= {k: float(reconstruction.get(k, NAN)) for k in RECONSTRUCTION_KEYS + JUDGE_KEYS}
    samples: list[str] = []
    if spec.bottleneck == "none":
        row |= dict.fromkeys(PRIOR_KEYS, NAN)  # no prior: sample_prior raises ValueError
    else:
        samples = prior_samples(model, tokenizer, config.num_prior_samples, config.seed, config.generation_batch_size)
        row |= sample_metrics(samples, context)
        row["r_ppl"] = context.reverse_perplexity(samples, run_dir / "rppl_lm", f"R-PPL LM {spec.name}")
    paths = interpolation_paths(
        model, tokenizer, context.pairs, context.taus, spec.interpolation_mode, config.generation_batch_size
    )
    row |= interpolation_metrics(paths, context)
    (run_dir / "prior_samples.txt").write_text("".join(f"{s}\n" for s in samples), encoding="utf-8")
    write_json(
        run_dir / "interpolations.json",
        {"mode": spec.interpolation_mode, "taus": context.taus, "pairs": context.pairs, "decodes": paths},
    )
    row["train_wall_time_s"] = float(reconstruction.get("train_wall_time_s", NAN))
    row["eval_wall_time_s"] = round(time.time() - start, 1)
    rewrite_model_card(run_dir, model, row, samples, paths, context)
    return row


def base_row(spec: ModelSpec, sweep_seed: int) -> dict[str, Any]:
    """The identifying columns of a model's row (``seed``: the training seed, the sweep's unless the spec sets one)."""
    return {
        "model": spec.name,
        "setting": spec.setting,
        "bottleneck": spec.bottleneck,
        "final_delta": spec.final_delta,
        "keep_fraction": spec.keep_fraction,
        "seed": sweep_seed if spec.seed is None else spec.seed,
        "interp_mode": spec.interpolation_mode,
    }


def training_columns(run_dir: Path) -> dict[str, float]:
    """``plateau_exit_step`` (``metrics.plateau_exit_step`` of ``training_log.json``; NaN without a log) and the
    run's ``kl_start_step``: a model reconstructs before its KL terms shape it when the first is below the second."""
    log_file = run_dir / "training_log.json"
    history = json.loads(log_file.read_text()) if log_file.is_file() else []
    options = json.loads((run_dir / "train_options.json").read_text())
    return {"plateau_exit_step": plateau_exit_step(history), "kl_start_step": float(options["kl_start_step"])}


def rewrite_model_card(
    run_dir: Path, model: Any, row: dict[str, Any], samples: list[str], paths: list[list[str]], context: SweepContext
) -> None:
    """The run's model card again, now with the prior-generation and interpolation metrics and examples."""
    from nvib_hf.reporting.model_card import write_model_card

    options = TrainOptions.from_dict(json.loads((run_dir / "train_options.json").read_text()))
    examples = json.loads((run_dir / "examples.json").read_text()) if (run_dir / "examples.json").is_file() else {}
    card_examples = {
        "reconstructions": examples.get("reconstructions", []),
        "prior_samples": samples[:10],
        "interpolations": [list(zip(context.taus, path)) for path in paths[:3]],
    }
    skip = ("final_delta", "keep_fraction", "seed", "kl_start_step", "train_wall_time_s", "eval_wall_time_s")
    metrics = {k: v for k, v in row.items() if k not in skip and is_finite_number(v)}
    write_model_card(
        run_dir,
        config=model.config,
        metrics=metrics,
        command=context.command,
        training_args=card_training_args(options),
        examples=card_examples,
        wall_time_s=row["train_wall_time_s"],
        model_name=run_dir.name,
    )


__all__ = [
    "GREEDY",
    "base_row",
    "evaluate_model",
    "interpolation_metrics",
    "interpolation_paths",
    "prior_samples",
    "rewrite_model_card",
    "sample_metrics",
    "training_columns",
]
