"""The NVIB layer: posterior, reparameterised sampling, pruning, prior samples and interpolation."""

from __future__ import annotations

import pytest
import torch

from nvib_hf.models.nvae.denoising_attention import DenoisingCrossAttention
from nvib_hf.models.nvae.nvib import NvibLayer, interpolate_componentwise, interpolate_mixture, sample_mixture
from tests.nvae_testing import tiny_config


def make_layer(**overrides) -> NvibLayer:
    torch.manual_seed(0)
    layer = NvibLayer(tiny_config(**overrides)).double()
    torch.nn.init.constant_(layer.alpha_proj.bias, 1.0)
    return layer


def encoder_states(batch=2, length=5, lengths=(5, 3), seed=0):
    gen = torch.Generator().manual_seed(seed)
    states = torch.randn(batch, length, 32, generator=gen, dtype=torch.float64)
    mask = (torch.arange(length)[None] < torch.tensor(lengths)[:, None]).long()
    return states, mask


def test_posterior_layout_prior_first_and_padding_masked():
    layer = make_layer()
    states, mask = encoder_states()
    mu, logvar, alpha, valid = layer.posterior(states, mask)
    assert mu.shape == (2, 6, 32) and alpha.shape == (2, 6)
    assert torch.all(mu[:, 0] == 0) and torch.all(logvar[:, 0] == 0) and torch.all(alpha[:, 0] == 1)
    assert valid[1].tolist() == [True, True, True, True, False, False]
    assert torch.all(alpha[1, 4:] == 0)


def test_eval_uses_means_and_prunes_small_pseudo_counts():
    layer = make_layer(alpha_prune_threshold=0.5).eval()
    states, mask = encoder_states()
    mu, logvar, alpha, valid = layer.posterior(states, mask)
    latent = layer(states, mask)
    torch.testing.assert_close(latent.z, mu)
    torch.testing.assert_close(latent.variance, logvar.exp())
    keep = valid & (alpha > 0.5)
    keep[:, 0] = True
    assert torch.equal(latent.mask, keep)
    torch.testing.assert_close(
        latent.pi, torch.where(keep, alpha, 0) / torch.where(keep, alpha, 0).sum(-1, keepdim=True)
    )
    assert latent.vectors_kept.tolist() == keep[:, 1:].sum(-1).double().tolist()
    torch.testing.assert_close(
        latent.vectors_kept_proportion, keep[:, 1:].sum(-1) / torch.tensor([5.0, 3.0], dtype=torch.float64)
    )


def test_every_token_pruned_still_attends_to_the_prior():
    layer = make_layer().eval()
    torch.nn.init.constant_(layer.alpha_proj.bias, -100.0)  # ReLU -> α = 0 for every token
    states, mask = encoder_states()
    latent = layer(states, mask)
    assert latent.mask[:, 1:].sum() == 0 and latent.mask[:, 0].all()
    attention = DenoisingCrossAttention(tiny_config()).double().eval()
    out, weights = attention(torch.randn(2, 3, 32, dtype=torch.float64), latent.packed())
    assert torch.isfinite(out).all()
    assert torch.all(weights[..., 0] == 1) and torch.all(weights[..., 1:] == 0)
    assert latent.vectors_kept.tolist() == [0.0, 0.0]


def test_row_without_valid_token_raises():
    layer = make_layer()
    states, mask = encoder_states()
    mask[1] = 0
    with pytest.raises(ValueError, match=r"rows \[1\] have no valid token"):
        layer(states, mask)


@pytest.mark.parametrize("kappa", [1, 3])
def test_training_samples_kappa_copies_with_dirichlet_weights(kappa):
    layer = make_layer(kappa=kappa).train()
    states, mask = encoder_states()
    torch.manual_seed(1)
    latent = layer(states, mask)
    assert latent.z.shape == (2, 6 * kappa, 32) and latent.variance is None
    torch.testing.assert_close(latent.pi.sum(-1), torch.ones(2, dtype=torch.float64))
    assert torch.all(latent.pi[~latent.mask] == 0)
    assert latent.mask[1, 4 * kappa :].sum() == 0  # padding copies removed


def test_zero_pseudo_counts_are_removed_in_training():
    mu = torch.zeros(1, 4, 2, dtype=torch.float64)
    alpha = torch.tensor([[1.0, 0.0, 2.0, 0.0]], dtype=torch.float64)
    valid = torch.tensor([[True, True, True, False]])
    _, pi, mask = sample_mixture(mu, torch.zeros_like(mu), alpha, valid)
    assert mask.tolist() == [[True, False, True, False]]
    assert pi[0, 1] == 0 and pi[0, 3] == 0


def test_dirichlet_sample_mean_matches_pseudo_counts():
    alpha = torch.tensor([[1.0, 0.5, 2.5, 4.0]], dtype=torch.float64).expand(20000, 4)
    mu = torch.zeros(20000, 4, 1, dtype=torch.float64)
    torch.manual_seed(2)
    _, pi, _ = sample_mixture(mu, torch.zeros_like(mu), alpha, torch.ones(20000, 4, dtype=torch.bool))
    torch.testing.assert_close(
        pi.mean(0), torch.tensor([1.0, 0.5, 2.5, 4.0], dtype=torch.float64) / 8, atol=5e-3, rtol=0
    )


def test_gradients_reach_mu_logvar_and_alpha():
    layer = make_layer().train()
    states, mask = encoder_states()
    states.requires_grad_()
    attention = DenoisingCrossAttention(tiny_config()).double().train()
    latent = layer(states, mask)
    out, _ = attention(torch.randn(2, 3, 32, dtype=torch.float64), latent.packed())
    out.square().sum().backward()
    for param in (layer.mu_proj.weight, layer.logvar_proj.weight, layer.alpha_proj.weight):
        assert param.grad is not None and torch.isfinite(param.grad).all() and param.grad.abs().sum() > 0


def test_gaussian_reparameterisation_gradcheck():
    """With the noise fixed, z = μ + exp(½ log σ²) ε is differentiable: gradcheck in float64."""
    alpha = torch.tensor([[1.0, 2.0, 0.5]], dtype=torch.float64)
    valid = torch.ones(1, 3, dtype=torch.bool)

    def locations(mu, logvar):
        torch.manual_seed(3)
        return sample_mixture(mu, logvar, alpha, valid, kappa=2)[0]

    mu = torch.randn(1, 3, 2, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(1, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(locations, (mu, logvar))


def test_gamma_gradient_is_the_implicit_reparameterisation():
    """dg/dα = −(∂F/∂α)/f(g) with F the Gamma CDF: checked against finite differences of the CDF (float64)."""
    alpha = torch.tensor([0.3, 1.0, 4.0], dtype=torch.float64, requires_grad=True)
    torch.manual_seed(4)
    sample = torch.distributions.Gamma(alpha, torch.ones_like(alpha)).rsample()
    (grad,) = torch.autograd.grad(sample.sum(), alpha)
    g, a, h = sample.detach(), alpha.detach(), 1e-6
    d_cdf_d_alpha = (torch.special.gammainc(a + h, g) - torch.special.gammainc(a - h, g)) / (2 * h)
    density = torch.exp((a - 1) * torch.log(g) - g - torch.lgamma(a))
    torch.testing.assert_close(grad, -d_cdf_d_alpha / density, rtol=1e-4, atol=1e-8)


def test_exp_activation_uses_the_quadratic_term():
    layer = make_layer(alpha_activation="exp", cross_attention_heads=4)
    assert layer.alpha_quadratic.item() == pytest.approx(1 / (2 * 8**0.5))
    states, mask = encoder_states()
    linear = layer.alpha_proj(states).squeeze(-1)
    expected = torch.exp((layer.alpha_quadratic * states.pow(2).sum(-1) + linear).clamp(-20, 20))
    torch.testing.assert_close(layer.pseudo_counts(states), expected)
    clamped = layer.pseudo_counts(states * 100)
    torch.testing.assert_close(clamped, torch.full_like(clamped, 20.0).exp())  # exponent clamped to alpha_log_max


@pytest.mark.parametrize("weights", ["uniform", "dirichlet"])
def test_prior_samples(weights):
    layer = make_layer(delta=1.0, prior_alpha=1.0)
    latent = layer.sample_prior([3, 7, 1], weights=weights, generator=torch.Generator().manual_seed(0))
    assert latent.z.shape == (3, 7, 32)
    assert latent.mask.sum(-1).tolist() == [3, 7, 1]
    torch.testing.assert_close(latent.pi.sum(-1), torch.ones(3, dtype=torch.float64))
    assert torch.all(latent.pi[~latent.mask] == 0) and torch.all(latent.variance == 0)
    if weights == "uniform":
        torch.testing.assert_close(latent.pi[1], torch.full((7,), 1 / 7, dtype=torch.float64))
    with pytest.raises(ValueError, match="positive integers"):
        layer.sample_prior([0, 2])


def test_interpolation_end_points_give_the_end_latents_outputs():
    layer = make_layer().eval()
    states_a, mask_a = encoder_states(seed=5)
    states_b, mask_b = encoder_states(length=4, lengths=(2, 4), seed=6)
    latent_a, latent_b = layer(states_a, mask_a), layer(states_b, mask_b)
    attention = DenoisingCrossAttention(tiny_config()).double().eval()
    y = torch.randn(2, 3, 32, dtype=torch.float64)
    out_a, _ = attention(y, latent_a.packed())
    out_b, _ = attention(y, latent_b.packed())
    out_0, _ = attention(y, interpolate_mixture(latent_a, latent_b, 0.0).packed())
    out_1, _ = attention(y, interpolate_mixture(latent_a, latent_b, 1.0).packed())
    torch.testing.assert_close(out_0, out_a, atol=1e-12, rtol=0)
    torch.testing.assert_close(out_1, out_b, atol=1e-12, rtol=0)
    mid = interpolate_mixture(latent_a, latent_b, 0.5)
    torch.testing.assert_close(mid.pi.sum(-1), torch.ones(2, dtype=torch.float64))


def test_componentwise_interpolation():
    layer = make_layer().eval()
    states_a, mask = encoder_states(seed=7)
    latent_a = layer(states_a, mask)
    latent_b = layer(encoder_states(seed=8)[0], mask)
    latent_b.mask = latent_a.mask.clone()  # same kept counts
    latent_b.pi = torch.where(latent_b.mask, latent_b.pi, 0)
    attention = DenoisingCrossAttention(tiny_config()).double().eval()
    y = torch.randn(2, 3, 32, dtype=torch.float64)
    for tau, end in ((0.0, latent_a), (1.0, latent_b)):
        out, _ = attention(y, interpolate_componentwise(latent_a, latent_b, tau).packed())
        torch.testing.assert_close(out, attention(y, end.packed())[0], atol=1e-10, rtol=0)
    mid = interpolate_componentwise(latent_a, latent_b, 0.25)
    kept = latent_a.mask[0]
    torch.testing.assert_close(mid.z[0, : int(kept.sum())], torch.lerp(latent_a.z[0][kept], latent_b.z[0][kept], 0.25))
    latent_b.mask[0, 1:] = False
    with pytest.raises(ValueError, match="same number of kept components"):
        interpolate_componentwise(latent_a, latent_b, 0.5)
    with pytest.raises(ValueError, match="tau must be in"):
        interpolate_mixture(latent_a, latent_a, 1.5)


@pytest.mark.parametrize("prune_in_training", [False, True])
def test_prune_in_training_samples_the_components_evaluation_keeps(prune_in_training):
    """With ``prune_in_training`` the training mixture holds exactly the components the pruned eval form keeps
    (α ≤ τ_prune dropped, the prior kept); without it, components with 0 < α ≤ τ_prune are sampled too. The KL terms
    use the unpruned α either way."""
    torch.manual_seed(0)
    config = tiny_config(prune_in_training=prune_in_training, kappa=1)
    layer = NvibLayer(config).double()
    with torch.no_grad():  # pseudo-counts straddling τ_prune: some in (0, τ], some above
        layer.alpha_proj.bias.fill_(config.alpha_prune_threshold)
    states = torch.randn(3, 9, config.d_model, dtype=torch.float64)
    mask = torch.ones(3, 9, dtype=torch.long)
    _, _, alpha, valid = layer.posterior(states, mask)
    straddling = valid[:, 1:] & (alpha[:, 1:] > 0) & (alpha[:, 1:] <= config.alpha_prune_threshold)
    assert straddling.any() and (alpha[:, 1:] > config.alpha_prune_threshold).any()
    train_latent = layer.train()(states, mask)
    eval_latent = layer.eval()(states, mask)
    assert torch.equal(train_latent.mask, eval_latent.mask) == prune_in_training
    assert torch.equal(train_latent.alpha, eval_latent.alpha)  # the KL terms see the unpruned α
    assert train_latent.mask[:, 0].all()


def test_prune_in_training_must_be_a_bool():
    with pytest.raises(ValueError, match="prune_in_training"):
        tiny_config(prune_in_training="yes")
