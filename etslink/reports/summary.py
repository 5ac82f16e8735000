"""summary.json: a run's figures as flat records, built from its frozen record.

`build_summary(record)` returns what summary.json holds (docs/summary-json.md documents
every section and key; `etslink.reports.schema` declares them): `schema`, the `run`
and its `totals`, lists of flat records per market-year, registry-year, auction, link,
exit, holder and the analytic benchmark beside the run, and `exact`. Money is a number
in major units beside its `currency` (`etslink.reports.figures`), with the exact
integer in minor units in a `…_minor` key where one exists; a figure whose exact value
is a fraction is repeated as "p/q" under `exact` only. `add_section` adds a section a
later report builds (the scoreboard's `teams`). The CSV files are `etslink.reports.csvs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from etslink.reports import equilibrium
from etslink.reports.figures import major, minor, number
from etslink.reports.numbers import exact
from etslink.reports.schema import SUMMARY_SCHEMA
from etslink.reports.schema import summary_exact as exact_row
from etslink.reports.schema import summary_row as row
from etslink.reports.scoreboard import scoreboard_rows
from etslink.sim.record import RunRecord, settled

PRICE_PLACES = 2  # averages keep two more places than the currency for tools

Summary = dict[str, Any]


def build_summary(record: RunRecord) -> Summary:
    """Return what summary.json holds (docs/summary-json.md)."""
    scenario = record.scenario
    doc: Summary = {"schema": SUMMARY_SCHEMA, "exact": {}}
    cost = sum(
        (
            f.abatement_cost_minor
            * scenario.fx.minor_factor(scenario.registry(f.registry).currency, scenario.currency)
            for f in record.firm_years
        ),
        Fraction(0),
    )
    add_section(
        doc,
        "run",
        row(
            "run",
            scenario=scenario.name,
            seed=scenario.seed,
            currency=scenario.currency,
            interest_rate=number(scenario.interest_rate),
            interrupted=record.interrupted,
            years_run=record.years_run,
            trading_days_per_year_run=record.days_run,
        ),
        exact_row("run", interest_rate=exact(scenario.interest_rate)),
    )
    add_section(
        doc,
        "totals",
        row(
            "totals",
            currency=scenario.currency,
            trades=len(record.trades),
            volume_t=sum(t.quantity_t for t in record.trades),
            abatement_t=sum(f.abatement_t for f in record.firm_years),
            abatement_cost=major(cost, scenario.currency),
            abatement_cost_minor=minor(cost),
            orders_refused=record.refused_orders,
        ),
        exact_row("totals", abatement_cost_minor=exact(cost)),
    )
    add_section(doc, "markets", *market_rows(record))
    add_section(doc, "auctions", auction_rows(record))
    registries: list[dict[str, Any]] = []
    registries_exact: list[dict[str, Any]] = []
    for code in sorted(record.outcomes):
        rows, exact_rows = registry_rows(record, code)
        registries += rows
        registries_exact += exact_rows
    add_section(doc, "registries", registries, registries_exact)
    add_section(doc, "surrenders", surrender_rows(record))
    add_section(doc, "stability_events", stability_rows(record))
    add_section(
        doc,
        "deadlines_pending",
        [
            row("deadlines_pending", registry=code, deadline=text)
            for code, texts in sorted(record.deadlines_pending.items())
            for text in texts
        ],
    )
    add_section(doc, "links", *link_rows(record))
    add_section(doc, "link_flows", link_flow_rows(record))
    for name, exit_rows, exit_exact in exit_sections(record):
        add_section(doc, name, exit_rows, exit_exact)
    for name, holder_rows in holder_sections(record):
        add_section(doc, name, holder_rows)
    add_section(doc, "teams", scoreboard_rows(record))
    add_section(doc, "notes", [row("notes", note=note) for note in record.notes])
    for name, bench_rows, bench_exact in equilibrium.equilibrium_sections(record):
        add_section(doc, name, bench_rows, bench_exact)
    return doc


def add_section(
    doc: Summary,
    name: str,
    rows: list[dict[str, Any]] | dict[str, Any],
    exact_rows: list[dict[str, Any]] | dict[str, Any] | None = None,
) -> None:
    """Add section `name` to a summary: a list of flat records (or one record), and its
    exact figures under `exact.<name>` when it has any.

    A section is added once; a later report adds its own (`teams`) the same way.
    """
    assert name not in doc and name not in ("schema", "exact"), f"section {name!r} twice"
    for item in rows if isinstance(rows, list) else [rows]:
        assert not any(isinstance(value, dict | list) for value in item.values()), (name, item)
    doc[name] = rows
    if exact_rows is not None:
        doc["exact"][name] = exact_rows


# ---------------------------------------------------------------- markets and auctions


def market_rows(record: RunRecord) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return one record per book and year it traded or held an auction, and each VWAP."""
    rows: list[dict[str, Any]] = []
    exact_rows: list[dict[str, Any]] = []
    for code in sorted(record.books):
        book = record.books[code]
        by_year: dict[int, dict[str, Any]] = {}
        for trade in record.trades:
            if trade.instrument != code:
                continue
            year = by_year.setdefault(int(trade.day[:4]), _no_trades())
            year["volume_t"] += trade.quantity_t
            year["notional_minor"] += trade.price_minor * trade.quantity_t
            year["trades"] += 1
            year["settled_t"] += trade.quantity_t if settled(trade) else 0
            year["prices"].append(trade.price_minor)
        for auction in record.auctions:
            if auction.instrument == code:
                by_year.setdefault(int(auction.day[:4]), _no_trades())["auctions"] += 1
        for year_number, year in sorted(by_year.items()):
            vwap = (
                None if not year["volume_t"] else Fraction(year["notional_minor"], year["volume_t"])
            )
            low = min(year["prices"], default=None)
            high = max(year["prices"], default=None)
            currency = book.currency
            rows.append(
                row(
                    "markets",
                    instrument=code,
                    year=year_number,
                    currency=currency,
                    unit_type=book.unit_type,
                    venue=book.registry,
                    trades=year["trades"],
                    volume_t=year["volume_t"],
                    settled_t=year["settled_t"],
                    vwap=major(vwap, currency, PRICE_PLACES),
                    low=major(low, currency),
                    low_minor=low,
                    high=major(high, currency),
                    high_minor=high,
                    notional=major(year["notional_minor"], currency),
                    notional_minor=year["notional_minor"],
                    auctions=year["auctions"],
                )
            )
            exact_rows.append(
                exact_row(
                    "markets",
                    instrument=code,
                    year=year_number,
                    vwap_minor=None if vwap is None else exact(vwap),
                )
            )
    return rows, exact_rows


def _no_trades() -> dict[str, Any]:
    """Return a market year in which nothing traded on the exchange (yet)."""
    return {
        "volume_t": 0,
        "settled_t": 0,
        "notional_minor": 0,
        "trades": 0,
        "prices": [],
        "auctions": 0,
    }


def auction_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Return one record per auction, in the order they were held (auctions.csv's rows)."""
    rows = []
    for auction in record.auctions:
        currency = record.books[auction.instrument].currency
        rows.append(
            row(
                "auctions",
                day=auction.day,
                registry=auction.registry,
                instrument=auction.instrument,
                currency=currency,
                kind=auction.kind,
                supply_t=auction.supply_t,
                reserve_price=major(auction.reserve_price_minor, currency),
                reserve_price_minor=auction.reserve_price_minor,
                clearing_price=major(auction.clearing_price_minor, currency),
                clearing_price_minor=auction.clearing_price_minor,
                sold_t=auction.sold_t,
                unsold_t=auction.unsold_t,
                unsold_rule=auction.unsold_rule,
                bids=auction.bids,
                bidders=auction.bidders,
                proceeds=major(auction.proceeds_minor, currency),
                proceeds_minor=auction.proceeds_minor,
                secondary_price=major(auction.secondary_price_minor, currency),
                secondary_price_minor=auction.secondary_price_minor,
                cancelled=auction.cancelled,
                note=auction.note,
            )
        )
    return rows


# ---------------------------------------------------------------- registries


def period_label(first_year: int, last_year: int) -> str:
    """Return a compliance period's name: "2021" for one year, "2021-2023" for several."""
    return str(first_year) if first_year == last_year else f"{first_year}-{last_year}"


def _period_last_year(record: RunRecord, code: str, period: int) -> int:
    """Return a period's last year; a programme's exit ends its open period early."""
    last = record.scenario.registry(code).regime.calendar.period_last_year(period)
    exited = record.scenario.exit_of(code)
    return last if exited is None else min(last, exited.day.year)


def _registry_years(record: RunRecord, code: str) -> dict[int, dict[str, Any]]:
    """Return a registry's raw figures per year (exact; None where the run has none)."""
    years: dict[int, dict[str, Any]] = {}

    def year_of(number: int) -> dict[str, Any]:
        return years.setdefault(number, {})

    for firm in record.firm_years:
        if firm.registry != code:
            continue
        year = year_of(firm.year)
        for key, value in (
            ("allocated_t", firm.allocated_t),
            ("verified_emissions_t", firm.emissions_t),
            ("surrendered_t", firm.surrendered_t),
            ("abatement_t", firm.abatement_t),
            ("abatement_cost_minor", firm.abatement_cost_minor),
        ):
            year[key] = year.get(key, 0) + value
    for outcome in record.outcomes[code]:
        # A period's outcome is reported once, in the row of its last year.
        last = _period_last_year(record, code, outcome.period)
        year = year_of(last)
        year["period"] = period_label(outcome.period, last)
        year["entities"] = year.get("entities", 0) + 1
        year["compliant_entities"] = year.get("compliant_entities", 0) + (outcome.shortfall_t == 0)
        year["obligation_t"] = year.get("obligation_t", 0) + outcome.obligation_t
        year["period_surrendered_t"] = (
            year.get("period_surrendered_t", Fraction(0)) + outcome.surrendered_value
        )
        year["shortfall_t"] = year.get("shortfall_t", 0) + outcome.shortfall_t
        year["penalties_minor"] = year.get("penalties_minor", 0) + outcome.penalty.fine_minor
    for surrender in record.surrenders:
        if surrender.registry == code:
            year = year_of(_period_last_year(record, code, surrender.period))
            year["mix_t"] = year.get("mix_t", 0) + surrender.quantity_t
            year["offsets_t"] = year.get("offsets_t", 0) + surrender.quantity_t * surrender.offset
            foreign = surrender.origin != code
            year["foreign_t"] = year.get("foreign_t", 0) + surrender.quantity_t * foreign
    for (registry, period), borrowed_t in record.borrowed_t.items():
        if registry == code:
            year = year_of(_period_last_year(record, code, period))
            year["borrowed_t"] = borrowed_t
            year["surrendered_t"] = year.get("surrendered_t", 0) + borrowed_t
    closed = {firm.year for firm in record.firm_years if firm.registry == code}
    for government in record.governments:
        # a government's year is reported beside its firms' (none yet in an interrupted run)
        if government.registry == code and government.year in closed:
            year_of(government.year)["government"] = government
    for (registry, year_number), (price, source) in record.average_prices.items():
        if registry == code:
            year = year_of(year_number)
            year["average_price_minor"] = price
            year["average_price_source"] = source
    return years


def registry_rows(
    record: RunRecord, code: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return a registry's records per year: its firms' year, its government's and, in the
    row of its last year, each compliance period's outcome and what was surrendered."""
    item = record.scenario.registry(code)
    currency = item.currency
    rows, exact_rows = [], []
    for year_number, year in sorted(_registry_years(record, code).items()):
        government = year.get("government")
        allocated_t = year.get("allocated_t")
        auctioned_t = None if government is None else government.auctioned_t
        cost = year.get("abatement_cost_minor")
        average = year.get("average_price_minor")
        surrendered = year.get("period_surrendered_t", Fraction(0))
        mix_t = year.get("mix_t", 0)
        shares = {
            key: Fraction(year.get(f"{key}_t", 0), mix_t) if mix_t else Fraction(0)
            for key in ("offsets", "foreign")
        }
        floor = None if government is None else government.price_floor_minor
        ceiling = None if government is None else government.price_ceiling_minor
        rows.append(
            row(
                "registries",
                registry=code,
                year=year_number,
                currency=currency,
                allowance=item.regime.allowance_unit_type,
                allocated_t=allocated_t,
                auctioned_t=auctioned_t,
                cap_t=None if allocated_t is None else allocated_t + (auctioned_t or 0),
                verified_emissions_t=year.get("verified_emissions_t"),
                surrendered_t=year.get("surrendered_t", 0),
                borrowed_t=year.get("borrowed_t", 0),
                abatement_t=year.get("abatement_t"),
                abatement_cost=major(cost, currency),
                abatement_cost_minor=minor(cost),
                average_price=major(average, currency),
                average_price_minor=average,
                average_price_source=year.get("average_price_source"),
                auction_sold_t=None if government is None else government.auction_sold_t,
                reserve_released_t=None if government is None else government.reserve_released_t,
                ceiling_sold_t=None if government is None else government.ceiling_sold_t,
                price_floor=major(floor, currency),
                price_floor_minor=floor,
                price_ceiling=major(ceiling, currency),
                price_ceiling_minor=ceiling,
                period=year.get("period"),
                entities=year.get("entities", 0),
                compliant_entities=year.get("compliant_entities", 0),
                obligation_t=year.get("obligation_t", 0),
                period_surrendered_t=number(surrendered),
                shortfall_t=year.get("shortfall_t", 0),
                penalties=major(year.get("penalties_minor", 0), currency),
                penalties_minor=year.get("penalties_minor", 0),
                offsets_t=year.get("offsets_t", 0),
                foreign_t=year.get("foreign_t", 0),
                offset_share=number(shares["offsets"]),
                foreign_share=number(shares["foreign"]),
            )
        )
        exact_rows.append(
            exact_row(
                "registries",
                registry=code,
                year=year_number,
                abatement_cost_minor=None if cost is None else exact(cost),
                period_surrendered_t=exact(surrendered),
                offset_share=exact(shares["offsets"]),
                foreign_share=exact(shares["foreign"]),
            )
        )
    return rows, exact_rows


def surrender_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Return what each registry's entities surrendered per period, unit type and origin."""
    return [
        row(
            "surrenders",
            registry=item.registry,
            period=period_label(item.period, _period_last_year(record, item.registry, item.period)),
            year=_period_last_year(record, item.registry, item.period),
            unit_type=item.unit_type,
            origin=item.origin,
            offset=item.offset,
            surrendered_t=item.quantity_t,
        )
        for item in record.surrenders
    ]


def stability_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Return each price control a month's price set off, per registry."""
    rows = []
    for government in record.governments:
        currency = record.scenario.registry(government.registry).currency
        for event in government.stability_events:
            rows.append(
                row(
                    "stability_events",
                    registry=government.registry,
                    year=government.year,
                    month=f"{event.year}-{event.month:02d}",
                    kind=event.kind.value,
                    currency=currency,
                    price=major(event.price_minor, currency),
                    price_minor=event.price_minor,
                    threshold=major(event.threshold_minor, currency),
                    threshold_minor=event.threshold_minor,
                    detail=event.detail,
                )
            )
    return rows


# ---------------------------------------------------------------- links and exits


def link_rows(record: RunRecord) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return per link and year what crossed it: completed tonnes and transfers, refused
    and terminated transfers, and `cap_use` (completed / the period cap). A transfer's
    year is the period its link counted it in (the year it was proposed)."""
    rows, exact_rows = [], []
    for link in sorted(record.scenario.links, key=lambda item: item.link_id):
        years: dict[int, dict[str, int]] = {}
        for transfer in record.transfers:
            if transfer.link_id != link.link_id:
                continue
            year = years.setdefault(
                transfer.period, {"completed_t": 0, "completed": 0, "rejected": 0, "terminated": 0}
            )
            if transfer.status in year:
                year[transfer.status] += 1
            if transfer.status == "completed":
                year["completed_t"] += transfer.quantity_t
        for year_number, year in sorted(years.items()):
            cap = link.period_cap_t
            use = None if cap is None else Fraction(year["completed_t"], cap)
            rows.append(
                row(
                    "links",
                    link_id=link.link_id,
                    year=year_number,
                    registry_a=link.registry_a,
                    registry_b=link.registry_b,
                    direction=link.direction.value,
                    period_cap_t=cap,
                    completed_t=year["completed_t"],
                    transfers=year["completed"],
                    refused=year["rejected"],
                    terminated=year["terminated"],
                    cap_use=number(use),
                )
            )
            exact_rows.append(
                exact_row(
                    "links",
                    link_id=link.link_id,
                    year=year_number,
                    cap_use=None if use is None else exact(use),
                )
            )
    return rows, exact_rows


def link_flow_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Return completed tonnes per link, year, direction and unit type."""
    flows: dict[tuple[str, int, str, str, str], int] = {}
    for transfer in record.transfers:
        if transfer.status != "completed":
            continue
        for unit_type, quantity_t in transfer.by_unit_t:
            key = (
                transfer.link_id,
                transfer.period,
                transfer.from_registry,
                transfer.to_registry,
                unit_type,
            )
            flows[key] = flows.get(key, 0) + quantity_t
    return [
        row(
            "link_flows",
            link_id=link_id,
            year=year,
            from_registry=origin,
            to_registry=into,
            unit_type=unit_type,
            completed_t=quantity_t,
        )
        for (link_id, year, origin, into, unit_type), quantity_t in sorted(flows.items())
    ]


def exit_sections(
    record: RunRecord,
) -> Iterable[tuple[str, list[dict[str, Any]], list[dict[str, Any]] | None]]:
    """Return the `exits`, `exit_units` and `exit_periods` sections: each programme's
    exit, what its accounts held then, and each period it closed (from its first year to
    the exit's: "2017-2018")."""
    exits, units, periods, periods_exact = [], [], [], []
    for item in record.exits:
        currency = record.scenario.registry(item.registry).currency
        exits.append(
            row(
                "exits",
                registry=item.registry,
                date=item.day,
                units=item.units,
                open_period=item.open_period,
                links_terminated=" ".join(item.links_terminated),
                transfers_terminated=len(item.transfers_terminated),
                transfer_ids_terminated=" ".join(item.transfers_terminated),
                units_total_t=sum(quantity_t for _, _, quantity_t in item.units_t),
            )
        )
        units += [
            row(
                "exit_units",
                registry=item.registry,
                origin=origin,
                unit_type=unit_type,
                held_t=quantity_t,
            )
            for origin, unit_type, quantity_t in item.units_t
        ]
        exit_year = int(item.day[:4])
        for period in item.periods:
            outcomes = [o for o in record.outcomes[item.registry] if o.period == period]
            surrendered = sum((o.surrendered_value for o in outcomes), Fraction(0))
            fines = sum(o.penalty.fine_minor for o in outcomes)
            label = period_label(period, exit_year)
            periods.append(
                row(
                    "exit_periods",
                    registry=item.registry,
                    period=label,
                    rule=item.open_period,
                    currency=currency,
                    entities=len(outcomes),
                    compliant_entities=sum(o.shortfall_t == 0 for o in outcomes),
                    obligation_t=sum(o.obligation_t for o in outcomes),
                    surrendered_t=number(surrendered),
                    shortfall_t=sum(o.shortfall_t for o in outcomes),
                    penalties=major(fines, currency),
                    penalties_minor=fines,
                )
            )
            periods_exact.append(
                exact_row(
                    "exit_periods",
                    registry=item.registry,
                    period=label,
                    surrendered_t=exact(surrendered),
                )
            )
    return [
        ("exits", exits, None),
        ("exit_units", units, None),
        ("exit_periods", periods, periods_exact),
    ]


# ---------------------------------------------------------------- holders


def holder_sections(record: RunRecord) -> list[tuple[str, list[dict[str, Any]]]]:
    """Return each participant's and dealer's end: trades, holdings per book (account and
    custody claim), cash per currency (clearing house, free + reserved)."""
    holders: dict[str, list[dict[str, Any]]] = {"participant": [], "dealer": []}
    holdings, cash = [], []
    for end in record.holders:
        section = f"{end.kind}s"
        holders[end.kind].append(
            row(
                section,
                member=end.member,
                registry=end.registry,
                trades=end.trades,
                bought_t=end.bought_t,
                sold_t=end.sold_t,
                left_early=end.left_early,
            )
        )
        holdings += [
            row("holdings", member=end.member, kind=end.kind, instrument=book, held_t=held_t)
            for book, held_t in end.holdings_t
        ]
        cash += [
            row(
                "cash",
                member=end.member,
                kind=end.kind,
                currency=currency,
                cash=major(amount_minor, currency),
                cash_minor=amount_minor,
            )
            for currency, amount_minor in end.cash_minor
        ]
    return [
        ("participants", holders["participant"]),
        ("dealers", holders["dealer"]),
        ("holdings", holdings),
        ("cash", cash),
    ]


def records_of(doc: Mapping[str, Any], section: str, **match: Any) -> list[dict[str, Any]]:
    """Return the records of `section` whose keys equal `match` (a reader's helper)."""
    return [
        item for item in doc[section] if all(item.get(key) == value for key, value in match.items())
    ]


__all__ = [
    "add_section",
    "build_summary",
    "period_label",
    "records_of",
    "registry_rows",
]
