"""Human participants for classroom use: orders from a CSV schedule, or typed at a prompt.

A round is one trading day of the run, numbered 1, 2, … across the whole run. At each
round the run asks every participant for its orders (`Participant.orders`), submits them as
day orders (whatever still rests at the day's end is cancelled) and shows the participant
what happened in the next round's `RoundStatus`.

Two kinds of participant answer that question:

- `Schedule`, read by `load_schedule` from a CSV file (format in `docs/participants.md`):
  strict, every mistake a `ConfigError` naming the file, the line and the column;
- `InteractiveSession`, a person typing commands at a prompt. Input and output are
  injected (`read_line`, `write`), so tests drive it with lists and the CLI with `input`
  and a console. A mistyped command prints one line saying what was expected and queues
  nothing; the session never raises on what a person types. It knows each book's rules
  (`exchange.book.Instrument`: currency, lot, tick, limits): it opens with them and the
  scenario's narrative, shows each book's lot and tick at every round and refuses at the
  prompt an order the book would refuse for its size or price.

People type and read money in major units of the book's currency per tonne ("at 25.10",
"EUR 25.10", "KRW 23,400"), shown by `etslink.reports.figures`; a typed price is turned
exactly into the whole minor units the exchange takes (2510 euro cents). A CSV schedule's
`price_minor` column, and every `price_minor` here, is whole minor units per tonne;
quantities are whole tonnes; no float anywhere.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from etslink.reports.figures import amount, minor_digits, money, per_tonne, round_half_up
from etslink.scenario import MONEY_MINOR_MAX, TRADING_DAYS_MAX, YEARS_MAX
from exchange.book import QUANTITY_T_MAX, Instrument, OrderType, Side
from registry.config_reader import ConfigError

ROUND_MAX = YEARS_MAX * TRADING_DAYS_MAX  # the last round the longest scenario has
PRICE_MINOR_MAX = MONEY_MINOR_MAX  # per tonne: the scenario's ceiling on any sum of money
ROWS_MAX = 100_000  # orders in one CSV schedule
FILE_BYTES_MAX = 8 * 1024 * 1024  # a full schedule of ROWS_MAX rows is about 4 MiB
ORDERS_PER_ROUND_MAX = 100  # orders one person may queue in a round at the prompt
LINES_PER_ROUND_MAX = 1_000  # lines read in one round before it ends as if `done`
LINE_CHARS_MAX = 200  # one typed command

T = TypeVar("T")

COLUMNS = ("round", "instrument", "side", "type", "price_minor", "quantity_t")
HEADER = ",".join(COLUMNS)

_WHOLE_RE = re.compile(r"[1-9][0-9]*")
_DECIMAL_RE = re.compile(r"[0-9]*\.[0-9]*|[0-9.]+[eE][+-]?[0-9]+")  # 25.00, 2.5e3
_MAJOR_RE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?P<decimals>[0-9]+))?")  # 25, 25.5, 0.05
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_UNIT_CODE_RE = re.compile(r"[A-Z0-9]{1,16}(@[A-Z]{2})?")  # a book: "EUA", "EUA@CH"
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")  # Excel for Mac still writes lone CRs
_PARAGRAPH_RE = re.compile(r"\n[ \t]*\n")  # a blank line parts a narrative's paragraphs
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_TYPES = {"limit": OrderType.LIMIT, "market": OrderType.MARKET}
_SIDE_WORDS = {Side.BUY: "buy", Side.SELL: "sell"}


# ---------------------------------------------------------------- the values


@dataclass(frozen=True, slots=True)
class ParticipantOrder:
    """One order of a participant for one round: a limit or a market day order.

    `price_minor` is the limit in minor units per tonne, None for a market order.
    `source` says where the order came from, for messages ("orders.csv line 4");
    `currency`, the book's, is known for an order typed at the prompt (None from a CSV
    schedule) and lets `text` give the price in major units.
    """

    round: int
    instrument: str  # a unit type code, "EUA"
    side: Side
    order_type: OrderType
    price_minor: int | None
    quantity_t: int
    source: str
    currency: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.round <= ROUND_MAX:
            raise ValueError(f"round must lie in [1, {ROUND_MAX}], was {self.round}")
        if self.currency is not None and not _CURRENCY_RE.fullmatch(self.currency):
            raise ValueError(f"currency must be a code like EUR, was {self.currency!r}")
        if not _UNIT_CODE_RE.fullmatch(self.instrument):
            raise ValueError(f"instrument must be a book code like EUA, was {self.instrument!r}")
        if not 1 <= self.quantity_t <= QUANTITY_T_MAX:
            raise ValueError(f"quantity must lie in [1, {QUANTITY_T_MAX}] t, was {self.quantity_t}")
        if self.order_type is OrderType.MARKET:
            if self.price_minor is not None:
                raise ValueError(f"a market order has no price, was {self.price_minor}")
        elif self.order_type is OrderType.LIMIT:
            if self.price_minor is None or not 1 <= self.price_minor <= PRICE_MINOR_MAX:
                raise ValueError(
                    f"a limit price must lie in [1, {PRICE_MINOR_MAX}], was {self.price_minor}"
                )
        else:
            raise ValueError(f"a participant's order is LIMIT or MARKET, was {self.order_type!r}")

    def text(self) -> str:
        """Return the order as the command that places it: "buy EUA 1000 at 25.00".

        Without a currency (an order from a CSV schedule) the price is named as the CSV
        names it, in minor units: "buy EUA 1000 price_minor 2500".
        """
        if self.price_minor is None:
            price = "market"
        elif self.currency is None:
            price = f"price_minor {self.price_minor}"
        else:
            price = f"at {typed_price(self.price_minor, self.currency)}"
        return f"{_SIDE_WORDS[self.side]} {self.instrument} {self.quantity_t} {price}"


@dataclass(frozen=True, slots=True)
class InstrumentQuote:
    """What the market shows of one instrument: best bid and ask, last price (or None)."""

    instrument: str
    currency: str
    best_bid_minor: int | None
    best_ask_minor: int | None
    last_price_minor: int | None


@dataclass(frozen=True, slots=True)
class RoundStatus:
    """What a participant sees before placing a round's orders.

    `holdings_t` pairs a unit type with the tonnes held, `cash_minor` a currency with the
    free cash in its minor units; `last_round` is the run's account of the previous round
    (fills, refusals with their code and message), one line of text each.
    """

    round: int
    date_text: str
    quotes: tuple[InstrumentQuote, ...]
    holdings_t: tuple[tuple[str, int], ...]
    cash_minor: tuple[tuple[str, int], ...]
    last_round: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.round <= ROUND_MAX:
            raise ValueError(f"round must lie in [1, {ROUND_MAX}], was {self.round}")
        for what, keys in (
            ("instrument", [quote.instrument for quote in self.quotes]),
            ("unit type", [unit for unit, _ in self.holdings_t]),
            ("currency", [currency for currency, _ in self.cash_minor]),
        ):
            if len(set(keys)) != len(keys):
                raise ValueError(f"each {what} appears once in a status, was {keys}")
        if any(held_t < 0 for _, held_t in self.holdings_t):
            raise ValueError(f"holdings must be ≥ 0 t, was {self.holdings_t}")

    def currency_of(self, instrument: str) -> str | None:
        """Return the currency `instrument` is quoted in, None when the status lacks it."""
        for quote in self.quotes:
            if quote.instrument == instrument:
                return quote.currency
        return None


@runtime_checkable
class Participant(Protocol):
    """A human participant: the run asks it for its orders once per round."""

    @property
    def participant(self) -> str: ...

    def orders(self, round: int, status: RoundStatus) -> list[ParticipantOrder] | None:
        """Return this round's orders, or None when the participant has left the run."""
        ...


# ---------------------------------------------------------------- numbers, both sources


@dataclass(frozen=True, slots=True)
class Prompt:
    """Where interactive participants read their lines and the run writes to them."""

    read_line: Callable[[str], str]
    write: Callable[[str], None]


class _Mistake(ValueError):
    """A cell or a typed word is not what was expected; the message says so."""


def _whole(text: str, what: str, high: int, example: str, decimals: str = "no decimals") -> int:
    """Return `text`, digits only, as a whole number in 1..high.

    `decimals` is the hint for a number with a decimal point.
    """
    if _WHOLE_RE.fullmatch(text):
        if len(text) <= len(str(high)) and int(text) <= high:
            return int(text)
        raise _Mistake(f"expected {what} of at most {high:,}, found {text}")
    found = repr(text) if text else "nothing"
    raise _Mistake(
        f"expected {what}: a whole number of 1 or more in digits only, like {example}; "
        f"found {found}{_number_hint(text, decimals)}"
    )


def _number_hint(text: str, decimals: str) -> str:
    """Return why a number-like `text` is refused, when one reason stands out."""
    if text[:1] in ("+", "-"):
        return " (no sign)"
    if _DECIMAL_RE.fullmatch(text):
        return f" ({decimals})"
    if any(mark in text for mark in (",", "_", " ", "'")):
        return " (no thousands separators)"
    if text and text.strip("0") == "":
        return " (0 is not allowed)"
    if text.startswith("0") and text.isdigit():
        return " (no leading zeros)"
    return ""


def _quantity(text: str) -> int:
    return _whole(text, "a quantity in tonnes", QUANTITY_T_MAX, "1000", "no decimals: whole tonnes")


def _price_minor(text: str) -> int:
    """Return a CSV schedule's `price_minor` cell: whole minor units per tonne."""
    return _whole(
        text,
        "a price in minor units per tonne",
        PRICE_MINOR_MAX,
        "2500",
        "no decimals: price_minor is in minor units, 2500 for EUR 25.00",
    )


def _price(text: str, currency: str) -> int:
    """Return a typed price in major units of `currency` per tonne as whole minor units.

    "25.10" in EUR is 2510, "25" is 2500, "23400" in KRW is 23400: exactly, through a
    Fraction. More decimals than the currency has, 0 and more than `PRICE_MINOR_MAX`
    minor units are refused, as is anything but digits and one decimal point.
    """
    digits = minor_digits(currency)
    example = price_example(currency)
    match = _MAJOR_RE.fullmatch(text)
    if match is None:
        found = repr(text) if text else "nothing"
        raise _Mistake(
            f"expected a price in {currency} per tonne in digits and at most one decimal "
            f"point, like {example}; found {found}{_price_hint(text, example)}"
        )
    places = len(match["decimals"] or "")
    if places > digits:
        rule = (
            f"{currency} prices have at most {digits} decimals"
            if digits
            else f"{currency} prices are whole numbers, with no decimals"
        )
        raise _Mistake(
            f"expected a price in {currency} per tonne: {rule}, like {example}; found {text}"
        )
    price_minor = Fraction(text) * 10**digits
    assert price_minor.denominator == 1, (text, currency)
    if price_minor == 0:
        raise _Mistake(
            f"expected a price of at least {money(1, currency)} per tonne, like {example}; "
            f"found {text} (0 is not allowed)"
        )
    if price_minor > PRICE_MINOR_MAX:
        raise _Mistake(
            f"expected a price of at most {money(PRICE_MINOR_MAX, currency)} per tonne, "
            f"found {text}"
        )
    return int(price_minor)


def _price_hint(text: str, example: str) -> str:
    """Return why a typed price is refused, when one reason stands out."""
    if text[:1] in ("+", "-"):
        return " (no sign)"
    if any(mark in text for mark in (",", "_", " ", "'")):
        return f" (no thousands separators; decimals after a point, like {example})"
    if "e" in text.lower() and any(char.isdigit() for char in text):
        return " (no exponents)"
    if text.startswith("0") and text[1:2].isdigit():
        return " (no leading zeros)"
    return ""


def price_example(currency: str) -> str:
    """Return a price as typed in `currency`, for examples: "25.10", "23400" (KRW)."""
    digits = minor_digits(currency)
    return f"25.{'1'.ljust(digits, '0')}" if digits else "23400"


def typed_price(price_minor: int, currency: str) -> str:
    """Return a price in minor units as a person types it: "25.10", "1025.00", "23400".

    `etslink.reports.figures.amount` without its thousands separators, which the prompt
    does not read.
    """
    return amount(price_minor, currency).replace(",", "")


# ---------------------------------------------------------------- the CSV schedule


class Schedule:
    """A participant's orders read from a CSV schedule; the same orders whatever happens."""

    __slots__ = ("_by_round", "_lines", "entries", "participant", "path")

    def __init__(
        self, participant: str, path: Path | str, rows: Sequence[tuple[int, ParticipantOrder]]
    ) -> None:
        """Hold `rows`, pairs of (line number, order), in file order."""
        if len(rows) > ROWS_MAX:
            raise ValueError(f"a schedule holds at most {ROWS_MAX} orders, was {len(rows)}")
        self.participant = participant
        self.path = str(path)
        self.entries: tuple[ParticipantOrder, ...] = tuple(order for _, order in rows)
        self._lines: tuple[int, ...] = tuple(line for line, _ in rows)
        by_round: dict[int, list[ParticipantOrder]] = {}
        for order in self.entries:
            by_round.setdefault(order.round, []).append(order)
        self._by_round = {round_: tuple(orders) for round_, orders in by_round.items()}

    def orders(self, round: int, status: RoundStatus | None = None) -> list[ParticipantOrder]:
        """Return the orders of `round` in file order (`status` is not looked at)."""
        return list(self._by_round.get(round, ()))

    @property
    def rounds(self) -> tuple[int, ...]:
        """Return the rounds that have orders, in increasing order."""
        return tuple(sorted(self._by_round))

    def check_instruments(self, listed: Collection[str]) -> None:
        """Refuse the first order whose instrument is not among `listed`."""
        for line, order in zip(self._lines, self.entries, strict=True):
            if order.instrument not in listed:
                raise ConfigError(
                    self.path,
                    _cell(line, "instrument"),
                    f"expected a listed instrument ({', '.join(sorted(listed)) or 'none listed'})"
                    f", found {order.instrument!r}",
                )

    def check_rounds(self, last_round: int) -> None:
        """Refuse the first order for a round after `last_round`: the run would never place it."""
        for line, order in zip(self._lines, self.entries, strict=True):
            if order.round > last_round:
                raise ConfigError(
                    self.path,
                    _cell(line, "round"),
                    f"expected a round 1..{last_round} (the run has {last_round} rounds), "
                    f"found {order.round}",
                )


def load_schedule(path: Path, participant: str) -> Schedule:
    """Read the CSV order schedule at `path` for `participant`; refuse any mistake.

    Its `price_minor` column is the limit in whole minor units of the book's currency
    per tonne (2500 for EUR 25.00), unlike a price typed at the prompt (major units).
    """
    lines = _read_lines(path)
    _check_header(path, lines[0])
    rows: list[tuple[int, ParticipantOrder]] = []
    for index, text in enumerate(lines[1:], start=2):
        if not text.strip(" \t,"):
            continue  # blank lines, and Excel's rows of empty cells, carry no order
        if len(rows) == ROWS_MAX:
            raise ConfigError(
                path, f"line {index}", f"expected at most {ROWS_MAX:,} orders in one schedule"
            )
        rows.append((index, _read_row(path, index, text)))
    return Schedule(participant, path, rows)


def _read_lines(path: Path) -> list[str]:
    """Return the file's lines, decoded as UTF-8 with or without a byte-order mark."""
    try:
        with path.open("rb") as handle:
            data = handle.read(FILE_BYTES_MAX + 1)
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "no such file") from None
    except IsADirectoryError:
        raise ConfigError(path, "(file)", "expected a CSV file, found a folder") from None
    if len(data) > FILE_BYTES_MAX:
        raise ConfigError(path, "(file)", f"expected at most {FILE_BYTES_MAX:,} bytes")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(path, "(file)", "expected UTF-8 text, found UTF-16; save as CSV UTF-8")
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            path, f"line {line}", "expected UTF-8 text; save the file as CSV UTF-8"
        ) from None
    if not text.strip():
        raise ConfigError(path, "(file)", f"empty file; expected the header line {HEADER}")
    return _LINE_BREAK_RE.split(text)


def _cells(path: Path, line: int, text: str) -> list[str]:
    """Split one line into cells (quotes allowed), spaces and tabs around each trimmed."""
    try:
        (cells,) = csv.reader([text], strict=True, skipinitialspace=True)
    except (csv.Error, ValueError) as error:
        raise ConfigError(path, f"line {line}", f"expected CSV cells, {error}") from None
    return [cell.strip(" \t") for cell in cells]


def _check_header(path: Path, text: str) -> None:
    cells = _cells(path, 1, text)
    expected = f"the header must be exactly {HEADER}"
    for column, name in enumerate(cells, start=1):
        if name not in COLUMNS:
            raise ConfigError(
                path, f"line 1 column {column}", f"unknown column {name!r}; {expected}"
            )
        if cells.index(name) != column - 1:
            raise ConfigError(
                path, f"line 1 column {column}", f"column {name!r} appears twice; {expected}"
            )
    missing = [name for name in COLUMNS if name not in cells]
    if missing:
        raise ConfigError(path, "line 1", f"missing column {missing[0]!r}; {expected}")
    for column, (name, wanted) in enumerate(zip(cells, COLUMNS, strict=True), start=1):
        if name != wanted:
            raise ConfigError(
                path, f"line 1 column {column}", f"expected {wanted!r}, found {name!r}; {expected}"
            )


def _cell(line: int, name: str) -> str:
    return f"line {line} column {COLUMNS.index(name) + 1} ({name})"


def _read_row(path: Path, line: int, text: str) -> ParticipantOrder:
    cells = _cells(path, line, text)
    if len(cells) != len(COLUMNS):
        hint = " (a ',' inside a number splits it: write 1000, not 1,000)"
        raise ConfigError(
            path,
            f"line {line}",
            f"expected {len(COLUMNS)} cells ({HEADER}), found {len(cells)}"
            + (hint if len(cells) > len(COLUMNS) else ""),
        )
    values = dict(zip(COLUMNS, cells, strict=True))
    name = "round"
    try:
        round_ = _whole(values[name], "a round number", ROUND_MAX, "3")
        name = "instrument"
        instrument = values[name]
        if not _UNIT_CODE_RE.fullmatch(instrument):
            raise _Mistake(
                f"expected a unit type code of capital letters and digits (like EUA), "
                f"found {instrument or 'nothing'!r}"
            )
        name = "side"
        side = _choice(values[name], _SIDES)
        name = "type"
        order_type = _choice(values[name], _TYPES)
        name = "price_minor"
        price = _row_price(values[name], order_type)
        name = "quantity_t"
        quantity = _quantity(values[name])
    except _Mistake as mistake:
        raise ConfigError(path, _cell(line, name), str(mistake)) from None
    source = f"{path.name} line {line}"
    return ParticipantOrder(round_, instrument, side, order_type, price, quantity, source)


def _choice(text: str, choices: dict[str, T]) -> T:
    if text not in choices:
        raise _Mistake(f"expected {' or '.join(choices)}, found {text or 'nothing'!r}")
    return choices[text]


def _row_price(text: str, order_type: OrderType) -> int | None:
    if order_type is OrderType.MARKET:
        if text:
            raise _Mistake(f"expected an empty cell for a market order, found {text!r}")
        return None
    return _price_minor(text)


# ---------------------------------------------------------------- the prompt


class Command(Enum):
    """A command of the interactive session other than an order."""

    ORDERS = "orders"
    UNDO = "undo"
    STATUS = "status"
    HELP = "help"
    DONE = "done"
    QUIT = "quit"


_WORDS = {
    "orders": Command.ORDERS,
    "undo": Command.UNDO,
    "book": Command.STATUS,
    "status": Command.STATUS,
    "help": Command.HELP,
    "done": Command.DONE,
    "quit": Command.QUIT,
}


@dataclass(frozen=True, slots=True)
class OrderCommand:
    """A typed order, checked but not yet tied to a round."""

    instrument: str
    side: Side
    order_type: OrderType
    price_minor: int | None
    quantity_t: int


HELP_LINES = (
    "commands (prices per t in the book's currency: for EUA, 25.10 is EUR 25.10):",
    "  buy EUA 1000 at 25.10   limit order: buy 1000 t at EUR 25.10 per t or less",
    "  sell EUA 500 at 26      limit order: sell 500 t at EUR 26.00 per t or more",
    "  sell EUA 500 26         the same: 'at' may be left out",
    "  buy EUA 1000 market     market order: buy 1000 t at the best prices on offer",
    "  orders                  list the orders queued this round",
    "  undo                    drop the last queued order",
    "  book, status            show the market and your holdings again",
    "  done, or an empty line  end the round: submit the queued orders",
    "  quit                    leave the run; queued orders are dropped",
    "prices have at most the currency's decimals (EUR 2, KRW none) and lie on the",
    "book's tick; quantities are whole tonnes, in whole lots",
    "orders are day orders: what has not traded by the day's end is cancelled",
)


def parse_command(line: str, currencies: Mapping[str, str]) -> Command | OrderCommand:
    """Return what `line` asks for; raise ValueError saying what was expected if it is wrong.

    `currencies` gives each instrument that can be traded its currency ({"EUA": "EUR"}):
    a price is typed in its major units ("at 25.10") and comes back in minor units (2510).
    Words are matched without regard to case ("BUY eua"), ASCII only.
    """
    if len(line) > LINE_CHARS_MAX:
        raise _Mistake(f"expected a command of at most {LINE_CHARS_MAX} characters")
    words = line.split()
    if not words:
        return Command.DONE
    first = _word(words[0])
    if first in _SIDES:
        return _parse_order(words, currencies)
    if first not in _WORDS:
        raise _Mistake(
            f"unknown command {words[0]!r}; expected buy, sell, orders, undo, book, status, "
            "help, done or quit (type help for examples)"
        )
    if len(words) > 1:
        raise _Mistake(f"expected {first!r} alone, found {line.strip()!r}")
    return _WORDS[first]


def _word(text: str) -> str:
    """Return `text` in lower case, or "" when it is not ASCII (no look-alike letters)."""
    return text.lower() if text.isascii() else ""


def _parse_order(words: list[str], currencies: Mapping[str, str]) -> OrderCommand:
    side_word = _word(words[0])
    forms = (
        f"expected '{side_word} INSTRUMENT TONNES at PRICE', '{side_word} INSTRUMENT TONNES "
        f"PRICE' or '{side_word} INSTRUMENT TONNES market'"
    )
    if len(words) not in (4, 5):
        raise _Mistake(f"{forms}, found {' '.join(words)!r}")
    if len(words) == 5 and _word(words[3]) != "at":
        raise _Mistake(f"{forms}: expected 'at' before the price, found {words[3]!r}")
    codes = {code.upper(): code for code in currencies}
    instrument = codes.get(words[1].upper()) if words[1].isascii() else None
    if instrument is None:
        raise _Mistake(
            f"unknown instrument {words[1]!r}; expected one of {', '.join(sorted(currencies))}"
        )
    quantity = _quantity(words[2])
    if _word(words[-1]) == "market" and len(words) == 4:
        return OrderCommand(instrument, _SIDES[side_word], OrderType.MARKET, None, quantity)
    price = _price(words[-1], currencies[instrument])
    return OrderCommand(instrument, _SIDES[side_word], OrderType.LIMIT, price, quantity)


class InteractiveSession:
    """A person typing orders between rounds; `quit` or the end of input leaves the run."""

    def __init__(
        self,
        participant: str,
        books: Sequence[Instrument],
        read_line: Callable[[str], str],
        write: Callable[[str], None],
        *,
        narrative: str = "",
    ) -> None:
        """Trade the listed `books`; read a line with `read_line(prompt)`.

        Each book's rules (`exchange.book.Instrument`: currency, lot, tick, limits) say
        how its prices are typed and shown (major units of its currency) and which orders
        the prompt refuses at once. `write` receives one line of plain text at a time (no
        markup: a rich console should print it with `markup=False`). `read_line` raising
        EOFError means `quit`. `narrative` (the scenario's) and the books open the session.
        """
        if not books:
            raise ValueError("an interactive participant needs at least one book")
        codes = [book.code for book in books]
        if len(set(codes)) != len(codes):
            raise ValueError(f"each book is given once, was {codes}")
        self.participant = participant
        self.books = {book.code: book for book in books}
        self.instruments = tuple(sorted(self.books))
        self.currencies = {book.code: book.currency for book in books}
        self.narrative = narrative
        self._read_line = read_line
        self._write = write
        self.opened = False  # the narrative and the books' rules are shown once, first
        self.left = False  # once True, every later round answers None

    def orders(self, round: int, status: RoundStatus) -> list[ParticipantOrder] | None:
        """Show `status`, then read commands until `done` (the queued orders) or `quit` (None)."""
        if self.left:
            return None
        if status.round != round:
            raise ValueError(f"status of round {status.round} given for round {round}")
        if not self.opened:
            self.opened = True
            for line in opening_lines(self.participant, self.narrative, self.books.values()):
                self._write(line)
        self._show_status(status)
        queue: list[ParticipantOrder] = []
        prompt = f"{self.participant} round {round}> "
        for _ in range(LINES_PER_ROUND_MAX):
            try:
                line = self._read_line(prompt)
            except EOFError:
                self._leave(queue, "end of input")
                return None
            try:
                command = parse_command(line, self.currencies)
                if isinstance(command, OrderCommand):
                    check_book_rules(command, self.books[command.instrument])
            except _Mistake as mistake:
                self._write(f"error: {mistake}")
                continue
            if command is Command.DONE:
                return self._end_round(round, queue)
            if command is Command.QUIT:
                self._leave(queue, "quit")
                return None
            self._apply(command, round, status, queue)
        self._write(f"{LINES_PER_ROUND_MAX:,} lines read this round: the round ends as if 'done'")
        return self._end_round(round, queue)

    def _apply(
        self,
        command: Command | OrderCommand,
        round: int,
        status: RoundStatus,
        queue: list[ParticipantOrder],
    ) -> None:
        """Carry out a command that does not end the round."""
        if isinstance(command, OrderCommand):
            if len(queue) == ORDERS_PER_ROUND_MAX:
                self._write(
                    f"error: at most {ORDERS_PER_ROUND_MAX} orders per round; "
                    "type done to submit them"
                )
                return
            source = f"{self.participant} round {round} order {len(queue) + 1}"
            order = ParticipantOrder(
                round,
                command.instrument,
                command.side,
                command.order_type,
                command.price_minor,
                command.quantity_t,
                source,
                self.currencies[command.instrument],
            )
            queue.append(order)
            self._write(
                f"queued {len(queue)}: {order_text(order, status)}{_far_off(order, status)}"
            )
        elif command is Command.ORDERS:
            if not queue:
                self._write("no orders queued this round")
            for number, queued in enumerate(queue, start=1):
                self._write(f"  {number}. {order_text(queued, status)}")
        elif command is Command.UNDO:
            if queue:
                self._write(f"dropped: {order_text(queue.pop(), status)}")
            else:
                self._write("nothing to undo: no order is queued this round")
        elif command is Command.STATUS:
            self._show_status(status)
        else:
            assert command is Command.HELP, command
            for line in HELP_LINES:
                self._write(line)

    def _end_round(self, round: int, queue: list[ParticipantOrder]) -> list[ParticipantOrder]:
        self._write(
            f"round {round}: {len(queue)} order(s) submitted; what has not traded by the "
            "day's end is cancelled"
        )
        return list(queue)

    def _leave(self, queue: list[ParticipantOrder], why: str) -> None:
        self.left = True
        dropped = f"; {len(queue)} queued order(s) dropped" if queue else ""
        self._write(f"{self.participant} leaves the run ({why}){dropped}; the run goes on")

    def _show_status(self, status: RoundStatus) -> None:
        for line in status_lines(self.participant, status, self.books):
            self._write(line)


def check_book_rules(command: OrderCommand, book: Instrument) -> None:
    """Raise ValueError, saying what was expected, for an order its book would refuse.

    The rules are the book's lot, tick and largest quantity and price. The exchange checks
    the same (and refuses with a check code); checking them at the prompt tells the person
    now rather than in the next round.
    """
    assert command.instrument == book.code, (command, book)
    quantity_t = command.quantity_t
    if quantity_t % book.lot_t:
        raise _Mistake(
            f"expected a quantity in whole lots of {book.lot_t:,} t for {book.code} "
            f"({book.lot_t:,}, {2 * book.lot_t:,}, …), found {quantity_t:,} t"
        )
    if quantity_t > book.max_quantity_t:
        raise _Mistake(
            f"expected at most {book.max_quantity_t:,} t in one {book.code} order, "
            f"found {quantity_t:,} t"
        )
    price_minor = command.price_minor
    if price_minor is None:
        return
    currency, tick = book.currency, book.tick_minor
    if price_minor % tick:
        below = price_minor - price_minor % tick
        near = [price for price in (below, below + tick) if 0 < price <= book.max_price_minor]
        tries = " or ".join(typed_price(price, currency) for price in near)
        raise _Mistake(
            f"expected a price on {book.code}'s tick {money(tick, currency)}"
            + (f": try {tries}" if tries else "")
            + f"; found {typed_price(price_minor, currency)}"
        )
    if price_minor > book.max_price_minor:
        raise _Mistake(
            f"expected a price of at most {money(book.max_price_minor, currency)} for "
            f"{book.code}, found {money(price_minor, currency)}"
        )


# ---------------------------------------------------------------- text for people


def opening_lines(participant: str, narrative: str, books: Iterable[Instrument]) -> list[str]:
    """Return what a participant reads once, before the first round: story, books, help.

    The narrative comes one paragraph a line (blank lines part paragraphs); each book
    says its currency, lot, tick and the largest order and price it takes, money in
    major units: "EUA (EUR): lot 1,000 t, tick EUR 0.01; one order 1,000 to 50,000 t at
    EUR 0.01 to EUR 1,000.00".
    """
    lines = [f"{participant} joins the run:"]
    paragraphs = [" ".join(part.split()) for part in _PARAGRAPH_RE.split(narrative.strip())]
    lines.extend(f"  {paragraph}" for paragraph in paragraphs if paragraph)
    ordered = sorted(books, key=lambda book: book.code)
    if ordered:
        lines.append("the books (prices per t in the book's currency, quantities in whole lots):")
    for book in ordered:
        quantity_max_t = _largest_multiple(min(book.max_quantity_t, QUANTITY_T_MAX), book.lot_t)
        price_max_minor = _largest_multiple(
            min(book.max_price_minor, PRICE_MINOR_MAX), book.tick_minor
        )
        tick = money(book.tick_minor, book.currency)
        lines.append(
            f"  {book.code} ({book.currency}): lot {book.lot_t:,} t, tick {tick}; one order "
            f"{book.lot_t:,} to {quantity_max_t:,} t at {tick} to "
            f"{money(price_max_minor, book.currency)}"
        )
    lines.append(
        "type help for the commands; done or an empty line ends the round, quit leaves the run"
    )
    return lines


def status_lines(
    participant: str, status: RoundStatus, books: Mapping[str, Instrument] | None = None
) -> list[str]:
    """Return what a participant reads at the start of a round, one line each.

    Prices are in major units, under their currency per tonne: "EUA EUR/t: bid 24.99,
    ask 25.01, last 25.00". With `books` (the books' rules by code), each quote also
    says its lot and tick.
    """
    lines = [f"round {status.round}, {status.date_text}: {participant}"]
    for quote in status.quotes:
        currency = quote.currency
        book = None if books is None else books.get(quote.instrument)
        rules = (
            ""
            if book is None
            else f"; lot {book.lot_t:,} t, tick {amount(book.tick_minor, currency)}"
        )
        lines.append(
            f"  {quote.instrument} {per_tonne(currency)}: "
            f"bid {_optional(quote.best_bid_minor, currency)}, "
            f"ask {_optional(quote.best_ask_minor, currency)}, "
            f"last {_optional(quote.last_price_minor, currency)}{rules}"
        )
    holdings = ", ".join(f"{unit} {held_t:,} t" for unit, held_t in status.holdings_t)
    cash = ", ".join(money(minor, currency) for currency, minor in status.cash_minor)
    lines.append(f"  holdings: {holdings or 'none'}")
    lines.append(f"  free cash: {cash or 'none'}")
    if status.last_round:
        lines.append("  last round:")
        lines.extend(f"    {line}" for line in status.last_round)
    return lines


def order_text(order: ParticipantOrder, status: RoundStatus | None = None) -> str:
    """Return the order for people: "buy 1,000 t EUA at EUR 25.00 per t or better".

    The currency is the order's, else the status's quote of its instrument; with
    neither, the price says it is in minor units.
    """
    head = f"{_SIDE_WORDS[order.side]} {order.quantity_t:,} t {order.instrument}"
    if order.price_minor is None:
        return f"{head} at market"
    currency = order.currency
    if currency is None and status is not None:
        currency = status.currency_of(order.instrument)
    if currency is None:
        return f"{head} at {order.price_minor:,} minor units per t or better"
    return f"{head} at {money(order.price_minor, currency)} per t or better"


FAR_OFF = 10  # a limit this many times above or below the market's price is likely a typo


def _far_off(order: ParticipantOrder, status: RoundStatus) -> str:
    """Return a caution when a limit price is `FAR_OFF` times the market's last price (or
    its best bid or ask) or more away from it: "2500" typed for EUR 25.00 out of habit."""
    if order.price_minor is None:
        return ""
    quote = next((q for q in status.quotes if q.instrument == order.instrument), None)
    if quote is None:
        return ""
    reference = quote.last_price_minor or quote.best_ask_minor or quote.best_bid_minor
    if not reference:
        return ""
    ratio = Fraction(order.price_minor, reference)
    if 1 / FAR_OFF < ratio < FAR_OFF:
        return ""
    market = money(reference, quote.currency)
    if ratio >= 1:
        return f" (note: {int(round_half_up(ratio)):,}× the market's {market}; undo drops it)"
    return f" (note: 1/{int(round_half_up(1 / ratio)):,} of the market's {market}; undo drops it)"


def _optional(price_minor: int | None, currency: str) -> str:
    return "none" if price_minor is None else amount(price_minor, currency)


def _largest_multiple(high: int, step: int) -> int:
    """Return the largest multiple of `step` that is at most `high` (`step` ≤ `high`)."""
    assert 0 < step <= high, (step, high)
    return high - high % step
