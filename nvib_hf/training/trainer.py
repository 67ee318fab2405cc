# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Training and evaluation of the NVAE with the Transformers ``Seq2SeqTrainer``.

- ``NvaeTrainer``: KL-weight schedules (``nvib_hf.training.schedules``) applied at every step, the parts of the objective logged
  to every reporter, gradient accumulation that reproduces the large-batch objective, and a reconstruction
  evaluation (teacher-forced cross-entropy and accuracy, KL terms, vectors kept; optionally greedy reconstructions
  scored with BLEU and exact match).
The evaluation's functions live in ``nvib_hf.evaluation.reconstruction`` (``evaluate_reconstruction`` is the same
evaluation as a plain function), the collator in ``nvib_hf.data.collator``.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, cast

import torch
from torch.utils.data import DataLoader
from transformers import Seq2SeqTrainer
from transformers.trainer_utils import speed_metrics

from nvib_hf.data.collator import NvaeDataCollator, pad_token_id_of
from nvib_hf.evaluation.reconstruction import (
    concat_statistics,
    greedy_reconstructions,
    model_columns,
    reconstruction_statistics,
    summarize_reconstruction,
    text_metrics,
)
from nvib_hf.training.checkpointing import ResumableTrainerMixin
from nvib_hf.training.precision import attention_kernels
from nvib_hf.training.schedules import DecaySchedule, KLSchedule, RampSchedule
from nvib_hf.utils.model_modes import evaluation_mode

TRAIN_LOG_KEYS = (
    "reconstruction_loss",
    "kl_gaussian",
    "kl_dirichlet",
    "lambda_gaussian",
    "lambda_dirichlet",
    "vectors_kept",
    "vectors_kept_proportion",
)


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
        delta_schedule: ``RampSchedule`` of δ (the conditional prior's slope, ``config.delta``), set on the model's
            config before every training step and logged as ``delta``; ``None`` keeps the config's ``delta``.
        generation_eval: add greedy-reconstruction ``bleu`` and ``exact_match`` to ``evaluate()``; ``None`` follows
            ``args.predict_with_generate``. Needs ``processing_class`` (the tokenizer) to decode.
        data_collator: defaults to ``NvaeDataCollator`` with the model's pad id.
        shuffle_length_groups: with ``args.train_sampling_strategy="group_by_length"``, serve the length-grouped
            batches in a random (epoch-seeded) order instead of longest to shortest within each group.
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
        delta_schedule: RampSchedule | None = None,
        generation_eval: bool | None = None,
        shuffle_length_groups: bool = False,
        **kwargs: Any,
    ) -> None:
        self.shuffle_length_groups = shuffle_length_groups  # read by the sampler (checkpointing.py), built in train()
        if data_collator is None:
            data_collator = NvaeDataCollator(pad_token_id=pad_token_id_of(model, kwargs.get("processing_class")))
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
        if delta_schedule is not None and not isinstance(delta_schedule, RampSchedule):
            raise ValueError(f"delta_schedule must be a RampSchedule or None (got {type(delta_schedule).__name__}).")
        self.alignment_schedule = alignment_schedule
        self.delta_schedule = delta_schedule
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
    def plain_model(self) -> torch.nn.Module:
        """The trained model as ``from_pretrained`` loads it: mixed-precision training leaves accelerate's autocast
        wrapper on ``model.forward``; this removes it in place, so that an evaluation after training gives the
        numbers a user gets from the saved model (fp32), not those of the training precision.

        accelerate keeps the forward it wrapped as ``model._original_forward``; that is restored here rather than with
        ``unwrap_model(keep_fp32_wrapper=False)``, which (accelerate 1.x) follows ``__wrapped__`` through the
        model's own decorators too (``can_return_tuple``, ``deprecate_kwarg``) and so breaks ``return_dict``."""
        model = self.accelerator.unwrap_model(self.model)
        original_forward = model.__dict__.pop("_original_forward", None)
        if original_forward is not None:
            model.forward = original_forward  # bound to the model, with its decorators
        return model

    def compute_loss_context_manager(self) -> contextlib.AbstractContextManager:
        """The Trainer's own context plus the attention kernels of ``attention_kernels`` (autocast itself is
        accelerate's wrapper of ``model.forward``, so the kernels are chosen from ``args.bf16``)."""
        stack = contextlib.ExitStack()
        stack.enter_context(super().compute_loss_context_manager())
        stack.enter_context(attention_kernels(self.args.bf16, self.args.device.type))
        return stack

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
        delta = None if self.delta_schedule is None else self.delta_schedule(self.state.global_step)
        if delta is not None and model.training:
            self.accelerator.unwrap_model(model).config.delta = delta
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
        if delta is not None:
            self._train_means.add("delta", delta, sentence_share)
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
        dataloader = self.get_eval_dataloader(model_columns(dataset, max_samples))
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
        # as Transformers' own Trainer does; CallbackHandler's __init__ sets it to None, which pyright takes as its type
        self.callback_handler.eval_dataloader = dataloader  # pyright: ignore[reportAttributeAccessIssue]
        parts, predictions, references = [], [], []
        with evaluation_mode(model):
            for batch in dataloader:
                batch = self._prepare_inputs(batch)
                parts.append(self.accelerator.gather_for_metrics(reconstruction_statistics(model, batch)))
                if generate:
                    preds, refs = greedy_reconstructions(model, batch, self.processing_class, gen_kwargs)
                    predictions += self.accelerator.gather_for_metrics(preds, use_gather_object=True)
                    references += self.accelerator.gather_for_metrics(refs, use_gather_object=True)
                self.control = self.callback_handler.on_prediction_step(self.args, self.state, self.control)
        stats = concat_statistics(parts)
        metrics = summarize_reconstruction(stats, *self.kl_weights())
        metrics["num_samples"] = len(stats["tokens"])
        return metrics | (text_metrics(predictions, references) if generate else {})


__all__ = ["TRAIN_LOG_KEYS", "NvaeTrainer"]
