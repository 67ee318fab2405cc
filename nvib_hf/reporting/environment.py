# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The environment a model was trained in: package versions and hardware, for model cards and results files."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections.abc import Mapping
from typing import Any

from nvib_hf.reporting.formatting import format_duration, format_value, markdown_table

__all__ = ["ENVIRONMENT_PACKAGES", "collect_environment", "environment_table"]

ENVIRONMENT_PACKAGES = ("nvib-hf", "torch", "transformers", "tokenizers", "datasets", "accelerate", "huggingface_hub")


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _accelerator() -> str:
    import torch

    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return f"{len(names)} × {names[0]}" if len(set(names)) == 1 else ", ".join(names)
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "Apple MPS"
    return "none (CPU only)"


def collect_environment() -> dict[str, str]:
    """Package versions (python, nvib-hf, torch, transformers, …) and hardware (platform, CPUs, accelerator)."""
    from nvib_hf import __version__

    env = {"python": platform.python_version()}
    env |= {name: _package_version(name) for name in ENVIRONMENT_PACKAGES}
    if env["nvib-hf"] == "not installed":
        env["nvib-hf"] = __version__
    env |= {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "CPU cores": str(os.cpu_count()),
        "accelerator": _accelerator(),
    }
    return env


def environment_table(environment: Mapping[str, Any], wall_time_s: float | None) -> str:
    rows = [(name, format_value(value)) for name, value in environment.items()]
    rows.append(("training wall time", format_duration(wall_time_s)))
    return markdown_table(("item", "value"), rows)
