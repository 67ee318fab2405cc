"""Distributed training on an existing engine: a 2-process CPU DDP run (gloo) against one process, same global batch.

Usage::

    python scripts/compare_distributed.py --output-dir outputs/ddp-check            # tiny preset, 60 steps
    python scripts/compare_distributed.py --output-dir DIR --max-steps 20 --json results/ddp_check.json

Runs ``nvib-hf train --preset tiny`` twice with dropout 0 and without length grouping (a plain seeded random order):
once in one process with batch 2·B, once as ``torchrun --nproc_per_node 2`` with batch B per process. With
Transformers' Trainer (on Accelerate) the two ranks read consecutive per-device batches of the same seeded order, so
both runs see the same global batches and average the same gradients; they differ only in the NVIB's training
noise (each rank draws its own Gamma / Gaussian samples) and in floating-point reduction order. The check compares
the losses both runs logged (``trainer_state.json`` of their last checkpoint) and that only the main process wrote
the model directory and printed the results; the DDP checkpoint is then loaded in this one process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

TOLERANCE = 0.01  # relative: mean |loss_ddp − loss_single| / mean loss_single, over the logged steps


def train_command(output_dir: Path, batch_size: int, max_steps: int) -> list[str]:
    return [
        "-m",
        "nvib_hf.cli.main",
        "train",
        "--preset",
        "tiny",
        "--output-dir",
        str(output_dir),
        "--batch-size",
        str(batch_size),
        "--max-steps",
        str(max_steps),
        "--dropout",
        "0",
        "--no-group-by-length",
        "--report-to",
        "none",
        "--logging-steps",
        "5",
        "--save-steps",
        str(max_steps),
    ]


def logged_losses(output_dir: Path) -> dict[int, float]:
    """step -> training loss, from the last checkpoint's trainer_state.json."""
    states = sorted(
        (output_dir / "checkpoints").glob("checkpoint-*/trainer_state.json"), key=lambda p: p.stat().st_mtime
    )
    if not states:
        raise SystemExit(f"{output_dir}: no checkpoint with a trainer_state.json")
    history = json.loads(states[-1].read_text())["log_history"]
    return {entry["step"]: entry["loss"] for entry in history if "loss" in entry}


def run(args: list[str], log: Path) -> str:
    completed = subprocess.run(args, capture_output=True, text=True)
    log.write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed (exit {completed.returncode}); see {log}")
    return completed.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", required=True, help="folder for both runs (replaced)")
    parser.add_argument("--per-device-batch-size", type=int, default=16, help="B; the single run uses 2·B")
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument("--json", default=None, help="also write the comparison to this JSON file")
    args = parser.parse_args()
    if args.per_device_batch_size < 1 or args.max_steps < 5:
        raise SystemExit("--per-device-batch-size must be >= 1 and --max-steps >= 5")
    root = Path(args.output_dir)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    single, ddp = root / "single", root / "ddp"
    batch = args.per_device_batch_size
    run([sys.executable, *train_command(single, 2 * batch, args.max_steps)], root / "single.log")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29531"]
    ddp_output = run([*torchrun, *train_command(ddp, batch, args.max_steps)], root / "ddp.log")
    losses_single, losses_ddp = logged_losses(single), logged_losses(ddp)
    steps = sorted(set(losses_single) & set(losses_ddp))
    mean_single = sum(losses_single[s] for s in steps) / len(steps)
    deviation = sum(abs(losses_ddp[s] - losses_single[s]) for s in steps) / len(steps) / mean_single
    from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration

    NvaeForConditionalGeneration.from_pretrained(ddp)  # the DDP run's model directory loads in one process
    report = {
        "steps": steps,
        "loss_single": [losses_single[s] for s in steps],
        "loss_ddp_2_processes": [losses_ddp[s] for s in steps],
        "relative_mean_abs_deviation": deviation,
        "tolerance": TOLERANCE,
        "results_tables_printed_by_ddp": ddp_output.count("Model directory:"),
    }
    print("step  single  ddp(2)")
    for s in steps:
        print(f"{s:4d}  {losses_single[s]:.4f}  {losses_ddp[s]:.4f}")
    print(
        f"relative mean |difference| {deviation:.4f} (tolerance {TOLERANCE}); results printed "
        f"{report['results_tables_printed_by_ddp']}x by the DDP run"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if deviation > TOLERANCE or report["results_tables_printed_by_ddp"] != 1:
        raise SystemExit("the distributed run does not match the single-process run")


if __name__ == "__main__":
    main()
