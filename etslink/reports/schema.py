"""The keys of summary.json and comparison.json: each section's records, declared once.

Every list section is a list of flat records (no nested objects), so
`pandas.DataFrame(doc["markets"])` reads it into a frame; every record of a section has
exactly the keys declared here, in this order (`record` asserts it where a row is built).
The `exact` section repeats, under the same names, the figures whose exact value is a
fraction ("p" or "p/q", `etslink.reports.numbers.exact`), with the keys that identify
the row. docs/summary-json.md documents each key; a test holds the two together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SUMMARY_SCHEMA = "etslink.summary/2"
COMPARISON_SCHEMA = "etslink.comparison/2"

# ---------------------------------------------------------------- summary.json

# The money a team's scoreboard row carries, each as `<name>` (major units) and
# `<name>_minor`.
TEAM_MONEY_FIELDS = (
    "value",
    "cash",
    "holdings_value",
    "start_value",
    "gain",
    "trading_spend",
    "auction_spend",
    "abatement_cost",
    "penalties",
)

SUMMARY_SECTIONS: dict[str, tuple[str, ...]] = {
    "run": (
        "scenario",
        "seed",
        "currency",
        "interest_rate",
        "interrupted",
        "years_run",
        "trading_days_per_year_run",
    ),
    "totals": (
        "currency",
        "trades",
        "volume_t",
        "abatement_t",
        "abatement_cost",
        "abatement_cost_minor",
        "orders_refused",
    ),
    "markets": (
        "instrument",
        "year",
        "currency",
        "unit_type",
        "venue",
        "trades",
        "volume_t",
        "settled_t",
        "vwap",
        "low",
        "low_minor",
        "high",
        "high_minor",
        "notional",
        "notional_minor",
        "auctions",
    ),
    "auctions": (
        "day",
        "registry",
        "instrument",
        "currency",
        "kind",
        "supply_t",
        "reserve_price",
        "reserve_price_minor",
        "clearing_price",
        "clearing_price_minor",
        "sold_t",
        "unsold_t",
        "unsold_rule",
        "bids",
        "bidders",
        "proceeds",
        "proceeds_minor",
        "secondary_price",
        "secondary_price_minor",
        "cancelled",
        "note",
    ),
    "registries": (
        "registry",
        "year",
        "currency",
        "allowance",
        "allocated_t",
        "auctioned_t",
        "cap_t",
        "verified_emissions_t",
        "surrendered_t",
        "borrowed_t",
        "abatement_t",
        "abatement_cost",
        "abatement_cost_minor",
        "average_price",
        "average_price_minor",
        "average_price_source",
        "auction_sold_t",
        "reserve_released_t",
        "ceiling_sold_t",
        "price_floor",
        "price_floor_minor",
        "price_ceiling",
        "price_ceiling_minor",
        "period",
        "entities",
        "compliant_entities",
        "obligation_t",
        "period_surrendered_t",
        "shortfall_t",
        "penalties",
        "penalties_minor",
        "offsets_t",
        "foreign_t",
        "offset_share",
        "foreign_share",
    ),
    "surrenders": (
        "registry",
        "period",
        "year",
        "unit_type",
        "origin",
        "offset",
        "surrendered_t",
    ),
    "stability_events": (
        "registry",
        "year",
        "month",
        "kind",
        "currency",
        "price",
        "price_minor",
        "threshold",
        "threshold_minor",
        "detail",
    ),
    "deadlines_pending": ("registry", "deadline"),
    "links": (
        "link_id",
        "year",
        "registry_a",
        "registry_b",
        "direction",
        "period_cap_t",
        "completed_t",
        "transfers",
        "refused",
        "terminated",
        "cap_use",
    ),
    "link_flows": ("link_id", "year", "from_registry", "to_registry", "unit_type", "completed_t"),
    "exits": (
        "registry",
        "date",
        "units",
        "open_period",
        "links_terminated",
        "transfers_terminated",
        "transfer_ids_terminated",
        "units_total_t",
    ),
    "exit_units": ("registry", "origin", "unit_type", "held_t"),
    "exit_periods": (
        "registry",
        "period",
        "rule",
        "currency",
        "entities",
        "compliant_entities",
        "obligation_t",
        "surrendered_t",
        "shortfall_t",
        "penalties",
        "penalties_minor",
    ),
    "participants": (
        "member",
        "registry",
        "trades",
        "bought_t",
        "sold_t",
        "left_early",
    ),
    "dealers": ("member", "registry", "trades", "bought_t", "sold_t", "left_early"),
    "teams": (
        "rank",
        "team",
        "registry",
        "currency",
        "left_early",
        *(key for name in TEAM_MONEY_FIELDS for key in (name, f"{name}_minor")),
        "trades",
        "bought_t",
        "sold_t",
        "obligation_t",
        "surrendered_t",
        "shortfall_t",
        "unpriced",
        "valued_at",
    ),
    "holdings": ("member", "kind", "instrument", "held_t"),
    "cash": ("member", "kind", "currency", "cash", "cash_minor"),
    "notes": ("note",),
    "benchmark": (
        "status",
        "error",
        "currency",
        "interest_rate",
        "banking",
        "gains_from_linking",
    ),
    "benchmark_routes": (
        "year",
        "link_id",
        "from_registry",
        "to_registry",
        "rate",
        "cap_t",
        "cap_source",
    ),
    "systems": (
        "registry",
        "year",
        "currency",
        "status",
        "benchmark_price",
        "autarky_price",
        "run_price",
        "run_vwap",
        "price_gap",
        "price_gap_percent",
        "benchmark_abatement_t",
        "run_abatement_t",
        "abatement_gap_t",
        "benchmark_cost",
        "run_cost",
        "cost_gap",
        "net_import_t",
        "bank_t",
    ),
    "link_pairs": (
        "link_id",
        "year",
        "currency",
        "exporter",
        "importer",
        "rate",
        "open_whole_year",
        "exporter_price",
        "importer_price",
        "benchmark_exporter_price",
        "benchmark_importer_price",
        "gap",
        "benchmark_gap",
        "band",
        "within_band",
        "flow_t",
        "reverse_flow_t",
        "net_flow_t",
        "benchmark_flow_t",
        "benchmark_reverse_flow_t",
        "cap_binds",
    ),
    "efficiency": (
        "scope",
        "year",
        "currency",
        "no_trade_cost",
        "max_gains",
        "realised_gains",
        "allocative_efficiency",
        "percent",
        "left_out",
    ),
}

# Sections that are one record (an object), not a list of records.
SUMMARY_OBJECTS = frozenset({"run", "totals", "benchmark"})

SUMMARY_EXACT: dict[str, tuple[str, ...]] = {
    "run": ("interest_rate",),
    "totals": ("abatement_cost_minor",),
    "markets": ("instrument", "year", "vwap_minor"),
    "registries": (
        "registry",
        "year",
        "abatement_cost_minor",
        "period_surrendered_t",
        "offset_share",
        "foreign_share",
    ),
    "links": ("link_id", "year", "cap_use"),
    "exit_periods": ("registry", "period", "surrendered_t"),
    "benchmark": ("interest_rate", "gains_from_linking_minor"),
    "benchmark_routes": ("year", "link_id", "from_registry", "to_registry", "rate"),
    "systems": (
        "registry",
        "year",
        "benchmark_price_minor",
        "benchmark_price_common_minor",
        "autarky_price_minor",
        "autarky_price_common_minor",
        "run_price_minor",
        "run_price_common_minor",
        "run_vwap_minor",
        "benchmark_abatement_t",
        "run_abatement_t",
        "benchmark_cost_minor",
        "benchmark_cost_common_minor",
        "run_cost_minor",
        "run_cost_common_minor",
        "net_import_t",
        "bank_t",
    ),
    "link_pairs": (
        "link_id",
        "year",
        "rate",
        "exporter_price_minor",
        "importer_price_minor",
        "benchmark_exporter_price_minor",
        "benchmark_importer_price_minor",
        "gap_minor",
        "benchmark_gap_minor",
        "band_minor",
        "benchmark_flow_t",
        "benchmark_reverse_flow_t",
    ),
    "efficiency": (
        "scope",
        "year",
        "no_trade_cost_minor",
        "max_gains_minor",
        "realised_gains_minor",
        "allocative_efficiency",
    ),
}
SUMMARY_EXACT_OBJECTS = frozenset({"run", "totals", "benchmark"})

# ---------------------------------------------------------------- comparison.json

COMPARISON_SECTIONS: dict[str, tuple[str, ...]] = {
    "runs": ("run", "scenario", "seed", "currency", "linked", "reports"),
    "markets": ("scenario", "instrument", "year", "currency", "vwap", "closing"),
    "registries": (
        "scenario",
        "registry",
        "year",
        "currency",
        "abatement_t",
        "abatement_cost",
        "abatement_cost_minor",
        "compliant_entities",
        "entities",
        "penalties",
        "penalties_minor",
        "foreign_t",
    ),
    "totals": (
        "scenario",
        "currency",
        "abatement_t",
        "abatement_cost",
        "abatement_cost_minor",
        "trades",
        "volume_t",
        "efficiency_percent",
    ),
    "convergence": (
        "scenario",
        "year",
        "currency",
        "registries",
        "closing_low",
        "closing_high",
        "closing_spread",
        "benchmark_spread",
    ),
    "linking": (
        "linked",
        "unlinked",
        "currency",
        "gain",
        "benchmark_gain",
        "ratio",
        "percent",
        "benchmark_objective_gain",
        "benchmark_gain_share_percent",
    ),
}
COMPARISON_OBJECTS = frozenset({"linking"})
COMPARISON_EXACT: dict[str, tuple[str, ...]] = {
    "markets": ("scenario", "instrument", "year", "vwap_minor", "closing_minor"),
    "linking": ("gain_minor", "benchmark_gain_minor", "ratio", "benchmark_objective_gain_minor"),
}
COMPARISON_EXACT_OBJECTS = frozenset({"linking"})


def record(keys: tuple[str, ...], row: Mapping[str, Any]) -> dict[str, Any]:
    """Return `row` as a record of a section whose keys are `keys`: the same keys, flat.

    A row with a key missing, an extra key or a nested value is a bug in its builder.
    """
    assert tuple(row) == keys, f"record keys {tuple(row)} are not the section's {keys}"
    assert not any(isinstance(value, dict | list) for value in row.values()), row
    return dict(row)


def summary_row(section: str, **values: Any) -> dict[str, Any]:
    """Return a record of summary.json's `section` (keys in the declared order)."""
    return record(SUMMARY_SECTIONS[section], values)


def summary_exact(section: str, **values: Any) -> dict[str, Any]:
    """Return a record of summary.json's `exact.<section>`."""
    return record(SUMMARY_EXACT[section], values)


__all__ = [
    "COMPARISON_EXACT",
    "COMPARISON_EXACT_OBJECTS",
    "COMPARISON_OBJECTS",
    "COMPARISON_SCHEMA",
    "COMPARISON_SECTIONS",
    "SUMMARY_EXACT",
    "SUMMARY_EXACT_OBJECTS",
    "SUMMARY_OBJECTS",
    "SUMMARY_SCHEMA",
    "SUMMARY_SECTIONS",
    "TEAM_MONEY_FIELDS",
    "record",
    "summary_exact",
    "summary_row",
]
