# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""nvib-hf: the Nonparametric Variational Information Bottleneck and the NVAE for Hugging Face Transformers.

Importing the package registers ``NvaeConfig`` and the NVAE models with ``AutoConfig``, ``AutoModel`` and
``AutoModelForSeq2SeqLM``.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from .models.nvae.configuration_nvae import NvaeConfig
from .models.nvae.denoising_attention import DenoisingCrossAttention
from .models.nvae.kl import kl_dirichlet, kl_gaussian
from .models.nvae.latent import NvibLatent
from .models.nvae.modeling_nvae import NvaeEncoderOutput, NvaeForConditionalGeneration, NvaeModel, NvaePreTrainedModel
from .models.nvae.nvib import NvibLayer, interpolate_componentwise, interpolate_mixture

__version__ = "0.1.0"

AutoConfig.register("nvae", NvaeConfig, exist_ok=True)
AutoModel.register(NvaeConfig, NvaeModel, exist_ok=True)
AutoModelForSeq2SeqLM.register(NvaeConfig, NvaeForConditionalGeneration, exist_ok=True)
NvaeConfig.register_for_auto_class()
NvaeModel.register_for_auto_class("AutoModel")
NvaeForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")

__all__ = [
    "DenoisingCrossAttention",
    "NvaeConfig",
    "NvaeEncoderOutput",
    "NvaeForConditionalGeneration",
    "NvaeModel",
    "NvaePreTrainedModel",
    "NvibLatent",
    "NvibLayer",
    "interpolate_componentwise",
    "interpolate_mixture",
    "kl_dirichlet",
    "kl_gaussian",
]
