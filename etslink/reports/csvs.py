"""The run's CSV files and summary.json, written into its out folder.

Each CSV keeps the exact integers in minor units (`…_minor`) and puts beside them the
`currency` and the amount in major units (`price` beside `price_minor`), so a
spreadsheet shows EUR 28.97 where the store holds 2,897 cents. docs/scenarios.md
("Running a scenario") lists the files and their columns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from etslink.reports.figures import major, number
from etslink.reports.numbers import exact
from etslink.reports.schema import SUMMARY_SECTIONS
from etslink.sim.allocation import rule_of
from etslink.sim.record import RunRecord

PRICE_PLACES = 2  # a day's VWAP keeps two more places than the currency

TRADE_COLUMNS = (
    "day",
    "trade_id",
    "instrument",
    "currency",
    "price",
    "price_minor",
    "quantity_t",
    "buyer",
    "seller",
    "status",
    "buyer_registry",
    "seller_registry",
    "venue",
)
PRICE_COLUMNS = (
    "day",
    "instrument",
    "currency",
    "trades",
    "volume_t",
    "vwap",
    "notional",
    "notional_minor",
    "low",
    "low_minor",
    "high",
    "high_minor",
    "close",
    "close_minor",
)
SETTLEMENT_COLUMNS = (
    "day",
    "instrument",
    "currency",
    "bid",
    "bid_minor",
    "ask",
    "ask_minor",
    "last",
    "last_minor",
    "settle",
    "settle_minor",
)
AUCTION_COLUMNS = SUMMARY_SECTIONS["auctions"]
ALLOCATION_COLUMNS = (
    "registry",
    "entity",
    "year",
    "method",
    "at_open_t",
    "true_up_t",
    "allocated_t",
    "forecast_t",
    "emissions_t",
)
COMPLIANCE_COLUMNS = (
    "registry",
    "entity",
    "period",
    "period_last_year",
    "currency",
    "emissions_t",
    "obligation_t",
    "surrendered_t",
    "surrendered_exact",
    "shortfall_t",
    "status",
    "penalty",
    "penalty_minor",
    "carried_t",
)
TRANSFER_COLUMNS = (
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
)


def write_reports(record: RunRecord, summary: dict[str, Any], out: Path) -> list[Path]:
    """Write summary.json and the CSVs into `out`; return the paths written."""
    summary_path = out / "summary.json"
    summary_path.write_text(summary_json(summary), encoding="utf-8")
    paths = [summary_path]
    tables: list[tuple[str, Sequence[str], Iterable[dict[str, Any]]]] = [
        ("trades.csv", TRADE_COLUMNS, trade_rows(record)),
        ("prices.csv", PRICE_COLUMNS, price_rows(record)),
        ("settlements.csv", SETTLEMENT_COLUMNS, settlement_rows(record)),
        ("transfers.csv", TRANSFER_COLUMNS, transfer_rows(record)),
        ("auctions.csv", AUCTION_COLUMNS, summary["auctions"]),
        ("allocations.csv", ALLOCATION_COLUMNS, allocation_rows(record)),
        ("compliance.csv", COMPLIANCE_COLUMNS, compliance_rows(record)),
    ]
    for name, header, rows in tables:
        path = out / name
        write_csv(path, header, rows)
        paths.append(path)
    return paths


def summary_json(summary: dict[str, Any]) -> str:
    """Return summary.json's text: sections in the order built, `exact` last."""
    ordered = {key: value for key, value in summary.items() if key != "exact"}
    ordered["exact"] = summary["exact"]
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def trade_rows(record: RunRecord) -> list[dict[str, Any]]:
    rows = []
    for trade in record.trades:
        currency = record.books[trade.instrument].currency
        rows.append(
            {
                "day": trade.day,
                "trade_id": trade.trade_id,
                "instrument": trade.instrument,
                "currency": currency,
                "price": major(trade.price_minor, currency),
                "price_minor": trade.price_minor,
                "quantity_t": trade.quantity_t,
                "buyer": trade.buyer,
                "seller": trade.seller,
                "status": trade.status,
                "buyer_registry": trade.buyer_registry,
                "seller_registry": trade.seller_registry,
                "venue": trade.venue,
            }
        )
    return rows


def price_rows(record: RunRecord) -> list[dict[str, Any]]:
    rows = []
    for price in record.prices:
        currency = record.books[price.instrument].currency
        vwap = None
        if price.volume_t:
            vwap = major(Fraction(price.notional_minor, price.volume_t), currency, PRICE_PLACES)
        rows.append(
            {
                "day": price.day,
                "instrument": price.instrument,
                "currency": currency,
                "trades": price.trades,
                "volume_t": price.volume_t,
                "vwap": vwap,
                "notional": major(price.notional_minor, currency),
                "notional_minor": price.notional_minor,
                "low": major(price.low_minor, currency),
                "low_minor": price.low_minor,
                "high": major(price.high_minor, currency),
                "high_minor": price.high_minor,
                "close": major(price.close_minor, currency),
                "close_minor": price.close_minor,
            }
        )
    return rows


def settlement_rows(record: RunRecord) -> list[dict[str, Any]]:
    rows = []
    for item in record.settlements:
        currency = record.books[item.instrument].currency
        row: dict[str, Any] = {"day": item.day, "instrument": item.instrument, "currency": currency}
        for key in ("bid", "ask", "last", "settle"):
            value = getattr(item, f"{key}_minor")
            row[key] = major(value, currency)
            row[f"{key}_minor"] = value
        rows.append(row)
    return rows


def allocation_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Return each firm-year's free allocation: the method, what came when the year opened,
    the true-up when it closed (China's, to actual output) and the total."""
    scenario = record.scenario
    entities = {e.entity_id: e for item in scenario.registries for e in item.entities}
    rows = []
    for firm in record.firm_years:
        entity = entities[firm.entity_id]
        method = "share"
        if entity.allocation.rule is not None:
            regime = scenario.registry(firm.registry).regime
            method = rule_of(entity, regime, firm.year).method.value
        rows.append(
            {
                "registry": firm.registry,
                "entity": firm.entity_id,
                "year": firm.year,
                "method": method,
                "at_open_t": firm.allocated_t - firm.true_up_t,
                "true_up_t": firm.true_up_t,
                "allocated_t": firm.allocated_t,
                "forecast_t": firm.forecast_t,
                "emissions_t": firm.emissions_t,
            }
        )
    return rows


def compliance_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Return each entity's outcome per period: its obligation, what it surrendered
    (compliance value, a number and exact), its shortfall and penalty."""
    rows = []
    for code, outcomes in sorted(record.outcomes.items()):
        registry = record.scenario.registry(code)
        currency = registry.currency
        for outcome in outcomes:
            rows.append(
                {
                    "registry": code,
                    "entity": outcome.entity_id,
                    "period": outcome.period,
                    "period_last_year": registry.regime.calendar.period_last_year(outcome.period),
                    "currency": currency,
                    "emissions_t": outcome.emissions_t,
                    "obligation_t": outcome.obligation_t,
                    "surrendered_t": number(outcome.surrendered_value),
                    "surrendered_exact": exact(outcome.surrendered_value),
                    "shortfall_t": outcome.shortfall_t,
                    "status": outcome.status.value,
                    "penalty": major(outcome.penalty.fine_minor, currency),
                    "penalty_minor": outcome.penalty.fine_minor,
                    "carried_t": outcome.penalty.carried_t,
                }
            )
    return rows


def transfer_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Return one row per gateway transfer the run proposed, in transaction-id order."""
    return [
        {
            "transaction_id": item.transaction_id,
            "link_id": item.link_id,
            "proposed_at": item.proposed_at,
            "from_registry": item.from_registry,
            "from_account": item.from_account,
            "to_registry": item.to_registry,
            "to_account": item.to_account,
            "unit_types": " ".join(unit for unit, _ in item.by_unit_t),
            "quantity_t": item.quantity_t,
            "status": item.status,
            "codes": " ".join(str(code) for code in item.codes),
        }
        for item in record.transfers
    ]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """Write `rows` (dicts with exactly `header`'s keys) as CSV; None is an empty cell."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            assert tuple(row) == tuple(header), (tuple(row), header)
            writer.writerow("" if value is None else value for value in row.values())


__all__ = [
    "AUCTION_COLUMNS",
    "COMPLIANCE_COLUMNS",
    "PRICE_COLUMNS",
    "SETTLEMENT_COLUMNS",
    "TRADE_COLUMNS",
    "allocation_rows",
    "compliance_rows",
    "price_rows",
    "settlement_rows",
    "summary_json",
    "trade_rows",
    "transfer_rows",
    "write_reports",
]
