"""Human participants: the CSV order schedule and the interactive session at a prompt."""

from __future__ import annotations

import re
import tomllib
from dataclasses import astuple
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etslink.sim import participants
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
    price_text,
)
from exchange.book import OrderType, Side
from registry.config_reader import ConfigError

EXAMPLE = Path("fixtures/scenarios/participants/classroom-orders.csv")
EU_CH = Path("fixtures/scenarios/eu-switzerland.toml")
INSTRUMENTS = ("EUA", "CHU")
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
    return InteractiveSession("alice", INSTRUMENTS, script.read_line, script.write)


def _after_status(script: _Script) -> list[str]:
    """Return the output after the status shown at the start of the round."""
    return script.output[len(participants.status_lines("alice", STATUS)) :]


def test_a_whole_round_queues_limit_and_market_orders_and_submits_them_on_done() -> None:
    script = _Script(
        "help",
        "buy EUA 1000 at 2500",
        "sell EUA 500 2600",
        "buy EUA 1000 market",
        "sell CHU 100 at 3000",
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
    assert script.prompts == ["alice round 3> "] * 8
    assert _after_status(script) == [
        *HELP_LINES,
        "queued 1: buy 1,000 t EUA at 2,500 cents (EUR 25.00) per t or better",
        "queued 2: sell 500 t EUA at 2,600 cents (EUR 26.00) per t or better",
        "queued 3: buy 1,000 t EUA at market",
        "queued 4: sell 100 t CHU at 3,000 Rappen (CHF 30.00) per t or better",
        "dropped: sell 100 t CHU at 3,000 Rappen (CHF 30.00) per t or better",
        "  1. buy 1,000 t EUA at 2,500 cents (EUR 25.00) per t or better",
        "  2. sell 500 t EUA at 2,600 cents (EUR 26.00) per t or better",
        "  3. buy 1,000 t EUA at market",
        "round 3: 3 order(s) submitted; what has not traded by the day's end is cancelled",
    ]


def test_the_status_shows_quotes_holdings_cash_and_last_round() -> None:
    script = _Script("status")

    _session(script).orders(3, STATUS)

    status = [
        "round 3, 2020-01-15: alice",
        "  EUA in EUR cents per t: bid 2,480, ask 2,520, last 2,500",
        "  CHU in CHF Rappen per t: bid none, ask none, last none",
        "  holdings: EUA 5,000 t, CHU 0 t",
        "  free cash: EUR 100,000.00, CHF 0.00",
        "  last round:",
        "    bought 1,000 t EUA at 2,500 cents (trade 17)",
        "    refused: sell 500 t CHU: check 4 (INSUFFICIENT_HOLDINGS)",
    ]
    assert script.output[: len(status)] == status
    assert script.output[len(status) : 2 * len(status)] == status  # `status` shows it again


def test_words_are_read_without_regard_to_case_and_book_reprints_the_status() -> None:
    script = _Script("BUY eua 1000 AT 2500", "Book", "Sell chu 100 MARKET", "")

    orders = _session(script).orders(3, STATUS)

    assert orders is not None
    assert [_spec(order) for order in orders] == [
        (3, "EUA", Side.BUY, OrderType.LIMIT, 2500, 1000),
        (3, "CHU", Side.SELL, OrderType.MARKET, None, 100),
    ]
    assert script.output.count("round 3, 2020-01-15: alice") == 2


MISTAKES = [
    # (typed line, what the error must say)
    ("byu EUA 1000 at 2500", "unknown command 'byu'; expected buy, sell"),
    ("buy EUX 1000 at 2500", "unknown instrument 'EUX'; expected one of CHU, EUA"),
    ("buy EUA 1000", "expected 'buy INSTRUMENT TONNES at PRICE'"),
    ("sell", "expected 'sell INSTRUMENT TONNES at PRICE'"),
    ("buy EUA 1000 at", "expected a price in minor units per tonne"),
    ("buy EUA 1000 at 2500 now", "found 'buy EUA 1000 at 2500 now'"),
    ("buy EUA 1000 for 2500", "expected 'at' before the price, found 'for'"),
    ("buy EUA 1000 market 2500", "expected 'at' before the price, found 'market'"),
    ("buy EUA 1000 at market", "like 2500; found 'market'"),
    ("buy EUA 1,000 at 2500", "no thousands separators"),
    ("buy EUA 1000 at 25.00", "no decimals"),
    ("buy EUA 1000 at 0", "0 is not allowed"),
    ("buy EUA -5 at 2500", "no sign"),
    ("buy EUA 0 2500", "expected a quantity in tonnes"),
    ("buy EUA 1000 at 99999999999999", "at most 1,000,000,000,000"),
    ("buy EUA lots at 2500", "expected a quantity in tonnes"),
    ("buy ЕUA 1000 at 2500", "unknown instrument"),  # a Cyrillic Е
    ("orders please", "expected 'orders' alone"),
    ("done now", "expected 'done' alone"),
    ("quit now", "expected 'quit' alone"),
    ("buy EUA 1000 at 2500 " + "x" * 200, "at most 200 characters"),
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
    script = _Script("buy EUA 1000 at 2500", "quit", "buy EUA 1000 at 2500", "done")
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
    script = _Script("buy EUA 1000 at 2500")
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
    script = _Script("buy EUA 1000 at 2500", "done", "orders", "sell EUA 1000 market", "done")
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
    script = _Script(*["buy EUA 1000 at 2500"] * 3, "done")

    orders = _session(script).orders(3, STATUS)

    assert orders is not None and len(orders) == 2
    assert _after_status(script)[2] == (
        "error: at most 2 orders per round; type done to submit them"
    )


def test_a_round_ends_as_if_done_after_the_line_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(participants, "LINES_PER_ROUND_MAX", 3)
    script = _Script("buy EUA 1000 at 2500", "orders", "help", "quit")

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


@given(valid_orders)
def test_an_order_text_is_the_command_that_places_it(spec: Spec) -> None:
    order = ParticipantOrder(*spec, source="test")

    command = parse_command(order.text(), [order.instrument])

    assert isinstance(command, OrderCommand)
    assert (order.round, *astuple(command)) == (
        order.round,
        order.instrument,
        order.side,
        order.order_type,
        order.price_minor,
        order.quantity_t,
    )


def test_prices_are_named_in_the_currency_minor_unit() -> None:
    assert price_text(2_500, "EUR") == "2,500 cents (EUR 25.00)"
    assert price_text(2_500, "CHF") == "2,500 Rappen (CHF 25.00)"
    assert price_text(15_000, "KRW") == "15,000 won"
    assert price_text(2_500, "XYZ") == "2,500 XYZ minor units"
    assert price_text(2_500, None) == "2,500 minor units"


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


# The grammar of a valid order, written independently of the parser.
_NUMBER = r"[1-9][0-9]*"
_VALID_ORDER = re.compile(
    rf"\s*(?:{_ci('buy')}|{_ci('sell')})\s+(?:{_ci('eua')}|{_ci('chu')})\s+(?P<quantity>{_NUMBER})"
    rf"\s+(?:(?:{_ci('at')}\s+)?(?P<price>{_NUMBER})|{_ci('market')})\s*"
)
_QUIT = re.compile(rf"\s*{_ci('quit')}\s*")

_SIDE_WORDS = ["buy", "sell", "BUY", "Sell", "byu", "bid"]
_INSTRUMENT_WORDS = ["EUA", "eua", "CHU", "NZU", "EUA1"]
_NUMBERS = ["1000", "2500", "1", "0", "-5", "2.5", "1,000", "1_000", "007", "1e3", "９"]
_PRICE_WORDS = ["at", "AT", "for", "market", "MARKET", ""]
_SPACES = [" ", "  ", "\t", "\u3000"]


def _joined(words: list[str], spaces: list[str]) -> str:
    return "".join(word + space for word, space in zip(words, spaces, strict=True))


def _spaced(words: list[str]) -> st.SearchStrategy[str]:
    spaces = st.lists(st.sampled_from(_SPACES), min_size=len(words), max_size=len(words))
    return spaces.map(lambda chosen: _joined(words, chosen))


numbers = st.one_of(st.sampled_from(_NUMBERS), st.integers(1, 10**13).map(str))
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
        st.one_of(numbers, st.sampled_from(["market", "Market", "at"])),
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
    valid = (
        match is not None
        and len(line) <= participants.LINE_CHARS_MAX
        and int(match["quantity"]) <= participants.QUANTITY_T_MAX
        and (match["price"] is None or int(match["price"]) <= participants.PRICE_MINOR_MAX)
    )
    if not valid:
        assert orders == []
    else:
        assert match is not None
        (order,) = orders
        assert order.quantity_t == int(match["quantity"])
        assert order.price_minor == (None if match["price"] is None else int(match["price"]))
