"""The compliance book of one registry: entities, MRV, allocation, surrender, deadlines.

It ties a `Regime` to a journaled `Registry`: allocation issues and moves
real units, a surrender is checked against the regime's rules as a whole
and then moves all its blocks in one registry event, and each surrender
deadline computes every entity's status and penalty. Deadlines are handled
in calendar order, each exactly once, and a deadline whose outcome cannot be
computed (a market-price penalty with no price) is not marked handled: the
caller supplies what is missing and advances again. Penalties are recorded,
never skipped.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from compliance.calendar import Deadline, DeadlineKind, DeadlineSchedule
from compliance.errors import ComplianceCode, ComplianceError
from compliance.events import (
    AveragePriceSet,
    BookFounded,
    ComplianceEvent,
    DeadlineHandled,
    EntityBound,
    PeriodOutcome,
    Status,
    decode_event,
    encode_event,
    outcome_data,
)
from compliance.mrv import (
    EmissionsReport,
    MonitoringPlan,
    MrvLedger,
    VerificationStatement,
    Verifier,
)
from compliance.penalties import assess_penalty
from compliance.regime import Regime
from compliance.surrender_rules import (
    SurrenderAssessment,
    Valuation,
    assess_surrender,
    check_untimely_surrender,
    compliance_value,
    domestic_valuation,
)
from registry import AccountKind, AccountStatus, Registry, RegistryError, SigningKey, canonical
from registry.clock import format_time
from registry.errors import CheckCode
from registry.journal import ChainVerifier, GroupCommit, Journal, read_entries, read_head
from registry.units import UnitBlock

ENTITIES_MAX = 100_000
ALLOCATION_RESERVE = "allocation_reserve"  # label of the reserve account claw-backs go to
REQUESTS_MAX = 100


@dataclass(frozen=True, slots=True)
class SurrenderRequest:
    """Surrender `quantity` of `unit_type` (only `vintage`, if given), oldest first."""

    unit_type: str
    quantity: int
    vintage: int | None = None


class ComplianceBook:
    """One registry's compliance under one regime. Single writer, like the registry."""

    def __init__(
        self,
        registry: Registry,
        regime: Regime,
        mrv: MrvLedger | None = None,
        valuation: Valuation | None = None,
        journal: Journal | None = None,
    ) -> None:
        if regime.registry_code != registry.code:
            raise ValueError(
                f"regime {regime.key} is for registry {regime.registry_code}, not {registry.code}"
            )
        self.registry = registry
        self.regime = regime
        self.mrv = mrv or MrvLedger(regime, fallback_t=regime.estimate.fallback_t)
        self.valuation = valuation or domestic_valuation(regime)
        # The book settles periods from the one the clock is in when it is founded.
        calendar = regime.calendar
        year = max(registry.clock.now().year, calendar.first_year)
        self.schedule = DeadlineSchedule(calendar, first_period=calendar.period_of(year))
        self._accounts: dict[str, str] = {}
        self._carried_t: dict[str, int] = {}
        self._prices_minor: dict[int, int] = {}
        self._outcomes: list[PeriodOutcome] = []
        # The untimely-surrender obligation (California) each entity carries, by the
        # outcome that added it; the entity's next settled period replaces it.
        self._untimely: dict[str, PeriodOutcome] = {}
        self.journal = journal

    @classmethod
    def create(
        cls,
        registry: Registry,
        regime: Regime,
        key: SigningKey,
        valuation: Valuation | None = None,
        group_commit: GroupCommit | None = None,
    ) -> ComplianceBook:
        """Start a journaled book for `registry` in the registry's store."""
        journal = Journal.create(
            registry.journal.engine, compliance_stream(registry.code), key, group_commit
        )
        book = cls(registry, regime, valuation=valuation, journal=journal)
        book._record(BookFounded(regime.key, registry.code, book.schedule.first_period))
        journal.flush()
        return book

    @classmethod
    def open(
        cls,
        registry: Registry,
        regime: Regime,
        key: SigningKey,
        valuation: Valuation | None = None,
        group_commit: GroupCommit | None = None,
    ) -> ComplianceBook:
        """Reopen a journaled book: verify its chain and signed head, replay its events."""
        engine = registry.journal.engine
        stream = compliance_stream(registry.code)
        head_seq, head_hash = read_head(engine, stream, key.verify_key)
        book = cls(registry, regime, valuation=valuation)
        chain = ChainVerifier(stream)
        for entry in read_entries(engine, stream, 0, head_seq):
            chain.check(entry)
            book._apply(decode_event(entry.kind, entry.data))
        chain.finish(head_seq, head_hash)
        book.journal = Journal.open(engine, stream, key, group_commit)
        return book

    def flush(self) -> None:
        """Commit the book's journal and the registry's."""
        self.registry.flush()
        if self.journal is not None:
            self.journal.flush()

    def state_digest(self) -> str:
        """Return a digest of the book's state (with the MRV state), for replay checks."""
        data = {
            "mrv": self.mrv.state_digest(),
            "accounts": sorted(self._accounts.items()),
            "carried": sorted(self._carried_t.items()),
            "prices": sorted(self._prices_minor.items()),
            "outcomes": [outcome_data(outcome) for outcome in self._outcomes],
            "fired": sorted((kind.name, period) for kind, period in self.schedule.fired),
        }
        return hashlib.sha256(canonical.encode(data)).hexdigest()

    @property
    def now(self) -> datetime:
        return self.registry.clock.now()

    # ------------------------------------------------------------ entities and MRV

    def register_entity(self, entity_id: str, name: str, account: str, plan: MonitoringPlan) -> str:
        """Register a covered entity bound to its compliance account; return the account id."""
        record = self.registry.account(account)
        if record.kind is not AccountKind.COMPLIANCE:
            raise RegistryError(
                CheckCode.TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE,
                f"entity {entity_id} needs a compliance account, {record.account_id} is "
                f"{record.kind.value}",
            )
        if record.account_id in self._accounts.values():
            raise ComplianceError(
                ComplianceCode.ENTITY_ALREADY_REGISTERED,
                f"account {record.account_id} already belongs to another entity",
            )
        if len(self._accounts) >= ENTITIES_MAX:
            raise ComplianceError(
                ComplianceCode.ENTITY_ALREADY_REGISTERED,
                f"the book holds the maximum {ENTITIES_MAX:,} entities",
            )
        self._journal(self.mrv.register_entity(entity_id, name, plan))
        self._record(EntityBound(entity_id, record.account_id))
        return record.account_id

    def accredit_verifier(self, verifier: Verifier) -> None:
        self._journal(self.mrv.accredit_verifier(verifier))

    def revoke_verifier(self, verifier_id: str) -> None:
        self._journal(self.mrv.revoke_verifier(verifier_id))

    def submit_report(self, report: EmissionsReport) -> None:
        self._journal(self.mrv.submit_report(report, self.now))

    def record_verification(self, statement: VerificationStatement) -> None:
        self._journal(self.mrv.record_verification(statement, self.now))

    def account_of(self, entity_id: str) -> str:
        account = self._accounts.get(entity_id)
        if account is None:
            raise ComplianceError(
                ComplianceCode.UNKNOWN_ENTITY, f"no entity {entity_id!r} in {self.regime.name}"
            )
        return account

    def entities(self) -> list[str]:
        return list(self._accounts)

    # ------------------------------------------------------------ allocation

    def allocate(self, year: int, allocations: Mapping[str, int]) -> int:
        """Issue what is missing of vintage `year` and allocate it to the entities.

        Every entity and quantity is checked before any unit moves; returns
        the tonnes allocated.
        """
        unit_type = self._allowance_unit_type()
        accounts = {entity_id: self.account_of(entity_id) for entity_id in allocations}
        for entity_id, quantity in allocations.items():
            if type(quantity) is not int or quantity < 0:
                raise ComplianceError(
                    ComplianceCode.ALLOCATION_INPUT_INVALID,
                    f"allocation to {entity_id} must be whole tonnes >= 0, was {quantity!r}",
                )
        for entity_id, account in accounts.items():
            status = self.registry.account(account).status
            if status is not AccountStatus.OPEN:
                raise RegistryError(
                    CheckCode.ACQUIRING_ACCOUNT_SUSPENDED
                    if status is AccountStatus.BLOCKED
                    else CheckCode.ACQUIRING_ACCOUNT_CLOSED,
                    f"{entity_id}'s account {account} is {status.value}; nothing was allocated",
                )
        total = sum(allocations.values())
        issuance = self.registry.ledger.singleton(AccountKind.ISSUANCE)
        missing = total - issuance.holding.balance(unit_type, year)
        if missing > 0:
            self.registry.issue(unit_type, year, missing)
        for entity_id, quantity in allocations.items():
            if quantity:
                self.registry.allocate(
                    issuance.account_id, accounts[entity_id], unit_type, quantity, year
                )
        return total

    def true_up(self, year: int, adjustments: Mapping[str, int]) -> tuple[int, int]:
        """Apply ex-post allocation adjustments for `year` (China's true-up to actual output).

        A positive adjustment allocates more; a negative one claws allowances
        of vintage `year` back into the allocation reserve account. Every
        entity is checked first (a claw-back needs the units in the account),
        so either all adjustments apply or none. Returns (added_t, clawed_back_t).
        """
        unit_type = self._allowance_unit_type()
        claw_backs = {entity_id: -t for entity_id, t in adjustments.items() if t < 0}
        for entity_id, quantity in claw_backs.items():
            account = self.account_of(entity_id)
            held = self.registry.account(account).holding.balance(unit_type, year)
            if held < quantity:
                raise RegistryError(
                    CheckCode.QUANTITY_EXCEEDS_BALANCE,
                    f"{entity_id} holds {held:,} t of {unit_type} {year}; the true-up claws "
                    f"back {quantity:,} t (nothing was adjusted)",
                )
        additions = {entity_id: t for entity_id, t in adjustments.items() if t > 0}
        reserve = self._allocation_reserve() if claw_backs else ""
        added = self.allocate(year, additions) if additions else 0
        for entity_id, quantity in claw_backs.items():
            self.registry.transfer(self.account_of(entity_id), reserve, unit_type, quantity, year)
        return added, sum(claw_backs.values())

    def _allocation_reserve(self) -> str:
        """Return the reserve account claw-backs go to, opening it the first time."""
        try:
            return self.registry.account(ALLOCATION_RESERVE).account_id
        except RegistryError:
            event = self.registry.open_account(
                AccountKind.RESERVE, f"{self.regime.name} allocation reserve", ALLOCATION_RESERVE
            )
            return event.account_id

    # ------------------------------------------------------------ surrender

    def surrender(
        self, entity_id: str, period: int, requests: Iterable[SurrenderRequest]
    ) -> SurrenderAssessment:
        """Surrender units for `period`, judged as a whole; all of it moves or none."""
        account = self.account_of(entity_id)
        wanted = list(requests)
        self._check_period(period)
        self._check_not_settled(entity_id, period)
        self._check_before_deadline(entity_id, period)
        self._check_requests(wanted)
        holding = self.registry.account(account).holding
        blocks: list[UnitBlock] = []
        for request in wanted:
            self._known_unit_type(request.unit_type)
            chosen = holding.select(
                request.unit_type,
                request.quantity,
                request.vintage,
                self.registry.ledger.quarantine,
            )
            if chosen is None:
                held = holding.balance(request.unit_type, request.vintage)
                raise RegistryError(
                    CheckCode.QUANTITY_EXCEEDS_BALANCE,
                    f"{entity_id} holds {held:,} t of {request.unit_type} that may move; "
                    f"{request.quantity:,} t asked for",
                )
            blocks.extend(chosen)
        prior = self._surrendered_blocks(account, period)
        assessment = assess_surrender(
            self.regime,
            period,
            self.obligation_t(entity_id, period),
            self.registry.ledger.unit_types,
            prior,
            blocks,
            self.valuation,
        )
        untimely = self._untimely.get(entity_id)
        if untimely is not None and untimely.period < period:
            check_untimely_surrender(
                entity_id,
                period,
                untimely.period,
                untimely.penalty,
                self.registry.ledger.unit_types,
                prior + blocks,
            )
        self.registry.surrender_blocks(account, blocks, period)
        return assessment

    def obligation_t(self, entity_id: str, period: int) -> int | None:
        """Return emissions for the period's years plus what was carried in; None if unknown."""
        emissions = self._emissions_t(entity_id, period)
        if emissions is None:
            return None
        return emissions[0] + self._carried_t.get(entity_id, 0)

    def surrendered_value(self, entity_id: str, period: int) -> Fraction:
        account = self.account_of(entity_id)
        return compliance_value(
            self._surrendered_blocks(account, period),
            self.registry.ledger.unit_types,
            self.valuation,
        )

    # ------------------------------------------------------------ deadlines

    def set_average_price(self, year: int, price_minor: int) -> None:
        """Record the year's average market price, for penalties that multiply it."""
        if type(price_minor) is not int or price_minor <= 0:
            raise ComplianceError(
                ComplianceCode.PRICE_SERIES_INVALID,
                f"average price for {year} must be a positive whole number of minor units, "
                f"was {price_minor!r}",
            )
        self._record(AveragePriceSet(year, price_minor))

    def advance(self, now: datetime | None = None) -> list[PeriodOutcome]:
        """Handle every deadline up to `now` (default: the clock), in order; return outcomes."""
        moment = self.now if now is None else now
        outcomes: list[PeriodOutcome] = []
        for deadline in self.schedule.pending(moment):
            handled = self._handle(deadline)
            self._record(handled)
            outcomes.extend(handled.outcomes)
        return outcomes

    def settle_early(
        self, period: int, emissions_t: Mapping[str, int], price_year: int | None = None
    ) -> list[PeriodOutcome]:
        """Settle `period` now, before its surrender deadline, on `emissions_t`; return outcomes.

        A programme's end (Ontario: the final compliance date 3 July 2018, reference A22)
        closes its open period early. `emissions_t` gives each entity's emissions from the
        period's start to now, as the caller counted them; an entity left out has no
        outcome, so an empty mapping waives the period's obligation. Penalties that
        multiply a price take the average price of `price_year` (default: the period's
        last year). The period is then settled as at its deadline: no surrender into it is
        taken, and `advance` never settles it again.
        """
        self._check_period(period)
        if (DeadlineKind.SURRENDER_DUE, period) in self.schedule.fired:
            raise ComplianceError(
                ComplianceCode.PERIOD_SETTLED, f"period {period} is already settled"
            )
        unknown = sorted(set(emissions_t) - set(self._accounts))
        if unknown:
            raise ComplianceError(
                ComplianceCode.ALLOCATION_INPUT_INVALID,
                f"no entity {unknown[0]!r} in {self.regime.name}'s book",
            )
        for entity_id, quantity_t in emissions_t.items():
            if type(quantity_t) is not int or quantity_t < 0:
                raise RegistryError(
                    CheckCode.QUANTITY_NOT_POSITIVE_INTEGER,
                    f"{entity_id}'s emissions must be a whole number of tonnes >= 0, "
                    f"was {quantity_t!r}",
                )
        surrendered = self._surrendered_by_account(period)
        outcomes = tuple(
            self._outcome(
                entity_id, period, surrendered, (emissions_t[entity_id], False), price_year
            )
            for entity_id in sorted(emissions_t)
        )
        self._record(DeadlineHandled(DeadlineKind.SURRENDER_DUE, period, outcomes))
        return list(outcomes)

    def outcomes(self, entity_id: str | None = None) -> list[PeriodOutcome]:
        return [o for o in self._outcomes if entity_id is None or o.entity_id == entity_id]

    def carried_t(self, entity_id: str) -> int:
        return self._carried_t.get(entity_id, 0)

    def _handle(self, deadline: Deadline) -> DeadlineHandled:
        """Close the years a deadline closes and compute its outcomes; apply nothing else."""
        if deadline.kind in (DeadlineKind.VERIFICATION_DUE, DeadlineKind.REPORT_DUE):
            if deadline.kind is DeadlineKind.VERIFICATION_DUE or not self._has_rule(
                DeadlineKind.VERIFICATION_DUE
            ):
                self._close_years(deadline)
            return DeadlineHandled(deadline.kind, deadline.period, ())
        if deadline.kind is not DeadlineKind.SURRENDER_DUE:
            return DeadlineHandled(deadline.kind, deadline.period, ())
        self._close_years(deadline)
        # Every outcome is computed before any is applied: a missing price leaves
        # the deadline pending, nothing half-done.
        surrendered = self._surrendered_by_account(deadline.period)
        outcomes = tuple(
            self._outcome(entity_id, deadline.period, surrendered) for entity_id in self._accounts
        )
        return DeadlineHandled(deadline.kind, deadline.period, outcomes)

    def _close_years(self, deadline: Deadline) -> None:
        last = self.regime.calendar.period_last_year(deadline.period)
        for entity_id in self._accounts:
            for year in range(deadline.period, last + 1):
                if self.mrv.closed(entity_id, year) is None:
                    moment = max(deadline.due, self.mrv.deadline(year))
                    self._journal(self.mrv.close_year(entity_id, year, moment))

    def _outcome(
        self,
        entity_id: str,
        period: int,
        surrendered: Mapping[str, list[UnitBlock]],
        emissions: tuple[int, bool] | None = None,
        price_year: int | None = None,
    ) -> PeriodOutcome:
        """Return the entity's outcome; `emissions` (t, estimated) and `price_year` replace
        the period's verified emissions and last year for a period settled early."""
        if emissions is None:
            emissions = self._emissions_t(entity_id, period)
        assert emissions is not None, "years are closed before the surrender deadline"
        emissions_t, estimated = emissions
        carried_in = self._carried_t.get(entity_id, 0)
        obligation = emissions_t + carried_in
        value = compliance_value(
            surrendered.get(self._accounts[entity_id], ()),
            self.registry.ledger.unit_types,
            self.valuation,
        )
        shortfall = max(0, math.ceil(obligation - value))
        price = self._price_for(period, shortfall, price_year)
        penalty = assess_penalty(self.regime.penalty, shortfall, price, self.regime.currency)
        status = Status.COMPLIANT if shortfall == 0 else Status.SHORTFALL
        return PeriodOutcome(
            entity_id,
            period,
            emissions_t,
            estimated,
            carried_in,
            obligation,
            value,
            shortfall,
            status,
            penalty,
        )

    def _price_for(self, period: int, shortfall_t: int, year: int | None = None) -> int | None:
        if year is None:
            year = self.regime.calendar.period_last_year(period)
        return self._prices_minor.get(year) if shortfall_t else None

    # ------------------------------------------------------------ checks

    def _emissions_t(self, entity_id: str, period: int) -> tuple[int, bool] | None:
        total = 0
        estimated = False
        for year in range(period, self.regime.calendar.period_last_year(period) + 1):
            try:
                emissions = self.mrv.verified_emissions(entity_id, year)
            except ComplianceError as error:
                if error.code is ComplianceCode.NO_VERIFIED_EMISSIONS:
                    return None
                raise
            total += emissions.t
            estimated = estimated or emissions.estimated
        return total, estimated

    def _surrendered_by_account(self, period: int) -> dict[str, list[UnitBlock]]:
        """Return each account's blocks surrendered for `period`, from one pass over the record.

        A deadline values every entity's surrenders; asking the ledger account by
        account scans every surrender once per entity (10,000 entities: 10^8 steps).
        """
        blocks: dict[str, list[UnitBlock]] = {}
        for record in self.registry.ledger.surrenders(period=period):
            blocks.setdefault(record.account_id, []).extend(record.blocks)
        return blocks

    def _surrendered_blocks(self, account: str, period: int) -> list[UnitBlock]:
        return [
            block
            for record in self.registry.ledger.surrenders(account, period)
            for block in record.blocks
        ]

    def _check_period(self, period: int) -> None:
        calendar = self.regime.calendar
        if (
            type(period) is not int
            or period < calendar.first_year
            or (calendar.period_of(period) != period)
        ):
            raise ComplianceError(
                ComplianceCode.PERIOD_INVALID,
                f"{period!r} does not start a compliance period of {self.regime.name} "
                f"(periods of {calendar.period_years} year(s) from {calendar.first_year})",
            )

    def _check_not_settled(self, entity_id: str, period: int) -> None:
        """Refuse a surrender into a period whose surrender deadline the book has settled.

        The book's own record decides, not the registry clock: `advance(now)` may
        settle a deadline the clock has not reached, and the outcome it computed
        (shortfall, penalty, carry-over) must stay the last word on the period.
        """
        if (DeadlineKind.SURRENDER_DUE, period) not in self.schedule.fired:
            return
        deadline = self.regime.calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
        assert deadline is not None, f"period {period} settled without a surrender deadline"
        raise ComplianceError(
            ComplianceCode.PERIOD_SETTLED,
            f"period {period} was settled at its surrender deadline "
            f"{deadline.due:%Y-%m-%d %H:%M} UTC; {entity_id} may no longer surrender for it "
            f"(the registry clock reads {self.now:%Y-%m-%d %H:%M} UTC)",
        )

    def _check_before_deadline(self, entity_id: str, period: int) -> None:
        deadline = self.regime.calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
        if deadline is not None and self.now > deadline.due:
            raise ComplianceError(
                ComplianceCode.SURRENDER_AFTER_DEADLINE,
                f"the surrender deadline for period {period} passed at "
                f"{deadline.due:%Y-%m-%d %H:%M} UTC; {entity_id}'s shortfall is handled by "
                "the regime's penalty rule",
            )

    def _check_requests(self, requests: list[SurrenderRequest]) -> None:
        if not requests or len(requests) > REQUESTS_MAX:
            raise ComplianceError(
                ComplianceCode.ALLOCATION_INPUT_INVALID,
                f"a surrender names 1 to {REQUESTS_MAX} unit types, was {len(requests)}",
            )
        types = [request.unit_type for request in requests]
        if len(types) != len(set(types)):
            raise ComplianceError(
                ComplianceCode.ALLOCATION_INPUT_INVALID,
                "name each unit type once in a surrender (its vintage filter applies to all of it)",
            )
        for request in requests:
            if type(request.quantity) is not int or request.quantity <= 0:
                raise RegistryError(
                    CheckCode.QUANTITY_NOT_POSITIVE_INTEGER,
                    f"surrender quantity must be a positive whole number of tonnes, "
                    f"was {request.quantity!r}",
                )

    def _known_unit_type(self, code: str) -> None:
        if code not in self.registry.ledger.unit_types:
            raise RegistryError(
                CheckCode.INVALID_UNIT_TYPE,
                f"registry {self.registry.code} does not know unit type {code!r}",
            )

    def _allowance_unit_type(self) -> str:
        code = self.regime.allowance_unit_type
        if not code:
            raise ComplianceError(
                ComplianceCode.ALLOCATION_INPUT_INVALID,
                f"regime {self.regime.key} names no allowance unit type to allocate",
            )
        return code

    def _record(self, event: ComplianceEvent) -> None:
        """Apply one of the book's own events and journal it."""
        self._apply(event)
        self._journal(event)

    def _journal(self, event: ComplianceEvent) -> None:
        """Append an applied event to the book's journal, if it has one."""
        if self.journal is not None:
            kind, data = encode_event(event)
            self.journal.append(format_time(self.now), kind, data)

    def _apply(self, event: ComplianceEvent) -> None:
        """Apply an event; also the replay path, so it never validates."""
        match event:
            case BookFounded(
                regime_key=regime_key, registry_code=registry_code, first_period=first_period
            ):
                if (regime_key, registry_code) != (self.regime.key, self.registry.code):
                    raise ComplianceError(
                        ComplianceCode.REGIME_MISMATCH,
                        f"this book keeps regime {regime_key!r} for registry {registry_code}, "
                        f"not {self.regime.key!r} for {self.registry.code}",
                    )
                self.schedule.first_period = first_period
            case EntityBound(entity_id=entity_id, account_id=account_id):
                self._accounts[entity_id] = account_id
            case AveragePriceSet(year=year, price_minor=price_minor):
                self._prices_minor[year] = price_minor
            case DeadlineHandled(kind=kind, period=period, outcomes=outcomes):
                for outcome in outcomes:
                    penalty = outcome.penalty
                    self._carried_t[outcome.entity_id] = (
                        penalty.carried_t + penalty.added_obligation_t
                    )
                    if penalty.added_obligation_t:
                        self._untimely[outcome.entity_id] = outcome
                    else:
                        self._untimely.pop(outcome.entity_id, None)
                self._outcomes.extend(outcomes)
                deadline = self.regime.calendar.deadline(kind, period)
                assert deadline is not None, f"no {kind.name} deadline for {period}"
                self.schedule.mark_fired(deadline)
            case _:
                self.mrv.apply(event)

    def _has_rule(self, kind: DeadlineKind) -> bool:
        return any(rule.kind is kind for rule in self.regime.calendar.rules)


def founding_regime_key(registry: Registry, key: SigningKey) -> str:
    """Return the preset key of the regime a registry's journaled book was founded with."""
    engine = registry.journal.engine
    stream = compliance_stream(registry.code)
    read_head(engine, stream, key.verify_key)
    first = next(read_entries(engine, stream, 0, 1), None)
    if first is None or first.kind != "book_founded":
        raise ComplianceError(
            ComplianceCode.REGIME_MISMATCH, f"{stream} does not start with its founding event"
        )
    regime_key: str = first.data["regime_key"]
    return regime_key


def compliance_stream(registry_code: str) -> str:
    """Return the journal stream of a registry's compliance book."""
    return f"{registry_code}.compliance"
