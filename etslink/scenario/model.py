"""The values a scenario file describes: a tree of frozen dataclasses, checked by the loader.

Registries carry their preset's regime with the scenario's overrides applied; entities
carry their marginal abatement cost curve as an `etslink.economics` curve (the one MAC
model the agents and reports use too).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import date
from enum import Enum
from fractions import Fraction
from pathlib import Path

from compliance.presets import CURRENCY_MINOR_DIGITS
from compliance.regime import Regime
from etslink.economics import MacCurve
from exchange.book import Instrument
from gateway.links import Link


@dataclass(frozen=True, slots=True)
class ScenarioCalendar:
    """Simulated time: `years` years from `start`, each of `trading_days_per_year` sessions.

    With `business_days` (the default) sessions fall on days that are business days in
    every registry of the scenario (`compliance.business_days`); without, on evenly
    spaced calendar days.
    """

    start: date
    years: int
    trading_days_per_year: int
    business_days: bool = True


@dataclass(frozen=True, slots=True)
class Allocation:
    """Free allocation: a share of baseline, or the preset's rules (`rule`: a category)."""

    share: Fraction | None = None
    rule: str | None = None  # "preset" or a category of the preset's [[allocation]] rules

    def __post_init__(self) -> None:
        assert (self.share is None) != (self.rule is None), self


@dataclass(frozen=True, slots=True)
class ProductOutput:
    """One product of an entity: its output in the run's first year, in the benchmark's unit.

    Output grows with the entity's `growth`, as its emissions do. `reference_output` is
    the reference year's output an intensity benchmark pre-allocates on (China: 2018);
    `benchmark_t_per_unit` None takes the preset rule's benchmark for the product.
    """

    product: str
    output: int
    reference_output: int | None = None
    benchmark_t_per_unit: Fraction | None = None


@dataclass(frozen=True, slots=True)
class AllocationData:
    """What the preset's allocation methods need to know about an entity (None: not given).

    Grandparenting needs `historic_emissions_t`; the base-year formula (Tokyo, Saitama)
    `base_year_emissions_t`; benchmarks `products` (with `reference_output` for China's
    intensity benchmark). The loader refuses an entity whose regime needs data it lacks.
    """

    historic_emissions_t: int | None = None
    base_year_emissions_t: int | None = None
    products: tuple[ProductOutput, ...] = ()


@dataclass(frozen=True, slots=True)
class Entity:
    """A covered entity: first-year emissions, yearly growth, allocation and MAC curve."""

    entity_id: str
    sector: str
    baseline_t: int
    growth: Fraction  # per year, compounding; negative for declining emissions
    allocation: Allocation
    mac: MacCurve
    data: AllocationData = AllocationData()


@dataclass(frozen=True, slots=True)
class EntityGenerator:
    """How `[registry.generate]` made entities; kept so a report can say so."""

    count: int
    sector_mix: tuple[tuple[str, Fraction], ...]
    baseline_min_t: int
    baseline_max_t: int
    growth: Fraction
    allocation: Allocation
    mac_slope_min_minor_per_t: Fraction
    mac_slope_max_minor_per_t: Fraction
    mac_intercept_minor: int
    data: GeneratedData | None = None


@dataclass(frozen=True, slots=True)
class GeneratedData:
    """How a generator derives each entity's allocation data from its drawn baseline.

    Historic and base-year emissions are a share of the baseline; a product's output is
    the baseline over `emissions_per_unit` (t per unit), and its reference output a share
    of that output. Each figure rounds down.
    """

    historic_emissions_share: Fraction | None = None
    base_year_emissions_share: Fraction | None = None
    product: str | None = None
    emissions_per_unit: Fraction | None = None
    reference_output_share: Fraction | None = None
    benchmark_t_per_unit: Fraction | None = None


@dataclass(frozen=True, slots=True)
class Overrides:
    """The few preset values a scenario may change (docs/scenarios.md says how each applies)."""

    cap_scale: Fraction = Fraction(1)
    offset_cap: Fraction | None = None
    price_floor_minor: int | None = None
    price_ceiling_minor: int | None = None
    penalty_per_t_minor: int | None = None


@dataclass(frozen=True, slots=True)
class AuctionPlan:
    """The registry's scheduled auctions (docs/scenarios.md, `[registry.auctions]`).

    `share` of each year's cap is auctioned (the rest is allocated free); None takes the
    preset's `auction_share` for the year. `reserve_price_minor` None takes the preset's
    price floor for the year (escalated), or 1 without one.
    """

    share: Fraction | None = None
    per_year: int = 4
    reserve_price_minor: int | None = None
    bidder_share_max: Fraction | None = None
    unsold: str = "keep"  # "keep" for a later auction, or "cancel"


@dataclass(frozen=True, slots=True)
class ReservePlan:
    """The government's reserve: units held back for ceiling sales and trigger releases."""

    size_t: int


@dataclass(frozen=True, slots=True)
class ScenarioRegistry:
    """One registry: its code, the preset's regime with the overrides applied, and entities.

    `regime` is the preset's with `overrides` applied (`apply_overrides`); `overrides`
    keeps what the scenario changed, and `cap_scale` is applied by the run.
    """

    code: str
    preset: str
    regime: Regime
    currency: str
    overrides: Overrides
    entities: tuple[Entity, ...]
    generator: EntityGenerator | None = None
    auctions: AuctionPlan | None = None
    reserve: ReservePlan | None = None


@dataclass(frozen=True, slots=True)
class ScenarioInstrument:
    """An exchange book: its instrument and the registry whose custody holds its units.

    The book's code is the unit type on the unit's own registry's venue ("EUA" on the EU's)
    and `<unit type>@<registry>` on another registry's venue ("EUA@CH": EU allowances
    traded in francs, held in custody in the Swiss registry).
    """

    registry: str
    instrument: Instrument
    unit_type: str = ""

    @property
    def code(self) -> str:
        return self.instrument.code

    @property
    def unit(self) -> str:
        return self.unit_type or self.instrument.code


@dataclass(frozen=True, slots=True)
class FxRate:
    """One `quote` major unit is worth `rate` `base` major units (`KRW_per_CNY = "190"`)."""

    base: str
    quote: str
    rate: Fraction


@dataclass(frozen=True, slots=True)
class FxTable:
    """Exchange rates between currencies; conversion follows the shortest chain of rates."""

    rates: tuple[FxRate, ...]

    def rate(self, into: str, out_of: str) -> Fraction | None:
        """Return how many `into` major units one `out_of` is worth, None if unreachable."""
        edges: dict[str, list[tuple[str, Fraction]]] = {}
        for fx in self.rates:
            edges.setdefault(fx.quote, []).append((fx.base, fx.rate))
            edges.setdefault(fx.base, []).append((fx.quote, 1 / fx.rate))
        found = {out_of: Fraction(1)}
        queue = deque([out_of])
        while queue:
            here = queue.popleft()
            for there, factor in edges.get(here, []):
                if there not in found:
                    found[there] = found[here] * factor
                    queue.append(there)
        return found.get(into)

    def minor_factor(self, out_of: str, into: str) -> Fraction:
        """Return what one minor unit of `out_of` is worth in minor units of `into`.

        The loader checks that every currency a scenario uses converts; asking for one
        that does not is a programming error.
        """
        if out_of == into:
            return Fraction(1)
        rate = self.rate(into, out_of)
        assert rate is not None, f"no rate {out_of} → {into} (the loader checks)"
        digits = CURRENCY_MINOR_DIGITS[into] - CURRENCY_MINOR_DIGITS[out_of]
        return rate * Fraction(10) ** digits


@dataclass(frozen=True, slots=True)
class FirmsAgents:
    """Every covered entity trades for itself; a share of them misses its deadlines."""

    surrender_failure_share: Fraction = Fraction(0)


@dataclass(frozen=True, slots=True)
class ZicAgents:
    """Gode & Sunder's zero-intelligence traders on one book.

    Constrained (ZI-C, `kind` "zi-c") traders never bid above their private value or ask
    below it; unconstrained ones (ZI-U, "zi-u") bid and ask anywhere in
    [1, value_max_minor], to show what the budget constraint does. Without `value_band`
    each trader draws a private value in [value_min_minor, value_max_minor] each year (Gode
    & Sunder's induced values); with it, each session's value is the book's reference
    price × (1 ± a uniform share up to `value_band`) and it offers within twice the band of
    that price — noise traders whose valuations follow the market
    (`etslink.sim.agents.zi_trader`).
    """

    count: int
    instrument: str  # a book's code
    value_min_minor: int
    value_max_minor: int
    constrained: bool = True
    value_band: Fraction | None = None  # values drawn around the market price, ± this share


@dataclass(frozen=True, slots=True)
class DealerAgents:
    """Market makers on a set of books, arbitraging the same unit across linked venues.

    Each dealer quotes `quote_lots` lots each side of its fair value, `spread` apart (a
    share of the price), holds at most `inventory_t_max` tonnes per book, and starts with
    `capital_minor` (scenario currency) in each currency it trades in.
    """

    count: int
    books: tuple[str, ...]
    spread: Fraction
    quote_lots: int
    inventory_t_max: int
    capital_minor: int


@dataclass(frozen=True, slots=True)
class CsvAgent:
    """A participant whose orders come from a CSV schedule; its account is in `registry`."""

    participant: str
    path: Path
    registry: str
    cash_minor: int = 0  # in the registry's currency, given at the start
    allowances_t: int = 0  # the registry's allowances of the first year, given at the start


@dataclass(frozen=True, slots=True)
class InteractiveAgent:
    """A participant who types orders at a prompt between rounds."""

    participant: str
    registry: str
    cash_minor: int = 0
    allowances_t: int = 0


Agent = FirmsAgents | ZicAgents | DealerAgents | CsvAgent | InteractiveAgent


@dataclass(frozen=True, slots=True)
class Faults:
    """Chances, per message, that the gateway drops, duplicates or delays it (drills)."""

    drop: Fraction = Fraction(0)
    duplicate: Fraction = Fraction(0)
    delay: Fraction = Fraction(0)
    delay_days_max: int = 1


class UnitFate(Enum):
    """What becomes of the units held in a registry when its programme ends."""

    CANCELLED = "cancelled"  # moved to the registry's cancellation account (Ontario 2018)
    FROZEN = "frozen"  # held, but no longer transferable or tradable (the registry suspended)
    DOMESTIC = "domestic"  # the links are gone; its own book keeps trading at home


class OpenPeriodRule(Enum):
    """How the compliance period open at a programme's exit is closed."""

    SETTLE_TO_DATE = "settle_to_date"  # it ends at the exit, settled on emissions to then
    WAIVE = "waive"  # its obligation lapses: settled with no outcome


@dataclass(frozen=True, slots=True)
class ProgrammeExit:
    """A registry's programme ends on `day` (00:00 UTC): its links terminate, its
    government stops auctioning and allocating, its units meet `units`, and its open
    compliance period is closed by `open_period`."""

    registry: str
    day: date
    units: UnitFate
    open_period: OpenPeriodRule


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole scenario file, checked across sections."""

    path: Path
    name: str
    narrative: str
    seed: int
    currency: str
    calendar: ScenarioCalendar
    registries: tuple[ScenarioRegistry, ...]
    link_files: tuple[Path, ...]
    links: tuple[Link, ...]
    instruments: tuple[ScenarioInstrument, ...]
    fx: FxTable
    agents: tuple[Agent, ...]
    faults: Faults | None = None
    interest_rate: Fraction = Fraction(5, 100)
    exits: tuple[ProgrammeExit, ...] = ()  # at most one per registry

    def book(self, code: str) -> ScenarioInstrument:
        for item in self.instruments:
            if item.code == code:
                return item
        raise KeyError(code)

    def registry(self, code: str) -> ScenarioRegistry:
        for registry in self.registries:
            if registry.code == code:
                return registry
        raise KeyError(code)

    def exit_of(self, code: str) -> ProgrammeExit | None:
        """Return registry `code`'s programme exit, None when it runs to the end."""
        return next((item for item in self.exits if item.registry == code), None)
