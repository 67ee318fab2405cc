# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The bottleneck contract: what the NVAE asks of the layer between its encoder and its decoder, and the registry.

A bottleneck turns encoder states into an ``NvibLatent`` (``latent.py``) that the decoder's cross-attention reads,
scores that latent with its KL terms, draws latents from its prior, tells the guided-alignment loss which token each
latent vector stands for, checks the configuration fields it depends on, and initialises its own parameters.
``Bottleneck`` declares exactly that — as PEFT's ``BaseTunerLayer`` declares what a tuner layer must provide — and
the model calls nothing else. Every bottleneck class is registered under one or more names (the values of
``config.bottleneck``) in ``BOTTLENECKS``; ``registry.py`` imports the built-in ones and builds
``BOTTLENECKS[config.bottleneck](config)``, and every list of bottleneck names (the config's valid values, the CLIs'
choices) is read from it.

Adding a bottleneck in one file::

    # my_bottleneck.py
    from nvib_hf.models.nvae.bottleneck import Bottleneck, register_bottleneck

    @register_bottleneck("my_vae")
    class MyBottleneck(Bottleneck):
        def __init__(self, config, layer_idx=None): ...          # sizes from the config
        def forward(self, hidden_states, attention_mask): ...     # [B, N, D], [B, N] -> NvibLatent
        def kl(self, latent): ...                                 # -> (KL_G [B], KL_D [B])
        def sample_prior(self, num_components, weights=None, generator=None): ...  # -> NvibLatent
        def component_positions(self, latent): ...                # -> [B, K] token positions
        # optional: validate_config (classmethod), _init_weights, has_prior, uses_denoising_attention

Import the file, then ``NvaeConfig(bottleneck="my_vae")`` validates and ``NvaeForConditionalGeneration`` builds it.
For models that must load with ``trust_remote_code`` where nvib-hf is not installed, put the file in this folder
(relative imports only) and import it in ``registry.py``: the saved directory then carries it
(``stride_bottleneck.py`` is an example).

Initialisation: ``NvaePreTrainedModel._init_weights(module)`` applies Transformers' standard init to every module
(normal(0, init_std) weights, zero biases, unit LayerNorms) and then, for a module the bottleneck owns, calls
``bottleneck._init_weights(module, std)``, which sets what differs (initial biases, buffers, extra parameters); the
model keeps no bottleneck-specific code. Use ``transformers.initialization`` functions there: they leave tensors
loaded from a checkpoint alone. Transformers skips, in custom-code models, a module without parameters or buffers of
its own, so set a projection's bias when the projection itself is visited (``module is self.proj``), not from its
parent.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from typing import ClassVar, TypeVar

import torch
from torch import nn
from transformers import initialization as init

from .latent import NvibLatent


class Bottleneck(nn.Module, metaclass=ABCMeta):
    """The layer between encoder and decoder: encoder states ``[B, N, D]`` -> an ``NvibLatent``.

    Class attributes:
        names: the ``config.bottleneck`` values this class implements (set by ``register_bottleneck``).
        has_prior: whether ``sample_prior`` can draw latents (False for the plain auto-encoder).
        uses_denoising_attention: whether the decoder reads the latent with denoising attention (a mixture of
            Gaussians with variances, NVIB) rather than ordinary attention over its vectors with log π as bias.
        descriptions: one line per registered name, for model cards and the CLI's help.
    """

    names: ClassVar[tuple[str, ...]] = ()
    has_prior: ClassVar[bool] = True
    uses_denoising_attention: ClassVar[bool] = False
    descriptions: ClassVar[dict[str, str]] = {}

    def __init__(self, config, layer_idx: int | None = None):
        super().__init__()
        self.config = config
        self.layer_idx = layer_idx

    @classmethod
    def validate_config(cls, config) -> None:
        """Raise ``ValueError`` (``config_error``) for config values this bottleneck cannot work with. Called by
        ``NvaeConfig`` after its own checks. Default: no constraint."""

    @abstractmethod
    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> NvibLatent:
        """``hidden_states [B, N, D]``, ``attention_mask [B, N]`` (1 = token) -> the latent; samples in training,
        deterministic at evaluation. Rows without a valid token raise ``ValueError``."""

    @abstractmethod
    def kl(self, latent: NvibLatent) -> tuple[torch.Tensor, torch.Tensor]:
        """(KL_G, KL_D) per sentence, ``[B]`` each, of a latent this bottleneck's ``forward`` returned; the model
        weights them with λ_G and λ_D. A bottleneck without one of the terms returns zeros for it."""

    @abstractmethod
    def sample_prior(
        self,
        num_components: torch.Tensor | list[int],
        weights: str | None = None,
        generator: torch.Generator | None = None,
    ) -> NvibLatent:
        """One latent per entry of ``num_components`` ``[B]`` (the component count n the model drew, as for a
        sentence of about n tokens). ``weights``: ``"uniform"`` or ``"dirichlet"`` (None: the config's).
        Raises ``ValueError`` when ``has_prior`` is False."""

    @abstractmethod
    def component_positions(self, latent: NvibLatent) -> torch.Tensor:
        """``[B, K]`` long: the token position of each latent component (−1: no token, e.g. the prior component),
        for the guided-alignment loss. Raises ``ValueError`` when the latent has no token order (pooled)."""

    def _init_weights(self, module: nn.Module, std: float) -> None:
        """Initialise ``module`` (this bottleneck or one of its submodules) where it differs from the standard init,
        which has already been applied to it. Default: nothing differs."""

    @torch.no_grad()
    def init_weights(self, std: float | None = None) -> None:
        """Initialise every parameter as the model does, for a bottleneck used on its own: the standard init of
        linear layers (normal(0, std) weights, zero biases), then ``_init_weights``, children before parents as
        Transformers visits them. ``std`` defaults to ``config.init_std``."""
        std = self.config.init_std if std is None else std
        for module in _children_first(self):
            if isinstance(module, nn.Linear):
                init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    init.zeros_(module.bias)
            self._init_weights(module, std)

    def owns(self, module: nn.Module) -> bool:
        """Whether ``module`` is this bottleneck or one of its submodules."""
        return any(module is own for own in self.modules())


def _children_first(module: nn.Module) -> list[nn.Module]:
    order = [m for child in module.children() for m in _children_first(child)]
    return [*order, module]


def config_error(config, field: str, expected: str) -> ValueError:
    """The config's error format: ``NvaeConfig.<field> must be <expected> (got <value>).``"""
    return ValueError(f"NvaeConfig.{field} must be {expected} (got {getattr(config, field)!r}).")


BOTTLENECKS: dict[str, type[Bottleneck]] = {}  # name -> class, in registration order
BottleneckT = TypeVar("BottleneckT", bound=Bottleneck)


def register_bottleneck(*names: str) -> Callable[[type[BottleneckT]], type[BottleneckT]]:
    """Class decorator: register a ``Bottleneck`` subclass under ``names`` (values of ``config.bottleneck``).

    Registering a name again for a class of the same qualified name replaces it (a module imported again, as the
    remote-code loader does); another class under a taken name raises ``ValueError``.
    """
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"register_bottleneck needs one or more non-empty names, got {names!r}.")

    def decorate(cls: type[BottleneckT]) -> type[BottleneckT]:  # the class itself, so its own type is kept
        if not (isinstance(cls, type) and issubclass(cls, Bottleneck)):
            raise TypeError(f"{cls!r} must subclass Bottleneck to be registered.")
        for name in names:
            taken = BOTTLENECKS.get(name)
            if taken is not None and _qualified(taken) != _qualified(cls):
                raise ValueError(f"bottleneck name {name!r} is taken by {_qualified(taken)}.")
        for name in names:
            BOTTLENECKS[name] = cls
        cls.names = tuple(names)
        return cls

    return decorate


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


__all__ = ["BOTTLENECKS", "Bottleneck", "config_error", "register_bottleneck"]
