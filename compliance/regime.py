"""A `Regime`: one system's compliance rules as data.

Everything a trainer would quote — coverage thresholds, the GWP set, the
calendar, allocation methods, eligible units, offset caps, banking and
borrowing, penalties, market-stability rules — lives here, loaded from a
preset in `fixtures/jurisdictions/` (see `compliance.presets`). Shares are
`Fraction`s, money is integer minor units of the regime's currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from compliance.business_days import TradingCalendar
from compliance.calendar import Calendar
from compliance.gases import Gas
from registry.units import UnitKind


class CapType(StrEnum):
    """Absolute caps (Korea, Japan, EU) or intensity-based (China's performance standard)."""

    ABSOLUTE = "absolute"
    INTENSITY = "intensity"


class AllocationMethod(StrEnum):
    GRANDPARENTING = "grandparenting"  # historic emissions × factor
    BENCHMARK = "benchmark"  # output × product benchmark
    INTENSITY_BENCHMARK = "intensity_benchmark"  # China: pre-allocation, then ex-post true-up
    BASE_YEAR = "base_year"  # Tokyo/Saitama: base-year emissions × (1 − factor) × years


class UnitOrigin(StrEnum):
    """Where a unit comes from, relative to the regime's registry."""

    DOMESTIC = "domestic"
    INTERNATIONAL = "international"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Coverage:
    """Who is covered and for what: thresholds, gases, and indirect emissions.

    A threshold of None does not apply. `strict` thresholds require emissions
    above the figure (Kazakhstan: > 20,000 t), others at or above it.
    """

    gases: frozenset[Gas]
    indirect_emissions: bool
    entity_threshold_t: int | None = None
    installation_threshold_t: int | None = None
    energy_threshold_kl_coe: int | None = None  # kilolitres of crude-oil equivalent (Tokyo)
    strict: bool = False

    def covers(
        self,
        entity_t: int | None = None,
        installation_t: int | None = None,
        energy_kl_coe: int | None = None,
    ) -> bool:
        """Return whether any threshold the regime sets is reached."""
        checks = (
            (self.entity_threshold_t, entity_t),
            (self.installation_threshold_t, installation_t),
            (self.energy_threshold_kl_coe, energy_kl_coe),
        )
        for threshold, value in checks:
            if threshold is None or value is None:
                continue
            if value > threshold or (not self.strict and value == threshold):
                return True
        return False


@dataclass(frozen=True, slots=True)
class AllocationRule:
    """How free allocation works in the years `first_year`..`last_year`.

    `category` names the facilities the rule is for ("" = all): Tokyo sets a
    higher (8%) or lower (6%) compliance factor by facility type, Kazakhstan
    (2018-20) let each operator choose grandparenting or benchmarking.
    """

    method: AllocationMethod
    first_year: int
    last_year: int
    grandparenting_factor: Fraction = Fraction(1)
    preallocation_share: Fraction = Fraction(0)  # China: 70% of the reference year
    compliance_factor: Fraction = Fraction(0)  # Tokyo: the reduction off base-year emissions
    auction_share: Fraction = Fraction(0)  # Korea: >= 3% in phase 2, >= 10% in phase 3
    new_entrant_reserve_share: Fraction = Fraction(0)
    category: str = ""
    # (product, t CO2 per unit of output) for the benchmark methods: China's power
    # benchmarks, 0.877 t/MWh for conventional coal units above 300 MW (ICAP news 731)
    benchmarks: tuple[tuple[str, Fraction], ...] = ()

    def applies(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year

    def benchmark_for(self, product: str) -> Fraction | None:
        """Return the rule's benchmark for `product` in t per unit, None if it sets none."""
        return dict(self.benchmarks).get(product)


@dataclass(frozen=True, slots=True)
class QuantitativeLimit:
    """A cap on what share of an obligation certain units may cover.

    E.g. China CCER <= 5%, California offsets <= 8% (to 2020), 4% (2021-25),
    6% (from 2026), Korea international offsets <= 5% in phase 2. The share
    is of the entity's obligation (verified emissions) for the period.
    """

    name: str
    share: Fraction
    unit_kinds: frozenset[UnitKind]
    origin: UnitOrigin = UnitOrigin.ANY
    first_year: int = 0
    last_year: int = 9999

    def applies(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year


@dataclass(frozen=True, slots=True)
class SurrenderRules:
    """What may be surrendered: unit types, vintages, origins, and the caps."""

    eligible_unit_types: frozenset[str]
    foreign_units_via_links: bool = False
    ineligible_origins: frozenset[str] = frozenset()
    banking: bool = True
    banking_across_phases: bool = True
    borrowing_share_max: Fraction = Fraction(0)  # of the period's obligation, from next vintage
    limits: tuple[QuantitativeLimit, ...] = ()
    # (unit type, origin registry) of eligible types not issued by the regime's own
    # registry: Australia's Kyoto units come from the Kyoto registries ("UN").
    unit_origins: tuple[tuple[str, str], ...] = ()

    def origin_of_type(self, code: str, registry_code: str) -> str:
        """Return the registry an eligible type's units come from (default `registry_code`)."""
        return dict(self.unit_origins).get(code, registry_code)


class PenaltyKind(StrEnum):
    FIXED_PER_TONNE = "fixed_per_tonne"  # EU: EUR 100/t
    MARKET_PRICE_MULTIPLE = "market_price_multiple"  # Korea: <= 3x average price, <= KRW 100,000/t
    ADDED_OBLIGATION = "added_obligation"  # California: 4x the shortfall, >= 3/4 allowances
    NONE = "none"  # only make-good (or nothing) applies


@dataclass(frozen=True, slots=True)
class PenaltyRule:
    """What a shortfall at the deadline costs.

    `make_good` carries the shortfall into the next period's obligation (EU:
    the missing allowances are still owed). Money is in minor units per tonne.
    """

    kind: PenaltyKind
    make_good: bool
    fixed_per_t_minor: int = 0
    price_multiple: Fraction = Fraction(0)
    price_window_months: int = 12
    cap_per_t_minor: int | None = None
    obligation_multiple: Fraction = Fraction(0)
    allowance_share_min: Fraction = Fraction(0)


class EstimateRule(StrEnum):
    """How a missing or unverified report is replaced at the deadline (conservatively)."""

    HIGHEST_OF_PREVIOUS_YEARS = "highest_of_previous_years"
    LAST_VERIFIED_PLUS_UPLIFT = "last_verified_plus_uplift"


@dataclass(frozen=True, slots=True)
class ConservativeEstimate:
    """The rule for a missing or unverified report; `fallback_t` when there is nothing to
    base it on (no report, no history). None: the deadline waits for a figure, it is never
    skipped."""

    rule: EstimateRule
    years: int = 3
    uplift: Fraction = Fraction(0)
    fallback_t: int | None = None


class AuctionReserve(StrEnum):
    """How a regime sets the reserve (minimum) price of its allowance auctions."""

    FLOOR = "floor"  # the escalating price floor (the WCI's auction reserve price)
    RECENT_MARKET = "recent_market"  # from recent secondary prices (Korea)


@dataclass(frozen=True, slots=True)
class StabilityRules:
    """Price floor, ceiling and reserve-release triggers, in minor units per tonne.

    Korea's trigger: the monthly price for `trigger_months` consecutive months
    at or above `trigger_multiple` × the average of the previous
    `trigger_lookback_years` years. The floor escalates from `base_year`; the
    ceiling from `price_ceiling_base_year`, or `base_year` when that is None
    (the WCI floor starts in 2012, its ceiling in 2021).
    """

    price_floor_minor: int | None = None
    price_floor_escalation: Fraction = Fraction(0)  # yearly, e.g. 5% (+ inflation) in the WCI
    price_ceiling_minor: int | None = None
    price_ceiling_escalation: Fraction = Fraction(0)
    base_year: int | None = None
    price_ceiling_base_year: int | None = None
    trigger_months: int | None = None
    trigger_multiple: Fraction | None = None
    trigger_lookback_years: int | None = None
    reserve_release_share_max: Fraction = Fraction(0)
    auction_reserve: AuctionReserve = AuctionReserve.FLOOR
    # An auction clearing below (1 - this) x the secondary price is cancelled (EU: Reg.
    # 1031/2010 Art. 7(6); the platform's threshold is not published). None: never.
    auction_cancellation_discount: Fraction | None = None


@dataclass(frozen=True, slots=True)
class Regime:
    """One system's rules. `unverified` lists the keys whose values are not confirmed."""

    key: str
    name: str
    registry_code: str
    currency: str
    cap_type: CapType
    gwp_set: str
    coverage: Coverage
    calendar: Calendar
    allocation: tuple[AllocationRule, ...]
    surrender: SurrenderRules
    penalty: PenaltyRule
    estimate: ConservativeEstimate
    stability: StabilityRules = field(default_factory=StabilityRules)
    # Whose public holidays its sessions and auctions avoid, and when it auctions.
    trading: TradingCalendar = field(default_factory=TradingCalendar)
    # The allowance this system allocates and auctions (KAU, CEA, EUA, ...).
    allowance_unit_type: str = ""
    unverified: tuple[str, ...] = ()
    notes: str = ""

    def allocation_rule(self, year: int, category: str = "") -> AllocationRule | None:
        """Return the rule for `year` and facility `category` ("" where the regime has none)."""
        return next(
            (rule for rule in self.allocation if rule.applies(year) and rule.category == category),
            None,
        )

    def limits_for(self, year: int) -> tuple[QuantitativeLimit, ...]:
        return tuple(limit for limit in self.surrender.limits if limit.applies(year))
