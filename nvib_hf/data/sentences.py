"""Sentence splitting and preparation, shared by ``scripts/build_resources.py`` and the user-corpus loader, so
shipped and user corpora are processed identically: split, lower-case, length-filter, deduplicate, shuffle and cut."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .resources import DEFAULT_MAX_TOKENS, DEFAULT_MIN_TOKENS, DEFAULT_SEED

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "CorpusStats",
    "count_word_pieces",
    "normalize_text",
    "prepare_sentences",
    "shuffle_and_split",
    "split_sentences",
]

# Words that end with a period but normally do not end a sentence (lower-case, without the final period).
# Words that often end a sentence ("etc", "inc", "ltd", "co", "jr") are deliberately absent.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof rev hon gen col lt maj sgt capt cmdr adm gov sen rep pres fr st mt ft ave blvd "
    "no nos vol vols fig figs ch pp ca approx est cf al viz vs e.g i.e "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# Capitalised words after which a dotted acronym ("U.S.", "B.C.") is taken to end its sentence.
_SENTENCE_STARTERS = frozenset(
    "the a an it its he she they we i this that these those there his her their in on at after before during "
    "however since when while although as by for from with but and following today".split()
)
_END_PUNCT = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)")
_NEXT_STARTS_SENTENCE = re.compile(r"\s+[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u00de]")
_DOTTED_ACRONYM = re.compile(r"(?:[a-z]\.)+[a-z]", re.IGNORECASE)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)\]])")
_EMPTY_BRACKETS = re.compile(r"\(\s*[,;:]?\s*\)|\[\s*\]")
_WHITESPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Collapse whitespace and tidy artefacts of markup removal (empty brackets, spaces before punctuation)."""
    text = _EMPTY_BRACKETS.sub("", text)
    text = _WHITESPACE.sub(" ", text).strip()
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def _previous_word(text: str, end: int) -> str:
    """Return the word that ends at ``end`` (exclusive), without opening quotes or brackets, lower-cased."""
    start = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end)) + 1
    return text[start:end].lstrip("\"'([\u201c\u2018").lower()


def _next_word(text: str, start: int) -> str:
    """Return the word starting after the whitespace at ``start``, without quotes or brackets, lower-cased."""
    match = re.match(r"\s+[\"'\u201c\u2018(\[]?([^\s,;:]+)", text[start:])
    return match.group(1).lower() if match else ""


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Decide whether the end punctuation matched by ``_END_PUNCT`` ends a sentence."""
    if not _NEXT_STARTS_SENTENCE.match(text, match.end()):
        return False  # next word is lower-case (e.g. "e.g. the"): the sentence goes on
    punct = match.group(0).rstrip("\"'\u201d\u2019)]")
    if punct != ".":
        return True  # "?", "!", "..." and mixtures
    word = _previous_word(text, match.start())
    if not word or word in _ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha():
        return False  # an initial: "John F. Kennedy"
    if _DOTTED_ACRONYM.fullmatch(word):
        return _next_word(text, match.end()) in _SENTENCE_STARTERS  # "the U.S. Army" vs "the U.S. The ..."
    return True


def split_sentences(text: str) -> list[str]:
    """Split a paragraph (or several, one per line) into sentences with a rule-based splitter.

    A sentence ends at ``.``, ``!`` or ``?`` (with any closing quotes or brackets) followed by whitespace and a
    word starting with an upper-case letter, a digit, or an opening quote or bracket. A period does not end a
    sentence after a known abbreviation ("Dr.", "e.g.", "No."), an initial ("J. R. R. Tolkien"), or a dotted
    acronym ("U.S.") unless the next word is a common sentence opener ("The", "In", ...). Decimals ("3.14") never
    split because no whitespace follows the period. Line breaks always end a sentence. Whitespace is normalised
    with :func:`normalize_text`; empty sentences are dropped. Case is preserved.

    >>> split_sentences("Dr. Smith lives in the U.S. Army base, e.g. at No. 3. Pi is 3.14. Is it? Yes.")
    ['Dr. Smith lives in the U.S. Army base, e.g. at No. 3.', 'Pi is 3.14.', 'Is it?', 'Yes.']
    """
    sentences: list[str] = []
    for paragraph in text.splitlines():
        paragraph = normalize_text(paragraph)
        start = 0
        for match in _END_PUNCT.finditer(paragraph):
            if _is_boundary(paragraph, match):
                sentences.append(paragraph[start : match.end()].strip())
                start = match.end()
        sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


@dataclass
class CorpusStats:
    """Counts of one :func:`prepare_sentences` run."""

    texts: int = 0
    sentences: int = 0
    too_short: int = 0
    too_long: int = 0
    duplicates: int = 0
    kept: int = 0

    def describe(self, min_tokens: int, max_tokens: int) -> str:
        """Return a one-line human-readable summary."""
        return (
            f"{self.texts} text(s) -> {self.sentences} sentence(s); dropped {self.too_short} with fewer than "
            f"{min_tokens} word pieces, {self.too_long} with more than {max_tokens}, {self.duplicates} duplicate(s); "
            f"kept {self.kept}"
        )


def count_word_pieces(sentences: Sequence[str], tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Return the number of word pieces of each sentence, without special tokens."""
    if not sentences:
        return []
    encoded = tokenizer(list(sentences), add_special_tokens=False, return_attention_mask=False)
    return [len(ids) for ids in encoded["input_ids"]]


def prepare_sentences(
    texts: Iterable[str],
    tokenizer: PreTrainedTokenizerBase,
    *,
    min_tokens: int = DEFAULT_MIN_TOKENS,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    lowercase: bool = True,
    split: bool = True,
) -> tuple[list[str], CorpusStats]:
    """Split texts into sentences, lower-case, keep ``min_tokens..max_tokens`` word pieces, deduplicate.

    Order is preserved (first occurrence wins). With ``split=False`` each text is taken as one sentence (only its
    whitespace is normalised).
    """
    if min_tokens < 1 or max_tokens < min_tokens:
        raise ValueError(f"need 1 <= min_tokens <= max_tokens, got min_tokens={min_tokens}, max_tokens={max_tokens}")
    stats = CorpusStats()
    sentences: list[str] = []
    for text in texts:
        stats.texts += 1
        parts = split_sentences(text) if split else [normalize_text(text)]
        sentences.extend(p.lower() if lowercase else p for p in parts if p)
    stats.sentences = len(sentences)
    kept: dict[str, None] = {}
    for sentence, n in zip(sentences, count_word_pieces(sentences, tokenizer)):
        if n < min_tokens:
            stats.too_short += 1
        elif n > max_tokens:
            stats.too_long += 1
        elif sentence in kept:
            stats.duplicates += 1
        else:
            kept[sentence] = None
    stats.kept = len(kept)
    return list(kept), stats


def shuffle_and_split(
    sentences: Sequence[str], *, validation_size: int, test_size: int, seed: int = DEFAULT_SEED
) -> dict[str, list[str]]:
    """Shuffle with ``random.Random(seed)`` and cut: first ``validation_size`` -> validation, next ``test_size``
    -> test, rest -> train.

    Raises:
        ValueError: if fewer than ``validation_size + test_size + 1`` sentences are given.
    """
    if validation_size < 0 or test_size < 0:
        raise ValueError(f"split sizes must be >= 0, got validation_size={validation_size}, test_size={test_size}")
    if len(sentences) <= validation_size + test_size:
        raise ValueError(
            f"only {len(sentences)} sentence(s) after filtering: too few for validation_size={validation_size} + "
            f"test_size={test_size} + at least one training sentence; pass smaller validation_size/test_size"
        )
    order = list(sentences)
    random.Random(seed).shuffle(order)
    cut = validation_size + test_size
    return {"train": order[cut:], "validation": order[:validation_size], "test": order[validation_size:cut]}
