"""`assess_link` and `etslink assess-link` on the shipped presets.

Figures are the presets' (fixtures/jurisdictions/*.toml), whose sources are
shared/DOMAIN.md and the FNI report (FNI Report 2/2021); each test names the
figures it turns on.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.presets import list_presets, load_preset
from compliance.regime import ConservativeEstimate, EstimateRule, Regime
from etslink.cli import cli
from etslink.link_assessment import LinkAssessment, Verdict, assess_link

KEYS = list_presets()


@cache
def preset(key: str) -> Regime:
    return load_preset(key)


def assess(a: str, b: str, year: int = 2020) -> LinkAssessment:
    return assess_link(preset(a), preset(b), year)


def verdict(a: str, b: str, key: str, year: int = 2020) -> Verdict:
    return assess(a, b, year).point(key).verdict


# ---------------------------------------------------------------- cap type and ambition


def test_eu_absolute_vs_china_intensity_cap_is_a_barrier() -> None:
    # EU absolute cap vs China's tradable performance standard (FNI: China intensity-based).
    point = assess("eu", "china-national").point("cap-type")
    assert point.verdict is Verdict.BARRIER
    assert (point.a.value, point.b.value) == ("absolute", "intensity")
    assert "absolute [U]" in point.why  # eu.toml lists regime.cap_type as unverified


def test_korea_and_eu_absolute_caps_are_compatible() -> None:
    assert verdict("korea", "eu", "cap-type") is Verdict.COMPATIBLE


def test_ambition_cannot_be_judged_from_the_presets() -> None:
    point = assess("korea", "china-national").point("ambition")
    assert point.verdict is Verdict.UNKNOWN
    assert "cannot be judged" in point.why


# ---------------------------------------------------------------- coverage


def test_eu_three_gas_families_vs_swiss_seven_need_harmonisation() -> None:
    # eu.toml: CO2, N2O, PFCs [U]; switzerland.toml: seven families (CO2 Ordinance Art. 1).
    point = assess("eu", "switzerland").point("gases")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert point.a.value == "CO2, N2O, PFCs" and point.a.unverified
    assert "only switzerland: CH4, HFCs, SF6, NF3" in point.why


def test_california_and_quebec_cover_the_same_gases() -> None:
    assert verdict("california", "quebec", "gases") is Verdict.COMPATIBLE


def test_korea_indirect_vs_china_direct_only_risks_double_counting() -> None:
    # Korea counts electricity use [U]; China national counts direct CO2 only [U].
    point = assess("korea", "china-national").point("indirect-emissions")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert (point.a.value, point.b.value) == ("direct and indirect", "direct only")
    assert point.a.unverified and point.b.unverified
    assert "counted on both" in point.why


def test_tokyo_and_saitama_both_count_indirect_emissions() -> None:
    assert verdict("tokyo", "saitama", "indirect-emissions") is Verdict.COMPATIBLE


# ---------------------------------------------------------------- offsets


def test_korea_ten_percent_offsets_vs_china_five_percent_ccer_need_harmonisation() -> None:
    # Korea offsets <= 10% in phases 1-2, international <= 5% in phase 2 (FNI);
    # China CCER <= 5% (FNI, [U] in primary sources).
    point = assess("korea", "china-national").point("offsets")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert point.a.value == "offsets ≤ 10%, international ≤ 5%"
    assert point.b.value == "offsets ≤ 5%"
    assert not point.a.unverified and point.b.unverified
    assert "≤ 5% [U]" in point.why


def test_korea_phase_1_domestic_offsets_only_are_shown_as_such() -> None:
    # Korea phase 1: offsets <= 10%, domestic only (FNI).
    point = assess("korea", "china-national", 2015).point("offsets")
    assert point.a.value == "offsets ≤ 10%, domestic only"


def test_eu_without_offsets_vs_china_ccer_is_a_barrier_as_offsets_leak_through() -> None:
    point = assess("eu", "china-national").point("offsets")
    assert point.verdict is Verdict.BARRIER
    assert point.a.value == "no offsets"
    assert "freed up" in point.why


def test_eu_and_switzerland_both_without_offsets_are_compatible() -> None:
    assert verdict("eu", "switzerland", "offsets") is Verdict.COMPATIBLE


def test_california_and_quebec_eight_percent_offsets_match_in_2020_but_not_in_2021() -> None:
    # California 8% to 2020, 4% 2021-25 (17 CCR §95854); quebec.toml keeps 8%.
    assert verdict("california", "quebec", "offsets", 2020) is Verdict.COMPATIBLE
    point = assess("california", "quebec", 2021).point("offsets")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert (point.a.value, point.b.value) == ("offsets ≤ 4%", "offsets ≤ 8%")


# ---------------------------------------------------------------- prices and supply


def test_california_and_quebec_share_the_floor_mechanism() -> None:
    # Auction reserve price 10 in 2012 rising 5% a year (MELCCFP; DOMAIN.md).
    point = assess("california", "quebec").point("price-floor")
    assert point.verdict is Verdict.COMPATIBLE
    assert point.a.value == "USD 10 in 2012 + 5%/yr (USD 14.77 in 2020)"
    assert point.b.value == "CAD 10 in 2012 + 5%/yr (CAD 14.77 in 2020)"
    assert point.b.unverified  # quebec.toml: stability.price_floor_minor [U]


def test_a_floor_on_one_side_only_needs_harmonisation() -> None:
    assert verdict("california", "eu", "price-floor") is Verdict.NEEDS_HARMONISATION


def test_california_ceiling_against_quebec_without_one_caps_the_joint_price() -> None:
    # California USD 65 from 2021 (17 CCR §95915); quebec.toml sets no ceiling.
    point = assess("california", "quebec", 2021).point("price-ceiling")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert point.a.value == "USD 65 in 2021 + 5%/yr (USD 65 in 2021)"
    assert point.b.value == "none"
    assert "caps the joint price" in point.why


def test_no_ceilings_on_either_side_are_compatible() -> None:
    assert verdict("eu", "switzerland", "price-ceiling") is Verdict.COMPATIBLE


def test_korea_reserve_release_vs_china_none_needs_harmonisation() -> None:
    # Korea: 6 months at >= 3x the 2-year average, release <= 25% (FNI; IETA).
    point = assess("korea", "china-national").point("supply-reserve")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert "3× the 2-year average for 6 months" in point.a.value
    assert point.b.value == "none"


def test_korea_intervention_is_recorded_and_china_not_in_the_data() -> None:
    point = assess("korea", "china-national").point("intervention")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert "reserve sale" in point.a.value
    assert point.b.value == "not in the data"


def test_shenzhen_government_reserve_sales_need_agreement_with_beijing() -> None:
    # Shenzhen: "The government can sell reserve allowances at a fixed price" (GIZ [P]).
    point = assess("shenzhen", "beijing").point("intervention")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert "government can" in point.a.value


def test_intervention_absent_from_both_presets_is_unknown() -> None:
    assert verdict("eu", "switzerland", "intervention") is Verdict.UNKNOWN


# ---------------------------------------------------------------- banking and borrowing


def test_kazakhstan_banking_within_a_phase_vs_eu_across_phases_needs_harmonisation() -> None:
    point = assess("kazakhstan", "eu").point("banking")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert (point.a.value, point.b.value) == ("banking within a phase", "banking across phases")


def test_korea_ten_percent_borrowing_vs_eu_none_needs_harmonisation() -> None:
    point = assess("korea", "eu").point("borrowing")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert point.a.value == "borrowing ≤ 10% of the obligation" and point.a.unverified
    assert verdict("eu", "switzerland", "borrowing") is Verdict.COMPATIBLE


# ---------------------------------------------------------------- MRV


def test_california_ar4_vs_eu_ar5_counts_methane_25_vs_28() -> None:
    # CH4: AR4 25, AR5 28 (compliance/gases.py, IPCC WG1); California covers CH4 [U].
    point = assess("california", "eu").point("gwp-set")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert (point.a.value, point.b.value) == ("AR4", "AR5")
    assert "CH4 counts 25 vs 28" in point.why


def test_korea_sar_vs_china_ar5_counts_methane_21_vs_28() -> None:
    point = assess("korea", "china-national").point("gwp-set")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert "CH4 counts 21 vs 28" in point.why


def test_different_gwp_sets_over_co2_only_are_compatible() -> None:
    # Tokyo AR4 and Beijing AR5 both cover CO2 only, whose GWP is 1 in every set.
    assert verdict("tokyo", "beijing", "gwp-set") is Verdict.COMPATIBLE


def test_california_report_10_april_vs_quebec_1_june_needs_harmonisation() -> None:
    point = assess("california", "quebec").point("mrv-reporting")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert point.a.value.startswith("report 10 Apr") and point.b.value.startswith("report 1 Jun")
    assert verdict("korea", "china-national", "mrv-reporting") is Verdict.COMPATIBLE


def test_conservative_estimates_differ_only_when_the_rule_does() -> None:
    # Every preset ships the same [U] default: the highest of the previous 3 years.
    assert verdict("korea", "eu", "mrv-estimates") is Verdict.COMPATIBLE
    milder = replace(
        preset("eu"), estimate=ConservativeEstimate(EstimateRule.LAST_VERIFIED_PLUS_UPLIFT)
    )
    point = assess_link(preset("korea"), milder).point("mrv-estimates")
    assert point.verdict is Verdict.NEEDS_HARMONISATION


# ---------------------------------------------------------------- penalties


def test_saitama_without_penalty_linked_to_tokyo_is_a_barrier() -> None:
    # Saitama: no penalty, not legally binding (Springer chapter [P]); Tokyo 1.3x [U].
    point = assess("tokyo", "saitama").point("penalty")
    assert point.verdict is Verdict.BARRIER
    assert (point.a.value, point.b.value) == ("1.3× the shortfall owed in units", "no penalty")


def test_california_4x_and_quebec_3x_plus_the_shortfall_are_the_same_level() -> None:
    # California 4x including the shortfall (17 CCR §95857); Québec 3x plus the shortfall
    # (s. 22), in the preset as an added obligation of 4.
    assert verdict("california", "quebec", "penalty") is Verdict.COMPATIBLE


def test_korea_3x_price_vs_china_10x_plus_make_good_needs_harmonisation() -> None:
    point = assess("korea", "china-national").point("penalty")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert "KRW 100,000/t" in point.a.value


def test_eu_100_euro_vs_swiss_125_franc_penalty_needs_an_exchange_rate() -> None:
    point = assess("eu", "switzerland").point("penalty")
    assert point.verdict is Verdict.UNKNOWN
    assert point.a.value == "EUR 100/t, shortfall still owed"
    assert point.b.value == "CHF 125/t, shortfall still owed" and point.b.unverified


def test_penalty_kinds_that_differ_need_harmonisation() -> None:
    assert verdict("eu", "china-national", "penalty") is Verdict.NEEDS_HARMONISATION


def test_penalty_twice_another_of_the_same_kind_leaks_compliance_pressure() -> None:
    cheap = replace(preset("eu"), penalty=replace(preset("eu").penalty, fixed_per_t_minor=5_000))
    point = assess_link(preset("eu"), cheap).point("penalty")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    just_under = replace(cheap, penalty=replace(cheap.penalty, fixed_per_t_minor=5_001))
    assert assess_link(preset("eu"), just_under).point("penalty").verdict is Verdict.COMPATIBLE


# ---------------------------------------------------------------- summary


def test_california_quebec_from_2021_recommends_harmonising_price_floors_first() -> None:
    # From 2021 California's USD 65 ceiling is in force and quebec.toml has none.
    assessment = assess("california", "quebec", 2021)
    assert assessment.recommendation == (
        "stepwise linking: harmonise price floors first, then offsets, mrv-reporting"
    )


def test_california_quebec_in_2020_only_need_reporting_dates_aligned() -> None:
    # 2020: same floors, no ceiling in force yet, offsets 8% on both, reports 10 Apr vs 1 Jun.
    assessment = assess("california", "quebec", 2020)
    ceiling = assessment.point("price-ceiling")
    assert ceiling.verdict is Verdict.COMPATIBLE
    assert ceiling.a.value == "USD 65 in 2021 + 5%/yr (not yet in force in 2020)"
    assert assessment.recommendation == "linkable after harmonising: mrv-reporting"


def test_eu_china_recommends_no_direct_link_while_caps_differ() -> None:
    assessment = assess("eu", "china-national")
    assert assessment.recommendation.startswith("no direct link yet")
    assert assessment.counts()[Verdict.BARRIER] == 2  # cap type, offsets


def test_eu_switzerland_is_linkable_after_harmonising_gases() -> None:
    assert assess("eu", "switzerland").recommendation == "linkable after harmonising: gases"


def test_counts_add_up_to_the_points() -> None:
    assessment = assess("korea", "china-national")
    assert sum(assessment.counts().values()) == len(assessment.points) == 15


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(KEYS), st.sampled_from(KEYS), st.sampled_from([2015, 2020, 2021, 2026]))
def test_assessment_mirrors_with_the_sides_swapped(a: str, b: str, year: int) -> None:
    forward, backward = assess(a, b, year), assess(b, a, year)
    assert [p.key for p in forward.points] == [p.key for p in backward.points]
    for there, back in zip(forward.points, backward.points, strict=True):
        assert there.verdict is back.verdict, there.key
        assert (there.a, there.b) == (back.b, back.a), there.key
    assert forward.recommendation == backward.recommendation


# ---------------------------------------------------------------- CLI


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_prints_the_table_and_summary() -> None:
    result = _run("assess-link", "korea", "china-national")
    assert result.exit_code == 0, result.output
    output = result.output
    assert "BARRIER" in output and "Recommendation" in output
    assert "COMPATIBLE 5, NEEDS_HARMONISATION 8, BARRIER 1, UNKNOWN 1" in output


def test_cli_unknown_preset_is_a_usage_error_listing_the_known_keys() -> None:
    result = _run("assess-link", "korea", "atlantis")
    assert result.exit_code == 2
    assert "atlantis" in result.output and ", ".join(KEYS) in result.output


def test_cli_refuses_a_preset_linked_to_itself() -> None:
    result = _run("assess-link", "eu", "eu")
    assert result.exit_code == 2
    assert "two different presets" in result.output


def test_cli_json_carries_every_point_of_the_assessment() -> None:
    result = _run("assess-link", "california", "quebec", "--json", "--year", "2021")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = assess("california", "quebec", 2021)
    assert data["schema"] == "etslink.assess-link/1"
    assert (data["a"], data["b"], data["year"]) == ("california", "quebec", 2021)
    assert data["recommendation"] == expected.recommendation
    assert [
        (row["key"], row["verdict"], row["why"], row["a_value"], row["b_unverified"])
        for row in data["points"]
    ] == [
        (point.key, point.verdict.value, point.why, point.a.value, point.b.unverified)
        for point in expected.points
    ]
    # 2021: offsets 4% vs 8%, California's USD 65 ceiling, reports 10 Apr vs 1 Jun.
    assert data["counts"]["NEEDS_HARMONISATION"] == 3


def test_from_data_refuses_counts_that_do_not_match_the_points() -> None:
    data = assess("eu", "switzerland").to_data()
    data["counts"]["BARRIER"] += 1
    with pytest.raises(ValueError, match="do not match"):
        LinkAssessment.from_data(data)


def test_beijing_five_percent_vs_shenzhen_ten_percent_offsets_read_exactly() -> None:
    # Beijing offsets <= 5% [P]; Shenzhen CCERs <= 10% (GIZ [P]): Fractions shown exactly.
    point = assess("beijing", "shenzhen").point("offsets")
    assert point.verdict is Verdict.NEEDS_HARMONISATION
    assert (point.a.value, point.b.value) == ("offsets ≤ 5%", "offsets ≤ 10%")
