"""Numerical reliability, property-based: the KL terms, the NVIB sample, the pruned eval form, every bottleneck and the
whole model stay finite — values and gradients — over random configurations and extreme values.

Ranges generated: pseudo-counts α from 1e-8 to 1e6 (and exact zeros, as ReLU gives), variances σ² from 1e-10 to 1e4,
means and encoder states of norm up to ~1e4, prior pseudo-counts from 1e-8 to 1e6, 1–3 heads, latent sizes 1–4,
κ = 1–3, both α activations, both denoising compat modes, every registered bottleneck, float32 and bfloat16.

Each property is a plain function of a drawn case; ``FAST`` runs a few derandomised examples of each (normal runs),
``test_ten_thousand_generated_cases`` (slow) runs ``SLOW_EXAMPLES`` of them, at least 10,000 in all, counted.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvib_hf.models.nvae.denoising_attention import DenoisingCrossAttention
from nvib_hf.models.nvae.kl import kl_dirichlet, kl_gaussian
from nvib_hf.models.nvae.latent import pack_mixture
from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration
from nvib_hf.models.nvae.nvib import pruned_weights, sample_mixture
from nvib_hf.models.nvae.registry import bottleneck_class, bottleneck_names
from tests.nvae_testing import tiny_config

COMMON = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
FAST = settings(max_examples=12, **COMMON)
SLOW_EXAMPLES = {"kl": 4000, "sample": 3000, "eval_form": 2000, "bottleneck": 800, "model": 200}
COUNTS: dict[str, int] = dict.fromkeys(SLOW_EXAMPLES, 0)  # examples actually run, per property

DTYPES = st.sampled_from([torch.float32, torch.bfloat16])
LENGTHS = st.lists(st.integers(1, 6), min_size=1, max_size=3)  # tokens per sentence (prior not counted)


def exponents(lo: float, hi: float):
    """A (low, high) pair of base-10 exponents in [lo, hi]: the range of one case's values."""
    return st.tuples(st.floats(lo, hi), st.floats(lo, hi)).map(sorted)


def log_uniform(gen: torch.Generator, shape, bounds, dtype=torch.float64) -> torch.Tensor:
    """Values 10**e, e uniform in ``bounds`` (base-10 exponents)."""
    low, high = bounds
    return 10.0 ** (low + (high - low) * torch.rand(shape, generator=gen, dtype=torch.float64))


def posterior_tensors(case: dict, dim: int):
    """(mu, logvar, alpha, valid) ``[B, n, Dz]``/``[B, n]``, prior at index 0, from a drawn case (float64)."""
    gen = torch.Generator().manual_seed(case["seed"])
    lengths = case["lengths"]
    batch, n = len(lengths), max(lengths) + 1
    valid = torch.arange(n)[None] < torch.tensor(lengths)[:, None] + 1
    alpha = log_uniform(gen, (batch, n), case["alpha_exp"])
    alpha = torch.where(torch.rand(batch, n, generator=gen) < case["zeros"], torch.zeros_like(alpha), alpha)
    alpha[:, 0] = case["prior_alpha"]
    logvar = torch.log(log_uniform(gen, (batch, n, dim), case["variance_exp"]))
    mu = torch.randn(batch, n, dim, generator=gen, dtype=torch.float64) * case["mu_scale"]
    return mu, logvar, alpha, valid


POSTERIOR = dict(
    seed=st.integers(0, 2**31 - 1),
    lengths=LENGTHS,
    alpha_exp=exponents(-8, 6),
    variance_exp=exponents(-10, 4),
    zeros=st.sampled_from([0.0, 0.3]),
    prior_alpha=st.floats(-8, 6).map(lambda e: 10.0**e),
    mu_scale=st.floats(-3, 4).map(lambda e: 10.0**e),
    dtype=DTYPES,
)


def finite_grads(*tensors: torch.Tensor) -> bool:
    return all(t.grad is None or bool(torch.isfinite(t.grad).all()) for t in tensors)


def check_kl(case: dict) -> None:
    """Both KL terms finite, non-negative and equal to their float64 value of the same (rounded) inputs; gradients
    finite. Under bfloat16 the terms are computed (and returned) in float32/float64, so they keep that accuracy."""
    COUNTS["kl"] += 1
    dim, kappa, delta, dtype = case["dim"], case["kappa"], case["delta"], case["dtype"]
    *tensors, valid = posterior_tensors(case, dim)
    leaves = [t.to(dtype).requires_grad_() for t in tensors]
    mu, logvar, alpha = leaves
    prior_alpha = float(alpha.detach()[0, 0])
    kl_g = kl_gaussian(mu, logvar, alpha, valid, 0.0, case["prior_variance"], kappa)
    kl_d = kl_dirichlet(alpha, valid, prior_alpha, delta, kappa)
    assert kl_g.dtype != torch.bfloat16 and kl_d.dtype != torch.bfloat16
    ref = [t.detach().double() for t in leaves]
    ref_g = kl_gaussian(*ref, valid, 0.0, case["prior_variance"], kappa)
    ref_d = kl_dirichlet(ref[2], valid, prior_alpha, delta, kappa)
    for value, expected in ((kl_g, ref_g), (kl_d, ref_d)):
        assert torch.isfinite(value).all(), (value, case)
        assert (value.double() >= -1e-6 * (1 + expected.abs())).all(), (value, case)
        torch.testing.assert_close(value.double(), expected, rtol=1e-4, atol=1e-5)
    (kl_g.sum() + kl_d.sum()).backward()
    assert finite_grads(mu, logvar, alpha), case


KL_CASE = st.fixed_dictionaries(
    {
        **POSTERIOR,
        "dim": st.integers(1, 4),
        "kappa": st.integers(1, 3),
        "delta": st.floats(0.0, 2.0),
        "prior_variance": st.floats(-2, 2).map(lambda e: 10.0**e),
    }
)


def check_sample(case: dict) -> None:
    """The training sample: π finite, ≥ 0, sums to one over the kept copies (prior always kept), exactly 0 elsewhere;
    z finite; gradients to μ, log σ², α finite."""
    COUNTS["sample"] += 1
    dtype, kappa = case["dtype"], case["kappa"]
    mu, logvar, alpha, valid = posterior_tensors(case, case["dim"])
    mu, logvar, alpha = (t.to(dtype).requires_grad_() for t in (mu, logvar, alpha))
    torch.manual_seed(case["seed"])
    z, pi, mask = sample_mixture(mu, logvar, alpha, valid, kappa)
    keep = (valid & (alpha.detach() > 0)).repeat_interleave(kappa, dim=1)
    keep[:, :kappa] = True
    assert torch.equal(mask, keep)
    assert torch.isfinite(z).all() and torch.isfinite(pi).all() and (pi >= 0).all(), case
    assert (pi[~mask] == 0).all()
    tolerance = 2e-2 if dtype == torch.bfloat16 else 1e-5
    torch.testing.assert_close(pi.float().sum(-1), torch.ones(pi.shape[0]), atol=tolerance, rtol=0)
    gen = torch.Generator().manual_seed(case["seed"] + 1)
    weights = torch.randn(z.shape, generator=gen).to(dtype), torch.randn(pi.shape, generator=gen).to(dtype)
    ((z * weights[0]).sum() + (pi * weights[1]).sum()).backward()
    assert finite_grads(mu, logvar, alpha), case


SAMPLE_CASE = st.fixed_dictionaries({**POSTERIOR, "dim": st.integers(1, 4), "kappa": st.integers(1, 3)})


def attention_config(case: dict, **overrides):
    heads, head_dim = case["heads"], case["head_dim"]
    fields = {"latent_dim": case["dim"], "denoising_compat": case["compat"], **overrides}
    return tiny_config(
        d_model=heads * head_dim,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        cross_attention_heads=heads,
        **fields,
    )


def check_eval_form(case: dict) -> None:
    """Pruned eval form (and the train form on the same impulses): attention weights finite, sum to one over the
    unpruned components and are exactly 0 on pruned ones; π of ``pruned_weights`` is a distribution with the prior
    kept; output and gradients (queries, means, variances) finite."""
    COUNTS["eval_form"] += 1
    dtype = case["dtype"]
    mu, logvar, alpha, valid = posterior_tensors(case, case["dim"])
    pi, keep = pruned_weights(alpha, valid, case["threshold"])
    assert keep[:, 0].all() and torch.equal(
        keep, valid & ((alpha > case["threshold"]) | (torch.arange(keep.shape[1]) == 0))
    )
    torch.testing.assert_close(pi.sum(-1), torch.ones(pi.shape[0], dtype=pi.dtype))
    assert (pi[~keep] == 0).all()
    torch.manual_seed(case["seed"])
    attention = DenoisingCrossAttention(attention_config(case), layer_idx=0).to(dtype).train(case["train_form"])
    z = mu.to(dtype).requires_grad_()
    variance = logvar.exp().to(dtype).requires_grad_()
    query = (torch.randn(len(case["lengths"]), 3, attention.embed_dim) * case["query_scale"]).to(dtype).requires_grad_()
    packed = pack_mixture(z, None if case["train_form"] else variance, pi.to(dtype), keep)
    out, weights = attention(query, packed, output_attentions=True)
    assert torch.isfinite(out).all() and torch.isfinite(weights).all(), case
    tolerance = 2e-2 if dtype == torch.bfloat16 else 1e-5
    sums = weights.float().sum(-1)
    torch.testing.assert_close(sums, torch.ones_like(sums), atol=tolerance, rtol=0)
    assert (weights.transpose(1, 3)[~keep] == 0).all()  # [B, K, T, H] indexed by the component mask
    out.float().square().mean().backward()
    assert finite_grads(query, z, variance), case


EVAL_CASE = st.fixed_dictionaries(
    {
        **POSTERIOR,
        "dim": st.integers(1, 4),
        "heads": st.integers(1, 3),
        "head_dim": st.sampled_from([1, 2, 4]),
        "compat": st.sampled_from(["exact", "reference"]),
        "threshold": st.sampled_from([0.0, 1e-6, 0.1, 10.0, 1e5]),
        "train_form": st.booleans(),
        "query_scale": st.floats(-3, 3).map(lambda e: 10.0**e),
    }
)


def bottleneck_overrides(case: dict) -> dict:
    return dict(
        bottleneck=case["bottleneck"],
        alpha_activation=case["activation"],
        kappa=case["kappa"],
        prior_alpha=case["prior_alpha"],
        alpha_prune_threshold=case["threshold"],
        stride_keep_fraction=case["stride"],
        init_std=case["init_std"],
    )


def check_bottleneck(case: dict) -> None:
    """Every registered bottleneck on encoder states of norm up to ~1e4 (train and eval): the latent finite, π a
    distribution over its mask (0 elsewhere), both KL terms and all gradients finite."""
    COUNTS["bottleneck"] += 1
    dtype, lengths = case["dtype"], case["lengths"]
    overrides = bottleneck_overrides(case)
    if case["bottleneck"] == "none":
        overrides["latent_dim"] = None
    config = attention_config(case, **overrides)
    torch.manual_seed(case["seed"])
    layer = bottleneck_class(case["bottleneck"])(config)
    layer.init_weights()
    layer = layer.to(dtype).train(case["training"])
    gen = torch.Generator().manual_seed(case["seed"])
    states = torch.randn(len(lengths), max(lengths), config.d_model, generator=gen) * case["state_scale"]
    states = states.to(dtype).requires_grad_()
    mask = (torch.arange(max(lengths))[None] < torch.tensor(lengths)[:, None]).long()
    latent = layer(states, mask)
    assert torch.isfinite(latent.z).all() and torch.isfinite(latent.pi).all(), case
    assert latent.variance is None or torch.isfinite(latent.variance).all()
    assert (latent.pi[~latent.mask] == 0).all() and latent.mask.any(-1).all()
    tolerance = 2e-2 if dtype == torch.bfloat16 else 1e-5
    torch.testing.assert_close(latent.pi.float().sum(-1), torch.ones(len(lengths)), atol=tolerance, rtol=0)
    kl_g, kl_d = layer.kl(latent)
    assert torch.isfinite(kl_g).all() and torch.isfinite(kl_d).all(), (kl_g, kl_d, case)
    total = (
        kl_g.float().sum() + kl_d.float().sum() + latent.z.float().square().mean() + latent.pi.float().square().sum()
    )
    total.backward()
    assert finite_grads(states, *layer.parameters()), case


BOTTLENECK_FIELDS = dict(
    seed=st.integers(0, 2**31 - 1),
    lengths=LENGTHS,
    dtype=DTYPES,
    bottleneck=st.sampled_from(bottleneck_names()),
    activation=st.sampled_from(["relu", "exp"]),
    kappa=st.integers(1, 3),
    prior_alpha=st.floats(-8, 6).map(lambda e: 10.0**e),
    threshold=st.sampled_from([0.0, 0.1, 10.0]),
    stride=st.sampled_from([0.25, 0.5, 1.0]),
    init_std=st.sampled_from([0.02, 0.5]),
    state_scale=st.floats(-3, 4).map(lambda e: 10.0**e),
    training=st.booleans(),
    dim=st.integers(1, 4),
    heads=st.integers(1, 3),
    head_dim=st.sampled_from([1, 2, 4]),
    compat=st.sampled_from(["exact", "reference"]),
)
BOTTLENECK_CASE = st.fixed_dictionaries(BOTTLENECK_FIELDS)


def check_model(case: dict) -> None:
    """The whole NVAE (every bottleneck, post- and pre-LayerNorm) on inputs_embeds of norm up to ~1e4, lengths 1 to
    the maximum: loss and every parameter's gradient finite (train); logits finite (eval)."""
    COUNTS["model"] += 1
    dtype, lengths = case["dtype"], case["lengths"]
    overrides = bottleneck_overrides(case)
    if case["bottleneck"] == "none":
        overrides["latent_dim"] = None
    config = attention_config(
        case, encoder_layers=1, decoder_layers=1, encoder_ffn_dim=8, decoder_ffn_dim=8, vocab_size=17,
        max_position_embeddings=8, normalize_before=case["pre_norm"], **overrides,
    )  # fmt: skip
    torch.manual_seed(case["seed"])
    model = NvaeForConditionalGeneration(config).to(dtype).train(case["training"])
    gen = torch.Generator().manual_seed(case["seed"])
    width = max(lengths)
    embeds = (torch.randn(len(lengths), width, config.d_model, generator=gen) * case["state_scale"]).to(dtype)
    mask = (torch.arange(width)[None] < torch.tensor(lengths)[:, None]).long()
    labels = torch.randint(3, 17, (len(lengths), width), generator=gen).masked_fill(mask == 0, -100)
    out = model(inputs_embeds=embeds, attention_mask=mask, labels=labels)
    assert torch.isfinite(out.logits).all() and torch.isfinite(out.loss), (out.loss, case)
    if case["training"]:
        out.loss.backward()
        assert finite_grads(*model.parameters()), case


MODEL_CASE = st.fixed_dictionaries(
    {
        **BOTTLENECK_FIELDS,
        "lengths": st.lists(st.integers(1, 8), min_size=1, max_size=3),
        "state_scale": st.floats(-2, 4).map(lambda e: 10.0**e),
        "pre_norm": st.booleans(),
    }
)
PROPERTIES = {
    "kl": (check_kl, KL_CASE),
    "sample": (check_sample, SAMPLE_CASE),
    "eval_form": (check_eval_form, EVAL_CASE),
    "bottleneck": (check_bottleneck, BOTTLENECK_CASE),
    "model": (check_model, MODEL_CASE),
}


def run_property(check, strategy, config: settings) -> None:
    """Run ``check`` on cases drawn from ``strategy`` under ``config``, through a fresh wrapper: hypothesis marks the
    function it decorates, so decorating ``check`` itself twice (fast, then slow test) would be refused."""

    def drawn_case(case: dict) -> None:
        check(case)

    given(strategy)(config(drawn_case))()


@pytest.mark.parametrize("name", list(PROPERTIES))
def test_property_fast(name):
    """A few derandomised examples of each property (the normal test run)."""
    check, strategy = PROPERTIES[name]
    run_property(check, strategy, FAST)


@pytest.mark.slow
def test_ten_thousand_generated_cases():
    """At least 10,000 generated cases over the five properties (``SLOW_EXAMPLES``), counted as they run."""
    before = dict(COUNTS)
    for name, (check, strategy) in PROPERTIES.items():
        run_property(check, strategy, settings(max_examples=SLOW_EXAMPLES[name], **COMMON))
    ran = {name: COUNTS[name] - before[name] for name in COUNTS}
    assert sum(ran.values()) >= 10_000 and sum(SLOW_EXAMPLES.values()) >= 10_000, ran
    assert all(ran[name] >= 0.9 * SLOW_EXAMPLES[name] for name in ran), ran


def test_bf16_gaussian_kl_is_not_negative_near_the_prior():
    """The case that needed the float32 upcast: log σ² = 0.01 is KL ≈ ½·(0.01²/2) > 0, but exp(0.01) − 1 − 0.01
    in bfloat16 (8-bit mantissa) rounds to about −0.002."""
    mu = torch.zeros(1, 2, 8)
    logvar = torch.full((1, 2, 8), 0.01)
    alpha, valid = torch.ones(1, 2), torch.ones(1, 2, dtype=torch.bool)
    exact = kl_gaussian(mu.double(), logvar.double(), alpha.double(), valid)
    value = kl_gaussian(mu.bfloat16(), logvar.bfloat16(), alpha.bfloat16(), valid)
    assert value.dtype == torch.float32 and kl_dirichlet(alpha.bfloat16(), valid).dtype == torch.float32
    assert value.item() > 0 and math.isclose(value.item(), exact.item(), rel_tol=1e-2)


@pytest.mark.parametrize("name", ["nvib", "vae", "vae_stride"])
def test_encoder_states_of_large_norm_give_a_finite_latent_and_kl(name):
    """The case that needed the log σ² bound: states of norm ~1e5 make W_σ x ≈ ±hundreds, whose exp overflows."""
    torch.manual_seed(0)
    layer = bottleneck_class(name)(tiny_config(bottleneck=name))
    layer.init_weights()
    states = torch.randn(2, 5, 32) * 1e4
    for training in (True, False):
        latent = layer.train(training)(states, torch.ones(2, 5, dtype=torch.long))
        assert latent.logvar.abs().max() <= 30.0 and torch.isfinite(latent.z).all()
        assert latent.variance is None or torch.isfinite(latent.variance).all()
        assert all(torch.isfinite(term).all() for term in layer.kl(latent))
