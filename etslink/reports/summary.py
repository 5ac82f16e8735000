"""The run's reports: summary.json and the CSVs, built from a run's frozen record.

`build_summary(record)` returns what summary.json holds (its schema is in
docs/scenarios.md, "Run outputs"); `write_reports(record, summary, out)` writes it with
`trades.csv`, `prices.csv`, `settlements.csv`, `transfers.csv`, `auctions.csv`,
`allocations.csv` and `compliance.csv`.
"""

from __future__ import annotations

import csv
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from etslink.reports.numbers import exact
from etslink.sim.allocation import rule_of
from etslink.sim.record import AuctionRecord, RunRecord, TradeRow, settled


def build_summary(record: RunRecord) -> dict[str, Any]:
    """Return the summary: what summary.json holds.

    `markets.<book>`: `currency`, `unit_type`, `venue`, and `years.<year>`: vwap_minor
    (exact, "p/q" when not whole), min_minor, max_minor, volume_t (matched), settled_t,
    notional_minor, trades, auctions. `registries.<code>.years.<year>`: allocated_t,
    verified_emissions_t, surrendered_t, abatement_t, abatement_cost_minor (registry
    currency, rounded down), average_price_minor and its source, the government's year, and
    from the deadline outcomes of the period ending that year (`period`, e.g. "2021-2023";
    None in a year that ends no settled period): entities, compliant_entities,
    obligation_t, period_surrendered (exact), shortfall_t, penalties_minor.
    `deadlines_pending` lists surrender deadlines the run did not reach. `links`: what
    crossed each link per year.
    `exits.<code>`: a programme's exit (`exit_summary`).
    `holders`: participants' and dealers' ends. `totals`: trades, volume_t, abatement_t,
    abatement_cost_minor (scenario currency, rounded down), orders_refused.
    """
    scenario = record.scenario
    abatement_t = sum(f.abatement_t for f in record.firm_years)
    cost = sum(
        (
            f.abatement_cost_minor
            * scenario.fx.minor_factor(scenario.registry(f.registry).currency, scenario.currency)
            for f in record.firm_years
        ),
        Fraction(0),
    )
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "currency": scenario.currency,
        "interest_rate": exact(scenario.interest_rate),
        "interrupted": record.interrupted,
        "years_run": record.years_run,
        "trading_days_per_year_run": record.days_run,
        "markets": market_summary(record),
        "registries": {code: _registry_summary(record, code) for code in sorted(record.outcomes)},
        "links": link_summary(record),
        "exits": exit_summary(record),
        "participants": holder_summary(record, "participant"),
        "dealers": holder_summary(record, "dealer"),
        "totals": {
            "trades": len(record.trades),
            "volume_t": sum(t.quantity_t for t in record.trades),
            "abatement_t": abatement_t,
            "abatement_cost_minor": math.floor(cost),
            "orders_refused": record.refused_orders,
        },
        "notes": list(record.notes),
    }


def market_summary(record: RunRecord) -> dict[str, Any]:
    markets: dict[str, dict[str, Any]] = {}
    for code in sorted(record.books):
        by_year: dict[str, dict[str, Any]] = {}
        for row in record.trades:
            if row.instrument != code:
                continue
            year = by_year.setdefault(row.day[:4], _no_trades())
            year["volume_t"] += row.quantity_t
            year["notional_minor"] += row.price_minor * row.quantity_t
            year["trades"] += 1
            year["settled_t"] += row.quantity_t if settled(row) else 0
            low, high = year["min_minor"], year["max_minor"]
            year["min_minor"] = row.price_minor if low is None else min(low, row.price_minor)
            year["max_minor"] = row.price_minor if high is None else max(high, row.price_minor)
        for year in by_year.values():
            year["vwap_minor"] = exact(Fraction(year["notional_minor"], year["volume_t"]))
        for auction in record.auctions:
            if auction.instrument == code:
                by_year.setdefault(auction.day[:4], _no_trades())["auctions"].append(
                    _auction_data(auction)
                )
        book = record.books[code]
        markets[code] = {
            "currency": book.currency,
            "unit_type": book.unit_type,
            "venue": book.registry,
            "years": dict(sorted(by_year.items())),
        }
    return markets


def _no_trades() -> dict[str, Any]:
    """Return a market year in which nothing traded on the exchange (yet)."""
    return {
        "vwap_minor": None,
        "min_minor": None,
        "max_minor": None,
        "volume_t": 0,
        "settled_t": 0,
        "notional_minor": 0,
        "trades": 0,
        "auctions": [],
    }


ZERO_KEYS = ("entities", "compliant_entities", "shortfall_t", "penalties_minor", "borrowed_t")
AUCTION_COLUMNS = [
    "day",
    "registry",
    "instrument",
    "kind",
    "supply_t",
    "reserve_price_minor",
    "clearing_price_minor",
    "sold_t",
    "unsold_t",
    "unsold_rule",
    "bids",
    "bidders",
    "proceeds_minor",
    "secondary_price_minor",
    "cancelled",
    "note",
]


def _auction_data(record: AuctionRecord) -> dict[str, Any]:
    return {column: getattr(record, column) for column in AUCTION_COLUMNS}


def _government_summary(record: RunRecord, code: str, year: int) -> dict[str, Any]:
    """Return the government's part of a registry-year: auctions, reserve, price controls."""
    found = next((g for g in record.governments if g.registry == code and g.year == year), None)
    if found is None:
        return {}
    return {
        "auctioned_t": found.auctioned_t,
        "auction_sold_t": found.auction_sold_t,
        "reserve_released_t": found.reserve_released_t,
        "ceiling_sold_t": found.ceiling_sold_t,
        "price_floor_minor": found.price_floor_minor,
        "price_ceiling_minor": found.price_ceiling_minor,
        "stability_events": [
            {
                "kind": event.kind.value,
                "month": f"{event.year}-{event.month:02d}",
                "price_minor": event.price_minor,
                "threshold_minor": event.threshold_minor,
                "detail": event.detail,
            }
            for event in found.stability_events
        ],
    }


def _registry_summary(record: RunRecord, code: str) -> dict[str, Any]:
    years: dict[str, Any] = {}
    for row in record.firm_years:
        if row.registry != code:
            continue
        year = years.setdefault(
            str(row.year),
            {
                "allocated_t": 0,
                "verified_emissions_t": 0,
                "surrendered_t": 0,
                "abatement_t": 0,
                "abatement_cost_minor": Fraction(0),
            },
        )
        year["allocated_t"] += row.allocated_t
        year["verified_emissions_t"] += row.emissions_t
        year["surrendered_t"] += row.surrendered_t
        year["abatement_t"] += row.abatement_t
        year["abatement_cost_minor"] += row.abatement_cost_minor
    calendar = record.scenario.registry(code).regime.calendar
    exited = record.scenario.exit_of(code)

    def last_year(period: int) -> int:
        """Return a period's last year; a programme's exit ends its open period early."""
        last = calendar.period_last_year(period)
        return last if exited is None else min(last, exited.day.year)

    for outcome in record.outcomes[code]:
        # A period's outcome is reported once, in the row of its last year.
        year = years.setdefault(str(last_year(outcome.period)), {})
        year["period"] = period_label(outcome.period, last_year(outcome.period))
        year["entities"] = year.get("entities", 0) + 1
        year["compliant_entities"] = year.get("compliant_entities", 0) + (outcome.shortfall_t == 0)
        year["obligation_t"] = year.get("obligation_t", 0) + outcome.obligation_t
        year["period_surrendered"] = (
            year.get("period_surrendered", Fraction(0)) + outcome.surrendered_value
        )
        year["shortfall_t"] = year.get("shortfall_t", 0) + outcome.shortfall_t
        year["penalties_minor"] = year.get("penalties_minor", 0) + outcome.penalty.fine_minor
    for period, surrendered in surrender_mix(record, code).items():
        years.setdefault(str(last_year(period)), {}).update(surrendered)
    for (registry, period), borrowed_t in record.borrowed_t.items():
        if registry == code:
            year = years.setdefault(str(last_year(period)), {})
            year["borrowed_t"] = borrowed_t
            year["surrendered_t"] = year.get("surrendered_t", 0) + borrowed_t
    for year_number in sorted({row.year for row in record.firm_years if row.registry == code}):
        row = years.setdefault(str(year_number), {})
        row.update(_government_summary(record, code, year_number))
        row["cap_t"] = row.get("allocated_t", 0) + row.get("auctioned_t", 0)
    for (registry, year_number), (price, source) in record.average_prices.items():
        if registry == code:
            year = years.setdefault(str(year_number), {})
            year["average_price_minor"] = price
            year["average_price_source"] = source
    for year in years.values():
        if "abatement_cost_minor" in year:
            year["abatement_cost_minor"] = math.floor(year["abatement_cost_minor"])
        year.setdefault("period", None)
        year["period_surrendered"] = exact(year.get("period_surrendered", Fraction(0)))
        for key in (
            "entities",
            "compliant_entities",
            "obligation_t",
            "shortfall_t",
            "penalties_minor",
            "borrowed_t",
        ):
            year.setdefault(key, 0)
    item = record.scenario.registry(code)
    return {
        "currency": item.currency,
        "allowance": item.regime.allowance_unit_type,
        "years": dict(sorted(years.items())),
        "deadlines_pending": list(record.deadlines_pending.get(code, ())),
    }


def exit_summary(record: RunRecord) -> dict[str, Any]:
    """Return each programme exit: `date`, `units` (cancelled, frozen or domestic),
    `open_period` (settle_to_date or waive), `links_terminated`, `transfers_terminated`
    (ids), `units_t` (origin → unit type → tonnes its accounts held: what was cancelled,
    frozen or left tradable at home) with `units_total_t`, and `settled`: per period closed
    (`"2017-2018"`: from its first year to the exit's), `rule`, `entities`,
    `compliant_entities`, `obligation_t`, `surrendered` (compliance value, exact),
    `shortfall_t` and `penalties_minor` (zero and none when waived)."""
    exits: dict[str, Any] = {}
    for item in record.exits:
        units: dict[str, dict[str, int]] = {}
        for origin, unit_type, quantity_t in item.units_t:
            units.setdefault(origin, {})[unit_type] = quantity_t
        exit_year = int(item.day[:4])
        settled = {}
        for period in item.periods:
            outcomes = [o for o in record.outcomes[item.registry] if o.period == period]
            settled[period_label(period, exit_year)] = {
                "rule": item.open_period,
                "entities": len(outcomes),
                "compliant_entities": sum(o.shortfall_t == 0 for o in outcomes),
                "obligation_t": sum(o.obligation_t for o in outcomes),
                "surrendered": exact(sum((o.surrendered_value for o in outcomes), Fraction(0))),
                "shortfall_t": sum(o.shortfall_t for o in outcomes),
                "penalties_minor": sum(o.penalty.fine_minor for o in outcomes),
            }
        exits[item.registry] = {
            "date": item.day,
            "units": item.units,
            "open_period": item.open_period,
            "links_terminated": list(item.links_terminated),
            "transfers_terminated": list(item.transfers_terminated),
            "units_t": units,
            "units_total_t": sum(quantity_t for _, _, quantity_t in item.units_t),
            "settled": settled,
        }
    return exits


def period_label(first_year: int, last_year: int) -> str:
    """Return a compliance period's name: "2021" for one year, "2021-2023" for several."""
    return str(first_year) if first_year == last_year else f"{first_year}-{last_year}"


def surrender_mix(record: RunRecord, code: str) -> dict[int, dict[str, Any]]:
    """Return per period what `code`'s entities surrendered, by unit type, kind and origin.

    `surrendered_by_unit_type_t` (unit type → t), `offsets_t` (offset credits and Article 6
    units), `foreign_t` (units issued by another registry), and `offset_share` /
    `foreign_share` of all surrendered tonnes (exact, "p/q"; "0" when nothing was).
    """
    by_period: dict[int, dict[str, Any]] = {}
    for row in record.surrenders:
        if row.registry != code:
            continue
        mix = by_period.setdefault(
            row.period, {"surrendered_by_unit_type_t": {}, "offsets_t": 0, "foreign_t": 0}
        )
        by_type = mix["surrendered_by_unit_type_t"]
        by_type[row.unit_type] = by_type.get(row.unit_type, 0) + row.quantity_t
        if row.offset:
            mix["offsets_t"] += row.quantity_t
        if row.origin != code:
            mix["foreign_t"] += row.quantity_t
    for mix in by_period.values():
        total_t = sum(mix["surrendered_by_unit_type_t"].values())
        mix["surrendered_by_unit_type_t"] = dict(sorted(mix["surrendered_by_unit_type_t"].items()))
        for key in ("offsets", "foreign"):
            share = Fraction(mix[f"{key}_t"], total_t) if total_t else Fraction(0)
            mix[f"{key}_share"] = exact(share)
    return by_period


def holder_summary(record: RunRecord, kind: str) -> dict[str, Any]:
    """Return each participant's (or dealer's) end: trades, holdings, cash, whether it left.

    `holdings_t` counts the account and the custody claim per listed book; `cash_minor`
    is the clearing house balance per currency (free + reserved).
    """
    return {
        end.member: {
            "registry": end.registry,
            "trades": end.trades,
            "bought_t": end.bought_t,
            "sold_t": end.sold_t,
            "holdings_t": dict(end.holdings_t),
            "cash_minor": dict(end.cash_minor),
            "left_early": end.left_early,
        }
        for end in record.holders
        if end.kind == kind
    }


def link_summary(record: RunRecord) -> dict[str, Any]:
    """Return per link: its registries, direction, cap and, per year, what crossed it.

    `links.<id>.years.<year>`: `flows` ("A→B" → unit type → completed t),
    `completed_t`, `transfers` (completed), `refused` and `terminated` transfers, and
    `cap_use` = completed t / `period_cap_t` (exact; null without a cap). A transfer's year
    is the period its link counted it in (the year it was proposed).
    """
    links: dict[str, Any] = {}
    for link in sorted(record.scenario.links, key=lambda item: item.link_id):
        years: dict[str, dict[str, Any]] = {}
        for row in record.transfers:
            if row.link_id != link.link_id:
                continue
            year = years.setdefault(
                str(row.period),
                {"flows": {}, "completed_t": 0, "transfers": 0, "refused": 0, "terminated": 0},
            )
            if row.status == "completed":
                lane = year["flows"].setdefault(f"{row.from_registry}→{row.to_registry}", {})
                for unit_type, quantity_t in row.by_unit_t:
                    lane[unit_type] = lane.get(unit_type, 0) + quantity_t
                    year["completed_t"] += quantity_t
                year["transfers"] += 1
            elif row.status == "rejected":
                year["refused"] += 1
            elif row.status == "terminated":
                year["terminated"] += 1
        for year in years.values():
            year["cap_use"] = (
                None
                if link.period_cap_t is None
                else exact(Fraction(year["completed_t"], link.period_cap_t))
            )
        links[link.link_id] = {
            "registries": [link.registry_a, link.registry_b],
            "direction": link.direction.value,
            "period_cap_t": link.period_cap_t,
            "years": dict(sorted(years.items())),
        }
    return links


# ---------------------------------------------------------------- files


TRADE_COLUMNS = [
    "day",
    "trade_id",
    "instrument",
    "price_minor",
    "quantity_t",
    "buyer",
    "seller",
    "status",
    "buyer_registry",
    "venue",
]
PRICE_COLUMNS = [
    "day",
    "instrument",
    "trades",
    "volume_t",
    "notional_minor",
    "low_minor",
    "high_minor",
    "close_minor",
]
SETTLEMENT_COLUMNS = ["day", "instrument", "bid_minor", "ask_minor", "last_minor", "settle_minor"]
ALLOCATION_COLUMNS = [
    "registry",
    "entity",
    "year",
    "method",
    "at_open_t",
    "true_up_t",
    "allocated_t",
    "forecast_t",
    "emissions_t",
]
COMPLIANCE_COLUMNS = [
    "registry",
    "entity",
    "period",
    "period_last_year",
    "emissions_t",
    "obligation_t",
    "surrendered",
    "shortfall_t",
    "status",
    "penalty_minor",
    "carried_t",
]
TRANSFER_COLUMNS = [
    "transaction_id",
    "link_id",
    "proposed_at",
    "from_registry",
    "from_account",
    "to_registry",
    "to_account",
    "unit_types",
    "quantity_t",
    "status",
    "codes",
]


def write_reports(record: RunRecord, summary: dict[str, Any], out: Path) -> list[Path]:
    """Write summary.json and the CSVs into `out`; return the paths written."""
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    paths = [summary_path]
    tables: list[tuple[str, list[str], list[list[Any]]]] = [
        ("trades.csv", TRADE_COLUMNS, [_trade_row(t) for t in record.trades]),
        (
            "prices.csv",
            PRICE_COLUMNS,
            [[getattr(p, column) for column in PRICE_COLUMNS] for p in record.prices],
        ),
        (
            "settlements.csv",
            SETTLEMENT_COLUMNS,
            [[getattr(row, column) for column in SETTLEMENT_COLUMNS] for row in record.settlements],
        ),
        ("transfers.csv", TRANSFER_COLUMNS, transfer_rows(record)),
        (
            "auctions.csv",
            AUCTION_COLUMNS,
            [[getattr(a, column) for column in AUCTION_COLUMNS] for a in record.auctions],
        ),
        ("allocations.csv", ALLOCATION_COLUMNS, allocation_rows(record)),
        ("compliance.csv", COMPLIANCE_COLUMNS, compliance_rows(record)),
    ]
    for name, header, rows in tables:
        path = out / name
        _write_csv(path, header, rows)
        paths.append(path)
    return paths


def _trade_row(trade: TradeRow) -> list[Any]:
    return [getattr(trade, column) for column in TRADE_COLUMNS]


def allocation_rows(record: RunRecord) -> list[list[Any]]:
    """Return each firm-year's free allocation: the method, what came when the year opened,
    the true-up when it closed (China's, to actual output) and the total."""
    scenario = record.scenario
    entities = {e.entity_id: e for item in scenario.registries for e in item.entities}
    rows = []
    for row in record.firm_years:
        entity = entities[row.entity_id]
        method = "share"
        if entity.allocation.rule is not None:
            regime = scenario.registry(row.registry).regime
            method = rule_of(entity, regime, row.year).method.value
        rows.append(
            [
                row.registry,
                row.entity_id,
                row.year,
                method,
                row.allocated_t - row.true_up_t,
                row.true_up_t,
                row.allocated_t,
                row.forecast_t,
                row.emissions_t,
            ]
        )
    return rows


def compliance_rows(record: RunRecord) -> list[list[Any]]:
    rows = []
    for code, outcomes in sorted(record.outcomes.items()):
        for o in outcomes:
            rows.append(
                [
                    code,
                    o.entity_id,
                    o.period,
                    record.scenario.registry(code).regime.calendar.period_last_year(o.period),
                    o.emissions_t,
                    o.obligation_t,
                    exact(o.surrendered_value),
                    o.shortfall_t,
                    o.status.value,
                    o.penalty.fine_minor,
                    o.penalty.carried_t,
                ]
            )
    return rows


def transfer_rows(record: RunRecord) -> list[list[Any]]:
    """Return one row per gateway transfer the run proposed, in transaction-id order."""
    return [
        [
            row.transaction_id,
            row.link_id,
            row.proposed_at,
            row.from_registry,
            row.from_account,
            row.to_registry,
            row.to_account,
            " ".join(unit for unit, _ in row.by_unit_t),
            row.quantity_t,
            row.status,
            " ".join(str(code) for code in row.codes),
        ]
        for row in record.transfers
    ]


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


__all__ = ["build_summary", "link_summary", "surrender_mix", "write_reports"]
