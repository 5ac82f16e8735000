"""The run's reports: summary.json and the CSVs, built from a finished (or interrupted) run.

`build_summary(run, trades)` returns what summary.json holds (its schema is in
docs/scenarios.md, "Run outputs"); `write_reports(result, run)` writes it with
`trades.csv`, `prices.csv`, `transfers.csv` and `compliance.csv`.
"""

from __future__ import annotations

import csv
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compliance.book import ComplianceBook
from compliance.calendar import DeadlineKind
from compliance.stability import price_ceiling_minor, price_floor_minor
from exchange.market import TradeStatus
from gateway.messages import TransactionStatus
from registry import UnitKind

if TYPE_CHECKING:
    from etslink.sim.agents.government import AuctionRecord
    from etslink.sim.run import Run, RunResult, TradeRow


def _money(value: Fraction) -> str:
    """Return an exact amount as text: '1234' or '1234.5' when finite, else 'p/q'."""
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def build_summary(run: Run, trades: list[TradeRow]) -> dict[str, Any]:
    """Return the summary: what summary.json holds.

    `markets.<unit>.years.<year>`: vwap_minor (exact, "p/q" when not whole), min_minor,
    max_minor, volume_t (matched), settled_t, notional_minor, trades.
    `registries.<code>.years.<year>`: allocated_t, verified_emissions_t, surrendered_t,
    abatement_t, abatement_cost_minor (registry currency, rounded down), average_price_minor
    and its source, and from the deadline outcomes of the period starting that year:
    entities, compliant_entities, shortfall_t, penalties_minor. `deadlines_pending` lists
    surrender deadlines the run did not reach. `totals`: trades, volume_t, abatement_t,
    abatement_cost_minor (scenario currency, rounded down), orders_refused.
    """
    scenario = run.scenario
    markets: dict[str, dict[str, Any]] = {}
    for code in sorted(run.instruments):
        by_year: dict[str, Any] = {}
        for row in trades:
            if row.instrument != code:
                continue
            year = by_year.setdefault(
                row.day[:4],
                {
                    "volume_t": 0,
                    "notional_minor": 0,
                    "trades": 0,
                    "settled_t": 0,
                    "low": None,
                    "high": None,
                },
            )
            year["volume_t"] += row.quantity_t
            year["notional_minor"] += row.price_minor * row.quantity_t
            year["trades"] += 1
            year["settled_t"] += row.quantity_t if row.status == TradeStatus.SETTLED.value else 0
            year["low"] = (
                row.price_minor if year["low"] is None else min(year["low"], row.price_minor)
            )
            year["high"] = (
                row.price_minor if year["high"] is None else max(year["high"], row.price_minor)
            )
        years: dict[str, dict[str, Any]] = {
            y: {
                "vwap_minor": _money(Fraction(v["notional_minor"], v["volume_t"])),
                "min_minor": v["low"],
                "max_minor": v["high"],
                "volume_t": v["volume_t"],
                "settled_t": v["settled_t"],
                "notional_minor": v["notional_minor"],
                "trades": v["trades"],
                "auctions": [],
            }
            for y, v in by_year.items()
        }
        for record in auction_records(run):
            if record.instrument == code:
                year_row = years.setdefault(record.day[:4], _no_trades())
                year_row["auctions"].append(_auction_data(record))
        markets[code] = {
            "currency": run.instruments[code].instrument.currency,
            "years": dict(sorted(years.items())),
        }
    registries = {code: _registry_summary(run, code) for code in sorted(run.world.books)}
    abatement_t = sum(f.abatement_t for f in run.firm_years)
    cost = sum(
        (
            run._convert(
                f.abatement_cost_minor, scenario.registry(f.registry).currency, scenario.currency
            )
            for f in run.firm_years
        ),
        Fraction(0),
    )
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "currency": scenario.currency,
        "years_run": run.years,
        "trading_days_per_year_run": run.days,
        "markets": markets,
        "registries": registries,
        "links": link_summary(run),
        "participants": participant_summary(run, trades),
        "totals": {
            "trades": len(trades),
            "volume_t": sum(t.quantity_t for t in trades),
            "abatement_t": abatement_t,
            "abatement_cost_minor": math.floor(cost),
            "orders_refused": run.refused_orders,
        },
    }


def _no_trades() -> dict[str, Any]:
    """Return a market year in which nothing traded on the exchange (an auction did)."""
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


def auction_records(run: Run) -> list[AuctionRecord]:
    """Return every auction of the run, by day and registry."""
    records = [r for g in run.governments.values() for r in g.records]
    return sorted(records, key=lambda r: (r.day, r.registry))


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
]


def _auction_data(record: AuctionRecord) -> dict[str, Any]:
    return {column: getattr(record, column) for column in AUCTION_COLUMNS}


def _government_summary(run: Run, code: str, year: int) -> dict[str, Any]:
    """Return the government's part of a registry-year: auctions, reserve, price controls."""
    government = run.governments[code]
    records = [r for r in government.records if r.day.startswith(f"{year}-")]
    stability = government.regime.stability
    return {
        "auctioned_t": government.auctioned_t.get(year, 0),
        "auction_sold_t": sum(r.sold_t for r in records if r.kind == "scheduled"),
        "reserve_released_t": sum(r.sold_t for r in records if r.kind != "scheduled"),
        "ceiling_sold_t": government.ceiling_sold_t.get(year, 0),
        "price_floor_minor": price_floor_minor(stability, year),
        "price_ceiling_minor": price_ceiling_minor(stability, year),
        "stability_events": [
            {
                "kind": event.kind.value,
                "month": f"{event.year}-{event.month:02d}",
                "price_minor": event.price_minor,
                "threshold_minor": event.threshold_minor,
                "detail": event.detail,
            }
            for event in government.events
            if event.year == year
        ],
    }


def _registry_summary(run: Run, code: str) -> dict[str, Any]:
    book = run.world.books[code]
    years: dict[str, Any] = {}
    for row in run.firm_years:
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
    for outcome in book.outcomes():
        year = years.setdefault(str(outcome.period), {})
        year.setdefault("entities", 0)
        year["entities"] = year["entities"] + 1
        year["compliant_entities"] = year.get("compliant_entities", 0) + (outcome.shortfall_t == 0)
        year["shortfall_t"] = year.get("shortfall_t", 0) + outcome.shortfall_t
        year["penalties_minor"] = year.get("penalties_minor", 0) + outcome.penalty.fine_minor
    for period, surrendered in surrender_mix(run, code).items():
        years.setdefault(str(period), {}).update(surrendered)
    for (registry, period), borrowed_t in run.borrowed.items():
        if registry == code:
            year = years.setdefault(str(period), {})
            year["borrowed_t"] = borrowed_t
            year["surrendered_t"] = year.get("surrendered_t", 0) + borrowed_t
    for year_number in sorted({row.year for row in run.firm_years if row.registry == code}):
        row = years.setdefault(str(year_number), {})
        row.update(_government_summary(run, code, year_number))
        row["cap_t"] = row.get("allocated_t", 0) + row["auctioned_t"]
    for (registry, year_number), (price, source) in run.average_prices.items():
        if registry == code:
            year = years.setdefault(str(year_number), {})
            year["average_price_minor"] = price
            year["average_price_source"] = source
    for year in years.values():
        if "abatement_cost_minor" in year:
            year["abatement_cost_minor"] = math.floor(year["abatement_cost_minor"])
        for key in (
            "entities",
            "compliant_entities",
            "shortfall_t",
            "penalties_minor",
            "borrowed_t",
        ):
            year.setdefault(key, 0)
    return {
        "currency": run.scenario.registry(code).currency,
        "allowance": book.regime.allowance_unit_type,
        "years": dict(sorted(years.items())),
        "deadlines_pending": _pending(book, run.scenario.calendar.start.year + run.years - 1),
    }


def surrender_mix(run: Run, code: str) -> dict[int, dict[str, Any]]:
    """Return per period what `code`'s entities surrendered, by unit type, kind and origin.

    `surrendered_by_unit_type_t` (unit type → t), `offsets_t` (offset credits and Article 6
    units), `foreign_t` (units issued by another registry), and `offset_share` /
    `foreign_share` of all surrendered tonnes (exact, "p/q"; "0" when nothing was).
    """
    ledger = run.world.registries[code].ledger
    by_period: dict[int, dict[str, Any]] = {}
    for record in ledger.surrenders():
        row = by_period.setdefault(
            record.period, {"surrendered_by_unit_type_t": {}, "offsets_t": 0, "foreign_t": 0}
        )
        for block in record.blocks:
            quantity_t = block.end - block.start + 1
            by_type = row["surrendered_by_unit_type_t"]
            by_type[block.unit_type] = by_type.get(block.unit_type, 0) + quantity_t
            if ledger.unit_types[block.unit_type].kind is not UnitKind.ALLOWANCE:
                row["offsets_t"] += quantity_t
            if block.origin != code:
                row["foreign_t"] += quantity_t
    for row in by_period.values():
        total_t = sum(row["surrendered_by_unit_type_t"].values())
        row["surrendered_by_unit_type_t"] = dict(sorted(row["surrendered_by_unit_type_t"].items()))
        for key in ("offsets", "foreign"):
            share = Fraction(row[f"{key}_t"], total_t) if total_t else Fraction(0)
            row[f"{key}_share"] = _money(share)
    return by_period


def participant_summary(run: Run, trades: list[TradeRow]) -> dict[str, Any]:
    """Return each human participant's end: trades, holdings, free cash, and whether it left.

    `holdings_t` counts the account and the custody claim per listed unit type; `cash_minor`
    is the clearing house balance per currency (free + reserved).
    """
    exchange = run.world.exchange
    currencies = sorted({item.instrument.currency for item in run.instruments.values()})
    participants: dict[str, Any] = {}
    for seat in run.seats:
        member = seat.holder.member_id
        account = run.world.registries[seat.holder.registry].account(seat.holder.account_id)
        mine = [t for t in trades if member in (t.buyer, t.seller)]
        participants[member] = {
            "registry": seat.holder.registry,
            "trades": len(mine),
            "bought_t": sum(t.quantity_t for t in mine if t.buyer == member),
            "sold_t": sum(t.quantity_t for t in mine if t.seller == member),
            "holdings_t": {
                code: account.holding.balance(code) + exchange.custody.balance(member, code).total
                for code in sorted(run.instruments)
            },
            "cash_minor": {
                currency: exchange.clearing.balance(member, currency).total
                for currency in currencies
            },
            "left_early": seat.left,
        }
    return participants


def link_summary(run: Run) -> dict[str, Any]:
    """Return per link: its registries, direction, cap and, per year, what crossed it.

    `links.<id>.years.<year>`: `flows` ("A→B" → unit type → completed t),
    `completed_t`, `transfers` (completed), `refused` and `terminated` transfers, and
    `cap_use` = completed t / `period_cap_t` (exact; null without a cap). A transfer's year
    is the period its link counted it in (the year it was proposed).
    """
    federation = run.world.federation
    if federation is None:
        return {}
    gateway = federation.gateway
    links: dict[str, Any] = {}
    for link in sorted(run.scenario.links, key=lambda item: item.link_id):
        years: dict[str, dict[str, Any]] = {}
        for record in gateway.transfers.values():
            if record.link_id != link.link_id:
                continue
            year = years.setdefault(
                str(record.period or record.proposed_at.year),
                {"flows": {}, "completed_t": 0, "transfers": 0, "refused": 0, "terminated": 0},
            )
            if record.status is TransactionStatus.COMPLETED:
                transfer = record.transfer
                lane = year["flows"].setdefault(
                    f"{transfer.from_registry}→{transfer.to_registry}", {}
                )
                for block in transfer.blocks:
                    quantity_t = block.end - block.start + 1
                    lane[block.unit_type] = lane.get(block.unit_type, 0) + quantity_t
                    year["completed_t"] += quantity_t
                year["transfers"] += 1
            elif record.status is TransactionStatus.REJECTED:
                year["refused"] += 1
            elif record.status is TransactionStatus.TERMINATED:
                year["terminated"] += 1
        for year in years.values():
            year["cap_use"] = (
                None
                if link.period_cap_t is None
                else _money(Fraction(year["completed_t"], link.period_cap_t))
            )
        links[link.link_id] = {
            "registries": [link.registry_a, link.registry_b],
            "direction": link.direction.value,
            "period_cap_t": link.period_cap_t,
            "years": dict(sorted(years.items())),
        }
    return links


def _pending(book: ComplianceBook, last_year: int) -> list[str]:
    """Return the surrender deadlines of periods the run reached that have not fired."""
    calendar = book.regime.calendar
    pending = []
    for period in calendar.periods(last_year):
        if period < book.schedule.first_period:
            continue
        if (DeadlineKind.SURRENDER_DUE, period) in book.schedule.fired:
            continue
        deadline = calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
        if deadline is not None:
            pending.append(f"surrender for period {period} due {deadline.due:%Y-%m-%d}")
    return pending


def write_reports(result: RunResult, run: Run) -> list[Path]:
    """Write summary.json and the CSVs; return the paths written."""
    out = result.out_dir
    summary_path = out / "summary.json"
    summary_path.write_text(
        json.dumps(result.summary, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    trades_path = out / "trades.csv"
    _write_csv(
        trades_path,
        ["day", "trade_id", "instrument", "price_minor", "quantity_t", "buyer", "seller", "status"],
        [
            [
                r.day,
                r.trade_id,
                r.instrument,
                r.price_minor,
                r.quantity_t,
                r.buyer,
                r.seller,
                r.status,
            ]
            for r in result.trades
        ],
    )
    prices_path = out / "prices.csv"
    _write_csv(
        prices_path,
        [
            "day",
            "instrument",
            "trades",
            "volume_t",
            "notional_minor",
            "low_minor",
            "high_minor",
            "close_minor",
        ],
        [
            [
                p.day,
                p.instrument,
                p.trades,
                p.volume_t,
                p.notional_minor,
                p.low_minor,
                p.high_minor,
                p.close_minor,
            ]
            for p in result.prices
        ],
    )
    compliance_path = out / "compliance.csv"
    rows = []
    for code in sorted(run.world.books):
        for o in run.world.books[code].outcomes():
            rows.append(
                [
                    code,
                    o.entity_id,
                    o.period,
                    o.emissions_t,
                    o.obligation_t,
                    _money(o.surrendered_value),
                    o.shortfall_t,
                    o.status.value,
                    o.penalty.fine_minor,
                    o.penalty.carried_t,
                ]
            )
    _write_csv(
        compliance_path,
        [
            "registry",
            "entity",
            "period",
            "emissions_t",
            "obligation_t",
            "surrendered",
            "shortfall_t",
            "status",
            "penalty_minor",
            "carried_t",
        ],
        rows,
    )
    transfers_path = out / "transfers.csv"
    _write_csv(transfers_path, TRANSFER_COLUMNS, transfer_rows(run))
    auctions_path = out / "auctions.csv"
    _write_csv(
        auctions_path,
        AUCTION_COLUMNS,
        [
            [getattr(record, column) for column in AUCTION_COLUMNS]
            for record in auction_records(run)
        ],
    )
    return [summary_path, trades_path, prices_path, transfers_path, auctions_path, compliance_path]


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


def transfer_rows(run: Run) -> list[list[Any]]:
    """Return one row per gateway transfer the run proposed, in transaction-id order."""
    federation = run.world.federation
    if federation is None:
        return []
    rows = []
    for transaction_id, record in sorted(federation.gateway.transfers.items()):
        transfer = record.transfer
        rows.append(
            [
                transaction_id,
                record.link_id or "",
                record.proposed_at.isoformat(),
                transfer.from_registry,
                transfer.from_account,
                transfer.to_registry,
                transfer.to_account,
                " ".join(sorted({block.unit_type for block in transfer.blocks})),
                sum(block.end - block.start + 1 for block in transfer.blocks),
                record.status.name.lower(),
                " ".join(str(code) for code in record.codes),
            ]
        )
    return rows


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
