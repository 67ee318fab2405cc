"""The bottleneck contract (bottleneck.py), the registry (registry.py), the latent's packed form (latent.py), the
``vae_stride`` bottleneck and the single encoder pass of the model's forward."""

from __future__ import annotations

import ast
import math
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import AutoModelForSeq2SeqLM
from transformers import initialization as init

from nvib_hf import NvaeConfig, NvaeEncoderOutput, NvaeForConditionalGeneration
from nvib_hf.models.nvae import modeling_nvae
from nvib_hf.models.nvae.bottleneck import BOTTLENECKS, Bottleneck, config_error, register_bottleneck
from nvib_hf.models.nvae.denoising_attention import DenoisingCrossAttention
from nvib_hf.models.nvae.latent import LATENT_FIELDS, NvibLatent, pack_mixture, packed_width, unpack_mixture
from nvib_hf.models.nvae.registry import bottleneck_class, bottleneck_names, build_bottleneck, prior_bottleneck_names
from nvib_hf.models.nvae.stride_bottleneck import StrideBottleneck, stride_keep_mask
from tests.nvae_testing import tiny_config
from tests.test_modeling_nvae import NvaeModelTester

BUILTIN = ("nvib", "none", "vae", "vae_pooled", "vae_stride")
MODEL_DIR = Path(modeling_nvae.__file__).parent


# --- the registry -----------------------------------------------------------------------------------------------
def registered_in_source() -> dict[str, str]:
    """name -> file for every ``@register_bottleneck(...)`` in the model folder, read from the source (not imports)."""
    found = {}
    for path in MODEL_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                for deco in node.decorator_list:
                    if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "register_bottleneck":
                        found.update({arg.value: path.name for arg in deco.args})
    return found


def test_registry_holds_every_bottleneck_of_the_model_folder():
    assert registered_in_source() == {
        "nvib": "nvib.py",
        "none": "baseline_bottlenecks.py",
        "vae": "baseline_bottlenecks.py",
        "vae_pooled": "baseline_bottlenecks.py",
        "vae_stride": "stride_bottleneck.py",
    }
    assert bottleneck_names()[: len(BUILTIN)] == BUILTIN
    assert prior_bottleneck_names()[:4] == ("nvib", "vae", "vae_pooled", "vae_stride")  # "none" has no prior
    for name in BUILTIN:
        cls = BOTTLENECKS[name]
        assert issubclass(cls, Bottleneck) and name in cls.names and bottleneck_class(name) is cls
        assert NvaeConfig(bottleneck=name).bottleneck == name  # the config's valid names are the registry's
    with pytest.raises(ValueError, match="bottleneck") as caught:
        tiny_config(bottleneck="vq")
    assert all(name in str(caught.value) for name in BUILTIN)


def test_no_other_list_of_bottleneck_names_in_the_model_files():
    """Names appear in the model files only where a bottleneck registers or describes itself."""
    allowed = {"nvib.py", "baseline_bottlenecks.py", "stride_bottleneck.py"}
    for path in MODEL_DIR.glob("*.py"):
        if path.name in allowed:
            continue
        strings = {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)}
        assert not strings & {"vae", "vae_pooled", "vae_stride"}, path.name


def test_registering_a_taken_name_or_a_non_bottleneck_raises():
    with pytest.raises(ValueError, match="taken"):
        register_bottleneck("vae")(type("OtherVae", (StrideBottleneck,), {}))
    with pytest.raises(TypeError, match="Bottleneck"):
        register_bottleneck("not_a_bottleneck")(nn.Linear)
    with pytest.raises(ValueError, match="names"):
        register_bottleneck()
    assert BOTTLENECKS["vae"].__name__ == "GaussianBottleneck" and "not_a_bottleneck" not in BOTTLENECKS


# --- every bottleneck implements the contract -------------------------------------------------------------------
def encoder_states(batch: int = 3, length: int = 7, dim: int = 32, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    states = torch.randn(batch, length, dim, generator=gen)
    lengths = torch.tensor([length, length - 2, 3])[:batch]
    return states, (torch.arange(length)[None] < lengths[:, None]).long()


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("training", [True, False])
def test_each_bottleneck_implements_the_contract(name, training):
    config = tiny_config(bottleneck=name)
    torch.manual_seed(0)
    bottleneck = build_bottleneck(config).train(training)
    assert isinstance(bottleneck, Bottleneck) and not type(bottleneck).__abstractmethods__
    states, mask = encoder_states()
    latent = bottleneck(states, mask)
    assert isinstance(latent, NvibLatent) and set(latent.keys()) <= set(LATENT_FIELDS)
    batch, components = latent.mask.shape
    assert latent.z.shape == (batch, components, config.latent_dim) and latent.pi.shape == (batch, components)
    torch.testing.assert_close(latent.pi.sum(-1), torch.ones(batch))
    assert (latent.pi[~latent.mask] == 0).all()
    assert latent.packed().shape == (batch, components, packed_width(config.latent_dim))
    kl_g, kl_d = bottleneck.kl(latent)
    assert kl_g.shape == kl_d.shape == (batch,) and torch.isfinite(kl_g).all() and torch.isfinite(kl_d).all()
    if name == "vae_pooled":
        with pytest.raises(ValueError, match="token positions"):
            bottleneck.component_positions(latent)
    else:
        positions = bottleneck.component_positions(latent)
        assert positions.shape == (batch, components) and positions.dtype == torch.long
    if bottleneck.has_prior:
        prior = bottleneck.sample_prior(torch.tensor([2, 5]))
        assert isinstance(prior, NvibLatent) and prior.z.shape[-1] == config.latent_dim
        torch.testing.assert_close(prior.pi.sum(-1), torch.ones(2, dtype=prior.pi.dtype))
    else:
        with pytest.raises(ValueError, match="no prior"):
            bottleneck.sample_prior(torch.tensor([2]))
    assert DenoisingCrossAttention(config).denoising is type(bottleneck).uses_denoising_attention
    with pytest.raises(ValueError, match="no valid token"):
        bottleneck(states, torch.zeros_like(mask))


@pytest.mark.parametrize(
    "overrides", [{}, {"alpha_activation": "exp"}, {"bottleneck": "vae"}, {"bottleneck": "vae_stride"}]
)
def test_initialisation_lives_in_the_bottleneck(overrides):
    """The model's init and the bottleneck's own ``init_weights`` give the same initial values (one place)."""
    config = tiny_config(posterior_logvar_init=-3.0, prior_mean=0.5, prior_variance=2.0, **overrides)
    model = NvaeForConditionalGeneration(config)
    alone = build_bottleneck(config)
    alone.init_weights()
    expected_bias = {"logvar_proj": -3.0, "alpha_proj": 1.0 if config.alpha_activation == "relu" else 0.0}
    for name, value in expected_bias.items():
        if hasattr(alone, name):
            assert (getattr(model.bottleneck, name).bias == value).all() and (getattr(alone, name).bias == value).all()
    if config.bottleneck == "nvib":
        for buffer, value in (("prior_mean", 0.5), ("prior_logvar", math.log(2.0)), ("prior_alpha", 1.0)):
            torch.testing.assert_close(
                getattr(model.bottleneck, buffer), torch.full_like(getattr(alone, buffer), value)
            )
        if config.alpha_activation == "exp":
            expected = 1.0 / (2.0 * math.sqrt(config.d_model // config.cross_attention_heads))
            assert model.bottleneck.alpha_quadratic.item() == pytest.approx(expected)
    assert not any(hasattr(m, "initial_bias") for m in model.modules())


# --- a fifth bottleneck added in this file ------------------------------------------------------------------------
class ToyShiftBottleneck(Bottleneck):
    """A test-only bottleneck: z_i = W x_i + b with b initialised to 0.25, every token kept; KL_G = ½ mean ‖z‖²/D."""

    def __init__(self, config, layer_idx=None):
        super().__init__(config, layer_idx)
        self.proj = nn.Linear(config.d_model, config.latent_dim)

    @classmethod
    def validate_config(cls, config) -> None:
        if config.kappa != 1:
            raise config_error(config, "kappa", "1 with the toy bottleneck")

    def _init_weights(self, module, std):
        if module is self.proj:
            init.constant_(module.bias, 0.25)

    def forward(self, hidden_states, attention_mask):
        mask = attention_mask.bool()
        z = self.proj(hidden_states)
        pi = mask.to(z.dtype) / mask.sum(-1, keepdim=True)
        kept = mask.sum(-1).to(z.dtype)
        return NvibLatent(
            z=z, pi=pi, mask=mask, mu=z, valid=mask, vectors_kept=kept, vectors_kept_proportion=kept / kept
        )

    def kl(self, latent):
        per_vector = 0.5 * latent.mu.pow(2).mean(-1) * latent.valid
        kl_g = per_vector.sum(-1) / latent.valid.sum(-1)
        return kl_g, torch.zeros_like(kl_g)

    def sample_prior(self, num_components, weights=None, generator=None):
        counts = torch.as_tensor(num_components)
        mask = torch.arange(int(counts.max()))[None] < counts[:, None]
        z = torch.randn(*mask.shape, self.config.latent_dim, generator=generator)
        return NvibLatent(z=z, pi=mask.float() / mask.sum(-1, keepdim=True), mask=mask)

    def component_positions(self, latent):
        return torch.arange(latent.z.shape[1]).expand(latent.z.shape[:2])


@pytest.fixture
def toy_bottleneck():
    register_bottleneck("toy_shift")(ToyShiftBottleneck)
    yield "toy_shift"
    del BOTTLENECKS["toy_shift"]


def test_a_fifth_bottleneck_registered_in_a_test_file_works_end_to_end(toy_bottleneck):
    assert toy_bottleneck in bottleneck_names()
    with pytest.raises(ValueError, match="kappa"):
        tiny_config(bottleneck=toy_bottleneck, kappa=2)  # its validate_config hook runs inside NvaeConfig
    tester = NvaeModelTester(bottleneck=toy_bottleneck)
    model = tester.model()
    assert type(model.bottleneck) is ToyShiftBottleneck and (model.bottleneck.proj.bias == 0.25).all()
    inputs = tester.inputs()
    out = model(**inputs)
    kl_expected = ToyShiftBottleneck.kl(None, model.get_encoder()(inputs["input_ids"], inputs["attention_mask"]).latent)
    torch.testing.assert_close(out.kl_gaussian, kl_expected[0].mean())
    torch.testing.assert_close(out.loss, out.reconstruction_loss + 0.01 * out.kl_gaussian + out.kl_dirichlet)
    out.loss.backward()
    assert model.bottleneck.proj.weight.grad is not None and model.bottleneck.proj.weight.grad.abs().sum() > 0
    model.eval()
    ids = model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=4)
    assert ids.shape[0] == 3
    assert model.sample_prior(2, num_components=3).z.shape == (2, 3, tester.config.latent_dim)
    with pytest.raises(ValueError, match="bottleneck"):
        tiny_config(bottleneck="toy_shift_unregistered")


# --- the latent and its packed form --------------------------------------------------------------------------------
def test_pack_unpack_round_trip_and_width_check():
    gen = torch.Generator().manual_seed(0)
    z, variance = torch.randn(2, 4, 6, generator=gen), torch.rand(2, 4, 6, generator=gen)
    mask = torch.tensor([[True, True, False, True], [True, False, False, False]])
    pi = torch.where(mask, torch.rand(2, 4, generator=gen), torch.zeros(2, 4))
    pi = pi / pi.sum(-1, keepdim=True)
    packed = pack_mixture(z, variance, pi, mask)
    assert packed.shape == (2, 4, packed_width(6)) == (2, 4, 14)
    for got, want in zip(unpack_mixture(packed, 6), (z, variance, torch.where(mask, pi.log(), 0.0), mask)):
        torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match=r"expected 2·latent_dim \+ 2 = 18 for latent_dim=8, got 14"):
        unpack_mixture(packed, 8)
    with pytest.raises(ValueError, match="width 13"):
        unpack_mixture(packed[..., :-1])
    assert torch.equal(unpack_mixture(packed)[0], z)  # without latent_dim, D_z is inferred from an even width


def test_cross_attention_refuses_encoder_states_in_place_of_the_packed_latent():
    config = tiny_config(bottleneck="none")
    attention = DenoisingCrossAttention(config)
    states = torch.randn(1, 5, config.d_model)  # width D, not 2·D + 2
    with pytest.raises(ValueError, match="packed latent width mismatch"):
        attention(torch.randn(1, 2, config.d_model), states)


def test_encoder_output_carries_every_latent_field():
    fields = {name for name in NvaeEncoderOutput.__dataclass_fields__ if name.startswith("latent_")}
    assert fields == {f"latent_{name}" for name in LATENT_FIELDS}


# --- vae_stride ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fraction", [1.0, 0.5, 1 / 3, 0.4, 0.3, 0.25, 0.1, 0.7])
def test_stride_keeps_exactly_the_configured_fraction(fraction):
    exact = Fraction(fraction).limit_denominator(100)
    for length in range(1, 41):
        valid = torch.ones(1, length, dtype=torch.bool)
        keep = stride_keep_mask(valid, fraction)[0]
        assert int(keep.sum()) == max(1, math.ceil(exact * length)), (fraction, length)
        assert bool(keep[0])  # the first token always survives
        if exact.numerator == 1:  # f = 1/k: every k-th token
            assert keep.nonzero().flatten().tolist() == list(range(0, length, exact.denominator))
    padded = torch.tensor([[False, False, True, True, True, True, True]])  # left padding: ranks, not indices
    assert stride_keep_mask(padded, 0.5).tolist() == [[False, False, True, False, True, False, True]]


@pytest.mark.parametrize("training", [True, False])
def test_stride_model_statistics_attention_and_kl(training):
    tester = NvaeModelTester(bottleneck="vae_stride", stride_keep_fraction=0.4, attn_implementation="eager")
    model = tester.model().train(training)
    inputs = tester.inputs()
    lengths = inputs["attention_mask"].sum(-1)  # 7, 5, 3
    out = model(**inputs, output_attentions=True)
    expected = torch.tensor([math.ceil(0.4 * int(n)) for n in lengths], dtype=torch.float)  # 3, 2, 2
    torch.testing.assert_close(out.vectors_kept, expected)
    torch.testing.assert_close(out.vectors_kept_proportion, expected / lengths)
    latent = model.get_encoder()(inputs["input_ids"], inputs["attention_mask"]).latent
    keep = stride_keep_mask(inputs["attention_mask"].bool(), 0.4)
    assert torch.equal(latent.mask, keep)
    for weights in out.cross_attentions:  # [B, H, T, K]
        assert (weights.masked_select(~keep[:, None, None, :].expand_as(weights)) == 0).all()
        torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights.sum(-1)))
    # KL_G over the kept vectors only, computed here from μ and log σ² of the kept positions
    per_vector = 0.5 * (latent.logvar.exp() + latent.mu.pow(2) - 1 - latent.logvar).mean(-1)  # [B, N]
    kl_expected = (per_vector * keep).sum(-1) / keep.sum(-1)
    kl_g, kl_d = model.bottleneck.kl(latent)
    assert torch.isfinite(out.kl_gaussian) and (kl_d == 0).all()
    torch.testing.assert_close(kl_g, kl_expected)  # μ, log σ² are deterministic (no dropout): same in both passes
    torch.testing.assert_close(out.kl_gaussian, kl_expected.mean())


def test_stride_generate_prior_and_save_load(tmp_path):
    tester = NvaeModelTester(bottleneck="vae_stride", stride_keep_fraction=0.4, init_std=0.3)
    model = tester.model().eval()
    inputs = {k: v for k, v in tester.inputs().items() if k != "labels"}
    ids = model.generate(**inputs, max_new_tokens=5, num_beams=2)
    assert ids.shape[0] == 3 and ids.shape[1] > 1
    prior = model.sample_prior(3, num_components=[4, 7, 10], generator=torch.Generator().manual_seed(0))
    assert prior.mask.sum(-1).tolist() == [2, 3, 4]  # ⌈0.4·n⌉, the posterior's rule for n tokens
    assert model.generate(latent=prior, max_new_tokens=4).shape[0] == 3
    model.save_pretrained(tmp_path)
    for name in ("stride_bottleneck.py", "registry.py", "bottleneck.py", "latent.py", "baseline_bottlenecks.py"):
        assert (tmp_path / name).exists(), name
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    assert loaded.config.stride_keep_fraction == 0.4 and type(loaded.bottleneck) is StrideBottleneck
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).logits, model(**inputs).logits, atol=0, rtol=0)
    assert torch.equal(loaded.generate(**inputs, max_new_tokens=5, num_beams=2), ids)


def test_stride_remote_code_without_nvib_hf(tmp_path):
    from tests.test_remote_code_and_hub import reference_outputs, run_remote

    tester = NvaeModelTester(bottleneck="vae_stride", stride_keep_fraction=0.5, init_std=0.3)
    model = tester.model().eval()
    inputs = {k: v for k, v in tester.inputs().items() if k != "labels"}
    model.save_pretrained(tmp_path / "saved")
    remote = run_remote(str(tmp_path / "saved"), tmp_path, inputs)
    logits, ids = reference_outputs(model, inputs)
    torch.testing.assert_close(remote["logits"], logits, atol=0, rtol=0)
    assert torch.equal(remote["ids"], ids)


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5, True, "half"])
def test_stride_keep_fraction_outside_the_interval_raises(bad):
    with pytest.raises(ValueError, match="stride_keep_fraction"):
        tiny_config(bottleneck="vae_stride", stride_keep_fraction=bad)
    assert tiny_config(bottleneck="vae_stride", stride_keep_fraction=1.0).stride_keep_fraction == 1.0


# --- one encoder pass per forward ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bottleneck", ["nvib", "vae_stride"])
def test_forward_runs_the_encoder_once(bottleneck):
    model = NvaeModelTester(bottleneck=bottleneck, lambda_alignment=1.0).model()
    inputs = NvaeModelTester().inputs()
    calls = {"encoder": 0, "transformer": 0, "bottleneck": 0}
    for name, module in (
        ("encoder", model.get_encoder()),
        ("transformer", model.get_encoder().transformer),
        ("bottleneck", model.bottleneck),
    ):
        module.register_forward_hook(lambda *_, key=name: calls.__setitem__(key, calls[key] + 1))
    model.train()(**inputs)  # training with the guided alignment on
    assert calls == {"encoder": 1, "transformer": 1, "bottleneck": 1}
    model.eval()(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])  # no labels
    assert calls == {"encoder": 2, "transformer": 2, "bottleneck": 2}
    model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=4, num_beams=2)
    assert calls == {"encoder": 3, "transformer": 3, "bottleneck": 3}
