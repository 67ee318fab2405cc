# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""A small GPT-2 language model to score generated text: F-PPL and R-PPL (see ``docs/metrics.md``).

- F-PPL ("forward" perplexity): an LM trained on real training sentences scores generated samples — are the
  samples fluent, in the data's sense?
- R-PPL ("reverse" perplexity): an LM of the same size trained on generated samples scores real test sentences —
  do the samples cover the data?

The LM reads ``[CLS] w_1 .. w_n [SEP]`` (the NVAE's word pieces; ``[CLS]`` = BOS, ``[SEP]`` = EOS, ``[PAD]`` = pad)
and predicts ``w_1 .. w_n [SEP]``; ``[CLS]`` is context only and never predicted.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import GPT2Config, GPT2LMHeadModel, get_linear_schedule_with_warmup

from nvib_hf.utils.model_modes import evaluation_mode

# Size of every LM the experiments train (reference and R-PPL LMs alike, so their perplexities compare).
LM_SIZE: dict[str, int] = {"n_embd": 128, "n_layer": 2, "n_head": 2, "n_positions": 64}
LM_LEARNING_RATE = 1e-3
LM_INFO_FILE = "lm_info.json"


def best_device() -> torch.device:
    """The GPU when there is one, else the CPU: where the experiments train and evaluate."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def lm_config(tokenizer: Any, **overrides: Any) -> GPT2Config:
    """``GPT2Config`` of size ``LM_SIZE`` over the tokenizer's vocabulary, BOS/EOS = [CLS]/[SEP], pad = [PAD]."""
    size = {**LM_SIZE, **overrides}
    return GPT2Config(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **size,
    )


def encode_sentences(sentences: Sequence[str], tokenizer: Any, max_length: int) -> list[list[int]]:
    """``[CLS] w_1 .. w_n [SEP]`` per sentence, word pieces cut to fit ``max_length`` tokens ([SEP] kept)."""
    pieces = tokenizer(list(sentences), add_special_tokens=False)["input_ids"]
    return [[tokenizer.cls_token_id, *ids[: max_length - 2], tokenizer.sep_token_id] for ids in pieces]


def lm_batch(rows: Sequence[Sequence[int]], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids`` / ``attention_mask`` and ``labels`` (= input ids, −100 on padding)."""
    length = max(len(row) for row in rows)
    ids = torch.full((len(rows), length), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask.eq(0), -100)}


def lm_pad_id(model: GPT2LMHeadModel) -> int:
    """The LM's padding id, which ``lm_batch`` pads with (``lm_config`` sets it from the tokenizer)."""
    if model.config.pad_token_id is None:
        raise ValueError("the language model's config has no pad_token_id (build its config with lm_config).")
    return model.config.pad_token_id


def token_nll(model: GPT2LMHeadModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ_t −log p(y_t | y_<t), number of predicted tokens) of a batch from ``lm_batch``: position t predicts
    token t + 1, so ``[CLS]`` (position 0) is never a target and ``[SEP]`` is."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    targets = batch["labels"][:, 1:]
    nll = F.cross_entropy(logits[:, :-1].transpose(1, 2), targets, ignore_index=-100, reduction="sum")
    return nll, targets.ne(-100).sum()


def _cache_key(sentences: Sequence[str], steps: int, batch_size: int, seed: int, config: GPT2Config) -> dict:
    """What determines a trained LM: a hash of the sentences, the step budget, the seed and the LM size."""
    digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()
    size = {k: getattr(config, k) for k in (*LM_SIZE, "vocab_size")}
    return {
        "sentences_sha256": digest,
        "num_sentences": len(sentences),
        "steps": steps,
        "batch_size": batch_size,
        "seed": seed,
        "learning_rate": LM_LEARNING_RATE,
        "size": size,
    }


def load_cached_language_model(output_dir: str | Path | None, key: dict) -> GPT2LMHeadModel | None:
    """The LM saved in ``output_dir`` if it was trained with the same ``key`` (see ``_cache_key``), else None."""
    if output_dir is None:
        return None
    info = Path(output_dir) / LM_INFO_FILE
    if not info.is_file() or not (Path(output_dir) / "config.json").is_file():
        return None
    if json.loads(info.read_text()).get("key") != key:
        return None
    return GPT2LMHeadModel.from_pretrained(output_dir).eval()


def _batches(num_rows: int, batch_size: int, steps: int, generator: torch.Generator):
    """``steps`` batches of row indices: shuffled epochs, each row once per epoch."""
    order: list[int] = []
    for _ in range(steps):
        while len(order) < batch_size:
            order += torch.randperm(num_rows, generator=generator).tolist()
        yield order[:batch_size]
        order = order[batch_size:]


def train_language_model(
    sentences: Sequence[str],
    tokenizer: Any,
    steps: int,
    batch_size: int,
    seed: int,
    output_dir: str | Path | None = None,
    *,
    progress: bool = True,
    desc: str = "LM",
) -> GPT2LMHeadModel:
    """Train a ``LM_SIZE`` GPT-2 on ``sentences`` for ``steps`` AdamW steps; returns it in eval mode.

    Objective: mean NLL of the predicted tokens, −(1/T) Σ_t log p(y_t | y_<t), over ``w_1 .. w_n [SEP]``.
    Learning rate ``LM_LEARNING_RATE`` with a linear warm-up over the first 10% of the steps and linear decay,
    gradient norm clipped at 1. With ``output_dir``, the model is saved there with ``lm_info.json`` (a hash of the
    sentences, steps, batch size, seed and size); a later call with the same inputs loads it instead of retraining.
    """
    if not sentences:
        raise ValueError("train_language_model needs at least one sentence.")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}.")
    config = lm_config(tokenizer)
    key = _cache_key(list(sentences), steps, batch_size, seed, config)
    cached = load_cached_language_model(output_dir, key)
    if cached is not None:
        return cached
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    _fit(model, encode_sentences(sentences, tokenizer, config.n_positions), steps, batch_size, seed, progress, desc)
    model.eval()
    if output_dir is not None:
        model.save_pretrained(output_dir)
        (Path(output_dir) / LM_INFO_FILE).write_text(json.dumps({"key": key}, indent=2) + "\n")
    return model


def _fit(
    model: GPT2LMHeadModel, rows: list[list[int]], steps: int, batch_size: int, seed: int, progress: bool, desc: str
) -> None:
    """The plain training loop of ``train_language_model``."""
    device = best_device()
    model.to(device).train()  # pyright: ignore[reportArgumentType]  (pyright misreads transformers' wrapped `.to`)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LM_LEARNING_RATE, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, steps // 10, steps)
    generator = torch.Generator().manual_seed(seed)
    bar = tqdm(_batches(len(rows), batch_size, steps, generator), total=steps, desc=desc, disable=not progress)
    for indices in bar:
        batch = {k: v.to(device) for k, v in lm_batch([rows[i] for i in indices], lm_pad_id(model)).items()}
        nll, count = token_nll(model, batch)
        loss = nll / count
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    model.cpu()


@torch.no_grad()
def perplexity(model: GPT2LMHeadModel, sentences: Sequence[str], tokenizer: Any, batch_size: int = 64) -> float:
    """PPL = exp( Σ_s Σ_t −log p(y_t | y_<t) / Σ_s T_s ) over the predicted tokens ``w_1 .. w_n [SEP]`` of every
    sentence (``[CLS]`` is context, not predicted): the exponential of the mean NLL per predicted token."""
    if not sentences:
        raise ValueError("perplexity needs at least one sentence.")
    rows = encode_sentences(sentences, tokenizer, model.config.n_positions)
    nll, count = 0.0, 0
    with evaluation_mode(model):
        for start in range(0, len(rows), batch_size):
            rows_batch = lm_batch(rows[start : start + batch_size], lm_pad_id(model))
            batch_nll, batch_count = token_nll(model, {k: v.to(model.device) for k, v in rows_batch.items()})
            nll += batch_nll.item()
            count += int(batch_count)
    return math.exp(nll / count)


__all__ = ["LM_SIZE", "best_device", "encode_sentences", "lm_config", "perplexity", "train_language_model"]
