"""Exact textbook economics of an emissions-trading market: MAC curves, equilibria, efficiency.

Everything here is pure and exact: tonnes are `int` (abatement that an equilibrium splits
between firms is a `Fraction` of a tonne), money is minor currency units as `int` or
`Fraction`, never `float`.

- A firm's marginal abatement cost (MAC) curve says what the q-th tonne of abatement costs.
  Facing a permit price p, a cost-minimising firm abates every tonne whose MAC is at most p.
- The competitive equilibrium of one market is the price at which the firms' emissions after
  abatement use up the cap exactly; it is also the cheapest way to meet the cap, because every
  abating firm's MAC equals the same price.
- A full link pools the caps and the firms: one price (in a common currency) equalises MACs
  across the systems, and the total abatement cost can only fall (the gains from linking).
- Allocative efficiency (Gode & Sunder 1993, JPE 101(1), p. 119) is the realised gains from
  trade over the maximum gains, the area between demand and supply up to their crossing.
"""

from __future__ import annotations

import abc
import bisect
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction

Number = int | Fraction

BISECTION_TOLERANCE_MINOR = Fraction(1, 1_000_000)  # width of the final price bracket
FIRMS_MAX = 100_000  # per equilibrium: 30× the benchmark's 3,000 entities
BISECTION_STEPS_MAX = 400  # 2**-400 of any sane bracket is far below the tolerance


class MacCurve(abc.ABC):
    """A non-decreasing marginal abatement cost curve: minor units per tonne after q tonnes."""

    @property
    @abc.abstractmethod
    def max_abatement_t(self) -> Fraction | None:
        """Return the most a firm can abate with this technology (None: no limit of its own)."""

    @abc.abstractmethod
    def marginal_cost(self, abatement_t: Number) -> Fraction:
        """Return the cost of the last tonne when `abatement_t` tonnes are abated."""

    @abc.abstractmethod
    def abatement_at_price(self, price_minor: Number) -> Fraction:
        """Return the largest abatement whose MAC is at most `price_minor` (0 if none is)."""

    @abc.abstractmethod
    def total_cost(self, abatement_t: Number) -> Fraction:
        """Return the area under the MAC from 0 to `abatement_t`."""

    def price_breakpoints(self) -> tuple[Fraction, ...] | None:
        """Return the prices where `abatement_at_price` changes slope or jumps.

        Between two consecutive breakpoints the abatement is affine in the price, which lets
        the equilibrium be solved exactly. None means the curve is not piecewise linear and
        the equilibrium falls back to bisection.
        """
        return None

    def _check_abatement(self, abatement_t: Number) -> Fraction:
        q = Fraction(abatement_t)
        limit = self.max_abatement_t
        if q < 0 or (limit is not None and q > limit):
            raise ValueError(f"abatement must lie in [0, {limit}] t, was {q} t")
        return q


@dataclass(frozen=True, slots=True)
class LinearMac(MacCurve):
    """MAC(q) = intercept + slope·q, for 0 ≤ q ≤ max_abatement_t (no limit when None)."""

    slope_minor_per_t2: Fraction
    intercept_minor: Fraction = Fraction(0)
    limit_t: Fraction | None = None

    def __init__(
        self,
        slope_minor_per_t2: Number,
        intercept_minor: Number = 0,
        max_abatement_t: Number | None = None,
    ) -> None:
        # A flat MAC would make abatement at its price indeterminate: use a PiecewiseMac step.
        if slope_minor_per_t2 <= 0:
            raise ValueError(f"slope must be positive, was {slope_minor_per_t2}")
        if max_abatement_t is not None and max_abatement_t < 0:
            raise ValueError(f"max abatement must be ≥ 0 t, was {max_abatement_t} t")
        object.__setattr__(self, "slope_minor_per_t2", Fraction(slope_minor_per_t2))
        object.__setattr__(self, "intercept_minor", Fraction(intercept_minor))
        limit = None if max_abatement_t is None else Fraction(max_abatement_t)
        object.__setattr__(self, "limit_t", limit)

    @property
    def max_abatement_t(self) -> Fraction | None:
        return self.limit_t

    def marginal_cost(self, abatement_t: Number) -> Fraction:
        return self.intercept_minor + self.slope_minor_per_t2 * self._check_abatement(abatement_t)

    def abatement_at_price(self, price_minor: Number) -> Fraction:
        if price_minor < self.intercept_minor:
            return Fraction(0)
        q = (price_minor - self.intercept_minor) / self.slope_minor_per_t2
        return q if self.limit_t is None else min(q, self.limit_t)

    def total_cost(self, abatement_t: Number) -> Fraction:
        q = self._check_abatement(abatement_t)
        return self.intercept_minor * q + self.slope_minor_per_t2 * q * q / 2

    def price_breakpoints(self) -> tuple[Fraction, ...]:
        if self.limit_t is None:
            return (self.intercept_minor,)
        return (self.intercept_minor, self.intercept_minor + self.slope_minor_per_t2 * self.limit_t)


@dataclass(frozen=True, slots=True)
class MacSegment:
    """`width_t` tonnes whose MAC runs linearly from `start_minor` to `end_minor`.

    A flat segment (start = end) is a step: a block of abatement options at one cost.
    """

    width_t: int
    start_minor: Fraction
    end_minor: Fraction

    def __post_init__(self) -> None:
        if self.width_t <= 0:
            raise ValueError(f"segment width must be > 0 t, was {self.width_t} t")
        if self.end_minor < self.start_minor:
            raise ValueError(f"segment MAC must not fall, was {self.start_minor}→{self.end_minor}")

    def cost_to(self, into_t: Fraction) -> Fraction:
        """Return the area under this segment from its start to `into_t` tonnes into it."""
        rise = (self.end_minor - self.start_minor) / self.width_t
        return self.start_minor * into_t + rise * into_t * into_t / 2


@dataclass(frozen=True, slots=True)
class PiecewiseMac(MacCurve):
    """A MAC made of consecutive linear segments; flat segments make it a step curve.

    Choice: segments are linear (start and end MAC each), so one type covers both the
    step curves of abatement-option inventories (flat segments, jumps between them) and
    piecewise-linear approximations (sloped, touching segments). The curve must never fall:
    each segment's start is at least the previous segment's end. At a jump the tonne at the
    boundary belongs to the lower segment, so MAC(q) is the cost of the q-th tonne.
    """

    segments: tuple[MacSegment, ...]

    def __init__(self, segments: Sequence[tuple[int, Number, Number] | MacSegment]) -> None:
        parsed = tuple(
            s if isinstance(s, MacSegment) else MacSegment(s[0], Fraction(s[1]), Fraction(s[2]))
            for s in segments
        )
        if not parsed:
            raise ValueError("a piecewise MAC needs at least one segment, was none")
        for before, after in itertools.pairwise(parsed):
            if after.start_minor < before.end_minor:
                raise ValueError(
                    f"MAC must not fall between segments, was {before.end_minor}→"
                    f"{after.start_minor}"
                )
        object.__setattr__(self, "segments", parsed)

    @property
    def max_abatement_t(self) -> Fraction:
        return Fraction(sum(s.width_t for s in self.segments))

    def marginal_cost(self, abatement_t: Number) -> Fraction:
        q = self._check_abatement(abatement_t)
        done = Fraction(0)
        for s in self.segments:
            if q <= done + s.width_t:
                return s.start_minor + (s.end_minor - s.start_minor) * (q - done) / s.width_t
            done += s.width_t
        raise AssertionError("unreachable: q was checked against the total width")

    def abatement_at_price(self, price_minor: Number) -> Fraction:
        done = Fraction(0)
        for s in self.segments:
            if price_minor < s.start_minor:
                return done
            if price_minor >= s.end_minor:
                done += s.width_t
                continue
            return done + s.width_t * (price_minor - s.start_minor) / (s.end_minor - s.start_minor)
        return done

    def total_cost(self, abatement_t: Number) -> Fraction:
        q = self._check_abatement(abatement_t)
        cost = Fraction(0)
        for s in self.segments:
            into = min(q, Fraction(s.width_t))
            cost += s.cost_to(into)
            q -= into
            if q == 0:
                break
        return cost

    def price_breakpoints(self) -> tuple[Fraction, ...]:
        return tuple(p for s in self.segments for p in (s.start_minor, s.end_minor))


@dataclass(frozen=True, slots=True)
class ScaledMac(MacCurve):
    """A MAC expressed in another currency: MAC'(q) = rate·MAC(q), rate > 0."""

    curve: MacCurve
    rate: Fraction

    @property
    def max_abatement_t(self) -> Fraction | None:
        return self.curve.max_abatement_t

    def marginal_cost(self, abatement_t: Number) -> Fraction:
        return self.rate * self.curve.marginal_cost(abatement_t)

    def abatement_at_price(self, price_minor: Number) -> Fraction:
        return self.curve.abatement_at_price(Fraction(price_minor) / self.rate)

    def total_cost(self, abatement_t: Number) -> Fraction:
        return self.rate * self.curve.total_cost(abatement_t)

    def price_breakpoints(self) -> tuple[Fraction, ...] | None:
        inner = self.curve.price_breakpoints()
        return None if inner is None else tuple(self.rate * p for p in inner)


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
