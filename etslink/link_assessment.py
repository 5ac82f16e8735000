"""Assess whether two systems can link: one verdict per point that decides real links.

The points are the ones the FNI report names (shared/DOMAIN.md, "What decides
compatibility"): cap type and ambition, gas and indirect-emissions coverage,
offsets, price floor, ceiling and supply management, government
intervention, banking, borrowing, MRV and penalties. Each point compares one
value from each `Regime` and says why, naming both values; a value a preset
lists in `unverified` is shown with "[U]".

Pure: no I/O. `assess_link(a, b)` mirrors `assess_link(b, a)`: the same
verdicts with the sides swapped, so no rule may favour the first argument.
docs/assess-link.md explains each rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from compliance.calendar import DeadlineKind, DeadlineRule
from compliance.gases import GWP_SETS, Gas
from compliance.regime import PenaltyKind, PenaltyRule, Regime, UnitOrigin
from registry.units import UnitKind

# The year whose offset limits and price paths are compared unless one is given:
# the last year of the FNI report's data (FNI Report 2/2021), in force in most presets.
ASSESSMENT_YEAR_DEFAULT = 2020
# A penalty this many times another's (same kind and unit) is "much lower" on one side.
PENALTY_RATIO_MAX = Fraction(2)
# Words in a preset's notes that record a discretionary government intervention.
INTERVENTION_WORDS = ("intervention", "government can", "buy back", "reserve sale")
POINTS_MAX = 32
NOT_IN_DATA = "not in the data"


class Verdict(StrEnum):
    """How one point stands between two systems."""

    COMPATIBLE = "COMPATIBLE"
    NEEDS_HARMONISATION = "NEEDS_HARMONISATION"
    BARRIER = "BARRIER"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class SideValue:
    """One side's value on a point, as text, and whether a compared value is unverified."""

    value: str
    unverified: bool = False

    def shown(self) -> str:
        """Return the value with the [U] flag when a compared value is unverified."""
        return f"{self.value} [U]" if self.unverified else self.value

    def to_data(self) -> dict[str, Any]:
        return {"value": self.value, "unverified": self.unverified}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SideValue:
        return cls(value=str(data["value"]), unverified=bool(data["unverified"]))


@dataclass(frozen=True, slots=True)
class LinkPoint:
    """One point's verdict, why, and the value compared on each side."""

    key: str
    title: str
    verdict: Verdict
    why: str
    a: SideValue
    b: SideValue

    def swapped(self) -> LinkPoint:
        """Return the point with the sides exchanged (the why is not rewritten)."""
        return LinkPoint(self.key, self.title, self.verdict, self.why, self.b, self.a)

    def to_data(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "verdict": self.verdict.value,
            "why": self.why,
            "a": self.a.to_data(),
            "b": self.b.to_data(),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> LinkPoint:
        return cls(
            key=str(data["key"]),
            title=str(data["title"]),
            verdict=Verdict(data["verdict"]),
            why=str(data["why"]),
            a=SideValue.from_data(data["a"]),
            b=SideValue.from_data(data["b"]),
        )


@dataclass(frozen=True, slots=True)
class LinkAssessment:
    """The report for a link between systems `a_key` and `b_key`, as of `year`."""

    a_key: str
    b_key: str
    year: int
    points: tuple[LinkPoint, ...]
    recommendation: str

    def __post_init__(self) -> None:
        assert 0 < len(self.points) <= POINTS_MAX, "an assessment has 1..POINTS_MAX points"
        keys = [point.key for point in self.points]
        assert len(set(keys)) == len(keys), f"point keys repeat: {keys}"

    def point(self, key: str) -> LinkPoint:
        """Return the point `key`; a key no rule produces is a programming error."""
        found = next((point for point in self.points if point.key == key), None)
        if found is None:
            raise KeyError(f"no point {key!r}; points: {', '.join(p.key for p in self.points)}")
        return found

    def counts(self) -> dict[Verdict, int]:
        """Return how many points have each verdict, every verdict listed."""
        return {
            verdict: sum(1 for point in self.points if point.verdict is verdict)
            for verdict in Verdict
        }

    def to_data(self) -> dict[str, Any]:
        return {
            "a": self.a_key,
            "b": self.b_key,
            "year": self.year,
            "points": [point.to_data() for point in self.points],
            "counts": {verdict.value: count for verdict, count in self.counts().items()},
            "recommendation": self.recommendation,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> LinkAssessment:
        """Read `to_data()` back; the counts are derived, so they are checked, not stored."""
        assessment = cls(
            a_key=str(data["a"]),
            b_key=str(data["b"]),
            year=int(data["year"]),
            points=tuple(LinkPoint.from_data(point) for point in data["points"]),
            recommendation=str(data["recommendation"]),
        )
        stored = {Verdict(name): count for name, count in data["counts"].items()}
        if stored != assessment.counts():
            raise ValueError(f"counts {data['counts']} do not match the points")
        return assessment


def assess_link(a: Regime, b: Regime, year: int = ASSESSMENT_YEAR_DEFAULT) -> LinkAssessment:
    """Assess a link between `a` and `b` on every point, with offsets and prices as of `year`."""
    points = tuple(rule(a, b, year) for rule in _RULES)
    return LinkAssessment(a.key, b.key, year, points, _recommendation(points))


# ---------------------------------------------------------------- helpers


def _flag(regime: Regime, paths: tuple[str, ...]) -> bool:
    """Return whether any compared path is unverified: the same, inside, or holding it."""
    return any(
        _nested(listed, path) or _nested(path, listed)
        for listed in regime.unverified
        for path in paths
    )


def _nested(outer: str, inner: str) -> bool:
    return inner == outer or (inner.startswith(outer) and inner[len(outer)] in ".@")


def _side(regime: Regime, value: str, *paths: str) -> SideValue:
    return SideValue(value, _flag(regime, paths))


def _point(
    key: str, title: str, verdict: Verdict, why: str, a: SideValue, b: SideValue
) -> LinkPoint:
    return LinkPoint(key, title, verdict, why, a, b)


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.4g}"


def _percent(share: Fraction) -> str:
    value = share * 100
    return f"{value.numerator}%" if value.denominator == 1 else f"{float(value):.4g}%"


def _money(regime: Regime, amount_minor: int) -> str:
    digits = 0 if regime.currency in ("JPY", "KRW") else 2
    major = Fraction(amount_minor, 10**digits)
    text = f"{major.numerator:,}" if major.denominator == 1 else f"{float(major):,.2f}"
    return f"{regime.currency} {text}"


# ---------------------------------------------------------------- cap and coverage


def _cap_type(a: Regime, b: Regime, year: int) -> LinkPoint:
    side_a = _side(a, a.cap_type.value, "regime.cap_type")
    side_b = _side(b, b.cap_type.value, "regime.cap_type")
    na, nb = a.key, b.key
    title = "Cap type"
    if a.cap_type == b.cap_type:
        why = f"{na} {side_a.shown()} and {nb} {side_b.shown()}: the same kind of cap."
        return _point("cap-type", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = (
        f"{na} {side_a.shown()} vs {nb} {side_b.shown()}: an intensity cap grows with output, "
        "so allowances it issues can flow without limit into the absolute side and lift its cap."
    )
    return _point("cap-type", title, Verdict.BARRIER, why, side_a, side_b)


def _ambition(a: Regime, b: Regime, year: int) -> LinkPoint:
    side_a = _side(a, NOT_IN_DATA)
    side_b = _side(b, NOT_IN_DATA)
    why = (
        f"The presets carry cap types ({a.key} {a.cap_type.value}, {b.key} {b.cap_type.value}) "
        "but no comparable cap path or reduction target, so ambition cannot be judged."
    )
    return _point("ambition", "Ambition", Verdict.UNKNOWN, why, side_a, side_b)


def _families(regime: Regime) -> list[str]:
    order = [gas.family for gas in Gas]
    return sorted({gas.family for gas in regime.coverage.gases}, key=order.index)


def _gases(a: Regime, b: Regime, year: int) -> LinkPoint:
    fa, fb = _families(a), _families(b)
    side_a = _side(a, ", ".join(fa), "coverage.gases")
    side_b = _side(b, ", ".join(fb), "coverage.gases")
    title = "Gas coverage"
    if fa == fb:
        why = f"Both cover {side_a.shown()} ({a.key}) and {side_b.shown()} ({b.key})."
        return _point("gases", title, Verdict.COMPATIBLE, why, side_a, side_b)
    only_a = [family for family in fa if family not in fb] or ["nothing"]
    only_b = [family for family in fb if family not in fa] or ["nothing"]
    why = (
        f"{a.key} covers {side_a.shown()}, {b.key} {side_b.shown()} "
        f"(only {a.key}: {', '.join(only_a)}; only {b.key}: {', '.join(only_b)}): "
        "a linked market adopts the stringency of the least ambitious coverage."
    )
    return _point("gases", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


def _scope(regime: Regime) -> str:
    return "direct and indirect" if regime.coverage.indirect_emissions else "direct only"


def _indirect(a: Regime, b: Regime, year: int) -> LinkPoint:
    side_a = _side(a, _scope(a), "coverage.indirect_emissions")
    side_b = _side(b, _scope(b), "coverage.indirect_emissions")
    title = "Direct / indirect emissions"
    if a.coverage.indirect_emissions == b.coverage.indirect_emissions:
        why = f"{a.key} {side_a.shown()} and {b.key} {side_b.shown()}: the same accounting."
        return _point("indirect-emissions", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = (
        f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}: electricity generated on the "
        "direct side and used on the indirect side is counted on both, so a tonne can be "
        "surrendered twice across the link."
    )
    return _point("indirect-emissions", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


# ---------------------------------------------------------------- offsets


@dataclass(frozen=True, slots=True)
class _OffsetTerms:
    """What a regime allows in offsets in one year; None caps are uncapped."""

    allowed: bool
    cap: Fraction | None
    international_cap: Fraction | None
    paths: tuple[str, ...]

    def text(self) -> str:
        if not self.allowed:
            return "no offsets"
        cap = "uncapped" if self.cap is None else f"≤ {_percent(self.cap)}"
        if self.international_cap is None or self.international_cap == self.cap:
            return f"offsets {cap}"
        if self.international_cap == 0:
            return f"offsets {cap}, domestic only"
        return f"offsets {cap}, international ≤ {_percent(self.international_cap)}"


def _offset_terms(regime: Regime, year: int) -> _OffsetTerms:
    # Regime has no unit kinds per eligible type: any eligible type besides the
    # allowance is taken for an offset or credit (CCER, KCU, ARBOC, KZO, TKO...).
    credit_types = regime.surrender.eligible_unit_types - {regime.allowance_unit_type}
    limits = [
        limit for limit in regime.limits_for(year) if UnitKind.OFFSET_CREDIT in limit.unit_kinds
    ]
    paths = ("surrender.eligible_unit_types", *(f"surrender.limits.{x.name}" for x in limits))
    overall = [limit.share for limit in limits if limit.origin is UnitOrigin.ANY]
    international = [limit.share for limit in limits if limit.origin is not UnitOrigin.DOMESTIC]
    cap = min(overall) if overall else None
    allowed = bool(credit_types) and cap != 0
    international_cap = min(international) if international else None
    return _OffsetTerms(allowed, cap, international_cap, paths)


def _offsets(a: Regime, b: Regime, year: int) -> LinkPoint:
    ta, tb = _offset_terms(a, year), _offset_terms(b, year)
    side_a = _side(a, ta.text(), *ta.paths)
    side_b = _side(b, tb.text(), *tb.paths)
    title = f"Offsets ({year})"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if not ta.allowed and not tb.allowed:
        why = f"Neither allows offsets ({compared})."
        return _point("offsets", title, Verdict.COMPATIBLE, why, side_a, side_b)
    if ta.allowed != tb.allowed:
        why = (
            f"{compared}: the side that bans offsets imports them through the link, "
            "as allowances freed up by offsets on the other side."
        )
        return _point("offsets", title, Verdict.BARRIER, why, side_a, side_b)
    if (ta.cap, ta.international_cap) == (tb.cap, tb.international_cap):
        why = f"{compared}: the same caps."
        return _point("offsets", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = (
        f"{compared}: the looser cap leaks offsets into the stricter side "
        "through the allowances they free up."
    )
    return _point("offsets", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


# ---------------------------------------------------------------- prices and supply


@dataclass(frozen=True, slots=True)
class _PricePath:
    """A floor or ceiling: a price in `base_year`, escalating yearly; None price: no path."""

    price_minor: int | None
    escalation: Fraction
    base_year: int | None

    def in_force(self, year: int) -> bool:
        return self.price_minor is not None and (self.base_year is None or year >= self.base_year)

    def price_in(self, year: int) -> int:
        """Return the price in `year`, rounded down to a whole minor unit."""
        assert self.price_minor is not None, "only a path with a price has one in a year"
        steps = 0 if self.base_year is None else max(0, year - self.base_year)
        return int(self.price_minor * (1 + self.escalation) ** steps)

    def text(self, regime: Regime, year: int) -> str:
        if self.price_minor is None:
            return "none"
        text = _money(regime, self.price_minor)
        if self.base_year is not None:
            text += f" in {self.base_year}"
        if self.escalation:
            text += f" + {_percent(self.escalation)}/yr"
        if not self.in_force(year):
            return f"{text} (not yet in force in {year})"
        if self.escalation:
            text += f" ({_money(regime, self.price_in(year))} in {year})"
        return text


def _floor_path(regime: Regime) -> _PricePath:
    rules = regime.stability
    return _PricePath(rules.price_floor_minor, rules.price_floor_escalation, rules.base_year)


def _ceiling_path(regime: Regime) -> _PricePath:
    rules = regime.stability
    base_year = rules.price_ceiling_base_year or rules.base_year
    return _PricePath(rules.price_ceiling_minor, rules.price_ceiling_escalation, base_year)


def _floor(a: Regime, b: Regime, year: int) -> LinkPoint:
    pa, pb = _floor_path(a), _floor_path(b)
    path = ("stability.price_floor_minor", "stability.price_floor_escalation")
    side_a, side_b = _side(a, pa.text(a, year), *path), _side(b, pb.text(b, year), *path)
    title = f"Price floor ({year})"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if not pa.in_force(year) and not pb.in_force(year):
        why = f"Neither has a price floor in force ({compared})."
        return _point("price-floor", title, Verdict.COMPATIBLE, why, side_a, side_b)
    if not pa.in_force(year) or not pb.in_force(year):
        why = (
            f"{compared}: a floor on one side only props up the joint price through that "
            "side's auctions while the other side's supply is unsupported."
        )
        return _point("price-floor", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)
    if pa == pb:
        currencies = (
            ""
            if a.currency == b.currency
            else f"; {a.currency} and {b.currency} are at parity only through the exchange rate"
        )
        why = f"{compared}: the same floor mechanism{currencies}."
        return _point("price-floor", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = f"{compared}: different floors; the higher one binds the joint market."
    return _point("price-floor", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


def _ceiling(a: Regime, b: Regime, year: int) -> LinkPoint:
    pa, pb = _ceiling_path(a), _ceiling_path(b)
    path = ("stability.price_ceiling_minor", "stability.price_ceiling_escalation")
    side_a, side_b = _side(a, pa.text(a, year), *path), _side(b, pb.text(b, year), *path)
    title = f"Price ceiling ({year})"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if not pa.in_force(year) and not pb.in_force(year):
        why = f"Neither has a price ceiling in force ({compared})."
        return _point("price-ceiling", title, Verdict.COMPATIBLE, why, side_a, side_b)
    if pa == pb:
        why = f"{compared}: the same ceiling mechanism."
        return _point("price-ceiling", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = (
        f"{compared}: a ceiling on one side caps the joint price, since buyers on the other "
        "side reach it through the link."
    )
    return _point("price-ceiling", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


def _reserve_text(regime: Regime) -> str:
    rules = regime.stability
    if rules.trigger_months is None or rules.trigger_multiple is None:
        return "none"
    return (
        f"release ≤ {_percent(rules.reserve_release_share_max)} of the reserve when the price "
        f"≥ {_number(rules.trigger_multiple)}× the {rules.trigger_lookback_years}-year average "
        f"for {rules.trigger_months} months"
    )


def _reserve(a: Regime, b: Regime, year: int) -> LinkPoint:
    paths = (
        "stability.trigger_months",
        "stability.trigger_multiple",
        "stability.trigger_lookback_years",
        "stability.reserve_release_share_max",
    )
    ta, tb = _reserve_text(a), _reserve_text(b)
    side_a, side_b = _side(a, ta, *paths), _side(b, tb, *paths)
    title = "Supply management (reserve)"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if ta == tb:
        why = f"{compared}: the same supply rules."
        return _point("supply-reserve", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = (
        f"{compared}: a reserve released on one side adds supply to the joint market "
        "and lowers the price on both."
    )
    return _point("supply-reserve", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


def _intervention_text(regime: Regime) -> str:
    found: list[str] = []
    if regime.stability.trigger_months is not None:
        found.append("stability trigger")
    notes = regime.notes.lower()
    found.extend(f"notes: '{word}'" for word in INTERVENTION_WORDS if word in notes)
    return "; ".join(found) or NOT_IN_DATA


def _intervention(a: Regime, b: Regime, year: int) -> LinkPoint:
    ta, tb = _intervention_text(a), _intervention_text(b)
    side_a = _side(a, ta, "stability.trigger_months")
    side_b = _side(b, tb, "stability.trigger_months")
    title = "Government intervention"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if ta == NOT_IN_DATA and tb == NOT_IN_DATA:
        why = f"Neither preset records a discretionary intervention ({compared})."
        return _point("intervention", title, Verdict.UNKNOWN, why, side_a, side_b)
    why = (
        f"{compared}: an intervention on one side moves the joint price, so the partners "
        "must agree when and how either may intervene."
    )
    return _point("intervention", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


# ---------------------------------------------------------------- banking and borrowing


def _banking_text(regime: Regime) -> str:
    rules = regime.surrender
    if not rules.banking:
        return "no banking"
    return "banking across phases" if rules.banking_across_phases else "banking within a phase"


def _banking(a: Regime, b: Regime, year: int) -> LinkPoint:
    paths = ("surrender.banking", "surrender.banking_across_phases")
    side_a, side_b = _side(a, _banking_text(a), *paths), _side(b, _banking_text(b), *paths)
    title = "Banking"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if side_a.value == side_b.value:
        why = f"{compared}: the same rule."
        return _point("banking", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = (
        f"{compared}: units bought across the link can be banked under the looser rule, "
        "so the stricter side's limit does not hold."
    )
    return _point("banking", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


def _borrowing_text(regime: Regime) -> str:
    share = regime.surrender.borrowing_share_max
    return "no borrowing" if share == 0 else f"borrowing ≤ {_percent(share)} of the obligation"


def _borrowing(a: Regime, b: Regime, year: int) -> LinkPoint:
    path = "surrender.borrowing_share_max"
    side_a, side_b = _side(a, _borrowing_text(a), path), _side(b, _borrowing_text(b), path)
    title = "Borrowing"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if a.surrender.borrowing_share_max == b.surrender.borrowing_share_max:
        why = f"{compared}: the same rule."
        return _point("borrowing", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = (
        f"{compared}: borrowing on one side brings future supply into today's joint market, "
        "lowering the price on both."
    )
    return _point("borrowing", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


# ---------------------------------------------------------------- MRV


def _gwp(a: Regime, b: Regime, year: int) -> LinkPoint:
    side_a, side_b = _side(a, a.gwp_set, "regime.gwp_set"), _side(b, b.gwp_set, "regime.gwp_set")
    title = "MRV: GWP set"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if a.gwp_set == b.gwp_set:
        why = f"{compared}: a tonne CO2e means the same on both sides."
        return _point("gwp-set", title, Verdict.COMPATIBLE, why, side_a, side_b)
    gases = sorted(a.coverage.gases | b.coverage.gases, key=list(Gas).index)
    differing = [
        gas for gas in gases if GWP_SETS[a.gwp_set].get(gas) != GWP_SETS[b.gwp_set].get(gas)
    ]
    if not differing:
        why = f"{compared}: the covered gases have the same GWP in both sets."
        return _point("gwp-set", title, Verdict.COMPATIBLE, why, side_a, side_b)
    gas = differing[0]
    why = (
        f"{compared}: {gas.value} counts {GWP_SETS[a.gwp_set].get(gas, 'no value')} "
        f"vs {GWP_SETS[b.gwp_set].get(gas, 'no value')} tCO2e per tonne, so a tonne "
        "surrendered on one side is not the same tonne on the other."
    )
    return _point("gwp-set", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


def _deadline_text(regime: Regime, kind: DeadlineKind, year: int) -> str:
    rules = [rule for rule in regime.calendar.rules if rule.kind is kind]
    rule = _rule_for(rules, year)
    if rule is None:
        return "none"
    after = "" if rule.years_after == 1 else f", {rule.years_after} years after"
    return f"{rule.day} {_MONTHS[rule.month - 1]}{after}"


def _rule_for(rules: list[DeadlineRule], year: int) -> DeadlineRule | None:
    return next((rule for rule in rules if rule.first_period <= year <= rule.last_period), None)


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _mrv_text(regime: Regime, year: int) -> str:
    report = _deadline_text(regime, DeadlineKind.REPORT_DUE, year)
    verification = _deadline_text(regime, DeadlineKind.VERIFICATION_DUE, year)
    if verification == "none":
        verification = NOT_IN_DATA
    return f"report {report}; verification {verification}"


def _reporting(a: Regime, b: Regime, year: int) -> LinkPoint:
    path = ("calendar.deadlines.report_due", "calendar.deadlines.verification_due")
    ta, tb = _mrv_text(a, year), _mrv_text(b, year)
    side_a, side_b = _side(a, ta, *path), _side(b, tb, *path)
    title = f"MRV: reporting and verification ({year})"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if ta == tb:
        why = f"{compared}: verified figures are ready at the same time on both sides."
        return _point("mrv-reporting", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = (
        f"{compared}: verified emissions arrive at different times, so a joint market "
        "trades for a while on one side's figures only."
    )
    return _point("mrv-reporting", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


def _estimate_text(regime: Regime) -> str:
    rule = regime.estimate
    text = f"{rule.rule.value.replace('_', ' ')} ({rule.years} years)"
    if rule.uplift:
        text += f" + {_percent(rule.uplift)}"
    return text


def _estimates(a: Regime, b: Regime, year: int) -> LinkPoint:
    side_a, side_b = (
        _side(a, _estimate_text(a), "estimate"),
        _side(b, _estimate_text(b), "estimate"),
    )
    title = "MRV: conservative estimates"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    if a.estimate == b.estimate:
        why = f"{compared}: a missing report costs the same on both sides."
        return _point("mrv-estimates", title, Verdict.COMPATIBLE, why, side_a, side_b)
    why = (
        f"{compared}: a milder estimate on one side makes not reporting cheaper there, "
        "and its tonnes are less certain across the link."
    )
    return _point("mrv-estimates", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)


# ---------------------------------------------------------------- penalties


def _penalty_text(regime: Regime) -> str:
    rule = regime.penalty
    owed = ", shortfall still owed" if rule.make_good else ""
    if rule.kind is PenaltyKind.FIXED_PER_TONNE:
        return f"{_money(regime, rule.fixed_per_t_minor)}/t{owed}"
    if rule.kind is PenaltyKind.MARKET_PRICE_MULTIPLE:
        cap = (
            "" if rule.cap_per_t_minor is None else f", ≤ {_money(regime, rule.cap_per_t_minor)}/t"
        )
        return f"{_number(rule.price_multiple)}× the average price{cap}{owed}"
    if rule.kind is PenaltyKind.ADDED_OBLIGATION:
        return f"{_number(_added_total(rule))}× the shortfall owed in units"
    return f"no penalty{owed}"


def _added_total(rule: PenaltyRule) -> Fraction:
    """Return the tonnes owed per tonne short: the multiple, plus the shortfall if made good."""
    return rule.obligation_multiple + (1 if rule.make_good else 0)


def _level(regime: Regime) -> Fraction | None:
    """Return the penalty's level in its own unit, comparable within one kind (and currency)."""
    rule = regime.penalty
    if rule.kind is PenaltyKind.FIXED_PER_TONNE:
        return Fraction(rule.fixed_per_t_minor)
    if rule.kind is PenaltyKind.MARKET_PRICE_MULTIPLE:
        return rule.price_multiple + (1 if rule.make_good else 0)
    if rule.kind is PenaltyKind.ADDED_OBLIGATION:
        return _added_total(rule)
    return None


def _penalty(a: Regime, b: Regime, year: int) -> LinkPoint:
    side_a, side_b = _side(a, _penalty_text(a), "penalty"), _side(b, _penalty_text(b), "penalty")
    title = "Penalty"
    compared = f"{a.key} {side_a.shown()} vs {b.key} {side_b.shown()}"
    none_a, none_b = a.penalty.kind is PenaltyKind.NONE, b.penalty.kind is PenaltyKind.NONE
    if none_a and none_b:
        why = f"{compared}: neither side enforces compliance with a penalty."
        return _point("penalty", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)
    if none_a or none_b:
        why = (
            f"{compared}: with no penalty on one side, compliance pressure leaks there "
            "and its shortfalls go unpunished in the joint market."
        )
        return _point("penalty", title, Verdict.BARRIER, why, side_a, side_b)
    if a.penalty.kind is not b.penalty.kind:
        why = f"{compared}: different kinds of penalty, whose levels the data cannot compare."
        return _point("penalty", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)
    fixed = a.penalty.kind is PenaltyKind.FIXED_PER_TONNE
    if fixed and a.currency != b.currency:
        why = (
            f"{compared}: the same kind, but levels in {a.currency} and {b.currency} need "
            "an exchange rate the presets do not carry."
        )
        return _point("penalty", title, Verdict.UNKNOWN, why, side_a, side_b)
    level_a, level_b = _level(a), _level(b)
    assert level_a is not None and level_b is not None, "only PenaltyKind.NONE has no level"
    low, high = sorted((level_a, level_b))
    if high >= low * PENALTY_RATIO_MAX:
        why = (
            f"{compared}: one penalty is at least {PENALTY_RATIO_MAX}× the other, so "
            "compliance pressure leaks to the cheaper side."
        )
        return _point("penalty", title, Verdict.NEEDS_HARMONISATION, why, side_a, side_b)
    why = f"{compared}: comparable levels of the same kind (within {PENALTY_RATIO_MAX}×)."
    return _point("penalty", title, Verdict.COMPATIBLE, why, side_a, side_b)


# ---------------------------------------------------------------- summary

_RULES: tuple[Callable[[Regime, Regime, int], LinkPoint], ...] = (
    _cap_type,
    _ambition,
    _gases,
    _indirect,
    _offsets,
    _floor,
    _ceiling,
    _reserve,
    _intervention,
    _banking,
    _borrowing,
    _gwp,
    _reporting,
    _estimates,
    _penalty,
)
_PRICE_POINTS = ("price-floor", "price-ceiling")


def _recommendation(points: tuple[LinkPoint, ...]) -> str:
    """Return one line: what to do first, from the most fundamental difference down."""
    verdicts = {point.key: point.verdict for point in points}
    barriers = [point.key for point in points if point.verdict is Verdict.BARRIER]
    to_harmonise = [point.key for point in points if point.verdict is Verdict.NEEDS_HARMONISATION]
    if verdicts["cap-type"] is Verdict.BARRIER:
        rest = [key for key in barriers + to_harmonise if key != "cap-type"]
        then = f", then harmonise {', '.join(rest)}" if rest else ""
        return (
            "no direct link yet: absolute and intensity caps differ; start with a one-way "
            f"or crediting link{then}"
        )
    if any(verdicts[key] is not Verdict.COMPATIBLE for key in _PRICE_POINTS):
        return "stepwise linking: harmonise price floors first" + _then(barriers, to_harmonise)
    if barriers:
        return (
            "resolve the barriers before linking: " + ", ".join(barriers) + _then([], to_harmonise)
        )
    if to_harmonise:
        return "linkable after harmonising: " + ", ".join(to_harmonise)
    return "compatible on every point the data covers; check the UNKNOWN points before linking"


def _then(barriers: list[str], to_harmonise: list[str]) -> str:
    rest = [key for key in barriers + to_harmonise if key not in _PRICE_POINTS]
    return f", then {', '.join(rest)}" if rest else ""
