# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""A sweep spread over processes or machines by an existing launcher: ``torchrun`` / ``accelerate launch``.

Under a launcher every process is one *shard* (``RANK`` of ``WORLD_SIZE``): shard r trains and evaluates the models
``model_specs()[r::WORLD_SIZE]``, each as an ordinary single-process run, into the shared ``OUTPUT/runs/NAME``; shard 0
then waits until every model's row is stored and writes the tables, plots and claims. Nothing is exchanged but
files, so several machines need only a shared output directory (``torchrun --nnodes N ...``); a failed shard makes
the launcher stop the others, and rerunning the same command resumes as a plain sweep does.

Each model must train as one process: the launcher's variables would make Transformers' ``Trainer`` join a process
group (DDP over the shards, which would average models that are meant to differ). ``detach_from_launcher`` removes
them once the shard is known.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from nvib_hf.utils.launcher import launcher_ranks

# What torchrun / accelerate launch set for a distributed job (torch.distributed.run's worker environment).
LAUNCHER_VARIABLES: tuple[str, ...] = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "GROUP_RANK",
    "GROUP_WORLD_SIZE",
    "ROLE_RANK",
    "ROLE_WORLD_SIZE",
    "ROLE_NAME",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_RUN_ID",
    "TORCHELASTIC_RESTART_COUNT",
    "TORCHELASTIC_MAX_RESTARTS",
    "TORCHELASTIC_USE_AGENT_STORE",
    "TORCHELASTIC_ERROR_FILE",
)


@dataclass(frozen=True)
class Shard:
    """This process's part of a sweep: models ``rank``, ``rank + world_size``, ... of ``model_specs()``."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Shard 0 writes the sweep's tables, plots and claims."""
        return self.rank == 0


def launcher_shard(environ: dict[str, str] | None = None) -> Shard:
    """The shard of this process from ``RANK`` / ``WORLD_SIZE`` (``Shard(0, 1)`` without a launcher).

    Raises ValueError naming the variable when they are not integers with 0 ≤ RANK < WORLD_SIZE (``launcher_ranks``).
    """
    rank, world_size = launcher_ranks(environ)
    return Shard(rank, world_size)


def detach_from_launcher() -> None:
    """Remove the launcher's variables from this process's environment (see the module docstring)."""
    for name in LAUNCHER_VARIABLES:
        os.environ.pop(name, None)


def wait_for_files(paths: list[Path], poll_s: float = 5.0, report_every_s: float = 300.0) -> None:
    """Block until every path exists (the other shards' rows), printing which are missing every few minutes."""
    last_report = time.time()
    while missing := [p for p in paths if not p.is_file()]:
        if time.time() - last_report >= report_every_s:
            names = ", ".join(p.parent.name for p in missing)
            print(
                f"nvib-hf reproduce: shard 0 waits for {len(missing)} model(s) of the other shards: {names}", flush=True
            )
            last_report = time.time()
        time.sleep(poll_s)


__all__ = ["LAUNCHER_VARIABLES", "Shard", "detach_from_launcher", "launcher_shard", "wait_for_files"]
