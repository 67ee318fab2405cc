"""Reliability of runs and checkpoints: interrupted training, crashes while saving, a full disk, two runs into one
directory, untrusted model directories, and same-seed determinism (docs/reliability.md)."""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSeq2SeqLM
from transformers.trainer_utils import get_last_checkpoint

from nvib_hf.cli.main import main
from nvib_hf.data import load_default_tokenizer
from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration
from nvib_hf.training import run as training
from nvib_hf.training.checkpointing import STAGING_DIR, CheckpointSaveError, EpochSeededLengthGroupedSampler
from nvib_hf.training.schedules import KLSchedule
from nvib_hf.training.trainer import TRAIN_LOG_KEYS, NvaeTrainer
from nvib_hf.utils.checkpoints import CheckpointError, load_pretrained
from nvib_hf.utils.run_lock import LOCK_NAME, output_dir_lock
from tests.nvae_testing import tiny_config
from tests.test_trainer import make_dataset, tiny_model, training_args
from tests.test_trainer import tokenizer as tokenizer  # noqa: F401 - the 99-word tokenizer fixture

REPO = Path(__file__).resolve().parents[1]

# The cases of this file (README and docs/reliability.md count them); test_case_list_is_complete keeps it in step.
CASES = (
    "lock_refuses_a_second_run_and_frees_on_sigkill",
    "lock_is_reentrant_and_removed_on_release",
    "crash_while_saving_keeps_the_previous_checkpoint_and_resumes_exactly",
    "full_disk_while_saving_is_an_error_and_keeps_the_last_checkpoint",
    "failed_model_save_replaces_no_file_of_the_model_directory",
    "cli_reports_save_and_lock_errors_in_one_line",
    "epoch_order_depends_on_seed_and_epoch_only",
    "pickle_weights_are_refused_unless_allowed",
    "truncated_safetensors_names_the_file_and_tensor",
    "wrong_tensor_shape_names_the_file_and_tensor",
    "unknown_config_field_warns_with_file_and_field",
    "extra_python_file_in_a_model_directory_never_runs",
    "sigkill_then_resume_matches_the_uninterrupted_run",
    "same_seed_same_losses_and_prior_samples",
    "case_list_is_complete",
)

LOSS_KEYS = ("loss", "grad_norm", "learning_rate", *TRAIN_LOG_KEYS, "step", "epoch")  # every logged training value
# 48 sentences in batches of 8: 6 steps per epoch, so checkpoint-8 and later lie inside the second epoch; logs every
# 3 steps, checkpoints every 4 (a checkpoint between two logs).
TINY = ["train", "--preset", "tiny", "--report-to", "none"]
SHORT = [
    *TINY,
    *("--max-steps", "20", "--save-steps", "4", "--logging-steps", "3", "--max-train-sentences", "48"),
    *("--batch-size", "8", "--eval-samples", "8", "--validation-samples", "8", "--num-examples", "2"),
]


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"nvib-hf {command}: error: "), err
    return err


def loss_logs(log_history: list[dict]) -> list[dict]:
    return [{k: log[k] for k in LOSS_KEYS if k in log} for log in log_history if "loss" in log]


# --- the output directory lock ----------------------------------------------------------------------------------


@pytest.fixture
def runs(monkeypatch) -> list:
    """Replaces ``run_training``: records the calls that got past the CLI's checks and its lock."""
    calls: list = []

    def fake_run_training(options, *, resume=False, command=""):
        calls.append(options)
        return training.TrainResult(Path(options.output_dir), finished=False, global_step=0)

    monkeypatch.setattr(training, "run_training", fake_run_training)
    return calls


def test_lock_refuses_a_second_run_and_frees_on_sigkill(runs, tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from nvib_hf.utils.run_lock import output_dir_lock\n"
            f"with output_dir_lock({str(out)!r}):\n    print('held', flush=True); time.sleep(600)",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main([*TINY, "--output-dir", str(out)]) == 2
        err = one_line_error(capsys, "train")
        assert str(out) in err and f"PID {holder.pid}" in err and "in use by another nvib-hf train run" in err
        assert not runs
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (out / LOCK_NAME).exists()  # a killed holder leaves its file, but the kernel has dropped its lock
    assert main([*TINY, "--output-dir", str(out)]) == 0 and len(runs) == 1
    assert not (out / LOCK_NAME).exists()


def test_lock_is_reentrant_and_removed_on_release(tmp_path):
    out = tmp_path / "nested" / "run"
    with output_dir_lock(out):
        assert (out / LOCK_NAME).read_text().strip() == str(os.getpid())
        with output_dir_lock(out):  # nvib-hf train takes it, then run_training again
            pass
        assert (out / LOCK_NAME).exists()
    assert not (out / LOCK_NAME).exists()
    with output_dir_lock(out, enabled=False):  # non-main ranks of a distributed run
        assert not (out / LOCK_NAME).exists()


# --- atomic checkpoints and exact resumption (in process, a tiny model) -------------------------------------------


def make_trainer(tokenizer, output_dir: Path) -> NvaeTrainer:
    """12 sentences in batches of 4: 3 steps per epoch; 6 steps, checkpoints at 2, 4, 6 (4 lies in epoch 2),
    logs at 3 and 6 (the checkpoints at 2 and 4 fall between logs), KL weights rising from step 1."""
    args = training_args(
        output_dir,
        max_steps=6,
        save_strategy="steps",
        save_steps=2,
        save_total_limit=2,
        logging_steps=3,
        train_sampling_strategy="group_by_length",
    )
    return NvaeTrainer(
        model=tiny_model(seed=3),
        args=args,
        train_dataset=make_dataset(tokenizer, 12, seed=5),
        processing_class=tokenizer,
        kl_gaussian_schedule=KLSchedule("linear", max_weight=0.05, warmup_steps=5, start_step=1),
        kl_dirichlet_schedule=KLSchedule("linear", max_weight=0.5, warmup_steps=5, start_step=1),
    )


def assert_same_training(a: NvaeTrainer, b: NvaeTrainer) -> None:
    """Bit-identical weights and identical logged losses (CPU, one thread: same operations in the same order)."""
    state_a, state_b = a.model.state_dict(), b.model.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
    logs = loss_logs(a.state.log_history)
    assert len(logs) == 4 and logs == loss_logs(b.state.log_history)  # logs at steps 2, 3, 4, 6


def complete(checkpoint: Path) -> bool:
    names = {"model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"}
    return names <= {p.name for p in checkpoint.iterdir()}


def test_crash_while_saving_keeps_the_previous_checkpoint_and_resumes_exactly(tokenizer, tmp_path, monkeypatch):
    epochs: list[int] = []
    set_epoch = EpochSeededLengthGroupedSampler.set_epoch
    monkeypatch.setattr(EpochSeededLengthGroupedSampler, "set_epoch", lambda s, e: (epochs.append(e), set_epoch(s, e)))
    straight = make_trainer(tokenizer, tmp_path / "straight")
    straight.train()
    assert sorted(set(epochs)) == [0, 1]  # the Trainer reseeds the length-grouped order for each epoch
    assert sorted(p.name for p in (tmp_path / "straight").iterdir()) == ["checkpoint-4", "checkpoint-6"]

    saves = {"n": 0}
    save_rng_state = NvaeTrainer._save_rng_state

    def crash_on_third_save(self, output_dir):
        saves["n"] += 1
        if saves["n"] == 3:
            Path(output_dir, "rng_state.pth").write_bytes(b"half a file")
            raise RuntimeError("simulated crash while writing rng_state.pth")
        save_rng_state(self, output_dir)

    monkeypatch.setattr(NvaeTrainer, "_save_rng_state", crash_on_third_save)
    crashed_dir = tmp_path / "crashed"
    with pytest.raises(CheckpointSaveError, match="checkpoint-6") as caught:
        make_trainer(tokenizer, crashed_dir).train()
    assert "simulated crash" in str(caught.value) and f"{crashed_dir / 'checkpoint-4'}, is intact" in str(caught.value)
    assert sorted(p.name for p in crashed_dir.iterdir()) == ["checkpoint-2", "checkpoint-4"]  # no staging, no -6
    assert complete(crashed_dir / "checkpoint-4")
    monkeypatch.undo()

    (crashed_dir / STAGING_DIR / "checkpoint-6").mkdir(parents=True)  # as a SIGKILL during the save would leave it
    resumed = make_trainer(tokenizer, crashed_dir)
    resumed.train(resume_from_checkpoint=get_last_checkpoint(str(crashed_dir)))  # step 4: inside epoch 2
    assert_same_training(straight, resumed)
    assert sorted(p.name for p in crashed_dir.iterdir()) == ["checkpoint-4", "checkpoint-6"]


def test_full_disk_while_saving_is_an_error_and_keeps_the_last_checkpoint(tokenizer, tmp_path, monkeypatch):
    real_save = torch.save

    def disk_full_on_checkpoint_4(obj, f, *args, **kwargs):
        if "checkpoint-4" in str(f) and str(f).endswith("optimizer.pt"):
            Path(f).write_bytes(b"\0" * 64)  # part of the file made it to disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(f))
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_full_on_checkpoint_4)
    out = tmp_path / "run"
    with pytest.raises(CheckpointSaveError) as caught:
        make_trainer(tokenizer, out).train()
    message = str(caught.value)
    assert "writing checkpoint checkpoint-4" in message and "the disk is full (ENOSPC" in message
    assert f"{out / 'checkpoint-2'}, is intact" in message and "--resume" in message
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-2"]
    assert complete(out / "checkpoint-2")
    torch.load(out / "checkpoint-2" / "optimizer.pt", weights_only=True)  # the good one still loads


def test_failed_model_save_replaces_no_file_of_the_model_directory(tokenizer, tmp_path, monkeypatch):
    """The final model directory is written aside and moved into place file by file: a full disk while it is written
    (here: in the model card, the last file) raises ModelSaveError naming the cause, and every file of the model saved
    before is byte for byte what it was; no partial file and no staging folder is left."""
    from nvib_hf.reporting import model_card
    from nvib_hf.training.checkpointing import ModelSaveError
    from nvib_hf.training.options import TrainOptions

    out = tmp_path / "run"
    options = TrainOptions.from_preset("tiny", output_dir=str(out))
    result = training.TrainResult(out, True, 4, metrics={"bleu": 1.0}, examples={}, wall_time_s=1.0)
    training.save_model_directory(result, tiny_model(seed=0), tokenizer, options, "nvib-hf train")
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "modeling_nvae.py"} <= set(before)

    def disk_full(directory, **kwargs):
        (Path(directory) / "README.md").write_text("half a card")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(directory) / "README.md"))

    monkeypatch.setattr(model_card, "write_model_card", disk_full)
    with pytest.raises(ModelSaveError) as caught:
        training.save_model_directory(result, tiny_model(seed=1), tokenizer, options, "nvib-hf train")
    message = str(caught.value)
    assert f"writing the model directory {out} failed (the disk is full (ENOSPC" in message
    assert "no file of it was replaced" in message and "--resume" in message
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_cli_reports_save_and_lock_errors_in_one_line(monkeypatch, tmp_path, capsys):
    def failing_run(options, *, resume=False, command=""):
        raise CheckpointSaveError("writing checkpoint checkpoint-4 in X failed (the disk is full (ENOSPC)); ...")

    monkeypatch.setattr(training, "run_training", failing_run)
    assert main([*TINY, "--output-dir", str(tmp_path / "out")]) == 2
    assert "the disk is full (ENOSPC)" in one_line_error(capsys, "train")


def test_epoch_order_depends_on_seed_and_epoch_only():
    lengths = [3, 9, 4, 7, 5, 8, 6, 2, 9, 3, 4, 6, 7, 5, 8, 2]
    sampler = EpochSeededLengthGroupedSampler(4, lengths, seed=11)
    orders = {}
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        torch.manual_seed(0)
        first = list(sampler)
        torch.manual_seed(12345)  # the global RNG does not matter
        assert list(sampler) == first and sorted(first) == list(range(len(lengths)))
        orders[epoch] = first
    assert orders[0] != orders[1]
    assert list(EpochSeededLengthGroupedSampler(4, lengths, seed=12)) != orders[0]


# --- untrusted model directories ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny NVAE directory (safetensors, config, modelling code, the shipped tokenizer)."""
    directory = tmp_path_factory.mktemp("models") / "good"
    torch.manual_seed(0)
    NvaeForConditionalGeneration(tiny_config(vocab_size=len(load_default_tokenizer()))).save_pretrained(directory)
    load_default_tokenizer().save_pretrained(directory)
    return directory


def copy_of(model_dir: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(model_dir, tmp_path / "copy"))


class WritesMarker:
    """Unpickling this runs code: it creates the marker file (what a malicious pytorch_model.bin can do)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_weights_are_refused_unless_allowed(model_dir, tmp_path, capsys):
    directory = copy_of(model_dir, tmp_path)
    weights = load_file(directory / "model.safetensors")
    torch.save(weights, directory / "pytorch_model.bin")
    (directory / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"pytorch_model.bin is a pickle file .*allow_pickle=True"):
        load_pretrained(directory)
    for load in (NvaeForConditionalGeneration.from_pretrained, AutoModelForSeq2SeqLM.from_pretrained):
        with pytest.raises(OSError, match="allow_pickle=True"):
            load(directory)
    loaded = load_pretrained(directory, allow_pickle=True)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in weights.items())
    assert NvaeForConditionalGeneration.from_pretrained(directory, allow_pickle=True) is not None

    argv = ["sample", str(directory), "--num-samples", "1", "--max-new-tokens", "2"]
    assert main(argv) == 2
    err = one_line_error(capsys, "sample")
    assert "pytorch_model.bin" in err and "--allow-pickle" in err
    assert main([*argv, "--allow-pickle"]) == 0

    marker = tmp_path / "unpickled"
    (directory / "pytorch_model.bin").write_bytes(pickle.dumps(WritesMarker(str(marker))))
    with pytest.raises(CheckpointError):
        load_pretrained(directory)
    assert not marker.exists()  # refused before anything was unpickled


def test_truncated_safetensors_names_the_file_and_tensor(model_dir, tmp_path):
    directory = copy_of(model_dir, tmp_path)
    file = directory / "model.safetensors"
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    cut = rf"{re.escape(str(file))} is truncated: {len(data) // 2} bytes, but tensor model\.\S+ ends at byte"
    with pytest.raises(CheckpointError, match=cut):
        load_pretrained(directory)
    file.write_bytes(data[:20])
    with pytest.raises(CheckpointError, match=rf"{re.escape(str(file))} is truncated: its header needs"):
        load_pretrained(directory)
    with pytest.raises(OSError, match=rf"safetensors weights of {re.escape(str(directory))} are truncated or corrupt"):
        NvaeForConditionalGeneration.from_pretrained(directory)


def test_wrong_tensor_shape_names_the_file_and_tensor(model_dir, tmp_path):
    directory = copy_of(model_dir, tmp_path)
    file = directory / "model.safetensors"
    weights = load_file(file)
    name = "model.decoder.layers.0.fc1.weight"
    rows, cols = weights[name].shape
    weights[name] = torch.zeros(rows + 1, cols)
    save_file(weights, file, metadata={"format": "pt"})
    expected = rf"{re.escape(str(file))}: tensor {re.escape(name)} has shape \[{rows + 1}, {cols}\], but the model of config.json expects"
    with pytest.raises(CheckpointError, match=expected):
        load_pretrained(directory)
    with pytest.raises(RuntimeError, match="ignore_mismatched_sizes"):  # transformers refuses too (report on stderr)
        NvaeForConditionalGeneration.from_pretrained(directory)


def test_unknown_config_field_warns_with_file_and_field(model_dir, tmp_path):
    directory = copy_of(model_dir, tmp_path)
    config_file = directory / "config.json"
    values = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**values, "future_gate": 0.5, "transformers_version": "9.9.0"}))
    with pytest.warns(
        UserWarning, match=rf"{re.escape(str(config_file))}: unknown field\(s\) \['future_gate'\].*9\.9\.0"
    ):
        model = load_pretrained(directory)
    assert isinstance(model, NvaeForConditionalGeneration)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_pretrained(model_dir)  # the directory as saved: no such warning
    assert not [w for w in caught if "unknown field" in str(w.message)]


REMOTE_LOAD = textwrap.dedent(
    """
    import sys
    sys.path = [p for p in sys.path if p not in ("", {repo!r})]
    sys.modules["nvib_hf"] = None  # as on a machine without nvib-hf
    from transformers import AutoModelForSeq2SeqLM
    model = AutoModelForSeq2SeqLM.from_pretrained({source!r}, trust_remote_code=True)
    print(type(model).__module__)
    """
)


def test_extra_python_file_in_a_model_directory_never_runs(model_dir, tmp_path):
    directory = copy_of(model_dir, tmp_path)
    extra, listed = tmp_path / "extra_ran", tmp_path / "listed_ran"
    (directory / "evil.py").write_text(f"open({str(extra)!r}, 'w').write('ran')\n")
    with open(directory / "modeling_nvae.py", "a") as handle:  # a file auto_map names: trust_remote_code runs it
        handle.write(f"\nopen({str(listed)!r}, 'w').write('ran')\n")
    assert (
        "modeling_nvae.NvaeForConditionalGeneration"
        in json.loads((directory / "config.json").read_text())["auto_map"].values()
    )

    load_pretrained(directory)  # nvib-hf's loader: the installed classes, none of the directory's code
    assert not extra.exists() and not listed.exists()

    environment = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")}
    environment.pop("PYTHONPATH", None)
    script = REMOTE_LOAD.format(repo=str(REPO), source=str(directory))
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().startswith("transformers_modules")
    assert listed.exists()  # trust_remote_code=True ran the modelling file auto_map names ...
    assert not extra.exists()  # ... and its relative imports, never another .py of the directory


# --- whole runs: SIGKILL + --resume, and same-seed determinism (slow) ----------------------------------------------


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("straight") / "run"
    assert main([*SHORT, "--output-dir", str(out)]) == 0
    return out


def last_state(output_dir: Path) -> dict:
    last = get_last_checkpoint(str(output_dir / "checkpoints"))
    return json.loads((Path(last) / "trainer_state.json").read_text())


def assert_same_model_directory(a: Path, b: Path) -> None:
    weights_a, weights_b = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert weights_a.keys() == weights_b.keys()
    for key in weights_a:
        assert torch.equal(weights_a[key], weights_b[key]), key
    logs = loss_logs(last_state(a)["log_history"])
    assert len(logs) == 10 and logs == loss_logs(last_state(b)["log_history"])  # steps 3,4,6,8,9,12,15,16,18,20
    metrics_a, metrics_b = (json.loads((d / "eval_results.json").read_text()) for d in (a, b))
    metrics_a.pop("train_wall_time_s"), metrics_b.pop("train_wall_time_s")
    assert metrics_a == metrics_b
    examples_a, examples_b = (json.loads((d / "examples.json").read_text()) for d in (a, b))
    assert examples_a["prior_samples"] and examples_a == examples_b


def wait_for_checkpoint(process: subprocess.Popen, checkpoints: Path, first: int, stderr: Path) -> int:
    """The step of the first complete checkpoint >= ``first`` (checkpoint-N appears only once complete)."""
    deadline = time.time() + 900
    while time.time() < deadline:
        steps = [int(p.name.split("-")[1]) for p in checkpoints.glob("checkpoint-*")] if checkpoints.is_dir() else []
        if any(step >= first for step in steps):
            return max(steps)
        assert process.poll() is None, f"the run ended before checkpoint-{first}: {stderr.read_text()[-3000:]}"
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint-{first} within 15 minutes")


@pytest.mark.slow
def test_sigkill_then_resume_matches_the_uninterrupted_run(straight_run, tmp_path, capsys):
    out = tmp_path / "killed"
    stderr = tmp_path / "stderr.txt"
    environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    with open(stderr, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "nvib_hf.cli.main", *SHORT, "--output-dir", str(out)],
            cwd=tmp_path,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        while not (out / LOCK_NAME).is_file() or not (out / LOCK_NAME).read_text().strip():
            assert process.poll() is None, stderr.read_text()[-3000:]
            time.sleep(0.05)
        assert main([*SHORT, "--output-dir", str(out)]) == 2  # a second run into the same directory is refused
        assert f"PID {process.pid}" in one_line_error(capsys, "train")
        step = wait_for_checkpoint(process, out / "checkpoints", 8, stderr)  # inside the second epoch
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL and step < 20
    assert not (out / "model.safetensors").exists()
    assert main([*SHORT, "--output-dir", str(out), "--resume"]) == 0
    assert_same_model_directory(straight_run, out)


@pytest.mark.slow
def test_same_seed_same_losses_and_prior_samples(straight_run, tmp_path, capsys):
    again = tmp_path / "again"
    assert main([*SHORT, "--output-dir", str(again)]) == 0
    assert_same_model_directory(straight_run, again)
    capsys.readouterr()
    samples = []
    for seed in (0, 0, 1):
        assert main(["sample", str(again), "--num-samples", "3", "--do-sample", "--seed", str(seed)]) == 0
        samples.append(json.loads(capsys.readouterr().out))
    assert samples[0] == samples[1] and samples[0] != samples[2]


def test_case_list_is_complete():
    tests = sorted(name[len("test_") :] for name in globals() if name.startswith("test_"))
    assert tests == sorted(CASES) and len(set(CASES)) == len(CASES)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"\*\*Runs and checkpoints: (\d+) run cases\*\*", readme)  # the README's count
    assert stated is not None and int(stated.group(1)) == len(CASES)
