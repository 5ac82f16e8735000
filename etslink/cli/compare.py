"""`etslink compare FIRST SECOND`: run two scenarios and show them side by side."""

from __future__ import annotations

import dataclasses
import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from etslink.cli.output import Column, Section, format_options, print_section
from etslink.cli.run import SCENARIO_PATH, days_option, years_option
from etslink.cli.support import EXIT_REFUSED, console, fail, guarded, seed_option
from etslink.reports.comparison import write_comparison
from etslink.reports.figures import amount, money, per_tonne, tonnes, whole
from etslink.scenario import load_scenario
from etslink.sim.run import run_scenario


@click.command("compare")
@click.argument("first_path", metavar="FIRST", type=SCENARIO_PATH)
@click.argument("second_path", metavar="SECOND", type=SCENARIO_PATH)
@seed_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for both runs' reports and the comparison (default: ./FIRST-vs-SECOND).",
)
@years_option
@days_option
@format_options(csv_ok=False)
def compare_command(
    first_path: Path,
    second_path: Path,
    seed: int | None,
    out_dir: Path | None,
    years: int | None,
    days: int | None,
    fmt: str | None,
) -> None:
    """Run FIRST and SECOND (e.g. a linked scenario and its -unlinked twin) and compare them.

    Both run on --seed when given (else each on its own scenario's seed). Each run's
    reports go into OUT/<scenario name>/; OUT/comparison.json and
    OUT/price_paths_compared.png hold the comparison. --json prints comparison.json.
    A scenario is a file or the name of a shipped one.
    """
    with guarded():
        first, second = load_scenario(first_path), load_scenario(second_path)
        if first.name == second.name:
            fail(
                EXIT_REFUSED, f"both files are scenario {first.name!r}: compare two different ones"
            )
        if seed is not None:
            first = dataclasses.replace(first, seed=seed)
            second = dataclasses.replace(second, seed=seed)
        target = out_dir if out_dir is not None else Path(f"{first.name}-vs-{second.name}")
        try:
            runs = [
                run_scenario(scenario, target / scenario.name, years=years, days=days)
                for scenario in (first, second)
            ]
            comparison, files = write_comparison(runs[0], runs[1], target)
        except (ValueError, OSError) as error:
            fail(EXIT_REFUSED, f"the comparison stopped: {error}")
    if fmt == "json":
        json.dump(comparison, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    print_comparison(comparison, console)
    console.print(
        Text(f"comparison in {files[0]} and {files[1].name}; each run's reports beside them")
    )


def print_comparison(comparison: dict[str, Any], out: Console) -> None:
    """Print the closing prices side by side, the totals and the gain from linking."""
    names = [run["scenario"] for run in comparison["runs"]]
    out.print(Text(f"A: {names[0]}   B: {names[1]}"))
    out.print()
    for section in (*price_sections(comparison, names), totals_section(comparison, names)):
        print_section(section, out)
        out.print()
    linking = comparison["linking"]
    if linking is not None:
        out.print(Text(linking_line(linking, comparison["exact"]["linking"])))


def price_sections(comparison: dict[str, Any], names: list[str]) -> list[Section]:
    """Return per currency the books' closing prices per year, A beside B."""
    closing: dict[tuple[str, int], dict[str, Any]] = {}
    for row in comparison["exact"]["markets"]:
        key = (row["instrument"], row["year"])
        closing.setdefault(key, {})[row["scenario"]] = row["closing_minor"]
    currencies = {
        (row["instrument"], row["year"]): row["currency"] for row in comparison["markets"]
    }
    by_currency: dict[str, list[dict[str, Any]]] = {}
    for (code, year), prices in sorted(closing.items()):
        currency = currencies[(code, year)]
        a, b = (None if prices.get(n) is None else Fraction(prices[n]) for n in names)
        by_currency.setdefault(currency, []).append(
            {
                "instrument": code,
                "year": year,
                "a": a,
                "b": b,
                "difference": None if a is None or b is None else a - b,
            }
        )
    sections = []
    for currency, rows in sorted(by_currency.items()):
        unit = per_tonne(currency)

        def shown(value: Any, currency: str = currency) -> str:
            return amount(value, currency)

        sections.append(
            Section(
                "markets",
                rows,
                [
                    Column("instrument", "book", "id"),
                    Column("year", "year", "id", show=str),
                    Column("a", f"A close {unit}", "number", shown),
                    Column("b", f"B close {unit}", "number", shown),
                    Column("difference", f"A − B {unit}", "number", shown, drop=1),
                ],
                title=f"closing price per year, books priced in {currency}",
            )
        )
    return sections


def totals_section(comparison: dict[str, Any], names: list[str]) -> Section:
    """Return the runs' totals, one column per run."""
    totals = {row["scenario"]: row for row in comparison["totals"]}
    rows = [
        {"figure": "abatement t", **{n: tonnes(totals[n]["abatement_t"], False) for n in names}},
        {
            "figure": "abatement cost",
            **{n: money(totals[n]["abatement_cost_minor"], totals[n]["currency"]) for n in names},
        },
        {"figure": "trades", **{n: whole(totals[n]["trades"]) for n in names}},
        {"figure": "volume t", **{n: tonnes(totals[n]["volume_t"], False) for n in names}},
        {
            "figure": "allocative efficiency %",
            **{n: _percent(totals[n]["efficiency_percent"]) for n in names},
        },
    ]
    return Section(
        "totals",
        rows,
        [
            Column("figure", "over the run", "text"),
            Column(names[0], "A", "number"),
            Column(names[1], "B", "number"),
        ],
    )


def _percent(value: float | int | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def linking_line(linking: dict[str, Any], exact: dict[str, Any]) -> str:
    """Return the gain from linking beside the benchmark's, in the linked run's currency."""
    currency = linking["currency"]
    gain = money(Fraction(exact["gain_minor"]), currency)
    benchmark = money(Fraction(exact["benchmark_gain_minor"]), currency)
    line = (
        f"gain from linking ({linking['linked']} against {linking['unlinked']}): {gain} of "
        f"abatement cost saved; the benchmark's {benchmark}"
    )
    if linking["percent"] is not None:
        line += f" ({linking['percent']:.0f}% of it)"
    share = linking["benchmark_gain_share_percent"]
    if share is not None:
        line += f"; the benchmark's gain is {share:.2f}% of the linked registries' abatement cost"
    return line


__all__ = ["compare_command", "linking_line", "print_comparison"]
