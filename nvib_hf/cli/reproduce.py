# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""``nvib-hf reproduce``: the command-line face of ``nvib_hf.experiments.sweep.run_sweep``.

Its flags override a ``--config`` file, which overrides ``SweepConfig``'s defaults; the sweep itself is imported only
when the command runs."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from nvib_hf.experiments.sweep_options import DEFAULT_NVIB_LAMBDA_DIRICHLET, DEFAULT_NVIB_MODEL, SweepConfig
from nvib_hf.utils.config_files import CliError, load_config_file

# (flag, SweepConfig field) of the options `nvib-hf reproduce` takes on the command line.
REPRODUCE_FLAGS: tuple[tuple[str, str], ...] = (
    ("--config", "config"),
    ("--output-dir", "output_dir"),
    ("--budget", "budget"),
    ("--lambda-dirichlet", "nvib_lambda_dirichlet"),
    ("--models", "models"),
    ("--eval-sentences", "eval_sentences"),
    ("--prior-samples", "num_prior_samples"),
    ("--seed", "seed"),
    ("--jobs", "jobs"),
)
REPRODUCE_DESCRIPTION = """Reproduce the paper's comparison (Henderson & Fehr, ICLR 2023): train the Transformer baselines (none, vae,
vae_pooled) and the NVAE at several λ_D with the same sizes and step budget, then measure reconstruction (CE, BLEU,
exact match, vectors kept), generation from the prior (F-PPL, R-PPL, distinct-1/2, copy rate) and interpolation
(edit distance and change share between consecutive decodes, F-PPL of intermediate decodes). docs/metrics.md
defines each metric.

Writes OUTPUT_DIR/results.md, results.csv, bleu_vs_vectors_kept.png, ppl_vs_reconstruction.png,
interpolations.txt, run_info.json, one model directory per run in OUTPUT_DIR/runs/NAME and the F-PPL reference
LM in OUTPUT_DIR/lm/reference. Rerunning the same command resumes: finished models are skipped, interrupted
trainings continue from their last checkpoint. Precedence: defaults < --config file < flags."""
CONFIG_KEY_HELP: dict[str, str] = {
    "output_dir": "where every result goes (default results)",
    "budget": "multiplies every step count (default 1.0)",
    "train": "TrainOptions shared by every model, e.g. {d_model: 256, max_steps: 400, max_train_sentences: 5000, "
    "model: {...}}; step counts at budget 1",
    "interval_steps": "checkpoint and validation interval at budget 1 (default 300)",
    "eval_sentences": "held-out test sentences for reconstruction and R-PPL (default 500)",
    "num_prior_samples": "prior samples per model (default 500)",
    "interpolation_pairs": "pairs of test sentences to interpolate between (default 20)",
    "interpolation_points": "points per interpolation, τ evenly spaced in [0, 1] (default 11)",
    "lm_steps": "training steps of the reference and R-PPL language models at budget 1 (default 400)",
    "lm_batch_size": "batch size of the language models (default 32)",
    "generation_batch_size": "batch size of sampling, interpolation and perplexity (default 64)",
    "seed": "seed of training, prior samples and language models (default 42)",
    "models": "subset of models to run, as --models (default all)",
    "nvib_lambda_dirichlet": f"λ_D of the NVAE runs (default {DEFAULT_NVIB_LAMBDA_DIRICHLET})",
    "nvib_model": f"NvaeConfig fields of the NVAE runs (default {DEFAULT_NVIB_MODEL})",
    "data_reference": "add a 'data' row scoring real sentences like samples (default true)",
    "keep_checkpoints": "keep runs/NAME/checkpoints after training (default false)",
    "jobs": "worker processes running models concurrently, as --jobs (default 1)",
}
REPRODUCE_EPILOG = (
    "config file keys (YAML or JSON mapping):\n"
    + "\n".join(f"  {key}: {text}" for key, text in CONFIG_KEY_HELP.items())
    + "\nexample:\n  nvib-hf reproduce --budget 0.25 --lambda-dirichlet 0.1 1 3 10 --output-dir results-quick"
)


def add_reproduce_parser(commands: Any) -> None:
    """Register ``nvib-hf reproduce`` on the CLI's sub-command parsers."""
    parser = commands.add_parser(
        "reproduce",
        help="run the paper's comparison (NVAE vs baselines) and write results",
        description=REPRODUCE_DESCRIPTION,
        epilog=REPRODUCE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML/JSON file of sweep options (keys listed below)")
    parser.add_argument("--output-dir", help="where every result goes (default: results)")
    parser.add_argument(
        "--budget",
        type=float,
        help="multiplies every step count: models (1800 steps at 1.0), "
        "checkpoint interval and language models (default 1.0)",
    )
    parser.add_argument(
        "--lambda-dirichlet",
        nargs="+",
        type=float,
        dest="nvib_lambda_dirichlet",
        metavar="LAMBDA",
        help=f"λ_D of the NVAE runs, one run nvib_ld{{λ}} each (default {DEFAULT_NVIB_LAMBDA_DIRICHLET})",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help="run only these models: none, vae, vae_pooled, "
        "nvib_ld{λ} names, or nvib for every NVAE run (default: all)",
    )
    parser.add_argument(
        "--eval-sentences", type=int, help="held-out test sentences for reconstruction and R-PPL (default 500)"
    )
    parser.add_argument(
        "--prior-samples",
        type=int,
        dest="num_prior_samples",
        help="sentences generated from the prior per model (default 500)",
    )
    parser.add_argument("--seed", type=int, help="seed of training, prior samples and language models (default 42)")
    parser.add_argument(
        "--jobs",
        type=int,
        help="worker processes that train and evaluate models concurrently; on a GPU, one per model keeps it "
        "busy (default 1; logs go to OUTPUT_DIR/runs/NAME/worker.log)",
    )
    parser.set_defaults(handler=command_reproduce)


def reproduce_command(args: argparse.Namespace) -> str:
    """The canonical command line of these arguments (recorded in results.md, run_info.json and the model cards)."""
    parts = ["nvib-hf", "reproduce"]
    for flag, dest in REPRODUCE_FLAGS:
        value = getattr(args, dest, None)
        if value is not None:
            parts += [flag, *map(str, value)] if isinstance(value, list) else [flag, str(value)]
    return shlex.join(parts)


def sweep_config_from_args(args: argparse.Namespace) -> SweepConfig:
    """Defaults < ``--config`` file < flags; raises ``CliError`` with one clear line for a bad configuration."""
    values = load_config_file(args.config) if args.config else {}
    values.update({dest: getattr(args, dest) for _, dest in REPRODUCE_FLAGS[1:] if getattr(args, dest) is not None})
    try:
        return SweepConfig.from_dict(values)
    except (TypeError, ValueError) as error:
        where = f" (config file {args.config})" if args.config else ""
        raise CliError(f"bad sweep configuration{where}: {error}") from error


def command_reproduce(args: argparse.Namespace) -> None:
    """``nvib-hf reproduce``: run the sweep and print the results table."""
    from nvib_hf.experiments.sweep import run_sweep

    config = sweep_config_from_args(args)
    run_sweep(config, progress=True, command=reproduce_command(args))
    output = Path(config.output_dir)
    print((output / "results.md").read_text(encoding="utf-8"))
    print(f"Results, plots and run info: {output}/ (model directories in {output}/runs/)", file=sys.stdout)


__all__ = [
    "add_reproduce_parser",
    "command_reproduce",
    "reproduce_command",
    "sweep_config_from_args",
]
