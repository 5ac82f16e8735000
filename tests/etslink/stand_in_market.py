"""A stand-in for `MarketAccess`: what an agent reads and does, with no exchange behind it.

Agents' unit tests give it quotes, holdings and cash, let the agent act, and read the
orders it placed (side, book, price, tonnes); order ids count from 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from etslink.sim.access import Quote


@dataclass
class StandInMarket:
    """Quotes per book, units held per unit type, cash; the orders placed."""

    quotes: dict[str, Quote]
    held: dict[str, int] = field(default_factory=dict)
    unfilled: set[int] = field(default_factory=set)
    auction_supply_t: dict[str, int] = field(default_factory=dict)
    cash_minor: int = 10**12
    sessions_left: int = 10
    orders: list[tuple[str, str, float, int]] = field(default_factory=list)

    def quote(self, code: str) -> Quote:
        return self.quotes.get(code, Quote(None, None, None))

    def account_t(self, registry: str, account: str, unit_type: str) -> int:
        return self.held.get(unit_type, 0)

    def claimed_t(self, member: str, unit_type: str) -> int:
        return 0

    def free_claim_t(self, member: str, code: str) -> int:
        return 0

    def cash_free_minor(self, member: str, currency: str) -> int:
        return self.cash_minor

    def buy_room_t(self, member: str, code: str) -> int | None:
        return None

    def buy(self, member: str, code: str, price: float, quantity_t: int) -> int:
        self.orders.append(("buy", code, price, quantity_t))
        return len(self.orders)

    def sell(self, member: str, code: str, price: float, quantity_t: int) -> int:
        self.orders.append(("sell", code, price, quantity_t))
        return len(self.orders)
