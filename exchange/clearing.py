"""The clearing house's cash: members' balances per currency in minor units, with reservations.

A buy order reserves the most it could spend; at settlement the buyer pays
the seller out of that reservation (the cash leg of delivery versus payment)
and the rest is released. Cash is conserved by currency. The rules are those
of `exchange.balances`; here an asset is an ISO 4217 currency code.
"""

from __future__ import annotations

import re
from typing import ClassVar

from exchange.balances import Balances


class ClearingHouse(Balances):
    """Members' cash by currency (EUR, KRW, CNY...), in minor units."""

    ASSET_PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"[A-Z]{3}")
    ASSET_WORD: ClassVar[str] = "currency (an ISO 4217 code)"
    UNIT: ClassVar[str] = "minor units"
