"""The nvib-hf CLI end to end on the tiny preset with real corpus sentences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from nvib_hf.cli.main import main
from nvib_hf.data import load_default_tokenizer
from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration
from nvib_hf.training import run as training
from tests.nvae_testing import tiny_config

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
        "training_log.json",
    }
    assert expected <= files
    saved_log, checkpoint_log = json.loads((tiny_model / "training_log.json").read_text()), trainer_log(tiny_model)
    assert saved_log[: len(checkpoint_log)] == checkpoint_log and "train_runtime" in saved_log[-1]
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


@pytest.fixture
def runs(monkeypatch) -> list[dict]:
    """Replaces ``run_training`` (no data, no training): records the calls that got past the CLI's checks."""
    calls: list[dict] = []

    def fake_run_training(options, *, resume=False, command=""):
        calls.append({"options": options, "resume": resume})
        return training.TrainResult(Path(options.output_dir), finished=False, global_step=0)

    monkeypatch.setattr(training, "run_training", fake_run_training)
    return calls


def one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"nvib-hf {command}: error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--learning-rate", "-0.001"], "learning_rate must be a number > 0, got -0.001"),
        (["--learning-rate", "0"], "learning_rate must be a number > 0"),
        (["--max-steps", "0"], "max_steps must be an integer >= 1, got 0"),
        (["--batch-size", "0"], "batch_size"),
        (["--warmup-steps", "-1"], "warmup_steps"),
        (["--kl-start-step", "-1"], "kl_start_step"),
        (["--kl-warmup-steps", "-1"], "kl_warmup_steps"),
        (["--lambda-gaussian", "-1"], "lambda_gaussian"),
        (["--lambda-dirichlet", "-0.5"], "lambda_dirichlet"),
        (["--dropout", "1"], "dropout must be a number in [0, 1)"),
        (["--logging-steps", "0"], "logging_steps"),
        (["--save-steps", "0"], "save_steps"),
        (["--eval-steps", "0"], "eval_steps"),
        (["--d-model", "33"], "a divisor of d_model=33"),  # tiny preset: 2 heads
    ],
)
def test_bad_training_numbers_fail_before_any_work(flags, message, runs, tmp_path, capsys):
    output = tmp_path / "out"
    assert main([*TINY, "--output-dir", str(output), *flags]) == 2
    assert message in one_line_error(capsys, "train")
    assert not runs and not output.exists()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"RANK": "x", "WORLD_SIZE": "2"}, "RANK must be an integer, got 'x'"),
        ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK must be in [0, WORLD_SIZE), got RANK=2, WORLD_SIZE=2"),
        ({"LOCAL_RANK": "-1"}, "LOCAL_RANK must be in [0, LOCAL_WORLD_SIZE)"),
        ({"WORLD_SIZE": "0"}, "RANK must be in [0, WORLD_SIZE)"),
    ],
)
def test_a_broken_launcher_environment_fails_before_any_work(environ, message, runs, tmp_path, monkeypatch, capsys):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "out"
    assert main([*TINY, "--output-dir", str(output)]) == 2
    assert message in one_line_error(capsys, "train")
    assert not runs and not output.exists()


def test_bad_number_in_a_config_file(runs, tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("learning_rate: 3e-4\n")  # YAML 1.1 reads this as the string "3e-4"
    assert main([*TINY, "--config", str(config), "--output-dir", str(tmp_path / "out")]) == 2
    assert "learning_rate must be a number > 0, got '3e-4'" in one_line_error(capsys, "train")
    assert not runs


@pytest.mark.parametrize("model_file", ["config.json", "model.safetensors"])
def test_train_refuses_a_directory_that_holds_a_model(model_file, runs, tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    (output / model_file).write_text("{}")
    assert main([*TINY, "--output-dir", str(output)]) == 2
    err = one_line_error(capsys, "train")
    assert "already holds a model" in err and "--overwrite" in err and "--resume" in err
    assert not runs
    assert main([*TINY, "--output-dir", str(output), "--overwrite"]) == 0
    assert len(runs) == 1 and not runs[0]["resume"]
    (output / "checkpoints" / "checkpoint-30").mkdir(parents=True)
    assert main([*TINY, "--output-dir", str(output), "--resume"]) == 0
    assert len(runs) == 2 and runs[1]["resume"]


def test_train_into_a_fresh_or_empty_directory_needs_no_flag(runs, tmp_path):
    (tmp_path / "empty").mkdir()
    assert main([*TINY, "--output-dir", str(tmp_path / "empty")]) == 0
    assert main([*TINY, "--output-dir", str(tmp_path / "new")]) == 0
    assert len(runs) == 2


def test_resume_without_a_checkpoint_fails_before_any_work(runs, tmp_path, capsys):
    assert main([*TINY, "--output-dir", str(tmp_path / "fresh"), "--resume"]) == 2
    assert "no checkpoint" in one_line_error(capsys, "train")
    assert not runs


@pytest.fixture
def unloadable_model(tmp_path) -> str:
    """Passes the CLI's model-directory check but cannot be loaded: errors about it prove nothing was loaded."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    return str(model)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "{m}", "--num-samples", "0"], "--num-samples must be >= 1, got 0"),
        (["sample", "{m}", "--num-samples", "-2"], "--num-samples must be >= 1, got -2"),
        (["sample", "{m}", "--num-components", "0"], "--num-components must be >= 1, got 0"),
        (["sample", "{m}", "--num-beams", "0"], "--num-beams must be >= 1, got 0"),
        (["sample", "{m}", "--do-sample", "--top-p", "0"], "--top-p must be in (0, 1]"),
        (["sample", "{m}", "--do-sample", "--temperature", "0"], "--temperature must be > 0"),
        (["reconstruct", "{m}", "a sentence .", "--batch-size", "0"], "--batch-size must be >= 1, got 0"),
        (["reconstruct", "{m}", "a sentence .", "--max-new-tokens", "0"], "--max-new-tokens must be >= 1"),
        (["reconstruct", "{m}", "a sentence .", "   "], "sentence 2 is empty or whitespace-only"),
        (["reconstruct", "{m}", ""], "sentence 1 is empty or whitespace-only"),
        (["interpolate", "{m}", "", "a sentence ."], "SENTENCE_A is empty or whitespace-only"),
        (["interpolate", "{m}", "a sentence .", " \t"], "SENTENCE_B is empty or whitespace-only"),
        (["interpolate", "{m}", "a .", "b .", "--steps", "1"], "--steps must be >= 2, got 1"),
        (["evaluate", "{m}", "--max-samples", "0"], "--max-samples must be >= 1, got 0"),
        (["evaluate", "{m}", "--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    ],
)
def test_bad_model_command_input_fails_before_loading(argv, message, unloadable_model, capsys):
    assert main([a.replace("{m}", unloadable_model) for a in argv]) == 2
    assert message in one_line_error(capsys, argv[0])


def test_model_text_path_rejects_empty_sentences():
    model = NvaeForConditionalGeneration(tiny_config()).eval()
    tokenizer = load_default_tokenizer()
    with pytest.raises(ValueError, match=r"sentences \[1\] are empty or whitespace-only"):
        model.reconstruct(["a sentence .", "  "], tokenizer)
    with pytest.raises(ValueError, match=r"sentences \[0, 2\]"):
        model.encode_latent(texts=["", "fine .", "\n"], tokenizer=tokenizer)
    with pytest.raises(ValueError, match="no sentences"):
        model.encode_latent(texts=[], tokenizer=tokenizer)


def test_help_explains_every_option(capsys):
    for command in ("train", "evaluate", "reconstruct", "sample", "interpolate", "push"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert "usage: nvib-hf " + command in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for flag in (
        "--preset",
        "--resume",
        "--overwrite",
        "--lambda-dirichlet",
        "--kl-schedule",
        "--bottleneck",
        "--data",
    ):
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


def test_reevaluation_recomputes_the_final_evaluation(tiny_model, tmp_path):
    """``reevaluate_model_directory`` rewrites eval_results.json from the saved model: the same numbers as the
    run's own end-of-training evaluation (its wall time kept), and the card and examples again."""
    import shutil

    from nvib_hf.training.run import reevaluate_model_directory

    copy = tmp_path / "again"
    shutil.copytree(tiny_model, copy, ignore=shutil.ignore_patterns("checkpoints"))
    before = json.loads((copy / "eval_results.json").read_text())
    (copy / "examples.json").unlink()
    metrics = reevaluate_model_directory(copy, command="nvib-hf train --preset tiny")
    after = json.loads((copy / "eval_results.json").read_text())
    assert after == metrics and after["train_wall_time_s"] == before["train_wall_time_s"]
    for key in ("reconstruction_loss", "vectors_kept_proportion", "bleu"):
        assert after[key] == pytest.approx(before[key], rel=1e-4, abs=1e-6), key
    assert (copy / "examples.json").is_file() and "nvib-hf train --preset tiny" in (copy / "README.md").read_text()
