"""Read a scenario file: registries, entities, links, instruments, rates, agents and a calendar.

`load_scenario` reads one TOML file strictly, like every etslink file: each
mistake is a `ConfigError` naming the file, the key path
(`registry[1].entities[3].mac.slope_minor_per_t`) and what was expected, and
unknown keys are refused. Floats are refused anywhere: shares, growth rates,
slopes and exchange rates are strings read as exact `Fraction`s; tonnes and
money are whole numbers. `docs/scenarios.md` documents every key.

The result is a tree of frozen values; the run loop (issue 6) consumes it.
Generated entities are expanded here, from `random.Random` seeded by the
scenario's seed and the registry code, so the same file always yields the
same entities.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time
from fractions import Fraction
from pathlib import Path
from typing import Any

from compliance.business_days import auction_sessions_max
from compliance.presets import CURRENCY_MINOR_DIGITS, list_presets, load_preset
from compliance.regime import (
    AllocationMethod,
    PenaltyKind,
    PenaltyRule,
    QuantitativeLimit,
    Regime,
    UnitOrigin,
)
from etslink.economics import LinearMac, MacCurve, PiecewiseMac
from etslink.scenario.model import (
    Agent,
    Allocation,
    AllocationData,
    AuctionPlan,
    CsvAgent,
    DealerAgents,
    Entity,
    EntityGenerator,
    Faults,
    FirmsAgents,
    FxRate,
    FxTable,
    GeneratedData,
    InteractiveAgent,
    OpenPeriodRule,
    Overrides,
    ProductOutput,
    ProgrammeExit,
    ReservePlan,
    Scenario,
    ScenarioCalendar,
    ScenarioInstrument,
    ScenarioRegistry,
    UnitFate,
    ZicAgents,
)
from etslink.scenario.shipped import shipped_dir
from exchange.book import Instrument
from gateway.links import Link, LinkState, load_links
from registry.account_ids import is_registry_code
from registry.config_reader import ConfigError, Table, load_toml, parse_exact, refuse_floats
from registry.units import UnitKind

REGISTRIES_MAX = 20
ENTITIES_MAX = 5_000  # per registry, explicit and generated together
LINK_FILES_MAX = 20
SCENARIO_FILES_SCANNED_MAX = 200  # shipped scenarios searched for a preset's users
INSTRUMENTS_MAX = 50
AGENTS_MAX = 50
FX_RATES_MAX = 50
SEGMENTS_MAX = 50  # segments of one piecewise MAC curve
SECTORS_MAX = 20  # sectors in one generator's mix
PRODUCTS_MAX = 20  # products of one entity
BENCHMARK_T_MAX = Fraction(1_000)  # t CO2 per unit of output
SHARE_OF_BASELINE_MAX = Fraction(10)  # historic, base-year or reference figures
YEARS_MAX = 50
TRADING_DAYS_MAX = 366
ZIC_COUNT_MAX = 10_000
BASELINE_T_MAX = 10**10
MONEY_MINOR_MAX = 10**12
TICK_MINOR_MAX = 10**9
LOT_T_MAX = 10**9
NARRATIVE_CHARS_MAX = 4_000
CAP_SCALE_MAX = Fraction(10)
FX_RATE_MAX = Fraction(10**9)
DELAY_DAYS_MAX = 365
INTEREST_RATE_DEFAULT = Fraction(5, 100)  # a firm's cost of carrying a unit a year (illustrative)
INTEREST_RATE_MAX = Fraction(1, 2)
DEALER_COUNT_MAX = 100
QUOTE_LOTS_MAX = 10_000

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_SECTOR_RE = re.compile(r"[a-z][a-z0-9-]{0,29}")
_UNIT_CODE_RE = re.compile(r"[A-Z0-9]{1,16}")
_FX_KEY_RE = re.compile(r"([A-Z]{3})_per_([A-Z]{3})")

_TOP_KEYS = {
    "scenario",
    "calendar",
    "registry",
    "links",
    "instrument",
    "fx",
    "agents",
    "faults",
    "exits",
}
_HEADER_KEYS = {"name", "narrative", "seed", "currency", "interest_rate"}
_CALENDAR_KEYS = {"start", "years", "trading_days_per_year", "business_days"}
_REGISTRY_KEYS = {
    "code",
    "preset",
    "currency",
    "overrides",
    "entities",
    "generate",
    "auctions",
    "reserve",
}
_AUCTION_KEYS = {"share", "per_year", "reserve_price_minor", "bidder_share_max", "unsold"}
_RESERVE_KEYS = {"size_t"}
_OVERRIDE_KEYS = {
    "cap_scale",
    "offset_cap",
    "price_floor_minor",
    "price_ceiling_minor",
    "penalty_per_t_minor",
}
_ENTITY_KEYS = {
    "id",
    "sector",
    "baseline_t",
    "growth",
    "allocation_share",
    "allocation_rule",
    "historic_emissions_t",
    "base_year_emissions_t",
    "products",
    "mac",
}
_PRODUCT_KEYS = {"product", "output", "reference_output", "benchmark_t_per_unit"}
_GENERATE_KEYS = {
    "count",
    "sector_mix",
    "baseline_min_t",
    "baseline_max_t",
    "growth",
    "allocation_share",
    "allocation_rule",
    "mac_slope_min_minor_per_t",
    "mac_slope_max_minor_per_t",
    "mac_intercept_minor",
    *(field.name for field in fields(GeneratedData)),
}
_LINEAR_KEYS = {"kind", "slope_minor_per_t", "intercept_minor"}
_PIECEWISE_KEYS = {"kind", "segments"}
_SEGMENT_KEYS = {"up_to_t", "cost_minor"}
_LINKS_KEYS = {"file", "override"}
_LINK_OVERRIDE_KEYS = {"id", "state", "effective_from", "effective_to"}
_INSTRUMENT_KEYS = {"unit_type", "registry", "currency", "tick_minor", "lot_t"}
_AGENT_KEYS: dict[str, set[str]] = {
    "firms": {"kind", "surrender_failure_share"},
    "zi-c": {"kind", "count", "instrument", "value_min_minor", "value_max_minor", "value_band"},
    "zi-u": {"kind", "count", "instrument", "value_min_minor", "value_max_minor", "value_band"},
    "dealers": {
        "kind",
        "count",
        "books",
        "spread",
        "quote_lots",
        "inventory_t_max",
        "capital_minor",
    },
    "csv": {"kind", "participant", "path", "registry", "cash_minor", "allowances_t"},
    "interactive": {"kind", "participant", "registry", "cash_minor", "allowances_t"},
}
_FAULT_KEYS = {"drop", "duplicate", "delay", "delay_days_max"}
_EXIT_KEYS = {"registry", "date", "units", "open_period"}
_REQUIRED = object()  # a `_fraction` without a default
_PRESET_RULE = "preset"  # allocation_rule naming the preset's uncategorised rules


# ---------------------------------------------------------------- the loader


def load_scenario(path: Path | str) -> Scenario:
    """Read and check a scenario file; raise ConfigError on the first mistake."""
    path = Path(path)
    data = load_toml(path)
    _refuse_a_preset(path, data)
    refuse_floats(path, data, "")
    root = Table(path, "", data)
    root.refuse_unknown(_TOP_KEYS)
    header = _section(root, "scenario")
    header.refuse_unknown(_HEADER_KEYS)
    name = _matching(header, "name", _NAME_RE, "a lower-case name like 'northeast-asia'")
    narrative = header.get("narrative", str).strip()
    if not narrative or len(narrative) > NARRATIVE_CHARS_MAX:
        raise ConfigError(
            path, "scenario.narrative", f"expected 1..{NARRATIVE_CHARS_MAX} characters of text"
        )
    seed = header.whole("seed", 0, 2**63 - 1)
    currency = _currency(header, "currency")
    interest_rate = _fraction(
        header, "interest_rate", INTEREST_RATE_DEFAULT, Fraction(0), INTEREST_RATE_MAX
    )
    header.done()
    calendar = _read_calendar(_section(root, "calendar"))
    run_years = range(calendar.start.year, calendar.start.year + calendar.years)
    registries = _read_registries(root, seed, run_years)
    _check_auctions_per_year(path, calendar, registries)
    codes = {registry.code for registry in registries}
    link_files, links = _read_links(root, codes)
    registries = [replace(item, regime=with_link_caps(item.regime, links)) for item in registries]
    instruments = _read_instruments(root, registries, links)
    fx = _read_fx(root, currency, registries, instruments)
    agents = _read_agents(root, codes, instruments)
    faults_table = root.table("faults", required=False)
    faults = None if faults_table is None else _read_faults(faults_table)
    exits = _read_exits(root, codes, calendar)
    root.done()
    return Scenario(
        path=path,
        name=name,
        narrative=narrative,
        seed=seed,
        currency=currency,
        calendar=calendar,
        registries=tuple(registries),
        link_files=tuple(link_files),
        links=tuple(links),
        instruments=tuple(instruments),
        fx=fx,
        agents=tuple(agents),
        faults=faults,
        interest_rate=interest_rate,
        exits=tuple(exits),
    )


def _refuse_a_preset(path: Path, data: dict[str, Any]) -> None:
    """Refuse a jurisdiction preset given where a scenario belongs, naming scenarios that use it."""
    regime = data.get("regime")
    if "scenario" in data or not isinstance(regime, dict):
        return
    written = regime.get("key")
    key = written if isinstance(written, str) else path.stem
    users = scenarios_using(key)
    if users:
        shown = [_shown_path(user) for user in users]
        linked = [text for text in shown if not text.endswith("-unlinked.toml")] or shown
        how = (
            f'scenarios name it in a [[registry]] table (preset = "{key}"): '
            f"{', '.join(shown)}; run one with 'etslink run {linked[0]}'"
        )
    else:
        how = (
            "no shipped scenario uses it yet: name it in a scenario's [[registry]] table "
            f'(preset = "{key}"; docs/scenarios.md)'
        )
    raise ConfigError(
        path,
        "(file)",
        f"this is the jurisdiction preset {key!r}, not a scenario; {how}; "
        f"see the preset with 'etslink jurisdictions show {key}'",
    )


def scenarios_using(preset: str) -> list[Path]:
    """Return the shipped scenarios (fixtures/scenarios/) with a registry under `preset`."""
    folder = shipped_dir("scenarios")
    found: list[Path] = []
    for candidate in sorted(folder.glob("*.toml"))[:SCENARIO_FILES_SCANNED_MAX]:
        try:
            registries = load_toml(candidate).get("registry")
        except ConfigError:
            continue  # a broken shipped scenario is another test's failure, not this message's
        if isinstance(registries, list) and any(
            isinstance(item, dict) and item.get("preset") == preset for item in registries
        ):
            found.append(candidate)
    return found


def _shown_path(path: Path) -> str:
    """Return `path` relative to the current directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_calendar(table: Table) -> ScenarioCalendar:
    table.refuse_unknown(_CALENDAR_KEYS)
    start = table.get("start", date)
    if isinstance(start, datetime):
        raise ConfigError(table.path, table.key_path("start"), f"expected a date, found {start}")
    calendar = ScenarioCalendar(
        start=start,
        years=table.whole("years", 1, YEARS_MAX),
        trading_days_per_year=table.whole("trading_days_per_year", 1, TRADING_DAYS_MAX),
        business_days=table.get("business_days", bool, True),
    )
    table.done()
    return calendar


# ---------------------------------------------------------------- registries


def _read_registries(root: Table, seed: int, run_years: range) -> list[ScenarioRegistry]:
    tables = _entries(root, "registry", REGISTRIES_MAX)
    if not tables:
        raise ConfigError(root.path, "registry", "expected at least one [[registry]] table")
    registries: list[ScenarioRegistry] = []
    entity_ids: set[str] = set()
    for table in tables:
        registry = _read_registry(table, seed, run_years)
        if registry.code in {known.code for known in registries}:
            raise ConfigError(
                table.path, table.key_path("code"), f"registry {registry.code} is declared twice"
            )
        explicit = len(registry.entities) - (registry.generator.count if registry.generator else 0)
        for index, entity in enumerate(registry.entities):
            if entity.entity_id in entity_ids:
                where = f"entities[{index}].id" if index < explicit else "generate"
                raise ConfigError(
                    table.path,
                    f"{table.where}.{where}",
                    f"duplicate entity id {entity.entity_id!r} (ids are unique per scenario)",
                )
            entity_ids.add(entity.entity_id)
        registries.append(registry)
    return registries


def _read_registry(table: Table, seed: int, run_years: range) -> ScenarioRegistry:
    table.refuse_unknown(_REGISTRY_KEYS)
    code = table.get("code", str)
    if not is_registry_code(code):
        raise ConfigError(
            table.path, table.key_path("code"), f"expected two capital letters A-Z, found {code!r}"
        )
    preset = table.get("preset", str)
    presets = list_presets()
    if preset not in presets:
        raise ConfigError(
            table.path,
            table.key_path("preset"),
            f"expected a jurisdiction preset ({', '.join(presets)}), found {preset!r}",
        )
    regime = load_preset(preset)
    if code != regime.registry_code:
        raise ConfigError(
            table.path,
            table.key_path("code"),
            f"preset {preset} runs registry {regime.registry_code}, found {code!r}",
        )
    currency = table.get("currency", str, regime.currency)
    if currency != regime.currency:
        raise ConfigError(
            table.path,
            table.key_path("currency"),
            f"preset {preset} keeps money in {regime.currency} minor units, found {currency!r}",
        )
    overrides_table = table.table("overrides", required=False)
    overrides = Overrides() if overrides_table is None else _read_overrides(overrides_table)
    entities = [_read_entity(entry, regime, run_years) for entry in table.tables("entities")]
    generate = table.table("generate", required=False)
    generator = None
    if generate is not None:
        generator = _read_generator(generate, regime, run_years)
        entities.extend(_generate(generator, code, seed))
    if not entities:
        raise ConfigError(
            table.path, table.key_path("entities"), "expected [[entities]] or a [generate] table"
        )
    if len(entities) > ENTITIES_MAX:
        raise ConfigError(
            table.path,
            table.key_path("entities"),
            f"at most {ENTITIES_MAX} entities per registry, found {len(entities)}",
        )
    auctions_table = table.table("auctions", required=False)
    auctions = None if auctions_table is None else _read_auctions(auctions_table)
    reserve_table = table.table("reserve", required=False)
    reserve = None
    if reserve_table is not None:
        reserve_table.refuse_unknown(_RESERVE_KEYS)
        reserve = ReservePlan(reserve_table.whole("size_t", 1, BASELINE_T_MAX))
        reserve_table.done()
    table.done()
    return ScenarioRegistry(
        code,
        preset,
        apply_overrides(regime, overrides),
        currency,
        overrides,
        tuple(entities),
        generator,
        auctions,
        reserve,
    )


def _read_auctions(table: Table) -> AuctionPlan:
    table.refuse_unknown(_AUCTION_KEYS)
    share = _fraction(table, "share", None, Fraction(0), Fraction(1))
    if share is not None and share >= 1:
        raise ConfigError(table.path, table.key_path("share"), "expected a share below 1")
    bidder_share = _fraction(table, "bidder_share_max", None, Fraction(0), Fraction(1))
    if bidder_share == 0:
        raise ConfigError(
            table.path, table.key_path("bidder_share_max"), "expected a share above 0"
        )
    unsold = table.get("unsold", str, "keep")
    if unsold not in ("keep", "cancel"):
        raise ConfigError(
            table.path, table.key_path("unsold"), f"expected 'keep' or 'cancel', found {unsold!r}"
        )
    plan = AuctionPlan(
        share=share,
        per_year=table.whole("per_year", 1, TRADING_DAYS_MAX, 4),
        reserve_price_minor=table.whole("reserve_price_minor", 1, MONEY_MINOR_MAX, None),
        bidder_share_max=bidder_share,
        unsold=unsold,
    )
    table.done()
    return plan


def _check_auctions_per_year(
    path: Path, calendar: ScenarioCalendar, registries: list[ScenarioRegistry]
) -> None:
    """Refuse `per_year` auctions beyond what the regime's auction calendar offers a year.

    The calendar offers `auctions_per_month` sessions in each of its auction months (EU:
    12 × 12), or every session without one, never more than `trading_days_per_year`
    (`compliance.business_days.auction_sessions_max`).
    """
    for index, registry in enumerate(registries):
        plan = registry.auctions
        if plan is None:
            continue
        trading = registry.regime.trading
        offered = auction_sessions_max(trading, calendar.trading_days_per_year)
        if plan.per_year <= offered:
            continue
        if trading.auction_months:
            why = (
                f"{len(trading.auction_months)} auction months × at most "
                f"{trading.auctions_per_month} of preset {registry.preset}'s [trading], "
                f"and {calendar.trading_days_per_year} sessions a year"
            )
        else:
            why = f"one a session, {calendar.trading_days_per_year} sessions a year"
        raise ConfigError(
            path,
            f"registry[{index}].auctions.per_year",
            f"expected at most the {offered} auctions its calendar offers a year ({why}), "
            f"found {plan.per_year}",
        )


def with_link_caps(regime: Regime, links: list[Link]) -> Regime:
    """Return `regime` with each link's per-entity cap on foreign units as a surrender limit.

    A link's `entity_share_cap` (AU–EU: foreign units ≤ 50% of an entity's liability)
    binds the entities of each registry the link carries units into. It becomes a
    limit on international allowances named `link-<id>`, unless the regime already
    caps international allowances as tightly.
    """
    limits = list(regime.surrender.limits)
    for link in sorted(links, key=lambda item: item.link_id):
        share = link.entity_share_cap
        if share is None or regime.registry_code not in link.parties:
            continue
        other = next(code for code in link.parties if code != regime.registry_code)
        if not link.permits_direction(other, regime.registry_code):
            continue  # nothing comes in over this link
        already = [
            limit.share
            for limit in limits
            if limit.origin is UnitOrigin.INTERNATIONAL and UnitKind.ALLOWANCE in limit.unit_kinds
        ]
        if any(existing <= share for existing in already):
            continue
        limits.append(
            QuantitativeLimit(
                f"link-{link.link_id}",
                share,
                frozenset({UnitKind.ALLOWANCE}),
                UnitOrigin.INTERNATIONAL,
                first_year=link.effective_from.year,
            )
        )
    if len(limits) == len(regime.surrender.limits):
        return regime
    return replace(regime, surrender=replace(regime.surrender, limits=tuple(limits)))


def apply_overrides(regime: Regime, overrides: Overrides) -> Regime:
    """Return `regime` with the scenario's overrides applied (`cap_scale` is the run's).

    `offset_cap` replaces the share of every surrender limit on offset credits, and adds
    one when the preset has none; the price floor and ceiling replace the preset's (its
    escalation stays); `penalty_per_t_minor` makes the penalty a fixed charge per tonne
    short, keeping the preset's make-good rule.
    """
    surrender = regime.surrender
    if overrides.offset_cap is not None:
        limits = [
            replace(limit, share=overrides.offset_cap)
            if UnitKind.OFFSET_CREDIT in limit.unit_kinds
            else limit
            for limit in surrender.limits
        ]
        if not any(UnitKind.OFFSET_CREDIT in limit.unit_kinds for limit in limits):
            limits.append(
                QuantitativeLimit(
                    "offset cap (scenario override)",
                    overrides.offset_cap,
                    frozenset({UnitKind.OFFSET_CREDIT}),
                )
            )
        surrender = replace(surrender, limits=tuple(limits))
    stability = regime.stability
    if overrides.price_floor_minor is not None:
        stability = replace(stability, price_floor_minor=overrides.price_floor_minor)
    if overrides.price_ceiling_minor is not None:
        stability = replace(stability, price_ceiling_minor=overrides.price_ceiling_minor)
    penalty = regime.penalty
    if overrides.penalty_per_t_minor is not None:
        penalty = PenaltyRule(
            PenaltyKind.FIXED_PER_TONNE,
            make_good=penalty.make_good,
            fixed_per_t_minor=overrides.penalty_per_t_minor,
        )
    return replace(regime, surrender=surrender, stability=stability, penalty=penalty)


def _read_overrides(table: Table) -> Overrides:
    table.refuse_unknown(_OVERRIDE_KEYS)
    cap_scale = _fraction(table, "cap_scale", Fraction(1), Fraction(0), CAP_SCALE_MAX)
    if cap_scale == 0:
        raise ConfigError(table.path, table.key_path("cap_scale"), "expected a scale above 0")
    offset_cap = _fraction(table, "offset_cap", None, Fraction(0), Fraction(1))
    floor = table.whole("price_floor_minor", 1, MONEY_MINOR_MAX, None)
    ceiling = table.whole("price_ceiling_minor", 1, MONEY_MINOR_MAX, None)
    if floor is not None and ceiling is not None and ceiling <= floor:
        raise ConfigError(
            table.path,
            table.key_path("price_ceiling_minor"),
            f"expected a ceiling above the floor {floor}, found {ceiling}",
        )
    overrides = Overrides(
        cap_scale=cap_scale,
        offset_cap=offset_cap,
        price_floor_minor=floor,
        price_ceiling_minor=ceiling,
        penalty_per_t_minor=table.whole("penalty_per_t_minor", 1, MONEY_MINOR_MAX, None),
    )
    table.done()
    return overrides


def _read_entity(table: Table, regime: Regime, run_years: range) -> Entity:
    table.refuse_unknown(_ENTITY_KEYS)
    entity_id = _matching(table, "id", _ID_RE, "an id of letters, digits, '-' or '_'")
    sector = _matching(table, "sector", _SECTOR_RE, "a lower-case sector like 'power'")
    baseline_t = table.whole("baseline_t", 1, BASELINE_T_MAX)
    growth = _growth(table, "growth")
    allocation = _read_allocation(table, regime)
    data = AllocationData(
        historic_emissions_t=table.whole("historic_emissions_t", 0, BASELINE_T_MAX, None),
        base_year_emissions_t=table.whole("base_year_emissions_t", 0, BASELINE_T_MAX, None),
        products=tuple(_read_product(entry) for entry in _entries(table, "products", PRODUCTS_MAX)),
    )
    _check_allocation_data(table, regime, allocation, run_years, _entity_data_keys(data))
    mac_table = _section(table, "mac")
    mac = _read_mac(mac_table, baseline_t)
    table.done()
    return Entity(entity_id, sector, baseline_t, growth, allocation, mac, data)


def _read_product(table: Table) -> ProductOutput:
    table.refuse_unknown(_PRODUCT_KEYS)
    product = ProductOutput(
        product=_matching(table, "product", _SECTOR_RE, "a lower-case product like 'gas'"),
        output=table.whole("output", 0, BASELINE_T_MAX),
        reference_output=table.whole("reference_output", 0, BASELINE_T_MAX, None),
        benchmark_t_per_unit=_fraction(
            table, "benchmark_t_per_unit", None, Fraction(0), BENCHMARK_T_MAX
        ),
    )
    table.done()
    return product


@dataclass(frozen=True, slots=True)
class _GivenData:
    """The allocation data an entity or generator gives, named by the keys that give it.

    `products` holds (product, has a reference output, has its own benchmark).
    """

    given: frozenset[str]
    products: tuple[tuple[str, bool, bool], ...]
    historic_key: str
    base_year_key: str
    products_key: str
    reference_key: str  # may hold "{index}", the product's index
    benchmark_key: str


def _entity_data_keys(data: AllocationData) -> _GivenData:
    keys = {
        "historic_emissions_t": data.historic_emissions_t is not None,
        "base_year_emissions_t": data.base_year_emissions_t is not None,
        "products": bool(data.products),
    }
    return _GivenData(
        frozenset(key for key, given in keys.items() if given),
        tuple(
            (item.product, item.reference_output is not None, item.benchmark_t_per_unit is not None)
            for item in data.products
        ),
        "historic_emissions_t",
        "base_year_emissions_t",
        "products",
        "products[{index}].reference_output",
        "products[{index}].benchmark_t_per_unit",
    )


def _generated_data_keys(data: GeneratedData) -> _GivenData:
    keys = {
        "historic_emissions_share": data.historic_emissions_share is not None,
        "base_year_emissions_share": data.base_year_emissions_share is not None,
        "product": data.product is not None,
    }
    products: tuple[tuple[str, bool, bool], ...] = ()
    if data.product is not None:
        products = (
            (
                data.product,
                data.reference_output_share is not None,
                data.benchmark_t_per_unit is not None,
            ),
        )
    return _GivenData(
        frozenset(key for key, given in keys.items() if given),
        products,
        "historic_emissions_share",
        "base_year_emissions_share",
        "product",
        "reference_output_share",
        "benchmark_t_per_unit",
    )


def _check_allocation_data(
    table: Table, regime: Regime, allocation: Allocation, run_years: range, data: _GivenData
) -> None:
    """Refuse an entity (or generator) lacking data its preset's methods need, or giving more.

    An `allocation_share` entity needs none. Otherwise every year of the run must have a
    rule for the entity's category, and the entity must carry what each rule's method
    takes: grandparenting historic emissions, the base-year formula base-year emissions,
    a benchmark products with output (and a benchmark, its own or the preset's), China's
    intensity benchmark also their reference output.
    """
    given = data.given
    if allocation.rule is None:
        if given:
            raise ConfigError(
                table.path,
                table.key_path(sorted(given)[0]),
                "is used only with allocation_rule; allocation_share allocates a share of "
                "the baseline",
            )
        return
    category = "" if allocation.rule == _PRESET_RULE else allocation.rule
    needed: set[str] = set()
    for year in run_years:
        rule = regime.allocation_rule(year, category)
        if rule is None:
            raise ConfigError(
                table.path,
                table.key_path("allocation_rule"),
                f"preset {regime.key} has no {allocation.rule!r} allocation rule for {year}, "
                "a year of the run; give allocation_share instead, or shorten the run",
            )
        key = {
            AllocationMethod.GRANDPARENTING: data.historic_key,
            AllocationMethod.BASE_YEAR: data.base_year_key,
        }.get(rule.method, data.products_key)
        needed.add(key)
        why = f"preset {regime.key}'s {rule.method.value} allocation rule for {year}"
        if key not in given:
            raise ConfigError(table.path, table.key_path(key), f"required by {why}; it is missing")
        if key != data.products_key:
            continue
        for index, (product, has_reference, has_benchmark) in enumerate(data.products):
            if rule.method is AllocationMethod.INTENSITY_BENCHMARK and not has_reference:
                raise ConfigError(
                    table.path,
                    table.key_path(data.reference_key.format(index=index)),
                    f"required by {why} (the pre-allocation is on the reference year's "
                    "output); it is missing",
                )
            if not has_benchmark and rule.benchmark_for(product) is None:
                known = ", ".join(name for name, _ in rule.benchmarks) or "none"
                raise ConfigError(
                    table.path,
                    table.key_path(data.benchmark_key.format(index=index)),
                    f"required by {why}: the preset sets no benchmark for {product!r} "
                    f"(it sets: {known}); it is missing",
                )
    unused = sorted(given - needed)
    if unused:
        raise ConfigError(
            table.path,
            table.key_path(unused[0]),
            f"is not used by preset {regime.key}'s allocation rules for "
            f"{run_years[0]}-{run_years[-1]} (allocation_rule {allocation.rule!r})",
        )


def _read_allocation(table: Table, regime: Regime) -> Allocation:
    has_share, has_rule = table.has("allocation_share"), table.has("allocation_rule")
    if has_share == has_rule:
        raise ConfigError(
            table.path,
            table.key_path("allocation_share"),
            "expected exactly one of allocation_share or allocation_rule",
        )
    if has_share:
        return Allocation(share=_fraction(table, "allocation_share", _REQUIRED, Fraction(0), 1))
    rule = table.get("allocation_rule", str)
    # "preset" names the uncategorised rules; a category names the rules carrying it.
    choices = sorted({rule.category or _PRESET_RULE for rule in regime.allocation})
    if rule not in choices:
        raise ConfigError(
            table.path,
            table.key_path("allocation_rule"),
            f"expected one of {', '.join(choices)} (preset {regime.key}), found {rule!r}",
        )
    return Allocation(rule=rule)


def linear_mac(slope_minor_per_t2: Fraction, intercept_minor: int, baseline_t: int) -> MacCurve:
    """Return a linear MAC curve; a flat one (slope 0) is one step as wide as the baseline."""
    if slope_minor_per_t2 == 0:
        return PiecewiseMac([(baseline_t, intercept_minor, intercept_minor)])
    return LinearMac(slope_minor_per_t2, intercept_minor)


def _read_mac(table: Table, baseline_t: int) -> MacCurve:
    kind = table.get("kind", str)
    if kind == "linear":
        table.refuse_unknown(_LINEAR_KEYS)
        slope = _fraction(table, "slope_minor_per_t", _REQUIRED, Fraction(0), MONEY_MINOR_MAX)
        intercept = table.whole("intercept_minor", 0, MONEY_MINOR_MAX, 0)
        table.done()
        return linear_mac(slope, intercept, baseline_t)
    if kind == "piecewise":
        table.refuse_unknown(_PIECEWISE_KEYS)
        segments = [_read_segment(entry) for entry in _entries(table, "segments", SEGMENTS_MAX)]
        if not segments:
            raise ConfigError(table.path, table.key_path("segments"), "expected a segment")
        for index in range(1, len(segments)):
            before, after = segments[index - 1], segments[index]
            if after[0] <= before[0] or after[1] < before[1]:
                raise ConfigError(
                    table.path,
                    f"{table.key_path('segments')}[{index}]",
                    f"expected up_to_t above {before[0]} and cost_minor at least "
                    f"{before[1]} (a MAC curve rises), found {after[0]} t at {after[1]}",
                )
        table.done()
        return step_mac(segments)
    raise ConfigError(
        table.path, table.key_path("kind"), f"expected 'linear' or 'piecewise', found {kind!r}"
    )


def step_mac(steps: list[tuple[int, int]]) -> PiecewiseMac:
    """Return the step curve of (cumulative up_to_t, cost_minor) pairs: flat segments.

    Nothing can be abated beyond the last step.
    """
    segments: list[tuple[int, int, int]] = []
    done_t = 0
    for up_to_t, cost_minor in steps:
        segments.append((up_to_t - done_t, cost_minor, cost_minor))
        done_t = up_to_t
    return PiecewiseMac(segments)


def _read_segment(table: Table) -> tuple[int, int]:
    table.refuse_unknown(_SEGMENT_KEYS)
    segment = (
        table.whole("up_to_t", 1, BASELINE_T_MAX),
        table.whole("cost_minor", 0, MONEY_MINOR_MAX),
    )
    table.done()
    return segment


def _read_generator(table: Table, regime: Regime, run_years: range) -> EntityGenerator:
    table.refuse_unknown(_GENERATE_KEYS)
    count = table.whole("count", 1, ENTITIES_MAX)
    mix_table = Table(table.path, table.key_path("sector_mix"), table.get("sector_mix", dict))
    mix: list[tuple[str, Fraction]] = []
    for sector in sorted(table.get("sector_mix", dict)):
        if not _SECTOR_RE.fullmatch(sector):
            raise ConfigError(
                table.path, mix_table.key_path(sector), "expected a lower-case sector name"
            )
        mix.append((sector, _fraction(mix_table, sector, _REQUIRED, Fraction(0), Fraction(1))))
    mix_table.done()
    if not mix or len(mix) > SECTORS_MAX or sum(share for _, share in mix) != 1:
        raise ConfigError(
            table.path,
            table.key_path("sector_mix"),
            f"expected 1..{SECTORS_MAX} sectors whose shares add up to 1, "
            f"found {sum(share for _, share in mix)}",
        )
    low = table.whole("baseline_min_t", 1, BASELINE_T_MAX)
    high = table.whole("baseline_max_t", low, BASELINE_T_MAX)
    slope_low = _fraction(
        table, "mac_slope_min_minor_per_t", _REQUIRED, Fraction(0), MONEY_MINOR_MAX
    )
    slope_high = _fraction(
        table, "mac_slope_max_minor_per_t", _REQUIRED, slope_low, MONEY_MINOR_MAX
    )
    allocation = _read_allocation(table, regime)
    data = GeneratedData(
        historic_emissions_share=_fraction(
            table, "historic_emissions_share", None, Fraction(0), SHARE_OF_BASELINE_MAX
        ),
        base_year_emissions_share=_fraction(
            table, "base_year_emissions_share", None, Fraction(0), SHARE_OF_BASELINE_MAX
        ),
        product=(
            _matching(table, "product", _SECTOR_RE, "a lower-case product like 'gas'")
            if table.has("product")
            else None
        ),
        emissions_per_unit=_fraction(
            table, "emissions_per_unit", None, Fraction(0), BENCHMARK_T_MAX
        ),
        reference_output_share=_fraction(
            table, "reference_output_share", None, Fraction(0), SHARE_OF_BASELINE_MAX
        ),
        benchmark_t_per_unit=_fraction(
            table, "benchmark_t_per_unit", None, Fraction(0), BENCHMARK_T_MAX
        ),
    )
    given = _generated_data_keys(data)
    _check_allocation_data(table, regime, allocation, run_years, given)
    _check_product_keys(table, data)
    generator = EntityGenerator(
        count=count,
        sector_mix=tuple(mix),
        baseline_min_t=low,
        baseline_max_t=high,
        growth=_growth(table, "growth"),
        allocation=allocation,
        mac_slope_min_minor_per_t=slope_low,
        mac_slope_max_minor_per_t=slope_high,
        mac_intercept_minor=table.whole("mac_intercept_minor", 0, MONEY_MINOR_MAX, 0),
        data=data if given.given else None,
    )
    table.done()
    return generator


def _generate(generator: EntityGenerator, code: str, seed: int) -> list[Entity]:
    """Expand a generator: sector counts by largest remainder, spreads drawn from the seed."""
    # A string seed is hashed with SHA-512 by `random.seed`: stable across runs and machines.
    rng = random.Random(f"{seed}:{code}")
    exact = [(sector, share * generator.count) for sector, share in generator.sector_mix]
    counts = {sector: int(quota) for sector, quota in exact}
    left = generator.count - sum(counts.values())
    by_remainder = sorted(exact, key=lambda item: (-(item[1] - int(item[1])), item[0]))
    for sector, _ in by_remainder[:left]:
        counts[sector] += 1
    slope_span = generator.mac_slope_max_minor_per_t - generator.mac_slope_min_minor_per_t
    steps = 1000  # slopes are drawn on a grid of 1/1000 of the range: exact Fractions
    entities = []
    for sector, _ in generator.sector_mix:
        for number in range(1, counts[sector] + 1):
            baseline_t = rng.randint(generator.baseline_min_t, generator.baseline_max_t)
            slope = generator.mac_slope_min_minor_per_t + slope_span * Fraction(
                rng.randint(0, steps), steps
            )
            entities.append(
                Entity(
                    entity_id=f"{code.lower()}-{sector}-{number:04d}",
                    sector=sector,
                    baseline_t=baseline_t,
                    growth=generator.growth,
                    allocation=generator.allocation,
                    mac=linear_mac(slope, generator.mac_intercept_minor, baseline_t),
                    data=_generated_data(generator.data, baseline_t),
                )
            )
    return entities


def _check_product_keys(table: Table, data: GeneratedData) -> None:
    """A generated product needs its emissions per unit; product keys need a product."""
    if data.product is not None and data.emissions_per_unit in (None, 0):
        raise ConfigError(
            table.path,
            table.key_path("emissions_per_unit"),
            f"required with product {data.product!r}: t CO2 per unit of output, above 0 "
            "(each entity's output is its baseline over it)",
        )
    if data.product is None:
        for key in ("emissions_per_unit", "reference_output_share", "benchmark_t_per_unit"):
            if getattr(data, key) is not None:
                raise ConfigError(table.path, table.key_path(key), "is used only with a product")


def _generated_data(data: GeneratedData | None, baseline_t: int) -> AllocationData:
    """Derive one generated entity's allocation data from its baseline (each rounds down)."""
    if data is None:
        return AllocationData()

    def share_of(share: Fraction | None, whole: int) -> int | None:
        return None if share is None else math.floor(share * whole)

    products: tuple[ProductOutput, ...] = ()
    if data.product is not None:
        assert data.emissions_per_unit, data  # checked by _check_product_keys
        output = math.floor(baseline_t / data.emissions_per_unit)
        products = (
            ProductOutput(
                data.product,
                output,
                share_of(data.reference_output_share, output),
                data.benchmark_t_per_unit,
            ),
        )
    return AllocationData(
        historic_emissions_t=share_of(data.historic_emissions_share, baseline_t),
        base_year_emissions_t=share_of(data.base_year_emissions_share, baseline_t),
        products=products,
    )


# ---------------------------------------------------------------- links


def _read_links(root: Table, codes: set[str]) -> tuple[list[Path], list[Link]]:
    files: list[Path] = []
    links: list[Link] = []
    for table in _entries(root, "links", LINK_FILES_MAX):
        table.refuse_unknown(_LINKS_KEYS)
        name = table.get("file", str)
        file = _root_dir(table) / name
        if not file.is_file():
            raise ConfigError(
                table.path,
                table.key_path("file"),
                f"link file {name!r} not found (looked for {file}; "
                "link files are relative to the scenario file)",
            )
        loaded = {link.link_id: link for link in load_links(file)}
        for entry in table.tables("override"):
            link_id, link = _read_link_override(entry, loaded)
            loaded[link_id] = link
        table.done()
        for link in loaded.values():
            if link.link_id in {known.link_id for known in links}:
                raise ConfigError(
                    table.path,
                    table.key_path("file"),
                    f"link id {link.link_id!r} appears in two link files",
                )
            missing = sorted(link.parties - codes)
            if missing:
                raise ConfigError(
                    table.path,
                    table.key_path("file"),
                    f"link {link.link_id} joins {link.registry_a} and {link.registry_b}, "
                    f"but the scenario declares no [[registry]] {', '.join(missing)} "
                    f"(declared: {', '.join(sorted(codes))})",
                )
            links.append(link)
        files.append(file)
    return files, links


def _root_dir(table: Table) -> Path:
    """Return the folder of the scenario file: link, CSV paths are relative to it."""
    return Path(table.path).parent


def _read_link_override(table: Table, loaded: dict[str, Link]) -> tuple[str, Link]:
    table.refuse_unknown(_LINK_OVERRIDE_KEYS)
    link_id = table.get("id", str)
    if link_id not in loaded:
        raise ConfigError(
            table.path,
            table.key_path("id"),
            f"expected a link of this file ({', '.join(sorted(loaded))}), found {link_id!r}",
        )
    link = loaded[link_id]
    changes: dict[str, Any] = {}
    if table.has("state"):
        states = {state.value: state for state in LinkState}
        changes["state"] = table.choice("state", states)
    if table.has("effective_from"):
        changes["effective_from"] = _moment(table, "effective_from")
    if table.has("effective_to"):
        changes["effective_to"] = _moment(table, "effective_to")
    table.done()
    try:
        return link_id, replace(link, **changes)
    except ValueError as error:
        raise ConfigError(table.path, table.where, f"link {link_id}: {error}") from None


def _moment(table: Table, key: str) -> datetime:
    value = table.get(key, date)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigError(table.path, table.key_path(key), "expected a UTC offset")
        return value
    return datetime.combine(value, time(0), tzinfo=UTC)


# ---------------------------------------------------------------- instruments and money


def _read_instruments(
    root: Table, registries: list[ScenarioRegistry], links: list[Link]
) -> list[ScenarioInstrument]:
    by_code = {registry.code: registry for registry in registries}
    origins = {registry.regime.allowance_unit_type: registry.code for registry in registries}
    known_units = set(origins) | {unit for link in links for unit in link.unit_types}
    instruments: list[ScenarioInstrument] = []
    for table in _entries(root, "instrument", INSTRUMENTS_MAX):
        table.refuse_unknown(_INSTRUMENT_KEYS)
        unit_type = _matching(table, "unit_type", _UNIT_CODE_RE, "a unit code like 'KAU'")
        if unit_type not in known_units:
            raise ConfigError(
                table.path,
                table.key_path("unit_type"),
                f"expected an allowance type of a declared registry or a unit type of a "
                f"link ({', '.join(sorted(known_units))}), found {unit_type!r}",
            )
        venue = table.get("registry", str)
        if venue not in by_code:
            raise ConfigError(
                table.path,
                table.key_path("registry"),
                f"expected a declared registry ({', '.join(sorted(by_code))}), found {venue!r}",
            )
        code = book_code(unit_type, venue, origins.get(unit_type))
        if code in {item.code for item in instruments}:
            raise ConfigError(
                table.path,
                table.key_path("unit_type"),
                f"{unit_type} is listed twice on {venue}'s venue",
            )
        if code != unit_type and not any(
            venue in link.parties and unit_type in link.unit_types for link in links
        ):
            raise ConfigError(
                table.path,
                table.key_path("registry"),
                f"{unit_type} is listed on {venue}'s venue, but no link of the scenario carries "
                f"{unit_type} into {venue}; list it on its own registry's venue or add the link",
            )
        currency = (
            _currency(table, "currency") if table.has("currency") else by_code[venue].currency
        )
        instrument = Instrument(
            code=code,
            currency=currency,
            tick_minor=table.whole("tick_minor", 1, TICK_MINOR_MAX, 1),
            lot_t=table.whole("lot_t", 1, LOT_T_MAX, 1),
        )
        table.done()
        instruments.append(ScenarioInstrument(venue, instrument, unit_type))
    return instruments


def book_code(unit_type: str, venue: str, origin: str | None) -> str:
    """Return a book's code: the unit type on its origin's venue, else `<unit>@<venue>`."""
    return unit_type if origin in (None, venue) else f"{unit_type}@{venue}"


def _read_fx(
    root: Table,
    currency: str,
    registries: list[ScenarioRegistry],
    instruments: list[ScenarioInstrument],
) -> FxTable:
    data = root.get("fx", dict, None)
    rates: list[FxRate] = []
    if data is not None:
        table = Table(root.path, "fx", data)
        keys = sorted(data)
        if len(keys) > FX_RATES_MAX:
            raise ConfigError(table.path, "fx", f"at most {FX_RATES_MAX} rates")
        for key in keys:
            match = _FX_KEY_RE.fullmatch(key)
            if match is None or match[1] == match[2]:
                raise ConfigError(
                    table.path,
                    table.key_path(key),
                    "expected a key like KRW_per_CNY naming two different currencies",
                )
            for code in (match[1], match[2]):
                if code not in CURRENCY_MINOR_DIGITS:
                    raise ConfigError(
                        table.path,
                        table.key_path(key),
                        f"expected currencies of {', '.join(sorted(CURRENCY_MINOR_DIGITS))}, "
                        f"found {code}",
                    )
            rate = _fraction(table, key, _REQUIRED, Fraction(0), FX_RATE_MAX)
            if rate == 0:
                raise ConfigError(table.path, table.key_path(key), "expected a rate above 0")
            rates.append(FxRate(match[1], match[2], rate))
        table.done()
    fx = FxTable(tuple(rates))
    used = [(f"{r.code} currency", r.currency) for r in registries]
    used += [(f"instrument {i.instrument.code}", i.instrument.currency) for i in instruments]
    for what, code in used:
        if fx.rate(currency, code) is None:
            raise ConfigError(
                root.path,
                "fx",
                f"no chain of rates converts {code} ({what}) into the scenario currency "
                f"{currency}; add e.g. {code}_per_{currency}",
            )
    return fx


# ---------------------------------------------------------------- agents and faults


def _read_agents(
    root: Table, codes: set[str], instruments: list[ScenarioInstrument]
) -> list[Agent]:
    agents: list[Agent] = []
    participants: set[str] = set()
    for table in _entries(root, "agents", AGENTS_MAX):
        kind = table.get("kind", str)
        if kind not in _AGENT_KEYS:
            raise ConfigError(
                table.path,
                table.key_path("kind"),
                f"expected one of {', '.join(sorted(_AGENT_KEYS))}, found {kind!r}",
            )
        table.refuse_unknown(_AGENT_KEYS[kind])
        agent = _read_agent(table, kind, codes, instruments)
        if isinstance(agent, FirmsAgents) and any(isinstance(a, FirmsAgents) for a in agents):
            raise ConfigError(table.path, table.key_path("kind"), "only one 'firms' entry")
        if isinstance(agent, CsvAgent | InteractiveAgent):
            if agent.participant in participants:
                raise ConfigError(
                    table.path,
                    table.key_path("participant"),
                    f"duplicate participant {agent.participant!r}",
                )
            participants.add(agent.participant)
        table.done()
        agents.append(agent)
    if not agents:
        raise ConfigError(root.path, "agents", "expected at least one [[agents]] table")
    return agents


def _read_agent(
    table: Table, kind: str, codes: set[str], instruments: list[ScenarioInstrument]
) -> Agent:
    if kind == "firms":
        share = _fraction(table, "surrender_failure_share", Fraction(0), Fraction(0), 1)
        return FirmsAgents(share)
    if kind in ("zi-c", "zi-u"):
        instrument = _listed(table, "instrument", table.get("instrument", str), instruments)
        low = table.whole("value_min_minor", 1, MONEY_MINOR_MAX)
        return ZicAgents(
            count=table.whole("count", 1, ZIC_COUNT_MAX),
            instrument=instrument,
            value_min_minor=low,
            value_max_minor=table.whole("value_max_minor", low, MONEY_MINOR_MAX),
            constrained=kind == "zi-c",
            value_band=_fraction(table, "value_band", None, Fraction(0), Fraction(1)),
        )
    if kind == "dealers":
        return _read_dealers(table, instruments)
    participant = _matching(table, "participant", _ID_RE, "an id of letters, digits, '-'")
    file = Path()
    if kind == "csv":
        name = table.get("path", str)
        file = _root_dir(table) / name
        if not file.is_file():
            raise ConfigError(
                table.path,
                table.key_path("path"),
                f"order schedule {name!r} not found (looked for {file}; "
                "paths are relative to the scenario file)",
            )
    registry = table.get("registry", str)
    if registry not in codes:
        raise ConfigError(
            table.path,
            table.key_path("registry"),
            f"expected a declared registry ({', '.join(sorted(codes))}), found {registry!r}",
        )
    cash_minor = table.whole("cash_minor", 0, MONEY_MINOR_MAX, 0)
    allowances_t = table.whole("allowances_t", 0, BASELINE_T_MAX, 0)
    if kind == "csv":
        return CsvAgent(participant, file, registry, cash_minor, allowances_t)
    return InteractiveAgent(participant, registry, cash_minor, allowances_t)


def _listed(table: Table, key: str, code: str, instruments: list[ScenarioInstrument]) -> str:
    codes = sorted(item.code for item in instruments)
    if code not in codes:
        raise ConfigError(
            table.path,
            table.key_path(key),
            f"expected a listed book ({', '.join(codes) or 'none listed'}), found {code!r}",
        )
    return code


def _read_dealers(table: Table, instruments: list[ScenarioInstrument]) -> DealerAgents:
    listed = [item.code for item in instruments]
    books = table.get("books", list, listed)
    if not books or len(books) > INSTRUMENTS_MAX or len(set(books)) != len(books):
        raise ConfigError(
            table.path, table.key_path("books"), "expected a list of distinct listed books"
        )
    for index, code in enumerate(books):
        if not isinstance(code, str):
            raise ConfigError(table.path, f"{table.key_path('books')}[{index}]", "expected text")
        _listed(table, "books", code, instruments)
    spread = _fraction(table, "spread", Fraction(1, 100), Fraction(0), Fraction(1, 2))
    if spread == 0:
        raise ConfigError(table.path, table.key_path("spread"), "expected a spread above 0")
    return DealerAgents(
        count=table.whole("count", 1, DEALER_COUNT_MAX),
        books=tuple(books),
        spread=spread,
        quote_lots=table.whole("quote_lots", 1, QUOTE_LOTS_MAX, 1),
        inventory_t_max=table.whole("inventory_t_max", 1, BASELINE_T_MAX),
        capital_minor=table.whole("capital_minor", 1, MONEY_MINOR_MAX),
    )


def _read_faults(table: Table) -> Faults:
    table.refuse_unknown(_FAULT_KEYS)
    faults = Faults(
        drop=_fraction(table, "drop", Fraction(0), Fraction(0), Fraction(1)),
        duplicate=_fraction(table, "duplicate", Fraction(0), Fraction(0), Fraction(1)),
        delay=_fraction(table, "delay", Fraction(0), Fraction(0), Fraction(1)),
        delay_days_max=table.whole("delay_days_max", 1, DELAY_DAYS_MAX, 1),
    )
    table.done()
    return faults


def _read_exits(root: Table, codes: set[str], calendar: ScenarioCalendar) -> list[ProgrammeExit]:
    """Read `[[exits]]`: each a declared registry's programme exit inside the run, one each."""
    exits: list[ProgrammeExit] = []
    last_day = date(calendar.start.year + calendar.years - 1, 12, 31)
    for table in _entries(root, "exits", REGISTRIES_MAX):
        table.refuse_unknown(_EXIT_KEYS)
        code = table.get("registry", str)
        if code not in codes:
            raise ConfigError(
                table.path,
                table.key_path("registry"),
                f"expected a declared registry ({', '.join(sorted(codes))}), found {code!r}",
            )
        if any(item.registry == code for item in exits):
            raise ConfigError(
                table.path, table.key_path("registry"), f"{code} already has an exit; one each"
            )
        day = table.get("date", date)
        if isinstance(day, datetime) or not calendar.start <= day <= last_day:
            raise ConfigError(
                table.path,
                table.key_path("date"),
                f"expected a date (not a date-time) inside the run, {calendar.start} to "
                f"{last_day}, found {day}",
            )
        exits.append(
            ProgrammeExit(
                registry=code,
                day=day,
                units=table.choice("units", {fate.value: fate for fate in UnitFate}),
                open_period=table.choice(
                    "open_period", {rule.value: rule for rule in OpenPeriodRule}
                ),
            )
        )
        table.done()
    return exits


# ---------------------------------------------------------------- readers


def _section(parent: Table, key: str) -> Table:
    table = parent.table(key)
    assert table is not None, "a required table is never None"
    return table


def _entries(table: Table, key: str, most: int) -> list[Table]:
    entries = table.tables(key)
    if len(entries) > most:
        raise ConfigError(
            table.path, table.key_path(key), f"at most {most} entries, found {len(entries)}"
        )
    return entries


def _matching(table: Table, key: str, pattern: re.Pattern[str], expected: str) -> str:
    text = table.get(key, str)
    if not pattern.fullmatch(text):
        raise ConfigError(table.path, table.key_path(key), f"expected {expected}, found {text!r}")
    return text


def _currency(table: Table, key: str) -> str:
    code = table.get(key, str)
    if code not in CURRENCY_MINOR_DIGITS:
        raise ConfigError(
            table.path,
            table.key_path(key),
            f"expected one of {', '.join(sorted(CURRENCY_MINOR_DIGITS))}, found {code!r}",
        )
    return code


def _parse_fraction(table: Table, key: str) -> Fraction:
    return parse_exact(table.path, table.key_path(key), table.get(key, str))


def _fraction(
    table: Table,
    key: str,
    default: object,
    low: Fraction | int,
    high: Fraction | int,
) -> Any:
    """Return `key`, a string like "0.05" or "1/20", as a Fraction in [low, high]."""
    if not table.has(key) and default is not _REQUIRED:
        table.get(key, str, None)  # mark as read
        return default
    value = _parse_fraction(table, key)
    if not low <= value <= high:
        raise ConfigError(table.path, table.key_path(key), f"expected {low}..{high}, found {value}")
    return value


def _growth(table: Table, key: str) -> Fraction:
    """Return a yearly growth rate in (-1, 1]: "0.02" is +2% a year, "-0.01" is -1%."""
    value = _parse_fraction(table, key)
    if not -1 < value <= 1:
        raise ConfigError(
            table.path, table.key_path(key), f"expected a yearly rate in (-1, 1], found {value}"
        )
    return value
