# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The VAE user's entry points of ``NvaeForConditionalGeneration``: encode, reconstruct, sample from the prior and
interpolate, from token ids or from sentences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .bottleneck import Bottleneck
from .configuration_nvae import NvaeConfig
from .input_checks import tokenize_sentences
from .latent import NvibLatent
from .nvib import interpolate_componentwise, interpolate_mixture

__all__ = ["LatentMethodsMixin"]


class LatentMethodsMixin:
    """Encode / reconstruct / sample / interpolate for a model with ``get_encoder()`` (an ``NvaeEncoder``),
    ``bottleneck`` and ``generate(latent=...)``; mixed into ``NvaeForConditionalGeneration``."""

    config: NvaeConfig
    bottleneck: Bottleneck
    device: torch.device
    dtype: torch.dtype
    generate: Callable[..., Any]
    get_encoder: Callable[[], nn.Module]

    def _tokenize(self, texts: list[str], tokenizer, truncate: bool = True) -> dict:
        """Tokenised, padded ``texts`` on the model's device (``input_checks.tokenize_sentences``: bad sentences
        raise; longer than ``max_position_embeddings``: truncated with a warning, or raise with ``truncate=False``)."""
        batch = tokenize_sentences(texts, tokenizer, self.config.max_position_embeddings, truncate)
        return {key: value.to(self.device) for key, value in batch.items()}

    @torch.no_grad()
    def encode_latent(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        texts: list[str] | None = None,
        tokenizer=None,
        truncate: bool = True,
    ) -> NvibLatent:
        """The latent of a batch (means and pruning in eval mode, samples in train mode); ``texts`` + ``tokenizer``
        tokenise first (a sentence longer than ``max_position_embeddings`` is truncated with a warning, or raises
        ``ValueError`` with ``truncate=False``)."""
        if texts is not None:
            batch = self._tokenize(texts, tokenizer, truncate)
            input_ids, attention_mask = batch["input_ids"], batch["attention_mask"]
        return self.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).latent

    @torch.no_grad()
    def generate_from_latent(self, latent: NvibLatent, tokenizer=None, **generate_kwargs):
        """Token ids decoded from ``latent`` — or strings when a ``tokenizer`` is given."""
        generate_kwargs.setdefault("max_new_tokens", self.config.max_position_embeddings)
        ids = self.generate(latent=latent, **generate_kwargs)
        return tokenizer.batch_decode(ids, skip_special_tokens=True) if tokenizer is not None else ids

    @torch.no_grad()
    def reconstruct(self, texts: list[str], tokenizer, truncate: bool = True, **generate_kwargs) -> list[str]:
        """Encode sentences and decode them again (greedy unless ``generate_kwargs`` say otherwise); ``truncate`` as
        in ``encode_latent``."""
        return self.generate_from_latent(
            self.encode_latent(texts=texts, tokenizer=tokenizer, truncate=truncate), tokenizer, **generate_kwargs
        )

    def draw_num_components(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Component counts n for prior samples, from ``config.prior_num_components_probs`` when stored."""
        probs = self.config.prior_num_components_probs
        if probs is None:
            return torch.full((num_samples,), self.config.prior_num_components_default, dtype=torch.long)
        return torch.multinomial(
            torch.tensor(probs, dtype=torch.float), num_samples, replacement=True, generator=generator
        )

    @torch.no_grad()
    def sample_prior(
        self,
        num_samples: int,
        num_components: int | list[int] | None = None,
        tokenizer=None,
        generator: torch.Generator | None = None,
        weights: str | None = None,
        **generate_kwargs,
    ):
        """Latents drawn from the prior (spec section 5) — or, with a ``tokenizer``, their decoded sentences.

        ``num_components``: n per sample (an int for all, a list, or None to draw from the stored distribution).
        """
        if num_components is None:
            counts = self.draw_num_components(num_samples, generator)
        else:
            counts = torch.as_tensor(num_components).long().expand(num_samples)
        latent = self.bottleneck.sample_prior(counts.to(self.device), weights=weights, generator=generator)
        latent = NvibLatent(**{k: v.to(self.dtype) if v.is_floating_point() else v for k, v in latent.items()})
        return self.generate_from_latent(latent, tokenizer, **generate_kwargs) if tokenizer is not None else latent

    @torch.no_grad()
    def interpolate(
        self,
        latent_a: NvibLatent,
        latent_b: NvibLatent,
        taus: list[float],
        mode: str = "mixture",
        tokenizer=None,
        **generate_kwargs,
    ) -> list:
        """One latent per τ between A (τ = 0) and B (τ = 1); ``mode`` is ``"mixture"`` (weights (1−τ)π^A, τπ^B over
        the union of components) or ``"componentwise"`` (linear in matched components). With a ``tokenizer``,
        returns the decoded sentences instead: ``[len(taus)][B]``."""
        if mode not in ("mixture", "componentwise"):
            raise ValueError(f'mode must be "mixture" or "componentwise", got {mode!r}.')
        step = interpolate_mixture if mode == "mixture" else interpolate_componentwise
        latents = [step(latent_a, latent_b, float(tau)) for tau in taus]
        if tokenizer is None:
            return latents
        return [self.generate_from_latent(latent, tokenizer, **generate_kwargs) for latent in latents]
