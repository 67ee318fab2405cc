"""Start-up time of the command line: ``nvib-hf --help`` against an empty interpreter, each in a fresh subprocess.

    python benchmarks/bench_cli_startup.py [--repeats 5] [--command "train --help"]

Prints the median wall time of ``python -c pass`` (the floor: interpreter start-up) and of ``nvib-hf ARGS`` (run as
``python -m nvib_hf.cli.main ARGS`` with this interpreter, so the checkout on ``PYTHONPATH`` is what is timed), and
their ratio. The CLI imports torch, Transformers and the model only inside the command that runs, so ``--help`` should
stay well under 1.5 s (it took 6-8 s when the package imported the model eagerly). The machine may be shared: read
the ratio, not only the absolute times.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time


def median_wall_time(command: list[str], repeats: int) -> float:
    """Median seconds of ``repeats`` runs of ``command`` (each must exit 0; output discarded)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command; the median is printed")
    parser.add_argument("--command", default="--help", help="arguments of nvib-hf to time (default: --help)")
    args = parser.parse_args()
    reference = median_wall_time([sys.executable, "-c", "pass"], args.repeats)
    cli = median_wall_time([sys.executable, "-m", "nvib_hf.cli.main", *shlex.split(args.command)], args.repeats)
    print(f"python -c pass        : {reference:.3f} s (median of {args.repeats})")
    print(f"nvib-hf {args.command:<14}: {cli:.3f} s (median of {args.repeats})")
    print(f"ratio                 : {cli / reference:.1f}x")


if __name__ == "__main__":
    main()
