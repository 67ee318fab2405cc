# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Loading a model directory that may come from a stranger: checks before any weight is read.

``load_pretrained(path, allow_pickle=False)`` is the loader of the ``nvib-hf`` model commands. Before handing the
directory to ``AutoModelForSeq2SeqLM.from_pretrained`` it checks, for a local directory:

- **no pickle weights**: a ``pytorch_model.bin`` / ``*.pt`` / ``*.pth`` / ``*.ckpt`` is a Python pickle, and
  unpickling can run arbitrary code. Without ``allow_pickle=True`` (CLI: ``--allow-pickle``) only safetensors weights
  load; a directory with pickles only is refused, naming the file.
- **complete safetensors files**: a safetensors file is an 8-byte header length, a JSON header giving every tensor's
  dtype, shape and byte range, then the data. A file shorter than the header's largest byte range (a download or a
  copy cut short) is refused, naming the file and the first tensor cut off; safetensors' own message names neither.
- **tensor shapes that match config.json**: the shapes in the header are compared with those of a model built from the
  config on the meta device (no memory, no weights); the first mismatch names the file, the tensor and both shapes.
  (Transformers would print a load report and raise without naming the tensor in the error.)
- **known config fields**: a field of config.json that this version's ``NvaeConfig`` does not know (a config written
  by a newer nvib-hf) is only a warning, naming the file and the fields: the model loads, the field is ignored.

No code of the directory runs here: the ``nvae`` model type is registered by nvib-hf itself, so the Auto classes use
the installed classes and never import the directory's ``*.py`` files (they would only with ``trust_remote_code=True``
and without nvib-hf; see docs/reliability.md, "Untrusted checkpoints").
"""

from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path
from typing import Any

SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
SAVE_ONLY_FIELDS = {"auto_map", "architectures", "transformers_version", "dtype", "torch_dtype"}


class CheckpointError(ValueError):
    """A model directory that cannot be loaded safely or correctly; the message names the file and the entry."""


def pickle_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in PICKLE_SUFFIXES)


def safetensors_files(directory: Path) -> list[Path]:
    """The weight files ``from_pretrained`` reads: ``model.safetensors``, or the shards of the index."""
    single, index = directory / SAFE_WEIGHTS[0], directory / SAFE_WEIGHTS[1]
    if single.is_file():
        return [single]
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"{index} is not a valid safetensors index ({error}).") from error
        return [directory / shard for shard in shards]
    return []


def check_pickle_policy(directory: Path, allow_pickle: bool) -> None:
    """Refuse a directory whose only weights are pickles, unless ``allow_pickle``."""
    if allow_pickle or safetensors_files(directory):
        return
    pickles = pickle_files(directory)
    if pickles:
        raise CheckpointError(
            f"{pickles[0]} is a pickle file and {directory} has no model.safetensors: unpickling can run arbitrary "
            "code. Load it only if you trust its source, with --allow-pickle (allow_pickle=True), or convert it to "
            "safetensors."
        )


def read_safetensors_header(file: Path) -> dict[str, dict[str, Any]]:
    """The tensor entries ``{name: {"dtype", "shape", "data_offsets"}}`` of a complete safetensors file.

    Layout: u64 little-endian header length n, n bytes of JSON, then the data; tensor t occupies bytes
    [8 + n + begin_t, 8 + n + end_t). The file must be at least 8 + n + max_t end_t bytes long.
    """
    if not file.is_file():
        raise CheckpointError(f"{file} is missing (named by the safetensors index).")
    size = file.stat().st_size
    with open(file, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise CheckpointError(f"{file} is truncated: {size} bytes, not even the 8-byte header length.")
        (length,) = struct.unpack("<Q", prefix)
        if 8 + length > size:
            raise CheckpointError(f"{file} is truncated: its header needs {8 + length} bytes, the file has {size}.")
        try:
            header = json.loads(handle.read(length))
        except ValueError as error:
            raise CheckpointError(f"{file} is not a safetensors file (unreadable header: {error}).") from error
    tensors = {name: entry for name, entry in header.items() if name != "__metadata__"}
    for name, entry in sorted(tensors.items(), key=lambda item: item[1]["data_offsets"][1]):
        if 8 + length + entry["data_offsets"][1] > size:
            raise CheckpointError(
                f"{file} is truncated: {size} bytes, but tensor {name} ends at byte "
                f"{8 + length + entry['data_offsets'][1]} (a download or copy cut short?)."
            )
    return tensors


def expected_shapes(config: Any) -> dict[str, list[int]]:
    """Parameter and buffer shapes of the model that ``config`` describes, built on the meta device (no memory)."""
    import torch
    from transformers import AutoModelForSeq2SeqLM

    with torch.device("meta"):
        model = AutoModelForSeq2SeqLM.from_config(config)
    return {name: list(tensor.shape) for name, tensor in model.state_dict().items()}


def check_shapes(file: Path, tensors: dict[str, dict[str, Any]], expected: dict[str, list[int]]) -> None:
    for name, entry in tensors.items():
        want = expected.get(name)
        if want is not None and list(entry["shape"]) != want:
            raise CheckpointError(
                f"{file}: tensor {name} has shape {list(entry['shape'])}, but the model of config.json expects "
                f"{want} (weights and config from different models?)."
            )


def check_config_fields(config_file: Path) -> list[str]:
    """Warn about (and return) the fields of ``config_file`` that this version's ``NvaeConfig`` does not know."""
    from nvib_hf.models.nvae.configuration_nvae import NvaeConfig

    try:
        values = json.loads(config_file.read_text())
    except ValueError as error:
        raise CheckpointError(f"{config_file} is not valid JSON ({error}).") from error
    if not isinstance(values, dict):
        raise CheckpointError(f"{config_file} must hold a JSON object.")
    if values.get("model_type") != NvaeConfig.model_type:
        return []  # another model type: Transformers' own class decides what it knows
    unknown = sorted(set(values) - set(NvaeConfig().to_dict()) - SAVE_ONLY_FIELDS)
    if unknown:
        import transformers

        warnings.warn(
            f"{config_file}: unknown field(s) {unknown}, ignored by this version (transformers "
            f"{transformers.__version__}; the file was written with transformers {values.get('transformers_version')})"
            ": a config from a newer nvib-hf? The model may behave differently from where it was trained.",
            UserWarning,
            stacklevel=3,
        )
    return unknown


def check_model_directory(directory: str | Path, allow_pickle: bool = False) -> None:
    """All checks of the module docstring on a local model directory (raises ``CheckpointError``)."""
    from transformers import AutoConfig

    directory = Path(directory)
    check_pickle_policy(directory, allow_pickle)
    check_config_fields(directory / "config.json")
    files = safetensors_files(directory)
    if not files:
        return  # pickle weights the user allowed, or none at all (from_pretrained says so)
    shapes = expected_shapes(AutoConfig.from_pretrained(directory))
    for file in files:
        check_shapes(file, read_safetensors_header(file), shapes)


def load_pretrained(path: str | Path, *, allow_pickle: bool = False, **kwargs: Any):
    """``AutoModelForSeq2SeqLM.from_pretrained(path)`` after ``check_model_directory`` (for a local directory).

    Safetensors weights only unless ``allow_pickle=True``; a Hub repo id is checked by the model's
    ``from_pretrained`` (pickle refusal, a corrupt file named) once downloaded.
    """
    from transformers import AutoModelForSeq2SeqLM

    local = Path(path)
    if local.is_dir():
        check_model_directory(local, allow_pickle)
    # use_safetensors=True: safetensors only; False: the pickle weights the user allowed (our from_pretrained
    # reads an explicit False as the opt-in, so this also works for model classes without an allow_pickle flag).
    pickles_only = allow_pickle and local.is_dir() and not safetensors_files(local)
    kwargs.setdefault("use_safetensors", not pickles_only)
    return AutoModelForSeq2SeqLM.from_pretrained(str(path), **kwargs)
