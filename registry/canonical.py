"""Canonical encoding of plain data for hashing and signing.

Sorted keys, no insignificant white space, UTF-8, and only `str`, `int`,
`bool`, `None`, lists and string-keyed dicts: a float has no single canonical
form, so it is refused. The gateway signs transfer messages with the same
encoding, which is why it lives in the bottom package.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
# The string literal `_encoder` writes for a str (it quotes with this function
# because ensure_ascii is off), for code that writes the canonical text of a
# value of known shape directly: `events.UnitsMoved.to_text`.
quote = encode_basestring


class CanonicalEncodingError(TypeError):
    """The value holds something with no canonical form (a float, a set, an object...)."""


_SCALAR_TYPES = frozenset({str, int, bool, type(None)})


def _is_plain(value: Any) -> bool:
    """Return whether `value` is canonical plain data: `check_plain`'s rule, without paths."""
    kind = type(value)
    if kind in _SCALAR_TYPES:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _SCALAR_TYPES and not _is_plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        # A loop, not all(generator), and a flat list (a serial range) checked by its
        # types without a call: statements and journal entries hold long lists of them.
        for item in value:
            item_kind = type(item)
            if item_kind in _SCALAR_TYPES:
                continue
            if (item_kind is list or item_kind is tuple) and _SCALAR_TYPES.issuperset(
                map(type, item)
            ):
                continue
            if not _is_plain(item):
                return False
        return True
    return False


def check_plain(value: Any, path: str = "$") -> None:
    """Raise CanonicalEncodingError unless `value` is canonical plain data."""
    # Every journal entry passes here. Naming the culprit's path costs a string
    # per item, so walk with paths only when the fast check has found one.
    if path == "$" and _is_plain(value):
        return
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return
    if kind is list or kind is tuple:
        for index, item in enumerate(value):
            check_plain(item, f"{path}[{index}]")
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise CanonicalEncodingError(f"{path}: dict key {key!r} is not a string")
            check_plain(item, f"{path}.{key}")
        return
    raise CanonicalEncodingError(
        f"{path}: {kind.__name__} has no canonical encoding (use int, str, bool, list, dict)"
    )


def encode_text(value: Any) -> str:
    """Return the canonical JSON text of `value`, refusing anything not plain."""
    check_plain(value)
    return _encoder.encode(value)


def encode(value: Any) -> bytes:
    """Return the canonical bytes of `value` (UTF-8 of the canonical text)."""
    return encode_text(value).encode("utf-8")


def decode(data: bytes | str) -> Any:
    """Parse canonical text back into plain data, refusing floats on the way in."""
    if type(data) is bytes:
        try:
            data = data.decode("utf-8")  # canonical bytes are UTF-8, nothing else
        except UnicodeDecodeError as error:
            raise ValueError(f"canonical bytes must be UTF-8: {error}") from None
    if type(data) is str and not data.startswith("\ufeff"):
        # What json.loads does with these hooks, without a new decoder per call.
        return _decoder.decode(data)
    return json.loads(data, parse_float=_refuse_float, parse_constant=_refuse_float)


def _refuse_float(text: str) -> Any:
    raise CanonicalEncodingError(f"number {text} is not an integer; canonical data has no floats")


_decoder = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_float)
