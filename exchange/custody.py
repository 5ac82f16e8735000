"""The exchange's custody: each member's claim on the units in its custody accounts.

A member deposits units by an internal transfer into the exchange's custody
account in the units' registry; the claim records them as that member's. A
sell order reserves the tonnes it offers; at settlement they are delivered
out of custody to the buyer's account (in the same registry, or through the
gateway) and the rest is released. For every instrument the claims add up to
what the custody account holds. The rules are those of `exchange.balances`;
here an asset is an instrument code (the unit type: EUA, KAU, CEA...).
"""

from __future__ import annotations

import re
from typing import ClassVar

from exchange.balances import Balances


class CustodyBook(Balances):
    """Members' claims in tonnes on the units held in custody, by instrument."""

    ASSET_PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"[A-Z0-9]{1,16}")
    ASSET_WORD: ClassVar[str] = "instrument (a unit type code)"
    UNIT: ClassVar[str] = "t"
