"""The exchange: pre-trade risk around the matching engine, and delivery-versus-payment
settlement of its trades through a settlement port to the registries and the gateway.

- **The settlement port.** The exchange reaches registries, the gateway and
  simulated time only through a `SettlementPort` (`exchange.settlement_port`):
  it moves units inside a registry, proposes transfers through the gateway and
  reads their outcomes, reads the links between two registries and their
  period flow, an account's kind, a unit type's origin and what its custody
  accounts hold, and reads or moves the time. Given registries and a
  federation, it builds the in-process `LocalSettlement` of them.
- **Custody.** A member deposits units by an internal transfer into the
  exchange's custody account in the listing's registry (or through the
  gateway from another registry); `CustodyBook` records the claim. A
  withdrawal is the reverse: units of the member's free claim leave custody
  for its account, and the claim is debited once they have arrived.
- **Pre-trade risk.** A sell order reserves the tonnes it offers out of the
  seller's free custody claim; a buy order reserves the most it could spend
  out of the buyer's free cash at the clearing house (limit × quantity; for a
  market order, the cost of walking the asks it would take). A buyer in
  another registry needs a link that lets the instrument into its registry
  and account kind (the link's rules, dry-run at order entry). An order that
  fails is refused before it reaches the book, with the code of the check
  that failed, and nothing is reserved.
- **Matching.** The engine is pure; its events come back here: a trade's
  cash above its price is released at once (a buy at 65 filled at 64 frees 1
  a tonne), a cancelled remainder releases what it held, an amend reserves
  more first or releases after.
- **Settlement** runs in cycles (`settle`). A trade in the instrument's own
  registry is an internal transfer out of custody. Trades to other registries
  are netted per (buyer registry, buyer account, instrument) into one signed
  transfer through the gateway. When the units are delivered, the buyer's
  reservation pays the seller. If the registry or the gateway refuses or ends
  the transfer (a link suspended between match and settlement), the trades
  fail and unwind: the units stay in custody, the seller's claim and the
  buyer's cash are released; nothing is lost and nothing settles twice. A
  transfer waiting for its link's window settles in a later cycle.

Venues: a listing's unit type is its instrument code (EUA), or is named apart
(`Listing.unit_type`) when the same unit type trades on another registry's
venue: "EUA@CH" is EU allowances held in custody in the Swiss registry and
quoted in francs. Registries, the gateway and the link rules see the unit type;
books, claims, reservations and trades see the listing's code.

Vintages: a delivery takes the custody account's oldest vintage first, as a
registry transfer by quantity does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine as Store

from exchange.book import EventKind, Instrument, OrderType, Side
from exchange.clearing import ClearingHouse
from exchange.custody import CustodyBook
from exchange.engine import Engine, replay
from exchange.settlement_port import LocalSettlement, SettlementPort, TransferOutcome
from gateway.endpoint import TransferOrder
from gateway.errors import GatewayError, LinkCode
from gateway.links import Link, LinkState
from gateway.messages import TransactionStatus
from registry import canonical
from registry.canonical import quote
from registry.clock import boundaries, format_time
from registry.errors import RegistryError
from registry.journal import Journal, read_entries, read_head
from registry.keys import VerifyKey

if TYPE_CHECKING:
    from gateway.federation import Federation
    from registry.registry import Registry

ENGINE_COMMAND = "engine_command"  # the journal kind of one engine input
SETTLEMENT_INTERVAL = timedelta(days=1)  # a cycle ends at each midnight UTC
CYCLES_MAX = 100_000  # cycles one advance may run
SETTLEMENT_TRANSFERS_MAX = 1_000  # transfers in one gateway proposal (a cycle may make more)
FAILURE_TEXT_MAX = 500
_UNIT_TYPE_RE = re.compile(r"[A-Z0-9]{1,16}")
Use = Callable[[str, int], object]  # (reservation id, amount) → event


class MarketCode(IntEnum):
    """Why the exchange refused a command around the engine (the exchange's 112xx range)."""

    UNKNOWN_LISTING = 11201
    UNKNOWN_MEMBER = 11202
    ORDER_ID_LIVE = 11203
    NO_GATEWAY = 11204
    DEPOSIT_NOT_COMPLETED = 11205
    UNKNOWN_ORDER = 11206
    WITHDRAWAL_NOT_COMPLETED = 11207
    CUSTODY_SHARED = 11208  # two listings of one unit type in one custody account


class MarketError(RegistryError):
    """An exchange command was refused before it reached the book; nothing changed."""

    def __init__(self, code: MarketCode, message: str) -> None:
        super().__init__(code, message)


@dataclass(frozen=True, slots=True)
class Listing:
    """An instrument and where its units are kept: the exchange's custody account.

    `unit_type` is the registry unit type the listing trades; None: the
    instrument code is the unit type. A venue listing names it apart:
    `Listing(Instrument("EUA@CH", "CHF"), "CH", "custody", unit_type="EUA")`.
    """

    instrument: Instrument
    registry: str
    custody_account: str
    unit_type: str | None = None

    def __post_init__(self) -> None:
        assert self.unit_type is None or _UNIT_TYPE_RE.fullmatch(self.unit_type), self

    @property
    def code(self) -> str:
        return self.instrument.code

    @property
    def unit(self) -> str:
        """Return the unit type the registries and the gateway move for this listing."""
        return self.instrument.code if self.unit_type is None else self.unit_type


@dataclass(frozen=True, slots=True)
class Member:
    """A trading member: its home registry and the account it trades from and into."""

    member_id: str
    registry: str
    account: str


class TradeStatus(Enum):
    PENDING = "pending"  # matched, not yet settled
    IN_TRANSFER = "in transfer"  # its units are in a gateway transfer not yet final
    SETTLED = "settled"
    FAILED = "failed"  # unwound: the units stayed in custody, the cash was released


@dataclass(slots=True)
class TradeRecord:
    """One trade from the engine, and where its settlement stands."""

    trade_id: str
    instrument: str
    price_minor: int
    quantity_t: int
    buyer: str
    seller: str
    buy_order: int
    sell_order: int
    status: TradeStatus = TradeStatus.PENDING
    transfer_id: str | None = None
    failure: str = ""
    headroom_released: bool = False  # its link-cap headroom passed to the gateway's flow

    @property
    def cost_minor(self) -> int:
        return self.price_minor * self.quantity_t


@dataclass(slots=True)
class _Order:
    """What the exchange reserved for an order, until it is done and its trades settled."""

    order_id: int
    member: str
    instrument: str
    side: Side
    limit_minor: int | None  # None: a market order (its cash was reserved at walk cost)
    reservations: list[str] = field(default_factory=list)
    owed_minor: int = 0  # cash its matched trades still owe (a buy, until they settle or fail)
    # A buyer in another registry: the link period-cap headroom held for it.
    headroom: tuple[str, int] | None = None  # (link id, year)
    headroom_t: int = 0


class _MoveKind(Enum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


@dataclass(frozen=True, slots=True)
class _Move:
    """A deposit or withdrawal through the gateway that was still waiting (a closed window)
    when it was asked for; settlement cycles finish it once the gateway has decided."""

    transfer_id: str
    kind: _MoveKind
    member: str
    instrument: str
    quantity_t: int
    reservation_id: str | None  # a withdrawal holds the claim it takes until then


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one settlement cycle did."""

    settled: tuple[str, ...]
    failed: tuple[str, ...]
    in_transfer: tuple[str, ...]
    transfers: tuple[str, ...]


class Exchange:
    """Engine, custody, clearing and settlement for a set of listings and members.

    It reaches registries, the gateway and simulated time only through `port`;
    given `registries` (and `federation`) instead, it settles through a
    `LocalSettlement` of them.
    """

    def __init__(
        self,
        listings: Iterable[Listing],
        members: Iterable[Member],
        registries: Mapping[str, Registry] | None = None,
        federation: Federation | None = None,
        exchange_id: str = "X",
        journal: Journal | None = None,
        port: SettlementPort | None = None,
    ) -> None:
        self.listings = {listing.code: listing for listing in listings}
        _check_custody_not_shared(self.listings.values())
        self.members = {member.member_id: member for member in members}
        if port is None:
            assert registries is not None, "an exchange needs registries or a settlement port"
            port = LocalSettlement(registries, federation)
        else:
            assert registries is None and federation is None, "give a port or registries, not both"
        self.port: SettlementPort = port
        self.exchange_id = exchange_id
        # The engine's input, journaled before it is applied; `replay_engine` reproduces
        # its events byte for byte.
        self.journal = journal
        self.engine = Engine(listing.instrument for listing in self.listings.values())
        self.clearing = ClearingHouse()
        self.custody = CustodyBook()
        self.trades: dict[str, TradeRecord] = {}
        # Trades not yet final, by id: cycles look only at these, never at history.
        self._unsettled: dict[str, TradeRecord] = {}
        self._orders: dict[int, _Order] = {}
        self._headroom_t: dict[tuple[str, int], int] = {}  # (link, year) → tonnes held
        # Trades not yet final, netted per member: (member, listing) → tonnes bought less
        # sold; (member, currency) → cash to receive less cash to pay.
        self._position_t: dict[tuple[str, str], int] = {}
        self._position_minor: dict[tuple[str, str], int] = {}
        self._moves: dict[str, _Move] = {}  # waiting deposits and withdrawals, by transfer
        self.settlement_interval = SETTLEMENT_INTERVAL
        self._next_reservation = 0
        self._next_transfer = 0
        self._stamp: tuple[datetime | None, str] = (None, "")  # the journal's time, cached
        for member_id in sorted(self.members):
            self.clearing.open_member(member_id)
            self.custody.open_member(member_id)

    # ------------------------------------------------------------ cash and custody

    def deposit_cash(self, member: str, currency: str, amount_minor: int) -> None:
        self.clearing.deposit(self._member(member).member_id, currency, amount_minor)

    def deposit_units(self, member: str, instrument: str, quantity_t: int) -> None:
        """Move units from the member's account into custody, then credit its claim.

        Raises `MarketError` (unknown member or listing; 11205 when the gateway
        transfer does not complete), `BalanceError` (quantity not a positive
        whole number) or the registry's or gateway's refusal; nothing is
        credited. A transfer left waiting for its link's window is credited by
        the settlement cycle after it completes.
        """
        who, listing = self._member(member), self._listing(instrument)
        self.custody.check_deposit(who.member_id, listing.code, quantity_t)
        if who.registry == listing.registry:
            self.port.move(
                listing.registry, who.account, listing.custody_account, listing.unit, quantity_t
            )
            self.custody.deposit(who.member_id, listing.code, quantity_t)
            return
        self._check_move_headroom(who.registry, listing.registry, quantity_t)
        order = TransferOrder(
            self._transfer_id(),
            who.account,
            listing.registry,
            listing.custody_account,
            listing.unit,
            quantity_t,
        )
        status = self._gateway().transfer(who.registry, order)
        if status is TransactionStatus.COMPLETED:
            self.custody.deposit(who.member_id, listing.code, quantity_t)
            return
        what = f"the deposit of {quantity_t:,} t {listing.unit} from {who.registry}"
        if status.is_final:
            raise MarketError(
                MarketCode.DEPOSIT_NOT_COMPLETED,
                f"{what} is {status.name}, not completed; nothing was credited",
            )
        move = _Move(
            order.transaction_id, _MoveKind.DEPOSIT, who.member_id, listing.code, quantity_t, None
        )
        self._moves[move.transfer_id] = move
        raise MarketError(
            MarketCode.DEPOSIT_NOT_COMPLETED,
            f"{what} is {status.name} (transfer {move.transfer_id}), not completed; the claim "
            "is credited by the settlement cycle after it completes",
        )

    def withdraw_units(self, member: str, instrument: str, quantity_t: int) -> None:
        """Move units of the member's free claim out of custody into its account, then debit
        the claim: an internal transfer in the listing's registry, else through the gateway.

        Raises `MarketError` (unknown member or listing; 11207 when the gateway
        transfer does not complete), `BalanceError` (quantity not a positive
        whole number, 11104; free claim short, 11105), `GatewayError` (9010: the
        link's period cap, with what is held for buy orders) or the registry's
        refusal, before anything changed. A transfer left waiting for its
        link's window holds the tonnes out of the claim until the settlement
        cycle after it ends: debited if it completed, released if not.
        """
        who, listing = self._member(member), self._listing(instrument)
        self.custody.check_withdraw(who.member_id, listing.code, quantity_t)
        if who.registry == listing.registry:
            self.port.move(
                listing.registry, listing.custody_account, who.account, listing.unit, quantity_t
            )
            self.custody.withdraw(who.member_id, listing.code, quantity_t)
            return
        self._check_move_headroom(listing.registry, who.registry, quantity_t)
        order = TransferOrder(
            self._transfer_id(),
            listing.custody_account,
            who.registry,
            who.account,
            listing.unit,
            quantity_t,
        )
        status = self._gateway().transfer(listing.registry, order)
        if status is TransactionStatus.COMPLETED:
            self.custody.withdraw(who.member_id, listing.code, quantity_t)
            return
        what = f"the withdrawal of {quantity_t:,} t {listing.unit} to {who.registry}"
        if status.is_final:
            raise MarketError(
                MarketCode.WITHDRAWAL_NOT_COMPLETED,
                f"{what} is {status.name}, not completed; the claim is unchanged",
            )
        reservation_id = f"{self.exchange_id}-w{order.transaction_id}"
        self.custody.reserve(reservation_id, who.member_id, listing.code, quantity_t)
        move = _Move(
            order.transaction_id,
            _MoveKind.WITHDRAWAL,
            who.member_id,
            listing.code,
            quantity_t,
            reservation_id,
        )
        self._moves[move.transfer_id] = move
        raise MarketError(
            MarketCode.WITHDRAWAL_NOT_COMPLETED,
            f"{what} is {status.name} (transfer {move.transfer_id}), not completed; its "
            f"{quantity_t:,} t stay reserved out of the claim until it ends",
        )

    def _finish_moves(self) -> None:
        """Credit or debit the claims of waiting deposits and withdrawals that became final."""
        if not self._moves:
            return
        gateway = self._gateway()
        for transfer_id in sorted(self._moves):
            outcome = gateway.outcome(transfer_id)
            if outcome is None or not outcome.is_final:
                continue
            move = self._moves.pop(transfer_id)
            completed = outcome.status is TransactionStatus.COMPLETED
            if move.kind is _MoveKind.DEPOSIT and completed:
                self.custody.deposit(move.member, move.instrument, move.quantity_t)
            elif move.reservation_id is not None and completed:
                self.custody.deliver(move.reservation_id, move.quantity_t, transfer_id)
            elif move.reservation_id is not None:
                self.custody.release(move.reservation_id)

    # ------------------------------------------------------------ positions

    def unsettled_t(self, member: str, instrument: str) -> int:
        """Return the tonnes `member` bought less those it sold in trades of the listing not
        yet settled or failed: what it will receive (or, negative, deliver) at settlement."""
        who, listing = self._member(member), self._listing(instrument)
        return self._position_t.get((who.member_id, listing.code), 0)

    def unsettled_cash_minor(self, member: str, currency: str) -> int:
        """Return the cash `member` will receive less the cash it will pay, in minor units,
        for its trades not yet settled or failed (a net buyer's is negative)."""
        who = self._member(member)
        return self._position_minor.get((who.member_id, currency), 0)

    def check_conservation(self) -> None:
        """Assert cash and claims are conserved, and each listing's claims equal what its
        custody account holds of its unit type plus what is locked there (a bug otherwise).

        Run it after a settlement cycle: a transfer that became final since the last one
        has moved units whose claims the next cycle settles.
        """
        self.clearing.check_conservation()
        self.custody.check_conservation()
        for listing in self.listings.values():
            held = self.port.holding(listing.registry, listing.custody_account, listing.unit)
            claimed_t = self.custody.total(listing.code)
            assert claimed_t == held.held_t + held.locked_t, (
                f"{listing.code}: members claim {claimed_t:,} t, the custody account "
                f"{held.account_id} holds {held.held_t:,} t {listing.unit} and "
                f"{held.locked_t:,} t are locked"
            )

    def _add_position(self, trade: TradeRecord, sign: int) -> None:
        """Count a trade into (sign 1) or out of (sign -1) its parties' unsettled positions.

        A position back at zero keeps its entry: the tables are bounded by members ×
        listings and members × currencies, and this runs twice for every trade.
        """
        quantity_t, cost_minor = sign * trade.quantity_t, sign * trade.cost_minor
        currency = self.listings[trade.instrument].instrument.currency
        position_t, position_minor = self._position_t, self._position_minor
        bought, sold = (trade.buyer, trade.instrument), (trade.seller, trade.instrument)
        position_t[bought] = position_t.get(bought, 0) + quantity_t
        position_t[sold] = position_t.get(sold, 0) - quantity_t
        paying, paid = (trade.buyer, currency), (trade.seller, currency)
        position_minor[paying] = position_minor.get(paying, 0) - cost_minor
        position_minor[paid] = position_minor.get(paid, 0) + cost_minor

    # ------------------------------------------------------------ orders

    def submit(
        self,
        instrument: str,
        order_type: OrderType,
        order_id: int,
        member: str,
        side: Side,
        price_minor: int | None,
        quantity_t: int,
    ) -> list[Any]:
        """Check pre-trade risk, reserve, and pass the order to the engine; return its events.

        Raises `MarketError`, `BalanceError` (not enough free cash or units) or
        `GatewayError` (no link lets the units to the buyer) before anything is
        reserved; the engine's own refusals come back as REJECTED events and
        release what was reserved.
        """
        listing, who = self._listing(instrument), self._member(member)
        if order_id in self._orders:
            raise MarketError(
                MarketCode.ORDER_ID_LIVE, f"order {order_id} is live or not yet settled"
            )
        link = self._check_link(listing, who) if side is Side.BUY else None
        order = _Order(order_id, who.member_id, instrument, side, price_minor)
        if link is not None and type(quantity_t) is int and quantity_t > 0:
            self._check_headroom(link, quantity_t)
        amount = self._exposure(listing, who.member_id, order_type, side, price_minor, quantity_t)
        if amount > 0:
            order.reservations.append(self._reserve(order, amount))
        if link is not None and type(quantity_t) is int and quantity_t > 0:
            self._hold_headroom(order, link, quantity_t)
        self._orders[order_id] = order
        self._run(
            (
                "submit",
                instrument,
                order_type,
                order_id,
                who.member_id,
                side,
                price_minor,
                quantity_t,
            )
        )
        return self._take_events(new_order=order_id)

    def cancel(self, instrument: str, order_id: int) -> list[Any]:
        """Cancel a resting order; what it held for its remainder is released."""
        self._listing(instrument)
        self._run(("cancel", instrument, order_id))
        return self._take_events()

    def amend(self, instrument: str, order_id: int, price_minor: int, quantity_t: int) -> list[Any]:
        """Amend a resting order's price and open quantity, reserving more first if needed.

        Raises `BalanceError` when a larger exposure is not covered, changing nothing.
        """
        self._listing(instrument)
        order = self._orders.get(order_id)
        resting = self.engine.book(instrument).order(order_id)
        if order is None or resting is None or order.instrument != instrument:
            raise MarketError(MarketCode.UNKNOWN_ORDER, f"no resting order {order_id}")
        open_t = resting[4]
        selling = order.side is Side.SELL
        before = open_t if selling else (order.limit_minor or 0) * open_t
        after = quantity_t if selling else price_minor * quantity_t
        headroom = order.headroom
        more_t = quantity_t - open_t if headroom is not None else 0
        if headroom is not None and more_t > 0:
            self._check_headroom(self._gateway().link(headroom[0]), more_t)
        added = self._reserve(order, after - before) if after > before else None
        if added is not None:
            order.reservations.append(added)
        self._run(("amend", instrument, order_id, price_minor, quantity_t))
        events = self.engine.drain()
        if not any(event[0] == EventKind.AMENDED for event in events):
            if added is not None:  # the engine refused it: take back what was added
                self._balances_of(order).release(added)
                order.reservations.remove(added)
            return events
        if not selling:
            order.limit_minor = price_minor
        if after < before:
            self._spend(order, before - after, self._balances_of(order).release)
        if more_t > 0:
            self._add_headroom(order, more_t)
        elif more_t < 0:
            self._release_headroom(order, -more_t)
        return events

    def _run(self, command: tuple[Any, ...]) -> None:
        """Journal one engine command (enums as their numbers), then apply it."""
        if self.journal is not None:
            now = self.port.now()
            if now != self._stamp[0]:
                self._stamp = (now, format_time(now))
            self.journal.append_text(self._stamp[1], ENGINE_COMMAND, command_text(command))
        self.engine.apply(command)

    # ------------------------------------------------------------ settlement

    def advance(self, now: datetime) -> list[CycleReport]:
        """Move simulated time to `now`, settling at the end of each cycle on the way.

        Cycles end every `settlement_interval` from midnight UTC (by default at
        the end of each simulated day); the gateway's own schedule runs too.
        """
        reports = []
        for moment in boundaries(self.port.now(), now, self.settlement_interval, CYCLES_MAX):
            self.port.advance(moment)
            reports.append(self.settle())
        self.port.advance(now)
        return reports

    def settle(self) -> CycleReport:
        """Settle every pending trade; finish transfers that became final since the last cycle."""
        settled: list[str] = []
        failed: list[str] = []
        self._finish_transfers(settled, failed)
        self._finish_moves()
        cross: dict[tuple[str, str, str], list[TradeRecord]] = {}
        pending = [t for t in self._unsettled.values() if t.status is TradeStatus.PENDING]
        for trade in pending:
            buyer, listing = self.members[trade.buyer], self.listings[trade.instrument]
            if buyer.registry == listing.registry:
                done = self._deliver_internally(trade, buyer, listing)
                (settled if done else failed).append(trade.trade_id)
            else:
                key = (buyer.registry, buyer.account, trade.instrument)
                cross.setdefault(key, []).append(trade)
        transfers: list[str] = []
        if cross:
            transfers = self._propose_netted(cross, failed)
            self._gateway().deliver()
            self._finish_transfers(settled, failed)
            self._finish_moves()
        in_transfer = tuple(
            t.trade_id for t in self._unsettled.values() if t.status is TradeStatus.IN_TRANSFER
        )
        return CycleReport(tuple(settled), tuple(failed), in_transfer, tuple(transfers))

    def _deliver_internally(self, trade: TradeRecord, buyer: Member, listing: Listing) -> bool:
        """Transfer the units inside their registry and pay; unwind if the registry refuses."""
        try:
            self.port.move(
                listing.registry,
                listing.custody_account,
                buyer.account,
                listing.unit,
                trade.quantity_t,
            )
        except RegistryError as error:
            self._unwind(trade, error.message)
            return False
        self._pay(trade)
        return True

    def _propose_netted(
        self, cross: dict[tuple[str, str, str], list[TradeRecord]], failed: list[str]
    ) -> list[str]:
        """Propose one transfer per (buyer registry, buyer account, listing)."""
        by_origin: dict[str, list[TransferOrder]] = {}
        for (registry, account, instrument), trades in sorted(cross.items()):
            listing = self.listings[instrument]
            transfer_id = self._transfer_id()
            quantity = sum(trade.quantity_t for trade in trades)
            by_origin.setdefault(listing.registry, []).append(
                TransferOrder(
                    transfer_id, listing.custody_account, registry, account, listing.unit, quantity
                )
            )
            for trade in trades:
                trade.status = TradeStatus.IN_TRANSFER
                trade.transfer_id = transfer_id
                # The gateway holds the cap headroom from here on, in its flow counter.
                self._release_trade_headroom(trade)
        proposed: list[str] = []
        for origin, orders in sorted(by_origin.items()):
            for start in range(0, len(orders), SETTLEMENT_TRANSFERS_MAX):
                chunk = orders[start : start + SETTLEMENT_TRANSFERS_MAX]
                try:
                    self._gateway().propose(origin, chunk)
                except RegistryError as error:
                    # Not even proposed (the custody account cannot lock): unwind now.
                    for order in chunk:
                        failed.extend(self._fail_transfer(order.transaction_id, error.message))
                    continue
                proposed.extend(order.transaction_id for order in chunk)
        return proposed

    def _finish_transfers(self, settled: list[str], failed: list[str]) -> None:
        """Settle or unwind the trades of every gateway transfer that has become final."""
        waiting = [t for t in self._unsettled.values() if t.status is TradeStatus.IN_TRANSFER]
        if not waiting:
            return
        gateway = self._gateway()
        # One transfer carries many netted trades: ask for each transfer's outcome once.
        outcomes: dict[str, TransferOutcome | None] = {}
        for trade in waiting:
            assert trade.transfer_id is not None
            if trade.transfer_id not in outcomes:
                outcomes[trade.transfer_id] = gateway.outcome(trade.transfer_id)
            outcome = outcomes[trade.transfer_id]
            if outcome is None or not outcome.is_final:
                continue
            if outcome.status is TransactionStatus.COMPLETED:
                self._pay(trade)
                settled.append(trade.trade_id)
            else:
                why = f"transfer {trade.transfer_id} {outcome.status.name}: " + "; ".join(
                    outcome.messages
                )
                self._unwind(trade, why)
                failed.append(trade.trade_id)

    def _fail_transfer(self, transfer_id: str, why: str) -> list[str]:
        unwound = []
        for trade in list(self._unsettled.values()):
            if trade.transfer_id == transfer_id and trade.status is TradeStatus.IN_TRANSFER:
                self._unwind(trade, why)
                unwound.append(trade.trade_id)
        return unwound

    def _pay(self, trade: TradeRecord) -> None:
        """The units reached the buyer: the seller's claim goes, the buyer's cash pays."""
        sell, buy = self._orders_of(trade)

        def deliver(reservation_id: str, amount: int) -> object:
            return self.custody.deliver(reservation_id, amount, trade.trade_id)

        def pay(reservation_id: str, amount: int) -> object:
            return self.clearing.pay(reservation_id, trade.seller, amount, trade.trade_id)

        self._spend(sell, trade.quantity_t, deliver)
        self._spend(buy, trade.cost_minor, pay)
        self._release_trade_headroom(trade)
        self._close_trade(trade, buy, TradeStatus.SETTLED)
        self._forget_if_done(sell)
        self._forget_if_done(buy)

    def _unwind(self, trade: TradeRecord, why: str) -> None:
        """The units never left custody: give back the seller's claim and the buyer's cash."""
        sell, buy = self._orders_of(trade)
        self._spend(sell, trade.quantity_t, self.custody.release)
        self._spend(buy, trade.cost_minor, self.clearing.release)
        self._release_trade_headroom(trade)
        self._close_trade(trade, buy, TradeStatus.FAILED)
        trade.failure = why[:FAILURE_TEXT_MAX]
        self._forget_if_done(sell)
        self._forget_if_done(buy)

    def _close_trade(self, trade: TradeRecord, buy: _Order, status: TradeStatus) -> None:
        trade.status = status
        buy.owed_minor -= trade.cost_minor
        del self._unsettled[trade.trade_id]
        self._add_position(trade, -1)

    # ------------------------------------------------------------ engine events

    def _take_events(self, new_order: int | None = None) -> list[Any]:
        """Apply the engine's events to the reservations; return them.

        A REJECTED event concerns the order just submitted only when it names
        it (`new_order`); a refused cancel of some id changes nothing.
        """
        events = self.engine.drain()
        for event in events:
            kind = event[0]
            if kind == EventKind.TRADE:
                self._record_trade(event)
            elif kind == EventKind.CANCELLED:
                self._release_open(event[2], event[3])
            elif kind == EventKind.REJECTED and event[2] == new_order:
                self._release_rejected(event[2])
        return events

    def _record_trade(self, event: tuple[Any, ...]) -> None:
        instrument, sequence, price, quantity, buyer, seller = event[1:7]
        aggressor, resting, incoming = event[7:10]
        buying = aggressor == Side.BUY
        buy_order, sell_order = (incoming, resting) if buying else (resting, incoming)
        trade_id = f"{instrument}-{sequence}"
        trade = TradeRecord(
            trade_id, instrument, price, quantity, buyer, seller, buy_order, sell_order
        )
        self.trades[trade_id] = trade
        self._unsettled[trade_id] = trade
        self._add_position(trade, 1)
        buy = self._orders[buy_order]
        buy.owed_minor += trade.cost_minor
        if buy.limit_minor is not None and buy.limit_minor > price:
            # Bought below its limit: the difference is free again now.
            self._spend(buy, (buy.limit_minor - price) * quantity, self.clearing.release)

    def _release_rejected(self, order_id: int) -> None:
        """The engine refused the new order: nothing traded, release all it reserved."""
        order = self._orders.pop(order_id)
        balances = self._balances_of(order)
        for reservation_id in order.reservations:
            if balances.reservation(reservation_id) is not None:
                balances.release(reservation_id)
        self._release_headroom(order, order.headroom_t)

    def _release_open(self, order_id: int, cancelled_t: int) -> None:
        """Release what a cancelled remainder held."""
        order = self._orders.get(order_id)
        if order is None:
            return
        self._release_headroom(order, cancelled_t)
        if order.side is Side.SELL:
            self._spend(order, cancelled_t, self.custody.release)
        elif order.limit_minor is not None:
            self._spend(order, order.limit_minor * cancelled_t, self.clearing.release)
        else:  # a market buy's remainder: free all that its trades do not owe
            held = self._held(order)
            if held > order.owed_minor:
                self._spend(order, held - order.owed_minor, self.clearing.release)
        self._forget_if_done(order)

    # ------------------------------------------------------------ reservations

    def _exposure(
        self,
        listing: Listing,
        member: str,
        order_type: OrderType,
        side: Side,
        price_minor: int | None,
        quantity_t: int,
    ) -> int:
        """Return what the order must reserve: tonnes to sell, or the most cash it could spend."""
        if type(quantity_t) is not int or quantity_t <= 0:
            return 0  # the engine refuses it; nothing to reserve
        if side is Side.SELL:
            return quantity_t
        if order_type is OrderType.MARKET:
            return self._walk_cost(listing.code, member, quantity_t)
        if type(price_minor) is not int or price_minor <= 0:
            return 0
        return price_minor * quantity_t

    def _walk_cost(self, instrument: str, member: str, quantity_t: int) -> int:
        """Return the most buying `quantity_t` at market could cost against the asks now.

        The member's own asks do not count: self-trade prevention cancels them
        (the buy walks on to dearer asks) or stops the buy at them (it buys less).
        """
        own_t = self._own_asks(instrument, member)
        cost, left = 0, quantity_t
        # Each level holds at least a tonne of others' asks, or one of the member's own.
        levels_n = quantity_t + len(own_t)
        for price, available in self.engine.book(instrument).depth(Side.SELL, levels_n):
            take = min(left, available - own_t.get(price, 0))
            cost += take * price
            left -= take
            if left == 0:
                break
        return cost

    def _own_asks(self, instrument: str, member: str) -> dict[int, int]:
        """Return the member's resting asks on the book as price → open tonnes."""
        if self.custody.balance(member, instrument).reserved == 0:
            return {}  # a resting ask always holds units: none rests
        book = self.engine.book(instrument)
        own_t: dict[int, int] = {}
        for order in self._orders.values():
            if order.member != member or order.instrument != instrument:
                continue
            resting = book.order(order.order_id) if order.side is Side.SELL else None
            if resting is not None:
                own_t[resting[3]] = own_t.get(resting[3], 0) + resting[4]
        return own_t

    def _reserve(self, order: _Order, amount: int) -> str:
        self._next_reservation += 1
        reservation_id = f"{self.exchange_id}-o{order.order_id}-r{self._next_reservation}"
        if order.side is Side.SELL:
            self.custody.reserve(reservation_id, order.member, order.instrument, amount)
        else:
            currency = self.listings[order.instrument].instrument.currency
            self.clearing.reserve(reservation_id, order.member, currency, amount)
        return reservation_id

    def _balances_of(self, order: _Order) -> ClearingHouse | CustodyBook:
        return self.custody if order.side is Side.SELL else self.clearing

    def _held(self, order: _Order) -> int:
        balances = self._balances_of(order)
        return sum(
            reservation.amount
            for reservation in map(balances.reservation, order.reservations)
            if reservation is not None
        )

    def _spend(self, order: _Order, amount: int, use: Use) -> None:
        """Take `amount` out of the order's reservations, oldest first, with `use(id, n)`."""
        balances = self._balances_of(order)
        for reservation_id in order.reservations:
            if amount == 0:
                return
            reservation = balances.reservation(reservation_id)
            if reservation is None:
                continue
            part = min(amount, reservation.amount)
            use(reservation_id, part)
            amount -= part
        assert amount == 0, f"order {order.order_id} holds {amount:,} less than it owes"

    def _forget_if_done(self, order: _Order) -> None:
        # Cheapest test first: most orders asked about still hold something.
        if order.headroom_t or self._held(order):
            return
        if self.engine.book(order.instrument).order(order.order_id) is None:
            self._orders.pop(order.order_id, None)

    # ------------------------------------------------------------ link cap headroom

    def buy_room_t(self, instrument: str, member: str) -> int | None:
        """Return how many tonnes more a buy of `member` on `instrument` could hold under its
        link's period cap now (None: no cap limits it; 0: none). Refuses as `submit` would
        when no link could carry the units to the member at all."""
        link = self._check_link(self._listing(instrument), self._member(member))
        if link is None or link.period_cap_t is None:
            return None
        key = (link.link_id, self.port.now().year)
        used = self._gateway().period_flow_t(*key) + self._headroom_t.get(key, 0)
        return max(0, link.period_cap_t - used)

    def _check_headroom(self, link: Link, quantity_t: int) -> None:
        """Refuse (9010) a buy its link's period cap could not carry with what is held already."""
        cap = link.period_cap_t
        if cap is None:
            return
        key = (link.link_id, self.port.now().year)
        used = self._gateway().period_flow_t(*key) + self._headroom_t.get(key, 0)
        if used + quantity_t > cap:
            raise GatewayError(
                LinkCode.TRANSFER_LIMIT_EXCEEDED,
                f"link {link.link_id}: {quantity_t:,} t more would bring {key[1]} to "
                f"{used + quantity_t:,} t with what is in flight and held for orders, over the "
                f"cap of {cap:,} t",
            )

    def _hold_headroom(self, order: _Order, link: Link, quantity_t: int) -> None:
        if link.period_cap_t is None:
            return
        order.headroom = (link.link_id, self.port.now().year)
        self._add_headroom(order, quantity_t)

    def _add_headroom(self, order: _Order, quantity_t: int) -> None:
        if order.headroom is None:
            return
        order.headroom_t += quantity_t
        self._headroom_t[order.headroom] = self._headroom_t.get(order.headroom, 0) + quantity_t

    def _release_trade_headroom(self, trade: TradeRecord) -> None:
        if not trade.headroom_released:
            self._release_headroom(self._orders[trade.buy_order], trade.quantity_t)
            trade.headroom_released = True

    def _release_headroom(self, order: _Order, quantity_t: int) -> None:
        if order.headroom is None or quantity_t <= 0:
            return
        released = min(quantity_t, order.headroom_t)
        order.headroom_t -= released
        self._headroom_t[order.headroom] -= released

    def _orders_of(self, trade: TradeRecord) -> tuple[_Order, _Order]:
        return self._orders[trade.sell_order], self._orders[trade.buy_order]

    # ------------------------------------------------------------ lookups

    def _check_link(self, listing: Listing, buyer: Member) -> Link | None:
        """Return the link that would carry a buy order's units to the buyer (None: same
        registry), or refuse the order when no link could carry them now."""
        if buyer.registry == listing.registry:
            return None
        gateway = self._gateway()
        account_kind = gateway.account_kind(buyer.registry, buyer.account)
        links = gateway.links_between(listing.registry, buyer.registry)
        if not links:
            raise GatewayError(
                LinkCode.UNKNOWN_LINK, f"no link joins {listing.registry} and {buyer.registry}"
            )
        refusals = []
        for link in links:
            try:
                link.allows(
                    listing.registry,
                    buyer.registry,
                    listing.unit,
                    link.vintage_first,  # the vintage delivered is custody's oldest
                    self._origin(listing),
                    gateway.now(),
                    account_kind=account_kind,
                )
                return link
            except GatewayError as error:
                if error.code == LinkCode.OUTSIDE_TRANSFER_WINDOW:
                    return link  # it settles when the window opens
                refusals.append(error)
        raise refusals[0]

    def _origin(self, listing: Listing) -> str:
        """Return the registry that issues the listing's unit type (its own, if not known)."""
        origin = self.port.unit_origin(listing.registry, listing.unit)
        return listing.registry if origin is None else origin

    def _check_move_headroom(self, origin: str, destination: str, quantity_t: int) -> None:
        """Refuse (9010) a deposit or withdrawal through the gateway that would take period-cap
        room held for buy orders: a matched trade must always fit its link's cap."""
        # The link the gateway will carry it on: an active one in this direction first.
        carriers = sorted(
            self._gateway().links_between(origin, destination),
            key=lambda link: (
                link.state is not LinkState.ACTIVE,
                not link.permits_direction(origin, destination),
                link.link_id,
            ),
        )
        if carriers:
            self._check_headroom(carriers[0], quantity_t)

    def _gateway(self) -> SettlementPort:
        """Return the port to ask for the gateway's operations, or refuse (11204) without one."""
        if not self.port.has_gateway():
            raise MarketError(
                MarketCode.NO_GATEWAY, "this exchange has no gateway to reach other registries"
            )
        return self.port

    def _listing(self, instrument: str) -> Listing:
        listing = self.listings.get(instrument)
        if listing is None:
            known = ", ".join(sorted(self.listings)) or "none"
            raise MarketError(
                MarketCode.UNKNOWN_LISTING, f"no listing {instrument!r} (listed: {known})"
            )
        return listing

    def _member(self, member: str) -> Member:
        found = self.members.get(member)
        if found is None:
            raise MarketError(MarketCode.UNKNOWN_MEMBER, f"no member {member!r}")
        return found

    def _transfer_id(self) -> str:
        self._next_transfer += 1
        return f"{self.exchange_id}-S{self._next_transfer:06d}"


def _check_custody_not_shared(listings: Iterable[Listing]) -> None:
    """Refuse two listings of one unit type in one custody account: their claims could not
    be told apart in it."""
    seen: dict[tuple[str, str, str], str] = {}
    for listing in listings:
        key = (listing.registry, listing.custody_account, listing.unit)
        if key in seen:
            raise MarketError(
                MarketCode.CUSTODY_SHARED,
                f"listings {seen[key]} and {listing.code} both keep {listing.unit} in "
                f"{listing.registry} account {listing.custody_account}; give each its own",
            )
        seen[key] = listing.code


def command_text(command: tuple[Any, ...]) -> str:
    """Return the canonical text of `{"command": [...]}` for an engine command.

    Written directly, as `canonical.encode_text` would (`registry.canonical.quote` is the
    encoder's own string quoting): every order pays for it. Anything but ints, enums,
    strings and None goes to `canonical.encode_text`, which refuses what is not plain.
    """
    parts = []
    for item in command:
        kind = type(item)
        if kind is str:
            parts.append(quote(item))
        elif kind is int or isinstance(item, IntEnum):
            parts.append(str(int(item)))
        elif item is None:
            parts.append("null")
        else:
            plain = [int(i) if isinstance(i, IntEnum) else i for i in command]
            return canonical.encode_text({"command": plain})
    return '{"command":[' + ",".join(parts) + "]}"


def replay_engine(
    store: Store, stream: str, verify_key: VerifyKey, instruments: Iterable[Instrument]
) -> list[str]:
    """Replay an exchange's journaled engine input into a fresh engine; return its events
    in canonical text, one per line, to compare with the original run byte for byte."""
    head_seq, _ = read_head(store, stream, verify_key)
    commands = [
        tuple(entry.data["command"])
        for entry in read_entries(store, stream, 0, head_seq)
        if entry.kind == ENGINE_COMMAND
    ]
    return replay(instruments, commands)
