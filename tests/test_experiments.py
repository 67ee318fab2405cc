"""`nvib_hf.experiments.sweep` (the paper's comparison, `nvib-hf reproduce`) and `nvib_hf.evaluation.language_model`."""

from __future__ import annotations

import csv
import json
import math
import os
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
    DEFAULT_NVIB_FINAL_DELTA,
    SweepConfig,
    change_share,
    copy_rate,
    distinct_n,
    edit_distance,
    mean_step_edit_distance,
)
from nvib_hf.training.options import PRESETS

torch.set_num_threads(1)

MICRO_MODELS = ["none", "vae_pooled", "nvib_d0.12", "stride_0.5", "nvib_d0.12_seed5"]
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
    "--final-delta",
    "0.12",
    "0.05",
    "--stride-fractions",
    "0.5",
    "--extra-seeds",
    "5",
    "--seeded-models",
    "nvib_d0.12",
    "--models",
    *MICRO_MODELS,
    "--seed",
    "3",
]
OUTPUT_FILES = (
    "results.md",
    "results.csv",
    "bleu_vs_vectors_kept.png",
    "samples_vs_reconstruction.png",
    "interpolations.txt",
    "run_info.json",
    "claims.md",
    "claims.json",
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
    config = SweepConfig(
        budget=0.5, nvib_final_delta=[0.1, 0.3], stride_keep_fractions=[0.5], extra_seeds=[7], seeded_models=["vae"]
    )
    names = ["none", "vae", "vae_pooled", "nvib_d0.1", "nvib_d0.3", "stride_0.5", "vae_seed7"]
    assert [s.name for s in config.model_specs()] == names
    specs = {s.name: s for s in config.model_specs()}
    assert specs["vae_pooled"].interpolation_mode == "componentwise" and specs["vae_seed7"].setting == "vae"
    options = config.train_options(specs["nvib_d0.3"], tmp_path / "run")
    assert (options.bottleneck, options.final_delta, options.seed, options.model["delta"]) == ("nvib", 0.3, 42, 0.25)
    assert (options.max_steps, options.save_steps, options.eval_steps, options.eval_samples) == (2400, 400, 400, 500)
    assert (options.kl_start_step, options.kl_warmup_steps, options.alignment_steps) == (400, 200, 200)
    assert (options.delta_ramp_start_step, options.delta_ramp_end_step) == (600, 1000)
    assert (options.tokenizer, options.learning_rate, options.dropout) == ("wordpiece-8k", 1e-3, 0.0)  # the preset
    stride = config.train_options(specs["stride_0.5"], tmp_path / "stride")
    assert (stride.final_delta, stride.model["stride_keep_fraction"]) == (None, 0.5)
    pooled = config.train_options(specs["vae_pooled"], tmp_path / "pooled")
    assert pooled.lambda_alignment == 0.0 and config.train_options(specs["vae"], tmp_path / "v").lambda_alignment > 0
    assert config.train_options(specs["vae_seed7"], tmp_path / "seed").seed == 7
    assert [s.name for s in SweepConfig(models=["vae", "nvib"]).model_specs()] == [
        "vae",
        *[f"nvib_d{v:g}" for v in DEFAULT_NVIB_FINAL_DELTA],
        "nvib_d0.12_seed0",
        "nvib_d0.12_seed1",
    ]
    assert len(SweepConfig().model_specs()) == 15


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"budgett": 1}, "unknown sweep option"),
        ({"budget": 0}, "budget must be positive"),
        ({"models": ["nvib_d7"]}, "unknown model"),
        ({"train": {"bottleneck": "vae"}}, "may not set"),
        ({"train": {"d_modell": 8}}, "unknown training option"),
        ({"nvib_model": {"not_a_field": 1}}, "not NvaeConfig fields"),
        ({"nvib_model": {"kappa": 0}}, "kappa"),
        ({"nvib_final_delta": [0.1, 0.10]}, "repeated"),
        ({"nvib_final_delta": [0]}, "must be positive"),
        ({"stride_keep_fractions": [1.5]}, "at most 1"),
        ({"extra_seeds": [42]}, "differ from each other and from seed 42"),
        ({"seeded_models": ["nvib_d9"]}, "seeded_models must name models"),
        ({"train": {"final_delta": 0.1}}, "may not set"),
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
    assert "--final-delta" in capsys.readouterr().out


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
    assert {rows[m]["interp_mode"] for m in ("none", "nvib_d0.12", "stride_0.5")} == {"mixture"}
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
            "interp_repeat_rate",
            "repeat_rate",
            "kl_start_step",
        ):
            assert math.isfinite(float(rows[model][key])), (model, key)
    assert float(rows["vae_pooled"]["vectors_kept"]) == 1.0
    assert (rows["nvib_d0.12_seed5"]["setting"], rows["nvib_d0.12_seed5"]["seed"]) == ("nvib_d0.12", "5")
    assert (rows["nvib_d0.12"]["final_delta"], rows["nvib_d0.12"]["seed"]) == ("0.12", "3")
    assert rows["stride_0.5"]["keep_fraction"] == "0.5" and rows["stride_0.5"]["final_delta"] == ""
    assert rows["stride_0.5"]["plateau_exit_step"] == ""  # 8 steps: never leaves the plateau (CE < 4)
    assert (output / "runs" / "stride_0.5" / "training_log.json").is_file()
    claims = json.loads((output / "claims.json").read_text())["claims"]
    assert [c["claim"] for c in claims] == [1, 2, 3, 4]
    assert claims[0]["verdict"] == "not measured"  # no vae run in the micro sweep
    assert claims[1]["evidence"][0].startswith("nvib_d0.12: kept ") and "(2 seeds)" in claims[1]["evidence"][0]
    table = (output / "results.md").read_text()
    assert table.startswith("Command: `nvib-hf reproduce --config") and "| none | none | none | n/a |" in table
    info = json.loads((output / "run_info.json").read_text())
    assert {info["models"][m]["status"] for m in MICRO_MODELS} == {"trained"}
    assert info["effective_steps"]["max_steps"] == 8 and info["sweep_config"]["seed"] == 3
    assert {"torch", "transformers", "nvib-hf", "python", "CPU cores"} <= set(info["environment"])
    text = (output / "interpolations.txt").read_text()
    assert text.count("=== pair") == 2 and text.count("--- nvib_d0.12 (mixture) ---") == 2
    assert text.count("τ=0.5:") == 2 * len(MICRO_MODELS)
    assert (output / "bleu_vs_vectors_kept.png").read_bytes()[:4] == b"\x89PNG"
    assert (output / "lm" / "reference" / "model.safetensors").is_file()
    card = (output / "runs" / "nvib_d0.12" / "README.md").read_text()
    assert "`f_ppl`" in card and "`interp_change_share`" in card
    assert not (output / "runs" / "nvib_d0.12" / "checkpoints").exists()


@pytest.mark.slow
def test_rerun_skips_finished_models_and_reevaluates_only_a_missing_one(micro_sweep):
    output, config_file, _ = micro_sweep
    weights, metrics = mtimes(output, "model.safetensors"), mtimes(output, "metrics.json")
    reproduce(output, config_file)
    assert mtimes(output, "model.safetensors") == weights and mtimes(output, "metrics.json") == metrics
    info = json.loads((output / "run_info.json").read_text())
    assert {info["models"][m]["status"] for m in MICRO_MODELS} == {"skipped"}

    (output / "runs" / "stride_0.5" / "metrics.json").unlink()
    reproduce(output, config_file)
    assert mtimes(output, "model.safetensors") == weights  # nothing retrained
    changed = {m for m, t in mtimes(output, "metrics.json").items() if t != metrics[m]}
    assert changed == {"stride_0.5"}
    info = json.loads((output / "run_info.json").read_text())
    assert {m: info["models"][m]["status"] for m in MICRO_MODELS} == {
        "none": "skipped",
        "vae_pooled": "skipped",
        "nvib_d0.12": "skipped",
        "stride_0.5": "evaluated",
        "nvib_d0.12_seed5": "skipped",
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
    log = (output / "runs" / "nvib_d0.12" / "worker.log").read_text()
    assert "train_runtime" in log  # the worker's training output went to its log
    assert len((output / "runs" / "nvib_d0.12" / "prior_samples.txt").read_text().splitlines()) == 8


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
        futures = {pool.submit(lambda: 1): "none", pool.submit(lambda: 1 / 0): "nvib_d0.12"}
        with pytest.raises(
            RuntimeError, match=r"sweep job 'nvib_d0.12' failed \(division by zero\); see its worker.log"
        ):
            _wait(futures, "Training", progress=False)


def test_config_signature_follows_effective_training_options(monkeypatch):
    import nvib_hf.experiments as experiments

    config = SweepConfig()
    signature = experiments.config_signature(config)
    assert experiments.config_signature(SweepConfig(jobs=4, output_dir="elsewhere")) == signature
    assert experiments.config_signature(SweepConfig(budget=2.0)) != signature
    monkeypatch.setitem(experiments.SWEEP_TRAIN_DEFAULTS, "kl_start_step", 600)  # a changed built-in default
    assert experiments.config_signature(config) != signature
    monkeypatch.undo()
    assert experiments.config_signature(config) == signature
    monkeypatch.setitem(PRESETS["default"], "learning_rate", 5e-4)  # the main job's recipe changed
    assert experiments.config_signature(config) != signature


# --- plateau exit and the claims' rules ---------------------------------------------------------------------------
def test_plateau_exit_step_is_the_first_logged_step_below_4_nats():
    from nvib_hf.experiments import plateau_exit_step

    log = [
        {"step": 50, "reconstruction_loss": 6.1},
        {"step": 100, "eval_reconstruction_loss": 3.0},  # evaluation entries do not count
        {"step": 150, "reconstruction_loss": 4.0},
        {"step": 200, "reconstruction_loss": 3.9},
        {"step": 250, "reconstruction_loss": 2.0},
    ]
    assert plateau_exit_step(log) == 200.0
    assert math.isnan(plateau_exit_step(log[:3])) and plateau_exit_step(log, threshold=6.5) == 50.0


def _row(name: str, bottleneck: str, **metrics: float) -> dict:
    return {"model": name, "setting": name.split("_seed")[0], "bottleneck": bottleneck, **metrics}


def test_claims_follow_their_rules():
    from nvib_hf.experiments import evaluate_claims, summarize

    rows = [
        _row("vae", "vae", bleu=80.0, vectors_kept_proportion=1.0, sample_ppl_ratio=20.0, distinct_2=0.5),
        _row("vae_seed0", "vae", bleu=82.0, vectors_kept_proportion=1.0, sample_ppl_ratio=22.0, distinct_2=0.5),
        _row("nvib_d0.5", "nvib", bleu=81.0, vectors_kept_proportion=0.95),
        _row("nvib_d0.1", "nvib", bleu=75.0, vectors_kept_proportion=0.35, sample_ppl_ratio=5.0, distinct_2=0.7),
        _row("nvib_d0.1_seed0", "nvib", bleu=77.0, vectors_kept_proportion=0.37, sample_ppl_ratio=6.0, distinct_2=0.7),
        _row("stride_0.4", "vae_stride", bleu=60.0, vectors_kept_proportion=0.4),
        _row("stride_0.4_seed0", "vae_stride", bleu=62.0, vectors_kept_proportion=0.4),
        {"model": "data", "setting": "data", "bottleneck": "", "bleu": float("nan")},
    ]
    summary = summarize(rows, "nvib_d0.1", "bleu")
    assert (summary.mean, summary.count) == (76.0, 2) and summary.spread == pytest.approx(2**0.5)
    assert str(summary) == "76 ± 1.414 (2 seeds)"
    claims = {c["claim"]: c for c in evaluate_claims(rows)}
    # 1: 76 ≥ 0.9 × 81 at 36 % kept -> holds; 2: 76 ± 1.4 against 61 ± 1.4 at the same proportion -> holds
    assert claims[1]["verdict"] == "holds" and "0.36" in claims[1]["reason"]
    assert claims[2]["verdict"] == "holds" and claims[2]["evidence"][0].startswith("nvib_d0.1: kept 0.36 ± ")
    # 3: judge ratio and distinct-2 better, repeat rate missing (a tie) -> partly; 4: nothing measured -> partly
    assert claims[3]["verdict"] == "partly" and claims[3]["reason"].startswith(
        "the NVAE is better on 2, worse on 0, within the seeds' spread on 1 of 3"
    )
    assert claims[3]["reason"].endswith("n = 2 and 2 seeds, fewer than 3: indicative only")
    rows[5:7] = [
        _row(n, "vae_stride", bleu=90.0, vectors_kept_proportion=0.4) for n in ("stride_0.4", "stride_0.4_seed0")
    ]
    assert evaluate_claims(rows)[1]["verdict"] == "does not hold"
    weak = [r | {"bleu": 10.0} if r["bottleneck"] == "nvib" else r for r in rows]
    assert evaluate_claims(weak)[0]["verdict"] == "does not hold"
    assert evaluate_claims(rows[2:5])[0]["verdict"] == "not measured"  # no vae run


# --- a sweep spread over launched processes ----------------------------------------------------------------------
def test_launcher_shard_reads_rank_and_world_size(monkeypatch):
    from nvib_hf.experiments.shards import LAUNCHER_VARIABLES, Shard, detach_from_launcher, launcher_shard

    assert launcher_shard({}) == Shard(0, 1) and launcher_shard({"RANK": "2", "WORLD_SIZE": "3"}) == Shard(2, 3)
    with pytest.raises(ValueError, match="RANK must be in"):
        launcher_shard({"RANK": "3", "WORLD_SIZE": "3"})
    with pytest.raises(ValueError, match="RANK must be an integer, got 'one'"):
        launcher_shard({"RANK": "one"})
    assert launcher_shard({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}) == Shard(1, 2)  # no LOCAL_WORLD_SIZE
    for name in LAUNCHER_VARIABLES:
        monkeypatch.setenv(name, "0")
    detach_from_launcher()
    assert launcher_shard() == Shard(0, 1) and not any(name in os.environ for name in LAUNCHER_VARIABLES)


@pytest.mark.slow
def test_sweep_under_torchrun_shards_the_models_and_matches_the_sequential_one(micro_sweep, tmp_path):
    """``torchrun --nproc_per_node 2 -m nvib_hf.cli.main reproduce ...``: each process trains its share of the models
    as single-process runs, shard 0 writes the table, and the rows are the sequential sweep's."""
    import subprocess
    import sys

    sequential, config_file, _ = micro_sweep
    output = tmp_path / "sharded"
    flags = ["reproduce", "--config", str(config_file), "--output-dir", str(output), *MICRO_FLAGS]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*launcher, "-m", "nvib_hf.cli.main", *flags], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("# NVAE vs Transformer baselines") == 1 and "shard 1 of 2 done" in done.stdout
    info = json.loads((output / "run_info.json").read_text())
    assert info["models"]["none"]["status"] == "trained" and info["models"]["vae_pooled"]["status"] == "shard 1"
    assert table_without_times(output).keys() == table_without_times(sequential).keys()
    rows, expected = table_without_times(output), table_without_times(sequential)
    for model in MICRO_MODELS:  # the same single-process trainings: equal up to float summation order
        for key in ("reconstruction_loss", "vectors_kept", "bleu"):
            assert float(rows[model][key]) == pytest.approx(float(expected[model][key]), rel=1e-3, abs=1e-6), (
                model,
                key,
            )
