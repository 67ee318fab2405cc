# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Option files (YAML or JSON mappings) and the one-line user error that reports a bad one.

Used by the command line (``nvib-hf train --config``, ``nvib-hf reproduce --config``); kept out of ``nvib_hf.cli``
so that the library never has to import the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def load_config_file(path: str) -> dict[str, Any]:
    """Options from a YAML or JSON file (keys: the long names of `nvib-hf train`'s flags, with underscores)."""
    file = Path(path)
    if not file.is_file():
        raise CliError(f"config file {path} does not exist.")
    text = file.read_text()
    try:
        if file.suffix in (".yaml", ".yml"):
            import yaml

            values = yaml.safe_load(text)
        else:
            values = json.loads(text)
    except Exception as error:  # noqa: BLE001 - any parse error becomes one clear message
        raise CliError(
            f"config file {path} is not valid {file.suffix.lstrip('.').upper() or 'JSON'}: {error}"
        ) from error
    if not isinstance(values, dict):
        raise CliError(f"config file {path} must hold a mapping of option names to values.")
    return values


__all__ = ["CliError", "load_config_file"]
