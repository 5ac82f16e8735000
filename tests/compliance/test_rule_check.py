"""RuleCheck: a preset's registry and book in memory, checked against real rules in a few lines."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from compliance import (
    ComplianceCode,
    ComplianceError,
    Gas,
    RuleCheck,
    Status,
    UnknownPresetError,
)
from compliance.rule_check import VERIFIER_ID
from registry import CheckCode, RegistryError

DOCS_PAGE = Path(__file__).parents[2] / "docs" / "rule-checks.md"


def test_korea_offsets_over_the_10_percent_cap_are_refused_and_move_nothing_fni() -> None:
    # Korea: offsets <= 10% of the obligation in phases 1-2 (FNI; DOMAIN.md [V]).
    check = RuleCheck("korea", start="2015-01-01")
    firm = check.entity("steelworks")
    check.give(firm, "KAU", 900_000, vintage=2015)
    check.give(firm, "KCU", 100_001, vintage=2015)
    check.advance_to("2016-02-01")
    assert check.report(firm, 2015, tonnes=1_000_000) == 1_000_000
    check.surrender(firm, "KAU", 900_000, period=2015)
    before = check.registry.ledger.state_digest()
    with pytest.raises(ComplianceError) as refused:
        check.surrender(firm, "KCU", 100_001, period=2015)
    assert refused.value.code is ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED
    assert "100,001 t of 1,000,000 t" in refused.value.message
    assert check.registry.ledger.state_digest() == before
    check.surrender(firm, "KCU", 100_000, period=2015)
    check.advance_to("2016-07-01")
    outcome = check.outcome(firm, 2015)
    assert (outcome.status, outcome.shortfall_t, outcome.fine_minor) == (Status.COMPLIANT, 0, 0)
    assert [(u.unit_type, u.quantity_t, u.share) for u in outcome.surrendered] == [
        ("KAU", 900_000, Fraction(9, 10)),
        ("KCU", 100_000, Fraction(1, 10)),
    ]


def test_eu_shortfall_costs_100_euro_a_tonne_and_is_still_owed_dehst() -> None:
    # EU: EUR 100/t of excess emissions, and the missing allowances still owed (DEHSt [V]).
    check = RuleCheck("eu", start="2015-01-01")
    plant = check.entity("plant")
    check.give(plant, "EUA", 240_000, vintage=2015)
    check.advance_to("2016-02-01")
    check.report(plant, 2015, tonnes=250_000)
    check.surrender(plant, "EUA", 240_000, period=2015)
    [settled] = check.advance_to("2016-05-01")  # past the 30 April 2016 deadline
    assert settled == check.outcome(plant, 2015)
    assert (settled.status, settled.shortfall_t) == (Status.SHORTFALL, 10_000)
    assert settled.fine_minor == 100_000_000  # 10,000 t x EUR 100, in cents
    assert settled.carried_t == 10_000
    check.advance_to("2017-02-01")
    check.report(plant, 2016, tonnes=250_000)
    assert check.book.obligation_t(plant, 2016) == 260_000


def test_california_offsets_over_8_percent_are_refused_17_ccr_95854() -> None:
    # California: offsets <= 8% of the obligation to 2020 (17 CCR §95854 [V]).
    check = RuleCheck("california", start="2015-01-01")
    cement = check.entity("cement")
    check.give(cement, "CCA", 92_000, vintage=2015)
    check.give(cement, "ARBOC", 8_001, vintage=2015)
    check.advance_to("2016-02-01")
    check.report(cement, 2015, tonnes=100_000)
    with pytest.raises(ComplianceError) as refused:
        check.surrender(cement, "ARBOC", 8_001, period=2015)
    assert refused.value.code is ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED
    assert check.surrendered(cement, 2015) == ()
    check.surrender(cement, "ARBOC", 8_000, period=2015)
    check.surrender(cement, "CCA", 92_000, period=2015)
    [outcome] = check.advance_to("2016-11-02")  # past 1 November, 5 p.m. Pacific
    assert outcome.compliant
    assert outcome.share("ARBOC") == Fraction(8, 100)


def test_every_example_on_the_rule_checks_docs_page_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS_PAGE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 4  # the opening line and the three worked examples
    for index, block in enumerate(blocks):
        exec(compile(block, f"{DOCS_PAGE.name} block {index}", "exec"), {})


def test_korean_shortfall_is_fined_three_times_the_average_price_climate_laws() -> None:
    # Korea: up to 3x the year's average price, at most KRW 100,000/t (climate-laws.org [V]).
    check = RuleCheck("korea", start="2015-01-01")
    firm = check.entity("power")
    check.give(firm, "KAU", 1_000, vintage=2015)
    check.advance_to("2016-02-01")
    check.report(firm, 2015, tonnes=1_200)
    check.surrender(firm, "KAU", 1_000, period=2015)
    with pytest.raises(ComplianceError) as refused:
        check.advance_to("2016-07-01")
    assert refused.value.code is ComplianceCode.PRICE_SERIES_INVALID
    check.set_average_price(2015, 12_000)
    [outcome] = check.advance_to("2016-07-01")
    assert outcome.shortfall_t == 200
    assert outcome.fine_minor == 200 * 36_000


def test_reported_emissions_are_verified_by_an_accredited_verifier_in_co2e() -> None:
    check = RuleCheck("korea", start="2016-01-01")
    firm = check.entity("chemicals")
    # 2,000 t of CH4 at Korea's SAR GWP of 21, plus 10,000 t of CO2.
    assert check.report(firm, 2015, gases={"CH4": 2_000, Gas.CO2: 10_000}) == 52_000
    verified = check.book.mrv.verified_emissions(firm, 2015)
    assert (verified.t, verified.estimated, verified.verifier_id) == (52_000, False, VERIFIER_ID)
    assert check.report(firm, 2015, tonnes=60_000) == 60_000  # a correction: version 2
    assert len(check.book.mrv.reports(firm, 2015)) == 2


def test_surrender_after_the_deadline_the_check_advanced_past_is_refused() -> None:
    check = RuleCheck("korea", start="2015-01-01")
    firm = check.entity("steelworks")
    check.give(firm, "KAU", 100, vintage=2015)
    check.advance_to("2016-02-01")
    check.report(firm, 2015, tonnes=100)
    check.set_average_price(2015, 10_000)
    check.advance_to("2016-07-01")
    with pytest.raises(ComplianceError) as refused:
        check.surrender(firm, "KAU", 100, period=2015)
    # The settled period is closed (9220); past the deadline itself, 9208 says so too.
    assert refused.value.code in {
        ComplianceCode.PERIOD_SETTLED,
        ComplianceCode.SURRENDER_AFTER_DEADLINE,
    }
    assert check.holding_t(firm, "KAU") == 100


def test_an_outcome_before_the_period_is_settled_is_refused_with_its_deadline() -> None:
    check = RuleCheck("korea", start="2015-01-01")
    firm = check.entity("steelworks")
    with pytest.raises(ComplianceError) as refused:
        check.outcome(firm, 2015)
    assert refused.value.code is ComplianceCode.PERIOD_INVALID
    assert "2016-06-30 14:59 UTC" in refused.value.message  # 23:59 in Seoul


def test_bad_commands_are_refused_with_the_usual_codes() -> None:
    check = RuleCheck("korea", start="2015-01-01")
    firm = check.entity("steelworks")
    cases = [
        (lambda: check.report(firm, 2015, tonnes=1), ComplianceCode.REPORT_YEAR_INVALID),
        (lambda: check.report("nobody", 2014, tonnes=1), ComplianceCode.UNKNOWN_ENTITY),
        (lambda: check.report(firm, 2015), ComplianceCode.EMISSIONS_INVALID),
        (lambda: check.report(firm, 2015, tonnes=-1), ComplianceCode.EMISSIONS_INVALID),
        (lambda: check.report(firm, 2015, gases={"CO3": 1}), ComplianceCode.GAS_NOT_COVERED),
        (lambda: check.give("nobody", "KAU", 1), ComplianceCode.UNKNOWN_ENTITY),
        (lambda: check.give(firm, "EUA", 1), CheckCode.INVALID_UNIT_TYPE),
        (lambda: check.give(firm, "KAU", 0), CheckCode.QUANTITY_NOT_POSITIVE_INTEGER),
        (lambda: check.surrender(firm, "KAU", 1, period=2014), ComplianceCode.PERIOD_INVALID),
        (lambda: check.surrender(firm, "KAU", 1, period=2015), CheckCode.QUANTITY_EXCEEDS_BALANCE),
        (lambda: check.entity("steelworks"), CheckCode.INVALID_ARGUMENT),  # label taken
        (lambda: check.advance_to("2014-12-31"), CheckCode.INVALID_ARGUMENT),
        (lambda: check.advance_to("next june"), CheckCode.INVALID_ARGUMENT),
    ]
    before = check.registry.ledger.state_digest(), check.book.state_digest()
    for command, code in cases:
        with pytest.raises(RegistryError) as refused:
            command()
        assert refused.value.code == code, refused.value.message
    assert (check.registry.ledger.state_digest(), check.book.state_digest()) == before


def test_an_unknown_preset_is_refused_with_the_presets_that_exist() -> None:
    with pytest.raises(UnknownPresetError, match="korea"):
        RuleCheck("atlantis")
