"""The frozen record of a run: everything its reports read, as plain values.

A run fills a `RecordBuilder` as it goes (trades, prices, firms' years, auctions) and
`RecordBuilder.freeze` reads the rest off the world at the end (compliance outcomes,
surrenders, gateway transfers, end holdings) into a `RunRecord`. Reports read the record
and nothing else: they never import the run loop, and the record outlives the run's
scratch store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from compliance.calendar import DeadlineKind
from compliance.events import PeriodOutcome
from compliance.stability import StabilityEvent
from etslink.economics import MacCurve
from etslink.scenario import Scenario
from etslink.sim.access import BookInfo
from exchange.market import TradeStatus
from registry import UnitKind

if TYPE_CHECKING:
    from etslink.sim.world import World


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One exchange trade: when, where, at what price, between whom, and its settlement."""

    day: str
    trade_id: str
    instrument: str
    price_minor: int
    quantity_t: int
    buyer: str
    seller: str
    status: str
    buyer_registry: str
    seller_registry: str
    venue: str  # the registry whose custody holds the book's units


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One book's trading day: trades, volume, notional and the day's low, high and close."""

    day: str
    instrument: str
    trades: int
    volume_t: int
    notional_minor: int
    low_minor: int
    high_minor: int
    close_minor: int


@dataclass(frozen=True, slots=True)
class SettlementRow:
    """One book at one session's close: best bid and ask, last trade and settlement price.

    The settlement price is the last trade moved to a better quote that rests at the close
    (`Quote.reference_minor`): what the book says a unit is worth that day, on days without
    trades too. None while the book has neither traded nor been quoted.
    """

    day: str
    instrument: str
    bid_minor: int | None
    ask_minor: int | None
    last_minor: int | None
    settle_minor: int | None


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
    true_up_t: int = 0  # of `allocated_t`, given (or clawed back) when the year closed
    # the part of the year the row covers: below 1 in a programme's exit year, whose
    # forecast is pro rata to the exit day (`etslink.sim.exits`)
    year_share: Fraction = Fraction(1)

    @property
    def benchmark_allocation_t(self) -> int:
        """The allocation the analytic benchmark gives the row: pro rata to `year_share`.

        An exiting programme's firms got the whole year's allocation but emit only to the
        exit; the benchmark takes that part year as a market of its own size.
        """
        return math.floor(self.allocated_t * self.year_share)


@dataclass(frozen=True, slots=True)
class ExitRecord:
    """A programme's exit as the run applied it (`etslink.sim.exits`).

    `units_t` is what the registry's accounts held at the exit, by (origin, unit type):
    cancelled, frozen or left tradable at home, as `units` says. `periods` are the
    compliance periods (first years) it closed by `open_period`; their outcomes are the
    registry's outcomes for those periods (none when waived).
    """

    registry: str
    day: str  # ISO date; the exit is at 00:00 UTC of it
    units: str  # cancelled | frozen | domestic
    open_period: str  # settle_to_date | waive
    links_terminated: tuple[str, ...]
    transfers_terminated: tuple[str, ...]
    units_t: tuple[tuple[str, str, int], ...]  # (origin, unit type, tonnes)
    periods: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FirmFacts:
    """A covered firm as the analytic benchmark needs it: where it is and its curve."""

    entity_id: str
    registry: str
    curve: MacCurve


@dataclass(frozen=True, slots=True)
class AuctionRecord:
    """One auction's result, as the reports show it.

    A cancelled auction (the EU's clearing price under its threshold below the secondary
    price) records the clearing price it would have had, sells nothing and says why in
    `note`; `secondary_price_minor` is the secondary price it was compared with (None
    where the regime does not compare, or there was no price yet).
    """

    day: str
    registry: str
    instrument: str
    kind: str  # "scheduled" or "reserve release"
    supply_t: int
    reserve_price_minor: int
    clearing_price_minor: int
    sold_t: int
    unsold_t: int
    unsold_rule: str
    bids: int
    bidders: int
    proceeds_minor: int
    secondary_price_minor: int | None = None
    cancelled: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class GovernmentYear:
    """What a registry's government did in a year: auctions, reserve, price controls."""

    registry: str
    year: int
    auctioned_t: int  # the year's scheduled volume
    auction_sold_t: int
    reserve_released_t: int
    ceiling_sold_t: int
    price_floor_minor: int | None
    price_ceiling_minor: int | None
    reserve_price_minor: int  # the auctions' reserve price that year
    stability_events: tuple[StabilityEvent, ...]
    auction_offered_t: int = 0  # what its scheduled auctions offered (unsold volume included)
    reserve_at_start_t: int = 0  # the reserve it held when the year opened


@dataclass(frozen=True, slots=True)
class SurrenderRow:
    """Tonnes one registry's entities surrendered for a period, by unit type and origin."""

    registry: str
    period: int
    unit_type: str
    origin: str
    offset: bool
    quantity_t: int


@dataclass(frozen=True, slots=True)
class TransferRow:
    """One gateway transfer: its link, period, parties, units, status and check codes."""

    transaction_id: str
    link_id: str
    period: int
    proposed_at: str
    from_registry: str
    from_account: str
    to_registry: str
    to_account: str
    by_unit_t: tuple[tuple[str, int], ...]
    status: str
    codes: tuple[int, ...]

    @property
    def quantity_t(self) -> int:
        return sum(quantity for _, quantity in self.by_unit_t)


@dataclass(frozen=True, slots=True)
class HolderEnd:
    """A participant's or dealer's end: trades, holdings by book, cash by currency."""

    member: str
    kind: str  # "participant" or "dealer"
    registry: str
    trades: int
    bought_t: int
    sold_t: int
    holdings_t: tuple[tuple[str, int], ...]
    cash_minor: tuple[tuple[str, int], ...]
    left_early: bool = False


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything a finished (or interrupted) run did, frozen for the reports."""

    scenario: Scenario
    years_run: int
    days_run: int
    interrupted: bool
    books: Mapping[str, BookInfo]
    trades: tuple[TradeRow, ...]
    prices: tuple[PriceRow, ...]
    settlements: tuple[SettlementRow, ...]
    firms: tuple[FirmFacts, ...]
    firm_years: tuple[FirmYear, ...]
    auctions: tuple[AuctionRecord, ...]
    governments: tuple[GovernmentYear, ...]
    outcomes: Mapping[str, tuple[PeriodOutcome, ...]]
    surrenders: tuple[SurrenderRow, ...]
    borrowed_t: Mapping[tuple[str, int], int]
    average_prices: Mapping[tuple[str, int], tuple[int, str]]
    deadlines_pending: Mapping[str, tuple[str, ...]]
    transfers: tuple[TransferRow, ...]
    holders: tuple[HolderEnd, ...]
    refused_orders: int
    notes: tuple[str, ...] = ()
    exits: tuple[ExitRecord, ...] = ()

    def currency_of(self, book: str) -> str:
        return self.books[book].currency

    def first_year(self) -> int:
        return self.scenario.calendar.start.year


@dataclass
class RecordBuilder:
    """What a run records as it goes; `freeze` adds what the world holds at the end."""

    scenario: Scenario
    books: dict[str, BookInfo]
    prices: list[PriceRow] = field(default_factory=list)
    settlements: list[SettlementRow] = field(default_factory=list)
    trade_days: dict[str, str] = field(default_factory=dict)
    firm_years: list[FirmYear] = field(default_factory=list)
    borrowed_t: dict[tuple[str, int], int] = field(default_factory=dict)
    average_prices: dict[tuple[str, int], tuple[int, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    exits: list[ExitRecord] = field(default_factory=list)

    def freeze(
        self,
        world: World,
        *,
        years_run: int,
        days_run: int,
        interrupted: bool,
        firms: tuple[FirmFacts, ...],
        auctions: tuple[AuctionRecord, ...],
        governments: tuple[GovernmentYear, ...],
        holders: tuple[HolderEnd, ...],
        refused_orders: int,
    ) -> RunRecord:
        """Return the run's record: what was recorded, and what the world holds now."""
        last_year = self.scenario.calendar.start.year + years_run - 1
        return RunRecord(
            scenario=self.scenario,
            years_run=years_run,
            days_run=days_run,
            interrupted=interrupted,
            books=dict(self.books),
            trades=trade_rows(world, self.trade_days),
            prices=tuple(self.prices),
            settlements=tuple(self.settlements),
            firms=firms,
            firm_years=tuple(self.firm_years),
            auctions=auctions,
            governments=governments,
            outcomes={code: tuple(book.outcomes()) for code, book in sorted(world.books.items())},
            surrenders=surrender_rows(world),
            borrowed_t=dict(self.borrowed_t),
            average_prices=dict(self.average_prices),
            deadlines_pending={
                code: pending_deadlines(world, code, self._last_year(code, last_year))
                for code in sorted(world.books)
            },
            transfers=transfer_rows(world),
            holders=holders,
            refused_orders=refused_orders,
            notes=tuple(world.notes + self.notes),
            exits=tuple(self.exits),
        )

    def _last_year(self, code: str, last_year: int) -> int:
        """Return the last year whose periods the registry's programme reached."""
        exited = self.scenario.exit_of(code)
        return last_year if exited is None else min(last_year, exited.day.year)


def trade_rows(world: World, trade_days: Mapping[str, str]) -> tuple[TradeRow, ...]:
    exchange = world.exchange
    rows = []
    for trade in exchange.trades.values():
        rows.append(
            TradeRow(
                trade_days.get(trade.trade_id, ""),
                trade.trade_id,
                trade.instrument,
                trade.price_minor,
                trade.quantity_t,
                trade.buyer,
                trade.seller,
                trade.status.value,
                exchange.members[trade.buyer].registry,
                exchange.members[trade.seller].registry,
                exchange.listings[trade.instrument].registry,
            )
        )
    return tuple(rows)


def surrender_rows(world: World) -> tuple[SurrenderRow, ...]:
    totals: dict[tuple[str, int, str, str, bool], int] = {}
    for code in sorted(world.registries):
        ledger = world.registries[code].ledger
        for record in ledger.surrenders():
            for block in record.blocks:
                offset = ledger.unit_types[block.unit_type].kind is not UnitKind.ALLOWANCE
                key = (code, record.period, block.unit_type, block.origin, offset)
                totals[key] = totals.get(key, 0) + block.quantity
    return tuple(SurrenderRow(*key, quantity) for key, quantity in sorted(totals.items()))


def pending_deadlines(world: World, code: str, last_year: int) -> tuple[str, ...]:
    """Return the surrender deadlines of periods the run reached that have not fired."""
    book = world.books[code]
    calendar = book.regime.calendar
    pending = []
    for period in calendar.periods(last_year):
        if period < book.schedule.first_period:
            continue
        if (DeadlineKind.SURRENDER_DUE, period) in book.schedule.fired:
            continue
        deadline = calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
        if deadline is not None:
            pending.append(f"surrender for period {period} due {deadline.due:%Y-%m-%d}")
    return tuple(pending)


def transfer_rows(world: World) -> tuple[TransferRow, ...]:
    """Return one row per gateway transfer, in transaction-id order."""
    federation = world.federation
    if federation is None:
        return ()
    rows = []
    for transaction_id, record in sorted(federation.gateway.transfers.items()):
        transfer = record.transfer
        by_unit: dict[str, int] = {}
        for block in transfer.blocks:
            by_unit[block.unit_type] = by_unit.get(block.unit_type, 0) + block.quantity
        rows.append(
            TransferRow(
                transaction_id,
                record.link_id or "",
                record.period or record.proposed_at.year,
                record.proposed_at.isoformat(),
                transfer.from_registry,
                transfer.from_account,
                transfer.to_registry,
                transfer.to_account,
                tuple(sorted(by_unit.items())),
                record.status.name.lower(),
                tuple(int(code) for code in record.codes),
            )
        )
    return tuple(rows)


def settled(row: TradeRow) -> bool:
    return row.status == TradeStatus.SETTLED.value


__all__ = [
    "AuctionRecord",
    "ExitRecord",
    "FirmFacts",
    "FirmYear",
    "GovernmentYear",
    "HolderEnd",
    "PriceRow",
    "RecordBuilder",
    "RunRecord",
    "SettlementRow",
    "SurrenderRow",
    "TradeRow",
    "TransferRow",
    "settled",
]
