# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The shared state of a sweep: data, tokenizer and reference language model, each built once and only when needed."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from nvib_hf.experiments.sweep_options import SweepConfig
from nvib_hf.training.run import TrainOptions


class SweepContext:
    """Data, tokenizer and reference LM of a sweep, each built once and only when needed."""

    def __init__(self, config: SweepConfig, command: str, progress: bool):
        self.config = config
        self.command = command
        self.progress = progress
        self.output = Path(config.output_dir)
        self.base_options = TrainOptions.from_dict(config.base_train_values())
        self.status: dict[str, str] = {}
        self.taus = [i / (config.interpolation_points - 1) for i in range(config.interpolation_points)]

    def run_dir(self, name: str) -> Path:
        """``OUTPUT/runs/NAME``: the model directory of one model of the sweep."""
        return self.output / "runs" / name

    @cached_property
    def tokenizer(self) -> Any:
        """The tokenizer of every model and language model (default: the shipped word pieces)."""
        from nvib_hf.data import load_tokenizer

        return load_tokenizer(self.base_options.tokenizer)

    @cached_property
    def sentences(self) -> Any:
        """The corpus splits exactly as ``run_training`` loads them."""
        from nvib_hf.data import load_sentences

        options = self.base_options
        return load_sentences(
            options.data,
            tokenizer=self.tokenizer if options.tokenizer else None,
            max_sentences=options.max_train_sentences,
            seed=options.seed,
        )

    @cached_property
    def train_texts(self) -> list[str]:
        """The training sentences (reference LM, copy rate)."""
        return list(self.sentences["train"]["text"])

    @cached_property
    def test_texts(self) -> list[str]:
        """The held-out sentences: the first ``eval_sentences`` of the test split."""
        return list(self.sentences["test"]["text"])[: self.config.eval_sentences]

    @cached_property
    def pairs(self) -> list[tuple[str, str]]:
        """Interpolation end points: test sentences (2k, 2k+1), the same for every model."""
        test = list(self.sentences["test"]["text"])
        count = self.config.interpolation_pairs
        if len(test) < 2 * count:
            raise ValueError(
                f"{count} interpolation pairs need {2 * count} test sentences; the corpus has {len(test)}."
            )
        return [(test[2 * k], test[2 * k + 1]) for k in range(count)]

    @cached_property
    def train_token_set(self) -> frozenset[tuple[int, ...]]:
        """Word-piece sequences of the training sentences (for the copy rate)."""
        return frozenset(map(tuple, word_pieces(self.train_texts, self.tokenizer)))

    @cached_property
    def reference_lm(self) -> Any:
        """The F-PPL language model, trained on the training split once (cached in ``OUTPUT/lm/reference``; the
        lock lets one shard of a launched sweep train it while the others wait and then load it)."""
        from nvib_hf.evaluation.language_model import train_language_model
        from nvib_hf.utils.run_lock import waiting_lock

        with waiting_lock(self.output / "lm" / ".reference.lock"):
            return train_language_model(
                self.train_texts,
                self.tokenizer,
                self.config.scaled(self.config.lm_steps),
                self.config.lm_batch_size,
                self.config.seed,
                self.output / "lm" / "reference",
                progress=self.progress,
                desc="Reference LM",
            )

    def reverse_perplexity(self, texts: list[str], lm_dir: Path, desc: str) -> float:
        """R-PPL: PPL on the held-out sentences of an LM (same size and steps) trained on ``texts``."""
        from nvib_hf.evaluation.language_model import perplexity, train_language_model

        lm = train_language_model(
            texts,
            self.tokenizer,
            self.config.scaled(self.config.lm_steps),
            self.config.lm_batch_size,
            self.config.seed,
            lm_dir,
            progress=self.progress,
            desc=desc,
        )
        return perplexity(lm, self.test_texts, self.tokenizer, self.config.generation_batch_size)

    def forward_perplexity(self, texts: list[str]) -> float:
        """F-PPL: PPL of ``texts`` under the reference LM."""
        from nvib_hf.evaluation.language_model import perplexity

        return perplexity(self.reference_lm, texts, self.tokenizer, self.config.generation_batch_size)


def word_pieces(texts: Sequence[str], tokenizer: Any) -> list[list[int]]:
    """Word-piece ids of each text, without special tokens."""
    return tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []


__all__ = [
    "SweepContext",
    "word_pieces",
]
