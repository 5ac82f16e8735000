"""The simulation kernel: simulated time and one timeline of typed events (ABIDES-style).

The kernel owns the order of everything that happens in a run. Events are frozen values
on one priority queue keyed by (moment, phase, sequence): two events at the same moment
run in the order of their phase (a year opens before its first session, an auction before
the session's trading, a session closes before its month ends), and events of the same
phase in the order they were scheduled — never in an order Python happens to pick.
Before an event is dispatched the kernel moves the world's time to its moment
(`advance`: settlement cycles, the gateway's windows and time-outs, reconciliation run on
the way), then hands the event to every handler registered for its type, in registration
order. Handlers may schedule further events; nothing else moves time.

Randomness lives with the agents: each one draws from its own stream
(`agent_random(seed, agent_id)`), so adding or removing an agent leaves every other
agent's draws unchanged. The order agents act in within a session (`acting_order`) is
derived from (seed, session, agent id) alone, for the same reason.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any, TypeVar

EVENTS_MAX = 10_000_000  # events one run may dispatch: a bound, not a target


class Phase(IntEnum):
    """The order of events that fall at the same moment."""

    LINK = 10  # a link opens or closes
    DEADLINE = 20  # a compliance deadline falls due
    YEAR_CLOSE = 30  # the year's reports, verifications and surrenders
    EXIT = 35  # a programme ends: after the year it closes, before the year it would open
    YEAR_OPEN = 40  # allocation, the government's volume, the firms' new year
    AUCTION = 50  # scheduled auctions and reserve releases before the session trades
    SESSION = 60  # the session: participants, firms, dealers, traders
    SESSION_CLOSE = 70  # day orders cancelled, the day's prices recorded
    MONTH_END = 80  # the month's prices go to the price controls


@dataclass(frozen=True, slots=True)
class YearOpened:
    year: int
    index: int  # 0 for the run's first year


@dataclass(frozen=True, slots=True)
class SessionOpened:
    year: int
    number: int  # 1-based within the year
    round: int  # 1-based across the run (a classroom round)


@dataclass(frozen=True, slots=True)
class AuctionsDue:
    year: int
    number: int  # the session whose morning they precede
    registries: tuple[str, ...]  # whose scheduled auction falls on this session


@dataclass(frozen=True, slots=True)
class SessionClosed:
    year: int
    number: int
    round: int


@dataclass(frozen=True, slots=True)
class MonthEnded:
    year: int
    month: int


@dataclass(frozen=True, slots=True)
class YearClosed:
    year: int
    index: int


@dataclass(frozen=True, slots=True)
class DeadlineDue:
    registry: str
    kind: str  # the compliance calendar's deadline kind
    period: int


@dataclass(frozen=True, slots=True)
class LinkOpened:
    link_id: str


@dataclass(frozen=True, slots=True)
class LinkClosed:
    link_id: str


@dataclass(frozen=True, slots=True)
class ProgrammeExited:
    registry: str  # whose programme ends (the scenario's `[[exits]]`)


Event = (
    YearOpened
    | SessionOpened
    | AuctionsDue
    | SessionClosed
    | MonthEnded
    | YearClosed
    | DeadlineDue
    | LinkOpened
    | LinkClosed
    | ProgrammeExited
)
E = TypeVar("E")
Handler = Callable[[Any, datetime], None]


class Kernel:
    """Simulated time and the timeline: schedule events, run them in order, dispatch them."""

    def __init__(self, now: datetime, advance: Callable[[datetime], object]) -> None:
        """Start at `now`; `advance(moment)` moves the world's time (settling on the way)."""
        self._now = now
        self._advance = advance
        self._queue: list[tuple[datetime, int, int, Event]] = []
        self._sequence = 0
        self._handlers: dict[type, list[Handler]] = {}
        self.dispatched = 0

    @property
    def now(self) -> datetime:
        return self._now

    def subscribe(self, kind: type[E], handler: Callable[[E, datetime], None]) -> None:
        """Call `handler(event, moment)` for every event of type `kind`, in subscription order."""
        self._handlers.setdefault(kind, []).append(handler)

    def schedule(self, moment: datetime, phase: Phase, event: Event) -> None:
        """Put `event` on the timeline; it may not lie in the past."""
        if moment < self._now:
            raise ValueError(
                f"cannot schedule {type(event).__name__} at {moment.isoformat()}: "
                f"the kernel's time is already {self._now.isoformat()}"
            )
        self._sequence += 1
        heapq.heappush(self._queue, (moment, int(phase), self._sequence, event))

    def schedule_all(self, entries: Iterable[tuple[datetime, Phase, Event]]) -> None:
        for moment, phase, event in entries:
            self.schedule(moment, phase, event)

    def pending(self) -> int:
        return len(self._queue)

    def run(self, until: datetime | None = None) -> None:
        """Dispatch events in order, up to and including `until` (all of them when None)."""
        while self._queue and (until is None or self._queue[0][0] <= until):
            moment, _, _, event = heapq.heappop(self._queue)
            self.dispatched += 1
            assert self.dispatched <= EVENTS_MAX, "a run dispatched more events than it may"
            if moment > self._now:
                self._advance(moment)
                self._now = moment
            for handler in self._handlers.get(type(event), ()):
                handler(event, moment)


def agent_random(seed: int, agent_id: str) -> random.Random:
    """Return the agent's own random stream, derived from (scenario seed, agent id) alone.

    A string seed is hashed (SHA-512) by `random.seed`: stable across runs and machines.
    """
    return random.Random(f"{seed}:agent:{agent_id}")


def acting_order(seed: int, session: int, agent_ids: Iterable[str]) -> list[str]:
    """Return the agents in the order they act in `session`: a keyed shuffle.

    Each agent's place comes from a hash of (seed, session, its id), so it does not depend
    on which other agents exist.
    """

    def key(agent_id: str) -> bytes:
        return hashlib.blake2b(f"{seed}:{session}:{agent_id}".encode(), digest_size=8).digest()

    return sorted(agent_ids, key=key)


__all__ = [
    "AuctionsDue",
    "DeadlineDue",
    "Event",
    "Kernel",
    "LinkClosed",
    "LinkOpened",
    "MonthEnded",
    "Phase",
    "ProgrammeExited",
    "SessionClosed",
    "SessionOpened",
    "YearClosed",
    "YearOpened",
    "acting_order",
    "agent_random",
]
