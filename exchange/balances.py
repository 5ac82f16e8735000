"""Members' balances of assets, with reservations: the clearing house's cash and the
exchange's custody of units are both this (`exchange.clearing`, `exchange.custody`).

A pure single-writer state machine, like the registry's ledger: every command
checks everything first and raises `BalanceError` with the first failed
check's code, changing nothing; then it builds one event and applies it.
`apply` is also the replay path and never validates. Amounts are integers
(minor currency units, or tonnes).

Balances are conserved: for every asset the members' balances add up to what
was deposited, less what was withdrawn and what was delivered out; what is
reserved never exceeds a balance. An order reserves what it could spend or
sell (pre-trade risk); at settlement a reservation pays another member (the
buyer's cash to the seller) or is delivered out (units leaving custody for the
buyer's registry account), and the rest is released.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, ClassVar, TypeVar

from registry import canonical
from registry.errors import RegistryError

MEMBERS_MAX = 100_000
RESERVATIONS_MAX = 10_000_000
AMOUNT_MAX = 10**18  # beyond any market's cash in minor units, or any cap in tonnes
# "@" for a venue listing's trade ids (EUA@CH-7), which are payment references.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")


class BalanceCode(IntEnum):
    """Why a balance command was refused (the exchange's 111xx range)."""

    UNKNOWN_MEMBER = 11101
    MEMBER_EXISTS = 11102
    BAD_ASSET = 11103
    AMOUNT_NOT_POSITIVE = 11104
    INSUFFICIENT_FREE_BALANCE = 11105
    UNKNOWN_RESERVATION = 11106
    RESERVATION_EXISTS = 11107
    RESERVATION_EXCEEDED = 11108
    BAD_ID = 11109
    LIMIT_REACHED = 11110


class BalanceError(RegistryError):
    """A balance command was refused; nothing changed."""

    def __init__(self, code: BalanceCode, message: str) -> None:
        super().__init__(code, message)


@dataclass(frozen=True, slots=True)
class Balance:
    """A member's holding of one asset: all of it, and the part reserved for orders."""

    total: int
    reserved: int

    @property
    def free(self) -> int:
        return self.total - self.reserved


@dataclass(frozen=True, slots=True)
class Reservation:
    """An amount set aside for one purpose (an order), of which `amount` is left."""

    reservation_id: str
    member: str
    asset: str
    amount: int


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class MemberOpened:
    KIND: ClassVar[str] = "member_opened"
    member: str


@dataclass(frozen=True, slots=True)
class AmountMoved:
    """In (a deposit, positive) or out (a withdrawal, negative) of a member's balance."""

    KIND: ClassVar[str] = "amount_moved"
    member: str
    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class AmountReserved:
    KIND: ClassVar[str] = "amount_reserved"
    reservation_id: str
    member: str
    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class ReservationReleased:
    KIND: ClassVar[str] = "reservation_released"
    reservation_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class ReservedPaid:
    """Part of a reservation to another member's balance (the cash leg of a trade)."""

    KIND: ClassVar[str] = "reserved_paid"
    reservation_id: str
    payee: str
    amount: int
    reference: str


@dataclass(frozen=True, slots=True)
class ReservedDelivered:
    """Part of a reservation out of the books (units delivered from custody to a buyer)."""

    KIND: ClassVar[str] = "reserved_delivered"
    reservation_id: str
    amount: int
    reference: str


BalanceEvent = (
    MemberOpened
    | AmountMoved
    | AmountReserved
    | ReservationReleased
    | ReservedPaid
    | ReservedDelivered
)
_E = TypeVar(
    "_E",
    MemberOpened,
    AmountMoved,
    AmountReserved,
    ReservationReleased,
    ReservedPaid,
    ReservedDelivered,
)
_EVENT_KINDS: dict[str, type[BalanceEvent]] = {
    kind.KIND: kind
    for kind in (
        MemberOpened,
        AmountMoved,
        AmountReserved,
        ReservationReleased,
        ReservedPaid,
        ReservedDelivered,
    )
}


def encode_event(event: BalanceEvent) -> tuple[str, dict[str, Any]]:
    """Return the event's journal kind and canonical plain data."""
    return event.KIND, {item.name: getattr(event, item.name) for item in fields(event)}


def decode_event(kind: str, data: dict[str, Any]) -> BalanceEvent:
    return _EVENT_KINDS[kind](**data)


# ---------------------------------------------------------------- the books


class Balances:
    """Members' balances of assets, with reservations; conserves every asset.

    `asset_pattern` says what an asset code looks like and `unit` names the
    amounts in messages ("minor units", "t").
    """

    ASSET_PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"[A-Z0-9]{1,16}")
    ASSET_WORD: ClassVar[str] = "asset"
    UNIT: ClassVar[str] = ""

    def __init__(self) -> None:
        self._balances: dict[str, dict[str, int]] = {}  # member → asset → amount
        self._reserved: dict[tuple[str, str], int] = {}  # (member, asset) → amount
        self._reservations: dict[str, Reservation] = {}
        self._net_in: dict[str, int] = {}  # asset → deposited less withdrawn and delivered
        self._used_ids: set[str] = set()

    # ------------------------------------------------------------ commands

    def open_member(self, member: str) -> MemberOpened:
        _check_id("member", member)
        if member in self._balances:
            raise BalanceError(BalanceCode.MEMBER_EXISTS, f"member {member!r} already exists")
        if len(self._balances) >= MEMBERS_MAX:
            raise BalanceError(BalanceCode.LIMIT_REACHED, f"{MEMBERS_MAX:,} members at most")
        return self.apply(MemberOpened(member))

    def deposit(self, member: str, asset: str, amount: int) -> AmountMoved:
        """Credit what was paid in (cash) or put in custody (units)."""
        self.check_deposit(member, asset, amount)
        return self.apply(AmountMoved(member, asset, amount))

    def withdraw(self, member: str, asset: str, amount: int) -> AmountMoved:
        """Pay out; only what is not reserved for orders may leave."""
        self.check_withdraw(member, asset, amount)
        return self.apply(AmountMoved(member, asset, -amount))

    def check_deposit(self, member: str, asset: str, amount: int) -> None:
        """Raise what `deposit` would raise; change nothing (checked before units move)."""
        self._check_member(member)
        self._check_asset(asset)
        _check_amount(amount)
        self._check_room(member, asset, amount)

    def check_withdraw(self, member: str, asset: str, amount: int) -> None:
        """Raise what `withdraw` would raise; change nothing (checked before units move)."""
        self._check_member(member)
        self._check_asset(asset)
        _check_amount(amount)
        self._check_free(member, asset, amount, "withdraw")

    def reserve(self, reservation_id: str, member: str, asset: str, amount: int) -> AmountReserved:
        """Set an amount aside for an order; refused unless it is free."""
        _check_id("reservation id", reservation_id)
        if reservation_id in self._used_ids:
            raise BalanceError(
                BalanceCode.RESERVATION_EXISTS, f"reservation id {reservation_id!r} was used"
            )
        if len(self._reservations) >= RESERVATIONS_MAX:
            raise BalanceError(
                BalanceCode.LIMIT_REACHED, f"{RESERVATIONS_MAX:,} open reservations at most"
            )
        self._check_member(member)
        self._check_asset(asset)
        _check_amount(amount)
        self._check_free(member, asset, amount, "reserve")
        return self.apply(AmountReserved(reservation_id, member, asset, amount))

    def release(self, reservation_id: str, amount: int | None = None) -> ReservationReleased:
        """Give a reservation back to the member's free balance (all of it when no amount)."""
        reservation = self._reservation(reservation_id)
        amount = reservation.amount if amount is None else amount
        _check_amount(amount)
        self._check_within(reservation, amount)
        return self.apply(ReservationReleased(reservation_id, amount))

    def pay(self, reservation_id: str, payee: str, amount: int, reference: str) -> ReservedPaid:
        """Move part of a reservation to `payee`: the cash leg of delivery versus payment."""
        reservation = self._reservation(reservation_id)
        self._check_member(payee)
        _check_amount(amount)
        _check_id("reference", reference)
        self._check_within(reservation, amount)
        self._check_room(payee, reservation.asset, amount)
        return self.apply(ReservedPaid(reservation_id, payee, amount, reference))

    def deliver(self, reservation_id: str, amount: int, reference: str) -> ReservedDelivered:
        """Take part of a reservation out of the books: units leaving custody for a buyer."""
        reservation = self._reservation(reservation_id)
        _check_amount(amount)
        _check_id("reference", reference)
        self._check_within(reservation, amount)
        return self.apply(ReservedDelivered(reservation_id, amount, reference))

    # ------------------------------------------------------------ queries

    def balance(self, member: str, asset: str) -> Balance:
        self._check_member(member)
        return Balance(self._balance(member, asset), self._reserved_of(member, asset))

    def total_of(self, member: str, asset: str) -> int:
        """Return `balance(member, asset).total` without building a `Balance`: agents ask
        this thousands of times a session."""
        self._check_member(member)
        return self._balance(member, asset)

    def free_of(self, member: str, asset: str) -> int:
        """Return `balance(member, asset).free` without building a `Balance`."""
        self._check_member(member)
        return self._balance(member, asset) - self._reserved_of(member, asset)

    def reservation(self, reservation_id: str) -> Reservation | None:
        return self._reservations.get(reservation_id)

    def members(self) -> list[str]:
        return sorted(self._balances)

    def total(self, asset: str) -> int:
        """Return all members' balances of `asset` together."""
        return sum(currencies.get(asset, 0) for currencies in self._balances.values())

    def check_conservation(self) -> None:
        """Assert every asset is conserved and reservations add up (a bug otherwise)."""
        totals: dict[str, int] = {}
        for assets in self._balances.values():
            for asset, amount in assets.items():
                assert amount >= 0, f"a balance of {asset} went negative: {amount}"
                totals[asset] = totals.get(asset, 0) + amount
        for asset, net in self._net_in.items():
            assert totals.get(asset, 0) == net, (
                f"{asset}: balances add up to {totals.get(asset, 0):,}, what came in less what "
                f"went out is {net:,}"
            )
        reserved: dict[tuple[str, str], int] = {}
        for item in self._reservations.values():
            key = (item.member, item.asset)
            reserved[key] = reserved.get(key, 0) + item.amount
        assert reserved == {k: v for k, v in self._reserved.items() if v}, "reservations drift"
        for (member, asset), amount in reserved.items():
            assert amount <= self._balance(member, asset), (
                f"{member} has {amount:,} {asset} reserved of {self._balance(member, asset):,}"
            )

    def state_digest(self) -> str:
        data = {
            "balances": sorted(
                [member, asset, amount]
                for member, assets in self._balances.items()
                for asset, amount in assets.items()
            ),
            "members": sorted(self._balances),
            "reservations": sorted(
                [r.reservation_id, r.member, r.asset, r.amount] for r in self._reservations.values()
            ),
            "used": sorted(self._used_ids),
        }
        return hashlib.sha256(canonical.encode(data)).hexdigest()

    # ------------------------------------------------------------ replay

    def apply(self, event: _E) -> _E:
        """Apply an event: the live path after the checks, and the replay path."""
        match event:
            case MemberOpened(member=member):
                self._balances[member] = {}
            case AmountMoved(member=member, asset=asset, amount=amount):
                self._add(member, asset, amount)
                self._net_in[asset] = self._net_in.get(asset, 0) + amount
            case AmountReserved(reservation_id=reservation_id, member=member, asset=asset):
                amount = event.amount
                self._reservations[reservation_id] = Reservation(
                    reservation_id, member, asset, amount
                )
                self._used_ids.add(reservation_id)
                self._reserved[(member, asset)] = self._reserved_of(member, asset) + amount
            case ReservationReleased(reservation_id=reservation_id, amount=amount):
                self._take_from(reservation_id, amount)
            case ReservedPaid(reservation_id=reservation_id, payee=payee, amount=amount):
                reservation = self._take_from(reservation_id, amount)
                self._add(reservation.member, reservation.asset, -amount)
                self._add(payee, reservation.asset, amount)
            case ReservedDelivered(reservation_id=reservation_id, amount=amount):
                reservation = self._take_from(reservation_id, amount)
                self._add(reservation.member, reservation.asset, -amount)
                self._net_in[reservation.asset] -= amount
        return event

    # ------------------------------------------------------------ internals

    def _take_from(self, reservation_id: str, amount: int) -> Reservation:
        reservation = self._reservations[reservation_id]
        left = reservation.amount - amount
        assert left >= 0, f"reservation {reservation_id} overdrawn"
        self._reserved[(reservation.member, reservation.asset)] -= amount
        if left:
            self._reservations[reservation_id] = Reservation(
                reservation_id, reservation.member, reservation.asset, left
            )
        else:
            del self._reservations[reservation_id]
        return reservation

    def _add(self, member: str, asset: str, amount: int) -> None:
        assets = self._balances[member]
        assets[asset] = assets.get(asset, 0) + amount

    def _balance(self, member: str, asset: str) -> int:
        return self._balances.get(member, {}).get(asset, 0)

    def _reserved_of(self, member: str, asset: str) -> int:
        return self._reserved.get((member, asset), 0)

    def _check_member(self, member: str) -> None:
        if not isinstance(member, str) or member not in self._balances:
            raise BalanceError(BalanceCode.UNKNOWN_MEMBER, f"no member {member!r}")

    def _check_asset(self, asset: Any) -> None:
        if type(asset) is not str or not self.ASSET_PATTERN.fullmatch(asset):
            raise BalanceError(
                BalanceCode.BAD_ASSET,
                f"{self.ASSET_WORD} must match {self.ASSET_PATTERN.pattern}, was {asset!r}",
            )

    def _check_room(self, member: str, asset: str, amount: int) -> None:
        if self._balance(member, asset) + amount > AMOUNT_MAX:
            raise BalanceError(BalanceCode.LIMIT_REACHED, f"a balance holds at most {AMOUNT_MAX:,}")

    def _check_free(self, member: str, asset: str, amount: int, action: str) -> None:
        free = self._balance(member, asset) - self._reserved_of(member, asset)
        if amount > free:
            raise BalanceError(
                BalanceCode.INSUFFICIENT_FREE_BALANCE,
                f"{member} cannot {action} {amount:,} {self.UNIT} of {asset}: {free:,} free "
                f"({self._reserved_of(member, asset):,} reserved for orders)",
            )

    def _reservation(self, reservation_id: str) -> Reservation:
        found = self._reservations.get(reservation_id) if isinstance(reservation_id, str) else None
        if found is None:
            raise BalanceError(
                BalanceCode.UNKNOWN_RESERVATION, f"no open reservation {reservation_id!r}"
            )
        return found

    def _check_within(self, reservation: Reservation, amount: int) -> None:
        if amount > reservation.amount:
            raise BalanceError(
                BalanceCode.RESERVATION_EXCEEDED,
                f"reservation {reservation.reservation_id} holds {reservation.amount:,} "
                f"{self.UNIT} of {reservation.asset}, not {amount:,}",
            )


def _check_id(what: str, value: Any) -> None:
    if type(value) is not str or not _ID_RE.fullmatch(value):
        raise BalanceError(
            BalanceCode.BAD_ID, f"{what} must be 1-64 letters, digits or ._:@-, was {value!r}"
        )


def _check_amount(amount: Any) -> None:
    if type(amount) is not int or not 0 < amount <= AMOUNT_MAX:
        raise BalanceError(
            BalanceCode.AMOUNT_NOT_POSITIVE,
            f"amount must be a whole number in 1..{AMOUNT_MAX:,}, was {amount!r}",
        )
