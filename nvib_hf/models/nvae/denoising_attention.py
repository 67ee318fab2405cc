# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Denoising attention: cross-attention over a mixture distribution instead of a set of vectors (spec section 2).

Attention of a query y over components i reads as Bayesian query denoising: the latent z is drawn from the mixture
Σ_i π_i N(μ_i, σ²_i), the query mapped into latent space, u = (W_k^h)^T q, is a noisy observation of z with noise
N(0, ν I), ν = √d_h, the attention weights are the posterior over components and the result is the posterior
mean of z, projected by the value map.

The decoder passes the mixture as one packed tensor (``latent.pack_mixture``) in place of ``encoder_hidden_states``
so that Transformers' decoder loop, gradient checkpointing and output capture work unchanged; this layer unpacks it
with a check of its width against ``config.latent_dim``.
"""

from __future__ import annotations

import math
import weakref
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .latent import pack_mixture, unpack_mixture
from .registry import bottleneck_class


class CompatTerms(NamedTuple):
    """Which terms of the exact eval form a ``denoising_compat`` mode keeps."""

    quadratic: bool  # the −Σ_d u²_d/(2 s²_id) term of the logits
    log_det_factor: float  # c_i holds −log_det_factor · Σ_d log s²_id (exact: ½)
    value_bias: bool  # the head output adds b_v^h


# "exact": the posterior of Bayesian query denoising. "reference": the authors' first published implementation
# (no quadratic term, factor 1 on the log-determinant, no value bias). "reference_multihead": the authors' later
# multi-head release (no quadratic term, but the exact ½ log-determinant and the value bias).
COMPAT_TERMS = {
    "exact": CompatTerms(quadratic=True, log_det_factor=0.5, value_bias=True),
    "reference": CompatTerms(quadratic=False, log_det_factor=1.0, value_bias=False),
    "reference_multihead": CompatTerms(quadratic=False, log_det_factor=0.5, value_bias=True),
}
DENOISING_COMPAT_MODES = tuple(COMPAT_TERMS)
# Largest folded query and output maps used for single-query steps: about a core's L2 cache (see `_use_folded_maps`).
FOLDED_MAPS_MAX_BYTES = 1 << 20


def compat_terms(compat: str) -> CompatTerms:
    """The terms kept by ``compat``; an unknown mode raises ``ValueError`` naming ``denoising_compat``."""
    if compat not in COMPAT_TERMS:
        raise ValueError(f"denoising_compat must be one of {DENOISING_COMPAT_MODES}, got {compat!r}")
    return COMPAT_TERMS[compat]


def masked_log_weights(log_pi: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log π with −inf on masked components: an additive attention bias. ``[B, K]``."""
    return log_pi.masked_fill(~mask, float("-inf"))


def latent_terms(
    z: torch.Tensor,
    variance: torch.Tensor,
    log_pi: torch.Tensor,
    mask: torch.Tensor,
    nu: float,
    compat: str = "exact",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The eval form's latent-only terms, computed once per sequence (and cached during generation).

    With s²_i = σ²_i + ν (per dimension), the logit of component i for a query u ∈ R^{D_z} is
        [u, u∘u] · [μ_i/s²_i, −1/(2 s²_i)] + c_i,   c_i = log π_i − Σ_d μ²_id/(2 s²_id) − ½ Σ_d log s²_id
    and the posterior mean is ẑ = Σ_i a_i (ν/s²_i ∘ μ_i) + (Σ_i a_i σ²_i/s²_i) ∘ u.

    The ``compat`` modes (``COMPAT_TERMS``) keep or drop terms of this exact form, to compare with the authors' code:
      * ``"exact"``: all of the above.
      * ``"reference"`` (first published implementation): no −u²/(2s²) term (the quadratic keys are 0) and
        −Σ_d log s²_id in c_i (factor 1 instead of ½).
      * ``"reference_multihead"`` (the later multi-head release): no −u²/(2s²) term, ½ Σ_d log s²_id as exact.
    (Whether b_v is added is decided in ``DenoisingCrossAttention._eval_heads``.)

    Returns:
        keys ``[B, K, 2·D_z + 1]`` = [μ/s² | −1/(2s²) | c] (c = −inf on masked components) and
        values ``[B, K, 2·D_z]`` = [ν μ/s² | σ²/s²].
    """
    terms = compat_terms(compat)
    s2 = variance + nu  # [B, K, Dz]
    scaled_mean = z / s2
    quadratic = -0.5 / s2 if terms.quadratic else torch.zeros_like(s2)
    log_det = terms.log_det_factor * torch.log(s2).sum(dim=-1)  # [B, K]
    bias = log_pi - 0.5 * (z * scaled_mean).sum(dim=-1) - log_det  # [B, K]
    bias = masked_log_weights(bias, mask)
    keys = torch.cat([scaled_mean, quadratic, bias[..., None]], dim=-1)
    values = torch.cat([nu * scaled_mean, variance / s2], dim=-1)
    return keys, values


def denoise(u: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-query eval-form work: two matrix products against [u, u∘u].

    Args:
        u: ``[B, H, T, D_z]`` queries mapped into latent space.
        keys, values: from ``latent_terms``, with a head axis: ``[B, 1, K, ·]``.
    Returns:
        ẑ ``[B, H, T, D_z]`` (posterior mean of z) and the attention weights ``[B, H, T, K]``.
    """
    batch, heads, length, latent_dim = u.shape
    features = torch.cat([u, u * u], dim=-1)  # [B, H, T, 2Dz]
    if keys.shape[1] == 1:
        # Keys shared by all heads: fold the heads into the query axis, [B, 1, H·T, 2Dz], so that the products
        # below do not broadcast (and so copy) the per-sequence keys and values once per head at every step.
        features = features.reshape(batch, 1, heads * length, 2 * latent_dim)
    logits = features @ keys[..., :-1].transpose(-1, -2) + keys[..., -1][..., None, :]  # [B, H|1, T|H·T, K]
    weights = torch.softmax(logits, dim=-1)
    mixed = (weights @ values).reshape(batch, heads, length, 2 * latent_dim)  # [B, H, T, 2Dz]
    weights = weights.reshape(batch, heads, length, -1)  # [B, H, T, K]
    return mixed[..., :latent_dim] + mixed[..., latent_dim:] * u, weights


def per_head_matmul(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x[b, h] @ weight[h]`` for every batch row b: ``[B, H, T, a]`` × ``[H, a, c]`` -> ``[B, H, T, c]``.

    One ``bmm`` over heads with the batch folded into the rows, ``[H, B·T, a] @ [H, a, c]``: a broadcasting
    ``x @ weight`` (or einsum) would copy the weights once per batch row, which was the largest cost of a cached
    generation step (two [B, H, d_h, D_z] copies per layer and token).
    """
    batch, heads, length, width = x.shape
    rows = x.transpose(0, 1).reshape(heads, batch * length, width)  # [H, B·T, a]: copies x, not the weights
    return torch.bmm(rows, weight).view(heads, batch, length, -1).transpose(0, 1)  # [B, H, T, c]


class DenoisingCrossAttention(nn.Module):
    """Multi-head cross-attention over a mixture latent, with the parameters of a standard attention layer.

    ``q_proj``, ``k_proj``, ``v_proj`` and ``out_proj`` (with biases) have the names and shapes of BART's attention
    (``k_proj``/``v_proj`` map D_z -> d_model), so an ordinary attention layer's weights load into it.

    Forms (chosen by ``self.training``, as the NVIB layer samples in training and uses means otherwise):
      * train form (impulses z_i, σ = 0): logit_i = q·k_i/√d_h + log π_i − ‖z_i‖²/(2√d_h), output
        Σ_i a_i (W_v z_i + b_v); one ``scaled_dot_product_attention`` call with an additive float mask.
      * eval form (Gaussian components): see ``latent_terms`` and ``denoise``; head output W_v^h ẑ + b_v^h.
        ``denoising_compat`` reproduces the authors' code: ``"reference"`` (first release) drops the −u²/(2s²)
        logit term, doubles the log-determinant and omits b_v; ``"reference_multihead"`` (later multi-head
        release) drops only the −u²/(2s²) term. ``"exact"`` (default) is the true posterior mean.
    For a bottleneck without ``uses_denoising_attention`` (the paper's baselines) it is ordinary scaled dot-product attention over
    the latent vectors, plus log π_i as an additive bias: a constant for their uniform weights, so exactly ordinary
    attention, while the weights of an interpolated set of vectors still count.

    The limit case: with σ = 0 and log π_i − ‖μ_i‖²/(2√d_h) equal for all unmasked i, both forms are exactly scaled
    dot-product attention over keys/values W_k μ_i, W_v μ_i.
    """

    def __init__(self, config, layer_idx: int | None = None):
        super().__init__()
        self.embed_dim = config.d_model
        self.latent_dim = config.latent_dim
        self.num_heads = config.cross_attention_heads
        self.head_dim = self.embed_dim // self.num_heads
        self.nu = math.sqrt(self.head_dim)
        self.dropout = config.attention_dropout
        self.compat = config.denoising_compat
        self.compat_terms = compat_terms(self.compat)
        self.denoising = bottleneck_class(config.bottleneck).uses_denoising_attention
        self.layer_idx = layer_idx
        self.config = config  # read at call time: output_attentions may be set on the config after construction
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.k_proj = nn.Linear(self.latent_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.latent_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.weight_sink: list | None = None  # set by `alignment.recorded_cross_attention`: weights go here
        self._folded: tuple | None = None  # (weak reference to the generation's cache, folded maps): `folded_maps`

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor,
        cache=None,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        **kwargs,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from ``hidden_states [B, T, D]`` to the packed mixture ``key_value_states [B, K, 2·D_z + 2]``
        (another width raises ``ValueError``).

        ``attention_mask`` is ignored: the mixture carries its own component mask.
        """
        batch, length, _ = hidden_states.shape
        eval_form = self.denoising and not self.training
        keys, values = self._cached_terms(key_value_states, cache, eval_form)
        if eval_form and self._use_folded_maps(length):
            output, weights = self._folded_eval_form(hidden_states, keys, values, cache)
        else:
            query = self.q_proj(hidden_states).view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
            if eval_form:
                heads, weights = self._eval_heads(query, keys, values)
            else:
                # Weights when asked by the call, by the config (transformers' output capture reads them from
                # here), or by the guided-alignment loss; otherwise the fused SDPA path.
                wanted = output_attentions or bool(getattr(self.config, "output_attentions", False))
                heads, weights = self._standard_heads(query, keys, values, wanted or self.weight_sink is not None)
            heads = heads.transpose(1, 2).reshape(batch, length, self.embed_dim)  # [B, T, D]
            output = self.out_proj(heads)
        if self.weight_sink is not None:
            self.weight_sink.append(weights)
        return output, weights

    def _cached_terms(self, packed: torch.Tensor, cache, eval_form: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent-only terms, from the cross-attention cache when generation has already stored them."""
        cross_cache = getattr(cache, "cross_attention_cache", None)
        if cross_cache is not None and cache.is_updated.get(self.layer_idx):
            layer = cross_cache.layers[self.layer_idx]
            return layer.keys, layer.values
        z, variance, log_pi, mask = unpack_mixture(packed, self.latent_dim)
        if eval_form:
            keys, values = latent_terms(z, variance, log_pi, mask, self.nu, self.compat)
            keys, values = keys[:, None], values[:, None]  # [B, 1, K, ·]: shared by all heads
        else:
            keys, values = self._projected_keys_values(z, log_pi, mask)
        if cross_cache is not None:
            keys, values = cross_cache.update(keys, values, self.layer_idx)
            cache.is_updated[self.layer_idx] = True
        return keys, values

    def _projected_keys_values(self, z, log_pi, mask) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys ``[B, H, K, d_h + 1]`` (the last column is the additive bias) and values ``[B, H, K, d_h]``."""
        batch, num_components, _ = z.shape
        shape = (batch, num_components, self.num_heads, self.head_dim)
        key = self.k_proj(z).view(shape).transpose(1, 2)
        value = self.v_proj(z).view(shape).transpose(1, 2)
        # Baselines: log π is constant for their uniform weights (plain attention), and weights an interpolated set.
        bias = log_pi - z.pow(2).sum(dim=-1) / (2 * self.nu) if self.denoising else log_pi
        bias = masked_log_weights(bias, mask).to(key.dtype)  # [B, K]
        bias = bias[:, None, :, None].expand(batch, self.num_heads, num_components, 1)
        return torch.cat([key, bias], dim=-1), value

    def _standard_heads(self, query, keys, values, output_attentions: bool):
        """Train form (and the baselines): one SDPA call with log π − ‖z‖²/(2√d_h) as an additive mask."""
        key, bias = keys[..., :-1], keys[:, :, :, -1][:, :, None, :]  # bias: [B, H, 1, K]
        dropout = self.dropout if self.training else 0.0
        if not output_attentions:
            return F.scaled_dot_product_attention(query, key, values, attn_mask=bias, dropout_p=dropout), None
        weights = torch.softmax(query @ key.transpose(-1, -2) / self.nu + bias, dim=-1)  # [B, H, T, K]
        return F.dropout(weights, p=dropout, training=self.training) @ values, weights

    def _use_folded_maps(self, length: int) -> bool:
        """Whether the eval form runs with the folded maps (``folded_maps``): only without gradients, and where
        folding costs no more multiply-adds per query (2·H·D·D_z against 2·D² + 2·D·D_z: H ≤ 2 at D_z = D), or for a
        single query (a cached generation step) while the two folded maps fit in ``FOLDED_MAPS_MAX_BYTES``: there
        per-operator overhead is the cost, while for larger maps a step is bound by reading the weights, which
        folding multiplies by H/2 (``benchmarks/bench_vs_bart.py``: faster at d_model 128, slower at 512)."""
        if torch.is_grad_enabled():
            return False
        folded_size = self.num_heads * self.latent_dim
        if folded_size <= self.embed_dim + self.latent_dim:
            return True
        folded_bytes = 2 * folded_size * self.embed_dim * self.q_proj.weight.element_size()
        return length == 1 and folded_bytes <= FOLDED_MAPS_MAX_BYTES

    def folded_maps(self, cache=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The query-to-latent and latent-to-output maps of the eval form with the head projections folded in.

        u^h = (W_k^h)^T (W_q^h y + b_q^h) = M_q^h y + (W_k^h)^T b_q^h and
        out = W_o [W_v^h ẑ^h + b_v^h]_h + b_o = Σ_h (W_o^h W_v^h) ẑ^h + (W_o b_v + b_o)
        (b_v omitted where the ``denoising_compat`` mode drops it), so a step needs two products instead of four
        and the per-head reshapes. Returns M_q ``[H·D_z, D]``, its bias ``[H·D_z]``, M_o ``[D, H·D_z]`` and its
        bias ``[D]``.

        Folded once per ``generate()`` call: they are kept while ``cache`` (the call's ``EncoderDecoderCache``) is
        the same object, and folded again for every other call. Parameter version counters cannot tell when the
        weights changed: the Trainer's optimiser steps leave them unchanged, so a cache keyed on them served the
        maps of the first validation to every later one (the sweep's NVAE: validation CE 5.9 against 0.73).
        """
        if cache is not None and self._folded is not None and self._folded[0]() is cache:
            return self._folded[1]
        with torch.no_grad():
            heads, head_dim, latent_dim = self.num_heads, self.head_dim, self.latent_dim
            w_key = self.k_proj.weight.view(heads, head_dim, latent_dim)
            w_value = self.v_proj.weight.view(heads, head_dim, latent_dim)
            w_query = self.q_proj.weight.view(heads, head_dim, self.embed_dim)
            w_out = self.out_proj.weight.view(self.embed_dim, heads, head_dim)
            query_map = torch.einsum("hkz,hkd->hzd", w_key, w_query).reshape(heads * latent_dim, -1)
            query_bias = torch.einsum("hkz,hk->hz", w_key, self.q_proj.bias.view(heads, head_dim)).flatten()
            out_map = torch.einsum("dhk,hkz->dhz", w_out, w_value).reshape(self.embed_dim, -1)
            out_bias = self.out_proj.bias
            if self.compat_terms.value_bias:
                out_bias = out_bias + self.out_proj.weight @ self.v_proj.bias
        maps = (query_map, query_bias, out_map, out_bias)
        self._folded = None if cache is None else (weakref.ref(cache), maps)
        return maps

    def _folded_eval_form(self, hidden_states, keys, values, cache=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Eval form with ``folded_maps``: the result of ``_eval_heads`` then ``out_proj``, in fewer operators.

        The queries of all heads are rows of one ``[B, T·H, D_z]`` tensor (the keys are shared by the heads).
        Returns the output ``[B, T, D]`` and the attention weights ``[B, H, T, K]``.
        """
        batch, length, _ = hidden_states.shape
        maps = self.folded_maps(cache)
        if hidden_states.dtype != maps[0].dtype:  # a bf16 autocast region, or a model cast after folding
            maps = tuple(t.to(hidden_states.dtype) for t in maps)
        query_map, query_bias, out_map, out_bias = maps
        u = F.linear(hidden_states, query_map, query_bias)  # [B, T, H·Dz]
        u = u.view(batch, 1, length * self.num_heads, self.latent_dim)  # rows (t, h)
        if keys.dtype != u.dtype:
            keys, values = keys.to(u.dtype), values.to(u.dtype)
        z_hat, weights = denoise(u, keys, values)  # [B, 1, T·H, Dz], [B, 1, T·H, K]
        output = F.linear(z_hat.view(batch, length, -1).to(out_map.dtype), out_map, out_bias)
        return output, weights.view(batch, length, self.num_heads, -1).transpose(1, 2)

    def _eval_heads(self, query, keys, values):
        """Eval form: u = (W_k^h)^T q, ẑ by ``denoise``, head output W_v^h ẑ (+ b_v^h unless ``"reference"``)."""
        w_key = self.k_proj.weight.view(self.num_heads, self.head_dim, self.latent_dim)
        w_value = self.v_proj.weight.view(self.num_heads, self.head_dim, self.latent_dim)
        u = per_head_matmul(query, w_key.to(query.dtype))  # [B, H, T, Dz]
        z_hat, weights = denoise(u, keys.to(u.dtype), values.to(u.dtype))
        heads = per_head_matmul(z_hat, w_value.to(z_hat.dtype).transpose(-1, -2))  # [B, H, T, d_h]
        if self.compat_terms.value_bias:
            heads = heads + self.v_proj.bias.view(1, self.num_heads, 1, self.head_dim)
        return heads, weights


__all__ = [
    "COMPAT_TERMS",
    "DENOISING_COMPAT_MODES",
    "CompatTerms",
    "DenoisingCrossAttention",
    "compat_terms",
    "denoise",
    "latent_terms",
    "per_head_matmul",
    "pack_mixture",
    "unpack_mixture",
]
