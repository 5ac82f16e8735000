"""Human participants in a run: a seat per participant, asked for its orders every session.

A participant (`etslink.sim.participants`: a CSV schedule, or a person at a prompt) holds a
trading account in its registry. At each session (a round) the seat shows it the market
— every book's best bid, best ask and last price, its holdings and free cash, and what
happened to its orders in the last round — and places the orders it gives, first, before
the simulated agents act. Orders are day orders: what still rests at the close is
cancelled and the participant is told so in the next round, as it is told of its fills
and of every refusal (with its check code).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from etslink.reports.figures import money
from etslink.sim.access import MarketAccess
from etslink.sim.participants import (
    InstrumentQuote,
    Participant,
    ParticipantOrder,
    RoundStatus,
)
from etslink.sim.world import Holder, World
from exchange.book import EventKind, Side
from exchange.errors import RejectCode
from registry import RegistryError


@dataclass
class Seat:
    """A human participant's place in the run: who, where, and what to tell them next."""

    participant: Participant
    holder: Holder
    news: list[str] = field(default_factory=list)  # the last round's, told at the next
    orders: dict[int, ParticipantOrder] = field(default_factory=dict)  # today's, by id
    left: bool = False
    currencies: dict[str, str] = field(default_factory=dict)  # each book's, for its prices

    @property
    def member(self) -> str:
        return self.holder.member_id

    def act(self, world: World, access: MarketAccess, moment: datetime, round_number: int) -> None:
        """Ask the participant for this round's orders and place them."""
        self.orders = {}
        self.currencies = {code: book.currency for code, book in access.books.items()}
        if self.left:
            return
        status = self.status(world, access, moment, round_number)
        self.news = []
        orders = self.participant.orders(round_number, status)
        if orders is None:
            self.left = True
            return
        for order in orders:
            self.place(world, access, order)

    def place(self, world: World, access: MarketAccess, order: ParticipantOrder) -> None:
        """Place one order; a refusal becomes news for the next round."""
        exchange = world.exchange
        order_id = access.next_order_id()
        try:
            if order.side is Side.SELL:
                claim = exchange.custody.balance(self.member, order.instrument).free
                if claim < order.quantity_t:
                    exchange.deposit_units(self.member, order.instrument, order.quantity_t - claim)
            events = exchange.submit(
                order.instrument,
                order.order_type,
                order_id,
                self.member,
                order.side,
                order.price_minor,
                order.quantity_t,
            )
        except RegistryError as error:
            access.refused += 1
            self.news.append(
                f"refused ({int(error.code)}): {order.text()} from {order.source}: {error.message}"
            )
            return
        rejected = [event for event in events if event[0] == EventKind.REJECTED]
        if rejected:
            access.refused += 1
            code = RejectCode(rejected[0][3])
            self.news.append(
                f"refused ({int(code)} {code.name.lower()}): {order.text()} from {order.source}"
            )
            return
        access.placed.append((order.instrument, order_id))
        self.orders[order_id] = order
        self.news.append(f"placed: order {order_id}, {order.text()}")

    def status(
        self, world: World, access: MarketAccess, moment: datetime, round_number: int
    ) -> RoundStatus:
        """Return what the participant sees: quotes, its holdings and cash, last round's news."""
        exchange = world.exchange
        quotes = []
        for code in sorted(access.books):
            quote = access.quote(code)
            quotes.append(
                InstrumentQuote(
                    code,
                    access.books[code].currency,
                    quote.bid_minor,
                    quote.ask_minor,
                    quote.last_minor,
                )
            )
        account = world.registries[self.holder.registry].account(self.holder.account_id)
        holdings = tuple(
            (
                code,
                account.holding.balance(access.books[code].unit_type)
                + exchange.custody.balance(self.member, code).total,
            )
            for code in sorted(access.books)
        )
        currencies = sorted({book.currency for book in access.books.values()})
        cash = tuple(
            (currency, exchange.clearing.balance(self.member, currency).free)
            for currency in currencies
        )
        date_text = f"{moment:%Y-%m-%d}"
        return RoundStatus(round_number, date_text, tuple(quotes), holdings, cash, tuple(self.news))

    def tell_cancelled(self, cancelled: Iterable[tuple[str, int, int]]) -> None:
        for _, order_id, open_t in cancelled:
            if order_id in self.orders:
                self.news.append(
                    f"cancelled at the day's end: {open_t:,} t of order "
                    f"{order_id} ({self.orders[order_id].text()}) unfilled"
                )

    def tell_fills(self, today: Sequence[Any]) -> None:
        """Add its fills of the day to what it is told next round."""
        for trade in today:
            if self.member in (trade.buyer, trade.seller):
                verb = "bought" if trade.buyer == self.member else "sold"
                self.news.append(
                    f"{verb} {trade.quantity_t:,} t {trade.instrument} at "
                    f"{money(trade.price_minor, self.currencies.get(trade.instrument))} "
                    f"(trade {trade.trade_id})"
                )


__all__ = ["Seat"]
