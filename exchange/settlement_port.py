"""The settlement port: the one way the exchange reaches registries, the gateway and time.

`SettlementPort` names what the exchange asks of the world outside its books:
move units inside one registry, propose transfers through the gateway and
learn how they ended, read the links between two registries (their rules, and
the flow already counted against their period caps), read an account's kind, a
unit type's origin and what a custody account holds, and read or move the
simulated time. Everything else — matching, reservations, claims, cash — is the
exchange's own state.

`LocalSettlement` is the in-process adapter: it wraps the registries and the
optional `Federation` and calls them directly. Another adapter can carry the
same operations to registries and a gateway in other processes, with the
outcomes coming back as input events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from gateway.endpoint import TransferOrder
from gateway.links import Link
from gateway.messages import TransactionStatus
from registry.accounts import AccountKind

if TYPE_CHECKING:
    from gateway.federation import Federation
    from registry.registry import Registry


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    """Where a gateway transfer stands: its status, and the codes and messages of its end."""

    status: TransactionStatus
    codes: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def is_final(self) -> bool:
        return self.status.is_final


@dataclass(frozen=True, slots=True)
class Holding:
    """What one account holds of one unit type: free in its holding, and locked in transfers."""

    account_id: str
    held_t: int
    locked_t: int


class SettlementPort(Protocol):
    """What the exchange asks of registries, the gateway and the clock, and nothing more.

    Refusals come back as the registries' and the gateway's own errors
    (`RegistryError`, `GatewayError`), with their codes. The gateway operations
    (`transfer`, `propose`, `deliver`, `outcome`, `link`, `links_between`,
    `period_flow_t`) are asked for only when `has_gateway()` is true.
    """

    def now(self) -> datetime:
        """Return the simulated time the registries and the gateway share."""
        ...

    def advance(self, moment: datetime) -> None:
        """Move simulated time to `moment` (never back), letting the gateway act on the way."""
        ...

    def move(
        self, registry: str, source: str, target: str, unit_type: str, quantity_t: int
    ) -> None:
        """Transfer `quantity_t` of `unit_type` between two accounts of one registry, oldest
        vintage first; raise the registry's refusal, having moved nothing."""
        ...

    def has_gateway(self) -> bool:
        """Return whether units can reach other registries (a gateway links them)."""
        ...

    def transfer(self, origin: str, order: TransferOrder) -> TransactionStatus:
        """Propose one transfer from `origin`, deliver until nothing moves, return its status."""
        ...

    def propose(self, origin: str, orders: Sequence[TransferOrder]) -> None:
        """Have `origin` lock and propose a batch of transfers, not yet delivered; raise the
        registry's refusal (nothing proposed) when it cannot lock them all."""
        ...

    def deliver(self) -> None:
        """Deliver the messages in flight until nothing moves."""
        ...

    def outcome(self, transfer_id: str) -> TransferOutcome | None:
        """Return where the gateway's transfer stands (None: the gateway has no record)."""
        ...

    def link(self, link_id: str) -> Link:
        """Return the link `link_id` as it stands now."""
        ...

    def links_between(self, registry_a: str, registry_b: str) -> tuple[Link, ...]:
        """Return the links joining the two registries, in the gateway's order."""
        ...

    def period_flow_t(self, link_id: str, year: int) -> int:
        """Return the tonnes the link carried or holds in flight in `year`."""
        ...

    def account_kind(self, registry: str, account: str) -> AccountKind:
        """Return the kind of an account (raise the registry's refusal when unknown)."""
        ...

    def unit_origin(self, registry: str, unit_type: str) -> str | None:
        """Return the registry that issues `unit_type`, as `registry` knows it (None: unknown)."""
        ...

    def holding(self, registry: str, account: str, unit_type: str) -> Holding:
        """Return what the account holds of `unit_type`, free and locked."""
        ...


class LocalSettlement:
    """The settlement port in one process: the registries and the federation, called directly."""

    def __init__(
        self, registries: Mapping[str, Registry], federation: Federation | None = None
    ) -> None:
        assert registries, "an exchange needs at least one registry"
        self.registries = dict(registries)
        # Simulated time: the registries and the gateway share one clock.
        self.clock = self.registries[min(self.registries)].clock
        assert federation is None or federation.gateway.clock is self.clock, "two clocks"
        self.federation = federation

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, moment: datetime) -> None:
        if self.federation is not None:
            self.federation.advance(moment)
        elif moment > self.clock.now():
            self.clock.set(moment)

    def move(
        self, registry: str, source: str, target: str, unit_type: str, quantity_t: int
    ) -> None:
        self.registries[registry].transfer(source, target, unit_type, quantity_t)

    def has_gateway(self) -> bool:
        return self.federation is not None

    def transfer(self, origin: str, order: TransferOrder) -> TransactionStatus:
        return self._federation().transfer(origin, order)

    def propose(self, origin: str, orders: Sequence[TransferOrder]) -> None:
        self._federation().propose(origin, orders)

    def deliver(self) -> None:
        self._federation().pump()

    def outcome(self, transfer_id: str) -> TransferOutcome | None:
        record = self._federation().gateway.transfers.get(transfer_id)
        if record is None:
            return None
        return TransferOutcome(record.status, record.codes, record.messages)

    def link(self, link_id: str) -> Link:
        return self._federation().gateway.links[link_id]

    def links_between(self, registry_a: str, registry_b: str) -> tuple[Link, ...]:
        parties = {registry_a, registry_b}
        links = self._federation().gateway.links.values()
        return tuple(link for link in links if link.parties == parties)

    def period_flow_t(self, link_id: str, year: int) -> int:
        return self._federation().gateway.period_flow_t(link_id, year)

    def account_kind(self, registry: str, account: str) -> AccountKind:
        return self.registries[registry].ledger.account(account).kind

    def unit_origin(self, registry: str, unit_type: str) -> str | None:
        known = self.registries[registry].ledger.unit_types.get(unit_type)
        return None if known is None else known.origin

    def holding(self, registry: str, account: str, unit_type: str) -> Holding:
        ledger = self.registries[registry].ledger
        found = ledger.account(account)
        locked_t = sum(
            block.quantity
            for lock in ledger.locks()
            if lock.account_id == found.account_id
            for block in lock.blocks
            if block.unit_type == unit_type
        )
        return Holding(found.account_id, found.holding.balance(unit_type), locked_t)

    def _federation(self) -> Federation:
        # The exchange asks for the gateway only after `has_gateway()`: a bug otherwise.
        assert self.federation is not None, "this settlement has no gateway"
        return self.federation
