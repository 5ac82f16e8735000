"""The competitive equilibrium of one emissions-trading market, exactly.

- The competitive equilibrium of one market is the price at which the firms' emissions after
  abatement use up the cap exactly; it is also the cheapest way to meet the cap, because every
  abating firm's MAC equals the same price.
- Piecewise-linear curves are solved in closed form; others by bisection on Fractions.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction

from etslink.economics.curves import LinearMac, MacCurve, Number

BISECTION_TOLERANCE_MINOR = Fraction(1, 1_000_000)  # width of the final price bracket
FIRMS_MAX = 100_000  # per equilibrium: 30× the benchmark's 3,000 entities
BISECTION_STEPS_MAX = 400  # 2**-400 of any sane bracket is far below the tolerance


@dataclass(frozen=True, slots=True)
class Firm:
    """A covered entity: unabated emissions, free allocation and its MAC curve."""

    firm_id: str
    baseline_t: int
    allocation_t: int
    mac: MacCurve

    def __post_init__(self) -> None:
        if self.baseline_t < 0 or self.allocation_t < 0:
            raise ValueError(
                f"{self.firm_id}: baseline and allocation must be ≥ 0 t, "
                f"was {self.baseline_t} t and {self.allocation_t} t"
            )

    @property
    def max_abatement_t(self) -> Fraction:
        """Return the most this firm can abate: its technology's limit, at most its baseline."""
        limit = self.mac.max_abatement_t
        return Fraction(self.baseline_t) if limit is None else min(limit, Fraction(self.baseline_t))

    def abatement_at_price(self, price_minor: Number) -> Fraction:
        return min(self.mac.abatement_at_price(price_minor), Fraction(self.baseline_t))

    def need_at_price(self, price_minor: Number) -> Fraction:
        """Return permits to buy at this price (negative: to sell)."""
        return self.baseline_t - self.abatement_at_price(price_minor) - self.allocation_t


class EquilibriumStatus(IntEnum):
    CLEARED = 1  # emissions equal the cap at a positive price
    SLACK = 2  # the cap does not bind: emissions are below it at price 0
    FLOOR = 3  # the clearing price was below the floor: permits are left over
    CEILING = 4  # the clearing price was above the ceiling (or none exists): a shortage


class InfeasibleCapError(ValueError):
    """No price meets the cap: even full abatement leaves emissions above it."""

    code = "INFEASIBLE_CAP"

    def __init__(self, cap_t: Number, min_emissions_t: Fraction) -> None:
        super().__init__(
            f"cap {cap_t} t is below the emissions left after full abatement, "
            f"was {min_emissions_t} t"
        )
        self.cap_t = cap_t
        self.min_emissions_t = min_emissions_t


@dataclass(frozen=True, slots=True)
class FirmOutcome:
    firm_id: str
    abatement_t: Fraction
    net_purchase_t: Fraction  # positive: bought; negative: sold
    abatement_cost_minor: Fraction


@dataclass(frozen=True, slots=True)
class Equilibrium:
    """One market's competitive outcome.

    `permit_balance_t` = cap − emissions: 0 when the cap binds, positive when permits are
    left over (SLACK, FLOOR), negative when more emissions than the cap are covered, by
    permits sold at the ceiling (CEILING). `auctioned_t` = cap − Σ allocations, sold by the
    government; at CLEARED the firms' net purchases sum to it.
    """

    price_minor: Fraction
    status: EquilibriumStatus
    firms: tuple[FirmOutcome, ...]
    cap_t: int
    emissions_t: Fraction
    permit_balance_t: Fraction
    auctioned_t: int
    total_cost_minor: Fraction

    def firm(self, firm_id: str) -> FirmOutcome:
        for outcome in self.firms:
            if outcome.firm_id == firm_id:
                return outcome
        raise KeyError(f"no firm {firm_id!r} in this equilibrium")


def competitive_equilibrium(
    firms: Sequence[Firm],
    cap_t: int | None = None,
    *,
    price_floor_minor: Number | None = None,
    price_ceiling_minor: Number | None = None,
    exact: bool = True,
) -> Equilibrium:
    """Return the price at which Σ (baseline − abatement(p)) = cap, and who does what.

    `cap_t` None means the cap is Σ allocations. The lowest such price is taken, never
    below 0. Piecewise-linear MACs (LinearMac, PiecewiseMac) are solved in closed form,
    exactly: aggregate abatement is affine between the curves' price breakpoints, so the
    crossing is one linear equation. Other curves, or `exact=False`, use bisection on
    Fractions until the price bracket is narrower than BISECTION_TOLERANCE_MINOR; the
    price returned is the bracket's top, and abatement is split so that the cap still
    binds exactly. Where aggregate abatement jumps past the cap (a step MAC at the
    price), the firms on the step share the last tonnes pro rata to their step width.

    With a floor or a ceiling the price is clamped into [floor, ceiling] and the cap no
    longer binds exactly: `permit_balance_t` reports the excess or shortage.
    """
    if not 1 <= len(firms) <= FIRMS_MAX:
        raise ValueError(f"an equilibrium needs 1 to {FIRMS_MAX} firms, was {len(firms)}")
    if len({f.firm_id for f in firms}) != len(firms):
        raise ValueError("firm ids must be unique")
    if (
        price_floor_minor is not None
        and price_ceiling_minor is not None
        and price_floor_minor > price_ceiling_minor
    ):
        raise ValueError(f"floor {price_floor_minor} exceeds ceiling {price_ceiling_minor}")
    allocated_t = sum(f.allocation_t for f in firms)
    cap = allocated_t if cap_t is None else cap_t
    required_t = sum(f.baseline_t for f in firms) - cap
    max_total_t = sum((f.max_abatement_t for f in firms), Fraction(0))

    solved: tuple[Fraction, tuple[Fraction, ...]] | None = None
    if required_t <= max_total_t:
        solved = _clear(firms, Fraction(required_t), exact)
    price, abatements, status = _clamp(
        firms, solved, price_floor_minor, price_ceiling_minor, cap, max_total_t
    )
    return _equilibrium(firms, price, abatements, status, cap, allocated_t)


def _clamp(
    firms: Sequence[Firm],
    solved: tuple[Fraction, tuple[Fraction, ...]] | None,
    floor: Number | None,
    ceiling: Number | None,
    cap_t: int,
    max_total_t: Fraction,
) -> tuple[Fraction, tuple[Fraction, ...], EquilibriumStatus]:
    if solved is None or (ceiling is not None and solved[0] > ceiling):
        if ceiling is None:
            baseline_t = sum(f.baseline_t for f in firms)
            raise InfeasibleCapError(cap_t, baseline_t - max_total_t)
        price = Fraction(ceiling)
        return price, _abatements(firms, price), EquilibriumStatus.CEILING
    price, abatements = solved
    if floor is not None and price < floor:
        price = Fraction(floor)
        return price, _abatements(firms, price), EquilibriumStatus.FLOOR
    emissions = sum(f.baseline_t for f in firms) - sum(abatements)
    status = EquilibriumStatus.SLACK if emissions < cap_t else EquilibriumStatus.CLEARED
    return price, abatements, status


def _equilibrium(
    firms: Sequence[Firm],
    price: Fraction,
    abatements: tuple[Fraction, ...],
    status: EquilibriumStatus,
    cap_t: int,
    allocated_t: int,
) -> Equilibrium:
    outcomes = tuple(
        FirmOutcome(
            firm_id=f.firm_id,
            abatement_t=a,
            net_purchase_t=f.baseline_t - a - f.allocation_t,
            abatement_cost_minor=f.mac.total_cost(a),
        )
        for f, a in zip(firms, abatements, strict=True)
    )
    emissions = sum(f.baseline_t for f in firms) - sum(abatements, Fraction(0))
    if status is EquilibriumStatus.CLEARED:
        assert emissions == cap_t, f"cleared market must meet its cap {cap_t} t, was {emissions}"
    return Equilibrium(
        price_minor=price,
        status=status,
        firms=outcomes,
        cap_t=cap_t,
        emissions_t=emissions,
        permit_balance_t=cap_t - emissions,
        auctioned_t=cap_t - allocated_t,
        total_cost_minor=sum((o.abatement_cost_minor for o in outcomes), Fraction(0)),
    )


def _abatements(firms: Sequence[Firm], price: Fraction) -> tuple[Fraction, ...]:
    return tuple(f.abatement_at_price(price) for f in firms)


def _total(firms: Sequence[Firm], price: Fraction) -> Fraction:
    return sum(_abatements(firms, price), Fraction(0))


def _clear(
    firms: Sequence[Firm], required_t: Fraction, exact: bool
) -> tuple[Fraction, tuple[Fraction, ...]]:
    """Return the lowest price ≥ 0 whose abatement reaches `required_t`, and who abates."""
    zero = Fraction(0)
    if _total(firms, zero) >= required_t:
        return zero, _abatements(firms, zero)
    breakpoints = _breakpoints(firms) if exact else None
    if breakpoints is None:
        return _bisect(firms, required_t)
    # Aggregate abatement never falls as the price rises: binary-search the first breakpoint
    # that reaches the target, so a market of N firms costs O(N log N), not O(N²). The search
    # runs on floats (exact sums over thousands of curves cost big-number gcds at every
    # step) and the exact totals then confirm the bracket, moving it where floats erred.
    approx = _approximation(firms)
    target = float(required_t)
    if approx is None:
        index = bisect.bisect_left(breakpoints, True, key=lambda p: _total(firms, p) >= required_t)
    else:
        index = bisect.bisect_left(breakpoints, True, key=lambda p: approx(float(p)) >= target)
        while index < len(breakpoints) and _total(firms, breakpoints[index]) < required_t:
            index += 1
        while index > 0 and _total(firms, breakpoints[index - 1]) >= required_t:
            index -= 1
    assert index < len(breakpoints), "the last breakpoint reaches full abatement"
    low = breakpoints[index - 1] if index > 0 else zero
    high = breakpoints[index]
    below = _left_limits(firms, low, high)
    if sum(below) >= required_t:
        return _solve_affine(firms, required_t, low, high, below)
    # Abatement jumps past the target at `high`: a step of some MAC sits at the price.
    return high, _split(below, _abatements(firms, high), required_t)


def _approximation(firms: Sequence[Firm]) -> Callable[[float], float] | None:
    """Return aggregate abatement at a price in floats when every curve is linear, else None.

    Only guides a search whose result the exact totals confirm.
    """
    if not all(type(f.mac) is LinearMac for f in firms):
        return None
    curves = []
    for f in firms:
        mac = f.mac
        assert isinstance(mac, LinearMac)
        curves.append(
            (float(mac.intercept_minor), float(mac.slope_minor_per_t2), float(f.max_abatement_t))
        )

    def total(price: float) -> float:
        return sum(
            min((price - intercept) / slope, most)
            for intercept, slope, most in curves
            if price > intercept
        )

    return total


def _breakpoints(firms: Sequence[Firm]) -> list[Fraction] | None:
    points: set[Fraction] = set()
    for f in firms:
        own = f.mac.price_breakpoints()
        if own is None:
            return None
        points.update(own)
        points.add(f.mac.marginal_cost(f.max_abatement_t))  # where the baseline caps it
    return sorted(p for p in points if p > 0)


def _left_limits(firms: Sequence[Firm], low: Fraction, high: Fraction) -> tuple[Fraction, ...]:
    """Return each firm's abatement just below `high`, where it is affine on [low, high)."""
    middle = (low + high) / 2
    return tuple(
        a_low + 2 * (a_mid - a_low)
        for a_low, a_mid in zip(_abatements(firms, low), _abatements(firms, middle), strict=True)
    )


def _solve_affine(
    firms: Sequence[Firm],
    required_t: Fraction,
    low: Fraction,
    high: Fraction,
    below_high: tuple[Fraction, ...],
) -> tuple[Fraction, tuple[Fraction, ...]]:
    at_low = _abatements(firms, low)
    at_low_t = sum(at_low)
    gained_t = sum(below_high) - at_low_t
    assert gained_t > 0, "abatement must rise over an interval that crosses the target"
    price = low + (required_t - at_low_t) * (high - low) / gained_t
    if price == high:  # `high` itself may start a jump: keep the left limits
        return price, below_high
    return price, _abatements(firms, price)


def _split(
    low: tuple[Fraction, ...], high: tuple[Fraction, ...], required_t: Fraction
) -> tuple[Fraction, ...]:
    """Share the tonnes still needed above `low` pro rata to each firm's room up to `high`."""
    low_t = sum(low)
    need_t = required_t - low_t
    room_t = sum(high) - low_t
    assert 0 <= need_t <= room_t and room_t > 0
    return tuple(lo + (hi - lo) * need_t / room_t for lo, hi in zip(low, high, strict=True))


def _bisect(firms: Sequence[Firm], required_t: Fraction) -> tuple[Fraction, tuple[Fraction, ...]]:
    low = Fraction(0)
    high = max(f.mac.marginal_cost(f.max_abatement_t) for f in firms)
    for _ in range(BISECTION_STEPS_MAX):
        if high - low <= BISECTION_TOLERANCE_MINOR:
            break
        middle = (low + high) / 2
        if _total(firms, middle) >= required_t:
            high = middle
        else:
            low = middle
    return high, _split(_abatements(firms, low), _abatements(firms, high), required_t)


__all__ = [
    "Equilibrium",
    "EquilibriumStatus",
    "Firm",
    "FirmOutcome",
    "InfeasibleCapError",
    "competitive_equilibrium",
]
