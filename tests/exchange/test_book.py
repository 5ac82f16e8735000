"""Example scenarios of the matching engine: priority, order types, amends, market data.

Semantics are those stated in `exchange/book.py`'s module docstring (the
issue: "Exchange: ... matching engine"; DESIGN.md "Exchange").
"""

from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import pytest

from exchange import (
    CancelReason,
    DailyStats,
    Engine,
    EventKind,
    ExchangeError,
    Instrument,
    RejectCode,
    SelfTradeMode,
    Side,
    event_text,
    replay,
)

BUY, SELL = Side.BUY, Side.SELL
ACC, TRD, CXL, AMD = EventKind.ACCEPTED, EventKind.TRADE, EventKind.CANCELLED, EventKind.AMENDED
EUA = Instrument("EUA", "EUR", tick_minor=1, lot_t=1)


def _engine(mode: SelfTradeMode = SelfTradeMode.CANCEL_RESTING) -> Engine:
    return Engine([EUA], mode)


def _trades(events: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [e for e in events if e[0] == TRD]


def test_orders_at_one_price_fill_in_arrival_order() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", SELL, 7_000, 10)
    engine.limit("EUA", 2, "b", SELL, 7_000, 10)
    engine.limit("EUA", 3, "c", SELL, 7_000, 10)
    engine.drain()
    engine.limit("EUA", 4, "d", BUY, 7_000, 15)
    assert _trades(engine.drain()) == [
        (TRD, "EUA", 1, 7_000, 10, "d", "a", BUY, 1, 4),
        (TRD, "EUA", 2, 7_000, 5, "d", "b", BUY, 2, 4),
    ]
    assert engine.book("EUA").side_orders(SELL) == [(2, "b", 7_000, 5, 10), (3, "c", 7_000, 10, 10)]


def test_better_price_fills_first_even_when_it_arrived_later() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", BUY, 6_990, 10)
    engine.limit("EUA", 2, "b", BUY, 6_995, 10)
    engine.drain()
    engine.market("EUA", 3, "c", SELL, 15)
    assert [(e[3], e[4], e[8]) for e in _trades(engine.drain())] == [(6_995, 10, 2), (6_990, 5, 1)]


def test_incoming_order_trades_at_the_resting_price_never_worse_than_its_limit() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", SELL, 7_000, 10)
    engine.limit("EUA", 2, "b", BUY, 7_050, 10)
    assert _trades(engine.drain())[0][3] == 7_000


def test_amend_down_keeps_priority_and_amend_up_loses_it() -> None:
    engine = _engine()
    for order_id, who in ((1, "a"), (2, "b"), (3, "c")):
        engine.limit("EUA", order_id, who, SELL, 7_000, 10)
    engine.amend("EUA", 1, 7_000, 4)
    engine.amend("EUA", 2, 7_000, 12)
    assert engine.drain()[-2:] == [(AMD, "EUA", 1, 7_000, 4, 1), (AMD, "EUA", 2, 7_000, 12, 0)]
    book = engine.book("EUA")
    assert [o[0] for o in book.side_orders(SELL)] == [1, 3, 2]
    assert book.order(1) == (1, "a", SELL, 7_000, 4, 4)
    assert book.depth(SELL, 1) == [(7_000, 26)]


def test_amend_to_a_new_price_goes_to_the_back_of_that_level() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", BUY, 6_990, 10)
    engine.limit("EUA", 2, "b", BUY, 6_980, 10)
    engine.amend("EUA", 1, 6_980, 10)
    book = engine.book("EUA")
    assert [o[0] for o in book.side_orders(BUY)] == [2, 1]
    assert book.best_bid() == 6_980
    assert book.depth(BUY, 5) == [(6_980, 20)]


def test_cancel_from_the_middle_of_a_level_keeps_the_queue_and_the_depth_right() -> None:
    engine = _engine()
    for order_id in (1, 2, 3):
        engine.limit("EUA", order_id, f"p{order_id}", SELL, 7_000, 10 * order_id)
    engine.cancel("EUA", 2)
    assert engine.drain()[-1] == (CXL, "EUA", 2, 20, CancelReason.USER)
    book = engine.book("EUA")
    book.check_invariants()
    assert book.depth(SELL, 1) == [(7_000, 40)]
    assert [o[0] for o in book.side_orders(SELL)] == [1, 3]
    engine.cancel("EUA", 1)
    engine.cancel("EUA", 3)
    assert book.best_ask() is None and book.depth(SELL, 1) == []


def test_self_trade_cancels_the_resting_order_by_default_and_trades_on() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", SELL, 7_000, 10)
    engine.limit("EUA", 2, "b", SELL, 7_001, 10)
    engine.drain()
    engine.limit("EUA", 3, "a", BUY, 7_001, 15)
    assert engine.drain() == [
        (ACC, "EUA", 3),
        (CXL, "EUA", 1, 10, CancelReason.SELF_TRADE),
        (TRD, "EUA", 1, 7_001, 10, "a", "b", BUY, 2, 3),
    ]
    assert engine.book("EUA").side_orders(BUY) == [(3, "a", 7_001, 5, 15)]


def test_self_trade_in_cancel_incoming_mode_cancels_the_incoming_remainder() -> None:
    engine = _engine(SelfTradeMode.CANCEL_INCOMING)
    engine.limit("EUA", 1, "b", SELL, 7_000, 5)
    engine.limit("EUA", 2, "a", SELL, 7_000, 10)
    engine.drain()
    engine.limit("EUA", 3, "a", BUY, 7_001, 15)
    assert engine.drain() == [
        (ACC, "EUA", 3),
        (TRD, "EUA", 1, 7_000, 5, "a", "b", BUY, 1, 3),
        (CXL, "EUA", 3, 10, CancelReason.SELF_TRADE),
    ]
    book = engine.book("EUA")
    assert book.side_orders(BUY) == []
    assert book.side_orders(SELL) == [(2, "a", 7_000, 10, 10)]


def test_market_and_ioc_remainders_are_cancelled_not_rested() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", SELL, 7_000, 10)
    engine.market("EUA", 2, "b", BUY, 25)
    assert engine.drain()[-1] == (CXL, "EUA", 2, 15, CancelReason.MARKET_REMAINDER)
    engine.limit("EUA", 3, "a", SELL, 7_000, 10)
    engine.ioc("EUA", 4, "b", BUY, 7_000, 12)
    assert engine.drain()[-1] == (CXL, "EUA", 4, 2, CancelReason.IOC_REMAINDER)
    assert len(engine.book("EUA")) == 0


def test_fill_or_kill_fills_completely_across_levels() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", SELL, 7_000, 10)
    engine.limit("EUA", 2, "b", SELL, 7_002, 10)
    engine.limit("EUA", 3, "c", SELL, 7_003, 10)
    engine.drain()
    engine.fok("EUA", 4, "d", BUY, 7_002, 20)
    assert [(e[3], e[4]) for e in _trades(engine.drain())] == [(7_000, 10), (7_002, 10)]
    assert engine.book("EUA").best_ask() == 7_003


def test_post_only_that_does_not_cross_rests() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", SELL, 7_000, 10)
    engine.post_only("EUA", 2, "b", BUY, 6_999, 10)
    assert engine.drain()[-1] == (ACC, "EUA", 2)
    assert engine.book("EUA").best_bid() == 6_999


def test_daily_ohlc_and_exact_vwap_then_roll_day_starts_afresh() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", SELL, 7_000, 10)
    engine.limit("EUA", 2, "a", SELL, 7_010, 10)
    engine.limit("EUA", 3, "a", SELL, 6_990, 10)
    engine.market("EUA", 4, "b", BUY, 13)  # 10 @ 6,990, 3 @ 7,000
    engine.market("EUA", 5, "b", BUY, 8)  # 7 @ 7,000, 1 @ 7,010
    book = engine.book("EUA")
    assert book.last_trade() == (7_010, 1)
    closed = engine.roll_day()["EUA"]
    assert closed == DailyStats(
        day=0,
        open_minor=6_990,
        high_minor=7_010,
        low_minor=6_990,
        close_minor=7_010,
        volume_t=21,
        notional_minor=10 * 6_990 + 10 * 7_000 + 7_010,
        trade_count=4,
    )
    assert closed.vwap_minor == Fraction(146_910, 21)
    today = book.daily()
    assert today == DailyStats(1, None, None, None, None, 0, 0, 0)
    assert today.vwap_minor is None
    assert book.last_trade() == (7_010, 1)  # the last trade survives the roll


def test_depth_returns_top_levels_best_first_with_aggregated_quantity() -> None:
    engine = _engine()
    for order_id, (price, qty) in enumerate(
        [(6_990, 5), (6_990, 7), (6_980, 1), (6_970, 2), (6_960, 9)], start=1
    ):
        engine.limit("EUA", order_id, "a", BUY, price, qty)
    engine.limit("EUA", 9, "b", SELL, 7_005, 3)
    book = engine.book("EUA")
    assert book.depth(BUY, 3) == [(6_990, 12), (6_980, 1), (6_970, 2)]
    assert book.depth(SELL, 3) == [(7_005, 3)]
    assert (book.best_bid(), book.best_ask()) == (6_990, 7_005)


def _commands() -> list[tuple[object, ...]]:
    import random

    rng = random.Random(7)
    out: list[tuple[object, ...]] = []
    for order_id in range(1, 400):
        side = rng.choice([BUY, SELL])
        kind = rng.choice(["limit", "limit", "ioc", "fok", "post_only", "market", "cancel"])
        price = 7_000 + rng.randint(-5, 5)
        qty = rng.randint(1, 30)
        who = rng.choice("abcd")
        if kind == "cancel":
            out.append(("cancel", "EUA", rng.randint(1, order_id)))
        elif kind == "market":
            out.append(("market", "EUA", order_id, who, side, qty))
        else:
            out.append((kind, "EUA", order_id, who, side, price, qty))
    return out


def test_same_commands_replay_to_the_same_event_text_byte_for_byte() -> None:
    commands = _commands()
    first = replay([EUA], commands)
    assert first == replay([EUA], commands)
    assert any(line.startswith("TRADE ") for line in first)
    engine = _engine()
    for command in commands:
        engine.apply(command)
    assert [event_text(e) for e in engine.events] == first


def test_event_text_is_the_kind_name_then_the_fields_as_integers_and_names() -> None:
    event = (TRD, "EUA", 3, 7_000, 10, "buyer", "seller", BUY, 1, 2)
    assert event_text(event) == "TRADE EUA 3 7000 10 buyer seller 1 1 2"
    assert event_text((EventKind.REJECTED, "EUA", 9, RejectCode.BAD_TICK)) == (
        "REJECTED EUA 9 11009"
    )


def test_unknown_instrument_book_lookup_raises_a_typed_error() -> None:
    with pytest.raises(ExchangeError) as caught:
        _engine().book("KAU")
    assert caught.value.code == RejectCode.UNKNOWN_INSTRUMENT


def test_second_book_for_the_same_instrument_is_refused() -> None:
    with pytest.raises(ValueError, match="already has a book"):
        Engine([EUA, EUA])


def test_books_are_independent_per_instrument() -> None:
    engine = Engine([EUA, Instrument("KAU", "KRW", tick_minor=50, lot_t=1)])
    engine.limit("KAU", 1, "a", SELL, 30_000, 10)
    engine.limit("EUA", 1, "b", BUY, 7_000, 10)  # same id, other book: fine
    assert engine.book("KAU").best_ask() == 30_000
    assert engine.book("EUA").best_bid() == 7_000
    assert engine.instruments() == ["EUA", "KAU"]


@pytest.mark.parametrize("module", ["book.py", "engine.py"])
def test_matching_modules_import_only_stdlib_sortedcontainers_and_exchange_leaves(
    module: str,
) -> None:
    # The issue: "No database, logging, signing or registry calls in the matching path".
    allowed = {
        "__future__",
        "bisect",
        "collections.abc",
        "dataclasses",
        "enum",
        "fractions",
        "itertools",
        "typing",
        "sortedcontainers",
        "exchange.errors",
        "exchange.book",
    }
    tree = ast.parse((Path(__file__).parents[2] / "exchange" / module).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    }
    assert imported <= allowed, imported - allowed
    errors = ast.parse((Path(__file__).parents[2] / "exchange" / "errors.py").read_text())
    assert {n.module for n in ast.walk(errors) if isinstance(n, ast.ImportFrom)} <= {
        "__future__",
        "enum",
    }


def test_market_sell_reaches_a_bid_at_the_lowest_possible_price() -> None:
    engine = _engine()
    engine.limit("EUA", 1, "a", BUY, 1, 10)
    engine.market("EUA", 2, "b", SELL, 4)
    assert [(e[3], e[4]) for e in _trades(engine.drain())] == [(1, 4)]
