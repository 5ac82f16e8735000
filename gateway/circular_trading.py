"""Circular-trading detection over completed transfers (reference D4: VAT carousel).

In the 2009-10 VAT carousel, the same allowances went round a chain of
traders and back to the start within hours. The catalogue's answer is not a
refusal but an alert: gateway analytics flag A → B → … → A within T hours,
and wash trades (A → B → A, the 2-cycle). This module is that analysis, a
pure function from completed transfers to alerts; it reads no clock and
changes nothing.

What counts as a cycle:

- **Accounts** are named across registries as (registry code, account id),
  so a cycle may run through several registries over the gateway.
- **A path** is a sequence of transfers, each leaving the account the one
  before it arrived at, in time order: transfers are taken by (time, input
  position), and each one on the path comes after the one before it — goods
  move on only once they have arrived. A path closes when a transfer
  arrives back at the account the first one left. No account is visited
  twice, except an *intermediary* (an exchange's custody account: a trade
  passes seller → custody → buyer), which a path may pass through more than
  once and which never starts one; a cycle needs another account besides its
  start that is not an intermediary (units out to custody and back are not
  a trade).
- **Within the window**: the last transfer is at most `window` after the first
  (inclusive), and the path has at most `hops_max` transfers.
- **Evidence**, strongest first: `SERIALS` — some serials carried by the
  first transfer were carried by every transfer on the path and came back
  (the units themselves went round); `QUANTITY` — different serials, but
  every transfer carried the first one's quantity within `quantity_tolerance`
  (a relative tolerance, exact by default): the same amount went round.
  A path that has neither is not a cycle; both conditions only weaken as a
  path grows, so the search stops following it at once.

Each cycle is reported once, by its first transfer. Searching is bounded: at
most `steps_per_start_max` transfers examined from any first transfer; a
search cut short is counted in the report, never silently dropped.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple

from registry.clock import format_time
from registry.serial_ranges import RangeSet
from registry.units import UnitBlock

WINDOW_DEFAULT = timedelta(hours=72)  # reference D4: "within T hours"; T is ours [U]
HOPS_MAX_DEFAULT = 6
HOPS_MAX_LIMIT = 12
STEPS_PER_START_MAX = 20_000  # transfers examined from one first transfer
ALERTS_MAX = 100_000

SerialSpace = tuple[str, str, int]  # (origin, unit type, vintage), as UnitBlock.serial_key
Serials = dict[SerialSpace, list[tuple[int, int]]]  # sorted, disjoint inclusive ranges


class AccountRef(NamedTuple):
    """An account named across registries: (registry code, account id).

    A named tuple, not a dataclass: the search hashes accounts millions of times.
    """

    registry: str
    account: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.account}"


@dataclass(frozen=True, slots=True)
class CompletedTransfer:
    """One completed transfer of serial blocks between two accounts, at one moment."""

    transfer_id: str
    source: AccountRef
    destination: AccountRef
    at: datetime
    blocks: tuple[UnitBlock, ...]

    def __post_init__(self) -> None:
        assert self.source != self.destination, f"{self.transfer_id} goes nowhere"
        assert self.blocks, f"{self.transfer_id} carries no blocks"

    @property
    def quantity_t(self) -> int:
        return sum(block.quantity for block in self.blocks)


class CycleEvidence(StrEnum):
    """Why a cycle is flagged, strongest first."""

    SERIALS = "serials"  # the same serials came back
    QUANTITY = "quantity"  # the same quantity went round, in other serials


@dataclass(frozen=True, slots=True)
class CircularTradingAlert:
    """A cycle of transfers back to the account it started from, within the window."""

    evidence: CycleEvidence
    accounts: tuple[AccountRef, ...]  # the path; the first account again at the end
    transfer_ids: tuple[str, ...]
    quantity_t: int  # serials that came back (SERIALS), else the least quantity on the path
    first_at: datetime
    last_at: datetime
    window: timedelta

    def __post_init__(self) -> None:
        assert len(self.accounts) == len(self.transfer_ids) + 1 >= 3, self
        assert self.accounts[0] == self.accounts[-1], self
        assert self.first_at <= self.last_at <= self.first_at + self.window, self
        assert self.quantity_t > 0, self

    @property
    def hops(self) -> int:
        return len(self.transfer_ids)

    def route(self) -> str:
        return " → ".join(str(account) for account in self.accounts)

    def to_data(self) -> dict[str, Any]:
        return {
            "evidence": self.evidence.value,
            "accounts": [str(account) for account in self.accounts],
            "transfer_ids": list(self.transfer_ids),
            "quantity_t": self.quantity_t,
            "first_at": format_time(self.first_at),
            "last_at": format_time(self.last_at),
            "window_hours": self.window // timedelta(hours=1),
        }


@dataclass(frozen=True, slots=True)
class CircularTradingReport:
    """The alerts found, and how many searches were cut short by a limit."""

    alerts: tuple[CircularTradingAlert, ...]
    transfers_examined: int
    searches_cut: int  # first transfers whose search reached `steps_per_start_max`
    alerts_cut: bool  # `alerts_max` was reached; later cycles were not looked for


@dataclass(frozen=True, slots=True)
class CycleRules:
    """What a cycle is (module docstring): window, length, quantity tolerance, limits."""

    window: timedelta = WINDOW_DEFAULT
    hops_max: int = HOPS_MAX_DEFAULT
    quantity_tolerance: Fraction = Fraction(0)
    steps_per_start_max: int = STEPS_PER_START_MAX
    alerts_max: int = ALERTS_MAX

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ValueError(f"the window must be positive, was {self.window}")
        if not 2 <= self.hops_max <= HOPS_MAX_LIMIT:
            raise ValueError(f"hops_max must be 2-{HOPS_MAX_LIMIT}, was {self.hops_max}")
        if not 0 <= self.quantity_tolerance < 1:
            raise ValueError(f"quantity tolerance must be in [0, 1), was {self.quantity_tolerance}")
        if self.steps_per_start_max < 1 or self.alerts_max < 1:
            raise ValueError("search limits must be positive")


@dataclass(slots=True)
class _Search:
    """One search from a first transfer: the path so far and what it still shares."""

    first: CompletedTransfer
    deadline: datetime
    quantity_low_t: int
    quantity_high_t: int
    quantities_t: Sequence[int]  # of every transfer, by position
    steps_left: int
    cut: bool = False  # a transfer went unexamined for want of steps
    path: list[int] = field(default_factory=list)  # positions in time order
    visited: set[AccountRef] = field(default_factory=set)


def find_circular_trading(
    transfers: Iterable[CompletedTransfer],
    rules: CycleRules = CycleRules(),
    intermediaries: frozenset[AccountRef] = frozenset(),
) -> CircularTradingReport:
    """Return every cycle of `transfers` within `rules`' window (module docstring)."""
    ordered = sorted(enumerate(transfers), key=lambda item: (item[1].at, item[0]))
    edges = [transfer for _, transfer in ordered]
    leaving = _index_by_source(edges)
    quantities_t = [edge.quantity_t for edge in edges]
    alerts: list[CircularTradingAlert] = []
    searches_cut = 0
    for position, first in enumerate(edges):
        if first.source in intermediaries:
            continue
        low_t, high_t = _quantity_band(quantities_t[position], rules.quantity_tolerance)
        search = _Search(
            first,
            first.at + rules.window,
            low_t,
            high_t,
            quantities_t,
            steps_left=rules.steps_per_start_max,
            path=[position],
            visited={first.source, first.destination} - intermediaries,
        )
        serials = _serials_of(first.blocks)
        _extend(search, edges, leaving, serials, True, rules, intermediaries, alerts)
        searches_cut += search.cut
        if len(alerts) >= rules.alerts_max:
            alerts_kept = tuple(alerts[: rules.alerts_max])
            return CircularTradingReport(alerts_kept, len(edges), searches_cut, True)
    return CircularTradingReport(tuple(alerts), len(edges), searches_cut, False)


def _extend(
    search: _Search,
    edges: Sequence[CompletedTransfer],
    leaving: dict[AccountRef, list[int]],
    serials: Serials,
    quantity_kept: bool,
    rules: CycleRules,
    intermediaries: frozenset[AccountRef],
    alerts: list[CircularTradingAlert],
) -> None:
    """Follow every transfer out of the path's end; report those that close it.

    `serials`: the first transfer's serials every step so far carried; `quantity_kept`:
    whether every step so far carried the first one's quantity. A path goes on while
    either holds: each only weakens as it grows.
    """
    last = search.path[-1]
    here = edges[last].destination
    out = leaving.get(here, [])
    for position in out[bisect.bisect_right(out, last) :]:
        step = edges[position]
        if step.at > search.deadline:
            return
        if search.steps_left == 0:
            search.cut = True
            return
        search.steps_left -= 1
        shared = _intersect(serials, step.blocks) if serials else {}
        quantity_t = search.quantities_t[position]
        same_quantity = (
            quantity_kept and search.quantity_low_t <= quantity_t <= search.quantity_high_t
        )
        if not shared and not same_quantity:
            continue
        if step.destination == search.first.source:
            if len(search.visited) < 2:
                continue  # out to custody and back: no other trader took part
            search.path.append(position)
            alerts.append(_alert(search, edges, shared, rules.window))
            search.path.pop()
            continue
        if step.destination in search.visited or len(search.path) + 1 >= rules.hops_max:
            continue
        search.path.append(position)
        added = step.destination not in intermediaries
        if added:
            search.visited.add(step.destination)
        _extend(search, edges, leaving, shared, same_quantity, rules, intermediaries, alerts)
        if added:
            search.visited.discard(step.destination)
        search.path.pop()


def _alert(
    search: _Search, edges: Sequence[CompletedTransfer], shared: Serials, window: timedelta
) -> CircularTradingAlert:
    steps = [edges[position] for position in search.path]
    if shared:
        evidence = CycleEvidence.SERIALS
        quantity_t = sum(high - low + 1 for ranges in shared.values() for low, high in ranges)
    else:
        evidence = CycleEvidence.QUANTITY
        quantity_t = min(step.quantity_t for step in steps)
    return CircularTradingAlert(
        evidence,
        (steps[0].source, *(step.destination for step in steps)),
        tuple(step.transfer_id for step in steps),
        quantity_t,
        steps[0].at,
        steps[-1].at,
        window,
    )


def _index_by_source(edges: Sequence[CompletedTransfer]) -> dict[AccountRef, list[int]]:
    """Return, per account, the positions of transfers leaving it, ascending."""
    leaving: dict[AccountRef, list[int]] = {}
    for position, edge in enumerate(edges):
        leaving.setdefault(edge.source, []).append(position)
    return leaving


def _quantity_band(quantity_t: int, tolerance: Fraction) -> tuple[int, int]:
    """Return the least and greatest quantity within `tolerance` of `quantity_t`."""
    if not tolerance:
        return quantity_t, quantity_t
    slack_t = quantity_t * tolerance
    return math.ceil(quantity_t - slack_t), math.floor(quantity_t + slack_t)


def _serials_of(blocks: Sequence[UnitBlock]) -> Serials:
    if len(blocks) == 1:
        (block,) = blocks
        return {block.serial_key: [(block.start, block.end)]}
    ranges: dict[SerialSpace, RangeSet] = {}
    for block in blocks:
        ranges.setdefault(block.serial_key, RangeSet()).add(block.start, block.end)
    return {space: list(found) for space, found in ranges.items()}


def _intersect(serials: Serials, blocks: Iterable[UnitBlock]) -> Serials:
    """Return the serials of `serials` that `blocks` also carry."""
    shared: Serials = {}
    for block in blocks:
        ranges = serials.get(block.serial_key)
        if not ranges:
            continue
        index = bisect.bisect_left(ranges, (block.start, block.start)) - 1
        for low, high in ranges[max(index, 0) :]:
            if low > block.end:
                break
            if high >= block.start:
                shared.setdefault(block.serial_key, []).append(
                    (max(low, block.start), min(high, block.end))
                )
    for ranges in shared.values():
        ranges.sort()
    return shared
