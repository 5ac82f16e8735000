"""A scenario's run: its world, its agents and its timeline on the kernel, then its reports.

`run_scenario(scenario, out_dir)` builds the world (`etslink.sim.world`) and the agents
(`etslink.sim.setup`), puts the scenario's calendar on the kernel
(`etslink.sim.timeline`) and runs it; the frozen `RunRecord` it leaves is what the reports
(`etslink.reports`) read. The same scenario and seed give the same bytes: every agent
draws from its own stream, agents act in an order derived from (seed, session, id), no
wall clock is read.

What happens at each event:

- **A link opens or closes**: firms and dealers learn which books they may now buy on
  through it.
- **A year opens**: firms get their forecast, free allocation (`etslink.sim.allocation`)
  and the year's bank value; governments issue the year's auction volume; firms short at
  the end of the last period borrow (`compliance_cycle.borrow`); traders draw values.
- **Auctions** (the morning of their session): each government sells what is due to
  sealed bids — each short firm its truthful demand schedule, traders a lot each — and a
  reserve release a trigger set off.
- **A session**: the governments offer their reserves at the price ceiling, participants
  place their orders, then every other agent acts once, in the session's order
  (`kernel.acting_order`). At the close, day orders still resting are cancelled and the
  day's prices recorded.
- **A month ends**: its volume-weighted prices go to the price controls.
- **A year closes**: firms report, are verified and surrender (`compliance_cycle`).
- **A programme exits** (`etslink.sim.exits`): its links terminate at the gateway, its
  open period is settled (or waived), its units are cancelled, frozen or kept at home; its
  government, firms and (unless kept at home) book stop for the rest of the run.
- **A deadline falls due**: the compliance books settle it. After the last year the
  clock moves past the surrender deadline of the last period that ends inside the run; a
  period running on past the run stays open and is reported as pending.
"""

from __future__ import annotations

import gc
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import islice
from pathlib import Path
from typing import Any

from compliance.book import ComplianceBook
from compliance.calendar import DeadlineKind
from compliance.mrv import Verifier
from compliance.stability import MonthlyPrice, price_ceiling_minor, price_floor_minor
from etslink.reports import charts, csvs, summary
from etslink.scenario import OpenPeriodRule, ProgrammeExit, Scenario, UnitFate
from etslink.sessions.compliance import verifier_key
from etslink.sim import compliance_cycle, exits, setup, timeline
from etslink.sim.access import MarketAccess, Quote
from etslink.sim.agents.dealer import DealerAgent
from etslink.sim.agents.firm import FirmAgent, FirmYearPlan
from etslink.sim.agents.government import AuctionBid, Government
from etslink.sim.agents.zi_trader import ZiTraderAgent
from etslink.sim.allocation import YearAllocation, forecast_t, year_allocation
from etslink.sim.kernel import (
    AuctionsDue,
    DeadlineDue,
    Kernel,
    LinkClosed,
    LinkOpened,
    MonthEnded,
    ProgrammeExited,
    SessionClosed,
    SessionOpened,
    YearClosed,
    YearOpened,
    acting_order,
    agent_random,
)
from etslink.sim.participants import Prompt
from etslink.sim.record import (
    ExitRecord,
    FirmFacts,
    GovernmentYear,
    HolderEnd,
    PriceRow,
    RecordBuilder,
    RunRecord,
    SettlementRow,
)
from etslink.sim.valuation import bank_value_minor, foreign_share_max
from etslink.sim.world import World, build_world
from gateway.links import LinkState

# Scheduled reconciliation in a run: weekly, not at every midnight as `etslink link` does
# (each statement is journaled whole, and a long run's foreign holdings only grow).
RECONCILIATION_INTERVAL = timedelta(days=7)
SETTLE_DAYS_AFTER_LAST_DEADLINE = 1
Progress = Callable[[int, int], None]  # (sessions done, sessions in all)
Actor = FirmAgent | ZiTraderAgent | DealerAgent


@dataclass
class RunResult:
    """What a run did (its record), and where its reports are."""

    record: RunRecord
    out_dir: Path
    summary: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    world: World | None = None
    interrupted: bool = False  # Ctrl-C: the reports hold what was done so far
    # The run's store (its journals), removed with this result; None for a given store.
    store: tempfile.TemporaryDirectory[str] | None = None

    @property
    def scenario(self) -> str:
        return self.record.scenario.name

    @property
    def trades(self) -> Sequence[Any]:
        return self.record.trades

    @property
    def prices(self) -> Sequence[PriceRow]:
        return self.record.prices

    @property
    def firm_years(self) -> Sequence[Any]:
        return self.record.firm_years


class Simulation:
    """One run's live parts: the world, the agents, the kernel, what is being recorded."""

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
        calendar = scenario.calendar
        self.years = min(years or calendar.years, calendar.years)
        self.days = min(days or calendar.trading_days_per_year, calendar.trading_days_per_year)
        self.last_year = calendar.start.year + self.years - 1
        first = calendar.start.year
        # Each year's session days (business days, `timeline.year_sessions`), cut to `days`.
        self.sessions: dict[int, list[date]] = {
            year: timeline.year_sessions(scenario, year)[: self.days]
            for year in range(first, self.last_year + 1)
        }
        books = setup.make_books(scenario)
        self.access = MarketAccess(self.world, books)
        self.record = RecordBuilder(scenario, books)
        self.firms = setup.make_firms(scenario, self.world, books)
        self.traders = setup.make_zi_traders(scenario, self.world, books)
        self.dealers = setup.make_dealers(scenario, self.world, books)
        self.governments = setup.make_governments(scenario, self.world)
        self.seats = setup.make_seats(scenario, self.world, prompt)
        setup.endow_firms(scenario, self.world, self.firms)
        self.actors: dict[str, Actor] = {a.agent_id: a for a in self._actors()}
        self.allocated: dict[tuple[str, int], YearAllocation] = {}
        self.borrowing = compliance_cycle.Borrowing({}, {})
        self.monthly: dict[str, dict[tuple[int, int], tuple[int, int]]] = {}
        self.sessions_done = 0
        self.progress: Progress | None = None
        self.exited: dict[str, ProgrammeExit] = {}  # registry → its exit, once it happened
        self.links_terminated: set[str] = set()
        self._accredit_verifiers()
        self.kernel = Kernel(self.world.clock.now(), self.world.exchange.advance)
        self._subscribe()

    def _actors(self) -> list[Actor]:
        return [*self.firms, *self.traders, *self.dealers]

    def _accredit_verifiers(self) -> None:
        for code, book in sorted(self.world.books.items()):
            verifier = compliance_cycle.verifier_id(code)
            key = verifier_key(f"{self.scenario.seed}", verifier)
            book.accredit_verifier(Verifier(verifier, f"Verifier of {code}", key.verify_key))

    def _subscribe(self) -> None:
        kernel = self.kernel
        kernel.subscribe(LinkOpened, self.on_link_opened)
        kernel.subscribe(LinkClosed, self.on_link_closed)
        kernel.subscribe(DeadlineDue, self.on_deadline)
        kernel.subscribe(ProgrammeExited, self.on_programme_exit)
        kernel.subscribe(YearClosed, self.on_year_closed)
        kernel.subscribe(YearOpened, self.on_year_opened)
        kernel.subscribe(AuctionsDue, self.on_auctions)
        kernel.subscribe(SessionOpened, self.on_session)
        kernel.subscribe(SessionClosed, self.on_session_closed)
        kernel.subscribe(MonthEnded, self.on_month_ended)

    # ------------------------------------------------------------ running

    def run(self, progress: Progress | None = None) -> None:
        """Put the run's calendar on the kernel and run it; call `progress` per session."""
        self.progress = progress
        start = self.kernel.now
        end = datetime(self.last_year + 1, 1, 1, tzinfo=UTC)
        rounds_before = 0
        for index, (year, sessions) in enumerate(sorted(self.sessions.items())):
            auction_days = {code: g.auction_days(sessions) for code, g in self.governments.items()}
            entries = timeline.year_entries(
                self.scenario, year, index, sessions, rounds_before, auction_days
            )
            self.kernel.schedule_all(entries)
            rounds_before += len(sessions)
        self.kernel.schedule_all(timeline.link_entries(self.scenario, start, end))
        self.kernel.schedule_all(timeline.deadline_entries(self.scenario, start, end))
        self.kernel.schedule_all(timeline.exit_entries(self.scenario, start, end))
        self.kernel.run()
        self._finish()
        self.world.check_invariants()

    def _finish(self) -> None:
        """Advance past every deadline of the last year's periods, settling on the way."""
        moments = []
        for code, book in self.world.books.items():
            if code in self.exited:
                continue  # its periods were closed at the exit
            calendar = book.regime.calendar
            if self.last_year < calendar.first_year:
                continue
            period = calendar.period_of(self.last_year)
            if calendar.period_last_year(period) != self.last_year:
                # The period runs on past the run: its deadline is left pending (reported).
                if period - 1 < calendar.first_year:
                    continue
                period = calendar.period_of(period - 1)
            deadline = calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
            if deadline is not None:
                moments.append(deadline.due)
        now = self.world.clock.now()
        end = max(max(moments, default=now), now) + timedelta(days=SETTLE_DAYS_AFTER_LAST_DEADLINE)
        self.world.exchange.advance(end)
        self._fire_deadlines()

    def _fire_deadlines(self) -> None:
        for code in sorted(self.world.books):
            if code not in self.exited:
                self.world.books[code].advance()

    # ------------------------------------------------------------ links and deadlines

    def on_link_opened(self, event: LinkOpened, moment: datetime) -> None:
        self._set_link(event.link_id, opened=True)

    def on_link_closed(self, event: LinkClosed, moment: datetime) -> None:
        self._set_link(event.link_id, opened=False)

    def _set_link(self, link_id: str, *, opened: bool) -> None:
        """Tell firms and dealers which books they may buy on through the link now."""
        link = next(item for item in self.scenario.links if item.link_id == link_id)
        if link.state is not LinkState.ACTIVE or (opened and link_id in self.links_terminated):
            return
        for firm in self.firms:
            for book in firm.books:
                venue = self.access.books[book.code].registry
                carries = book.unit_type in link.unit_types
                if book.cross_registry and carries and link.permits_direction(venue, firm.registry):
                    (firm.open_links.add if opened else firm.open_links.discard)(book.code)
        for dealer in self.dealers:
            for route in dealer.routes:
                source = self.access.books[route.source]
                target = self.access.books[route.target]
                if link.permits_direction(source.registry, target.registry):
                    key = (route.source, route.target)
                    (dealer.open_routes.add if opened else dealer.open_routes.discard)(key)

    def on_deadline(self, event: DeadlineDue, moment: datetime) -> None:
        if event.registry not in self.exited:
            self.world.books[event.registry].advance()

    def on_programme_exit(self, event: ProgrammeExited, moment: datetime) -> None:
        """End a registry's programme (`etslink.sim.exits`, the steps in its docstring)."""
        item = self.scenario.exit_of(event.registry)
        assert item is not None and item.registry not in self.exited, event
        code = item.registry
        links, ended = exits.terminate_links(
            self.world, self.scenario, code, exits.exit_reason(item)
        )
        self.links_terminated.update(links)
        for link_id in links:
            self._set_link(link_id, opened=False)
        book = self.world.books[code]
        firms = [f for f in self.firms if f.registry == code]
        if item.open_period is OpenPeriodRule.SETTLE_TO_DATE:
            self._settle_to_date(item, book, firms, moment)
        price = self._exit_price(code, moment.year, firms)
        periods = exits.close_open_periods(item, book, firms, self.record.firm_years, price)
        units_t = exits.apply_fate(self.world, item)
        self.exited[code] = item
        self.record.exits.append(
            ExitRecord(
                code,
                item.day.isoformat(),
                item.units.value,
                item.open_period.value,
                links,
                ended,
                units_t,
                periods,
            )
        )
        self._stop_agents(item)

    def _settle_to_date(
        self,
        item: ProgrammeExit,
        book: ComplianceBook,
        firms: Sequence[FirmAgent],
        moment: datetime,
    ) -> None:
        """Let each firm abate, emit and surrender for the exit year up to the exit."""
        share = exits.exit_year_share(self.scenario, moment)
        if share == 0:
            return  # the exit opens the year: nothing was emitted in it yet
        bank = Fraction(0) if item.units is not UnitFate.DOMESTIC else None
        for firm in firms:
            assert firm.plan is not None and firm.plan.year == moment.year
            self.record.firm_years.append(
                exits.settle_firm_to_date(
                    self.access,
                    book,
                    firm,
                    share,
                    item.day,
                    self.allocated[(firm.member, moment.year)].at_open_t,
                    firm.plan.bank_minor if bank is None else bank,
                    self.borrowing,
                )
            )

    def _exit_price(self, code: str, year: int, firms: Sequence[FirmAgent]) -> int | None:
        """Return the exit year's average price so far, for penalties that multiply it
        (None: no trade and no firm's year to stand in for one)."""
        vwap = self._year_vwap(self.world.books[code].regime.allowance_unit_type, year)
        years = [r for r in self.record.firm_years if r.registry == code and r.year == year]
        if firms and len(years) == len(firms):
            return compliance_cycle.average_price_minor(vwap, firms, years)[0]
        return None if vwap is None or vwap < 1 else math.floor(vwap)

    def _stop_agents(self, item: ProgrammeExit) -> None:
        """Take the exited registry's firms, and its book's traders unless units stay
        tradable at home, out of the sessions; close its venue's books to everyone."""
        code = item.registry
        for firm in self.firms:
            if firm.registry == code:
                self.actors.pop(firm.agent_id, None)
        if item.units is UnitFate.DOMESTIC:
            return
        closed = {book for book, info in self.access.books.items() if info.registry == code}
        self.access.closed |= closed
        for trader in self.traders:
            if trader.book.code in closed:
                self.actors.pop(trader.agent_id, None)

    # ------------------------------------------------------------ the year

    def on_year_opened(self, event: YearOpened, moment: datetime) -> None:
        year = event.year
        by_registry: dict[str, dict[str, int]] = {}
        for firm in self.firms:
            if firm.registry in self.exited:
                continue  # its programme ended: no allocation
            item = self.scenario.registry(firm.registry)
            granted = year_allocation(firm.entity, item.regime, year, event.index).scaled(
                item.overrides.cap_scale
            )
            by_registry.setdefault(firm.registry, {})[firm.member] = granted.at_open_t
            self.allocated[(firm.member, year)] = granted
        for code in sorted(by_registry):
            self.world.books[code].allocate(year, by_registry[code])
        for code, government in sorted(self.governments.items()):
            if code in self.exited:
                continue
            free_t = sum(by_registry.get(code, {}).values())
            government.open_year(self.world, year, free_t, self.sessions[year])
        compliance_cycle.borrow(self.access, self.world.books, self.firms, year, self.borrowing)
        self._plan_firms(year, event.index)
        bank = {code: self._bank_value(code, year) for code in self.world.books}
        for trader in self.traders:
            trader.open_year(bank[trader.registry])
        for dealer in self.dealers:
            dealer.open_year(bank, len(self.sessions[year]))

    def _bank_value(self, code: str, year: int) -> Fraction:
        regime = self.world.books[code].regime
        return bank_value_minor(regime, year, self.last_year, self.scenario.interest_rate)

    def _publish_auction_supply(self) -> None:
        for code, government in self.governments.items():
            left_t = government.auction_left_t if government.auctions_left > 0 else 0
            if code in self.exited:
                left_t = 0
            self.access.auction_supply_t[code] = left_t

    def _plan_firms(self, year: int, index: int) -> None:
        totals: dict[str, int] = {}
        forecasts: dict[str, int] = {}
        for firm in self.firms:
            forecasts[firm.member] = forecast_t(firm.entity, index)
            totals[firm.registry] = totals.get(firm.registry, 0) + forecasts[firm.member]
        for firm in self.firms:
            if firm.registry in self.exited:
                continue  # its programme ended: no year to plan
            item = self.scenario.registry(firm.registry)
            forecast = forecasts[firm.member]
            carried = self.world.books[firm.registry].carried_t(firm.member)
            firm.start_year(
                FirmYearPlan(
                    year,
                    forecast,
                    forecast + carried,
                    self._bank_value(firm.registry, year),
                    foreign_share_max(item.regime, year),
                    Fraction(forecasts[firm.member], max(1, totals[firm.registry])),
                    self.allocated[(firm.member, year)].true_up_t,
                )
            )

    def on_year_closed(self, event: YearClosed, moment: datetime) -> None:
        self._fire_deadlines()
        for code in sorted(self.world.books):
            book = self.world.books[code]
            calendar = book.regime.calendar
            if (
                code in self.exited
                or event.year < calendar.first_year
                or (calendar.last_year is not None and event.year > calendar.last_year)
            ):
                continue
            firms = [f for f in self.firms if f.registry == code]
            years = [
                compliance_cycle.settle_firm(
                    self.access,
                    book,
                    firm,
                    self.allocated[(firm.member, event.year)],
                    self.scenario.seed,
                    self.borrowing,
                )
                for firm in firms
            ]
            self.record.firm_years.extend(years)
            home = book.regime.allowance_unit_type
            price, source = compliance_cycle.average_price_minor(
                self._year_vwap(home, event.year), firms, years
            )
            self.record.average_prices[(code, event.year)] = (price, source)
            book.set_average_price(event.year, price)

    def _year_vwap(self, code: str, year: int) -> Fraction | None:
        rows = [
            p for p in self.record.prices if p.instrument == code and p.day.startswith(f"{year}-")
        ]
        volume_t = sum(p.volume_t for p in rows)
        if volume_t == 0:
            last = self.access.last_minor.get(code)
            return None if last is None else Fraction(last)
        return Fraction(sum(p.notional_minor for p in rows), volume_t)

    # ------------------------------------------------------------ auctions

    def on_auctions(self, event: AuctionsDue, moment: datetime) -> None:
        for code in event.registries:
            if code in self.exited:
                continue  # its programme ended: no auction
            government = self.governments[code]
            supply_t = government.next_supply_t()
            if supply_t <= 0:
                government.skip_scheduled()  # less than a lot left to offer
                continue
            reserve = self._auction_reserve(government, moment)
            if reserve is None:
                government.skip_scheduled()  # no recent market price to set its reserve from
                continue
            bids = self._auction_bids(government, reserve)
            secondary = self._secondary_price(government, moment)
            record = government.hold_auction(
                self.world, moment, "scheduled", supply_t, bids, reserve, secondary
            )
            government.after_scheduled(record)
        self._publish_auction_supply()

    def _release_reserves(self, moment: datetime) -> None:
        for code, government in sorted(self.governments.items()):
            if government.release_due_t > 0 and code not in self.exited:
                reserve = self._auction_reserve(government, moment)
                if reserve is None:
                    continue  # the release waits for a market price to set its reserve from
                self._reserve_home(government)
                bids = self._auction_bids(government, reserve)
                record = government.hold_auction(
                    self.world, moment, "reserve release", government.release_due_t, bids, reserve
                )
                government.after_release(record)

    def _reserve_home(self, government: Government) -> None:
        """Bring the reserve the price ceiling's offers hold in custody back to the
        government's account, so that a release auction takes reserve units, not the
        auction volume beside them (today's ceiling offer deposits what is left again)."""
        assert government.instrument is not None
        self.access.withdraw_all(government.holder.member_id, government.instrument.code)

    def _auction_reserve(self, government: Government, moment: datetime) -> int | None:
        """Return an auction's reserve price from the government's rule and the daily
        settlement prices of its allowance's book so far."""
        instrument = government.instrument
        assert instrument is not None

        def prices() -> list[tuple[date, int]]:
            return [
                (date.fromisoformat(row.day), row.settle_minor)
                for row in self.record.settlements
                if row.instrument == instrument.code and row.settle_minor is not None
            ]

        return government.auction_reserve_minor(moment.date(), prices)

    def _secondary_price(self, government: Government, moment: datetime) -> int | None:
        """Return the secondary price an auction on `moment` is compared with: its
        allowance's last settlement price before the auction's day (auctions run before
        the day's session). None where the regime cancels no auction, or none is known."""
        instrument = government.instrument
        assert instrument is not None
        if government.regime.stability.auction_cancellation_discount is None:
            return None
        day = moment.date().isoformat()
        return next(
            (
                row.settle_minor
                for row in reversed(self.record.settlements)
                if row.instrument == instrument.code
                and row.settle_minor is not None
                and row.day < day
            ),
            None,
        )

    def _auction_bids(self, government: Government, reserve_minor: int) -> list[AuctionBid]:
        """Return the sealed bids: each short firm its demand schedule, traders a lot each.

        Bids go in an order derived from the seed (submission order breaks the last ties).
        """
        instrument = government.instrument
        assert instrument is not None
        bids: list[AuctionBid] = []
        for firm in self.firms:
            book = next((b for b in firm.books if b.code == instrument.code), None)
            if book is None or firm.registry != government.registry.code:
                continue
            for limit, quantity_t in firm.auction_demand(self.access, book, reserve_minor):
                bids.append(AuctionBid(firm.member, limit, quantity_t))
        for trader in self.traders:
            if trader.book.code == instrument.code:
                bid = trader.auction_bid(self.access)
                if bid is not None:
                    bids.append(AuctionBid(trader.member, *bid))
        order = agent_random(self.scenario.seed, f"auction:{government.registry.code}")
        order.shuffle(bids)
        return bids

    # ------------------------------------------------------------ a session

    def on_session(self, event: SessionOpened, moment: datetime) -> None:
        self.access.sessions_left = len(self.sessions[event.year]) - event.number
        self._release_reserves(moment)
        self._ceiling_offers(event.year)
        for seat in self.seats:
            seat.act(self.world, self.access, moment, event.round)
        for agent_id in acting_order(self.scenario.seed, event.round, self.actors):
            self.actors[agent_id].act(self.access)

    def _ceiling_offers(self, year: int) -> None:
        """Offer each government's reserve at its price ceiling today (a day order).

        Only the reserve goes into custody (what the offer lacks beyond the government's
        claim there): the scheduled auctions' volume stays in its account for them.
        """
        for code, government in sorted(self.governments.items()):
            if code in self.exited:
                continue  # its programme ended: no reserve sale
            ceiling = government.ceiling_minor(year)
            offer_t = government.ceiling_offer_t()
            if ceiling is None or offer_t <= 0 or government.instrument is None:
                continue
            member, code = government.holder.member_id, government.instrument.code
            self.access.sell(member, code, ceiling, offer_t, deposit_all=False)

    def on_session_closed(self, event: SessionClosed, moment: datetime) -> None:
        self._record_settlements(moment)
        cancelled = self.access.close_session()
        for seat in self.seats:
            seat.tell_cancelled(cancelled)
        today = self._todays_trades()
        self._record_day(moment, today)
        for seat in self.seats:
            seat.tell_fills(today)
        for government in self.governments.values():
            sold_t = sum(t.quantity_t for t in today if t.seller == government.holder.member_id)
            if sold_t:
                government.record_ceiling_sale(event.year, sold_t)
        self.sessions_done += 1
        if self.progress is not None:
            self.progress(self.sessions_done, sum(len(days) for days in self.sessions.values()))

    def _record_settlements(self, moment: datetime) -> None:
        """Record each book's quotes and settlement price before day orders are cancelled."""
        day = moment.date().isoformat()
        today = self._todays_trades(peek=True)
        last_today = {trade.instrument: trade.price_minor for trade in today}
        for code in sorted(self.access.books):
            quote = self.access.quote(code)
            last = last_today.get(code, quote.last_minor)
            # A trade today settles the day at it, moved by the closing quotes; without one,
            # the last settlement is moved by them.
            basis = last_today.get(code, quote.settle_minor)
            settle = Quote(quote.bid_minor, quote.ask_minor, last, basis).reference_minor()
            if settle is not None:
                self.access.settle_minor[code] = settle
                self.record.settlements.append(
                    SettlementRow(day, code, quote.bid_minor, quote.ask_minor, last, settle)
                )

    def _todays_trades(self, *, peek: bool = False) -> list[Any]:
        """Return the trades since the last close (only those: copying history is quadratic)."""
        exchange = self.world.exchange
        new_t = len(exchange.trades) - self._trades_seen
        if not peek:
            self._trades_seen = len(exchange.trades)
        return list(islice(reversed(exchange.trades.values()), new_t))[::-1]

    _trades_seen = 0

    def _record_day(self, moment: datetime, trades: Sequence[Any]) -> None:
        day = moment.date().isoformat()
        by_book: dict[str, list[Any]] = {}
        for trade in trades:
            self.record.trade_days[trade.trade_id] = day
            by_book.setdefault(trade.instrument, []).append(trade)
        for code in sorted(by_book):
            today = by_book[code]
            prices = [t.price_minor for t in today]
            notional = sum(t.cost_minor for t in today)
            volume_t = sum(t.quantity_t for t in today)
            self.record.prices.append(
                PriceRow(
                    day, code, len(today), volume_t, notional, min(prices), max(prices), prices[-1]
                )
            )
            self.access.last_minor[code] = prices[-1]
            month = (moment.year, moment.month)
            monthly = self.monthly.setdefault(code, {})
            old_notional, old_t = monthly.get(month, (0, 0))
            monthly[month] = (old_notional + notional, old_t + volume_t)

    def on_month_ended(self, event: MonthEnded, moment: datetime) -> None:
        """Let each government's price controls see the month's volume-weighted price."""
        for code, government in sorted(self.governments.items()):
            if government.instrument is None or code in self.exited:
                continue
            months = self.monthly.get(government.instrument.code, {})
            series = [
                MonthlyPrice(y, m, math.floor(Fraction(notional, volume_t) + Fraction(1, 2)))
                for (y, m), (notional, volume_t) in sorted(months.items())
            ]
            government.check_month(event.year, event.month, series)

    # ------------------------------------------------------------ the record

    def freeze(self, interrupted: bool) -> RunRecord:
        world = self.world
        self.record.borrowed_t.update(self.borrowing.borrowed_t)
        return self.record.freeze(
            world,
            years_run=self.years,
            days_run=self.days,
            interrupted=interrupted,
            firms=tuple(FirmFacts(f.member, f.registry, f.curve) for f in self.firms),
            auctions=tuple(
                sorted(
                    (r for g in self.governments.values() for r in g.records),
                    key=lambda r: (r.day, r.registry),
                )
            ),
            governments=self._government_years(),
            holders=self._holder_ends(),
            refused_orders=self.access.refused,
        )

    def _government_years(self) -> tuple[GovernmentYear, ...]:
        rows = []
        first = self.scenario.calendar.start.year
        for code, government in sorted(self.governments.items()):
            stability = government.regime.stability
            for year in range(first, self.last_year + 1):
                records = [r for r in government.records if r.day.startswith(f"{year}-")]
                rows.append(
                    GovernmentYear(
                        code,
                        year,
                        government.auctioned_t.get(year, 0),
                        sum(r.sold_t for r in records if r.kind == "scheduled"),
                        sum(r.sold_t for r in records if r.kind != "scheduled"),
                        government.ceiling_sold_t.get(year, 0),
                        price_floor_minor(stability, year),
                        price_ceiling_minor(stability, year),
                        government.year_reserve_minor(year),
                        tuple(e for e in government.events if e.year == year),
                        # what was offered; a cancelled auction's volume is offered again
                        sum(
                            r.supply_t for r in records if r.kind == "scheduled" and not r.cancelled
                        ),
                        government.reserve_at_start_t.get(year, 0),
                    )
                )
        return tuple(rows)

    def _holder_ends(self) -> tuple[HolderEnd, ...]:
        exchange = self.world.exchange
        currencies = sorted({b.currency for b in self.access.books.values()})
        ends = []
        holders: list[tuple[str, str, str, str, bool]] = [
            (s.member, "participant", s.holder.registry, s.holder.account_id, s.left)
            for s in self.seats
        ]
        holders += [
            (seat.member, "dealer", seat.registry, seat.account, False)
            for dealer in self.dealers
            for seat in dealer.seats.values()
        ]
        for member, kind, registry, account_id, left in holders:
            account = self.world.registries[registry].account(account_id)
            mine = [t for t in exchange.trades.values() if member in (t.buyer, t.seller)]
            ends.append(
                HolderEnd(
                    member,
                    kind,
                    registry,
                    len(mine),
                    sum(t.quantity_t for t in mine if t.buyer == member),
                    sum(t.quantity_t for t in mine if t.seller == member),
                    tuple(
                        (
                            code,
                            account.holding.balance(book.unit_type)
                            + exchange.custody.balance(member, code).total,
                        )
                        for code, book in sorted(self.access.books.items())
                    ),
                    tuple(
                        (currency, exchange.clearing.balance(member, currency).total)
                        for currency in currencies
                    ),
                    left,
                )
            )
        return tuple(ends)


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
    with _collecting_garbage_rarely():
        return _run(scenario, Path(out_dir), years, days, progress, prompt)


# A run keeps millions of objects for its whole life (holdings, orders, trades, records);
# at the collector's default threshold (700 allocations) it re-walked them so often that
# collection took 11% of a two-year slice of benchmarks/scenario_bench.py. What a run
# discards is mostly acyclic, freed by reference counting anyway.
GC_ALLOCATIONS_PER_COLLECTION = 100_000


@contextmanager
def _collecting_garbage_rarely() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.set_threshold(GC_ALLOCATIONS_PER_COLLECTION, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _run(
    scenario: Scenario,
    out: Path,
    years: int | None,
    days: int | None,
    progress: Progress | None,
    prompt: Prompt | None,
) -> RunResult:
    # The journals go to a file beside nothing the user keeps: in memory, a ten-year run
    # of 3,000 entities held 4.8 GB; on disk its process peaks near 1 GB.
    store = tempfile.TemporaryDirectory(prefix="etslink-run-")
    store_url = f"sqlite:///{Path(store.name) / 'world.db'}"
    try:
        simulation = Simulation(scenario, years, days, prompt, store_url)
    except BaseException:
        store.cleanup()
        raise
    interrupted = False
    try:
        simulation.run(progress)
    except KeyboardInterrupt:
        interrupted = True
    record = simulation.freeze(interrupted)
    out.mkdir(parents=True, exist_ok=True)
    built = summary.build_summary(record)
    result = RunResult(
        record, out, built, world=simulation.world, interrupted=interrupted, store=store
    )
    result.files = csvs.write_reports(record, built, out)
    result.files += charts.write_charts(record, built, out)
    return result


__all__ = ["Prompt", "RunResult", "Simulation", "run_scenario"]
