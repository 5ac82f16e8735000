"""Strict reading of TOML tables: every mistake names the file, the key and what was expected.

Unknown keys are errors, never silently ignored: a misspelt `quantiy` would
otherwise run a different exercise than the trainer wrote.
"""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar, overload

T = TypeVar("T")
D = TypeVar("D")

_MISSING = object()


class ConfigError(Exception):
    """A configuration file is wrong; the message says where and what was expected."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        super().__init__(f"{path}: {key}: {message}")
        self.path = str(path)
        self.key = key
        self.message = message


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, "(syntax)", f"not valid TOML: {error}") from None


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
                f"expected a whole number {low}..{high}, found {value}",
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
        try:
            value = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise ConfigError(
                self.path,
                self.key_path(key),
                f'expected a share like "0.05" or "1/20", found {text!r}',
            ) from None
        if value < 0:
            raise ConfigError(
                self.path, self.key_path(key), f"expected a share >= 0, found {text!r}"
            )
        return value

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
