"""`nvib_hf.experiments.sweep` (the paper's comparison, `nvib-hf reproduce`) and `nvib_hf.evaluation.language_model`."""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import pytest
import torch
import yaml
from transformers import GPT2LMHeadModel

from nvib_hf.cli.main import main
from nvib_hf.data import load_default_tokenizer
from nvib_hf.evaluation.language_model import encode_sentences, lm_batch, lm_config, perplexity, train_language_model
from nvib_hf.experiments import (
    DEFAULT_NVIB_LAMBDA_DIRICHLET,
    SweepConfig,
    change_share,
    copy_rate,
    distinct_n,
    edit_distance,
    mean_step_edit_distance,
)

torch.set_num_threads(1)

MICRO_MODELS = ["none", "vae_pooled", "nvib_ld0.1", "nvib_ld1"]
MICRO_CONFIG = {
    "budget": 0.02,
    "train": {
        "d_model": 32,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "attention_heads": 2,
        "ffn_dim": 64,
        "batch_size": 16,
        "max_train_sentences": 500,
        "max_steps": 400,  # x budget 0.02 = 8 steps
        "kl_start_step": 100,
        "validation_samples": 8,
        "num_examples": 2,
    },
    "interval_steps": 400,
    "interpolation_pairs": 2,
    "lm_batch_size": 8,
    "generation_batch_size": 32,
}
MICRO_FLAGS = [
    "--eval-sentences",
    "16",
    "--prior-samples",
    "8",
    "--lambda-dirichlet",
    "0.1",
    "1",
    "--models",
    *MICRO_MODELS,
    "--seed",
    "3",
]
OUTPUT_FILES = (
    "results.md",
    "results.csv",
    "bleu_vs_vectors_kept.png",
    "ppl_vs_reconstruction.png",
    "interpolations.txt",
    "run_info.json",
)


# --- metric helpers ----------------------------------------------------------------------------------------------
def test_distinct_n_pools_ngrams_over_samples():
    samples = [["a", "b", "a"], ["a", "b"]]
    assert distinct_n(samples, 1) == pytest.approx(2 / 5)  # a b a a b
    assert distinct_n(samples, 2) == pytest.approx(2 / 3)  # (a b) (b a) (a b)
    assert distinct_n([["x", "y", "z"]], 2) == 1.0
    assert math.isnan(distinct_n([["a"], []], 2))


def test_edit_distance_is_levenshtein_over_tokens():
    assert edit_distance(list("kitten"), list("sitting")) == 3
    assert edit_distance([], ["a", "b", "c"]) == 3
    assert edit_distance(["the", "cat"], ["the", "cat"]) == 0
    assert edit_distance(["the", "cat", "sat"], ["a", "cat"]) == 2  # one substitution, one deletion
    assert edit_distance([101, 7, 8], [7, 8, 9]) == 2


def test_copy_rate_counts_exact_training_matches():
    training = ["the cat sat .", "a dog ."]
    assert copy_rate(["the cat sat .", "the cat sat", "a dog ."], training) == pytest.approx(2 / 3)
    assert copy_rate([[1, 2], [3]], [[1, 2], [4]]) == 0.5  # token sequences
    assert math.isnan(copy_rate([], training))


def test_change_share_and_step_edit_distance_of_paths():
    paths = [[["a"], ["a"], ["b"]], [["x", "y"], ["x"], ["x"]]]
    assert change_share(paths) == pytest.approx(2 / 4)
    assert mean_step_edit_distance(paths) == pytest.approx((0 + 1 + 1 + 0) / 4)
    assert change_share([[["same"], ["same"]]]) == 0.0


def test_language_model_perplexity_prefers_its_training_sentence(tmp_path):
    tokenizer = load_default_tokenizer()
    sentence = "the cat sat on the mat ."
    model = train_language_model(
        [sentence], tokenizer, steps=30, batch_size=4, seed=0, output_dir=tmp_path / "lm", progress=False
    )
    seen = perplexity(model, [sentence], tokenizer)
    unseen = perplexity(model, ["quantum chromodynamics describes the strong interaction ."], tokenizer)
    assert 1.0 <= seen < unseen / 10
    weights = tmp_path / "lm" / "model.safetensors"
    mtime = weights.stat().st_mtime_ns
    again = train_language_model(
        [sentence], tokenizer, steps=30, batch_size=4, seed=0, output_dir=tmp_path / "lm", progress=False
    )  # cached: loaded, not retrained
    assert weights.stat().st_mtime_ns == mtime
    assert perplexity(again, [sentence], tokenizer) == pytest.approx(seen, rel=1e-5)


def test_perplexity_is_exp_of_the_mean_nll_of_predicted_tokens():
    tokenizer = load_default_tokenizer()
    torch.manual_seed(0)
    model = GPT2LMHeadModel(lm_config(tokenizer)).eval()
    sentences = ["the cat sat on the mat .", "a much longer sentence than the first one , with a comma ."]
    batch = lm_batch(encode_sentences(sentences, tokenizer, 64), tokenizer.pad_token_id)
    assert batch["input_ids"][0, 0] == tokenizer.cls_token_id and tokenizer.sep_token_id in batch["input_ids"][0]
    with torch.no_grad():
        loss = model(**batch).loss  # Transformers' causal-LM loss: mean over the shifted, non-padding labels
    assert perplexity(model, sentences, tokenizer, batch_size=1) == pytest.approx(math.exp(loss.item()), rel=1e-4)


# --- configuration -----------------------------------------------------------------------------------------------
def test_sweep_config_models_steps_and_options(tmp_path):
    config = SweepConfig(budget=0.5, nvib_lambda_dirichlet=[0.1, 3.0], nvib_model={"delta": 0.5})
    assert [s.name for s in config.model_specs()] == ["none", "vae", "vae_pooled", "nvib_ld0.1", "nvib_ld3"]
    assert {s.name: s.interpolation_mode for s in config.model_specs()}["vae_pooled"] == "componentwise"
    options = config.train_options(config.model_specs()[-1], tmp_path / "run")
    assert (options.bottleneck, options.lambda_dirichlet, options.model["delta"]) == ("nvib", 3.0, 0.5)
    assert (options.max_steps, options.save_steps, options.eval_steps, options.eval_samples) == (900, 150, 150, 500)
    assert (options.kl_start_step, options.kl_warmup_steps) == (675, 112)  # 1350 and 225 at budget 1
    assert (options.d_model, options.encoder_layers, options.decoder_layers, options.batch_size) == (128, 2, 2, 32)
    assert "delta" not in config.train_options(config.model_specs()[0], tmp_path / "none").model
    assert [s.name for s in SweepConfig(models=["vae", "nvib"]).model_specs()] == [
        "vae",
        *[f"nvib_ld{v:g}" for v in DEFAULT_NVIB_LAMBDA_DIRICHLET],
    ]
    assert len(DEFAULT_NVIB_LAMBDA_DIRICHLET) >= 4


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"budgett": 1}, "unknown sweep option"),
        ({"budget": 0}, "budget must be positive"),
        ({"models": ["nvib_ld7"]}, "unknown model"),
        ({"train": {"bottleneck": "vae"}}, "may not set"),
        ({"train": {"d_modell": 8}}, "unknown training option"),
        ({"nvib_model": {"not_a_field": 1}}, "not NvaeConfig fields"),
        ({"nvib_model": {"kappa": 0}}, "kappa"),
        ({"nvib_lambda_dirichlet": [1, 1.0]}, "repeated"),
        ({"eval_sentences": "many"}, "eval_sentences must be an integer"),
    ],
)
def test_sweep_config_rejects_bad_values(values, message):
    with pytest.raises(ValueError, match=message):
        SweepConfig.from_dict(values)


def test_reproduce_cli_reports_bad_configs(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("budget: [1\n")
    assert main(["reproduce", "--config", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    bad.write_text("lambdas: [1, 2]\n")
    assert main(["reproduce", "--config", str(bad), "--output-dir", str(tmp_path / "out")]) == 2
    assert "bad sweep configuration (config file" in capsys.readouterr().err
    assert main(["reproduce", "--models", "transformer", "--output-dir", str(tmp_path / "out")]) == 2
    assert "unknown model(s) ['transformer']" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    assert "--lambda-dirichlet" in capsys.readouterr().out


# --- the micro sweep ---------------------------------------------------------------------------------------------
def reproduce(output: Path, config_file: Path) -> float:
    start = time.time()
    assert main(["reproduce", "--config", str(config_file), "--output-dir", str(output), *MICRO_FLAGS]) == 0
    return time.time() - start


def mtimes(output: Path, name: str) -> dict[str, int]:
    return {model: (output / "runs" / model / name).stat().st_mtime_ns for model in MICRO_MODELS}


@pytest.fixture(scope="module")
def micro_sweep(tmp_path_factory) -> tuple[Path, Path, float]:
    root = tmp_path_factory.mktemp("sweep")
    config_file = root / "sweep.yaml"
    config_file.write_text(yaml.safe_dump(MICRO_CONFIG))
    output = root / "results"
    return output, config_file, reproduce(output, config_file)


@pytest.mark.slow
def test_micro_sweep_writes_every_result(micro_sweep):
    output, _, wall = micro_sweep
    print(f"micro sweep wall time: {wall:.1f} s")
    assert all((output / name).is_file() for name in OUTPUT_FILES)
    rows = {row["model"]: row for row in csv.DictReader((output / "results.csv").open())}
    assert list(rows) == [*MICRO_MODELS, "data"]
    assert rows["none"]["f_ppl"] == "" and rows["none"]["r_ppl"] == "" and rows["none"]["copy_rate"] == ""
    assert {rows[m]["interp_mode"] for m in ("none", "nvib_ld1")} == {"mixture"}
    assert rows["vae_pooled"]["interp_mode"] == "componentwise"
    for model in MICRO_MODELS[1:]:
        for key in (
            "f_ppl",
            "r_ppl",
            "distinct_1",
            "distinct_2",
            "copy_rate",
            "bleu",
            "vectors_kept_proportion",
            "interp_edit_distance",
            "interp_change_share",
            "interp_f_ppl",
        ):
            assert math.isfinite(float(rows[model][key])), (model, key)
    assert float(rows["vae_pooled"]["vectors_kept"]) == 1.0
    table = (output / "results.md").read_text()
    assert table.startswith("Command: `nvib-hf reproduce --config") and "| none | none | n/a |" in table
    info = json.loads((output / "run_info.json").read_text())
    assert {info["models"][m]["status"] for m in MICRO_MODELS} == {"trained"}
    assert info["effective_steps"]["max_steps"] == 8 and info["sweep_config"]["seed"] == 3
    assert {"torch", "transformers", "nvib-hf", "python", "CPU cores"} <= set(info["environment"])
    text = (output / "interpolations.txt").read_text()
    assert text.count("=== pair") == 2 and text.count("--- nvib_ld0.1 (mixture) ---") == 2
    assert text.count("τ=0.5:") == 2 * len(MICRO_MODELS)
    assert (output / "bleu_vs_vectors_kept.png").read_bytes()[:4] == b"\x89PNG"
    assert (output / "lm" / "reference" / "model.safetensors").is_file()
    card = (output / "runs" / "nvib_ld1" / "README.md").read_text()
    assert "`f_ppl`" in card and "`interp_change_share`" in card
    assert not (output / "runs" / "nvib_ld1" / "checkpoints").exists()


@pytest.mark.slow
def test_rerun_skips_finished_models_and_reevaluates_only_a_missing_one(micro_sweep):
    output, config_file, _ = micro_sweep
    weights, metrics = mtimes(output, "model.safetensors"), mtimes(output, "metrics.json")
    reproduce(output, config_file)
    assert mtimes(output, "model.safetensors") == weights and mtimes(output, "metrics.json") == metrics
    info = json.loads((output / "run_info.json").read_text())
    assert {info["models"][m]["status"] for m in MICRO_MODELS} == {"skipped"}

    (output / "runs" / "nvib_ld0.1" / "metrics.json").unlink()
    reproduce(output, config_file)
    assert mtimes(output, "model.safetensors") == weights  # nothing retrained
    changed = {m for m, t in mtimes(output, "metrics.json").items() if t != metrics[m]}
    assert changed == {"nvib_ld0.1"}
    info = json.loads((output / "run_info.json").read_text())
    assert {m: info["models"][m]["status"] for m in MICRO_MODELS} == {
        "none": "skipped",
        "vae_pooled": "skipped",
        "nvib_ld0.1": "evaluated",
        "nvib_ld1": "skipped",
    }


@pytest.mark.slow
def test_parallel_sweep_matches_the_sequential_one(micro_sweep, tmp_path):
    sequential, config_file, _ = micro_sweep
    output = tmp_path / "parallel"
    flags = ["--config", str(config_file), "--output-dir", str(output), *MICRO_FLAGS, "--jobs", "2"]
    assert main(["reproduce", *flags]) == 0
    assert all((output / name).is_file() for name in OUTPUT_FILES)
    rows = {row["model"]: row for row in csv.DictReader((output / "results.csv").open())}
    expected = {row["model"]: row for row in csv.DictReader((sequential / "results.csv").open())}
    assert list(rows) == list(expected) == [*MICRO_MODELS, "data"]
    for model in MICRO_MODELS:  # same seeds, same data: the same models up to float summation order
        for key in ("reconstruction_loss", "vectors_kept"):
            assert float(rows[model][key]) == pytest.approx(float(expected[model][key]), rel=1e-3), (model, key)
    info = json.loads((output / "run_info.json").read_text())
    assert {info["models"][m]["status"] for m in MICRO_MODELS} == {"trained"}
    assert info["command"].endswith("--jobs 2") and info["models"]["data"]["status"] == "evaluated"
    log = (output / "runs" / "nvib_ld1" / "worker.log").read_text()
    assert "train_runtime" in log  # the worker's training output went to its log
    assert len((output / "runs" / "nvib_ld1" / "prior_samples.txt").read_text().splitlines()) == 8


def table_without_times(output: Path) -> dict[str, dict[str, str]]:
    """results.csv by model, without the wall-time columns (the only ones a rerun may change)."""
    rows = csv.DictReader((output / "results.csv").open())
    return {row["model"]: {k: v for k, v in row.items() if not k.endswith("wall_time_s")} for row in rows}


@pytest.mark.slow
def test_sweep_killed_with_sigkill_resumes_to_the_same_table(micro_sweep, tmp_path):
    """A sweep killed (SIGKILL) once its first model is done, then run again, skips that model, trains the rest and
    writes the uninterrupted sweep's table to the last digit: same seed, one thread, CPU (issue 14's determinism)."""
    import os
    import signal
    import subprocess
    import sys

    straight, config_file, _ = micro_sweep
    output = tmp_path / "killed"
    flags = ["reproduce", "--config", str(config_file), "--output-dir", str(output), *MICRO_FLAGS]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    worker = subprocess.Popen([sys.executable, "-m", "nvib_hf.cli.main", *flags], env=env)
    first_done = output / "runs" / MICRO_MODELS[0] / "metrics.json"
    deadline = time.time() + 600
    while not first_done.is_file() and worker.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert worker.poll() is None, "the sweep ended before it could be killed"
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=60) == -signal.SIGKILL
    assert not (output / "results.csv").exists()  # killed before the table

    assert main(flags) == 0
    info = json.loads((output / "run_info.json").read_text())
    assert info["models"][MICRO_MODELS[0]]["status"] == "skipped"
    assert {info["models"][m]["status"] for m in MICRO_MODELS[1:]} == {"trained"}
    assert table_without_times(output) == table_without_times(straight)


def test_sweep_rejects_zero_jobs(tmp_path, capsys):
    assert main(["reproduce", "--jobs", "0", "--output-dir", str(tmp_path / "out")]) == 2
    assert "jobs must be an integer >= 1" in capsys.readouterr().err


def test_parallel_sweep_names_the_failed_job():
    from concurrent.futures import ThreadPoolExecutor

    from nvib_hf.experiments.workers import _wait

    with ThreadPoolExecutor(1) as pool:
        futures = {pool.submit(lambda: 1): "none", pool.submit(lambda: 1 / 0): "nvib_ld1"}
        with pytest.raises(RuntimeError, match=r"sweep job 'nvib_ld1' failed \(division by zero\); see its worker.log"):
            _wait(futures, "Training", progress=False)


def test_config_signature_follows_effective_training_options(monkeypatch):
    import nvib_hf.experiments as experiments

    config = SweepConfig()
    signature = experiments.config_signature(config)
    assert experiments.config_signature(SweepConfig(jobs=4, output_dir="elsewhere")) == signature
    assert experiments.config_signature(SweepConfig(budget=2.0)) != signature
    monkeypatch.setitem(experiments.SWEEP_TRAIN_DEFAULTS, "kl_start_step", 600)  # a changed built-in default
    assert experiments.config_signature(config) != signature
