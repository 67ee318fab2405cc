# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The paper's comparison (Henderson & Fehr, ICLR 2023): the NVAE frontier over δ_end against the Transformer
baselines and the VT-stride baseline, the claims' points with extra seeds (``sweep_options.py``).

``run_sweep(SweepConfig(...))`` trains every model with the same encoder/decoder sizes and step budget
(``run_training``), measures reconstruction, prior generation and interpolation (``docs/metrics.md`` defines every
metric) and writes, to ``OUTPUT``:

- ``runs/NAME/``: the model directory of each run (model card re-written with every metric), ``metrics.json``,
  ``prior_samples.txt``, ``interpolations.json`` and the R-PPL language model ``rppl_lm/``;
- ``lm/reference``: the reference LM of F-PPL (trained once on the training split);
- ``results.md``, ``results.csv``, ``claims.md``, ``claims.json``, ``bleu_vs_vectors_kept.png``,
  ``samples_vs_reconstruction.png``, ``interpolations.txt`` and ``run_info.json``.

The sweep resumes: a model whose ``eval_results.json`` and ``metrics.json`` exist is skipped, a model with only
``eval_results.json`` is re-evaluated without retraining, and an interrupted training continues from its last
checkpoint (saved every ``interval_steps``). ``nvib-hf reproduce`` is the command-line face of ``run_sweep``;
``jobs > 1`` (``--jobs``) trains and evaluates the models in that many worker processes (``workers.py``), and under
``torchrun`` / ``accelerate launch`` each launched process (on one machine or several sharing ``OUTPUT``) takes its
share of the models (``shards.py``).

The parts: ``sweep_options.py`` (configuration), ``context.py`` (data, tokenizer, reference LM),
``runner.py`` (one model: train, resume, evaluate with ``evaluate.py``), ``metrics.py``, ``outputs.py`` and
``plots.py``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from tqdm.auto import tqdm

from nvib_hf.experiments.context import SweepContext
from nvib_hf.experiments.outputs import read_row, write_outputs
from nvib_hf.experiments.runner import config_signature, data_row, run_model
from nvib_hf.experiments.shards import Shard, detach_from_launcher, launcher_shard, wait_for_files
from nvib_hf.experiments.sweep_options import SweepConfig
from nvib_hf.experiments.workers import run_models_in_parallel


def default_command(config: SweepConfig) -> str:
    """The command recorded when ``run_sweep`` is called from Python rather than the CLI."""
    return f"python -c 'from nvib_hf.experiments import SweepConfig, run_sweep; run_sweep(SweepConfig(**{json.dumps(asdict(config))}))'"


def run_sweep(config: SweepConfig, progress: bool = True, command: str | None = None) -> list[dict[str, Any]]:
    """Train and evaluate every model of ``config``, write the result files, and return one row per model
    (plus the "data" reference row when ``config.data_reference``): ``{column: value}`` with NaN for n/a."""
    config.validate()
    shard = launcher_shard()
    if shard.world_size > 1:
        if config.jobs > 1:
            raise ValueError(
                "jobs must be 1 under torchrun / accelerate launch: the launcher's processes are the jobs."
            )
        detach_from_launcher()
    start = time.time()
    context = SweepContext(config, command or default_command(config), progress)
    data_cached = (context.output / "lm" / "data.json").is_file()
    if config.jobs > 1:
        rows = run_models_in_parallel(context)
    elif shard.world_size > 1:
        rows = run_shard(context, shard)
        if not shard.is_main:
            return rows  # this shard's models only; shard 0 writes the sweep's files
    else:
        rows = [run_model(spec, context) for spec in tqdm(config.model_specs(), desc="Models", disable=not progress)]
    if config.data_reference:
        context.status["data"] = "skipped" if data_cached else "evaluated"
        rows.append(data_row(context))
    write_outputs(rows, context, started=start)
    return rows


def run_shard(context: SweepContext, shard: Shard) -> list[dict[str, Any]]:
    """Train and evaluate this shard's models (``model_specs()[rank::world_size]``, ``shards.py``); shard 0 then
    waits for the other shards' rows and returns every row in ``model_specs()`` order, the others their own."""
    specs = context.config.model_specs()
    mine = specs[shard.rank :: shard.world_size]
    rows = {spec.name: run_model(spec, context) for spec in tqdm(mine, desc=f"Models (shard {shard.rank})")}
    if not shard.is_main:
        return list(rows.values())
    others = [spec for spec in specs if spec.name not in rows]
    wait_for_files([context.run_dir(spec.name) / "metrics.json" for spec in others])
    signature = config_signature(context.config)
    for spec in others:
        rows[spec.name] = read_row(context.run_dir(spec.name) / "metrics.json", signature)
        context.status[spec.name] = f"shard {specs.index(spec) % shard.world_size}"
    return [rows[spec.name] for spec in specs]


__all__ = [
    "default_command",
    "run_shard",
    "run_sweep",
]
