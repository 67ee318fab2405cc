"""What the package ships for data, and the fixed rules of the shipped corpus.

Inside ``nvib_hf/resources``, so a fresh clone trains without any download:

* ``resources/tokenizer``: the ``bert-base-uncased`` word-piece vocabulary (30,522 entries, Apache-2.0);
* ``resources/tokenizer-wordpiece-8k``: an 8,000-entry WordPiece vocabulary trained on the corpus's training split;
* ``resources/corpus/wiki_leads_sentences.txt.gz``: lower-cased English sentences from Wikipedia lead sections
  (CC BY-SA), 6 to 49 word pieces each.

All are rebuilt by ``python scripts/build_resources.py``.
"""

from __future__ import annotations

from pathlib import Path

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
]

RESOURCES_DIR: Path = Path(__file__).resolve().parents[1] / "resources"
DEFAULT_TOKENIZER_DIR: Path = RESOURCES_DIR / "tokenizer"
WORDPIECE_8K_TOKENIZER_DIR: Path = RESOURCES_DIR / "tokenizer-wordpiece-8k"
# Shipped tokenizers by name (``--tokenizer NAME``); any other value is a tokenizer directory or Hub id.
SHIPPED_TOKENIZERS: dict[str, tuple[Path, int]] = {
    "bert-base-uncased": (DEFAULT_TOKENIZER_DIR, 30522),
    "wordpiece-8k": (WORDPIECE_8K_TOKENIZER_DIR, 8000),
}
DEFAULT_CORPUS_FILE: Path = RESOURCES_DIR / "corpus" / "wiki_leads_sentences.txt.gz"
DEFAULT_VOCAB_SIZE = 30522
SPLITS: tuple[str, str, str] = ("train", "validation", "test")

# Split rule of the shipped corpus file (documented in resources/corpus/NOTICE.md): the first
# DEFAULT_VALIDATION_SIZE lines are the validation split, the next DEFAULT_TEST_SIZE lines the test split, the rest
# the training split. The file was built with DEFAULT_MIN_TOKENS..DEFAULT_MAX_TOKENS word pieces per sentence.
DEFAULT_VALIDATION_SIZE = 2000
DEFAULT_TEST_SIZE = 2000
DEFAULT_MIN_TOKENS = 6
DEFAULT_MAX_TOKENS = 49
DEFAULT_SEED = 0
