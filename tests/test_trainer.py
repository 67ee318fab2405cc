# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""KL schedules, NvaeTrainer (logging, gradient accumulation, evaluation, resume, TensorBoard) on tiny models."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch
from datasets import Dataset
from transformers import AutoTokenizer, Seq2SeqTrainingArguments, TrainerCallback

from nvib_hf import NvaeForConditionalGeneration
from nvib_hf.data.collator import NvaeDataCollator
from nvib_hf.evaluation.reconstruction import evaluate_reconstruction, text_metrics
from nvib_hf.training.schedules import (
    DecaySchedule,
    KLSchedule,
    RampSchedule,
    constant,
    cosine,
    cyclical,
    linear,
)
from nvib_hf.training.trainer import TRAIN_LOG_KEYS, NvaeTrainer
from tests.nvae_testing import tiny_config

WORDS = [f"w{i}" for i in range(94)]  # ids 5..98 after the five special tokens


# --- fixtures -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """Tiny models gain nothing from intra-op threads, and spinning threads slow down badly on shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    """A 99-entry word-piece tokenizer: [PAD]=0, [CLS]=1, [SEP]=2, [UNK]=3, [MASK]=4, then w0..w93."""
    directory = tmp_path_factory.mktemp("tokenizer")
    (directory / "vocab.txt").write_text("\n".join(["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]", *WORDS]) + "\n")
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "unk_token": "[UNK]",
        "mask_token": "[MASK]",
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config))
    tok = AutoTokenizer.from_pretrained(str(directory))
    assert len(tok) == 99 and tok.cls_token_id == 1 and tok.sep_token_id == 2
    return tok


def make_dataset(tokenizer, num: int, seed: int = 0, vocab: int = 10, repeat: int = 1) -> Dataset:
    """Random sentences of 3–8 words over the first ``vocab`` words, each ``repeat`` times, tokenised as the data
    module does: input_ids = [CLS] w.. [SEP], labels = input_ids[1:]."""
    rng = random.Random(seed)
    texts = [" ".join(rng.choice(WORDS[:vocab]) for _ in range(rng.randint(3, 8))) for _ in range(num)] * repeat
    ids = tokenizer(texts)["input_ids"]
    return Dataset.from_dict(
        {"text": texts, "input_ids": ids, "attention_mask": [[1] * len(i) for i in ids], "labels": [i[1:] for i in ids]}
    )


def tiny_model(seed: int = 0, **overrides) -> NvaeForConditionalGeneration:
    """One-layer tiny NVAE with the config's default dropout (the resume test relies on dropout being on)."""
    fields = {
        "encoder_layers": 1,
        "decoder_layers": 1,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "dropout": 0.1,
        **overrides,
    }
    config = tiny_config(**fields)
    torch.manual_seed(seed)
    return NvaeForConditionalGeneration(config)


def training_args(output_dir, **overrides) -> Seq2SeqTrainingArguments:
    kwargs = {
        "output_dir": str(output_dir),
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 8,
        "learning_rate": 1e-3,
        "max_steps": 4,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
        "seed": 7,
        "data_seed": 11,
        "dataloader_num_workers": 0,
    }
    return Seq2SeqTrainingArguments(**{**kwargs, **overrides})


def train_logs(trainer) -> list[dict]:
    return [log for log in trainer.state.log_history if "loss" in log]


# --- schedules ------------------------------------------------------------------------------------------------------


def test_schedule_functions_at_key_steps():
    assert constant(0, 0.5) == 0.5 and constant(2, 0.5, start_step=3) == 0.0 and constant(3, 0.5, start_step=3) == 0.5
    assert [linear(t, 2.0, 4) for t in (0, 1, 2, 4, 100)] == [0.0, 0.5, 1.0, 2.0, 2.0]
    assert [linear(t, 1.0, 4, start_step=2) for t in (0, 2, 4, 6, 7)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert linear(0, 1.0, 0) == 1.0 and cosine(0, 1.0, 0) == 1.0
    assert [cosine(t, 1.0, 4) for t in (0, 4, 9)] == [0.0, 1.0, 1.0]
    assert cosine(2, 1.0, 4) == pytest.approx(0.5) and cosine(1, 1.0, 4) == pytest.approx(
        0.5 * (1 - math.cos(math.pi / 4))
    )
    values = [cosine(t, 1.0, 10) for t in range(12)]
    assert values == sorted(values)  # monotonic


def test_cyclical_schedule_follows_fu_et_al():
    # T = 40, M = 4 cycles of P = 10 steps, R = 0.5: half-cosine up over 5 steps, flat at max for 5.
    schedule = KLSchedule("cyclical", max_weight=2.0, total_steps=40, num_cycles=4, ratio=0.5)
    for cycle in range(4):
        start = 10 * cycle
        assert schedule(start) == 0.0
        assert schedule(start + 2) == pytest.approx(2.0 * 0.5 * (1 - math.cos(math.pi * 0.4)))
        assert schedule(start + 5) == 2.0 and schedule(start + 9) == 2.0
    assert schedule(40) == 2.0 and schedule(1000) == 2.0  # after the last cycle
    assert cyclical(3, 1.0, total_steps=8, num_cycles=2, ratio=1.0, start_step=1) == pytest.approx(0.5)
    assert cyclical(0, 1.0, total_steps=8, start_step=1) == 0.0


def test_schedule_dataclass_dispatch_and_dict_round_trip():
    for kind, expected in (("constant", 0.3), ("linear", 0.15), ("cosine", 0.15)):
        schedule = KLSchedule(kind, max_weight=0.3, warmup_steps=4, start_step=1)
        assert schedule(3) == pytest.approx(expected) and schedule(0) == 0.0
        assert KLSchedule.from_dict(schedule.to_dict()) == schedule
        assert json.loads(json.dumps(schedule.to_dict())) == schedule.to_dict()
    assert KLSchedule.from_dict({"kind": "linear", "warmup_steps": 2})(1) == 0.5


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"kind": "exponential"}, "kind"),
        ({"max_weight": -1.0}, "max_weight"),
        ({"max_weight": float("nan")}, "max_weight"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"warmup_steps": 2.5}, "warmup_steps"),
        ({"start_step": -3}, "start_step"),
        ({"num_cycles": 0}, "num_cycles"),
        ({"ratio": 0.0}, "ratio"),
        ({"ratio": 1.5}, "ratio"),
        ({"total_steps": 0}, "total_steps"),
        ({"kind": "cyclical"}, "total_steps"),
        ({"warmup": 3}, "warmup"),
    ],
)
def test_schedule_validation_names_the_bad_field(fields, bad):
    with pytest.raises(ValueError, match=bad):
        KLSchedule.from_dict(fields)


# --- collator and text metrics ----------------------------------------------------------------------------------------


def test_collator_pads_inputs_and_labels():
    batch = NvaeDataCollator(pad_token_id=0, pad_to_multiple_of=4)(
        [
            {"input_ids": [1, 5, 2], "labels": [5, 2], "text": "x"},
            {"input_ids": [1, 5, 6, 7, 2], "labels": [5, 6, 7, 2]},
        ]
    )
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["input_ids"].tolist() == [[1, 5, 2, 0, 0, 0, 0, 0], [1, 5, 6, 7, 2, 0, 0, 0]]
    assert batch["attention_mask"].sum(-1).tolist() == [3, 5]
    assert batch["labels"].tolist() == [[5, 2, -100, -100], [5, 6, 7, 2]]


def test_text_metrics():
    same = text_metrics(["w1 w2 w3 w4", "w5 w6 w7 w8"], ["w1 w2 w3 w4", "w5 w6 w7 w8"])
    assert same["bleu"] == pytest.approx(100.0) and same["exact_match"] == 1.0
    metrics = text_metrics(["w1 w2 w3 w4", "w9"], ["w1 w2 w3 w4", "w5 w6 w7 w8"])
    assert metrics["exact_match"] == 0.5 and 0.0 < metrics["bleu"] < 100.0


# --- training -----------------------------------------------------------------------------------------------------


def test_logs_every_part_with_scheduled_weights_under_gradient_accumulation(tokenizer, tmp_path):
    schedule_g = KLSchedule("linear", max_weight=0.05, warmup_steps=4)
    schedule_d = KLSchedule("cosine", max_weight=1.0, warmup_steps=4, start_step=1)
    trainer = NvaeTrainer(
        tiny_model(),
        training_args(tmp_path, max_steps=5, per_device_train_batch_size=2, gradient_accumulation_steps=2),
        train_dataset=make_dataset(tokenizer, 12),
        processing_class=tokenizer,
        kl_gaussian_schedule=schedule_g,
        kl_dirichlet_schedule=schedule_d,
    )
    trainer.train()
    logs = train_logs(trainer)
    assert [log["step"] for log in logs] == [1, 2, 3, 4, 5]
    for log in logs:
        assert set(TRAIN_LOG_KEYS) <= set(log)
        assert all(math.isfinite(log[k]) for k in TRAIN_LOG_KEYS)
        step = log["step"] - 1  # the update logged at step s ran with global_step = s − 1
        assert log["lambda_gaussian"] == pytest.approx(schedule_g(step), abs=1e-12)
        assert log["lambda_dirichlet"] == pytest.approx(schedule_d(step), abs=1e-12)
        objective = log["reconstruction_loss"] + log["lambda_gaussian"] * log["kl_gaussian"]
        assert log["loss"] == pytest.approx(objective + log["lambda_dirichlet"] * log["kl_dirichlet"], abs=1e-5)
        assert 0.0 < log["vectors_kept_proportion"] <= 1.0 and log["vectors_kept"] >= 1.0
    assert trainer.kl_weights(2) == (schedule_g(2), schedule_d(2))


@pytest.mark.parametrize("from_config", [False, True])
def test_guided_alignment_is_scheduled_logged_and_added_to_the_loss(tokenizer, tmp_path, from_config):
    """λ_A from a DecaySchedule, or (no schedule) the config's constant lambda_alignment: logged with its loss, and
    part of the logged objective while it is on; off (and not logged) once the schedule reaches 0."""
    schedule = None if from_config else DecaySchedule(2.0, 3)
    trainer = NvaeTrainer(
        tiny_model(lambda_alignment=0.5 if from_config else 0.0),
        training_args(tmp_path, max_steps=4),
        train_dataset=make_dataset(tokenizer, 16),
        alignment_schedule=schedule,
    )
    trainer.train()
    logs = train_logs(trainer)
    for log in logs:
        step = log["step"] - 1
        weight = 0.5 if from_config else schedule(step)
        if weight == 0:
            assert "alignment_loss" not in log
            continue
        assert log["lambda_alignment"] == pytest.approx(weight)
        assert 0.0 < log["alignment_loss"] < 1.0
        objective = log["reconstruction_loss"] + log["lambda_gaussian"] * log["kl_gaussian"]
        objective += log["lambda_dirichlet"] * log["kl_dirichlet"] + weight * log["alignment_loss"]
        assert log["loss"] == pytest.approx(objective, abs=1e-5)
    assert sum("alignment_loss" in log for log in logs) == (4 if from_config else 3)


def test_ramp_schedule_at_key_steps_and_bad_arguments():
    ramp = RampSchedule(0.25, 0.15, start_step=10, end_step=20)
    assert [ramp(t) for t in (0, 10, 15, 20, 1000)] == pytest.approx([0.25, 0.25, 0.20, 0.15, 0.15])
    jump = RampSchedule(1.0, 0.5, start_step=3, end_step=3)
    assert [jump(t) for t in (2, 3, 4)] == [1.0, 0.5, 0.5]
    for bad, name in (
        (dict(start_value=-1.0, end_value=0.1), "start_value"),
        (dict(start_value=1.0, end_value=float("nan")), "end_value"),
        (dict(start_value=1.0, end_value=0.1, start_step=-1), "start_step"),
        (dict(start_value=1.0, end_value=0.1, start_step=5, end_step=4), "end_step"),
    ):
        with pytest.raises(ValueError, match=f"RampSchedule.{name}"):
            RampSchedule(**bad)


class RecordDelta(TrainerCallback):
    """The model config's δ after each optimiser step (the value that step trained with)."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.seen[state.global_step] = model.config.delta


def test_delta_schedule_sets_the_config_before_each_step_and_is_logged(tokenizer, tmp_path):
    """Step t (global_step t − 1 while it runs) trains with δ = schedule(t − 1); the logs carry that δ; the saved
    config ends with the final δ."""
    schedule = RampSchedule(1.0, 0.2, start_step=1, end_step=3)
    recorder = RecordDelta()
    trainer = NvaeTrainer(
        tiny_model(),
        training_args(tmp_path, max_steps=5),
        train_dataset=make_dataset(tokenizer, 16),
        delta_schedule=schedule,
        callbacks=[recorder],
    )
    trainer.train()
    assert recorder.seen == pytest.approx({t: schedule(t - 1) for t in range(1, 6)})
    assert [log["delta"] for log in train_logs(trainer)] == pytest.approx([schedule(t) for t in range(5)])
    assert trainer.model.config.delta == pytest.approx(0.2)
    with pytest.raises(ValueError, match="delta_schedule must be a RampSchedule"):
        NvaeTrainer(tiny_model(), training_args(tmp_path, max_steps=1), delta_schedule=0.5)


def test_logged_parts_are_means_since_the_last_log(tokenizer, tmp_path):
    schedule = KLSchedule("linear", max_weight=0.04, warmup_steps=4)
    trainer = NvaeTrainer(
        tiny_model(),
        training_args(tmp_path, max_steps=4, logging_steps=2),
        train_dataset=make_dataset(tokenizer, 8),
        kl_gaussian_schedule=schedule,
    )
    trainer.train()
    logs = train_logs(trainer)
    assert [log["step"] for log in logs] == [2, 4]
    assert logs[0]["lambda_gaussian"] == pytest.approx((schedule(0) + schedule(1)) / 2)
    assert logs[1]["lambda_gaussian"] == pytest.approx((schedule(2) + schedule(3)) / 2)
    assert logs[1]["lambda_dirichlet"] == 1.0  # no schedule: the config's λ_D


def test_gradient_accumulation_reproduces_the_large_batch_step(tokenizer, tmp_path):
    """CE per target token over the accumulated batch: 2 × 2 sentences of unequal lengths = one batch of 4."""
    dataset = make_dataset(tokenizer, 8, seed=3)
    weights = []
    for batch_size, accumulation in ((4, 1), (2, 2)):
        model = tiny_model(bottleneck="none", dropout=0.0)
        args = training_args(
            tmp_path / f"ga{accumulation}",
            max_steps=2,
            optim="sgd",
            learning_rate=0.5,
            per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=accumulation,
        )
        NvaeTrainer(model, args, train_dataset=dataset).train()
        weights.append({k: v.detach().clone() for k, v in model.state_dict().items()})
    for name, value in weights[0].items():
        torch.testing.assert_close(weights[1][name], value, atol=2e-6, rtol=1e-5, msg=name)


def test_loss_goes_down_on_a_repetitive_toy_dataset(tokenizer, tmp_path):
    trainer = NvaeTrainer(
        tiny_model(dropout=0.0),
        training_args(tmp_path, max_steps=30, learning_rate=3e-3, logging_steps=5, per_device_train_batch_size=8),
        train_dataset=make_dataset(tokenizer, 4, vocab=6, repeat=8),
        kl_gaussian_schedule=KLSchedule("linear", max_weight=0.01, warmup_steps=10),
    )
    trainer.train()
    losses = [log["loss"] for log in train_logs(trainer)]
    assert len(losses) == 6
    assert losses[-1] < 0.7 * losses[0], losses


def test_evaluate_reports_reconstruction_and_generation_metrics(tokenizer, tmp_path):
    dataset = make_dataset(tokenizer, 10, seed=5)
    model = tiny_model()
    model.train()
    trainer = NvaeTrainer(
        model,
        training_args(tmp_path),
        eval_dataset=dataset,
        processing_class=tokenizer,
        generation_eval=True,
        kl_gaussian_schedule=KLSchedule("constant", max_weight=0.5),
    )
    metrics = trainer.evaluate()
    keys = [
        "loss",
        "reconstruction_loss",
        "token_accuracy",
        "kl_gaussian",
        "kl_dirichlet",
        "vectors_kept",
        "vectors_kept_proportion",
        "bleu",
        "exact_match",
        "runtime",
        "samples_per_second",
    ]
    assert all(f"eval_{k}" in metrics for k in keys), metrics
    assert 0.0 <= metrics["eval_bleu"] <= 100.0 and 0.0 <= metrics["eval_exact_match"] <= 1.0
    assert 0.0 <= metrics["eval_token_accuracy"] <= 1.0 and metrics["eval_reconstruction_loss"] > 0
    expected_loss = (
        metrics["eval_reconstruction_loss"] + 0.5 * metrics["eval_kl_gaussian"] + metrics["eval_kl_dirichlet"]
    )
    assert metrics["eval_loss"] == pytest.approx(expected_loss)
    assert trainer.state.log_history[-1]["eval_bleu"] == metrics["eval_bleu"]
    assert model.training  # the mode is restored after evaluation
    # The standalone function computes the same numbers (λ_G passed explicitly), without the trainer.
    direct = evaluate_reconstruction(model, dataset, tokenizer, batch_size=3, lambda_gaussian=0.5)
    for key in ("loss", "reconstruction_loss", "token_accuracy", "kl_gaussian", "bleu", "exact_match"):
        assert direct[key] == pytest.approx(metrics[f"eval_{key}"], rel=1e-5, abs=1e-6), key
    assert direct["num_samples"] == 10
    assert "eval_bleu" not in trainer.evaluate(generation_eval=False, max_samples=4)


def test_exact_match_after_memorising(tokenizer, tmp_path):
    dataset = make_dataset(tokenizer, 2, vocab=4, repeat=8)
    trainer = NvaeTrainer(
        tiny_model(dropout=0.0),
        training_args(tmp_path, max_steps=60, learning_rate=1e-2, per_device_train_batch_size=16, logging_steps=60),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.train()
    metrics = trainer.evaluate(dataset.select(range(2)), generation_eval=True)
    assert metrics["eval_exact_match"] == 1.0 and metrics["eval_bleu"] == pytest.approx(100.0)
    assert metrics["eval_token_accuracy"] == 1.0


class StopAt(TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def test_resume_from_a_mid_epoch_checkpoint_gives_identical_weights(tokenizer, tmp_path):
    """12 sentences, batches of 4: the checkpoint at step 4 is mid-epoch; dropout and NVIB sampling on."""
    dataset = make_dataset(tokenizer, 12, seed=1)
    schedules = {
        "kl_gaussian_schedule": KLSchedule("linear", max_weight=0.1, warmup_steps=6),
        "kl_dirichlet_schedule": KLSchedule("cyclical", max_weight=1.0, total_steps=8, num_cycles=2),
    }

    def run(output_dir, stop_at=None, resume=None, init_seed=0):
        args = training_args(output_dir, max_steps=8, save_strategy="steps", save_steps=4, logging_steps=2)
        model = tiny_model(seed=init_seed, dropout=0.1)
        callbacks = [StopAt(stop_at)] if stop_at else None
        trainer = NvaeTrainer(model, args, train_dataset=dataset, callbacks=callbacks, **schedules)
        trainer.train(resume_from_checkpoint=resume)
        return model, trainer

    reference, _ = run(tmp_path / "full")
    _, stopped = run(tmp_path / "stopped", stop_at=4)
    assert stopped.state.global_step == 4
    resumed, trainer = run(tmp_path / "stopped", resume=str(tmp_path / "stopped" / "checkpoint-4"), init_seed=123)
    assert trainer.state.global_step == 8
    for name, value in reference.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], value), name


def test_tensorboard_event_files_hold_the_loss_parts(tokenizer, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trainer = NvaeTrainer(
        tiny_model(),
        training_args(tmp_path, max_steps=2, report_to=["tensorboard"]),
        train_dataset=make_dataset(tokenizer, 8),
    )
    trainer.train()
    events = list(tmp_path.rglob("events.out.tfevents.*"))
    assert events
    accumulator = EventAccumulator(str(events[0].parent))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    assert {f"train/{k}" for k in (*TRAIN_LOG_KEYS, "loss")} <= tags, tags
    assert [e.value for e in accumulator.Scalars("train/lambda_dirichlet")] == [1.0, 1.0]


@pytest.mark.parametrize("bottleneck", ["nvib", "none", "vae", "vae_pooled"])
def test_every_bottleneck_trains_logs_and_evaluates(tokenizer, tmp_path, bottleneck):
    dataset = make_dataset(tokenizer, 6)
    trainer = NvaeTrainer(
        tiny_model(bottleneck=bottleneck),
        training_args(tmp_path, max_steps=2),
        train_dataset=dataset,
        eval_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.train()
    assert set(TRAIN_LOG_KEYS) <= set(train_logs(trainer)[-1])
    metrics = trainer.evaluate()
    assert all(math.isfinite(metrics[f"eval_{k}"]) for k in ("loss", "kl_gaussian", "kl_dirichlet", "vectors_kept"))
    if bottleneck == "none":
        assert metrics["eval_kl_gaussian"] == metrics["eval_kl_dirichlet"] == 0.0
        assert metrics["eval_loss"] == pytest.approx(metrics["eval_reconstruction_loss"])


def test_shuffled_length_groups_keep_the_batches_and_change_their_order(tokenizer, tmp_path):
    """``shuffle_length_groups``: the same length-grouped batches (the same padding) in an epoch-seeded random order,
    instead of Transformers' longest-to-shortest run through each group of 50 batches."""
    from nvib_hf.training.checkpointing import EpochSeededLengthGroupedSampler

    lengths = [random.Random(i).randint(3, 40) for i in range(400)]

    def batches(order: list[int]) -> list[list[int]]:
        return [order[start : start + 4] for start in range(0, len(order), 4)]

    plain = batches(list(EpochSeededLengthGroupedSampler(4, lengths, seed=3)))
    sampler = EpochSeededLengthGroupedSampler(4, lengths, seed=3, shuffle_batches=True)
    torch.manual_seed(0)
    shuffled = batches(list(sampler))
    torch.manual_seed(99)  # the global RNG does not matter
    assert batches(list(sampler)) == shuffled
    assert sorted(map(sorted, shuffled)) == sorted(map(sorted, plain)) and shuffled != plain
    longest = [max(lengths[i] for i in batch) for batch in plain]
    # The saw-tooth: groups of min(50, 400 // (4·4)) = 25 batches, each sorted (the longest sentence moved first).
    for group in (longest[1:25], longest[26:50]):
        assert all(a >= b for a, b in zip(group, group[1:]))
    longest = [max(lengths[i] for i in batch) for batch in shuffled]
    assert any(a < b for a, b in zip(longest[1:25], longest[2:25]))
    sampler.set_epoch(1)
    assert batches(list(sampler)) != shuffled

    args = training_args(tmp_path, max_steps=1, train_sampling_strategy="group_by_length")
    trainer = NvaeTrainer(tiny_model(), args, train_dataset=make_dataset(tokenizer, 16), shuffle_length_groups=True)
    assert trainer._get_train_sampler(trainer.train_dataset).shuffle_batches
