"""Default tokenizer and corpus, and loaders for user corpora.

The package ships, inside ``nvib_hf/resources``, everything the default training job needs, so a fresh clone works
without any download:

* ``resources/tokenizer``: the ``bert-base-uncased`` word-piece vocabulary (30,522 entries, Apache-2.0), loaded
  with :func:`load_default_tokenizer`;
* ``resources/corpus/wiki_leads_sentences.txt.gz``: lower-cased English sentences from Wikipedia lead sections
  (CC BY-SA), 6 to 49 word pieces each, loaded with :func:`load_sentences`.

Both are rebuilt by ``python scripts/build_resources.py``, which uses the same :func:`split_sentences` and
:func:`prepare_sentences` as the user-corpus loader, so shipped and user corpora are processed identically.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict
    from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

__all__ = [
    "DEFAULT_CORPUS_FILE",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MIN_TOKENS",
    "DEFAULT_TEST_SIZE",
    "DEFAULT_TOKENIZER_DIR",
    "SHIPPED_TOKENIZERS",
    "WORDPIECE_8K_TOKENIZER_DIR",
    "load_tokenizer",
    "DEFAULT_VALIDATION_SIZE",
    "DEFAULT_VOCAB_SIZE",
    "RESOURCES_DIR",
    "SPLITS",
    "CorpusStats",
    "count_word_pieces",
    "length_histogram",
    "load_default_tokenizer",
    "load_sentences",
    "normalize_text",
    "prepare_sentences",
    "shuffle_and_split",
    "split_sentences",
    "tokenize_dataset",
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

_TEXT_SUFFIXES = (".txt", ".txt.gz")
_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
_PATH_LIKE_SUFFIXES = (".txt", ".gz", ".jsonl", ".json", ".csv", ".tsv", ".parquet", ".arrow")

# ---------------------------------------------------------------------------------------------------------------
# Sentence splitting
# ---------------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------------
# Sentence preparation (shared by the build script and the user-corpus loader)
# ---------------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------------
# Reading sources
# ---------------------------------------------------------------------------------------------------------------


def _open_text(path: Path) -> IO[str]:
    """Open a plain or gzip-compressed UTF-8 text file."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def _read_lines(path: Path) -> list[str]:
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


def _read_source(source: str | Path) -> dict[str, list[str]]:
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
            return {"train": _read_lines(path)}
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


# ---------------------------------------------------------------------------------------------------------------
# load_sentences
# ---------------------------------------------------------------------------------------------------------------


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
    lines = _read_lines(DEFAULT_CORPUS_FILE)
    cut = DEFAULT_VALIDATION_SIZE + DEFAULT_TEST_SIZE
    return {
        "validation": lines[:DEFAULT_VALIDATION_SIZE],
        "test": lines[DEFAULT_VALIDATION_SIZE:cut],
        "train": lines[cut:],
    }


def _is_default_tokenizer(tokenizer: PreTrainedTokenizerBase | None) -> bool:
    """Whether ``tokenizer`` is ``None`` or a shipped tokenizer: the shipped splits are then used as they are (their
    6..49 filter counts bert-base-uncased word pieces, as the paper does), so every shipped tokenizer sees the same
    sentences and the same test split."""
    if tokenizer is None:
        return True
    name = getattr(tokenizer, "name_or_path", "")
    shipped = {directory: size for directory, size in SHIPPED_TOKENIZERS.values()}
    return bool(name) and shipped.get(Path(name).resolve()) == len(tokenizer)


def _filter_default_corpus(
    splits: dict[str, list[str]], tokenizer: PreTrainedTokenizerBase | None, min_tokens: int, max_tokens: int
) -> dict[str, list[str]]:
    """Re-apply a length filter to the shipped splits when a tokenizer or non-default bounds are given."""
    if (min_tokens, max_tokens) == (DEFAULT_MIN_TOKENS, DEFAULT_MAX_TOKENS) and _is_default_tokenizer(tokenizer):
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
        raw = _read_source(source)
        tokenizer = tokenizer if tokenizer is not None else load_default_tokenizer()
        options = {"min_tokens": min_tokens, "max_tokens": max_tokens, "lowercase": lowercase}
        splits = _carve_missing(
            _prepare_user_splits(raw, tokenizer, options, str(source)), validation_size, test_size, seed
        )
    sizes = {"train": max_sentences, "validation": validation_size, "test": test_size}
    return _to_dataset_dict(_cap(splits, sizes))


# ---------------------------------------------------------------------------------------------------------------
# Tokenisation for auto-encoding, length histogram
# ---------------------------------------------------------------------------------------------------------------


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
