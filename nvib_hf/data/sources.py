"""Reading a user corpus: text and JSON-lines files (plain or gzip), ``save_to_disk`` directories and
``datasets.load_dataset`` names, as split name -> texts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import IO, Any

from .resources import SPLITS

__all__ = ["read_lines", "read_source"]

_TEXT_SUFFIXES = (".txt", ".txt.gz")
_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
_PATH_LIKE_SUFFIXES = (".txt", ".gz", ".jsonl", ".json", ".csv", ".tsv", ".parquet", ".arrow")


def _open_text(path: Path) -> IO[str]:
    """Open a plain or gzip-compressed UTF-8 text file."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def read_lines(path: Path) -> list[str]:
    """Read the non-blank lines of a (possibly gzip-compressed) UTF-8 text file."""
    try:
        with _open_text(path) as handle:
            lines = [line.strip() for line in handle]
    except (UnicodeDecodeError, OSError, EOFError) as err:
        raise ValueError(f"cannot read {path} as UTF-8 text: {err}") from err
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError(f"corpus file {path} is empty (no non-blank line)")
    return lines


def _read_jsonl(path: Path) -> list[str]:
    """Read the ``"text"`` field of each non-blank line of a JSON-lines file."""
    texts: list[str] = []
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    texts.append(_jsonl_text(line, number, path))
    except (UnicodeDecodeError, OSError, EOFError) as err:
        raise ValueError(f"cannot read {path} as UTF-8 text: {err}") from err
    if not texts:
        raise ValueError(f"corpus file {path} is empty (no non-blank line)")
    return texts


def _jsonl_text(line: str, number: int, path: Path) -> str:
    """Return the ``"text"`` string of one JSON line, with an error naming the line if it is invalid."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"line {number} of {path} is not valid JSON: {err.msg} (column {err.colno})") from err
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError(f'line {number} of {path} has no string "text" field (expected {{"text": "..."}})')
    return record["text"]


def _dataset_texts(dataset: Any, where: str) -> list[str]:
    """Return the ``"text"`` column of a ``datasets.Dataset`` as a list of strings."""
    if "text" not in dataset.column_names:
        raise ValueError(f'{where} has no "text" column (columns: {", ".join(dataset.column_names)})')
    return [t for t in dataset["text"] if isinstance(t, str) and t.strip()]


def _texts_from_datasets(obj: Any, where: str) -> dict[str, list[str]]:
    """Map split name -> texts for a ``Dataset`` or ``DatasetDict``; a single unnamed split becomes "train"."""
    from datasets import Dataset

    if isinstance(obj, Dataset):
        return {"train": _dataset_texts(obj, where)}
    names = list(obj.keys())
    if len(names) == 1 and names[0] not in SPLITS:
        return {"train": _dataset_texts(obj[names[0]], f"{where} split {names[0]!r}")}
    if "train" not in names:
        raise ValueError(f"{where} has splits {names} but no 'train' split")
    return {name: _dataset_texts(obj[name], f"{where} split {name!r}") for name in names if name in SPLITS}


def _looks_like_path(source: str) -> bool:
    """Whether a non-existing ``source`` was meant as a local path rather than a ``datasets`` name."""
    return source.startswith(("/", "./", "../", "~", ".\\")) or source.lower().endswith(_PATH_LIKE_SUFFIXES)


def _read_hub_dataset(source: str) -> dict[str, list[str]]:
    """Load ``name`` or ``name:config`` with ``datasets.load_dataset`` (needs the Hub or a local cache)."""
    from datasets import load_dataset

    name, _, config = source.partition(":")
    try:
        loaded = load_dataset(name, config or None)
    except Exception as err:  # noqa: BLE001 - any failure of load_dataset is reported the same way
        raise ValueError(
            f"{source!r} is not an existing file or directory, and datasets.load_dataset({name!r}"
            f"{', ' + repr(config) if config else ''}) failed: {type(err).__name__}: {err}"
        ) from err
    return _texts_from_datasets(loaded, f"dataset {source!r}")


def read_source(source: str | Path) -> dict[str, list[str]]:
    """Read a user corpus as split name -> texts (each text one sentence or a paragraph)."""
    path = Path(source).expanduser()
    if path.is_dir():
        from datasets import load_from_disk

        try:
            loaded = load_from_disk(str(path))
        except Exception as err:  # noqa: BLE001
            raise ValueError(f"directory {path} is not a dataset saved with save_to_disk: {err}") from err
        return _texts_from_datasets(loaded, f"dataset directory {path}")
    if path.is_file():
        name = path.name.lower()
        if name.endswith(_TEXT_SUFFIXES):
            return {"train": read_lines(path)}
        if name.endswith(_JSONL_SUFFIXES):
            return {"train": _read_jsonl(path)}
        supported = ", ".join(_TEXT_SUFFIXES + _JSONL_SUFFIXES)
        raise ValueError(
            f"unsupported corpus file extension {''.join(path.suffixes) or '(none)'!r} for {path}; "
            f"supported: {supported}, or a directory saved with datasets' save_to_disk"
        )
    if isinstance(source, Path) or _looks_like_path(str(source)):
        raise FileNotFoundError(f"corpus file or directory not found: {source} (resolved to {path.resolve()})")
    return _read_hub_dataset(str(source))
