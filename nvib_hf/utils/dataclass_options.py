# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Building option dataclasses from user dicts (config files, CLI): one clear error for unknown keys."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


def reject_unknown_fields(cls: type, values: dict[str, Any], what: str) -> None:
    """Raise ``ValueError`` naming every key of ``values`` that is not a field of the dataclass ``cls``."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; valid: {sorted(known)}.")
