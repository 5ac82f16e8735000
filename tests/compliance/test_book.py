"""The compliance book end to end: MRV, allocation, surrender, deadlines, penalties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from compliance.book import ComplianceBook, Status, SurrenderRequest
from compliance.calendar import Calendar, DeadlineKind, DeadlineRule, Phase
from compliance.errors import ComplianceCode, ComplianceError
from compliance.gases import Gas
from compliance.mrv import EmissionsReport, MonitoringPlan, Verifier, sign_verification
from compliance.presets import load_preset
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
from registry import (
    AccountKind,
    CheckCode,
    Registry,
    RegistryError,
    SigningKey,
    SimulatedClock,
    UnitKind,
    UnitType,
)

KOREA = Regime(
    key="korea-test",
    name="Korea ETS",
    registry_code="KR",
    currency="KRW",
    cap_type=CapType.ABSOLUTE,
    gwp_set="SAR",
    coverage=Coverage(frozenset(Gas) - {Gas.NF3}, True, 125_000, 25_000),
    calendar=Calendar(
        2015,
        1,
        (
            DeadlineRule(DeadlineKind.REPORT_DUE, 1, 3, 31),
            DeadlineRule(DeadlineKind.SURRENDER_DUE, 1, 6, 30),
        ),
        (Phase("1", 2015, 2017),),
    ),
    allocation=(AllocationRule(AllocationMethod.GRANDPARENTING, 2015, 2017),),
    surrender=SurrenderRules(
        eligible_unit_types=frozenset({"KAU", "KOC"}),
        limits=(
            QuantitativeLimit(
                "offsets", Fraction(10, 100), frozenset({UnitKind.OFFSET_CREDIT}), UnitOrigin.ANY
            ),
        ),
    ),
    # Korea: up to 3x the year's average price, at most KRW 100,000/t (climate-laws.org).
    penalty=PenaltyRule(
        PenaltyKind.MARKET_PRICE_MULTIPLE,
        make_good=False,
        price_multiple=Fraction(3),
        cap_per_t_minor=100_000,
    ),
    estimate=ConservativeEstimate(EstimateRule.LAST_VERIFIED_PLUS_UPLIFT, 1, Fraction(1, 10)),
    allowance_unit_type="KAU",
)
KOREA_UNITS = (
    UnitType("KAU", UnitKind.ALLOWANCE, "KR"),
    UnitType("KOC", UnitKind.OFFSET_CREDIT, "KR"),
)
CALIFORNIA_UNITS = (
    UnitType("CCA", UnitKind.ALLOWANCE, "CA"),
    UnitType("ARBOC", UnitKind.OFFSET_CREDIT, "CA"),
)
# EU: EUR 100/t and the missing allowances still owed (DEHSt).
EU_PENALTY = PenaltyRule(PenaltyKind.FIXED_PER_TONNE, make_good=True, fixed_per_t_minor=10_000)


def co2_report(entity_id: str, year: int, tonnes: int, version: int = 1) -> EmissionsReport:
    return EmissionsReport(entity_id, year, {Gas.CO2: tonnes * 1_000}, version=version)


class World:
    """A Korean registry with two covered companies, a verifier and the book."""

    def __init__(
        self, regime: Regime = KOREA, unit_types: tuple[UnitType, ...] = KOREA_UNITS
    ) -> None:
        self.clock = SimulatedClock(datetime(2015, 1, 1, tzinfo=UTC))
        self.registry = Registry.create(
            "sqlite://",
            regime.registry_code,
            regime.name,
            SigningKey.generate(),
            self.clock,
            list(unit_types),
        )
        for label in ("steel", "power"):
            self.registry.open_account(AccountKind.COMPLIANCE, label.title(), label)
        self.book = ComplianceBook(self.registry, regime)
        plan = {
            label: MonitoringPlan(label, frozenset({Gas.CO2}), False, "calculation")
            for label in ("steel", "power")
        }
        for label in ("steel", "power"):
            self.book.register_entity(label, label.title(), label, plan[label])
        self.verifier_key = SigningKey.generate()
        self.book.accredit_verifier(
            Verifier("V-1", "Korea Verification", self.verifier_key.verify_key)
        )

    def report_and_verify(self, entity_id: str, year: int, tonnes: int) -> None:
        report = co2_report(entity_id, year, tonnes)
        self.book.submit_report(report)
        self.book.record_verification(
            sign_verification(self.verifier_key, "V-1", report, self.book.regime)
        )

    def at(self, *moment: int) -> None:
        self.clock.set(datetime(*moment, tzinfo=UTC))


def test_allocation_issues_the_vintage_and_moves_real_units() -> None:
    world = World()
    assert world.book.allocate(2015, {"steel": 1_000, "power": 2_000}) == 3_000
    assert world.registry.account("steel").holding.balance("KAU", 2015) == 1_000
    assert world.registry.ledger.issued("KAU", 2015) == 3_000
    world.registry.check_conservation()


def test_full_cycle_compliant_and_shortfall_with_korean_penalty() -> None:
    world = World()
    world.book.allocate(2015, {"steel": 1_000, "power": 1_000})
    world.at(2016, 2, 1)
    world.report_and_verify("steel", 2015, 1_000)
    world.report_and_verify("power", 2015, 1_200)
    world.at(2016, 6, 1)
    world.book.surrender("steel", 2015, [SurrenderRequest("KAU", 1_000)])
    world.book.surrender("power", 2015, [SurrenderRequest("KAU", 1_000)])
    world.book.set_average_price(2015, 12_000)
    world.at(2016, 7, 1)
    outcomes = {o.entity_id: o for o in world.book.advance()}
    assert outcomes["steel"].status is Status.COMPLIANT
    power = outcomes["power"]
    assert (power.status, power.shortfall_t) == (Status.SHORTFALL, 200)
    # 3 x KRW 12,000 = KRW 36,000/t under the KRW 100,000 cap, on 200 t.
    assert power.penalty.fine_minor == 200 * 36_000
    assert world.book.advance() == []


def test_deadline_with_a_market_price_penalty_and_no_price_is_not_skipped() -> None:
    world = World()
    world.at(2016, 2, 1)
    world.report_and_verify("steel", 2015, 10)
    world.report_and_verify("power", 2015, 10)
    world.at(2016, 7, 1)
    with pytest.raises(ComplianceError) as caught:
        world.book.advance()
    assert caught.value.code is ComplianceCode.PRICE_SERIES_INVALID
    assert world.book.outcomes() == []
    world.book.set_average_price(2015, 20_000)
    outcomes = world.book.advance()
    assert [o.shortfall_t for o in outcomes] == [10, 10]


def test_missing_report_gets_a_conservative_estimate_recorded_as_such() -> None:
    world = World(replace(KOREA, penalty=EU_PENALTY))
    world.at(2016, 2, 1)
    world.report_and_verify("steel", 2015, 1_000)
    world.report_and_verify("power", 2015, 500)
    world.at(2017, 2, 1)
    world.report_and_verify("steel", 2016, 1_000)
    world.at(2017, 7, 1)
    outcomes = {o.entity_id: o for o in world.book.advance() if o.period == 2016}
    assert outcomes["power"].estimated
    assert outcomes["power"].emissions_t == 550  # last verified 500 t + 10% uplift
    assert not outcomes["steel"].estimated


def test_eu_make_good_carries_the_shortfall_into_the_next_obligation_dehst() -> None:
    world = World(replace(KOREA, penalty=EU_PENALTY))
    world.book.allocate(2015, {"steel": 900, "power": 0})
    world.at(2016, 2, 1)
    world.report_and_verify("steel", 2015, 1_000)
    world.report_and_verify("power", 2015, 0)
    world.at(2016, 6, 1)
    world.book.surrender("steel", 2015, [SurrenderRequest("KAU", 900)])
    world.at(2016, 7, 1)
    steel = next(o for o in world.book.advance() if o.entity_id == "steel")
    assert steel.penalty.fine_minor == 100 * 10_000  # EUR 100 x 100 t
    assert world.book.carried_t("steel") == 100
    world.at(2017, 2, 1)
    world.report_and_verify("steel", 2016, 1_000)
    assert world.book.obligation_t("steel", 2016) == 1_100


def test_surrender_after_the_deadline_is_refused_and_changes_nothing() -> None:
    world = World()
    world.book.allocate(2015, {"steel": 100})
    world.at(2016, 7, 1)
    before = world.registry.ledger.state_digest()
    with pytest.raises(ComplianceError) as caught:
        world.book.surrender("steel", 2015, [SurrenderRequest("KAU", 10)])
    assert caught.value.code is ComplianceCode.SURRENDER_AFTER_DEADLINE
    assert world.registry.ledger.state_digest() == before


def test_no_surrender_into_a_period_settled_ahead_of_the_registry_clock() -> None:
    # Korea: surrender by 30 June of the following year (DOMAIN.md, Korea [V]).
    # `advance(now)` settles 2015 at 1 July 2016 while the registry clock reads
    # 1 June; the outcome (1,000 t short, fined) is the last word on 2015.
    world = World()
    world.book.allocate(2015, {"steel": 1_000})
    world.at(2016, 2, 1)
    world.report_and_verify("steel", 2015, 1_000)
    world.report_and_verify("power", 2015, 0)
    world.at(2016, 6, 1)
    world.book.set_average_price(2015, 12_000)
    (steel, _) = world.book.advance(datetime(2016, 7, 1, tzinfo=UTC))
    assert (steel.entity_id, steel.shortfall_t) == ("steel", 1_000)
    before = world.registry.ledger.state_digest()
    with pytest.raises(ComplianceError) as caught:
        world.book.surrender("steel", 2015, [SurrenderRequest("KAU", 1_000)])
    assert caught.value.code is ComplianceCode.PERIOD_SETTLED
    assert "period 2015 was settled at its surrender deadline 2016-06-30 00:00 UTC" in (
        caught.value.message
    )
    assert world.registry.ledger.state_digest() == before
    assert world.book.surrendered_value("steel", 2015) == 0


def california_world_short_4_000_t_untimely() -> World:
    """A California book whose 'steel' was 1,000 t short for 2015, verified 100,000 t for 2016."""
    world = World(load_preset("california"), CALIFORNIA_UNITS)
    world.book.allocate(2015, {"steel": 9_000})
    world.at(2016, 3, 1)
    world.report_and_verify("steel", 2015, 10_000)
    world.report_and_verify("power", 2015, 0)
    world.at(2016, 10, 1)
    world.book.surrender("steel", 2015, [SurrenderRequest("CCA", 9_000)])
    world.at(2016, 11, 2)
    steel = next(o for o in world.book.advance() if o.entity_id == "steel")
    assert (steel.penalty.added_obligation_t, steel.penalty.allowances_min_t) == (4_000, 3_000)
    world.book.allocate(2016, {"steel": 100_000})
    world.registry.issue("ARBOC", 2016, 5_000, project_id="CAFR-1")
    issuance = world.registry.ledger.singleton(AccountKind.ISSUANCE).account_id
    world.registry.allocate(issuance, "steel", "ARBOC", 5_000)
    world.at(2017, 3, 1)
    world.report_and_verify("steel", 2016, 100_000)
    world.report_and_verify("power", 2016, 0)
    world.at(2017, 6, 1)
    return world


def test_california_untimely_obligation_refuses_offsets_over_a_quarter_17_ccr_95857() -> None:
    # 17 CCR §95857 [V] (DOMAIN.md, California/Québec): 4 x the 1,000 t short =
    # 4,000 t, at least 3/4 (3,000 t) in allowances, so at most 1,000 t offsets.
    # The 8% offset limit alone would allow 8,320 t of the 104,000 t obligation.
    world = california_world_short_4_000_t_untimely()
    before = world.registry.ledger.state_digest()
    with pytest.raises(ComplianceError) as caught:
        world.book.surrender("steel", 2016, [SurrenderRequest("ARBOC", 1_001)])
    assert caught.value.code is ComplianceCode.UNTIMELY_SURRENDER_ALLOWANCES_SHORT
    assert "obligation of 4,000 t from period 2015 must be at least 3,000 t of allowances" in (
        caught.value.message
    )
    assert "1,001 t of other units in it, over the 1,000 t allowed" in caught.value.message
    assert world.registry.ledger.state_digest() == before
    world.book.surrender("steel", 2016, [SurrenderRequest("ARBOC", 1_000)])


def test_california_untimely_obligation_takes_offsets_after_three_quarters_in_allowances() -> None:
    world = california_world_short_4_000_t_untimely()
    world.book.surrender("steel", 2016, [SurrenderRequest("CCA", 3_000)])
    world.book.surrender("steel", 2016, [SurrenderRequest("ARBOC", 1_001)])
    assert world.book.surrendered_value("steel", 2016) == 4_001


def test_surrender_over_the_offset_cap_moves_nothing_not_even_the_allowances() -> None:
    world = World()
    world.book.allocate(2015, {"steel": 1_000})
    world.registry.issue("KOC", 2015, 500, project_id="KR-LFG-1")
    issuance = world.registry.ledger.singleton(AccountKind.ISSUANCE).account_id
    world.registry.allocate(issuance, "steel", "KOC", 500)
    world.at(2016, 2, 1)
    world.report_and_verify("steel", 2015, 1_000)
    before = world.registry.ledger.state_digest()
    with pytest.raises(ComplianceError) as caught:
        world.book.surrender(
            "steel", 2015, [SurrenderRequest("KAU", 800), SurrenderRequest("KOC", 200)]
        )
    assert caught.value.code is ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED
    assert world.registry.ledger.state_digest() == before
    world.book.surrender(
        "steel", 2015, [SurrenderRequest("KAU", 900), SurrenderRequest("KOC", 100)]
    )
    assert world.book.surrendered_value("steel", 2015) == 1_000


def test_bad_surrender_input_is_refused_with_codes() -> None:
    world = World()
    world.book.allocate(2015, {"steel": 10})
    cases = [
        ("nobody", 2015, [SurrenderRequest("KAU", 1)], ComplianceCode.UNKNOWN_ENTITY),
        ("steel", 2014, [SurrenderRequest("KAU", 1)], ComplianceCode.PERIOD_INVALID),
        ("steel", 2015, [SurrenderRequest("KAU", 0)], CheckCode.QUANTITY_NOT_POSITIVE_INTEGER),
        ("steel", 2015, [SurrenderRequest("KAU", 11)], CheckCode.QUANTITY_EXCEEDS_BALANCE),
        ("steel", 2015, [SurrenderRequest("XYZ", 1)], CheckCode.INVALID_UNIT_TYPE),
    ]
    before = world.registry.ledger.state_digest()
    for entity_id, period, requests, code in cases:
        with pytest.raises(RegistryError) as caught:
            world.book.surrender(entity_id, period, requests)
        assert caught.value.code == code
    assert world.registry.ledger.state_digest() == before


def test_an_entity_needs_a_compliance_account() -> None:
    world = World()
    world.registry.open_account(AccountKind.TRADING, "Broker", "broker")
    with pytest.raises(RegistryError) as caught:
        world.book.register_entity(
            "broker", "Broker", "broker", MonitoringPlan("broker", frozenset({Gas.CO2}), False, "x")
        )
    assert caught.value.code is CheckCode.TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE


def test_journaled_book_replays_to_the_same_state_and_keeps_going(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = SigningKey.generate()
    url = f"sqlite:///{tmp_path / 'kr.db'}"
    clock = SimulatedClock(datetime(2015, 1, 1, tzinfo=UTC))
    registry = Registry.create(
        url, "KR", "Korea", key, clock, [UnitType("KAU", UnitKind.ALLOWANCE, "KR")]
    )
    registry.open_account(AccountKind.COMPLIANCE, "Steel", "steel")
    book = ComplianceBook.create(registry, replace(KOREA, penalty=EU_PENALTY), key)
    book.register_entity(
        "steel", "Steel", "steel", MonitoringPlan("steel", frozenset({Gas.CO2}), False, "m")
    )
    verifier_key = SigningKey.generate()
    book.accredit_verifier(Verifier("V-1", "Verifier", verifier_key.verify_key))
    book.allocate(2015, {"steel": 900})
    clock.set(datetime(2016, 2, 1, tzinfo=UTC))
    report = co2_report("steel", 2015, 1_000)
    book.submit_report(report)
    book.record_verification(sign_verification(verifier_key, "V-1", report, book.regime))
    book.surrender("steel", 2015, [SurrenderRequest("KAU", 900)])
    clock.set(datetime(2016, 7, 1, tzinfo=UTC))
    [outcome] = book.advance()
    book.flush()

    reopened_registry = Registry.open(url, "KR", key, SimulatedClock(clock.now()))
    reopened = ComplianceBook.open(reopened_registry, book.regime, key)
    assert reopened.state_digest() == book.state_digest()
    assert reopened.outcomes() == [outcome]
    assert reopened.carried_t("steel") == 100
    assert reopened.advance() == []  # the deadline was journaled as handled
    reopened.set_average_price(2016, 1)
    reopened.flush()


def test_compliance_stream_is_not_mistaken_for_a_registry_by_the_cli(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from etslink.cli import cli

    key = SigningKey.generate()
    db = tmp_path / "kr.db"
    registry = Registry.create(f"sqlite:///{db}", "KR", "Korea", key)
    book = ComplianceBook.create(registry, KOREA, key)
    book.set_average_price(2015, 1)
    book.flush()
    (tmp_path / "kr.db.KR.key.pem").write_bytes(key.to_pem())
    result = CliRunner().invoke(cli, ["registry", "accounts", "--db", f"sqlite:///{db}"])
    assert result.exit_code == 0, result.output


def test_a_book_reopened_under_another_regime_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from compliance.book import founding_regime_key

    key = SigningKey.generate()
    registry = Registry.create(f"sqlite:///{tmp_path / 'kr.db'}", "KR", "Korea", key)
    ComplianceBook.create(registry, KOREA, key)
    assert founding_regime_key(registry, key) == "korea-test"
    with pytest.raises(ComplianceError) as caught:
        ComplianceBook.open(registry, replace(KOREA, key="eu"), key)
    assert caught.value.code is ComplianceCode.REGIME_MISMATCH


def test_a_deadline_with_no_figure_to_estimate_from_waits_and_is_never_skipped() -> None:
    world = World(replace(KOREA, penalty=EU_PENALTY))
    world.at(2016, 2, 1)
    world.report_and_verify("steel", 2015, 10)  # power never reports, and has no history
    world.at(2016, 7, 1)
    with pytest.raises(ComplianceError) as caught:
        world.book.advance()
    assert caught.value.code is ComplianceCode.NO_VERIFIED_EMISSIONS
    assert world.book.outcomes() == []
    assert world.book.schedule.pending(world.clock.now())  # still due, not lost


def test_china_true_up_adds_or_claws_back_real_units_icap_news_804() -> None:
    """China: pre-allocation, then an ex-post true-up to actual output x benchmark [V]."""
    world = World()
    world.book.allocate(2015, {"steel": 700, "power": 700})
    added, clawed = world.book.true_up(2015, {"steel": 300, "power": -200})
    assert (added, clawed) == (300, 200)
    assert world.registry.account("steel").holding.balance("KAU", 2015) == 1_000
    assert world.registry.account("power").holding.balance("KAU", 2015) == 500
    assert world.registry.account("allocation_reserve").holding.balance("KAU", 2015) == 200
    world.registry.check_conservation()


def test_true_up_clawing_back_more_than_held_changes_nothing() -> None:
    world = World()
    world.book.allocate(2015, {"steel": 100, "power": 100})
    before = world.registry.ledger.state_digest()
    with pytest.raises(RegistryError) as caught:
        world.book.true_up(2015, {"steel": 50, "power": -101})
    assert caught.value.code is CheckCode.QUANTITY_EXCEEDS_BALANCE
    assert world.registry.ledger.state_digest() == before


def test_an_eu_book_founded_in_2023_settles_2023_not_2005() -> None:
    """The EU ETS began in 2005; a book founded in 2023 has nothing to say about 2005-22.

    The EU surrender for 2023 emissions was due 30 September 2024 (Dir. 2023/959)."""
    from compliance.presets import load_preset

    eu = load_preset("eu")
    clock = SimulatedClock(datetime(2023, 1, 1, tzinfo=UTC))
    registry = Registry.create(
        "sqlite://",
        "EU",
        "Union Registry",
        SigningKey.generate(),
        clock,
        [UnitType("EUA", UnitKind.ALLOWANCE, "EU")],
    )
    registry.open_account(AccountKind.COMPLIANCE, "Steel", "steel")
    book = ComplianceBook(registry, eu)
    book.register_entity(
        "steel", "Steel", "steel", MonitoringPlan("steel", frozenset({Gas.CO2}), False, "m")
    )
    verifier_key = SigningKey.generate()
    book.accredit_verifier(Verifier("V-1", "Verifier", verifier_key.verify_key))
    clock.set(datetime(2024, 2, 1, tzinfo=UTC))
    report = co2_report("steel", 2023, 10)
    book.submit_report(report)
    book.record_verification(sign_verification(verifier_key, "V-1", report, eu))
    clock.set(datetime(2024, 10, 2, tzinfo=UTC))
    [outcome] = book.advance()
    assert (outcome.period, outcome.shortfall_t) == (2023, 10)
    assert outcome.penalty.fine_minor == 10 * 10_000  # EUR 100/t


def test_locked_units_cannot_be_surrendered_and_nothing_changes() -> None:
    """Units locked pending-out (an external transfer in flight) cannot be surrendered."""
    from registry import LockPurpose

    world = World()
    world.book.allocate(2015, {"steel": 100})
    world.registry.lock("TX-1", "steel", "KAU", 100, LockPurpose.EXTERNAL_TRANSFER)
    world.at(2016, 2, 1)
    before = world.registry.ledger.state_digest()
    with pytest.raises(RegistryError) as caught:
        world.book.surrender("steel", 2015, [SurrenderRequest("KAU", 1)])
    assert caught.value.code is CheckCode.QUANTITY_EXCEEDS_BALANCE
    assert world.registry.ledger.state_digest() == before
