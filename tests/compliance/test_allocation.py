"""Free allocation: real rules by example; scaling and true-up invariants by property."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.allocation import (
    AuctionSplit,
    allocate_for_year,
    base_year_cap_t,
    benchmark_t,
    china_preallocation_t,
    china_true_up_t,
    grandparenting_t,
    new_entrant_reserve_t,
    scale_to_sectoral_cap,
    split_auction_share,
)
from compliance.errors import ComplianceCode, ComplianceError
from compliance.regime import AllocationMethod, AllocationRule

# China's 2019-20 benchmark for a conventional coal unit of 300 MW or more,
# tCO2 per MWh; any Fraction would do for the arithmetic below.
COAL_BENCHMARK_T_PER_MWH = Fraction(877, 1000)

CHINA_RULE = AllocationRule(
    method=AllocationMethod.INTENSITY_BENCHMARK,
    first_year=2019,
    last_year=2020,
    preallocation_share=Fraction(7, 10),
)
TOKYO_PERIOD_1_RULE = AllocationRule(
    method=AllocationMethod.BASE_YEAR,
    first_year=2010,
    last_year=2014,
    compliance_factor=Fraction(8, 100),
)


def _refused_code(call: object) -> ComplianceCode:
    assert callable(call)
    with pytest.raises(ComplianceError) as caught:
        call()
    code = caught.value.code
    assert isinstance(code, ComplianceCode)
    return code


# --- China: pre-allocation and true-up (ICAP news 804) ---------------------------------------


def test_china_preallocates_70_percent_of_2018_output_times_benchmark() -> None:
    # ICAP news 804: pre-allocation = 70% of 2018 output × benchmark.
    output_2018_mwh = 1_000_000
    assert china_preallocation_t(output_2018_mwh, COAL_BENCHMARK_T_PER_MWH, Fraction(7, 10)) == (
        613_900
    )


def test_china_preallocation_rounds_the_exact_product_down_once() -> None:
    # 7/10 × 1,001 × 1 = 700.7 t: rounded down to 700, never up.
    assert china_preallocation_t(1_001, Fraction(1), Fraction(7, 10)) == 700


def test_china_true_up_issues_the_rest_when_actual_output_exceeds_the_reference() -> None:
    # ICAP news 804: ex-post true-up to actual output × benchmark.
    preallocated_t = 613_900
    assert china_true_up_t(1_100_000, COAL_BENCHMARK_T_PER_MWH, preallocated_t) == 350_800


def test_china_true_up_claws_back_when_actual_output_falls_short() -> None:
    preallocated_t = 613_900
    assert china_true_up_t(600_000, COAL_BENCHMARK_T_PER_MWH, preallocated_t) == -87_700


def test_allocate_for_year_under_china_rule_returns_the_preallocation() -> None:
    allocated_t = allocate_for_year(
        CHINA_RULE, year=2019, reference_output=1_000_000, benchmark=COAL_BENCHMARK_T_PER_MWH
    )
    assert allocated_t == 613_900


# --- Tokyo / Saitama: base-year caps (TMG 2016; C40) ----------------------------------------


def test_tokyo_first_period_cap_is_base_year_times_92_percent_times_5_years() -> None:
    # TMG: FY2010-14 compliance factor 8% (or 6%); cap = base × (1 − factor) × 5 years.
    assert base_year_cap_t(10_000, Fraction(8, 100), 5) == 46_000


def test_tokyo_period_cap_through_allocate_for_year_uses_the_rule_factor() -> None:
    allocated_t = allocate_for_year(
        TOKYO_PERIOD_1_RULE, year=2010, base_year_emissions_t=12_345, years=5
    )
    # 12,345 × 0.92 × 5 = 56,787 exactly.
    assert allocated_t == 56_787


def test_base_year_cap_rounds_the_period_down_once() -> None:
    # 1,001 × 0.94 = 940.94 per year; over 5 years 4,704.7 → 4,704 (not 5 × 940 = 4,700).
    assert base_year_cap_t(1_001, Fraction(6, 100), 5) == 4_704
    assert base_year_cap_t(1_001, Fraction(6, 100), 1) == 940


# --- Korea: auction shares (ICAP news 530) ----------------------------------------------------


def test_korea_phase_2_auctions_at_least_3_percent() -> None:
    # ICAP news 530: >= 3% auctioned from phase 2 (2018-20).
    split = split_auction_share(1_000_001, Fraction(3, 100))
    assert split == AuctionSplit(free_t=970_000, auction_t=30_001)
    assert split.auction_t >= Fraction(3, 100) * 1_000_001


def test_korea_phase_3_auctions_at_least_10_percent_and_unpacks_as_a_pair() -> None:
    # ICAP ETS page 47: >= 10% auctioned in eligible sectors in phase 3 (2021-25).
    free_t, auction_t = split_auction_share(589_300_000, Fraction(10, 100))
    assert (free_t, auction_t) == (530_370_000, 58_930_000)


# --- The other methods -----------------------------------------------------------------------


def test_grandparenting_rounds_historic_emissions_times_factor_down() -> None:
    assert grandparenting_t(999, Fraction(1, 2)) == 499


def test_benchmark_allocation_rounds_output_times_benchmark_down() -> None:
    assert benchmark_t(3, Fraction(1, 3)) == 1
    assert benchmark_t(2, Fraction(1, 3)) == 0


def test_new_entrant_reserve_never_exceeds_its_share() -> None:
    assert new_entrant_reserve_t(1_999, Fraction(5, 100)) == 99


def test_allocate_for_year_dispatches_grandparenting_and_benchmark() -> None:
    grandparenting = AllocationRule(
        AllocationMethod.GRANDPARENTING, 2018, 2020, grandparenting_factor=Fraction(97, 100)
    )
    benchmark = AllocationRule(AllocationMethod.BENCHMARK, 2021, 2021)
    assert allocate_for_year(grandparenting, year=2019, historic_emissions_t=100_000) == 97_000
    assert (
        allocate_for_year(
            benchmark, year=2021, output_units=2_000, benchmark_t_per_unit=Fraction(9, 10)
        )
        == 1_800
    )


# --- Refusals --------------------------------------------------------------------------------


def test_allocate_for_year_outside_the_rule_is_refused_as_period_invalid() -> None:
    code = _refused_code(
        lambda: allocate_for_year(TOKYO_PERIOD_1_RULE, year=2015, base_year_emissions_t=1, years=5)
    )
    assert code is ComplianceCode.PERIOD_INVALID


def test_allocate_for_year_with_missing_or_extra_inputs_is_refused() -> None:
    with pytest.raises(ComplianceError, match=r"needs inputs \['benchmark', 'reference_output'\]"):
        allocate_for_year(CHINA_RULE, year=2019, reference_output=1)
    code = _refused_code(
        lambda: allocate_for_year(
            CHINA_RULE, year=2019, reference_output=1, benchmark=Fraction(1), actual_output=2
        )
    )
    assert code is ComplianceCode.ALLOCATION_INPUT_INVALID


@pytest.mark.parametrize(
    "call",
    [
        lambda: grandparenting_t(-1, Fraction(1)),
        lambda: grandparenting_t(10, Fraction(3, 2)),
        lambda: benchmark_t(-5, Fraction(1)),
        lambda: benchmark_t(5, Fraction(-1)),
        lambda: benchmark_t(5, 0.5),  # type: ignore[arg-type]
        lambda: china_preallocation_t(10, Fraction(1), Fraction(-1, 10)),
        lambda: china_true_up_t(10, Fraction(1), -1),
        lambda: base_year_cap_t(10, Fraction(8, 100), 0),
        lambda: base_year_cap_t(True, Fraction(8, 100), 5),
        lambda: split_auction_share(10, Fraction(11, 10)),
        lambda: new_entrant_reserve_t(-1, Fraction(1, 10)),
        lambda: scale_to_sectoral_cap({"a": -1}, 10),
        lambda: scale_to_sectoral_cap({"a": 1}, -10),
    ],
)
def test_invalid_allocation_input_is_refused_with_allocation_input_invalid(call: object) -> None:
    assert _refused_code(call) is ComplianceCode.ALLOCATION_INPUT_INVALID


def test_refusal_message_says_what_was_expected_and_found() -> None:
    with pytest.raises(ComplianceError, match=r"share in \[0, 1\], was 3/2"):
        grandparenting_t(10, Fraction(3, 2))
    with pytest.raises(
        ComplianceError, match=r"must be a Fraction or an integer, was 0.5 \(float\)"
    ):
        benchmark_t(5, 0.5)  # type: ignore[arg-type]


# --- Sectoral scaling by example ----------------------------------------------------------


def test_sectoral_scaling_leaves_requests_within_the_cap_unchanged() -> None:
    requests = {"KR-0002": 400, "KR-0001": 600}
    assert scale_to_sectoral_cap(requests, 1_000) == requests


def test_sectoral_scaling_hands_leftover_tonnes_to_the_largest_remainders() -> None:
    # 7 t over requests 6/6/3 (15 t): quotas 2.8, 2.8, 1.4 → 2, 2, 1, and 2 t left for a and b.
    scaled = scale_to_sectoral_cap({"a": 6, "b": 6, "c": 3}, 7)
    assert scaled == {"a": 3, "b": 3, "c": 1}


def test_sectoral_scaling_breaks_remainder_ties_by_entity_id_whatever_the_order() -> None:
    assert scale_to_sectoral_cap({"b": 1, "a": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}
    assert scale_to_sectoral_cap({"c": 1, "b": 1, "a": 1}, 2) == {"a": 1, "b": 1, "c": 0}


# --- Properties ------------------------------------------------------------------------------

requests_strategy = st.dictionaries(
    st.text(alphabet="ABCDEFGH", min_size=1, max_size=3),
    st.integers(min_value=0, max_value=10_000_000),
    max_size=25,
)


@given(requests=requests_strategy, cap_t=st.integers(min_value=0, max_value=50_000_000))
def test_sectoral_scaling_sums_to_the_lesser_of_cap_and_requests_and_never_over_asks(
    requests: dict[str, int], cap_t: int
) -> None:
    scaled = scale_to_sectoral_cap(requests, cap_t)
    assert scaled.keys() == requests.keys()
    assert sum(scaled.values()) == min(cap_t, sum(requests.values()))
    assert sum(scaled.values()) <= cap_t
    assert all(0 <= scaled[entity] <= requests[entity] for entity in requests)


@given(requests=requests_strategy, cap_t=st.integers(min_value=0, max_value=50_000_000))
def test_sectoral_scaling_gives_a_larger_request_at_least_as_much(
    requests: dict[str, int], cap_t: int
) -> None:
    scaled = scale_to_sectoral_cap(requests, cap_t)
    for first in requests:
        for second in requests:
            if requests[first] > requests[second]:
                assert scaled[first] >= scaled[second]


@given(
    requests=requests_strategy.filter(bool),
    cap_t=st.integers(min_value=0, max_value=50_000_000),
    raise_t=st.integers(min_value=0, max_value=10_000_000),
    data=st.data(),
)
def test_raising_one_request_never_lowers_that_entitys_scaled_allocation(
    requests: dict[str, int], cap_t: int, raise_t: int, data: st.DataObject
) -> None:
    entity = data.draw(st.sampled_from(sorted(requests)))
    before = scale_to_sectoral_cap(requests, cap_t)[entity]
    after = scale_to_sectoral_cap({**requests, entity: requests[entity] + raise_t}, cap_t)[entity]
    assert after >= before


@given(requests=requests_strategy, cap_t=st.integers(min_value=0, max_value=50_000_000))
def test_sectoral_scaling_does_not_depend_on_input_order(
    requests: dict[str, int], cap_t: int
) -> None:
    reversed_requests = dict(reversed(list(requests.items())))
    assert scale_to_sectoral_cap(requests, cap_t) == scale_to_sectoral_cap(reversed_requests, cap_t)


benchmarks = st.fractions(min_value=0, max_value=5, max_denominator=10_000)


@given(
    reference_output=st.integers(min_value=0, max_value=10**9),
    actual_output=st.integers(min_value=0, max_value=10**9),
    benchmark=benchmarks,
    share=st.fractions(min_value=0, max_value=1, max_denominator=1_000),
)
def test_preallocation_plus_true_up_is_actual_output_times_benchmark_rounded_down(
    reference_output: int, actual_output: int, benchmark: Fraction, share: Fraction
) -> None:
    preallocated_t = china_preallocation_t(reference_output, benchmark, share)
    true_up_t = china_true_up_t(actual_output, benchmark, preallocated_t)
    assert preallocated_t + true_up_t == math.floor(actual_output * benchmark)


@given(
    total_t=st.integers(min_value=0, max_value=10**10),
    share=st.fractions(min_value=0, max_value=1, max_denominator=1_000),
)
def test_auction_split_sums_to_total_and_auctions_at_least_the_share(
    total_t: int, share: Fraction
) -> None:
    free_t, auction_t = split_auction_share(total_t, share)
    assert free_t + auction_t == total_t
    assert auction_t >= share * total_t
    assert free_t <= (1 - share) * total_t
