"""KL terms: zero at the prior, positive elsewhere, the closed form of torch.distributions, stability, padding."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from nvib_hf.models.nvae.kl import kl_dirichlet, kl_gaussian

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_nvib.json").read_text())


def posterior(alpha_tokens, dim=4, seed=0, pad=0):
    """(mu, logvar, alpha, valid) with the prior N(0, I), α_p = 1 at index 0 and ``pad`` padding positions."""
    gen = torch.Generator().manual_seed(seed)
    alpha_tokens = torch.as_tensor(alpha_tokens, dtype=torch.float64).reshape(1, -1)
    n = alpha_tokens.shape[1] + 1
    mu = torch.randn(1, n + pad, dim, generator=gen, dtype=torch.float64)
    logvar = torch.randn(1, n + pad, dim, generator=gen, dtype=torch.float64) * 0.5
    mu[:, 0], logvar[:, 0] = 0.0, 0.0
    alpha = torch.cat(
        [torch.ones(1, 1, dtype=torch.float64), alpha_tokens, torch.full((1, pad), 7.0, dtype=torch.float64)], 1
    )
    valid = torch.arange(n + pad)[None] < n
    return mu, logvar, alpha, valid


def test_golden_values():
    inputs = {k: torch.tensor(v, dtype=torch.float64) for k, v in GOLDEN["inputs"].items()}
    valid = inputs["valid"] > 0.5
    kl_g = kl_gaussian(inputs["mu"], inputs["logvar"], inputs["alpha"], valid)
    torch.testing.assert_close(kl_g, torch.tensor(GOLDEN["kl_gaussian_kappa1"], dtype=torch.float64))
    for delta in (0.0, 0.25, 1.0):
        expected = torch.tensor(GOLDEN["kl_dirichlet"][f"delta={delta}"], dtype=torch.float64)
        torch.testing.assert_close(kl_dirichlet(inputs["alpha"], valid, 1.0, delta), expected)


def test_zero_when_posterior_is_prior_and_positive_otherwise():
    mu, logvar, alpha, valid = posterior([1.0, 1.0, 1.0])
    prior_mu, prior_logvar = torch.zeros_like(mu), torch.zeros_like(logvar)
    assert kl_gaussian(prior_mu, prior_logvar, alpha, valid).item() == pytest.approx(0.0, abs=1e-12)
    assert kl_gaussian(mu, logvar, alpha, valid).item() > 0
    # α_0^q = α_p + δN: the Dirichlet KL vanishes (δ = 1: one count per token; δ = 0.5: half a count).
    assert kl_dirichlet(alpha, valid, 1.0, delta=1.0).item() == pytest.approx(0.0, abs=1e-12)
    half = torch.tensor([[1.0, 0.5, 0.5, 0.5]], dtype=torch.float64)
    assert kl_dirichlet(half, valid, 1.0, delta=0.5).item() == pytest.approx(0.0, abs=1e-12)
    for tokens in ([0.2, 0.1, 0.0], [5.0, 3.0, 9.0]):
        _, _, alpha_other, _ = posterior(tokens)
        assert kl_dirichlet(alpha_other, valid, 1.0, delta=1.0).item() > 0


@pytest.mark.parametrize("delta", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("kappa", [1, 3])
def test_dirichlet_matches_torch_distributions(delta, kappa):
    _, _, alpha, valid = posterior([0.3, 2.0, 0.0, 5.5])
    n = int(valid.sum())
    k = kappa * n
    total_q, total_p = alpha.sum(), 1.0 + delta * (n - 1)
    q = torch.distributions.Dirichlet(torch.full((k,), float(total_q) / k, dtype=torch.float64))
    p = torch.distributions.Dirichlet(torch.full((k,), total_p / k, dtype=torch.float64))
    expected = torch.distributions.kl_divergence(q, p) / n
    torch.testing.assert_close(kl_dirichlet(alpha, valid, 1.0, delta, kappa)[0], expected)


def test_gaussian_is_weighted_mean_over_dimensions():
    mu, logvar, alpha, valid = posterior([2.0, 1.0], dim=3)
    total = alpha.sum()
    expected = 0.0
    for i in range(3):
        per_dim = logvar[0, i].exp() + mu[0, i] ** 2 - 1 - logvar[0, i]
        expected += float(alpha[0, i] / total) * 0.5 * float(per_dim.mean())
    assert kl_gaussian(mu, logvar, alpha, valid).item() == pytest.approx(expected, rel=1e-12)
    assert kl_gaussian(mu, logvar, alpha, valid, kappa=3).item() == pytest.approx(3 * expected, rel=1e-12)


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0, 1e2, 1e4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finite_values_and_gradients(scale, dtype):
    mu, logvar, alpha, valid = posterior([1.0, 0.5, 2.0])
    mu, logvar = mu.to(dtype).requires_grad_(), logvar.to(dtype).requires_grad_()
    alpha = (alpha * scale).to(dtype).requires_grad_()
    total = kl_gaussian(mu, logvar, alpha, valid) + kl_dirichlet(alpha, valid, 1.0, 1.0)
    assert torch.isfinite(total).all()
    total.sum().backward()
    for grad in (mu.grad, logvar.grad, alpha.grad):
        assert torch.isfinite(grad).all()
    assert alpha.grad.abs().sum() > 0


def test_invariant_to_extra_padding():
    base = posterior([0.5, 1.5, 3.0], seed=1)
    padded = posterior([0.5, 1.5, 3.0], seed=1, pad=4)
    # The padded version's real positions share the same seed stream only for mu/logvar shapes, so copy them.
    mu, logvar, alpha, valid = padded
    mu[:, :4], logvar[:, :4] = base[0], base[1]
    mu[:, 4:] = 99.0  # garbage in padding must not matter
    torch.testing.assert_close(kl_gaussian(mu, logvar, alpha, valid), kl_gaussian(*base))
    torch.testing.assert_close(kl_dirichlet(alpha, valid), kl_dirichlet(base[2], base[3]))


def test_gradcheck_float64():
    mu, logvar, alpha, valid = posterior([0.7, 1.3])
    tensors = (mu.requires_grad_(), logvar.requires_grad_(), alpha.requires_grad_())
    assert torch.autograd.gradcheck(lambda m, v, a: kl_gaussian(m, v, a, valid), tensors)
    assert torch.autograd.gradcheck(lambda a: kl_dirichlet(a, valid, 1.0, 0.5, 2), (alpha,))


def test_dirichlet_kl_is_zero_only_on_the_prior_total():
    """KL_D as a function of the total posterior count has its minimum (0) at α_0^q = α_0^p."""
    valid = torch.ones(1, 4, dtype=torch.bool)
    totals = torch.linspace(1.5, 10.0, 86, dtype=torch.float64)
    values = [kl_dirichlet(torch.tensor([[1.0, (t - 1) / 3, (t - 1) / 3, (t - 1) / 3]]), valid).item() for t in totals]
    best = float(totals[int(torch.tensor(values).argmin())])
    assert math.isclose(best, 4.0, abs_tol=0.11)
