# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Reconstruction evaluation of an NVAE: teacher-forced cross-entropy and accuracy, KL terms, vectors kept, and
greedy reconstructions scored with BLEU and exact match. The trainer's evaluation loop and ``evaluate_reconstruction``
(for scripts and the CLI) share these functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sacrebleu
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from nvib_hf.data.collator import NvaeDataCollator, pad_token_id_of
from nvib_hf.utils.model_modes import evaluation_mode

__all__ = [
    "MODEL_INPUTS",
    "STAT_KEYS",
    "concat_statistics",
    "evaluate_reconstruction",
    "generation_kwargs",
    "greedy_reconstructions",
    "model_columns",
    "reconstruction_statistics",
    "summarize_reconstruction",
    "text_metrics",
]

MODEL_INPUTS = ("input_ids", "attention_mask", "labels")
STAT_KEYS = ("ce_sum", "tokens", "correct", "kl_gaussian", "kl_dirichlet", "vectors_kept", "vectors_kept_proportion")


def generation_kwargs(model: Any, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Greedy decoding up to ``max_position_embeddings`` new tokens unless ``overrides`` say otherwise."""
    kwargs = {"num_beams": 1, "do_sample": False, **(overrides or {})}
    if kwargs.get("max_length") is None and kwargs.get("max_new_tokens") is None:
        kwargs["max_new_tokens"] = model.config.max_position_embeddings
    return {k: v for k, v in kwargs.items() if v is not None}


@torch.no_grad()
def reconstruction_statistics(model: Any, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-sentence statistics of one batch, in the model's current mode (use eval mode: means and pruning).

    Returns ``[B]`` tensors: ``ce_sum`` (Σ_t −log p(y_t | y_<t, z), teacher forced), ``tokens`` (labels ≠ −100),
    ``correct`` (argmax_t = y_t), ``kl_gaussian`` / ``kl_dirichlet`` (per sentence), ``vectors_kept`` and
    ``vectors_kept_proportion``.
    """
    labels = batch["labels"]
    encoder_outputs = model.get_encoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    logits = model(encoder_outputs=encoder_outputs, labels=labels).logits.float()  # [B, T, V]
    mask = labels.ne(-100)
    ce = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=-100, reduction="none")  # [B, T]
    latent = encoder_outputs.latent
    kl_g, kl_d = model.get_encoder().bottleneck.kl(latent)
    stats = {
        "ce_sum": ce.sum(-1),
        "tokens": mask.sum(-1),
        "correct": (logits.argmax(-1).eq(labels) & mask).sum(-1),
        "kl_gaussian": kl_g,
        "kl_dirichlet": kl_d,
        "vectors_kept": latent.vectors_kept,
        "vectors_kept_proportion": latent.vectors_kept_proportion,
    }
    return {k: v.detach().float() for k, v in stats.items()}


@torch.no_grad()
def greedy_reconstructions(
    model: Any, batch: Mapping[str, torch.Tensor], tokenizer: Any, generate_kwargs: Mapping[str, Any] | None = None
) -> tuple[list[str], list[str]]:
    """(predictions, references): greedy reconstructions of ``input_ids`` and the ``labels``, decoded without special
    tokens."""
    ids = model.generate(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        **generation_kwargs(model, generate_kwargs),
    )
    labels = batch["labels"].masked_fill(batch["labels"].eq(-100), tokenizer.pad_token_id or 0)
    predictions = tokenizer.batch_decode(ids, skip_special_tokens=True)
    references = tokenizer.batch_decode(labels, skip_special_tokens=True)
    return [p.strip() for p in predictions], [r.strip() for r in references]


def text_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """``bleu``: sacrebleu corpus BLEU (0–100, default 13a tokenisation, one reference each); ``exact_match``: the
    fraction of predictions equal to their reference."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references.")
    if not predictions:
        return {"bleu": 0.0, "exact_match": 0.0}
    bleu = sacrebleu.corpus_bleu(list(predictions), [list(references)]).score
    exact = sum(p == r for p, r in zip(predictions, references)) / len(predictions)
    return {"bleu": float(bleu), "exact_match": float(exact)}


def summarize_reconstruction(
    stats: Mapping[str, torch.Tensor], lambda_gaussian: float, lambda_dirichlet: float
) -> dict[str, float]:
    """Corpus metrics from concatenated per-sentence statistics.

    ``reconstruction_loss`` = Σ ce_sum / Σ tokens (cross-entropy per token), ``token_accuracy`` = Σ correct / Σ tokens,
    KL terms and vectors kept are means over sentences, ``loss`` = reconstruction_loss + λ_G KL_G + λ_D KL_D.
    """
    tokens = stats["tokens"].sum().clamp_min(1.0)
    metrics = {
        "reconstruction_loss": stats["ce_sum"].sum() / tokens,
        "token_accuracy": stats["correct"].sum() / tokens,
        **{k: stats[k].mean() for k in ("kl_gaussian", "kl_dirichlet", "vectors_kept", "vectors_kept_proportion")},
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    loss = metrics["reconstruction_loss"] + lambda_gaussian * metrics["kl_gaussian"]
    metrics["loss"] = loss + lambda_dirichlet * metrics["kl_dirichlet"]
    return metrics


def concat_statistics(parts: Iterable[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    parts = list(parts)
    if not parts:
        raise ValueError("cannot evaluate on an empty dataset.")
    return {k: torch.cat([p[k].cpu() for p in parts]) for k in STAT_KEYS}


def model_columns(dataset: Any, max_samples: int | None) -> Any:
    """The first ``max_samples`` rows, with only the model's input columns (``labels`` required)."""
    columns = getattr(dataset, "column_names", None)
    if columns is not None:
        if "labels" not in columns or "input_ids" not in columns:
            raise ValueError(f"the dataset needs input_ids and labels columns (it has {columns}).")
        dataset = dataset.select_columns([c for c in MODEL_INPUTS if c in columns])
    if max_samples is not None:
        dataset = dataset.select(range(min(max_samples, len(dataset))))
    return dataset


def evaluate_reconstruction(
    model: Any,
    dataset: Any,
    tokenizer: Any,
    batch_size: int = 32,
    max_samples: int | None = None,
    *,
    generation: bool = True,
    generate_kwargs: Mapping[str, Any] | None = None,
    lambda_gaussian: float | None = None,
    lambda_dirichlet: float | None = None,
    show_progress: bool = False,
) -> dict[str, float]:
    """Evaluate an NVAE on a tokenised dataset (``input_ids``, ``attention_mask``, ``labels``), in eval mode.

    Returns ``loss``, ``reconstruction_loss`` (CE per token), ``token_accuracy`` (teacher forced), ``kl_gaussian``,
    ``kl_dirichlet``, ``vectors_kept``, ``vectors_kept_proportion``, ``num_samples`` and, with ``generation``,
    ``bleu`` and ``exact_match`` of greedy reconstructions. λs default to the model config's.
    """
    dataset = model_columns(dataset, max_samples)
    collator = NvaeDataCollator(pad_token_id=pad_token_id_of(model, tokenizer))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collator)
    parts, predictions, references = [], [], []
    with evaluation_mode(model):
        for batch in tqdm(loader, desc="Evaluation", disable=not show_progress):
            batch = {k: v.to(model.device) for k, v in batch.items()}
            parts.append(reconstruction_statistics(model, batch))
            if generation:
                preds, refs = greedy_reconstructions(model, batch, tokenizer, generate_kwargs)
                predictions += preds
                references += refs
    lam_g = model.config.lambda_gaussian if lambda_gaussian is None else lambda_gaussian
    lam_d = model.config.lambda_dirichlet if lambda_dirichlet is None else lambda_dirichlet
    stats = concat_statistics(parts)
    metrics = summarize_reconstruction(stats, lam_g, lam_d)
    metrics["num_samples"] = len(stats["tokens"])
    return metrics | (text_metrics(predictions, references) if generation else {})
