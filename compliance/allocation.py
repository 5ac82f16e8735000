"""Free allocation: pure functions from a rule and inputs to whole tonnes.

Every function here rounds DOWN to the whole tonne, so nothing is ever
over-allocated; each function computes the exact `Fraction` first and rounds
once at the end. Tonnes are `int`, ratios are `Fraction` (an `int` is
accepted where a ratio is expected); a `float` is refused, because a binary
fraction cannot say 7/10 exactly. Invalid input raises `ComplianceError`
with `ALLOCATION_INPUT_INVALID` and a message saying what was expected and
what was found.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from compliance.errors import ComplianceCode, ComplianceError
from compliance.regime import AllocationMethod, AllocationRule

# A limit on how many entities one sectoral scaling handles: China's national
# ETS has about 2,225 companies, so this is far above any real sector.
SCALING_ENTITIES_MAX = 1_000_000


def _refuse(message: str) -> ComplianceError:
    return ComplianceError(ComplianceCode.ALLOCATION_INPUT_INVALID, message)


def _whole(name: str, value: object, minimum: int = 0) -> int:
    """Return `value` if it is an int (not a bool) of at least `minimum`, else refuse."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(f"{name} must be an integer, was {value!r} ({type(value).__name__})")
    if value < minimum:
        raise _refuse(f"{name} must be at least {minimum:,}, was {value:,}")
    return value


def _ratio(name: str, value: object) -> Fraction:
    """Return `value` as a Fraction if it is a Fraction or an int (never a float or bool)."""
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise _refuse(
            f"{name} must be a Fraction or an integer, was {value!r} ({type(value).__name__})"
        )
    return Fraction(value)


def _non_negative_ratio(name: str, value: object) -> Fraction:
    ratio = _ratio(name, value)
    if ratio < 0:
        raise _refuse(f"{name} must be at least 0, was {ratio}")
    return ratio


def _share(name: str, value: object) -> Fraction:
    """Return `value` as a Fraction in [0, 1], else refuse."""
    ratio = _ratio(name, value)
    if not 0 <= ratio <= 1:
        raise _refuse(f"{name} must be a share in [0, 1], was {ratio}")
    return ratio


def grandparenting_t(historic_emissions_t: int, factor: Fraction) -> int:
    """Allocate `historic_emissions_t` × `factor` (a share in [0, 1]), rounded down."""
    emissions_t = _whole("historic_emissions_t", historic_emissions_t)
    share = _share("grandparenting factor", factor)
    return math.floor(emissions_t * share)


def benchmark_t(output_units: int, benchmark_t_per_unit: Fraction) -> int:
    """Allocate `output_units` × `benchmark_t_per_unit`, rounded down."""
    output = _whole("output_units", output_units)
    benchmark = _non_negative_ratio("benchmark_t_per_unit", benchmark_t_per_unit)
    return math.floor(output * benchmark)


def china_preallocation_t(reference_output: int, benchmark: Fraction, share: Fraction) -> int:
    """Pre-allocate `share` × the reference year's output × `benchmark`, rounded down.

    China's national ETS pre-allocates 70% of 2018 output × benchmark before
    the year's output is known (ICAP news 804). The product is exact and
    rounded once, so 70% of 1,001 units × 1 t is 700 t, not 70% of a rounded
    figure.
    """
    output = _whole("reference_output", reference_output)
    benchmark_ratio = _non_negative_ratio("benchmark", benchmark)
    preallocation_share = _share("pre-allocation share", share)
    return math.floor(output * benchmark_ratio * preallocation_share)


def china_true_up_t(actual_output: int, benchmark: Fraction, preallocated_t: int) -> int:
    """Return the ex-post true-up: actual output × benchmark (rounded down) − the pre-allocation.

    Positive: issue that many more tonnes; negative: claw that many back.
    So pre-allocation + true-up = the final allocation, exactly, for any
    pre-allocation (ICAP news 804: true-up to actual output).
    """
    preallocated = _whole("preallocated_t", preallocated_t)
    return benchmark_t(actual_output, benchmark) - preallocated


def base_year_cap_t(base_year_emissions_t: int, compliance_factor: Fraction, years: int) -> int:
    """Return base-year emissions × (1 − compliance factor) × years, rounded down.

    Tokyo and Saitama cap a facility for a 5-year compliance period this way
    (TMG: 8% or 6% in FY2010-14, 17% or 15% in FY2015-19). Pass years=1 for
    one year's share; the period figure is rounded once, not per year.
    """
    emissions_t = _whole("base_year_emissions_t", base_year_emissions_t)
    factor = _share("compliance factor", compliance_factor)
    period_years = _whole("years", years, minimum=1)
    return math.floor(emissions_t * (1 - factor) * period_years)


# The inputs each method takes besides what the rule itself supplies.
_INPUTS_BY_METHOD: dict[AllocationMethod, frozenset[str]] = {
    AllocationMethod.GRANDPARENTING: frozenset({"historic_emissions_t"}),
    AllocationMethod.BENCHMARK: frozenset({"output_units", "benchmark_t_per_unit"}),
    AllocationMethod.INTENSITY_BENCHMARK: frozenset({"reference_output", "benchmark"}),
    AllocationMethod.BASE_YEAR: frozenset({"base_year_emissions_t", "years"}),
}


def allocate_for_year(rule: AllocationRule, *, year: int, **inputs: int | Fraction) -> int:
    """Allocate for `year` under `rule`, dispatching on `rule.method`; round down.

    The rule supplies its own ratio; `inputs` must name exactly the rest:
    grandparenting `historic_emissions_t`; benchmark `output_units` and
    `benchmark_t_per_unit`; intensity benchmark `reference_output` and
    `benchmark` (the result is China's pre-allocation, what is issued before
    the year's output is known; the true-up is `china_true_up_t` after
    verification); base year `base_year_emissions_t` and `years` (1 for one
    year, the period length for Tokyo's period cap). A year outside the rule
    raises `PERIOD_INVALID`; missing or unexpected inputs raise
    `ALLOCATION_INPUT_INVALID`.
    """
    if not rule.applies(year):
        raise ComplianceError(
            ComplianceCode.PERIOD_INVALID,
            f"allocation rule covers {rule.first_year}-{rule.last_year}, year was {year}",
        )
    expected = _INPUTS_BY_METHOD[rule.method]
    if set(inputs) != expected:
        raise _refuse(
            f"{rule.method.value} allocation needs inputs {sorted(expected)}, "
            f"was given {sorted(inputs)}"
        )
    if rule.method is AllocationMethod.GRANDPARENTING:
        return grandparenting_t(
            _whole("historic_emissions_t", inputs["historic_emissions_t"]),
            rule.grandparenting_factor,
        )
    if rule.method is AllocationMethod.BENCHMARK:
        return benchmark_t(
            _whole("output_units", inputs["output_units"]),
            _ratio("benchmark_t_per_unit", inputs["benchmark_t_per_unit"]),
        )
    if rule.method is AllocationMethod.INTENSITY_BENCHMARK:
        return china_preallocation_t(
            _whole("reference_output", inputs["reference_output"]),
            _ratio("benchmark", inputs["benchmark"]),
            rule.preallocation_share,
        )
    assert rule.method is AllocationMethod.BASE_YEAR, f"unhandled method {rule.method}"
    return base_year_cap_t(
        _whole("base_year_emissions_t", inputs["base_year_emissions_t"]),
        rule.compliance_factor,
        _whole("years", inputs["years"], minimum=1),
    )


class AuctionSplit(NamedTuple):
    """A total split into free allocation and auctioned tonnes; unpacks as (free_t, auction_t).

    A NamedTuple rather than a frozen dataclass so that callers can unpack it.
    """

    free_t: int
    auction_t: int


def split_auction_share(total_t: int, auction_share: Fraction) -> AuctionSplit:
    """Split `total_t` into free and auctioned tonnes; free rounds down, auction takes the rest.

    Rounding the free part down means the auctioned part is at least
    `auction_share` × total (Korea: >= 3% auctioned in phase 2, >= 10% in
    phase 3, ICAP news 530), and free + auction = total exactly.
    """
    total = _whole("total_t", total_t)
    share = _share("auction share", auction_share)
    free_t = math.floor(total * (1 - share))
    return AuctionSplit(free_t=free_t, auction_t=total - free_t)


def new_entrant_reserve_t(total_t: int, share: Fraction) -> int:
    """Set aside `share` × `total_t` for new entrants, rounded down (never above the share)."""
    total = _whole("total_t", total_t)
    reserve_share = _share("new-entrant reserve share", share)
    return math.floor(total * reserve_share)


@dataclass(frozen=True, slots=True)
class _Quota:
    entity_id: str
    whole_t: int
    remainder: Fraction  # the quota's fractional part, in [0, 1)


def scale_to_sectoral_cap(requests: Mapping[str, int], cap_t: int) -> dict[str, int]:
    """Scale `requests` down pro rata to `cap_t`; return them unchanged when within the cap.

    Rounding: each entity first gets its exact pro-rata quota rounded down;
    the tonnes left (fewer than the number of entities) then go one each to
    the largest fractional remainders (Hamilton's method). Ties go to the
    entity id that sorts first, so the result is deterministic whatever the
    input order. The result sums to exactly min(cap, total requested), no
    entity gets more than it asked for, a larger request never gets less, and
    raising one request never lowers that entity's share. Like every
    largest-remainder method it is not monotone in the cap itself (the
    Alabama paradox): a larger cap can cost one entity one tonne.
    """
    cap = _whole("cap_t", cap_t)
    if len(requests) > SCALING_ENTITIES_MAX:
        raise _refuse(
            f"at most {SCALING_ENTITIES_MAX:,} entities per scaling, was {len(requests):,}"
        )
    for entity_id, request_t in requests.items():
        if not isinstance(entity_id, str):
            raise _refuse(f"entity ids must be strings, was {entity_id!r}")
        _whole(f"request of {entity_id}", request_t)
    requested_t = sum(requests.values())
    if requested_t <= cap:
        return dict(requests)
    quotas = [
        _Quota(
            entity_id,
            request_t * cap // requested_t,
            Fraction(request_t * cap % requested_t, requested_t),
        )
        for entity_id, request_t in requests.items()
    ]
    leftover_t = cap - sum(quota.whole_t for quota in quotas)
    scaled = {quota.entity_id: quota.whole_t for quota in quotas}
    by_remainder = sorted(quotas, key=lambda quota: (-quota.remainder, quota.entity_id))
    for quota in by_remainder[:leftover_t]:
        scaled[quota.entity_id] += 1
    # Pair assertions: the invariants the docstring promises, checked where written.
    assert sum(scaled.values()) == cap, (sum(scaled.values()), cap)
    assert all(scaled[entity_id] <= requests[entity_id] for entity_id in scaled)
    return scaled
