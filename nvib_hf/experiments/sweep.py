# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The paper's comparison (Henderson & Fehr, ICLR 2023): the NVAE at several λ_D against the Transformer baselines.

``run_sweep(SweepConfig(...))`` trains every model with the same encoder/decoder sizes and step budget
(``run_training``), measures reconstruction, prior generation and interpolation (``docs/metrics.md`` defines every
metric) and writes, to ``OUTPUT``:

- ``runs/NAME/``: the model directory of each run (model card re-written with every metric), ``metrics.json``,
  ``prior_samples.txt``, ``interpolations.json`` and the R-PPL language model ``rppl_lm/``;
- ``lm/reference``: the reference LM of F-PPL (trained once on the training split);
- ``results.md``, ``results.csv``, ``bleu_vs_vectors_kept.png``, ``ppl_vs_reconstruction.png``,
  ``interpolations.txt`` and ``run_info.json``.

The sweep resumes: a model whose ``eval_results.json`` and ``metrics.json`` exist is skipped, a model with only
``eval_results.json`` is re-evaluated without retraining, and an interrupted training continues from its last
checkpoint (saved every ``interval_steps``). ``nvib-hf reproduce`` is the command-line face of ``run_sweep``;
``SweepConfig`` and the grid defaults live in the torch-free ``sweep_options.py`` (re-exported here);
``jobs > 1`` (``--jobs``) trains and evaluates the models in that many worker processes (``sweep_workers.py``).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import math
import random
import shutil
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from nvib_hf.experiments.sweep_options import (
    BASELINES,
    DEFAULT_NVIB_LAMBDA_DIRICHLET,
    DEFAULT_NVIB_MODEL,
    PER_MODEL_FIELDS,
    STEP_FIELDS,
    SWEEP_TRAIN_DEFAULTS,
    ModelSpec,
    SweepConfig,
    nvib_run_name,
)
from nvib_hf.training.run import TrainOptions, card_training_args, run_training

GREEDY: dict[str, Any] = {"num_beams": 1, "do_sample": False}

# (key, header) of the results table, in order.
RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("model", "model"),
    ("bottleneck", "bottleneck"),
    ("lambda_dirichlet", "λ_D"),
    ("reconstruction_loss", "rec. CE/token"),
    ("bleu", "BLEU"),
    ("exact_match", "exact match"),
    ("vectors_kept", "vectors kept"),
    ("vectors_kept_proportion", "kept proportion"),
    ("f_ppl", "F-PPL"),
    ("r_ppl", "R-PPL"),
    ("distinct_1", "distinct-1"),
    ("distinct_2", "distinct-2"),
    ("copy_rate", "copy rate"),
    ("interp_edit_distance", "interp. edit dist."),
    ("interp_change_share", "interp. change share"),
    ("interp_f_ppl", "interp. F-PPL"),
    ("interp_mode", "interp. mode"),
    ("train_wall_time_s", "train time (s)"),
    ("eval_wall_time_s", "eval time (s)"),
)
RECONSTRUCTION_KEYS = ("reconstruction_loss", "bleu", "exact_match", "vectors_kept", "vectors_kept_proportion")
PRIOR_KEYS = ("f_ppl", "r_ppl", "distinct_1", "distinct_2", "copy_rate")
INTERPOLATION_KEYS = ("interp_edit_distance", "interp_change_share", "interp_f_ppl")
NAN = float("nan")


# ---------------------------------------------------------------------------------------------------------------
# Metric helpers (pure functions of token sequences; formulas in docs/metrics.md)
# ---------------------------------------------------------------------------------------------------------------


def distinct_n(samples: Sequence[Sequence[Any]], n: int) -> float:
    """distinct-n = |unique n-grams| / |n-grams|, pooled over all samples (NaN when no sample has n tokens)."""
    grams = [tuple(tokens[i : i + n]) for tokens in samples for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else NAN


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn ``a`` into ``b``.

    d[i][j] = min(d[i−1][j] + 1, d[i][j−1] + 1, d[i−1][j−1] + [a_i ≠ b_j]), d[i][0] = i, d[0][j] = j.
    """
    previous = list(range(len(b) + 1))
    for i, item in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (item != other)))
        previous = current
    return previous[-1]


def _key(sequence: Any) -> Any:
    return sequence if isinstance(sequence, str) else tuple(sequence)


def copy_rate(samples: Sequence[Any], training: Iterable[Any]) -> float:
    """Share of samples exactly equal to some training sentence: |{s : s ∈ train}| / |samples| (NaN if none)."""
    if not samples:
        return NAN
    known = training if isinstance(training, (set, frozenset)) else {_key(t) for t in training}
    return sum(_key(s) in known for s in samples) / len(samples)


def consecutive_edit_distances(path: Sequence[Sequence[Any]]) -> list[int]:
    """Edit distances between consecutive decodes x_k, x_{k+1} of one interpolation path."""
    return [edit_distance(a, b) for a, b in zip(path[:-1], path[1:])]


def change_share(paths: Sequence[Sequence[Sequence[Any]]]) -> float:
    """Share of consecutive steps whose decode changes: mean over paths and k of [x_k ≠ x_{k+1}]."""
    changes = [_key(a) != _key(b) for path in paths for a, b in zip(path[:-1], path[1:])]
    return sum(changes) / len(changes) if changes else NAN


def mean_step_edit_distance(paths: Sequence[Sequence[Sequence[Any]]]) -> float:
    """Mean over paths and k of edit_distance(x_k, x_{k+1})."""
    distances = [d for path in paths for d in consecutive_edit_distances(path)]
    return sum(distances) / len(distances) if distances else NAN


# ---------------------------------------------------------------------------------------------------------------
# Shared state of a sweep
# ---------------------------------------------------------------------------------------------------------------


class SweepContext:
    """Data, tokenizer and reference LM of a sweep, each built once and only when needed."""

    def __init__(self, config: SweepConfig, command: str, progress: bool):
        self.config = config
        self.command = command
        self.progress = progress
        self.output = Path(config.output_dir)
        self.base_options = TrainOptions.from_dict(config.base_train_values())
        self.status: dict[str, str] = {}
        self.taus = [i / (config.interpolation_points - 1) for i in range(config.interpolation_points)]

    def run_dir(self, name: str) -> Path:
        """``OUTPUT/runs/NAME``: the model directory of one model of the sweep."""
        return self.output / "runs" / name

    @cached_property
    def tokenizer(self) -> Any:
        """The tokenizer of every model and language model (default: the shipped word pieces)."""
        from nvib_hf.data.corpus import load_tokenizer

        return load_tokenizer(self.base_options.tokenizer)

    @cached_property
    def sentences(self) -> Any:
        """The corpus splits exactly as ``run_training`` loads them."""
        from nvib_hf.data.corpus import load_sentences

        options = self.base_options
        return load_sentences(
            options.data,
            tokenizer=self.tokenizer if options.tokenizer else None,
            max_sentences=options.max_train_sentences,
            seed=options.seed,
        )

    @cached_property
    def train_texts(self) -> list[str]:
        """The training sentences (reference LM, copy rate)."""
        return list(self.sentences["train"]["text"])

    @cached_property
    def test_texts(self) -> list[str]:
        """The held-out sentences: the first ``eval_sentences`` of the test split."""
        return list(self.sentences["test"]["text"])[: self.config.eval_sentences]

    @cached_property
    def pairs(self) -> list[tuple[str, str]]:
        """Interpolation end points: test sentences (2k, 2k+1), the same for every model."""
        test = list(self.sentences["test"]["text"])
        count = self.config.interpolation_pairs
        if len(test) < 2 * count:
            raise ValueError(
                f"{count} interpolation pairs need {2 * count} test sentences; the corpus has {len(test)}."
            )
        return [(test[2 * k], test[2 * k + 1]) for k in range(count)]

    @cached_property
    def train_token_set(self) -> frozenset[tuple[int, ...]]:
        """Word-piece sequences of the training sentences (for the copy rate)."""
        return frozenset(map(tuple, word_pieces(self.train_texts, self.tokenizer)))

    @cached_property
    def reference_lm(self) -> Any:
        """The F-PPL language model, trained on the training split once (cached in ``OUTPUT/lm/reference``)."""
        from nvib_hf.evaluation.language_model import train_language_model

        return train_language_model(
            self.train_texts,
            self.tokenizer,
            self.config.scaled(self.config.lm_steps),
            self.config.lm_batch_size,
            self.config.seed,
            self.output / "lm" / "reference",
            progress=self.progress,
            desc="Reference LM",
        )

    def reverse_perplexity(self, texts: list[str], lm_dir: Path, desc: str) -> float:
        """R-PPL: PPL on the held-out sentences of an LM (same size and steps) trained on ``texts``."""
        from nvib_hf.evaluation.language_model import perplexity, train_language_model

        lm = train_language_model(
            texts,
            self.tokenizer,
            self.config.scaled(self.config.lm_steps),
            self.config.lm_batch_size,
            self.config.seed,
            lm_dir,
            progress=self.progress,
            desc=desc,
        )
        return perplexity(lm, self.test_texts, self.tokenizer, self.config.generation_batch_size)

    def forward_perplexity(self, texts: list[str]) -> float:
        """F-PPL: PPL of ``texts`` under the reference LM."""
        from nvib_hf.evaluation.language_model import perplexity

        return perplexity(self.reference_lm, texts, self.tokenizer, self.config.generation_batch_size)


def word_pieces(texts: Sequence[str], tokenizer: Any) -> list[list[int]]:
    """Word-piece ids of each text, without special tokens."""
    return tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []


# ---------------------------------------------------------------------------------------------------------------
# Generation metrics of one model
# ---------------------------------------------------------------------------------------------------------------


def prior_samples(model: Any, tokenizer: Any, count: int, seed: int, batch_size: int) -> list[str]:
    """Greedy decodes of ``count`` prior latents, component counts drawn from the stored length distribution."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    samples: list[str] = []
    for start in range(0, count, batch_size):
        number = min(batch_size, count - start)
        samples += model.sample_prior(number, tokenizer=tokenizer, generator=generator, **GREEDY)
    return [s.strip() for s in samples]


def sample_metrics(texts: list[str], context: SweepContext) -> dict[str, float]:
    """F-PPL, distinct-1/2 and copy rate of a set of sentences (generated or real)."""
    pieces = word_pieces(texts, context.tokenizer)
    return {
        "f_ppl": context.forward_perplexity(texts),
        "distinct_1": distinct_n(pieces, 1),
        "distinct_2": distinct_n(pieces, 2),
        "copy_rate": copy_rate(pieces, context.train_token_set),
    }


def interpolation_paths(
    model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], taus: Sequence[float], mode: str, batch_size: int
) -> list[list[str]]:
    """For each pair (A, B): the greedy decodes at every τ (``model.interpolate`` in ``mode``).

    The latents of all τ of a chunk of pairs are stacked into one batch and decoded by a single ``generate`` call.
    """
    from nvib_hf.models.nvae.nvib import NvibLatent

    paths: list[list[str]] = []
    step = max(1, batch_size // len(taus))
    for start in range(0, len(pairs), step):
        chunk = pairs[start : start + step]
        latent_a = model.encode_latent(texts=[a for a, _ in chunk], tokenizer=tokenizer)
        latent_b = model.encode_latent(texts=[b for _, b in chunk], tokenizer=tokenizer)
        latents = model.interpolate(latent_a, latent_b, list(taus), mode=mode)  # one [P, K, ·] latent per τ
        stacked = NvibLatent(**{k: torch.cat([latent[k] for latent in latents]) for k in latents[0].keys()})
        decoded = model.generate_from_latent(stacked, tokenizer, **GREEDY)  # τ-major: index t·P + p
        paths += [[decoded[t * len(chunk) + p].strip() for t in range(len(taus))] for p in range(len(chunk))]
    return paths


def interpolation_metrics(paths: list[list[str]], context: SweepContext) -> dict[str, float]:
    """Mean token edit distance and change share of consecutive decodes; F-PPL of the decodes with 0 < τ < 1."""
    tokens = [word_pieces(path, context.tokenizer) for path in paths]
    inner = [text for path in paths for text in path[1:-1]]
    return {
        "interp_edit_distance": mean_step_edit_distance(tokens),
        "interp_change_share": change_share(tokens),
        "interp_f_ppl": context.forward_perplexity(inner) if inner else NAN,
    }


def evaluate_model(spec: ModelSpec, run_dir: Path, context: SweepContext) -> dict[str, Any]:
    """The row of one trained model: reconstruction (from ``eval_results.json``), prior and interpolation
    metrics. Also writes ``prior_samples.txt``, ``interpolations.json`` and the re-written model card."""
    from nvib_hf.evaluation.language_model import best_device
    from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration

    start = time.time()
    model = NvaeForConditionalGeneration.from_pretrained(run_dir).to(best_device()).eval()
    reconstruction = json.loads((run_dir / "eval_results.json").read_text())
    row = base_row(spec) | {k: float(reconstruction.get(k, NAN)) for k in RECONSTRUCTION_KEYS}
    config, tokenizer = context.config, context.tokenizer
    samples: list[str] = []
    if spec.bottleneck == "none":
        row |= dict.fromkeys(PRIOR_KEYS, NAN)  # no prior: sample_prior raises ValueError
    else:
        samples = prior_samples(model, tokenizer, config.num_prior_samples, config.seed, config.generation_batch_size)
        row |= sample_metrics(samples, context)
        row["r_ppl"] = context.reverse_perplexity(samples, run_dir / "rppl_lm", f"R-PPL LM {spec.name}")
    paths = interpolation_paths(
        model, tokenizer, context.pairs, context.taus, spec.interpolation_mode, config.generation_batch_size
    )
    row |= interpolation_metrics(paths, context)
    (run_dir / "prior_samples.txt").write_text("".join(f"{s}\n" for s in samples), encoding="utf-8")
    write_json(
        run_dir / "interpolations.json",
        {"mode": spec.interpolation_mode, "taus": context.taus, "pairs": context.pairs, "decodes": paths},
    )
    row["train_wall_time_s"] = float(reconstruction.get("train_wall_time_s", NAN))
    row["eval_wall_time_s"] = round(time.time() - start, 1)
    rewrite_model_card(run_dir, model, row, samples, paths, context)
    return row


def base_row(spec: ModelSpec) -> dict[str, Any]:
    """The identifying columns of a model's row."""
    return {
        "model": spec.name,
        "bottleneck": spec.bottleneck,
        "lambda_dirichlet": spec.lambda_dirichlet,
        "interp_mode": spec.interpolation_mode,
    }


def rewrite_model_card(
    run_dir: Path, model: Any, row: dict[str, Any], samples: list[str], paths: list[list[str]], context: SweepContext
) -> None:
    """The run's model card again, now with the prior-generation and interpolation metrics and examples."""
    from nvib_hf.reporting.model_card import write_model_card

    options = TrainOptions.from_dict(json.loads((run_dir / "train_options.json").read_text()))
    examples = json.loads((run_dir / "examples.json").read_text()) if (run_dir / "examples.json").is_file() else {}
    card_examples = {
        "reconstructions": examples.get("reconstructions", []),
        "prior_samples": samples[:10],
        "interpolations": [list(zip(context.taus, path)) for path in paths[:3]],
    }
    skip = ("lambda_dirichlet", "train_wall_time_s", "eval_wall_time_s")
    metrics = {k: v for k, v in row.items() if k not in skip and _is_finite_number(v)}
    write_model_card(
        run_dir,
        config=model.config,
        metrics=metrics,
        command=context.command,
        training_args=card_training_args(options),
        examples=card_examples,
        wall_time_s=row["train_wall_time_s"],
        model_name=run_dir.name,
    )


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------------------------


def config_signature(config: SweepConfig) -> str:
    """A hash of the settings shared by every model's metrics (not the choice of models or the λ_D grid), including
    the effective training options (so that a change of the built-in defaults is noticed too)."""
    ignored = ("output_dir", "models", "nvib_lambda_dirichlet", "keep_checkpoints", "data_reference", "jobs")
    values = {k: v for k, v in asdict(config).items() if k not in ignored}
    values["effective_train"] = config.base_train_values()
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def train_model(spec: ModelSpec, run_dir: Path, context: SweepContext) -> None:
    """Train one model into ``run_dir`` unless its model directory is complete; resumes from a checkpoint."""
    from transformers.trainer_utils import get_last_checkpoint

    if (run_dir / "eval_results.json").is_file():
        return
    options = context.config.train_options(spec, run_dir)
    checkpoints = run_dir / "checkpoints"
    resume = checkpoints.is_dir() and get_last_checkpoint(str(checkpoints)) is not None
    result = run_training(options, resume=resume, command=context.command)
    if not result.finished:
        raise RuntimeError(f"{spec.name} stopped at step {result.global_step} of {options.max_steps}.")
    context.status[spec.name] = "trained"


def run_model(spec: ModelSpec, context: SweepContext) -> dict[str, Any]:
    """Train (or resume) and evaluate one model; a model with ``eval_results.json`` + ``metrics.json`` is skipped."""
    run_dir = context.run_dir(spec.name)
    metrics_file = run_dir / "metrics.json"
    if (run_dir / "eval_results.json").is_file() and metrics_file.is_file():
        context.status[spec.name] = "skipped"
        return read_row(metrics_file, config_signature(context.config))
    context.status[spec.name] = "evaluated"
    train_model(spec, run_dir, context)
    if not context.config.keep_checkpoints:
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    row = evaluate_model(spec, run_dir, context)
    write_json(metrics_file, {"signature": config_signature(context.config), "row": row})
    return row


def data_row(context: SweepContext) -> dict[str, Any]:
    """Reference row "data": real test sentences scored like prior samples (cached in ``OUTPUT/lm/data.json``).

    F-PPL, distinct-n and copy rate of the first ``num_prior_samples`` test sentences; R-PPL of an LM trained on
    ``num_prior_samples`` random training sentences.
    """
    cache = context.output / "lm" / "data.json"
    if cache.is_file():
        return read_row(cache, config_signature(context.config))
    config = context.config
    row = {"model": "data", "bottleneck": "", "lambda_dirichlet": None, "interp_mode": ""}
    row |= dict.fromkeys(RECONSTRUCTION_KEYS + INTERPOLATION_KEYS, NAN)
    row |= sample_metrics(list(context.sentences["test"]["text"])[: config.num_prior_samples], context)
    train = context.train_texts
    chosen = random.Random(config.seed).sample(train, min(config.num_prior_samples, len(train)))
    row["r_ppl"] = context.reverse_perplexity(chosen, context.output / "lm" / "data_rppl", "R-PPL LM data")
    row |= {"train_wall_time_s": NAN, "eval_wall_time_s": NAN}
    write_json(cache, {"signature": config_signature(config), "row": row})
    return row


def default_command(config: SweepConfig) -> str:
    """The command recorded when ``run_sweep`` is called from Python rather than the CLI."""
    return (
        f"python -c 'from nvib_hf.experiments.sweep import *; run_sweep(SweepConfig(**{json.dumps(asdict(config))}))'"
    )


def run_sweep(config: SweepConfig, progress: bool = True, command: str | None = None) -> list[dict[str, Any]]:
    """Train and evaluate every model of ``config``, write the result files, and return one row per model
    (plus the "data" reference row when ``config.data_reference``): ``{column: value}`` with NaN for n/a."""
    config.validate()
    start = time.time()
    context = SweepContext(config, command or default_command(config), progress)
    data_cached = (context.output / "lm" / "data.json").is_file()
    if config.jobs > 1:
        from nvib_hf.experiments.workers import run_models_in_parallel

        rows = run_models_in_parallel(context)
    else:
        rows = [run_model(spec, context) for spec in tqdm(config.model_specs(), desc="Models", disable=not progress)]
    if config.data_reference:
        context.status["data"] = "skipped" if data_cached else "evaluated"
        rows.append(data_row(context))
    write_outputs(rows, context, started=start)
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Output files
# ---------------------------------------------------------------------------------------------------------------


def write_json(path: Path, payload: Any) -> None:
    """JSON with NaN written as null."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_nan_to_none(payload), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    return value


def read_row(path: Path, signature: str) -> dict[str, Any]:
    """A stored row (null -> NaN for metric columns); warns when it was made with another sweep config."""
    stored = json.loads(path.read_text())
    if stored.get("signature") != signature:
        warnings.warn(f"{path} was written by a sweep with other settings; delete it to recompute.", stacklevel=2)
    row = stored["row"]
    numeric = {k for k, _ in RESULT_COLUMNS} - {"model", "bottleneck", "lambda_dirichlet", "interp_mode"}
    return {k: (NAN if v is None and k in numeric else v) for k, v in row.items()}


def format_cell(value: Any) -> str:
    """Markdown cell: n/a for NaN/None, 4 significant digits for floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value) if value != "" else "—"


def write_results_markdown(rows: list[dict[str, Any]], path: Path, command: str) -> None:
    """``results.md``: the command, the table model × metric, and what the columns mean."""
    header = "| " + " | ".join(h for _, h in RESULT_COLUMNS) + " |"
    lines = [
        f"Command: `{command}`",
        "",
        "# NVAE vs Transformer baselines",
        "",
        header,
        "|" + "---|" * len(RESULT_COLUMNS),
    ]
    lines += ["| " + " | ".join(format_cell(row.get(k)) for k, _ in RESULT_COLUMNS) + " |" for row in rows]
    lines += [
        "",
        "Reconstruction: held-out test sentences. Vectors kept exclude the NVIB prior component. Prior "
        "metrics are n/a for `none` (no prior). The `data` row scores real sentences the same way. Every "
        "metric is defined in `docs/metrics.md` of nvib-hf.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_results_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """``results.csv``: one row per model, the columns of ``RESULT_COLUMNS`` (empty cell = n/a)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([k for k, _ in RESULT_COLUMNS])
        for row in rows:
            values = [row.get(k) for k, _ in RESULT_COLUMNS]
            writer.writerow(["" if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values])


def write_interpolations(rows: list[dict[str, Any]], context: SweepContext, path: Path) -> None:
    """``interpolations.txt``: for each sentence pair, every model's decode at every τ."""
    stored = {}
    for row in rows:
        file = context.run_dir(row["model"]) / "interpolations.json"
        if file.is_file():
            stored[row["model"]] = json.loads(file.read_text())
    taus = context.taus
    lines = [
        f"Interpolations between pairs of test sentences: τ = {', '.join(f'{t:g}' for t in taus)} "
        "(greedy decoding; τ = 0 decodes A, τ = 1 decodes B).",
        "",
    ]
    for index, (a, b) in enumerate(context.pairs):
        lines += [f"=== pair {index + 1} ===", f"A: {a}", f"B: {b}"]
        for name, item in stored.items():
            lines.append(f"--- {name} ({item['mode']}) ---")
            lines += [f"  τ={tau:.1f}: {text}" for tau, text in zip(item["taus"], item["decodes"][index])]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def write_run_info(rows: list[dict[str, Any]], context: SweepContext, path: Path, started: float) -> None:
    """``run_info.json``: command, sweep config, effective step counts, environment, wall time per model (from the
    session that trained or evaluated it), their sum, and the total wall time of this invocation."""
    from nvib_hf.reporting.model_card import collect_environment

    config = context.config
    models = {
        row["model"]: {
            "status": context.status.get(row["model"], "skipped"),
            "train_wall_time_s": row.get("train_wall_time_s"),
            "eval_wall_time_s": row.get("eval_wall_time_s"),
        }
        for row in rows
    }
    timings = ("train_wall_time_s", "eval_wall_time_s")
    steps = {k: v for k, v in config.base_train_values().items() if k in STEP_FIELDS}
    steps |= {"interval_steps": config.scaled(config.interval_steps), "lm_steps": config.scaled(config.lm_steps)}
    write_json(
        path,
        {
            "command": context.command,
            "sweep_config": asdict(config),
            "effective_steps": steps,
            "environment": collect_environment(),
            "models": models,
            "total_wall_time_s": round(time.time() - started, 1),  # this invocation
            "sum_of_model_wall_times_s": round(sum(_finite_or_zero(r.get(k)) for r in rows for k in timings), 1),
            "finished_at": datetime.datetime.now().isoformat(timespec="seconds"),
        },
    )


def _finite_or_zero(value: Any) -> float:
    return float(value) if _is_finite_number(value) else 0.0


def write_outputs(rows: list[dict[str, Any]], context: SweepContext, started: float) -> None:
    """Every file of ``OUTPUT`` listed in the module docstring."""
    out = context.output
    out.mkdir(parents=True, exist_ok=True)
    write_results_markdown(rows, out / "results.md", context.command)
    write_results_csv(rows, out / "results.csv")
    plot_bleu_vs_vectors_kept(rows, out / "bleu_vs_vectors_kept.png")
    plot_ppl_vs_reconstruction(rows, out / "ppl_vs_reconstruction.png")
    write_interpolations(rows, context, out / "interpolations.txt")
    write_run_info(rows, context, out / "run_info.json", started)


# ---------------------------------------------------------------------------------------------------------------
# Plots (matplotlib, Agg canvas: no display needed)
# ---------------------------------------------------------------------------------------------------------------

BASELINE_STYLES: dict[str, tuple[str, str, str]] = {
    "none": ("s", "tab:gray", "none (Transformer AE)"),
    "vae": ("^", "tab:orange", "vae (VT)"),
    "vae_pooled": ("D", "tab:green", "vae_pooled (VT pooled)"),
}


def _finite(row: dict[str, Any], *keys: str) -> bool:
    return all(_is_finite_number(row.get(k)) for k in keys)


def _new_figure(columns: int) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5 * columns, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _plot_models(axes: Any, rows: list[dict[str, Any]], x: str, y: str) -> int:
    """NVAE points joined in λ_D order and labelled with λ_D; each baseline as its own marker. Returns #points."""
    nvib = sorted(
        (r for r in rows if r["bottleneck"] == "nvib" and _finite(r, x, y)), key=lambda r: r["lambda_dirichlet"]
    )
    if nvib:
        axes.plot([r[x] for r in nvib], [r[y] for r in nvib], "o-", color="tab:blue", label="NVAE (NVIB)")
        for index, r in enumerate(nvib):  # staggered labels stay readable when points coincide
            axes.annotate(
                f"$\\lambda_D$={r['lambda_dirichlet']:g}",
                (r[x], r[y]),
                textcoords="offset points",
                xytext=(6, 6 - 11 * (index % 4)),
                fontsize=8,
            )
    baselines = [r for r in rows if r["bottleneck"] in BASELINE_STYLES and _finite(r, x, y)]
    for r in baselines:
        marker, color, label = BASELINE_STYLES[r["bottleneck"]]
        axes.scatter(r[x], r[y], marker=marker, s=80, color=color, edgecolors="black", label=label, zorder=3)
    return len(nvib) + len(baselines)


def plot_bleu_vs_vectors_kept(rows: list[dict[str, Any]], path: Path) -> None:
    """Reconstruction BLEU against the proportion of vectors kept (prior component excluded)."""
    figure = _new_figure(1)
    axes = figure.subplots()
    if _plot_models(axes, rows, "vectors_kept_proportion", "bleu"):
        axes.legend(fontsize=8)
    axes.set_xlabel("proportion of vectors kept (vectors kept / tokens)")
    axes.set_ylabel("reconstruction BLEU (test)")
    axes.set_title("Reconstruction vs compression")
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=120)


def plot_ppl_vs_reconstruction(rows: list[dict[str, Any]], path: Path) -> None:
    """Two panels: F-PPL and R-PPL of prior samples against reconstruction BLEU (real data as a dashed line)."""
    figure = _new_figure(2)
    for axes, key, title in zip(
        figure.subplots(1, 2),
        ("f_ppl", "r_ppl"),
        ("F-PPL of prior samples (lower: more fluent)", "R-PPL on real test sentences (lower: better coverage)"),
    ):
        points = _plot_models(axes, rows, "bleu", key)
        for row in rows:
            if row["model"] == "data" and _finite(row, key):
                axes.axhline(row[key], color="black", linestyle="--", linewidth=1, label="real data")
                points += 1
        if points:
            axes.set_yscale("log")
            axes.legend(fontsize=8)
        axes.set_xlabel("reconstruction BLEU (test)")
        axes.set_ylabel(key.replace("_", "-").upper())
        axes.set_title(title, fontsize=10)
        axes.grid(alpha=0.3)
    figure.savefig(path, dpi=120)


__all__ = [
    "DEFAULT_NVIB_LAMBDA_DIRICHLET",
    "DEFAULT_NVIB_MODEL",
    "ModelSpec",
    "SweepConfig",
    "change_share",
    "copy_rate",
    "distinct_n",
    "edit_distance",
    "mean_step_edit_distance",
    "BASELINES",
    "PER_MODEL_FIELDS",
    "STEP_FIELDS",
    "SWEEP_TRAIN_DEFAULTS",
    "nvib_run_name",
    "run_sweep",
]
