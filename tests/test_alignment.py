"""Guided alignment (alignment.py): the penalty, the loss against hand-built attention, and the model's use of it."""

from __future__ import annotations

import math

import pytest
import torch

from nvib_hf import NvaeConfig, NvaeForConditionalGeneration
from nvib_hf.models.nvae.alignment import alignment_penalty, guided_alignment_loss
from nvib_hf.training.schedules import DecaySchedule
from tests.nvae_testing import tiny_config


def test_penalty_is_zero_on_the_target_and_one_on_the_prior():
    targets = torch.arange(1, 4)  # decoder positions 0, 1, 2 predict tokens 1, 2, 3
    positions = torch.tensor([[-1, 0, 1, 2, 3]])  # NVIB: the prior, then tokens 0..3
    penalty = alignment_penalty(targets, positions, width=1.0)[0]  # [T, K]
    assert torch.equal(penalty[:, 0], torch.ones(3))
    for j in range(3):
        assert penalty[j, j + 2] == 0.0  # component j + 2 holds token j + 1
        assert penalty[j, j + 1] == pytest.approx(1 - math.exp(-0.5))


def test_loss_is_zero_on_the_diagonal_one_on_the_prior_and_ignores_unscored_targets():
    positions = torch.tensor([[-1, 0, 1, 2, 3]])
    diagonal = torch.zeros(1, 1, 3, 5)
    for j in range(3):
        diagonal[0, 0, j, j + 2] = 1.0
    on_prior = torch.zeros(1, 1, 3, 5)
    on_prior[..., 0] = 1.0
    scored = torch.tensor([[True, True, False]])
    assert guided_alignment_loss([diagonal], positions, scored, 0.5).item() == pytest.approx(0.0)
    assert guided_alignment_loss([on_prior], positions, scored, 0.5).item() == pytest.approx(1.0)
    mixed = torch.cat([diagonal[..., :2, :], on_prior[..., 2:, :]], dim=2)  # the unscored position on the prior
    assert guided_alignment_loss([mixed, diagonal], positions, scored, 0.5).item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="no"):
        guided_alignment_loss([], positions, scored, 0.5)


@pytest.mark.parametrize(
    ("bottleneck", "kappa", "expected"),
    [("nvib", 1, [-1, 0, 1]), ("nvib", 2, [-1, -1, 0, 0, 1, 1]), ("none", 1, [0, 1]), ("vae", 1, [0, 1])],
)
def test_component_positions_follow_each_bottlenecks_layout(bottleneck, kappa, expected):
    model = NvaeForConditionalGeneration(tiny_config(bottleneck=bottleneck, kappa=kappa)).train()
    latent = model.get_encoder()(input_ids=torch.tensor([[1, 5]]), attention_mask=torch.ones(1, 2)).latent
    assert model.bottleneck.component_positions(latent).tolist() == [expected]


def test_pooled_vae_has_no_positions_and_rejects_the_guide():
    model = NvaeForConditionalGeneration(tiny_config(bottleneck="vae_pooled"))
    latent = model.get_encoder()(input_ids=torch.tensor([[1, 5]])).latent
    with pytest.raises(ValueError, match="no token positions"):
        model.bottleneck.component_positions(latent)
    with pytest.raises(ValueError, match="lambda_alignment"):
        tiny_config(bottleneck="vae_pooled", lambda_alignment=1.0)


@pytest.mark.parametrize("field", ["lambda_alignment", "alignment_width"])
def test_config_rejects_bad_alignment_fields(field):
    with pytest.raises(ValueError, match=field):
        tiny_config(**{field: -1.0})


def test_model_adds_the_guide_in_training_only_and_it_trains_the_cross_attention():
    torch.manual_seed(0)
    model = NvaeForConditionalGeneration(tiny_config()).train()
    ids = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 9, 2, 0]])
    batch = dict(input_ids=ids, attention_mask=ids.ne(0).long(), labels=ids[:, 1:].masked_fill(ids[:, 1:] == 0, -100))
    torch.manual_seed(1)
    plain = model(**batch)
    torch.manual_seed(1)
    guided = model(**batch, lambda_alignment=2.0)
    assert plain.alignment_loss is None
    assert 0.0 < guided.alignment_loss.item() < 1.0
    assert guided.loss.item() == pytest.approx(plain.loss.item() + 2.0 * guided.alignment_loss.item(), rel=1e-5)
    guided.alignment_loss.backward()
    query = model.model.decoder.layers[0].encoder_attn.q_proj.weight.grad
    assert query is not None and query.abs().sum() > 0
    assert model.eval()(**batch, lambda_alignment=2.0).alignment_loss is None
    assert all(m.weight_sink is None for m in model.modules() if hasattr(m, "weight_sink"))


def test_guide_from_config_and_saved_round_trip(tmp_path):
    config = tiny_config(lambda_alignment=0.5, alignment_width=2.0)
    config.save_pretrained(tmp_path)
    loaded = NvaeConfig.from_pretrained(tmp_path)
    assert (loaded.lambda_alignment, loaded.alignment_width) == (0.5, 2.0)
    model = NvaeForConditionalGeneration(loaded).train()
    ids = torch.tensor([[1, 5, 6, 2]])
    assert model(input_ids=ids, labels=ids[:, 1:]).alignment_loss is not None


def test_decay_schedule():
    schedule = DecaySchedule(2.0, 100)
    assert [schedule(t) for t in (0, 50, 100, 500)] == [2.0, 1.0, 0.0, 0.0]
    assert DecaySchedule(1.0, 0)(0) == 0.0
    for bad in (dict(max_weight=-1.0, decay_steps=3), dict(max_weight=1.0, decay_steps=-1)):
        with pytest.raises(ValueError, match="DecaySchedule"):
            DecaySchedule(**bad)
