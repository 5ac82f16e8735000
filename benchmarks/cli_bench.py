"""Measure how fast etslink starts: the CLI's help, a light command, a bare import, a run.

    python benchmarks/cli_bench.py [--runs N] [--quick]

Each figure is the wall time of a fresh process (`subprocess.run`, output discarded),
the median of `--runs` (default 5), after one untimed warm-up run that fills the
operating system's file cache and Python's byte-code caches (`__pycache__`): the
processes run with byte-code caching on, as a user's Python does, even where the
environment sets PYTHONDONTWRITEBYTECODE (then every start would compile our modules):

- `help_s`           `etslink --help`                                  target <= 0.3 s
- `jurisdictions_s`  `etslink jurisdictions`                           target <= 0.6 s
- `import_book_s`    `python -c "import exchange.book"`                target <= 0.05 s
- `main_job_s`       the README's main job, `etslink run
                     fixtures/scenarios/eu-switzerland.toml --out <tmp>`   no target
- `python_s`         `python -c pass`: the interpreter's own start, which every
                     figure above includes                                 no target

Prints a table for people and, as its last line, one JSON object for machines: each
figure, its target and its ratio (figure / target: at most 1 meets the target), the
load average and `meets_targets`. `--quick` leaves out the main job.

Not part of the test suite: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAIN_SCENARIO = ROOT / "fixtures" / "scenarios" / "eu-switzerland.toml"
RUNS_DEFAULT = 5
RUNS_MAX = 50

# figure name -> target in seconds (None: reported, no target)
TARGETS_S: dict[str, float | None] = {
    "help_s": 0.3,
    "jurisdictions_s": 0.6,
    "import_book_s": 0.05,
    "main_job_s": None,
    "python_s": None,
}


def etslink_command() -> str:
    """Return the `etslink` script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("etslink")
    if beside.is_file():
        return str(beside)
    found = shutil.which("etslink")
    if found is None:
        raise SystemExit("no `etslink` command: install etslink (pip install -e .) first")
    return found


def commands(workdir: Path) -> dict[str, list[str]]:
    """Return the command line of each figure; each runs in `workdir`, outside the checkout."""
    etslink = etslink_command()
    return {
        "help_s": [etslink, "--help"],
        "jurisdictions_s": [etslink, "jurisdictions"],
        "import_book_s": [sys.executable, "-c", "import exchange.book"],
        "main_job_s": [etslink, "run", str(MAIN_SCENARIO), "--out", str(workdir / "out")],
        "python_s": [sys.executable, "-c", "pass"],
    }


def wall_s(command: list[str], workdir: Path) -> float:
    """Run `command` once in `workdir`; return its wall time, failing loudly if it fails."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=workdir, env=environment, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    return seconds


def median_s(command: list[str], workdir: Path, runs: int) -> float:
    wall_s(command, workdir)  # warm-up: the file cache, compiled bytecode
    return statistics.median(wall_s(command, workdir) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS_DEFAULT, help="timed runs per figure")
    parser.add_argument("--quick", action="store_true", help="leave out the main job")
    args = parser.parse_args()
    if not 1 <= args.runs <= RUNS_MAX:
        raise SystemExit(f"--runs must be 1..{RUNS_MAX}, was {args.runs}")
    load_before = os.getloadavg()[0]
    result: dict[str, Any] = {}
    meets = True
    print(f"{'figure':<16} {'median':>9} {'target':>8} {'ratio':>6}  command")
    with tempfile.TemporaryDirectory(prefix="cli-bench-") as folder:
        workdir = Path(folder)
        for name, command in commands(workdir).items():
            if args.quick and name == "main_job_s":
                continue
            seconds = median_s(command, workdir, args.runs)
            target = TARGETS_S[name]
            ratio = None if target is None else round(seconds / target, 3)
            meets = meets and (ratio is None or ratio <= 1)
            result[name] = round(seconds, 4)
            result[f"target_{name}"] = target
            result[f"ratio_{name}"] = ratio
            shown_target = "-" if target is None else f"{target:g} s"
            shown_ratio = "-" if ratio is None else f"{ratio:.2f}"
            shown_command = " ".join(
                Path(command[0]).name if i == 0 else part for i, part in enumerate(command)
            )
            print(
                f"{name:<16} {seconds:>7.3f} s {shown_target:>8} {shown_ratio:>6}  {shown_command}"
            )
    result["runs"] = args.runs
    result["quick"] = args.quick
    result["meets_targets"] = meets
    # Other processes on the machine slow every figure: read them with the load.
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result["python"] = platform.python_version()
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
