"""Tokenisation for auto-encoding (``[CLS] w1..wn [SEP]`` inputs, ``w1..wn [SEP]`` labels) and the length histogram
that prior sampling draws latent sizes from."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict
    from transformers import PreTrainedTokenizerBase

__all__ = ["length_histogram", "tokenize_dataset"]


def _encode_batch(
    batch: dict[str, list[Any]],
    indices: list[int],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    truncate: bool,
    split: str,
) -> dict[str, list[list[int]]]:
    """Encode a batch as ``[CLS] w1..wn [SEP]`` inputs with ``w1..wn [SEP]`` labels."""
    encoded = tokenizer(
        batch["text"], add_special_tokens=True, return_token_type_ids=False, return_attention_mask=False
    )
    input_ids: list[list[int]] = []
    truncated: list[int] = []
    for index, ids in zip(indices, encoded["input_ids"]):
        if len(ids) > max_length:
            if not truncate:
                raise ValueError(
                    f"sentence {index} of split {split!r} has {len(ids)} tokens with [CLS]/[SEP] ({len(ids) - 2} word "
                    f"pieces), more than max_length={max_length}; raise max_length or pass truncate=True"
                )
            ids = ids[: max_length - 1] + [ids[-1]]
            truncated.append(index)
        input_ids.append(ids)
    if truncated:
        warnings.warn(
            f"{len(truncated)} sentences of split {split!r} (first: {truncated[:5]}) are longer than "
            f"max_length={max_length} tokens: truncated, [SEP] kept.",
            UserWarning,
            stacklevel=2,
        )
    return {
        "input_ids": input_ids,
        "attention_mask": [[1] * len(ids) for ids in input_ids],
        "labels": [ids[1:] for ids in input_ids],
    }


def tokenize_dataset(
    dataset_dict: DatasetDict,
    tokenizer: PreTrainedTokenizerBase,
    max_length: int = 64,
    *,
    truncate: bool = False,
    keep_text: bool = False,
) -> DatasetDict:
    """Tokenise every split for auto-encoding (no padding; pad in the data collator).

    ``input_ids`` = ``[CLS] w1 .. wn [SEP]``, ``attention_mask`` all ones, ``labels`` = ``w1 .. wn [SEP]`` (the
    input without its leading ``[CLS]``: the model uses ``[CLS]`` as ``decoder_start_token_id`` and shifts the
    labels right itself). ``max_length`` bounds ``len(input_ids)``, special tokens included.

    Raises:
        ValueError: a sentence longer than ``max_length`` tokens (naming its split, index and length), unless
            ``truncate=True`` (then the word pieces are cut, ``[SEP]`` kept, and a ``UserWarning`` counts them);
            ``max_length`` < 3; no "text" column.
    """
    if max_length < 3:
        raise ValueError(f"max_length must be >= 3 ([CLS], one word piece, [SEP]), got {max_length}")
    if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise ValueError("tokenizer needs [CLS] and [SEP] tokens (cls_token_id / sep_token_id)")
    out = {}
    for split, dataset in dataset_dict.items():
        if "text" not in dataset.column_names:
            raise ValueError(f'split {split!r} has no "text" column (columns: {", ".join(dataset.column_names)})')
        remove = [c for c in dataset.column_names if not (keep_text and c == "text")]
        kwargs = {"tokenizer": tokenizer, "max_length": max_length, "truncate": truncate, "split": split}
        out[split] = dataset.map(
            _encode_batch, batched=True, with_indices=True, fn_kwargs=kwargs, remove_columns=remove
        )
    return type(dataset_dict)(out)


def length_histogram(
    tokenized_train: Dataset | Sequence[Sequence[int]], max_len: int, *, include_special_tokens: bool = True
) -> list[float]:
    """Normalised histogram of sentence lengths: ``hist[n]`` = fraction of sentences of length ``n``.

    The length is ``len(input_ids)`` (the number of encoder tokens, i.e. of latent vectors of a sentence,
    ``[CLS]`` and ``[SEP]`` included) or, with ``include_special_tokens=False``, the number of word pieces
    without them. The list has ``max_len + 1`` entries (index 0..max_len) and sums to 1; sample a latent size
    with ``random.choices(range(len(hist)), weights=hist)``.

    Args:
        tokenized_train: a tokenised split (from :func:`tokenize_dataset`) or a sequence of ``input_ids`` lists.
        max_len: largest length represented.

    Raises:
        ValueError: an empty input, or a sentence longer than ``max_len``.
    """
    if hasattr(tokenized_train, "column_names"):  # a datasets.Dataset (imported lazily: no isinstance)
        rows = cast("Dataset", tokenized_train)["input_ids"]
    else:
        rows = cast("Sequence[Sequence[int]]", tokenized_train)
    offset = 0 if include_special_tokens else 2
    counts = [0] * (max_len + 1)
    total = 0
    for ids in rows:
        length = len(ids) - offset
        if length > max_len or length < 0:
            raise ValueError(f"sentence {total} has length {length}, outside 0..max_len={max_len}")
        counts[length] += 1
        total += 1
    if total == 0:
        raise ValueError("cannot build a length histogram of an empty dataset")
    return [c / total for c in counts]
