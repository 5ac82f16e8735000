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
  (`GAP_SHARE_PER_SESSION`). Its limit is what the chunk's last unit is worth to it — it
  never pays more than a unit saves it — but no more than the reference price plus
  `PRICE_STEP_PER_SESSION` (10%): a firm that values a tonne far above the market does not
  offer the market its whole valuation. When buyers outnumber sellers at that price their
  bids rest above it, the reference price moves up to the best bid, and the next session
  bids 10% higher: the price walks to where the market clears, a step a session, instead of
  jumping to whichever reservation price happened to rest first.
- **Selling.** On every book of its own registry's venue where it holds units, if the
  market's reference price per tonne is above what a tonne is worth to it, it offers the
  gap the same way, asking at least what losing the chunk's last unit costs it (the
  abatement it makes necessary, or the bank value) and at least the reference price less
  10%. So it sells whatever it values less than the market does and never below the bank
  value; bought cheap on one book and sold dear on another, a firm arbitrages linked books
  itself.
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
from etslink.sim.access import MarketAccess
from etslink.sim.valuation import (
    covered_t,
    foreign_room_units,
    marginal_value_minor,
    target_held_t,
)

GAP_SHARE_PER_SESSION = Fraction(1, 4)  # the part of its gap a firm closes in a session
PRICE_STEP_PER_SESSION = Fraction(1, 10)  # how far from the market price a firm will bid
# The prices of a firm's auction bids, as shares of the MAC of covering its whole need.
AUCTION_BID_STEPS = (Fraction(4, 5), Fraction(3, 5), Fraction(2, 5), Fraction(1, 5))


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


@dataclass
class FirmYearPlan:
    """What the firm knows for the year: its emissions forecast, need and the bank value."""

    year: int
    forecast_t: int
    need_t: int  # forecast + what was carried forward unpaid
    bank_minor: Fraction
    foreign_share_max: Fraction | None
    auction_share: Fraction = Fraction(0)  # its share of its registry's emissions forecast


@dataclass
class FirmAgent:
    """One covered entity: its curve, penalty price, books and this year's plan."""

    agent_id: str
    registry: str
    account: str
    curve: MacCurve
    currency: str
    home_unit: str
    penalty_minor: int
    books: tuple[FirmBook, ...]
    fails_to_surrender: bool = False
    plan: FirmYearPlan | None = None
    open_links: set[str] = field(default_factory=set)  # registries reachable now
    bought_on: dict[str, int] = field(default_factory=dict)  # book → tonnes, for reports

    @property
    def member(self) -> str:
        return self.agent_id

    # ------------------------------------------------------------ position

    def holdings_units(self, access: MarketAccess) -> dict[str, int]:
        """Return units held per unit type it may surrender: account, custody, unsettled."""
        units: dict[str, int] = {}
        for book in self.books:
            if book.unit_type in units:
                continue
            units[book.unit_type] = access.account_t(
                self.registry, self.account, book.unit_type
            ) + access.claimed_t(self.member, book.unit_type)
        if self.home_unit not in units:
            units[self.home_unit] = access.account_t(self.registry, self.account, self.home_unit)
        return units

    def covered(self, units: dict[str, int]) -> Fraction:
        """Return the tonnes of obligation its units cover (foreign ones within the cap)."""
        assert self.plan is not None
        values = self._values()
        foreign = [(units.get(u, 0), v) for u, v in values.items() if u != self.home_unit]
        return covered_t(units.get(self.home_unit, 0), foreign, self.plan.foreign_share_max)

    def _values(self) -> dict[str, Fraction]:
        return {book.unit_type: book.value for book in self.books}

    def worth_minor(self, held_t: Fraction) -> Fraction:
        """Return what one more covered tonne is worth holding `held_t` (home minor units)."""
        plan = self.plan
        assert plan is not None
        return marginal_value_minor(
            self.curve, plan.need_t, held_t, plan.bank_minor, self.penalty_minor
        )

    def target_t(self, price_minor: Fraction) -> Fraction | None:
        plan = self.plan
        assert plan is not None
        return target_held_t(
            self.curve, plan.need_t, price_minor, plan.bank_minor, self.penalty_minor
        )

    # ------------------------------------------------------------ a session

    def expected_t(self, access: MarketAccess) -> Fraction:
        """Return the cover it expects from the year's auctions still to come: its share."""
        plan = self.plan
        assert plan is not None
        return plan.auction_share * access.auction_supply_t.get(self.registry, 0)

    def act(self, access: MarketAccess) -> None:
        """Place this session's orders (the module docstring's rule)."""
        if self.plan is None:
            return
        units = self.holdings_units(access)
        held = self.covered(units) + self.expected_t(access)
        offers: list[tuple[Fraction, FirmBook]] = []
        for book in self.books:
            if not self._usable(book):
                continue
            reference = access.quote(book.code).reference_minor()
            if reference is None:
                self._discover(access, book, held, units)
                continue
            per_tonne = reference / (book.value * book.factor)
            offers.append((per_tonne, book))
            if book.sellable:
                self._sell(access, book, per_tonne, held, units)
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
        values = self._values()
        foreign_units = sum(units.get(u, 0) for u in values if u != self.home_unit)
        foreign_value = sum(
            (units.get(u, 0) * v for u, v in values.items() if u != self.home_unit), Fraction(0)
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
        price_per_t: Fraction,
        held: Fraction,
        units: dict[str, int],
    ) -> Fraction | None:
        """Bid on `book` for the session's share of its gap at `price_per_t`.

        Return None once it has bid (or has nothing to buy at that price); else the tonnes
        of cover it bid for, 0, when this book could not take a lot (its foreign cap or the
        link's cap is used up) and the next cheapest should be tried.
        """
        plan = self.plan
        assert plan is not None
        target = self.target_t(price_per_t)
        gap_t = plan.need_t if target is None else target - held
        gap_units = math.floor(gap_t / book.value)
        if gap_units < book.lot_t:
            return None
        room_units = min(gap_units, self._room_for(book, units))
        if book.cross_registry:
            room_t = access.buy_room_t(self.member, book.code)
            if room_t is not None:
                room_units = min(room_units, room_t)
        quantity_t = self._chunk(room_units, book.lot_t)
        if quantity_t == 0:
            return Fraction(0)
        worth = self.worth_minor(held + quantity_t * book.value)
        limit = min(worth, price_per_t * (1 + PRICE_STEP_PER_SESSION))
        access.buy(self.member, book.code, book.value * limit * book.factor, quantity_t)
        return None

    def _sell(
        self,
        access: MarketAccess,
        book: FirmBook,
        price_per_t: Fraction,
        held: Fraction,
        units: dict[str, int],
    ) -> None:
        target = self.target_t(price_per_t)
        if target is None:
            return  # the market pays less than banking is worth: keep everything
        gap_units = math.floor((held - target) / book.value)
        quantity_t = self._chunk(min(gap_units, self._free_t(access, book)), book.lot_t)
        if quantity_t == 0:
            return
        worth = self.worth_minor(held - quantity_t * book.value)
        limit = max(worth, price_per_t * (1 - PRICE_STEP_PER_SESSION))
        access.sell(self.member, book.code, book.value * limit * book.factor, quantity_t)

    def _chunk(self, gap_units: int, lot_t: int) -> int:
        """Return the session's share of a gap in whole lots (at least a lot, if a lot fits)."""
        if gap_units < lot_t:
            return 0
        share = math.floor(gap_units * GAP_SHARE_PER_SESSION) // lot_t * lot_t
        return min(max(lot_t, share), gap_units // lot_t * lot_t)

    def _discover(
        self, access: MarketAccess, book: FirmBook, held: Fraction, units: dict[str, int]
    ) -> None:
        """On a book with no price yet, quote a lot each side of what a unit is worth to it."""
        lot = book.lot_t
        if self._room_for(book, units) >= lot:
            worth = self.worth_minor(held + lot * book.value)
            access.buy(self.member, book.code, book.value * worth * book.factor, lot)
        if book.sellable and self._free_t(access, book) >= lot:
            worth = self.worth_minor(held - lot * book.value)
            access.sell(self.member, book.code, book.value * worth * book.factor, lot)

    def _free_t(self, access: MarketAccess, book: FirmBook) -> int:
        free_t = access.account_t(self.registry, self.account, book.unit_type)
        return free_t + access.free_claim_t(self.member, book.code)

    # ------------------------------------------------------------ auctions

    def auction_demand(self, access: MarketAccess, book: FirmBook) -> list[tuple[Fraction, int]]:
        """Return its sealed bids for an auction of `book`'s unit: (price, tonnes) steps.

        At each of `AUCTION_BID_STEPS` of the worth of its whole shortfall, the tonnes it
        would buy at that price rather than abate, beyond what its higher bids ask: a
        truthful demand schedule for a uniform-price auction.
        """
        plan = self.plan
        if plan is None:
            return []
        held = self.covered(self.holdings_units(access))
        short_t = plan.need_t - held
        if short_t < book.lot_t:
            return []
        top = self.worth_minor(held)
        bids: list[tuple[Fraction, int]] = []
        asked_t = 0
        for step in AUCTION_BID_STEPS:
            price = top * step
            target = self.target_t(price)
            wanted_t = short_t if target is None else target - held
            quantity_t = math.floor(wanted_t - asked_t) // book.lot_t * book.lot_t
            if quantity_t > 0:
                bids.append((price * book.factor, quantity_t))
                asked_t += quantity_t
        return bids


__all__ = ["AUCTION_BID_STEPS", "FirmAgent", "FirmBook", "FirmYearPlan"]
