"""A covered firm as an economic agent: it covers its emissions at the least cost it can see.

Each session the firm values every instrument it may surrender by its compliance value
(`etslink.sim.valuation`): its own allowance at 1, a linked party's allowance at the
link's rate into its registry, within the regime's cap on foreign units, with money
converted at the scenario's rates. Its position counts every unit it holds, in its
account, in custody or bought and not yet delivered, at that value from the moment it
holds it. What one more covered tonne is worth to it is its marginal value W: the MAC of
the tonne it would otherwise abate, at most the penalty, at least the value of banking.

- **Buying.** It looks for the cheapest way to cover a tonne: the book whose reference
  price (`Quote.reference_minor`) is lowest per tonne of compliance value. At that price
  it would abate every tonne whose MAC is lower and cover the rest; the gap between that
  target and what it holds, if at least a lot, it closes by a quarter a session
  (`SHARE_DIVISOR`). It bids the market's price, never more than the chunk's last unit
  is worth to it — it never pays more than a unit saves it, and a firm that values a
  tonne far above the market does not offer the market its whole valuation. If the
  market did not take all of its last bid on the book, it bids `STEP` (10%) above that bid
  (still within its valuation): when buyers outnumber sellers at the price, bids walk up a
  step a session to where the market clears, instead of jumping to whichever reservation
  price happened to rest first.
- **Selling.** On every book of its own registry's venue where it holds units, if the
  market's reference price per tonne is above what a tonne is worth to it, it offers the
  gap the same way: at the market's price, or 10% below its last ask if the market did
  not take all of it, and never below what losing the chunk's last unit costs it (the abatement it
  makes necessary, or the bank value). So it sells whatever it values less than the market
  does and never below the bank value; bought cheap on one book and sold dear on another, a
  firm arbitrages linked books itself.
- **No price yet.** On a book with no trade and no quote yet, it quotes one lot each side
  of what a unit is worth to it: firms that abate cheaply meet firms that do not, and a
  price appears on the first day — a market where every firm starts short still
  discovers its price, and no book waits for another's price to find its own.

- **The year's auctions.** The government publishes its auction calendar: a firm counts,
  beside what it holds, its share (by emissions forecast) of the volume the year's
  scheduled auctions still have to offer, so the market prices the whole year's cap from
  January rather than a cap that grows auction by auction. At an auction it bids for what
  it actually lacks.

Abatement is decided at the year's end from what the firm then holds
(`valuation.year_end_abatement_t`); trading during the year is what sets it, which is why
the firm's holdings, not its home market's average price, decide how much it abates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from etslink.economics import MacCurve
from etslink.scenario import Entity
from etslink.sim.access import MarketAccess
from etslink.sim.valuation import (
    covered_t,
    foreign_room_units,
    marginal_value_minor,
    target_held_t,
)
from exchange.book import Side

SHARE_DIVISOR = 4  # a firm closes a quarter of its gap in a session
STEP = 0.1  # how far beyond its last order a firm goes when the market left some of it
# The prices of a firm's auction bids, as shares of the MAC of covering its whole need.
AUCTION_BID_STEPS = (0.8, 0.6, 0.4, 0.2)


@dataclass(frozen=True, slots=True)
class FirmBook:
    """A book a firm may use, as the firm values it.

    `value` is the compliance value of one unit (tonnes); `factor` converts the firm's home
    minor units into the book's (book minor per home minor); `foreign` units count under
    the regime's cap on international allowances; `sellable` books are on the firm's own
    registry's venue, where it can deposit what it holds.
    """

    code: str
    unit_type: str
    value: Fraction
    factor: Fraction
    lot_t: int
    foreign: bool
    sellable: bool
    cross_registry: bool  # buying here delivers through the gateway
    value_f: float = field(init=False, repr=False, compare=False)
    # What converts a price on this book into home minor units per covered tonne.
    per_tonne_f: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value_f", float(self.value))
        object.__setattr__(self, "per_tonne_f", 1 / float(self.value * self.factor))


@dataclass
class FirmYearPlan:
    """What the firm knows for the year: its emissions forecast, need and the bank value."""

    year: int
    forecast_t: int
    need_t: int  # forecast + what was carried forward unpaid
    bank_minor: Fraction
    foreign_share_max: Fraction | None
    auction_share: Fraction = Fraction(0)  # its share of its registry's emissions forecast
    # allocation still to come when the year closes (China's true-up to actual output;
    # negative: a claw-back), which the firm knows from its own output and plans with
    pending_t: int = 0

    @property
    def in_year_need_t(self) -> int:
        """What the firm must still cover by trading during the year."""
        return self.need_t - self.pending_t


@dataclass
class FirmAgent:
    """One covered entity: its curve, penalty price, books and this year's plan.

    It plans in floats (`FloatMac`, the curve's float view): thousands of firms decide every
    session. Its orders reach the exchange in whole minor units; its year's end — what it
    abates, reports and surrenders — is computed exactly.
    """

    agent_id: str
    entity: Entity
    registry: str
    account: str
    curve: MacCurve
    currency: str
    home_unit: str
    penalty_minor: int
    books: tuple[FirmBook, ...]
    fails_to_surrender: bool = False
    plan: FirmYearPlan | None = None
    open_links: set[str] = field(default_factory=set)  # cross-registry books open now

    def __post_init__(self) -> None:
        self.member = self.agent_id  # its exchange member id: read on every order
        self.fcurve = self.curve.as_float()
        self.values = {book.unit_type: book.value for book in self.books}
        self.values_f = {unit: float(value) for unit, value in self.values.items()}
        self.unit_types = tuple(dict.fromkeys([self.home_unit, *self.values]))
        self._bank_f = 0.0
        self._auction_share_f = 0.0
        # Its last order on each (book, side): (order id, price per tonne it was placed at).
        self._last: dict[tuple[str, Side], tuple[int, float]] = {}

    # ------------------------------------------------------------ position

    def holdings_units(self, access: MarketAccess) -> dict[str, int]:
        """Return units held per unit type it may surrender: account, custody, unsettled."""
        return {
            unit: access.account_t(self.registry, self.account, unit)
            + access.claimed_t(self.member, unit)
            for unit in self.unit_types
        }

    def covered(self, units: dict[str, int]) -> Fraction:
        """Return the tonnes of obligation its units cover, exactly (foreign within the cap)."""
        assert self.plan is not None
        foreign = [(units.get(u, 0), v) for u, v in self.values.items() if u != self.home_unit]
        held = covered_t(units.get(self.home_unit, 0), foreign, self.plan.foreign_share_max)
        return Fraction(held)

    def covered_f(self, units: dict[str, int]) -> float:
        """Return what `covered` returns, in floats, for planning."""
        assert self.plan is not None
        foreign = [(units.get(u, 0), v) for u, v in self.values_f.items() if u != self.home_unit]
        return float(covered_t(units.get(self.home_unit, 0), foreign, self.plan.foreign_share_max))

    def worth_minor(self, held_t: float) -> float:
        """Return what one more covered tonne is worth holding `held_t` (home minor units)."""
        plan = self.plan
        assert plan is not None
        return float(
            marginal_value_minor(
                self.fcurve, plan.in_year_need_t, held_t, self._bank_f, self.penalty_minor
            )
        )

    def target_t(self, price_minor: float) -> float | None:
        """Return the covered tonnes at which a tonne is worth `price_minor` (None: all)."""
        plan = self.plan
        assert plan is not None
        target = target_held_t(
            self.fcurve, plan.in_year_need_t, price_minor, self._bank_f, self.penalty_minor
        )
        return None if target is None else float(target)

    def start_year(self, plan: FirmYearPlan) -> None:
        self.plan = plan
        self._bank_f = float(plan.bank_minor)
        self._auction_share_f = float(plan.auction_share)

    # ------------------------------------------------------------ a session

    def expected_t(self, access: MarketAccess) -> float:
        """Return the cover it expects from the year's auctions still to come: its share."""
        plan = self.plan
        assert plan is not None
        return self._auction_share_f * access.auction_supply_t.get(self.registry, 0)

    def act(self, access: MarketAccess) -> None:
        """Place this session's orders (the module docstring's rule)."""
        if self.plan is None:
            return
        units = self.holdings_units(access)
        held = self.covered_f(units) + self.expected_t(access)
        offers: list[tuple[float, FirmBook]] = []
        for book in self.books:
            if not self._usable(book):
                continue
            reference = access.quote(book.code).reference_minor()
            if reference is None:
                self._discover(access, book, held, units)
                continue
            per_tonne = reference * book.per_tonne_f
            offers.append((per_tonne, book))
            if book.sellable:
                self._sell(access, book, per_tonne, held)
        offers.sort(key=lambda offer: (offer[0], offer[1].code))
        for per_tonne, book in offers:
            bought_t = self._buy(access, book, per_tonne, held, units)
            if bought_t is None:
                break  # the cheapest book it could use took its bid
            held += bought_t

    def _usable(self, book: FirmBook) -> bool:
        return not book.cross_registry or book.code in self.open_links

    def _room_for(self, book: FirmBook, units: dict[str, int]) -> int:
        """Return how many more units of `book` would count this year (foreign cap)."""
        plan = self.plan
        assert plan is not None
        if not book.foreign or plan.foreign_share_max is None:
            return 10**18
        foreign_units = sum(units.get(u, 0) for u in self.values if u != self.home_unit)
        foreign_value = sum(
            (units.get(u, 0) * v for u, v in self.values.items() if u != self.home_unit),
            Fraction(0),
        )
        return foreign_room_units(
            units.get(self.home_unit, 0),
            foreign_value,
            foreign_units,
            book.value,
            plan.foreign_share_max,
        )

    def _buy(
        self,
        access: MarketAccess,
        book: FirmBook,
        price_per_t: float,
        held: float,
        units: dict[str, int],
    ) -> float | None:
        """Bid on `book` for the session's share of its gap at `price_per_t`.

        Return None once it has bid (or has nothing to buy at that price); else the tonnes
        of cover it bid for, 0, when this book could not take a lot (its foreign cap or the
        link's cap is used up) and the next cheapest should be tried.
        """
        plan = self.plan
        assert plan is not None
        target = self.target_t(price_per_t)
        gap_t = plan.in_year_need_t if target is None else target - held
        gap_units = math.floor(gap_t / book.value_f)
        if gap_units < book.lot_t:
            return None
        room_units = min(gap_units, self._room_for(book, units))
        if book.cross_registry:
            room_t = access.buy_room_t(self.member, book.code)
            if room_t is not None:
                room_units = min(room_units, room_t)
        quantity_t = self._chunk(room_units, book.lot_t)
        if quantity_t == 0:
            return 0.0
        worth = self.worth_minor(held + quantity_t * book.value_f)
        limit = min(worth, self._base(access, book, Side.BUY, price_per_t))
        self._place(access, book, Side.BUY, limit, quantity_t)
        return None

    def _sell(self, access: MarketAccess, book: FirmBook, price_per_t: float, held: float) -> None:
        target = self.target_t(price_per_t)
        if target is None:
            return  # the market pays less than banking is worth: keep everything
        gap_units = math.floor((held - target) / book.value_f)
        quantity_t = self._chunk(min(gap_units, self._free_t(access, book)), book.lot_t)
        if quantity_t == 0:
            return
        worth = self.worth_minor(held - quantity_t * book.value_f)
        limit = max(worth, self._base(access, book, Side.SELL, price_per_t))
        self._place(access, book, Side.SELL, limit, quantity_t)

    def _base(self, access: MarketAccess, book: FirmBook, side: Side, price_per_t: float) -> float:
        """Return where it would bid (ask) before its own valuation caps it: at the market's
        price, or a step beyond its last order on the book if the market did not take all of
        that one."""
        last = self._last.get((book.code, side))
        if last is None or last[0] not in access.unfilled:
            return price_per_t
        if side is Side.BUY:
            return max(price_per_t, last[1] * (1 + STEP))
        return min(price_per_t, last[1] * (1 - STEP))

    def _place(
        self, access: MarketAccess, book: FirmBook, side: Side, per_t: float, quantity_t: int
    ) -> None:
        price = per_t / book.per_tonne_f
        if side is Side.BUY:
            order_id = access.buy(self.member, book.code, price, quantity_t)
        else:
            order_id = access.sell(self.member, book.code, price, quantity_t)
        if order_id is not None:
            self._last[(book.code, side)] = (order_id, per_t)

    def _chunk(self, gap_units: int, lot_t: int) -> int:
        """Return the session's share of a gap in whole lots (at least a lot, if a lot fits)."""
        if gap_units < lot_t:
            return 0
        share = gap_units // SHARE_DIVISOR // lot_t * lot_t
        return min(max(lot_t, share), gap_units // lot_t * lot_t)

    def _discover(
        self, access: MarketAccess, book: FirmBook, held: float, units: dict[str, int]
    ) -> None:
        """On a book with no price yet, quote a lot each side of what a unit is worth to it."""
        lot = book.lot_t
        if self._room_for(book, units) >= lot:
            worth = self.worth_minor(held + lot * book.value_f)
            access.buy(self.member, book.code, worth / book.per_tonne_f, lot)
        if book.sellable and self._free_t(access, book) >= lot:
            worth = self.worth_minor(held - lot * book.value_f)
            access.sell(self.member, book.code, worth / book.per_tonne_f, lot)

    def _free_t(self, access: MarketAccess, book: FirmBook) -> int:
        free_t = access.account_t(self.registry, self.account, book.unit_type)
        return free_t + access.free_claim_t(self.member, book.code)

    # ------------------------------------------------------------ auctions

    def auction_demand(
        self, access: MarketAccess, book: FirmBook, reserve_minor: int = 1
    ) -> list[tuple[int, int]]:
        """Return its sealed bids for an auction of `book`'s unit: (price, tonnes) steps.

        At each of `AUCTION_BID_STEPS` of the worth of its whole shortfall, the tonnes it
        would buy at that price rather than abate, beyond what its higher bids ask: a
        truthful demand schedule for a uniform-price auction, in the book's minor units.
        No step bids above the book's reference price (`Quote.reference_minor`): what a
        tonne costs on the secondary market is the most it is worth paying at auction —
        unless the auction's reserve is higher (Korea's, a three-month mean, is when prices
        fall): a firm still short bids the reserve where a tonne is worth that to it, or
        the volume a falling market leaves unsold piles up for the year's last auctions.
        """
        plan = self.plan
        if plan is None:
            return []
        held = self.covered_f(self.holdings_units(access))
        short_t = plan.in_year_need_t - held
        if short_t < book.lot_t:
            return []
        top = self.worth_minor(held)
        # Never above the secondary market's price: a tonne is to be had there for that.
        reference = access.quote(book.code).reference_minor()
        market = math.inf if reference is None else reference * book.per_tonne_f
        market = max(market, reserve_minor * book.per_tonne_f)
        bids: list[tuple[int, int]] = []
        asked_t = 0
        for step in AUCTION_BID_STEPS:
            price = min(top * step, market)
            target = self.target_t(price)
            wanted_t = short_t if target is None else target - held
            quantity_t = math.floor(wanted_t - asked_t) // book.lot_t * book.lot_t
            limit = math.floor(price / book.per_tonne_f)
            if quantity_t > 0 and limit >= 1 and all(limit != bid for bid, _ in bids):
                bids.append((limit, quantity_t))
                asked_t += quantity_t
        return bids


__all__ = ["AUCTION_BID_STEPS", "FirmAgent", "FirmBook", "FirmYearPlan"]
