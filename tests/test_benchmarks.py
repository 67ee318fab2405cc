"""The training-throughput benchmark runs end to end (two worker processes, one per allocator setting) and prints
one row per case with ratios against the reference; its cases build the options the trainer would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_throughput  # noqa: E402


def test_cases_follow_the_presets_and_keep_the_reference_as_it_was():
    cases = {case.name: case for case in bench_throughput.cases()}
    reference = next(case for case in cases.values() if case.preset is None).options()
    assert reference.tokenizer is None  # the shipped bert-base-uncased
    assert (reference.bf16, reference.keep_freed_memory) == (False, False)
    default = next(case for case in cases.values() if case.name.startswith("default preset")).options()
    assert default.bf16 is None and default.keep_freed_memory is True  # bf16 auto, as `nvib-hf train` runs it
    workers = {case.options().keep_freed_memory for case in cases.values()}
    assert workers == {False, True}  # both worker processes have cases


@pytest.mark.slow
def test_benchmark_prints_a_ratio_row_per_case():
    command = [sys.executable, "benchmarks/bench_throughput.py", "--cases", "1", "3", "--repeats", "1", "--steps", "1"]
    out = subprocess.run(command + ["--sentences", "400"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if re.match(r"\| (reference|default)", line)]
    assert len(rows) == 3 and rows[0].split("|")[3].strip() == "1.00x"
    assert all(float(row.split("|")[3].strip().rstrip("x")) > 0 for row in rows)
