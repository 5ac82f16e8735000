"""Every rejection code of the matching engine, and that a rejection changes nothing.

Each test builds a small book, takes `Engine.snapshot()` (every resting order
in priority order, best prices, trade sequence, last trade, day statistics),
sends one bad command and asserts: exactly one `REJECTED` event with the
expected code, and the same snapshot afterwards (DESIGN.md invariant 8).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from exchange import Engine, EventKind, Instrument, OrderType, RejectCode, SelfTradeMode, Side

BUY, SELL = Side.BUY, Side.SELL


def _engine(mode: SelfTradeMode = SelfTradeMode.CANCEL_RESTING, max_orders: int = 100) -> Engine:
    """Return an engine with a two-sided EUA book (tick 5, lot 10) and one earlier trade."""
    engine = Engine(
        [
            Instrument(
                "EUA",
                "EUR",
                tick_minor=5,
                lot_t=10,
                max_price_minor=100_000,
                max_quantity_t=10_000,
                max_orders=max_orders,
            )
        ],
        mode,
    )
    engine.limit("EUA", 1, "alice", BUY, 6_990, 100)
    engine.limit("EUA", 2, "bob", BUY, 6_985, 50)
    engine.limit("EUA", 3, "carol", SELL, 7_000, 100)
    engine.limit("EUA", 4, "dave", SELL, 7_010, 40)
    engine.limit("EUA", 5, "erin", BUY, 7_000, 20)  # trades 20 t with carol
    engine.drain()
    return engine


def _assert_rejected_and_unchanged(
    engine: Engine,
    command: Callable[[Engine], None],
    order_id: int,
    code: RejectCode,
    instrument: str = "EUA",
) -> None:
    before = engine.snapshot()
    command(engine)
    assert engine.drain() == [(EventKind.REJECTED, instrument, order_id, code)]
    assert engine.snapshot() == before
    engine.book("EUA").check_invariants()


CASES: list[tuple[str, Callable[[Engine], None], int, RejectCode]] = [
    (
        "limit_unknown_instrument",
        lambda e: e.limit("KAU", 9, "x", BUY, 7_000, 10),
        9,
        RejectCode.UNKNOWN_INSTRUMENT,
    ),
    ("cancel_unknown_instrument", lambda e: e.cancel("CEA", 1), 1, RejectCode.UNKNOWN_INSTRUMENT),
    (
        "amend_unknown_instrument",
        lambda e: e.amend("CEA", 1, 6_990, 10),
        1,
        RejectCode.UNKNOWN_INSTRUMENT,
    ),
    (
        "market_unknown_instrument",
        lambda e: e.market("CEA", 9, "x", BUY, 10),
        9,
        RejectCode.UNKNOWN_INSTRUMENT,
    ),
    (
        "limit_duplicate_id",
        lambda e: e.limit("EUA", 1, "x", BUY, 6_980, 10),
        1,
        RejectCode.DUPLICATE_ORDER_ID,
    ),
    (
        "market_duplicate_id",
        lambda e: e.market("EUA", 3, "x", BUY, 10),
        3,
        RejectCode.DUPLICATE_ORDER_ID,
    ),
    (
        "ioc_duplicate_id",
        lambda e: e.ioc("EUA", 4, "x", BUY, 7_010, 10),
        4,
        RejectCode.DUPLICATE_ORDER_ID,
    ),
    (
        "limit_zero_quantity",
        lambda e: e.limit("EUA", 9, "x", BUY, 6_980, 0),
        9,
        RejectCode.QUANTITY_NOT_POSITIVE,
    ),
    (
        "market_negative_quantity",
        lambda e: e.market("EUA", 9, "x", SELL, -10),
        9,
        RejectCode.QUANTITY_NOT_POSITIVE,
    ),
    (
        "amend_zero_quantity",
        lambda e: e.amend("EUA", 1, 6_990, 0),
        1,
        RejectCode.QUANTITY_NOT_POSITIVE,
    ),
    (
        "limit_quantity_above_limit",
        lambda e: e.limit("EUA", 9, "x", BUY, 6_980, 10_010),
        9,
        RejectCode.QUANTITY_ABOVE_LIMIT,
    ),
    ("limit_bad_lot", lambda e: e.limit("EUA", 9, "x", BUY, 6_980, 15), 9, RejectCode.BAD_LOT),
    ("fok_bad_lot", lambda e: e.fok("EUA", 9, "x", BUY, 7_000, 15), 9, RejectCode.BAD_LOT),
    ("amend_bad_lot", lambda e: e.amend("EUA", 1, 6_990, 15), 1, RejectCode.BAD_LOT),
    (
        "limit_zero_price",
        lambda e: e.limit("EUA", 9, "x", BUY, 0, 10),
        9,
        RejectCode.PRICE_NOT_POSITIVE,
    ),
    (
        "ioc_negative_price",
        lambda e: e.ioc("EUA", 9, "x", SELL, -5, 10),
        9,
        RejectCode.PRICE_NOT_POSITIVE,
    ),
    (
        "limit_price_above_limit",
        lambda e: e.limit("EUA", 9, "x", SELL, 100_005, 10),
        9,
        RejectCode.PRICE_ABOVE_LIMIT,
    ),
    ("limit_bad_tick", lambda e: e.limit("EUA", 9, "x", BUY, 6_981, 10), 9, RejectCode.BAD_TICK),
    (
        "post_only_bad_tick",
        lambda e: e.post_only("EUA", 9, "x", BUY, 6_981, 10),
        9,
        RejectCode.BAD_TICK,
    ),
    ("amend_bad_tick", lambda e: e.amend("EUA", 1, 6_992, 10), 1, RejectCode.BAD_TICK),
    (
        "post_only_buy_would_cross",
        lambda e: e.post_only("EUA", 9, "x", BUY, 7_000, 10),
        9,
        RejectCode.WOULD_CROSS,
    ),
    (
        "post_only_sell_would_cross",
        lambda e: e.post_only("EUA", 9, "x", SELL, 6_985, 10),
        9,
        RejectCode.WOULD_CROSS,
    ),
    ("amend_would_cross", lambda e: e.amend("EUA", 2, 7_005, 50), 2, RejectCode.WOULD_CROSS),
    (
        "fok_not_fillable_by_size",
        lambda e: e.fok("EUA", 9, "x", BUY, 7_010, 130),
        9,
        RejectCode.FOK_NOT_FILLABLE,
    ),
    (
        "fok_not_fillable_by_price",
        lambda e: e.fok("EUA", 9, "x", SELL, 6_990, 110),
        9,
        RejectCode.FOK_NOT_FILLABLE,
    ),
    (
        "fok_own_orders_do_not_count",
        lambda e: e.fok("EUA", 9, "carol", BUY, 7_010, 50),
        9,
        RejectCode.FOK_NOT_FILLABLE,
    ),
    ("cancel_unknown_order", lambda e: e.cancel("EUA", 99), 99, RejectCode.UNKNOWN_ORDER),
    ("cancel_filled_order", lambda e: e.cancel("EUA", 5), 5, RejectCode.UNKNOWN_ORDER),
    ("amend_unknown_order", lambda e: e.amend("EUA", 99, 6_990, 10), 99, RejectCode.UNKNOWN_ORDER),
    (
        "submit_market_bad_lot",
        lambda e: e.submit("EUA", OrderType.MARKET, 9, "x", BUY, None, 5),
        9,
        RejectCode.BAD_LOT,
    ),
]


@pytest.mark.parametrize(
    ("command", "order_id", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_command_is_rejected_with_its_code_and_changes_nothing(
    command: Callable[[Engine], None], order_id: int, code: RejectCode
) -> None:
    _assert_rejected_and_unchanged(
        _engine(),
        command,
        order_id,
        code,
        "EUA" if code != RejectCode.UNKNOWN_INSTRUMENT else _instrument_of(command),
    )


def _instrument_of(command: Callable[[Engine], None]) -> str:
    probe = Engine()
    command(probe)
    return str(probe.events[0][1])


def test_market_order_against_empty_side_is_rejected_no_liquidity_and_changes_nothing() -> None:
    engine = _engine()
    engine.cancel("EUA", 3)
    engine.cancel("EUA", 4)
    engine.drain()
    _assert_rejected_and_unchanged(
        engine, lambda e: e.market("EUA", 9, "x", BUY, 10), 9, RejectCode.NO_LIQUIDITY
    )


def test_order_beyond_max_orders_is_rejected_book_full_and_changes_nothing() -> None:
    engine = _engine(max_orders=4)  # resting: 1, 2, 3 (partly filled), 4
    _assert_rejected_and_unchanged(
        engine, lambda e: e.limit("EUA", 9, "x", BUY, 6_900, 10), 9, RejectCode.BOOK_FULL
    )


def test_fok_under_cancel_incoming_counts_liquidity_only_up_to_own_order() -> None:
    engine = _engine(SelfTradeMode.CANCEL_INCOMING)
    engine.limit("EUA", 6, "x", SELL, 7_005, 500)
    engine.drain()
    # carol's 80 t at 7,000 come before x's own 500 t at 7,005: 80 t eligible.
    _assert_rejected_and_unchanged(
        engine, lambda e: e.fok("EUA", 9, "x", BUY, 7_010, 90), 9, RejectCode.FOK_NOT_FILLABLE
    )


def test_first_failing_check_is_reported_in_code_order() -> None:
    engine = _engine()
    # duplicate id and a bad tick and a bad lot: the duplicate is checked first.
    _assert_rejected_and_unchanged(
        engine, lambda e: e.limit("EUA", 1, "x", BUY, 6_981, 15), 1, RejectCode.DUPLICATE_ORDER_ID
    )
    _assert_rejected_and_unchanged(
        engine, lambda e: e.limit("EUA", 9, "x", BUY, 6_981, 15), 9, RejectCode.BAD_LOT
    )


def test_reject_codes_are_in_the_exchange_range_and_unique() -> None:
    values = [int(code) for code in RejectCode]
    assert len(set(values)) == len(values)
    assert all(11_001 <= value <= 11_099 for value in values)


def test_quantity_above_limit_is_reported_before_a_bad_lot() -> None:
    _assert_rejected_and_unchanged(
        _engine(),
        lambda e: e.limit("EUA", 9, "x", BUY, 6_980, 10_015),
        9,
        RejectCode.QUANTITY_ABOVE_LIMIT,
    )


def test_fok_exactly_fillable_across_two_levels_is_accepted_and_fills() -> None:
    engine = _engine()
    engine.fok("EUA", 9, "x", BUY, 7_010, 120)  # 80 t @ 7,000 + 40 t @ 7,010
    events = engine.drain()
    assert events[0] == (EventKind.ACCEPTED, "EUA", 9)
    assert sum(e[4] for e in events if e[0] == EventKind.TRADE) == 120
    assert engine.book("EUA").best_ask() is None
