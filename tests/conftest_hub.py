"""Pytest plugin: the ``hub_double`` fixture, a loopback TEST DOUBLE of the Hugging Face Hub HTTP API.

Register it from the project conftest with ``pytest_plugins = ["tests.conftest_hub"]``.

``hub_double`` starts a :class:`tests.hub_double.HubDouble` (NOT the Hub) and points ``huggingface_hub`` and
``transformers`` at it for the duration of one test: ``HF_ENDPOINT``, ``HF_HUB_DISABLE_XET=1``, ``HF_TOKEN``, a fresh
``HF_HOME`` (hub cache, token path, remote-code modules cache), offline mode off. ``huggingface_hub.constants`` is
computed at import time, so setting the environment is not enough: the module-level constants are recomputed
from the patched environment and patched (together with the copies other modules imported by name, the default
``HfApi`` instance and transformers' shared ``HfApi``); everything is restored after the test.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.hub_double import HubDouble

_SENTINEL = object()
_CLEARED_ENV = (
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_ASSETS_CACHE",
    "HUGGINGFACE_ASSETS_CACHE",
    "HF_XET_CACHE",
    "HF_TOKEN_PATH",
    "HUGGING_FACE_HUB_TOKEN",
    "HUGGINGFACE_CO_STAGING",
    "HF_OIDC_RESOURCE",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN",
    "TRANSFORMERS_CACHE",
)


def hub_environment(endpoint: str, hf_home: Path, token: str) -> dict[str, str]:
    """Environment variables that make a fresh process use the double (e.g. for a ``subprocess`` test)."""
    return {
        "HF_ENDPOINT": endpoint,
        "HF_HUB_DISABLE_XET": "1",
        "HF_TOKEN": token,
        "HF_HOME": str(hf_home),
        "HF_MODULES_CACHE": str(hf_home / "modules"),
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def _fresh_constants() -> ModuleType:
    """Execute ``huggingface_hub/constants.py`` again, in a throw-away module, under the current environment."""
    import huggingface_hub.constants as constants

    spec = importlib.util.spec_from_file_location("_hub_double_constants", constants.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _client_modules() -> list[ModuleType]:
    prefixes = ("huggingface_hub", "transformers")
    return [
        module
        for name, module in list(sys.modules.items())
        if isinstance(module, ModuleType) and name.split(".")[0] in prefixes
    ]


def patch_hub_constants(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Recompute ``huggingface_hub.constants`` from ``os.environ`` and monkeypatch every value that changed.

    Copies made with ``from huggingface_hub.constants import NAME`` in loaded ``huggingface_hub`` / ``transformers``
    modules are patched too (an attribute of the same name bound to the same old object). Returns the names patched.
    """
    import huggingface_hub.constants as constants

    fresh, changed = _fresh_constants(), []
    modules = _client_modules()
    for name, value in vars(fresh).items():
        if name.startswith("__") or callable(value) or isinstance(value, ModuleType):
            continue
        old = vars(constants).get(name, _SENTINEL)
        if old is _SENTINEL or old == value:
            continue
        changed.append(name)
        for module in modules:
            if vars(module).get(name, _SENTINEL) is old:
                monkeypatch.setattr(module, name, value)
    return changed


def _patch_derived_state(monkeypatch: pytest.MonkeyPatch, endpoint: str, modules_cache: Path) -> None:
    """Objects built at import time from the constants: default ``HfApi``, origin allow-list, transformers."""
    import huggingface_hub.hf_api as hf_api
    import huggingface_hub.utils._http as hf_http

    monkeypatch.setattr(hf_api.api, "endpoint", endpoint)
    if hasattr(hf_http, "_HUB_ORIGINS"):
        monkeypatch.setattr(hf_http, "_HUB_ORIGINS", hf_http._HUB_ORIGINS | {hf_http._url_origin(endpoint)})
    for module_name, attribute, value in (
        ("transformers.utils.hub", "_hf_api", None),
        ("transformers.utils.hub", "HF_MODULES_CACHE", str(modules_cache)),
        ("transformers.dynamic_module_utils", "HF_MODULES_CACHE", str(modules_cache)),
    ):
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, attribute):
            monkeypatch.setattr(module, attribute, value)
    # transformers appends HF_MODULES_CACHE to sys.path: work on a copy, restored after the test
    monkeypatch.setattr(sys, "path", list(sys.path))


def _drop_remote_code_modules() -> dict[str, Any]:
    """Remove the ``transformers_modules`` packages (remote code) from ``sys.modules``; returns what was removed."""
    names = [n for n in sys.modules if n == "transformers_modules" or n.startswith("transformers_modules.")]
    return {name: sys.modules.pop(name) for name in names}


@pytest.fixture
def hub_double(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubDouble]:
    """A started :class:`HubDouble` (TEST DOUBLE of the Hub API) that huggingface_hub/transformers talk to.

    Attributes: ``endpoint`` / ``url`` (``http://127.0.0.1:PORT``), ``token``, ``user``, ``hf_home`` (the fresh
    HF_HOME), ``requests`` (every ``(method, path)`` served), ``failures`` (requests the double could not serve).
    Methods: ``list_files(repo_id, revision="main")``, ``read_file(repo_id, path)``, ``get_commit(repo_id)``,
    ``history(repo_id)`` (newest first), ``get_repo(repo_id)``.
    """
    from huggingface_hub.utils import _http as hf_http

    hub = HubDouble().start()
    hf_home = tmp_path_factory.mktemp("hf_home")
    hub.hf_home = hf_home
    for name in _CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in hub_environment(hub.endpoint, hf_home, hub.token).items():
        monkeypatch.setenv(name, value)
    patch_hub_constants(monkeypatch)
    _patch_derived_state(monkeypatch, hub.endpoint, hf_home / "modules")
    saved_modules = _drop_remote_code_modules()
    hf_http.close_session()  # the shared httpx client is re-created under the patched environment
    try:
        yield hub
    finally:
        hub.stop()
        hf_http.close_session()
        _drop_remote_code_modules()
        sys.modules.update(saved_modules)


__all__ = ["hub_double", "hub_environment", "patch_hub_constants"]
