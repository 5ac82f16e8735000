"""Rejection codes of the matching engine and the typed error that carries one.

The numbering is the exchange's own range, 11001-11099, after the registry's
(1xxx-3xxx, 10xxx hub log, 91xx) and the gateway's (90xx) and compliance's
(92xx). The engine reports a refused command as a `REJECTED` event carrying
one of these codes; the command changed nothing. Checks run in the order the
codes are listed below and the first one that fails is reported.

This module imports only the standard library: `exchange.book` and
`exchange.engine` use it and must stay free of the rest of the repository.
"""

from __future__ import annotations

from enum import IntEnum


class RejectCode(IntEnum):
    """Why the engine refused a command. Stable numbers: they go on the wire."""

    UNKNOWN_INSTRUMENT = 11001  # no book for the instrument code
    DUPLICATE_ORDER_ID = 11002  # a live order on this book already has the id
    BOOK_FULL = 11003  # the book holds `max_orders` resting orders already
    QUANTITY_NOT_POSITIVE = 11004  # quantity <= 0 tonnes
    QUANTITY_ABOVE_LIMIT = 11005  # quantity > the instrument's `max_quantity_t`
    BAD_LOT = 11006  # quantity not a multiple of the lot size
    PRICE_NOT_POSITIVE = 11007  # price <= 0 minor units per tonne
    PRICE_ABOVE_LIMIT = 11008  # price > the instrument's `max_price_minor`
    BAD_TICK = 11009  # price not a multiple of the tick size
    WOULD_CROSS = 11010  # post-only order, or an amend, that would trade
    FOK_NOT_FILLABLE = 11011  # fill-or-kill: not enough eligible liquidity
    NO_LIQUIDITY = 11012  # market order against an empty opposite side
    UNKNOWN_ORDER = 11013  # cancel/amend of an order id that is not resting


class ExchangeError(Exception):
    """A command was refused by the Python API; nothing changed. Carries `code`."""

    def __init__(self, code: RejectCode, message: str) -> None:
        super().__init__(f"[{int(code)}] {message}")
        self.code = code
        self.message = message
