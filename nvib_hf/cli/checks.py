# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The CLI's checks of user input, run before any model or data is loaded: each failure is one ``CliError`` line that
names the flag or path."""

from __future__ import annotations

import argparse
from pathlib import Path

from nvib_hf.training.options import TrainOptions
from nvib_hf.utils.config_files import CliError
from nvib_hf.utils.launcher import launcher_ranks

__all__ = [
    "check_generation_flags",
    "check_launcher_environment",
    "check_model_path",
    "check_output_dir",
    "check_sentence",
    "require_at_least",
]


def check_model_path(path: str) -> None:
    """Cheap check, before any loading: a local path must be a model directory (a Hub repo id passes)."""
    local = Path(path)
    if (local.exists() or path.startswith((".", "/"))) and not (local / "config.json").is_file():
        raise CliError(f"{path} is not a model directory (no config.json); train one with `nvib-hf train`.")


def require_at_least(flag: str, value: int | None, minimum: int) -> None:
    """``value`` (None: unset, allowed) must be >= ``minimum``; the error names the flag."""
    if value is not None and value < minimum:
        raise CliError(f"{flag} must be >= {minimum}, got {value}.")


def check_generation_flags(args: argparse.Namespace) -> None:
    require_at_least("--max-new-tokens", args.max_new_tokens, 1)
    require_at_least("--num-beams", args.num_beams, 1)
    if not 0 < args.top_p <= 1:
        raise CliError(f"--top-p must be in (0, 1], got {args.top_p}.")
    if not args.temperature > 0:
        raise CliError(f"--temperature must be > 0, got {args.temperature}.")


def check_sentence(name: str, sentence: str) -> None:
    if not sentence.strip():
        raise CliError(f"{name} is empty or whitespace-only: give a sentence to encode.")


def check_output_dir(options: TrainOptions, args: argparse.Namespace) -> None:
    """Before any data is loaded: never silently replace a trained model, and --resume needs a checkpoint."""
    from nvib_hf.training.run import resume_checkpoint

    out = Path(options.output_dir)
    if out.exists() and not out.is_dir():
        raise CliError(f"--output-dir {out} is a file, not a directory.")
    held = [name for name in ("config.json", "model.safetensors") if (out / name).is_file()]
    if held and not (args.resume or args.overwrite):
        raise CliError(
            f"{out} already holds a model ({held[0]}); pass --overwrite to replace it, --resume to continue its "
            "training, or choose another --output-dir."
        )
    resume_checkpoint(str(out / "checkpoints"), args.resume)  # the Trainer's output_dir (training_arguments)


def check_launcher_environment() -> None:
    """Under torchrun / accelerate launch: RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE are valid integers."""
    try:
        launcher_ranks()
    except ValueError as error:
        raise CliError(str(error)) from error
