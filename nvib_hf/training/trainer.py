# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Training and evaluation of the NVAE with the Transformers ``Seq2SeqTrainer``.

- ``NvaeTrainer``: KL-weight schedules (``nvib_hf.training.schedules``) applied at every step, the parts of the objective logged
  to every reporter, gradient accumulation that reproduces the large-batch objective, and a reconstruction
  evaluation (teacher-forced cross-entropy and accuracy, KL terms, vectors kept; optionally greedy reconstructions
  scored with BLEU and exact match).
- ``evaluate_reconstruction``: the same evaluation as a plain function (for scripts and the CLI).
- ``NvaeDataCollator``: right-pads ``input_ids`` / ``attention_mask`` / ``labels`` (labels with −100).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sacrebleu
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import Seq2SeqTrainer
from transformers.trainer_utils import speed_metrics

from nvib_hf.training.checkpointing import ResumableTrainerMixin
from nvib_hf.training.schedules import DecaySchedule, KLSchedule

MODEL_INPUTS = ("input_ids", "attention_mask", "labels")
TRAIN_LOG_KEYS = (
    "reconstruction_loss",
    "kl_gaussian",
    "kl_dirichlet",
    "lambda_gaussian",
    "lambda_dirichlet",
    "vectors_kept",
    "vectors_kept_proportion",
)
STAT_KEYS = ("ce_sum", "tokens", "correct", "kl_gaussian", "kl_dirichlet", "vectors_kept", "vectors_kept_proportion")


# ---------------------------------------------------------------------------------------------------------------
# Data collation
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class NvaeDataCollator:
    """Right-pads a list of tokenised examples into a batch of tensors.

    ``input_ids`` are padded with ``pad_token_id``, ``attention_mask`` with 0 (all ones when a feature has none),
    ``labels`` with ``label_pad_token_id`` (−100, ignored by the loss). Other columns are dropped.
    """

    pad_token_id: int = 0
    label_pad_token_id: int = -100
    pad_to_multiple_of: int | None = None

    def _pad(self, rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
        length = max(len(row) for row in rows)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        return torch.tensor([list(row) + [value] * (length - len(row)) for row in rows], dtype=torch.long)

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        input_ids = [list(f["input_ids"]) for f in features]
        masks = [
            list(f["attention_mask"]) if "attention_mask" in f else [1] * len(ids)
            for f, ids in zip(features, input_ids)
        ]
        batch = {"input_ids": self._pad(input_ids, self.pad_token_id), "attention_mask": self._pad(masks, 0)}
        if "labels" in features[0]:
            batch["labels"] = self._pad([list(f["labels"]) for f in features], self.label_pad_token_id)
        return batch


def _pad_token_id(model: Any, tokenizer: Any) -> int:
    """The pad id of the model's config, else of the tokenizer, else 0."""
    for source in (getattr(model, "config", None), tokenizer):
        pad = getattr(source, "pad_token_id", None)
        if pad is not None:
            return int(pad)
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Reconstruction evaluation
# ---------------------------------------------------------------------------------------------------------------


def _generation_kwargs(model: Any, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
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
        **_generation_kwargs(model, generate_kwargs),
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


def _concat(parts: Iterable[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    parts = list(parts)
    if not parts:
        raise ValueError("cannot evaluate on an empty dataset.")
    return {k: torch.cat([p[k].cpu() for p in parts]) for k in STAT_KEYS}


def _model_columns(dataset: Any, max_samples: int | None) -> Any:
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
    dataset = _model_columns(dataset, max_samples)
    collator = NvaeDataCollator(pad_token_id=_pad_token_id(model, tokenizer))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collator)
    was_training = model.training
    model.eval()
    parts, predictions, references = [], [], []
    try:
        for batch in tqdm(loader, desc="Evaluation", disable=not show_progress):
            batch = {k: v.to(model.device) for k, v in batch.items()}
            parts.append(reconstruction_statistics(model, batch))
            if generation:
                preds, refs = greedy_reconstructions(model, batch, tokenizer, generate_kwargs)
                predictions += preds
                references += refs
    finally:
        model.train(was_training)
    lam_g = model.config.lambda_gaussian if lambda_gaussian is None else lambda_gaussian
    lam_d = model.config.lambda_dirichlet if lambda_dirichlet is None else lambda_dirichlet
    stats = _concat(parts)
    metrics = summarize_reconstruction(stats, lam_g, lam_d)
    metrics["num_samples"] = len(stats["tokens"])
    return metrics | (text_metrics(predictions, references) if generation else {})


# ---------------------------------------------------------------------------------------------------------------
# Trainer
# ---------------------------------------------------------------------------------------------------------------


class _RunningMeans:
    """Weighted running means of scalars. Tensors stay tensors (no device sync per step); Python numbers (the KL
    weights) stay exact Python floats."""

    def __init__(self) -> None:
        self.sums: dict[str, Any] = {}
        self.weights: dict[str, Any] = {}

    def add(self, name: str, value: torch.Tensor | float, weight: torch.Tensor | float) -> None:
        if isinstance(value, torch.Tensor):
            value = value.detach().float()
        if isinstance(weight, torch.Tensor):
            weight = weight.detach().float()
        self.sums[name] = self.sums.get(name, 0.0) + value * weight
        self.weights[name] = self.weights.get(name, 0.0) + weight

    def __bool__(self) -> bool:
        return bool(self.sums)

    def pop(self) -> dict[str, Any]:
        """The means since the last ``pop`` (tensors or floats), then reset."""
        means = {k: self.sums[k] / self.weights[k] for k in self.sums}
        self.sums, self.weights = {}, {}
        return means


class NvaeTrainer(ResumableTrainerMixin, Seq2SeqTrainer):
    """``Seq2SeqTrainer`` for the NVAE: scheduled KL weights, logged loss parts, reconstruction evaluation; atomic
    checkpoints and exact resumption (``ResumableTrainerMixin``, ``nvib_hf.training.checkpointing``).

    Args:
        kl_gaussian_schedule / kl_dirichlet_schedule: ``KLSchedule`` of λ_G / λ_D over global steps; ``None`` keeps
            the model config's ``lambda_gaussian`` / ``lambda_dirichlet``.
        alignment_schedule: ``DecaySchedule`` of the guided-alignment weight λ_A (``alignment.py``); ``None`` keeps
            the config's ``lambda_alignment``. Its loss and weight are logged as ``alignment_loss`` and
            ``lambda_alignment`` while it is on.
        generation_eval: add greedy-reconstruction ``bleu`` and ``exact_match`` to ``evaluate()``; ``None`` follows
            ``args.predict_with_generate``. Needs ``processing_class`` (the tokenizer) to decode.
        data_collator: defaults to ``NvaeDataCollator`` with the model's pad id.
        Other arguments: those of ``Seq2SeqTrainer``.

    The training loss of one optimiser step with micro-batches b (gradient accumulation) is the large-batch objective
        L = Σ_b CE_sum_b / Σ_b n_tok_b + Σ_b (λ_G KL_G,b + λ_D KL_D,b)·|b| / Σ_b |b|,
    i.e. CE per target token and KL terms per sentence over the whole accumulated batch, with λ = schedule(global_step).
    Every training log (each dict with ``loss``) gains ``TRAIN_LOG_KEYS``: means over the steps since the last log.
    """

    loss_is_scaled_for_ga = True

    def __init__(
        self,
        model: Any = None,
        args: Any = None,
        data_collator: Any = None,
        *,
        kl_gaussian_schedule: KLSchedule | None = None,
        kl_dirichlet_schedule: KLSchedule | None = None,
        alignment_schedule: DecaySchedule | None = None,
        generation_eval: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if data_collator is None:
            data_collator = NvaeDataCollator(pad_token_id=_pad_token_id(model, kwargs.get("processing_class")))
        super().__init__(model=model, args=args, data_collator=data_collator, **kwargs)
        if self.args.label_smoothing_factor:
            raise ValueError("NvaeTrainer computes its own loss: label_smoothing_factor must be 0.")
        for name, schedule in (
            ("kl_gaussian_schedule", kl_gaussian_schedule),
            ("kl_dirichlet_schedule", kl_dirichlet_schedule),
        ):
            if schedule is not None and not isinstance(schedule, KLSchedule):
                raise ValueError(f"{name} must be a KLSchedule or None (got {type(schedule).__name__}).")
        if alignment_schedule is not None and not isinstance(alignment_schedule, DecaySchedule):
            raise ValueError(
                f"alignment_schedule must be a DecaySchedule or None (got {type(alignment_schedule).__name__})."
            )
        self.alignment_schedule = alignment_schedule
        self.kl_gaussian_schedule = kl_gaussian_schedule
        self.kl_dirichlet_schedule = kl_dirichlet_schedule
        self.generation_eval = generation_eval
        self._train_means = _RunningMeans()
        self._accumulated_counts: tuple[torch.Tensor, int] | None = None

    # --- KL weights ------------------------------------------------------------------------------------------------
    def kl_weights(self, step: int | None = None) -> tuple[float, float]:
        """(λ_G, λ_D) at ``step`` (default: the current global step) from the schedules or the model config."""
        step = self.state.global_step if step is None else step
        config = self.accelerator.unwrap_model(self.model).config
        lam_g = self.kl_gaussian_schedule(step) if self.kl_gaussian_schedule is not None else config.lambda_gaussian
        lam_d = self.kl_dirichlet_schedule(step) if self.kl_dirichlet_schedule is not None else config.lambda_dirichlet
        return float(lam_g), float(lam_d)

    # --- training --------------------------------------------------------------------------------------------------
    def get_batch_samples(self, epoch_iterator: Any, num_batches: int, device: Any) -> tuple[list, Any]:
        """Also count target tokens and sentences of the whole accumulated batch, to normalise the loss over it."""
        batch_samples, num_items_in_batch = super().get_batch_samples(epoch_iterator, num_batches, device)
        labels = [batch["labels"] for batch in batch_samples if "labels" in batch]
        if labels:
            # a tensor (sum's stub types it by its start, 0)
            tokens = cast(torch.Tensor, sum(label.ne(-100).sum() for label in labels))
            self._accumulated_counts = (tokens, sum(label.shape[0] for label in labels))
        return batch_samples, num_items_in_batch

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        """The scheduled objective (see the class docstring); records its parts for logging while training."""
        if "labels" not in inputs:
            raise ValueError("NvaeTrainer needs labels (the input ids without the leading [CLS], −100 for padding).")
        lam_g, lam_d = self.kl_weights()
        lam_a = None if self.alignment_schedule is None else self.alignment_schedule(self.state.global_step)
        outputs = model(**inputs, lambda_gaussian=lam_g, lambda_dirichlet=lam_d, lambda_alignment=lam_a)
        if not model.training:
            return (outputs.loss, outputs) if return_outputs else outputs.loss
        labels = inputs["labels"]
        tokens, sentences = labels.ne(-100).sum(), labels.shape[0]
        total_tokens, total_sentences = self._accumulated_counts or (tokens, sentences)
        token_share = tokens / total_tokens.to(tokens.device).clamp_min(1)
        sentence_share = sentences / total_sentences
        zero = outputs.reconstruction_loss.new_zeros(())
        kl_g = zero if outputs.kl_gaussian is None else outputs.kl_gaussian
        kl_d = zero if outputs.kl_dirichlet is None else outputs.kl_dirichlet
        loss = outputs.reconstruction_loss * token_share + (lam_g * kl_g + lam_d * kl_d) * sentence_share
        if outputs.alignment_loss is not None:
            lam_a = model.config.lambda_alignment if lam_a is None else lam_a
            loss = loss + lam_a * outputs.alignment_loss * token_share
            self._train_means.add("alignment_loss", outputs.alignment_loss.detach(), token_share)
            self._train_means.add("lambda_alignment", lam_a, sentence_share)
        self._record_train_step(outputs, kl_g, kl_d, lam_g, lam_d, token_share, sentence_share)
        return (loss, outputs) if return_outputs else loss

    def _record_train_step(self, outputs, kl_g, kl_d, lam_g, lam_d, token_share, sentence_share) -> None:
        """Accumulate this micro-batch's parts, weighted by its share of the accumulated batch."""
        means = self._train_means
        means.add("reconstruction_loss", outputs.reconstruction_loss, token_share)
        for name, value in (
            ("kl_gaussian", kl_g),
            ("kl_dirichlet", kl_d),
            ("lambda_gaussian", lam_g),
            ("lambda_dirichlet", lam_d),
        ):
            means.add(name, value, sentence_share)
        if outputs.vectors_kept is not None:
            means.add("vectors_kept", outputs.vectors_kept.float().mean(), sentence_share)
            means.add("vectors_kept_proportion", outputs.vectors_kept_proportion.float().mean(), sentence_share)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the means of the loss parts since the last log to each training log, then log as usual."""
        if "loss" in logs and self._train_means:
            means = self._train_means.pop()
            names = sorted(k for k, v in means.items() if isinstance(v, torch.Tensor))
            if names:
                values = torch.stack([means[k].to(self.args.device) for k in names])
                if self.accelerator.num_processes > 1:
                    # accelerate types reduce's result as a mapping; a tensor in gives a tensor out
                    values = cast(torch.Tensor, self.accelerator.reduce(values, reduction="mean"))
                means |= dict(zip(names, values.tolist()))
            logs.update({k: float(means[k]) for k in sorted(means)})
        super().log(logs, start_time)

    # --- evaluation ------------------------------------------------------------------------------------------------
    def evaluate(
        self,
        eval_dataset: Any = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "eval",
        generation_eval: bool | None = None,
        max_samples: int | None = None,
        **gen_kwargs: Any,
    ) -> dict[str, float]:
        """Reconstruction metrics ``{prefix}_loss``, ``_reconstruction_loss``, ``_token_accuracy``, ``_kl_gaussian``,
        ``_kl_dirichlet``, ``_vectors_kept``, ``_vectors_kept_proportion`` (eval mode), plus ``_bleu`` and
        ``_exact_match`` of greedy reconstructions when generation evaluation is on. ``eval_loss`` uses the current
        KL weights. ``gen_kwargs`` go to ``generate()`` (greedy, ``max_position_embeddings`` new tokens by default).
        """
        dataset = self.eval_dataset if eval_dataset is None else eval_dataset
        if isinstance(dataset, dict):
            metrics = {}
            for name, split in dataset.items():
                metrics |= self.evaluate(
                    split, ignore_keys, f"{metric_key_prefix}_{name}", generation_eval, max_samples, **gen_kwargs
                )
            return metrics
        if dataset is None:
            raise ValueError("NvaeTrainer.evaluate needs an eval_dataset.")
        self._memory_tracker.start()
        dataloader = self.get_eval_dataloader(_model_columns(dataset, max_samples))
        start_time = time.time()
        generate = self._generation_on(generation_eval)
        metrics = self._reconstruction_loop(dataloader, generate, self._eval_generate_kwargs(gen_kwargs))
        metrics = {f"{metric_key_prefix}_{k}": v for k, v in metrics.items()}
        num_samples = metrics.pop(f"{metric_key_prefix}_num_samples")
        metrics |= speed_metrics(metric_key_prefix, start_time, num_samples=num_samples, num_steps=len(dataloader))
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        self._memory_tracker.stop_and_update_metrics(metrics)
        return metrics

    def _generation_on(self, generation_eval: bool | None) -> bool:
        """Whether to score greedy reconstructions: the call's flag, else the trainer's, else predict_with_generate."""
        flag = generation_eval if generation_eval is not None else self.generation_eval
        flag = bool(getattr(self.args, "predict_with_generate", False)) if flag is None else flag
        if flag and self.processing_class is None:
            raise ValueError("generation evaluation needs processing_class (the tokenizer) to decode.")
        return flag

    def _eval_generate_kwargs(self, gen_kwargs: dict[str, Any]) -> dict[str, Any]:
        """``gen_kwargs``, completed with the training arguments' generation_max_length / generation_num_beams."""
        gen_kwargs = dict(gen_kwargs)
        if gen_kwargs.get("max_length") is None and gen_kwargs.get("max_new_tokens") is None:
            gen_kwargs["max_length"] = getattr(self.args, "generation_max_length", None)
        if gen_kwargs.get("num_beams") is None:
            gen_kwargs["num_beams"] = getattr(self.args, "generation_num_beams", None) or 1
        return gen_kwargs

    def _reconstruction_loop(self, dataloader: DataLoader, generate: bool, gen_kwargs: dict) -> dict[str, float]:
        """Run ``reconstruction_statistics`` (and greedy reconstructions) over ``dataloader``, gathered across
        processes; returns the summarised metrics plus ``num_samples``."""
        model = self.accelerator.unwrap_model(self.model)
        was_training = model.training
        model.eval()
        # as Transformers' own Trainer does; CallbackHandler's __init__ sets it to None, which pyright takes as its type
        self.callback_handler.eval_dataloader = dataloader  # pyright: ignore[reportAttributeAccessIssue]
        parts, predictions, references = [], [], []
        try:
            for batch in dataloader:
                batch = self._prepare_inputs(batch)
                parts.append(self.accelerator.gather_for_metrics(reconstruction_statistics(model, batch)))
                if generate:
                    preds, refs = greedy_reconstructions(model, batch, self.processing_class, gen_kwargs)
                    predictions += self.accelerator.gather_for_metrics(preds, use_gather_object=True)
                    references += self.accelerator.gather_for_metrics(refs, use_gather_object=True)
                self.control = self.callback_handler.on_prediction_step(self.args, self.state, self.control)
        finally:
            model.train(was_training)
        stats = _concat(parts)
        metrics = summarize_reconstruction(stats, *self.kl_weights())
        metrics["num_samples"] = len(stats["tokens"])
        return metrics | (text_metrics(predictions, references) if generate else {})


__all__ = [
    "TRAIN_LOG_KEYS",
    "NvaeDataCollator",
    "NvaeTrainer",
    "evaluate_reconstruction",
    "greedy_reconstructions",
    "reconstruction_statistics",
    "summarize_reconstruction",
    "text_metrics",
]
