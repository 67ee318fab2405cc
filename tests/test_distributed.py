"""Training on an existing distributed engine: 2-process CPU DDP (torchrun, gloo) against one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path):
    """Same global batch, same losses (to 1 %), one results table, a model directory that loads in one process."""
    report_file = tmp_path / "report.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "compare_distributed.py"),
            "--output-dir",
            str(tmp_path / "runs"),
            "--max-steps",
            "5",
            "--per-device-batch-size",
            "8",
            "--json",
            str(report_file),
        ],
        check=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    report = json.loads(report_file.read_text())
    assert report["steps"] == [5]
    assert report["relative_mean_abs_deviation"] <= report["tolerance"] == 0.01
    assert report["results_tables_printed_by_ddp"] == 1
    model_dir = tmp_path / "runs" / "ddp"
    assert (model_dir / "config.json").is_file() and (model_dir / "model.safetensors").is_file()
