"""The nvib-hf CLI end to end on the tiny preset with real corpus sentences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from nvib_hf.cli import main

TINY = ["train", "--preset", "tiny", "--report-to", "none"]


def trainer_log(output_dir: Path) -> list[dict]:
    checkpoints = sorted((output_dir / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return json.loads((checkpoints[-1] / "trainer_state.json").read_text())["log_history"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("cli") / "nvae-tiny"
    assert main([*TINY, "--output-dir", str(output)]) == 0
    return output


@pytest.mark.slow
def test_tiny_preset_trains_and_writes_a_model_directory(tiny_model, capsys):
    files = {p.name for p in tiny_model.iterdir()}
    expected = {
        "config.json",
        "model.safetensors",
        "modeling_nvae.py",
        "configuration_nvae.py",
        "nvib.py",
        "tokenizer_config.json",
        "README.md",
        "eval_results.json",
        "examples.json",
        "train_options.json",
    }
    assert expected <= files
    logs = [entry for entry in trainer_log(tiny_model) if "loss" in entry]
    assert logs[-1]["loss"] < logs[0]["loss"] - 1.0
    for key in (
        "reconstruction_loss",
        "kl_gaussian",
        "kl_dirichlet",
        "vectors_kept",
        "vectors_kept_proportion",
        "lambda_gaussian",
        "lambda_dirichlet",
    ):
        assert all(key in entry for entry in logs), key
    metrics = json.loads((tiny_model / "eval_results.json").read_text())
    assert {"bleu", "exact_match", "vectors_kept_proportion", "reconstruction_loss"} <= set(metrics)
    card = (tiny_model / "README.md").read_text()
    assert "split: test" in card
    assert f"{metrics['reconstruction_loss']:.4g}"[:4] in card or str(round(metrics["reconstruction_loss"], 3)) in card
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["prior_num_components_probs"][0] == 0 and abs(sum(config["prior_num_components_probs"]) - 1) < 1e-6


@pytest.mark.slow
def test_model_commands(tiny_model, tmp_path, capsys):
    model = str(tiny_model)
    assert main(["evaluate", model, "--max-samples", "16", "--output", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["num_samples"] == 16
    capsys.readouterr()
    assert main(["reconstruct", model, "the cat sat on the mat .", "a second sentence here ."]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["sample", model, "--num-samples", "3", "--num-beams", "2"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert main(["sample", model, "--num-samples", "2", "--do-sample", "--num-components", "4"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["interpolate", model, "the first sentence .", "another one entirely .", "--steps", "5"]) == 0
    points = json.loads(capsys.readouterr().out)
    assert [p["tau"] for p in points] == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.slow
def test_push_command(tiny_model, hub_double, capsys):
    assert main(["push", str(tiny_model), "user/nvae-tiny"]) == 0
    files = set(hub_double.list_files("user/nvae-tiny"))
    assert {"config.json", "model.safetensors", "README.md", "modeling_nvae.py"} <= files
    assert not any(name.startswith("checkpoints/") for name in files)


def test_bad_input_gives_clear_errors(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    long = tmp_path / "long.txt"
    long.write_text(" ".join(["word"] * 80) + "\n")
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("d_model: [unclosed")
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"learning_rat": 0.1}))
    cases = [
        ([*TINY, "--data", str(tmp_path / "missing.txt")], "missing.txt"),
        ([*TINY, "--data", str(empty)], "empty"),
        ([*TINY, "--data", str(long)], "49"),
        ([*TINY, "--config", str(bad_config)], "not valid YAML"),
        ([*TINY, "--config", str(unknown)], "learning_rat"),
        ([*TINY, "--output-dir", str(tmp_path / "fresh"), "--resume"], "no checkpoint"),
        (["evaluate", str(tmp_path)], "not a model directory"),
        (["reconstruct", str(tmp_path / "nowhere")], "not a model directory"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv


def test_help_explains_every_option(capsys):
    for command in ("train", "evaluate", "reconstruct", "sample", "interpolate", "push"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert "usage: nvib-hf " + command in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for flag in ("--preset", "--resume", "--lambda-dirichlet", "--kl-schedule", "--bottleneck", "--data"):
        assert flag in out


@pytest.mark.slow
def test_resume_reaches_the_same_weights(tmp_path):
    common = [
        *TINY,
        "--max-steps",
        "8",
        "--save-steps",
        "4",
        "--max-train-sentences",
        "256",
        "--eval-samples",
        "8",
        "--batch-size",
        "8",
        "--logging-steps",
        "2",
    ]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert main([*common, "--output-dir", str(straight)]) == 0
    assert main([*common, "--output-dir", str(resumed), "--stop-after-steps", "4"]) == 0
    assert not (resumed / "model.safetensors").exists()
    assert main([*common, "--output-dir", str(resumed), "--resume"]) == 0
    a, b = load_file(straight / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key] - b[key]).abs().max() <= 1e-6, key
