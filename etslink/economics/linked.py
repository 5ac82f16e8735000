"""A full link between markets: permits interchangeable 1 : 1, one price in a common currency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from etslink.economics.curves import Number, ScaledMac
from etslink.economics.market import Equilibrium, Firm, competitive_equilibrium


@dataclass(frozen=True, slots=True)
class Market:
    """One emissions-trading system: its firms and its cap, in its own currency."""

    market_id: str
    firms: tuple[Firm, ...]
    cap_t: int | None = None  # None: Σ allocations
    price_floor_minor: Fraction | None = None  # its own currency; an auction reserve price


@dataclass(frozen=True, slots=True)
class LinkedEquilibrium:
    """A full link's outcome; money in the common currency unless named `_local`.

    `net_import_t[m]` is the permits market m's firms bring in across the link (negative:
    sent out); the imports sum to 0 when the joint cap binds, and to −(permits left
    unused) when it does not. `gains_from_linking_minor` = Σ autarky costs − linked
    cost, never negative.
    """

    price_minor: Fraction
    local_price_minor: Mapping[str, Fraction]
    net_import_t: Mapping[str, Fraction]
    linked: Equilibrium
    autarky: Mapping[str, Equilibrium]
    autarky_price_minor: Mapping[str, Fraction]
    autarky_cost_minor: Fraction
    gains_from_linking_minor: Fraction


def linked_equilibrium(
    markets: Sequence[Market], exchange_rates: Mapping[str, Number]
) -> LinkedEquilibrium:
    """Return the equilibrium of markets fully linked (permits interchangeable 1 : 1).

    `exchange_rates[m]` is what one minor unit of market m's currency is worth in the
    common currency (> 0). The link pools caps and firms, and one price in the common
    currency equalises every firm's MAC; in market m it reads price / rate. Permit
    exchange rates other than 1 : 1 at surrender are not supported. Each market's autarky
    respects its own floor; the linked market the highest floor of its members in the
    common currency (the WCI's joint auction minimum is the higher of the partners'
    minimums). Ceilings are not applied.
    """
    if len({m.market_id for m in markets}) != len(markets):
        raise ValueError("market ids must be unique")
    rates = {m.market_id: Fraction(exchange_rates[m.market_id]) for m in markets}
    for market_id, rate in rates.items():
        if rate <= 0:
            raise ValueError(f"{market_id}: exchange rate must be > 0, was {rate}")
    autarky = {
        m.market_id: competitive_equilibrium(
            m.firms, m.cap_t, price_floor_minor=m.price_floor_minor
        )
        for m in markets
    }
    floors = [
        rates[m.market_id] * m.price_floor_minor for m in markets if m.price_floor_minor is not None
    ]
    pooled = [
        Firm(f.firm_id, f.baseline_t, f.allocation_t, ScaledMac(f.mac, rates[m.market_id]))
        for m in markets
        for f in m.firms
    ]
    caps = sum(autarky[m.market_id].cap_t for m in markets)
    linked = competitive_equilibrium(pooled, caps, price_floor_minor=max(floors, default=None))
    abated = {o.firm_id: o.abatement_t for o in linked.firms}
    imports: dict[str, Fraction] = {}
    for m in markets:
        emitted = sum((f.baseline_t - abated[f.firm_id] for f in m.firms), Fraction(0))
        imports[m.market_id] = emitted - autarky[m.market_id].cap_t
    autarky_cost = sum((rates[mid] * e.total_cost_minor for mid, e in autarky.items()), Fraction(0))
    return LinkedEquilibrium(
        price_minor=linked.price_minor,
        local_price_minor={mid: linked.price_minor / r for mid, r in rates.items()},
        net_import_t=imports,
        linked=linked,
        autarky=autarky,
        autarky_price_minor={mid: rates[mid] * e.price_minor for mid, e in autarky.items()},
        autarky_cost_minor=autarky_cost,
        gains_from_linking_minor=autarky_cost - linked.total_cost_minor,
    )


__all__ = ["LinkedEquilibrium", "Market", "linked_equilibrium"]
