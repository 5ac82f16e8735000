"""The exchange: a pure price-time-priority matching engine per instrument; around it,
pre-trade risk, custody, the clearing house's cash, DvP settlement through a settlement
port to the registries and the gateway, and primary auctions.

`import exchange.book` loads the book alone: each name below is imported on first use, so
the matching engine never pulls in the registry store, the gateway or SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.lazy_names import lazy_names

if TYPE_CHECKING:
    from exchange.auction import (
        Auction,
        AuctionCode,
        AuctionError,
        AuctionResult,
        AuctionRules,
        Bid,
        UnsoldRule,
        clear_auction,
    )
    from exchange.balances import Balance, BalanceCode, BalanceError
    from exchange.book import (
        Book,
        CancelReason,
        DailyStats,
        Event,
        EventKind,
        Instrument,
        OrderType,
        SelfTradeMode,
        Side,
        event_text,
    )
    from exchange.clearing import ClearingHouse
    from exchange.custody import CustodyBook
    from exchange.engine import Command, Engine, replay
    from exchange.errors import ExchangeError, RejectCode
    from exchange.market import (
        CycleReport,
        Exchange,
        Listing,
        MarketCode,
        MarketError,
        Member,
        TradeRecord,
        TradeStatus,
        replay_engine,
    )
    from exchange.settlement_port import (
        Holding,
        LocalSettlement,
        SettlementPort,
        TransferOutcome,
    )

# Where each public name lives; `__getattr__` imports its module when it is first asked for.
_HOMES: dict[str, str] = {
    "Auction": "exchange.auction",
    "AuctionCode": "exchange.auction",
    "AuctionError": "exchange.auction",
    "AuctionResult": "exchange.auction",
    "AuctionRules": "exchange.auction",
    "Bid": "exchange.auction",
    "UnsoldRule": "exchange.auction",
    "clear_auction": "exchange.auction",
    "Balance": "exchange.balances",
    "BalanceCode": "exchange.balances",
    "BalanceError": "exchange.balances",
    "Book": "exchange.book",
    "CancelReason": "exchange.book",
    "DailyStats": "exchange.book",
    "Event": "exchange.book",
    "EventKind": "exchange.book",
    "Instrument": "exchange.book",
    "OrderType": "exchange.book",
    "SelfTradeMode": "exchange.book",
    "Side": "exchange.book",
    "event_text": "exchange.book",
    "ClearingHouse": "exchange.clearing",
    "CustodyBook": "exchange.custody",
    "Command": "exchange.engine",
    "Engine": "exchange.engine",
    "replay": "exchange.engine",
    "ExchangeError": "exchange.errors",
    "RejectCode": "exchange.errors",
    "CycleReport": "exchange.market",
    "Exchange": "exchange.market",
    "Listing": "exchange.market",
    "MarketCode": "exchange.market",
    "MarketError": "exchange.market",
    "Member": "exchange.market",
    "TradeRecord": "exchange.market",
    "TradeStatus": "exchange.market",
    "replay_engine": "exchange.market",
    "Holding": "exchange.settlement_port",
    "LocalSettlement": "exchange.settlement_port",
    "SettlementPort": "exchange.settlement_port",
    "TransferOutcome": "exchange.settlement_port",
}

__all__ = [
    "Auction",
    "AuctionCode",
    "AuctionError",
    "AuctionResult",
    "AuctionRules",
    "Balance",
    "BalanceCode",
    "BalanceError",
    "Bid",
    "Book",
    "CancelReason",
    "ClearingHouse",
    "Command",
    "CustodyBook",
    "CycleReport",
    "DailyStats",
    "Engine",
    "Event",
    "EventKind",
    "Exchange",
    "ExchangeError",
    "Holding",
    "Instrument",
    "Listing",
    "LocalSettlement",
    "MarketCode",
    "MarketError",
    "Member",
    "OrderType",
    "RejectCode",
    "SelfTradeMode",
    "SettlementPort",
    "Side",
    "TradeRecord",
    "TradeStatus",
    "TransferOutcome",
    "UnsoldRule",
    "clear_auction",
    "event_text",
    "replay",
    "replay_engine",
]

__getattr__, __dir__ = lazy_names(globals(), _HOMES)
