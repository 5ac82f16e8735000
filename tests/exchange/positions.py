"""A recount of the members' unsettled positions from the trade records, for the machines."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from exchange.market import Exchange, TradeStatus


def check_unsettled_positions(
    exchange: Exchange, members: Iterable[str], currency_of: Mapping[str, str]
) -> None:
    """Assert each member's unsettled tonnes per listing and cash per currency equal a
    recount over `exchange.trades` of the trades still PENDING or IN_TRANSFER."""
    open_trades = [
        t
        for t in exchange.trades.values()
        if t.status in (TradeStatus.PENDING, TradeStatus.IN_TRANSFER)
    ]
    for member in members:
        for instrument in currency_of:
            mine = [t for t in open_trades if t.instrument == instrument]
            bought_t = sum(t.quantity_t for t in mine if t.buyer == member)
            sold_t = sum(t.quantity_t for t in mine if t.seller == member)
            assert exchange.unsettled_t(member, instrument) == bought_t - sold_t, member
        for currency in set(currency_of.values()):
            mine = [t for t in open_trades if currency_of[t.instrument] == currency]
            received = sum(t.cost_minor for t in mine if t.seller == member)
            paid = sum(t.cost_minor for t in mine if t.buyer == member)
            assert exchange.unsettled_cash_minor(member, currency) == received - paid, member
