# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""What the main job prints at the end: the test metrics, verbatim reconstructions, prior samples, an interpolation."""

from __future__ import annotations

from typing import Any

__all__ = ["results_table"]


def results_table(metrics: dict[str, float], examples: dict[str, Any]) -> str:
    """The small table the main job prints: metrics, reconstructions, prior samples, an interpolation."""
    keys = (
        "bleu",
        "exact_match",
        "reconstruction_loss",
        "token_accuracy",
        "vectors_kept",
        "vectors_kept_proportion",
        "kl_gaussian",
        "kl_dirichlet",
        "latent_gap",
        "sample_distinct_2",
        "sample_repeat_rate",
        "reference_distinct_2",
        "judge_ppl_samples",
        "judge_ppl_references",
        "sample_ppl_ratio",
        "interpolation_change_rate",
        "interpolation_edit_distance",
        "midpoint_repeat_rate",
        "num_samples",
        "train_wall_time_s",
    )
    lines = ["| metric (test split) | value |", "|---|---|"]
    lines += [f"| {key} | {metrics[key]:.4g} |" for key in keys if key in metrics]
    for item in examples.get("reconstructions", []):
        lines.append(f"\nin : {item['input']}\nout: {item['output']}")
    if examples.get("prior_samples"):
        lines.append("\nprior samples:\n" + "\n".join(f"  - {s}" for s in examples["prior_samples"]))
    if examples.get("interpolation"):
        lines.append(
            "\ninterpolation:\n" + "\n".join(f"  {i['tau']:.2f}: {i['output']}" for i in examples["interpolation"])
        )
    return "\n".join(lines)
