"""Flags derived from option dataclasses (nvib_hf.cli.arguments) and the parsers built from them."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass

import pytest

from nvib_hf.cli.arguments import DefaultsHelpFormatter, add_dataclass_arguments, dataclass_values
from nvib_hf.cli.main import build_parser
from nvib_hf.cli.reproduce import reproduce_command
from nvib_hf.training.options import BUILTIN_BOTTLENECKS, TrainOptions
from nvib_hf.utils.dataclass_options import option


@dataclass
class Toy:
    name: str = option(help="positional name", positional=True)
    steps: int = option(3, "number of steps")
    rate: float | None = option(None, "a rate", none="automatic")
    tags: list[str] = option(help="tags", factory=lambda: ["a", "b"], metavar="TAG")
    kind: str = option("x", "kind", choices=("x", "y"))
    fast: bool = option(True, "go fast")
    renamed_field: int = option(1, "has another flag", flag="--other")
    hidden: dict = option(help="config files only", factory=dict, cli=False)


def toy_parser(**kwargs) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toy", formatter_class=DefaultsHelpFormatter)
    add_dataclass_arguments(parser, Toy, **kwargs)
    return parser


def test_types_actions_and_defaults_come_from_the_annotations():
    args = toy_parser().parse_args(["n", "--steps", "5", "--rate", "0.5", "--tags", "c", "--no-fast", "--other", "7"])
    assert vars(args) == {
        "name": "n",
        "steps": 5,
        "rate": 0.5,
        "tags": ["c"],
        "kind": "x",
        "fast": False,
        "renamed_field": 7,
    }
    assert vars(toy_parser().parse_args(["n"])) == {
        "name": "n",
        "steps": 3,
        "rate": None,
        "tags": ["a", "b"],
        "kind": "x",
        "fast": True,
        "renamed_field": 1,
    }
    with pytest.raises(SystemExit):
        toy_parser().parse_args(["n", "--kind", "z"])
    with pytest.raises(SystemExit):
        toy_parser().parse_args(["n", "--steps", "1.5"])
    with pytest.raises(SystemExit):
        toy_parser().parse_args(["n", "--hidden", "{}"])


def test_unset_defaults_leave_flags_none_but_help_shows_the_default():
    parser = toy_parser(unset_defaults=True, defaults={"steps": 9}, default_notes={"steps": "other: 4"})
    args = parser.parse_args(["n"])
    assert args.steps is None and args.fast is None and args.tags is None
    assert dataclass_values(Toy, parser.parse_args(["n", "--steps", "2"])) == {"name": "n", "steps": 2}
    text = " ".join(parser.format_help().split())
    for expected in (
        "number of steps (default: 9; other: 4)",
        "a rate (default: automatic)",
        "tags (default: a b)",
        "go fast (default: true)",
        "has another flag (default: 1)",
    ):
        assert expected in text
    assert text.count("(default:") == 6  # every option once (help excluded), positional none


def test_train_flags_default_to_none_so_presets_and_config_files_apply():
    args = build_parser().parse_args(["train"])
    assert all(getattr(args, name) is None for name in ("learning_rate", "bf16", "report_to", "max_steps"))
    assert args.preset == "default" and args.resume is False and args.overwrite is False
    args = build_parser().parse_args(
        ["train", "--bf16", "--report-to", "none", "tensorboard", "--learning-rate", "1e-3", "--no-group-by-length"]
    )
    values = dataclass_values(TrainOptions, args)
    assert values == {
        "bf16": True,
        "report_to": ["none", "tensorboard"],
        "learning_rate": 1e-3,
        "group_by_length": False,
    }


def test_builtin_bottleneck_names_are_the_registrys():
    from nvib_hf.models.nvae.registry import bottleneck_names

    assert tuple(BUILTIN_BOTTLENECKS) == tuple(bottleneck_names())


def test_reproduce_flags_map_to_sweep_config_fields_and_round_trip():
    argv = ["reproduce", "--config", "s.yaml", "--final-delta", "0.1", "1", "--prior-samples", "3", "--models"]
    argv += ["none", "nvib", "--no-data-reference", "--budget", "0.5"]
    args = build_parser().parse_args(argv)
    assert args.nvib_final_delta == [0.1, 1.0] and args.num_prior_samples == 3 and args.data_reference is False
    command = reproduce_command(args)
    assert command.startswith("nvib-hf reproduce --config s.yaml --budget 0.5")
    again = build_parser().parse_args(shlex.split(command)[1:])
    assert {k: v for k, v in vars(again).items() if k != "handler"} == {
        k: v for k, v in vars(args).items() if k != "handler"
    }
