"""Marginal abatement cost curves: what the q-th tonne of abatement costs, exactly.

A firm's marginal abatement cost (MAC) curve says what the q-th tonne of abatement costs.
Facing a permit price p, a cost-minimising firm abates every tonne whose MAC is at most p.
Tonnes are `int` or `Fraction`, money is minor currency units as `Fraction`, never `float`.
One model serves the scenarios (their entities' curves), the agents (their reservation
prices) and the reports (the equilibria).
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

Number = int | Fraction


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

    @abc.abstractmethod
    def as_float(self) -> FloatMac:
        """Return this curve evaluated in floats (`FloatMac`), for agents that plan by it."""

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

    def as_float(self) -> FloatMac:
        return _linear_float(self)

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

    def as_float(self) -> FloatMac:
        return _piecewise_float(self)

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

    def as_float(self) -> FloatMac:
        return self.curve.as_float().scaled(float(self.rate))


class FloatMac:
    """A MAC curve evaluated in floats: the same curve, for agents that plan by it each session.

    Agents decide thousands of times a session what a tonne is worth to them; exact
    fractions there cost more than the market they drive. This view answers the same
    questions as the exact curve — `marginal_cost`, `abatement_at_price`,
    `max_abatement_t` — in IEEE doubles (only +, −, ×, ÷: the same bits on every machine).
    What reaches a registry, a book or a report is computed exactly, never from it.
    """

    __slots__ = ("_segments", "max_abatement_t")

    def __init__(self, segments: Sequence[tuple[float, float, float]], limit: float | None):
        """`segments`: consecutive (width, start MAC, end MAC); the last may be infinitely wide."""
        self._segments = tuple(segments)
        self.max_abatement_t = limit

    def scaled(self, rate: float) -> FloatMac:
        """Return this curve with every cost multiplied by `rate` (another currency)."""
        return FloatMac(
            [(width, start * rate, end * rate) for width, start, end in self._segments],
            self.max_abatement_t,
        )

    def marginal_cost(self, abatement_t: float) -> float:
        done = 0.0
        for width, start, end in self._segments:
            if abatement_t <= done + width:
                if width == float("inf"):
                    return start + end * (abatement_t - done)  # `end` is the slope here
                return start + (end - start) * (abatement_t - done) / width
            done += width
        return self._segments[-1][2]

    def abatement_at_price(self, price_minor: float) -> float:
        done = 0.0
        for width, start, end in self._segments:
            if price_minor < start:
                return done
            if width == float("inf"):
                return done + (price_minor - start) / end
            if price_minor >= end:
                done += width
                continue
            return done + width * (price_minor - start) / (end - start)
        return done


def _linear_float(curve: LinearMac) -> FloatMac:
    slope = float(curve.slope_minor_per_t2)
    start = float(curve.intercept_minor)
    if curve.limit_t is None:
        return FloatMac([(float("inf"), start, slope)], None)
    width = float(curve.limit_t)
    return FloatMac([(width, start, start + slope * width)], width)


def _piecewise_float(curve: PiecewiseMac) -> FloatMac:
    segments = [
        (float(s.width_t), float(s.start_minor), float(s.end_minor)) for s in curve.segments
    ]
    return FloatMac(segments, float(curve.max_abatement_t))


__all__ = [
    "FloatMac",
    "LinearMac",
    "MacCurve",
    "MacSegment",
    "Number",
    "PiecewiseMac",
    "ScaledMac",
]
