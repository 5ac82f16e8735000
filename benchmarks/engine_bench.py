"""Measure the matching engine on a seeded order stream typical of an allowance market.

    python benchmarks/engine_bench.py [--quick] [--seed N] [--events N] [--runs N]
                                      [--instruments N] [--profile]

Prints one line per measurement for people and, as its last line, one JSON
object for machines:

- `events_per_s`            commands applied per second, median of `--runs`,
                            calling the instrument's `Book` methods directly
- `events_per_s_via_engine` the same through `Engine` (one dict lookup and one
                            more call per command), and its `ratio_to_floor_via_engine`
- `floor_events_per_s`      the same driver loop calling an empty Python method
                            per command: the practical limit of any Python engine
- `ratio_to_floor`          events_per_s / floor_events_per_s      target >= 0.10
- `bytes_per_resting_order` tracemalloc: memory the book holds for its resting
                            orders, divided by their count          target <= 250
                            (see `bytes_per_resting_order` for how)
- `total_traded_qty`        tonnes traded over the whole stream (cross-check)

The stream (default one instrument, EUA quoted in euro cents, tick 1, lot 1;
`--instruments N` spreads it uniformly over N books) is built from
`random.Random(seed)` before any timing: a mid that random-walks on the tick
grid; 60% limit orders (a quarter of them marketable, i.e. ~15% of all
commands cross up to 4 ticks through the mid; the rest rest one to a dozen
ticks behind it), 25% cancels of live orders, 10% market orders, 5% IOC;
sizes 1..1,000 t, log-normal (median about 20 t); 50 participants. To cancel
only live orders the generator runs the stream once on a scratch engine and
follows its events; the timed runs replay the same stream on fresh engines,
with the stream frozen out of the garbage collector's scans (`gc.freeze`).
Events are drained (cleared) every 4,096 commands, in both loops.

Not part of the test suite: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exchange import Book, Engine, EventKind, Instrument, Side

TARGET_RATIO_TO_FLOOR = 0.10
TARGET_BYTES_PER_RESTING_ORDER = 250
DRAIN_EVERY = 4096
PARTICIPANTS_N = 50

LIMIT, CANCEL, MARKET, IOC = 0, 1, 2, 3
Stream = list[tuple[int, tuple[Any, ...]]]


CODES = ("EUA", "KAU", "CEA", "UKA", "NZU", "CCA", "RGA", "WCA")


def instruments(instruments_n: int = 1) -> list[Instrument]:
    """Return the benchmark's instruments: EUA first, all tick 1 minor unit, lot 1 t."""
    assert 1 <= instruments_n <= len(CODES), instruments_n
    return [Instrument(code, "EUR", tick_minor=1, lot_t=1) for code in CODES[:instruments_n]]


def _size_t(rng: random.Random) -> int:
    return max(1, min(1_000, int(rng.lognormvariate(3.0, 1.2))))


class _Market:
    """The generator's view of one instrument: a scratch book, its live orders, its mid."""

    def __init__(self, book: Book, mid: int) -> None:
        self.book = book
        self.mid = mid
        self.live: list[int] = []  # live order ids, for O(1) random removal (swap-pop)
        self.where: dict[int, int] = {}

    def remember(self, order_id: int) -> None:
        self.where[order_id] = len(self.live)
        self.live.append(order_id)

    def forget(self, order_id: int) -> None:
        index = self.where.pop(order_id)
        last = self.live.pop()
        if last != order_id:
            self.live[index] = last
            self.where[last] = index


def generate(seed: int, events_n: int, instruments_n: int = 1) -> Stream:
    """Return `events_n` commands as (instrument index x 4 + kind, args for the Book method)."""
    rng = random.Random(seed)
    scratch = Engine(instruments(instruments_n))
    events = scratch.events
    markets = [
        _Market(scratch.book(code), 7_000 + 500 * index)  # EUA at EUR 70.00, in cents
        for index, code in enumerate(CODES[:instruments_n])
    ]
    participants = [f"P{i:02d}" for i in range(PARTICIPANTS_N)]
    next_id = 1
    stream: Stream = []
    for _ in range(events_n):
        index = rng.randrange(instruments_n) if instruments_n > 1 else 0
        market = markets[index]
        if rng.random() < 0.05:
            market.mid = max(100, market.mid + rng.choice((-1, 1)))
        mid = market.mid
        roll = rng.random()
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        sign = 1 if side == Side.BUY else -1
        who = participants[rng.randrange(PARTICIPANTS_N)]
        live = market.live
        args: tuple[Any, ...]
        if roll < 0.25 and live:
            kind, args = CANCEL, (live[rng.randrange(len(live))],)
        elif roll < 0.35:
            kind, args = MARKET, (next_id, who, side, _size_t(rng))
        elif roll < 0.40:
            price = mid + sign * rng.randint(-2, 3)
            kind, args = IOC, (next_id, who, side, price, _size_t(rng))
        else:
            if rng.random() < 0.25:  # marketable: through the touch by up to 4 ticks
                price = mid + sign * rng.randint(1, 4)
            else:  # passive: 1..~12 ticks behind the mid
                price = mid - sign * (1 + min(30, int(rng.expovariate(1 / 3))))
            kind, args = LIMIT, (next_id, who, side, price, _size_t(rng))
        stream.append((index * 4 + kind, args))
        if kind != CANCEL:
            next_id += 1
        book = market.book
        _apply(book, kind, args)
        for event in events:
            if event[0] == EventKind.ACCEPTED and kind == LIMIT:
                market.remember(event[2])
            elif event[0] == EventKind.CANCELLED and event[2] in market.where:
                market.forget(event[2])
            elif (
                event[0] == EventKind.TRADE
                and event[8] in market.where
                and book.order(event[8]) is None
            ):
                market.forget(event[8])
        if kind == LIMIT and args[0] in market.where and book.order(args[0]) is None:
            market.forget(args[0])  # fully filled on arrival
        events.clear()
    return stream


def _apply(book: Book, kind: int, args: tuple[Any, ...]) -> None:
    (book.limit, book.cancel, book.market, book.ioc)[kind](*args)


class _Empty:
    def call(self, *args: Any) -> None:
        pass


def drive(stream: Stream, methods: tuple[Callable[..., None], ...], events: list[Any]) -> float:
    """Run the stream through `methods`; return elapsed seconds (the measured loop)."""
    clear = events.clear
    countdown = DRAIN_EVERY
    start = time.perf_counter()
    for kind, args in stream:
        methods[kind](*args)
        countdown -= 1
        if not countdown:
            clear()
            countdown = DRAIN_EVERY
    elapsed = time.perf_counter() - start
    clear()
    return elapsed


def run_engine(stream: Stream, instruments_n: int) -> float:
    engine = Engine(instruments(instruments_n))
    methods = tuple(
        method
        for book in (engine.book(i.code) for i in instruments(instruments_n))
        for method in (book.limit, book.cancel, book.market, book.ioc)
    )
    return drive(stream, methods, engine.events)


def run_via_engine(stream: Stream, instruments_n: int) -> float:
    """Drive through `Engine` (instrument lookup per command) instead of the `Book`."""
    engine = Engine(instruments(instruments_n))
    methods = tuple(
        partial(method, code)
        for code in CODES[:instruments_n]
        for method in (engine.limit, engine.cancel, engine.market, engine.ioc)
    )
    return drive(stream, methods, engine.events)


def run_floor(stream: Stream, instruments_n: int) -> float:
    empty = _Empty()
    return drive(stream, (empty.call,) * (4 * instruments_n), [])


def bytes_per_resting_order(stream: Stream, resting_n: int) -> tuple[float, int]:
    """Return tracemalloc bytes per resting order of a book holding `resting_n` orders.

    The stream itself leaves a thin book (its cancels and market orders eat
    the queue), so the book is built from the stream's limit orders that
    rest on arrival (crossing ones are skipped) until `resting_n` rest. The
    figure covers what the book allocates for them: `Order` objects, the
    orders-by-id dict, `Level` objects, the level dicts and price lists. The
    order ids, prices and participant names are the stream's own objects.
    """
    gc.collect()
    tracemalloc.start()
    engine = Engine(instruments(1))
    book = engine.book("EUA")
    events = engine.events
    before = tracemalloc.get_traced_memory()[0]
    for kind, args in stream:
        if kind != LIMIT:
            continue
        _, _, side, price, _ = args
        best = book.best_ask() if side == Side.BUY else book.best_bid()
        if best is not None and (price >= best if side == Side.BUY else price <= best):
            continue
        book.limit(*args)
        events.clear()
        if len(book) >= resting_n:
            break
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / max(1, len(book)), len(book)


def traded_qty(stream: Stream, instruments_n: int) -> dict[str, int]:
    """Return tonnes traded, trades, rejections and mean resting orders over the stream."""
    engine = Engine(instruments(instruments_n))
    books = [engine.book(code) for code in CODES[:instruments_n]]
    total_t = trades_n = rejected_n = resting_sum = 0
    for kind, args in stream:
        _apply(books[kind // 4], kind % 4, args)
        for event in engine.events:
            if event[0] == EventKind.TRADE:
                total_t += event[4]
                trades_n += 1
            elif event[0] == EventKind.REJECTED:
                rejected_n += 1
        engine.events.clear()
        resting_sum += sum(len(book) for book in books)
    return {
        "total_traded_qty": total_t,
        "trades": trades_n,
        "rejected": rejected_n,
        "mean_resting_orders": resting_sum // max(1, len(stream)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events, 3 runs")
    parser.add_argument("--seed", type=int, default=20_261_129)
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile one engine run")
    parser.add_argument(
        "--instruments", type=int, default=1, help=f"books, 1..{len(CODES)} (default 1: EUA)"
    )
    args = parser.parse_args(argv)
    events_n = args.events or (100_000 if args.quick else 1_000_000)
    runs_n = args.runs or (3 if args.quick else 5)

    t0 = time.perf_counter()
    instruments_n = args.instruments
    stream = generate(args.seed, events_n, instruments_n)
    kinds = [0, 0, 0, 0]
    for kind, _ in stream:
        kinds[kind % 4] += 1
    print(
        f"stream: {events_n:,} commands (limit {kinds[LIMIT]:,}, cancel {kinds[CANCEL]:,}, "
        f"market {kinds[MARKET]:,}, ioc {kinds[IOC]:,}) generated in "
        f"{time.perf_counter() - t0:.1f} s, seed {args.seed}"
    )

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(run_engine, stream, instruments_n)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)

    gc.collect()
    gc.freeze()  # the stream is long-lived: keep it out of the collector's scans
    engine_s, floor_s, via_engine_s = [], [], []
    for _ in range(runs_n):
        floor_s.append(run_floor(stream, instruments_n))
        engine_s.append(run_engine(stream, instruments_n))
        gc.collect()
        via_engine_s.append(run_via_engine(stream, instruments_n))
        gc.collect()
    gc.unfreeze()
    events_per_s = events_n / statistics.median(engine_s)
    floor_per_s = events_n / statistics.median(floor_s)
    ratio = events_per_s / floor_per_s
    via_engine_per_s = events_n / statistics.median(via_engine_s)
    counts = traded_qty(stream, instruments_n)
    per_order_b, resting_n = bytes_per_resting_order(stream, min(100_000, events_n // 10))

    print(
        f"engine: {events_per_s:,.0f} events/s (median of {runs_n}; runs "
        + ", ".join(f"{events_n / s:,.0f}" for s in engine_s)
        + ")"
    )
    print(
        f"via Engine (instrument lookup per command): {via_engine_per_s:,.0f} events/s, "
        f"ratio {via_engine_per_s / floor_per_s:.3f}"
    )
    print(f"floor:  {floor_per_s:,.0f} events/s (empty method per event)")
    print(
        f"ratio_to_floor {ratio:.3f}: {ratio / TARGET_RATIO_TO_FLOOR:.2f}x the target "
        f"{TARGET_RATIO_TO_FLOOR}"
    )
    print(
        f"memory: {per_order_b:.0f} bytes per resting order over {resting_n:,} resting "
        f"orders: {TARGET_BYTES_PER_RESTING_ORDER / per_order_b:.2f}x the target "
        f"<= {TARGET_BYTES_PER_RESTING_ORDER}"
    )
    print(
        f"traded: {counts['total_traded_qty']:,} t in {counts['trades']:,} trades; "
        f"{counts['rejected']:,} commands rejected; "
        f"{counts['mean_resting_orders']:,} orders resting on average"
    )
    result = {
        "events": events_n,
        "runs": runs_n,
        "seed": args.seed,
        "instruments": instruments_n,
        "events_per_s": round(events_per_s),
        "floor_events_per_s": round(floor_per_s),
        "ratio_to_floor": round(ratio, 4),
        "events_per_s_via_engine": round(via_engine_per_s),
        "ratio_to_floor_via_engine": round(via_engine_per_s / floor_per_s, 4),
        "ratio_to_target": round(ratio / TARGET_RATIO_TO_FLOOR, 3),
        "bytes_per_resting_order": round(per_order_b, 1),
        "bytes_ratio_to_target": round(TARGET_BYTES_PER_RESTING_ORDER / per_order_b, 3)
        if per_order_b > 0
        else math.inf,
        "resting_orders": resting_n,
        **counts,
        "python": platform.python_version(),
    }
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
