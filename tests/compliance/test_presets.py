"""Jurisdiction presets: every preset loads, real rules hold, and mistakes name file and key.

Each rule test names its figure and source (shared/reference/registry-and-linking.md §(c)).
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from compliance import presets
from compliance.calendar import DeadlineKind
from compliance.penalties import assess_penalty
from compliance.presets import UnknownPresetError, list_presets, load_preset, load_regime
from compliance.regime import (
    AllocationMethod,
    CapType,
    PenaltyKind,
    Regime,
    UnitOrigin,
)
from etslink.cli import cli
from registry.config_reader import ConfigError
from registry.units import UnitKind

REGISTRY_CODES = {
    "china-national": "CN",
    "shenzhen": "SZ",
    "beijing": "BJ",
    "korea": "KR",
    "tokyo": "TK",
    "saitama": "ST",
    "kazakhstan": "KZ",
    "eu": "EU",
    "switzerland": "CH",
    "california": "CA",
    "quebec": "QC",
    "ontario": "ON",
    "australia": "AU",
    "new-zealand": "NZ",
}
KOREA_TOML = presets.PRESETS_DIR / "korea.toml"


def _surrender_due(regime: Regime, period: int) -> datetime:
    deadline = regime.calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
    assert deadline is not None, f"{regime.key} has no surrender deadline for {period}"
    return deadline.due


def _limit_shares(regime: Regime, year: int) -> dict[str, Fraction]:
    return {limit.name: limit.share for limit in regime.limits_for(year)}


# ---------------------------------------------------------------- every preset


def test_every_system_has_a_preset_with_its_registry_code() -> None:
    assert set(list_presets()) == set(REGISTRY_CODES)
    for key, code in REGISTRY_CODES.items():
        assert load_preset(key).registry_code == code


@pytest.mark.parametrize("key", sorted(REGISTRY_CODES))
def test_every_preset_loads_and_says_what_is_unverified(key: str) -> None:
    regime = load_preset(key)
    assert regime.key == key
    assert regime.allocation and regime.surrender.eligible_unit_types
    assert regime.calendar.deadline(DeadlineKind.SURRENDER_DUE, _first_surrender(regime))
    assert regime.unverified, "every preset so far has unconfirmed values"
    assert "estimate" in regime.unverified, "the missing-report estimate is an emulator default"
    assert len(set(regime.unverified)) == len(regime.unverified)


def _first_surrender(regime: Regime) -> int:
    rules = [r for r in regime.calendar.rules if r.kind is DeadlineKind.SURRENDER_DUE]
    first = min(max(rule.first_period, regime.calendar.first_year) for rule in rules)
    return regime.calendar.period_of(first)


def test_no_preset_holds_a_float_anywhere() -> None:
    for key in list_presets():
        regime = load_preset(key)
        for limit in regime.surrender.limits:
            assert type(limit.share) is Fraction
        assert type(regime.penalty.fixed_per_t_minor) is int
        assert type(regime.penalty.price_multiple) is Fraction


# ---------------------------------------------------------------- real rules


def test_california_offset_limit_is_8_then_4_then_6_percent_17_CCR_95854() -> None:
    california = load_preset("california")
    assert _limit_shares(california, 2013) == {"offsets-2013-2020": Fraction(8, 100)}
    assert _limit_shares(california, 2020) == {"offsets-2013-2020": Fraction(8, 100)}
    assert _limit_shares(california, 2021) == {"offsets-2021-2025": Fraction(4, 100)}
    assert _limit_shares(california, 2025) == {"offsets-2021-2025": Fraction(4, 100)}
    assert _limit_shares(california, 2026) == {"offsets-from-2026": Fraction(6, 100)}
    assert _limit_shares(california, 2040) == {"offsets-from-2026": Fraction(6, 100)}
    assert all(
        limit.unit_kinds == {UnitKind.OFFSET_CREDIT} for limit in california.surrender.limits
    )


def test_california_1_nov_5pm_pacific_is_2_nov_0h_utc_in_pdt_17_CCR_95856() -> None:
    california = load_preset("california")
    # 1 Nov 2023 is still daylight time (UTC-7): 17:00 PDT is 00:00 UTC on 2 Nov.
    assert _surrender_due(california, 2022) == datetime(2023, 11, 2, 0, 0, tzinfo=UTC)
    # 1 Nov 2026 is the Sunday daylight time ends at 2 a.m.: 17:00 PST is 01:00 UTC.
    assert _surrender_due(california, 2025) == datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def test_california_untimely_surrender_4x_shortfall_3_4_in_allowances_17_CCR_95857() -> None:
    penalty = load_preset("california").penalty
    assert penalty.kind is PenaltyKind.ADDED_OBLIGATION
    assert penalty.obligation_multiple == 4
    assert penalty.allowance_share_min == Fraction(3, 4)
    assert "penalty.make_good" in load_preset("california").unverified


def test_wci_floor_usd_10_in_2012_ceiling_usd_65_in_2021_rise_5_percent_17_CCR_95915() -> None:
    stability = load_preset("california").stability
    assert (stability.price_floor_minor, stability.base_year) == (1_000, 2012)
    assert (stability.price_ceiling_minor, stability.price_ceiling_base_year) == (6_500, 2021)
    assert (
        stability.price_floor_escalation == stability.price_ceiling_escalation == Fraction(5, 100)
    )


def test_korea_penalty_is_at_most_3x_average_price_and_krw_100000_per_tonne_climate_laws() -> None:
    korea = load_preset("korea")
    assert korea.currency == "KRW" and presets.CURRENCY_MINOR_DIGITS["KRW"] == 0
    assert korea.penalty.kind is PenaltyKind.MARKET_PRICE_MULTIPLE
    assert korea.penalty.price_multiple == 3
    assert korea.penalty.cap_per_t_minor == 100_000  # won have no minor unit
    assert korea.penalty.price_window_months == 12


def test_korea_phases_2015_17_2018_20_2021_25_icap_2021() -> None:
    calendar = load_preset("korea").calendar
    assert [(p.name, p.first_year, p.last_year) for p in calendar.phases] == [
        ("1", 2015, 2017),
        ("2", 2018, 2020),
        ("3", 2021, 2025),
    ]


def test_korea_offsets_10_percent_domestic_only_in_phase_1_then_5_international_icap_530() -> None:
    korea = load_preset("korea")
    phase_1 = {limit.name: limit for limit in korea.limits_for(2016)}
    assert phase_1["offsets-phase-1-2"].share == Fraction(10, 100)
    assert phase_1["international-offsets-phase-1"].share == 0
    assert phase_1["international-offsets-phase-1"].origin is UnitOrigin.INTERNATIONAL
    assert _limit_shares(korea, 2019) == {
        "offsets-phase-1-2": Fraction(10, 100),
        "international-offsets-phase-2": Fraction(5, 100),
    }
    assert "surrender.limits.offsets-phase-3" in korea.unverified


def test_korea_report_end_march_surrender_end_june_in_phase_1_icap_263() -> None:
    korea = load_preset("korea")
    report = korea.calendar.deadline(DeadlineKind.REPORT_DUE, 2015)
    assert report is not None and report.due == datetime(2016, 3, 31, 14, 59, tzinfo=UTC)
    assert _surrender_due(korea, 2015) == datetime(2016, 6, 30, 14, 59, tzinfo=UTC)  # 23:59 KST
    assert "calendar.deadlines.surrender_due@2018" in korea.unverified


def test_korea_covers_companies_from_125000_t_or_installations_from_25000_t_moe() -> None:
    coverage = load_preset("korea").coverage
    assert coverage.covers(entity_t=125_000)
    assert not coverage.covers(entity_t=124_999, installation_t=24_999)
    assert coverage.covers(installation_t=25_000)
    assert {gas.family for gas in coverage.gases} == {"CO2", "CH4", "N2O", "HFCs", "PFCs", "SF6"}


def test_korea_auctions_at_least_3_then_10_percent_icap_530() -> None:
    korea = load_preset("korea")
    rules = [korea.allocation_rule(year) for year in (2016, 2019, 2022)]
    assert [rule.auction_share for rule in rules if rule is not None] == [
        0,
        Fraction(3, 100),
        Fraction(10, 100),
    ]


def test_korea_stabilises_after_6_months_at_3x_the_2_year_average_fni() -> None:
    stability = load_preset("korea").stability
    assert stability.trigger_months == 6
    assert stability.trigger_multiple == 3
    assert stability.trigger_lookback_years == 2


def test_eu_surrender_moves_from_30_april_to_30_september_from_2024_dehst_dir_2023_959() -> None:
    eu = load_preset("eu")
    # Brussels is on summer time (UTC+2) on both dates: 23:59 local is 21:59 UTC.
    assert _surrender_due(eu, 2022) == datetime(2023, 4, 30, 21, 59, tzinfo=UTC)
    assert _surrender_due(eu, 2023) == datetime(2024, 9, 30, 21, 59, tzinfo=UTC)
    assert _surrender_due(eu, 2030) == datetime(2031, 9, 30, 21, 59, tzinfo=UTC)
    due = [d for d in eu.calendar.deadlines(2024) if d.kind is DeadlineKind.SURRENDER_DUE]
    assert [d.period for d in due] == list(range(2005, 2025)), "one surrender per period"


def test_eu_penalty_is_eur_100_per_tonne_and_the_allowances_are_still_owed_dehst() -> None:
    penalty = load_preset("eu").penalty
    assert penalty.kind is PenaltyKind.FIXED_PER_TONNE
    assert penalty.fixed_per_t_minor == 10_000  # euro cents
    assert penalty.make_good


def test_switzerland_penalty_chf_125_is_unverified_and_links_to_the_eu() -> None:
    switzerland = load_preset("switzerland")
    assert switzerland.penalty.fixed_per_t_minor == 12_500
    assert "penalty.fixed_per_t_minor" in switzerland.unverified
    assert switzerland.surrender.foreign_units_via_links
    assert load_preset("eu").surrender.foreign_units_via_links


def test_kazakhstan_covers_only_above_20000_t_environmental_code_2021_ey() -> None:
    kazakhstan = load_preset("kazakhstan")
    assert kazakhstan.coverage.strict
    assert not kazakhstan.coverage.covers(installation_t=20_000)
    assert kazakhstan.coverage.covers(installation_t=20_001)
    assert kazakhstan.coverage.gases == {gas for gas in kazakhstan.coverage.gases if gas == "CO2"}


def test_kazakhstan_paused_surrender_in_2016_17_but_not_reporting_iea_13429() -> None:
    calendar = load_preset("kazakhstan").calendar
    assert calendar.deadline(DeadlineKind.SURRENDER_DUE, 2016) is None
    assert calendar.deadline(DeadlineKind.SURRENDER_DUE, 2017) is None
    assert calendar.deadline(DeadlineKind.SURRENDER_DUE, 2018) is not None
    assert calendar.deadline(DeadlineKind.REPORT_DUE, 2016) is not None


def test_kazakhstan_operators_chose_grandparenting_or_benchmarking_in_2018_20_iea_13429() -> None:
    kazakhstan = load_preset("kazakhstan")
    chosen = kazakhstan.allocation_rule(2019, "grandparenting")
    assert chosen is not None and chosen.method is AllocationMethod.GRANDPARENTING
    benchmark = kazakhstan.allocation_rule(2019, "benchmark")
    assert benchmark is not None and benchmark.method is AllocationMethod.BENCHMARK
    assert kazakhstan.allocation_rule(2021, "grandparenting") is None


def test_tokyo_periods_are_five_years_and_fulfilment_ends_september_two_years_on_tmg_2016() -> None:
    tokyo = load_preset("tokyo")
    assert tokyo.calendar.period_years == 5
    assert tokyo.calendar.period_of(2014) == 2010
    assert tokyo.calendar.period_of(2015) == 2015
    # FY2010-14: end of September 2016; FY2015-19: end of September 2021 (23:59 JST).
    assert _surrender_due(tokyo, 2010) == datetime(2016, 9, 30, 14, 59, tzinfo=UTC)
    assert _surrender_due(tokyo, 2015) == datetime(2021, 9, 30, 14, 59, tzinfo=UTC)


def test_tokyo_factors_8_or_6_then_17_or_15_verified_27_or_25_unverified_tmg_2016() -> None:
    tokyo = load_preset("tokyo")
    factors = {
        (year, category): tokyo.allocation_rule(year, category).compliance_factor  # type: ignore[union-attr]
        for year in (2012, 2017, 2022)
        for category in ("higher", "lower")
    }
    assert factors == {
        (2012, "higher"): Fraction(8, 100),
        (2012, "lower"): Fraction(6, 100),
        (2017, "higher"): Fraction(17, 100),
        (2017, "lower"): Fraction(15, 100),
        (2022, "higher"): Fraction(27, 100),
        (2022, "lower"): Fraction(25, 100),
    }
    assert "allocation.2020:higher.compliance_factor" in tokyo.unverified
    assert not any(path.startswith("allocation.2010") for path in tokyo.unverified)
    assert tokyo.coverage.energy_threshold_kl_coe == 1_500


def test_saitama_has_no_penalty_and_accepts_tokyo_credits_over_the_link() -> None:
    saitama = load_preset("saitama")
    assert saitama.penalty.kind is PenaltyKind.NONE
    assert saitama.surrender.foreign_units_via_links
    assert saitama.calendar.phase_of(2010) is None, "Saitama started in FY2011"


def test_shenzhen_fine_is_shortfall_x_3_x_6_month_average_price_plus_make_good_bjruji() -> None:
    penalty = load_preset("shenzhen").penalty
    assert penalty.kind is PenaltyKind.MARKET_PRICE_MULTIPLE
    assert (penalty.price_multiple, penalty.price_window_months) == (3, 6)
    assert penalty.make_good


def test_china_pre_allocates_70_percent_and_ccer_5_percent_is_unverified_icap_804() -> None:
    china = load_preset("china-national")
    assert china.cap_type is CapType.INTENSITY
    first = china.allocation_rule(2019)
    assert first is not None and first.method is AllocationMethod.INTENSITY_BENCHMARK
    assert first.preallocation_share == Fraction(70, 100)
    assert _limit_shares(china, 2021) == {"ccer": Fraction(5, 100)}
    assert "surrender.limits.ccer" in china.unverified
    assert _surrender_due(china, 2019) == datetime(2021, 12, 31, 15, 59, tzinfo=UTC)
    assert not china.coverage.covers(entity_t=26_000) and china.coverage.covers(entity_t=26_001)
    assert {"SZ", "BJ"} <= china.surrender.ineligible_origins


def test_new_zealand_allows_no_overseas_units_and_charges_3x_price_plus_make_good_mfe() -> None:
    nz = load_preset("new-zealand")
    overseas = {limit.name: limit for limit in nz.limits_for(2024)}["overseas-units"]
    assert overseas.share == 0 and overseas.origin is UnitOrigin.INTERNATIONAL
    assert overseas.unit_kinds == set(UnitKind)
    assert nz.penalty.price_multiple == 3 and nz.penalty.make_good
    report = nz.calendar.deadline(DeadlineKind.REPORT_DUE, 2024)
    assert report is not None and report.due.date().isoformat() == "2025-03-31"
    assert _surrender_due(nz, 2024).date().isoformat() == "2025-05-31"


def test_quebec_surrenders_1_november_8pm_after_3_year_periods_q2_r46_1_s21() -> None:
    quebec = load_preset("quebec")
    assert quebec.calendar.period_of(2016) == 2015
    # 1 Nov 2018, 20:00 Eastern daylight time (UTC-4) for the 2015-17 period.
    assert _surrender_due(quebec, 2015) == datetime(2018, 11, 2, 0, 0, tzinfo=UTC)
    # 3 units per missing allowance plus the missing one (s. 22): an added obligation of 4
    # that replaces the shortfall, as California's 4x does.
    assert quebec.penalty.obligation_multiple == 4 and not quebec.penalty.make_good


def test_australia_surrenders_1_february_after_the_31_october_report_clean_energy_act_2011() -> (
    None
):
    # Clean Energy Act 2011 / NGER [U, not read]: the report for the financial year
    # from 1 July 2015 is due 31 October 2016, its surrender 1 February 2017.
    australia = load_preset("australia")
    report = australia.calendar.deadline(DeadlineKind.REPORT_DUE, 2015)
    assert report is not None
    assert report.due == datetime(2016, 10, 31, 12, 59, tzinfo=UTC)  # 23:59 AEDT
    assert _surrender_due(australia, 2015) == datetime(2017, 2, 1, 12, 59, tzinfo=UTC)


def test_australias_kyoto_units_come_from_the_kyoto_registries_a21() -> None:
    # A21 [V]: Kyoto units count in the 50% international cap and the 12.5% sub-cap.
    australia = load_preset("australia")
    assert australia.surrender.origin_of_type("AUK", "AU") == "UN"
    assert australia.surrender.origin_of_type("AUA", "AU") == "AU"


# ---------------------------------------------------------------- loader errors


def _variant(tmp_path: Path, old: str, new: str, name: str = "korea.toml") -> Path:
    text = KOREA_TOML.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"fixture text {old!r} not unique"
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_regime(path)
    assert str(path) in str(caught.value), "the message names the file"
    return caught.value


def test_an_unknown_key_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    path = _variant(tmp_path, "make_good = false ", "make_goood = false ")
    error = _error(path)
    assert error.key == "penalty.make_goood"
    assert "unknown key" in error.message and "make_good" in error.message


def test_a_share_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    error = _error(_variant(tmp_path, 'share = "0.10"\nunit_kinds', 'share = "ten"\nunit_kinds'))
    assert error.key == "surrender.limits[0].share"
    assert '"0.05"' in error.message


def test_a_float_share_is_refused_because_it_is_not_exact(tmp_path: Path) -> None:
    error = _error(_variant(tmp_path, 'share = "0.10"\nunit_kinds', "share = 0.10\nunit_kinds"))
    assert error.key == "surrender.limits[0].share"
    assert "floats are not exact" in error.message


def test_a_share_above_one_is_refused(tmp_path: Path) -> None:
    error = _error(_variant(tmp_path, 'auction_share = "0.03"', 'auction_share = "1.3"'))
    assert error.key == "allocation[1].auction_share"
    assert "at most 1" in error.message


def test_a_missing_required_key_is_named(tmp_path: Path) -> None:
    error = _error(_variant(tmp_path, 'registry_code = "KR"\n', ""))
    assert error.key == "regime.registry_code"
    assert "missing" in error.message


def test_a_registry_code_must_be_two_capital_letters(tmp_path: Path) -> None:
    error = _error(_variant(tmp_path, 'registry_code = "KR"', 'registry_code = "KOR"'))
    assert error.key == "regime.registry_code"


def test_an_unverified_path_must_name_something_the_preset_sets(tmp_path: Path) -> None:
    error = _error(_variant(tmp_path, '    "penalty.make_good",', '    "penalty.make_goood",'))
    assert error.key.startswith("unverified[")
    assert "penalty.make_good" in error.message, "the hint lists the real paths"


def test_overlapping_deadline_rules_of_one_kind_are_refused(tmp_path: Path) -> None:
    error = _error(_variant(tmp_path, "last_period = 2017\n", ""))
    assert error.key == "calendar.deadlines"
    assert "overlap" in error.message


def test_an_unknown_holiday_calendar_is_refused(tmp_path: Path) -> None:
    error = _error(_variant(tmp_path, 'holidays = "KR"', 'holidays = "KR-XX"'))
    assert error.key == "trading.holidays"
    assert "no subdivision 'XX' of KR" in error.message


def test_auction_months_out_of_order_are_refused(tmp_path: Path) -> None:
    error = _error(_variant(tmp_path, "auction_months = [1, 2, 3,", "auction_months = [2, 1, 3,"))
    assert error.key == "trading.auction_months"


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    text = KOREA_TOML.read_text(encoding="utf-8").replace("Asia/Seoul", "Asia/Seul", 1)
    path = tmp_path / "korea.toml"
    path.write_text(text, encoding="utf-8")
    error = _error(path)
    assert error.key == "calendar.deadlines[0].timezone"
    assert "IANA" in error.message


def test_a_penalty_key_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, "cap_per_t_minor = 100_000", "fixed_per_t_minor = 100_000")
    error = _error(path)
    assert error.key == "penalty.fixed_per_t_minor"
    assert "fixed_per_tonne" in error.message


def test_a_gas_without_a_gwp_in_the_chosen_set_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, '"SF6"]  # six gases', '"SF6", "NF3"]  # six gases')
    error = _error(path)
    assert error.key == "coverage.gases"
    assert "SAR" in error.message and "NF3" in error.message


def test_an_unknown_preset_lists_the_ones_that_exist() -> None:
    with pytest.raises(UnknownPresetError) as caught:
        load_preset("atlantis")
    assert "korea" in caught.value.message and caught.value.key == "atlantis"
    with pytest.raises(UnknownPresetError):
        load_preset("../registries/korea-phase1")


def test_a_preset_whose_key_differs_from_its_file_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _variant(tmp_path, 'key = "korea"', 'key = "korea"', name="south-korea.toml")
    monkeypatch.setattr(presets, "PRESETS_DIR", tmp_path)
    assert list_presets() == ["south-korea"]
    with pytest.raises(ConfigError) as caught:
        load_preset("south-korea")
    assert caught.value.key == "regime.key"


def test_a_missing_preset_folder_says_where_presets_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presets, "PRESETS_DIR", tmp_path / "nowhere")
    with pytest.raises(ConfigError) as caught:
        list_presets()
    assert "compliance/jurisdictions" in caught.value.message


# ---------------------------------------------------------------- CLI


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Print CLI tables 240 columns wide, so no cell wraps inside a figure."""
    monkeypatch.setenv("COLUMNS", "240")  # each command measures the terminal as it prints


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_lists_every_preset_with_its_key_rules() -> None:
    result = _run("jurisdictions")
    assert result.exit_code == 0, result.output
    output = result.output
    for key, code in REGISTRY_CODES.items():
        assert key in output and code in output
    assert "KRW 100,000/t" in output and "EUR 100.00/t" in output


def test_cli_shows_one_preset_with_its_unverified_values() -> None:
    result = _run("jurisdictions", "show", "korea")
    assert result.exit_code == 0, result.output
    output = result.output
    assert "Unverified values (12)" in output
    assert "stability.auction_reserve" in output  # Korea's monthly auction floor [U]
    assert "surrender.limits.offsets-phase-3" in output
    assert "2016-06-30 14:59" in output  # the first surrender deadline, in UTC


def test_cli_shows_a_presets_trading_calendar_and_auction_rules() -> None:
    """[trading]: the EU's ECB (TARGET2) holidays and up to 12 auctions a month (EEX [P]);
    its auction cancellation below 90% of the secondary price (Reg. 1031/2010 Art. 7(6),
    threshold [U]); California's February, May, August and November (WCI [V])."""
    eu = _run("jurisdictions", "show", "eu").output
    assert "Trading: business days and auctions" in eu
    assert "ECB: weekdays less its public holidays" in eu
    assert "at most 12" in eu and "at most 144" in eu
    assert "clearing price below 90% of the secondary market's price" in eu
    california = _run("jurisdictions", "show", "california").output
    assert "Feb, May, Aug, Nov" in california and "at most 4" in california
    assert "the price floor for the year" in california
    korea = _run("jurisdictions", "show", "korea").output
    assert "from recent market prices" in korea
    swiss = _run("jurisdictions", "show", "switzerland").output
    assert "none: auctions may fall on any session" in swiss


def test_cli_refuses_an_unknown_preset_with_a_clear_message_and_exit_2() -> None:
    result = _run("jurisdictions", "show", "atlantis")
    assert result.exit_code == 2
    assert "no such preset" in result.output and "korea" in result.output


@pytest.mark.parametrize("key", list_presets())
def test_every_presets_penalty_can_be_assessed_at_a_deadline(key: str) -> None:
    """A preset whose penalty rule the penalty module refuses would stop a run at its first
    deadline (Québec's once combined an added obligation with make-good: 9216)."""
    rule = load_preset(key).penalty
    assessment = assess_penalty(rule, 10, 1_000)
    assert assessment.shortfall_t == 10


def test_a_surrender_deadline_before_its_report_deadline_is_refused_naming_both(
    tmp_path: Path,
) -> None:
    # The order australia.toml had: surrender 1 February before the 31 October report.
    text = (presets.PRESETS_DIR / "australia.toml").read_text(encoding="utf-8")
    old = 'kind = "surrender_due"\nyears_after = 2\n'
    assert text.count(old) == 1
    path = tmp_path / "australia.toml"
    path.write_text(text.replace(old, 'kind = "surrender_due"\nyears_after = 1\n'), "utf-8")
    error = _error(path)
    assert error.key == "calendar.deadlines"
    assert (
        "the surrender deadline for period 2015 (01 February 2016 23:59 Australia/Sydney) is "
        "not after its report deadline (31 October 2016 23:59 Australia/Sydney)"
    ) in str(error)


def test_a_unit_origin_for_a_type_that_is_not_eligible_is_refused(tmp_path: Path) -> None:
    path = _variant(
        tmp_path, "borrowing_share_max = ", 'unit_origins = { CER = "UN" }\nborrowing_share_max = '
    )
    error = _error(path)
    assert error.key == "surrender.unit_origins.CER"
