# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""``bottleneck="vae_stride"``: the Gaussian VAE on every vector, of which a fixed stride of vectors is kept.

The authors' "VT stride" baseline asks whether NVIB drops the *right* vectors: it compresses as much, but chooses
which vectors survive by position alone. With keep fraction f = ``config.stride_keep_fraction`` and r = 0, 1, …,
N − 1 the rank of a valid token, token r is kept iff

    ⌈(r + 1)·f⌉ > ⌈r·f⌉

i.e. where the running count ⌈r·f⌉ steps up. For f = 1/k that is every k-th token (r = 0, k, 2k, …); for any f the
sentence keeps exactly m(N) = ⌈f·N⌉ ≥ 1 vectors (the sum telescopes), spread evenly, the first token always kept.
A dropped vector stays in the latent but is masked (π = 0, mask False), as a pruned NVIB component is, so the
decoder's cross-attention gives it zero weight and the token positions used by the guided alignment stay the
token indices. KL_G is the ``vae`` one (mean over vectors of ½ mean_d [σ² + μ² − 1 − log σ²]) over the kept
vectors only: the dropped ones carry no information to the decoder, so they are not regularised.

Prior samples follow the ``vae`` rule (as many vectors as the posterior of an n-token sentence has): for the n
the model draws, m(n) = ⌈f·n⌉ vectors z_j ~ N(μ_p, σ²_p I) with uniform weights.
"""

from __future__ import annotations

import torch

from .baseline_bottlenecks import GaussianBottleneck
from .bottleneck import register_bottleneck
from .latent import NvibLatent
from .nvib import bounded_logvar, require_nonempty

# ⌈x⌉ of a float product r·f is taken as ⌈x − ε⌉: 0.3·10 is 3.0000000000000004 in binary, whose ceiling would
# keep one vector too many. Sentences are far shorter than 1/ε.
_CEIL_TOLERANCE = 1e-9


def stride_counts(ranks: torch.Tensor, fraction: float) -> torch.Tensor:
    """⌈r·f⌉ elementwise (int64, same shape as ``ranks``): vectors kept among the first r tokens."""
    product = ranks.to(torch.float64) * fraction
    return torch.ceil(product - _CEIL_TOLERANCE).clamp_min(0).long()


def stride_keep_mask(valid: torch.Tensor, fraction: float) -> torch.Tensor:
    """``[B, N]`` bool: the valid tokens kept, token of rank r kept iff ⌈(r + 1)f⌉ > ⌈rf⌉ (module docstring).

    Ranks count valid tokens only, so padding on either side does not shift the stride.
    """
    ranks = valid.long().cumsum(dim=-1) - 1  # [B, N] rank of each valid token
    steps = stride_counts(ranks + 1, fraction) > stride_counts(ranks, fraction)
    return valid & steps


def kept_count(num_tokens: torch.Tensor, fraction: float) -> torch.Tensor:
    """m(N) = ⌈f·N⌉ (at least 1 for N ≥ 1): vectors a sentence of N tokens keeps. ``[B]`` long."""
    return stride_counts(num_tokens, fraction).clamp_min(1)


@register_bottleneck("vae_stride")
class StrideBottleneck(GaussianBottleneck):
    """The ``vae`` Gaussian VIB on every vector, keeping ⌈f·N⌉ of them by stride (module docstring); f is
    ``config.stride_keep_fraction``, which ``NvaeConfig`` checks is in (0, 1]."""

    descriptions = {
        "vae_stride": "Gaussian VIB on every vector, a stride of them kept (the authors' VT-stride baseline)"
    }

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> NvibLatent:
        """``[B, N, D]`` -> latent of N vectors of which the kept ones are unmasked; ``valid`` marks the kept."""
        valid = require_nonempty(attention_mask)
        keep = stride_keep_mask(valid, self.config.stride_keep_fraction)  # [B, N]
        mu, logvar = self.mu_proj(hidden_states), bounded_logvar(self.logvar_proj(hidden_states))  # [B, N, Dz]
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu) if self.training else mu
        pi = keep.to(z.dtype) / keep.sum(-1, keepdim=True).to(z.dtype)
        kept = keep.sum(-1).to(z.dtype)
        proportion = kept / valid.sum(-1).to(z.dtype)
        return NvibLatent(
            z=z,
            pi=pi,
            mask=keep,
            mu=mu,
            logvar=logvar,
            valid=keep,
            vectors_kept=kept,
            vectors_kept_proportion=proportion,
        )

    def prior_vector_counts(self, counts: torch.Tensor) -> torch.Tensor:
        """m(n) = ⌈f·n⌉ vectors for n = ``counts`` ``[B]``: as many as the posterior of an n-token sentence keeps."""
        return kept_count(counts, self.config.stride_keep_fraction)


__all__ = ["StrideBottleneck", "kept_count", "stride_keep_mask"]
