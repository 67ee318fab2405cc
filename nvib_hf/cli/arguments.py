# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Command-line flags derived from option dataclasses (the ``HfArgumentParser`` idea, without importing torch).

A field ``learning_rate: float = option(3e-4, "Adam learning rate")`` becomes ``--learning-rate LEARNING_RATE`` with
``type=float`` and the help ``Adam learning rate (default: 0.0003)``. The annotation gives the argparse type:
``bool`` -> ``--flag/--no-flag``, ``list[X]`` -> ``nargs="+"`` of ``X``, ``X | None`` -> ``X``. The field's
``metadata`` (``nvib_hf.utils.dataclass_options.option``) may rename the flag (``flag``), set ``choices``,
``metavar`` or ``nargs``, make it ``positional``, say what an unset value means (``none``) or keep it off the command
line (``cli=False``).

With ``unset_defaults=True`` every flag defaults to ``None`` (so presets and config files keep their values unless a
flag is given) while ``--help`` still shows the effective default.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

SCALARS: dict[type, Callable[[str], Any]] = {int: int, float: float, str: str}


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``(default: ...)`` after every option's help, unless the help already states its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "(default" in text or not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        with_default = super()._get_help_string(action)  # typeshed: str | None; argparse's own returns a str
        return text if with_default is None else with_default


class RawDescriptionDefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter, DefaultsHelpFormatter):
    """As ``DefaultsHelpFormatter``, with the description and epilog printed as written (line breaks kept)."""


def format_default(value: Any, none: str | None = None) -> str:
    """How ``--help`` shows a default: ``true``/``false``, lists space-separated (as typed), ``None`` as ``none``."""
    if value is None:
        return none or "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return " ".join(format_default(item) for item in value)
    return str(value)


def flag_name(field: dataclasses.Field) -> str:
    """``--snake-case`` of the field name unless ``metadata["flag"]`` names it."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def cli_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of ``cls`` that have a command-line flag (``metadata["cli"]`` not ``False``), in order."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def argument_kwargs(field: dataclasses.Field, annotation: Any) -> dict[str, Any]:
    """argparse keywords (type, nargs, action, choices, metavar) for one field of the given annotation."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    kwargs: dict[str, Any] = {}
    if annotation is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        kwargs.update(nargs="+", type=SCALARS[item])
    elif annotation in SCALARS:
        kwargs["type"] = SCALARS[annotation]
    else:
        raise TypeError(f"{field.name}: no command-line type for {annotation!r}; set metadata cli=False.")
    kwargs.update(
        {key: field.metadata[key] for key in ("action", "choices", "metavar", "nargs") if key in field.metadata}
    )
    return kwargs


def help_with_default(field: dataclasses.Field, value: Any, note: str = "") -> str:
    """The field's help plus ``(default: ...)`` (and ``note``, e.g. other presets' values)."""
    return f"{field.metadata.get('help', '')} (default: {format_default(value, field.metadata.get('none'))}{note})"


def add_dataclass_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    defaults: dict[str, Any] | None = None,
    default_notes: dict[str, str] | None = None,
    unset_defaults: bool = False,
) -> None:
    """One argument per command-line field of the dataclass ``cls`` (``dest`` = the field name).

    ``defaults`` replaces the dataclass defaults shown (and used, unless ``unset_defaults``); ``default_notes`` adds
    text after a field's shown default, e.g. the other presets' values. Positional fields take no default.
    """
    hints = typing.get_type_hints(cls)
    defaults, default_notes = defaults or {}, default_notes or {}
    for field in cli_fields(cls):
        kwargs = argument_kwargs(field, hints[field.name])
        if field.metadata.get("positional"):
            parser.add_argument(field.name, help=field.metadata.get("help"), **kwargs)
            continue
        value = defaults.get(field.name, field_default(field))
        note = f"; {default_notes[field.name]}" if field.name in default_notes else ""
        help_text = help_with_default(field, value, note)
        action = parser.add_argument(flag_name(field), dest=field.name, default=None, help=help_text, **kwargs)
        action.default = None if unset_defaults else value  # after construction: no second "(default: ...)"


def dataclass_values(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The command-line fields of ``cls`` that were given (not ``None``) in ``args``."""
    return {f.name: getattr(args, f.name) for f in cli_fields(cls) if getattr(args, f.name, None) is not None}
