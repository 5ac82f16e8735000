"""What a surrender may contain: eligible units and vintages, and the quantitative limits.

Pure functions over blocks. A surrender is judged as a whole — together with
what the entity already surrendered for the period — before any unit moves,
so a surrender that breaks a limit is refused entirely (never half-applied).

Limits follow 17 CCR §95854's form, Oo / S <= Lo: the units a limit covers,
summed over the period, may not exceed its share of the obligation S.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

from compliance.errors import ComplianceCode, ComplianceError
from compliance.penalties import PenaltyAssessment
from compliance.regime import QuantitativeLimit, Regime, UnitOrigin
from registry.formatting import percent, share_over_cap
from registry.units import UnitBlock, UnitKind, UnitType

# Compliance value of one unit of a type in this regime; None: not admitted.
# Domestic eligible units count 1; a link's exchange rate sets foreign ones.
Valuation = Callable[[UnitType], Fraction | None]


def domestic_valuation(regime: Regime) -> Valuation:
    """Value the regime's own eligible unit types at 1 and everything else not at all."""

    def value(unit_type: UnitType) -> Fraction | None:
        if unit_type.code in regime.surrender.eligible_unit_types:
            return Fraction(1)
        return None

    return value


@dataclass(frozen=True, slots=True)
class LimitUse:
    limit: QuantitativeLimit
    used_t: int
    allowed: Fraction  # share × obligation, exact


@dataclass(frozen=True, slots=True)
class SurrenderAssessment:
    """A surrender that passed every rule, and what it is worth."""

    value: Fraction  # compliance value of the new blocks
    total_value: Fraction  # of everything surrendered for the period, new blocks included
    limits: tuple[LimitUse, ...]
    borrowed_t: int


def origin_of(block: UnitBlock, regime: Regime) -> UnitOrigin:
    return UnitOrigin.DOMESTIC if block.origin == regime.registry_code else UnitOrigin.INTERNATIONAL


def assess_surrender(
    regime: Regime,
    period: int,
    obligation_t: int | None,
    unit_types: dict[str, UnitType],
    prior: Iterable[UnitBlock],
    new: Iterable[UnitBlock],
    valuation: Valuation | None = None,
) -> SurrenderAssessment:
    """Check `new` blocks for compliance `period`, given what was surrendered before.

    Raise ComplianceError on the first rule broken: 9209 unit not eligible,
    9210 vintage not eligible, 9217 borrowing over its limit, 9212 a limit
    applies but the obligation is not known yet, 9211 a limit exceeded.
    """
    value_of = valuation or domestic_valuation(regime)
    prior_blocks = list(prior)
    new_blocks = list(new)
    for block in new_blocks:
        _check_eligible(regime, period, unit_types[block.unit_type], block, value_of)
    everything = prior_blocks + new_blocks
    borrowed_t = _check_borrowing(regime, period, obligation_t, everything)
    limits = _check_limits(regime, period, obligation_t, unit_types, everything, new_blocks)
    return SurrenderAssessment(
        value=compliance_value(new_blocks, unit_types, value_of),
        total_value=compliance_value(everything, unit_types, value_of),
        limits=limits,
        borrowed_t=borrowed_t,
    )


def compliance_value(
    blocks: Iterable[UnitBlock], unit_types: dict[str, UnitType], valuation: Valuation
) -> Fraction:
    """Return what `blocks` count for against an obligation (ineligible ones count 0)."""
    total = Fraction(0)
    for block in blocks:
        rate = valuation(unit_types[block.unit_type])
        if rate is not None:
            total += block.quantity * rate
    return total


def _check_eligible(
    regime: Regime, period: int, unit_type: UnitType, block: UnitBlock, valuation: Valuation
) -> None:
    if block.origin in regime.surrender.ineligible_origins:
        raise ComplianceError(
            ComplianceCode.UNIT_NOT_ELIGIBLE,
            f"{block.unit_type} of origin {block.origin} is not valid for compliance in "
            f"{regime.name} (block {block})",
        )
    if valuation(unit_type) is None:
        raise ComplianceError(
            ComplianceCode.UNIT_NOT_ELIGIBLE,
            f"{block.unit_type} is not eligible for surrender in {regime.name}; eligible: "
            f"{', '.join(sorted(regime.surrender.eligible_unit_types)) or 'none'}",
        )
    last_year = regime.calendar.period_last_year(period)
    if block.vintage < period:
        rules = regime.surrender
        if not rules.banking:
            raise ComplianceError(
                ComplianceCode.VINTAGE_NOT_ELIGIBLE,
                f"vintage {block.vintage} is before period {period}: "
                f"{regime.name} allows no banking",
            )
        calendar = regime.calendar
        if not rules.banking_across_phases and calendar.phase_of(
            block.vintage
        ) != calendar.phase_of(period):
            raise ComplianceError(
                ComplianceCode.VINTAGE_NOT_ELIGIBLE,
                f"vintage {block.vintage} belongs to another phase than period {period}; "
                f"{regime.name} does not bank units across phases",
            )
    if block.vintage > last_year and regime.surrender.borrowing_share_max == 0:
        raise ComplianceError(
            ComplianceCode.VINTAGE_NOT_ELIGIBLE,
            f"vintage {block.vintage} is after period {period}-{last_year}: "
            f"{regime.name} allows no borrowing",
        )


def _check_borrowing(
    regime: Regime, period: int, obligation_t: int | None, blocks: list[UnitBlock]
) -> int:
    last_year = regime.calendar.period_last_year(period)
    borrowed_t = sum(block.quantity for block in blocks if block.vintage > last_year)
    if not borrowed_t:
        return 0
    if obligation_t is None:
        raise ComplianceError(
            ComplianceCode.NO_VERIFIED_EMISSIONS,
            f"borrowed units are limited to a share of the period {period} obligation, "
            "which is not known until emissions are verified",
        )
    allowed = regime.surrender.borrowing_share_max * obligation_t
    if borrowed_t > allowed:
        raise ComplianceError(
            ComplianceCode.BORROWING_LIMIT_EXCEEDED,
            f"borrowed (future-vintage) units {borrowed_t:,} t exceed "
            f"{percent(regime.surrender.borrowing_share_max)} of the obligation "
            f"{obligation_t:,} t ({_tonnes(allowed)} t)",
        )
    return borrowed_t


def _check_limits(
    regime: Regime,
    period: int,
    obligation_t: int | None,
    unit_types: dict[str, UnitType],
    everything: list[UnitBlock],
    new: list[UnitBlock],
) -> tuple[LimitUse, ...]:
    uses = []
    for limit in regime.limits_for(period):
        touched = [block for block in new if _covered(limit, regime, unit_types, block)]
        used_t = sum(
            block.quantity for block in everything if _covered(limit, regime, unit_types, block)
        )
        if obligation_t is None:
            if touched:
                raise ComplianceError(
                    ComplianceCode.NO_VERIFIED_EMISSIONS,
                    f"the {limit.name} limit is a share of the period {period} obligation, "
                    "which is not known until emissions are verified; surrender these units after",
                )
            continue
        allowed = limit.share * obligation_t
        if touched and used_t > allowed:
            found = (
                share_over_cap(used_t, obligation_t, limit.share)
                if obligation_t
                else f"{used_t:,} t against an obligation of 0 t"
            )
            raise ComplianceError(
                ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED,
                f"{limit.name} limit: {found}, for period {period}",
            )
        uses.append(LimitUse(limit, used_t, allowed))
    return tuple(uses)


def check_untimely_surrender(
    entity_id: str,
    period: int,
    shortfall_period: int,
    penalty: PenaltyAssessment,
    unit_types: dict[str, UnitType],
    blocks: Iterable[UnitBlock],
) -> None:
    """Refuse 9221 if units other than allowances would meet more of an untimely-surrender
    obligation than its rule allows.

    17 CCR §95857 [V]: the untimely surrender obligation (4 × the shortfall)
    is at least 3/4 allowances, at most 1/4 offsets. It is overdue, so the units
    surrendered for the next period (`blocks`, everything so far) meet it first,
    allowances before other units; the period's own obligation takes the rest.
    """
    added_t = penalty.added_obligation_t
    allowed_t = added_t - penalty.allowances_min_t
    allowances_t = 0
    others_t = 0
    for block in blocks:
        if unit_types[block.unit_type].kind is UnitKind.ALLOWANCE:
            allowances_t += block.quantity
        else:
            others_t += block.quantity
    others_in_t = max(0, min(added_t, allowances_t + others_t) - allowances_t)
    if others_in_t > allowed_t:
        raise ComplianceError(
            ComplianceCode.UNTIMELY_SURRENDER_ALLOWANCES_SHORT,
            f"{entity_id}'s untimely surrender obligation of {added_t:,} t from period "
            f"{shortfall_period} must be at least {penalty.allowances_min_t:,} t of allowances "
            f"(17 CCR §95857); it is met first by what is surrendered for period {period}, "
            f"so far {allowances_t:,} t of allowances and {others_t:,} t of other units, "
            f"which puts {others_in_t:,} t of other units in it, over the {allowed_t:,} t allowed",
        )


def _covered(
    limit: QuantitativeLimit, regime: Regime, unit_types: dict[str, UnitType], block: UnitBlock
) -> bool:
    if unit_types[block.unit_type].kind not in limit.unit_kinds:
        return False
    return limit.origin is UnitOrigin.ANY or limit.origin is origin_of(block, regime)


def _tonnes(amount: Fraction) -> str:
    return f"{amount.numerator // amount.denominator:,}"
