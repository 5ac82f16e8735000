"""`etslink run SCENARIO`: run a scenario, write its reports, print the headline tables."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
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
    rows = [
        (code, year, row)
        for code, registry in summary["registries"].items()
        for year, row in registry["years"].items()
    ]
    # Whole tonnes fit 80 columns up to 10 Mt; beyond, thousands (exact in compliance.csv).
    scale = 1_000 if max((_tonnes(row) for _, _, row in rows), default=0) >= 10**7 else 1
    unit = "kt, rounded; exact in compliance.csv" if scale > 1 else "t"
    registries = Table(
        title=f"{result.scenario}: compliance, {unit} (alloc: allocated; owed and surr: "
        "each period's obligation and what was surrendered, in its last year's row; ok: "
        "entities that complied; fines in the registry's minor units)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ("reg", "year", "alloc", "verified", "period", "owed", "surr", "ok", "fines")
    for column in columns:
        registries.add_column(column, justify="left" if column == "reg" else "right", no_wrap=True)
    for code, year, row in rows:
        registries.add_row(code, year, *_period_cells(row, scale))
    console.print(registries)
    _print_exits(summary.get("exits", {}))
    _print_equilibrium(result)
    measured = summary.get("equilibrium", {}).get("efficiency", {})
    over_run = measured.get("over_run", {})
    if over_run.get("percent") is not None:
        left_out = "".join(
            f"; {year} left out: {why}" for year, why in measured.get("left_out", {}).items()
        )
        console.print(
            f"allocative efficiency of the trading over the run: {over_run['percent']}% "
            "(Gode & Sunder: abatement costs saved against no trade, over the most "
            f"possible{left_out})"
        )
    totals = summary["totals"]
    console.print(
        f"abatement {totals['abatement_t']:,} t at {totals['abatement_cost_minor']:,} "
        f"{summary['currency']} minor units; {totals['trades']:,} trades, "
        f"{totals['volume_t']:,} t; reports in {result.out_dir}"
    )
    pngs = [path.name for path in result.files if path.suffix == ".png"]
    console.print(f"charts: {', '.join(pngs) or 'none'}")


def _print_exits(exits: dict[str, Any]) -> None:
    """Print one line per programme exit: links, transfers, units and the settled period."""
    for code, item in exits.items():
        units = ", ".join(
            f"{quantity_t:,} t {unit_type} (of {origin})"
            for origin, by_type in item["units_t"].items()
            for unit_type, quantity_t in by_type.items()
        )
        settled = "; ".join(
            f"period {period} {row['rule']}: {row['compliant_entities']}/{row['entities']} "
            f"complied, owed {row['obligation_t']:,} t, short {row['shortfall_t']:,} t"
            for period, row in item["settled"].items()
        )
        links = ", ".join(item["links_terminated"]) or "none"
        console.print(
            f"{code} left its programme on {item['date']}: links terminated {links} "
            f"({len(item['transfers_terminated'])} transfers in flight terminated); "
            f"units {item['units']}: {units or 'none held'}; {settled or 'no period open'}"
        )


def _period_cells(row: dict[str, Any], scale: int) -> tuple[str, ...]:
    """Return a year's cells: its own figures, and its period's if the period ends that year
    (tonnes divided by `scale`)."""
    if row.get("period") is None and "allocated_t" not in row:
        # a year after the run's last: surrenders went to a period the run did not see end
        return ("", "", "pending", "", "", "–", "")
    own = (
        _scaled(row.get("allocated_t", 0), scale),
        _scaled(row.get("verified_emissions_t", 0), scale),
    )
    if row.get("period") is None:
        return (*own, "", "", "", "–", "")
    return (
        *own,
        row["period"],
        _scaled(row["obligation_t"], scale),
        _scaled(row["period_surrendered"], scale),
        f"{row['compliant_entities']}/{row['entities']}",
        f"{row['penalties_minor']:,}",
    )


def _tonnes(row: dict[str, Any]) -> int:
    return max(int(row.get("allocated_t", 0)), int(row.get("verified_emissions_t", 0)))


def _scaled(value: int | str, scale: int) -> str:
    """Return tonnes (an int, or an exact "p/q" text) over `scale`: whole with separators,
    or rounded for display."""
    if scale == 1:
        return f"{int(value):,}" if "/" not in str(value) else exact_text(str(value))
    exact = Fraction(str(value))
    return f"{round(exact / scale):,}"


def _print_auctions(scenario: str, auctions: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Print each instrument-year's auctions: how many, offered, sold, prices, proceeds."""
    if not auctions:
        return
    table = Table(
        title=f"{scenario}: auctions (held: how many; cancelled: below the regime's "
        "threshold under the secondary price, each with its reason in auctions.csv; prices "
        "and proceeds in minor units)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ("unit", "year", "held", "cancelled", "offered t", "sold t", "clearing", "proceeds")
    for column in columns:
        table.add_column(column, justify="left" if column == "unit" else "right", no_wrap=True)
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for code, year, auction in auctions:
        grouped.setdefault((code, year), []).append(auction)
    for (code, year), rows in grouped.items():
        held = [row for row in rows if not row["cancelled"]]
        prices = [row["clearing_price_minor"] for row in held]
        table.add_row(
            code,
            year,
            f"{len(held)}",
            f"{len(rows) - len(held)}",
            f"{sum(row['supply_t'] for row in held):,}",
            f"{sum(row['sold_t'] for row in rows):,}",
            "-"
            if not prices
            else f"{min(prices):,}"
            if min(prices) == max(prices)
            else f"{min(prices):,}–{max(prices):,}",
            f"{sum(row['proceeds_minor'] for row in rows):,}",
        )
    console.print(table)


def _print_equilibrium(result: RunResult) -> None:
    """Print the benchmark that matches the scenario's links beside the run, and each link."""
    section = result.summary.get("equilibrium", {})
    benchmark = section.get("benchmark", {})
    if benchmark.get("status") == "infeasible":
        console.print(f"no analytic benchmark: {benchmark.get('error')}")
        return
    systems = section.get("systems", {})
    if not systems:
        return
    table = Table(
        title=f"{result.scenario}: the benchmark for the scenario's links vs the run "
        "(local minor units per t; exact in summary.json)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ("system", "year", "bench", "alone", "run close", "gap %", "bench abated t")
    for column in columns:
        table.add_column(column, justify="left" if column == "system" else "right", no_wrap=True)
    for code, years in systems.items():
        for year, report in years.items():
            view = report["rounded"]
            bench = view["analytical_price_minor_local"]
            run = view["simulated_price_minor_local"]
            gap = "-" if run is None or not bench else f"{100 * (run - bench) / bench:+.1f}"
            table.add_row(
                code,
                year,
                _whole(bench),
                _whole(view["autarky_price_minor_local"]),
                _whole(run),
                gap,
                _whole(view["analytical_abatement_t"]),
            )
    console.print(table)
    _print_links(result.scenario, section.get("links", {}), section.get("currency", ""))


def _print_links(scenario: str, links: dict[str, Any], currency: str) -> None:
    rows = [
        (link_id, year, pair)
        for link_id, link in links.items()
        for year, pair in link["years"].items()
    ]
    if not rows:
        return
    table = Table(
        title=f"{scenario}: linked pairs — price gap per tonne ({currency} minor units), "
        "net flow (units)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ("link", "year", "way", "gap", "bench gap", "band", "ok", "flow", "bench flow")
    for column in columns:
        table.add_column(column, justify="left" if column in ("link", "way") else "right")
    for link_id, year, pair in rows:
        view = pair["rounded"]
        way = pair["direction"]
        within = pair["within_band"]
        ok = "-" if within is None else ("yes" if within else "no")
        if not pair["open_whole_year"]:
            ok += "*"
        table.add_row(
            link_id,
            year,
            way,
            _whole(view["gap_minor"]),
            _whole(view["analytic_gap_minor"]),
            _whole(view["band_minor"]),
            ok,
            f"{pair['net_flow_t']:,}",
            _whole(view["analytic_flow_t"][way]),
        )
    console.print(table)
    console.print("* the link was open for part of the year: prices were still converging")


def _whole(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _t(row: dict[str, Any], key: str) -> str:
    return f"{row.get(key, 0):,}"
