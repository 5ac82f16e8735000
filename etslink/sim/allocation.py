"""A covered entity's emissions forecast and free allocation in a run.

- **Forecast** = baseline × (1 + growth)^(years since the run's start), rounded down. A
  product's output grows the same way from its first-year figure.
- **Free allocation** = `allocation_share` × forecast (rounded down), or, with an
  `allocation_rule`, the preset's rule for the year and the entity's category, by its own
  method (`compliance.allocation` computes every figure):
  - grandparenting: historic emissions × the rule's factor;
  - benchmark: each product's output × its benchmark;
  - intensity benchmark (China): the pre-allocation, `preallocation_share` × reference
    output × benchmark, is issued when the year opens, and the true-up to the year's
    actual output (which can claw back) when it closes;
  - base year (Tokyo, Saitama): the period's cap, base-year emissions × (1 − compliance
    factor) × the period's years, issued year by year so that the years of a period
    add up to exactly the period figure (year k gets the k-year figure less the
    (k − 1)-year one).
  Of that total the rule's `auction_share` is the government's to auction (Korea: 10%
  in phase 3) and its `new_entrant_reserve_share` is held back; the entity gets the
  rest. The registry's `cap_scale` override scales the result, in the run.

The loader has checked that every year of the run has a rule and that the entity carries
the data the rule's method needs, so a missing figure here is a bug, not a user's mistake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from compliance import allocation as rules
from compliance.regime import AllocationMethod, AllocationRule, Regime
from etslink.scenario import Entity, ProductOutput


def forecast_t(entity: Entity, years_elapsed: int) -> int:
    """Return baseline × (1 + growth)^years, rounded down."""
    assert years_elapsed >= 0, years_elapsed
    return math.floor(entity.baseline_t * (1 + entity.growth) ** years_elapsed)


def output_units(entity: Entity, product: ProductOutput, years_elapsed: int) -> int:
    """Return the product's output in the year: first-year output grown like emissions."""
    assert years_elapsed >= 0, years_elapsed
    return math.floor(product.output * (1 + entity.growth) ** years_elapsed)


@dataclass(frozen=True, slots=True)
class YearAllocation:
    """An entity's free allocation for a year: issued when it opens, and final.

    `final_t` − `at_open_t` is the true-up when the year closes: China's intensity
    benchmark trues up to actual output (negative: a claw-back); every other method
    allocates the final figure at the start (`final_t` == `at_open_t`).
    """

    at_open_t: int
    final_t: int

    @property
    def true_up_t(self) -> int:
        return self.final_t - self.at_open_t

    def scaled(self, scale: Fraction) -> YearAllocation:
        """Return both figures × `scale` (the registry's `cap_scale`), each rounded down."""
        return YearAllocation(math.floor(scale * self.at_open_t), math.floor(scale * self.final_t))


def rule_of(entity: Entity, regime: Regime, year: int) -> AllocationRule:
    """Return the preset rule an `allocation_rule` entity is allocated by in `year`."""
    rule_name = entity.allocation.rule
    assert rule_name is not None, entity
    rule = regime.allocation_rule(year, "" if rule_name == "preset" else rule_name)
    assert rule is not None, f"the loader checks a rule covers {year} for {entity.entity_id}"
    return rule


def benchmark_of(product: ProductOutput, rule: AllocationRule) -> Fraction:
    """Return the product's benchmark: the entity's own, else the rule's (the loader checks)."""
    benchmark = product.benchmark_t_per_unit
    if benchmark is None:
        benchmark = rule.benchmark_for(product.product)
    assert benchmark is not None, f"the loader checks {product.product} has a benchmark"
    return benchmark


def year_allocation(
    entity: Entity, regime: Regime, year: int, years_elapsed: int
) -> YearAllocation:
    """Return the entity's free allocation for `year` (the rules in the module docstring)."""
    if entity.allocation.share is not None:
        share_t = math.floor(entity.allocation.share * forecast_t(entity, years_elapsed))
        return YearAllocation(share_t, share_t)
    rule = rule_of(entity, regime, year)
    data = entity.data
    if rule.method is AllocationMethod.GRANDPARENTING:
        assert data.historic_emissions_t is not None, entity.entity_id
        total = rules.allocate_for_year(
            rule, year=year, historic_emissions_t=data.historic_emissions_t
        )
        return _both(_free_part(total, rule))
    if rule.method is AllocationMethod.BASE_YEAR:
        assert data.base_year_emissions_t is not None, entity.entity_id
        period_year = year - regime.calendar.period_of(year) + 1
        base = data.base_year_emissions_t
        total = rules.allocate_for_year(
            rule, year=year, base_year_emissions_t=base, years=period_year
        ) - (
            rules.allocate_for_year(
                rule, year=year, base_year_emissions_t=base, years=period_year - 1
            )
            if period_year > 1
            else 0
        )
        return _both(_free_part(total, rule))
    if rule.method is AllocationMethod.BENCHMARK:
        total = sum(
            rules.allocate_for_year(
                rule,
                year=year,
                output_units=output_units(entity, product, years_elapsed),
                benchmark_t_per_unit=benchmark_of(product, rule),
            )
            for product in data.products
        )
        return _both(_free_part(total, rule))
    assert rule.method is AllocationMethod.INTENSITY_BENCHMARK, rule.method
    preallocated = 0
    final = 0
    for product in data.products:
        assert product.reference_output is not None, entity.entity_id
        benchmark = benchmark_of(product, rule)
        pre_t = rules.allocate_for_year(
            rule, year=year, reference_output=product.reference_output, benchmark=benchmark
        )
        actual = output_units(entity, product, years_elapsed)
        preallocated += pre_t
        final += pre_t + rules.china_true_up_t(actual, benchmark, pre_t)
    return YearAllocation(_free_part(preallocated, rule), _free_part(final, rule))


def _free_part(total_t: int, rule: AllocationRule) -> int:
    """Return what the entity gets of `total_t`: less the auction share and the reserve."""
    free_t = rules.split_auction_share(total_t, rule.auction_share).free_t
    reserve_t = rules.new_entrant_reserve_t(total_t, rule.new_entrant_reserve_share)
    return max(0, free_t - reserve_t)


def _both(total_t: int) -> YearAllocation:
    return YearAllocation(total_t, total_t)


__all__ = ["YearAllocation", "forecast_t", "output_units", "rule_of", "year_allocation"]
