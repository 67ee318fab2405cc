# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""``nvib-hf reproduce``: the command-line face of ``nvib_hf.experiments.sweep.run_sweep``.

Its flags and its list of config-file keys come from ``SweepConfig``'s field metadata; the sweep itself (torch,
Transformers) is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from nvib_hf.cli.arguments import (
    RawDescriptionDefaultsHelpFormatter,
    add_dataclass_arguments,
    cli_fields,
    dataclass_values,
    field_default,
    flag_name,
)
from nvib_hf.cli.options import ReproduceCommandOptions
from nvib_hf.experiments.sweep_options import SweepConfig

REPRODUCE_DESCRIPTION = """Test the paper's claims (Henderson & Fehr, ICLR 2023) at this machine's scale: train the Transformer
baselines (none, vae = VT, vae_pooled = VT pooled), the NVAE at several final δ (δ_end: the compression frontier)
and the VT-stride baseline (vae_stride) at matching proportions of vectors kept, all with the main job's recipe
(the `default` preset: 4,800 steps, ~12 min each on a 2-core CPU), the claims' points again with extra seeds; then
measure reconstruction (CE, BLEU, exact match, vectors kept), the plateau exit (training log), generation from the
prior (the external judge's perplexity ratio when installed, F-PPL, R-PPL, distinct-1/2, repeat and copy rate) and
interpolation (edit distance and change share between consecutive decodes, repeat rate, judge and F-PPL of
intermediate decodes). docs/metrics.md defines each metric.

Writes OUTPUT_DIR/results.md, results.csv, claims.md, claims.json, bleu_vs_vectors_kept.png,
samples_vs_reconstruction.png, interpolations.txt, run_info.json, one model directory per run in OUTPUT_DIR/runs/NAME
and the F-PPL reference LM in OUTPUT_DIR/lm/reference. Rerunning the same command resumes: finished models are
skipped, interrupted trainings continue from their last checkpoint. Precedence: defaults < --config file < flags."""
REPRODUCE_EXAMPLE = "nvib-hf reproduce --budget 0.25 --final-delta 0.2 0.1 --extra-seeds --output-dir results-quick"


def config_keys_epilog() -> str:
    """Every ``SweepConfig`` field as a config-file key, with its help and default (as JSON, which YAML reads too)."""
    lines = ["config file keys (YAML or JSON mapping):"]
    for field in fields(SweepConfig):
        value = field_default(field)
        default = field.metadata.get("none", "none") if value is None else json.dumps(value, ensure_ascii=False)
        lines.append(f"  {field.name}: {field.metadata['help']} (default: {default})")
    return "\n".join([*lines, "example:", f"  {REPRODUCE_EXAMPLE}"])


def add_reproduce_parser(commands: Any) -> None:
    """Register ``nvib-hf reproduce`` on the CLI's sub-command parsers."""
    parser = commands.add_parser(
        "reproduce",
        help="run the paper's comparison (NVAE vs baselines) and write results",
        description=REPRODUCE_DESCRIPTION,
        epilog=config_keys_epilog(),
        formatter_class=RawDescriptionDefaultsHelpFormatter,
    )
    add_dataclass_arguments(parser, ReproduceCommandOptions)
    add_dataclass_arguments(parser, SweepConfig, unset_defaults=True)  # None: the config file's value or default
    parser.set_defaults(handler=command_reproduce)


def reproduce_command(args: argparse.Namespace) -> str:
    """The canonical command line of these arguments (recorded in results.md, run_info.json and the model cards)."""
    parts = ["nvib-hf", "reproduce"]
    if getattr(args, "config", None) is not None:
        parts += ["--config", args.config]
    for field in cli_fields(SweepConfig):
        value = getattr(args, field.name, None)
        if isinstance(value, bool):
            parts.append(flag_name(field) if value else "--no-" + flag_name(field)[2:])
        elif isinstance(value, list):
            parts += [flag_name(field), *map(str, value)]
        elif value is not None:
            parts += [flag_name(field), str(value)]
    return shlex.join(parts)


def sweep_config_from_args(args: argparse.Namespace) -> SweepConfig:
    """Defaults < ``--config`` file < flags; raises ``CliError`` with one clear line for a bad configuration."""
    from nvib_hf.utils.config_files import CliError, load_config_file

    values = load_config_file(args.config) if args.config else {}
    values.update(dataclass_values(SweepConfig, args))
    try:
        return SweepConfig.from_dict(values)
    except (TypeError, ValueError) as error:
        where = f" (config file {args.config})" if args.config else ""
        raise CliError(f"bad sweep configuration{where}: {error}") from error


def command_reproduce(args: argparse.Namespace) -> None:
    """``nvib-hf reproduce``: run the sweep and print the results table."""
    from nvib_hf.experiments.shards import launcher_shard
    from nvib_hf.experiments.sweep import run_sweep

    config = sweep_config_from_args(args)
    shard = launcher_shard()  # read before run_sweep detaches the models from the launcher
    run_sweep(config, progress=True, command=reproduce_command(args))
    output = Path(config.output_dir)
    if not shard.is_main:
        print(f"nvib-hf reproduce: shard {shard.rank} of {shard.world_size} done; shard 0 writes {output}/results.md")
        return
    print((output / "results.md").read_text(encoding="utf-8"))
    print(f"Results, plots and run info: {output}/ (model directories in {output}/runs/)", file=sys.stdout)
