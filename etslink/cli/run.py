"""`etslink run SCENARIO`: run a scenario, write its reports, print the headline tables.

The tables fit the terminal (`etslink.cli.output`): ids and numbers are never cut, money
is in major units with the currency in the header ("VWAP EUR/t"), and a table that
does not fit leaves out its least needed columns and says so. `--json` prints
summary.json instead (docs/summary-json.md); the progress bar stays on standard error.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.text import Text

from etslink.cli.output import Column, Section, format_options, print_section
from etslink.cli.support import (
    EXIT_REFUSED,
    SCENARIO,
    console,
    errors,
    fail,
    guarded,
    seed_option,
)
from etslink.reports import figures
from etslink.reports.csvs import summary_json
from etslink.reports.figures import amount, money, per_tonne, percent, tonnes, whole
from etslink.scenario import TRADING_DAYS_MAX, YEARS_MAX, InteractiveAgent, load_scenario
from etslink.sim.run import Prompt, RunResult, run_scenario

EXIT_INTERRUPTED = 130  # as `etslink.cli.main` exits on Ctrl-C
KILOTONNES_FROM_T = 10**7  # a compliance table whose tonnes reach 10 Mt shows kt
PRICE_PLACES = 2  # VWAPs and benchmark prices keep two places more than the currency

SCENARIO_PATH = SCENARIO  # a file, or a shipped scenario's name
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
@seed_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the reports (default: ./<scenario name>).",
)
@years_option
@days_option
@format_options(csv_ok=False)
def run_command(
    scenario_path: Path,
    seed: int | None,
    out_dir: Path | None,
    years: int | None,
    days: int | None,
    fmt: str | None,
) -> None:
    """Run SCENARIO day by day; write summary.json, the CSVs and the PNG charts.

    Prints the headline tables, or with --json the summary.json document.
    SCENARIO is a file, or the name of a shipped scenario (eu-switzerland,
    northeast-asia, california-quebec-ontario, classroom, ...).
    """
    with guarded():
        scenario = load_scenario(scenario_path)
        if seed is not None:
            scenario = dataclasses.replace(scenario, seed=seed)
        target = out_dir if out_dir is not None else Path(scenario.name)
        try:
            if any(isinstance(agent, InteractiveAgent) for agent in scenario.agents):
                # A person types between rounds: no progress bar over the prompt, and
                # with --json the prompt's text stays off standard output.
                speaker = errors if fmt == "json" else console
                read = _read_on_stderr if fmt == "json" else input
                prompt = Prompt(read, lambda text: speaker.print(text, markup=False))
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
    if fmt == "json":
        sys.stdout.write(summary_json(result.summary))
    else:
        print_report(result, console)
    if result.interrupted:
        fail(EXIT_INTERRUPTED, f"interrupted: reports of the run so far are in {result.out_dir}")


def _read_on_stderr(prompt: str) -> str:
    """Read a typed line, its prompt on standard error: standard output holds the JSON."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return input()


def print_report(result: RunResult, out: Console) -> None:
    """Print the run's tables and headline lines (summary.json's figures)."""
    summary = result.summary
    for section in report_sections(result.scenario, summary):
        print_section(section, out)
        out.print()
    for line in exit_lines(summary):
        out.print(Text(line))
    for line in headline_lines(summary):
        out.print(Text(line))
    out.print(Text(f"reports in {result.out_dir}"))
    pngs = [path.name for path in result.files if path.suffix == ".png"]
    out.print(Text(f"charts: {', '.join(pngs) or 'none'}"))


def team_section(rows: Sequence[Mapping[str, Any]]) -> Section:
    """Return the scoreboard rows as a table for people: rank, value, gain, costs.

    Compliance and cost columns that are 0 for every team are left out of the table (the
    rows keep them for tools).
    """
    currency = rows[0]["currency"] if rows else None

    def money(value_minor: int | None) -> str:
        return figures.amount(value_minor, currency)

    columns = [
        Column("rank", "rank", "number"),
        Column("team", "team", "id"),
        Column("value_minor", f"value {currency or ''}".strip(), "number", money),
        Column("cash_minor", "cash", "number", money, drop=3),
        Column("holdings_value_minor", "holdings", "number", money, drop=3),
        Column("gain_minor", "gain", "number", money),
        Column("trades", "trades", "number", drop=2),
        Column("trading_spend_minor", "trading spend", "number", money, drop=1),
    ]
    optional = [
        Column("obligation_t", "owed t", "number", drop=1),
        Column("surrendered_t", "surr t", "number", figures.whole, drop=1),
        Column("shortfall_t", "short t", "number", drop=1),
        Column("penalties_minor", "penalties", "number", money, drop=1),
        Column("abatement_cost_minor", "abatement", "number", money, drop=1),
        Column("auction_spend_minor", "auctions", "number", money, drop=1),
    ]
    columns += [c for c in optional if any(row.get(c.key) for row in rows)]
    notes = []
    if rows:
        notes.append(
            f"value: cash and holdings at each book's last settlement price "
            f"({rows[0]['valued_at']}), in {currency}; gain: value less the start's cash "
            "and allowances at the same prices"
        )
    left = [row["team"] for row in rows if row["left_early"]]
    if left:
        notes.append(f"left the run early: {', '.join(left)}")
    return Section(
        "teams",
        [dict(row) for row in rows],
        columns,
        title="teams: who ends with more value",
        notes=notes,
        empty="no teams in this run",
    )


def report_sections(scenario: str, summary: dict[str, Any]) -> list[Section]:
    """Return the run's tables: markets, auctions, compliance, benchmark, linked pairs."""
    exact = summary["exact"]
    return [
        *market_sections(scenario, summary["markets"], exact["markets"]),
        *auction_sections(scenario, summary["auctions"]),
        *compliance_sections(scenario, summary["registries"]),
        *system_sections(scenario, summary["systems"], exact["systems"]),
        *pair_sections(scenario, summary["link_pairs"], exact["link_pairs"]),
        *([team_section(summary["teams"])] if summary["teams"] else []),
    ]


def _by_currency(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["currency"], []).append(row)
    return dict(sorted(grouped.items()))


def _exact(value: str | None) -> Fraction | None:
    return None if value is None else Fraction(value)


def _keyed(rows: Iterable[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row[key] for key in keys): row for row in rows}


def _shown(currency: str, extra: int = 0) -> Callable[[Any], str]:
    """Return a cell formatter of an amount in minor units under a header naming `currency`."""
    return lambda value: amount(value, currency, extra)


def _t(value: Any) -> str:
    return tonnes(value, unit=False)


# ---------------------------------------------------------------- markets and auctions


def market_sections(
    scenario: str, markets: list[dict[str, Any]], exact: list[dict[str, Any]]
) -> list[Section]:
    """Return one table per currency: each book-year that traded, its VWAP, low, high."""
    vwaps = _keyed(exact, "instrument", "year")
    sections = []
    for currency, rows in _by_currency(row for row in markets if row["trades"]).items():
        shown = [
            {
                **row,
                "vwap_minor": _exact(vwaps[(row["instrument"], row["year"])]["vwap_minor"]),
            }
            for row in rows
        ]
        unit = per_tonne(currency)
        sections.append(
            Section(
                "markets",
                shown,
                [
                    Column("instrument", "book", "id"),
                    Column("year", "year", "id", show=str),
                    Column("vwap_minor", f"VWAP {unit}", "number", _shown(currency)),
                    Column("low_minor", f"low {unit}", "number", _shown(currency), drop=2),
                    Column("high_minor", f"high {unit}", "number", _shown(currency), drop=3),
                    Column("volume_t", "volume t", "number", _t),
                    Column("trades", "trades", "number", whole, drop=1),
                ],
                title=f"{scenario}: exchange trading, books priced in {currency}",
            )
        )
    return sections


def auction_sections(scenario: str, auctions: list[dict[str, Any]]) -> list[Section]:
    """Return one table per currency: each book-year's auctions, volume, prices, proceeds."""
    sections = []
    for currency, rows in _by_currency(auctions).items():
        grouped: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault((row["instrument"], int(row["day"][:4])), []).append(row)
        shown = []
        for (code, year), group in sorted(grouped.items()):
            held = [row for row in group if not row["cancelled"]]
            prices = [row["clearing_price_minor"] for row in held]
            low, high = min(prices, default=None), max(prices, default=None)
            clearing = amount(low, currency)
            if low != high:
                clearing = f"{amount(low, currency)}–{amount(high, currency)}"
            shown.append(
                {
                    "instrument": code,
                    "year": year,
                    "held": len(held),
                    "cancelled": len(group) - len(held),
                    "offered_t": sum(row["supply_t"] for row in held),
                    "sold_t": sum(row["sold_t"] for row in group),
                    "clearing": clearing,
                    "proceeds_minor": sum(row["proceeds_minor"] for row in group),
                }
            )
        unit = per_tonne(currency)
        sections.append(
            Section(
                "auctions",
                shown,
                [
                    Column("instrument", "book", "id"),
                    Column("year", "year", "id", show=str),
                    Column("held", "held", "number", whole, drop=2),
                    # a column of zeros says nothing: shown when an auction was cancelled
                    *(
                        [Column("cancelled", "cancelled", "number", whole, drop=3)]
                        if any(row["cancelled"] for row in shown)
                        else []
                    ),
                    Column("offered_t", "offered t", "number", _t, drop=1),
                    Column("sold_t", "sold t", "number", _t),
                    Column("clearing", f"clearing {unit}", "id"),
                    Column("proceeds_minor", f"proceeds {currency}", "number", _shown(currency)),
                ],
                title=f"{scenario}: auctions of books priced in {currency}",
                notes=[
                    "cancelled: cleared below the regime's threshold under the secondary "
                    "price (the reason is in auctions.csv)"
                ]
                if any(row["cancelled"] for row in shown)
                else [],
            )
        )
    return sections


# ---------------------------------------------------------------- compliance


def compliance_sections(scenario: str, registries: list[dict[str, Any]]) -> list[Section]:
    """Return one table per currency: each registry-year's allocation and emissions, and
    each compliance period's obligation, surrenders, compliant entities and fines."""
    sections = []
    for currency, rows in _by_currency(registries).items():
        biggest = max(
            (max(row["allocated_t"] or 0, row["verified_emissions_t"] or 0) for row in rows),
            default=0,
        )
        scale, unit = (1_000, "kt") if biggest >= KILOTONNES_FROM_T else (1, "t")
        shown = [_compliance_cells(row, scale) for row in rows]
        sections.append(
            Section(
                "compliance",
                shown,
                [
                    Column("registry", "reg", "id"),
                    Column("year", "year", "id", show=str),
                    Column("allocated", "alloc", "number", drop=2),
                    Column("verified", "verified", "number"),
                    Column("period", "period", "id"),
                    Column("owed", "owed", "number"),
                    Column("surrendered", "surr", "number", drop=1),
                    Column("ok", "ok", "id"),
                    Column("fines", f"fines {currency}", "number", drop=3),
                ],
                title=f"{scenario}: compliance in {unit}, registries in {currency}",
                notes=[
                    "alloc: allocated; owed, surr: each period's obligation and what was "
                    "surrendered, in the row of its last year; ok: entities that complied"
                    + (f"; {unit} rounded (exact t in compliance.csv)" if scale > 1 else "")
                ],
            )
        )
    return sections


def _compliance_cells(row: dict[str, Any], scale: int) -> dict[str, Any]:
    """Return a registry-year's cells: its own figures, and its period's if the period ends
    that year (tonnes divided by `scale`)."""

    def scaled(value: Any) -> str:
        return "" if value is None else whole(Fraction(value) / scale)

    cells = {
        "registry": row["registry"],
        "year": row["year"],
        "allocated": scaled(row["allocated_t"]),
        "verified": scaled(row["verified_emissions_t"]),
        "period": "",
        "owed": "",
        "surrendered": "",
        "ok": "–",
        "fines": "",
    }
    if row["allocated_t"] is None and row["period"] is None:
        # a year after the run's last: surrenders went to a period the run did not see end
        cells["period"] = "pending"
    elif row["period"] is not None:
        cells.update(
            period=row["period"],
            owed=scaled(row["obligation_t"]),
            surrendered=scaled(row["period_surrendered_t"]),
            ok=f"{row['compliant_entities']}/{row['entities']}",
            fines=amount(row["penalties_minor"], row["currency"]),
        )
    return cells


# ---------------------------------------------------------------- benchmark and links


def system_sections(
    scenario: str, systems: list[dict[str, Any]], exact: list[dict[str, Any]]
) -> list[Section]:
    """Return one table per currency: the benchmark's price beside the run's closing price."""
    figures = _keyed(exact, "registry", "year")
    sections = []
    for currency, rows in _by_currency(systems).items():
        shown = []
        for row in rows:
            found = figures[(row["registry"], row["year"])]
            shown.append(
                {
                    "registry": row["registry"],
                    "year": row["year"],
                    "benchmark": _exact(found["benchmark_price_minor"]),
                    "alone": _exact(found["autarky_price_minor"]),
                    "run": _exact(found["run_price_minor"]),
                    "gap": "-"
                    if row["price_gap_percent"] is None
                    else f"{row['price_gap_percent']:+.1f}",
                    "abated": _exact(found["benchmark_abatement_t"]),
                }
            )
        unit = per_tonne(currency)
        sections.append(
            Section(
                "systems",
                shown,
                [
                    Column("registry", "system", "id"),
                    Column("year", "year", "id", show=str),
                    Column("benchmark", f"bench {unit}", "number", _shown(currency)),
                    Column("alone", f"alone {unit}", "number", _shown(currency), drop=2),
                    Column("run", f"run {unit}", "number", _shown(currency)),
                    Column("gap", "gap %", "number"),
                    Column("abated", "abated t", "number", _t, drop=1),
                ],
                title=f"{scenario}: the benchmark for the scenario's links vs the run, "
                f"registries in {currency}",
                notes=[
                    "bench: the benchmark's price; alone: the registry's without links; run: "
                    "the run's closing price; abated t: the benchmark's abatement"
                ],
            )
        )
    return sections


def pair_sections(
    scenario: str, pairs: list[dict[str, Any]], exact: list[dict[str, Any]]
) -> list[Section]:
    """Return the linked pairs' table: the price gap and its band, the net flow."""
    if not pairs:
        return []
    figures = _keyed(exact, "link_id", "year")
    currency = pairs[0]["currency"]
    shown = []
    for row in pairs:
        found = figures[(row["link_id"], row["year"])]
        within = row["within_band"]
        ok = "-" if within is None else ("yes" if within else "no")
        shown.append(
            {
                "link_id": row["link_id"],
                "year": row["year"],
                "way": f"{row['exporter']}→{row['importer']}",
                "gap": _exact(found["gap_minor"]),
                "benchmark_gap": _exact(found["benchmark_gap_minor"]),
                "band": _exact(found["band_minor"]),
                "ok": ok if row["open_whole_year"] else f"{ok}*",
                "flow_t": row["net_flow_t"],
                "benchmark_flow_t": Fraction(found["benchmark_flow_t"])
                - Fraction(found["benchmark_reverse_flow_t"]),
            }
        )
    unit = per_tonne(currency)
    notes = ["gap: the importer's price less the exporter's over the rate; flow: net units"]
    if not all(row["open_whole_year"] for row in pairs):
        notes.append("* the link was open for part of the year: prices were still converging")
    return [
        Section(
            "link_pairs",
            shown,
            [
                Column("link_id", "link", "id"),
                Column("year", "year", "id", show=str),
                Column("way", "way", "id"),
                Column("gap", f"gap {unit}", "number", _shown(currency)),
                Column("benchmark_gap", "bench gap", "number", _shown(currency), drop=2),
                Column("band", "band", "number", _shown(currency)),
                Column("ok", "within", "id"),
                Column("flow_t", "flow t", "number", _t),
                Column("benchmark_flow_t", "bench flow t", "number", _t, drop=1),
            ],
            title=f"{scenario}: linked pairs, prices in {currency}",
            notes=notes,
        )
    ]


# ---------------------------------------------------------------- lines


def exit_lines(summary: dict[str, Any]) -> list[str]:
    """Return one line per programme exit: links, transfers, units and the settled period."""
    lines = []
    for item in summary["exits"]:
        code = item["registry"]
        units = ", ".join(
            f"{tonnes(row['held_t'])} {row['unit_type']} (of {row['origin']})"
            for row in summary["exit_units"]
            if row["registry"] == code
        )
        settled = "; ".join(
            f"period {row['period']} {row['rule']}: {row['compliant_entities']}/"
            f"{row['entities']} complied, owed {tonnes(row['obligation_t'])}, "
            f"short {tonnes(row['shortfall_t'])}"
            for row in summary["exit_periods"]
            if row["registry"] == code
        )
        links = item["links_terminated"].replace(" ", ", ") or "none"
        lines.append(
            f"{code} left its programme on {item['date']}: links terminated {links} "
            f"({item['transfers_terminated']} transfers in flight terminated); "
            f"units {item['units']}: {units or 'none held'}; {settled or 'no period open'}"
        )
    return lines


def headline_lines(summary: dict[str, Any]) -> list[str]:
    """Return the benchmark's status, the efficiency over the run and the totals."""
    lines = []
    benchmark = summary["benchmark"]
    if benchmark["status"] == "infeasible":
        lines.append(f"no analytic benchmark: {benchmark['error']}")
    over_run = next((row for row in summary["efficiency"] if row["scope"] == "run"), None)
    if over_run is not None and over_run["allocative_efficiency"] is not None:
        exact_run = next(row for row in summary["exact"]["efficiency"] if row["scope"] == "run")
        left_out = "".join(
            f"; {row['year']} left out: {row['left_out']}"
            for row in summary["efficiency"]
            if row["left_out"]
        )
        lines.append(
            "allocative efficiency of the trading over the run: "
            f"{percent(Fraction(exact_run['allocative_efficiency']))} (Gode & Sunder: "
            f"abatement costs saved against no trade, over the most possible{left_out})"
        )
    totals = summary["totals"]
    cost = Fraction(summary["exact"]["totals"]["abatement_cost_minor"])
    lines.append(
        f"abatement {tonnes(totals['abatement_t'])} at {money(cost, totals['currency'])}; "
        f"{whole(totals['trades'])} trades, {tonnes(totals['volume_t'])}"
    )
    return lines


__all__ = [
    "SCENARIO_PATH",
    "days_option",
    "headline_lines",
    "print_report",
    "report_sections",
    "run_command",
    "years_option",
]
