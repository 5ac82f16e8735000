"""The journaled registry driven by Hypothesis beside a naive reference model.

The model is a dict (unit type, vintage, serial) -> owning account (STYLE.md 7:
"a dict of serial -> owner for small registries"), so issues stay ≤ 500 units.
From it the model predicts, for every command, either the exact serials that
move or the check code of the first failed check; a refused command must
change neither the ledger (`state_digest`) nor the journal. After every step:
conservation, ownership by serial, totals, locks, surrenders and statuses
agree; reopening from the journal (with or without a snapshot) gives the
same state (DESIGN.md invariants 1, 5 and 8).

Commands are mostly well-formed, with one fault now and then (a bad account
reference, quantity, unit type or vintage), so that most steps move units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import event, note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from registry import (
    AccountId,
    AccountIdError,
    AccountKind,
    AccountStatus,
    CheckCode,
    LockPurpose,
    Registry,
    RegistryError,
    SigningKey,
    UnitBlock,
    UnitKind,
    UnitsMoved,
)
from tests.registry.conftest import KOREAN_UNIT_TYPES

Serial = tuple[str, int, int]  # (unit type, vintage, serial)

CODE = "KR"
OWN_TYPES = {
    "KAU": UnitKind.ALLOWANCE,
    "KCU": UnitKind.OFFSET_CREDIT,
    "KOC": UnitKind.OFFSET_CREDIT,
}
KNOWN_TYPES = {*OWN_TYPES, "CEA"}
ORIGIN = {"KAU": CODE, "KCU": CODE, "KOC": CODE, "CEA": "CN", "EUA": "EU"}
VINTAGES = [2021, 2022, 2023]
BAD_VINTAGES = [1989, 2201, 2021.0]
PROJECTS = ["P-1", "P-2"]
ISSUE_T_MAX = 500
ACCOUNTS_MAX = 12
BAD_QUANTITIES = [0, -3, 2.5, True]
QUANTITY_KINDS = ["transfer", "allocate", "surrender", "cancel", "retire", "lock"]

# The rules, restated naively from DOMAIN.md and the ledger's docstrings.
HOLDING = {
    AccountKind.ISSUANCE,
    AccountKind.COMPLIANCE,
    AccountKind.TRADING,
    AccountKind.EXCHANGE_CUSTODY,
    AccountKind.RESERVE,
}
ALLOCATING = {AccountKind.ISSUANCE, AccountKind.RESERVE}
SURRENDERING = {AccountKind.COMPLIANCE}  # only covered entities have obligations
TRANSFER_TARGETS = {
    AccountKind.COMPLIANCE,
    AccountKind.TRADING,
    AccountKind.EXCHANGE_CUSTODY,
    AccountKind.RESERVE,
}
ISSUANCE_TARGETS = {AccountKind.ISSUANCE, AccountKind.RESERVE}
REGISTRY_KINDS = [
    AccountKind.ISSUANCE,
    AccountKind.PENDING_OUT,
    AccountKind.SURRENDER,
    AccountKind.CANCELLATION,
    AccountKind.RETIREMENT,
]
TARGET_KIND = {
    "surrender": AccountKind.SURRENDER,
    "cancel": AccountKind.CANCELLATION,
    "retire": AccountKind.RETIREMENT,
    "lock": AccountKind.PENDING_OUT,
}
ALLOWED_WHILE_SUSPENDED = {"allocate", "surrender"}  # and issuance: EU, 19 Jan 2011
UNKNOWN_ID = str(AccountId(CODE, 120, 9_999_999))


class Refusal(Exception):
    """The model's prediction that a command fails with `code`."""

    def __init__(self, code: CheckCode) -> None:
        super().__init__(code)
        self.code = code


@dataclass(slots=True)
class ModelAccount:
    account_id: str
    kind: AccountKind
    label: str
    status: AccountStatus = AccountStatus.OPEN


@dataclass(frozen=True, slots=True)
class ModelLock:
    account_id: str
    serials: tuple[Serial, ...]


def expand(blocks: Iterable[UnitBlock]) -> list[Serial]:
    return [(b.unit_type, b.vintage, s) for b in blocks for s in range(b.start, b.end + 1)]


def valid_vintage(vintage: Any) -> bool:
    return type(vintage) is int and vintage in VINTAGES


def mistyped(account_id: str) -> str:
    head, check = account_id.rsplit("-", 1)
    return f"{head}-{(int(check) + 1) % 100:02d}"


def pick(data: st.DataObject, label: str, weights: dict[str, int]) -> str:
    """Draw one key of `weights` with its weight; the first is the one shrinking returns to."""
    number = data.draw(st.integers(0, sum(weights.values()) - 1), label=label)
    for choice, weight in weights.items():
        if number < weight:
            return choice
        number -= weight
    raise AssertionError("unreachable")


class RegistryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.key = SigningKey.generate()
        self.registry = Registry.create(
            "sqlite://",
            CODE,
            "Korea Emissions Trading Registry",
            self.key,
            unit_types=KOREAN_UNIT_TYPES,
        )
        self.engine = self.registry.journal.engine
        self.accounts: dict[str, ModelAccount] = {}
        for record in self.registry.accounts():
            self.accounts[record.account_id] = ModelAccount(record.account_id, record.kind, "")
        assert [a.kind for a in self.accounts.values()] == REGISTRY_KINDS
        self.owner: dict[Serial, str] = {}
        self.project: dict[Serial, str] = {}
        self.next_serial: dict[tuple[str, int], int] = {}
        self.issued_t: dict[tuple[str, int], int] = {}
        self.caps_t: dict[tuple[str, int], int] = {}
        self.locks: dict[str, ModelLock] = {}
        self.surrenders: list[tuple[str, int, tuple[Serial, ...]]] = []
        self.suspended = False
        self.quarantine: list[tuple[str, int, int, int]] = []
        self.labels_used = 0
        self.lock_ids_used = 0
        self.snapshot_seq = 0
        for kind, label in (
            (AccountKind.COMPLIANCE, "posco"),
            (AccountKind.COMPLIANCE, "kepco"),
            (AccountKind.TRADING, "broker"),
            (AccountKind.RESERVE, "msr"),
        ):
            self.open(kind, label)

    def teardown(self) -> None:
        self.engine.dispose()

    @property
    def ledger(self) -> Any:
        return self.registry.ledger

    # ------------------------------------------------------------ the lockstep runner

    def attempt(self, what: str, predict: Callable[[], Any], command: Callable[[], Any]) -> Any:
        """Ask the model, then run the command; a predicted refusal must change nothing.

        Return None when refused, else (the model's prediction, the event).
        """
        try:
            expected = predict()
        except Refusal as refusal:
            event(f"{what}: refused {int(refusal.code)} {refusal.code.name}")
            before = self.ledger.state_digest()
            seq = self.registry.journal.seq
            with pytest.raises(RegistryError) as caught:
                command()
            assert caught.value.code is refusal.code, caught.value
            assert self.ledger.state_digest() == before
            assert self.registry.journal.seq == seq
            note(f"refused as predicted: {caught.value}")
            return None
        event(f"{what}: accepted")
        return expected, command()

    # ------------------------------------------------------------ the model's rules

    def open(self, kind: AccountKind, label: str) -> str:
        number = 1_000_001 + len(self.accounts)
        predicted = str(AccountId(CODE, kind.type_code, number))
        opened = self.registry.open_account(kind, f"holder of {label or predicted}", label)
        assert opened.account_id == predicted
        self.accounts[predicted] = ModelAccount(predicted, kind, label)
        return predicted

    def resolve(self, reference: Any, transferring: bool) -> ModelAccount:
        if isinstance(reference, str) and reference in self.accounts:
            return self.accounts[reference]
        if not isinstance(reference, str) or not reference:
            raise Refusal(CheckCode.INVALID_ARGUMENT)
        if "-" in reference:
            try:
                AccountId.parse(reference)
            except AccountIdError:
                raise Refusal(
                    CheckCode.TRANSFERRING_ACCOUNT_CHECK_DIGITS_INVALID
                    if transferring
                    else CheckCode.ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID
                ) from None
        else:
            for account in self.holders():
                if account.label == reference:
                    return account
        raise Refusal(
            CheckCode.TRANSFERRING_ACCOUNT_DOES_NOT_EXIST
            if transferring
            else CheckCode.ACQUIRING_ACCOUNT_DOES_NOT_EXIST
        )

    def acquiring(self, reference: Any, allowed: set[AccountKind]) -> ModelAccount:
        target = self.resolve(reference, transferring=False)
        if target.status is AccountStatus.CLOSED:
            raise Refusal(CheckCode.ACQUIRING_ACCOUNT_CLOSED)
        if target.status is AccountStatus.BLOCKED:
            raise Refusal(CheckCode.ACQUIRING_ACCOUNT_SUSPENDED)
        if target.kind not in allowed:
            raise Refusal(CheckCode.TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE)
        return target

    def parties(
        self, kind: str, source_ref: Any, target_ref: Any
    ) -> tuple[ModelAccount, ModelAccount]:
        source = self.resolve(source_ref, transferring=True)
        if source.status is AccountStatus.CLOSED:
            raise Refusal(CheckCode.TRANSFERRING_ACCOUNT_CLOSED)
        if source.status is AccountStatus.BLOCKED:
            raise Refusal(CheckCode.TRANSFERRING_ACCOUNT_SUSPENDED)
        sources = {"allocate": ALLOCATING, "surrender": SURRENDERING}.get(kind, HOLDING)
        if source.kind not in sources:
            raise Refusal(CheckCode.TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE)
        targets = {TARGET_KIND[kind]} if kind in TARGET_KIND else TRANSFER_TARGETS
        target = self.acquiring(target_ref, targets)
        if target is source:
            raise Refusal(CheckCode.ACQUIRING_ACCOUNT_EQUALS_TRANSFERRING)
        return source, target

    def check_not_suspended(self, kind: str) -> None:
        if self.suspended and kind not in ALLOWED_WHILE_SUSPENDED:
            raise Refusal(CheckCode.REGISTRY_SUSPENDED)

    def quarantined(self, serial: Serial) -> bool:
        unit_type, vintage, number = serial
        return any(
            (q_type, q_vintage) == (unit_type, vintage) and start <= number <= end
            for q_type, q_vintage, start, end in self.quarantine
        )

    def singleton(self, kind: AccountKind) -> str:
        return next(a.account_id for a in self.accounts.values() if a.kind is kind)

    def holders(self) -> list[ModelAccount]:
        return [a for a in self.accounts.values() if a.kind not in REGISTRY_KINDS]

    def held_by(self, account_id: str) -> list[Serial]:
        return [serial for serial, owner in self.owner.items() if owner == account_id]

    def lookup_id(self, reference: str) -> str | None:
        """Return the account id `reference` names, by id or label, if any."""
        if reference in self.accounts:
            return reference
        return next((a.account_id for a in self.holders() if a.label == reference), None)

    def runs(self, account_id: str) -> list[tuple[str, int, int, int]]:
        """Maximal runs of consecutive serials one account holds with one provenance."""
        runs: list[tuple[str, int, int, int]] = []
        for unit_type, vintage, serial in sorted(self.held_by(account_id)):
            if (
                runs
                and runs[-1][:2] == (unit_type, vintage)
                and runs[-1][3] + 1 == serial
                and self.project[(unit_type, vintage, serial)]
                == self.project[(unit_type, vintage, runs[-1][3])]
            ):
                runs[-1] = (unit_type, vintage, runs[-1][2], serial)
            else:
                runs.append((unit_type, vintage, serial, serial))
        return runs

    def move(self, serials: Iterable[Serial], target: str) -> None:
        for serial in serials:
            self.owner[serial] = target

    # ------------------------------------------------------------ drawing commands

    def draw_reference(self, data: st.DataObject, pool: list[ModelAccount]) -> Any:
        """Name an account of `pool` by id or label; about one time in ten, a bad reference."""
        account = data.draw(st.sampled_from(pool), label="account")
        how = pick(
            data,
            "reference",
            {
                "id": 20,
                "label": 14,
                "other account": 2,
                "mistyped id": 2,
                "unknown id": 1,
                "unknown label": 1,
            },
        )
        if how == "label" and account.label:
            return account.label
        if how == "other account":
            return data.draw(st.sampled_from(list(self.accounts.values()))).account_id
        if how == "mistyped id":
            return mistyped(account.account_id)
        if how == "unknown id":
            return UNKNOWN_ID
        if how == "unknown label":
            return "nobody"
        return account.account_id

    def source_pool(self, data: st.DataObject, kind: str) -> list[ModelAccount]:
        """Mostly open accounts holding units this command may move; sometimes any account."""
        how = pick(data, "source pool", {"able": 8, "of kind": 1, "any": 1})
        if how == "any":
            return list(self.accounts.values())
        kinds = ALLOCATING if kind == "allocate" else HOLDING
        pool = [a for a in self.accounts.values() if a.kind in kinds]
        able = [a for a in pool if a.status is AccountStatus.OPEN and self.held_by(a.account_id)]
        return able if able and how == "able" else pool

    def target_pool(self, data: st.DataObject, source_ref: Any) -> list[ModelAccount]:
        """Mostly open holding accounts other than the source; sometimes any account."""
        how = pick(data, "target pool", {"open": 16, "holder": 2, "any": 2})
        if how == "any":
            return list(self.accounts.values())
        source_id = self.lookup_id(source_ref)
        open_holders = [
            a
            for a in self.holders()
            if a.status is AccountStatus.OPEN and a.account_id != source_id
        ]
        return open_holders if open_holders and how == "open" else self.holders()

    def draw_quantity(self, data: st.DataObject, available: int) -> Any:
        how = pick(data, "quantity", {"available": 16, "any": 3, "bad": 1})
        if how == "bad":
            return data.draw(st.sampled_from(BAD_QUANTITIES))
        if how == "any" or available == 0:
            return data.draw(st.integers(1, 600))
        return data.draw(st.integers(1, available))

    def draw_unit_type(self, data: st.DataObject, held: list[Serial]) -> str:
        """Mostly a unit type the account holds or this registry issues; sometimes not."""
        how = pick(data, "unit type", {"held": 16, "own": 3, "foreign": 1})
        if how == "held" and held:
            return data.draw(st.sampled_from(sorted({s[0] for s in held})))
        if how == "foreign":
            return data.draw(st.sampled_from(["CEA", "EUA"]))
        return data.draw(st.sampled_from(sorted(OWN_TYPES)))

    def draw_vintage(self, data: st.DataObject, held: list[Serial], optional: bool) -> Any:
        how = pick(data, "vintage", {"any": 9 if optional else 0, "held": 8, "listed": 2, "bad": 1})
        if how == "any":
            return None
        if how == "bad":
            return data.draw(st.sampled_from(BAD_VINTAGES))
        if how == "held" and held:
            return data.draw(st.sampled_from(sorted({s[1] for s in held})))
        return data.draw(st.sampled_from(VINTAGES))

    def draw_lock_id(self, data: st.DataObject) -> str:
        if self.locks and pick(data, "lock id", {"new": 5, "taken": 1}) == "taken":
            return data.draw(st.sampled_from(sorted(self.locks)))
        self.lock_ids_used += 1
        return f"GW-{self.lock_ids_used:04d}"

    def draw_named_blocks(self, data: st.DataObject, source_id: str | None) -> list[UnitBlock]:
        """Draw sub-ranges of the source's runs, or, sometimes, blocks it does not hold."""
        blocks: list[UnitBlock] = []
        runs = self.runs(source_id) if source_id is not None else []
        for _ in range(data.draw(st.integers(1, 3), label="named blocks")):
            how = pick(data, "named block", {"held": 24, "someone's": 1, "anywhere": 1})
            if how == "held" and runs:
                unit_type, vintage, low, high = data.draw(st.sampled_from(runs))
            elif how == "someone's" and self.owner:
                unit_type, vintage, low = data.draw(st.sampled_from(sorted(self.owner)))
                high = low + data.draw(st.integers(0, 30))
            else:
                unit_type = data.draw(st.sampled_from([*sorted(OWN_TYPES), "CEA", "EUA"]))
                vintage = data.draw(st.sampled_from(VINTAGES))
                low = data.draw(st.integers(1, 600))
                high = low + data.draw(st.integers(0, 30))
            start = data.draw(st.integers(low, high))
            end = data.draw(st.integers(start, high))
            project = self.project.get((unit_type, vintage, start), "")
            if pick(data, "provenance", {"as held": 39, "wrong project": 1}) != "as held":
                project = "P-9"
            blocks.append(UnitBlock(ORIGIN[unit_type], unit_type, vintage, start, end, project))
        return blocks

    # ------------------------------------------------------------ start-up

    @initialize(data=st.data())
    def issue_and_allocate_opening_units(self, data: st.DataObject) -> None:
        """Give holders units to trade in every run, whichever rules swarm testing enables."""
        issuance = self.singleton(AccountKind.ISSUANCE)
        for unit_type, vintage, project in (
            ("KAU", 2022, ""),
            ("KAU", 2021, ""),
            ("KOC", 2021, "P-1"),
            ("KOC", 2021, "P-2"),
        ):
            quantity = data.draw(st.integers(1, ISSUE_T_MAX), label=f"{unit_type} {vintage}")
            issued = self.registry.issue(unit_type, vintage, quantity, project_id=project)
            serials = expand([issued.block])
            self.move(serials, issuance)
            for serial in serials:
                self.project[serial] = project
            key = (unit_type, vintage)
            self.next_serial[key] = serials[-1][2] + 1
            self.issued_t[key] = self.issued_t.get(key, 0) + quantity
        for _ in range(data.draw(st.integers(2, 6), label="opening allocations")):
            self.move_quantity(data, "allocate")

    # ------------------------------------------------------------ accounts

    @precondition(lambda self: len(self.accounts) < ACCOUNTS_MAX)
    @rule(
        kind=st.sampled_from(
            [
                AccountKind.COMPLIANCE,
                AccountKind.TRADING,
                AccountKind.EXCHANGE_CUSTODY,
                AccountKind.RESERVE,
            ]
        ),
        labelled=st.booleans(),
    )
    def open_account(self, kind: AccountKind, labelled: bool) -> None:
        self.labels_used += 1
        self.open(kind, f"a{self.labels_used}" if labelled else "")

    @rule(data=st.data(), action=st.sampled_from(["block", "unblock", "close"]))
    def change_account_status(self, data: st.DataObject, action: str) -> None:
        fitting = {
            "block": [a for a in self.holders() if a.status is AccountStatus.OPEN],
            "unblock": [a for a in self.holders() if a.status is AccountStatus.BLOCKED],
            "close": [
                a
                for a in self.holders()
                if a.status is not AccountStatus.CLOSED and not self.held_by(a.account_id)
            ],
        }[action]
        if not fitting or pick(data, "account pool", {"fitting": 3, "any": 1}) == "any":
            fitting = list(self.accounts.values())
        reference = self.draw_reference(data, fitting)

        def predict() -> tuple[str, AccountStatus]:
            account = self.resolve(reference, transferring=True)
            if action == "close" and self.held_by(account.account_id):
                raise Refusal(CheckCode.ACCOUNT_NOT_EMPTY)
            if account.kind in REGISTRY_KINDS:
                raise Refusal(CheckCode.ACCOUNT_STATUS_CONFLICT)
            allowed, status = {
                "block": ({AccountStatus.OPEN}, AccountStatus.BLOCKED),
                "unblock": ({AccountStatus.BLOCKED}, AccountStatus.OPEN),
                "close": ({AccountStatus.OPEN, AccountStatus.BLOCKED}, AccountStatus.CLOSED),
            }[action]
            if account.status not in allowed:
                raise Refusal(CheckCode.ACCOUNT_STATUS_CONFLICT)
            if action == "close" and any(
                lock.account_id == account.account_id for lock in self.locks.values()
            ):
                raise Refusal(CheckCode.ACCOUNT_NOT_EMPTY)
            return account.account_id, status

        command = {
            "block": self.registry.block_account,
            "unblock": self.registry.unblock_account,
            "close": self.registry.close_account,
        }[action]
        result = self.attempt(action, predict, lambda: command(reference, f"{action} (machine)"))
        if result is not None:
            (account_id, status), changed = result
            assert (changed.account_id, changed.status) == (account_id, status)
            self.accounts[account_id].status = status
            # Probe the new status at once: a blocked or closed account neither gives nor takes.
            if pick(data, "probe", {"from it": 1, "to it": 1}) == "from it":
                self.move_quantity(data, "transfer", source_ref=reference)
            else:
                self.move_quantity(data, "allocate", target_ref=reference)

    # ------------------------------------------------------------ issuance

    @rule(data=st.data())
    def issue(self, data: st.DataObject) -> None:
        self.issue_units(data, self.draw_unit_type(data, []), self.draw_vintage(data, [], False))

    def issue_units(self, data: st.DataObject, unit_type: str, vintage: Any) -> None:
        # The cap's edge: exactly the headroom is accepted, one more is refused (3500).
        cap = self.caps_t.get((unit_type, vintage))
        headroom = -1 if cap is None else cap - self.issued_t.get((unit_type, vintage), 0)
        near_cap = 0 <= headroom < ISSUE_T_MAX
        how = pick(
            data,
            "quantity",
            {
                "whole": 16,
                "up to the cap": 2 if near_cap and headroom > 0 else 0,
                "one over the cap": 2 if near_cap else 0,
                "bad": 1,
            },
        )
        quantity: Any = {
            "whole": lambda: data.draw(st.integers(1, ISSUE_T_MAX)),
            "up to the cap": lambda: headroom,
            "one over the cap": lambda: headroom + 1,
            "bad": lambda: data.draw(st.sampled_from(BAD_QUANTITIES)),
        }[how]()
        project = data.draw(st.sampled_from(PROJECTS)) if unit_type in OWN_TYPES else ""
        if OWN_TYPES.get(unit_type) is UnitKind.ALLOWANCE:
            project = ""
        if pick(data, "project", {"as the kind needs": 19, "wrong": 1}) == "wrong":
            project = "" if project else PROJECTS[0]
        account = None
        if (
            pick(data, "issue to", {"issuance account": 3, "named account": 1})
            != "issuance account"
        ):
            reserves = [a for a in self.holders() if a.kind is AccountKind.RESERVE]
            account = self.draw_reference(data, reserves if reserves else self.holders())
        key = (unit_type, vintage)
        next_serial = self.next_serial.get(key, 1)
        how = pick(data, "start serial", {"next": 14, "after a gap": 1, "reused": 1})
        start_serial = {
            "next": None,
            "after a gap": next_serial + data.draw(st.integers(0, 50)),
            "reused": data.draw(st.integers(1, next_serial)),
        }[how]

        def predict() -> list[Serial]:
            if self.suspended:  # only allocation and surrender go on (DOMAIN.md, D2)
                raise Refusal(CheckCode.REGISTRY_SUSPENDED)
            if type(quantity) is not int or quantity <= 0:
                raise Refusal(CheckCode.QUANTITY_NOT_POSITIVE_INTEGER)
            if unit_type not in OWN_TYPES:
                raise Refusal(CheckCode.INVALID_UNIT_TYPE)
            if not valid_vintage(vintage):
                raise Refusal(CheckCode.INVALID_VINTAGE)
            if OWN_TYPES[unit_type] is UnitKind.OFFSET_CREDIT and not project:
                raise Refusal(CheckCode.PROJECT_ID_INVALID)
            if OWN_TYPES[unit_type] is UnitKind.ALLOWANCE and project:
                raise Refusal(CheckCode.PROJECT_ID_INVALID)
            if account is not None:
                self.acquiring(account, ISSUANCE_TARGETS)
            cap = self.caps_t.get(key)
            if cap is not None and self.issued_t.get(key, 0) + quantity > cap:
                raise Refusal(CheckCode.ISSUANCE_OVER_CAP)
            start = next_serial if start_serial is None else start_serial
            serials = [(unit_type, vintage, s) for s in range(start, start + quantity)]
            if any(serial in self.owner for serial in serials):
                raise Refusal(CheckCode.ISSUANCE_OVERLAPS_ISSUED_SERIALS)
            return serials

        result = self.attempt(
            "issue",
            predict,
            lambda: self.registry.issue(
                unit_type, vintage, quantity, account, project, start_serial=start_serial
            ),
        )
        if result is None:
            return
        serials, issued = result
        target = (
            self.singleton(AccountKind.ISSUANCE)
            if account is None
            else self.resolve(account, transferring=False).account_id
        )
        assert issued.account_id == target
        assert expand([issued.block]) == serials
        assert issued.block.project_id == project
        self.move(serials, target)
        for serial in serials:
            self.project[serial] = project
        self.next_serial[key] = max(next_serial, serials[-1][2] + 1)
        self.issued_t[key] = self.issued_t.get(key, 0) + len(serials)

    @rule(data=st.data(), margin=st.integers(-20, 1_000))
    def set_issuance_cap(self, data: st.DataObject, margin: int) -> None:
        unit_type = self.draw_unit_type(data, [])
        vintage = self.draw_vintage(data, [], optional=False)
        key = (unit_type, vintage)
        cap = max(0, self.issued_t.get(key, 0) + margin)

        def predict() -> None:
            if unit_type not in OWN_TYPES:
                raise Refusal(CheckCode.INVALID_UNIT_TYPE)
            if not valid_vintage(vintage):
                raise Refusal(CheckCode.INVALID_VINTAGE)
            if cap < self.issued_t.get(key, 0):
                raise Refusal(CheckCode.ISSUANCE_OVER_CAP)

        if self.attempt(
            "set cap", predict, lambda: self.registry.set_issuance_cap(unit_type, vintage, cap)
        ):
            self.caps_t[key] = cap
            self.issue_units(data, unit_type, vintage)  # probe the new cap at once

    # ------------------------------------------------------------ moves by quantity

    @rule(data=st.data())
    def allocate(self, data: st.DataObject) -> None:
        self.move_quantity(data, "allocate")

    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        self.move_quantity(data, "transfer")

    @rule(data=st.data(), kind=st.sampled_from(["surrender", "cancel", "retire"]))
    def surrender_cancel_or_retire(self, data: st.DataObject, kind: str) -> None:
        self.move_quantity(data, kind)

    @rule(data=st.data())
    def lock_or_unlock(self, data: st.DataObject) -> None:
        """Lock units pending out (external transfer) or release a lock: one rule, so a run
        that swarm testing gives one also has the other."""
        if pick(data, "lock or unlock", {"lock": 1, "unlock": 1}) == "lock":
            self.move_quantity(data, "lock")
        else:
            self.unlock(data)

    def move_quantity(
        self, data: st.DataObject, kind: str, source_ref: Any = None, target_ref: Any = None
    ) -> None:
        """Move units by quantity between drawn accounts (or the ones given)."""
        if source_ref is None:
            source_ref = self.draw_reference(data, self.source_pool(data, kind))
        if kind not in ("transfer", "allocate"):
            target_ref = self.singleton(TARGET_KIND[kind])
        elif target_ref is None:
            target_ref = self.draw_reference(data, self.target_pool(data, source_ref))
        source_id = self.lookup_id(source_ref)
        held = [] if source_id is None else self.held_by(source_id)
        unit_type = self.draw_unit_type(data, held)
        vintage = self.draw_vintage(data, [s for s in held if s[0] == unit_type], optional=True)
        available = sum(
            1
            for s in held
            if s[0] == unit_type and vintage in (None, s[1]) and not self.quarantined(s)
        )
        quantity = self.draw_quantity(data, available)
        period = data.draw(st.sampled_from([2021, 2022]), label="period")
        lock_id = self.draw_lock_id(data) if kind == "lock" else ""

        def predict() -> tuple[str, str, list[Serial]]:
            if kind == "lock" and lock_id in self.locks:
                raise Refusal(CheckCode.TRANSACTION_ID_EXISTS)
            self.check_not_suspended(kind)
            if type(quantity) is not int or quantity <= 0:
                raise Refusal(CheckCode.QUANTITY_NOT_POSITIVE_INTEGER)
            source, target = self.parties(kind, source_ref, target_ref)
            if unit_type not in KNOWN_TYPES:
                raise Refusal(CheckCode.INVALID_UNIT_TYPE)
            if vintage is not None and not valid_vintage(vintage):
                raise Refusal(CheckCode.INVALID_VINTAGE)
            candidates = sorted(
                (
                    s
                    for s in self.held_by(source.account_id)
                    if s[0] == unit_type and vintage in (None, s[1])
                ),
                key=lambda s: (s[1], s[2]),
            )
            free = [s for s in candidates if not self.quarantined(s)]
            if len(free) < quantity:
                raise Refusal(
                    CheckCode.UNITS_QUARANTINED
                    if len(candidates) >= quantity
                    else CheckCode.QUANTITY_EXCEEDS_BALANCE
                )
            return source.account_id, target.account_id, free[:quantity]

        command: Callable[[], UnitsMoved] = {
            "transfer": lambda: self.registry.transfer(
                source_ref, target_ref, unit_type, quantity, vintage
            ),
            "allocate": lambda: self.registry.allocate(
                source_ref, target_ref, unit_type, quantity, vintage
            ),
            "surrender": lambda: self.registry.surrender(
                source_ref, unit_type, quantity, period, vintage
            ),
            "cancel": lambda: self.registry.cancel(source_ref, unit_type, quantity, vintage),
            "retire": lambda: self.registry.retire(source_ref, unit_type, quantity, vintage),
            "lock": lambda: self.registry.lock(
                lock_id, source_ref, unit_type, quantity, LockPurpose.EXTERNAL_TRANSFER, vintage
            ),
        }[kind]
        result = self.attempt(kind, predict, command)
        if result is not None:
            (source, target, serials), moved = result
            # Oldest vintage first, then lowest serial, passing over quarantined serials.
            assert expand(moved.blocks) == serials
            self.record_move(kind, moved, source, target, serials, period, lock_id)

    def record_move(
        self,
        kind: str,
        moved: UnitsMoved,
        source: str,
        target: str,
        serials: list[Serial],
        period: int,
        lock_id: str,
    ) -> None:
        assert (moved.from_account, moved.to_account) == (source, target)
        assert moved.transaction_type.value == kind
        assert sum(b.quantity for b in moved.blocks) == len(serials)
        self.move(serials, target)
        if kind == "lock":
            self.locks[lock_id] = ModelLock(source, tuple(sorted(serials)))
        if kind == "surrender":
            assert moved.period == period
            self.surrenders.append((source, period, tuple(sorted(serials))))

    # ------------------------------------------------------------ moves of named blocks

    @rule(data=st.data(), kind=st.sampled_from(["transfer", "surrender", "lock"]))
    def move_blocks(self, data: st.DataObject, kind: str) -> None:
        self.move_named_blocks(data, kind)

    def move_named_blocks(
        self,
        data: st.DataObject,
        kind: str,
        source_ref: Any = None,
        blocks: list[UnitBlock] | None = None,
    ) -> None:
        """Move named serial blocks from a drawn account (or the one given)."""
        if source_ref is None:
            source_ref = self.draw_reference(data, self.source_pool(data, kind))
        target_ref = (
            self.draw_reference(data, self.target_pool(data, source_ref))
            if kind == "transfer"
            else self.singleton(TARGET_KIND[kind])
        )
        if blocks is None:
            blocks = self.draw_named_blocks(data, self.lookup_id(source_ref))
        period = data.draw(st.sampled_from([2021, 2022]), label="period")
        lock_id = self.draw_lock_id(data) if kind == "lock" else ""

        def predict() -> tuple[str, str, list[Serial]]:
            if kind == "lock" and lock_id in self.locks:
                raise Refusal(CheckCode.TRANSACTION_ID_EXISTS)
            self.check_not_suspended(kind)
            source, target = self.parties(kind, source_ref, target_ref)
            ordered = sorted(blocks, key=lambda b: (b.unit_type, b.vintage, b.start))
            for previous, block in pairwise(ordered):
                if previous.serial_key == block.serial_key and block.start <= previous.end:
                    raise Refusal(CheckCode.BLOCKS_NOT_HELD)
            for block in ordered:
                if block.unit_type not in KNOWN_TYPES:
                    raise Refusal(CheckCode.INVALID_UNIT_TYPE)
                serials = expand([block])
                if any(
                    self.owner.get(s) != source.account_id or self.project[s] != block.project_id
                    for s in serials
                ):
                    raise Refusal(CheckCode.BLOCKS_NOT_HELD)
                if any(self.quarantined(s) for s in serials):
                    raise Refusal(CheckCode.UNITS_QUARANTINED)
            return source.account_id, target.account_id, expand(ordered)

        command: Callable[[], UnitsMoved] = {
            "transfer": lambda: self.registry.transfer_blocks(source_ref, target_ref, blocks),
            "surrender": lambda: self.registry.surrender_blocks(source_ref, blocks, period),
            "lock": lambda: self.registry.lock_blocks(
                lock_id, source_ref, blocks, LockPurpose.EXCHANGE_CUSTODY
            ),
        }[kind]
        result = self.attempt(f"{kind} blocks", predict, command)
        if result is not None:
            (source, target, serials), moved = result
            assert expand(moved.blocks) == serials
            self.record_move(kind, moved, source, target, serials, period, lock_id)

    def unlock(self, data: st.DataObject) -> None:
        lock_id = "GW-UNKNOWN"
        if self.locks and pick(data, "unlock", {"held lock": 5, "unknown": 1}) == "held lock":
            lock_id = data.draw(st.sampled_from(sorted(self.locks)))

        def predict() -> ModelLock:
            lock = self.locks.get(lock_id)
            if lock is None:
                raise Refusal(CheckCode.UNKNOWN_LOCK)
            if self.accounts[lock.account_id].status is AccountStatus.CLOSED:
                raise Refusal(CheckCode.ACQUIRING_ACCOUNT_CLOSED)
            return lock

        result = self.attempt("unlock", predict, lambda: self.registry.unlock(lock_id))
        if result is not None:
            lock, moved = result
            assert moved.to_account == lock.account_id
            assert sorted(expand(moved.blocks)) == list(lock.serials)
            self.move(lock.serials, lock.account_id)
            del self.locks[lock_id]

    # ------------------------------------------------------------ registry-wide controls

    @rule(data=st.data())
    def suspend_or_resume(self, data: st.DataObject) -> None:
        """Suspend the registry (EU, 19 Jan 2011), try commands, and mostly resume at once.

        Resuming in the same step keeps most steps free to trade; sometimes the
        suspension outlasts the step, and sometimes the wrong command is tried
        (suspend twice: 9102; resume a running registry: 9107).
        """
        if self.suspended:
            how = pick(data, "while suspended", {"resume": 4, "suspend again": 1})
            self.suspend_command(resume=how == "resume")
            return
        if pick(data, "while running", {"suspend": 4, "resume": 1}) == "resume":
            self.suspend_command(resume=True)
            return
        self.suspend_command(resume=False)
        for _ in range(data.draw(st.integers(0, 3), label="commands while suspended")):
            self.move_quantity(data, data.draw(st.sampled_from(QUANTITY_KINDS)))
        if pick(data, "then", {"resume": 3, "stay suspended": 1}) == "resume":
            self.suspend_command(resume=True)

    def suspend_command(self, resume: bool) -> None:
        def predict() -> None:
            if resume and not self.suspended:
                raise Refusal(CheckCode.INVALID_ARGUMENT)
            if not resume and self.suspended:
                raise Refusal(CheckCode.REGISTRY_SUSPENDED)

        command = self.registry.resume if resume else self.registry.suspend
        if self.attempt(
            "resume" if resume else "suspend",
            predict,
            lambda: command("EU registries closed, 19 Jan 2011"),
        ):
            self.suspended = not resume

    @rule(data=st.data())
    def quarantine_or_lift(self, data: st.DataObject) -> None:
        """Quarantine serials (EU registry thefts, Jan 2011) or lift a quarantine."""
        how = pick(
            data,
            "quarantine",
            {
                "new range": 3,
                "lift one": 2 if self.quarantine else 0,
                "again": 1,
                "lift unknown": 1,
            },
        )
        lift = how in ("lift one", "lift unknown")
        if how in ("lift one", "again") and self.quarantine:
            unit_type, vintage, start, end = data.draw(st.sampled_from(self.quarantine))
        else:
            unit_type = self.draw_unit_type(data, [])
            vintage = data.draw(st.sampled_from(VINTAGES))
            start = data.draw(st.integers(1, self.next_serial.get((unit_type, vintage), 1) + 5))
            end = start + data.draw(st.integers(0, 60))
        entry = (unit_type, vintage, start, end)

        def predict() -> None:
            if unit_type not in KNOWN_TYPES:
                raise Refusal(CheckCode.INVALID_UNIT_TYPE)
            if lift != (entry in self.quarantine):
                raise Refusal(CheckCode.INVALID_ARGUMENT)

        def command() -> Any:
            if lift:
                return self.registry.lift_quarantine(unit_type, vintage, start, end)
            return self.registry.quarantine_serials(unit_type, vintage, start, end, "stolen")

        if not self.attempt("lift" if lift else "quarantine", predict, command):
            return
        if lift:
            self.quarantine.remove(entry)
            return
        self.quarantine.append(entry)
        # Probe at once: whoever holds a quarantined serial can move it by no command.
        owned = [(unit_type, vintage, n) for n in range(start, end + 1)]
        owners = sorted({self.owner[s] for s in owned if s in self.owner})
        if not owners:
            return
        owner = data.draw(st.sampled_from(owners), label="holder of quarantined serials")
        if pick(data, "probe", {"by name": 1, "by quantity": 1}) == "by name":
            run = next(
                r
                for r in self.runs(owner)
                if r[:2] == (unit_type, vintage) and r[2] <= end and start <= r[3]
            )
            low, high = max(run[2], start), min(run[3], end)
            serial = data.draw(st.integers(low, high), label="quarantined serial")
            block = UnitBlock(
                ORIGIN[unit_type],
                unit_type,
                vintage,
                run[2],
                serial,
                self.project[(unit_type, vintage, serial)],
            )
            kind = data.draw(st.sampled_from(["transfer", "surrender", "lock"]))
            self.move_named_blocks(data, kind, source_ref=owner, blocks=[block])
        else:
            self.move_quantity(data, data.draw(st.sampled_from(QUANTITY_KINDS)), source_ref=owner)

    # ------------------------------------------------------------ durability

    @rule()
    def snapshot(self) -> None:
        seq = self.registry.snapshot()
        assert seq == self.registry.journal.committed_seq == self.registry.journal.seq
        self.snapshot_seq = seq

    @rule(verify_from_genesis=st.booleans(), snapshot_first=st.booleans())
    def reopen_from_journal(self, verify_from_genesis: bool, snapshot_first: bool) -> None:
        """Every journal replays to the same state (DESIGN.md invariant 5).

        The reopened registry, started from the latest snapshot if there is one,
        becomes the writer; the old instance is dropped.
        """
        if snapshot_first:
            self.snapshot()
        self.registry.flush()
        live = self.ledger.state_digest()
        reopened = Registry.open(
            self.engine, CODE, self.key, verify_from_genesis=verify_from_genesis
        )
        assert reopened.snapshot_seq == self.snapshot_seq
        assert reopened.ledger.state_digest() == live
        reopened.ledger.check_conservation()
        self.registry = reopened

    # ------------------------------------------------------------ invariants

    @invariant()
    def conservation_holds(self) -> None:
        self.ledger.check_conservation()

    @invariant()
    def every_serial_is_where_the_model_says(self) -> None:
        held: dict[Serial, tuple[str, str]] = {}
        for record in self.ledger.accounts():
            for block in record.holding.blocks():
                for serial in expand([block]):
                    assert serial not in held, f"{serial} is in two accounts"
                    held[serial] = (record.account_id, block.project_id)
        expected = {serial: (owner, self.project[serial]) for serial, owner in self.owner.items()}
        assert held == expected

    @invariant()
    def totals_add_up(self) -> None:
        totals = self.ledger.totals()
        issued = sum(self.issued_t.values())
        assert totals.issued == issued == len(self.owner)
        assert (
            totals.held + totals.locked + totals.surrendered + totals.cancelled + totals.retired
            == issued
        )
        by_kind: dict[AccountKind, int] = dict.fromkeys(AccountKind, 0)
        for owner in self.owner.values():
            by_kind[self.accounts[owner].kind] += 1
        assert totals.locked == by_kind[AccountKind.PENDING_OUT]
        assert totals.surrendered == by_kind[AccountKind.SURRENDER]
        assert totals.cancelled == by_kind[AccountKind.CANCELLATION]
        assert totals.retired == by_kind[AccountKind.RETIREMENT]
        for (unit_type, vintage), quantity in self.issued_t.items():
            assert self.ledger.issued(unit_type, vintage) == quantity
            cap = self.caps_t.get((unit_type, vintage))
            assert self.ledger.issuance_cap(unit_type, vintage) == cap
            assert cap is None or quantity <= cap

    @invariant()
    def locks_surrenders_statuses_and_controls_match(self) -> None:
        locks = {
            lock.lock_id: ModelLock(lock.account_id, tuple(sorted(expand(lock.blocks))))
            for lock in self.ledger.locks()
        }
        assert locks == self.locks
        surrenders = [
            (record.account_id, record.period, tuple(sorted(expand(record.blocks))))
            for record in self.ledger.surrenders()
        ]
        assert surrenders == self.surrenders
        statuses = {record.account_id: record.status for record in self.ledger.accounts()}
        assert statuses == {a.account_id: a.status for a in self.accounts.values()}
        assert (self.ledger.suspension_reason is not None) == self.suspended
        quarantine = sorted(
            (entry.unit_type, entry.vintage, entry.start, entry.end)
            for entry in self.ledger.quarantine
        )
        assert quarantine == sorted(self.quarantine)


TestRegistryStateMachine = RegistryMachine.TestCase
