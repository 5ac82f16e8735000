"""The exchange's custody: each member's claim on the units in its custody accounts.

A member deposits units by an internal transfer into the exchange's custody
account in the units' registry; the claim records them as that member's. A
sell order reserves the tonnes it offers; at settlement they are delivered
out of custody to the buyer's account (in the same registry, or through the
gateway) and the rest is released. For every listing the claims add up to
what its custody account holds of its unit type, plus what settlement or a
withdrawal has locked there. The rules are those of `exchange.balances`;
here an asset is a listing's code: its unit type (EUA, KAU, CEA...), or the
unit type at another registry's venue (EUA@CH: EU allowances held in custody
in the Swiss registry and traded there).
"""

from __future__ import annotations

import re
from typing import ClassVar

from exchange.balances import Balances


class CustodyBook(Balances):
    """Members' claims in tonnes on the units held in custody, by listing."""

    ASSET_PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"[A-Z0-9]{1,16}(@[A-Z]{2})?")
    ASSET_WORD: ClassVar[str] = "listing code (a unit type, or one at a venue: EUA@CH)"
    UNIT: ClassVar[str] = "t"
