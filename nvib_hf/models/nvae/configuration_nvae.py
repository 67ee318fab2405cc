# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Configuration of the NVAE: a Transformer encoder -> NVIB -> Transformer decoder with denoising cross-attention."""

from __future__ import annotations

from transformers import PreTrainedConfig

from .registry import bottleneck_class, bottleneck_names

ALPHA_ACTIVATIONS = ("relu", "exp")
DENOISING_COMPAT = ("exact", "reference", "reference_multihead")  # = denoising_attention.COMPAT_TERMS
PRIOR_WEIGHTS = ("uniform", "dirichlet")


class NvaeConfig(PreTrainedConfig):
    r"""Configuration for [`NvaeModel`] and [`NvaeForConditionalGeneration`].

    Transformer fields use BART's names (so tools that read BART configs understand this one); the NVIB fields
    follow `docs/maths.md` (paper symbols in brackets).

    Args:
        vocab_size: size of the word-piece vocabulary (default: bert-base-uncased, 30,522).
        d_model: width D of every Transformer layer.
        latent_dim: latent size D_z of the NVIB Gaussians; `None` means `d_model`.
        encoder_layers / decoder_layers: number of Transformer layers.
        encoder_attention_heads / decoder_attention_heads: heads of the self-attentions.
        cross_attention_heads: heads H of the decoder's denoising cross-attention (the paper uses 1); d_h = D / H
            and the query-denoising noise is ν = √d_h.
        encoder_ffn_dim / decoder_ffn_dim: feed-forward widths.
        activation_function: feed-forward activation (any key of `transformers.activations.ACT2FN`).
        dropout / attention_dropout / activation_dropout: dropout rates of residuals, attention weights and the
            feed-forward activation.
        encoder_layerdrop / decoder_layerdrop: LayerDrop probabilities.
        max_position_embeddings: longest sequence (word pieces + special tokens) the model accepts.
        init_std: standard deviation of the normal weight initialisation.
        scale_embedding: multiply embeddings by √D.
        normalize_before: pre-LayerNorm layers (mBART style) instead of post-LayerNorm (BART style).
        bottleneck: a name registered in `registry.py` (`bottleneck_names()`): `"nvib"` (the NVAE), or the paper's
            baselines `"none"` (plain Transformer auto-encoder), `"vae"` (a Gaussian VIB on every vector, "VT"),
            `"vae_pooled"` (mean-pooled to one vector, "VT pooled") and `"vae_stride"` (the "VT" of which only a
            stride of vectors is kept, "VT stride": does NVIB drop the right vectors at the same compression?).
        stride_keep_fraction [f]: with `bottleneck="vae_stride"`, the fraction of each sentence's vectors kept:
            ⌈f·N⌉ of N, every k-th for f = 1/k (`stride_bottleneck.py`); the others are masked out of the
            cross-attention. In (0, 1]; ignored by the other bottlenecks.
        alpha_activation: `"relu"` — α_i = ReLU(w_α·x_i + b_α), exact zeros in training (ICLR 2023); `"exp"` —
            α_i = exp(c‖x_i‖² + w_α·x_i + b_α), c initialised to 1/(2√d_h).
        posterior_logvar_init: initial bias of the log-variance projections (NVIB and the VAE baselines): small
            initial variances (default e^-5) start the model as a nearly deterministic auto-encoder, so the decoder
            learns to read the latent before the KL terms shape it (against posterior collapse).
        alpha_log_max: the exponent of the `"exp"` activation is clamped to [−alpha_log_max, alpha_log_max].
        prior_mean / prior_variance [μ_p, σ²_p]: the fixed prior Gaussian N(μ_p, σ²_p I) (buffers, not learned).
        prior_alpha [α_p]: pseudo-count of the prior component.
        delta [δ]: slope of the conditional Dirichlet prior α_0^p = α_p + δN (0 gives a plain DP prior).
        kappa [κ]: number of samples per component in training.
        alpha_prune_threshold [τ_prune]: at evaluation, components with α_i ≤ τ_prune are dropped.
        prune_in_training: apply the evaluation's pruning rule in training too: components with α_i ≤ τ_prune get
            pseudo-count 0 before sampling (the prior component is kept; the KL terms still use the unpruned α),
            so that training and evaluation decode from the same components (`docs/recipe.md`, third session).
            False, the default, is the paper's training.
        denoising_compat: `"exact"` denoising attention (the true posterior mean); `"reference"` for the authors'
            first published implementation (no −u²/(2s²) logit term, factor 1 on the log-determinant, no value
            bias); `"reference_multihead"` for their later multi-head release (no −u²/(2s²) term only). See
            `denoising_attention.COMPAT_TERMS`.
        lambda_gaussian [λ_G] / lambda_dirichlet [λ_D]: weights of KL_G and KL_D in the loss (KL_G is also the
            Gaussian KL of the `"vae"` baselines).
        lambda_alignment [λ_A]: weight of the guided-alignment loss L_A (`alignment.py`), a training aid that leads
            the cross-attention of decoder position j to the latent component of token j + 1 (reconstruction); 0,
            the default, is the paper's objective. Trainers schedule it down to 0 early in training.
        alignment_width [w]: width, in tokens, of the band of components L_A does not penalise.
        prior_weights: mixture weights of prior samples, `"uniform"` or drawn from a Dirichlet.
        prior_num_components_probs: distribution of the number of components n of a prior sample (index = n),
            usually filled from the training data's lengths; `None` falls back to `prior_num_components_default`.
        prior_num_components_default: n used when no distribution is stored.
        pad_token_id / bos_token_id / eos_token_id / decoder_start_token_id: special tokens (defaults: the
            bert-base-uncased [PAD], [CLS], [SEP], [CLS]).
    """

    model_type = "nvae"
    attribute_map = {
        "num_attention_heads": "encoder_attention_heads",
        "hidden_size": "d_model",
        "num_hidden_layers": "encoder_layers",
    }

    vocab_size: int = 30522
    d_model: int = 256
    latent_dim: int | None = None
    encoder_layers: int = 2
    decoder_layers: int = 2
    encoder_attention_heads: int = 4
    decoder_attention_heads: int = 4
    cross_attention_heads: int = 1
    encoder_ffn_dim: int = 1024
    decoder_ffn_dim: int = 1024
    activation_function: str = "gelu"
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    encoder_layerdrop: float = 0.0
    decoder_layerdrop: float = 0.0
    max_position_embeddings: int = 64
    init_std: float = 0.02
    scale_embedding: bool = False
    normalize_before: bool = False
    bottleneck: str = "nvib"
    stride_keep_fraction: float = 0.5
    alpha_activation: str = "relu"
    alpha_log_max: float = 20.0
    posterior_logvar_init: float = -5.0
    prior_mean: float = 0.0
    prior_variance: float = 1.0
    prior_alpha: float = 1.0
    delta: float = 1.0
    kappa: int = 1
    alpha_prune_threshold: float = 0.1
    prune_in_training: bool = False
    denoising_compat: str = "exact"
    lambda_gaussian: float = 0.01
    lambda_dirichlet: float = 1.0
    lambda_alignment: float = 0.0
    alignment_width: float = 1.5
    prior_weights: str = "uniform"
    prior_num_components_probs: list[float] | None = None
    prior_num_components_default: int = 16
    use_cache: bool = True
    pad_token_id: int | None = 0
    bos_token_id: int | None = 101
    eos_token_id: int | list[int] | None = 102
    decoder_start_token_id: int | None = 101
    forced_eos_token_id: int | None = None
    is_encoder_decoder: bool = True
    tie_word_embeddings: bool = True

    def __post_init__(self, **kwargs):
        if self.latent_dim is None:
            self.latent_dim = self.d_model
        self._validate()
        super().__post_init__(**kwargs)

    def _validate(self) -> None:
        """Reject nonsense with a `ValueError` that names the field and the value."""

        def _require(condition: bool, field: str, expected: str) -> None:
            if not condition:
                raise ValueError(f"NvaeConfig.{field} must be {expected} (got {getattr(self, field)!r}).")

        _require(isinstance(self.prune_in_training, bool), "prune_in_training", "true or false")

        for name in (
            "vocab_size",
            "d_model",
            "latent_dim",
            "encoder_layers",
            "decoder_layers",
            "kappa",
            "encoder_attention_heads",
            "decoder_attention_heads",
            "cross_attention_heads",
            "encoder_ffn_dim",
            "decoder_ffn_dim",
            "max_position_embeddings",
            "prior_num_components_default",
        ):
            _require(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, name, "a positive integer")
        for name in ("encoder_attention_heads", "decoder_attention_heads", "cross_attention_heads"):
            _require(self.d_model % getattr(self, name) == 0, name, f"a divisor of d_model={self.d_model}")
        for name in ("dropout", "attention_dropout", "activation_dropout", "encoder_layerdrop", "decoder_layerdrop"):
            _require(0.0 <= getattr(self, name) < 1.0, name, "in [0, 1)")
        for name in ("prior_variance", "prior_alpha", "init_std", "alpha_log_max", "alignment_width"):
            _require(getattr(self, name) > 0, name, "positive")
        for name in ("delta", "alpha_prune_threshold", "lambda_gaussian", "lambda_dirichlet", "lambda_alignment"):
            _require(getattr(self, name) >= 0, name, "non-negative")
        _require(
            isinstance(self.stride_keep_fraction, (int, float))
            and not isinstance(self.stride_keep_fraction, bool)
            and 0.0 < self.stride_keep_fraction <= 1.0,
            "stride_keep_fraction",
            "in (0, 1]",
        )
        for name, choices in (
            ("bottleneck", bottleneck_names()),
            ("alpha_activation", ALPHA_ACTIVATIONS),
            ("denoising_compat", DENOISING_COMPAT),
            ("prior_weights", PRIOR_WEIGHTS),
        ):
            _require(getattr(self, name) in choices, name, f"one of {choices}")
        bottleneck_class(self.bottleneck).validate_config(self)  # the bottleneck's own constraints
        from transformers.activations import ACT2FN

        _require(self.activation_function in ACT2FN, "activation_function", "a key of transformers' ACT2FN")
        probs = self.prior_num_components_probs
        if probs is not None:
            _require(
                len(probs) >= 2 and all(p >= 0 for p in probs) and sum(probs) > 0 and probs[0] == 0,
                "prior_num_components_probs",
                "a list of non-negative weights with weight 0 at n=0",
            )


__all__ = ["NvaeConfig"]
