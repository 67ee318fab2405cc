# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Running the models of a sweep concurrently: ``nvib-hf reproduce --jobs N``.

The models of the paper's comparison are small, so one process leaves a GPU mostly idle (each step is a few hundred
tiny kernels, launched from Python). ``--jobs N`` runs N worker processes, each training or evaluating one model at a
time, in two phases:

1. the reference language model (and the real-data row) and every model's training;
2. every model's evaluation (prior samples, R-PPL LM, interpolation), which needs the reference LM.

Each worker is a fresh (spawned) process that rebuilds the sweep context from the config and writes exactly the
files a sequential run writes, so the results, resuming and the output files are the same as with ``--jobs 1``.
Each model's training and evaluation output goes to ``runs/NAME/worker.log`` rather than the console.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from nvib_hf.experiments.context import SweepContext
from nvib_hf.experiments.runner import data_row, run_model, train_model
from nvib_hf.experiments.sweep_options import SweepConfig


def _init_worker(threads: int) -> None:
    """Share the CPU cores between the workers (each would otherwise start one thread per core)."""
    torch.set_num_threads(threads)


def _context(values: dict[str, Any], command: str) -> SweepContext:
    return SweepContext(SweepConfig(**values), command, progress=False)


@contextlib.contextmanager
def _logged_to(path: Path):
    """Send this process's prints and progress bars to ``path`` (appended) while the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield


def _prepare_reference(values: dict[str, Any], command: str) -> None:
    """Phase 1 job: train (or load) the reference LM and compute the real-data row."""
    context = _context(values, command)
    with _logged_to(context.output / "lm" / "worker.log"):
        context.reference_lm  # noqa: B018 (cached property: trains and saves the LM)
        if context.config.data_reference:
            data_row(context)


def _model_job(values: dict[str, Any], command: str, name: str):
    """The sweep context and the ``ModelSpec`` of model ``name``, for a worker's job on that model."""
    context = _context(values, command)
    return context, next(s for s in context.config.model_specs() if s.name == name)


def _train(values: dict[str, Any], command: str, name: str) -> str | None:
    """Phase 1 job: train model ``name`` unless it is already trained; returns "trained" when it trained it."""
    context, spec = _model_job(values, command, name)
    with _logged_to(context.run_dir(name) / "worker.log"):
        train_model(spec, context.run_dir(name), context)
    return context.status.get(name)


def _evaluate(values: dict[str, Any], command: str, name: str) -> tuple[dict[str, Any], str]:
    """Phase 2 job: the row of model ``name`` (evaluated now, or read back when already evaluated)."""
    context, spec = _model_job(values, command, name)
    with _logged_to(context.run_dir(name) / "worker.log"):
        row = run_model(spec, context)
    return row, context.status[name]


def _wait(futures: dict[Future, str], desc: str, progress: bool) -> dict[str, Any]:
    """Results by name as the jobs finish; the first failure is raised, naming its job and log."""
    results: dict[str, Any] = {}
    for future in tqdm(as_completed(futures), total=len(futures), desc=desc, disable=not progress):
        name = futures[future]
        try:
            results[name] = future.result()
        except Exception as error:
            for pending in futures:
                pending.cancel()  # jobs not started yet; running ones finish (they checkpoint) before the error
            raise RuntimeError(f"sweep job {name!r} failed ({error}); see its worker.log") from error
    return results


def run_models_in_parallel(context: SweepContext) -> list[dict[str, Any]]:
    """The rows of ``context.config.model_specs()`` (in that order), computed by ``config.jobs`` workers.

    Sets ``context.status`` as a sequential run does: "trained", "evaluated" or "skipped" per model.
    """
    config = context.config
    values, command = asdict(config), context.command
    names = [spec.name for spec in config.model_specs()]
    threads = max(1, (os.cpu_count() or 1) // config.jobs)
    pool = ProcessPoolExecutor(
        max_workers=config.jobs,
        mp_context=multiprocessing.get_context("spawn"),  # CUDA cannot be used in a forked process
        initializer=_init_worker,
        initargs=(threads,),
    )
    with pool:
        phase1 = {pool.submit(_prepare_reference, values, command): "reference LM"}
        phase1 |= {pool.submit(_train, values, command, name): name for name in names}
        trained = _wait(phase1, "Training", context.progress)
        phase2 = {pool.submit(_evaluate, values, command, name): name for name in names}
        evaluated = _wait(phase2, "Evaluating", context.progress)
    for name in names:
        context.status[name] = "trained" if trained.get(name) == "trained" else evaluated[name][1]
    return [evaluated[name][0] for name in names]


__all__ = ["run_models_in_parallel"]
