"""Allocative efficiency of a market's trading (Gode & Sunder 1993, JPE 101(1), p. 119).

Realised gains from trade over the maximum gains: the area between demand and supply up to
their crossing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class UnitTrade:
    """One unit changing hands: the price cancels out of the gains from trade."""

    buyer_id: str
    seller_id: str
    price_minor: int


@dataclass(frozen=True, slots=True)
class UnitValues:
    """Private values of unit buyers and private costs of unit sellers (minor units)."""

    buyer_value_minor: Mapping[str, int]
    seller_cost_minor: Mapping[str, int]


def max_gains_from_trade(values: UnitValues) -> int:
    """Return the area between the demand and supply steps up to their crossing."""
    demand = sorted(values.buyer_value_minor.values(), reverse=True)
    supply = sorted(values.seller_cost_minor.values())
    return sum(max(v - c, 0) for v, c in zip(demand, supply, strict=False))


def allocative_efficiency(trades: Sequence[UnitTrade], values: UnitValues) -> Fraction:
    """Return realised gains from trade over the maximum possible (Gode & Sunder 1993).

    Realised gains are Σ over traded units of buyer value − seller cost. Each trader holds
    one unit, so trades at most once. When no gains were possible and none were lost the
    efficiency is 1 (nothing was missed). The result lies in [0, 1] whenever no unit trades
    at a loss (ZI-C traders never do); losses can make it negative, and a loss where no
    gains were possible has no meaningful ratio and is refused.
    """
    buyers = [t.buyer_id for t in trades]
    sellers = [t.seller_id for t in trades]
    for role, ids in (("buyer", buyers), ("seller", sellers)):
        if len(set(ids)) != len(ids):
            raise ValueError(f"each unit {role} trades at most once, was {sorted(ids)}")
    unknown = set(buyers) - values.buyer_value_minor.keys()
    unknown |= set(sellers) - values.seller_cost_minor.keys()
    if unknown:
        raise ValueError(f"trades name traders without a value or cost: {sorted(unknown)}")
    realised = sum(
        values.buyer_value_minor[t.buyer_id] - values.seller_cost_minor[t.seller_id] for t in trades
    )
    possible = max_gains_from_trade(values)
    assert realised <= possible, f"realised gains {realised} exceed the maximum {possible}"
    if possible == 0:
        if realised < 0:
            raise ValueError(f"trades lost {-realised} where no gains were possible")
        return Fraction(1)
    return Fraction(realised, possible)


__all__ = ["UnitTrade", "UnitValues", "allocative_efficiency", "max_gains_from_trade"]
