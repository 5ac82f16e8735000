"""Surrender eligibility and quantitative limits, judged on the whole surrender."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.calendar import Calendar, DeadlineKind, DeadlineRule, Phase
from compliance.errors import ComplianceCode, ComplianceError
from compliance.gases import Gas
from compliance.regime import (
    AllocationMethod,
    AllocationRule,
    CapType,
    ConservativeEstimate,
    Coverage,
    EstimateRule,
    PenaltyKind,
    PenaltyRule,
    QuantitativeLimit,
    Regime,
    SurrenderRules,
    UnitOrigin,
)
from compliance.surrender_rules import assess_surrender, compliance_value
from registry.units import UnitBlock, UnitKind, UnitType

OFFSETS = frozenset({UnitKind.OFFSET_CREDIT})
UNIT_TYPES = {
    "KAU": UnitType("KAU", UnitKind.ALLOWANCE, "KR"),
    "KCU": UnitType("KCU", UnitKind.OFFSET_CREDIT, "KR"),
    "CER": UnitType("CER", UnitKind.OFFSET_CREDIT, "UN"),
    "CEA": UnitType("CEA", UnitKind.ALLOWANCE, "CN"),
    "SZA": UnitType("SZA", UnitKind.ALLOWANCE, "SZ"),
}


def korea_phase2(**changes: object) -> Regime:
    """Korea phase 2: offsets <= 10% of the obligation, international <= 5% (FNI; ICAP news 530)."""
    regime = Regime(
        key="korea-test",
        name="Korea ETS",
        registry_code="KR",
        currency="KRW",
        cap_type=CapType.ABSOLUTE,
        gwp_set="SAR",
        coverage=Coverage(frozenset(Gas), True, 125_000, 25_000),
        calendar=Calendar(
            2015,
            1,
            (DeadlineRule(DeadlineKind.SURRENDER_DUE, 1, 6, 30),),
            (Phase("1", 2015, 2017), Phase("2", 2018, 2020), Phase("3", 2021, 2025)),
        ),
        allocation=(AllocationRule(AllocationMethod.GRANDPARENTING, 2015, 2025),),
        surrender=SurrenderRules(
            eligible_unit_types=frozenset({"KAU", "KCU", "CER"}),
            limits=(
                QuantitativeLimit(
                    "offsets", Fraction(10, 100), OFFSETS, UnitOrigin.ANY, 2018, 2020
                ),
                QuantitativeLimit(
                    "international offsets",
                    Fraction(5, 100),
                    OFFSETS,
                    UnitOrigin.INTERNATIONAL,
                    2018,
                    2020,
                ),
            ),
        ),
        penalty=PenaltyRule(PenaltyKind.MARKET_PRICE_MULTIPLE, make_good=False),
        estimate=ConservativeEstimate(EstimateRule.HIGHEST_OF_PREVIOUS_YEARS),
    )
    return replace(regime, **changes)  # type: ignore[arg-type]


def block(unit_type: str, quantity: int, vintage: int = 2019, start: int = 1) -> UnitBlock:
    origin = UNIT_TYPES[unit_type].origin
    project = "" if UNIT_TYPES[unit_type].kind is UnitKind.ALLOWANCE else "P-1"
    return UnitBlock(origin, unit_type, vintage, start, start + quantity - 1, project)


def refused(code: ComplianceCode, **arguments: object) -> ComplianceError:
    with pytest.raises(ComplianceError) as caught:
        assess_surrender(**arguments)  # type: ignore[arg-type]
    assert caught.value.code is code, caught.value
    return caught.value


def test_korea_phase2_offsets_up_to_10_percent_are_accepted() -> None:
    assessment = assess_surrender(
        korea_phase2(),
        2019,
        10_000,
        UNIT_TYPES,
        [block("KAU", 9_000)],
        [block("KCU", 500), block("CER", 500, start=1)],
    )
    assert assessment.total_value == 10_000
    assert [use.used_t for use in assessment.limits] == [1_000, 500]


def test_korea_phase2_offsets_over_10_percent_are_refused_icap_news_530() -> None:
    error = refused(
        ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED,
        regime=korea_phase2(),
        period=2019,
        obligation_t=10_000,
        unit_types=UNIT_TYPES,
        prior=[block("KCU", 900)],
        new=[block("KCU", 101, start=901)],
    )
    assert "1,001 t of 10,000 t is 10.01%, over the cap of 10% (1,000 t)" in error.message


def test_one_tonne_over_a_10_percent_cap_shows_shares_that_differ_icap_news_530() -> None:
    # Korea phase 2: offsets <= 10% of the obligation (ICAP news 530); a share
    # rounded to two places would read "10% exceeds the cap 10%".
    error = refused(
        ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED,
        regime=korea_phase2(),
        period=2019,
        obligation_t=1_000_000,
        unit_types=UNIT_TYPES,
        prior=[],
        new=[block("KCU", 100_001)],
    )
    assert error.message == (
        "offsets limit: 100,001 t of 1,000,000 t is 10.0001%, over the cap of 10% "
        "(100,000 t), for period 2019"
    )


def test_korea_phase2_international_offsets_over_5_percent_are_refused_icap_news_530() -> None:
    refused(
        ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED,
        regime=korea_phase2(),
        period=2019,
        obligation_t=10_000,
        unit_types=UNIT_TYPES,
        prior=[],
        new=[block("CER", 501)],
    )


def test_limit_of_another_phase_does_not_apply() -> None:
    assessment = assess_surrender(
        korea_phase2(), 2016, 10_000, UNIT_TYPES, [], [block("CER", 3_000, vintage=2016)]
    )
    assert assessment.limits == ()


def test_offsets_before_emissions_are_verified_are_refused_with_the_reason() -> None:
    refused(
        ComplianceCode.NO_VERIFIED_EMISSIONS,
        regime=korea_phase2(),
        period=2019,
        obligation_t=None,
        unit_types=UNIT_TYPES,
        prior=[],
        new=[block("KCU", 1)],
    )
    # Allowances are not limited, so they may be surrendered early.
    assess_surrender(korea_phase2(), 2019, None, UNIT_TYPES, [], [block("KAU", 1)])


def test_unit_type_not_eligible_is_refused() -> None:
    refused(
        ComplianceCode.UNIT_NOT_ELIGIBLE,
        regime=korea_phase2(),
        period=2019,
        obligation_t=10_000,
        unit_types=UNIT_TYPES,
        prior=[],
        new=[block("CEA", 1)],
    )


def test_pilot_allowances_are_not_valid_nationally_fni() -> None:
    """China: pilot allowances cannot be used in the national system (FNI) [U in primary]."""
    regime = korea_phase2(
        registry_code="CN",
        surrender=SurrenderRules(
            eligible_unit_types=frozenset({"CEA", "SZA"}), ineligible_origins=frozenset({"SZ"})
        ),
    )
    refused(
        ComplianceCode.UNIT_NOT_ELIGIBLE,
        regime=regime,
        period=2019,
        obligation_t=10_000,
        unit_types=UNIT_TYPES,
        prior=[],
        new=[block("SZA", 1)],
    )


def test_banked_units_need_banking_and_across_phases_need_that_too() -> None:
    assess_surrender(korea_phase2(), 2019, 10_000, UNIT_TYPES, [], [block("KAU", 5, vintage=2018)])
    no_banking = korea_phase2(surrender=SurrenderRules(frozenset({"KAU"}), banking=False))
    refused(
        ComplianceCode.VINTAGE_NOT_ELIGIBLE,
        regime=no_banking,
        period=2019,
        obligation_t=10_000,
        unit_types=UNIT_TYPES,
        prior=[],
        new=[block("KAU", 5, vintage=2018)],
    )
    within_phase = korea_phase2(
        surrender=SurrenderRules(frozenset({"KAU"}), banking_across_phases=False)
    )
    assess_surrender(within_phase, 2019, 10_000, UNIT_TYPES, [], [block("KAU", 5, vintage=2018)])
    refused(
        ComplianceCode.VINTAGE_NOT_ELIGIBLE,
        regime=within_phase,
        period=2019,
        obligation_t=10_000,
        unit_types=UNIT_TYPES,
        prior=[],
        new=[block("KAU", 5, vintage=2017)],
    )


def test_borrowing_is_refused_without_a_limit_and_capped_with_one() -> None:
    refused(
        ComplianceCode.VINTAGE_NOT_ELIGIBLE,
        regime=korea_phase2(),
        period=2019,
        obligation_t=10_000,
        unit_types=UNIT_TYPES,
        prior=[],
        new=[block("KAU", 5, vintage=2020)],
    )
    borrowing = korea_phase2(
        surrender=SurrenderRules(frozenset({"KAU"}), borrowing_share_max=Fraction(10, 100))
    )
    assessment = assess_surrender(
        borrowing, 2019, 10_000, UNIT_TYPES, [], [block("KAU", 1_000, vintage=2020)]
    )
    assert assessment.borrowed_t == 1_000
    refused(
        ComplianceCode.BORROWING_LIMIT_EXCEEDED,
        regime=borrowing,
        period=2019,
        obligation_t=10_000,
        unit_types=UNIT_TYPES,
        prior=[block("KAU", 1_000, vintage=2020)],
        new=[block("KAU", 1, vintage=2020, start=1_001)],
    )


@given(
    obligation=st.integers(min_value=1, max_value=1_000_000),
    offsets=st.lists(st.integers(min_value=1, max_value=60_000), max_size=6),
)
def test_no_accepted_surrender_ever_exceeds_a_limit(obligation: int, offsets: list[int]) -> None:
    regime = korea_phase2()
    accepted: list[UnitBlock] = []
    start = 1
    for quantity in offsets:
        new = block("KCU", quantity, start=start)
        start += quantity
        try:
            assess_surrender(regime, 2019, obligation, UNIT_TYPES, accepted, [new])
        except ComplianceError as error:
            assert error.code is ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED
            assert (sum(b.quantity for b in accepted) + quantity) * 10 > obligation
            continue
        accepted.append(new)
        assert sum(b.quantity for b in accepted) * 10 <= obligation


def test_foreign_units_count_at_the_link_exchange_rate() -> None:
    rate = {"KAU": Fraction(1), "CEA": Fraction(1, 2)}
    value = compliance_value(
        [block("KAU", 100), block("CEA", 100)], UNIT_TYPES, lambda t: rate.get(t.code)
    )
    assert value == 150
