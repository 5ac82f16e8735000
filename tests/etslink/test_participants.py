"""Human participants: the CSV order schedule and the interactive session at a prompt."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from dataclasses import astuple
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from etslink.cli.output import print_section
from etslink.cli.run import team_section as scoreboard_section
from etslink.reports.schema import SUMMARY_SECTIONS
from etslink.reports.scoreboard import scoreboard_rows
from etslink.scenario import CsvAgent, load_scenario
from etslink.sim import participants
from etslink.sim.access import BookInfo
from etslink.sim.participants import (
    HEADER,
    HELP_LINES,
    InstrumentQuote,
    InteractiveSession,
    OrderCommand,
    Participant,
    ParticipantOrder,
    RoundStatus,
    load_schedule,
    parse_command,
    typed_price,
)
from etslink.sim.record import HolderEnd, RunRecord, SettlementRow, TradeRow
from exchange.book import Instrument, OrderType, Side
from registry.config_reader import ConfigError

EXAMPLE = Path("fixtures/scenarios/participants/classroom-orders.csv")
EU_CH = Path("fixtures/scenarios/eu-switzerland.toml")
INSTRUMENTS = ("EUA", "CHU")
CURRENCIES = {"EUA": "EUR", "CHU": "CHF"}
# Books with a tick of one cent and a lot of 1 t: only the typed words are checked.
PLAIN_BOOKS = (Instrument("EUA", "EUR"), Instrument("CHU", "CHF"))
STATUS = RoundStatus(
    round=3,
    date_text="2020-01-15",
    quotes=(
        InstrumentQuote("EUA", "EUR", 2_480, 2_520, 2_500),
        InstrumentQuote("CHU", "CHF", None, None, None),
    ),
    holdings_t=(("EUA", 5_000), ("CHU", 0)),
    cash_minor=(("EUR", 10_000_000), ("CHF", 0)),
    last_round=(
        "bought 1,000 t EUA at 2,500 cents (trade 17)",
        "refused: sell 500 t CHU: check 4 (INSUFFICIENT_HOLDINGS)",
    ),
)


def _write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _csv(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


Spec = tuple[int, str, Side, OrderType, int | None, int]


def _spec(order: ParticipantOrder) -> Spec:
    return (
        order.round,
        order.instrument,
        order.side,
        order.order_type,
        order.price_minor,
        order.quantity_t,
    )


# ---------------------------------------------------------------- the CSV schedule


def test_good_schedule_gives_each_round_its_orders_in_file_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _csv(
            "2,EUA,sell,limit,2600,500",
            "1,EUA,buy,limit,2500,1000",
            "2,CHU,buy,market,,100",
            "2,EUA,sell,limit,2600,500",
        ),
    )

    schedule = load_schedule(path, "team-a")

    assert schedule.participant == "team-a"
    assert schedule.rounds == (1, 2)
    assert [_spec(order) for order in schedule.orders(1)] == [
        (1, "EUA", Side.BUY, OrderType.LIMIT, 2500, 1000)
    ]
    assert [_spec(order) for order in schedule.orders(2, STATUS)] == [
        (2, "EUA", Side.SELL, OrderType.LIMIT, 2600, 500),
        (2, "CHU", Side.BUY, OrderType.MARKET, None, 100),
        (2, "EUA", Side.SELL, OrderType.LIMIT, 2600, 500),  # a duplicate is a second order
    ]
    assert schedule.orders(3) == []
    assert [order.source for order in schedule.orders(2)] == [
        "orders.csv line 2",
        "orders.csv line 4",
        "orders.csv line 5",
    ]


def test_schedule_accepts_bom_crlf_spaces_quotes_and_blank_rows(tmp_path: Path) -> None:
    text = "\ufeff" + HEADER + "\r\n" + ' 1 , "EUA",\tbuy, limit ,2500, 1000\r\n\r\n,,,,,\r\n'
    path = _write(tmp_path, text)

    (order,) = load_schedule(path, "team-a").entries

    assert _spec(order) == (1, "EUA", Side.BUY, OrderType.LIMIT, 2500, 1000)
    assert order.source == "orders.csv line 2"


def test_schedule_with_only_a_header_places_no_orders(tmp_path: Path) -> None:
    schedule = load_schedule(_write(tmp_path, HEADER), "team-a")

    assert schedule.entries == ()
    assert schedule.orders(1) == []


def test_shipped_classroom_schedule_trades_only_eu_switzerland_instruments() -> None:
    listed = {item["unit_type"] for item in tomllib.loads(EU_CH.read_text())["instrument"]}

    schedule = load_schedule(EXAMPLE, "team-a")
    schedule.check_instruments(listed)

    assert schedule.rounds == (1, 2, 3, 4, 5)
    for order in schedule.entries:
        assert order.instrument == "EUA"
        assert order.quantity_t % 1_000 == 0  # EUA trades in lots of 1,000 t
        assert order.price_minor is None or 2_500 <= order.price_minor <= 3_500


BAD_ROWS = [
    # (row, key, what the message must say)
    ("1,EUA,buy,limit,2500", "line 2", "expected 6 cells"),
    ("1,EUA,buy,limit,2500,1,000", "line 2", "write 1000, not 1,000"),
    (",EUA,buy,limit,2500,1000", "line 2 column 1 (round)", "found nothing"),
    ("0,EUA,buy,limit,2500,1000", "line 2 column 1 (round)", "0 is not allowed"),
    ("-1,EUA,buy,limit,2500,1000", "line 2 column 1 (round)", "no sign"),
    ("1.0,EUA,buy,limit,2500,1000", "line 2 column 1 (round)", "no decimals"),
    ("18301,EUA,buy,limit,2500,1000", "line 2 column 1 (round)", "at most 18,300"),
    ("1,,buy,limit,2500,1000", "line 2 column 2 (instrument)", "found 'nothing'"),
    ("1,eua,buy,limit,2500,1000", "line 2 column 2 (instrument)", "capital letters"),
    ("1,EUA,Buy,limit,2500,1000", "line 2 column 3 (side)", "expected buy or sell"),
    ("1,EUA,,limit,2500,1000", "line 2 column 3 (side)", "found 'nothing'"),
    ("1,EUA,buy,ioc,2500,1000", "line 2 column 4 (type)", "expected limit or market"),
    ("1,EUA,buy,,2500,1000", "line 2 column 4 (type)", "expected limit or market"),
    ("1,EUA,buy,limit,,1000", "line 2 column 5 (price_minor)", "found nothing"),
    ("1,EUA,buy,market,2500,1000", "line 2 column 5 (price_minor)", "an empty cell"),
    ("1,EUA,buy,limit,25.00,1000", "line 2 column 5 (price_minor)", "no decimals"),
    ("1,EUA,buy,limit,2.5e3,1000", "line 2 column 5 (price_minor)", "no decimals"),
    ('1,EUA,buy,limit,"2,500",1000', "line 2 column 5 (price_minor)", "no thousands"),
    ("1,EUA,buy,limit,+2500,1000", "line 2 column 5 (price_minor)", "no sign"),
    ("1,EUA,buy,limit,1000000000001,1000", "line 2 column 5 (price_minor)", "at most"),
    ("1,EUA,buy,limit,2500,", "line 2 column 6 (quantity_t)", "found nothing"),
    ("1,EUA,buy,limit,2500,0", "line 2 column 6 (quantity_t)", "0 is not allowed"),
    ("1,EUA,buy,limit,2500,1 000", "line 2 column 6 (quantity_t)", "no thousands"),
    ("1,EUA,buy,limit,2500,1_000", "line 2 column 6 (quantity_t)", "no thousands"),
    ("1,EUA,buy,limit,2500,١٠٠٠", "line 2 column 6 (quantity_t)", "digits only"),
    ("1,EUA,buy,limit,2500,0x10", "line 2 column 6 (quantity_t)", "digits only"),
    ("1,EUA,buy,limit,2500,01000", "line 2 column 6 (quantity_t)", "no leading zeros"),
    ('1,EUA,buy,limit,2500,"1000', "line 2", "expected CSV cells"),
]


@pytest.mark.parametrize(("row", "key", "says"), BAD_ROWS)
def test_bad_row_is_refused_naming_line_column_and_expectation(
    tmp_path: Path, row: str, key: str, says: str
) -> None:
    path = _write(tmp_path, _csv("1,EUA,sell,limit,2600,500", "", row.replace("line 2", "")))

    with pytest.raises(ConfigError) as raised:
        load_schedule(path, "team-a")

    line_key = key.replace("line 2", "line 4")  # the header, a good row and a blank line first
    assert (raised.value.path, raised.value.key) == (str(path), line_key)
    assert "expected" in raised.value.message and says in raised.value.message
    assert str(raised.value).startswith(f"{path}: {line_key}: ")


BAD_HEADERS = [
    ("round,instrument,side,type,price_minor,quantity_t,note", "line 1 column 7", "'note'"),
    ("Round,instrument,side,type,price_minor,quantity_t", "line 1 column 1", "'Round'"),
    ("round,instrument,side,price_minor,quantity_t", "line 1", "missing column 'type'"),
    ("round,instrument,side,type,side,price_minor,quantity_t", "line 1 column 5", "twice"),
    ("round,instrument,type,side,price_minor,quantity_t", "line 1 column 3", "found 'type'"),
    ("1,EUA,buy,limit,2500,1000", "line 1 column 1", "unknown column '1'"),
    ("", "line 1", "missing column 'round'"),
]


@pytest.mark.parametrize(("header", "key", "says"), BAD_HEADERS)
def test_bad_header_is_refused_naming_the_column(
    tmp_path: Path, header: str, key: str, says: str
) -> None:
    path = _write(tmp_path, f"{header}\n1,EUA,buy,limit,2500,1000\n")

    with pytest.raises(ConfigError) as raised:
        load_schedule(path, "team-a")

    assert raised.value.key == key
    assert says in raised.value.message and HEADER in raised.value.message


@pytest.mark.parametrize(
    ("data", "key", "says"),
    [
        (b"", "(file)", "empty file; expected the header line"),
        (b"\xef\xbb\xbf \r\n\n", "(file)", "empty file; expected the header line"),
        (HEADER.encode("utf-16"), "(file)", "expected UTF-8 text, found UTF-16"),
        (_csv("1,EUA,buy,limit,2500,1000", "1,EU\xff").encode("latin-1"), "line 3", "UTF-8"),
    ],
)
def test_unreadable_file_is_refused(tmp_path: Path, data: bytes, key: str, says: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(data)

    with pytest.raises(ConfigError) as raised:
        load_schedule(path, "team-a")

    assert (raised.value.key, raised.value.path) == (key, str(path))
    assert says in raised.value.message


def test_missing_file_and_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_schedule(tmp_path / "absent.csv", "team-a")
    with pytest.raises(ConfigError, match="expected a CSV file, found a folder"):
        load_schedule(tmp_path, "team-a")


def test_schedule_over_the_row_limit_is_refused_at_the_first_extra_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(participants, "ROWS_MAX", 2)
    path = _write(tmp_path, _csv(*["1,EUA,buy,limit,2500,1000"] * 3))

    with pytest.raises(ConfigError) as raised:
        load_schedule(path, "team-a")

    assert raised.value.key == "line 4"
    assert "expected at most 2 orders" in raised.value.message


def test_schedule_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(participants, "FILE_BYTES_MAX", 100)
    path = _write(tmp_path, _csv(*["1,EUA,buy,limit,2500,1000"] * 5))

    with pytest.raises(ConfigError, match="expected at most 100 bytes"):
        load_schedule(path, "team-a")


def test_check_instruments_names_the_first_unlisted_line(tmp_path: Path) -> None:
    path = _write(tmp_path, _csv("1,EUA,buy,limit,2500,1000", "2,NZU,sell,market,,10"))
    schedule = load_schedule(path, "team-a")

    schedule.check_instruments({"EUA", "NZU"})
    with pytest.raises(ConfigError) as raised:
        schedule.check_instruments({"EUA", "CHU"})

    assert raised.value.key == "line 3 column 2 (instrument)"
    assert raised.value.message == "expected a listed instrument (CHU, EUA), found 'NZU'"


def test_check_rounds_names_an_order_the_run_would_never_place(tmp_path: Path) -> None:
    path = _write(tmp_path, _csv("1,EUA,buy,limit,2500,1000", "201,EUA,sell,market,,10"))
    schedule = load_schedule(path, "team-a")

    schedule.check_rounds(201)
    with pytest.raises(ConfigError) as raised:
        schedule.check_rounds(200)

    assert raised.value.key == "line 3 column 1 (round)"
    assert "expected a round 1..200" in raised.value.message


valid_orders = st.builds(
    lambda round_, instrument, side, market, price, quantity: (
        round_,
        instrument,
        side,
        OrderType.MARKET if market else OrderType.LIMIT,
        None if market else price,
        quantity,
    ),
    st.integers(1, participants.ROUND_MAX),
    st.from_regex(r"[A-Z0-9]{1,16}", fullmatch=True),
    st.sampled_from(Side),
    st.booleans(),
    st.integers(1, participants.PRICE_MINOR_MAX),
    st.integers(1, participants.QUANTITY_T_MAX),
)


def _row(spec: Spec) -> str:
    round_, instrument, side, order_type, price, quantity = spec
    side_word = "buy" if side is Side.BUY else "sell"
    type_word = "market" if order_type is OrderType.MARKET else "limit"
    price_cell = "" if price is None else str(price)
    return f"{round_},{instrument},{side_word},{type_word},{price_cell},{quantity}"


@given(st.lists(valid_orders, max_size=30), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_any_valid_schedule_loads_back_exactly_its_orders(
    tmp_path_factory: pytest.TempPathFactory,
    specs: list[Spec],
    newline: str,
    bom: bool,
) -> None:
    path = tmp_path_factory.mktemp("schedule") / "orders.csv"
    lines = [HEADER, *(_row(spec) for spec in specs)]
    path.write_text(("\ufeff" if bom else "") + newline.join(lines), encoding="utf-8", newline="")

    schedule = load_schedule(path, "team-a")

    assert [_spec(order) for order in schedule.entries] == specs
    for round_ in {spec[0] for spec in specs}:
        assert [_spec(order) for order in schedule.orders(round_)] == [
            spec for spec in specs if spec[0] == round_
        ]


# ---------------------------------------------------------------- the interactive session


class _Script:
    """Typed lines, read one per prompt; the end of the list is the end of input."""

    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)
        self.prompts: list[str] = []
        self.output: list[str] = []

    def read_line(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)

    def write(self, text: str) -> None:
        assert "\n" not in text  # one line per call
        self.output.append(text)


def _session(script: _Script) -> InteractiveSession:
    return InteractiveSession("alice", PLAIN_BOOKS, script.read_line, script.write)


OPENING = participants.opening_lines("alice", "", PLAIN_BOOKS)  # a session without narrative


def _after_status(script: _Script) -> list[str]:
    """Return the output after the opening and the status shown at the start of the round."""
    books = {book.code: book for book in PLAIN_BOOKS}
    return script.output[len(OPENING) + len(participants.status_lines("alice", STATUS, books)) :]


def test_a_whole_round_queues_limit_and_market_orders_and_submits_them_on_done() -> None:
    script = _Script(
        "help",
        "buy EUA 1000 at 25.00",
        "sell EUA 500 26",
        "buy EUA 1000 market",
        "sell CHU 100 at 30.5",
        "undo",
        "orders",
        "done",
    )

    orders = _session(script).orders(3, STATUS)

    assert orders is not None
    assert [_spec(order) for order in orders] == [
        (3, "EUA", Side.BUY, OrderType.LIMIT, 2500, 1000),
        (3, "EUA", Side.SELL, OrderType.LIMIT, 2600, 500),
        (3, "EUA", Side.BUY, OrderType.MARKET, None, 1000),
    ]
    assert [order.source for order in orders] == [
        "alice round 3 order 1",
        "alice round 3 order 2",
        "alice round 3 order 3",
    ]
    assert [order.currency for order in orders] == ["EUR", "EUR", "EUR"]
    assert [order.text() for order in orders] == [
        "buy EUA 1000 at 25.00",
        "sell EUA 500 at 26.00",
        "buy EUA 1000 market",
    ]
    assert script.prompts == ["alice round 3> "] * 8
    assert _after_status(script) == [
        *HELP_LINES,
        "queued 1: buy 1,000 t EUA at EUR 25.00 per t or better",
        "queued 2: sell 500 t EUA at EUR 26.00 per t or better",
        "queued 3: buy 1,000 t EUA at market",
        "queued 4: sell 100 t CHU at CHF 30.50 per t or better",
        "dropped: sell 100 t CHU at CHF 30.50 per t or better",
        "  1. buy 1,000 t EUA at EUR 25.00 per t or better",
        "  2. sell 500 t EUA at EUR 26.00 per t or better",
        "  3. buy 1,000 t EUA at market",
        "round 3: 3 order(s) submitted; what has not traded by the day's end is cancelled",
    ]


def test_the_status_shows_quotes_holdings_cash_and_last_round() -> None:
    script = _Script("status")

    _session(script).orders(3, STATUS)

    status = [
        "round 3, 2020-01-15: alice",
        "  EUA EUR/t: bid 24.80, ask 25.20, last 25.00; lot 1 t, tick 0.01",
        "  CHU CHF/t: bid none, ask none, last none; lot 1 t, tick 0.01",
        "  holdings: EUA 5,000 t, CHU 0 t",
        "  free cash: EUR 100,000.00, CHF 0.00",
        "  last round:",
        "    bought 1,000 t EUA at 2,500 cents (trade 17)",
        "    refused: sell 500 t CHU: check 4 (INSUFFICIENT_HOLDINGS)",
    ]
    assert script.output[: len(OPENING)] == OPENING
    shown = script.output[len(OPENING) :]
    assert shown[: len(status)] == status
    assert shown[len(status) : 2 * len(status)] == status  # `status` shows it again


def test_words_are_read_without_regard_to_case_and_book_reprints_the_status() -> None:
    script = _Script("BUY eua 1000 AT 25", "Book", "Sell chu 100 MARKET", "")

    orders = _session(script).orders(3, STATUS)

    assert orders is not None
    assert [_spec(order) for order in orders] == [
        (3, "EUA", Side.BUY, OrderType.LIMIT, 2500, 1000),
        (3, "CHU", Side.SELL, OrderType.MARKET, None, 100),
    ]
    assert script.output.count("round 3, 2020-01-15: alice") == 2


MISTAKES = [
    # (typed line, what the error must say)
    ("byu EUA 1000 at 25", "unknown command 'byu'; expected buy, sell"),
    ("buy EUX 1000 at 25", "unknown instrument 'EUX'; expected one of CHU, EUA"),
    ("buy EUA 1000", "expected 'buy INSTRUMENT TONNES at PRICE'"),
    ("sell", "expected 'sell INSTRUMENT TONNES at PRICE'"),
    ("buy EUA 1000 at", "expected a price in EUR per tonne"),
    ("buy EUA 1000 at 25 now", "found 'buy EUA 1000 at 25 now'"),
    ("buy EUA 1000 for 25", "expected 'at' before the price, found 'for'"),
    ("buy EUA 1000 market 25", "expected 'at' before the price, found 'market'"),
    ("buy EUA 1000 at market", "like 25.10; found 'market'"),
    ("buy EUA 1,000 at 25", "no thousands separators"),
    ("buy EUA 1000.0 at 25", "no decimals: whole tonnes"),
    ("buy EUA 1000 at 25.001", "EUR prices have at most 2 decimals, like 25.10; found 25.001"),
    ("sell CHU 100 at 30.505", "CHF prices have at most 2 decimals"),
    ("buy EUA 1000 at 25,10", "no thousands separators; decimals after a point, like 25.10"),
    ("buy EUA 1000 at 2,500.00", "no thousands separators; decimals after a point"),
    ("buy EUA 1000 at 2.5e3", "no exponents"),
    ("buy EUA 1000 at 25.", "like 25.10; found '25.'"),
    ("buy EUA 1000 at .5", "like 25.10; found '.5'"),
    ("buy EUA 1000 at 025", "no leading zeros"),
    ("buy EUA 1000 at -25", "no sign"),
    ("buy EUA 1000 at 0", "at least EUR 0.01 per tonne"),
    ("buy EUA 1000 at 0.00", "0 is not allowed"),
    ("buy EUA -5 at 25", "no sign"),
    ("buy EUA 0 25", "expected a quantity in tonnes"),
    ("buy EUA 1000 at 10000000000.01", "at most EUR 10,000,000,000.00 per tonne"),
    ("buy EUA 1000 at 99999999999999", "at most EUR 10,000,000,000.00 per tonne"),
    ("buy EUA lots at 25", "expected a quantity in tonnes"),
    ("buy ЕUA 1000 at 25", "unknown instrument"),  # a Cyrillic Е
    ("buy EUA 1000 at ２５", "like 25.10"),  # full-width digits
    ("orders please", "expected 'orders' alone"),
    ("done now", "expected 'done' alone"),
    ("quit now", "expected 'quit' alone"),
    ("buy EUA 1000 at 25 " + "x" * 200, "at most 200 characters"),
]


@pytest.mark.parametrize(("line", "says"), MISTAKES)
def test_a_mistyped_command_prints_one_error_and_queues_nothing(line: str, says: str) -> None:
    script = _Script(line, "orders", "done")

    orders = _session(script).orders(3, STATUS)

    assert orders == []
    error, listing, end = _after_status(script)
    assert error.startswith("error: ") and "expected" in error and says in error
    assert listing == "no orders queued this round"
    assert end.startswith("round 3: 0 order(s) submitted")


def test_quit_leaves_the_run_dropping_queued_orders_and_later_rounds_read_nothing() -> None:
    script = _Script("buy EUA 1000 at 25", "quit", "buy EUA 1000 at 25", "done")
    session = _session(script)

    assert session.orders(3, STATUS) is None
    assert session.orders(4, RoundStatus(4, "2020-01-22", (), (), ())) is None
    assert session.left
    assert (
        script.output[-1]
        == "alice leaves the run (quit); 1 queued order(s) dropped; the run goes on"
    )
    assert len(script.prompts) == 2  # nothing read after `quit`
    assert isinstance(session, Participant)


def test_end_of_input_leaves_the_run_like_quit() -> None:
    script = _Script("buy EUA 1000 at 25")
    session = _session(script)

    assert session.orders(3, STATUS) is None
    assert session.left
    assert script.output[-1] == (
        "alice leaves the run (end of input); 1 queued order(s) dropped; the run goes on"
    )


def test_undo_with_nothing_queued_says_so() -> None:
    script = _Script("undo", "   ")

    assert _session(script).orders(3, STATUS) == []
    assert _after_status(script)[0] == "nothing to undo: no order is queued this round"


def test_a_session_runs_round_after_round_with_a_fresh_queue() -> None:
    script = _Script("buy EUA 1000 at 25", "done", "orders", "sell EUA 1000 market", "done")
    session = _session(script)

    first = session.orders(3, STATUS)
    second = session.orders(4, RoundStatus(4, "2020-01-22", (), (), ()))

    assert first is not None and second is not None
    assert [_spec(order) for order in first] == [(3, "EUA", Side.BUY, OrderType.LIMIT, 2500, 1000)]
    assert [_spec(order) for order in second] == [
        (4, "EUA", Side.SELL, OrderType.MARKET, None, 1000)
    ]
    assert "no orders queued this round" in script.output


def test_orders_over_the_round_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(participants, "ORDERS_PER_ROUND_MAX", 2)
    script = _Script(*["buy EUA 1000 at 25"] * 3, "done")

    orders = _session(script).orders(3, STATUS)

    assert orders is not None and len(orders) == 2
    assert _after_status(script)[2] == (
        "error: at most 2 orders per round; type done to submit them"
    )


def test_a_round_ends_as_if_done_after_the_line_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(participants, "LINES_PER_ROUND_MAX", 3)
    script = _Script("buy EUA 1000 at 25", "orders", "help", "quit")

    orders = _session(script).orders(3, STATUS)

    assert orders is not None and len(orders) == 1
    assert script.lines == ["quit"]
    assert "3 lines read this round: the round ends as if 'done'" in script.output


def test_a_status_of_another_round_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="status of round 3 given for round 4"):
        _session(_Script()).orders(4, STATUS)


def test_a_schedule_is_a_participant_and_ignores_the_status(tmp_path: Path) -> None:
    schedule = load_schedule(_write(tmp_path, _csv("3,EUA,buy,limit,2500,1000")), "team-a")

    session = _session(_Script())
    both: list[Participant] = [schedule, session]  # mypy checks the protocol here

    assert all(isinstance(member, Participant) for member in both)
    assert schedule.orders(3, STATUS) == schedule.orders(3)


@given(valid_orders, st.sampled_from(["EUR", "CHF", "KRW", "JPY", "KZT", "XYZ"]))
def test_an_order_text_is_the_command_that_places_it(spec: Spec, currency: str) -> None:
    order = ParticipantOrder(*spec, source="test", currency=currency)

    command = parse_command(order.text(), {order.instrument: currency})

    assert isinstance(command, OrderCommand)
    assert (order.round, *astuple(command)) == (
        order.round,
        order.instrument,
        order.side,
        order.order_type,
        order.price_minor,
        order.quantity_t,
    )


def test_an_order_without_its_currency_names_its_price_in_minor_units() -> None:
    order = ParticipantOrder(1, "EUA", Side.SELL, OrderType.LIMIT, 3_000, 500, "orders.csv line 3")

    assert order.text() == "sell EUA 500 price_minor 3000"  # the CSV's column, not a command
    assert participants.order_text(order) == "sell 500 t EUA at 3,000 minor units per t or better"
    assert participants.order_text(order, STATUS) == (
        "sell 500 t EUA at EUR 30.00 per t or better"  # the status knows EUA's currency
    )
    with pytest.raises(ValueError, match="currency must be a code like EUR"):
        ParticipantOrder(1, "EUA", Side.SELL, OrderType.LIMIT, 3_000, 500, "test", "euro")


TYPED_PRICES = [
    # (typed, currency, minor units)
    ("25.00", "EUR", 2_500),
    ("25", "EUR", 2_500),
    ("25.5", "EUR", 2_550),
    ("25.10", "EUR", 2_510),
    ("0.01", "EUR", 1),
    ("1000000", "EUR", 100_000_000),
    ("10000000000.00", "EUR", 10**12),  # the largest price a participant may name
    ("31.2", "CHF", 3_120),
    ("23400", "KRW", 23_400),  # the won has no minor unit: the price is the number typed
    ("23400", "JPY", 23_400),
    ("0.29", "XYZ", 29),  # a currency outside the table has two places, as figures says
]


@pytest.mark.parametrize(("typed", "currency", "price_minor"), TYPED_PRICES)
def test_a_price_is_typed_in_major_units_and_becomes_exact_minor_units(
    typed: str, currency: str, price_minor: int
) -> None:
    command = parse_command(f"buy EUA 1000 at {typed}", {"EUA": currency})

    assert isinstance(command, OrderCommand)
    assert command.price_minor == price_minor
    assert type(command.price_minor) is int
    assert parse_command(f"buy EUA 1000 {typed}", {"EUA": currency}) == command  # no `at`


@pytest.mark.parametrize(
    ("typed", "currency", "says"),
    [
        ("25.001", "EUR", "EUR prices have at most 2 decimals, like 25.10; found 25.001"),
        ("25.000", "EUR", "EUR prices have at most 2 decimals"),  # as many places, no more
        ("23400.5", "KRW", "KRW prices are whole numbers, with no decimals, like 23400"),
        ("23400.0", "KRW", "KRW prices are whole numbers"),
        ("99.9", "JPY", "JPY prices are whole numbers"),
        ("1000000000001", "KRW", "at most KRW 1,000,000,000,000 per tonne"),
        ("23,400", "KRW", "no thousands separators; decimals after a point, like 23400"),
    ],
)
def test_a_price_with_more_decimals_than_its_currency_is_refused_saying_so(
    typed: str, currency: str, says: str
) -> None:
    with pytest.raises(ValueError) as raised:
        parse_command(f"buy EUA 1000 at {typed}", {"EUA": currency})

    message = str(raised.value)
    assert message.startswith("expected a price") and says in message


def test_a_typed_price_is_shown_as_it_is_typed() -> None:
    assert typed_price(2_510, "EUR") == "25.10"
    assert typed_price(123_456_789, "EUR") == "1234567.89"  # no separators: the prompt refuses them
    assert typed_price(23_400, "KRW") == "23400"
    assert participants.price_example("EUR") == "25.10"
    assert participants.price_example("KRW") == "23400"


@pytest.mark.parametrize(
    ("order_type", "price_minor", "quantity_t", "says"),
    [
        (OrderType.MARKET, 2500, 1000, "a market order has no price"),
        (OrderType.LIMIT, None, 1000, "a limit price must lie in"),
        (OrderType.LIMIT, 0, 1000, "a limit price must lie in"),
        (OrderType.LIMIT, 2500, 0, "quantity must lie in"),
        (OrderType.IOC, 2500, 1000, "LIMIT or MARKET"),
    ],
)
def test_an_inconsistent_order_cannot_be_made(
    order_type: OrderType, price_minor: int | None, quantity_t: int, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        ParticipantOrder(1, "EUA", Side.BUY, order_type, price_minor, quantity_t, "test")


def _ci(word: str) -> str:
    return "".join(f"[{letter.lower()}{letter.upper()}]" for letter in word)


# The grammar of a valid order, written independently of the parser: prices in EUR and CHF,
# major units with at most two decimals.
_NUMBER = r"[1-9][0-9]*"
_PRICE = r"(?:0|[1-9][0-9]*)(?:\.[0-9]{1,2})?"
_VALID_ORDER = re.compile(
    rf"\s*(?:{_ci('buy')}|{_ci('sell')})\s+(?:{_ci('eua')}|{_ci('chu')})\s+(?P<quantity>{_NUMBER})"
    rf"\s+(?:(?:{_ci('at')}\s+)?(?P<price>{_PRICE})|{_ci('market')})\s*"
)
_QUIT = re.compile(rf"\s*{_ci('quit')}\s*")

_SIDE_WORDS = ["buy", "sell", "BUY", "Sell", "byu", "bid"]
_INSTRUMENT_WORDS = ["EUA", "eua", "CHU", "NZU", "EUA1"]
_NUMBERS = ["1000", "2500", "1", "0", "-5", "2.5", "1,000", "1_000", "007", "1e3", "９"]
_PRICES = ["25.00", "25.10", "25.001", "0.01", "0.00", "0.", ".5", "25,10", "0.5", "00.5", "1.2.3"]
_PRICE_WORDS = ["at", "AT", "for", "market", "MARKET", ""]
_SPACES = [" ", "  ", "\t", "\u3000"]


def _joined(words: list[str], spaces: list[str]) -> str:
    return "".join(word + space for word, space in zip(words, spaces, strict=True))


def _spaced(words: list[str]) -> st.SearchStrategy[str]:
    spaces = st.lists(st.sampled_from(_SPACES), min_size=len(words), max_size=len(words))
    return spaces.map(lambda chosen: _joined(words, chosen))


numbers = st.one_of(st.sampled_from(_NUMBERS), st.integers(1, 10**13).map(str))
prices = st.one_of(
    numbers,
    st.sampled_from(_PRICES),
    st.tuples(st.integers(0, 10**11), st.integers(0, 10**4)).map(lambda two: f"{two[0]}.{two[1]}"),
)
garbage_lines = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(_SIDE_WORDS + _INSTRUMENT_WORDS + _NUMBERS + _PRICE_WORDS), max_size=6)
    .map(lambda words: [word for word in words if word])
    .flatmap(_spaced),
    st.tuples(
        st.sampled_from(_SIDE_WORDS),
        st.sampled_from(_INSTRUMENT_WORDS),
        numbers,
        st.sampled_from(_PRICE_WORDS),
        st.one_of(prices, st.sampled_from(["market", "Market", "at"])),
    )
    .map(lambda words: [word for word in words if word])
    .flatmap(_spaced),
)


@given(garbage_lines)
def test_any_typed_line_queues_an_order_only_when_it_is_a_valid_order(line: str) -> None:
    script = _Script(line, "done")

    orders = _session(script).orders(3, STATUS)

    if _QUIT.fullmatch(line):
        assert orders is None
        return
    match = _VALID_ORDER.fullmatch(line)
    assert orders is not None
    typed = None if match is None else match["price"]
    price_minor = None if typed is None else Fraction(typed) * 100  # EUR and CHF: two places
    valid = (
        match is not None
        and len(line) <= participants.LINE_CHARS_MAX
        and int(match["quantity"]) <= participants.QUANTITY_T_MAX
        and (price_minor is None or 1 <= price_minor <= participants.PRICE_MINOR_MAX)
    )
    if not valid:
        assert orders == []
    else:
        assert match is not None
        (order,) = orders
        assert order.quantity_t == int(match["quantity"])
        assert order.price_minor == price_minor


# ---------------------------------------------------------------- the opening and the books' rules

# The classroom's books (fixtures/scenarios/classroom.toml), CHU with a tick of 5 Rappen to
# tell a tick from a lot.
BOOKS = (Instrument("EUA", "EUR", tick_minor=1, lot_t=1_000), Instrument("CHU", "CHF", 5, 100))
NARRATIVE = "Two teams trade.\n\n  Who ends the year\nwith more value?  "


def _session_with_books(script: _Script) -> InteractiveSession:
    return InteractiveSession("alice", BOOKS, script.read_line, script.write, narrative=NARRATIVE)


def test_the_session_opens_with_the_narrative_and_the_books_once_before_the_first_prompt() -> None:
    script = _Script("done", "done")
    session = _session_with_books(script)

    session.orders(3, STATUS)
    session.orders(4, RoundStatus(4, "2020-01-22", (), (), ()))

    opening = [
        "alice joins the run:",
        "  Two teams trade.",
        "  Who ends the year with more value?",
        "the books (prices per t in the book's currency, quantities in whole lots):",
        "  CHU (CHF): lot 100 t, tick CHF 0.05; one order 100 to 1,099,511,627,700 t at "
        "CHF 0.05 to CHF 10,000,000,000.00",
        "  EUA (EUR): lot 1,000 t, tick EUR 0.01; one order 1,000 to 1,099,511,627,000 t at "
        "EUR 0.01 to EUR 10,000,000,000.00",
        "type help for the commands; done or an empty line ends the round, quit leaves the run",
    ]
    assert script.output[: len(opening)] == opening
    assert script.output[len(opening)] == "round 3, 2020-01-15: alice"  # then the status
    assert script.output.count("alice joins the run:") == 1  # not again in round 4


def test_a_books_own_limits_are_shown_in_major_units_of_its_currency() -> None:
    books = (
        Instrument("EUA", "EUR", 1, 1_000, max_price_minor=100_000, max_quantity_t=50_000),
        Instrument("KAU", "KRW", 50, 100, max_price_minor=1_000_020, max_quantity_t=10_050),
    )

    lines = participants.opening_lines("alice", "", books)

    assert lines[2:4] == [
        "  EUA (EUR): lot 1,000 t, tick EUR 0.01; one order 1,000 to 50,000 t at "
        "EUR 0.01 to EUR 1,000.00",
        "  KAU (KRW): lot 100 t, tick KRW 50; one order 100 to 10,000 t at "
        "KRW 50 to KRW 1,000,000",  # the largest whole lot and the largest price on the tick
    ]


def test_without_a_narrative_or_books_the_opening_is_the_hint_alone() -> None:
    lines = participants.opening_lines("alice", "", ())

    assert lines == [
        "alice joins the run:",
        "type help for the commands; done or an empty line ends the round, quit leaves the run",
    ]


def test_every_round_shows_each_books_lot_and_tick_before_the_prompt() -> None:
    script = _Script("status", "done")

    _session_with_books(script).orders(3, STATUS)

    quotes = [
        "  EUA EUR/t: bid 24.80, ask 25.20, last 25.00; lot 1,000 t, tick 0.01",
        "  CHU CHF/t: bid none, ask none, last none; lot 100 t, tick 0.05",
    ]
    round_start = script.output.index("round 3, 2020-01-15: alice")
    assert script.output[round_start + 1 : round_start + 3] == quotes
    assert script.output.count(quotes[0]) == 2  # `status` shows them again
    assert script.prompts[0] == "alice round 3> "  # all of it printed before the first read


BOOK_MISTAKES = [
    # (typed line, what the error must say): the book would refuse each (check 11006, …)
    ("buy EUA 1500 at 25", "whole lots of 1,000 t for EUA (1,000, 2,000, …), found 1,500 t"),
    ("sell EUA 500 market", "whole lots of 1,000 t for EUA"),
    ("sell CHU 150 at 30", "whole lots of 100 t for CHU"),
    ("buy CHU 100 at 30.01", "a price on CHU's tick CHF 0.05: try 30.00 or 30.05; found 30.01"),
    ("buy CHU 100 at 0.04", "a price on CHU's tick CHF 0.05: try 0.05; found 0.04"),
]


@pytest.mark.parametrize(("line", "says"), BOOK_MISTAKES)
def test_an_order_off_its_books_lot_or_tick_is_refused_at_the_prompt(line: str, says: str) -> None:
    script = _Script(line, "buy CHU 200 at 30.05", "done")

    orders = _session_with_books(script).orders(3, STATUS)

    assert orders is not None
    assert [_spec(order) for order in orders] == [(3, "CHU", Side.BUY, OrderType.LIMIT, 3005, 200)]
    error = next(line for line in script.output if line.startswith("error: "))
    assert error.startswith("error: expected") and says in error


@pytest.mark.parametrize(
    ("book", "typed", "says"),
    [
        (Instrument("EUA", "EUR", tick_minor=5), "25.07", "tick EUR 0.05: try 25.05 or 25.10"),
        (Instrument("EUA", "EUR", tick_minor=5), "1025.01", "try 1025.00 or 1025.05"),  # typeable
        (Instrument("KAU", "KRW", tick_minor=50), "23420", "tick KRW 50: try 23400 or 23450"),
        (Instrument("KAU", "KRW", tick_minor=50), "23420", "found 23420"),
    ],
)
def test_a_price_off_the_tick_is_refused_naming_the_tick_in_major_units(
    book: Instrument, typed: str, says: str
) -> None:
    script = _Script(f"buy {book.code} 10 at {typed}", "done")

    orders = InteractiveSession("alice", [book], script.read_line, script.write).orders(3, STATUS)

    assert orders == []
    (error,) = [line for line in script.output if line.startswith("error: ")]
    assert error.startswith("error: expected a price on") and says in error


def test_a_won_price_is_the_number_typed_and_a_euro_price_is_in_cents() -> None:
    books = (Instrument("KAU", "KRW", tick_minor=50), Instrument("EUA", "EUR", tick_minor=1))
    script = _Script("buy KAU 10 at 23400", "sell EUA 10 at 25.00", "orders", "done")

    orders = InteractiveSession("alice", books, script.read_line, script.write).orders(3, STATUS)

    assert orders is not None
    assert [(order.instrument, order.price_minor, order.currency) for order in orders] == [
        ("KAU", 23_400, "KRW"),
        ("EUA", 2_500, "EUR"),
    ]
    assert "  1. buy 10 t KAU at KRW 23,400 per t or better" in script.output
    assert "  2. sell 10 t EUA at EUR 25.00 per t or better" in script.output


def test_an_order_over_a_books_own_limits_is_refused_at_the_prompt() -> None:
    small = Instrument("EUA", "EUR", lot_t=1_000, max_price_minor=10_000, max_quantity_t=5_000)
    command = OrderCommand("EUA", Side.BUY, OrderType.LIMIT, 10_001, 5_000)

    expected = "a price of at most EUR 100.00 for EUA, found EUR 100.01"
    with pytest.raises(ValueError, match=re.escape(expected)):
        participants.check_book_rules(command, small)
    with pytest.raises(ValueError, match="at most 5,000 t in one EUA order, found 6,000 t"):
        participants.check_book_rules(
            OrderCommand("EUA", Side.BUY, OrderType.MARKET, None, 6_000), small
        )
    participants.check_book_rules(
        OrderCommand("EUA", Side.SELL, OrderType.LIMIT, 10_000, 5_000), small
    )


def test_a_session_without_books_or_with_a_book_twice_is_a_programming_error() -> None:
    script = _Script()
    with pytest.raises(ValueError, match="needs at least one book"):
        InteractiveSession("alice", (), script.read_line, script.write)
    with pytest.raises(ValueError, match=r"each book is given once, was \['KAU', 'KAU'\]"):
        InteractiveSession("alice", [Instrument("KAU", "KRW")] * 2, script.read_line, script.write)


# ---------------------------------------------------------------- the scoreboard

CLASSROOM = Path("fixtures/scenarios/classroom.toml")


def _record() -> RunRecord:
    """Return a hand-made classroom record: three teams after a few days.

    Each team was given EUR 100,000.00 and 2,000 EUA (the classroom's `[[agents]]`);
    team-c is team-a's twin under another name. team-a bought 1,000 EUA from team-b at
    EUR 28.00; team-b's purchase of 100 CHU failed to settle, yet it holds 100 CHU and
    CHF 107.00 (made up: the scoreboard values what the record says is held).
    """
    scenario = load_scenario(CLASSROOM)
    team_a = next(a for a in scenario.agents if isinstance(a, CsvAgent))
    scenario = dataclasses.replace(
        scenario, agents=(*scenario.agents, dataclasses.replace(team_a, participant="team-c"))
    )

    def trade(
        number: int, book: str, price: int, tonnes: int, buyer: str, seller: str, status: str
    ) -> TradeRow:
        return TradeRow(
            "2020-01-02",
            f"{book}-{number}",
            book,
            price,
            tonnes,
            buyer,
            seller,
            status,
            "EU",
            "EU",
            "EU",
        )

    def settlement(day: str, book: str, settle: int | None) -> SettlementRow:
        return SettlementRow(day, book, None, None, None, settle)

    def end(
        team: str,
        trades: int,
        bought: int,
        sold: int,
        held: dict[str, int],
        cash: dict[str, int],
        left: bool = False,
    ) -> HolderEnd:
        return HolderEnd(
            team,
            "participant",
            "EU",
            trades,
            bought,
            sold,
            tuple(sorted(held.items())),
            tuple(sorted(cash.items())),
            left,
        )

    return RunRecord(
        scenario=scenario,
        years_run=1,
        days_run=3,
        interrupted=False,
        books={
            "EUA": BookInfo("EUA", "EUA", "EU", "EUR", 1_000, 1),
            "CHU": BookInfo("CHU", "CHU", "CH", "CHF", 100, 1),
        },
        trades=(
            trade(1, "EUA", 2_800, 1_000, "team-a", "team-b", "settled"),
            trade(2, "CHU", 4_000, 100, "team-b", "ch-cement-1", "failed"),
            trade(3, "EUA", 2_900, 1_000, "dealer-1", "eu-power-0001", "settled"),
        ),
        prices=(),
        settlements=(
            settlement("2020-01-02", "EUA", 2_500),
            settlement("2020-01-02", "CHU", 4_280),
            settlement("2020-01-03", "EUA", 3_000),  # the last settlement price of EUA
            settlement("2020-01-06", "EUA", None),  # no price that day: 3,000 stands
        ),
        firms=(),
        firm_years=(),
        auctions=(),
        governments=(),
        outcomes={},
        surrenders=(),
        borrowed_t={},
        average_prices={},
        deadlines_pending={},
        transfers=(),
        holders=(
            end("team-a", 1, 1_000, 0, {"EUA": 3_000, "CHU": 0}, {"EUR": 7_200_000, "CHF": 0}),
            end(
                "team-b",
                1,
                0,
                1_000,
                {"EUA": 1_000, "CHU": 100},
                {"EUR": 12_800_000, "CHF": 10_700},
            ),
            end(
                "team-c", 1, 1_000, 0, {"EUA": 3_000, "CHU": 0}, {"EUR": 7_200_000, "CHF": 0}, True
            ),
            HolderEnd("dealer-1", "dealer", "EU", 1, 1_000, 0, (("EUA", 1_000),), (("EUR", 0),)),
        ),
        refused_orders=0,
    )


def test_the_scoreboard_values_each_team_at_the_last_settlement_prices_and_ranks_them() -> None:
    rows = scoreboard_rows(_record())

    # Prices: EUA EUR 30.00 (its last settlement), CHU CHF 42.80 = EUR 40.00 at CHF 1.07 per
    # EUR. team-b: cash EUR 128,000.00 + CHF 107.00 (EUR 100.00) = EUR 128,100.00; holdings
    # 1,000 EUA × 30.00 + 100 CHU × 40.00 = EUR 34,000.00; value EUR 162,100.00. team-a:
    # cash EUR 72,000.00 + 3,000 EUA × 30.00 = EUR 162,000.00. Each was given EUR 100,000.00
    # and 2,000 EUA, worth EUR 160,000.00 at the same prices.
    assert [(r["rank"], r["team"], r["value"], r["value_minor"]) for r in rows] == [
        (1, "team-b", 162_100.0, 16_210_000),
        (2, "team-a", 162_000.0, 16_200_000),
        (2, "team-c", 162_000.0, 16_200_000),  # a tie shares the rank
    ]
    team_b, team_a, team_c = rows
    assert (team_b["cash_minor"], team_b["holdings_value_minor"]) == (12_810_000, 3_400_000)
    assert (team_b["start_value"], team_b["gain"], team_b["gain_minor"]) == (
        160_000.0,
        2_100.0,
        210_000,
    )
    assert team_a["gain_minor"] == 200_000  # bought 1,000 t at 28.00, worth 30.00 at the close
    # Settled purchases less settled sales; team-b's failed CHU purchase moved nothing.
    assert (team_a["trading_spend_minor"], team_b["trading_spend_minor"]) == (2_800_000, -2_800_000)
    assert team_b["trading_spend"] == -28_000.0
    assert (team_a["left_early"], team_c["left_early"]) == (False, True)
    assert all(
        tuple(row) == SUMMARY_SECTIONS["teams"] for row in rows
    )  # the same keys, in order, for all
    assert team_b["valued_at"] == "CHU CHF 42.80, EUA EUR 30.00"
    # A team holds a trading account: no obligation, no abatement, no auction bids.
    for row in rows:
        assert row["currency"] == "EUR" and row["unpriced"] == ""
        assert (row["obligation_t"], row["surrendered_t"], row["shortfall_t"]) == (0, 0, 0)
        assert (
            row["penalties_minor"],
            row["abatement_cost_minor"],
            row["auction_spend_minor"],
        ) == (0, 0, 0)
    assert json.loads(json.dumps(rows)) == rows  # JSON-ready as they are


def test_a_book_that_never_settled_values_its_holdings_at_nothing_and_says_so() -> None:
    record = _record()
    record = dataclasses.replace(
        record, settlements=tuple(s for s in record.settlements if s.instrument != "CHU")
    )

    team_b = next(row for row in scoreboard_rows(record) if row["team"] == "team-b")

    assert team_b["holdings_value_minor"] == 3_000_000  # the 100 CHU count for nothing
    assert team_b["unpriced"] == "CHU"
    assert team_b["valued_at"] == "CHU no price, EUA EUR 30.00"


def test_the_scoreboard_section_shows_rank_value_and_gain_in_the_scenarios_currency() -> None:
    section = scoreboard_section(scoreboard_rows(_record()))
    console = Console(width=120, record=True)

    print_section(section, console)

    text = console.export_text()
    assert section.name == "teams"
    assert [c.header for c in section.columns] == [
        "rank",
        "team",
        "value EUR",
        "cash",
        "holdings",
        "gain",
        "trades",
        "trading spend",
    ]  # compliance and cost columns that are 0 for every team are left out
    assert "162,100.00" in text and "-28,000.00" in text
    assert "(CHU CHF 42.80, EUA EUR 30.00)" in " ".join(text.split())
    assert "left the run early: team-c" in text


def test_a_run_without_teams_has_an_empty_scoreboard() -> None:
    record = dataclasses.replace(_record(), holders=())

    assert scoreboard_rows(record) == []
    assert scoreboard_section([]).rows == []


def test_a_price_typed_in_minor_units_out_of_habit_is_queued_with_a_caution() -> None:
    """ "at 2500" on a book trading near EUR 25.00 is EUR 2,500.00: 100× the market's
    last price. The order is queued as typed (a participant may mean it) and the line
    says how far off it is and how to drop it."""
    script = _Script("buy EUA 1000 at 2500", "buy EUA 1000 at 2", "buy EUA 1000 at 26", "done")

    orders = _session(script).orders(3, STATUS)

    assert orders is not None and [order.price_minor for order in orders] == [250_000, 200, 2600]
    assert _after_status(script)[:3] == [
        "queued 1: buy 1,000 t EUA at EUR 2,500.00 per t or better "
        "(note: 100× the market's EUR 25.00; undo drops it)",
        "queued 2: buy 1,000 t EUA at EUR 2.00 per t or better "
        "(note: 1/13 of the market's EUR 25.00; undo drops it)",
        "queued 3: buy 1,000 t EUA at EUR 26.00 per t or better",
    ]
