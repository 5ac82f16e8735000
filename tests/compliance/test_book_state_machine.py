"""The compliance book under random reports, allocations, surrenders and clock steps.

Checked after every step: no surrender ever exceeds the offset cap; every
outcome is compliant exactly when the surrendered value covers the
obligation, and its penalty follows the EU rule (EUR 100/t and make-good);
each (entity, period) has one outcome, handed out in deadline order; units
are conserved in the registry; and replaying the book's journal gives the
same state.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from compliance.book import ComplianceBook, Status, SurrenderRequest
from compliance.errors import ComplianceError
from compliance.gases import Gas
from compliance.mrv import EmissionsReport, MonitoringPlan, Verifier, sign_verification
from compliance.regime import PenaltyKind, PenaltyRule
from registry import AccountKind, Registry, RegistryError, SigningKey, SimulatedClock
from registry.units import UnitKind, UnitType
from tests.compliance.test_book import KOREA

ENTITIES = ("steel", "power", "cement")
# EU: EUR 100/t and the missing allowances still owed (DEHSt).
REGIME = replace(
    KOREA,
    penalty=PenaltyRule(PenaltyKind.FIXED_PER_TONNE, make_good=True, fixed_per_t_minor=10_000),
    estimate=replace(KOREA.estimate, fallback_t=5_000),
)
OFFSET_CAP = Fraction(10, 100)


class BookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.key = SigningKey.generate()
        self.clock = SimulatedClock(datetime(2015, 1, 1, tzinfo=UTC))
        self.registry = Registry.create(
            "sqlite://",
            "KR",
            "Korea",
            self.key,
            self.clock,
            [
                UnitType("KAU", UnitKind.ALLOWANCE, "KR"),
                UnitType("KOC", UnitKind.OFFSET_CREDIT, "KR"),
            ],
        )
        for entity_id in ENTITIES:
            self.registry.open_account(AccountKind.COMPLIANCE, entity_id.title(), entity_id)
        self.book = ComplianceBook.create(self.registry, REGIME, self.key)
        for entity_id in ENTITIES:
            plan = MonitoringPlan(entity_id, frozenset({Gas.CO2}), False, "calculation")
            self.book.register_entity(entity_id, entity_id.title(), entity_id, plan)
        self.verifier_key = SigningKey.generate()
        self.book.accredit_verifier(Verifier("V-1", "Verifier", self.verifier_key.verify_key))
        issuance = self.registry.ledger.singleton(AccountKind.ISSUANCE).account_id
        self.registry.issue("KOC", 2015, 3_000, project_id="KR-LFG-1")
        for entity_id in ENTITIES:
            self.registry.allocate(issuance, entity_id, "KOC", 1_000)
        self.offsets_at_surrender: dict[tuple[str, int], int] = {}
        self.handled: list[tuple[datetime, str, int]] = []

    @rule(entity=st.sampled_from(ENTITIES), quantity=st.integers(0, 2_000))
    def allocate(self, entity: str, quantity: int) -> None:
        self.book.allocate(self.clock.now().year, {entity: quantity})

    @rule(entity=st.sampled_from(ENTITIES), tonnes=st.integers(0, 3_000))
    def report_and_verify_last_year(self, entity: str, tonnes: int) -> None:
        year = self.clock.now().year - 1
        report = EmissionsReport(entity, year, {Gas.CO2: tonnes * 1_000})
        try:
            self.book.submit_report(report)
        except ComplianceError:
            return  # too early, too late, or already reported: covered by the MRV tests
        self.book.record_verification(
            sign_verification(self.verifier_key, "V-1", report, self.book.regime)
        )

    @rule(
        entity=st.sampled_from(ENTITIES),
        allowances=st.integers(0, 1_500),
        offsets=st.integers(0, 300),
    )
    def surrender_for_last_year(self, entity: str, allowances: int, offsets: int) -> None:
        period = self.clock.now().year - 1
        requests = [
            SurrenderRequest(code, quantity)
            for code, quantity in (("KAU", allowances), ("KOC", offsets))
            if quantity
        ]
        if period < 2015 or not requests:
            return
        before = self.registry.ledger.state_digest()
        try:
            self.book.surrender(entity, period, requests)
        except (ComplianceError, RegistryError):
            assert self.registry.ledger.state_digest() == before
            return
        account = self.book.account_of(entity)
        offsets_t = sum(
            block.quantity
            for record in self.registry.ledger.surrenders(account, period)
            for block in record.blocks
            if block.unit_type == "KOC"
        )
        obligation = self.book.obligation_t(entity, period)
        if offsets_t:
            assert obligation is not None
            assert offsets_t <= OFFSET_CAP * obligation
        self.offsets_at_surrender[(entity, period)] = offsets_t

    @precondition(lambda self: self.clock.now() < datetime(2019, 1, 1, tzinfo=UTC))
    @rule(days=st.integers(1, 200))
    def advance(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))
        for outcome in self.book.advance():
            self.handled.append((self.clock.now(), outcome.entity_id, outcome.period))

    @invariant()
    def outcomes_follow_the_rules(self) -> None:
        seen = set()
        for outcome in self.book.outcomes():
            key = (outcome.entity_id, outcome.period)
            assert key not in seen, f"{key} has two outcomes"
            seen.add(key)
            covered = outcome.surrendered_value >= outcome.obligation_t
            assert (outcome.status is Status.COMPLIANT) == covered
            shortfall = max(0, math.ceil(outcome.obligation_t - outcome.surrendered_value))
            assert outcome.shortfall_t == shortfall
            assert outcome.penalty.fine_minor == 10_000 * shortfall
            assert outcome.penalty.carried_t == shortfall
        periods = [period for _, _, period in self.handled]
        assert periods == sorted(periods), "deadlines are handled in order"

    @invariant()
    def units_are_conserved(self) -> None:
        self.registry.check_conservation()

    @invariant()
    def journal_replays_to_the_same_book(self) -> None:
        self.book.flush()
        reopened_registry = Registry.open(
            self.registry.journal.engine, "KR", self.key, SimulatedClock(self.clock.now())
        )
        reopened = ComplianceBook.open(reopened_registry, REGIME, self.key)
        assert reopened.state_digest() == self.book.state_digest()


TestComplianceBook = BookMachine.TestCase
