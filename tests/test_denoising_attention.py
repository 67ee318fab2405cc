"""Denoising attention against the spec: limit case, slow reference, true posterior mean, golden values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from nvib_hf.models.nvae.denoising_attention import DenoisingCrossAttention, denoise, latent_terms, pack_mixture
from tests.nvae_testing import limit_case_weights, random_mixture, tiny_config

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_nvib.json").read_text())


def make_attention(heads: int, compat: str = "exact", seed: int = 0, dim: int = 32) -> DenoisingCrossAttention:
    torch.manual_seed(seed)
    cfg = tiny_config(d_model=dim, cross_attention_heads=heads, denoising_compat=compat)
    attention = DenoisingCrossAttention(cfg, layer_idx=0).double()
    for linear in (attention.q_proj, attention.k_proj, attention.v_proj, attention.out_proj):
        torch.nn.init.normal_(linear.weight, std=0.3)
        torch.nn.init.normal_(linear.bias, std=0.3)
    return attention


def run_form(attention, y, packed, train: bool):
    attention.train(train)
    return attention(y, packed, output_attentions=True)


def standard_attention(attention, y, mu, mask):
    """Ordinary multi-head scaled dot-product attention over keys W_k μ, values W_v μ."""
    batch, length, _ = y.shape
    heads, head_dim = attention.num_heads, attention.head_dim

    def split(x):
        return x.view(batch, x.shape[1], heads, head_dim).transpose(1, 2)

    q, k, v = split(attention.q_proj(y)), split(attention.k_proj(mu)), split(attention.v_proj(mu))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
    return attention.out_proj(out.transpose(1, 2).reshape(batch, length, -1))


@pytest.mark.parametrize("heads", [1, 4])
@pytest.mark.parametrize("lengths", [None, [6, 3]], ids=["full", "padded"])
def test_limit_case_equals_scaled_dot_product_attention(heads, lengths):
    attention = make_attention(heads)
    mu, _, _, mask = random_mixture(2, 6, 32, lengths=lengths)
    pi = limit_case_weights(mu, mask, attention.head_dim)
    y = torch.randn(2, 5, 32, dtype=torch.float64)
    expected = standard_attention(attention, y, mu, mask)
    with torch.no_grad():
        for train, variance in ((True, None), (False, torch.zeros_like(mu))):
            out, _ = run_form(attention, y, pack_mixture(mu, variance, pi, mask), train)
            torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def slow_eval_form(attention, y, mu, variance, pi, mask, compat):
    """The spec's eval form with explicit loops over heads, queries, components and dimensions."""
    heads, head_dim, nu = attention.num_heads, attention.head_dim, math.sqrt(attention.head_dim)
    w_q, b_q = attention.q_proj.weight, attention.q_proj.bias
    w_k, w_v, b_v = attention.k_proj.weight, attention.v_proj.weight, attention.v_proj.bias
    batch, length, _ = y.shape
    out = torch.zeros(batch, length, attention.embed_dim, dtype=y.dtype)
    for b in range(batch):
        for t in range(length):
            for h in range(heads):
                rows = slice(h * head_dim, (h + 1) * head_dim)
                q = w_q[rows] @ y[b, t] + b_q[rows]
                u = w_k[rows].T @ q
                logits = []
                for i in range(mu.shape[1]):
                    total = math.log(pi[b, i]) if mask[b, i] else -math.inf
                    for d in range(mu.shape[2]):
                        s2 = variance[b, i, d] + nu
                        total += u[d] * mu[b, i, d] / s2 - mu[b, i, d] ** 2 / (2 * s2)
                        if compat == "exact":
                            total += -(u[d] ** 2) / (2 * s2) - 0.5 * torch.log(s2)
                        else:
                            total += -torch.log(s2)
                    logits.append(total)
                a = torch.softmax(torch.stack([torch.as_tensor(v, dtype=y.dtype) for v in logits]), dim=0)
                z_hat = sum(
                    a[i] * (nu / (variance[b, i] + nu) * mu[b, i] + variance[b, i] / (variance[b, i] + nu) * u)
                    for i in range(mu.shape[1])
                )
                head = w_v[rows] @ z_hat + (b_v[rows] if compat == "exact" else 0)
                out[b, t, rows] = head
    return attention.out_proj(out)


@pytest.mark.parametrize("compat", ["exact", "reference"])
def test_eval_form_equals_slow_reference(compat):
    attention = make_attention(2, compat, dim=8)
    mu, variance, pi, mask = random_mixture(2, 4, 8, lengths=[4, 2], seed=1)
    y = torch.randn(2, 3, 8, dtype=torch.float64)
    with torch.no_grad():
        out, _ = run_form(attention, y, pack_mixture(mu, variance, pi, mask), train=False)
        expected = slow_eval_form(attention, y, mu, variance, pi, mask, compat)
    torch.testing.assert_close(out, expected, atol=1e-10, rtol=1e-10)


def test_exact_mode_is_the_true_posterior_mean():
    """ẑ and the weights equal the posterior of z ~ Σ π_i N(μ_i, σ²_i) given u ~ N(z, ν I)."""
    nu = 2.0
    mu, variance, pi, mask = random_mixture(1, 3, 4, seed=2)
    u = torch.randn(1, 1, 2, 4, dtype=torch.float64)
    keys, values = latent_terms(mu, variance, torch.log(pi), mask, nu, "exact")
    z_hat, weights = denoise(u, keys[:, None], values[:, None])
    # Closed form with torch.distributions: p(i | u) ∝ π_i N(u; μ_i, σ²_i + ν), E[z | u, i] = (ν μ_i + σ²_i u)/(σ²_i + ν)
    marginal = torch.distributions.Independent(torch.distributions.Normal(mu[0], (variance[0] + nu).sqrt()), 1)
    for t in range(2):
        posterior = torch.softmax(torch.log(pi[0]) + marginal.log_prob(u[0, 0, t]), dim=0)
        means = (nu * mu[0] + variance[0] * u[0, 0, t]) / (variance[0] + nu)
        torch.testing.assert_close(weights[0, 0, t], posterior, atol=1e-12, rtol=0)
        torch.testing.assert_close(z_hat[0, 0, t], posterior @ means, atol=1e-12, rtol=0)
    # Monte Carlo importance sampling from the mixture prior, weights N(u; z, ν I): independent of any algebra.
    gen = torch.Generator().manual_seed(3)
    component = torch.multinomial(pi[0], 400_000, replacement=True, generator=gen)
    samples = mu[0, component] + variance[0, component].sqrt() * torch.randn(
        400_000, 4, generator=gen, dtype=torch.float64
    )
    log_w = -((u[0, 0, 0] - samples) ** 2).sum(-1) / (2 * nu)
    w = torch.softmax(log_w, dim=0)
    torch.testing.assert_close(z_hat[0, 0, 0], w @ samples, atol=0.02, rtol=0)


def test_train_form_is_eval_form_without_variance():
    attention = make_attention(4)
    z, _, pi, mask = random_mixture(2, 5, 32, lengths=[5, 3], seed=4)
    y = torch.randn(2, 3, 32, dtype=torch.float64)
    with torch.no_grad():
        train_out, train_w = run_form(attention, y, pack_mixture(z, None, pi, mask), train=True)
        eval_out, eval_w = run_form(attention, y, pack_mixture(z, torch.full_like(z, 1e-12), pi, mask), train=False)
    torch.testing.assert_close(train_out, eval_out, atol=1e-9, rtol=0)
    torch.testing.assert_close(train_w, eval_w, atol=1e-9, rtol=0)


def test_masked_components_get_exactly_zero_weight():
    attention = make_attention(2)
    mu, variance, pi, mask = random_mixture(2, 6, 32, lengths=[6, 2], seed=5)
    mask[0, 3] = False  # a pruned component inside the sequence
    pi = torch.where(mask, pi, torch.zeros_like(pi))
    y = torch.randn(2, 4, 32, dtype=torch.float64)
    for train in (True, False):
        _, weights = run_form(attention, y, pack_mixture(mu, variance, pi / pi.sum(-1, keepdim=True), mask), train)
        assert torch.all(weights[0, :, :, 3] == 0) and torch.all(weights[1, :, :, 2:] == 0)
        assert torch.isfinite(weights).all()


@pytest.mark.parametrize("mode", ["exact", "reference"])
def test_golden_values(mode):
    attention = make_attention(GOLDEN["sizes"]["H"], mode, dim=GOLDEN["sizes"]["D"])
    tensor = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    with torch.no_grad():
        for name, linear in zip("qkvo", (attention.q_proj, attention.k_proj, attention.v_proj, attention.out_proj)):
            linear.weight.copy_(tensor(GOLDEN["weights"][f"W_{name}"]))
            linear.bias.copy_(tensor(GOLDEN["weights"][f"b_{name}"]))
    inputs = {k: tensor(v) for k, v in GOLDEN["inputs"].items()}
    valid = inputs["valid"] > 0.5
    y = inputs["y"]
    cases = [
        (f"eval_{mode}", pack_mixture(inputs["mu"], inputs["logvar"].exp(), inputs["pi"], valid), False),
        ("train_form_on_z", pack_mixture(inputs["z"], None, inputs["pi"], valid), True),
    ]
    with torch.no_grad():
        for key, packed, train in cases:
            out, weights = run_form(attention, y, packed, train)
            torch.testing.assert_close(out, tensor(GOLDEN[key]["output"]), atol=1e-10, rtol=0)
            torch.testing.assert_close(weights, tensor(GOLDEN[key]["attn"]), atol=1e-10, rtol=0)


@pytest.mark.parametrize("compat", ["exact", "reference", "reference_multihead"])
@pytest.mark.parametrize("heads, length", [(1, 3), (2, 3), (4, 1), (4, 3)])
def test_folded_maps_give_the_per_head_eval_form(compat, heads, length):
    """Without gradients the eval form runs with the head projections folded into two maps (where that costs no
    more, or for one query): the same output and weights as the per-head form computed with gradients."""
    attention = make_attention(heads, compat).eval()
    mu, variance, pi, mask = random_mixture(2, 5, 32, lengths=[5, 3], seed=9)
    packed, y = pack_mixture(mu, variance, pi, mask), torch.randn(2, length, 32, dtype=torch.float64)
    assert not attention._use_folded_maps(length)  # gradients enabled
    with torch.no_grad():
        assert attention._use_folded_maps(length) == (heads <= 2 or length == 1)  # small maps (d_model 32)
        fast = attention(y, packed)
    per_head = attention(y, packed)  # gradients enabled: the per-head form
    assert per_head[0].requires_grad and not fast[0].requires_grad
    torch.testing.assert_close(fast[0], per_head[0], atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(fast[1], per_head[1], atol=1e-12, rtol=1e-12)


def test_large_maps_are_not_folded_for_single_queries():
    """At d_model 512 with 4 heads the folded maps (8 MiB) would double the weights a generation step reads."""
    attention = DenoisingCrossAttention(tiny_config(d_model=512, cross_attention_heads=4)).eval()
    with torch.no_grad():
        assert not attention._use_folded_maps(1)


def test_folded_maps_follow_parameter_updates():
    """The folded maps are kept within one generation (its cache object) only: any other call folds them again, so
    a parameter update — in place, as an optimiser step does, even one that leaves the version counter unchanged
    (the Trainer's) — is always seen."""
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    attention = make_attention(1).eval()
    mu, variance, pi, mask = random_mixture(1, 4, 32, seed=10)
    packed, y = pack_mixture(mu, variance, pi, mask), torch.randn(1, 2, 32, dtype=torch.float64)
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    with torch.no_grad():
        assert attention.folded_maps(cache)[0] is attention.folded_maps(cache)[0]  # one generation: folded once
        assert attention.folded_maps()[0] is not attention.folded_maps()[0]  # no cache: folded per call
        before = attention(y, packed)[0]
        attention.v_proj.bias.data += 1.0  # bypasses the version counter
        after = attention(y, packed)[0]
    torch.testing.assert_close(after, attention(y, packed)[0].detach(), atol=1e-12, rtol=1e-12)
    assert not torch.allclose(before, after)


def test_latent_terms_are_cached_for_generation():
    """With an EncoderDecoderCache the latent-only terms are computed once and reused at later steps."""
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    attention = make_attention(1)
    attention.eval()
    mu, variance, pi, mask = random_mixture(2, 5, 32, seed=6)
    packed = pack_mixture(mu, variance, pi, mask)
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    y = torch.randn(2, 2, 32, dtype=torch.float64)
    first, _ = attention(y[:, :1], packed, cache=cache)
    assert cache.is_updated[0]
    second, _ = attention(y[:, 1:], torch.full_like(packed, float("nan")), cache=cache)  # packed ignored now
    full, _ = attention(y, packed)
    torch.testing.assert_close(torch.cat([first, second], dim=1), full)


def test_baseline_attention_is_ordinary_attention_weighted_by_pi():
    """bottleneck != "nvib": plain SDPA for uniform weights; softmax(q·k/√d_h + log π) for an interpolated set."""
    torch.manual_seed(7)
    attention = DenoisingCrossAttention(tiny_config(bottleneck="vae")).double().eval()
    z, _, pi, mask = random_mixture(2, 5, 32, lengths=[5, 3], seed=8)
    uniform = mask.double() / mask.sum(-1, keepdim=True)
    y = torch.randn(2, 4, 32, dtype=torch.float64)
    with torch.no_grad():
        out, _ = attention(y, pack_mixture(z, None, uniform, mask))
        torch.testing.assert_close(out, standard_attention(attention, y, z, mask), atol=1e-10, rtol=0)
        _, weights = attention(y, pack_mixture(z, None, pi, mask), output_attentions=True)
        q, k = attention.q_proj(y), attention.k_proj(z)
        logits = q @ k.transpose(1, 2) / attention.nu + torch.log(pi).masked_fill(~mask, float("-inf"))[:, None]
        torch.testing.assert_close(weights[:, 0], torch.softmax(logits, -1), atol=1e-10, rtol=0)
