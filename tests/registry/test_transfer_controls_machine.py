"""Representatives initiate, approve and cancel, payees are trusted and time passes, at random.

After every step: nothing moved without two distinct representatives'
approval; no transfer to a payee not trusted at approval executed before its
delay; no entity's allowances exceed the holding limit; conservation holds;
balances match a naive model; and the journal replays to the same state.
Sources: Reg. (EU) 2019/1122 Art. 35 (A12, A13), 17 CCR §95920 (A27).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from registry import AccountKind, CheckCode, Registry, RegistryError, SigningKey
from registry.clock import SimulatedClock
from registry.controls import ControlSettings, DelayRule, TransferStatus
from registry.units import UnitKind, UnitType

START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
UNTRUSTED_DELAY = timedelta(hours=26)
TRUSTED_ADD_DELAY = timedelta(days=2)
LIMIT_T = 700
SETTINGS = ControlSettings(
    four_eyes=True,
    payee_delay_rule=DelayRule.FIXED,
    untrusted_delay_minutes=26 * 60,
    trusted_add_delay_minutes=2 * 24 * 60,
    holding_limit_t=LIMIT_T,
)
ACCOUNTS = ("alpha", "beta", "gamma")
PEOPLE = {"alpha": ("a1", "a2"), "beta": ("b1", "b2"), "gamma": ("g1", "g2")}
EVERYONE = ("a1", "a2", "b1", "b2", "g1", "g2", "mallory")


@dataclass(slots=True)
class Approval:
    approved_at: datetime
    trusted: bool


class ControlsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.key = SigningKey.generate()
        self.clock = SimulatedClock(START)
        self.registry = Registry.create(
            "sqlite://",
            "EU",
            "Union Registry",
            self.key,
            self.clock,
            (UnitType("EUA", UnitKind.ALLOWANCE, "EU", "EU Allowance"),),
        )
        registry = self.registry
        registry.issue("EUA", 2024, 1_500)
        for label in ACCOUNTS:
            registry.open_account(AccountKind.TRADING, f"holder of {label}", label)
            registry.allocate("issuance", label, "EUA", 500)
            for person in PEOPLE[label]:
                registry.add_representative(label, person)
        registry.configure_controls(SETTINGS)
        self.balance = dict.fromkeys(ACCOUNTS, 500)
        self.ids = {label: registry.account(label).account_id for label in ACCOUNTS}
        self.trusted_since: dict[tuple[str, str], datetime] = {}
        self.approvals: dict[str, Approval] = {}
        self.seen_final: set[str] = set()
        self.next_id = 0

    def teardown(self) -> None:
        self.registry.journal.engine.dispose()

    def attempt(self, command: object) -> bool:
        """Run a command; a refusal must change neither state nor journal."""
        digest = self.registry.ledger.state_digest()
        seq = self.registry.journal.seq
        try:
            command()  # type: ignore[operator]
        except RegistryError:
            assert self.registry.ledger.state_digest() == digest
            assert self.registry.journal.seq == seq
            return False
        return True

    def trusted(self, source: str, target: str) -> bool:
        since = self.trusted_since.get((source, target))
        return since is not None and since + TRUSTED_ADD_DELAY <= self.clock.now()

    @rule(
        source=st.sampled_from(ACCOUNTS),
        payee=st.sampled_from(ACCOUNTS),
        quantity=st.integers(1, 250),
        data=st.data(),
    )
    def initiate(self, source: str, payee: str, quantity: int, data: st.DataObject) -> None:
        person = data.draw(st.sampled_from((*PEOPLE[source], "mallory")))
        transaction_id = f"T{self.next_id}"
        self.next_id += 1
        accepted = self.attempt(
            lambda: self.registry.initiate_transfer(
                transaction_id, source, payee, "EUA", quantity, person
            )
        )
        if accepted:
            assert person in PEOPLE[source] and source != payee
            record = self.registry.ledger.controls.controlled_transfer(transaction_id)
            assert record.status is TransferStatus.AWAITING_APPROVAL

    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        transaction_id = self.draw_id(data)
        if transaction_id is None:
            return
        record = self.registry.ledger.controls.controlled_transfer(transaction_id)
        target = next(label for label, id_ in self.ids.items() if id_ == record.to_account)
        source = next(label for label, id_ in self.ids.items() if id_ == record.from_account)
        person = data.draw(st.sampled_from((*PEOPLE[source], "mallory")))
        trusted = self.trusted(source, target)
        if self.attempt(lambda: self.registry.approve_transfer(transaction_id, person)):
            assert person != record.initiator and person in PEOPLE[source]
            self.approvals[transaction_id] = Approval(self.clock.now(), trusted)

    @rule(data=st.data(), person=st.sampled_from(EVERYONE))
    def cancel(self, data: st.DataObject, person: str) -> None:
        transaction_id = self.draw_id(data)
        if transaction_id is not None:
            self.attempt(lambda: self.registry.cancel_transfer(transaction_id, person))

    @rule(source=st.sampled_from(ACCOUNTS), payee=st.sampled_from(ACCOUNTS))
    def add_trusted(self, source: str, payee: str) -> None:
        if self.attempt(lambda: self.registry.add_trusted_account(source, payee)):
            self.trusted_since[(source, payee)] = self.clock.now()

    @rule(source=st.sampled_from(ACCOUNTS), payee=st.sampled_from(ACCOUNTS))
    def direct_transfer_is_refused(self, source: str, payee: str) -> None:
        try:
            self.registry.transfer(source, payee, "EUA", 1)
        except RegistryError as error:
            assert error.code in (
                CheckCode.TRANSFER_NEEDS_APPROVAL,
                CheckCode.ACQUIRING_ACCOUNT_EQUALS_TRANSFERRING,
                CheckCode.QUANTITY_EXCEEDS_BALANCE,
                CheckCode.HOLDING_LIMIT_EXCEEDED,
            )
        else:
            raise AssertionError("a direct transfer from a four-eyes account went through")

    @rule(minutes=st.integers(0, 4 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.registry.release_due()

    def draw_id(self, data: st.DataObject) -> str | None:
        """Mostly an open transfer; sometimes any transfer the registry knows."""
        controls = self.registry.ledger.controls.state
        known = sorted(controls.open if data.draw(st.integers(0, 9)) else controls.transfers)
        if not known:
            return None
        return data.draw(st.sampled_from(known))

    # ------------------------------------------------------------ invariants

    def executed_transfers_had_two_approvers_and_waited_their_delay(self) -> None:
        """Check each transfer that ended since the last step, and move the model's units."""
        for record in self.registry.ledger.controls.state.transfers.values():
            if record.transaction_id in self.seen_final or not record.status.final:
                continue
            self.seen_final.add(record.transaction_id)
            event(f"transfer ended {record.status.name.lower()}")
            if record.status is not TransferStatus.COMPLETED:
                continue
            approval = self.approvals[record.transaction_id]
            assert record.approver and record.approver != record.initiator
            source = next(label for label, id_ in self.ids.items() if id_ == record.from_account)
            assert {record.initiator, record.approver} <= set(PEOPLE[source])
            assert record.execute_at is not None and record.execute_at <= self.clock.now()
            if not approval.trusted:
                assert record.execute_at >= approval.approved_at + UNTRUSTED_DELAY
            target = next(label for label, id_ in self.ids.items() if id_ == record.to_account)
            self.balance[source] -= record.quantity
            self.balance[target] += record.quantity

    @invariant()
    def balances_match_the_model_and_stay_under_the_holding_limit(self) -> None:
        self.executed_transfers_had_two_approvers_and_waited_their_delay()
        for label in ACCOUNTS:
            held_t = self.registry.account(label).holding.balance()
            assert held_t == self.balance[label]
            assert held_t <= LIMIT_T
        self.registry.check_conservation()

    @invariant()
    def the_journal_replays_to_the_same_state(self) -> None:
        self.registry.flush()
        reopened = Registry.open(self.registry.journal.engine, "EU", self.key, self.clock)
        assert reopened.ledger.state_digest() == self.registry.ledger.state_digest()


ControlsMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestControlsMachine = ControlsMachine.TestCase
