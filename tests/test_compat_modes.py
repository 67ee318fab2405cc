"""The three ``denoising_compat`` modes of the eval form against an explicit loop, and where they must agree."""

from __future__ import annotations

import math

import pytest
import torch

from nvib_hf.models.nvae.configuration_nvae import DENOISING_COMPAT
from nvib_hf.models.nvae.denoising_attention import (
    DENOISING_COMPAT_MODES,
    DenoisingCrossAttention,
    denoise,
    latent_terms,
    pack_mixture,
)
from tests.nvae_testing import random_mixture, tiny_config

# Written out here, independently of the module's table: (−u²/(2s²) term, factor on Σ log s², b_v added).
MODES = {
    "exact": (True, 0.5, True),
    "reference": (False, 1.0, False),
    "reference_multihead": (False, 0.5, True),
}


def make_attention(heads: int, compat: str, dim: int = 12, latent_dim: int = 5) -> DenoisingCrossAttention:
    """A float64 layer in eval mode with random weights and biases (the same for every mode: seed 0)."""
    torch.manual_seed(0)
    cfg = tiny_config(d_model=dim, cross_attention_heads=heads, latent_dim=latent_dim, denoising_compat=compat)
    attention = DenoisingCrossAttention(cfg, layer_idx=0).double().eval()
    for linear in (attention.q_proj, attention.k_proj, attention.v_proj, attention.out_proj):
        torch.nn.init.normal_(linear.weight, std=0.4)
        torch.nn.init.normal_(linear.bias, std=0.4)
    return attention


def loop_eval_form(attention, y, mu, variance, pi, mask, compat):
    """Per head h, query t, component i and dimension d, the eval form of ``compat`` from its definition."""
    quadratic, log_det_factor, value_bias = MODES[compat]
    heads, head_dim, nu = attention.num_heads, attention.head_dim, math.sqrt(attention.head_dim)
    w_q, b_q = attention.q_proj.weight, attention.q_proj.bias
    w_k, w_v, b_v = attention.k_proj.weight, attention.v_proj.weight, attention.v_proj.bias
    batch, length, _ = y.shape
    num_components, latent_dim = mu.shape[1], mu.shape[2]
    concat = torch.zeros(batch, length, attention.embed_dim, dtype=torch.float64)
    for b in range(batch):
        for t in range(length):
            for h in range(heads):
                rows = slice(h * head_dim, (h + 1) * head_dim)
                u = w_k[rows].T @ (w_q[rows] @ y[b, t] + b_q[rows])  # [Dz]
                logits = []
                for i in range(num_components):
                    if not mask[b, i]:
                        logits.append(-math.inf)
                        continue
                    logit = math.log(pi[b, i])
                    for d in range(latent_dim):
                        s2 = float(variance[b, i, d]) + nu
                        m, ud = float(mu[b, i, d]), float(u[d])
                        logit += ud * m / s2 - m * m / (2 * s2) - log_det_factor * math.log(s2)
                        if quadratic:
                            logit -= ud * ud / (2 * s2)
                    logits.append(logit)
                top = max(logits)
                exps = [math.exp(v - top) if v > -math.inf else 0.0 for v in logits]
                weights = [e / sum(exps) for e in exps]
                z_hat = torch.zeros(latent_dim, dtype=torch.float64)
                for i in range(num_components):
                    s2 = variance[b, i] + nu
                    z_hat += weights[i] * (nu / s2 * mu[b, i] + variance[b, i] / s2 * u)
                concat[b, t, rows] = w_v[rows] @ z_hat + (b_v[rows] if value_bias else 0.0)
    return attention.out_proj(concat)


def run_eval(attention, y, mu, variance, pi, mask):
    with torch.no_grad():
        return attention(y, pack_mixture(mu, variance, pi, mask), output_attentions=True)


def test_mode_lists_agree():
    assert tuple(MODES) == DENOISING_COMPAT_MODES == DENOISING_COMPAT
    tiny_config(denoising_compat="reference_multihead")  # valid
    with pytest.raises(ValueError, match="denoising_compat"):
        tiny_config(denoising_compat="multihead")
    mu, variance, pi, mask = random_mixture(1, 2, 3)
    with pytest.raises(ValueError, match="denoising_compat"):
        latent_terms(mu, variance, torch.log(pi), mask, 1.0, "multihead")


@pytest.mark.parametrize("compat", list(MODES))
@pytest.mark.parametrize("heads", [1, 3])
def test_eval_form_equals_loop(compat, heads):
    attention = make_attention(heads, compat)
    mu, variance, pi, mask = random_mixture(3, 5, 5, lengths=[5, 2, 4], seed=4)
    y = torch.randn(3, 4, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    out, weights = run_eval(attention, y, mu, variance, pi, mask)
    with torch.no_grad():
        expected = loop_eval_form(attention, y, mu, variance, pi, mask, compat)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=1e-12)
    assert weights.shape == (3, heads, 4, 5)
    assert torch.all(weights[~mask[:, None, None, :].expand_as(weights)] == 0)  # masked components: exactly 0


def test_modes_differ_in_general():
    """On a generic mixture the three modes give three different outputs (no mode is an alias of another)."""
    mu, variance, pi, mask = random_mixture(2, 4, 5, lengths=[4, 3], seed=6)
    y = torch.randn(2, 3, 12, dtype=torch.float64)
    outs = {mode: run_eval(make_attention(3, mode), y, mu, variance, pi, mask)[0] for mode in MODES}
    for first, second in (
        ("exact", "reference"),
        ("exact", "reference_multihead"),
        ("reference", "reference_multihead"),
    ):
        assert (outs[first] - outs[second]).abs().max() > 1e-3, (first, second)


@pytest.mark.parametrize("shared_variance", ["zero", "equal"], ids=["sigma_to_0", "equal_variances"])
@pytest.mark.parametrize("heads", [1, 3])
def test_modes_agree_when_variances_are_shared(shared_variance, heads):
    """With s²_i the same for every component (σ → 0, or equal variances), the dropped −u²/(2s²) term and the
    log-determinant are constant over i and cancel in the softmax: equal weights in all modes, exact ≡
    reference_multihead, and reference = exact − W_o b_v (the missing value bias, mapped by the output layer)."""
    mu, variance, pi, mask = random_mixture(2, 4, 5, lengths=[4, 2], seed=7)
    if shared_variance == "zero":
        variance = torch.zeros_like(variance)
    else:
        variance = variance[:, :1].expand_as(variance).clone()
    y = torch.randn(2, 3, 12, dtype=torch.float64)
    results = {mode: run_eval(make_attention(heads, mode), y, mu, variance, pi, mask) for mode in MODES}
    (exact, w_exact), (ref, w_ref), (multi, w_multi) = (results[m] for m in MODES)
    torch.testing.assert_close(w_ref, w_exact, atol=1e-13, rtol=0)
    torch.testing.assert_close(w_multi, w_exact, atol=1e-13, rtol=0)
    torch.testing.assert_close(multi, exact, atol=1e-12, rtol=0)
    layer = make_attention(heads, "exact")
    torch.testing.assert_close(ref, exact - layer.out_proj.weight @ layer.v_proj.bias, atol=1e-12, rtol=0)


def test_one_unmasked_component_gets_all_the_weight_in_every_mode():
    mu, variance, pi, mask = random_mixture(1, 3, 5, lengths=[1], seed=8)
    y = torch.randn(1, 2, 12, dtype=torch.float64)
    outs = {}
    for mode in MODES:
        outs[mode], weights = run_eval(make_attention(3, mode), y, mu, variance, pi, mask)
        assert torch.equal(weights[..., 0], torch.ones_like(weights[..., 0]))
    torch.testing.assert_close(outs["reference_multihead"], outs["exact"], atol=1e-13, rtol=0)


def test_log_weight_differences_are_the_dropped_terms():
    """log a differs between modes by exactly the dropped logit term, up to a per-query constant:
    exact − reference_multihead = −Σ_d u²_d/(2 s²_id); reference_multihead − reference = ½ Σ_d log s²_id."""
    nu = 2.0
    mu, variance, pi, mask = random_mixture(2, 5, 4, lengths=[5, 3], seed=9)
    u = torch.randn(2, 3, 6, 4, dtype=torch.float64)  # [B, H, T, Dz]
    log_a = {}
    for mode in MODES:
        keys, values = latent_terms(mu, variance, torch.log(pi), mask, nu, mode)
        _, weights = denoise(u, keys[:, None], values[:, None])
        log_a[mode] = torch.log(weights)  # [B, H, T, K]
    s2 = (variance + nu)[:, None, None]  # [B, 1, 1, K, Dz]
    dropped_quadratic = -(u[:, :, :, None, :] ** 2 / (2 * s2)).sum(-1)  # [B, H, T, K]
    half_log_det = 0.5 * torch.log(s2).sum(-1).expand_as(dropped_quadratic)
    for (first, second), term in (
        (("exact", "reference_multihead"), dropped_quadratic),
        (("reference_multihead", "reference"), half_log_det),
    ):
        residual = log_a[first] - log_a[second] - term  # constant over the unmasked components
        for b in range(2):
            valid = residual[b][..., mask[b]]
            torch.testing.assert_close(valid, valid[..., :1].expand_as(valid), atol=1e-10, rtol=0)
