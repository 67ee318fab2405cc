# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The two KL terms of the NVIB regulariser (spec section 3), per sentence.

Layout: component 0 is the prior component; ``valid`` marks real components (prior + non-padding tokens).
Both functions return one value per sentence ``[B]``; the model averages them over the batch.
"""

from __future__ import annotations

import torch


def kl_gaussian(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    alpha: torch.Tensor,
    valid: torch.Tensor,
    prior_mean: torch.Tensor | float = 0.0,
    prior_variance: torch.Tensor | float = 1.0,
    kappa: int = 1,
) -> torch.Tensor:
    """KL between each component's Gaussian and the prior Gaussian, weighted by the component's share of α_0.

    KL_G = κ · Σ_{i=0..N} (α_i / α_0) · ½ · mean_d [ σ²_id/σ²_p + (μ_id − μ_p)²/σ²_p − 1 − log(σ²_id/σ²_p) ]

    The mean over dimensions (not the sum) keeps the scale independent of the latent size D_z; the prior
    component (μ_p, σ²_p) contributes exactly 0.

    Args:
        mu, logvar: ``[B, n, D_z]`` means and log-variances of the n = N + 1 components.
        alpha: ``[B, n]`` pseudo-counts (α_p at index 0).
        valid: ``[B, n]`` bool, True for the prior and non-padding tokens.
    Returns:
        ``[B]`` KL_G per sentence, in float32 for half-precision inputs (float64 for float64).
    """
    # At least float32: near the prior, r = log(σ²/σ²_p) is small and e^r − 1 − r ≈ r²/2 is far below bfloat16's
    # rounding step of e^r (2^-8 ≈ 0.004 at 1), so a bf16 evaluation gives a KL of the wrong sign (−0.002 for r = 0.01).
    dtype = torch.promote_types(mu.dtype, torch.float32)
    mu, logvar, alpha = mu.to(dtype), logvar.to(dtype), alpha.to(dtype)
    prior_variance = torch.as_tensor(prior_variance, dtype=dtype, device=mu.device)
    log_ratio = logvar - torch.log(prior_variance)  # [B, n, Dz]
    # e^r − 1 − r as expm1(r) − r: no cancellation of the 1 (relative error ~ulp(r), not ulp(1)), never negative.
    per_dim = torch.expm1(log_ratio) - log_ratio + (mu - prior_mean).pow(2) / prior_variance
    per_component = 0.5 * per_dim.mean(dim=-1)  # [B, n]
    weights = torch.where(valid, alpha, torch.zeros_like(alpha))  # [B, n]
    weights = weights / weights.sum(dim=-1, keepdim=True)
    per_component = torch.where(valid, per_component, torch.zeros_like(per_component))
    return kappa * (weights * per_component).sum(dim=-1)


def kl_dirichlet(
    alpha: torch.Tensor,
    valid: torch.Tensor,
    prior_alpha: torch.Tensor | float = 1.0,
    delta: float = 1.0,
    kappa: int = 1,
) -> torch.Tensor:
    """KL between the symmetric Dirichlets that approximate the posterior and the conditional prior.

    With N tokens, n = N + 1 and K = κ·n components, α_0^q = Σ_i α_i (α_p included) and α_0^p = α_p + δ·N:

    KL_D = (1/n)·[ lnΓ(α_0^q) − lnΓ(α_0^p) + (α_0^q − α_0^p)(ψ(α_0^q/K) − ψ(α_0^q)) + K(lnΓ(α_0^p/K) − lnΓ(α_0^q/K)) ]

    which is ``kl_divergence(Dirichlet(α_0^q/K·1_K), Dirichlet(α_0^p/K·1_K)) / n``. Computed in float64 because
    lgamma/digamma of small arguments are ill-conditioned in float32, then cast back (to float32 at least).

    Args:
        alpha: ``[B, n]`` pseudo-counts (α_p at index 0).
        valid: ``[B, n]`` bool, True for the prior and non-padding tokens.
        prior_alpha: α_p; ``delta``: δ, the slope of the conditional prior (0 gives a plain DP prior).
    Returns:
        ``[B]`` KL_D per sentence, in float32 for half-precision inputs (float64 for float64).
    """
    out_dtype = torch.promote_types(alpha.dtype, torch.float32)  # a bf16 KL_D would keep 3 significant digits
    alpha64 = torch.where(valid, alpha, torch.zeros_like(alpha)).double()
    n = valid.sum(dim=-1).double()  # [B] tokens + prior
    num_tokens = n - 1.0
    k = kappa * n
    total_q = alpha64.sum(dim=-1)  # α_0^q
    total_p = torch.as_tensor(prior_alpha, dtype=torch.float64, device=alpha.device) + delta * num_tokens
    kl = (
        torch.lgamma(total_q)
        - torch.lgamma(total_p)
        + (total_q - total_p) * (torch.digamma(total_q / k) - torch.digamma(total_q))
        + k * (torch.lgamma(total_p / k) - torch.lgamma(total_q / k))
    )
    return (kl / n).to(out_dtype)
