"""Data: the shipped tokenizers and corpus, user corpora, sentence preparation and tokenisation for auto-encoding.

``resources`` (what ships and the shipped splits' rules) -> ``tokenizers``, ``sentences`` (splitting, filtering,
deduplicating), ``sources`` (reading user files and datasets) -> ``corpus`` (``load_sentences``) -> ``encoding``
(``tokenize_dataset``, ``length_histogram``). None of them imports torch, transformers or datasets at import time.
``collator`` (``NvaeDataCollator``: padded batches as tensors) imports torch, so this package does not import it: use
``from nvib_hf.data.collator import NvaeDataCollator``.
"""

from .corpus import load_sentences
from .encoding import length_histogram, tokenize_dataset
from .resources import (
    DEFAULT_CORPUS_FILE,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MIN_TOKENS,
    DEFAULT_SEED,
    DEFAULT_TEST_SIZE,
    DEFAULT_TOKENIZER_DIR,
    DEFAULT_VALIDATION_SIZE,
    DEFAULT_VOCAB_SIZE,
    RESOURCES_DIR,
    SHIPPED_TOKENIZERS,
    SPLITS,
    WORDPIECE_8K_TOKENIZER_DIR,
)
from .sentences import (
    CorpusStats,
    count_word_pieces,
    normalize_text,
    prepare_sentences,
    shuffle_and_split,
    split_sentences,
)
from .tokenizers import is_shipped_tokenizer, load_default_tokenizer, load_tokenizer

__all__ = [
    "DEFAULT_CORPUS_FILE",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MIN_TOKENS",
    "DEFAULT_SEED",
    "DEFAULT_TEST_SIZE",
    "DEFAULT_TOKENIZER_DIR",
    "DEFAULT_VALIDATION_SIZE",
    "DEFAULT_VOCAB_SIZE",
    "RESOURCES_DIR",
    "SHIPPED_TOKENIZERS",
    "SPLITS",
    "WORDPIECE_8K_TOKENIZER_DIR",
    "CorpusStats",
    "count_word_pieces",
    "is_shipped_tokenizer",
    "length_histogram",
    "load_default_tokenizer",
    "load_sentences",
    "load_tokenizer",
    "normalize_text",
    "prepare_sentences",
    "shuffle_and_split",
    "split_sentences",
    "tokenize_dataset",
]
