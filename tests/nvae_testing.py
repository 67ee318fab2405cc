"""Shared helpers for the tests: tiny configs and random mixtures."""

from __future__ import annotations

import math

import torch

from nvib_hf import NvaeConfig


def tiny_config(**overrides) -> NvaeConfig:
    """A tiny NVAE config (D = 32) for fast tests; keyword arguments override fields."""
    fields = dict(
        vocab_size=99,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        cross_attention_heads=1,
        encoder_ffn_dim=37,
        decoder_ffn_dim=37,
        max_position_embeddings=40,
        dropout=0.0,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    fields.update(overrides)
    return NvaeConfig(**fields)


def random_mixture(batch: int, num_components: int, dim: int, *, lengths=None, seed: int = 0, dtype=torch.float64):
    """Random Gaussian mixture: ``(mu, variance, pi, mask)``; ``lengths`` gives valid components per row."""
    gen = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, num_components, dim, generator=gen, dtype=dtype)
    variance = torch.rand(batch, num_components, dim, generator=gen, dtype=dtype) * 2 + 0.05
    lengths = lengths or [num_components] * batch
    mask = torch.arange(num_components)[None, :] < torch.tensor(lengths)[:, None]
    weights = torch.rand(batch, num_components, generator=gen, dtype=dtype) + 0.1
    pi = torch.where(mask, weights, torch.zeros_like(weights))
    return mu, variance, pi / pi.sum(-1, keepdim=True), mask


def limit_case_weights(mu: torch.Tensor, mask: torch.Tensor, head_dim: int) -> torch.Tensor:
    """π_i ∝ exp(‖μ_i‖²/(2√d_h)) over valid components: makes log π_i − ‖μ_i‖²/(2√d_h) constant."""
    logits = mu.pow(2).sum(-1) / (2 * math.sqrt(head_dim))
    return torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)


def tiny_text_config(tokenizer, **overrides) -> NvaeConfig:
    """A tiny NvaeConfig sized for ``tokenizer`` and using its special tokens (models that read and write text)."""
    fields = dict(
        vocab_size=len(tokenizer),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=32,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.cls_token_id,
    )
    return NvaeConfig(**{**fields, **overrides})
