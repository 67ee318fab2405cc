# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Human-readable numbers, durations and Markdown tables: one formatter for model cards and result tables."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["cell", "format_duration", "format_value", "markdown_table"]


def format_value(value: Any) -> str:
    """A short human-readable form: 4 significant digits for floats, thousands separators for large ints."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, Mapping):
        return json.dumps({str(k): v for k, v in value.items()}, default=str)
    if isinstance(value, (list, tuple)):
        return _format_sequence(value)
    if hasattr(value, "to_dict"):  # e.g. a KLSchedule
        return format_value(value.to_dict())
    return str(value)


def _format_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return format_value(int(value))
    return f"{value:.4g}"


def _format_sequence(values: Sequence[Any]) -> str:
    if len(values) > 8:
        return f"{len(values)} values: [{', '.join(format_value(v) for v in values[:4])}, …]"
    return "[" + ", ".join(format_value(v) for v in values) + "]"


def format_duration(seconds: float | None) -> str:
    """``"1 h 02 min 03 s (3,723 s)"``, ``"42.5 s"``, or ``"not recorded"``."""
    if seconds is None:
        return "not recorded"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    clock = f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"
    return f"{clock} ({format_value(int(round(seconds)))} s)"


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; cells are escaped."""
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
