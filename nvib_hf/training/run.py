# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The main job as a library function: data -> NVAE -> NvaeTrainer -> test evaluation -> shareable model directory.

``TrainOptions`` holds every option (presets fill them; a YAML/JSON config file or CLI flags override them) and
``run_training`` runs the job. The CLI's ``nvib-hf train`` is a thin layer over these two. ``TrainOptions`` and
``PRESETS`` live in the torch-free ``nvib_hf.training.options`` (re-exported here).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import Seq2SeqTrainingArguments, TrainerCallback
from transformers.trainer_utils import get_last_checkpoint

from nvib_hf.data import length_histogram, load_sentences, load_tokenizer, tokenize_dataset
from nvib_hf.evaluation.latent_usage import latent_usage
from nvib_hf.evaluation.reconstruction import evaluate_reconstruction
from nvib_hf.evaluation.sample_quality import judged_generation_metrics
from nvib_hf.models.nvae.configuration_nvae import NvaeConfig
from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration
from nvib_hf.training.checkpointing import ModelSaveError, failure_reason, publish_files
from nvib_hf.training.options import PRESETS as PRESETS  # re-exported: the presets live in options.py
from nvib_hf.training.options import TrainOptions
from nvib_hf.training.precision import resolve_bf16
from nvib_hf.training.schedules import DecaySchedule
from nvib_hf.training.trainer import NvaeTrainer
from nvib_hf.utils.allocator import keep_freed_memory
from nvib_hf.utils.run_lock import is_main_rank, output_dir_lock


def prepare_data(options: TrainOptions):
    """Tokenizer, tokenised splits and the prior's component-count distribution (n = word pieces + 2 + prior).

    Without ``model.max_position_embeddings`` the model gets room for the longest sentence of the corpus (at least
    64 positions, rounded up to a multiple of 16): the shipped 8k vocabulary cuts some sentences into more than 64
    pieces.
    """
    tokenizer = load_tokenizer(options.tokenizer)
    sentences = load_sentences(
        options.data, tokenizer=tokenizer, max_sentences=options.max_train_sentences, seed=options.seed
    )
    max_length = options.model.get("max_position_embeddings")
    tokenized = tokenize_dataset(sentences, tokenizer, max_length=max_length or 512)
    if max_length is None:
        longest = max(len(ids) for split in tokenized.values() for ids in split["input_ids"])
        max_length = max(NvaeConfig.max_position_embeddings, -(-longest // 16) * 16)
        options.model = {**options.model, "max_position_embeddings": max_length}
    histogram = length_histogram(tokenized["train"], max_length)  # index = len(input_ids) = N tokens
    return tokenizer, sentences, tokenized, [0.0] + list(histogram)  # index = N + 1 components


class StopAfterSteps(TrainerCallback):
    """Stops (after saving a checkpoint) at a given global step: time-boxed runs that ``--resume`` continues."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_save = True
            control.should_training_stop = True
        return control


def learning_rate_schedule(name: str) -> dict[str, Any]:
    """Trainer arguments of a ``TrainOptions.lr_scheduler_type``: "sqrt" is lr·(1 − progress)^½ after the warm-up
    (Transformers' polynomial decay, power ½, to 0); the others are Transformers' own "linear", "cosine" and
    "constant_with_warmup"."""
    if name == "sqrt":
        return {"lr_scheduler_type": "polynomial", "lr_scheduler_kwargs": {"power": 0.5, "lr_end": 0.0}}
    return {"lr_scheduler_type": "constant_with_warmup" if name == "constant" else name}


def training_arguments(options: TrainOptions) -> Seq2SeqTrainingArguments:
    import importlib.util
    import sys

    eval_steps = options.eval_steps
    checkpoints = Path(options.output_dir) / "checkpoints"
    report_to: list[str] = [options.report_to] if isinstance(options.report_to, str) else list(options.report_to)
    if "tensorboard" in report_to and not any(importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX")):
        # tensorboard is optional (the "tensorboard" extra); without it the Trainer would refuse to start.
        report_to = [name for name in report_to if name != "tensorboard"] or ["none"]
        print(
            f"nvib-hf: tensorboard is not installed, so training logs go to {checkpoints}/checkpoint-*/"
            'trainer_state.json only; pip install "nvib-hf[tensorboard]" to log to TensorBoard.',
            file=sys.stderr,
        )
    return Seq2SeqTrainingArguments(
        output_dir=str(checkpoints),
        max_steps=options.max_steps,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.batch_size,
        learning_rate=options.learning_rate,
        warmup_steps=options.warmup_steps,
        max_grad_norm=options.max_grad_norm,
        **learning_rate_schedule(options.lr_scheduler_type),
        logging_steps=options.logging_steps,
        save_steps=options.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if eval_steps else "no",
        eval_steps=eval_steps,
        seed=options.seed,
        data_seed=options.seed,
        bf16=resolve_bf16(options.bf16),
        report_to=report_to,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=False,
        train_sampling_strategy="group_by_length" if options.group_by_length else "random",
    )


@dataclass
class TrainResult:
    """What a finished (or time-boxed) run produced."""

    output_dir: Path
    finished: bool
    global_step: int
    metrics: dict[str, float] = field(default_factory=dict)
    examples: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float = 0.0
    log_history: list[dict[str, Any]] = field(default_factory=list)  # the Trainer's logs: losses, KL terms, evals
    main_process: bool = True  # False on the other ranks of a distributed run: they neither evaluate nor save


def resume_checkpoint(checkpoint_dir: str, resume: bool) -> str | None:
    """The last checkpoint when resuming (clear error when there is none); None for a fresh run."""
    if not resume:
        return None
    last = get_last_checkpoint(checkpoint_dir) if Path(checkpoint_dir).is_dir() else None
    if last is None:
        raise FileNotFoundError(f"--resume: no checkpoint-* directory in {checkpoint_dir}; start without --resume.")
    return last


def collect_examples(model, tokenizer, sentences: list[str], count: int, seed: int) -> dict[str, Any]:
    """A few reconstructions, prior samples and one interpolation (greedy decoding), for the table and the card."""
    model.eval()
    sources = sentences[:count]
    generator = torch.Generator().manual_seed(seed)
    examples: dict[str, Any] = {
        "reconstructions": [{"input": s, "output": o} for s, o in zip(sources, model.reconstruct(sources, tokenizer))]
    }
    if model.bottleneck.has_prior:  # the plain auto-encoder ("none") has no prior to sample
        examples["prior_samples"] = model.sample_prior(count, tokenizer=tokenizer, generator=generator)
        pair = model.encode_latent(texts=sentences[:2], tokenizer=tokenizer)
        taus = [0.0, 0.25, 0.5, 0.75, 1.0]
        decoded = model.interpolate(pair.select(0), pair.select(1), taus, tokenizer=tokenizer)
        examples["interpolation"] = [{"tau": t, "output": d[0]} for t, d in zip(taus, decoded)]
    return examples


def save_model_directory(result: TrainResult, model, tokenizer, options: TrainOptions, command: str) -> None:
    """config.json + safetensors + modelling code (trust_remote_code) + tokenizer + results + a filled model card.

    Written into a staging folder inside the output directory and then moved into place file by file
    (``checkpointing.publish_files``): a save that fails (a full disk, an error) raises ``ModelSaveError`` naming the
    cause, and leaves the files already in the output directory and the checkpoints as they were."""
    out = result.output_dir
    staging = out / ".model-staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_model_files(staging, out.name, result, model, tokenizer, options, command)
        publish_files(staging, out)
    except ModelSaveError:
        raise
    except (OSError, RuntimeError) as error:
        raise ModelSaveError(
            f"writing the model directory {out} failed ({failure_reason(error, out)}); no file of it was replaced and "
            f"the checkpoints in {out / 'checkpoints'} are intact: free space or fix the cause, then run again with "
            "--resume"
        ) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_model_files(out: Path, model_name: str, result: TrainResult, model, tokenizer, options, command) -> None:
    """Every file of the model directory, written into ``out``; the card names the model ``model_name``."""
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "eval_results.json").write_text(json.dumps(result.metrics, indent=2) + "\n")
    (out / "examples.json").write_text(json.dumps(result.examples, indent=2, ensure_ascii=False) + "\n")
    (out / "train_options.json").write_text(json.dumps(asdict(options), indent=2) + "\n")
    (out / "training_log.json").write_text(json.dumps(result.log_history, indent=1) + "\n")
    from nvib_hf.reporting.model_card import write_model_card

    write_model_card(
        out,
        config=model.config,
        metrics=result.metrics,
        command=command,
        training_args=card_training_args(options),
        examples=result.examples,
        wall_time_s=result.wall_time_s,
        model_name=model_name,
        extra={"evaluation_split": "test"},  # the metrics are the test split's (train_wall_time_s is no metric)
    )


# Prior samples (and a tenth as many interpolation pairs) of the end-of-run evaluation; the judge's references are
# the first this many test sentences.
GENERATION_EVAL_SAMPLES = 200


def generation_eval_count(eval_samples: int | None) -> int:
    """Prior samples and judge references of ``final_evaluation``: 200, or fewer with fewer test sentences (the tiny
    preset's 64: 64 samples, 6 paths)."""
    return min(GENERATION_EVAL_SAMPLES, eval_samples or GENERATION_EVAL_SAMPLES)


def final_evaluation(model, tokenizer, sentences, test, options: TrainOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """The end-of-run evaluation on the first ``eval_samples`` test sentences: reconstruction (CE, BLEU, exact
    match), latent usage, prior-sample and interpolation quality (judged when the external judge is installed) and
    the examples of the table and the card. Returns ``(metrics, examples)``."""
    test = test.select(range(min(options.eval_samples or len(test), len(test))))
    metrics = evaluate_reconstruction(model, test, tokenizer, batch_size=options.batch_size, show_progress=True)
    metrics.update(latent_usage(model, test, batch_size=options.batch_size))
    texts = list(sentences["test"]["text"])
    if model.bottleneck.has_prior:  # the plain auto-encoder ("none") has no prior to sample
        count = generation_eval_count(options.eval_samples)
        metrics.update(judged_generation_metrics(model, tokenizer, texts, options.seed, count, max(count // 10, 1)))
    return metrics, collect_examples(model, tokenizer, texts, options.num_examples, options.seed)


def reevaluate_model_directory(output_dir: str | Path, command: str) -> dict[str, Any]:
    """Recompute a finished run's ``final_evaluation`` from its saved model and ``train_options.json``, and rewrite
    ``eval_results.json`` (its ``train_wall_time_s`` kept), ``examples.json`` and the model card.

    For model directories whose end-of-run evaluation is not trusted, e.g. those trained before the fix of the folded
    eval-form cache (``DenoisingCrossAttention.folded_maps``), whose in-process evaluation after validations during
    training read stale maps; the weights were never affected.
    """
    out = Path(output_dir)
    options = TrainOptions.from_dict(json.loads((out / "train_options.json").read_text()))
    old = json.loads((out / "eval_results.json").read_text())
    tokenizer, sentences, tokenized, _ = prepare_data(options)
    model = NvaeForConditionalGeneration.from_pretrained(out).eval()
    torch.manual_seed(options.seed)
    result = TrainResult(out, True, options.max_steps)
    result.metrics, result.examples = final_evaluation(model, tokenizer, sentences, tokenized["test"], options)
    result.metrics["train_wall_time_s"] = old.get("train_wall_time_s")
    result.wall_time_s = float(old.get("train_wall_time_s") or 0.0)
    log_file = out / "training_log.json"
    result.log_history = json.loads(log_file.read_text()) if log_file.is_file() else []
    save_model_directory(result, model, tokenizer, options, command)
    return result.metrics


def card_training_args(options: TrainOptions) -> dict[str, Any]:
    keys = (
        "max_steps",
        "batch_size",
        "learning_rate",
        "lr_scheduler_type",
        "warmup_steps",
        "max_grad_norm",
        "kl_schedule",
        "kl_start_step",
        "kl_warmup_steps",
        "lambda_gaussian",
        "lambda_dirichlet",
        "lambda_alignment",
        "alignment_steps",
        "final_delta",
        "delta_ramp_start_step",
        "delta_ramp_end_step",
        "seed",
        "bf16",
        "max_train_sentences",
    )
    return {key: getattr(options, key) for key in keys} | {"bf16": resolve_bf16(options.bf16)}  # auto: as trained


def run_training(options: TrainOptions, *, resume: bool = False, command: str = "") -> TrainResult:
    """Train on the data, evaluate on the test split, and write the model directory to ``options.output_dir``.

    Holds the output directory's training lock (``nvib_hf.utils.run_lock``) throughout: a second run into the same
    directory raises ``OutputDirLocked``. A checkpoint that cannot be written raises ``CheckpointSaveError`` and
    leaves the previous one (``nvib_hf.training.checkpointing``).
    """
    with output_dir_lock(options.output_dir, enabled=is_main_rank()):
        return _run_training(options, resume=resume, command=command)


def _run_training(options: TrainOptions, *, resume: bool, command: str) -> TrainResult:
    start = time.time()
    if options.keep_freed_memory:
        keep_freed_memory()
    torch.manual_seed(options.seed)
    tokenizer, sentences, tokenized, length_probs = prepare_data(options)
    model = NvaeForConditionalGeneration(options.model_config(tokenizer, length_probs))
    args = training_arguments(options)
    validation = tokenized["validation"].select(range(min(options.validation_samples, len(tokenized["validation"]))))
    gaussian_schedule, dirichlet_schedule = options.kl_schedules()
    trainer = NvaeTrainer(
        model=model,
        args=args,
        train_dataset=tokenized["train"],
        eval_dataset=validation,
        processing_class=tokenizer,
        kl_gaussian_schedule=gaussian_schedule,
        kl_dirichlet_schedule=dirichlet_schedule,
        alignment_schedule=DecaySchedule(options.lambda_alignment, options.alignment_steps),
        delta_schedule=options.delta_schedule(),
        shuffle_length_groups=options.shuffle_length_groups,
        generation_eval=True,
        callbacks=[StopAfterSteps(options.stop_after_steps)] if options.stop_after_steps else None,
    )
    assert args.output_dir is not None, "training_arguments sets output_dir"
    trainer.train(resume_from_checkpoint=resume_checkpoint(args.output_dir, resume))
    result = TrainResult(
        Path(options.output_dir), trainer.state.global_step >= options.max_steps, trainer.state.global_step
    )
    if not trainer.is_world_process_zero():  # under torchrun / accelerate launch: only the main process goes on
        result.main_process = False
        return result
    if not result.finished:
        result.wall_time_s = time.time() - start
        return result
    model = trainer.plain_model()  # fp32 again after bf16 training: the model as saved and loaded
    result.metrics, result.examples = final_evaluation(model, tokenizer, sentences, tokenized["test"], options)
    result.log_history = list(trainer.state.log_history)
    result.wall_time_s = time.time() - start
    result.metrics["train_wall_time_s"] = round(result.wall_time_s, 1)
    save_model_directory(result, model, tokenizer, options, command)
    return result
