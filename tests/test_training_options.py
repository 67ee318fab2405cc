"""TrainOptions.validate and the TensorBoard fallback of training_arguments (fast: no data, no training)."""

from __future__ import annotations

import importlib.util

import pytest

from nvib_hf.training.run import PRESETS, TrainOptions, training_arguments


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_and_defaults_are_valid(preset):
    TrainOptions.from_preset(preset).validate()
    TrainOptions().validate()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"learning_rate": -1e-3}, "learning_rate must be a number > 0"),
        ({"learning_rate": 0}, "learning_rate must be a number > 0"),
        ({"learning_rate": "3e-4"}, "write 3.0e-4"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"max_steps": 0}, "max_steps must be an integer >= 1"),
        ({"max_steps": 10.5}, "max_steps must be an integer >= 1"),
        ({"batch_size": 0}, "batch_size"),
        ({"warmup_steps": -1}, "warmup_steps must be an integer >= 0"),
        ({"kl_start_step": -1}, "kl_start_step"),
        ({"kl_warmup_steps": -5}, "kl_warmup_steps"),
        ({"lambda_gaussian": -0.1}, "lambda_gaussian must be a number >= 0"),
        ({"lambda_dirichlet": -1}, "lambda_dirichlet"),
        ({"dropout": 1.0}, "dropout must be a number in [0, 1)"),
        ({"dropout": -0.1}, "dropout"),
        ({"logging_steps": 0}, "logging_steps"),
        ({"save_steps": 0}, "save_steps"),
        ({"eval_steps": 0}, "eval_steps"),
        ({"stop_after_steps": 0}, "stop_after_steps"),
        ({"eval_samples": 0}, "eval_samples"),
        ({"max_train_sentences": -3}, "max_train_sentences"),
        ({"d_model": 0}, "d_model"),
        ({"max_grad_norm": -1.0}, "max_grad_norm"),
        ({"seed": -1}, "seed"),
        ({"bf16": "yes"}, "bf16"),
        ({"output_dir": " "}, "output_dir"),
        ({"bottleneck": "gaussian"}, "bottleneck must be one of"),
        ({"kl_schedule": "step"}, "kl_schedule must be one of"),
        ({"report_to": 3}, "report_to"),
        ({"d_model": 30, "attention_heads": 4}, "a divisor of d_model=30"),  # NvaeConfig's own check, before data
        ({"model": {"kapa": 2}}, "kapa"),
        ({"model": {"d_model": 64}}, "model.d_model"),
        ({"model": {"delta": -1.0}}, "delta"),
        ({"lambda_alignment": -1.0}, "lambda_alignment must be a number >= 0"),
        ({"lambda_alignment": 1.0, "alignment_steps": 0}, "alignment_steps must be an integer >= 1 when"),
        ({"alignment_steps": -2}, "alignment_steps"),
        ({"lambda_alignment": 1.0, "alignment_steps": 5, "bottleneck": "vae_pooled"}, "lambda_alignment must be 0"),
        ({"group_by_length": "no"}, "group_by_length"),
        ({"lr_scheduler_type": "step"}, "lr_scheduler_type must be one of"),
        ({"final_delta": -0.1}, "final_delta must be a number >= 0"),
        ({"final_delta": "0.1"}, "final_delta"),
        ({"delta_ramp_start_step": -1}, "delta_ramp_start_step"),
        (
            {"delta_ramp_start_step": 10, "delta_ramp_end_step": 5},
            "delta_ramp_end_step must be an integer >= delta_ramp_start_step (10), got 5",
        ),
    ],
)
def test_bad_values_raise_value_errors_naming_the_field(overrides, message):
    with pytest.raises(ValueError) as error:
        TrainOptions.from_preset("tiny", **overrides)
    assert message in str(error.value)


def hide_tensorboard(monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name in ("tensorboard", "tensorboardX") else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_missing_tensorboard_is_dropped_from_report_to_with_a_notice(monkeypatch, tmp_path, capsys):
    hide_tensorboard(monkeypatch)
    options = TrainOptions.from_preset("tiny", output_dir=str(tmp_path / "out"))
    assert options.report_to == ["tensorboard"]
    args = training_arguments(options)
    assert "tensorboard" not in args.report_to
    notices = [line for line in capsys.readouterr().err.splitlines() if "tensorboard is not installed" in line]
    assert len(notices) == 1
    assert str(tmp_path / "out" / "checkpoints") in notices[0] and 'pip install "nvib-hf[tensorboard]"' in notices[0]
    assert options.report_to == ["tensorboard"]  # the options themselves are unchanged


def test_missing_tensorboard_keeps_other_reporters(monkeypatch, tmp_path, capsys):
    hide_tensorboard(monkeypatch)
    args = training_arguments(TrainOptions(output_dir=str(tmp_path), report_to=["tensorboard", "codecarbon"]))
    assert args.report_to == ["codecarbon"]


def test_installed_tensorboard_is_kept(monkeypatch, tmp_path, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a, **k: object() if name == "tensorboard" else real(name, *a, **k)
    )
    args = training_arguments(TrainOptions(output_dir=str(tmp_path)))
    assert args.report_to == ["tensorboard"]
    assert "tensorboard is not installed" not in capsys.readouterr().err


def test_report_to_none_needs_no_tensorboard(monkeypatch, tmp_path, capsys):
    hide_tensorboard(monkeypatch)
    args = training_arguments(TrainOptions(output_dir=str(tmp_path), report_to=["none"]))
    assert args.report_to == []
    assert "tensorboard" not in capsys.readouterr().err


def test_delta_schedule_starts_at_the_model_delta():
    """The ramp starts at model.delta (NvaeConfig's default δ when unset) and is absent without final_delta."""
    from nvib_hf.models.nvae.configuration_nvae import NvaeConfig

    assert TrainOptions.from_preset("tiny").delta_schedule() is None
    ramp = TrainOptions.from_preset("tiny", final_delta=0.1, delta_ramp_start_step=5, delta_ramp_end_step=15)
    assert ramp.delta_schedule()(0) == NvaeConfig().delta == 1.0 and ramp.delta_schedule()(15) == 0.1
    shaped = TrainOptions.from_preset("tiny", model={"delta": 0.25}, final_delta=0.15, delta_ramp_end_step=10)
    assert shaped.delta_schedule()(0) == 0.25 and shaped.delta_schedule()(5) == pytest.approx(0.2)


@pytest.mark.parametrize("name", ["linear", "sqrt", "cosine", "constant"])
def test_learning_rate_schedules_follow_their_formula(name, tmp_path):
    """After the warm-up W of T steps, with p = (t − W)/(T − W): linear 1 − p, sqrt (1 − p)^½, cosine ½(1 + cos πp),
    constant 1 (times the learning rate); the Trainer builds the scheduler from training_arguments' fields."""
    import math

    import torch
    from transformers import get_scheduler

    options = TrainOptions.from_preset(
        "tiny", output_dir=str(tmp_path), lr_scheduler_type=name, max_steps=110, warmup_steps=10
    )
    args = training_arguments(options)
    optimiser = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=options.learning_rate)
    scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimiser,
        num_warmup_steps=10,
        num_training_steps=110,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    factors = {}
    for step in range(111):
        factors[step] = scheduler.get_last_lr()[0] / options.learning_rate
        optimiser.step()
        scheduler.step()
    expected = {
        "linear": lambda p: 1 - p,
        "sqrt": lambda p: math.sqrt(1 - p),
        "cosine": lambda p: 0.5 * (1 + math.cos(math.pi * p)),
        "constant": lambda p: 1.0,
    }[name]
    assert factors[5] == pytest.approx(0.5)  # the linear warm-up
    for step in (10, 35, 60, 85, 109):
        assert factors[step] == pytest.approx(expected((step - 10) / 100), abs=1e-6), step
