# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""``TrainOptions`` (everything ``nvib-hf train`` can set) and its ``PRESETS``, importable without torch.

Each field's ``metadata["help"]`` documents it; ``nvib_hf.cli.arguments`` turns the fields into the flags of
``nvib-hf train``, so ``--help`` is fast and the documentation lives next to the option. ``validate`` imports the model
config (and so Transformers and torch) only when an options object is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nvib_hf.training.schedules import SCHEDULE_KINDS, KLSchedule, RampSchedule
from nvib_hf.utils.dataclass_options import option, reject_unknown_fields

if TYPE_CHECKING:
    from nvib_hf.models.nvae.configuration_nvae import NvaeConfig

# The built-in bottlenecks, for --help only (the registry, nvib_hf.models.nvae.registry, imports torch): the value is
# checked against the registry itself, so a bottleneck a user registers is accepted; a test keeps this list equal to
# the registry's built-in names.
BUILTIN_BOTTLENECKS = ("nvib", "none", "vae", "vae_pooled", "vae_stride")
# Learning-rate schedules after the warm-up; "sqrt" is Transformers' "polynomial" with power ½ and end value 0.
LR_SCHEDULES = ("linear", "sqrt", "cosine", "constant")


@dataclass
class TrainOptions:
    """Everything ``nvib-hf train`` can set. ``model`` holds extra ``NvaeConfig`` fields (e.g. ``kappa``)."""

    output_dir: str = option("outputs/nvae-default", "where the model directory goes")
    data: str | None = option(
        None,
        "corpus: a .txt/.txt.gz (one sentence or paragraph per line), .jsonl ({'text': ...} per line), a datasets "
        "save_to_disk directory, or a datasets name (online)",
        none="the shipped Wikipedia-leads corpus",
    )
    tokenizer: str | None = option(
        None,
        "a shipped tokenizer (wordpiece-8k: 8,000 word pieces trained on the shipped corpus; bert-base-uncased: "
        "30,522) or a tokenizer directory",
        none="bert-base-uncased",
    )
    max_train_sentences: int | None = option(None, "cap the training split", none="all")
    eval_samples: int | None = option(2000, "test sentences in the final evaluation", none="all")
    validation_samples: int = option(256, "validation sentences for the evaluations during training")
    d_model: int = option(128, "model width D")
    encoder_layers: int = option(2, "encoder layers")
    decoder_layers: int = option(2, "decoder layers")
    attention_heads: int = option(4, "self-attention heads")
    ffn_dim: int = option(512, "feed-forward width")
    bottleneck: str = option(
        "nvib",
        f"a registered bottleneck; built in: {', '.join(BUILTIN_BOTTLENECKS)} (nvib: the NVAE; none: plain "
        "auto-encoder; vae: VT; vae_pooled: VT pooled; vae_stride: VT keeping every k-th vector)",
    )
    lambda_gaussian: float = option(0.01, "λ_G, weight of the Gaussian KL")
    lambda_dirichlet: float = option(1.0, "λ_D, weight of the Dirichlet KL")
    kl_schedule: str = option("linear", "KL weight annealing schedule", choices=SCHEDULE_KINDS)
    # KL weights are 0 before kl_start_step: the auto-encoder first learns to use its latent.
    kl_start_step: int = option(600, "KL weights are 0 before this step")
    kl_warmup_steps: int = option(600, "steps of KL annealing from 0 to λ")
    # Guided alignment (alignment.py): λ_A at step 0, falling linearly to 0 at alignment_steps; 0 turns it off.
    lambda_alignment: float = option(0.0, "λ_A, guided-alignment weight at step 0 (0: off)")
    alignment_steps: int = option(0, "λ_A falls linearly to 0 by this step")
    # δ schedule (schedules.RampSchedule): once the decoder reconstructs, a lower δ asks for fewer pseudo-counts.
    final_delta: float | None = option(
        None, "lower δ (the model's delta) linearly to this value over the ramp steps", none="δ stays constant"
    )
    delta_ramp_start_step: int = option(0, "δ starts to fall at this step (with --final-delta)")
    delta_ramp_end_step: int = option(0, "δ reaches --final-delta at this step")
    group_by_length: bool = option(True, "batches of sentences of similar length (LengthGroupedSampler): less padding")
    shuffle_length_groups: bool = option(
        False,
        "with --group-by-length: serve the length-grouped batches in a random order, not longest to shortest in "
        "each group of 50 (docs/recipe.md)",
    )
    max_steps: int = option(1800, "optimiser steps")
    batch_size: int = option(32, "sentences per step")
    # 1e-3 and above stalled on the LM plateau (latent unused) in our CPU runs.
    learning_rate: float = option(3e-4, "Adam learning rate")
    warmup_steps: int = option(100, "learning-rate warm-up steps")
    lr_scheduler_type: str = option(
        "linear",
        "learning rate after the warm-up: linear or sqrt ((1 − progress)^½) decay to 0, cosine, or constant",
        choices=LR_SCHEDULES,
    )
    max_grad_norm: float = option(1.0, "gradient clipping norm")
    dropout: float = option(0.1, "dropout")
    seed: int = option(42, "random seed (data order, init, sampling)")
    bf16: bool | None = option(
        False,
        "bfloat16 autocast (nvib_hf/training/precision.py)",
        none="on where the machine computes in bf16 natively: a CUDA GPU with bf16, a CPU with AVX512-bf16 or AMX",
    )
    keep_freed_memory: bool = option(
        True,
        "glibc keeps freed memory for reuse, so the large buffers of every step (the logits) stop costing page "
        "faults (nvib_hf/utils/allocator.py; no effect off Linux)",
    )
    logging_steps: int = option(25, "log every N steps")
    save_steps: int = option(300, "checkpoint every N steps")
    eval_steps: int | None = option(None, "validation every N steps", none="no validation during training")
    report_to: list[str] = option(
        help="Trainer reporters, e.g. tensorboard, none", factory=lambda: ["tensorboard"], metavar="NAME"
    )
    num_examples: int = option(5, "reconstructions and prior samples in the results table and the model card")
    stop_after_steps: int | None = option(
        None, "stop after N steps with a checkpoint (continue later with --resume)", none="never"
    )
    model: dict[str, Any] = option(
        help="extra NvaeConfig fields such as kappa or alpha_activation (config files: the `model:` key)",
        factory=dict,
        cli=False,
    )

    def __post_init__(self) -> None:
        self.validate()

    def model_config(self, tokenizer, length_probs: list[float] | None) -> NvaeConfig:
        """The model config: sizes from the options, special tokens from the tokenizer, prior lengths from the data."""
        from nvib_hf.models.nvae.configuration_nvae import NvaeConfig  # imports torch: only when a model is built

        return NvaeConfig(
            vocab_size=len(tokenizer),
            d_model=self.d_model,
            encoder_layers=self.encoder_layers,
            decoder_layers=self.decoder_layers,
            encoder_attention_heads=self.attention_heads,
            decoder_attention_heads=self.attention_heads,
            encoder_ffn_dim=self.ffn_dim,
            decoder_ffn_dim=self.ffn_dim,
            dropout=self.dropout,
            bottleneck=self.bottleneck,
            lambda_gaussian=self.lambda_gaussian,
            lambda_dirichlet=self.lambda_dirichlet,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            decoder_start_token_id=tokenizer.cls_token_id,
            prior_num_components_probs=length_probs,
            **self.model,
        )

    def kl_schedules(self) -> tuple[KLSchedule, KLSchedule]:
        """λ_G and λ_D schedules: both follow ``kl_schedule`` up to their maximum weights (annealing against collapse)."""
        common: dict[str, Any] = dict(
            kind=self.kl_schedule, warmup_steps=self.kl_warmup_steps, start_step=self.kl_start_step
        )
        if self.kl_schedule == "cyclical":
            total = max(self.max_steps - self.kl_start_step, 1)
            common = dict(kind="cyclical", total_steps=total, start_step=self.kl_start_step)
        return (
            KLSchedule(max_weight=self.lambda_gaussian, **common),
            KLSchedule(max_weight=self.lambda_dirichlet, **common),
        )

    def delta_schedule(self) -> RampSchedule | None:
        """δ over the steps: the model's ``delta`` until ``delta_ramp_start_step``, then linearly to ``final_delta``
        at ``delta_ramp_end_step``; ``None`` when ``final_delta`` is unset (δ constant)."""
        if self.final_delta is None:
            return None
        from nvib_hf.models.nvae.configuration_nvae import NvaeConfig  # imports torch: only when a model is built

        start = self.model.get("delta", NvaeConfig.delta)  # NvaeConfig's own default when the options do not set it
        return RampSchedule(start, self.final_delta, self.delta_ramp_start_step, self.delta_ramp_end_step)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad option. Runs on construction, so ``nvib-hf train`` reports bad
        values before it loads any data."""
        import math

        from nvib_hf.models.nvae.configuration_nvae import NvaeConfig
        from nvib_hf.models.nvae.registry import bottleneck_names

        def is_int(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        def is_real(value: Any) -> bool:
            return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

        def require(ok: bool, name: str, expected: str) -> None:
            if not ok:
                value = getattr(self, name)
                text_number = isinstance(value, str) and "number" in expected
                hint = " (YAML reads 3e-4 as text: write 3.0e-4)" if text_number else ""
                raise ValueError(f"{name} must be {expected}, got {value!r}{hint}.")

        def is_path(value: Any) -> bool:
            return isinstance(value, (str, Path)) and bool(str(value).strip())

        require(is_path(self.output_dir), "output_dir", "a non-empty path")
        for name in ("data", "tokenizer"):
            require(getattr(self, name) is None or is_path(getattr(self, name)), name, "a non-empty path or name")
        for name in (
            "d_model",
            "encoder_layers",
            "decoder_layers",
            "attention_heads",
            "ffn_dim",
            "max_steps",
            "batch_size",
            "logging_steps",
            "save_steps",
            "validation_samples",
            "num_examples",
        ):
            value = getattr(self, name)
            require(is_int(value) and value >= 1, name, "an integer >= 1")
        for name in ("max_train_sentences", "eval_samples", "eval_steps", "stop_after_steps"):
            value = getattr(self, name)
            require(value is None or (is_int(value) and value >= 1), name, "an integer >= 1 (or unset)")
        for name in (
            "kl_start_step",
            "kl_warmup_steps",
            "warmup_steps",
            "seed",
            "alignment_steps",
            "delta_ramp_start_step",
            "delta_ramp_end_step",
        ):
            value = getattr(self, name)
            require(is_int(value) and value >= 0, name, "an integer >= 0")
        require(is_real(self.learning_rate) and self.learning_rate > 0, "learning_rate", "a number > 0")
        for name in ("lambda_gaussian", "lambda_dirichlet", "max_grad_norm", "lambda_alignment"):
            value = getattr(self, name)
            require(is_real(value) and value >= 0, name, "a number >= 0")
        require(
            self.lambda_alignment == 0 or self.alignment_steps >= 1,
            "alignment_steps",
            "an integer >= 1 when lambda_alignment > 0 (the step at which the guide is off)",
        )
        require(
            self.lambda_alignment == 0 or self.bottleneck != "vae_pooled",
            "lambda_alignment",
            '0 with bottleneck "vae_pooled" (one vector per sentence: nothing to align)',
        )
        final = self.final_delta
        require(final is None or (is_real(final) and final >= 0), "final_delta", "a number >= 0 (or unset)")
        require(
            self.delta_ramp_end_step >= self.delta_ramp_start_step,
            "delta_ramp_end_step",
            f"an integer >= delta_ramp_start_step ({self.delta_ramp_start_step})",
        )
        require(isinstance(self.group_by_length, bool), "group_by_length", "true or false")
        require(isinstance(self.shuffle_length_groups, bool), "shuffle_length_groups", "true or false")
        require(is_real(self.dropout) and 0 <= self.dropout < 1, "dropout", "a number in [0, 1)")
        require(self.bf16 is None or isinstance(self.bf16, bool), "bf16", "true, false or null (auto)")
        require(isinstance(self.keep_freed_memory, bool), "keep_freed_memory", "true or false")
        require(self.bottleneck in bottleneck_names(), "bottleneck", f"one of {list(bottleneck_names())}")
        require(self.lr_scheduler_type in LR_SCHEDULES, "lr_scheduler_type", f"one of {list(LR_SCHEDULES)}")
        require(self.kl_schedule in SCHEDULE_KINDS, "kl_schedule", f"one of {list(SCHEDULE_KINDS)}")
        reporters = [self.report_to] if isinstance(self.report_to, str) else self.report_to
        require(
            isinstance(reporters, list) and all(isinstance(r, str) for r in reporters),
            "report_to",
            "a reporter name or a list of them (e.g. tensorboard, none)",
        )
        require(isinstance(self.model, dict), "model", "a mapping of NvaeConfig fields")
        known = {key for key in vars(NvaeConfig()) if not key.startswith("_")}
        unknown = sorted(str(key) for key in self.model if key not in known)
        if unknown:
            raise ValueError(f"model: {unknown} are not NvaeConfig fields.")

        class SizeOnlyTokenizer:  # what model_config reads of a tokenizer: the model config is checked before data
            pad_token_id, cls_token_id, sep_token_id = 0, 1, 2

            def __len__(self) -> int:
                return 30522

        try:
            self.model_config(SizeOnlyTokenizer(), None)
            self.kl_schedules()
            self.delta_schedule()
        except TypeError as error:  # e.g. model: {d_model: ...}, which is a training option of its own
            import re

            match = re.search(r"argument '(\w+)'", str(error))
            name = match.group(1) if match else "?"
            raise ValueError(
                f"model.{name}: {name} is set from the training options; set it at the top level, not under model."
            ) from error

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> TrainOptions:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
        return cls.from_dict({**PRESETS[preset], **overrides})

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainOptions:
        reject_unknown_fields(cls, values, "training option")
        return cls(**values)


PRESETS: dict[str, dict[str, Any]] = {
    # A minute or two on a 2-core CPU: smoke tests of the whole pipeline on real sentences.
    "tiny": dict(
        output_dir="outputs/nvae-tiny",
        max_train_sentences=2000,
        eval_samples=64,
        validation_samples=32,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        attention_heads=2,
        ffn_dim=128,
        max_steps=60,
        batch_size=32,
        learning_rate=2e-3,  # a smoke run: fast progress on word statistics in 60 steps
        kl_start_step=10,
        kl_warmup_steps=20,
        warmup_steps=5,
        logging_steps=10,
        save_steps=30,
        num_examples=3,
    ),
    # The README's main job, ~13 min on a 2-core CPU. The shipped 8k word pieces (benchmarks/bench_throughput.py),
    # guided alignment for the first 400 steps (the decoder leaves the language-model plateau at ~800 steps instead
    # of ~1,000-1,600 without it), then the KL terms from step 800, pre-LayerNorm layers and a learning rate of 1e-3
    # with a square-root decay. Compression: δ falls from 0.25 to 0.12 over steps 1,200-2,000 once the
    # decoder reads its latent, with the evaluation's pruning applied in training too (prune_in_training), and
    # 2,800 steps at the final δ; dropout 0 (faster steps, and the run sees each sentence ~5 times only) and the
    # length-grouped batches in a random order (the longest-to-shortest order lost ~20 BLEU). Evidence for every
    # choice: docs/recipe.md.
    "default": dict(
        tokenizer="wordpiece-8k",
        max_steps=4800,
        learning_rate=1e-3,
        warmup_steps=100,
        lr_scheduler_type="sqrt",
        dropout=0.0,
        shuffle_length_groups=True,
        lambda_alignment=1.0,
        alignment_steps=400,
        kl_start_step=800,
        kl_warmup_steps=400,
        final_delta=0.12,
        delta_ramp_start_step=1200,
        delta_ramp_end_step=2000,
        logging_steps=100,
        save_steps=1000,
        bf16=None,  # auto: bf16 where the CPU has AVX512-bf16 / AMX (1.5x the fp32 steps here), else fp32
        model={"delta": 0.25, "normalize_before": True, "prune_in_training": True},
    ),
    # The paper's setting (Henderson & Fehr 2023): d_model 512, one cross-attention head, Adam 1e-4, clipping.
    "paper": dict(
        output_dir="outputs/nvae-paper",
        d_model=512,
        encoder_layers=6,
        decoder_layers=6,
        attention_heads=8,
        ffn_dim=2048,
        learning_rate=1e-4,
        max_steps=50000,
        batch_size=64,
        kl_start_step=5000,
        kl_warmup_steps=5000,
        warmup_steps=1000,
        save_steps=1000,
        eval_steps=1000,
        bf16=True,
    ),
}
