# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The paper's baselines as bottlenecks with the NVIB layer's interface (``forward``, ``kl``, ``sample_prior``).

* ``IdentityBottleneck`` — ``bottleneck="none"``: a plain Transformer auto-encoder; the decoder attends to x_i.
* ``GaussianBottleneck`` — ``bottleneck="vae"`` (a Gaussian VIB on every vector, the paper's "VT") or
  ``"vae_pooled"`` (the valid vectors are mean-pooled into one, "VT pooled"), standard KL to N(0, I).

Their latents have no prior component; the decoder uses ordinary attention over them (uniform π).
"""

from __future__ import annotations

import torch
from torch import nn

from .kl import kl_gaussian
from .nvib import NvibLatent, randn_from, require_nonempty


def _uniform_latent(z: torch.Tensor, mask: torch.Tensor, num_tokens: torch.Tensor, **fields) -> NvibLatent:
    """A latent with uniform weights over ``mask``; vectors kept = the number of latent vectors."""
    pi = mask.to(z.dtype) / mask.sum(-1, keepdim=True).to(z.dtype)
    kept = mask.sum(-1).to(z.dtype)
    return NvibLatent(z=z, pi=pi, mask=mask, vectors_kept=kept, vectors_kept_proportion=kept / num_tokens, **fields)


def token_positions(latent: NvibLatent) -> torch.Tensor:
    """``[B, K]`` = 0, 1, ..., K − 1: one latent vector per token, in token order."""
    batch, num_components = latent.z.shape[:2]
    return torch.arange(num_components, device=latent.z.device).expand(batch, num_components)


class IdentityBottleneck(nn.Module):
    """No bottleneck: the latent is the encoder's vectors, no KL."""

    def __init__(self, config, layer_idx: int | None = None):
        super().__init__()
        self.config = config

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> NvibLatent:
        valid = require_nonempty(attention_mask)
        return _uniform_latent(hidden_states, valid, valid.sum(-1).to(hidden_states.dtype), valid=valid)

    def component_positions(self, latent: NvibLatent) -> torch.Tensor:
        """``[B, K]`` the token position of each latent vector: vector i is token i."""
        return token_positions(latent)

    def kl(self, latent: NvibLatent) -> tuple[torch.Tensor, torch.Tensor]:
        zero = latent.z.new_zeros(latent.z.shape[0])
        return zero, zero

    def sample_prior(self, num_components, weights=None, generator=None) -> NvibLatent:
        raise ValueError('bottleneck="none" has no prior to sample from; use "nvib", "vae" or "vae_pooled".')


class GaussianBottleneck(nn.Module):
    """Gaussian VIB: z_i = μ_i + σ_i ε in training, μ_i at evaluation; KL to N(0, I).

    KL_G = mean over latent vectors of ½ mean_d [σ² + μ² − 1 − log σ²] — the NVIB's KL_G with uniform weights, so
    λ_G has the same scale for every bottleneck.
    """

    def __init__(self, config, layer_idx: int | None = None):
        super().__init__()
        self.config = config
        self.pooled = config.bottleneck == "vae_pooled"
        self.mu_proj = nn.Linear(config.d_model, config.latent_dim)
        self.logvar_proj = nn.Linear(config.d_model, config.latent_dim)
        self.logvar_proj.initial_bias = config.posterior_logvar_init  # see NvibLayer

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> NvibLatent:
        valid = require_nonempty(attention_mask)
        num_tokens = valid.sum(-1).to(hidden_states.dtype)
        if self.pooled:
            weights = valid.to(hidden_states.dtype)[..., None] / num_tokens[:, None, None]
            hidden_states = (hidden_states * weights).sum(dim=1, keepdim=True)  # [B, 1, D]
            valid = valid[:, :1].clone().fill_(True)
        mu, logvar = self.mu_proj(hidden_states), self.logvar_proj(hidden_states)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu) if self.training else mu
        return _uniform_latent(z, valid, num_tokens, mu=mu, logvar=logvar, valid=valid)

    def component_positions(self, latent: NvibLatent) -> torch.Tensor:
        """``[B, K]`` the token position of each latent vector (vector i is token i); the pooled vector has none."""
        if self.pooled:
            raise ValueError('bottleneck="vae_pooled" has one vector for the whole sentence: no token positions.')
        return token_positions(latent)

    def kl(self, latent: NvibLatent) -> tuple[torch.Tensor, torch.Tensor]:
        uniform = latent.valid.to(latent.mu.dtype)
        kl_g = kl_gaussian(
            latent.mu, latent.logvar, uniform, latent.valid, self.config.prior_mean, self.config.prior_variance
        )
        return kl_g, torch.zeros_like(kl_g)

    def sample_prior(self, num_components, weights=None, generator=None) -> NvibLatent:
        """z_i ~ N(μ_p, σ²_p I); the pooled VAE always has one vector."""
        counts = torch.as_tensor(num_components, device=self.mu_proj.weight.device).long()
        counts = torch.ones_like(counts) if self.pooled else counts
        mask = torch.arange(int(counts.max()), device=counts.device)[None, :] < counts[:, None]
        noise = randn_from(generator, (*mask.shape, self.config.latent_dim), mask.device, torch.float32)
        z = self.config.prior_mean + self.config.prior_variance**0.5 * noise.to(self.mu_proj.weight.dtype)
        return _uniform_latent(z, mask, counts.to(z.dtype))
