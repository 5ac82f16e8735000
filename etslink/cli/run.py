"""`etslink run SCENARIO`: run a scenario, write its reports, print the headline tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.progress import Progress
from rich.table import Table

from etslink.cli.support import EXIT_REFUSED, console, errors, exact_text, fail, guarded
from etslink.scenario import TRADING_DAYS_MAX, YEARS_MAX, InteractiveAgent, load_scenario
from etslink.sim.run import Prompt, RunResult, run_scenario

EXIT_INTERRUPTED = 130  # as `etslink.cli.main` exits on Ctrl-C


SCENARIO_PATH = click.Path(exists=True, dir_okay=False, path_type=Path)
# --years and --days cut any run short: `etslink run` and `etslink compare` share them.
years_option = click.option(
    "--years", type=click.IntRange(1, YEARS_MAX), default=None, help="Run only the first N years."
)
days_option = click.option(
    "--days",
    type=click.IntRange(1, TRADING_DAYS_MAX),
    default=None,
    help="Run only the first N trading days of each year.",
)


@click.command("run")
@click.argument("scenario_path", metavar="SCENARIO", type=SCENARIO_PATH)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=None,
    help="Seed of the run's random state (default: the scenario's). Generated entities "
    "keep the file's seed.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the reports (default: ./<scenario name>).",
)
@years_option
@days_option
def run_command(
    scenario_path: Path, seed: int | None, out_dir: Path | None, years: int | None, days: int | None
) -> None:
    """Run SCENARIO day by day; write summary.json, the CSVs and the PNG charts."""
    with guarded():
        scenario = load_scenario(scenario_path)
        if seed is not None:
            scenario = dataclasses.replace(scenario, seed=seed)
        target = out_dir if out_dir is not None else Path(scenario.name)
        try:
            if any(isinstance(agent, InteractiveAgent) for agent in scenario.agents):
                # A person types between rounds: no progress bar over the prompt.
                prompt = Prompt(input, lambda text: console.print(text, markup=False))
                result = run_scenario(scenario, target, years=years, days=days, prompt=prompt)
            else:
                with Progress(transient=True, console=errors) as bar:
                    task = bar.add_task(f"running {scenario.name}", total=None)

                    def advance(done: int, total: int) -> None:
                        bar.update(task, completed=done, total=total)

                    result = run_scenario(
                        scenario, target, years=years, days=days, progress=advance
                    )
        except (ValueError, OSError) as error:
            fail(EXIT_REFUSED, f"the run stopped: {error}")
    _print(result)
    if result.interrupted:
        fail(EXIT_INTERRUPTED, f"interrupted: reports of the run so far are in {result.out_dir}")


def _print(result: RunResult) -> None:
    summary = result.summary
    markets = Table(
        title=f"{result.scenario}: markets (prices in minor units per t)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("instrument", "year", "VWAP", "min", "max", "volume t", "trades"):
        markets.add_column(column, justify="left" if column == "instrument" else "right")
    auctions: list[tuple[str, str, dict[str, Any]]] = []
    for code, market in summary["markets"].items():
        for year, row in market["years"].items():
            auctions.extend((code, year, auction) for auction in row["auctions"])
            if not row["trades"]:
                continue
            markets.add_row(
                f"{code} ({market['currency']})",
                year,
                exact_text(row["vwap_minor"]),
                f"{row['min_minor']:,}",
                f"{row['max_minor']:,}",
                f"{row['volume_t']:,}",
                f"{row['trades']:,}",
            )
    console.print(markets)
    _print_auctions(result.scenario, auctions)
    registries = Table(
        title=f"{result.scenario}: compliance, t (outcomes under a period's first year; "
        "fines in the registry's minor units; surrendered in summary.json)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ("reg", "year", "allocated", "verified", "compliant", "fines")
    for column in columns:
        registries.add_column(column, justify="left" if column == "reg" else "right", no_wrap=True)
    for code, registry in summary["registries"].items():
        for year, row in registry["years"].items():
            registries.add_row(
                code,
                year,
                _t(row, "allocated_t"),
                _t(row, "verified_emissions_t"),
                f"{row['compliant_entities']}/{row['entities']}",
                f"{row['penalties_minor']:,}",
            )
    console.print(registries)
    _print_equilibrium(result)
    over_run = summary.get("equilibrium", {}).get("over_run", {}).get("efficiency", {})
    if over_run.get("percent") is not None:
        console.print(
            f"allocative efficiency of the trading over the run: {over_run['percent']}% "
            "(Gode & Sunder: abatement costs saved against no trade, over the most possible)"
        )
    totals = summary["totals"]
    console.print(
        f"abatement {totals['abatement_t']:,} t at {totals['abatement_cost_minor']:,} "
        f"{summary['currency']} minor units; {totals['trades']:,} trades, "
        f"{totals['volume_t']:,} t; reports in {result.out_dir}"
    )
    pngs = [path.name for path in result.files if path.suffix == ".png"]
    console.print(f"charts: {', '.join(pngs) or 'none'}")


def _print_auctions(scenario: str, auctions: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Print each instrument-year's auctions: how many, offered, sold, prices, proceeds."""
    if not auctions:
        return
    table = Table(
        title=f"{scenario}: auctions (each in auctions.csv; prices in minor units per t)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ("instrument", "year", "auctions", "offered t", "sold t", "clearing", "proceeds")
    for column in columns:
        table.add_column(
            column, justify="left" if column == "instrument" else "right", no_wrap=True
        )
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for code, year, auction in auctions:
        grouped.setdefault((code, year), []).append(auction)
    for (code, year), rows in grouped.items():
        prices = [row["clearing_price_minor"] for row in rows]
        table.add_row(
            code,
            year,
            f"{len(rows)}",
            f"{sum(row['supply_t'] for row in rows):,}",
            f"{sum(row['sold_t'] for row in rows):,}",
            f"{min(prices):,}"
            if min(prices) == max(prices)
            else f"{min(prices):,}–{max(prices):,}",
            f"{sum(row['proceeds_minor'] for row in rows):,}",
        )
    console.print(table)


def _print_equilibrium(result: RunResult) -> None:
    """Print each registry-year's and linked group's equilibrium beside the run (rounded)."""
    section = result.summary.get("equilibrium", {})
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for code, years in section.get("registries", {}).items():
        rows.extend((code, year, report) for year, report in years.items())
    for year, groups in section.get("links", {}).items():
        rows.extend(("+".join(g["registries"]), year, g) for g in groups)
    if not rows:
        return
    table = Table(
        title=f"{result.scenario}: competitive equilibrium vs run (rounded; exact in "
        f"summary.json; linked prices in {section.get('currency')} minor units)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ("system", "year", "eq price", "run price", "gap", "eq abated t", "run abated t")
    for column in columns:
        table.add_column(column, justify="left" if column == "system" else "right", no_wrap=True)
    for system, year, report in rows:
        rounded = report.get("rounded")
        if rounded is None:  # no equilibrium (an infeasible cap)
            table.add_row(system, year, report["analytical"]["status"], "", "", "", "")
            continue
        table.add_row(
            system,
            year,
            _whole(rounded["analytical"]["price_minor"]),
            _whole(rounded["simulated"]["price_minor"]),
            _whole(rounded["gap"]["price_minor"]),
            _whole(rounded["analytical"]["abatement_t"]),
            _whole(rounded["simulated"]["abatement_t"]),
        )
    console.print(table)


def _whole(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _t(row: dict[str, Any], key: str) -> str:
    return f"{row.get(key, 0):,}"
