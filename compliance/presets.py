"""Jurisdiction presets: a `Regime` read strictly from a TOML file.

A preset mirrors `Regime` section by section ([regime], [coverage],
[calendar], [[allocation]], [surrender], [penalty], [estimate],
[stability]); `docs/jurisdictions.md` documents every key. Every mistake is
a `ConfigError` naming the file, the key and what was expected, and unknown
keys are refused: a misspelt key would otherwise run a different regime.

Floats are refused anywhere in a preset: shares are strings ("0.05",
"3/4") read as `Fraction`s, money is whole minor units. A preset lists the
values nobody has confirmed in `unverified`, by path, and each path must
name a key the file really sets, so the list cannot go stale silently.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from importlib.resources import files
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from compliance.business_days import (
    AUCTIONS_PER_MONTH_MAX,
    TradingCalendar,
    holiday_calendar_error,
)
from compliance.calendar import Calendar, DeadlineKind, DeadlineRule, Phase
from compliance.currencies import CURRENCY_MINOR_DIGITS
from compliance.gases import GWP_SETS, Gas
from compliance.regime import (
    AllocationMethod,
    AllocationRule,
    AuctionReserve,
    CapType,
    ConservativeEstimate,
    Coverage,
    EstimateRule,
    PenaltyKind,
    PenaltyRule,
    QuantitativeLimit,
    Regime,
    StabilityRules,
    SurrenderRules,
    UnitOrigin,
)
from registry.account_ids import is_registry_code
from registry.config_reader import ConfigError, Table, load_toml, refuse_floats
from registry.units import UnitKind

S = TypeVar("S", bound=StrEnum)

# The presets ship as package data of the etslink distribution (`etslink/fixtures/`,
# which a checkout also reaches as `fixtures/`), so an installed etslink finds them
# without the source tree. Only files are read from there: naming the `etslink` package
# imports its face, which loads nothing but `registry.lazy_names`.
# Package data of `compliance` (a checkout also reaches it as fixtures/jurisdictions/).
PRESETS_DIR = Path(str(files("compliance") / "jurisdictions"))

PRESETS_MAX = 200  # files a preset folder may hold
ENTRIES_MAX = 100  # entries in one array of tables ([[allocation]], [[surrender.limits]], ...)
UNVERIFIED_MAX = 200  # paths in one preset's `unverified` list
YEAR_MIN = 1990  # no emissions-trading rule predates the UNFCCC base year
YEAR_MAX = 2100
OPEN_LAST_YEAR = 9999  # what an omitted `last_year` means: the rule has no end yet


_KEY_RE = re.compile(r"[a-z][a-z0-9-]{0,39}")
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # a limit, phase or category: a path segment
_UNIT_CODE_RE = re.compile(r"[A-Z0-9]{1,16}")

_TOP_KEYS = {
    "unverified",
    "regime",
    "coverage",
    "calendar",
    "allocation",
    "surrender",
    "penalty",
    "estimate",
    "stability",
    "trading",
}


class UnknownPresetError(ConfigError):
    """No preset has the key asked for; the message lists the ones that exist."""


def list_presets() -> list[str]:
    """Return the keys of the shipped presets (`fixtures/jurisdictions/`), sorted."""
    folder = _presets_dir()
    keys = sorted(path.stem for path in folder.glob("*.toml"))
    if len(keys) > PRESETS_MAX:
        raise ConfigError(folder, "(folder)", f"more than {PRESETS_MAX} presets ({len(keys)})")
    return keys


def load_preset(key: str) -> Regime:
    """Load the preset `key` (e.g. "korea") from `fixtures/jurisdictions/<key>.toml`."""
    folder = _presets_dir()
    path = folder / f"{key}.toml"
    if not _KEY_RE.fullmatch(key) or not path.is_file():
        known = ", ".join(list_presets()) or "none"
        raise UnknownPresetError(folder, key, f"no such preset; presets: {known}")
    regime = load_regime(path)
    if regime.key != key:
        raise ConfigError(
            path, "regime.key", f"expected {key!r} (the file name), found {regime.key!r}"
        )
    return regime


def load_regime(path: Path | str) -> Regime:
    """Read one preset file into a `Regime`, refusing any mistake with a `ConfigError`."""
    path = Path(path)
    data = load_toml(path)
    refuse_floats(path, data, "")
    top = Table(path, "", data)
    top.refuse_unknown(_TOP_KEYS)
    header = _table(top, "regime")
    header.refuse_unknown(
        {
            "key",
            "name",
            "registry_code",
            "currency",
            "cap_type",
            "gwp_set",
            "allowance_unit_type",
            "notes",
        }
    )
    key = _matching(header, "key", _KEY_RE, "a lower-case key like 'korea' or 'china-national'")
    name = _text(header, "name")
    registry_code = header.get("registry_code", str)
    if not is_registry_code(registry_code):
        raise ConfigError(
            path,
            "regime.registry_code",
            f"expected two capital letters A-Z, found {registry_code!r}",
        )
    currency = header.choice("currency", {code: code for code in CURRENCY_MINOR_DIGITS})
    cap_type = header.choice("cap_type", _by_value(CapType))
    gwp_set = header.choice("gwp_set", {name: name for name in GWP_SETS})
    allowance_unit_type = header.get("allowance_unit_type", str)
    notes = header.get("notes", str, "")
    header.done()
    coverage = _read_coverage(_table(top, "coverage"), gwp_set)
    calendar = _read_calendar(_table(top, "calendar"))
    allocation = _read_allocation(top)
    surrender = _read_surrender(_table(top, "surrender"))
    if allowance_unit_type not in surrender.eligible_unit_types:
        raise ConfigError(
            path,
            "regime.allowance_unit_type",
            f"expected one of surrender.eligible_unit_types "
            f"({', '.join(sorted(surrender.eligible_unit_types))}), found {allowance_unit_type!r}",
        )
    penalty = _read_penalty(_table(top, "penalty"))
    estimate = _read_estimate(_table(top, "estimate"))
    stability_table = top.table("stability", required=False)
    stability = StabilityRules() if stability_table is None else _read_stability(stability_table)
    trading_table = top.table("trading", required=False)
    trading = TradingCalendar() if trading_table is None else _read_trading(trading_table)
    unverified = _read_unverified(top, data)
    top.done()
    return Regime(
        key=key,
        name=name,
        registry_code=registry_code,
        currency=currency,
        cap_type=cap_type,
        gwp_set=gwp_set,
        coverage=coverage,
        calendar=calendar,
        allocation=allocation,
        surrender=surrender,
        penalty=penalty,
        estimate=estimate,
        stability=stability,
        trading=trading,
        unverified=unverified,
        notes=notes.strip(),
        allowance_unit_type=allowance_unit_type,
    )


# ---------------------------------------------------------------- sections


def _read_coverage(table: Table, gwp_set: str) -> Coverage:
    table.refuse_unknown(
        {
            "gases",
            "indirect_emissions",
            "entity_threshold_t",
            "installation_threshold_t",
            "energy_threshold_kl_coe",
            "strict",
        }
    )
    gases = _gases(table, gwp_set)
    coverage = Coverage(
        gases=gases,
        indirect_emissions=table.get("indirect_emissions", bool),
        entity_threshold_t=table.whole("entity_threshold_t", 1, 10**10, None),
        installation_threshold_t=table.whole("installation_threshold_t", 1, 10**10, None),
        energy_threshold_kl_coe=table.whole("energy_threshold_kl_coe", 1, 10**10, None),
        strict=table.get("strict", bool, False),
    )
    table.done()
    return coverage


def _gases(table: Table, gwp_set: str) -> frozenset[Gas]:
    """Read gases by name ("CH4", "HFC-23") or Kyoto family ("HFCs", "PFCs")."""
    tokens: dict[str, set[Gas]] = {}
    for gas in Gas:
        tokens.setdefault(gas.value, set()).add(gas)
        tokens.setdefault(gas.family, set()).add(gas)
    gases: set[Gas] = set()
    for index, token in enumerate(_strings(table, "gases")):
        if token not in tokens:
            raise ConfigError(
                table.path,
                f"{table.key_path('gases')}[{index}]",
                f"expected a gas or family ({', '.join(sorted(tokens))}), found {token!r}",
            )
        gases |= tokens[token]
    missing = sorted(gas.value for gas in gases if gas not in GWP_SETS[gwp_set])
    if missing:
        raise ConfigError(
            table.path,
            table.key_path("gases"),
            f"the {gwp_set} GWP set has no value for {', '.join(missing)}; "
            "choose another regime.gwp_set or drop the gas",
        )
    return frozenset(gases)


def _read_calendar(table: Table) -> Calendar:
    table.refuse_unknown({"first_year", "period_years", "last_year", "deadlines", "phases"})
    first_year = _year(table, "first_year")
    period_years = table.whole("period_years", 1, 10)
    last_year = table.whole("last_year", first_year, YEAR_MAX, None)
    rules = tuple(_read_deadline(entry) for entry in _entries(table, "deadlines"))
    for kind in DeadlineKind:
        _refuse_overlaps(
            table,
            "deadlines",
            [(rule.first_period, rule.last_period) for rule in rules if rule.kind is kind],
            f"{kind.name.lower()} deadlines",
        )
    _refuse_surrender_before_report(table, first_year, period_years, rules)
    phases = tuple(_read_phase(entry) for entry in _entries(table, "phases"))
    _refuse_duplicates(table, "phases", [phase.name for phase in phases])
    _refuse_overlaps(
        table, "phases", [(phase.first_year, phase.last_year) for phase in phases], "phases"
    )
    table.done()
    return Calendar(first_year, period_years, rules, phases, last_year)


def _refuse_surrender_before_report(
    table: Table, first_year: int, period_years: int, rules: tuple[DeadlineRule, ...]
) -> None:
    """Refuse a calendar whose surrender deadline for a period is not after its report
    deadline: the verified emissions a surrender is for would arrive after it."""
    reports = [rule for rule in rules if rule.kind is DeadlineKind.REPORT_DUE]
    surrenders = [rule for rule in rules if rule.kind is DeadlineKind.SURRENDER_DUE]
    for report in reports:
        for surrender in surrenders:
            period = max(first_year, report.first_period, surrender.first_period)
            if period > min(report.last_period, surrender.last_period):
                continue
            last_year = period + period_years - 1
            report_due, surrender_due = report.moment(last_year), surrender.moment(last_year)
            if surrender_due > report_due:
                continue
            raise ConfigError(
                table.path,
                table.key_path("deadlines"),
                f"the surrender deadline for period {period} "
                f"({_local(surrender_due, surrender.timezone)}) is not after its report "
                f"deadline ({_local(report_due, report.timezone)}); a surrender must follow "
                "the report of the emissions it is for",
            )


def _local(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(timezone)):%d %B %Y %H:%M} {timezone}"


def _read_deadline(table: Table) -> DeadlineRule:
    table.refuse_unknown(
        {
            "kind",
            "years_after",
            "month",
            "day",
            "hour",
            "minute",
            "timezone",
            "first_period",
            "last_period",
        }
    )
    kind = table.choice("kind", {kind.name.lower(): kind for kind in DeadlineKind})
    years_after = table.whole("years_after", 0, 10)
    month = table.whole("month", 1, 12)
    day = table.whole("day", 1, 31)
    try:
        datetime(2001, month, day)  # a year without 29 February: the rule must hold every year
    except ValueError:
        raise ConfigError(
            table.path, table.key_path("day"), f"no day {day} in month {month} every year"
        ) from None
    hour = table.whole("hour", 0, 23, 0)
    minute = table.whole("minute", 0, 59, 0)
    timezone = table.get("timezone", str)
    try:
        ZoneInfo(timezone)
    except (KeyError, ValueError):
        raise ConfigError(
            table.path,
            table.key_path("timezone"),
            f"expected an IANA time zone like 'Asia/Seoul', found {timezone!r}",
        ) from None
    first_period = table.whole("first_period", YEAR_MIN, YEAR_MAX, 0)
    last_period = table.whole("last_period", max(first_period, YEAR_MIN), YEAR_MAX, 9999)
    table.done()
    return DeadlineRule(
        kind, years_after, month, day, hour, minute, timezone, first_period, last_period
    )


def _read_trading(table: Table) -> TradingCalendar:
    """Read `[trading]`: the holiday calendar (`compliance.business_days`), auction months."""
    table.refuse_unknown({"holidays", "auction_months", "auctions_per_month"})
    code = table.get("holidays", str)
    problem = holiday_calendar_error(code)
    if problem is not None:
        raise ConfigError(
            table.path,
            table.key_path("holidays"),
            f"expected a country like 'KR', a subdivision like 'US-CA' or a financial "
            f"calendar like 'ECB' ({problem}), found {code!r}",
        )
    months = table.get("auction_months", list, [])
    if not all(type(month) is int and 1 <= month <= 12 for month in months) or months != sorted(
        set(months)
    ):
        raise ConfigError(
            table.path,
            table.key_path("auction_months"),
            f"expected months 1..12 in increasing order, found {months!r}",
        )
    per_month = table.whole("auctions_per_month", 1, AUCTIONS_PER_MONTH_MAX, 1)
    table.done()
    return TradingCalendar(code, tuple(months), per_month)


def _read_phase(table: Table) -> Phase:
    table.refuse_unknown({"name", "first_year", "last_year"})
    name = _matching(table, "name", _NAME_RE, "a short name of lower-case letters, digits, '-'")
    first_year = _year(table, "first_year")
    last_year = table.whole("last_year", first_year, YEAR_MAX)
    table.done()
    return Phase(name, first_year, last_year)


_ALLOCATION_RATIOS: dict[str, AllocationMethod | None] = {
    # key -> the one method it belongs to (None: any method)
    "grandparenting_factor": AllocationMethod.GRANDPARENTING,
    "preallocation_share": AllocationMethod.INTENSITY_BENCHMARK,
    "compliance_factor": AllocationMethod.BASE_YEAR,
    "auction_share": None,
    "new_entrant_reserve_share": None,
}
_BENCHMARK_METHODS = frozenset({AllocationMethod.BENCHMARK, AllocationMethod.INTENSITY_BENCHMARK})
_ALLOCATION_REQUIRED: dict[AllocationMethod, str] = {
    AllocationMethod.INTENSITY_BENCHMARK: "preallocation_share",
    AllocationMethod.BASE_YEAR: "compliance_factor",
}


def _read_allocation(top: Table) -> tuple[AllocationRule, ...]:
    rules = tuple(_read_allocation_rule(entry) for entry in _entries(top, "allocation"))
    if not rules:
        raise ConfigError(top.path, "allocation", "expected at least one [[allocation]] rule")
    for category in {rule.category for rule in rules}:
        _refuse_overlaps(
            top,
            "allocation",
            [(rule.first_year, rule.last_year) for rule in rules if rule.category == category],
            f"allocation rules for category {category!r}" if category else "allocation rules",
        )
    plain = [rule for rule in rules if not rule.category]
    for rule in rules:
        clash = next(
            (
                other
                for other in plain
                if rule.category
                and other.first_year <= rule.last_year
                and rule.first_year <= other.last_year
            ),
            None,
        )
        if clash is not None:
            raise ConfigError(
                top.path,
                "allocation",
                f"the rule from {clash.first_year} has no category but overlaps the "
                f"{rule.category!r} rule from {rule.first_year}; give every rule of those "
                "years a category",
            )
    return rules


def _read_allocation_rule(table: Table) -> AllocationRule:
    table.refuse_unknown(
        {"method", "first_year", "last_year", "category", "benchmarks", *_ALLOCATION_RATIOS}
    )
    method = table.choice("method", _by_value(AllocationMethod))
    first_year = _year(table, "first_year")
    last_year = table.whole("last_year", first_year, YEAR_MAX, OPEN_LAST_YEAR)
    category = ""
    if table.has("category"):
        category = _matching(table, "category", _NAME_RE, "lower-case letters, digits, '-'")
    for key, only in _ALLOCATION_RATIOS.items():
        if only is not None and only is not method and table.has(key):
            raise ConfigError(
                table.path,
                table.key_path(key),
                f"applies only to method {only.value}, not {method.value}",
            )
    required = _ALLOCATION_REQUIRED.get(method)
    if required is not None and not table.has(required):
        raise ConfigError(
            table.path, table.key_path(required), f"required for method {method.value}"
        )
    rule = AllocationRule(
        method=method,
        first_year=first_year,
        last_year=last_year,
        grandparenting_factor=_share(table, "grandparenting_factor", Fraction(1)),
        preallocation_share=_share(table, "preallocation_share", Fraction(0)),
        compliance_factor=_share(table, "compliance_factor", Fraction(0)),
        auction_share=_share(table, "auction_share", Fraction(0)),
        new_entrant_reserve_share=_share(table, "new_entrant_reserve_share", Fraction(0)),
        category=category,
        benchmarks=_read_benchmarks(table, method),
    )
    table.done()
    return rule


def _read_benchmarks(table: Table, method: AllocationMethod) -> tuple[tuple[str, Fraction], ...]:
    """Read a rule's `benchmarks` table: product -> t CO2 per unit, for the benchmark methods."""
    if not table.has("benchmarks"):
        return ()
    if method not in _BENCHMARK_METHODS:
        raise ConfigError(
            table.path,
            table.key_path("benchmarks"),
            f"applies only to methods benchmark and intensity_benchmark, not {method.value}",
        )
    raw = table.get("benchmarks", dict)
    products = Table(table.path, table.key_path("benchmarks"), raw)
    benchmarks = []
    for product in sorted(raw):
        if not _NAME_RE.fullmatch(product):
            raise ConfigError(
                table.path,
                products.key_path(product),
                "expected a product name of lower-case letters, digits and '-'",
            )
        benchmarks.append((product, products.fraction(product)))
    products.done()
    if not benchmarks:
        raise ConfigError(table.path, table.key_path("benchmarks"), "expected a product")
    return tuple(benchmarks)


def _read_surrender(table: Table) -> SurrenderRules:
    table.refuse_unknown(
        {
            "eligible_unit_types",
            "foreign_units_via_links",
            "ineligible_origins",
            "banking",
            "banking_across_phases",
            "borrowing_share_max",
            "limits",
            "unit_origins",
        }
    )
    eligible = _strings(table, "eligible_unit_types")
    for index, code in enumerate(eligible):
        if not _UNIT_CODE_RE.fullmatch(code):
            raise ConfigError(
                table.path,
                f"{table.key_path('eligible_unit_types')}[{index}]",
                f"expected a unit type code of capital letters and digits, found {code!r}",
            )
    _refuse_duplicates(table, "eligible_unit_types", eligible)
    origins = _strings(table, "ineligible_origins", required=False)
    for index, origin in enumerate(origins):
        if not is_registry_code(origin):
            raise ConfigError(
                table.path,
                f"{table.key_path('ineligible_origins')}[{index}]",
                f"expected a registry code of two capital letters, found {origin!r}",
            )
    limits = tuple(_read_limit(entry) for entry in _entries(table, "limits"))
    _refuse_duplicates(table, "limits", [limit.name for limit in limits])
    unit_origins = _read_unit_origins(table, eligible)
    rules = SurrenderRules(
        eligible_unit_types=frozenset(eligible),
        foreign_units_via_links=table.get("foreign_units_via_links", bool),
        ineligible_origins=frozenset(origins),
        banking=table.get("banking", bool),
        banking_across_phases=table.get("banking_across_phases", bool),
        borrowing_share_max=_share(table, "borrowing_share_max", Fraction(0)),
        limits=limits,
        unit_origins=unit_origins,
    )
    table.done()
    return rules


def _read_unit_origins(table: Table, eligible: list[str]) -> tuple[tuple[str, str], ...]:
    """Read `unit_origins`: eligible unit type -> the registry code its units come from."""
    origins: dict[str, Any] = table.get("unit_origins", dict, {})
    for code, origin in origins.items():
        path = f"{table.key_path('unit_origins')}.{code}"
        if code not in eligible:
            raise ConfigError(
                table.path, path, f"expected a type of eligible_unit_types, found {code!r}"
            )
        if not isinstance(origin, str) or not is_registry_code(origin):
            raise ConfigError(
                table.path,
                path,
                f"expected a registry code of two capital letters, found {origin!r}",
            )
    return tuple(sorted(origins.items()))


def _read_limit(table: Table) -> QuantitativeLimit:
    table.refuse_unknown({"name", "share", "unit_kinds", "origin", "first_year", "last_year"})
    name = _matching(table, "name", _NAME_RE, "a short name of lower-case letters, digits, '-'")
    share = _share(table, "share")
    kinds = _strings(table, "unit_kinds")
    choices = _by_value(UnitKind)
    for index, kind in enumerate(kinds):
        if kind not in choices:
            raise ConfigError(
                table.path,
                f"{table.key_path('unit_kinds')}[{index}]",
                f"expected one of {', '.join(sorted(choices))}, found {kind!r}",
            )
    origin = table.choice("origin", _by_value(UnitOrigin), UnitOrigin.ANY)
    first_year = table.whole("first_year", YEAR_MIN, YEAR_MAX, 0)
    last_year = table.whole("last_year", max(first_year, YEAR_MIN), YEAR_MAX, 9999)
    table.done()
    return QuantitativeLimit(
        name, share, frozenset(choices[kind] for kind in kinds), origin, first_year, last_year
    )


_PENALTY_KEYS: dict[PenaltyKind, set[str]] = {
    PenaltyKind.FIXED_PER_TONNE: {"fixed_per_t_minor"},
    PenaltyKind.MARKET_PRICE_MULTIPLE: {
        "price_multiple",
        "price_window_months",
        "cap_per_t_minor",
    },
    PenaltyKind.ADDED_OBLIGATION: {"obligation_multiple", "allowance_share_min"},
    PenaltyKind.NONE: set(),
}
_PENALTY_REQUIRED: dict[PenaltyKind, str] = {
    PenaltyKind.FIXED_PER_TONNE: "fixed_per_t_minor",
    PenaltyKind.MARKET_PRICE_MULTIPLE: "price_multiple",
    PenaltyKind.ADDED_OBLIGATION: "obligation_multiple",
}


def _read_penalty(table: Table) -> PenaltyRule:
    every = set().union(*_PENALTY_KEYS.values())
    table.refuse_unknown({"kind", "make_good", *every})
    kind = table.choice("kind", _by_value(PenaltyKind))
    for key in sorted(every - _PENALTY_KEYS[kind]):
        if table.has(key):
            owner = next(k for k, keys in _PENALTY_KEYS.items() if key in keys)
            raise ConfigError(
                table.path,
                table.key_path(key),
                f"applies only to kind {owner.value}, not {kind.value}",
            )
    required = _PENALTY_REQUIRED.get(kind)
    if required is not None and not table.has(required):
        raise ConfigError(table.path, table.key_path(required), f"required for kind {kind.value}")
    rule = PenaltyRule(
        kind=kind,
        make_good=table.get("make_good", bool),
        fixed_per_t_minor=table.whole("fixed_per_t_minor", 1, 10**12, 0),
        price_multiple=_share(table, "price_multiple", Fraction(0), maximum=Fraction(100)),
        price_window_months=table.whole("price_window_months", 1, 120, 12),
        cap_per_t_minor=table.whole("cap_per_t_minor", 1, 10**12, None),
        obligation_multiple=_share(
            table, "obligation_multiple", Fraction(0), maximum=Fraction(100)
        ),
        allowance_share_min=_share(table, "allowance_share_min", Fraction(0)),
    )
    if required is not None and getattr(rule, required) == 0:
        raise ConfigError(table.path, table.key_path(required), f"must be above 0 for {kind.value}")
    table.done()
    return rule


def _read_estimate(table: Table) -> ConservativeEstimate:
    table.refuse_unknown({"rule", "years", "uplift", "fallback_t"})
    estimate = ConservativeEstimate(
        rule=table.choice("rule", _by_value(EstimateRule)),
        years=table.whole("years", 1, 10, 3),
        uplift=_share(table, "uplift", Fraction(0)),
        fallback_t=table.whole("fallback_t", 0, 10**12, None),
    )
    table.done()
    return estimate


_TRIGGER_KEYS = ("trigger_months", "trigger_multiple", "trigger_lookback_years")


def _read_stability(table: Table) -> StabilityRules:
    table.refuse_unknown(
        {
            "price_floor_minor",
            "price_floor_escalation",
            "price_ceiling_minor",
            "price_ceiling_escalation",
            "base_year",
            "price_ceiling_base_year",
            "reserve_release_share_max",
            "auction_reserve",
            "auction_cancellation_discount",
            *_TRIGGER_KEYS,
        }
    )
    given = [key for key in _TRIGGER_KEYS if table.has(key)]
    if given and len(given) != len(_TRIGGER_KEYS):
        missing = next(key for key in _TRIGGER_KEYS if key not in given)
        raise ConfigError(
            table.path,
            table.key_path(missing),
            f"required with {given[0]}: a trigger needs all three",
        )
    trigger_multiple = None
    if table.has("trigger_multiple"):
        trigger_multiple = _share(table, "trigger_multiple", maximum=Fraction(100))
    cancellation_discount = None
    if table.has("auction_cancellation_discount"):
        cancellation_discount = _share(table, "auction_cancellation_discount")
        if cancellation_discount >= 1:
            raise ConfigError(
                table.path,
                table.key_path("auction_cancellation_discount"),
                f"expected a discount below 1, found {cancellation_discount}",
            )
    rules = StabilityRules(
        price_floor_minor=table.whole("price_floor_minor", 1, 10**12, None),
        price_floor_escalation=_share(table, "price_floor_escalation", Fraction(0)),
        price_ceiling_minor=table.whole("price_ceiling_minor", 1, 10**12, None),
        price_ceiling_escalation=_share(table, "price_ceiling_escalation", Fraction(0)),
        base_year=table.whole("base_year", YEAR_MIN, YEAR_MAX, None),
        price_ceiling_base_year=table.whole("price_ceiling_base_year", YEAR_MIN, YEAR_MAX, None),
        trigger_months=table.whole("trigger_months", 1, 120, None),
        trigger_multiple=trigger_multiple,
        trigger_lookback_years=table.whole("trigger_lookback_years", 1, 20, None),
        reserve_release_share_max=_share(table, "reserve_release_share_max", Fraction(0)),
        auction_reserve=table.choice(
            "auction_reserve",
            {rule.value: rule for rule in AuctionReserve},
            AuctionReserve.FLOOR,
        ),
        auction_cancellation_discount=cancellation_discount,
    )
    _check_price_path(table, "price_floor", rules.price_floor_minor, rules.base_year)
    ceiling_base = rules.price_ceiling_base_year or rules.base_year
    _check_price_path(table, "price_ceiling", rules.price_ceiling_minor, ceiling_base)
    table.done()
    return rules


def _check_price_path(table: Table, name: str, price: int | None, base_year: int | None) -> None:
    """Refuse an escalation without a price, or a price with an escalation but no base year."""
    if not table.has(f"{name}_escalation"):
        return
    if price is None:
        raise ConfigError(
            table.path, table.key_path(f"{name}_minor"), f"required with {name}_escalation"
        )
    if base_year is None:
        key = "price_ceiling_base_year" if name == "price_ceiling" else "base_year"
        raise ConfigError(
            table.path,
            table.key_path(key),
            f"required with {name}_escalation: the year it starts from",
        )


# ---------------------------------------------------------------- unverified


def _read_unverified(top: Table, data: dict[str, Any]) -> tuple[str, ...]:
    """Read `unverified`: each path must name a table, entry or key the file sets."""
    paths = _strings(top, "unverified", required=False)
    if len(paths) > UNVERIFIED_MAX:
        raise ConfigError(
            top.path, "unverified", f"at most {UNVERIFIED_MAX} paths, found {len(paths)}"
        )
    _refuse_duplicates(top, "unverified", paths)
    known = _addressable(data)
    for index, path in enumerate(paths):
        if path not in known:
            near = sorted(
                candidate for candidate in known if candidate.startswith(path.split(".")[0])
            )
            hint = f"; paths under {path.split('.')[0]!r}: {', '.join(near[:12])}" if near else ""
            raise ConfigError(
                top.path,
                f"unverified[{index}]",
                f"{path!r} names nothing this preset sets{hint}",
            )
    return tuple(paths)


def _addressable(data: dict[str, Any]) -> set[str]:
    """Return every path `unverified` may name: tables, array entries (by label) and keys."""
    found: set[str] = set()
    _walk("", {key: value for key, value in data.items() if key != "unverified"}, found)
    return found


def _walk(prefix: str, table: dict[str, Any], found: set[str]) -> None:
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        found.add(path)
        if isinstance(value, dict):
            _walk(path, value, found)
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                entry = f"{path}.{_label(path, item)}"
                found.add(entry)
                _walk(entry, item, found)


def _label(array: str, entry: dict[str, Any]) -> str:
    """Name an array entry in a path: limits and phases by name, rules by year and kind."""
    if array == "calendar.deadlines":
        first = entry.get("first_period")
        return f"{entry['kind']}@{first}" if first is not None else str(entry["kind"])
    if array == "allocation":
        category = entry.get("category")
        return f"{entry['first_year']}:{category}" if category else str(entry["first_year"])
    return str(entry["name"])


# ---------------------------------------------------------------- readers


def _presets_dir() -> Path:
    if not PRESETS_DIR.is_dir():
        raise ConfigError(
            PRESETS_DIR,
            "(folder)",
            "no preset folder; presets ship inside the etslink package "
            "(compliance/jurisdictions/): reinstall etslink",
        )
    return PRESETS_DIR


def _table(parent: Table, key: str) -> Table:
    table = parent.table(key)
    assert table is not None, "a required table is never None"
    return table


def _entries(table: Table, key: str) -> list[Table]:
    entries = table.tables(key)
    if len(entries) > ENTRIES_MAX:
        raise ConfigError(
            table.path, table.key_path(key), f"at most {ENTRIES_MAX} entries, found {len(entries)}"
        )
    return entries


def _by_value(enum: type[S]) -> dict[str, S]:
    return {member.value: member for member in enum}


def _text(table: Table, key: str) -> str:
    text = table.get(key, str)
    if not text.strip():
        raise ConfigError(table.path, table.key_path(key), "expected text, found an empty string")
    return text


def _matching(table: Table, key: str, pattern: re.Pattern[str], expected: str) -> str:
    text = table.get(key, str)
    if not pattern.fullmatch(text):
        raise ConfigError(table.path, table.key_path(key), f"expected {expected}, found {text!r}")
    return text


def _strings(table: Table, key: str, required: bool = True) -> list[str]:
    items = table.get(key, list) if required else table.get(key, list, [])
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise ConfigError(
                table.path, f"{table.key_path(key)}[{index}]", f"expected a string, found {item!r}"
            )
    if required and not items:
        raise ConfigError(table.path, table.key_path(key), "expected at least one entry")
    return list(items)


def _year(table: Table, key: str) -> int:
    return table.whole(key, YEAR_MIN, YEAR_MAX)


def _share(
    table: Table, key: str, default: Fraction | None = None, maximum: Fraction = Fraction(1)
) -> Fraction:
    """Return `key` as a Fraction in [0, maximum]; a share is a string, never a float."""
    if not table.has(key):
        if default is None:
            raise ConfigError(
                table.path, table.key_path(key), 'required share (e.g. "0.05") is missing'
            )
        return default
    value = table.fraction(key)
    if value > maximum:
        raise ConfigError(
            table.path, table.key_path(key), f"expected at most {maximum}, found {value}"
        )
    return value


def _refuse_duplicates(table: Table, key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(table.path, table.key_path(key), f"{name!r} appears twice")
        seen.add(name)


def _refuse_overlaps(table: Table, key: str, ranges: list[tuple[int, int]], what: str) -> None:
    ordered = sorted(ranges)
    for (_, earlier_last), (later_first, _) in pairwise(ordered):
        if later_first <= earlier_last:
            raise ConfigError(
                table.path,
                table.key_path(key),
                f"{what} overlap: two apply in {later_first}; give them first/last years apart",
            )
