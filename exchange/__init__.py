"""The exchange: a pure price-time-priority matching engine per instrument; around it,
pre-trade risk, custody, the clearing house's cash, DvP settlement through the registries
and the gateway, and primary auctions."""

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
    "Instrument",
    "Listing",
    "MarketCode",
    "MarketError",
    "Member",
    "OrderType",
    "RejectCode",
    "SelfTradeMode",
    "Side",
    "TradeRecord",
    "TradeStatus",
    "UnsoldRule",
    "clear_auction",
    "event_text",
    "replay",
    "replay_engine",
]
