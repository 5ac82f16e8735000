"""The linking gateway: the transaction log that checks, forwards and decides external transfers.

A journaled single-writer state machine (see `gateway.participant`). The
life of one transfer, in the Kyoto statuses:

1. PROPOSED: a signed `TransferProposal` from the origin registry arrives
   (the blocks are already locked pending-out there).
2. The gateway runs its checks in families, the first failure deciding:
   registry and link status; unit validity and eligibility (origin, type,
   vintage, Article 6, quarantine, frozen units of a terminated link);
   limits (per transfer, per period); holdings and double spend (blocks
   already in flight, blocks the log does not see at the origin, a
   transaction id seen before). A failure → REJECTED, a signed `Rejection` to
   the origin, which unlocks. If only the link's transfer window is closed,
   the transfer waits (it is not dropped) and is checked again when the
   window opens.
3. CHECKED_NO_DISCREPANCY: the blocks are reserved in flight and the
   transfer is forwarded to the destination with the gateway's
   countersignature; the destination has `answer_timeout` to answer.
4. The destination's `Acceptance` → COMPLETED: link counters and the log's
   record of crossed units move, Article 6 adjustments are recorded, and a
   `Completion` goes to both registries (origin exports, destination
   credits). Its `Rejection` → REJECTED, relayed to the origin. No answer in
   time, or the link suspended or terminated meanwhile → TERMINATED, a
   `Termination` to both.

Every transfer ends completed, rejected or terminated exactly once: a final
transfer never changes again, and answers about it are taken and ignored.

The log knows each unit's fate, not only its crossings (`gateway.unit_states`). Registries send
`Notice`s of surrenders, cancellations, retirements (terminal: 9027),
quarantines (9101) and registry-wide suspensions (9028), and the log checks
them when a transfer is proposed and again when it would complete: a transfer
whose serials became terminal or quarantined, or whose party registry was
suspended, while it was open is terminated — or, for a suspension on a link
whose rule is `hold`, kept until the registry resumes. A proposal older than
the link's maximum age is refused (9029). No transfer stays open past the
link's origin time-out: the log ends it (9015), and answers an origin that
withdraws it (9031).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import Engine

from gateway.article6 import Article6Ledger, Article6Report
from gateway.errors import GatewayError, LinkCode
from gateway.links import (
    ORIGIN_TIMEOUT_MINUTES,
    PROPOSAL_MAX_AGE_MINUTES,
    Link,
    LinkState,
    SuspensionRule,
)
from gateway.messages import (
    TEXT_LENGTH_MAX,
    TRANSFERS_PER_MESSAGE_MAX,
    Acceptance,
    Completion,
    Forward,
    Message,
    Notice,
    Refusal,
    Rejection,
    SignedMessage,
    Termination,
    TransactionStatus,
    Transfer,
    TransferProposal,
    Withdrawal,
)
from gateway.participant import Participant, ProtocolAlert
from gateway.reconciliation import (
    HoldingsStatement,
    ReconciliationReport,
    SignedStatement,
    reconcile,
)
from gateway.unit_states import UnitStates
from registry import canonical
from registry.clock import SimulatedClock, format_time, parse_time
from registry.errors import CheckCode, RegistryError
from registry.journal import GroupCommit
from registry.keys import SigningKey, VerifyKey
from registry.serial_ranges import RangeSet, add_ranges, remove_ranges
from registry.store import make_engine
from registry.units import UnitBlock

SerialKey = tuple[str, str, int]  # (origin, unit type, vintage)
Piece = tuple[SerialKey, int, int]  # a serial range of one serial space
TRANSFERS_OPEN_MAX = 1_000_000  # transfers in flight or waiting at once


@dataclass(slots=True)
class TransferRecord:
    """The gateway's record of one transfer and where it stands."""

    transfer: Transfer
    batch_id: str
    status: TransactionStatus
    proposed_at: datetime
    link_id: str | None = None
    waiting_until: datetime | None = None  # closed window: checked again then
    answer_due: datetime | None = None  # forwarded: terminated if no answer by then
    period: int | None = None  # the year whose flow counter holds this transfer
    reserved: bool = False  # its serials count as in flight (waiting or forwarded)
    expires_at: datetime | None = None  # the origin's time-out: terminated if still open then
    held: bool = False  # a party registry is suspended and the link holds its transfers
    accepted: bool = False  # held after the destination accepted: completes on resumption
    codes: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @property
    def batch_key(self) -> tuple[str, str]:
        """The proposal this transfer came in: batch ids are unique per origin only."""
        return self.transfer.from_registry, self.batch_id


@dataclass(frozen=True, slots=True)
class LinkCounters:
    """What has crossed a link: completed tonnes per period and transfers by final status."""

    flows_t: Mapping[int, int]
    in_flight_t: int
    completed: int
    rejected: int
    terminated: int
    waiting: int


@dataclass
class _Outcome:
    """The answers one step produces, grouped per registry before sending."""

    rejected: dict[str, list[Refusal]] = field(default_factory=dict)  # origin → refusals
    terminated: dict[str, list[Refusal]] = field(default_factory=dict)  # registry → refusals
    completed: dict[str, list[str]] = field(default_factory=dict)  # registry → ids
    # (origin, batch id, destination) → ids
    forwarded: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    # Names the messages when they repeat final notices (a withdrawal's answers): a
    # recipient takes one message of a kind per transaction id.
    message_id: str = ""


class Gateway(Participant):
    """The transaction log between registries: links, checks, transfers, reconciliation."""

    def __init__(self, gateway_id: str, key: SigningKey, clock: SimulatedClock) -> None:
        super().__init__(gateway_id, key, clock)
        self.links: dict[str, Link] = {}
        self.registries: set[str] = set()
        self.transfers: dict[str, TransferRecord] = {}
        # (origin, batch id) → its signed proposal and open transfers, while any is open
        self._proposals: dict[tuple[str, str], SignedMessage] = {}
        self._open_in_batch: dict[tuple[str, str], int] = {}
        self._open: set[str] = set()  # ids of transfers not final
        self.in_flight: dict[SerialKey, RangeSet] = {}
        self.foreign: dict[str, dict[SerialKey, RangeSet]] = {}  # registry → units of others
        self.away: dict[str, dict[SerialKey, RangeSet]] = {}  # registry → its units elsewhere
        self._flows_t: dict[tuple[str, int], int] = {}  # (link, year) → tonnes, incl. reserved
        self.frozen: dict[SerialKey, RangeSet] = {}
        self.unit_states = UnitStates()  # terminal, quarantined, suspended: gateway.unit_states
        self._withdrawn_unseen: set[str] = set()  # withdrawn before their proposal arrived
        self.unreconciled: dict[str, ReconciliationReport] = {}
        self.reconciliations: list[ReconciliationReport] = []
        self.article6 = Article6Ledger()
        self.transfers_open_max = TRANSFERS_OPEN_MAX
        self._carriers: dict[tuple[str, str], Link | None] = {}  # (from, to) → its link
        self._handlers.update(
            {
                "registry_admitted": self._admit_registry,
                "link_added": self._add_link,
                "link_state_changed": self._change_link_state,
                "serials_quarantined": self._quarantine_serials,
                "quarantine_lifted": self._lift_quarantine,
                "time_advanced": self._advance,
                "reconciled": self._reconcile,
                "reconciliation_resolved": self._resolve_reconciliation,
                "article6_party_registered": self._register_party,
                "article6_authorised": self._authorise,
            }
        )

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def create(
        cls,
        store: str | Engine,
        gateway_id: str,
        key: SigningKey,
        clock: SimulatedClock | None = None,
        group_commit: GroupCommit | None = None,
    ) -> Gateway:
        """Found a gateway with its own journal stream `gateway_id` in `store`."""
        engine = make_engine(store) if isinstance(store, str) else store
        gateway = cls(gateway_id, key, clock or SimulatedClock())
        gateway._start_journal(engine, gateway_id, group_commit)
        gateway.trust.add(gateway_id, key.verify_key)
        gateway.flush()
        return gateway

    @classmethod
    def open(
        cls,
        store: str | Engine,
        gateway_id: str,
        key: SigningKey,
        clock: SimulatedClock | None = None,
        group_commit: GroupCommit | None = None,
    ) -> Gateway:
        """Reopen a gateway: verify its journal and replay every input it took."""
        engine = make_engine(store) if isinstance(store, str) else store
        gateway = cls(gateway_id, key, clock or SimulatedClock())
        gateway.trust.add(gateway_id, key.verify_key)
        gateway._replay_journal(engine, gateway_id, group_commit)
        return gateway

    # ------------------------------------------------------------ operator commands

    def admit_registry(self, code: str, key: VerifyKey) -> None:
        """Trust registry `code`'s public key; its messages are taken from now on."""
        self._command("registry_admitted", {"code": code, "public_key": key.to_pem().decode()})

    def add_link(self, link: Link) -> None:
        """Add a link (in whatever state it is in) between two admitted registries."""
        self._command("link_added", {"link": link.to_data()})

    def set_link_state(
        self, link_id: str, state: LinkState, reason: str = "", freeze_units: bool = False
    ) -> list[str]:
        """Move a link to `state`; suspending or terminating ends its transfers in flight.

        Returns the ids of the transfers terminated; their units return to the
        origin. Terminating leaves units that already crossed where they are
        (Ontario 2018, reference D21); with `freeze_units` the log refuses to
        carry them anywhere again (9005), otherwise they stay eligible on
        other links.
        """
        data = {
            "link_id": link_id,
            "state": state.value,
            "reason": reason,
            "freeze_units": freeze_units,
        }
        return list(self._command("link_state_changed", data))

    def quarantine_serials(
        self, origin: str, unit_type: str, vintage: int, start: int, end: int, reason: str
    ) -> None:
        """Refuse every transfer carrying any of these serials, on every link (9101)."""
        self._command(
            "serials_quarantined",
            {
                "origin": origin,
                "unit_type": unit_type,
                "vintage": vintage,
                "start": start,
                "end": end,
                "reason": reason,
            },
        )

    def lift_quarantine(
        self, origin: str, unit_type: str, vintage: int, start: int, end: int
    ) -> None:
        self._command(
            "quarantine_lifted",
            {
                "origin": origin,
                "unit_type": unit_type,
                "vintage": vintage,
                "start": start,
                "end": end,
            },
        )

    def advance(self, now: datetime | None = None) -> None:
        """Move simulated time to `now`: forward transfers whose window opened, end overdue ones.

        Each is decided at its own moment, in time order — a window that opened
        and closed again since the last call still carried what waited for it,
        and a time-out ends a transfer when it fell due — as a log that wakes
        at each moment would.
        """
        if now is not None:
            self.clock.set(now)
        while (due := self.next_due()) is not None and due <= self.clock.now():
            self._command("time_advanced", {"to": format_time(due)})

    def reconcile(self, statement: SignedStatement) -> ReconciliationReport:
        """Compare a registry's signed statement of crossed units with the log's record.

        An inconsistent result leaves the registry under reconciliation: its
        transfers are refused (3016) until `resolve_reconciliation`.
        """
        # A statement made here is handed over as it is: reading back its data would
        # give an equal statement (its fields were checked when it was made).
        live = (
            type(statement) is SignedStatement
            and type(statement.statement) is HoldingsStatement
            and type(statement.signer_id) is str
            and type(statement.signature) is bytes
        )
        report: ReconciliationReport = self._command(
            "reconciled",
            {"statement": statement if live else statement.to_data()},
            # What encode_text writes for {"at": at, "statement": ...}: keys in order.
            journaled_text=lambda at: (
                '{"at":' + canonical.quote(at) + ',"statement":' + statement.text() + "}"
            ),
        )
        return report

    def resolve_reconciliation(self, registry: str, note: str) -> None:
        """Record manual intervention on a registry's discrepancies and let it transfer again."""
        self._command("reconciliation_resolved", {"registry": registry, "note": note})

    def register_article6_party(
        self, party: str, ndc_first_year: int, ndc_last_year: int, method: str
    ) -> None:
        self._command(
            "article6_party_registered",
            {
                "party": party,
                "ndc_first_year": ndc_first_year,
                "ndc_last_year": ndc_last_year,
                "method": method,
            },
        )

    def authorise_article6(
        self,
        authorisation_id: str,
        party: str,
        unit_type: str,
        vintage: int,
        start: int,
        end: int,
        purposes: Iterable[str],
    ) -> None:
        self._command(
            "article6_authorised",
            {
                "authorisation_id": authorisation_id,
                "party": party,
                "unit_type": unit_type,
                "vintage": vintage,
                "start": start,
                "end": end,
                "purposes": sorted(purposes),
            },
        )

    # ------------------------------------------------------------ queries

    def status(self, transfer_id: str) -> TransactionStatus:
        record = self.transfers.get(transfer_id)
        if record is None:
            raise GatewayError(LinkCode.UNKNOWN_TRANSFER, f"no transfer {transfer_id!r}")
        return record.status

    def open_transfers(self) -> list[TransferRecord]:
        return [self.transfers[transfer_id] for transfer_id in sorted(self._open)]

    def counters(self, link_id: str) -> LinkCounters:
        self._link(link_id)
        records = [r for r in self.transfers.values() if r.link_id == link_id]
        by_status = {status: 0 for status in TransactionStatus}
        for record in records:
            by_status[record.status] += 1
        in_flight = sum(
            r.transfer.quantity_t
            for r in records
            if r.status is TransactionStatus.CHECKED_NO_DISCREPANCY
        )
        flows = {
            year: quantity - self._reserved_t(link_id, year)
            for (link, year), quantity in sorted(self._flows_t.items())
            if link == link_id
        }
        return LinkCounters(
            flows_t=flows,
            in_flight_t=in_flight,
            completed=by_status[TransactionStatus.COMPLETED],
            rejected=by_status[TransactionStatus.REJECTED],
            terminated=by_status[TransactionStatus.TERMINATED],
            waiting=sum(1 for r in records if r.waiting_until is not None and not r.is_final),
        )

    def period_flow_t(self, link_id: str, year: int) -> int:
        """Return the tonnes a link carried or holds in flight in `year` (its period cap's use)."""
        self._link(link_id)
        return self._flows_t.get((link_id, year), 0)

    def article6_report(self) -> Article6Report:
        return self.article6.report()

    def _reserved_t(self, link_id: str, year: int) -> int:
        return sum(
            r.transfer.quantity_t
            for r in self.transfers.values()
            if r.link_id == link_id
            and r.period == year
            and r.status is TransactionStatus.CHECKED_NO_DISCREPANCY
        )

    # ------------------------------------------------------------ command handlers

    def _admit_registry(self, data: dict[str, Any]) -> None:
        code = data["code"]
        if code in self.registries or code == self.participant_id:
            raise GatewayError(LinkCode.UNKNOWN_PARTICIPANT, f"{code!r} is already admitted")
        key = VerifyKey.from_pem(data["public_key"].encode())
        self.trust.add(code, key)
        self.registries.add(code)
        self.foreign.setdefault(code, {})
        self.away.setdefault(code, {})

    def _add_link(self, data: dict[str, Any]) -> None:
        link = Link.from_data(data["link"])
        if link.link_id in self.links:
            raise GatewayError(LinkCode.UNKNOWN_LINK, f"link {link.link_id} already exists")
        for party in (link.registry_a, link.registry_b):
            self._registry(party)
        self.links[link.link_id] = link
        self._carriers.clear()

    def _change_link_state(self, data: dict[str, Any]) -> list[str]:
        link = self._link(data["link_id"])
        changed = link.transition(LinkState(data["state"]))
        if data["freeze_units"] and changed.state is not LinkState.TERMINATED:
            raise GatewayError(
                CheckCode.INVALID_ARGUMENT,
                f"units are frozen only when a link is terminated, not {changed.state}",
            )
        self.links[link.link_id] = changed
        self._carriers.clear()
        if data["freeze_units"]:
            self._freeze_units(changed)
        if changed.state is LinkState.ACTIVE:
            return []
        outcome = _Outcome()
        ended = []
        for transfer_id in sorted(self._open):
            record = self.transfers[transfer_id]
            if record.link_id == link.link_id:
                reason = data["reason"] or "no reason given"
                self._terminate(
                    record,
                    LinkCode.LINK_NOT_ACTIVE,
                    f"link {link.link_id} was {changed.state} while the transfer was in "
                    f"flight ({reason}); the units return to the origin",
                    outcome,
                )
                ended.append(transfer_id)
        self._send_outcome(outcome)
        return ended

    def _freeze_units(self, link: Link) -> None:
        """Freeze each party's units now held by the other party: they crossed this link."""
        for holder, origin in (
            (link.registry_a, link.registry_b),
            (link.registry_b, link.registry_a),
        ):
            for key, ranges in self.foreign.get(holder, {}).items():
                if key[0] != origin:
                    continue
                frozen = self.frozen.setdefault(key, RangeSet())
                for start, end in ranges:
                    frozen.include(start, end)

    def _quarantine_serials(self, data: dict[str, Any]) -> None:
        start, end = data["start"], data["end"]
        _check_range(start, end)
        key = (data["origin"], data["unit_type"], data["vintage"])
        self.unit_states.quarantine_serials(key, start, end)
        self._recheck_open()

    def _lift_quarantine(self, data: dict[str, Any]) -> None:
        key = (data["origin"], data["unit_type"], data["vintage"])
        self.unit_states.lift_quarantine(key, data["start"], data["end"])

    def _advance(self, data: dict[str, Any]) -> None:
        self._decision_time = parse_time(data["to"])
        try:
            self._act_on_due()
        finally:
            self._decision_time = None

    def _act_on_due(self) -> None:
        outcome = _Outcome()
        now = self._now()
        for transfer_id in sorted(self._open):
            record = self.transfers[transfer_id]
            if record.expires_at is not None and now >= record.expires_at:
                self._terminate(
                    record,
                    LinkCode.TRANSFER_TIMED_OUT,
                    f"no final word by {format_time(record.expires_at)}, the link's time-out "
                    f"for a transfer{' held while a registry is suspended' if record.held else ''}"
                    "; the units return to the origin",
                    outcome,
                )
            elif record.answer_due is not None and now >= record.answer_due:
                self._terminate(
                    record,
                    LinkCode.TRANSFER_TIMED_OUT,
                    f"{record.transfer.to_registry} did not answer by "
                    f"{format_time(record.answer_due)}; the units return to the origin",
                    outcome,
                )
            elif record.waiting_until is not None and now >= record.waiting_until:
                record.waiting_until = None
                self._release_in_flight(record)
                self._check_and_route(record, outcome)
        self._send_outcome(outcome)

    def next_due(self) -> datetime | None:
        """Return the earliest moment an open transfer falls due (time-out or window)."""
        moments = [
            moment
            for record in (self.transfers[t] for t in self._open)
            for moment in (record.answer_due, record.waiting_until, record.expires_at)
            if moment is not None
        ]
        return min(moments, default=None)

    def _reconcile(self, data: dict[str, Any]) -> ReconciliationReport:
        given = data["statement"]
        # The live path hands over a checked statement; a journal's data is read strictly.
        signed = given if type(given) is SignedStatement else SignedStatement.from_data(given)
        statement = signed.verify(self.trust) if not self.replaying else signed.statement
        registry = self._registry(statement.registry)
        busy = [r for r in (self.transfers[t] for t in self._open) if registry in _parties(r)]
        if busy or self.outbox.unacknowledged(registry):
            raise GatewayError(
                LinkCode.RECONCILIATION_NOT_QUIESCENT,
                f"{registry} has {len(busy)} transfers open and "
                f"{len(self.outbox.unacknowledged(registry))} messages undelivered; "
                "reconcile when they have settled (start request denied, status 7)",
            )
        report = reconcile(
            registry, self.foreign.get(registry, {}), self.away.get(registry, {}), statement
        )
        self.reconciliations.append(report)
        if report.is_consistent:
            self.unreconciled.pop(registry, None)
        else:
            self.unreconciled[registry] = report
        return report

    def _resolve_reconciliation(self, data: dict[str, Any]) -> None:
        registry = data["registry"]
        if registry not in self.unreconciled:
            raise GatewayError(
                LinkCode.UNKNOWN_PARTICIPANT, f"{registry!r} has no unresolved reconciliation"
            )
        if not data["note"].strip():
            raise GatewayError(CheckCode.INVALID_ARGUMENT, "say what was done to resolve it")
        del self.unreconciled[registry]

    def _register_party(self, data: dict[str, Any]) -> None:
        self.article6.register_party(
            data["party"], data["ndc_first_year"], data["ndc_last_year"], data["method"]
        )

    def _authorise(self, data: dict[str, Any]) -> None:
        self.article6.authorise(
            data["authorisation_id"],
            data["party"],
            data["unit_type"],
            data["vintage"],
            data["start"],
            data["end"],
            frozenset(data["purposes"]),
            format_time(self._now()),
        )

    # ------------------------------------------------------------ messages

    def _take(self, signed: SignedMessage, decision: Any) -> None:
        """Decide from the gateway's own state alone: replay needs no recorded decision."""
        message = signed.message
        if isinstance(message, TransferProposal):
            self._take_proposal(signed, message)
        elif isinstance(message, Acceptance):
            self._take_answer(message.sender_id, list(message.accepted), None)
        elif isinstance(message, Rejection):
            for refusal in message.refusals:
                self._take_answer(message.sender_id, [refusal.transaction_id], refusal)
        elif isinstance(message, Notice):
            self._take_notice(message)
        elif isinstance(message, Withdrawal):
            self._take_withdrawal(message)
        # Other kinds are the gateway's own; a registry never sends them, and the
        # tracker has already recorded the message: it changes nothing else.

    def _take_proposal(self, signed: SignedMessage, proposal: TransferProposal) -> None:
        outcome = _Outcome()
        batch_id = proposal.transaction_id
        now = self._now()
        new_records: list[TransferRecord] = []
        for transfer in proposal.transfers:
            if transfer.transaction_id in self.transfers:
                # A new transfer may not reuse an id: refuse it without touching the old one.
                self._refuse_unrecorded(
                    transfer,
                    CheckCode.TRANSACTION_ID_EXISTS,
                    f"transaction id {transfer.transaction_id} already exists at the log",
                    outcome,
                )
                continue
            if len(self._open) + len(new_records) >= self.transfers_open_max:
                self._refuse_unrecorded(
                    transfer,
                    LinkCode.GATEWAY_BUSY,
                    f"the log has {self.transfers_open_max:,} transfers open, its limit; "
                    "propose again once some have completed",
                    outcome,
                )
                continue
            if transfer.transaction_id in self._withdrawn_unseen:
                self._refuse_unrecorded(
                    transfer,
                    LinkCode.TRANSFER_WITHDRAWN,
                    f"{transfer.from_registry} withdrew transfer {transfer.transaction_id} "
                    "before its proposal arrived",
                    outcome,
                )
                continue
            record = TransferRecord(transfer, batch_id, TransactionStatus.PROPOSED, now)
            carrier = self._link_between(transfer)
            timeout = (
                carrier.origin_timeout
                if carrier is not None
                else timedelta(minutes=ORIGIN_TIMEOUT_MINUTES)
            )
            record.expires_at = now + timeout
            self.transfers[transfer.transaction_id] = record
            new_records.append(record)
        if new_records:
            batch_key = new_records[0].batch_key
            self._proposals[batch_key] = signed
            self._open_in_batch[batch_key] = len(new_records)
            stale = self._staleness(proposal, now)
            for record in new_records:
                self._open.add(record.transfer.transaction_id)
                error = stale(record.transfer)
                if error is not None:
                    self._finish(record, TransactionStatus.REJECTED, error)
                    outcome.rejected.setdefault(record.transfer.from_registry, []).append(
                        _refusal(record)
                    )
                    continue
                self._check_and_route(record, outcome)
        self._send_outcome(outcome)

    def _staleness(
        self, proposal: TransferProposal, now: datetime
    ) -> Callable[[Transfer], GatewayError | None]:
        """Return a check that refuses a transfer of `proposal` older than its link allows
        (the UKTL's "stopped transaction", reference A19; catalogue D7)."""
        proposed_at = parse_time(proposal.proposed_at)
        age = now - proposed_at

        def stale(transfer: Transfer) -> GatewayError | None:
            link = self._link_between(transfer)
            limit = (
                link.proposal_max_age
                if link is not None
                else timedelta(minutes=PROPOSAL_MAX_AGE_MINUTES)
            )
            if age <= limit:
                return None
            return GatewayError(
                LinkCode.PROPOSAL_STALE,
                f"proposed at {proposal.proposed_at}, {_duration(age)} before it reached the "
                f"log; a link {'' if link is None else link.link_id + ' '}proposal may be at most "
                f"{_duration(limit)} old",
            )

        return stale

    def _refuse_unrecorded(
        self, transfer: Transfer, code: CheckCode | LinkCode, message: str, outcome: _Outcome
    ) -> None:
        """Refuse a transfer the log does not record (its id is taken, or the log is full)."""
        refusal = Refusal(transfer.transaction_id, (int(code),), (message,))
        outcome.rejected.setdefault(transfer.from_registry, []).append(refusal)

    def _check_and_route(self, record: TransferRecord, outcome: _Outcome) -> None:
        """Run the checks; forward, queue for the window, or reject."""
        # The transfer counts on its link whatever the checks decide.
        carrier = self._link_between(record.transfer)
        record.link_id = None if carrier is None else carrier.link_id
        try:
            link = self._check(record.transfer)
        except RegistryError as error:
            if error.code == LinkCode.OUTSIDE_TRANSFER_WINDOW:
                opening = carrier.next_opening(self._now()) if carrier else None
                if opening is not None:
                    record.waiting_until = opening
                    self._reserve_serials(record)
                    return
            self._finish(record, TransactionStatus.REJECTED, error)
            outcome.rejected.setdefault(record.transfer.from_registry, []).append(_refusal(record))
            return
        transfer = record.transfer
        year = self._now().year
        record.link_id = link.link_id
        record.period = year
        record.status = TransactionStatus.CHECKED_NO_DISCREPANCY
        record.answer_due = self._now() + link.answer_timeout
        self._flows_t[(link.link_id, year)] = (
            self._flows_t.get((link.link_id, year), 0) + transfer.quantity_t
        )
        self._reserve_serials(record)
        outcome.forwarded.setdefault((*record.batch_key, transfer.to_registry), []).append(
            transfer.transaction_id
        )

    def _reserve_serials(self, record: TransferRecord) -> None:
        add_ranges(self.in_flight, _pieces(record.transfer.blocks))
        record.reserved = True

    def _check(self, transfer: Transfer) -> Link:
        """Run every check in its family order; raise the first failure, else return the link."""
        origin, destination = transfer.from_registry, transfer.to_registry
        # Registry and link status.
        if destination not in self.registries:
            raise GatewayError(
                LinkCode.UNKNOWN_PARTICIPANT,
                f"destination registry {destination} is not connected to this gateway",
            )
        for registry in (origin, destination):
            if registry in self.unreconciled:
                raise GatewayError(
                    CheckCode.TRANSACTION_DURING_RECONCILIATION,
                    f"{registry} has an unresolved reconciliation; no transfer may start",
                )
            suspended = self.unit_states.registry_error(registry)
            if suspended is not None:
                raise suspended
        link = self._link_between(transfer)
        if link is None:
            raise GatewayError(LinkCode.UNKNOWN_LINK, f"no link joins {origin} and {destination}")
        # Link status, unit validity and eligibility, then limits: one pass per block.
        # A closed window is raised only after every other check has passed.
        now = self._now()
        quantity_t = transfer.quantity_t
        window_closed: GatewayError | None = None
        allowed: set[tuple[SerialKey, bool]] = set()  # link rules hold per serial space
        for block in transfer.blocks:
            try:
                self._check_block(link, transfer, block, now, quantity_t, allowed)
            except GatewayError as error:
                if error.code != LinkCode.OUTSIDE_TRANSFER_WINDOW:
                    raise
                window_closed = error
        if link.article6:
            self.article6.check_transfer(transfer.blocks, origin, destination)
            # Room for its record at completion, besides those already on the way.
            self.article6.check_room(self._article6_in_flight())
        link.check_period_cap(self._flows_t.get((link.link_id, now.year), 0), quantity_t)
        # Holdings and double spend.
        _check_disjoint(transfer)
        for block in transfer.blocks:
            self._check_holding(origin, block)
        if window_closed is not None:
            raise window_closed
        return link

    def _article6_in_flight(self) -> int:
        return sum(
            1
            for record in (self.transfers[t] for t in self._open)
            if record.status is TransactionStatus.CHECKED_NO_DISCREPANCY
            and record.link_id is not None
            and self.links[record.link_id].article6
        )

    def _check_block(
        self,
        link: Link,
        transfer: Transfer,
        block: UnitBlock,
        now: datetime,
        quantity_t: int,
        allowed: set[tuple[SerialKey, bool]],
    ) -> None:
        key = block.serial_key
        error = self.unit_states.block_error(block)
        if error is not None:
            raise error
        frozen = self.frozen.get(key)
        if frozen is not None and frozen.overlaps(block.start, block.end):
            raise GatewayError(
                LinkCode.LINK_NOT_ACTIVE,
                f"block {block} came over a link that was terminated; its units are frozen",
            )
        article6 = link.article6
        authorised = article6 and self.article6.is_authorised(block)
        if (key, authorised) in allowed:
            return
        allowed.add((key, authorised))
        link.allows(
            transfer.from_registry,
            transfer.to_registry,
            block.unit_type,
            block.vintage,
            block.origin,
            now,
            quantity_t=quantity_t,
            authorised=authorised or not article6,
            adjusted=True,  # the Article 6 ledger checks the parties' NDC periods (9007)
        )

    def _check_holding(self, origin: str, block: UnitBlock) -> None:
        key = block.serial_key
        in_flight = self.in_flight.get(key)
        if in_flight is not None and in_flight.overlaps(block.start, block.end):
            raise GatewayError(
                LinkCode.UNITS_IN_FLIGHT,
                f"block {block} overlaps units already in another transfer in flight",
            )
        if block.origin == origin:
            away = self.away.get(origin, {}).get(key)
            if away is not None and away.overlaps(block.start, block.end):
                raise GatewayError(
                    CheckCode.BLOCKS_NOT_HELD,
                    f"block {block}: the log records these serials in another registry, "
                    f"not in {origin}",
                )
        else:
            here = self.foreign.get(origin, {}).get(key)
            if here is None or not here.covers(block.start, block.end):
                raise GatewayError(
                    CheckCode.BLOCKS_NOT_HELD,
                    f"block {block}: the log has no record of these serials arriving in {origin}",
                )

    def _take_notice(self, notice: Notice) -> None:
        """Record what a registry says changed its units' fate or its own state, then end
        (or hold) the open transfers that may no longer complete."""
        if notice.sender_id not in self.registries:
            return
        for change in notice.changes:
            for ignored in self.unit_states.take(notice.sender_id, change, self._speaks_for):
                self._alert(notice, CheckCode.BLOCKS_NOT_HELD, ignored)
        self._recheck_open()

    def _speaks_for(self, registry: str, key: SerialKey, start: int, end: int) -> bool:
        """Return whether the log records serials start-end of `key` in `registry`: its own
        units not away, or others' units that crossed into it."""
        if key[0] == registry:
            away = self.away.get(registry, {}).get(key)
            return away is None or not away.overlaps(start, end)
        here = self.foreign.get(registry, {}).get(key)
        return here is not None and here.covers(start, end)

    def _alert(self, message: Message, code: LinkCode | CheckCode, detail: str) -> None:
        self.alerts.append(
            ProtocolAlert(
                format_time(self._now()), int(code), message.sender_id, message.sequence, detail
            )
        )

    def _recheck_open(self) -> None:
        """End or hold each open transfer whose fate changed; resume held ones that may go on."""
        outcome = _Outcome()
        for transfer_id in sorted(self._open):
            record = self.transfers[transfer_id]
            if self.unit_states.transfer_error(record.transfer) is None:
                if record.held:
                    self._resume(record, outcome)
            else:
                self._stop_if_fate_changed(record, outcome)
        self._send_outcome(outcome)

    def _stop_if_fate_changed(
        self, record: TransferRecord, outcome: _Outcome, accepted: bool = False
    ) -> bool:
        """Terminate (or hold, for a suspension the link holds through) a transfer that may
        no longer complete; return whether it was stopped."""
        error = self.unit_states.transfer_error(record.transfer)
        if error is None:
            return False
        link = self.links.get(record.link_id) if record.link_id else None
        if (
            error.code == LinkCode.REGISTRY_SUSPENDED
            and link is not None
            and link.on_suspension is SuspensionRule.HOLD
        ):
            record.held = True
            record.accepted = record.accepted or accepted
            record.answer_due = None
            record.waiting_until = None
            return True
        code = error.code
        assert isinstance(code, LinkCode | CheckCode)
        self._terminate(record, code, f"{error.message}; the units return to the origin", outcome)
        return True

    def _resume(self, record: TransferRecord, outcome: _Outcome) -> None:
        """Go on with a held transfer: complete it if accepted, else wait or check again."""
        record.held = False
        if record.status is TransactionStatus.CHECKED_NO_DISCREPANCY:
            if record.accepted:
                record.accepted = False
                self._complete(record, outcome)
            else:
                assert record.link_id is not None
                record.answer_due = self._now() + self.links[record.link_id].answer_timeout
            return
        self._release_in_flight(record)
        self._check_and_route(record, outcome)

    def _take_withdrawal(self, withdrawal: Withdrawal) -> None:
        """Answer an origin whose time-out passed: end what is open, repeat what ended."""
        origin = withdrawal.sender_id
        outcome = _Outcome(message_id=f"withdrawal-{withdrawal.sequence}")
        for transfer_id in withdrawal.withdrawn:
            record = self.transfers.get(transfer_id)
            if record is None:
                self._withdrawn_unseen.add(transfer_id)
                text = (
                    f"{origin} withdrew {transfer_id} before the log received it; refused for good"
                )
                outcome.terminated.setdefault(origin, []).append(
                    Refusal(transfer_id, (int(LinkCode.TRANSFER_WITHDRAWN),), (text,))
                )
            elif record.transfer.from_registry != origin:
                continue  # only the origin may withdraw a transfer
            elif not record.is_final:
                self._terminate(
                    record,
                    LinkCode.TRANSFER_WITHDRAWN,
                    f"{origin} withdrew it: no final word within its time-out; "
                    "the units return to the origin",
                    outcome,
                )
            elif record.status is TransactionStatus.COMPLETED:
                outcome.completed.setdefault(origin, []).append(transfer_id)
            elif record.status is TransactionStatus.REJECTED:
                outcome.rejected.setdefault(origin, []).append(_refusal(record))
            else:
                outcome.terminated.setdefault(origin, []).append(_refusal(record))
        self._send_outcome(outcome)

    def _take_answer(self, sender: str, transfer_ids: list[str], refusal: Refusal | None) -> None:
        """Complete or reject forwarded transfers on their destination's answer."""
        outcome = _Outcome()
        for transfer_id in transfer_ids:
            record = self.transfers.get(transfer_id)
            if (
                record is None
                or record.transfer.to_registry != sender
                or record.status is not TransactionStatus.CHECKED_NO_DISCREPANCY
            ):
                # Late (after a time-out), unknown or not the destination's to answer:
                # a final transfer never changes again.
                continue
            if refusal is None:
                if not self._stop_if_fate_changed(record, outcome, accepted=True):
                    self._complete(record, outcome)
            else:
                self._release(record)
                record.status = TransactionStatus.REJECTED
                record.codes = refusal.codes
                record.messages = tuple(
                    f"{sender} refused: {text}"[:TEXT_LENGTH_MAX] for text in refusal.messages
                )
                record.answer_due = None
                self._close(record)
                outcome.rejected.setdefault(record.transfer.from_registry, []).append(
                    _refusal(record)
                )
        self._send_outcome(outcome)

    def _complete(self, record: TransferRecord, outcome: _Outcome) -> None:
        transfer = record.transfer
        origin, destination = transfer.from_registry, transfer.to_registry
        self._release_in_flight(record)
        # The log's record of where crossed units are: the origin's own units go
        # away, foreign ones leave it; at the destination, the mirror image.
        leaving_own: list[Piece] = []
        leaving_foreign: list[Piece] = []
        coming_home: list[Piece] = []
        arriving_foreign: list[Piece] = []
        for block in transfer.blocks:
            piece = (block.serial_key, block.start, block.end)
            (leaving_own if block.origin == origin else leaving_foreign).append(piece)
            (coming_home if block.origin == destination else arriving_foreign).append(piece)
        add_ranges(self.away.setdefault(origin, {}), leaving_own)
        remove_ranges(self.foreign[origin], leaving_foreign)
        remove_ranges(self.away[destination], coming_home)
        add_ranges(self.foreign.setdefault(destination, {}), arriving_foreign)
        link = self.links[record.link_id] if record.link_id else None
        if link is not None and link.article6:
            self.article6.record_transfer(
                transfer.transaction_id,
                transfer.blocks,
                origin,
                destination,
                format_time(self._now()),
            )
        record.status = TransactionStatus.COMPLETED
        record.answer_due = None
        self._close(record)
        outcome.completed.setdefault(origin, []).append(transfer.transaction_id)
        outcome.completed.setdefault(destination, []).append(transfer.transaction_id)

    def _terminate(
        self, record: TransferRecord, code: LinkCode | CheckCode, message: str, outcome: _Outcome
    ) -> None:
        forwarded = record.status is TransactionStatus.CHECKED_NO_DISCREPANCY
        self._release(record)
        self._finish(record, TransactionStatus.TERMINATED, GatewayError(code, message))
        refusal = _refusal(record)
        outcome.terminated.setdefault(record.transfer.from_registry, []).append(refusal)
        if forwarded:
            outcome.terminated.setdefault(record.transfer.to_registry, []).append(refusal)

    def _release(self, record: TransferRecord) -> None:
        """Give back what a transfer reserved: serials in flight and flow headroom."""
        self._release_in_flight(record)
        if record.status is not TransactionStatus.CHECKED_NO_DISCREPANCY:
            return
        assert record.link_id is not None and record.period is not None
        key = (record.link_id, record.period)
        self._flows_t[key] -= record.transfer.quantity_t
        assert self._flows_t[key] >= 0, f"flow counter {key} went negative"

    def _release_in_flight(self, record: TransferRecord) -> None:
        if not record.reserved:
            return
        remove_ranges(self.in_flight, _pieces(record.transfer.blocks))
        record.reserved = False

    def _finish(
        self, record: TransferRecord, status: TransactionStatus, error: RegistryError
    ) -> None:
        record.status = status
        record.codes = (int(error.code),)
        record.messages = (error.message[:TEXT_LENGTH_MAX],)
        record.waiting_until = None
        record.answer_due = None
        self._close(record)

    def _close(self, record: TransferRecord) -> None:
        """Take a final transfer out of the open set; drop its batch when none is left open."""
        assert record.is_final, f"{record.transfer.transaction_id} closed while {record.status}"
        self._open.discard(record.transfer.transaction_id)
        batch_key = record.batch_key
        self._open_in_batch[batch_key] -= 1
        if self._open_in_batch[batch_key] == 0:
            del self._open_in_batch[batch_key]
            del self._proposals[batch_key]

    def _send_outcome(self, outcome: _Outcome) -> None:
        """Stage the step's answers: forwards, rejections, terminations, completions."""
        for (origin, batch_id, destination), ids in sorted(outcome.forwarded.items()):
            proposal = self._proposals[(origin, batch_id)]
            for chunk in _chunks(ids):
                self._send(
                    Forward,
                    destination,
                    transaction_id=chunk[0],
                    proposal=proposal,
                    transfers=tuple(chunk),
                )
        count = 0

        def name(first: str) -> str:
            nonlocal count
            count += 1
            return f"{outcome.message_id}-{count}" if outcome.message_id else first

        for kind, answers in ((Rejection, outcome.rejected), (Termination, outcome.terminated)):
            for registry, refusals in sorted(answers.items()):
                for chunk in _chunks(refusals):
                    self._send(
                        kind,
                        registry,
                        transaction_id=name(chunk[0].transaction_id),
                        refusals=tuple(chunk),
                    )
        for registry, ids in sorted(outcome.completed.items()):
            for chunk in _chunks(ids):
                self._send(
                    Completion, registry, transaction_id=name(chunk[0]), completed=tuple(chunk)
                )

    # ------------------------------------------------------------ lookups

    def _registry(self, code: str) -> str:
        if code not in self.registries:
            raise GatewayError(LinkCode.UNKNOWN_PARTICIPANT, f"registry {code!r} is not admitted")
        return code

    def _link(self, link_id: str) -> Link:
        link = self.links.get(link_id)
        if link is None:
            known = ", ".join(sorted(self.links)) or "none"
            raise GatewayError(LinkCode.UNKNOWN_LINK, f"no link {link_id!r} (known: {known})")
        return link

    def _link_between(self, transfer: Transfer) -> Link | None:
        """Return the link carrying this transfer (cached until a link is added or changes)."""
        pair = (transfer.from_registry, transfer.to_registry)
        if pair not in self._carriers:
            self._carriers[pair] = self._find_link(*pair)
        return self._carriers[pair]

    def _find_link(self, from_registry: str, to_registry: str) -> Link | None:
        """Return the link joining the two: an active one in this direction, if any."""
        parties = {from_registry, to_registry}
        candidates = [link for link in self.links.values() if link.parties == parties]
        if not candidates:
            return None
        candidates.sort(
            key=lambda link: (
                link.state is not LinkState.ACTIVE,
                not link.permits_direction(from_registry, to_registry),
                link.link_id,
            )
        )
        return candidates[0]


def _duration(span: timedelta) -> str:
    """Return a span as a person reads it: '60 days', '3 h 20 min'."""
    minutes = int(span.total_seconds() // 60)
    if minutes >= 2 * 1440:
        return f"{minutes // 1440} days"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _pieces(blocks: tuple[UnitBlock, ...]) -> list[Piece]:
    """Return (serial key, start, end) of each block."""
    return [(block.serial_key, block.start, block.end) for block in blocks]


def _parties(record: TransferRecord) -> tuple[str, str]:
    return record.transfer.from_registry, record.transfer.to_registry


def _refusal(record: TransferRecord) -> Refusal:
    return Refusal(record.transfer.transaction_id, record.codes, record.messages)


def _chunks(items: list[Any]) -> list[list[Any]]:
    size = TRANSFERS_PER_MESSAGE_MAX
    return [items[index : index + size] for index in range(0, len(items), size)]


def _check_disjoint(transfer: Transfer) -> None:
    """Refuse a transfer naming any serial twice (10005): it would count units twice."""
    ordered = sorted(transfer.blocks, key=lambda block: (block.serial_key, block.start))
    for before, after in pairwise(ordered):
        if before.serial_key == after.serial_key and after.start <= before.end:
            raise GatewayError(
                CheckCode.BLOCKS_NOT_HELD,
                f"transfer {transfer.transaction_id} names serials twice: {before} and {after}",
            )


def _check_range(start: int, end: int) -> None:
    if type(start) is not int or type(end) is not int or not 1 <= start <= end:
        raise GatewayError(
            CheckCode.INVALID_SERIAL_RANGE, f"expected serials 1 <= start <= end, was {start}-{end}"
        )
