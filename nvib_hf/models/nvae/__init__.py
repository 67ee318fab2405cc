# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The NVAE model package; importing it registers the NVAE with the Transformers Auto classes.

``AutoConfig`` knows the model type "nvae", ``AutoModel`` and ``AutoModelForSeq2SeqLM`` build ``NvaeModel`` and
``NvaeForConditionalGeneration``, and ``register_for_auto_class`` writes the ``auto_map`` of saved configs (so a
model directory loads with ``trust_remote_code=True`` without nvib-hf). The modelling files beside this one import
each other relatively and are copied into saved model directories; this ``__init__`` is not.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from nvib_hf.utils import auto_registration

from .configuration_nvae import NvaeConfig
from .modeling_nvae import NvaeForConditionalGeneration, NvaeModel


def register_auto_classes() -> None:
    """Register ``NvaeConfig`` and the models with the Auto classes (idempotent)."""
    AutoConfig.register("nvae", NvaeConfig, exist_ok=True)
    AutoModel.register(NvaeConfig, NvaeModel, exist_ok=True)
    AutoModelForSeq2SeqLM.register(NvaeConfig, NvaeForConditionalGeneration, exist_ok=True)
    NvaeConfig.register_for_auto_class()
    NvaeModel.register_for_auto_class("AutoModel")
    NvaeForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")


register_auto_classes()
auto_registration.uninstall()  # the finder that waited for the Auto classes has nothing left to do
