# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The sections of a model card: architecture, objective, config and training tables, metrics, examples."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from nvib_hf.models.nvae.configuration_nvae import NvaeConfig
from nvib_hf.models.nvae.registry import bottleneck_class
from nvib_hf.reporting.formatting import cell, format_value, markdown_table

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
    "final_delta",
    "delta_ramp_start_step",
    "delta_ramp_end_step",
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
            body = "\n".join(f"{i + 1}. {cell(item)}" for i, item in enumerate(items))
        blocks.append(f"{title}\n\n{body or 'none'}")
    return "\n\n".join(blocks)
