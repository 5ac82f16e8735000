"""A covered entity's emissions forecast and free allocation in a run.

- **Forecast** = baseline × (1 + growth)^(years since the run's start), rounded down.
- **Free allocation** = `allocation_share` × forecast (rounded down), or, with an
  `allocation_rule` (a preset category or "preset"), the preset's grandparenting factor ×
  forecast when the rule for the year is grandparenting, else `FREE_SHARE_DEFAULT` (90%)
  × forecast: the scenarios carry no output or benchmark data to apply a benchmark. Where
  the preset's rule auctions a share of the cap (Korea: 10% in phase 3), the free part is
  the rest: × (1 − auction share), and the government auctions that share. The
  registry's `cap_scale` override scales the result.
"""

from __future__ import annotations

import math
from fractions import Fraction

from compliance.regime import AllocationMethod, Regime
from etslink.scenario import Entity

FREE_SHARE_DEFAULT = Fraction(9, 10)


def forecast_t(entity: Entity, years_elapsed: int) -> int:
    """Return baseline × (1 + growth)^years, rounded down."""
    assert years_elapsed >= 0, years_elapsed
    return math.floor(entity.baseline_t * (1 + entity.growth) ** years_elapsed)


def allocation_t(entity: Entity, regime: Regime, year: int, forecast: int) -> int:
    """Return the free allocation (the rule in the module docstring), rounded down."""
    allocation = entity.allocation
    if allocation.share is not None:
        return math.floor(allocation.share * forecast)
    category = "" if allocation.rule == "preset" else (allocation.rule or "")
    rule = regime.allocation_rule(year, category)
    # The preset's auction share is a share of the cap: the free part is the rest.
    free = 1 - (rule.auction_share if rule is not None else 0)
    if rule is not None and rule.method is AllocationMethod.GRANDPARENTING:
        return math.floor(rule.grandparenting_factor * free * forecast)
    return math.floor(FREE_SHARE_DEFAULT * free * forecast)


__all__ = ["FREE_SHARE_DEFAULT", "allocation_t", "forecast_t"]
