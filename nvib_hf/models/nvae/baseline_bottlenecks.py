# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The paper's baselines as bottlenecks under the ``Bottleneck`` contract (``bottleneck.py``).

* ``IdentityBottleneck`` — ``bottleneck="none"``: a plain Transformer auto-encoder; the decoder attends to x_i.
* ``GaussianBottleneck`` — ``bottleneck="vae"`` (a Gaussian VIB on every vector, the paper's "VT") or
  ``"vae_pooled"`` (the valid vectors are mean-pooled into one, "VT pooled"), standard KL to N(0, I).

Their latents have no prior component; the decoder uses ordinary attention over them (uniform π).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import initialization as init

from .bottleneck import BOTTLENECKS, Bottleneck, config_error, register_bottleneck
from .kl import kl_gaussian
from .latent import NvibLatent
from .nvib import bounded_logvar, randn_from, require_nonempty


def uniform_latent(z: torch.Tensor, mask: torch.Tensor, num_tokens: torch.Tensor, **fields) -> NvibLatent:
    """A latent with uniform weights over ``mask``; vectors kept = the number of latent vectors."""
    pi = mask.to(z.dtype) / mask.sum(-1, keepdim=True).to(z.dtype)
    kept = mask.sum(-1).to(z.dtype)
    return NvibLatent(z=z, pi=pi, mask=mask, vectors_kept=kept, vectors_kept_proportion=kept / num_tokens, **fields)


def token_positions(latent: NvibLatent) -> torch.Tensor:
    """``[B, K]`` = 0, 1, ..., K − 1: one latent vector per token, in token order."""
    (z,) = latent.require("z")
    batch, num_components = z.shape[:2]
    return torch.arange(num_components, device=z.device).expand(batch, num_components)


@register_bottleneck("none")
class IdentityBottleneck(Bottleneck):
    """No bottleneck: the latent is the encoder's vectors, no KL."""

    has_prior = False
    descriptions = {"none": "none (a plain Transformer auto-encoder baseline)"}

    @classmethod
    def validate_config(cls, config) -> None:
        """The decoder reads the encoder states themselves: ``latent_dim`` must equal ``d_model``."""
        if config.latent_dim != config.d_model:
            raise config_error(
                config,
                "latent_dim",
                f'equal to d_model={config.d_model} with bottleneck="none" (the decoder reads the encoder states)',
            )

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> NvibLatent:
        valid = require_nonempty(attention_mask)
        return uniform_latent(hidden_states, valid, valid.sum(-1).to(hidden_states.dtype), valid=valid)

    def component_positions(self, latent: NvibLatent) -> torch.Tensor:
        """``[B, K]`` the token position of each latent vector: vector i is token i."""
        return token_positions(latent)

    def kl(self, latent: NvibLatent) -> tuple[torch.Tensor, torch.Tensor]:
        (z,) = latent.require("z")
        zero = z.new_zeros(z.shape[0])
        return zero, zero

    def sample_prior(self, num_components, weights=None, generator=None) -> NvibLatent:
        with_prior = [name for name, cls in BOTTLENECKS.items() if cls.has_prior]
        raise ValueError(f'bottleneck="none" has no prior to sample from; use one of {with_prior}.')


@register_bottleneck("vae", "vae_pooled")
class GaussianBottleneck(Bottleneck):
    """Gaussian VIB: z_i = μ_i + σ_i ε in training, μ_i at evaluation; KL to N(0, I).

    KL_G = mean over latent vectors of ½ mean_d [σ² + μ² − 1 − log σ²] — the NVIB's KL_G with uniform weights, so
    λ_G has the same scale for every bottleneck.
    """

    descriptions = {
        "vae": "Gaussian VIB on every vector (the paper's VT baseline)",
        "vae_pooled": "Gaussian VIB on the mean-pooled vector (the paper's VT-pooled baseline)",
    }

    def __init__(self, config, layer_idx: int | None = None):
        super().__init__(config, layer_idx)
        self.pooled = config.bottleneck == "vae_pooled"
        self.mu_proj = nn.Linear(config.d_model, config.latent_dim)
        self.logvar_proj = nn.Linear(config.d_model, config.latent_dim)

    @classmethod
    def validate_config(cls, config) -> None:
        """The pooled VAE has one vector per sentence: no guided alignment (``lambda_alignment`` must be 0)."""
        if config.bottleneck == "vae_pooled" and config.lambda_alignment != 0:
            raise config_error(
                config, "lambda_alignment", '0 with bottleneck="vae_pooled" (one vector per sentence: nothing to align)'
            )

    def _init_weights(self, module: nn.Module, std: float) -> None:
        """log σ² starts at ``posterior_logvar_init``: small variances against posterior collapse (as NVIB)."""
        if module is self.logvar_proj:
            init.constant_(self.logvar_proj.bias, self.config.posterior_logvar_init)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> NvibLatent:
        valid = require_nonempty(attention_mask)
        num_tokens = valid.sum(-1).to(hidden_states.dtype)
        if self.pooled:
            weights = valid.to(hidden_states.dtype)[..., None] / num_tokens[:, None, None]
            hidden_states = (hidden_states * weights).sum(dim=1, keepdim=True)  # [B, 1, D]
            valid = valid[:, :1].clone().fill_(True)
        mu, logvar = self.mu_proj(hidden_states), bounded_logvar(self.logvar_proj(hidden_states))
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu) if self.training else mu
        return uniform_latent(z, valid, num_tokens, mu=mu, logvar=logvar, valid=valid)

    def component_positions(self, latent: NvibLatent) -> torch.Tensor:
        """``[B, K]`` the token position of each latent vector (vector i is token i); the pooled vector has none."""
        if self.pooled:
            raise ValueError('bottleneck="vae_pooled" has one vector for the whole sentence: no token positions.')
        return token_positions(latent)

    def kl(self, latent: NvibLatent) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar, valid = latent.require("mu", "logvar", "valid")
        kl_g = kl_gaussian(mu, logvar, valid.to(mu.dtype), valid, self.config.prior_mean, self.config.prior_variance)
        return kl_g, torch.zeros_like(kl_g)

    def sample_prior(self, num_components, weights=None, generator=None) -> NvibLatent:
        """z_i ~ N(μ_p, σ²_p I), uniform weights; as many vectors as the posterior of an n-token sentence has
        (``prior_vector_counts``: n, or one for the pooled VAE). ``weights`` is ignored (always uniform)."""
        counts = torch.as_tensor(num_components, device=self.mu_proj.weight.device).long()
        if counts.ndim != 1 or (counts < 1).any():
            raise ValueError(f"num_components must be a list of positive integers, got {counts.tolist()}.")
        vectors = self.prior_vector_counts(counts)  # [B]
        mask = torch.arange(int(vectors.max()), device=counts.device)[None, :] < vectors[:, None]
        noise = randn_from(generator, (*mask.shape, self.config.latent_dim), mask.device, torch.float32)
        z = self.config.prior_mean + self.config.prior_variance**0.5 * noise.to(self.mu_proj.weight.dtype)
        return uniform_latent(z, mask, counts.to(z.dtype))  # proportion: vectors / n

    def prior_vector_counts(self, counts: torch.Tensor) -> torch.Tensor:
        """``[B]`` latent vectors of a prior sample for n = ``counts``: the number the posterior of an n-token
        sentence has — n, or 1 for the pooled VAE (subclasses that keep fewer vectors override it)."""
        return torch.ones_like(counts) if self.pooled else counts
