# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""``import nvib_hf`` registers the NVAE with the Transformers Auto classes without importing torch itself.

The registration lives in ``nvib_hf.models.nvae`` (importing it imports Transformers and torch, ~3-8 s). The package
``nvib_hf`` stays cheap so that ``nvib-hf --help`` is fast, yet the documented pattern

    import nvib_hf
    from transformers import AutoModelForSeq2SeqLM
    model = AutoModelForSeq2SeqLM.from_pretrained("outputs/nvae-default")

must still find the "nvae" model type. So ``install()`` (called by ``nvib_hf/__init__.py``) imports
``nvib_hf.models.nvae`` as soon as the Transformers Auto classes are loaded: at once if they already are, otherwise
right after whichever import loads them. A ``sys.meta_path`` finder, active only until the registration has run,
wraps the loader of each newly imported file module so that, once the module has executed, ``maybe_register``
checks: are Transformers' Auto classes loaded, and is none of the modules the model package needs half-imported?
(A module is half-imported while it executes, e.g. ``transformers.modeling_layers`` imports the Auto classes
before it defines ``GradientCheckpointingLayer``, which the NVAE needs.) If so it registers; otherwise the next
import retries.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from typing import Any

MODEL_PACKAGE = "nvib_hf.models.nvae"
AUTO_CONFIG_MODULE = "transformers.models.auto.configuration_auto"
# Top-level packages the model package imports: registering while one of them is half-imported would fail.
FILE_LOADERS = (
    importlib.machinery.SourceFileLoader,
    importlib.machinery.SourcelessFileLoader,
    importlib.machinery.ExtensionFileLoader,
)
DEPENDENCIES = ("nvib_hf", "transformers", "torch", "huggingface_hub", "safetensors", "tokenizers", "numpy")


def half_imported(finished: str | None = None) -> list[str]:
    """Modules of ``DEPENDENCIES`` still executing (``__spec__._initializing``), except the module ``finished``."""
    names = []
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        if name != finished and name.split(".")[0] in DEPENDENCIES and getattr(spec, "_initializing", False):
            names.append(name)
    return names


def maybe_register(finished: str | None = None) -> bool:
    """Import ``nvib_hf.models.nvae`` (it registers the Auto classes) once that is needed and safe; True when done."""
    if MODEL_PACKAGE in sys.modules:
        return True  # imported or importing: its __init__ registers and uninstalls the finder
    if AUTO_CONFIG_MODULE not in sys.modules or half_imported(finished):
        return False
    importlib.import_module(MODEL_PACKAGE)
    return True


class RegisterAfterImports(importlib.abc.MetaPathFinder):
    """Finds modules with the other finders and makes their loaders call ``maybe_register`` after executing."""

    def __init__(self) -> None:
        self.busy = False

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if self.busy:
            return None
        self.busy = True
        try:
            spec = next((s for s in self._other_specs(fullname, path, target) if s is not None), None)
        finally:
            self.busy = False
        # File loaders are per-module instances: patching one affects this module only.
        if spec is not None and isinstance(spec.loader, FILE_LOADERS):
            self._call_after_exec(spec.loader)
        return spec

    def _other_specs(self, fullname: str, path: Any, target: Any):
        for finder in list(sys.meta_path):
            if finder is not self and hasattr(finder, "find_spec"):
                yield finder.find_spec(fullname, path, target)

    def _call_after_exec(self, loader: Any) -> None:
        exec_module = loader.exec_module

        def exec_then_register(module: Any) -> None:
            exec_module(module)
            if self in sys.meta_path and maybe_register(finished=module.__name__):
                uninstall()

        loader.exec_module = exec_then_register


def install() -> None:
    """Register now if Transformers' Auto classes are loaded (and it is safe), else after the import that loads them.

    Called from ``nvib_hf/__init__.py``, so the package ``nvib_hf`` itself is half-imported and not an obstacle.
    """
    if maybe_register(finished="nvib_hf"):
        return
    if not any(isinstance(finder, RegisterAfterImports) for finder in sys.meta_path):
        sys.meta_path.insert(0, RegisterAfterImports())


def uninstall() -> None:
    """Remove the finder (the registration has run)."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, RegisterAfterImports)]
