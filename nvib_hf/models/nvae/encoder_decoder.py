# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The NVAE's encoder (a BART-family encoder, then the bottleneck) and decoder (a BART-family decoder whose
cross-attention is ``DenoisingCrossAttention``), pre- or post-LayerNorm as ``config.normalize_before`` says."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch import nn
from transformers.models.bart.modeling_bart import BartDecoder, BartDecoderLayer, BartEncoder, shift_tokens_right
from transformers.models.mbart.modeling_mbart import MBartDecoder, MBartDecoderLayer, MBartEncoder
from transformers.utils.output_capturing import OutputRecorder

from .configuration_nvae import NvaeConfig
from .denoising_attention import DenoisingCrossAttention
from .input_checks import check_encoder_inputs
from .outputs import NvaeEncoderOutput
from .registry import build_bottleneck

__all__ = [
    "NvaeDecoder",
    "NvaeDecoderLayer",
    "NvaeEncoder",
    "NvaePreNormDecoder",
    "NvaePreNormDecoderLayer",
    "shift_right",
]


class DenoisingDecoderLayerMixin(nn.Module):
    """Replaces a BART-family decoder layer's cross-attention by ``DenoisingCrossAttention``.

    A module itself (``nn.Module`` comes later in every subclass's MRO anyway), so that ``super().__init__`` takes
    the layer's arguments for the type checker too; at run time it is the BART-family layer's ``__init__``.
    """

    def __init__(self, config, layer_idx: int | None = None):
        super().__init__(config, layer_idx)
        self.encoder_attn = DenoisingCrossAttention(config, layer_idx)


class NvaeDecoderLayer(DenoisingDecoderLayerMixin, BartDecoderLayer):
    """BART's post-LayerNorm decoder layer with denoising cross-attention."""


class NvaePreNormDecoderLayer(DenoisingDecoderLayerMixin, MBartDecoderLayer):
    """mBART's pre-LayerNorm decoder layer with denoising cross-attention."""


class DenoisingDecoderMixin(nn.Module):
    """Builds a BART-family decoder with denoising cross-attention layers; records their attention weights.

    A module (as ``DenoisingDecoderLayerMixin``); ``post_init`` is the decoder's own, from ``PreTrainedModel``.
    """

    layer_class: type[nn.Module]
    post_init: Callable[[], None]

    def __init__(self, config):
        super().__init__(config)
        self.layers = nn.ModuleList([self.layer_class(config, layer_idx=i) for i in range(config.decoder_layers)])
        self.post_init()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._can_record_outputs = {
            **cls._can_record_outputs,
            "cross_attentions": OutputRecorder(DenoisingCrossAttention, index=1, layer_name="encoder_attn"),
        }


class NvaeDecoder(DenoisingDecoderMixin, BartDecoder):
    layer_class = NvaeDecoderLayer


class NvaePreNormDecoder(DenoisingDecoderMixin, MBartDecoder):
    layer_class = NvaePreNormDecoderLayer


class NvaeEncoder(nn.Module):
    """Transformer encoder followed by the bottleneck: tokens -> ``NvaeEncoderOutput`` (states and latent)."""

    def __init__(self, config: NvaeConfig):
        super().__init__()
        self.config = config
        # BART's or mBART's encoder, built from the NvaeConfig: it has every field they read, though their
        # annotations ask for a BartConfig / MBartConfig. To the rest of the model it is a module.
        encoder_class = cast(type[nn.Module], MBartEncoder if config.normalize_before else BartEncoder)
        self.transformer = encoder_class(config)
        self.bottleneck = build_bottleneck(config)  # registry.py: the class registered as config.bottleneck

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs,
    ) -> NvaeEncoderOutput:
        vocab_size = self.config.vocab_size  # the embedding table's rows (resize_token_embeddings updates it)
        check_encoder_inputs(input_ids, attention_mask, inputs_embeds, vocab_size, self.config.max_position_embeddings)
        if attention_mask is None:
            attention_mask = self._default_attention_mask(input_ids, inputs_embeds)
        kwargs["return_dict"] = True
        states = self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds, **kwargs
        )
        latent = self.bottleneck(states.last_hidden_state, attention_mask)  # [B, N+1, Dz] for NVIB
        return NvaeEncoderOutput.from_latent(latent, states)

    def _default_attention_mask(
        self, input_ids: torch.Tensor | None, inputs_embeds: torch.Tensor | None
    ) -> torch.Tensor:
        """``[B, N]`` long: 1 where ``input_ids`` is not padding, or all ones over ``inputs_embeds``."""
        if input_ids is not None:
            if self.config.pad_token_id is None:
                raise ValueError("config.pad_token_id is None: pass attention_mask with input_ids.")
            return input_ids.ne(self.config.pad_token_id).long()
        if inputs_embeds is None:
            raise ValueError("Pass input_ids or inputs_embeds to the encoder.")
        return torch.ones(inputs_embeds.shape[:2], dtype=torch.long, device=inputs_embeds.device)


def shift_right(ids: torch.Tensor, config: NvaeConfig) -> torch.LongTensor:
    """Teacher-forcing decoder inputs ``[decoder_start, y_1 .. y_{T-1}]`` (−100 -> pad): BART's
    ``shift_tokens_right`` with the config's token ids, which must be set."""
    pad, start = config.pad_token_id, config.decoder_start_token_id
    if pad is None or start is None:
        raise ValueError(
            f"config.pad_token_id and config.decoder_start_token_id must be set to build decoder inputs "
            f"(got {pad!r} and {start!r})."
        )
    # Transformers annotates token ids as torch.LongTensor; shift_tokens_right returns them as a plain Tensor.
    return cast(torch.LongTensor, shift_tokens_right(ids, pad, start))
