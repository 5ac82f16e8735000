"""A registry session from TOML: a registry's unit types and accounts, then scripted operations.

The whole file is read and checked before anything is created, so a typo
never leaves half a registry behind. An operation may say `expect_code`:
the session then shows that the registry refuses it with that code and
changes nothing — the way a trainer demonstrates a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from registry import (
    AccountKind,
    CheckCode,
    LockPurpose,
    Registry,
    RegistryError,
    UnitKind,
    UnitType,
)
from registry.account_ids import is_registry_code
from registry.config_reader import ConfigError, Table, load_toml
from registry.controls import (
    DELAY_MINUTES_MAX,
    REPRESENTATIVES_PER_ACCOUNT_MAX,
    WCI_BASE_BUDGET_T,
    WCI_BUDGET_MAX_T,
    WORKING_DAYS_MAX,
    ControlSettings,
    DelayRule,
)

OPERATIONS_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    kind: type
    default: Any = ...
    argument: str = ""

    @property
    def name(self) -> str:
        return self.argument or self.key


_ACCOUNT_KINDS = {kind.value: kind for kind in AccountKind if not kind.singleton}
_UNIT_KINDS = {kind.value: kind for kind in UnitKind}
_LOCK_PURPOSES = {purpose.value: purpose for purpose in LockPurpose}

# op name -> (Registry method, parameters). Keys are the TOML keys.
_OPERATION_SPECS: dict[str, tuple[str, tuple[Param, ...]]] = {
    "issue": (
        "issue",
        (
            Param("unit_type", str),
            Param("vintage", int),
            Param("quantity", int),
            Param("to", str, None, "account"),
            Param("project_id", str, ""),
            Param("article6_authorized", bool, False),
            Param("start_serial", int, None),
        ),
    ),
    "allocate": (
        "allocate",
        (
            Param("from", str, "issuance", "from_account"),
            Param("to", str, ..., "to_account"),
            Param("unit_type", str),
            Param("quantity", int),
            Param("vintage", int, None),
        ),
    ),
    "transfer": (
        "transfer",
        (
            Param("from", str, ..., "from_account"),
            Param("to", str, ..., "to_account"),
            Param("unit_type", str),
            Param("quantity", int),
            Param("vintage", int, None),
        ),
    ),
    "surrender": (
        "surrender",
        (
            Param("account", str),
            Param("unit_type", str),
            Param("quantity", int),
            Param("period", int),
            Param("vintage", int, None),
        ),
    ),
    "cancel": (
        "cancel",
        (
            Param("account", str),
            Param("unit_type", str),
            Param("quantity", int),
            Param("vintage", int, None),
        ),
    ),
    "retire": (
        "retire",
        (
            Param("account", str),
            Param("unit_type", str),
            Param("quantity", int),
            Param("vintage", int, None),
        ),
    ),
    "lock": (
        "lock",
        (
            Param("lock_id", str),
            Param("account", str),
            Param("unit_type", str),
            Param("quantity", int),
            Param("purpose", LockPurpose),
            Param("vintage", int, None),
        ),
    ),
    "unlock": ("unlock", (Param("lock_id", str),)),
    "open_account": (
        "open_account",
        (
            Param("kind", AccountKind),
            Param("holder", str),
            Param("label", str, ""),
        ),
    ),
    "block": ("block_account", (Param("account", str), Param("reason", str, ""))),
    "unblock": ("unblock_account", (Param("account", str), Param("reason", str, ""))),
    "close": ("close_account", (Param("account", str), Param("reason", str, ""))),
    "suspend": ("suspend", (Param("reason", str),)),
    "resume": ("resume", (Param("reason", str),)),
    "quarantine": (
        "quarantine_serials",
        (
            Param("unit_type", str),
            Param("vintage", int),
            Param("start", int),
            Param("end", int),
            Param("reason", str),
        ),
    ),
    "lift_quarantine": (
        "lift_quarantine",
        (
            Param("unit_type", str),
            Param("vintage", int),
            Param("start", int),
            Param("end", int),
        ),
    ),
    "initiate": (
        "initiate_transfer",
        (
            Param("transaction_id", str),
            Param("from", str, ..., "from_account"),
            Param("to", str, ..., "to_account"),
            Param("unit_type", str),
            Param("quantity", int),
            Param("representative", str),
            Param("vintage", int, None),
            Param("to_registry", str, None),
        ),
    ),
    "approve": (
        "approve_transfer",
        (Param("transaction_id", str), Param("representative", str)),
    ),
    "cancel_transfer": (
        "cancel_transfer",
        (Param("transaction_id", str), Param("representative", str)),
    ),
    "add_trusted": (
        "add_trusted_account",
        (
            Param("account", str),
            Param("trusted_account", str),
            Param("trusted_registry", str, None),
        ),
    ),
    "add_representative": (
        "add_representative",
        (Param("account", str), Param("representative", str)),
    ),
    "release": ("release_due", ()),
    "set_cap": (
        "set_issuance_cap",
        (
            Param("unit_type", str),
            Param("vintage", int),
            Param("cap_t", int),
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class Operation:
    index: int
    op: str
    arguments: dict[str, Any]
    at: datetime | None = None
    expect_code: CheckCode | None = None
    note: str = ""

    def describe(self) -> str:
        """Return a line a trainer can read out, e.g. 'transfer 1,500 t KAU power → broker'."""
        values = self.arguments
        if "quantity" in values:
            vintage = f" {values['vintage']}" if values.get("vintage") is not None else ""
            what = f"{self.op} {values['quantity']:,} t {values['unit_type']}{vintage}"
            if "to_account" in values:
                return f"{what} {values['from_account']} → {values['to_account']}"
            if "period" in values:
                return f"{what} from {values['account']} for {values['period']}"
            if self.op == "issue":
                project = f" (project {values['project_id']})" if values["project_id"] else ""
                return f"{what} → {values['account'] or 'issuance'}{project}"
            return f"{what} from {values['account']}"
        shown = ", ".join(
            f"{key}={value}" for key, value in values.items() if value not in (None, "", False)
        )
        return f"{self.op} {shown}"


@dataclass(frozen=True, slots=True)
class AccountSpec:
    label: str
    kind: AccountKind
    holder: str
    representatives: tuple[str, ...] = ()
    trusted_only: bool = False


@dataclass(frozen=True, slots=True)
class RegistrySession:
    """A registry's configuration and its scripted operations, as read from TOML."""

    path: str
    code: str
    name: str
    start: datetime
    unit_types: tuple[UnitType, ...]
    issuance_caps: tuple[tuple[str, int, int], ...]
    accounts: tuple[AccountSpec, ...]
    operations: tuple[Operation, ...]
    description: str = ""
    controls: ControlSettings | None = None


@dataclass(slots=True)
class Outcome:
    """What one operation did: accepted, or refused with a code."""

    operation: Operation
    accepted: bool
    code: IntEnum | None = None
    message: str = ""

    @property
    def as_expected(self) -> bool:
        if self.operation.expect_code is None:
            return self.accepted
        return not self.accepted and self.code == self.operation.expect_code


@dataclass(slots=True)
class SessionResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> Outcome | None:
        return next((outcome for outcome in self.outcomes if not outcome.as_expected), None)


def load_session(path: Path) -> RegistrySession:
    """Read and check a registry session file; raise ConfigError on the first mistake."""
    root = Table(path, "", load_toml(path))
    registry_table = root.table("registry")
    assert registry_table is not None
    code = registry_table.get("code", str)
    if not is_registry_code(code):
        raise ConfigError(path, "registry.code", f"expected two capital letters, found {code!r}")
    name = registry_table.get("name", str)
    description = registry_table.get("description", str, "")
    start = utc_moment(
        path, "registry.start", registry_table.get("start", datetime, datetime(2020, 1, 1))
    )
    registry_table.done()

    unit_types = read_unit_types(root, code)
    controls = read_controls(root)
    caps = read_issuance_caps(root)
    accounts = read_accounts(root)
    operations = [
        _operation(path, index, table) for index, table in enumerate(root.tables("operations"))
    ]
    if len(operations) > OPERATIONS_MAX:
        raise ConfigError(
            path, "operations", f"at most {OPERATIONS_MAX:,} operations, found {len(operations):,}"
        )
    root.done()
    return RegistrySession(
        str(path),
        code,
        name,
        start,
        unit_types,
        caps,
        accounts,
        tuple(operations),
        description,
        controls,
    )


_DELAY_RULES = {rule.value: rule for rule in DelayRule}


def read_controls(root: Table) -> ControlSettings | None:
    """Read the optional `[controls]` table: the registry's transfer controls."""
    table = root.table("controls", required=False)
    if table is None:
        return None
    defaults = ControlSettings()
    budget = table.whole("holding_limit_budget_t", WCI_BASE_BUDGET_T, WCI_BUDGET_MAX_T, None)
    limit = table.whole("holding_limit_t", 0, WCI_BUDGET_MAX_T, None)
    if budget is not None and limit is not None:
        raise ConfigError(
            table.path,
            table.key_path("holding_limit_t"),
            "set holding_limit_t or holding_limit_budget_t, not both",
        )
    settings = ControlSettings(
        four_eyes=table.get("four_eyes", bool, defaults.four_eyes),
        payee_delay_rule=table.choice("payee_delay_rule", _DELAY_RULES, DelayRule.NONE),
        untrusted_delay_minutes=table.whole(
            "untrusted_delay_minutes", 0, DELAY_MINUTES_MAX, defaults.untrusted_delay_minutes
        ),
        trusted_add_delay_minutes=table.whole(
            "trusted_add_delay_minutes", 0, DELAY_MINUTES_MAX, defaults.trusted_add_delay_minutes
        ),
        trusted_add_working_days=table.whole(
            "trusted_add_working_days", 0, WORKING_DAYS_MAX, defaults.trusted_add_working_days
        ),
        utc_offset_minutes=table.whole(
            "utc_offset_minutes", -14 * 60, 14 * 60, defaults.utc_offset_minutes
        ),
        refuse_concurrent_same_type=table.get(
            "refuse_concurrent_same_type", bool, defaults.refuse_concurrent_same_type
        ),
        holding_limit_t=limit,
        holding_limit_budget_t=budget,
    )
    table.done()
    return settings


def read_unit_types(root: Table, code: str) -> tuple[UnitType, ...]:
    """Read `[[unit_types]]`; a unit type's origin defaults to the registry's `code`."""
    unit_types = []
    for table in root.tables("unit_types"):
        unit_types.append(
            UnitType(
                table.get("code", str),
                table.choice("kind", _UNIT_KINDS),
                table.get("origin", str, code),
                table.get("name", str, ""),
            )
        )
        table.done()
    return tuple(unit_types)


def read_issuance_caps(root: Table) -> tuple[tuple[str, int, int], ...]:
    """Read `[[issuance_caps]]` as (unit type, vintage, cap in tonnes)."""
    caps = []
    for table in root.tables("issuance_caps"):
        caps.append(
            (table.get("unit_type", str), table.get("vintage", int), table.get("cap_t", int))
        )
        table.done()
    return tuple(caps)


def read_accounts(root: Table) -> tuple[AccountSpec, ...]:
    """Read `[[accounts]]`: label, kind (not a registry's own singleton kind), holder."""
    accounts = []
    for table in root.tables("accounts"):
        people = table.get("representatives", list, [])
        if len(people) > REPRESENTATIVES_PER_ACCOUNT_MAX or not all(
            isinstance(person, str) for person in people
        ):
            raise ConfigError(
                table.path,
                table.key_path("representatives"),
                f"expected at most {REPRESENTATIVES_PER_ACCOUNT_MAX} names (strings)",
            )
        accounts.append(
            AccountSpec(
                table.get("label", str),
                table.choice("kind", _ACCOUNT_KINDS),
                table.get("holder", str),
                tuple(people),
                table.get("trusted_only", bool, False),
            )
        )
        table.done()
    return tuple(accounts)


def _operation(path: Path, index: int, table: Table) -> Operation:
    op = table.get("op", str)
    spec = _OPERATION_SPECS.get(op)
    if spec is None:
        raise ConfigError(
            path,
            f"{table.where}.op",
            f"expected one of {', '.join(sorted(_OPERATION_SPECS))}, found {op!r}",
        )
    table.refuse_unknown({"op", "at", "expect_code", "note", *(param.key for param in spec[1])})
    arguments = read_arguments(table, op)
    at = table.get("at", datetime, None)
    expect = table.get("expect_code", int, None)
    if expect is not None and expect not in CheckCode._value2member_map_:
        raise ConfigError(
            path, f"{table.where}.expect_code", f"{expect} is not a check code etslink knows"
        )
    note = table.get("note", str, "")
    table.done()
    return Operation(
        index,
        op,
        arguments,
        None if at is None else utc_moment(path, f"{table.where}.at", at),
        None if expect is None else CheckCode(expect),
        note,
    )


def read_arguments(table: Table, op: str) -> dict[str, Any]:
    """Read the keys of registry operation `op` from `table` as its method's arguments."""
    arguments: dict[str, Any] = {}
    for param in _OPERATION_SPECS[op][1]:
        default = () if param.default is ... else (param.default,)  # `...` marks a required key
        if param.kind is AccountKind:
            value: Any = table.choice(param.key, _ACCOUNT_KINDS, *default)
        elif param.kind is LockPurpose:
            value = table.choice(param.key, _LOCK_PURPOSES, *default)
        else:
            value = table.get(param.key, param.kind, *default)
        arguments[param.name] = value
    return arguments


def operation_keys(op: str) -> set[str]:
    """Return the TOML keys registry operation `op` takes (besides op, at, expect_code, note)."""
    return {param.key for param in _OPERATION_SPECS[op][1]}


def apply_operation(registry: Registry, op: str, arguments: dict[str, Any]) -> Any:
    """Run registry operation `op` with arguments from `read_arguments`; return its event."""
    return getattr(registry, _OPERATION_SPECS[op][0])(**arguments)


def utc_moment(path: Path, key: str, value: datetime) -> datetime:
    """Return a TOML date-time in UTC (UTC assumed when it has no offset)."""
    if not isinstance(value, datetime):
        raise ConfigError(
            path, key, f"expected a date-time like 2015-06-30T00:00:00Z, found {value!r}"
        )
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def build_registry(session: RegistrySession, create: Callable[..., Registry]) -> Registry:
    """Create the registry, its caps and accounts; `create(code, name, unit_types)` makes it."""
    registry = create(session.code, session.name, session.unit_types)
    if session.controls is not None:
        registry.configure_controls(session.controls)
    for unit_type, vintage, cap_t in session.issuance_caps:
        registry.set_issuance_cap(unit_type, vintage, cap_t)
    for account in session.accounts:
        registry.open_account(account.kind, account.holder, account.label)
        for person in account.representatives:
            registry.add_representative(account.label, person)
        if account.trusted_only:
            registry.set_trusted_only(account.label, True)
    registry.flush()
    return registry


def run_operations(
    registry: Registry, session: RegistrySession, stop_on_surprise: bool = True
) -> SessionResult:
    """Run the scripted operations in order, each durable; stop at the first surprise."""
    result = SessionResult()
    for operation in session.operations:
        if operation.at is not None and operation.at > registry.clock.now():
            registry.clock.set(operation.at)
            # Time passing executes the approved transfers whose delay has run out.
            registry.release_due()
        try:
            apply_operation(registry, operation.op, operation.arguments)
        except RegistryError as error:
            outcome = Outcome(operation, False, error.code, error.message)
        else:
            outcome = Outcome(operation, True)
        result.outcomes.append(outcome)
        if stop_on_surprise and not outcome.as_expected:
            break
    registry.flush()
    return result
