# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Guided alignment: an auxiliary loss that leads the decoder's cross-attention to the token it reconstructs.

Why: a Transformer auto-encoder trained from scratch first learns word statistics and only later learns to align
decoder position j with the latent component of the token it must produce; on a 2-core CPU that plateau costs most
of the budget (docs/recipe.md: training CE ~6 for 500-1,000 steps, with or without the NVIB layer). Guided attention
(Tachibana et al., ICASSP 2018, for the same problem in text-to-speech) penalises attention far from the diagonal
for the first steps only; its weight decays to 0 before the KL terms start, so the trained model is the NVAE of the
paper, and the NVIB layer is then free to drop components.

With a_{h,j,k} the training-form attention weight of head h from decoder position j to latent component k, p_k the
token position of component k (−1 for the prior component, which is never the target) and t_j = j + 1 the position
of the token decoder position j predicts (``labels[j] = input_ids[j + 1]``, reconstruction)::

    W_{j,k} = 1 − exp(−(p_k − t_j)² / (2 w²))                       (w = ``config.alignment_width``, in tokens)
    L_A     = mean over layers, heads and target tokens j of Σ_k a_{h,j,k} W_{j,k}      ∈ [0, 1]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .denoising_attention import DenoisingCrossAttention


@contextmanager
def recorded_cross_attention(decoder: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Within the block, every denoising cross-attention of ``decoder`` appends its weights ``[B, H, T, K]`` to the
    yielded list (in layer order), with their graph, so a loss on them trains the model."""
    recorded: list[torch.Tensor] = []
    modules = [m for m in decoder.modules() if isinstance(m, DenoisingCrossAttention)]
    for module in modules:
        module.weight_sink = recorded
    try:
        yield recorded
    finally:
        for module in modules:
            module.weight_sink = None


def alignment_penalty(target_positions: torch.Tensor, component_positions: torch.Tensor, width: float) -> torch.Tensor:
    """W = 1 − exp(−(p_k − t_j)² / (2 w²)), ``[B, T, K]``; components with p_k < 0 (the prior) get W = 1.

    Args:
        target_positions: ``[T]`` t_j, the token position predicted at decoder position j.
        component_positions: ``[B, K]`` p_k.
    """
    distance = component_positions[:, None, :].float() - target_positions[None, :, None].float()  # [B, T, K]
    penalty = 1.0 - torch.exp(-distance.pow(2) / (2.0 * width**2))
    return torch.where(component_positions[:, None, :] < 0, torch.ones_like(penalty), penalty)


def guided_alignment_loss(
    weights: list[torch.Tensor], component_positions: torch.Tensor, target_mask: torch.Tensor, width: float
) -> torch.Tensor:
    """L_A (module docstring): the attention mass off the diagonal band, averaged over layers, heads and targets.

    Args:
        weights: per decoder layer, cross-attention weights ``[B, H, T, K]``.
        component_positions: ``[B, K]`` token position of each latent component (−1: not a token).
        target_mask: ``[B, T]`` True where a label is scored (``labels != -100``).
        width: w, the band's standard deviation in tokens.
    """
    if not weights:
        raise ValueError("guided alignment needs the decoder's cross-attention weights; none were recorded.")
    steps = weights[0].shape[-2]
    target_positions = torch.arange(1, steps + 1, device=target_mask.device)  # t_j = j + 1
    penalty = alignment_penalty(target_positions, component_positions.to(target_mask.device), width)  # [B, T, K]
    mask = target_mask.to(penalty.dtype)
    per_layer = [
        ((layer_weights.float() * penalty[:, None]).sum(-1).mean(1) * mask).sum() / mask.sum().clamp_min(1)
        for layer_weights in weights
    ]
    return torch.stack(per_layer).mean()


__all__ = ["alignment_penalty", "guided_alignment_loss", "recorded_cross_attention"]
