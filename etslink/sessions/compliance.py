"""A compliance session from TOML: a registry, its compliance book, and a script of steps.

The file names a regime preset, the registry's unit types and accounts (read
by the registry session's own readers), the covered entities with their
monitoring plans, the verifiers, and steps in time order: allocate, issue
offsets, transfer, report, verify, surrender, set the average price, advance
the clock through deadlines. A step may say `expect_code`: the session then
shows the refusal a rule gives, the way a trainer demonstrates it.

`run_session` is the one core for the rehearsal (an in-memory store) and the
real run (the store), so a session that rehearses cleanly runs the same way.
Verifier keys derive from the session's seed, so every run signs the same
statements; the registry's own key is never derived from a file.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from compliance.book import ComplianceBook, SurrenderRequest, compliance_stream
from compliance.calendar import DeadlineKind
from compliance.errors import ComplianceCode, ComplianceError
from compliance.events import decode_event
from compliance.gases import Gas
from compliance.mrv import (
    TEXT_LENGTH_MAX,
    EmissionsReport,
    MonitoringPlan,
    Verifier,
    YearClosed,
    sign_verification,
)
from compliance.presets import UnknownPresetError, load_preset
from compliance.regime import QuantitativeLimit, Regime, UnitOrigin
from compliance.surrender_rules import assess_surrender, origin_of
from etslink.sessions.registry import (
    RegistrySession,
    apply_operation,
    build_registry,
    operation_keys,
    read_accounts,
    read_arguments,
    read_issuance_caps,
    read_unit_types,
    utc_moment,
)
from registry import (
    AccountStatus,
    CheckCode,
    JournalIntegrityError,
    Registry,
    RegistryError,
    SigningKey,
    SimulatedClock,
    UnitBlock,
    UnitKind,
    UnitType,
    VerifyKey,
)
from registry.config_reader import ConfigError, Table, load_toml
from registry.journal import ChainVerifier, read_entries, read_head

STEPS_MAX = 10_000
ENTITIES_MAX = 1_000
VERIFIERS_MAX = 100
SEED_LENGTH_MAX = 200
KG_PER_T = 1_000
# Domain separation: a verifier key derived here can never equal any other derived key.
_VERIFIER_KEY_LABEL = b"etslink.compliance-session.verifier-key.v1"


# ---------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class Allocate:
    year: int
    allocations_t: tuple[tuple[str, int], ...]  # entity id -> tonnes, in file order


@dataclass(frozen=True, slots=True)
class IssueOffsets:
    """Issue offset credits for a project and transfer exactly those serials to `to`."""

    unit_type: str
    vintage: int
    quantity_t: int
    project_id: str
    to: str


@dataclass(frozen=True, slots=True)
class Transfer:
    arguments: Mapping[str, Any]  # the registry's `transfer` arguments


@dataclass(frozen=True, slots=True)
class ReportEmissions:
    """An emissions report in whole tonnes of each gas (not CO2e); the regime converts."""

    entity_id: str
    year: int
    direct_t: tuple[tuple[Gas, int], ...]
    indirect_t: tuple[tuple[Gas, int], ...]


@dataclass(frozen=True, slots=True)
class Verify:
    verifier_id: str
    entity_id: str
    year: int
    signed_by: str  # whose key signs: the verifier itself, unless the step shows a forgery


@dataclass(frozen=True, slots=True)
class SurrenderUnits:
    entity_id: str
    period: int
    requests: tuple[SurrenderRequest, ...]


@dataclass(frozen=True, slots=True)
class SetPrice:
    year: int
    average_price_minor: int


@dataclass(frozen=True, slots=True)
class Advance:
    to: datetime


Action = (
    Allocate
    | IssueOffsets
    | Transfer
    | ReportEmissions
    | Verify
    | SurrenderUnits
    | SetPrice
    | Advance
)


@dataclass(frozen=True, slots=True)
class Step:
    index: int
    op: str
    action: Action
    at: datetime | None = None
    expect_code: IntEnum | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class EntitySpec:
    entity_id: str
    name: str
    account: str
    plan: MonitoringPlan


@dataclass(frozen=True, slots=True)
class VerifierSpec:
    verifier: Verifier
    accredited: bool


@dataclass(frozen=True, slots=True)
class ComplianceSession:
    """A compliance session as read from TOML, every key checked."""

    path: str
    regime: Regime
    registry: RegistrySession  # unit types, issuance caps and accounts; no operations
    seed: str
    entities: tuple[EntitySpec, ...]
    verifiers: tuple[VerifierSpec, ...]
    steps: tuple[Step, ...]
    description: str = ""

    @property
    def code(self) -> str:
        return self.registry.code

    @property
    def start(self) -> datetime:
        return self.registry.start

    def verifier_key(self, verifier_id: str) -> SigningKey:
        return verifier_key(self.seed, verifier_id)


def verifier_key(seed: str, verifier_id: str) -> SigningKey:
    """Return the Ed25519 key of `verifier_id`, derived from the session's seed."""
    material = b"\0".join((_VERIFIER_KEY_LABEL, seed.encode(), verifier_id.encode()))
    return SigningKey(Ed25519PrivateKey.from_private_bytes(hashlib.sha256(material).digest()))


# ---------------------------------------------------------------- loading

_COMMON_KEYS = {"op", "at", "expect_code", "note"}
_STEP_KEYS: dict[str, set[str]] = {
    "allocate": {"year", "allocations"},
    "issue_offsets": {"unit_type", "vintage", "quantity", "project_id", "to"},
    "transfer": operation_keys("transfer"),
    "report": {"entity", "year", "direct_t", "indirect_t"},
    "verify": {"verifier", "entity", "year", "signed_by"},
    "surrender": {"entity", "period", "units"},
    "price": {"year", "average_price_minor"},
    "advance": {"to"},  # it moves the clock itself: no `at`
}


def load_compliance_session(path: Path) -> ComplianceSession:
    """Read and check a compliance session file; raise ConfigError on the first mistake."""
    root = Table(path, "", load_toml(path))
    session_table = root.table("session")
    assert session_table is not None
    regime = _regime(path, session_table.get("regime", str))
    start = utc_moment(path, "session.start", session_table.get("start", datetime))
    description = session_table.get("description", str, "")
    seed = session_table.get("seed", str, "")
    if len(seed) > SEED_LENGTH_MAX:
        raise ConfigError(path, "session.seed", f"at most {SEED_LENGTH_MAX} characters")
    registry_name = session_table.get("registry_name", str, f"{regime.name} registry")
    session_table.done()

    unit_types = read_unit_types(root, regime.registry_code)
    _check_allowance_declared(path, regime, unit_types)
    registry = RegistrySession(
        str(path),
        regime.registry_code,
        registry_name,
        start,
        unit_types,
        read_issuance_caps(root),
        read_accounts(root),
        (),
        description,
    )
    entities = _entities(path, root)
    verifiers = _verifiers(path, root, seed)
    steps = _steps(path, root, start)
    root.done()
    return ComplianceSession(
        str(path), regime, registry, seed, entities, verifiers, steps, description
    )


def _regime(path: Path, key: str) -> Regime:
    try:
        return load_preset(key)
    except UnknownPresetError as error:
        raise ConfigError(path, "session.regime", error.message) from None


def _check_allowance_declared(path: Path, regime: Regime, unit_types: tuple[UnitType, ...]) -> None:
    code = regime.allowance_unit_type
    if not any(t.code == code and t.kind is UnitKind.ALLOWANCE for t in unit_types):
        raise ConfigError(
            path,
            "unit_types",
            f'regime {regime.key} allocates {code}: declare it with kind = "allowance"',
        )


def _entities(path: Path, root: Table) -> tuple[EntitySpec, ...]:
    tables = root.tables("entities")
    _check_count(path, "entities", len(tables), ENTITIES_MAX)
    entities: list[EntitySpec] = []
    seen: set[str] = set()
    for table in tables:
        entity_id = table.get("id", str)
        if entity_id in seen:
            raise ConfigError(path, f"{table.where}.id", f"entity {entity_id!r} appears twice")
        gases = _gas_list(table, "gases")
        try:
            plan = MonitoringPlan(
                entity_id,
                frozenset(gases),
                table.get("indirect", bool, False),
                table.get("method", str, "calculation"),
            )
            spec = EntitySpec(entity_id, table.get("name", str), table.get("account", str), plan)
            if not 0 < len(spec.name) <= TEXT_LENGTH_MAX:
                raise ValueError(
                    f"an entity name is 1 to {TEXT_LENGTH_MAX} characters, was {spec.name!r}"
                )
        except ValueError as error:
            raise ConfigError(path, table.where, str(error)) from None
        table.done()
        seen.add(entity_id)
        entities.append(spec)
    return tuple(entities)


def _verifiers(path: Path, root: Table, seed: str) -> tuple[VerifierSpec, ...]:
    tables = root.tables("verifiers")
    _check_count(path, "verifiers", len(tables), VERIFIERS_MAX)
    verifiers: list[VerifierSpec] = []
    seen: set[str] = set()
    for table in tables:
        verifier_id = table.get("id", str)
        if verifier_id in seen:
            raise ConfigError(path, f"{table.where}.id", f"verifier {verifier_id!r} appears twice")
        try:
            verifier = Verifier(
                verifier_id, table.get("name", str), verifier_key(seed, verifier_id).verify_key
            )
        except ValueError as error:
            raise ConfigError(path, table.where, str(error)) from None
        seen.add(verifier_id)
        verifiers.append(VerifierSpec(verifier, table.get("accredited", bool, True)))
        table.done()
    return tuple(verifiers)


def _steps(path: Path, root: Table, start: datetime) -> tuple[Step, ...]:
    tables = root.tables("steps")
    _check_count(path, "steps", len(tables), STEPS_MAX)
    steps: list[Step] = []
    latest, latest_what = start, "session.start"
    for index, table in enumerate(tables):
        step = _step(path, index, table)
        moment = step.action.to if isinstance(step.action, Advance) else step.at
        if moment is not None:
            key = "to" if isinstance(step.action, Advance) else "at"
            if moment < latest:
                raise ConfigError(
                    path,
                    f"{table.where}.{key}",
                    f"steps go in time order: {moment:%Y-%m-%dT%H:%M:%SZ} is before "
                    f"{latest:%Y-%m-%dT%H:%M:%SZ} ({latest_what})",
                )
            latest, latest_what = moment, f"{table.where}.{key}"
        steps.append(step)
    return tuple(steps)


def _step(path: Path, index: int, table: Table) -> Step:
    op = table.get("op", str)
    keys = _STEP_KEYS.get(op)
    if keys is None:
        raise ConfigError(
            path, f"{table.where}.op", f"expected one of {', '.join(_STEP_KEYS)}, found {op!r}"
        )
    common = _COMMON_KEYS - {"at"} if op == "advance" else _COMMON_KEYS
    table.refuse_unknown(common | keys)
    action = _action(path, op, table)
    at = None if op == "advance" else table.get("at", datetime, None)
    expect = table.get("expect_code", int, None)
    note = table.get("note", str, "")
    table.done()
    return Step(
        index,
        op,
        action,
        None if at is None else utc_moment(path, f"{table.where}.at", at),
        None if expect is None else _check_code(path, f"{table.where}.expect_code", expect),
        note,
    )


def _action(path: Path, op: str, table: Table) -> Action:
    if op == "allocate":
        return Allocate(table.get("year", int), _tonnes_by_name(table, "allocations"))
    if op == "issue_offsets":
        return IssueOffsets(
            table.get("unit_type", str),
            table.get("vintage", int),
            table.get("quantity", int),
            table.get("project_id", str),
            table.get("to", str),
        )
    if op == "transfer":
        return Transfer(read_arguments(table, "transfer"))
    if op == "report":
        return ReportEmissions(
            table.get("entity", str),
            table.get("year", int),
            _gas_tonnes(table, "direct_t"),
            _gas_tonnes(table, "indirect_t"),
        )
    if op == "verify":
        verifier_id = table.get("verifier", str)
        return Verify(
            verifier_id,
            table.get("entity", str),
            table.get("year", int),
            table.get("signed_by", str, verifier_id),
        )
    if op == "surrender":
        return SurrenderUnits(
            table.get("entity", str), table.get("period", int), _requests(path, table)
        )
    if op == "price":
        return SetPrice(table.get("year", int), table.get("average_price_minor", int))
    assert op == "advance", op
    return Advance(utc_moment(path, f"{table.where}.to", table.get("to", datetime)))


def _requests(path: Path, table: Table) -> tuple[SurrenderRequest, ...]:
    units = table.tables("units")
    if not units:
        raise ConfigError(
            path,
            f"{table.where}.units",
            'required: a list like [{ unit_type = "KAU", quantity = 1_000 }]',
        )
    requests = []
    for unit in units:
        requests.append(
            SurrenderRequest(
                unit.get("unit_type", str),
                unit.get("quantity", int),
                unit.get("vintage", int, None),
            )
        )
        unit.done()
    return tuple(requests)


def _tonnes_by_name(table: Table, key: str, default: Any = ...) -> tuple[tuple[str, int], ...]:
    """Read a table of name -> whole tonnes, e.g. `allocations = { steel = 1_000 }`."""
    values = table.get(key, dict) if default is ... else table.get(key, dict, default)
    if len(values) > ENTITIES_MAX:
        raise ConfigError(
            table.path,
            f"{table.where}.{key}",
            f"at most {ENTITIES_MAX:,} entries, found {len(values):,}",
        )
    pairs = []
    for name, value in values.items():
        if type(value) is not int:
            raise ConfigError(
                table.path, f"{table.where}.{key}.{name}", f"expected whole tonnes, found {value!r}"
            )
        pairs.append((name, value))
    return tuple(pairs)


def _gas_tonnes(table: Table, key: str) -> tuple[tuple[Gas, int], ...]:
    return tuple(
        (_gas(table, f"{key}.{name}", name), value)
        for name, value in _tonnes_by_name(table, key, {})
    )


def _gas_list(table: Table, key: str) -> list[Gas]:
    names = table.get(key, list)
    if not names:
        raise ConfigError(table.path, f"{table.where}.{key}", "name one or more gases")
    return [_gas(table, f"{key}[{index}]", name) for index, name in enumerate(names)]


def _gas(table: Table, key: str, name: Any) -> Gas:
    if name not in Gas._value2member_map_:
        raise ConfigError(
            table.path,
            f"{table.where}.{key}",
            f"expected a gas ({', '.join(gas.value for gas in Gas)}), found {name!r}",
        )
    return Gas(name)


def _check_code(path: Path, key: str, value: int) -> IntEnum:
    if value in ComplianceCode._value2member_map_:
        return ComplianceCode(value)
    if value in CheckCode._value2member_map_:
        return CheckCode(value)
    raise ConfigError(path, key, f"{value} is not a check code etslink knows")


def _check_count(path: Path, key: str, count: int, maximum: int) -> None:
    if count > maximum:
        raise ConfigError(path, key, f"at most {maximum:,} entries, found {count:,}")


# ---------------------------------------------------------------- running


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What one step did: accepted (and what it did), or refused with a code."""

    step: Step
    accepted: bool
    moment: datetime  # the simulated clock after the step
    code: IntEnum | None = None
    message: str = ""

    @property
    def as_expected(self) -> bool:
        expected = self.step.expect_code
        if expected is None:
            return self.accepted
        return not self.accepted and self.code is not None and int(self.code) == int(expected)

    @property
    def verdict(self) -> tuple[bool, int | None]:
        return self.accepted, None if self.code is None else int(self.code)


@dataclass(slots=True)
class SessionRun:
    registry: Registry
    book: ComplianceBook
    outcomes: list[StepOutcome] = field(default_factory=list)

    @property
    def failed(self) -> StepOutcome | None:
        return next((outcome for outcome in self.outcomes if not outcome.as_expected), None)


def run_session(session: ComplianceSession, store: str | Engine, key: SigningKey) -> SessionRun:
    """Found the registry and its book in `store`, set them up and run the steps.

    Stops at the first step that does not go as written. A set-up the
    registry or book refuses (an entity's account that does not exist) is a
    ConfigError naming the entity.
    """
    registry = build_registry(
        session.registry,
        lambda code, name, unit_types: Registry.create(
            store, code, name, key, SimulatedClock(session.start), unit_types
        ),
    )
    book = ComplianceBook.create(registry, session.regime, key)
    _set_up(book, session)
    run = SessionRun(registry, book)
    for step in session.steps:
        outcome = run_step(book, session, step)
        run.outcomes.append(outcome)
        if not outcome.as_expected:
            break
    book.flush()
    return run


def _set_up(book: ComplianceBook, session: ComplianceSession) -> None:
    for index, entity in enumerate(session.entities):
        try:
            book.register_entity(entity.entity_id, entity.name, entity.account, entity.plan)
        except RegistryError as error:
            raise ConfigError(
                session.path,
                f"entities[{index}].account",
                f"refused with check {int(error.code)}: {error.message}",
            ) from None
    for spec in session.verifiers:
        if spec.accredited:
            book.accredit_verifier(spec.verifier)


def run_step(book: ComplianceBook, session: ComplianceSession, step: Step) -> StepOutcome:
    """Run one step; a refusal is an outcome, not an exception."""
    if step.at is not None:
        book.registry.clock.set(step.at)
    try:
        done = _perform(book, session, step.action)
    except RegistryError as error:  # ComplianceError included: both carry a stable code
        return StepOutcome(step, False, book.now, error.code, error.message)
    return StepOutcome(step, True, book.now, None, done)


def _perform(book: ComplianceBook, session: ComplianceSession, action: Action) -> str:
    """Carry out one action; return what it did, in words."""
    registry = book.registry
    match action:
        case Allocate(year=year, allocations_t=allocations_t):
            total_t = book.allocate(year, dict(allocations_t))
            return f"{total_t:,} t {book.regime.allowance_unit_type} {year} allocated"
        case IssueOffsets():
            return _issue_offsets(registry, action)
        case Transfer(arguments=arguments):
            moved = apply_operation(registry, "transfer", dict(arguments))
            return f"{moved.quantity:,} t moved"
        case ReportEmissions():
            return _report(book, action)
        case Verify():
            return _verify(book, session, action)
        case SurrenderUnits(entity_id=entity_id, period=period, requests=requests):
            assessment = book.surrender(entity_id, period, requests)
            limits = "".join(
                f"; {use.limit.name} {use.used_t:,} of at most {math.floor(use.allowed):,} t"
                for use in assessment.limits
                if use.used_t
            )
            return (
                f"worth {tonnes_text(assessment.value)} t "
                f"({tonnes_text(assessment.total_value)} t for {period} in all){limits}"
            )
        case SetPrice(year=year, average_price_minor=price_minor):
            book.set_average_price(year, price_minor)
            return "recorded"
        case Advance(to=to):
            return _advance(book, to)
    raise AssertionError(f"no rule for {action!r}")


def _issue_offsets(registry: Registry, action: IssueOffsets) -> str:
    # Check the receiver first: issuing and then failing to transfer would leave
    # credits behind in the issuance account.
    target = registry.account(action.to)
    if target.status is not AccountStatus.OPEN:
        raise RegistryError(
            CheckCode.ACQUIRING_ACCOUNT_SUSPENDED
            if target.status is AccountStatus.BLOCKED
            else CheckCode.ACQUIRING_ACCOUNT_CLOSED,
            f"account {target.account_id} is {target.status.value}; nothing was issued",
        )
    issued = registry.issue(
        action.unit_type, action.vintage, action.quantity_t, None, action.project_id
    )
    registry.transfer_blocks(issued.account_id, target.account_id, [issued.block])
    block = issued.block
    return f"serials {block.start:,}–{block.end:,} issued to {target.label or target.account_id}"


def _report(book: ComplianceBook, action: ReportEmissions) -> str:
    # A second report of the same entity-year is a correction: the next version.
    version = len(book.mrv.reports(action.entity_id, action.year)) + 1
    report = EmissionsReport(
        action.entity_id,
        action.year,
        {gas: quantity_t * KG_PER_T for gas, quantity_t in action.direct_t},
        {gas: quantity_t * KG_PER_T for gas, quantity_t in action.indirect_t},
        version=version,
    )
    book.submit_report(report)
    correction = f" (correction: version {version})" if version > 1 else ""
    return f"{report.covered_t(book.regime):,} t CO2e covered{correction}"


def _verify(book: ComplianceBook, session: ComplianceSession, action: Verify) -> str:
    report = None
    if action.entity_id in book.entities():
        report = book.mrv.report(action.entity_id, action.year)
    if report is None:
        # Nothing on file: sign over an empty report and let the book say why it refuses.
        report = EmissionsReport(action.entity_id, action.year, {})
    statement = sign_verification(
        session.verifier_key(action.signed_by), action.verifier_id, report, book.regime
    )
    book.record_verification(statement)
    return f"{statement.verified_t:,} t CO2e verified"


def _advance(book: ComplianceBook, to: datetime) -> str:
    book.registry.clock.set(to)
    fired_before = book.schedule.fired
    closed_before = set(_closed_years(book))
    outcomes = book.advance()
    handled = sorted(book.schedule.fired - fired_before)
    if not handled:
        return "no deadline was due"
    parts = [", ".join(f"{kind.name.lower()} {period}" for kind, period in handled) + " handled"]
    for (entity_id, year), closed in _closed_years(book).items():
        if (entity_id, year) not in closed_before and closed.emissions.estimated:
            parts.append(
                f"{entity_id} {year} estimated at {closed.emissions.t:,} t "
                f"(from {closed.basis.value.replace('_', ' ')})"
            )
    if outcomes:
        short = [o for o in outcomes if o.shortfall_t]
        parts.append(
            f"{len(outcomes)} settled, {len(short)} short"
            + "".join(f"; {o.entity_id} {o.period} short {o.shortfall_t:,} t" for o in short)
        )
    return "; ".join(parts)


def _closed_years(book: ComplianceBook) -> dict[tuple[str, int], YearClosed]:
    closed: dict[tuple[str, int], YearClosed] = {}
    for entity_id in book.entities():
        for year in range(book.schedule.first_period, book.now.year + 1):
            record = book.mrv.closed(entity_id, year)
            if record is not None:
                closed[(entity_id, year)] = record
    return closed


def tonnes_text(value: Fraction) -> str:
    """Return a tonnage for people: '1,234', or a mixed number like '1,234 1/3'."""
    if value.denominator == 1:
        return f"{value.numerator:,}"
    whole = math.floor(value)
    return f"{whole:,} {value - whole}"  # a mixed number, e.g. "1,234 1/3"


# ---------------------------------------------------------------- journals


def verify_book_journal(
    engine: Engine, registry_code: str, verify_key: VerifyKey
) -> tuple[int, str]:
    """Verify the whole chain of a registry's compliance book and its signed head."""
    stream = compliance_stream(registry_code)
    head_seq, head_hash = read_head(engine, stream, verify_key)
    chain = ChainVerifier(stream)
    for entry in read_entries(engine, stream, 0, head_seq):
        chain.check(entry)
        try:
            decode_event(entry.kind, entry.data)
        except (KeyError, ValueError, TypeError) as error:
            raise JournalIntegrityError(f"journal {stream!r} seq {entry.seq}: {error}") from None
    chain.finish(head_seq, head_hash)
    return head_seq, head_hash


# ---------------------------------------------------------------- queries


def open_periods(book: ComplianceBook) -> list[int]:
    """Return the book's periods that have begun and whose deadline is not handled."""
    calendar = book.regime.calendar
    first = book.schedule.first_period
    fired = book.schedule.fired
    return [
        period
        for period in calendar.periods(book.now.year)
        if period >= first and (DeadlineKind.SURRENDER_DUE, period) not in fired
    ]


def period_emissions(book: ComplianceBook, entity_id: str, period: int) -> tuple[int, bool] | None:
    """Return (tonnes, estimated?) recorded for an entity's period; None if not yet known."""
    obligation_t = book.obligation_t(entity_id, period)
    if obligation_t is None:
        return None
    last = book.regime.calendar.period_last_year(period)
    estimated = False
    for year in range(period, last + 1):
        closed = book.mrv.closed(entity_id, year)
        estimated = estimated or (closed is not None and closed.emissions.estimated)
    return obligation_t - book.carried_t(entity_id), estimated


@dataclass(frozen=True, slots=True)
class LimitRoom:
    """How much of a quantitative limit an entity has used for a period, and what is left."""

    limit: QuantitativeLimit
    used_t: int
    allowed_t: int | None  # None: a share of an obligation not known yet
    room_t: int | None


@dataclass(frozen=True, slots=True)
class Position:
    """One (unit type, vintage, origin) an entity holds, judged for surrender in one period."""

    unit_type: str
    kind: UnitKind
    vintage: int
    origin: str
    quantity_t: int
    type_eligible: bool
    vintage_use: str  # "current", "banked" or "borrowed"
    origin_use: UnitOrigin
    may_surrender_t: int | None  # None: not known until the obligation is
    reason: str  # why not all of it, "" when all of it may go


def limit_rooms(book: ComplianceBook, entity_id: str, period: int) -> list[LimitRoom]:
    """Return each limit of `period` with what the entity has used of it and what is left."""
    regime = book.regime
    obligation_t = book.obligation_t(entity_id, period)
    prior = _surrendered(book, entity_id, period)
    rooms = []
    for limit in regime.limits_for(period):
        used_t = sum(block.quantity for block in prior if _limited(book, limit, block))
        if obligation_t is None:
            rooms.append(LimitRoom(limit, used_t, None, None))
            continue
        allowed_t = math.floor(limit.share * obligation_t)
        rooms.append(LimitRoom(limit, used_t, allowed_t, max(0, allowed_t - used_t)))
    return rooms


def positions(book: ComplianceBook, entity_id: str, period: int) -> list[Position]:
    """Judge each of the entity's holdings for surrender in `period`, by the regime's rules.

    The verdict comes from `assess_surrender` itself, on the whole position;
    where a limit or the borrowing share stops part of it, the room left is
    shown. Quarantined serials never count as surrenderable, and nothing
    does once the period's surrender deadline has passed.
    """
    regime = book.regime
    ledger = book.registry.ledger
    holding = ledger.account(book.account_of(entity_id)).holding
    grouped: dict[tuple[str, int, str], list[UnitBlock]] = {}
    for block in holding.blocks():
        grouped.setdefault((block.unit_type, block.vintage, block.origin), []).append(block)
    obligation_t = book.obligation_t(entity_id, period)
    prior = _surrendered(book, entity_id, period)
    rooms = limit_rooms(book, entity_id, period)
    last = regime.calendar.period_last_year(period)
    deadline = regime.calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
    too_late = deadline is not None and book.now > deadline.due
    result = []
    for (unit_type, vintage, origin), blocks in sorted(grouped.items()):
        quantity_t = sum(block.quantity for block in blocks)
        free_t = sum(part.quantity for b in blocks for part in ledger.quarantine.free_parts(b))
        may_t: int | None = free_t
        reason = "" if free_t == quantity_t else f"{quantity_t - free_t:,} t quarantined"
        try:
            assess_surrender(
                regime, period, obligation_t, ledger.unit_types, prior, blocks, book.valuation
            )
        except ComplianceError as error:
            may_t, reason = _room_left(
                book, period, obligation_t, rooms, blocks, prior, free_t, error
            )
        if too_late:
            assert deadline is not None
            may_t, reason = (
                0,
                f"the surrender deadline for {period} passed at {deadline.due:%Y-%m-%d %H:%M} UTC",
            )
        result.append(
            Position(
                unit_type,
                ledger.unit_types[unit_type].kind,
                vintage,
                origin,
                quantity_t,
                book.valuation(ledger.unit_types[unit_type]) is not None
                and origin not in regime.surrender.ineligible_origins,
                "banked" if vintage < period else "borrowed" if vintage > last else "current",
                origin_of(blocks[0], regime),
                may_t,
                reason,
            )
        )
    return result


def _room_left(
    book: ComplianceBook,
    period: int,
    obligation_t: int | None,
    rooms: list[LimitRoom],
    blocks: list[UnitBlock],
    prior: list[UnitBlock],
    free_t: int,
    error: ComplianceError,
) -> tuple[int | None, str]:
    """Return how much of a refused position may still go for `period`, and why not all."""
    if error.code is ComplianceCode.NO_VERIFIED_EMISSIONS:
        return None, error.message
    if error.code not in (
        ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED,
        ComplianceCode.BORROWING_LIMIT_EXCEEDED,
    ):
        return 0, error.message
    assert obligation_t is not None, "limits and borrowing are judged on a known obligation"
    may_t = free_t
    for room in rooms:
        if room.room_t is not None and _limited(book, room.limit, blocks[0]):
            may_t = min(may_t, room.room_t)
    last = book.regime.calendar.period_last_year(period)
    if blocks[0].vintage > last:
        borrowed_t = sum(block.quantity for block in prior if block.vintage > last)
        allowed_t = math.floor(book.regime.surrender.borrowing_share_max * obligation_t)
        may_t = min(may_t, max(0, allowed_t - borrowed_t))
    return may_t, error.message


def _limited(book: ComplianceBook, limit: QuantitativeLimit, block: UnitBlock) -> bool:
    kind = book.registry.ledger.unit_types[block.unit_type].kind
    if kind not in limit.unit_kinds:
        return False
    return limit.origin is UnitOrigin.ANY or limit.origin is origin_of(block, book.regime)


def _surrendered(book: ComplianceBook, entity_id: str, period: int) -> list[UnitBlock]:
    account = book.account_of(entity_id)
    return [
        block
        for record in book.registry.ledger.surrenders(account, period)
        for block in record.blocks
    ]
