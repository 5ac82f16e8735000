"""`etslink compare FIRST SECOND`: run two scenarios and show them side by side."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table

from etslink.cli.run import SCENARIO_PATH, days_option, years_option
from etslink.cli.support import EXIT_REFUSED, console, exact_text, fail, guarded
from etslink.reports.comparison import write_comparison
from etslink.scenario import load_scenario
from etslink.sim.run import RunResult, run_scenario


@click.command("compare")
@click.argument("first_path", metavar="FIRST", type=SCENARIO_PATH)
@click.argument("second_path", metavar="SECOND", type=SCENARIO_PATH)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for both runs' reports and the comparison (default: ./FIRST-vs-SECOND).",
)
@years_option
@days_option
def compare_command(
    first_path: Path,
    second_path: Path,
    out_dir: Path | None,
    years: int | None,
    days: int | None,
) -> None:
    """Run FIRST and SECOND (e.g. a linked scenario and its -unlinked twin) and compare them.

    Each run's reports go into OUT/<scenario name>/; OUT/comparison.json and
    OUT/price_paths_compared.png hold the comparison.
    """
    with guarded():
        first, second = load_scenario(first_path), load_scenario(second_path)
        if first.name == second.name:
            fail(
                EXIT_REFUSED, f"both files are scenario {first.name!r}: compare two different ones"
            )
        target = out_dir if out_dir is not None else Path(f"{first.name}-vs-{second.name}")
        try:
            runs = [
                run_scenario(scenario, target / scenario.name, years=years, days=days)
                for scenario in (first, second)
            ]
            comparison, files = write_comparison(runs[0], runs[1], target)
        except (ValueError, OSError) as error:
            fail(EXIT_REFUSED, f"the comparison stopped: {error}")
    _print(runs, comparison)
    console.print(f"comparison in {files[0]} and {files[1].name}; each run's reports beside them")


def _print(runs: list[RunResult], comparison: dict[str, Any]) -> None:
    names = [run.scenario for run in runs]
    markets = Table(
        title="closing price per year (minor units per t of the book's currency)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("instrument", "year", *names):
        markets.add_column(column, justify="left" if column == "instrument" else "right")
    for code, by_year in comparison["markets"].items():
        for year, row in by_year.items():
            markets.add_row(
                code,
                year,
                *(
                    "-" if row[name] is None else _whole(row[name]["closing_minor"])
                    for name in names
                ),
            )
    console.print(markets)
    totals = Table(title="over the run", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("", *names):
        totals.add_column(column, justify="left" if not column else "right")
    rows = (
        ("abatement t", "abatement_t"),
        ("abatement cost (minor units)", "abatement_cost_minor"),
        ("trades", "trades"),
        ("volume t", "volume_t"),
        ("allocative efficiency %", "efficiency_percent"),
    )
    for label, key in rows:
        values = [comparison["totals"][name][key] for name in names]
        totals.add_row(label, *("-" if v is None else f"{v:,}" for v in values))
    console.print(totals)
    linking = comparison.get("linking")
    if linking is not None:
        percent = linking["percent"]
        console.print(
            f"gain from linking ({linking['linked']} against {linking['unlinked']}, the same "
            f"seed): {exact_text(linking['gain_minor'])} minor units of abatement cost saved; "
            f"the benchmark's {exact_text(linking['benchmark_gain_minor'])}"
            + ("" if percent is None else f" ({percent}% of it)")
            + _share_text(linking["benchmark_gain_share_percent"])
        )


def _share_text(share: float | None) -> str:
    if share is None:
        return ""
    return f"; the benchmark's gain is {share}% of the linked registries' abatement cost"


def _whole(value: str) -> str:
    """Return an exact price ("p" or "p/q") to the nearest minor unit, for a table."""
    return f"{round(Fraction(value)):,}"
