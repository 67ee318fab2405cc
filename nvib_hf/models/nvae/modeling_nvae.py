# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The NVAE (Henderson & Fehr, ICLR 2023) as a Transformers encoder-decoder model.

Transformer encoder (BART's, or mBART's for pre-LayerNorm) -> bottleneck (NVIB, or a baseline) -> Transformer decoder
(BART's / mBART's) whose cross-attention is ``DenoisingCrossAttention`` over the latent mixture. The latent travels
through the decoder as one packed tensor in place of ``encoder_hidden_states``, so BART's decoder loop, caching,
gradient checkpointing and output capture are reused as they are.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import cast

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.models.bart.modeling_bart import BartScaledWordEmbedding
from transformers.utils.deprecation import deprecate_kwarg
from transformers.utils.generic import can_return_tuple

from .alignment import guided_alignment_loss, recorded_cross_attention
from .bottleneck import Bottleneck
from .configuration_nvae import NvaeConfig
from .encoder_decoder import NvaeDecoder, NvaeEncoder, NvaePreNormDecoder, shift_right
from .input_checks import check_decoder_length, check_labels, check_sequence_shape, check_token_ids
from .latent import NvibLatent
from .latent_methods import LatentMethodsMixin
from .outputs import NvaeEncoderOutput, NvaeSeq2SeqLMOutput, NvaeSeq2SeqModelOutput, checked_encoder_output

# `save_pretrained` writes `auto_map` only for the class that saves; every Auto class should load the directory.
AUTO_MAP = {
    "AutoConfig": "configuration_nvae.NvaeConfig",
    "AutoModel": "modeling_nvae.NvaeModel",
    "AutoModelForSeq2SeqLM": "modeling_nvae.NvaeForConditionalGeneration",
}


class NvaePreTrainedModel(PreTrainedModel):
    config_class = NvaeConfig
    config: NvaeConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["BartEncoderLayer", "MBartEncoderLayer", "NvaeDecoderLayer", "NvaePreNormDecoderLayer"]
    _supports_sdpa = True
    _supports_flash_attn = False
    _supports_flex_attn = False
    _can_compile_fullgraph = False
    accepts_loss_kwargs = False

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, allow_pickle: bool = False, **kwargs):
        """``PreTrainedModel.from_pretrained`` that reads safetensors weights only, unless ``allow_pickle=True`` or
        an explicit ``use_safetensors=False``: a ``pytorch_model.bin`` is a pickle, and unpickling a stranger's file
        can run code. A truncated or corrupt safetensors file is named in the error."""
        if not allow_pickle and kwargs.get("use_safetensors") is None:
            kwargs["use_safetensors"] = True
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        except OSError as error:
            if kwargs.get("use_safetensors") and "no file named model.safetensors" in str(error):
                raise OSError(
                    f"{error} Pickle weights (pytorch_model.bin) load only with allow_pickle=True."
                ) from error
            raise
        except SafetensorError as error:
            raise OSError(
                f"the safetensors weights of {pretrained_model_name_or_path} are truncated or corrupt: {error}"
            ) from error

    def save_pretrained(self, save_directory, *args, **kwargs):
        """``PreTrainedModel.save_pretrained`` (safetensors) with ``auto_map`` for all three Auto classes, so the
        directory loads with ``trust_remote_code=True`` where nvib-hf is not installed."""
        self.config.auto_map = {**(getattr(self.config, "auto_map", None) or {}), **AUTO_MAP}
        return super().save_pretrained(save_directory, *args, **kwargs)

    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' standard init, then the bottleneck's own hook for the modules it owns
        (``Bottleneck._init_weights``): the model holds no bottleneck-specific initialisation."""
        super()._init_weights(module)
        encoder = getattr(getattr(self, "model", self), "encoder", None)
        bottleneck = getattr(encoder, "bottleneck", None)
        if isinstance(bottleneck, Bottleneck) and bottleneck.owns(module):
            bottleneck._init_weights(module, self.config.init_std)


class NvaeModel(NvaePreTrainedModel):
    """The bare NVAE: encoder + bottleneck + decoder, returning decoder states and the latent statistics."""

    _tied_weights_keys = {
        "encoder.transformer.embed_tokens.weight": "shared.weight",
        "decoder.embed_tokens.weight": "shared.weight",
    }

    def __init__(self, config: NvaeConfig):
        super().__init__(config)
        # Scaled as the encoder's and decoder's own embeddings are (√D with scale_embedding), as BART's: so that
        # get_input_embeddings()(ids) as inputs_embeds gives the result of the ids.
        scale = math.sqrt(config.d_model) if config.scale_embedding else 1.0
        self.shared = BartScaledWordEmbedding(
            config.vocab_size, config.d_model, cast(int, config.pad_token_id), embed_scale=scale
        )
        self.encoder = NvaeEncoder(config)
        self.decoder = (NvaePreNormDecoder if config.normalize_before else NvaeDecoder)(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.shared

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.shared = value
        self.encoder.transformer.embed_tokens = value
        # BART declares its scaled-embedding class there; the module takes any nn.Embedding.
        cast(nn.Module, self.decoder).embed_tokens = value

    def get_encoder(self, modality: str | None = None) -> NvaeEncoder:
        return self.encoder

    def get_decoder(self):
        return self.decoder

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: NvaeEncoderOutput | None = None,
        cache=None,
        inputs_embeds: torch.Tensor | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> NvaeSeq2SeqModelOutput:
        """Encode (unless ``encoder_outputs`` is given), then decode against the latent.

        Without ``decoder_input_ids`` the decoder reconstructs ``input_ids`` shifted right.
        """
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            if input_ids is None:
                raise ValueError("Pass decoder_input_ids, decoder_inputs_embeds or input_ids to reconstruct.")
            check_sequence_shape("input_ids", input_ids, self.config.max_position_embeddings)
            decoder_input_ids = shift_right(input_ids, self.config)
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids, attention_mask, inputs_embeds, **kwargs)
        encoder_outputs = checked_encoder_output(encoder_outputs)
        check_decoder_length(
            decoder_input_ids if decoder_input_ids is not None else decoder_inputs_embeds,
            cache,
            self.config.max_position_embeddings,
        )
        if decoder_input_ids is not None:
            check_token_ids("decoder_input_ids", decoder_input_ids, self.shared.num_embeddings)
        decoder_outputs = self.decoder(
            input_ids=decoder_input_ids,
            attention_mask=decoder_attention_mask,
            encoder_hidden_states=encoder_outputs.packed_latent(),  # [B, K, 2·Dz + 2]
            cache=cache,
            inputs_embeds=decoder_inputs_embeds,
            use_cache=use_cache,
            return_dict=True,
            **kwargs,
        )
        return NvaeSeq2SeqModelOutput(
            last_hidden_state=decoder_outputs.last_hidden_state,
            cache=decoder_outputs.cache,
            decoder_hidden_states=decoder_outputs.hidden_states,
            decoder_attentions=decoder_outputs.attentions,
            cross_attentions=decoder_outputs.cross_attentions,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=encoder_outputs.hidden_states,
            encoder_attentions=encoder_outputs.attentions,
            vectors_kept=encoder_outputs.latent_vectors_kept,
            vectors_kept_proportion=encoder_outputs.latent_vectors_kept_proportion,
        )


class NvaeForConditionalGeneration(LatentMethodsMixin, NvaePreTrainedModel, GenerationMixin):
    """The NVAE with a language-model head tied to the embeddings: reconstruction, KL terms, generation.

    The objective (spec section 4): loss = CE (mean over target tokens) + λ_G · KL_G + λ_D · KL_D, the KL terms
    averaged over the batch.
    """

    _tied_weights_keys = {"lm_head.weight": "model.shared.weight"}

    def __init__(self, config: NvaeConfig):
        super().__init__(config)
        self.model = NvaeModel(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()

    def get_encoder(self, modality: str | None = None) -> NvaeEncoder:
        return self.model.encoder

    def get_decoder(self):
        return self.model.decoder

    @property
    def bottleneck(self) -> Bottleneck:
        return self.model.encoder.bottleneck

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: NvaeEncoderOutput | None = None,
        cache=None,
        inputs_embeds: torch.Tensor | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        lambda_gaussian: float | None = None,
        lambda_dirichlet: float | None = None,
        lambda_alignment: float | None = None,
        **kwargs,
    ) -> NvaeSeq2SeqLMOutput:
        """Reconstruct ``labels`` (ids, −100 ignored) from the latent of ``input_ids``.

        ``lambda_gaussian`` / ``lambda_dirichlet`` / ``lambda_alignment`` override the config's weights for this call
        (the trainer's schedules pass them). The guided-alignment loss is computed in training mode only.
        """
        if labels is not None:
            use_cache = False
            check_labels(labels, self.lm_head.out_features, self.config.max_position_embeddings)
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            # Teacher forcing on the labels, or (as BART does) on the inputs themselves: reconstruction.
            target = labels if labels is not None else input_ids
            if target is None:
                raise ValueError("Pass labels, decoder_input_ids, decoder_inputs_embeds or input_ids.")
            check_sequence_shape(
                "labels" if labels is not None else "input_ids", target, self.config.max_position_embeddings
            )
            decoder_input_ids = shift_right(target, self.config)
        if encoder_outputs is None:
            encoder_outputs = self.model.encoder(input_ids, attention_mask, inputs_embeds, **kwargs)
        encoder_outputs = checked_encoder_output(encoder_outputs)
        weight_a = self.config.lambda_alignment if lambda_alignment is None else lambda_alignment
        guided = bool(weight_a) and labels is not None and self.training
        with recorded_cross_attention(self.model.decoder) if guided else nullcontext() as cross_weights:
            outputs = self.model(
                decoder_input_ids=decoder_input_ids,
                decoder_attention_mask=decoder_attention_mask,
                encoder_outputs=encoder_outputs,
                cache=cache,
                decoder_inputs_embeds=decoder_inputs_embeds,
                use_cache=use_cache,
                return_dict=True,
                **kwargs,
            )
        logits = self.lm_head(outputs.last_hidden_state)  # [B, T, V]
        # A cached decoding step without labels is generation, which reads only the logits: no KL terms there (and
        # no NvibLatent to build at every new token).
        with_kl = labels is not None or cache is None
        latent = encoder_outputs.latent if guided or with_kl else None
        alignment = None
        if guided:
            assert labels is not None and cross_weights is not None and latent is not None, "guided: all set"
            positions = self.bottleneck.component_positions(latent)  # [B, K]
            alignment = guided_alignment_loss(cross_weights, positions, labels.ne(-100), self.config.alignment_width)
        parts = self._loss_parts(
            logits, labels, latent, lambda_gaussian, lambda_dirichlet, alignment, weight_a, with_kl
        )
        return NvaeSeq2SeqLMOutput(
            logits=logits,
            cache=outputs.cache,
            decoder_hidden_states=outputs.decoder_hidden_states,
            decoder_attentions=outputs.decoder_attentions,
            cross_attentions=outputs.cross_attentions,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            encoder_hidden_states=outputs.encoder_hidden_states,
            encoder_attentions=outputs.encoder_attentions,
            vectors_kept=outputs.vectors_kept,
            vectors_kept_proportion=outputs.vectors_kept_proportion,
            **parts,
        )

    def _loss_parts(
        self,
        logits,
        labels,
        latent: NvibLatent | None,
        lambda_gaussian,
        lambda_dirichlet,
        alignment=None,
        lambda_alignment=0.0,
        with_kl: bool = True,
    ) -> dict:
        """CE, batch-mean KL terms (when the latent came from the encoder, not the prior, and ``with_kl``), the
        guided-alignment loss when one was computed, and the weighted sum."""
        parts = {}
        if with_kl and latent is not None and latent.valid is not None:
            kl_g, kl_d = self.bottleneck.kl(latent)
            parts.update(kl_gaussian=kl_g.mean(), kl_dirichlet=kl_d.mean())
        if labels is None:
            return parts
        rec = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        weight_g = self.config.lambda_gaussian if lambda_gaussian is None else lambda_gaussian
        weight_d = self.config.lambda_dirichlet if lambda_dirichlet is None else lambda_dirichlet
        loss = rec
        if "kl_gaussian" in parts:
            loss = loss + weight_g * parts["kl_gaussian"] + weight_d * parts["kl_dirichlet"]
        if alignment is not None:
            parts["alignment_loss"] = alignment
            loss = loss + lambda_alignment * alignment
        return {**parts, "reconstruction_loss": rec, "loss": loss}

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return shift_right(labels, self.config)

    def generate(self, inputs: torch.Tensor | None = None, latent: NvibLatent | None = None, **kwargs):
        """``GenerationMixin.generate``, plus ``latent=``: decode from any latent (prior sample, interpolation)."""
        if latent is not None:
            if inputs is not None or kwargs.get("encoder_outputs") is not None:
                raise ValueError("Pass either a latent or inputs/encoder_outputs to generate(), not both.")
            kwargs["encoder_outputs"] = NvaeEncoderOutput.from_latent(latent)
        # Transformers types generate's self as a protocol whose `device` attribute no PreTrainedModel (a property) has.
        return super().generate(inputs, **kwargs)  # pyright: ignore[reportAttributeAccessIssue]


__all__ = [
    "NvaeEncoderOutput",
    "NvaeForConditionalGeneration",
    "NvaeModel",
    "NvaePreTrainedModel",
]  # NvaeEncoderOutput: re-exported for users
