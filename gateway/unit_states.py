"""What the transaction log knows of units' fate and registries' state, and what it refuses.

The log does not take an origin's signature as proof that units are free to
move. It keeps, per serial space:

- **terminal** serials: surrendered, cancelled or retired, as registries notified
  them (Hungary 2010: surrendered CERs resold; reference D5) — they never move
  again (9027);
- serials **quarantined** by the log's operator, and serials quarantined by the
  registry that holds them (reference D2) — no link carries them until lifted
  (9101);

and which registries notified a registry-wide **suspension** (EU, 19 January
2011) — nothing leaves or arrives while it lasts (9028).

`UnitStates` is plain state with its checks; the gateway journals the inputs
that change it (a notice taken, an operator's command) and decides what the
checks mean for open transfers.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.errors import GatewayError, LinkCode
from gateway.messages import Change, Transfer, UnitChange
from registry.errors import CheckCode
from registry.serial_ranges import RangeSet
from registry.units import UnitBlock

SerialKey = tuple[str, str, int]  # (origin, unit type, vintage)
# Whether the log records serials start-end of a key in the registry that notified them.
SpeaksFor = Callable[[str, SerialKey, int, int], bool]


class UnitStates:
    """Terminal and quarantined serials, and suspended registries, as the log knows them."""

    def __init__(self) -> None:
        self.terminal: dict[SerialKey, RangeSet] = {}
        self.quarantine: dict[SerialKey, RangeSet] = {}  # the log operator's
        self.registry_quarantine: dict[SerialKey, RangeSet] = {}  # registries' own
        self.suspended: dict[str, str] = {}  # registry → the reason it gave

    # ------------------------------------------------------------ changes

    def quarantine_serials(self, key: SerialKey, start: int, end: int) -> None:
        self.quarantine.setdefault(key, RangeSet()).include(start, end)

    def lift_quarantine(self, key: SerialKey, start: int, end: int) -> None:
        ranges = self.quarantine.get(key)
        if ranges is None or not ranges.covers(start, end):
            raise GatewayError(
                CheckCode.INVALID_SERIAL_RANGE,
                f"serials {start}-{end} of {key} are not wholly quarantined",
            )
        ranges.remove(start, end)

    def take(self, registry: str, change: UnitChange, speaks_for: SpeaksFor) -> list[str]:
        """Record one change a registry notified; return why any of its ranges was ignored.

        A registry speaks only for serials the log records in it: a notice about
        another registry's units would let it block them, so such a range is
        ignored (and the gateway raises an alert).
        """
        kind = change.change
        if kind is Change.SUSPENDED:
            self.suspended[registry] = change.reason or "no reason given"
            return []
        if kind is Change.RESUMED:
            self.suspended.pop(registry, None)
            return []
        quarantine = kind in (Change.QUARANTINED, Change.QUARANTINE_LIFTED)
        target = self.registry_quarantine if quarantine else self.terminal
        ignored = []
        for origin, unit_type, vintage, start, end in change.serials:
            key = (origin, unit_type, vintage)
            if not speaks_for(registry, key, start, end):
                ignored.append(
                    f"{registry} notified {kind} serials {start}-{end} of {key}, which the "
                    "log records elsewhere; the notice of them is ignored"
                )
            elif kind is Change.QUARANTINE_LIFTED:
                ranges = target.get(key)
                if ranges is not None and ranges.covers(start, end):
                    ranges.remove(start, end)
            else:
                target.setdefault(key, RangeSet()).include(start, end)
        return ignored

    # ------------------------------------------------------------ checks

    def registry_error(self, registry: str, *, while_open: bool = False) -> GatewayError | None:
        """Return 9028 if `registry` notified a suspension it has not lifted."""
        reason = self.suspended.get(registry)
        if reason is None:
            return None
        if while_open:
            text = f"{registry} was suspended while the transfer was open ({reason})"
        else:
            text = (
                f"{registry} notified a registry-wide suspension ({reason}); nothing "
                "leaves or arrives until it resumes"
            )
        return GatewayError(LinkCode.REGISTRY_SUSPENDED, text)

    def block_error(self, block: UnitBlock) -> GatewayError | None:
        """Return why no link may carry `block` (9027 terminal, 9101 quarantined), or None."""
        key = block.serial_key
        terminal = self.terminal.get(key)
        if terminal is not None and terminal.overlaps(block.start, block.end):
            return GatewayError(
                LinkCode.UNITS_TERMINAL,
                f"block {block} holds serials a registry notified as surrendered, cancelled "
                "or retired; they never move again",
            )
        quarantines = ((self.quarantine, "the log"), (self.registry_quarantine, "a registry"))
        for quarantine, by in quarantines:
            quarantined = quarantine.get(key)
            if quarantined is not None and quarantined.overlaps(block.start, block.end):
                return GatewayError(
                    CheckCode.UNITS_QUARANTINED,
                    f"block {block} holds serials {by} quarantined; no link carries them",
                )
        return None

    def transfer_error(self, transfer: Transfer) -> GatewayError | None:
        """Return why an open transfer may no longer complete, or None: a party registry
        suspended, or serials that became terminal or quarantined since it was checked."""
        for registry in (transfer.from_registry, transfer.to_registry):
            error = self.registry_error(registry, while_open=True)
            if error is not None:
                return error
        for block in transfer.blocks:
            error = self.block_error(block)
            if error is not None:
                return error
        return None
