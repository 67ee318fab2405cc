# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The latent every bottleneck returns (``NvibLatent``) and its packed form, owned in one place.

The decoder's cross-attention receives the latent as one tensor in place of ``encoder_hidden_states`` (so BART's
decoder loop, caching, gradient checkpointing and output capture work unchanged):

    packed = [ z (D_z) | variance (D_z) | log π (1) | mask (1) ]   ->   ``[B, K, 2·D_z + 2]``

``pack_mixture`` writes that layout and ``unpack_mixture`` reads it back; the reader checks the width against the
latent size it expects, because a wrong width would otherwise be sliced silently into nonsense (e.g. a model whose
``latent_dim`` differs from the latent it is given).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils.generic import ModelOutput

PACKED_EXTRA_CHANNELS = 2  # log π and the mask, after the means and the variances


def packed_width(latent_dim: int) -> int:
    """Width of the packed form for latent size D_z: 2·D_z + 2."""
    return 2 * latent_dim + PACKED_EXTRA_CHANNELS


def pack_mixture(z: torch.Tensor, variance: torch.Tensor | None, pi: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pack a mixture into ``[B, K, 2·D_z + 2]`` = [means | variances | log π | mask].

    ``variance=None`` (impulses, the training form) is stored as zeros. log π of masked components is stored as 0
    (the mask channel, not the value, removes them).
    """
    variance = torch.zeros_like(z) if variance is None else variance
    log_pi = torch.where(mask, torch.log(pi.clamp_min(torch.finfo(pi.dtype).tiny)), torch.zeros_like(pi))
    return torch.cat([z, variance.to(z.dtype), log_pi[..., None].to(z.dtype), mask[..., None].to(z.dtype)], dim=-1)


def unpack_mixture(
    packed: torch.Tensor, latent_dim: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inverse of ``pack_mixture``: ``(z [B,K,Dz], variance [B,K,Dz], log_pi [B,K], mask [B,K] bool)``.

    With ``latent_dim`` given, a last dimension other than 2·latent_dim + 2 raises ``ValueError`` naming both widths;
    without it D_z is inferred, and only an odd width (no layout fits) raises.
    """
    width = packed.shape[-1]
    if latent_dim is None:
        if width < PACKED_EXTRA_CHANNELS + 2 or (width - PACKED_EXTRA_CHANNELS) % 2:
            raise ValueError(f"a packed latent has width 2·D_z + 2 (even, at least 4); got width {width}.")
        latent_dim = (width - PACKED_EXTRA_CHANNELS) // 2
    elif width != packed_width(latent_dim):
        raise ValueError(
            f"packed latent width mismatch: expected 2·latent_dim + 2 = {packed_width(latent_dim)} for "
            f"latent_dim={latent_dim}, got {width} (a latent of another model, or encoder states instead of a latent?)."
        )
    z, variance = packed[..., :latent_dim], packed[..., latent_dim : 2 * latent_dim]
    return z, variance, packed[..., -2], packed[..., -1] > 0.5


@dataclass
class NvibLatent(ModelOutput):
    """A latent mixture, batch-first. The decoder's cross-attention reads ``z``, ``variance``, ``pi`` and ``mask``.

    Attributes:
        z: ``[B, K, D_z]`` component locations — samples in training, means at evaluation.
        pi: ``[B, K]`` mixture weights (sum to 1 over unmasked components).
        mask: ``[B, K]`` bool, True for components the decoder attends to.
        variance: ``[B, K, D_z]`` σ² of Gaussian components, or None for impulses (training samples).
        mu, logvar: ``[B, n, D_z]`` posterior means and log-variances (n = N + 1, prior first, for NVIB; one per
            latent vector for the VAE bottlenecks), for the KL terms.
        alpha: ``[B, n]`` posterior pseudo-counts (α_p at index 0); NVIB only.
        valid: ``[B, n]`` bool, the components the KL terms score: the prior and the non-padding tokens (NVIB), the
            latent vectors (VAEs; for ``vae_stride`` only the kept ones). None for a latent not from an encoder.
        vectors_kept: ``[B]`` number of non-prior components kept (the prior is never counted).
        vectors_kept_proportion: ``[B]`` vectors_kept / N.
    """

    z: torch.Tensor | None = None
    pi: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    variance: torch.Tensor | None = None
    mu: torch.Tensor | None = None
    logvar: torch.Tensor | None = None
    alpha: torch.Tensor | None = None
    valid: torch.Tensor | None = None
    vectors_kept: torch.Tensor | None = None
    vectors_kept_proportion: torch.Tensor | None = None

    def require(self, *names: str) -> tuple[torch.Tensor, ...]:
        """The fields ``names``, in that order, each a tensor: ``ValueError`` naming those that are None.

        Every field may be None (a prior sample has no ``mu``, ``logvar``, ``valid``), so code that needs some reads
        them here, e.g. ``mu, logvar = latent.require("mu", "logvar")``, and fails with a clear message otherwise.
        """
        unknown = [name for name in names if name not in self.__dataclass_fields__]
        if unknown:
            raise ValueError(f"NvibLatent has no field(s) {unknown}; its fields are {list(self.__dataclass_fields__)}.")
        missing = [name for name in names if getattr(self, name) is None]
        if missing:
            raise ValueError(f"this latent has no {', '.join(missing)} (None), which this operation needs.")
        return tuple(getattr(self, name) for name in names)

    def packed(self) -> torch.Tensor:
        """``[B, K, 2·D_z + 2]``: the form the decoder's cross-attention takes in place of encoder states."""
        z, pi, mask = self.require("z", "pi", "mask")
        return pack_mixture(z, self.variance, pi, mask)

    def select(self, index: torch.Tensor | slice | int) -> NvibLatent:
        """The latents of some batch rows (every tensor field indexed along dim 0)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return NvibLatent(**{key: value[index] for key, value in self.items()})


LATENT_FIELDS = tuple(NvibLatent.__dataclass_fields__)
