# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Posterior-collapse check: does the decoder read the latent at all?

``latent_usage`` scores each sentence's reconstruction (teacher-forced CE per token, eval mode) once with its own
latent and once with the latent of another sentence of the batch (a cyclic shift). A decoder that ignores its
latent — posterior collapse, or a decoder that has only learnt a language model so far — gives the same CE both
ways; the gap CE(shuffled) − CE(own) measures how much the reconstruction depends on the latent.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from nvib_hf.data.collator import NvaeDataCollator
from nvib_hf.utils.model_modes import evaluation_mode


def _token_ce(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, int]:
    """Summed CE over non-ignored target tokens, and their count."""
    ce = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100, reduction="sum")
    return ce.item(), int((labels != -100).sum())


@torch.no_grad()
def latent_usage(model: Any, dataset: Any, batch_size: int = 32, max_samples: int | None = 256) -> dict[str, float]:
    """``{"ce_own_latent", "ce_shuffled_latent", "latent_gap"}`` over ``dataset`` (tokenised: input_ids, labels).

    Each batch's latents are rolled by one row, so every sentence is decoded against another sentence's latent.
    """
    if max_samples is not None:
        dataset = dataset.select(range(min(max_samples, len(dataset))))
    columns = [c for c in ("input_ids", "attention_mask", "labels") if c in dataset.column_names]
    loader = DataLoader(
        dataset.select_columns(columns),
        batch_size=batch_size,
        collate_fn=NvaeDataCollator(pad_token_id=model.config.pad_token_id),
    )
    totals = {"own": [0.0, 0], "shuffled": [0.0, 0]}
    with evaluation_mode(model):
        for batch in loader:
            if batch["input_ids"].shape[0] < 2:
                continue
            batch = {k: v.to(model.device) for k, v in batch.items()}
            encoded = model.get_encoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            rolled = type(encoded)(**{k: v.roll(1, dims=0) for k, v in encoded.items() if torch.is_tensor(v)})
            for name, latent in (("own", encoded), ("shuffled", rolled)):
                logits = model(encoder_outputs=latent, labels=batch["labels"]).logits
                ce, count = _token_ce(logits, batch["labels"])
                totals[name][0] += ce
                totals[name][1] += count
    own, shuffled = (totals[k][0] / max(totals[k][1], 1) for k in ("own", "shuffled"))
    return {"ce_own_latent": own, "ce_shuffled_latent": shuffled, "latent_gap": shuffled - own}
