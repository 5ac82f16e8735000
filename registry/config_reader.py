"""Strict reading of TOML tables: every mistake names the file, the key and what was expected.

Unknown keys are errors, never silently ignored: a misspelt `quantiy` would
otherwise run a different exercise than the trainer wrote. Whatever a file
holds, reading it ends in a value or in one `ConfigError` of one line: never
another exception, never a traceback.
"""

from __future__ import annotations

import re
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar, overload

T = TypeVar("T")
D = TypeVar("D")

_MISSING = object()

FILE_BYTES_MAX = 10 * 1024 * 1024  # a configuration file; checked before it is parsed
NESTING_DEPTH_MAX = 32  # arrays and tables inside each other; the shipped files use 4
NUMBER_TEXT_LENGTH_MAX = 40  # characters of an exact number written as a string
RATE_MIN = Fraction(1, 1000)  # an exchange rate: units of one system per unit of another
RATE_MAX = Fraction(1000)
TONNES_MAX = 10**15  # a cap or limit in tonnes: a thousand times the world's yearly emissions
YEAR_MIN = 1990  # a vintage, period or year: the registry's range
YEAR_MAX = 2200

# Placing an error tomllib finds at the end of a file costs a parse per statement line
# tried: at most this many lines, in files of at most this many characters.
UNCLOSED_SEARCH_MAX = 200
UNCLOSED_SEARCH_CHARS_MAX = 100_000
# tomllib's place of a syntax error, at the end of its message.
_TOML_PLACE_RE = re.compile(
    r"\s*\(at (?:line (?P<line>[0-9]+), column (?P<column>[0-9]+)|end of document)\)$"
)
NEWLINE = "\n"  # TOML's line end ("\r\n" ends in it too)
# A line that starts a TOML statement: a table header or `key =`.
_STATEMENT_RE = re.compile(r"[ \t]*(?:\[|[^\s#=][^#=]*=)")

# An exact number as the files write it: "0.05", "-0.01", "1/20". No exponent, so
# "1e400" cannot ask for a 400-digit number, and "1e999999999" cannot stall a load.
_EXACT_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?|[+-]?[0-9]+/[0-9]+")


class ConfigError(Exception):
    """A configuration file is wrong; the message says where and what was expected.

    The message is one line of printable text: a key or value holding line
    breaks, bidi overrides or other invisible characters is shown escaped.
    """

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        super().__init__(one_line(f"{path}: {key}: {message}"))
        self.path = str(path)
        self.key = key
        self.message = message


def one_line(text: str) -> str:
    """Return `text` with every non-printable character (line breaks, controls,
    bidi overrides, zero-width marks) escaped, so it prints as one honest line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def load_toml(path: Path) -> dict[str, Any]:
    """Read the TOML file at `path`, refusing (ConfigError) anything but a sane document.

    Refused: a missing or unreadable file, a folder, more than FILE_BYTES_MAX
    bytes, text that is not UTF-8, TOML syntax errors, and nesting deeper than
    NESTING_DEPTH_MAX (the parser recurses; so do the loaders).
    """
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(path, f"line {line}", "expected UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        where, what = syntax_error_place(text, str(error))
        raise ConfigError(path, where, f"not valid TOML: {what}") from None
    except ValueError:  # Python reads no whole number of more than 4,300 digits
        raise ConfigError(path, "(syntax)", "a whole number of more than 4,300 digits") from None
    except RecursionError:
        raise ConfigError(
            path, "(syntax)", f"nested deeper than {NESTING_DEPTH_MAX} arrays or tables"
        ) from None
    _check_depth(path, document)
    return document


def syntax_error_place(text: str, message: str) -> tuple[str, str]:
    """Return where in `text` tomllib's `message` points ("line 7, column 5") and what it says.

    tomllib ends its message with "(at line L, column C)", both counted from 1, or
    "(at end of document)" when a string, array or table is never closed; then the
    line where that unclosed value starts is found (`_unclosed_line`) and named.
    """
    found = _TOML_PLACE_RE.search(message)
    if found is None:
        return "(syntax)", message
    what = message[: found.start()].rstrip()
    if found["line"] is not None:
        return f"line {found['line']}, column {found['column']}", what
    line = _unclosed_line(text)
    if line is None:
        return f"line {text.count(NEWLINE) + 1} (end of file)", what
    return f"line {line}", f"{what}: the value that starts on line {line} is never closed"


def _unclosed_line(text: str) -> int | None:
    """Return the line starting the value that runs to the end of `text` unclosed, or None.

    That line starts a statement (a key or a table header) and everything before
    it parses: the latest such line is the one. Lines are counted as TOML counts
    them (at each "\n"). At most UNCLOSED_SEARCH_MAX statement lines are tried,
    from the end, in a file of at most UNCLOSED_SEARCH_CHARS_MAX characters, so
    a huge file stays quick.
    """
    if len(text) > UNCLOSED_SEARCH_CHARS_MAX:
        return None
    lines = text.split(NEWLINE)
    tried = 0
    for index in range(len(lines) - 1, -1, -1):
        if not _STATEMENT_RE.match(lines[index]):
            continue
        tried += 1
        if tried > UNCLOSED_SEARCH_MAX:
            return None
        try:
            tomllib.loads(NEWLINE.join(lines[:index]))
        except (tomllib.TOMLDecodeError, ValueError, RecursionError):
            continue
        return index + 1
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(FILE_BYTES_MAX + 1)
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "no such file") from None
    except IsADirectoryError:
        raise ConfigError(path, "(file)", "expected a file, found a folder") from None
    except (OSError, ValueError) as error:  # ValueError: a path with a NUL in it
        raise ConfigError(path, "(file)", f"cannot be read: {error}") from None
    if len(data) > FILE_BYTES_MAX:
        raise ConfigError(path, "(file)", f"larger than {FILE_BYTES_MAX:,} bytes")
    return data


def _check_depth(path: Path | str, document: dict[str, Any]) -> None:
    """Refuse nesting deeper than NESTING_DEPTH_MAX, walking without recursion."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > NESTING_DEPTH_MAX:
            raise ConfigError(
                path, "(file)", f"nested deeper than {NESTING_DEPTH_MAX} arrays or tables"
            )
        items = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))


def parse_exact(path: Path | str, where: str, text: str) -> Fraction:
    """Return `text`, a decimal ("0.05") or a ratio ("1/20"), as an exact Fraction."""
    if len(text) > NUMBER_TEXT_LENGTH_MAX or not _EXACT_RE.fullmatch(text):
        raise ConfigError(
            path,
            where,
            f'expected an exact number like "0.05" or "1/20" (no exponent, at most '
            f"{NUMBER_TEXT_LENGTH_MAX} characters), found {text[:NUMBER_TEXT_LENGTH_MAX]!r}",
        )
    try:
        return Fraction(text)
    except ZeroDivisionError:
        raise ConfigError(path, where, f"a ratio over zero, found {text!r}") from None


class Table:
    """A TOML table being read; `done()` refuses the keys nobody asked for."""

    def __init__(self, path: Path | str, where: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ConfigError(path, where, f"expected a table, found {type(data).__name__}")
        self.path = path
        self.where = where
        self._data = data
        self._seen: set[str] = set()

    def key_path(self, key: str) -> str:
        """Return the path of `key` in this table, as errors name it (`link[0].windows`)."""
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type[T], default: Any = _MISSING) -> T:
        """Return `key` as `kind` (bool is never accepted as int)."""
        self._seen.add(key)
        if key not in self._data:
            if default is _MISSING:
                raise ConfigError(
                    self.path, self.key_path(key), f"required {kind.__name__} is missing"
                )
            return default
        value = self._data[key]
        if kind is int and type(value) is not int:
            raise ConfigError(
                self.path, self.key_path(key), f"expected a whole number, found {value!r}"
            )
        if not isinstance(value, kind):
            raise ConfigError(
                self.path, self.key_path(key), f"expected {kind.__name__}, found {value!r}"
            )
        return value

    @overload
    def whole(self, key: str, low: int, high: int) -> int: ...

    @overload
    def whole(self, key: str, low: int, high: int, default: D) -> int | D: ...

    def whole(self, key: str, low: int, high: int, default: Any = _MISSING) -> Any:
        """Return `key`, a whole number in low..high (`default` when absent, if given)."""
        if default is not _MISSING and key not in self._data:
            self._seen.add(key)
            return default
        value = self.get(key, int)
        if not low <= value <= high:
            raise ConfigError(
                self.path,
                self.key_path(key),
                f"expected a whole number {low}..{high}, found {_short(value)}",
            )
        return value

    def choice(self, key: str, choices: dict[str, T], default: Any = _MISSING) -> T:
        if key not in self._data and default is not _MISSING:
            self._seen.add(key)
            return default
        text = self.get(key, str)
        if text not in choices:
            raise ConfigError(
                self.path,
                self.key_path(key),
                f"expected one of {', '.join(sorted(choices))}, found {text!r}",
            )
        return choices[text]

    def fraction(self, key: str, default: Any = _MISSING) -> Fraction:
        """Return `key`, a decimal or ratio string ("0.05", "1/20"), as a Fraction >= 0."""
        if key not in self._data and default is not _MISSING:
            self._seen.add(key)
            return default
        text = self.get(key, str)
        value = parse_exact(self.path, self.key_path(key), text)
        if value < 0:
            raise ConfigError(
                self.path, self.key_path(key), f"expected a share >= 0, found {text!r}"
            )
        return value

    def share(self, key: str, default: Any = _MISSING) -> Fraction:
        """Return `key` as a share in [0, 1] ("0.05", "1/20")."""
        value = self.fraction(key, default)
        if value is not None and value > 1:
            raise ConfigError(
                self.path, self.key_path(key), f"expected a share <= 1, found {value}"
            )
        return value

    def rate(self, key: str, default: Any = _MISSING) -> Fraction:
        """Return `key` as an exchange rate in [RATE_MIN, RATE_MAX] ("1", "1/2")."""
        value = self.fraction(key, default)
        if value is not None and not RATE_MIN <= value <= RATE_MAX:
            raise ConfigError(
                self.path,
                self.key_path(key),
                f"expected a rate {RATE_MIN}..{RATE_MAX}, found {_short(value)}",
            )
        return value

    def tonnes(self, key: str, default: Any = _MISSING) -> int:
        """Return `key`, a cap or limit in whole tonnes, 1..TONNES_MAX."""
        return self.whole(key, 1, TONNES_MAX, default)

    def year(self, key: str, default: Any = _MISSING) -> int:
        """Return `key`, a year (vintage, period), YEAR_MIN..YEAR_MAX."""
        return self.whole(key, YEAR_MIN, YEAR_MAX, default)

    def table(self, key: str, required: bool = True) -> Table | None:
        self._seen.add(key)
        if key not in self._data:
            if required:
                raise ConfigError(self.path, self.key_path(key), "required table is missing")
            return None
        return Table(self.path, self.key_path(key), self._data[key])

    def tables(self, key: str) -> list[Table]:
        """Return the array of tables `[[key]]` (empty when absent)."""
        self._seen.add(key)
        items = self._data.get(key, [])
        if not isinstance(items, list):
            raise ConfigError(self.path, self.key_path(key), "expected an array of tables [[...]]")
        return [
            Table(self.path, f"{self.key_path(key)}[{index}]", item)
            for index, item in enumerate(items)
        ]

    def refuse_unknown(self, allowed: set[str]) -> None:
        """Refuse keys outside `allowed` before reading any: a typo is named as such."""
        unknown = sorted(set(self._data) - allowed)
        if unknown:
            raise ConfigError(
                self.path,
                self.key_path(unknown[0]),
                f"unknown key (known keys here: {', '.join(sorted(allowed))})",
            )

    def has(self, key: str) -> bool:
        return key in self._data

    def done(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            known = ", ".join(sorted(self._seen)) or "none"
            raise ConfigError(
                self.path, self.key_path(unknown[0]), f"unknown key (known keys here: {known})"
            )


def refuse_floats(path: Path | str, value: Any, where: str = "") -> None:
    """Refuse a float anywhere in loaded TOML: a binary fraction cannot say 0.05 exactly."""
    if isinstance(value, float):
        raise ConfigError(
            path,
            where or "(file)",
            f'floats are not exact; write a share or rate as a string ("0.05" or "1/20") '
            f"and money as whole minor units, found {value!r}",
        )
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_floats(path, item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_floats(path, item, f"{where}[{index}]")


def _short(value: int | Fraction) -> str:
    """Return `value` for a message, its middle elided when it is very long."""
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}…{text[-10:]} ({len(text)} characters)"
