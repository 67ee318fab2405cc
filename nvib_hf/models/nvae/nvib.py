# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The NVIB layer: encoder vectors -> a Dirichlet-process posterior over a Gaussian mixture (spec sections 1 and 5).

Per token i: a Gaussian N(μ_i, σ²_i) and a pseudo-count α_i ≥ 0; component 0 is the fixed prior component
N(μ_p, σ²_p) with pseudo-count α_p, never masked. Training samples the latent with reparameterisation (Gaussian and
Gamma -> Dirichlet); evaluation uses the means and drops components with α_i ≤ τ_prune.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers import initialization as init

from .bottleneck import Bottleneck, register_bottleneck
from .kl import kl_dirichlet, kl_gaussian
from .latent import NvibLatent

MIN_ALPHA = 1e-8  # Gamma(α) needs α > 0; the mask, not this clamp, removes zero-count components
# |log σ²| ≤ 30: σ² ∈ [1e-13, 1e13], σ ≤ 3.3e6. Unbounded, encoder states of large norm give log σ² in the hundreds and
# σ² = e^{log σ²} overflows float32/bf16 (e^89 > 3.4e38): z = μ + σε, the KL term σ²/σ²_p and the eval form's σ²/s²
# become inf/NaN. With the bound, σ² summed over thousands of dimensions and ‖z‖² stay far below the float maximum,
# while σ² = 1e-13 is still "tiny" next to the attention noise ν = √d_h ≥ 1 (identity initialisation).
LOGVAR_LIMIT = 30.0


def bounded_logvar(logvar: torch.Tensor) -> torch.Tensor:
    """log σ² clamped to [−LOGVAR_LIMIT, LOGVAR_LIMIT] (see the constant), elementwise."""
    return logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)


def require_nonempty(attention_mask: torch.Tensor) -> torch.Tensor:
    """Bool ``[B, N]`` token mask; raises if a row has no valid token (it would have no latent but the prior)."""
    valid = attention_mask.bool()
    empty = (~valid.any(dim=-1)).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"attention_mask rows {empty} have no valid token: an empty sentence cannot be encoded.")
    return valid


def prepend_prior(values: torch.Tensor, prior_value: torch.Tensor) -> torch.Tensor:
    """Insert the prior component's value at index 0 of dim 1. ``values [B, N, ...]`` -> ``[B, N+1, ...]``."""
    prior = prior_value.to(values.dtype).expand(values.shape[0], 1, *values.shape[2:])
    return torch.cat([prior, values], dim=1)


def kept_statistics(alpha: torch.Tensor, valid: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Vectors kept (non-prior components with α_i > τ) per sentence, and as a proportion of N. ``[B]`` each."""
    kept = (valid[:, 1:] & (alpha[:, 1:] > threshold)).sum(dim=-1).to(alpha.dtype)
    return kept, kept / valid[:, 1:].sum(dim=-1).clamp_min(1).to(alpha.dtype)


@register_bottleneck("nvib")
class NvibLayer(Bottleneck):
    """Nonparametric Variational Information Bottleneck: ``[B, N, D]`` encoder states -> an ``NvibLatent``.

    μ_i = W_μ x_i + b_μ, log σ²_i = W_σ x_i + b_σ (clamped to ±``LOGVAR_LIMIT``), α_i = ReLU(w_α·x_i + b_α) or exp(c‖x_i‖² + w_α·x_i + b_α);
    padding gets α = 0 and is masked. The prior component (buffers ``prior_mean``, ``prior_logvar``,
    ``prior_alpha``) is prepended at index 0.
    """

    uses_denoising_attention = True
    descriptions = {"nvib": "NVIB (the NVAE)"}
    prior_mean: torch.Tensor  # buffers, registered in __init__
    prior_logvar: torch.Tensor
    prior_alpha: torch.Tensor

    def __init__(self, config, layer_idx: int | None = None):
        super().__init__(config, layer_idx)
        self.mu_proj = nn.Linear(config.d_model, config.latent_dim)
        self.logvar_proj = nn.Linear(config.d_model, config.latent_dim)
        self.alpha_proj = nn.Linear(config.d_model, 1)
        if config.alpha_activation == "exp":
            self.alpha_quadratic = nn.Parameter(torch.tensor(self._initial_alpha_quadratic()))
        self.register_buffer("prior_mean", torch.full((config.latent_dim,), float(config.prior_mean)))
        self.register_buffer("prior_logvar", torch.full((config.latent_dim,), math.log(config.prior_variance)))
        self.register_buffer("prior_alpha", torch.tensor(float(config.prior_alpha)))

    def _initial_alpha_quadratic(self) -> float:
        """The initial c of the ``"exp"`` pseudo-counts: 1/(2√d_h) (spec sections 1 and 6)."""
        return 1.0 / (2.0 * math.sqrt(self.config.d_model // self.config.cross_attention_heads))

    def _init_weights(self, module: nn.Module, std: float) -> None:
        """Initial biases: log σ² = ``posterior_logvar_init`` (small variances against posterior collapse); with
        ReLU, b_α = 1 so α ≈ 1 and every vector starts kept (exp: c‖x‖² carries the scale, b_α = 0). The prior
        buffers and c are set from the config."""
        cfg = self.config
        if module is self.logvar_proj:
            init.constant_(self.logvar_proj.bias, cfg.posterior_logvar_init)
        elif module is self.alpha_proj:
            init.constant_(self.alpha_proj.bias, 1.0 if cfg.alpha_activation == "relu" else 0.0)
        elif module is self:
            init.constant_(self.prior_mean, cfg.prior_mean)
            init.constant_(self.prior_logvar, math.log(cfg.prior_variance))
            init.constant_(self.prior_alpha, cfg.prior_alpha)
            if cfg.alpha_activation == "exp":
                init.constant_(self.alpha_quadratic, self._initial_alpha_quadratic())

    def pseudo_counts(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """α_i for every position, ``[B, N]`` (before masking)."""
        linear = self.alpha_proj(hidden_states).squeeze(-1)
        if self.config.alpha_activation == "relu":
            return torch.relu(linear)
        exponent = self.alpha_quadratic * hidden_states.pow(2).sum(dim=-1) + linear
        return torch.exp(exponent.clamp(-self.config.alpha_log_max, self.config.alpha_log_max))

    def posterior(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor):
        """(μ, log σ², α, valid), each with the prior component prepended: ``[B, N+1, ·]``."""
        valid_tokens = require_nonempty(attention_mask)
        alpha = self.pseudo_counts(hidden_states) * valid_tokens  # padding -> α = 0
        mu = prepend_prior(self.mu_proj(hidden_states), self.prior_mean)
        logvar = prepend_prior(bounded_logvar(self.logvar_proj(hidden_states)), self.prior_logvar)
        alpha = prepend_prior(alpha, self.prior_alpha)
        valid = torch.cat([valid_tokens.new_ones(valid_tokens.shape[0], 1), valid_tokens], dim=1)
        return mu, logvar, alpha, valid

    def training_alpha(self, alpha: torch.Tensor) -> torch.Tensor:
        """``[B, K]`` pseudo-counts with the evaluation's pruning applied (``prune_in_training``): α_i ≤ τ_prune -> 0
        for the token components, the prior component (index 0) untouched. The sampled mixture then holds exactly
        the components the pruned evaluation form keeps."""
        pruned = alpha <= self.config.alpha_prune_threshold
        pruned[:, 0] = False
        return alpha.masked_fill(pruned, 0.0)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> NvibLatent:
        """Sample the latent in training (reparameterised); use the pruned means at evaluation."""
        mu, logvar, alpha, valid = self.posterior(hidden_states, attention_mask)
        if self.training:
            sampled_alpha = self.training_alpha(alpha) if self.config.prune_in_training else alpha
            z, pi, mask = sample_mixture(mu, logvar, sampled_alpha, valid, self.config.kappa)
            variance = None
        else:
            z, variance = mu, logvar.exp()
            pi, mask = pruned_weights(alpha, valid, self.config.alpha_prune_threshold)
        kept, proportion = kept_statistics(alpha, valid, self.config.alpha_prune_threshold)
        return NvibLatent(
            z=z,
            pi=pi,
            mask=mask,
            variance=variance,
            mu=mu,
            logvar=logvar,
            alpha=alpha,
            valid=valid,
            vectors_kept=kept,
            vectors_kept_proportion=proportion,
        )

    def component_positions(self, latent: NvibLatent) -> torch.Tensor:
        """``[B, K]`` the token position of each latent component: −1 for the prior component (index 0), i − 1 for
        component i; in training each of the κ adjacent copies of a component has its position."""
        (z,) = latent.require("z")
        batch, num_components = z.shape[:2]
        copies = num_components // latent.alpha.shape[1] if latent.alpha is not None else 1
        index = torch.arange(num_components, device=z.device) // copies - 1
        return index.expand(batch, num_components)

    def kl(self, latent: NvibLatent) -> tuple[torch.Tensor, torch.Tensor]:
        """(KL_G, KL_D) per sentence, ``[B]`` each, as normalised in ``kl.py``."""
        cfg = self.config
        mu, logvar, alpha, valid = latent.require("mu", "logvar", "alpha", "valid")
        kl_g = kl_gaussian(mu, logvar, alpha, valid, self.prior_mean, cfg.prior_variance, cfg.kappa)
        kl_d = kl_dirichlet(alpha, valid, self.prior_alpha, cfg.delta, cfg.kappa)
        return kl_g, kl_d

    def sample_prior(
        self,
        num_components: torch.Tensor | list[int],
        weights: str | None = None,
        generator: torch.Generator | None = None,
    ) -> NvibLatent:
        """A latent drawn from the prior, one row per entry of ``num_components`` (n, the row's component count).

        Means z_i ~ N(μ_p, σ²_p I), variances 0, pseudo-counts α_i = (α_p + δ(n − 1))/n each (the conditional
        prior's total for a sentence of n − 1 tokens); weights uniform, or drawn from Dir(α_1..α_n).
        """
        weights = weights or self.config.prior_weights
        counts = torch.as_tensor(num_components, device=self.prior_mean.device).long()
        if counts.ndim != 1 or (counts < 1).any():
            raise ValueError(f"num_components must be a list of positive integers, got {counts.tolist()}.")
        mask = torch.arange(int(counts.max()), device=counts.device)[None, :] < counts[:, None]  # [B, n_max]
        shape = (*mask.shape, self.prior_mean.shape[0])
        noise = randn_from(generator, shape, mask.device, self.prior_mean.dtype)
        z = self.prior_mean + (0.5 * self.prior_logvar).exp() * noise  # [B, n_max, Dz]
        alpha = (self.prior_alpha + self.config.delta * (counts - 1)) / counts  # [B]
        if weights == "dirichlet":
            concentration = alpha[:, None].expand(mask.shape).to(_generator_device(generator, mask.device))
            # torch's only Gamma sampler that takes a generator (torch.distributions.Gamma does not)
            standard_gamma = torch._standard_gamma  # pyright: ignore[reportPrivateImportUsage]
            gamma = standard_gamma(concentration.contiguous(), generator=generator).to(mask.device)
            pi = torch.where(mask, gamma, torch.zeros_like(gamma))
        else:
            pi = mask.to(z.dtype)
        pi = (pi / pi.sum(dim=-1, keepdim=True)).to(z.dtype)
        return NvibLatent(z=z, pi=pi, mask=mask, variance=torch.zeros_like(z))


def _generator_device(generator: torch.Generator | None, default: torch.device) -> torch.device:
    return default if generator is None else generator.device


def randn_from(
    generator: torch.Generator | None, shape: tuple[int, ...], device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Standard normal draws made on the generator's device, then moved to ``device``.

    Why: a seeded CPU ``torch.Generator`` then gives the same prior samples on a CPU and on a GPU model (CUDA ops
    refuse a CPU generator).
    """
    return torch.randn(shape, generator=generator, device=_generator_device(generator, device), dtype=dtype).to(device)


def sample_mixture(mu, logvar, alpha, valid, kappa: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reparameterised sample of the posterior DP: κ copies per component, ``z, pi, mask`` of length K = κ·n.

    z = μ + σ ∘ ε for every copy; g ~ Gamma(α_i/κ, 1) by implicit reparameterisation (exact gradients),
    g = 0 for masked and zero-count components, π = g / Σ g. Copies of component i are adjacent.
    """
    batch, n, latent_dim = mu.shape
    noise = torch.randn(batch, n, kappa, latent_dim, device=mu.device, dtype=mu.dtype)
    z = (mu[:, :, None] + (0.5 * logvar).exp()[:, :, None] * noise).reshape(batch, n * kappa, latent_dim)
    keep = valid & (alpha > 0)
    keep[:, 0] = True  # the prior component is never removed
    alpha = alpha if alpha.dtype == torch.float64 else alpha.float()  # Gamma sampling: at least float32
    concentration = torch.where(keep, (alpha / kappa).clamp_min(MIN_ALPHA), torch.ones_like(alpha))
    gamma = torch.distributions.Gamma(concentration, torch.ones_like(concentration))
    draws = gamma.rsample((kappa,)).permute(1, 2, 0)  # [B, n, kappa]
    mask = keep[:, :, None].expand(batch, n, kappa).reshape(batch, n * kappa)
    draws = torch.where(mask, draws.reshape(batch, n * kappa), torch.zeros_like(mask, dtype=draws.dtype))
    pi = draws / draws.sum(dim=-1, keepdim=True)
    return z, pi.to(mu.dtype), mask


def pruned_weights(alpha, valid, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Evaluation weights π_i = ᾱ_i / Σ_j ᾱ_j with ᾱ_i = α_i if α_i > τ else 0 (prior never pruned)."""
    keep = valid & (alpha > threshold)
    keep[:, 0] = True
    alpha_bar = torch.where(keep, alpha, torch.zeros_like(alpha))
    return alpha_bar / alpha_bar.sum(dim=-1, keepdim=True), keep


def interpolate_mixture(latent_a: NvibLatent, latent_b: NvibLatent, tau: float) -> NvibLatent:
    """The mixture with A's and B's components (means, variances unchanged), weights (1 − τ)π^A and τπ^B.

    At τ = 0 (1) B's (A's) components get weight 0 and are masked, so the decoder sees exactly A (B).
    """
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau must be in [0, 1], got {tau}.")
    z_a, pi_a, mask_a = latent_a.require("z", "pi", "mask")
    z_b, pi_b, mask_b = latent_b.require("z", "pi", "mask")
    pi = torch.cat([(1.0 - tau) * pi_a, tau * pi_b], dim=1)
    mask = torch.cat([mask_a, mask_b], dim=1) & (pi > 0)
    z = torch.cat([z_a, z_b], dim=1)
    variance = torch.cat([_variance_or_zero(latent_a), _variance_or_zero(latent_b)], dim=1)
    return NvibLatent(z=z, pi=torch.where(mask, pi, torch.zeros_like(pi)), mask=mask, variance=variance)


def interpolate_componentwise(latent_a: NvibLatent, latent_b: NvibLatent, tau: float) -> NvibLatent:
    """Linear interpolation of matched components (the i-th kept component of A with the i-th of B).

    Means, variances and weights move linearly from A to B. Requires the same number of kept components in each
    pair of rows.
    """
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau must be in [0, 1], got {tau}.")
    counts_a, counts_b = latent_a.require("mask")[0].sum(-1), latent_b.require("mask")[0].sum(-1)
    if not torch.equal(counts_a, counts_b):
        raise ValueError(
            "component-wise interpolation needs the same number of kept components in both latents, got "
            f"{counts_a.tolist()} and {counts_b.tolist()}; use the mixture interpolation instead."
        )
    parts_a, parts_b = _compact(latent_a), _compact(latent_b)
    z, variance, pi = (torch.lerp(a, b, tau) for a, b in zip(parts_a[:3], parts_b[:3]))
    return NvibLatent(z=z, pi=pi, mask=parts_a[3], variance=variance)


def _variance_or_zero(latent: NvibLatent) -> torch.Tensor:
    return torch.zeros_like(latent.require("z")[0]) if latent.variance is None else latent.variance


def _compact(latent: NvibLatent):
    """Move kept components to the front, in their original order: (z, variance, pi, mask)."""
    z, pi, mask = latent.require("z", "pi", "mask")
    order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)  # [B, K]
    width = int(mask.sum(-1).max())
    order = order[:, :width]
    gather = lambda t: t.gather(1, order[..., None].expand(-1, -1, t.shape[-1]))  # noqa: E731
    kept = mask.gather(1, order)
    kept_pi = torch.where(kept, pi.gather(1, order), torch.zeros_like(kept, dtype=pi.dtype))
    return gather(z), gather(_variance_or_zero(latent)), kept_pi, kept
