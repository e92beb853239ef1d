"""Benchmark: how long the ``jianhu`` command takes to start, against Python starting click.

Runs ``jianhu --version`` and ``jianhu --help`` (which loads the plugins to list their commands)
as whole processes, beside the baseline ``python -c "import click"``, and prints the median and
the slowest of each. Usage::

    python benchmarks/cli_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def timed(cmd: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` runs of ``cmd`` (output discarded)."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    jianhu = shutil.which("jianhu") or sys.exit("jianhu is not on PATH (activate the venv)")
    rows = [("baseline: python -c 'import click'", [sys.executable, "-c", "import click"]),
            ("jianhu --version", [jianhu, "--version"]),
            ("jianhu --help", [jianhu, "--help"])]
    base = None
    for label, cmd in rows:
        t = timed(cmd, args.runs)
        median = statistics.median(t)
        base = base or median
        print(f"{label:38s} median {median * 1000:7.0f} ms  max {max(t) * 1000:7.0f} ms  "
              f"({median / base:4.1f}× baseline)")


if __name__ == "__main__":
    main()
