# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The bottleneck registry with the built-in bottlenecks loaded: the one source of the names ``config.bottleneck``
accepts and of the class each name builds.

Importing this module registers ``"nvib"`` (``nvib.py``), ``"none"``, ``"vae"``, ``"vae_pooled"``
(``baseline_bottlenecks.py``) and ``"vae_stride"`` (``stride_bottleneck.py``), in that order; a bottleneck
registered later (``bottleneck.register_bottleneck``) is listed after them. The configuration and the modelling
files import this module, so a saved model directory (``trust_remote_code``) carries every built-in bottleneck.
"""

from __future__ import annotations

from .baseline_bottlenecks import GaussianBottleneck, IdentityBottleneck
from .bottleneck import BOTTLENECKS, Bottleneck
from .nvib import NvibLayer
from .stride_bottleneck import StrideBottleneck

BUILTIN_BOTTLENECK_CLASSES = (NvibLayer, IdentityBottleneck, GaussianBottleneck, StrideBottleneck)


def bottleneck_names() -> tuple[str, ...]:
    """Every registered name, in registration order: the values ``NvaeConfig.bottleneck`` accepts."""
    return tuple(BOTTLENECKS)


def prior_bottleneck_names() -> tuple[str, ...]:
    """The registered names whose bottleneck has a prior to sample from (``Bottleneck.has_prior``)."""
    return tuple(name for name, cls in BOTTLENECKS.items() if cls.has_prior)


def bottleneck_class(name: str) -> type[Bottleneck]:
    """The class registered as ``name``; an unknown name raises ``ValueError`` listing the registered ones."""
    cls = BOTTLENECKS.get(name)
    if cls is None:
        raise ValueError(
            f"NvaeConfig.bottleneck must be one of {bottleneck_names()} (got {name!r}); a bottleneck defined "
            "elsewhere must be imported (registered) before the config is built."
        )
    return cls


def build_bottleneck(config, layer_idx: int | None = None) -> Bottleneck:
    """``BOTTLENECKS[config.bottleneck](config, layer_idx)``."""
    return bottleneck_class(config.bottleneck)(config, layer_idx)


__all__ = [
    "BOTTLENECKS",
    "BUILTIN_BOTTLENECK_CLASSES",
    "bottleneck_class",
    "bottleneck_names",
    "build_bottleneck",
    "prior_bottleneck_names",
]
