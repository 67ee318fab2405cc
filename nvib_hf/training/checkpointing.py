# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""Checkpoints that survive crashes, and a resumed run that continues exactly where the interrupted one was.

``ResumableTrainerMixin`` (mixed into ``NvaeTrainer``) changes three things of the Transformers ``Trainer``:

1. **Atomic checkpoints.** The Trainer writes ``checkpoint-N`` in place: a crash (SIGKILL, a full disk) in the middle
   leaves a folder with, say, weights but no optimiser or trainer state, which ``--resume`` picks as the last
   checkpoint and fails on (or, worse, resumes with a fresh optimiser). Here every checkpoint is written into
   ``.checkpoint-staging/checkpoint-N``, its files are fsync'ed, and only then is it renamed to ``checkpoint-N``
   (a rename within one file system is atomic) and are older checkpoints rotated away. ``get_last_checkpoint``
   only matches ``checkpoint-<digits>``, so a half-written staging folder is never resumed from; the next save
   removes it. A failed save raises ``CheckpointSaveError`` naming the folder, the cause (the disk being full is
   named as such) and the last complete checkpoint, which is left untouched.
2. **Data order per epoch from (seed, epoch) alone.** Transformers' ``LengthGroupedSampler`` shuffles with the
   global torch RNG at the start of each epoch. A run resumed in the middle of epoch e ≥ 1 builds that epoch's order
   from the freshly seeded RNG (the checkpoint's RNG state is restored only after the skipped batches), so it sees
   other batches than the uninterrupted run. ``EpochSeededLengthGroupedSampler`` draws epoch e's order from a
   generator seeded with ``data_seed + e`` (as accelerate's seedable random sampler does), so both runs agree.
3. **A log line at every checkpoint.** The logged ``loss`` is the mean since the last log; a run resumed from a
   checkpoint between two logs would average over fewer steps. Logging whenever a checkpoint is written makes every
   logging window lie inside one process's lifetime, so resumed and uninterrupted runs log the same numbers.

The NVIB samples with the global torch RNG, whose state the Trainer saves (``rng_state.pth``) and restores; the KL
and alignment schedules are functions of ``state.global_step``, which ``trainer_state.json`` restores.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint, rotate_checkpoints

STAGING_DIR = ".checkpoint-staging"
TRAINER_STATE_NAME = "trainer_state.json"


class CheckpointSaveError(RuntimeError):
    """Writing a checkpoint failed; the previous complete checkpoint is left as it was."""


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    """``LengthGroupedSampler`` whose order in epoch e depends on (``seed``, e) only, not on the global RNG.

    The Trainer (through accelerate's data loader) calls ``set_epoch(e)`` before each epoch, also after skipping
    the batches a resumed run has already trained on.

    Transformers' order serves each mega-batch (up to 50 batches) from its longest to its shortest sentences, so the batch
    length falls in a saw-tooth every 50 steps. ``shuffle_batches=True`` keeps the same length-grouped batches (the
    same padding) and serves them in a random order, also seeded by (``seed``, e) (``docs/recipe.md``: the
    saw-tooth order hurt the compression recipe).
    """

    def __init__(self, batch_size: int, lengths: list[int], seed: int, shuffle_batches: bool = False) -> None:
        self.generator = torch.Generator()  # the epoch-seeded source of the order (set again by super().__init__)
        super().__init__(batch_size, lengths=lengths, generator=self.generator)
        self.seed = seed
        self.epoch = 0
        self.shuffle_batches = shuffle_batches

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        self.generator.manual_seed(self.seed + self.epoch)
        if not self.shuffle_batches:
            return super().__iter__()
        indices = list(super().__iter__())
        batches = [indices[start : start + self.batch_size] for start in range(0, len(indices), self.batch_size)]
        order = torch.randperm(len(batches), generator=self.generator).tolist()
        return iter([index for position in order for index in batches[position]])


def _disk_full(error: BaseException) -> bool:
    """Whether ENOSPC (or EDQUOT) is the error or one of its causes (torch.save wraps it in a RuntimeError)."""
    seen: BaseException | None = error
    while seen is not None:
        if getattr(seen, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _fsync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` and the folder itself to disk (a rename is durable only after its data)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_checkpoint(staged: Path, target: Path) -> None:
    """Rename the complete folder ``staged`` to ``target`` (replacing an older ``target`` of the same step)."""
    _fsync_tree(staged)
    if target.exists():  # the same step saved again: move the old one aside (os.replace refuses non-empty folders)
        os.replace(target, staged.parent / f"{target.name}.old")
    os.replace(staged, target)
    _fsync_dir(target.parent)


def failure_reason(error: BaseException, folder: str | Path) -> str:
    """Why a save failed, in a few words: a full disk (with the space left) or the error itself."""
    if not _disk_full(error):
        return f"{type(error).__name__}: {error}"
    try:
        free = f", {shutil.disk_usage(folder).free / 2**20:.0f} MiB free"
    except OSError:
        free = ""
    return f"the disk is full (ENOSPC{free})"


def save_error_message(error: BaseException, name: str, run_dir: str, previous: str | None) -> str:
    """One paragraph: which checkpoint failed, why, and what is left to resume from."""
    reason = failure_reason(error, run_dir)
    left = (
        f"the last complete checkpoint, {previous}, is intact: free space or fix the cause, then continue with --resume"
        if previous
        else "no earlier checkpoint exists"
    )
    return f"writing checkpoint {name} in {run_dir} failed ({reason}); its partial files were removed and {left}."


class ModelSaveError(CheckpointSaveError):
    """Writing the final model directory failed; the files already there and the checkpoints are as they were."""


def publish_files(staged: Path, target: Path) -> None:
    """Move every file of the complete folder ``staged`` into ``target`` (``os.replace``, one rename each, after
    flushing them to disk), replacing files of the same names; ``staged`` is left empty."""
    _fsync_tree(staged)
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(staged.iterdir()):
        if not path.is_file():
            raise ModelSaveError(f"{path} is not a file: a model directory holds files only")
        os.replace(path, target / path.name)
    _fsync_dir(target)


class ResumableTrainerMixin(Trainer):
    """Atomic checkpoints, epoch-seeded length-grouped batches and a log at every checkpoint (module docstring).

    Mix in before the Transformers ``Trainer`` class: ``class NvaeTrainer(ResumableTrainerMixin, Seq2SeqTrainer)``.
    """

    _staging = False
    shuffle_length_groups = False  # serve the length-grouped batches in a random order (NvaeTrainer sets it)

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSeededLengthGroupedSampler(
                sampler.batch_size, sampler.lengths, seed, shuffle_batches=self.shuffle_length_groups
            )
        return sampler

    def _maybe_log_save_evaluate(self, *args: Any, **kwargs: Any) -> None:
        if self.control.should_save:
            self.control.should_log = True  # close the logging window at the checkpoint (point 3)
        return super()._maybe_log_save_evaluate(*args, **kwargs)

    def _get_output_dir(self, trial: Any) -> str:
        run_dir = super()._get_output_dir(trial)
        return os.path.join(run_dir, STAGING_DIR) if self._staging else run_dir

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        """The Trainer's checkpoint, written under ``.checkpoint-staging`` and renamed into place when complete."""
        run_dir = self._get_output_dir(trial)
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging = Path(run_dir) / STAGING_DIR
        previous = get_last_checkpoint(run_dir) if os.path.isdir(run_dir) else None
        if self.args.should_save:
            shutil.rmtree(staging, ignore_errors=True)  # left behind by a run killed while saving
        self.accelerator.wait_for_everyone()
        self._staging = True
        try:
            super()._save_checkpoint(model, trial)  # every rank writes its rng_state_<rank>.pth there too
            self.accelerator.wait_for_everyone()
            if self.args.should_save:
                publish_checkpoint(staging / name, Path(run_dir) / name)
        except Exception as error:
            if self.args.should_save:
                shutil.rmtree(staging, ignore_errors=True)
            raise CheckpointSaveError(save_error_message(error, name, run_dir, previous)) from error
        finally:
            self._staging = False
        if self.args.should_save:
            self._fix_best_checkpoint_path(staging, Path(run_dir), name)
            shutil.rmtree(staging, ignore_errors=True)
            rotate_checkpoints(run_dir, self.args.save_total_limit, self.state.best_model_checkpoint, use_mtime=True)
        self.accelerator.wait_for_everyone()

    def _fix_best_checkpoint_path(self, staging: Path, run_dir: Path, name: str) -> None:
        """The Trainer recorded the best checkpoint under the staging folder: point it at the published one."""
        best = self.state.best_model_checkpoint
        if best and Path(best).parent == staging:
            self.state.best_model_checkpoint = str(run_dir / Path(best).name)
            self.state.save_to_json(str(run_dir / name / TRAINER_STATE_NAME))
