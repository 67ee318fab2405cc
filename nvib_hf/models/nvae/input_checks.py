# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Checks of the model's inputs (tensors and text), so that bad input fails with a ``ValueError`` naming the problem.

Without them an id outside the vocabulary or a sequence longer than the position table fails deep inside an
embedding lookup (``IndexError: index out of range in self`` on CPU, a device-side assert on CUDA), a row of padding
only has nothing to encode, and labels that are all ``-100`` give a cross-entropy of 0/0 = NaN. Each check costs one
host synchronisation at most (the flags are gathered into one tensor and read once); under ``torch.compile`` the
value checks are skipped (the shape checks stay), so that they add no graph break.

Text (``tokenize_sentences``, behind ``encode_latent(texts=...)`` and ``reconstruct``): empty, whitespace-only and
sentences with no word piece (only control or zero-width characters, which the tokenizer drops) raise; unknown
characters become ``[UNK]`` and are encoded; a sentence longer than ``max_position_embeddings`` is truncated with a
warning (``[SEP]`` kept), or raises with ``truncate=False``.
"""

from __future__ import annotations

import warnings

import torch

IGNORE_INDEX = -100  # the label value cross-entropy ignores


def _compiling() -> bool:
    return bool(getattr(torch.compiler, "is_compiling", lambda: False)())


def _rows(flags: torch.Tensor) -> list[int]:
    """Indices of the True entries of a ``[B]`` bool tensor."""
    return flags.nonzero().flatten().tolist()


def check_sequence_shape(name: str, tensor: torch.Tensor, max_length: int) -> None:
    """``tensor`` is ``[B, T]`` (or ``[B, T, D]`` embeddings) with B ≥ 1 and 1 ≤ T ≤ ``max_length``."""
    if tensor.ndim < 2:
        raise ValueError(f"{name} must be batched, [batch, length], got shape {tuple(tensor.shape)}.")
    batch, length = tensor.shape[:2]
    if batch == 0 or length == 0:
        raise ValueError(f"{name} is empty (shape {tuple(tensor.shape)}): nothing to encode or decode.")
    if length > max_length:
        raise ValueError(
            f"{name} has length {length}, longer than max_position_embeddings={max_length} (the position table); "
            "truncate the sentences (encode_latent/reconstruct do that for text) or lower max_new_tokens."
        )


def check_token_ids(name: str, ids: torch.Tensor, vocab_size: int) -> None:
    """Every id of ``ids`` is in [0, vocab_size)."""
    if _compiling() or ids.is_floating_point() or ids.numel() == 0:
        return
    low, high = (int(x) for x in torch.aminmax(ids))  # one pass: this runs at every generation step
    if low < 0 or high >= vocab_size:
        value = low if low < 0 else high
        raise ValueError(f"{name} holds id {value}, outside the vocabulary [0, {vocab_size}) of the model.")


def check_encoder_inputs(input_ids, attention_mask, inputs_embeds, vocab_size: int, max_length: int) -> None:
    """The encoder's inputs: shapes, ids in the vocabulary, a 0/1 mask of the same shape, no all-padding row."""
    name, tensor = ("input_ids", input_ids) if input_ids is not None else ("inputs_embeds", inputs_embeds)
    if tensor is None:
        raise ValueError("Pass input_ids or inputs_embeds to encode.")
    check_sequence_shape(name, tensor, max_length)
    if input_ids is not None:
        check_token_ids("input_ids", input_ids, vocab_size)
    if attention_mask is None:
        return
    if tuple(attention_mask.shape) != tuple(tensor.shape[:2]):
        raise ValueError(
            f"attention_mask has shape {tuple(attention_mask.shape)}, {name} {tuple(tensor.shape[:2])}: they must match."
        )
    if _compiling():
        return
    mask = attention_mask.to(torch.float32)
    flags = torch.stack([((mask != 0) & (mask != 1)).any(), (mask == 0).all(dim=-1).any()]).tolist()
    if flags[0]:
        raise ValueError("attention_mask must hold only 0 (padding) and 1 (token).")
    if flags[1]:
        empty = _rows((mask == 0).all(dim=-1))
        raise ValueError(f"attention_mask rows {empty} have no valid token: an empty sentence cannot be encoded.")


def check_labels(labels: torch.Tensor, vocab_size: int, max_length: int) -> None:
    """``labels`` ``[B, T]``: ids in [0, vocab_size) or −100, T ≤ ``max_length``, at least one target token.

    All −100 would make the mean cross-entropy 0/0 (NaN): a batch with nothing to reconstruct is an error of the
    data, not a loss of 0.
    """
    check_sequence_shape("labels", labels, max_length)
    if _compiling():
        return
    target = labels != IGNORE_INDEX
    bad = target & ((labels < 0) | (labels >= vocab_size))
    flags = torch.stack([bad.any(), ~target.any()]).tolist()
    if flags[0]:
        raise ValueError(
            f"labels hold id {int(labels[bad][0])}, neither in the vocabulary [0, {vocab_size}) nor "
            f"{IGNORE_INDEX} (ignored)."
        )
    if flags[1]:
        raise ValueError(
            f"labels are all {IGNORE_INDEX} (ignored): there is no target token, so the reconstruction loss "
            "(a mean over target tokens) is undefined."
        )


def check_decoder_length(decoder_tensor: torch.Tensor | None, cache, max_length: int) -> None:
    """Decoder positions (tokens already cached + new ones) stay within ``max_position_embeddings``."""
    if decoder_tensor is None:
        return
    past = cache.get_seq_length() if cache is not None and hasattr(cache, "get_seq_length") else 0
    total = int(past) + decoder_tensor.shape[1]
    if total > max_length:
        raise ValueError(
            f"the decoder sequence reaches length {total}, longer than max_position_embeddings={max_length}; "
            f"generate at most {max_length} new tokens (max_new_tokens; the start token comes first, the last new "
            "token is never fed back) or shorten the labels."
        )


def _is_valid_unicode(text: str) -> bool:
    """False for a string with lone surrogates (``"\\udcff"``: what Python makes of undecodable bytes), which the
    tokenizer refuses with an obscure error."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def tokenize_sentences(texts, tokenizer, max_length: int, truncate: bool = True) -> dict[str, torch.Tensor]:
    """``input_ids``/``attention_mask`` ``[B, T ≤ max_length]`` of a list of sentences, padded to the longest.

    Raises ``ValueError`` for no sentences, a non-string, empty, whitespace-only or not valid Unicode sentence, one without a
    word piece once tokenised (special tokens only; ``[UNK]`` counts as a word piece), and — with
    ``truncate=False`` — a sentence of more than ``max_length`` tokens; with ``truncate=True`` that sentence is cut
    to ``max_length`` tokens, ``[SEP]`` kept, and a ``UserWarning`` names it.
    """
    texts = list(texts)
    if not texts:
        raise ValueError("no sentences given: texts is empty.")
    empty = [i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    if empty:
        raise ValueError(f"sentences {empty} are empty or whitespace-only (or not strings): nothing to encode.")
    invalid = [i for i, text in enumerate(texts) if not _is_valid_unicode(text)]
    if invalid:
        raise ValueError(
            f"sentences {invalid} are not valid Unicode (lone surrogates, e.g. undecodable bytes of a command "
            "line): re-encode them as UTF-8."
        )
    encoded = tokenizer(texts)["input_ids"]
    special = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    no_pieces = [i for i, ids in enumerate(encoded) if all(token in special for token in ids)]
    if no_pieces:
        raise ValueError(
            f"sentences {no_pieces} have no word piece once tokenised (only control, zero-width or other characters "
            "the tokenizer drops): nothing to encode."
        )
    too_long = {i: len(ids) for i, ids in enumerate(encoded) if len(ids) > max_length}
    if too_long and not truncate:
        raise ValueError(
            f"sentences {list(too_long)} are longer than max_position_embeddings={max_length} word pieces "
            f"(tokens with [CLS]/[SEP]: {list(too_long.values())}); pass truncate=True to cut them."
        )
    if too_long:
        warnings.warn(
            f"sentences {list(too_long)} have {list(too_long.values())} tokens, more than "
            f"max_position_embeddings={max_length}: truncated to {max_length} tokens (their end is lost).",
            UserWarning,
            stacklevel=3,
        )
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {key: batch[key] for key in ("input_ids", "attention_mask")}


__all__ = [
    "check_decoder_length",
    "check_encoder_inputs",
    "check_labels",
    "check_sequence_shape",
    "check_token_ids",
    "tokenize_sentences",
]
