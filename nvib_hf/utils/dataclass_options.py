# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Option dataclasses: fields that carry their command-line help (``option``), and one clear error for unknown keys
when building them from user dicts (config files, CLI)."""

from __future__ import annotations

from dataclasses import MISSING, field, fields
from typing import Any


def reject_unknown_fields(cls: type, values: dict[str, Any], what: str) -> None:
    """Raise ``ValueError`` naming every key of ``values`` that is not a field of the dataclass ``cls``."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; valid: {sorted(known)}.")


def option(default: Any = MISSING, help: str = "", *, factory: Any = MISSING, **cli: Any) -> Any:
    """A dataclass field with its command-line documentation in ``metadata``.

    ``help`` is the flag's help text (``nvib-hf COMMAND --help`` appends the default); ``cli`` holds optional
    argparse settings read by ``nvib_hf.cli.arguments``: ``flag`` (another flag name), ``choices``, ``metavar``,
    ``nargs``, ``none`` (what an unset value means, shown as the default), ``positional`` and ``cli=False`` (no flag:
    config files only). ``factory`` is the field's ``default_factory`` (mutable defaults).
    """
    metadata = {"help": help, **cli}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)
