"""Model cards: the rendered card parses (YAML, huggingface_hub), holds the inputs, and leaves no placeholder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard

from nvib_hf.reporting.formatting import format_duration, format_value
from nvib_hf.reporting.model_card import (
    PLACEHOLDER,
    fill_template,
    load_template,
    render_model_card,
    write_model_card,
)
from tests.nvae_testing import tiny_config

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMAND = "nvib-hf train --output-dir runs/demo --max-steps 1234 --lambda-gaussian 0.01"
METRICS = {"test_bleu": 41.2345678, "test_reconstruction_loss": 1.87654, "test_vectors_kept": 11.25}
EXAMPLES = {
    "reconstructions": [("the cat sat on the mat .", "the cat sat on a mat ."), {"input": "a | b", "output": "a b"}],
    "prior_samples": ["a sentence from the prior .", "another one ."],
    "interpolations": [["first .", "middle .", "last ."], [(0.0, "x ."), (1.0, "y .")]],
}


def render(**overrides) -> str:
    kwargs = dict(
        config=tiny_config(),
        metrics=METRICS,
        command=COMMAND,
        training_args={"learning_rate": 1e-4, "per_device_train_batch_size": 32, "hub_token": "hf_SECRET"},
        examples=EXAMPLES,
        wall_time_s=5025.0,
        model_name="nvae-test",
    )
    kwargs.update(overrides)
    return render_model_card(**kwargs)


def front_matter(card: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", card, flags=re.DOTALL)
    assert match is not None, "no YAML front matter"
    return yaml.safe_load(match.group(1))


def test_template_copies_are_identical():
    """model_cards/TEMPLATE.md is the readable copy of the template shipped in the package."""
    shipped = REPO_ROOT / "nvib_hf" / "resources" / "model_card_template.md"
    assert (REPO_ROOT / "model_cards" / "TEMPLATE.md").read_bytes() == shipped.read_bytes()
    assert load_template() == shipped.read_text(encoding="utf-8")


def test_front_matter_parses_with_the_hub_metadata():
    data = front_matter(render())
    assert data["license"] == "apache-2.0"
    assert data["library_name"] == "transformers"
    assert data["pipeline_tag"] == "text2text-generation"
    assert data["language"] == ["en"]
    assert {"nvib", "nvae", "vae", "text-generation"} <= set(data["tags"])
    metrics = data["model-index"][0]["results"][0]["metrics"]
    assert {m["name"]: m["value"] for m in metrics}["test_bleu"] == pytest.approx(41.2346)


def test_card_holds_metrics_command_data_licence_and_no_placeholder():
    card = render()
    assert "41.23" in card and "1.877" in card and "11.25" in card
    assert COMMAND in card
    assert "CC BY-SA 4.0" in card
    assert PLACEHOLDER.search(card) is None, PLACEHOLDER.search(card)
    assert "hf_SECRET" not in card  # secrets in the training arguments are left out
    assert "1 h 23 min 45 s" in card
    assert "a \\| b" in card  # table cells escaped
    for name in ("torch", "transformers", "nvib-hf", "python", "CPU cores"):
        assert f"| {name} |" in card


def test_hub_model_card_parses_it():
    card = ModelCard(render(), ignore_metadata_errors=False)
    assert card.data.license == "apache-2.0"
    assert card.data.library_name == "transformers"
    assert {r.metric_name for r in card.data.eval_results} == set(METRICS)


@pytest.mark.parametrize("bottleneck", ["none", "vae", "vae_pooled"])
def test_baselines_and_dict_configs_render(bottleneck):
    config = tiny_config(bottleneck=bottleneck).to_dict()
    card = render(config=config, training_args=None, examples=None, wall_time_s=None)
    assert f"bottleneck-{bottleneck.replace('_', '-')}" in front_matter(card)["tags"]
    assert "not recorded" in card and "No examples were recorded" in card
    assert "denoising_compat" not in card  # NVIB-only fields are left out for the baselines
    assert PLACEHOLDER.search(card) is None


def test_extra_overrides_placeholders_and_adds_environment_rows():
    card = render(extra={"repo_id": "someone/nvae", "dataset_name": "My corpus", "git_commit": "0123abc"})
    assert 'from_pretrained("someone/nvae")' in card
    assert "**My corpus.**" in card
    assert "| git_commit | 0123abc |" in card


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(command=""), "command"),
        (dict(command=None), "command"),
        (dict(metrics={}), "metrics"),
        (dict(metrics={"bleu": "high"}), "must be a number"),
        (dict(config=None), "config"),
        (dict(model_name=""), "model_name"),
    ],
)
def test_missing_required_input_raises(overrides, message):
    with pytest.raises(ValueError, match=message):
        render(**overrides)


def test_unfilled_placeholder_raises():
    with pytest.raises(ValueError, match="left unfilled: not_a_field"):
        render(template=load_template() + "\n{not_a_field}\n")
    assert fill_template("a {x} b {y}", {"x": "{y}", "y": 2}) == "a {y} b 2"  # inserted text is not rescanned


def test_number_formatting():
    assert format_value(1e-4) == "0.0001"
    assert format_value(5e-5) == "5e-05"
    assert format_value(30522) == "30,522"
    assert format_value(1.0) == "1"
    assert format_value(0.123456) == "0.1235"
    assert format_value(True) == "true"
    assert format_value(None) == "none"
    assert format_value(float("nan")) == "nan"
    assert format_duration(42.5) == "42.5 s"
    assert format_duration(125) == "2 min 05 s (125 s)"
    assert format_duration(None) == "not recorded"


def test_write_model_card(tmp_path):
    path = write_model_card(tmp_path / "model", config=tiny_config(), metrics=METRICS, command=COMMAND)
    assert path == tmp_path / "model" / "README.md"
    assert ModelCard.load(path).data.license == "apache-2.0"


def test_card_words_follow_its_numbers():
    from nvib_hf.reporting.model_card import capability_statement

    assert "does not reconstruct" in capability_statement({"bleu": 0.4, "vectors_kept_proportion": 0.96})
    assert "only partly" in capability_statement({"bleu": 25.5})
    good = capability_statement(
        {
            "bleu": 61.0,
            "vectors_kept_proportion": 0.55,
            "sample_distinct_2": 0.7,
            "reference_distinct_2": 0.78,
            "sample_repeat_rate": 0.02,
        }
    )
    assert good.startswith("On its test split it reconstructs sentences (greedy BLEU 61.0)")
    assert "keeps 55% of its latent vectors" in good and "distinct-2 0.70" in good
    assert "no test metrics" in capability_statement({})
