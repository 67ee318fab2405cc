# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""nvib-hf: the Nonparametric Variational Information Bottleneck and the NVAE for Hugging Face Transformers.

Importing the package is cheap (no torch): the public names below are imported on first use (PEP 562), and
``NvaeConfig`` and the NVAE models are registered with ``AutoConfig``, ``AutoModel`` and ``AutoModelForSeq2SeqLM``
when ``nvib_hf.models.nvae`` is imported, which happens on first use of a model name or as soon as Transformers'
Auto classes are imported (``nvib_hf.utils.auto_registration``). So ``import nvib_hf`` followed by
``AutoModelForSeq2SeqLM.from_pretrained(nvae_dir)`` works, and ``nvib-hf --help`` needs no torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nvib_hf.utils import auto_registration

if TYPE_CHECKING:
    from .models.nvae.configuration_nvae import NvaeConfig
    from .models.nvae.denoising_attention import DenoisingCrossAttention
    from .models.nvae.kl import kl_dirichlet, kl_gaussian
    from .models.nvae.latent import NvibLatent
    from .models.nvae.modeling_nvae import (
        NvaeForConditionalGeneration,
        NvaeModel,
        NvaePreTrainedModel,
    )
    from .models.nvae.nvib import NvibLayer, interpolate_componentwise, interpolate_mixture
    from .models.nvae.outputs import NvaeEncoderOutput

__version__ = "0.1.0"

# public name -> module of nvib_hf that defines it
_LAZY_NAMES: dict[str, str] = {
    "NvaeConfig": ".models.nvae.configuration_nvae",
    "DenoisingCrossAttention": ".models.nvae.denoising_attention",
    "kl_dirichlet": ".models.nvae.kl",
    "kl_gaussian": ".models.nvae.kl",
    "NvaeEncoderOutput": ".models.nvae.outputs",
    "NvaeForConditionalGeneration": ".models.nvae.modeling_nvae",
    "NvaeModel": ".models.nvae.modeling_nvae",
    "NvaePreTrainedModel": ".models.nvae.modeling_nvae",
    "NvibLatent": ".models.nvae.latent",
    "NvibLayer": ".models.nvae.nvib",
    "interpolate_componentwise": ".models.nvae.nvib",
    "interpolate_mixture": ".models.nvae.nvib",
}

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


def __getattr__(name: str) -> Any:
    """PEP 562: import a public name's module (and so register the Auto classes) on first access."""
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY_NAMES[name], __name__), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


auto_registration.install()
