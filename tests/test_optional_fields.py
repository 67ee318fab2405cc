"""The checks that make optional values explicit (added with the type checking): a missing latent field, token id
or schedule length is a ValueError naming it, and present values pass through unchanged."""

from __future__ import annotations

import pytest
import torch
from transformers.models.bart.modeling_bart import shift_tokens_right

from nvib_hf.models.nvae.encoder_decoder import shift_right
from nvib_hf.models.nvae.latent import NvibLatent, pack_mixture
from nvib_hf.models.nvae.outputs import NvaeEncoderOutput, checked_encoder_output
from nvib_hf.training.schedules import KLSchedule
from tests.nvae_testing import tiny_config


def small_latent() -> NvibLatent:
    z = torch.arange(12.0).reshape(1, 3, 4)
    pi = torch.tensor([[0.5, 0.5, 0.0]])
    mask = torch.tensor([[True, True, False]])
    return NvibLatent(z=z, pi=pi, mask=mask)


def test_require_returns_the_fields_themselves_in_order():
    latent = small_latent()
    mask, z = latent.require("mask", "z")
    assert mask is latent.mask and z is latent.z


def test_require_names_the_missing_and_the_unknown_fields():
    latent = small_latent()
    with pytest.raises(ValueError, match="no mu, valid"):
        latent.require("z", "mu", "valid")
    with pytest.raises(ValueError, match=r"no field\(s\) \['weights'\]"):
        latent.require("weights")


def test_packed_equals_pack_mixture_and_needs_the_weights():
    latent = small_latent()
    assert torch.equal(latent.packed(), pack_mixture(latent.z, None, latent.pi, latent.mask))
    with pytest.raises(ValueError, match="no pi"):
        NvibLatent(z=latent.z, mask=latent.mask).packed()


def test_shift_right_is_barts_shift_with_the_config_ids():
    labels = torch.tensor([[5, 6, 7, -100]])
    config = tiny_config()
    expected = shift_tokens_right(labels, config.pad_token_id, config.decoder_start_token_id)
    assert torch.equal(shift_right(labels, config), expected)
    assert shift_right(labels, config).tolist() == [[1, 5, 6, 7]]


def test_shift_right_names_a_missing_token_id():
    with pytest.raises(ValueError, match="decoder_start_token_id"):
        shift_right(torch.tensor([[5, 6]]), tiny_config(decoder_start_token_id=None))


def test_checked_encoder_output_passes_an_encoder_output_and_refuses_others():
    output = NvaeEncoderOutput.from_latent(small_latent())
    assert checked_encoder_output(output) is output
    with pytest.raises(TypeError, match="NvaeEncoderOutput"):
        checked_encoder_output((output.last_hidden_state,))


def test_cyclical_schedule_with_total_steps_removed_later_is_a_value_error():
    schedule = KLSchedule(kind="cyclical", total_steps=10)
    schedule.total_steps = None  # validate() ran at construction; a field changed afterwards
    with pytest.raises(ValueError, match="total_steps"):
        schedule(3)
