"""The run loop: a scenario's world driven day by day, year by year.

`run_scenario(scenario, out_dir)` builds the world (`etslink.sim.world`), then for
each calendar year allocates; on every trading day the governments hold their
auctions and offer their reserves at the price ceiling (`etslink.sim.agents.government`),
human participants place their orders (`etslink.sim.participants`), firms and ZI-C
traders trade, and trades settle at each day's end; each month's prices go to
the price controls; at the year's end firms report, are verified, surrender and
borrow; compliance deadlines fire as simulated time passes them. The reports
(`etslink.reports.summary`: summary.json and the CSVs; `etslink.reports.equilibrium`;
`etslink.reports.charts`) are written from the finished run. The same scenario and seed
give the same bytes: one `random.Random` per run seeded from the scenario's seed,
sorted iteration, no wall clock.

Choices made here (each documented in the report and docs):

- **Trading days.** Day k of n in a year falls at `DAY_HOUR` UTC on
  Jan 1 (or the scenario's start, in its first year) + floor(k × days left in the
  year / n) days. Orders are day orders: whatever
  still rests at the end of a day is cancelled. Agents act in an order
  shuffled by the run's random state. Settlement runs at each midnight
  (`Exchange.advance`).
- **Allocation.** `allocation_share` × forecast emissions (round down), where
  forecast = baseline × (1 + growth)^(years since the start). An
  `allocation_rule` (a preset category or "preset") uses the preset's
  grandparenting factor × forecast when the rule for the year is
  grandparenting, else `FREE_SHARE_DEFAULT` (90%) × forecast: the presets
  carry no output or benchmark data to apply a benchmark. Where the preset's
  rule auctions a share of the cap (Korea: 10% in phase 3), the free part is the
  rest: × (1 − auction share), and the government auctions that share.
- **Firms.** A firm's position is the eligible allowances in its compliance
  account plus its claim in the exchange's custody. Facing reference price p
  (the instrument's last trade, moved to a better bid or ask on the book), it
  plans abatement a(p) = MAC⁻¹(p) and targets holding forecast − a(p); before
  any price shows, a(p) = 0. It trades a quarter of its gap a day (at least one
  lot), at its true reservation price for the chunk's last tonne (need =
  forecast − position): short, it bids MAC(need − quantity), the abatement that
  tonne saves; long, it offers at MAC(max(0, need + quantity)), the abatement
  selling that tonne makes necessary (at least one tick). Prices are capped at
  its penalty price (`penalty_price_minor`), which is also used past the curve's
  end. Truthful limits on both sides let the double auction find the
  competitive price, as Gode & Sunder's ZI-C traders do (an earlier rule, asks at
  MAC(a(p)), let prices only ratchet up: the EU–Switzerland run's allocative
  efficiency rose from 68% to 93% with this one). It buys on the cheapest
  instrument it may surrender (home allowance, or a linked registry's
  allowance when its regime accepts foreign units via links), converted at
  the scenario's rates; it sells only its home allowance.
- **Cash.** Each firm gets, once, `forecast × penalty price` in each currency
  it may buy in; each ZI-C trader `ZIC_HOLD_LOTS_MAX × lot × value_max`.
- **ZI-C traders** (agents.py) draw a private value uniformly in
  [value_min, value_max] each year. Each day, when they hold fewer than
  `ZIC_HOLD_LOTS_MAX` lots, and on a coin flip when they hold some, they bid
  one lot in [1, value] (Gode–Sunder buyer) or ask one lot in
  [value, value_max] (seller) of what they bought earlier.
- **Year end.** Units left in custody go back to the firm (`_withdraw`: the
  exchange has no withdrawal command yet). Abatement (`year_end_abatement_t`)
  = floor(MAC⁻¹(the home market's volume-weighted price of the year)), raised
  to cover what the firm's holdings still lack as long as the MAC stays at or
  below its penalty price, at most the forecast (no trade in the year: the
  last known price; none ever: 0). Emissions = forecast − abatement, reported
  as CO2 and verified by the registry's one accredited verifier, whose key is
  derived from the scenario seed. Each firm
  surrenders what it holds up to emissions + carried shortfall (home
  allowance first); a surrender the rules refuse is retried with the home
  allowance only. The year's average price is recorded for price-multiple
  penalties (a registry whose market never traded records its firms' mean MAC
  at their abatement instead, and says so). Firms named by
  `surrender_failure_share` surrender nothing.
- **Banking and borrowing.** What a firm holds beyond its surrender stays in its
  account for later years (banking; every shipped preset banks). A firm still
  short when its period ends, where the regime lets firms borrow
  (`borrowing_share_max`, Korea 10%), surrenders allowances of the next year's
  vintage for it as soon as they are allocated, before the deadline, up to that
  share of its obligation (`_borrow`).
- **Linked units count.** `build_world` gives each book `linked_valuation`, so
  an allowance that came over a link counts where the regime accepts foreign
  units via links.
- **Deadlines.** Books advance after every trading day, so deadlines fire as
  time passes them. At the end the clock moves past the surrender deadline of
  the last period that ends inside the run; a period running on past the run
  (Tokyo's five years) stays open and is listed under `deadlines_pending`.
"""

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import islice
from pathlib import Path
from typing import Any

from compliance.book import ComplianceBook, SurrenderRequest
from compliance.calendar import DeadlineKind
from compliance.gases import Gas
from compliance.mrv import EmissionsReport, Verifier, sign_verification
from compliance.presets import CURRENCY_MINOR_DIGITS
from compliance.regime import AllocationMethod, PenaltyKind, Regime, UnitOrigin
from compliance.stability import MonthlyPrice
from etslink import economics
from etslink.reports import charts
from etslink.reports import equilibrium as equilibrium_report
from etslink.reports import summary as run_report
from etslink.scenario import (
    CsvAgent,
    Entity,
    FirmsAgents,
    InteractiveAgent,
    Scenario,
    ZicAgents,
)
from etslink.sessions.compliance import KG_PER_T, verifier_key
from etslink.sim.agents.government import AuctionBid, Government
from etslink.sim.agents.zero_intelligence import MarketView, OrderIntent, ZiConstrainedTrader
from etslink.sim.participants import (
    InstrumentQuote,
    InteractiveSession,
    Participant,
    ParticipantOrder,
    RoundStatus,
    load_schedule,
)
from etslink.sim.world import Holder, World, build_world
from exchange.book import EventKind, OrderType, Side
from exchange.errors import RejectCode
from registry import RegistryError, UnitKind

# Scheduled reconciliation in a run: weekly, not at every midnight as `etslink link` does
# (each statement is journaled whole, and a long run's foreign holdings only grow).
RECONCILIATION_INTERVAL = timedelta(days=7)
DAY_HOUR = 10  # trading happens at 10:00 UTC; settlement at the next midnight
FREE_SHARE_DEFAULT = Fraction(9, 10)
PENALTY_PRICE_DEFAULT_MINOR = 10_000_000  # a firm's bid cap when its regime names no fixed price
ZIC_HOLD_LOTS_MAX = 10
ORDERS_PER_DAY_MAX = 100_000
BID_SHARE = Fraction(1, 4)  # the part of its gap a firm bids or offers for each day
# The prices of a firm's auction bids, as shares of the MAC of covering its whole need.
AUCTION_BID_STEPS = (Fraction(4, 5), Fraction(3, 5), Fraction(2, 5), Fraction(1, 5))
SETTLE_DAYS_AFTER_LAST_DEADLINE = 1
VERIFIER_PREFIX = "verifier-"
Progress = Callable[[int, int], None]  # (trading days done, trading days in all)


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class TradeRow:
    day: str
    trade_id: str
    instrument: str
    price_minor: int
    quantity_t: int
    buyer: str
    seller: str
    status: str


@dataclass(frozen=True, slots=True)
class PriceRow:
    day: str
    instrument: str
    trades: int
    volume_t: int
    notional_minor: int
    low_minor: int
    high_minor: int
    close_minor: int


@dataclass(frozen=True, slots=True)
class FirmYear:
    """One firm's year: what it was given, abated, emitted and surrendered."""

    entity_id: str
    registry: str
    year: int
    forecast_t: int
    allocated_t: int
    abatement_t: int
    abatement_cost_minor: Fraction
    emissions_t: int
    surrendered_t: int
    note: str


@dataclass
class RunResult:
    """What a run did, and where its reports are."""

    scenario: str
    out_dir: Path
    summary: dict[str, Any]
    trades: list[TradeRow]
    prices: list[PriceRow]
    firm_years: list[FirmYear]
    files: list[Path] = field(default_factory=list)
    world: World | None = None
    interrupted: bool = False  # Ctrl-C: the reports hold what was done so far
    # The run's store (its journals), removed with this result; None for a given store.
    store: tempfile.TemporaryDirectory[str] | None = None


# ---------------------------------------------------------------- firms


@dataclass
class Firm:
    """A covered entity as an agent: its curve, penalty price and where it trades."""

    entity: Entity
    registry: str
    account: str
    curve: economics.MacCurve
    currency: str
    home: str | None  # its home allowance's instrument, if listed
    buyable: tuple[str, ...]  # instruments it may surrender, home first
    penalty_price_minor: int
    fails_to_surrender: bool
    forecast_t: int = 0

    @property
    def member(self) -> str:
        return self.entity.entity_id


def mac_curve(entity: Entity) -> economics.MacCurve:
    """Return the entity's MAC curve (the scenario carries economics curves)."""
    return entity.mac


def forecast_t(entity: Entity, years_elapsed: int) -> int:
    """Return baseline × (1 + growth)^years, rounded down."""
    assert years_elapsed >= 0, years_elapsed
    return math.floor(entity.baseline_t * (1 + entity.growth) ** years_elapsed)


def allocation_t(entity: Entity, regime: Regime, year: int, forecast: int) -> int:
    """Return the free allocation (the rule in the module docstring), rounded down."""
    allocation = entity.allocation
    if allocation.share is not None:
        return math.floor(allocation.share * forecast)
    category = "" if allocation.rule == "preset" else (allocation.rule or "")
    rule = regime.allocation_rule(year, category)
    # The preset's auction share is a share of the cap: the free part is the rest.
    free = 1 - (rule.auction_share if rule is not None else 0)
    if rule is not None and rule.method is AllocationMethod.GRANDPARENTING:
        return math.floor(rule.grandparenting_factor * free * forecast)
    return math.floor(FREE_SHARE_DEFAULT * free * forecast)


def penalty_price_minor(regime: Regime) -> int:
    """Return the most a firm pays per tonne rather than fall short."""
    penalty = regime.penalty
    if penalty.kind is PenaltyKind.FIXED_PER_TONNE and penalty.fixed_per_t_minor > 0:
        return penalty.fixed_per_t_minor
    if penalty.cap_per_t_minor:
        return penalty.cap_per_t_minor
    return PENALTY_PRICE_DEFAULT_MINOR


def marginal_cost_minor(firm: Firm, abatement_t: int) -> Fraction:
    """Return MAC at `abatement_t`, the penalty price past the curve's end."""
    limit = firm.curve.max_abatement_t
    if abatement_t < 0:
        abatement_t = 0
    if limit is not None and abatement_t > limit:
        return Fraction(firm.penalty_price_minor)
    return min(firm.curve.marginal_cost(abatement_t), Fraction(firm.penalty_price_minor))


def reference_price(
    last_minor: Fraction | None, bid_minor: Fraction | None, ask_minor: Fraction | None
) -> Fraction | None:
    """Return the price a firm plans by: the last trade, moved to a better quote if one shows.

    A bid above it is a price the firm could sell at now; an ask below it one it could
    buy at. With neither a trade nor a quote: None (the firm uses its own MAC).
    """
    price = last_minor
    if bid_minor is not None and (price is None or bid_minor > price):
        price = bid_minor
    if ask_minor is not None and (price is None or ask_minor < price):
        price = ask_minor if price is None or bid_minor is None or ask_minor >= bid_minor else price
    return price


def planned_abatement_t(firm: Firm, price_minor: Fraction | None) -> int:
    """Return what the firm plans to abate at `price_minor`: none before any price shows."""
    if price_minor is None:
        return 0
    return min(math.floor(firm.curve.abatement_at_price(price_minor)), firm.forecast_t)


def firm_intent(
    firm: Firm, position_t: int, free_t: int, price_minor: Fraction | None, lot_t: int
) -> tuple[Side, Fraction, int] | None:
    """Decide one day's order in home-currency terms: (side, limit, quantity) or nothing.

    Pure: the rule in the module docstring; quantities are whole lots.
    """
    need_t = firm.forecast_t - position_t
    planned_t = planned_abatement_t(firm, price_minor)
    gap_t = firm.forecast_t - planned_t - position_t
    if gap_t >= lot_t:
        quantity_t = max(lot_t, math.floor(gap_t * BID_SHARE) // lot_t * lot_t)
        # What the chunk's last tonne is worth: the MAC it saves abating, the rest bought.
        return Side.BUY, marginal_cost_minor(firm, need_t - quantity_t), quantity_t
    if -gap_t >= lot_t and free_t >= lot_t:
        quantity_t = max(lot_t, math.floor(-gap_t * BID_SHARE) // lot_t * lot_t)
        quantity_t = min(quantity_t, free_t // lot_t * lot_t)
        # What the chunk's last tonne costs: the abatement it makes necessary, if any.
        return Side.SELL, marginal_cost_minor(firm, max(0, need_t + quantity_t)), quantity_t
    return None


def foreign_cap_t(regime: Regime, year: int, obligation_t: int) -> int | None:
    """Return the most foreign allowances a surrender may use (AU: 50% of liability), if capped.

    The tightest of the regime's limits for `year` on international allowances, as a share
    of the obligation, rounded down; None when no limit applies.
    """
    shares = [
        limit.share
        for limit in regime.limits_for(year)
        if limit.origin is UnitOrigin.INTERNATIONAL and UnitKind.ALLOWANCE in limit.unit_kinds
    ]
    return None if not shares else math.floor(min(shares) * obligation_t)


def year_end_abatement_t(firm: Firm, price_minor: Fraction | None, position_t: int) -> int:
    """Return the year's abatement: what the price justifies, more to cover if cheaper than a fine.

    a(price) abates every tonne whose MAC is at most the year's average price; then, when
    its holdings still fall short, the firm abates further up to the shortfall while the
    MAC stays at or below its penalty price (a tonne not covered costs the penalty).
    """
    at_price_t = (
        0 if price_minor is None else math.floor(firm.curve.abatement_at_price(price_minor))
    )
    at_penalty_t = math.floor(firm.curve.abatement_at_price(firm.penalty_price_minor))
    to_cover_t = min(max(0, firm.forecast_t - position_t), at_penalty_t)
    return min(max(at_price_t, to_cover_t), firm.forecast_t)


# ---------------------------------------------------------------- ZI-C traders


@dataclass
class Zic:
    member: str
    instrument: str
    account: str
    registry: str
    value_min_minor: int
    value_max_minor: int
    value_minor: int = 0


# ---------------------------------------------------------------- human participants


@dataclass(frozen=True, slots=True)
class Prompt:
    """Where interactive participants read their lines and the run writes to them."""

    read_line: Callable[[str], str]
    write: Callable[[str], None]


@dataclass
class Seat:
    """A human participant's place in the run: who, where, and what to tell them next."""

    participant: Participant
    holder: Holder
    news: list[str] = field(default_factory=list)  # the last round, told at the next
    orders: dict[int, ParticipantOrder] = field(default_factory=dict)  # today's, by id
    left: bool = False


# ---------------------------------------------------------------- the run


class Run:
    """One run's mutable state: the world, the agents, the day's records."""

    def __init__(
        self,
        scenario: Scenario,
        years: int | None,
        days: int | None,
        prompt: Prompt | None = None,
        store_url: str = "sqlite://",
    ) -> None:
        self.scenario = scenario
        # A run's store is scratch (the reports are what it keeps): no fsync at commits.
        self.world = build_world(scenario, store_url, durable=False)
        if self.world.federation is not None:
            self.world.federation.reconciliation_interval = RECONCILIATION_INTERVAL
        self.rng = random.Random(f"{scenario.seed}:run")
        self.years = min(years or scenario.calendar.years, scenario.calendar.years)
        self.days = min(
            days or scenario.calendar.trading_days_per_year, scenario.calendar.trading_days_per_year
        )
        self.instruments = {item.instrument.code: item for item in scenario.instruments}
        self._factors: dict[tuple[str, str], Fraction] = {}  # (from, into) → minor-unit factor
        self.firms = self._make_firms()
        self.zics = self._make_zics()
        self.next_order = 1
        self.last_price: dict[str, int] = {}
        self.trades: list[TradeRow] = []
        self.trade_days: dict[str, str] = {}
        self.prices: list[PriceRow] = []
        self.firm_years: list[FirmYear] = []
        self.refused_orders = 0
        self.governments = self._make_governments()
        self.seats = self._make_seats(prompt)
        self.monthly: dict[str, dict[tuple[int, int], tuple[int, int]]] = {}  # (notional, t)
        self.allocated: dict[tuple[str, int], int] = {}
        self.to_borrow: dict[str, tuple[int, int]] = {}  # member → (period, t still short)
        self.borrowed: dict[tuple[str, int], int] = {}  # (registry, period) → t borrowed
        self.average_prices: dict[tuple[str, int], tuple[int, str]] = {}
        self._accredit_verifiers()
        self._endow_cash()

    # ------------------------------------------------------------ set-up

    def _make_firms(self) -> list[Firm]:
        failing = self._failing_entities()
        firms = []
        for item in self.scenario.registries:
            known = self.world.registries[item.code].ledger.unit_types
            home = next(
                (
                    code
                    for code, listed in sorted(self.instruments.items())
                    if listed.registry == item.code and code == item.regime.allowance_unit_type
                ),
                None,
            )
            foreign = sorted(
                code
                for code, listed in self.instruments.items()
                if listed.registry != item.code
                and code in known
                and known[code].kind is UnitKind.ALLOWANCE
                and item.regime.surrender.foreign_units_via_links
            )
            buyable = tuple(([home] if home else []) + foreign)
            for entity in sorted(item.entities, key=lambda e: e.entity_id):
                built = self.world.entities[entity.entity_id]
                firms.append(
                    Firm(
                        entity,
                        item.code,
                        built.account_id,
                        mac_curve(entity),
                        item.currency,
                        home,
                        buyable,
                        penalty_price_minor(item.regime),
                        entity.entity_id in failing,
                    )
                )
        return firms

    def _make_governments(self) -> dict[str, Government]:
        governments = {}
        start_year = self.scenario.calendar.start.year
        for item in self.scenario.registries:
            listed = self.instruments.get(item.regime.allowance_unit_type)
            instrument = (
                listed.instrument if listed is not None and listed.registry == item.code else None
            )
            government = Government(item, self.world.governments[item.code], instrument)
            government.issue_reserve(self.world, start_year)
            governments[item.code] = government
        return governments

    def _make_seats(self, prompt: Prompt | None) -> list[Seat]:
        """Load each participant's schedule or open its prompt; give it its endowment."""
        seats = []
        listed = sorted(self.instruments)
        rounds = self.scenario.calendar.years * self.scenario.calendar.trading_days_per_year
        for agent in self.scenario.agents:
            participant: Participant
            if isinstance(agent, CsvAgent):
                schedule = load_schedule(agent.path, agent.participant)
                schedule.check_instruments(listed)
                schedule.check_rounds(rounds)
                participant = schedule
            elif isinstance(agent, InteractiveAgent):
                if prompt is None:
                    raise ValueError(
                        f"participant {agent.participant} types orders at a prompt: run the "
                        "scenario with `etslink run` in a terminal, or make it a csv participant"
                    )
                participant = InteractiveSession(
                    agent.participant, listed, prompt.read_line, prompt.write
                )
            else:
                continue
            holder = self.world.participants[agent.participant]
            self._endow_participant(agent, holder)
            seats.append(Seat(participant, holder))
        return seats

    def _endow_participant(self, agent: CsvAgent | InteractiveAgent, holder: Holder) -> None:
        """Give the participant its cash and first-year allowances, through its government."""
        item = self.scenario.registry(agent.registry)
        if agent.cash_minor:
            self.world.exchange.deposit_cash(holder.member_id, item.currency, agent.cash_minor)
        if agent.allowances_t:
            registry = self.world.registries[agent.registry]
            government = self.world.governments[agent.registry].account_id
            unit_type, year = item.regime.allowance_unit_type, self.scenario.calendar.start.year
            registry.issue(unit_type, year, agent.allowances_t, account=government)
            registry.transfer(government, holder.account_id, unit_type, agent.allowances_t)

    def _failing_entities(self) -> set[str]:
        share = next(
            (a.surrender_failure_share for a in self.scenario.agents if isinstance(a, FirmsAgents)),
            Fraction(0),
        )
        ids = sorted(e.entity_id for r in self.scenario.registries for e in r.entities)
        count = math.floor(share * len(ids))
        return set(random.Random(f"{self.scenario.seed}:failing").sample(ids, count))

    def _make_zics(self) -> list[Zic]:
        specs = [a for a in self.scenario.agents if isinstance(a, ZicAgents)]
        zics = []
        index = 0
        for spec in specs:
            for _ in range(spec.count):
                trader = self.world.zic_traders[index]
                index += 1
                assert trader.instrument == spec.instrument, (trader, spec)
                zics.append(
                    Zic(
                        trader.member_id,
                        trader.instrument,
                        trader.account_id,
                        trader.registry,
                        spec.value_min_minor,
                        spec.value_max_minor,
                    )
                )
        return zics

    def _accredit_verifiers(self) -> None:
        for code, book in sorted(self.world.books.items()):
            verifier_id = f"{VERIFIER_PREFIX}{code}"
            key = verifier_key(f"{self.scenario.seed}", verifier_id)
            book.accredit_verifier(Verifier(verifier_id, f"Verifier of {code}", key.verify_key))

    def _endow_cash(self) -> None:
        exchange = self.world.exchange
        for firm in self.firms:
            first_t = forecast_t(firm.entity, 0)
            for code in firm.buyable:
                currency = self.instruments[code].instrument.currency
                amount = math.ceil(
                    first_t * self._convert(firm.penalty_price_minor, firm.currency, currency)
                )
                if amount > 0:
                    exchange.deposit_cash(firm.member, currency, amount)
        for zic in self.zics:
            listed = self.instruments[zic.instrument].instrument
            amount = ZIC_HOLD_LOTS_MAX * listed.lot_t * zic.value_max_minor
            exchange.deposit_cash(zic.member, listed.currency, amount)

    def _convert(self, amount: int | Fraction, out_of: str, into: str) -> Fraction:
        """Convert minor units of `out_of` into minor units of `into` (rates are in major units)."""
        if out_of == into:
            return Fraction(amount)
        factor = self._factors.get((out_of, into))
        if factor is None:
            rate = self.scenario.fx.rate(into, out_of)  # a shortest-chain search: kept
            assert rate is not None, f"no rate {out_of} → {into} (the loader checks)"
            digits = CURRENCY_MINOR_DIGITS[into] - CURRENCY_MINOR_DIGITS[out_of]
            factor = self._factors[(out_of, into)] = rate * Fraction(10) ** digits
        return amount * factor

    # ------------------------------------------------------------ the years

    def run(self, progress: Progress | None = None) -> None:
        """Run every year; call `progress(days done, days in all)` after each trading day."""
        start_year = self.scenario.calendar.start.year
        total = self.years * self.days
        for index in range(self.years):
            year = start_year + index
            self._allocate(year, index)
            days = self._trading_days(year)
            auction_days = {code: g.auction_days(self.days) for code, g in self.governments.items()}
            for number, day in enumerate(days, start=1):
                self.world.exchange.advance(day)
                self._hold_auctions(day, {c for c, n in auction_days.items() if number in n})
                self._trade_day(day, index * self.days + number)
                self._fire_deadlines()
                if number == len(days) or days[number].month != day.month:
                    self._check_prices(day.year, day.month)
                if progress is not None:
                    progress(index * self.days + number, total)
            year_end = datetime(year + 1, 1, 1, tzinfo=UTC)
            self.world.exchange.advance(year_end)
            self._fire_deadlines()
            self._close_year(year)
        self._finish(start_year + self.years - 1)
        self.world.check_invariants()

    def _trading_days(self, year: int) -> list[datetime]:
        """Return the year's trading days, spread over it from the scenario's start on."""
        opening = max(date(year, 1, 1), self.scenario.calendar.start)
        first = datetime(opening.year, opening.month, opening.day, DAY_HOUR, tzinfo=UTC)
        length = (date(year + 1, 1, 1) - opening).days
        n = self.scenario.calendar.trading_days_per_year
        return [first + timedelta(days=k * length // n) for k in range(self.days)]

    def _allocate(self, year: int, index: int) -> None:
        by_registry: dict[str, dict[str, int]] = {}
        for firm in self.firms:
            regime = self.scenario.registry(firm.registry).regime
            firm.forecast_t = forecast_t(firm.entity, index)
            scale = self.scenario.registry(firm.registry).overrides.cap_scale
            granted = math.floor(scale * allocation_t(firm.entity, regime, year, firm.forecast_t))
            by_registry.setdefault(firm.registry, {})[firm.member] = granted
            self.allocated[(firm.member, year)] = granted
        for code in sorted(by_registry):
            self.world.books[code].allocate(year, by_registry[code])
        for code, government in sorted(self.governments.items()):
            free_t = sum(by_registry.get(code, {}).values())
            government.open_year(self.world, year, free_t, self.days)
        self._borrow(year)
        for zic in self.zics:
            zic.value_minor = self.rng.randint(zic.value_min_minor, zic.value_max_minor)

    def _fire_deadlines(self) -> None:
        for code in sorted(self.world.books):
            self.world.books[code].advance()

    # ------------------------------------------------------------ a trading day

    def _trade_day(self, moment: datetime, round_number: int) -> None:
        exchange = self.world.exchange
        before = len(exchange.trades)
        actors: list[Firm | Zic] = [*self.firms, *self.zics]
        self.rng.shuffle(actors)
        submitted: list[tuple[str, int]] = self._ceiling_offers(moment.year)
        submitted += self._participant_orders(moment, round_number)
        for actor in actors[:ORDERS_PER_DAY_MAX]:
            order = self._firm_order(actor) if isinstance(actor, Firm) else self._zic_order(actor)
            if order is not None:
                submitted.append(order)
        seated = {order_id: seat for seat in self.seats for order_id in seat.orders}
        for instrument, order_id in submitted:
            resting = exchange.engine.book(instrument).order(order_id)
            if resting is not None:
                if order_id in seated:
                    seated[order_id].news.append(
                        f"cancelled at the day's end: {resting[4]:,} t of order "
                        f"{order_id} ({seated[order_id].orders[order_id].text()}) unfilled"
                    )
                exchange.cancel(instrument, order_id)
        # Only the day's new trades, from the end: copying the whole history daily is quadratic.
        new_t = len(exchange.trades) - before
        today = list(islice(reversed(exchange.trades.values()), new_t))[::-1]
        self._record_day(moment, today)
        self._tell_fills(today)
        for government in self.governments.values():
            sold_t = sum(t.quantity_t for t in today if t.seller == government.holder.member_id)
            if sold_t:
                government.record_ceiling_sale(moment.year, sold_t)

    # ------------------------------------------------------------ participants

    def _participant_orders(self, moment: datetime, round_number: int) -> list[tuple[str, int]]:
        """Ask each participant still in for the round's orders and place them first."""
        placed = []
        for seat in self.seats:
            seat.orders = {}
            if seat.left:
                continue
            status = self._status(seat, moment, round_number)
            seat.news = []
            orders = seat.participant.orders(round_number, status)
            if orders is None:
                seat.left = True
                continue
            for order in orders:
                order_id = self._place(seat, order)
                if order_id is not None:
                    placed.append((order.instrument, order_id))
        return placed

    def _place(self, seat: Seat, order: ParticipantOrder) -> int | None:
        """Place one participant order; a refusal becomes news for the next round."""
        exchange = self.world.exchange
        member = seat.holder.member_id
        order_id = self.next_order
        self.next_order += 1
        try:
            if order.side is Side.SELL:
                claim = exchange.custody.balance(member, order.instrument).free
                if claim < order.quantity_t:
                    exchange.deposit_units(member, order.instrument, order.quantity_t - claim)
            events = exchange.submit(
                order.instrument,
                order.order_type,
                order_id,
                member,
                order.side,
                order.price_minor,
                order.quantity_t,
            )
        except RegistryError as error:
            self.refused_orders += 1
            seat.news.append(
                f"refused ({int(error.code)}): {order.text()} from {order.source}: {error.message}"
            )
            return None
        rejected = [event for event in events if event[0] == EventKind.REJECTED]
        if rejected:
            self.refused_orders += 1
            code = RejectCode(rejected[0][3])
            seat.news.append(
                f"refused ({int(code)} {code.name.lower()}): {order.text()} from {order.source}"
            )
            return None
        seat.orders[order_id] = order
        seat.news.append(f"placed: order {order_id}, {order.text()}")
        return order_id

    def _status(self, seat: Seat, moment: datetime, round_number: int) -> RoundStatus:
        """Return what the participant sees: quotes, its holdings and cash, last round's news."""
        exchange = self.world.exchange
        member = seat.holder.member_id
        quotes = []
        for code in sorted(self.instruments):
            book = exchange.engine.book(code)
            quotes.append(
                InstrumentQuote(
                    code,
                    self.instruments[code].instrument.currency,
                    book.best_bid(),
                    book.best_ask(),
                    self.last_price.get(code),
                )
            )
        holding = self.world.registries[seat.holder.registry].account(seat.holder.account_id)
        holdings = tuple(
            (code, holding.holding.balance(code) + exchange.custody.balance(member, code).total)
            for code in sorted(self.instruments)
        )
        currencies = sorted({item.instrument.currency for item in self.instruments.values()})
        cash = tuple(
            (currency, exchange.clearing.balance(member, currency).free) for currency in currencies
        )
        date_text = f"{moment:%Y-%m-%d}"
        return RoundStatus(round_number, date_text, tuple(quotes), holdings, cash, tuple(seat.news))

    def _tell_fills(self, today: Sequence[Any]) -> None:
        """Add each participant's fills of the day to what it is told next round."""
        for seat in self.seats:
            member = seat.holder.member_id
            for trade in today:
                if member in (trade.buyer, trade.seller):
                    verb = "bought" if trade.buyer == member else "sold"
                    seat.news.append(
                        f"{verb} {trade.quantity_t:,} t {trade.instrument} at "
                        f"{trade.price_minor:,} (trade {trade.trade_id})"
                    )

    # ------------------------------------------------------------ the government

    def _hold_auctions(self, moment: datetime, scheduled: set[str]) -> None:
        """Hold the day's scheduled auctions and any reserve release a trigger set off."""
        for code, government in sorted(self.governments.items()):
            if code in scheduled:
                supply_t = government.next_supply_t()
                if supply_t > 0:
                    bids = self._auction_bids(government)
                    record = government.hold_auction(
                        self.world, moment, "scheduled", supply_t, bids
                    )
                    government.after_scheduled(record)
                else:
                    government.skip_scheduled()  # less than a lot left to offer
            if government.release_due_t > 0:
                bids = self._auction_bids(government)
                record = government.hold_auction(
                    self.world,
                    moment,
                    "reserve release",
                    government.release_due_t,
                    bids,
                )
                government.after_release(record)

    def _auction_bids(self, government: Government) -> list[AuctionBid]:
        """Return the sealed bids: each short firm its demand curve, ZI-C traders one lot each.

        A firm needing `need` t more bids, at each of `AUCTION_BID_STEPS` of the MAC of
        covering all of it itself, the tonnes it would buy at that price rather than abate
        (need − a(price)) beyond what its higher bids already ask: a truthful demand
        schedule for a uniform-price auction. Bids go in a shuffled order (submission
        order breaks the last ties).
        """
        instrument = government.instrument
        assert instrument is not None
        lot_t = instrument.lot_t
        bids: list[AuctionBid] = []
        for firm in self.firms:
            if firm.home != instrument.code:
                continue
            position_t, _ = self._position(firm)
            need_t = firm.forecast_t - position_t
            if need_t < lot_t:
                continue
            top = marginal_cost_minor(firm, need_t)
            asked_t = 0
            for step in AUCTION_BID_STEPS:
                price = top * step
                wanted_t = need_t - planned_abatement_t(firm, price)
                quantity_t = (wanted_t - asked_t) // lot_t * lot_t
                limit = math.floor(self._convert(price, firm.currency, instrument.currency))
                if quantity_t > 0 and limit >= 1:
                    bids.append(AuctionBid(firm.member, limit, quantity_t))
                    asked_t += quantity_t
        for zic in self.zics:
            if zic.instrument != instrument.code:
                continue
            owned_t = self._zic_owned_t(zic)
            if owned_t < ZIC_HOLD_LOTS_MAX * instrument.lot_t:
                value = self.rng.randint(1, zic.value_minor)
                bids.append(AuctionBid(zic.member, value, instrument.lot_t))
        self.rng.shuffle(bids)
        return bids

    def _ceiling_offers(self, year: int) -> list[tuple[str, int]]:
        """Offer each government's reserve at its price ceiling today (a day order)."""
        orders = []
        exchange = self.world.exchange
        for _, government in sorted(self.governments.items()):
            ceiling = government.ceiling_minor(year)
            offer_t = government.ceiling_offer_t()
            if ceiling is None or offer_t <= 0 or government.instrument is None:
                continue
            member, code = government.holder.member_id, government.instrument.code
            claim = exchange.custody.balance(member, code).free
            if claim < offer_t:
                exchange.deposit_units(member, code, offer_t - claim)
            order = self._submit(member, code, Side.SELL, Fraction(ceiling), offer_t)
            if order is not None:
                orders.append(order)
        return orders

    def _check_prices(self, year: int, month: int) -> None:
        """Let each government's price controls see the month's volume-weighted price."""
        for _, government in sorted(self.governments.items()):
            if government.instrument is None:
                continue
            months = self.monthly.get(government.instrument.code, {})
            series = [
                MonthlyPrice(y, m, math.floor(Fraction(notional, volume_t) + Fraction(1, 2)))
                for (y, m), (notional, volume_t) in sorted(months.items())
            ]
            government.check_month(year, month, series)

    def _submit(
        self, member: str, instrument: str, side: Side, price: Fraction, quantity_t: int
    ) -> tuple[str, int] | None:
        listed = self.instruments[instrument].instrument
        tick = listed.tick_minor
        ticks = math.floor(price / tick) if side is Side.BUY else math.ceil(price / tick)
        price_minor = max(tick, ticks * tick)
        order_id = self.next_order
        self.next_order += 1
        try:
            events = self.world.exchange.submit(
                instrument, OrderType.LIMIT, order_id, member, side, price_minor, quantity_t
            )
        except RegistryError:
            # An operating refusal (no cash, no link open yet): the agent sits out today.
            self.refused_orders += 1
            return None
        if any(event[0] == EventKind.REJECTED for event in events):
            self.refused_orders += 1  # the engine refused it (lot, tick): nothing rests
            return None
        return instrument, order_id

    def _position(self, firm: Firm) -> tuple[int, int]:
        """Return (eligible units held or claimed in custody, free custody claim of home)."""
        holding = self.world.registries[firm.registry].account(firm.account).holding
        held_t = sum(holding.balance(code) for code in firm.buyable)
        if firm.home is None:
            return held_t, 0
        claim = self.world.exchange.custody.balance(firm.member, firm.home)
        return held_t + claim.total, claim.free + holding.balance(firm.home)

    def _firm_order(self, firm: Firm) -> tuple[str, int] | None:
        """Decide on the home market; buy instead where an eligible allowance is cheaper."""
        if not firm.buyable:
            return None
        position_t, free_t = self._position(firm)
        instrument = firm.buyable[0]
        intent = self._firm_intent_on(firm, instrument, position_t, free_t)
        if intent is None:
            return None
        if intent[0] is Side.SELL:
            assert firm.home is not None and instrument == firm.home, firm
            return self._firm_sell(firm, firm.home, intent[1], intent[2])
        cheapest = self._cheapest(firm)
        if cheapest != instrument:
            there = self._firm_intent_on(firm, cheapest, position_t, free_t)
            if there is not None and there[0] is Side.BUY:
                order = self._firm_buy(firm, cheapest, there[1], there[2])
                if order is not None:
                    return order
        return self._firm_buy(firm, instrument, intent[1], intent[2])

    def _firm_intent_on(
        self, firm: Firm, instrument: str, position_t: int, free_t: int
    ) -> tuple[Side, Fraction, int] | None:
        price = self._reference_price(firm, instrument)
        lot_t = self.instruments[instrument].instrument.lot_t
        return firm_intent(firm, position_t, free_t, price, lot_t)

    def _reference_price(self, firm: Firm, instrument: str) -> Fraction | None:
        """Return the instrument's reference price (`reference_price`) in the firm's currency."""
        listed = self.instruments[instrument].instrument
        book = self.world.exchange.engine.book(instrument)
        quotes = (self.last_price.get(instrument), book.best_bid(), book.best_ask())
        home_quotes = [
            None if q is None else self._convert(q, listed.currency, firm.currency) for q in quotes
        ]
        return reference_price(*home_quotes)

    def _firm_buy(
        self, firm: Firm, instrument: str, limit_home: Fraction, quantity_t: int
    ) -> tuple[str, int] | None:
        currency = self.instruments[instrument].instrument.currency
        limit = self._convert(limit_home, firm.currency, currency)
        return self._submit(firm.member, instrument, Side.BUY, limit, quantity_t)

    def _firm_sell(
        self, firm: Firm, home: str, limit: Fraction, quantity_t: int
    ) -> tuple[str, int] | None:
        claim = self.world.exchange.custody.balance(firm.member, home).free
        if claim < quantity_t:
            self.world.exchange.deposit_units(firm.member, home, quantity_t - claim)
        return self._submit(firm.member, home, Side.SELL, limit, quantity_t)

    def _cheapest(self, firm: Firm) -> str:
        """Return the instrument with the lowest last price in the firm's currency (home first)."""
        best = firm.buyable[0]
        best_price: Fraction | None = None
        for code in firm.buyable:
            last = self.last_price.get(code)
            if last is None:
                continue
            price = self._convert(last, self.instruments[code].instrument.currency, firm.currency)
            if best_price is None or price < best_price:
                best, best_price = code, price
        return best

    def _zic_owned_t(self, zic: Zic) -> int:
        """Return what a ZI-C trader holds in its account and claims in custody."""
        holding = self.world.registries[zic.registry].account(zic.account).holding
        claim = self.world.exchange.custody.balance(zic.member, zic.instrument)
        return holding.balance(zic.instrument) + claim.total

    def _zic_order(self, zic: Zic) -> tuple[str, int] | None:
        exchange = self.world.exchange
        listed = self.instruments[zic.instrument].instrument
        held_t = (
            self.world.registries[zic.registry].account(zic.account).holding.balance(zic.instrument)
        )
        claim = exchange.custody.balance(zic.member, zic.instrument)
        owned_t = held_t + claim.total
        can_buy = owned_t < ZIC_HOLD_LOTS_MAX * listed.lot_t
        can_sell = held_t + claim.free >= listed.lot_t
        if not can_buy and not can_sell:
            return None
        side = Side.BUY if can_buy and (not can_sell or self.rng.random() < 0.5) else Side.SELL
        trader = ZiConstrainedTrader(
            side, [zic.value_minor], self.rng, price_max_minor=zic.value_max_minor
        )
        view = MarketView(None, None, self.last_price.get(zic.instrument), 0)
        intents: list[OrderIntent] = trader.act(0, view)
        if not intents:
            return None
        intent = intents[0]
        if side is Side.SELL and claim.free < listed.lot_t:
            exchange.deposit_units(zic.member, zic.instrument, listed.lot_t - claim.free)
        return self._submit(
            zic.member, zic.instrument, side, Fraction(intent.price_minor), listed.lot_t
        )

    def _record_day(self, moment: datetime, trades: Sequence[Any]) -> None:
        day = moment.date().isoformat()
        by_instrument: dict[str, list[Any]] = {}
        for trade in trades:
            self.trade_days[trade.trade_id] = day
            by_instrument.setdefault(trade.instrument, []).append(trade)
        for code in sorted(by_instrument):
            today = by_instrument[code]
            prices = [t.price_minor for t in today]
            self.prices.append(
                PriceRow(
                    day,
                    code,
                    len(today),
                    sum(t.quantity_t for t in today),
                    sum(t.cost_minor for t in today),
                    min(prices),
                    max(prices),
                    prices[-1],
                )
            )
            self.last_price[code] = prices[-1]
            month = (moment.year, moment.month)
            monthly = self.monthly.setdefault(code, {})
            notional, volume_t = monthly.get(month, (0, 0))
            monthly[month] = (
                notional + sum(t.cost_minor for t in today),
                volume_t + sum(t.quantity_t for t in today),
            )

    # ------------------------------------------------------------ the year's end

    def _year_vwap(self, code: str, year: int) -> Fraction | None:
        rows = [p for p in self.prices if p.instrument == code and p.day.startswith(f"{year}-")]
        volume_t = sum(p.volume_t for p in rows)
        if volume_t == 0:
            last = self.last_price.get(code)
            return None if last is None else Fraction(last)
        return Fraction(sum(p.notional_minor for p in rows), volume_t)

    def _close_year(self, year: int) -> None:
        for code in sorted(self.world.books):
            book = self.world.books[code]
            calendar = book.regime.calendar
            if year < calendar.first_year or (
                calendar.last_year is not None and year > calendar.last_year
            ):
                continue
            home = self.scenario.registry(code).regime.allowance_unit_type
            price = self._year_vwap(home, year) if home in self.instruments else None
            firms = [f for f in self.firms if f.registry == code]
            settled = [self._settle_firm(book, firm, year, price) for firm in firms]
            self.firm_years.extend(settled)
            source = "market"
            if price is None or price < 1:
                # No trade ever: penalties that multiply the average price still need one.
                # The firms' mean MAC at their abatement is what a market would have shown.
                costs = [
                    marginal_cost_minor(f, y.abatement_t)
                    for f, y in zip(firms, settled, strict=True)
                ]
                price = sum(costs, Fraction(0)) / max(1, len(costs))
                source = "mac proxy (no trade)"
            self.average_prices[(code, year)] = (max(1, math.floor(price)), source)
            book.set_average_price(year, max(1, math.floor(price)))

    def _settle_firm(
        self, book: ComplianceBook, firm: Firm, year: int, price: Fraction | None
    ) -> FirmYear:
        if firm.home is not None:
            self._withdraw(firm, firm.home)
        position_t, _ = self._position(firm)
        abated_t = year_end_abatement_t(firm, price, position_t)
        emissions_t = firm.forecast_t - abated_t
        report = EmissionsReport(firm.member, year, {Gas.CO2: emissions_t * KG_PER_T})
        book.submit_report(report)
        verifier_id = f"{VERIFIER_PREFIX}{firm.registry}"
        key = verifier_key(f"{self.scenario.seed}", verifier_id)
        book.record_verification(sign_verification(key, verifier_id, report, book.regime))
        note = ""
        surrendered_t = 0
        if firm.fails_to_surrender:
            note = "does not surrender (surrender_failure_share)"
        else:
            surrendered_t, note = self._surrender(book, firm, year, emissions_t)
        return FirmYear(
            firm.member,
            firm.registry,
            year,
            firm.forecast_t,
            self.allocated[(firm.member, year)],
            abated_t,
            firm.curve.total_cost(abated_t),
            emissions_t,
            surrendered_t,
            note,
        )

    def _withdraw(self, firm: Firm, instrument: str) -> None:
        """Move a firm's free custody claim back to its account (both sides, conserved)."""
        exchange = self.world.exchange
        free_t = exchange.custody.balance(firm.member, instrument).free
        listing = exchange.listings[instrument]
        if free_t == 0 or listing.registry != firm.registry:
            return
        self.world.registries[firm.registry].transfer(
            listing.custody_account, firm.account, instrument, free_t
        )
        exchange.custody.withdraw(firm.member, instrument, free_t)

    def _surrender(
        self, book: ComplianceBook, firm: Firm, year: int, emissions_t: int
    ) -> tuple[int, str]:
        period = book.regime.calendar.period_of(year)
        holding = self.world.registries[firm.registry].account(firm.account).holding
        want_t = emissions_t + book.carried_t(firm.member)
        requests: list[SurrenderRequest] = []
        foreign_left_t = foreign_cap_t(book.regime, year, emissions_t)
        for code in firm.buyable or (book.regime.allowance_unit_type,):
            take_t = min(holding.balance(code), want_t - sum(r.quantity for r in requests))
            if code != book.regime.allowance_unit_type and foreign_left_t is not None:
                take_t = min(take_t, foreign_left_t)
                foreign_left_t -= max(0, take_t)
            if take_t > 0:
                requests.append(SurrenderRequest(code, take_t))
        if not requests:
            return 0, "held nothing to surrender"
        try:
            book.surrender(firm.member, period, requests)
            surrendered_t = sum(r.quantity for r in requests)
            self._note_shortfall(book, firm, year, want_t - surrendered_t)
            return surrendered_t, ""
        except RegistryError as error:
            home = [r for r in requests if r.unit_type == book.regime.allowance_unit_type]
            if not home or home == requests:
                return 0, f"surrender refused ({int(error.code)}): {error.message}"
            try:
                book.surrender(firm.member, period, home)
            except RegistryError as again:
                return 0, f"surrender refused ({int(again.code)}): {again.message}"
            return home[
                0
            ].quantity, f"foreign units refused ({int(error.code)}); home allowances only"

    def _note_shortfall(self, book: ComplianceBook, firm: Firm, year: int, short_t: int) -> None:
        """Remember a shortfall at a period's last year where the regime lets firms borrow."""
        regime = book.regime
        period = regime.calendar.period_of(year)
        ends_now = regime.calendar.period_last_year(period) == year
        if short_t > 0 and regime.surrender.borrowing_share_max > 0 and ends_now:
            self.to_borrow[firm.member] = (period, short_t)

    def _borrow(self, year: int) -> None:
        """Cover last period's shortfalls with this year's allowances, as far as the rules let.

        A firm still short when its period ended surrenders allowances of the new vintage
        for it, before the deadline, up to `borrowing_share_max` of its obligation (Korea:
        borrowing from the next year's allocation).
        """
        for firm in self.firms:
            owed = self.to_borrow.pop(firm.member, None)
            if owed is None or firm.home is None:
                continue
            period, short_t = owed
            book = self.world.books[firm.registry]
            obligation_t = book.obligation_t(firm.member, period)
            if obligation_t is None or (DeadlineKind.SURRENDER_DUE, period) in book.schedule.fired:
                continue
            limit_t = math.floor(book.regime.surrender.borrowing_share_max * obligation_t)
            holding = self.world.registries[firm.registry].account(firm.account).holding
            quantity_t = min(short_t, limit_t, holding.balance(firm.home, year))
            if quantity_t <= 0:
                continue
            try:
                book.surrender(firm.member, period, [SurrenderRequest(firm.home, quantity_t, year)])
            except RegistryError:
                continue  # the rules refused it: the shortfall stands, as at the deadline
            key = (firm.registry, period)
            self.borrowed[key] = self.borrowed.get(key, 0) + quantity_t

    def _finish(self, last_year: int) -> None:
        """Advance past every deadline of the last year's periods, settling on the way."""
        moments = []
        for book in self.world.books.values():
            calendar = book.regime.calendar
            period = calendar.period_of(last_year)
            if calendar.period_last_year(period) != last_year:
                # The period runs on past the run: its deadline is left pending (reported).
                period = calendar.period_of(last_year) - 1
                if period < calendar.first_year:
                    continue
                period = calendar.period_of(period)
            deadline = calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
            if deadline is not None:
                moments.append(deadline.due)
        end = max(moments, default=self.world.clock.now())
        end = max(end, self.world.clock.now()) + timedelta(days=SETTLE_DAYS_AFTER_LAST_DEADLINE)
        self.world.exchange.advance(end)
        self._fire_deadlines()


# ---------------------------------------------------------------- reports


def run_scenario(
    scenario: Scenario,
    out_dir: Path | str,
    *,
    years: int | None = None,
    days: int | None = None,
    progress: Progress | None = None,
    prompt: Prompt | None = None,
) -> RunResult:
    """Run `scenario` and write its reports; `years` and `days` cut the run short.

    `prompt` is where interactive participants type (a scenario with one needs it).

    Ctrl-C (KeyboardInterrupt) stops the run where it is: the reports are written from
    what was recorded so far, marked `"interrupted": true`, and `RunResult.interrupted`
    is set; the world's invariants are then not checked (a command may be half done).
    """
    # The journals go to a file beside nothing the user keeps: in memory, a ten-year run
    # of 3,000 entities held 4.8 GB; on disk its process peaks near 1 GB.
    store = tempfile.TemporaryDirectory(prefix="etslink-run-")
    store_url = f"sqlite:///{Path(store.name) / 'world.db'}"
    try:
        run = Run(scenario, years, days, prompt, store_url)
    except BaseException:
        store.cleanup()
        raise
    interrupted = False
    try:
        run.run(progress)
    except KeyboardInterrupt:
        interrupted = True
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trades = trade_rows(run)
    summary = run_report.build_summary(run, trades)
    summary["interrupted"] = interrupted
    # Hook (issue 6, reports): the analytical equilibrium beside the run; see equilibrium_report.
    summary["equilibrium"] = equilibrium_report.equilibrium_summary(run)
    result = RunResult(
        scenario.name,
        out,
        summary,
        trades,
        run.prices,
        run.firm_years,
        world=run.world,
        interrupted=interrupted,
        store=store,
    )
    result.files = run_report.write_reports(result, run)
    result.files += charts.write_charts(result, run)  # hook (issue 6): PNG charts; see charts
    return result


def trade_rows(run: Run) -> list[TradeRow]:
    rows = []
    for trade in run.world.exchange.trades.values():
        rows.append(
            TradeRow(
                run.trade_days.get(trade.trade_id, ""),
                trade.trade_id,
                trade.instrument,
                trade.price_minor,
                trade.quantity_t,
                trade.buyer,
                trade.seller,
                trade.status.value,
            )
        )
    return rows


__all__ = ["RunResult", "run_scenario"]
