"""MRV: reports by gas to CO2e, signed verification, corrections, and conservative estimates.

Sources: shared/DOMAIN.md (thresholds: China ~26,000 t and Kazakhstan > 20,000 t
from FNI Report 2/2021; Tokyo 1,500 kL crude-oil equivalent, FNI and TMG);
IPCC 100-year GWPs from AR4 WG1 Table 2.14 and AR5 WG1 Table 8.A.1.
Regimes are built here from the dataclasses, not from presets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import partial
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from compliance.calendar import Calendar, DeadlineKind, DeadlineRule
from compliance.errors import ComplianceCode, ComplianceError
from compliance.gases import GWP_SETS, Gas, co2e_t
from compliance.mrv import (
    EmissionsReport,
    EntityLevel,
    EstimateBasis,
    MonitoringPlan,
    MrvLedger,
    VerificationStatement,
    VerifiedEmissions,
    Verifier,
    sign_verification,
)
from compliance.regime import (
    CapType,
    ConservativeEstimate,
    Coverage,
    EstimateRule,
    PenaltyKind,
    PenaltyRule,
    Regime,
    SurrenderRules,
)
from registry.keys import SigningKey

Code = ComplianceCode
SIX_GASES = frozenset({Gas.CO2, Gas.CH4, Gas.N2O, Gas.HFC134A, Gas.CF4, Gas.SF6})
# China: "reports by end of March" (FNI), i.e. before 1 April 00:00 Beijing time.
CHINA_VERIFICATION_DUE = DeadlineRule(
    DeadlineKind.VERIFICATION_DUE, 1, 4, 1, timezone="Asia/Shanghai"
)
TEN_PERCENT = Fraction(1, 10)


def make_regime(
    *,
    gases: frozenset[Gas] = frozenset({Gas.CO2}),
    indirect: bool = False,
    gwp_set: str = "AR5",
    first_year: int = 2021,
    last_year: int | None = None,
    period_years: int = 1,
    rules: tuple[DeadlineRule, ...] = (CHINA_VERIFICATION_DUE,),
    estimate: ConservativeEstimate | None = None,
    entity_threshold_t: int | None = None,
    installation_threshold_t: int | None = None,
    energy_threshold_kl_coe: int | None = None,
    strict: bool = False,
) -> Regime:
    """Return a small regime with only what MRV reads set to something meaningful."""
    return Regime(
        key="mrv-test",
        name="MRV test regime",
        registry_code="CN",
        currency="CNY",
        cap_type=CapType.INTENSITY,
        gwp_set=gwp_set,
        coverage=Coverage(
            gases,
            indirect,
            entity_threshold_t,
            installation_threshold_t,
            energy_threshold_kl_coe,
            strict,
        ),
        calendar=Calendar(first_year, period_years, rules, last_year=last_year),
        allocation=(),
        surrender=SurrenderRules(eligible_unit_types=frozenset({"CEA"})),
        penalty=PenaltyRule(PenaltyKind.NONE, make_good=False),
        estimate=estimate
        or ConservativeEstimate(EstimateRule.HIGHEST_OF_PREVIOUS_YEARS, 3, TEN_PERCENT),
    )


def key_of(name: str) -> SigningKey:
    """Return a deterministic Ed25519 key, so that runs replay byte for byte."""
    seed = hashlib.sha256(f"etslink-test:{name}".encode()).digest()
    return SigningKey(Ed25519PrivateKey.from_private_bytes(seed))


KEY_A = key_of("verifier-a")
KEY_B = key_of("verifier-b")
KEY_MALLORY = key_of("mallory")
VERIFIER_A = Verifier("verifier-a", "Verifier A", KEY_A.verify_key)
VERIFIER_B = Verifier("verifier-b", "Verifier B", KEY_B.verify_key)
PLANT = "plant-1"
PLAN = MonitoringPlan(PLANT, frozenset({Gas.CO2, Gas.CH4}), True, "calculation, tier 2")


def after(year: int) -> datetime:
    """Return a moment after `year` has ended and before its China deadline."""
    return datetime(year + 1, 2, 1, tzinfo=UTC)


def late(year: int) -> datetime:
    """Return a moment after `year`'s China deadline (1 April, Beijing time)."""
    return datetime(year + 1, 4, 1, tzinfo=UTC)


def co2_report(year: int, co2_t: int, version: int = 1, **fields: Any) -> EmissionsReport:
    return EmissionsReport(PLANT, year, {Gas.CO2: co2_t * 1_000}, {}, version=version, **fields)


def build_ledger(regime: Regime | None = None, fallback_t: int | None = None) -> MrvLedger:
    """Return a ledger with PLANT registered and VERIFIER_A accredited."""
    ledger = MrvLedger(regime or make_regime(), fallback_t)
    ledger.register_entity(PLANT, "Plant One", PLAN)
    ledger.accredit_verifier(VERIFIER_A)
    return ledger


def verify(ledger: MrvLedger, report: EmissionsReport, now: datetime) -> VerificationStatement:
    """Submit `report` and record verifier A's statement over it."""
    ledger.submit_report(report, now)
    statement = sign_verification(KEY_A, VERIFIER_A.verifier_id, report, ledger.regime)
    ledger.record_verification(statement, now)
    return statement


def refused(ledger: MrvLedger, code: ComplianceCode, command: Callable[[], Any]) -> str:
    """Run `command`, expect ComplianceError with `code`, prove nothing changed; return the text."""
    before = ledger.state_digest()
    with pytest.raises(ComplianceError) as caught:
        command()
    assert caught.value.code is code, caught.value
    assert ledger.state_digest() == before
    return str(caught.value)


def flipped(signature: bytes, index: int = 0) -> bytes:
    return signature[:index] + bytes([signature[index] ^ 0x01]) + signature[index + 1 :]


# ---------------------------------------------------------------- CO2e and coverage


def test_co2e_of_ch4_n2o_sf6_uses_the_regime_gwp_set_ipcc_ar4_table_2_14_ar5_table_8a1() -> None:
    report = EmissionsReport(
        PLANT, 2021, {Gas.CH4: 1_000_000, Gas.N2O: 1_000_000, Gas.SF6: 1_000}, {}
    )
    # 1,000 t CH4, 1,000 t N2O and 1 t SF6.
    # AR4: CH4 25, N2O 298, SF6 22,800. AR5: CH4 28, N2O 265, SF6 23,500.
    ar4 = make_regime(gases=SIX_GASES, gwp_set="AR4")
    ar5 = make_regime(gases=SIX_GASES, gwp_set="AR5")
    assert report.covered_t(ar4) == 25_000 + 298_000 + 22_800
    assert report.covered_t(ar5) == 28_000 + 265_000 + 23_500


def test_co2e_is_rounded_half_up_once_on_the_total_not_per_gas() -> None:
    # 400 kg CO2 + 4 kg CH4 (AR5 28 → 112 kg) = 512 kg → 1 t; per gas it would be 0 + 0.
    report = EmissionsReport(PLANT, 2021, {Gas.CO2: 400, Gas.CH4: 4}, {})
    assert report.covered_t(make_regime(gases=SIX_GASES)) == 1
    assert co2e_t({Gas.CO2: 499}, "AR5") == 0
    assert co2e_t({Gas.CO2: 500}, "AR5") == 1


def test_a_gas_the_regime_does_not_cover_is_recorded_but_not_counted() -> None:
    # China's national ETS covers CO2 only (DOMAIN.md); the plant also monitors CH4.
    ledger = build_ledger()
    report = EmissionsReport(PLANT, 2021, {Gas.CO2: 5_000_000, Gas.CH4: 100_000}, {})
    ledger.submit_report(report, after(2021))

    assert report.covered_t(ledger.regime) == 5_000
    assert ledger.report(PLANT, 2021) == report


def test_indirect_emissions_count_only_where_the_regime_covers_them() -> None:
    # China's pilots cover direct and indirect CO2 (FNI); Kazakhstan covers direct CO2 only.
    report = EmissionsReport(PLANT, 2021, {Gas.CO2: 8_000_000}, {Gas.CO2: 3_000_000})
    pilot = make_regime(indirect=True)
    kazakhstan = make_regime(indirect=False)

    assert report.covered_t(pilot) == 11_000
    assert report.covered_t(kazakhstan) == 8_000
    assert (report.direct_t(kazakhstan), report.indirect_t(kazakhstan)) == (8_000, 3_000)


def test_china_threshold_is_reached_at_26000_t_fni() -> None:
    china = make_regime(entity_threshold_t=26_000)
    assert not co2_report(2021, 25_999).reaches_threshold(china, EntityLevel.COMPANY)
    assert co2_report(2021, 26_000).reaches_threshold(china, EntityLevel.COMPANY)
    # The figure is a company's: an installation's figure is not measured against it.
    assert not co2_report(2021, 26_000).reaches_threshold(china, EntityLevel.INSTALLATION)


def test_kazakhstan_threshold_is_strictly_above_20000_t_fni() -> None:
    kazakhstan = make_regime(installation_threshold_t=20_000, strict=True)
    assert not co2_report(2021, 20_000).reaches_threshold(kazakhstan, EntityLevel.INSTALLATION)
    assert co2_report(2021, 20_001).reaches_threshold(kazakhstan, EntityLevel.INSTALLATION)


def test_tokyo_threshold_is_1500_kl_crude_oil_equivalent_energy_use_fni() -> None:
    tokyo = make_regime(energy_threshold_kl_coe=1_500, period_years=5, first_year=2020)
    below = co2_report(2021, 90_000, energy_kl_coe=1_499)
    at = co2_report(2021, 1, energy_kl_coe=1_500)
    assert not below.reaches_threshold(tokyo, EntityLevel.INSTALLATION)
    assert at.reaches_threshold(tokyo, EntityLevel.INSTALLATION)


def test_the_report_hash_is_of_its_canonical_sorted_encoding() -> None:
    one = EmissionsReport(PLANT, 2021, {Gas.CO2: 1, Gas.CH4: 2}, {})
    other = EmissionsReport(PLANT, 2021, {Gas.CH4: 2, Gas.CO2: 1}, {})
    assert list(one.to_data()["direct_kg"]) == ["CH4", "CO2"]
    assert one.sha256() == other.sha256()
    assert one.sha256() != replace(one, version=2).sha256()


def test_a_submitted_report_cannot_change_under_the_ledger() -> None:
    quantities = {Gas.CO2: 1_000}
    report = EmissionsReport(PLANT, 2021, quantities, {})
    quantities[Gas.CO2] = 2_000
    assert report.direct_kg[Gas.CO2] == 1_000
    with pytest.raises(TypeError):
        report.direct_kg[Gas.CO2] = 3_000  # type: ignore[index]


# ---------------------------------------------------------------- verification


def test_a_verified_report_is_recorded_with_its_verifier_and_closes_as_verified() -> None:
    ledger = build_ledger()
    statement = verify(ledger, co2_report(2021, 30_000), after(2021))

    assert statement.verifies(KEY_A.verify_key)
    expected = VerifiedEmissions(30_000, False, "verifier-a")
    assert ledger.verified_emissions(PLANT, 2021) == expected
    closed = ledger.close_year(PLANT, 2021, late(2021))
    assert (closed.emissions, closed.basis) == (expected, EstimateBasis.VERIFIED)
    assert ledger.verified_emissions(PLANT, 2021) == expected


def test_an_unsigned_statement_is_refused_9205() -> None:
    ledger = build_ledger()
    report = co2_report(2021, 30_000)
    ledger.submit_report(report, after(2021))
    statement = sign_verification(KEY_A, "verifier-a", report, ledger.regime)
    unsigned = replace(statement, signature=b"")
    refused(
        ledger,
        Code.VERIFICATION_SIGNATURE_INVALID,
        lambda: ledger.record_verification(unsigned, after(2021)),
    )


def test_a_forged_signature_with_one_flipped_byte_is_refused_9205() -> None:
    ledger = build_ledger()
    report = co2_report(2021, 30_000)
    ledger.submit_report(report, after(2021))
    statement = sign_verification(KEY_A, "verifier-a", report, ledger.regime)
    for index in (0, 31, 63):
        forged = replace(statement, signature=flipped(statement.signature, index))
        refused(
            ledger,
            Code.VERIFICATION_SIGNATURE_INVALID,
            partial(ledger.record_verification, forged, after(2021)),
        )
    ledger.record_verification(statement, after(2021))


def test_a_statement_altered_after_signing_is_refused_9205() -> None:
    ledger = build_ledger()
    report = co2_report(2021, 30_000)
    ledger.submit_report(report, after(2021))
    statement = sign_verification(KEY_A, "verifier-a", report, ledger.regime)
    lowered = replace(statement, verified_t=20_000)
    refused(
        ledger,
        Code.VERIFICATION_SIGNATURE_INVALID,
        lambda: ledger.record_verification(lowered, after(2021)),
    )


def test_an_accredited_verifier_id_signed_with_another_key_is_refused_9205() -> None:
    ledger = build_ledger()
    report = co2_report(2021, 30_000)
    ledger.submit_report(report, after(2021))
    impostor = sign_verification(KEY_MALLORY, "verifier-a", report, ledger.regime)
    message = refused(
        ledger,
        Code.VERIFICATION_SIGNATURE_INVALID,
        lambda: ledger.record_verification(impostor, after(2021)),
    )
    assert KEY_A.fingerprint in message


def test_an_unaccredited_verifier_is_refused_9204() -> None:
    ledger = build_ledger()
    report = co2_report(2021, 30_000)
    ledger.submit_report(report, after(2021))
    statement = sign_verification(KEY_B, "verifier-b", report, ledger.regime)
    message = refused(
        ledger,
        Code.VERIFIER_NOT_ACCREDITED,
        lambda: ledger.record_verification(statement, after(2021)),
    )
    assert "never granted" in message


def test_a_revoked_verifier_is_refused_9204_but_its_earlier_verification_counts() -> None:
    ledger = build_ledger()
    verify(ledger, co2_report(2021, 30_000), after(2021))
    ledger.revoke_verifier("verifier-a")
    report = co2_report(2022, 31_000)
    ledger.submit_report(report, after(2022))
    statement = sign_verification(KEY_A, "verifier-a", report, ledger.regime)

    message = refused(
        ledger,
        Code.VERIFIER_NOT_ACCREDITED,
        lambda: ledger.record_verification(statement, after(2022)),
    )
    assert "revoked" in message
    assert ledger.verified_emissions(PLANT, 2021).t == 30_000
    refused(ledger, Code.VERIFIER_NOT_ACCREDITED, lambda: ledger.revoke_verifier("verifier-a"))


def test_a_statement_for_a_different_report_is_refused_9206() -> None:
    ledger = build_ledger()
    ledger.submit_report(co2_report(2021, 30_000), after(2021))
    other = co2_report(2021, 25_000)
    statement = sign_verification(KEY_A, "verifier-a", other, ledger.regime)
    message = refused(
        ledger,
        Code.VERIFICATION_MISMATCH,
        lambda: ledger.record_verification(statement, after(2021)),
    )
    assert "current report (version 1)" in message


def test_a_statement_computed_with_another_gwp_set_is_refused_9206() -> None:
    ledger = build_ledger(make_regime(gases=SIX_GASES, gwp_set="AR5"))
    ledger.register_entity("plant-2", "Plant Two", replace(PLAN, entity_id="plant-2"))
    report = EmissionsReport("plant-2", 2021, {Gas.CH4: 1_000_000}, {})
    ledger.submit_report(report, after(2021))
    statement = sign_verification(
        KEY_A, "verifier-a", report, make_regime(gases=SIX_GASES, gwp_set="AR4")
    )
    assert statement.verified_t == 25_000
    message = refused(
        ledger,
        Code.VERIFICATION_MISMATCH,
        lambda: ledger.record_verification(statement, after(2021)),
    )
    assert "28,000 t" in message


def test_a_statement_for_a_year_without_a_report_is_refused_9206() -> None:
    ledger = build_ledger()
    statement = sign_verification(KEY_A, "verifier-a", co2_report(2021, 30_000), ledger.regime)
    refused(
        ledger,
        Code.VERIFICATION_MISMATCH,
        lambda: ledger.record_verification(statement, after(2021)),
    )


def test_a_second_verification_of_the_same_version_is_refused_9206() -> None:
    ledger = build_ledger()
    ledger.accredit_verifier(VERIFIER_B)
    report = co2_report(2021, 30_000)
    verify(ledger, report, after(2021))
    again = sign_verification(KEY_B, "verifier-b", report, ledger.regime)
    refused(
        ledger, Code.VERIFICATION_MISMATCH, lambda: ledger.record_verification(again, after(2021))
    )
    assert ledger.verified_emissions(PLANT, 2021).verifier_id == "verifier-a"


def test_a_statement_for_an_unknown_entity_is_refused_9201() -> None:
    ledger = build_ledger()
    stranger = EmissionsReport("stranger", 2021, {Gas.CO2: 1}, {})
    statement = sign_verification(KEY_A, "verifier-a", stranger, ledger.regime)
    refused(ledger, Code.UNKNOWN_ENTITY, lambda: ledger.record_verification(statement, after(2021)))


# ---------------------------------------------------------------- bad reports


def test_a_report_for_an_unknown_entity_is_refused_9201() -> None:
    ledger = build_ledger()
    report = EmissionsReport("stranger", 2021, {Gas.CO2: 1}, {})
    message = refused(
        ledger, Code.UNKNOWN_ENTITY, lambda: ledger.submit_report(report, after(2021))
    )
    assert "'stranger'" in message


@pytest.mark.parametrize(
    ("year", "now", "found"),
    [
        (2020, after(2020), "before MRV test regime starts (2021)"),
        (2021, datetime(2021, 12, 31, 23, 59, tzinfo=UTC), "has not ended"),
        (2026, after(2026), "after MRV test regime ends (2025)"),
    ],
)
def test_a_report_for_a_year_outside_the_system_or_not_yet_ended_is_refused_9202(
    year: int, now: datetime, found: str
) -> None:
    ledger = build_ledger(make_regime(last_year=2025))
    message = refused(
        ledger, Code.REPORT_YEAR_INVALID, lambda: ledger.submit_report(co2_report(year, 1), now)
    )
    assert found in message


@pytest.mark.parametrize(
    ("direct_kg", "fields", "found"),
    [
        ({Gas.CO2: -1}, {}, "direct CO2 (kg) must be a whole number from 0"),
        ({Gas.CO2: 1.5}, {}, "was 1.5"),
        ({Gas.CO2: True}, {}, "was True"),
        ({"CO2": 1_000}, {}, "keyed by Gas, found 'CO2'"),
        ({Gas.CO2: 10**14}, {}, "direct CO2 (kg)"),
        ({Gas.CO2: 1_000}, {"energy_kl_coe": -5}, "energy use"),
        ({Gas.CO2: 1_000}, {"output_units": -1}, "output"),
        ({Gas.CO2: 1_000}, {"version": 0}, "version must be 1 to 100"),
    ],
)
def test_negative_or_malformed_quantities_are_refused_9203(
    direct_kg: dict[Any, Any], fields: dict[str, Any], found: str
) -> None:
    ledger = build_ledger()
    report = EmissionsReport(PLANT, 2021, direct_kg, {}, **fields)
    message = refused(
        ledger, Code.EMISSIONS_INVALID, lambda: ledger.submit_report(report, after(2021))
    )
    assert found in message


def test_negative_indirect_emissions_are_refused_9203() -> None:
    ledger = build_ledger()
    report = EmissionsReport(PLANT, 2021, {Gas.CO2: 1_000}, {Gas.CO2: -1})
    refused(ledger, Code.EMISSIONS_INVALID, lambda: ledger.submit_report(report, after(2021)))


def test_a_gas_outside_the_monitoring_plan_is_refused_9213() -> None:
    ledger = build_ledger()
    report = EmissionsReport(PLANT, 2021, {Gas.CO2: 1_000, Gas.SF6: 1}, {})
    message = refused(
        ledger, Code.GAS_NOT_COVERED, lambda: ledger.submit_report(report, after(2021))
    )
    assert "covers CH4, CO2" in message and "include SF6" in message


def test_indirect_emissions_are_refused_9213_when_the_plan_excludes_them() -> None:
    ledger = build_ledger()
    ledger.register_entity(
        "plant-2", "Plant Two", replace(PLAN, entity_id="plant-2", indirect=False)
    )
    report = EmissionsReport("plant-2", 2021, {Gas.CO2: 1_000}, {Gas.CO2: 500})
    refused(ledger, Code.GAS_NOT_COVERED, lambda: ledger.submit_report(report, after(2021)))


def test_registering_an_entity_twice_is_refused_9214() -> None:
    ledger = build_ledger()
    refused(
        ledger, Code.ENTITY_ALREADY_REGISTERED, lambda: ledger.register_entity(PLANT, "Again", PLAN)
    )


def test_malformed_set_up_arguments_are_programming_errors() -> None:
    ledger = build_ledger()
    with pytest.raises(ValueError, match="plan is for 'plant-1'"):
        ledger.register_entity("plant-2", "Plant Two", PLAN)
    with pytest.raises(ValueError, match="one or more Gas"):
        MonitoringPlan(PLANT, frozenset(), False, "calculation")
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.submit_report(co2_report(2021, 1), datetime(2022, 2, 1))
    with pytest.raises(ValueError, match="no VERIFICATION_DUE or REPORT_DUE"):
        MrvLedger(make_regime(rules=(DeadlineRule(DeadlineKind.SURRENDER_DUE, 1, 6, 30),)))
    with pytest.raises(ValueError, match="no value for"):
        MrvLedger(make_regime(gases=frozenset({Gas.NF3}), gwp_set="SAR"))


# ---------------------------------------------------------------- corrections and the deadline


def test_the_deadline_comes_from_the_calendar_verification_rule_or_else_report_rule() -> None:
    assert build_ledger().deadline(2024) == datetime(2025, 3, 31, 16, 0, tzinfo=UTC)
    korea = make_regime(rules=(DeadlineRule(DeadlineKind.REPORT_DUE, 1, 3, 31),))
    assert MrvLedger(korea).deadline(2024) == datetime(2025, 3, 31, tzinfo=UTC)


def test_every_year_of_a_multi_year_period_shares_the_period_deadline_tokyo() -> None:
    tokyo = make_regime(
        first_year=2020,
        period_years=5,
        rules=(DeadlineRule(DeadlineKind.VERIFICATION_DUE, 1, 9, 30),),
    )
    ledger = build_ledger(tokyo)
    assert ledger.deadline(2020) == ledger.deadline(2024) == datetime(2025, 9, 30, tzinfo=UTC)
    ledger.submit_report(co2_report(2020, 10), after(2020))
    ledger.submit_report(co2_report(2020, 11, version=2), datetime(2024, 6, 1, tzinfo=UTC))


def test_a_correction_before_the_deadline_supersedes_and_needs_its_own_verification() -> None:
    ledger = build_ledger()
    first = co2_report(2021, 30_000)
    old_statement = verify(ledger, first, after(2021))
    correction = co2_report(2021, 32_000, version=2)
    ledger.submit_report(correction, after(2021) + timedelta(days=30))

    assert ledger.report(PLANT, 2021) == correction
    assert ledger.reports(PLANT, 2021) == (first, correction)
    refused(ledger, Code.NO_VERIFIED_EMISSIONS, lambda: ledger.verified_emissions(PLANT, 2021))
    refused(
        ledger,
        Code.VERIFICATION_MISMATCH,
        lambda: ledger.record_verification(old_statement, after(2021)),
    )
    new_statement = sign_verification(KEY_A, "verifier-a", correction, ledger.regime)
    ledger.record_verification(new_statement, after(2021) + timedelta(days=31))
    assert ledger.verified_emissions(PLANT, 2021) == VerifiedEmissions(32_000, False, "verifier-a")


def test_a_correction_must_be_the_next_version_9203() -> None:
    ledger = build_ledger()
    ledger.submit_report(co2_report(2021, 30_000), after(2021))
    for version in (1, 3):
        report = co2_report(2021, 31_000, version=version)
        message = refused(
            ledger,
            Code.EMISSIONS_INVALID,
            partial(ledger.submit_report, report, after(2021)),
        )
        assert "expected version 2 (a correction of version 1)" in message


def test_a_correction_after_the_deadline_is_refused_9207() -> None:
    ledger = build_ledger()
    verify(ledger, co2_report(2021, 30_000), after(2021))
    correction = co2_report(2021, 20_000, version=2)
    due = ledger.deadline(2021)

    message = refused(
        ledger, Code.CORRECTION_AFTER_DEADLINE, lambda: ledger.submit_report(correction, due)
    )
    assert "due before 2022-03-31T16:00:00Z" in message
    ledger.close_year(PLANT, 2021, due)
    refused(ledger, Code.CORRECTION_AFTER_DEADLINE, lambda: ledger.submit_report(correction, due))
    assert ledger.verified_emissions(PLANT, 2021).t == 30_000


def test_a_first_report_or_a_verification_after_the_deadline_is_refused_9207() -> None:
    ledger = build_ledger()
    report = co2_report(2021, 30_000)
    refused(
        ledger, Code.CORRECTION_AFTER_DEADLINE, lambda: ledger.submit_report(report, late(2021))
    )
    ledger.submit_report(report, after(2021))
    statement = sign_verification(KEY_A, "verifier-a", report, ledger.regime)
    refused(
        ledger,
        Code.CORRECTION_AFTER_DEADLINE,
        lambda: ledger.record_verification(statement, late(2021)),
    )


def test_closing_before_the_deadline_is_refused_9202_and_closing_twice_9207() -> None:
    ledger = build_ledger()
    verify(ledger, co2_report(2021, 30_000), after(2021))
    due = ledger.deadline(2021)
    refused(
        ledger,
        Code.REPORT_YEAR_INVALID,
        lambda: ledger.close_year(PLANT, 2021, due - timedelta(seconds=1)),
    )
    ledger.close_year(PLANT, 2021, due)
    refused(
        ledger, Code.CORRECTION_AFTER_DEADLINE, lambda: ledger.close_year(PLANT, 2021, late(2021))
    )
    refused(ledger, Code.UNKNOWN_ENTITY, lambda: ledger.close_year("stranger", 2021, late(2021)))


# ---------------------------------------------------------------- conservative estimates


def verified_history(ledger: MrvLedger, figures_t: dict[int, int]) -> None:
    """Report, verify and close each year of `figures_t`."""
    for year, emissions_t in figures_t.items():
        verify(ledger, co2_report(year, emissions_t), after(year))
        ledger.close_year(PLANT, year, late(year))


def test_a_missing_report_is_estimated_at_the_highest_of_3_verified_years_plus_uplift() -> None:
    ledger = build_ledger()
    # 2021 is the highest, but outside the last three verified years.
    verified_history(ledger, {2021: 150_000, 2022: 120_000, 2023: 90_000, 2024: 80_000})

    closed = ledger.close_year(PLANT, 2025, late(2025))
    assert closed.emissions == VerifiedEmissions(132_000, True, None)  # 120,000 × 1.1
    assert (closed.basis, closed.basis_t) == (EstimateBasis.PREVIOUS_YEARS, 120_000)
    assert ledger.verified_emissions(PLANT, 2025) == VerifiedEmissions(132_000, True, None)


def test_an_unverified_report_is_estimated_at_the_last_verified_year_plus_uplift() -> None:
    regime = make_regime(
        estimate=ConservativeEstimate(EstimateRule.LAST_VERIFIED_PLUS_UPLIFT, uplift=Fraction(1, 5))
    )
    ledger = build_ledger(regime)
    verified_history(ledger, {2021: 150_000, 2022: 90_000})
    ledger.submit_report(co2_report(2023, 70_000), after(2023))  # never verified

    closed = ledger.close_year(PLANT, 2023, late(2023))
    assert closed.emissions == VerifiedEmissions(108_000, True, None)  # 90,000 × 1.2
    assert closed.basis is EstimateBasis.LAST_VERIFIED


def test_an_unverified_report_above_history_sets_the_estimate_so_not_verifying_never_pays() -> None:
    ledger = build_ledger()
    verified_history(ledger, {2021: 40_000})
    ledger.submit_report(co2_report(2022, 60_000), after(2022))

    closed = ledger.close_year(PLANT, 2022, late(2022))
    assert closed.emissions.t == 66_000
    assert closed.basis is EstimateBasis.UNVERIFIED_REPORT


def test_with_no_history_the_unverified_report_plus_uplift_is_estimated_rounded_up() -> None:
    ledger = build_ledger()
    ledger.submit_report(co2_report(2021, 10_001), after(2021))
    closed = ledger.close_year(PLANT, 2021, late(2021))
    assert closed.emissions == VerifiedEmissions(11_002, True, None)  # 11,001.1 rounded up


def test_earlier_estimates_are_not_history() -> None:
    ledger = build_ledger(fallback_t=5_000)
    verified_history(ledger, {2021: 40_000})
    ledger.close_year(PLANT, 2022, late(2022))  # estimated at 44,000
    closed = ledger.close_year(PLANT, 2023, late(2023))
    assert closed.emissions.t == 44_000
    assert closed.basis_t == 40_000


def test_with_nothing_to_go_on_the_configured_fallback_is_recorded_as_an_estimate() -> None:
    ledger = build_ledger(fallback_t=26_000)
    closed = ledger.close_year(PLANT, 2021, late(2021))
    assert closed.emissions == VerifiedEmissions(26_000, True, None)
    assert closed.basis is EstimateBasis.FALLBACK


def test_with_nothing_to_go_on_and_no_fallback_closing_is_refused_9212() -> None:
    ledger = build_ledger()
    message = refused(
        ledger, Code.NO_VERIFIED_EMISSIONS, lambda: ledger.close_year(PLANT, 2021, late(2021))
    )
    assert "fallback_t" in message
    message = refused(
        ledger, Code.NO_VERIFIED_EMISSIONS, lambda: ledger.verified_emissions(PLANT, 2021)
    )
    assert "no report" in message


# ---------------------------------------------------------------- properties

six_gas_quantities = st.dictionaries(
    st.sampled_from(sorted(SIX_GASES)), st.integers(0, 10**12), max_size=6
)


@given(
    direct_kg=six_gas_quantities,
    indirect_kg=six_gas_quantities,
    gwp_set=st.sampled_from(["SAR", "AR4", "AR5"]),
)
def test_co2e_of_a_sum_is_the_rounding_of_the_summed_kg_times_gwp(
    direct_kg: dict[Gas, int], indirect_kg: dict[Gas, int], gwp_set: str
) -> None:
    report = EmissionsReport(PLANT, 2021, direct_kg, indirect_kg)
    gwps = GWP_SETS[gwp_set]
    total_kg = sum(kg * gwps[gas] for part in (direct_kg, indirect_kg) for gas, kg in part.items())

    covering_indirect = make_regime(gases=SIX_GASES, indirect=True, gwp_set=gwp_set)
    assert report.covered_t(covering_indirect) == (total_kg + 500) // 1000
    direct_only = make_regime(gases=SIX_GASES, indirect=False, gwp_set=gwp_set)
    assert report.covered_t(direct_only) == co2e_t(direct_kg, gwp_set)


report_strategy = st.builds(
    EmissionsReport,
    entity_id=st.just(PLANT),
    year=st.just(2021),
    direct_kg=st.dictionaries(
        st.sampled_from([Gas.CO2, Gas.CH4]), st.integers(0, 10**9), max_size=2
    ),
    indirect_kg=st.dictionaries(st.just(Gas.CO2), st.integers(0, 10**9), max_size=1),
    output_units=st.integers(0, 10**6),
    energy_kl_coe=st.integers(0, 10**4),
)


@given(report=report_strategy, other=report_strategy)
def test_a_statement_over_report_r_verifies_for_r_and_for_no_other_report(
    report: EmissionsReport, other: EmissionsReport
) -> None:
    assume(report.to_data() != other.to_data())
    regime = make_regime(gases=SIX_GASES, indirect=True)
    statement = sign_verification(KEY_A, "verifier-a", report, regime)

    for_r = build_ledger(regime)
    for_r.submit_report(report, after(2021))
    for_r.record_verification(statement, after(2021))
    assert for_r.verified_emissions(PLANT, 2021).t == report.covered_t(regime)

    for_other = build_ledger(regime)
    for_other.submit_report(other, after(2021))
    refused(
        for_other,
        Code.VERIFICATION_MISMATCH,
        lambda: for_other.record_verification(statement, after(2021)),
    )
    repointed = replace(statement, report_sha256=other.sha256(), verified_t=other.covered_t(regime))
    refused(
        for_other,
        Code.VERIFICATION_SIGNATURE_INVALID,
        lambda: for_other.record_verification(repointed, after(2021)),
    )


# ---------------------------------------------------------------- state machine and reference model

MACHINE_FIRST_YEAR = 2021
MACHINE_FALLBACK_T = 1_000
# Years back from the clock's year: 0 has not ended, 1 is mostly open, older ones late.
YEARS_BACK = st.sampled_from([0, 1, 1, 1, 2, 3])


def machine_deadline(year: int) -> datetime:
    """Return the machine regime's deadline, worked out by hand: 1 October UTC of the next year."""
    return datetime(year + 1, 10, 1, tzinfo=UTC)


class MrvMachine(RuleBasedStateMachine):
    """Drive the ledger and a naive model of it in lockstep; every refusal changes nothing."""

    def __init__(self) -> None:
        super().__init__()
        regime = make_regime(
            gases=frozenset({Gas.CO2, Gas.CH4}),
            indirect=True,
            first_year=MACHINE_FIRST_YEAR,
            rules=(DeadlineRule(DeadlineKind.VERIFICATION_DUE, 1, 10, 1),),
        )
        self.ledger = MrvLedger(regime, MACHINE_FALLBACK_T)
        for entity_id in ("a", "b"):
            plan = MonitoringPlan(entity_id, frozenset({Gas.CO2, Gas.CH4}), True, "measurement")
            self.ledger.register_entity(entity_id, entity_id.upper(), plan)
        self.ledger.accredit_verifier(VERIFIER_A)
        self.now = datetime(2023, 1, 15, tzinfo=UTC)
        # The model: reported tonnes per version, the verified version, closed figures.
        self.reports_t: dict[tuple[str, int], list[int]] = {}
        self.verified_version: dict[tuple[str, int], int] = {}
        self.closed: dict[tuple[str, int], tuple[int, bool]] = {}

    def expect(self, code: ComplianceCode | None, command: Callable[[], Any]) -> None:
        before = self.ledger.state_digest()
        if code is None:
            command()
            return
        with pytest.raises(ComplianceError) as caught:
            command()
        assert caught.value.code is code, caught.value
        assert self.ledger.state_digest() == before

    def timing_code(self, entity_id: str, year: int) -> ComplianceCode | None:
        if entity_id not in ("a", "b"):
            return Code.UNKNOWN_ENTITY
        if year < MACHINE_FIRST_YEAR or self.now < datetime(year + 1, 1, 1, tzinfo=UTC):
            return Code.REPORT_YEAR_INVALID
        if (entity_id, year) in self.closed or self.now >= machine_deadline(year):
            return Code.CORRECTION_AFTER_DEADLINE
        return None

    def open_reported(self) -> list[tuple[str, int]]:
        return [key for key in sorted(self.reports_t) if key not in self.closed]

    @rule(days=st.sampled_from([1, 30, 90, 240]))
    def advance(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(
        entity_id=st.sampled_from(["a", "b", "a", "b", "c"]),
        years_back=YEARS_BACK,
        co2_kg=st.integers(-1, 10**8),
        ch4_kg=st.integers(0, 10**6),
        version_offset=st.sampled_from([0, 0, 0, 1, -1]),
        then_verify=st.sampled_from([True, True, False]),
    )
    def submit(
        self,
        entity_id: str,
        years_back: int,
        co2_kg: int,
        ch4_kg: int,
        version_offset: int,
        then_verify: bool,
    ) -> None:
        year = self.now.year - years_back
        versions = self.reports_t.get((entity_id, year), [])
        version = len(versions) + 1 + version_offset
        report = EmissionsReport(
            entity_id, year, {Gas.CO2: co2_kg}, {Gas.CH4: ch4_kg}, version=version
        )
        code = self.timing_code(entity_id, year)
        if code is None and (co2_kg < 0 or version != len(versions) + 1):
            code = Code.EMISSIONS_INVALID
        self.expect(code, lambda: self.ledger.submit_report(report, self.now))
        if code is None:
            emissions_t = (co2_kg + ch4_kg * 28 + 500) // 1000  # AR5: CH4 28
            self.reports_t.setdefault((entity_id, year), []).append(emissions_t)
            if then_verify:
                self.record(entity_id, year, accredited=True, tampered=False)

    @rule(
        pick=st.integers(0, 4),
        accredited=st.sampled_from([True, True, True, False]),
        tampered=st.sampled_from([False, False, False, True]),
    )
    def verify(self, pick: int, accredited: bool, tampered: bool) -> None:
        # Mostly an open year with a report on file; pick 4 for one that may have none.
        reported = self.open_reported()
        if reported and pick < 4:
            entity_id, year = reported[pick % len(reported)]
        else:
            entity_id, year = "b", self.now.year - 1
        self.record(entity_id, year, accredited, tampered)

    def record(self, entity_id: str, year: int, accredited: bool, tampered: bool) -> None:
        current = self.ledger.report(entity_id, year)
        report = current or EmissionsReport(entity_id, year, {Gas.CO2: 1}, {})
        key, verifier_id = (KEY_A, "verifier-a") if accredited else (KEY_B, "verifier-b")
        statement = sign_verification(key, verifier_id, report, self.ledger.regime)
        if tampered:
            statement = replace(statement, signature=flipped(statement.signature))
        versions = self.reports_t.get((entity_id, year), [])
        if not accredited:
            code: ComplianceCode | None = Code.VERIFIER_NOT_ACCREDITED
        elif tampered:
            code = Code.VERIFICATION_SIGNATURE_INVALID
        else:
            code = self.timing_code(entity_id, year)
        if code is None and (
            not versions or self.verified_version.get((entity_id, year)) == len(versions)
        ):
            code = Code.VERIFICATION_MISMATCH
        self.expect(code, lambda: self.ledger.record_verification(statement, self.now))
        if code is None:
            self.verified_version[(entity_id, year)] = len(versions)

    @rule(
        pick=st.integers(0, 4),
        entity_id=st.sampled_from(["a", "b"]),
        years_back=YEARS_BACK,
        wait=st.sampled_from([False, False, True]),
    )
    def close(self, pick: int, entity_id: str, years_back: int, wait: bool) -> None:
        year = self.now.year - years_back
        # Mostly an open year with a report on file; pick 4 for any entity-year.
        reported = self.open_reported()
        if reported and pick < 4:
            entity_id, year = reported[pick % len(reported)]
        if wait:  # until the deadline, if it is still ahead
            self.now = max(self.now, machine_deadline(year))
        code: ComplianceCode | None = None
        if year < MACHINE_FIRST_YEAR or self.now < machine_deadline(year):
            code = Code.REPORT_YEAR_INVALID
        elif (entity_id, year) in self.closed:
            code = Code.CORRECTION_AFTER_DEADLINE
        self.expect(code, lambda: self.ledger.close_year(entity_id, year, self.now))
        if code is None:
            self.closed[(entity_id, year)] = self.model_close(entity_id, year)

    def model_verified_t(self, entity_id: str, year: int) -> int | None:
        if (entity_id, year) in self.closed:
            emissions_t, estimated = self.closed[(entity_id, year)]
            return None if estimated else emissions_t
        versions = self.reports_t.get((entity_id, year), [])
        if versions and self.verified_version.get((entity_id, year)) == len(versions):
            return versions[-1]
        return None

    def model_close(self, entity_id: str, year: int) -> tuple[int, bool]:
        verified_t = self.model_verified_t(entity_id, year)
        if verified_t is not None:
            return verified_t, False
        history = [
            self.model_verified_t(entity_id, earlier)
            for earlier in range(year - 1, MACHINE_FIRST_YEAR - 1, -1)
        ]
        known = [emissions_t for emissions_t in history if emissions_t is not None]
        bases = [max(known[:3])] if known else []
        versions = self.reports_t.get((entity_id, year), [])
        if versions:
            bases.append(versions[-1])
        if not bases:
            return MACHINE_FALLBACK_T, True
        return -(-max(bases) * 11 // 10), True

    @invariant()
    def recorded_emissions_agree_with_the_model(self) -> None:
        for (entity_id, year), (emissions_t, estimated) in self.closed.items():
            recorded = self.ledger.verified_emissions(entity_id, year)
            assert (recorded.t, recorded.estimated) == (emissions_t, estimated)
            assert (recorded.verifier_id is None) == estimated
        for (entity_id, year), versions in self.reports_t.items():
            report = self.ledger.report(entity_id, year)
            assert report is not None and report.version == len(versions)


TestMrvMachine = MrvMachine.TestCase
