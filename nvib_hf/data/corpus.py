"""``load_sentences``: the shipped corpus with its fixed splits, or a user corpus prepared and split the same way."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .resources import (
    DEFAULT_CORPUS_FILE,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MIN_TOKENS,
    DEFAULT_SEED,
    DEFAULT_TEST_SIZE,
    DEFAULT_VALIDATION_SIZE,
    SPLITS,
)
from .sentences import count_word_pieces, prepare_sentences, shuffle_and_split
from .sources import read_lines, read_source
from .tokenizers import is_shipped_tokenizer, load_default_tokenizer

if TYPE_CHECKING:
    from datasets import DatasetDict
    from transformers import PreTrainedTokenizerBase

__all__ = ["load_sentences"]


def _to_dataset_dict(splits: Mapping[str, list[str]]) -> DatasetDict:
    """Build a ``DatasetDict`` with the three splits, each with a "text" column."""
    from datasets import Dataset, DatasetDict, Features, Value

    features = Features({"text": Value("string")})
    return DatasetDict({name: Dataset.from_dict({"text": list(splits[name])}, features=features) for name in SPLITS})


def _read_default_corpus() -> dict[str, list[str]]:
    """Read the shipped corpus and cut it into its fixed splits (see resources/corpus/NOTICE.md)."""
    if not DEFAULT_CORPUS_FILE.is_file():
        raise FileNotFoundError(
            f"default corpus not found at {DEFAULT_CORPUS_FILE}; rebuild it with `python scripts/build_resources.py`"
        )
    lines = read_lines(DEFAULT_CORPUS_FILE)
    cut = DEFAULT_VALIDATION_SIZE + DEFAULT_TEST_SIZE
    return {
        "validation": lines[:DEFAULT_VALIDATION_SIZE],
        "test": lines[DEFAULT_VALIDATION_SIZE:cut],
        "train": lines[cut:],
    }


def _filter_default_corpus(
    splits: dict[str, list[str]], tokenizer: PreTrainedTokenizerBase | None, min_tokens: int, max_tokens: int
) -> dict[str, list[str]]:
    """Re-apply a length filter to the shipped splits when a tokenizer or non-default bounds are given."""
    if (min_tokens, max_tokens) == (DEFAULT_MIN_TOKENS, DEFAULT_MAX_TOKENS) and is_shipped_tokenizer(tokenizer):
        return splits
    if min_tokens < DEFAULT_MIN_TOKENS or max_tokens > DEFAULT_MAX_TOKENS:
        warnings.warn(
            f"the shipped corpus only holds sentences of {DEFAULT_MIN_TOKENS}..{DEFAULT_MAX_TOKENS} word pieces; "
            f"min_tokens={min_tokens}, max_tokens={max_tokens} cannot add any",
            stacklevel=3,
        )
    tokenizer = tokenizer if tokenizer is not None else load_default_tokenizer()
    out = {}
    for name, sentences in splits.items():
        lengths = count_word_pieces(sentences, tokenizer)
        out[name] = [s for s, n in zip(sentences, lengths) if min_tokens <= n <= max_tokens]
    return out


def _cap(splits: dict[str, list[str]], sizes: Mapping[str, int | None]) -> dict[str, list[str]]:
    """Keep at most ``sizes[name]`` items of each split (``None``: no cap), checking the sizes are valid."""
    for name, size in sizes.items():
        if size is not None and size < 0:
            raise ValueError(f"size of split {name!r} must be >= 0, got {size}")
    return {name: items if sizes.get(name) is None else items[: sizes[name]] for name, items in splits.items()}


def _load_default_splits(
    tokenizer: PreTrainedTokenizerBase | None, min_tokens: int, max_tokens: int, lowercase: bool
) -> dict[str, list[str]]:
    """Shipped corpus splits, length-filtered again if asked."""
    if not lowercase:
        warnings.warn("the shipped corpus is lower-cased; lowercase=False has no effect on it", stacklevel=3)
    return _filter_default_corpus(_read_default_corpus(), tokenizer, min_tokens, max_tokens)


def _prepare_user_splits(
    raw: Mapping[str, list[str]], tokenizer: PreTrainedTokenizerBase, options: dict[str, Any], source: str
) -> dict[str, list[str]]:
    """Prepare each given split; deduplicate across splits (a sentence stays in test, else validation, else train)."""
    prepared: dict[str, list[str]] = {}
    seen: set[str] = set()
    for name in ("test", "validation", "train"):
        if name not in raw:
            continue
        sentences, stats = prepare_sentences(raw[name], tokenizer, **options)
        prepared[name] = [s for s in sentences if s not in seen]
        seen.update(prepared[name])
        if name == "train" and not prepared[name]:
            bounds = options["min_tokens"], options["max_tokens"]
            raise ValueError(f"no sentence left after filtering corpus {source}: {stats.describe(*bounds)}")
    return prepared


def _carve_missing(
    prepared: dict[str, list[str]], validation_size: int, test_size: int, seed: int
) -> dict[str, list[str]]:
    """Shuffle the training sentences and carve the validation/test splits the source lacks out of them."""
    carved = shuffle_and_split(
        prepared["train"],
        seed=seed,
        validation_size=0 if "validation" in prepared else validation_size,
        test_size=0 if "test" in prepared else test_size,
    )
    for name in ("validation", "test"):
        if name in prepared:
            carved[name] = prepared[name]
    return carved


def load_sentences(
    source: str | Path | None = None,
    *,
    tokenizer: PreTrainedTokenizerBase | None = None,
    min_tokens: int = DEFAULT_MIN_TOKENS,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    validation_size: int = DEFAULT_VALIDATION_SIZE,
    test_size: int = DEFAULT_TEST_SIZE,
    seed: int = DEFAULT_SEED,
    lowercase: bool = True,
    max_sentences: int | None = None,
) -> DatasetDict:
    """Load a sentence corpus as a ``DatasetDict`` with splits "train", "validation", "test" and a "text" column.

    Args:
        source: ``None`` or ``"default"``: the shipped Wikipedia-leads corpus with its fixed splits. Otherwise a
            ``.txt`` / ``.txt.gz`` file (one sentence or paragraph per line), a ``.jsonl`` / ``.jsonl.gz`` file (a
            "text" field per line), a directory written by ``save_to_disk`` (a ``Dataset`` or ``DatasetDict`` with a
            "text" column), or a ``datasets.load_dataset`` name, optionally ``"name:config"`` (needs the Hub).
        tokenizer: counts word pieces for the length filter; default :func:`load_default_tokenizer`.
        min_tokens, max_tokens: keep sentences of ``min_tokens..max_tokens`` word pieces (no special tokens).
        validation_size, test_size: number of sentences carved (after a seeded shuffle) out of the training
            sentences when the source has no such split; for sources with that split (the shipped corpus
            included) at most this many of its sentences are kept.
        seed: seed of the shuffle.
        lowercase: lower-case user corpora (the shipped corpus is always lower-case).
        max_sentences: keep at most this many training sentences (the first ones, deterministically).

    User text is split with :func:`split_sentences`, lower-cased, length-filtered and deduplicated, also across
    splits, by :func:`prepare_sentences`.

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: an empty or unreadable file, a bad JSON line, an unsupported extension, a dataset without a
            "text" column, a corpus with no sentence left after filtering, or too few sentences for the splits.
    """
    if source is None or str(source) == "default":
        splits = _load_default_splits(tokenizer, min_tokens, max_tokens, lowercase)
    else:
        raw = read_source(source)
        tokenizer = tokenizer if tokenizer is not None else load_default_tokenizer()
        options = {"min_tokens": min_tokens, "max_tokens": max_tokens, "lowercase": lowercase}
        splits = _carve_missing(
            _prepare_user_splits(raw, tokenizer, options, str(source)), validation_size, test_size, seed
        )
    sizes = {"train": max_sentences, "validation": validation_size, "test": test_size}
    return _to_dataset_dict(_cap(splits, sizes))
