"""Strict readers for data a peer sent: exactly the expected shape, or 9013 (malformed).

Shared by the messages and statements the gateway and the registries exchange,
so a peer's mistake is refused with the same code and wording everywhere.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import GatewayError, LinkCode


def malformed(detail: str) -> GatewayError:
    return GatewayError(LinkCode.MESSAGE_MALFORMED, detail)


def fields(data: Any, keys: frozenset[str], what: str) -> dict[str, Any]:
    """Return `data` if it is a dict with exactly `keys`, else refuse it as malformed."""
    if type(data) is not dict:
        raise malformed(f"{what} must be a dict, was {type(data).__name__}")
    if data.keys() != keys:
        missing = sorted(keys - data.keys())
        extra = sorted(data.keys() - keys)
        raise malformed(f"{what}: missing fields {missing}, unknown fields {extra}")
    return data


def text(fields: dict[str, Any], key: str) -> str:
    value = fields[key]
    if type(value) is not str:
        raise malformed(f"{key} must be a string, was {type(value).__name__}")
    return value


def integer(fields: dict[str, Any], key: str) -> int:
    value = fields[key]
    if type(value) is not int:
        raise malformed(f"{key} must be an integer, was {type(value).__name__}")
    return value


def items(fields: dict[str, Any], key: str, length_max: int) -> list[Any]:
    value = fields[key]
    if type(value) is not list or len(value) > length_max:
        raise malformed(f"{key} must be a list of at most {length_max} items")
    return value


def signature(fields: dict[str, Any], key: str = "signature") -> bytes:
    """Read a signature written as lower-case hex: one text per signature, nothing else."""
    hex_text = text(fields, key)
    try:
        value = bytes.fromhex(hex_text)
    except ValueError as error:
        raise malformed(f"{key} is not hex: {error}") from None
    # fromhex also reads upper case and spaces; a signature has exactly one text.
    if value.hex() != hex_text:
        raise malformed(f"{key} must be lower-case hex without spaces")
    return value
