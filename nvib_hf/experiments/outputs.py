# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The result files of a sweep: ``results.md``, ``results.csv``, ``interpolations.txt``, ``run_info.json`` (and the
plots, ``plots.py``); JSON rows with NaN stored as null, read back with NaN."""

from __future__ import annotations

import csv
import datetime
import json
import math
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nvib_hf.experiments.claims import claims_markdown, evaluate_claims
from nvib_hf.experiments.metrics import NAN, is_finite_number
from nvib_hf.experiments.plots import plot_bleu_vs_vectors_kept, plot_samples_vs_reconstruction
from nvib_hf.experiments.sweep_options import STEP_FIELDS
from nvib_hf.reporting.formatting import format_value

if TYPE_CHECKING:
    from nvib_hf.experiments.context import SweepContext

# (key, header) of the results table, in order.
IDENTITY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("model", "model"),
    ("setting", "setting"),
    ("bottleneck", "bottleneck"),
    ("final_delta", "δ_end"),
    ("keep_fraction", "stride f"),
    ("seed", "seed"),
)
RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    *IDENTITY_COLUMNS,
    ("plateau_exit_step", "plateau exit step"),
    ("kl_start_step", "KL start step"),
    ("reconstruction_loss", "rec. CE/token"),
    ("bleu", "BLEU"),
    ("exact_match", "exact match"),
    ("vectors_kept", "vectors kept"),
    ("vectors_kept_proportion", "kept proportion"),
    ("kl_gaussian", "KL_G"),
    ("kl_dirichlet", "KL_D"),
    ("latent_gap", "latent gap"),
    ("judge_ppl_samples", "judge PPL samples"),
    ("sample_ppl_ratio", "judge PPL ratio"),
    ("f_ppl", "F-PPL"),
    ("r_ppl", "R-PPL"),
    ("distinct_1", "distinct-1"),
    ("distinct_2", "distinct-2"),
    ("repeat_rate", "repeat rate"),
    ("copy_rate", "copy rate"),
    ("interp_edit_distance", "interp. edit dist."),
    ("interp_change_share", "interp. change share"),
    ("interp_repeat_rate", "interp. repeat rate"),
    ("judge_ppl_midpoints", "judge PPL midpoints"),
    ("interp_f_ppl", "interp. F-PPL"),
    ("interp_mode", "interp. mode"),
    ("train_wall_time_s", "train time (s)"),
    ("eval_wall_time_s", "eval time (s)"),
)
TEXT_COLUMNS = frozenset({"model", "setting", "bottleneck", "interp_mode"})
RECONSTRUCTION_KEYS = (
    "reconstruction_loss",
    "bleu",
    "exact_match",
    "vectors_kept",
    "vectors_kept_proportion",
    "kl_gaussian",
    "kl_dirichlet",
    "latent_gap",
)
# From the run's own evaluation (``eval_results.json``): SmolLM2-135M perplexities of 200 prior samples, of the
# first 200 test sentences and of the interpolation midpoints (τ = 0.5), when the judge is installed.
JUDGE_KEYS = ("judge_ppl_samples", "judge_ppl_references", "sample_ppl_ratio", "judge_ppl_midpoints")
PRIOR_KEYS = ("f_ppl", "r_ppl", "distinct_1", "distinct_2", "copy_rate", "repeat_rate")
INTERPOLATION_KEYS = ("interp_edit_distance", "interp_change_share", "interp_f_ppl", "interp_repeat_rate")


def write_json(path: Path, payload: Any) -> None:
    """JSON with NaN written as null."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_nan_to_none(payload), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    return value


def read_row(path: Path, signature: str) -> dict[str, Any]:
    """A stored row (null -> NaN for metric columns); warns when it was made with another sweep config."""
    stored = json.loads(path.read_text())
    if stored.get("signature") != signature:
        warnings.warn(f"{path} was written by a sweep with other settings; delete it to recompute.", stacklevel=2)
    row = stored["row"]
    numeric = {k for k, _ in RESULT_COLUMNS} - TEXT_COLUMNS - {"final_delta", "keep_fraction", "seed"}
    return {k: (NAN if v is None and k in numeric else v) for k, v in row.items()}


def format_cell(value: Any) -> str:
    """Markdown cell of a results table: n/a for a missing value (None, NaN), — for an empty one, otherwise the
    project's one number formatter (``reporting.formatting.format_value``: 4 significant digits for floats)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value == "":
        return "—"
    return value if isinstance(value, str) else format_value(value)


def write_results_markdown(rows: list[dict[str, Any]], path: Path, command: str) -> None:
    """``results.md``: the command, the table model × metric, and what the columns mean."""
    header = "| " + " | ".join(h for _, h in RESULT_COLUMNS) + " |"
    lines = [
        f"Command: `{command}`",
        "",
        "# NVAE vs Transformer baselines: the compression frontier",
        "",
        header,
        "|" + "---|" * len(RESULT_COLUMNS),
    ]
    lines += ["| " + " | ".join(format_cell(row.get(k)) for k, _ in RESULT_COLUMNS) + " |" for row in rows]
    lines += [
        "",
        "Reconstruction: held-out test sentences. Vectors kept exclude the NVIB prior component. Prior "
        "metrics are n/a for `none` (no prior). The `data` row scores real sentences the same way (its judge PPL: "
        "the first 200 test sentences, every model's reference). Plateau exit: the first logged step with "
        "training CE < 4 (`training_log.json`). Every metric is defined in `docs/metrics.md` of nvib-hf.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_results_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """``results.csv``: one row per model, the columns of ``RESULT_COLUMNS`` (empty cell = n/a)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([k for k, _ in RESULT_COLUMNS])
        for row in rows:
            values = [row.get(k) for k, _ in RESULT_COLUMNS]
            writer.writerow(["" if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values])


def write_interpolations(rows: list[dict[str, Any]], context: SweepContext, path: Path) -> None:
    """``interpolations.txt``: for each sentence pair, every model's decode at every τ."""
    stored = {}
    for row in rows:
        file = context.run_dir(row["model"]) / "interpolations.json"
        if file.is_file():
            stored[row["model"]] = json.loads(file.read_text())
    taus = context.taus
    lines = [
        f"Interpolations between pairs of test sentences: τ = {', '.join(f'{t:g}' for t in taus)} "
        "(greedy decoding; τ = 0 decodes A, τ = 1 decodes B).",
        "",
    ]
    for index, (a, b) in enumerate(context.pairs):
        lines += [f"=== pair {index + 1} ===", f"A: {a}", f"B: {b}"]
        for name, item in stored.items():
            lines.append(f"--- {name} ({item['mode']}) ---")
            lines += [f"  τ={tau:.1f}: {text}" for tau, text in zip(item["taus"], item["decodes"][index])]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def write_run_info(rows: list[dict[str, Any]], context: SweepContext, path: Path, started: float) -> None:
    """``run_info.json``: command, sweep config, effective step counts, environment, wall time per model (from the
    session that trained or evaluated it), their sum, and the total wall time of this invocation."""
    from nvib_hf.reporting.environment import collect_environment

    config = context.config
    models = {
        row["model"]: {
            "status": context.status.get(row["model"], "skipped"),
            "train_wall_time_s": row.get("train_wall_time_s"),
            "eval_wall_time_s": row.get("eval_wall_time_s"),
        }
        for row in rows
    }
    timings = ("train_wall_time_s", "eval_wall_time_s")
    steps = {k: v for k, v in config.base_train_values().items() if k in STEP_FIELDS}
    steps |= {"interval_steps": config.scaled(config.interval_steps), "lm_steps": config.scaled(config.lm_steps)}
    write_json(
        path,
        {
            "command": context.command,
            "sweep_config": asdict(config),
            "effective_steps": steps,
            "environment": collect_environment(),
            "models": models,
            "total_wall_time_s": round(time.time() - started, 1),  # this invocation
            "sum_of_model_wall_times_s": round(sum(_finite_or_zero(r.get(k)) for r in rows for k in timings), 1),
            "finished_at": datetime.datetime.now().isoformat(timespec="seconds"),
        },
    )


def _finite_or_zero(value: Any) -> float:
    return float(value) if is_finite_number(value) else 0.0


def write_claims(rows: list[dict[str, Any]], out: Path, command: str) -> None:
    """``claims.json`` and ``claims.md``: the paper's claims tested on these rows (``claims.py``: rules, verdicts)."""
    claims = evaluate_claims(rows)
    write_json(out / "claims.json", {"command": command, "claims": claims})
    lines = [f"Command: `{command}`", "", "# The paper's claims", "", *claims_markdown(claims), ""]
    lines.append("Rules for the verdicts: `nvib_hf/experiments/claims.py` (module docstring).")
    (out / "claims.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_outputs(rows: list[dict[str, Any]], context: SweepContext, started: float) -> None:
    """Every file of ``OUTPUT`` listed in the module docstring."""
    out = context.output
    out.mkdir(parents=True, exist_ok=True)
    write_results_markdown(rows, out / "results.md", context.command)
    write_results_csv(rows, out / "results.csv")
    plot_bleu_vs_vectors_kept(rows, out / "bleu_vs_vectors_kept.png")
    plot_samples_vs_reconstruction(rows, out / "samples_vs_reconstruction.png")
    write_claims(rows, out, context.command)
    write_interpolations(rows, context, out / "interpolations.txt")
    write_run_info(rows, context, out / "run_info.json", started)


__all__ = [
    "IDENTITY_COLUMNS",
    "INTERPOLATION_KEYS",
    "JUDGE_KEYS",
    "TEXT_COLUMNS",
    "PRIOR_KEYS",
    "RECONSTRUCTION_KEYS",
    "RESULT_COLUMNS",
    "format_cell",
    "read_row",
    "write_interpolations",
    "write_claims",
    "write_json",
    "write_outputs",
    "write_results_csv",
    "write_results_markdown",
    "write_run_info",
]
