"""The shipped tokenizers (``bert-base-uncased`` and ``wordpiece-8k``) and loading any other by name or path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .resources import DEFAULT_TOKENIZER_DIR, DEFAULT_VOCAB_SIZE, SHIPPED_TOKENIZERS

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

__all__ = ["is_shipped_tokenizer", "load_default_tokenizer", "load_tokenizer"]


def load_default_tokenizer() -> PreTrainedTokenizerFast:
    """Load the shipped ``bert-base-uncased`` word-piece tokenizer (lower-casing, 30,522 entries).

    Special tokens: ``[PAD]`` = 0, ``[UNK]`` = 100, ``[CLS]`` = 101, ``[SEP]`` = 102, ``[MASK]`` = 103.

    Raises:
        FileNotFoundError: if the shipped tokenizer files are missing (rebuild with ``scripts/build_resources.py``).
        RuntimeError: if the loaded vocabulary does not have 30,522 entries.
    """
    from transformers import AutoTokenizer

    if not (DEFAULT_TOKENIZER_DIR / "vocab.txt").is_file():
        raise FileNotFoundError(
            f"default tokenizer not found at {DEFAULT_TOKENIZER_DIR}; rebuild it with `python scripts/build_resources.py`"
        )
    tokenizer = AutoTokenizer.from_pretrained(str(DEFAULT_TOKENIZER_DIR))
    if len(tokenizer) != DEFAULT_VOCAB_SIZE:
        raise RuntimeError(
            f"default tokenizer at {DEFAULT_TOKENIZER_DIR} has {len(tokenizer)} entries, expected {DEFAULT_VOCAB_SIZE}"
        )
    return tokenizer


def load_tokenizer(name_or_path: str | None = None) -> PreTrainedTokenizerFast:
    """A shipped tokenizer by name (see ``SHIPPED_TOKENIZERS``; ``None``: ``bert-base-uncased``), else
    ``AutoTokenizer.from_pretrained(name_or_path)``.

    ``wordpiece-8k`` is a lower-casing WordPiece vocabulary of 8,000 entries trained on the shipped corpus's training
    split (``scripts/build_resources.py``): its output layer costs a quarter of bert-base-uncased's, and sentences
    are ~10 % longer. Special tokens: ``[PAD]`` = 0, ``[UNK]`` = 1, ``[CLS]`` = 2, ``[SEP]`` = 3, ``[MASK]`` = 4.

    Raises:
        FileNotFoundError: a shipped tokenizer's files are missing.
        RuntimeError: a shipped tokenizer loads with the wrong vocabulary size.
    """
    from transformers import AutoTokenizer

    if name_or_path is None or name_or_path == "bert-base-uncased":
        return load_default_tokenizer()
    if name_or_path not in SHIPPED_TOKENIZERS:
        return AutoTokenizer.from_pretrained(name_or_path)
    directory, size = SHIPPED_TOKENIZERS[name_or_path]
    if not (directory / "vocab.txt").is_file():
        raise FileNotFoundError(
            f"tokenizer {name_or_path!r} not found at {directory}; rebuild it with `python scripts/build_resources.py`"
        )
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    if len(tokenizer) != size:
        raise RuntimeError(f"tokenizer {name_or_path!r} at {directory} has {len(tokenizer)} entries, expected {size}")
    return tokenizer


def is_shipped_tokenizer(tokenizer: PreTrainedTokenizerBase | None) -> bool:
    """Whether ``tokenizer`` is ``None`` or a shipped tokenizer: the shipped splits are then used as they are (their
    6..49 filter counts bert-base-uncased word pieces, as the paper does), so every shipped tokenizer sees the same
    sentences and the same test split."""
    if tokenizer is None:
        return True
    name = getattr(tokenizer, "name_or_path", "")
    shipped = {directory: size for directory, size in SHIPPED_TOKENIZERS.values()}
    return bool(name) and shipped.get(Path(name).resolve()) == len(tokenizer)
