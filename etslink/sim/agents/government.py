"""A registry's government in a run: scheduled auctions, the reserve and the price controls.

Each registry has a government (`world.governments`): an exchange member holding a
reserve account in its registry. It

- **auctions** `share` of each year's cap (`[registry.auctions]`, or the preset's
  `auction_share` for the year), in `per_year` sealed-bid uniform-price auctions
  (`exchange.auction`) on sessions its regime's auction calendar offers
  (`compliance.business_days.auction_sessions`: the WCI's February, May, August and
  November, Korea's every month, the EU's up to twelve a month), each in the middle of
  its share of them; a regime without an auction calendar offers every session. The
  year's volume is floor(free allocation × share / (1 − share)), so that auctioned /
  (free + auctioned) = share; it is issued (vintage = the year) into the government's
  account at the year's start and split evenly over the year's auctions, the remainder
  going to the last. The reserve price is the scenario's `reserve_price_minor`, else the
  regime's: its price floor for the year (escalated; the WCI's auction reserve price), or
  for Korea a floor from recent market prices
  (`compliance.stability.recent_market_reserve_minor`; an auction with no market price in
  the last three months to set it from waits, its volume kept for later), else 1 (no
  reserve). Unsold tonnes are offered again at later auctions, the next year's included
  ("keep"), or cancelled ("cancel"). Where the regime cancels an auction that clears
  too far under the secondary market (the EU: below (1 − `auction_cancellation_discount`)
  × the last settlement price before it, Regulation 1031/2010 Art. 7(6)), nothing is
  sold and its volume is kept for later auctions: spread evenly over the rest of the
  year's, the next year's included — not, as Art. 7(6) has it, over the next four;
- holds a **reserve** (`[registry.reserve]`, issued at the run's start, vintage = the
  first year). Where the regime has a price ceiling, the government offers the reserve
  at the ceiling on every trading day (a day order, like everyone's): nobody pays more
  than the ceiling while the reserve lasts (California's price ceiling sale). Where the
  regime has a reserve-release trigger (Korea: 6 months at ≥ 3× the two previous years'
  mean), it checks the month's prices at each month's end and, when the trigger fires,
  auctions `reserve_release_share_max` of what the reserve held at the start on the next
  trading day;
- records the **price controls' events** of each year (`compliance.stability`): floor
  breaches, ceilings reached and triggers, from the market's monthly volume-weighted
  prices.

Auction proceeds are paid to the government's clearing member. What the government
sells is supply the competitive-equilibrium report counts into the cap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

from compliance.business_days import auction_sessions
from compliance.regime import AuctionReserve, Regime
from compliance.stability import (
    MonthlyPrice,
    StabilityEvent,
    StabilityEventKind,
    auction_cancellation_minor,
    evaluate_stability,
    price_ceiling_minor,
    price_floor_minor,
    recent_market_reserve_minor,
)
from etslink.scenario import AuctionPlan, ScenarioRegistry
from etslink.sim.record import AuctionRecord
from etslink.sim.world import Holder, World
from exchange.auction import Auction, AuctionRules, UnsoldRule
from exchange.book import Instrument

AUCTIONS_PER_YEAR_DEFAULT = 4


@dataclass(frozen=True, slots=True)
class AuctionBid:
    """A bid the run places for a member: price per tonne and tonnes (whole lots)."""

    bidder: str
    price_minor: int
    quantity_t: int


@dataclass
class Government:
    """One registry's government: its plan, its holder and what it has done."""

    registry: ScenarioRegistry
    holder: Holder
    instrument: Instrument | None  # its home allowance's listing, if listed
    reserve_left_t: int = 0
    reserve_start_t: int = 0
    auction_left_t: int = 0  # this year's scheduled volume not yet offered
    auctions_left: int = 0
    release_due_t: int = 0  # a trigger fired: auction this from the reserve next
    records: list[AuctionRecord] = field(default_factory=list)
    events: list[StabilityEvent] = field(default_factory=list)
    auctioned_t: dict[int, int] = field(default_factory=dict)  # year → scheduled volume
    reserve_at_start_t: dict[int, int] = field(default_factory=dict)  # year → reserve left
    ceiling_sold_t: dict[int, int] = field(default_factory=dict)  # year → t sold at ceiling
    _next_auction: int = 0

    @property
    def regime(self) -> Regime:
        return self.registry.regime

    @property
    def plan(self) -> AuctionPlan | None:
        """Return the scenario's plan, or the default one when the preset auctions."""
        if self.registry.auctions is not None:
            return self.registry.auctions
        if any(rule.auction_share > 0 for rule in self.regime.allocation):
            return AuctionPlan(per_year=AUCTIONS_PER_YEAR_DEFAULT)
        return None

    # ------------------------------------------------------------ the plan

    def auction_share(self, year: int) -> Fraction:
        plan = self.plan
        if plan is None:
            return Fraction(0)
        if plan.share is not None:
            return plan.share
        rule = self.regime.allocation_rule(year)
        return Fraction(0) if rule is None else rule.auction_share

    def auction_days(self, sessions: Sequence[date]) -> set[int]:
        """Return the numbers (1-based) of the year's `sessions` that hold its auctions."""
        plan = self.plan
        if plan is None or self.instrument is None:
            return set()
        return auction_sessions(self.regime.trading, sessions, plan.per_year)

    def auction_reserve_minor(
        self, on: date, prices: Callable[[], Sequence[tuple[date, int]]]
    ) -> int | None:
        """Return the reserve price of an auction on `on`; `prices` gives the market's daily
        prices so far, read only where the regime sets the reserve from them. None when it
        does and the market has no recent price."""
        plan = self.plan
        if plan is not None and plan.reserve_price_minor is not None:
            return plan.reserve_price_minor
        if self.regime.stability.auction_reserve is AuctionReserve.RECENT_MARKET:
            return recent_market_reserve_minor(prices(), on)
        return self.reserve_price_minor(on.year)

    def year_reserve_minor(self, year: int) -> int:
        """Return the lowest reserve price the year's auctions applied, else the year's
        fixed one (what the benchmark offers the auctioned volume at)."""
        applied = [r.reserve_price_minor for r in self.records if r.day.startswith(f"{year}-")]
        return min(applied, default=self.reserve_price_minor(year))

    def reserve_price_minor(self, year: int) -> int:
        """Return the plan's reserve price, else the regime's floor for `year`, else 1."""
        plan = self.plan
        if plan is not None and plan.reserve_price_minor is not None:
            return plan.reserve_price_minor
        floor = price_floor_minor(self.regime.stability, year)
        if floor is not None:
            return max(1, floor)
        return 1

    def ceiling_minor(self, year: int) -> int | None:
        return price_ceiling_minor(self.regime.stability, year)

    # ------------------------------------------------------------ the year

    def open_year(self, world: World, year: int, free_t: int, sessions: Sequence[date]) -> None:
        """Issue the year's auction volume; schedule its auctions on its `sessions`."""
        share = self.auction_share(year)
        self.auctions_left = len(self.auction_days(sessions))
        volume_t = math.floor(free_t * share / (1 - share)) if share and self.auctions_left else 0
        self.auctioned_t[year] = volume_t
        self.reserve_at_start_t[year] = self.reserve_left_t
        # What earlier auctions left unsold ("keep") is offered again with this year's.
        self.auction_left_t += volume_t
        if volume_t:
            world.registries[self.registry.code].issue(
                self.regime.allowance_unit_type, year, volume_t, account=self.holder.account_id
            )

    def issue_reserve(self, world: World, year: int) -> None:
        """Issue the reserve at the run's start (vintage `year`)."""
        reserve = self.registry.reserve
        if reserve is None:
            return
        world.registries[self.registry.code].issue(
            self.regime.allowance_unit_type, year, reserve.size_t, account=self.holder.account_id
        )
        self.reserve_left_t = self.reserve_start_t = reserve.size_t

    def next_supply_t(self) -> int:
        """Return the tonnes the next scheduled auction offers (even split, rest at the last)."""
        if self.auctions_left <= 0:
            return 0
        supply_t = self.auction_left_t // self.auctions_left
        if self.auctions_left == 1:
            supply_t = self.auction_left_t
        assert self.instrument is not None
        return supply_t // self.instrument.lot_t * self.instrument.lot_t

    def hold_auction(
        self,
        world: World,
        moment: datetime,
        kind: str,
        supply_t: int,
        bids: Sequence[AuctionBid],
        reserve_price_minor: int,
        secondary_price_minor: int | None = None,
    ) -> AuctionRecord:
        """Run one auction of `supply_t` at `reserve_price_minor` from the government's
        account; record it. Where the regime cancels an auction clearing too far below
        the secondary market (`auction_cancellation_minor`), `secondary_price_minor` is
        the price it compares with: the last settlement price before the auction."""
        assert self.instrument is not None and supply_t > 0
        plan = self.plan or AuctionPlan()
        unsold = UnsoldRule.CANCEL if plan.unsold == "cancel" else UnsoldRule.RETURN_TO_ISSUER
        if kind != "scheduled":
            unsold = UnsoldRule.RETURN_TO_ISSUER  # an unsold release stays in the reserve
        year = moment.year
        cancel_below = auction_cancellation_minor(self.regime.stability, secondary_price_minor)
        rules = AuctionRules(
            reserve_price_minor=max(1, reserve_price_minor),
            lot_t=self.instrument.lot_t,
            tick_minor=self.instrument.tick_minor,
            bidder_share_max=plan.bidder_share_max,
            unsold=unsold,
            cancel_below_minor=cancel_below,
        )
        exchange = world.exchange
        accounts = {
            member.member_id: member.account
            for member in exchange.members.values()
            if member.registry == self.registry.code and member.member_id != self.holder.member_id
        }
        self._next_auction += 1
        auction = Auction(
            f"{self.registry.code}-{year}-{self._next_auction}",
            supply_t,
            self.regime.allowance_unit_type,
            self.instrument.currency,
            rules,
            exchange.clearing,
            world.registries[self.registry.code],
            self.holder.account_id,
            self.holder.member_id,
            accounts,
        )
        placed = 0
        for number, bid in enumerate(bids, start=1):
            if bid.bidder not in accounts or bid.price_minor < rules.reserve_price_minor:
                continue
            free = exchange.clearing.balance(bid.bidder, self.instrument.currency).free
            quantity_t = min(bid.quantity_t, free // bid.price_minor)
            quantity_t = quantity_t // rules.lot_t * rules.lot_t
            price_minor = bid.price_minor // rules.tick_minor * rules.tick_minor
            if quantity_t <= 0 or price_minor < rules.reserve_price_minor:
                continue
            auction.bid(f"b{number}", bid.bidder, price_minor, quantity_t)
            placed += 1
        result = auction.clear()
        if result.cancelled:
            unsold = UnsoldRule.RETURN_TO_ISSUER  # a cancelled auction's volume goes on
        record = AuctionRecord(
            moment.date().isoformat(),
            self.registry.code,
            self.instrument.code,
            kind,
            supply_t,
            rules.reserve_price_minor,
            result.clearing_price_minor,
            result.sold_t,
            result.unsold_t,
            unsold.value,
            placed,
            len(result.by_bidder()),
            result.proceeds_minor,
            secondary_price_minor if cancel_below is not None else None,
            result.cancelled,
            self._cancellation_note(result.clearing_price_minor, secondary_price_minor)
            if result.cancelled
            else "",
        )
        self.records.append(record)
        return record

    def _cancellation_note(self, clearing_minor: int, secondary_minor: int | None) -> str:
        discount = self.regime.stability.auction_cancellation_discount
        assert discount is not None and secondary_minor is not None
        share = 100 * (1 - discount)
        percent = str(share) if share.denominator == 1 else f"{float(share):.4g}"
        return (
            f"cancelled: clearing price {clearing_minor:,} below {percent}% of secondary "
            f"{secondary_minor:,} (Reg. 1031/2010 Art. 7(6)); its volume goes to later auctions"
        )

    def after_scheduled(self, record: AuctionRecord) -> None:
        """Book a scheduled auction: what is left to offer this year, unsold kept or not."""
        self.auctions_left -= 1
        self.auction_left_t -= record.supply_t
        if record.unsold_rule == UnsoldRule.RETURN_TO_ISSUER.value:
            self.auction_left_t += record.unsold_t  # offered again at a later auction

    def skip_scheduled(self) -> None:
        """Pass a scheduled auction that has nothing to offer; its volume moves on."""
        self.auctions_left -= 1

    def after_release(self, record: AuctionRecord) -> None:
        self.reserve_left_t -= record.sold_t
        self.release_due_t = 0

    # ------------------------------------------------------------ price controls

    def check_month(self, year: int, month: int, series: Sequence[MonthlyPrice]) -> None:
        """Record the month's price-control events; a fired trigger schedules a release."""
        if not series or series[-1].year != year or series[-1].month != month:
            return  # no trade this month: nothing for the controls to see
        events = [
            event
            for event in evaluate_stability(self.regime.stability, year, series)
            if event.month == month
        ]
        self.events.extend(events)
        share = self.regime.stability.reserve_release_share_max
        for event in events:
            if event.kind is StabilityEventKind.RESERVE_RELEASE_TRIGGERED and share > 0:
                assert self.instrument is not None
                release_t = min(self.reserve_left_t, math.floor(self.reserve_start_t * share))
                self.release_due_t = release_t // self.instrument.lot_t * self.instrument.lot_t

    def ceiling_offer_t(self) -> int:
        """Return the reserve tonnes to offer at the ceiling today (whole lots)."""
        if self.instrument is None or self.reserve_left_t <= 0:
            return 0
        return self.reserve_left_t // self.instrument.lot_t * self.instrument.lot_t

    def reserve_sold_t(self, year: int) -> int:
        """Return the reserve tonnes sold in `year`: at the ceiling and by release auctions."""
        released_t = sum(
            r.sold_t for r in self.records if r.kind != "scheduled" and r.day.startswith(f"{year}-")
        )
        return released_t + self.ceiling_sold_t.get(year, 0)

    def record_ceiling_sale(self, year: int, quantity_t: int) -> None:
        self.reserve_left_t -= quantity_t
        self.ceiling_sold_t[year] = self.ceiling_sold_t.get(year, 0) + quantity_t


__all__ = ["AuctionBid", "AuctionRecord", "Government"]
