# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The NVAE's output dataclasses: BART's, plus the latent (encoder) and the parts of the objective (model, LM)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput, Seq2SeqModelOutput

from .latent import LATENT_FIELDS, NvibLatent

__all__ = ["NvaeEncoderOutput", "NvaeSeq2SeqLMOutput", "NvaeSeq2SeqModelOutput", "checked_encoder_output"]


@dataclass
class NvaeEncoderOutput(BaseModelOutput):
    """Encoder states plus the latent, flattened into batch-first tensor fields (``latent_<name>``) so that
    ``generate()`` can expand them for beams. ``latent`` rebuilds the ``NvibLatent``."""

    latent_z: torch.Tensor | None = None
    latent_pi: torch.Tensor | None = None
    latent_mask: torch.Tensor | None = None
    latent_variance: torch.Tensor | None = None
    latent_mu: torch.Tensor | None = None
    latent_logvar: torch.Tensor | None = None
    latent_alpha: torch.Tensor | None = None
    latent_valid: torch.Tensor | None = None
    latent_vectors_kept: torch.Tensor | None = None
    latent_vectors_kept_proportion: torch.Tensor | None = None

    @property
    def latent(self) -> NvibLatent:
        return NvibLatent(**{name: getattr(self, f"latent_{name}") for name in LATENT_FIELDS})

    def packed_latent(self) -> torch.Tensor:
        """``latent.packed()`` ``[B, K, 2·D_z + 2]``, the decoder's cross-attention input. Without gradients (as in
        ``generate()``, which runs the decoder once per new token against the same encoder output) it is packed once
        and reused for as long as the latent tensors are the same objects (beam expansion replaces them)."""
        if torch.is_grad_enabled():
            return self.latent.packed()
        source = tuple(getattr(self, f"latent_{name}") for name in ("z", "variance", "pi", "mask"))
        memo = self.__dict__.get("_packed_memo")
        if memo is None or any(a is not b for a, b in zip(memo[0], source)):
            memo = (source, self.latent.packed())
            object.__setattr__(self, "_packed_memo", memo)  # not a ModelOutput field: keys() and to_tuple() skip it
        return memo[1]

    @classmethod
    def from_latent(cls, latent: NvibLatent, encoder_output: BaseModelOutput | None = None) -> NvaeEncoderOutput:
        """Wrap a latent (e.g. a prior sample) as encoder output; ``last_hidden_state`` defaults to ``latent.z``."""
        states = encoder_output or BaseModelOutput(last_hidden_state=latent.z)
        fields = {f"latent_{name}": getattr(latent, name) for name in LATENT_FIELDS}
        return cls(
            last_hidden_state=states.last_hidden_state,
            hidden_states=states.hidden_states,
            attentions=states.attentions,
            **fields,
        )


@dataclass
class NvaeSeq2SeqModelOutput(Seq2SeqModelOutput):
    """``Seq2SeqModelOutput`` plus the latent's statistics: ``vectors_kept`` and ``vectors_kept_proportion`` ``[B]``."""

    vectors_kept: torch.Tensor | None = None
    vectors_kept_proportion: torch.Tensor | None = None


@dataclass
class NvaeSeq2SeqLMOutput(Seq2SeqLMOutput):
    """``Seq2SeqLMOutput`` plus the parts of the objective (batch means) and the latent statistics (``[B]``).

    ``loss`` = ``reconstruction_loss`` + λ_G ``kl_gaussian`` + λ_D ``kl_dirichlet`` (+ λ_A ``alignment_loss`` while
    the guided alignment is on).
    """

    reconstruction_loss: torch.Tensor | None = None
    alignment_loss: torch.Tensor | None = None
    kl_gaussian: torch.Tensor | None = None
    kl_dirichlet: torch.Tensor | None = None
    vectors_kept: torch.Tensor | None = None
    vectors_kept_proportion: torch.Tensor | None = None


def checked_encoder_output(encoder_outputs: object) -> NvaeEncoderOutput:
    """``encoder_outputs`` itself, after checking it is an ``NvaeEncoderOutput`` (it carries the latent)."""
    if not isinstance(encoder_outputs, NvaeEncoderOutput):
        raise TypeError("encoder_outputs must be an NvaeEncoderOutput (from model.get_encoder() or encode()).")
    return encoder_outputs
