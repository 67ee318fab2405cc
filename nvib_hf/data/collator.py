# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Batching tokenised sentences for the NVAE: right-padding of inputs, masks and labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["NvaeDataCollator", "pad_token_id_of"]


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


def pad_token_id_of(model: Any, tokenizer: Any) -> int:
    """The pad id of the model's config, else of the tokenizer, else 0."""
    for source in (getattr(model, "config", None), tokenizer):
        pad = getattr(source, "pad_token_id", None)
        if pad is not None:
            return int(pad)
    return 0
