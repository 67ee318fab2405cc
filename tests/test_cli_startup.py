"""The CLI starts without torch, its --help shows every option with its default, and `import nvib_hf` still registers
the NVAE with the Auto classes (each case in a fresh interpreter: import order is what is tested)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from nvib_hf.cli.options import (
    EvaluateOptions,
    GenerationOptions,
    InterpolateOptions,
    PushOptions,
    ReconstructOptions,
    ReproduceCommandOptions,
    SampleOptions,
    TrainCommandOptions,
)
from nvib_hf.experiments.sweep_options import SweepConfig
from nvib_hf.training.options import PRESETS, TrainOptions

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "train": (TrainCommandOptions, TrainOptions),
    "evaluate": (EvaluateOptions, GenerationOptions),
    "reconstruct": (ReconstructOptions, GenerationOptions),
    "sample": (SampleOptions, GenerationOptions),
    "interpolate": (InterpolateOptions, GenerationOptions),
    "push": (PushOptions,),
    "reproduce": (ReproduceCommandOptions, SweepConfig),
}


def run_python(*args: str, columns: int = 1000) -> str:
    """stdout of ``python ARGS`` in a fresh interpreter that imports this checkout (wide help: one line per option)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    env.update(COLUMNS=str(columns), OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("module", ["nvib_hf", "nvib_hf.cli.main", "nvib_hf.training.options", "nvib_hf.cli.reproduce"])
def test_cli_modules_import_without_torch(module):
    code = (
        f"import sys, json, {module}; "
        "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'nvib_hf.models.nvae') if m in sys.modules)))"
    )
    assert json.loads(run_python("-c", code)) == []


def expected_default(field, value) -> str:
    """What the help must say, written out independently of nvib_hf.cli.arguments."""
    if value is None:
        return field.metadata.get("none", "none")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def default_of(field):
    return field.default_factory() if field.default is MISSING else field.default


def option_lines(help_text: str) -> dict[str, str]:
    """``--flag`` -> its invocation and help joined on one line (COLUMNS=1000: argparse does not wrap the help)."""
    blocks: list[list[str]] = []
    for line in help_text.splitlines():
        stripped = line.strip()
        if line.startswith("  ") and stripped.startswith("-"):
            blocks.append([stripped])
        elif blocks and blocks[-1] and line.startswith("  ") and stripped:
            blocks[-1].append(stripped)
        elif blocks and blocks[-1]:
            blocks.append([])  # a blank line or a section header ends the option
    lines = {}
    for block in filter(None, blocks):
        joined = " ".join(block)
        for flag in block[0].split("  ")[0].replace(",", " ").split():
            if flag.startswith("--"):
                lines[flag] = joined
    return lines


def test_top_level_help_lists_every_command():
    out = run_python("-m", "nvib_hf.cli.main", "--help")
    assert out.startswith("usage: nvib-hf")
    for command in COMMANDS:
        assert f"\n    {command} " in out or f"\n    {command}\n" in out, command


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_help_lists_every_option_with_its_default(command):
    out = run_python("-m", "nvib_hf.cli.main", command, "--help")
    lines = option_lines(out)
    assert set(lines) - {"--help"}, out
    for flag, line in lines.items():
        assert flag == "--help" or "(default: " in line, line
    for options in COMMANDS[command]:
        shown = {**PRESETS["default"]} if options is TrainOptions else {}
        for field in fields(options):
            if not field.metadata.get("cli", True):
                continue
            if field.metadata.get("positional"):
                assert field.name in out
                continue
            flag = field.metadata.get("flag") or "--" + field.name.replace("_", "-")
            assert flag in lines, (command, flag)
            value = shown.get(field.name, default_of(field))
            assert f"(default: {expected_default(field, value)}" in lines[flag], (flag, lines[flag])


def test_train_help_shows_the_other_presets_values():
    lines = option_lines(run_python("-m", "nvib_hf.cli.main", "train", "--help"))
    assert "(default: 4800; paper: 50000, tiny: 60)" in lines["--max-steps"]
    assert "(default: wordpiece-8k; paper: bert-base-uncased, tiny: bert-base-uncased)" in lines["--tokenizer"]
    assert "(default: 32; paper: 64)" in lines["--batch-size"]


REGISTRATION_CASES = {
    "import nvib_hf, then AutoConfig": "import nvib_hf\nfrom transformers import AutoConfig, AutoModelForSeq2SeqLM\n",
    "Auto classes first, then nvib_hf": "from transformers import AutoConfig, AutoModelForSeq2SeqLM\nimport nvib_hf\n",
    # transformers.modeling_layers imports the Auto classes half-way through: registration must wait, then happen
    "a Transformers model first": "import nvib_hf\nfrom transformers import BartModel\n"
    "from transformers import AutoConfig, AutoModelForSeq2SeqLM\n",
}


@pytest.mark.parametrize("case", sorted(REGISTRATION_CASES))
def test_import_nvib_hf_registers_the_auto_classes(case):
    code = REGISTRATION_CASES[case] + (
        "config = AutoConfig.for_model('nvae', d_model=16, encoder_attention_heads=2, decoder_attention_heads=2,"
        " encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_layers=1, decoder_layers=1)\n"
        "model = AutoModelForSeq2SeqLM.from_config(config)\n"
        "import sys\n"
        "print(type(config).__name__, type(model).__name__, type(model).__module__,"
        " [type(f).__name__ for f in sys.meta_path if type(f).__module__.startswith('nvib_hf')])\n"
    )
    out = run_python("-c", code).split()
    assert out == ["NvaeConfig", "NvaeForConditionalGeneration", "nvib_hf.models.nvae.modeling_nvae", "[]"]
