"""Exact textbook economics of emissions-trading markets: MAC curves, equilibria, efficiency.

Everything here is pure and exact: tonnes are `int` (abatement that an equilibrium splits
between firms is a `Fraction` of a tonne), money is minor currency units as `int` or
`Fraction`, never `float` — but for `FloatMac`, a curve's float view for agents' planning.
"""

from etslink.economics.curves import (
    FloatMac,
    LinearMac,
    MacCurve,
    MacSegment,
    Number,
    PiecewiseMac,
    ScaledMac,
)
from etslink.economics.efficiency import (
    UnitTrade,
    UnitValues,
    allocative_efficiency,
    max_gains_from_trade,
)
from etslink.economics.market import (
    Equilibrium,
    EquilibriumStatus,
    Firm,
    FirmOutcome,
    InfeasibleCapError,
    competitive_equilibrium,
)
from etslink.economics.network import (
    InfeasibleNetworkError,
    LinkingGains,
    NetworkEquilibrium,
    NetworkProblem,
    NodeOutcome,
    Route,
    RouteFlow,
    Supply,
    SystemYear,
    autarky_problem,
    linking_gains,
    network_equilibrium,
)

__all__ = [
    "Equilibrium",
    "EquilibriumStatus",
    "Firm",
    "FirmOutcome",
    "FloatMac",
    "InfeasibleCapError",
    "InfeasibleNetworkError",
    "LinearMac",
    "LinkingGains",
    "MacCurve",
    "MacSegment",
    "NetworkEquilibrium",
    "NetworkProblem",
    "NodeOutcome",
    "Number",
    "PiecewiseMac",
    "Route",
    "RouteFlow",
    "ScaledMac",
    "Supply",
    "SystemYear",
    "UnitTrade",
    "UnitValues",
    "allocative_efficiency",
    "autarky_problem",
    "competitive_equilibrium",
    "linking_gains",
    "max_gains_from_trade",
    "network_equilibrium",
]
