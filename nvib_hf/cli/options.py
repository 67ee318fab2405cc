# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The arguments of the ``nvib-hf`` commands that are not library options, as dataclasses with help metadata.

``nvib_hf.cli.arguments.add_dataclass_arguments`` turns each into flags (the training and sweep options are
``TrainOptions`` and ``SweepConfig``). Importing this module is cheap: no torch, no Transformers.
"""

from __future__ import annotations

from dataclasses import dataclass

from nvib_hf.training.options import PRESETS
from nvib_hf.utils.dataclass_options import option

MODEL_HELP = "model directory (or Hub repo id)"


@dataclass
class TrainCommandOptions:
    """``nvib-hf train``'s own flags (the rest are ``TrainOptions``)."""

    preset: str = option(
        "default",
        "tiny: a 1-2 minute pipeline check (its model does not reconstruct); default: the main job (about 13 "
        "minutes on 2 CPU cores); paper: the paper's setting",
        choices=sorted(PRESETS),
    )
    config: str | None = option(
        None,
        "YAML/JSON file of options (the flag names below, with underscores; `model:` holds extra NvaeConfig fields "
        "such as kappa or alpha_activation)",
    )
    resume: bool = option(False, "continue from the last checkpoint in OUTPUT_DIR/checkpoints", action="store_true")
    overwrite: bool = option(
        False,
        "train into an OUTPUT_DIR that already holds a model, replacing its files (without this flag or --resume, "
        "such a directory is refused)",
        action="store_true",
    )


@dataclass
class GenerationOptions:
    """Decoding flags of every command that generates text."""

    max_new_tokens: int = option(64, "longest decode in word pieces")
    num_beams: int = option(1, "beam size; 1 = greedy")
    do_sample: bool = option(False, "sample instead of greedy/beam search", action="store_true")
    top_p: float = option(0.9, "nucleus sampling mass with --do-sample")
    temperature: float = option(1.0, "sampling temperature with --do-sample")


@dataclass
class EvaluateOptions:
    model: str = option(help=MODEL_HELP, positional=True)
    data: str | None = option(None, "corpus", none="the shipped one")
    split: str = option("test", "corpus split to evaluate", choices=("train", "validation", "test"))
    max_samples: int | None = option(None, "evaluate the first N sentences only", none="all")
    batch_size: int = option(64, "sentences per batch")
    output: str | None = option(None, "also write the metrics to this JSON file")


@dataclass
class ReconstructOptions:
    model: str = option(help=MODEL_HELP, positional=True)
    sentences: list[str] | None = option(None, "sentences to reconstruct", positional=True, nargs="*")
    file: str | None = option(None, "a text file, one sentence per line")
    batch_size: int = option(32, "sentences per batch")


@dataclass
class SampleOptions:
    model: str = option(help=MODEL_HELP, positional=True)
    num_samples: int = option(5, "sentences to generate")
    num_components: int | None = option(
        None, "components per latent", none="drawn from the training length distribution stored in the config"
    )
    weights: str | None = option(
        None, "mixture weights of prior samples", choices=("uniform", "dirichlet"), none="the config's prior_weights"
    )
    seed: int = option(0, "random seed of the prior draws and sampling")


@dataclass
class InterpolateOptions:
    model: str = option(help=MODEL_HELP, positional=True)
    sentence_a: str = option(help="the sentence at τ=0", positional=True)
    sentence_b: str = option(help="the sentence at τ=1", positional=True)
    steps: int = option(11, "points from A (τ=0) to B (τ=1)")
    mode: str = option("mixture", "interpolation of the latents", choices=("mixture", "componentwise"))


@dataclass
class PushOptions:
    model: str = option(help="model directory", positional=True)
    repo_id: str = option(help="e.g. your-name/nvae-wiki", positional=True)
    private: bool = option(False, "create the Hub repository as private", action="store_true")
    token: str | None = option(None, "Hub token", none="HF_TOKEN or the cached login")
    message: str = option("Upload NVAE model", "commit message")


@dataclass
class ReproduceCommandOptions:
    """``nvib-hf reproduce``'s own flag (the rest are ``SweepConfig``)."""

    config: str | None = option(None, "YAML/JSON file of sweep options (keys listed below)")
