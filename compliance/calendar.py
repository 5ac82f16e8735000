"""The compliance calendar: periods, phases and the deadlines that fire as simulated time passes.

Deadlines are rules relative to a compliance period ("30 June of the year
after the period", "1 November, 5 p.m. Pacific"); `DeadlineSchedule` turns
them into moments and hands each one out exactly once, in a defined order,
however far the clock jumps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

PERIODS_MAX = 200  # A schedule never looks further than this many periods ahead.


class DeadlineKind(IntEnum):
    """What falls due. The value orders deadlines that fall at the same moment."""

    ALLOCATION = 1
    REPORT_DUE = 2
    VERIFICATION_DUE = 3
    SURRENDER_DUE = 4
    BANKING_WINDOW_END = 5


@dataclass(frozen=True, slots=True)
class Phase:
    """A trading phase, e.g. Korea's phase 2 (2018-20): rules may change between phases."""

    name: str
    first_year: int
    last_year: int

    def __post_init__(self) -> None:
        if self.last_year < self.first_year:
            raise ValueError(
                f"phase {self.name}: last year {self.last_year} before {self.first_year}"
            )

    def contains(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """A deadline as a date relative to the last year of each compliance period.

    `years_after` 0 is that year, 1 the year after. The wall time is local to
    `timezone` (IANA name), so "1 November 5 p.m. Pacific" is exact in UTC.
    The rule applies to the periods starting `first_period`..`last_period`,
    because deadlines move: the EU's surrender moved from 30 April to 30
    September from the 2023 emissions on (Dir. 2023/959).
    """

    kind: DeadlineKind
    years_after: int
    month: int
    day: int
    hour: int = 0
    minute: int = 0
    timezone: str = "UTC"
    first_period: int = 0
    last_period: int = 9999

    def applies(self, period: int) -> bool:
        return self.first_period <= period <= self.last_period

    def moment(self, period_last_year: int) -> datetime:
        local = datetime(
            period_last_year + self.years_after,
            self.month,
            self.day,
            self.hour,
            self.minute,
            tzinfo=ZoneInfo(self.timezone),
        )
        return local.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class Deadline:
    """One deadline of one period. Sorting gives the order they fire in."""

    due: datetime
    kind: DeadlineKind
    period: int


@dataclass(frozen=True, slots=True)
class Calendar:
    """Compliance periods of `period_years` starting at `first_year`, and their deadlines."""

    first_year: int
    period_years: int
    rules: tuple[DeadlineRule, ...]
    phases: tuple[Phase, ...] = ()
    last_year: int | None = None

    def __post_init__(self) -> None:
        if self.period_years < 1:
            raise ValueError(
                f"a compliance period lasts at least one year, not {self.period_years}"
            )
        for kind in DeadlineKind:
            ranges = sorted(
                (rule.first_period, rule.last_period) for rule in self.rules if rule.kind is kind
            )
            for (_, earlier_last), (later_first, _) in pairwise(ranges):
                if later_first <= earlier_last:
                    raise ValueError(f"two {kind.name} rules apply to period {later_first}")

    def period_of(self, year: int) -> int:
        """Return the first year of the compliance period `year` belongs to."""
        if year < self.first_year:
            raise ValueError(f"{year} is before the system starts ({self.first_year})")
        return self.first_year + (year - self.first_year) // self.period_years * self.period_years

    def period_last_year(self, period: int) -> int:
        return period + self.period_years - 1

    def periods(self, through_year: int) -> list[int]:
        last = through_year if self.last_year is None else min(through_year, self.last_year)
        return list(range(self.first_year, last + 1, self.period_years))

    def phase_of(self, year: int) -> Phase | None:
        return next((phase for phase in self.phases if phase.contains(year)), None)

    def deadline(self, kind: DeadlineKind, period: int) -> Deadline | None:
        rule = next(
            (rule for rule in self.rules if rule.kind is kind and rule.applies(period)), None
        )
        if rule is None:
            return None
        return Deadline(rule.moment(self.period_last_year(period)), kind, period)

    def deadlines(self, through_year: int) -> list[Deadline]:
        """Return every deadline of the periods starting up to `through_year`, in firing order."""
        found = [
            Deadline(rule.moment(self.period_last_year(period)), rule.kind, period)
            for period in self.periods(through_year)[:PERIODS_MAX]
            for rule in self.rules
            if rule.applies(period)
        ]
        return sorted(found)


class DeadlineSchedule:
    """Hands out each deadline once, in order, as the clock passes it.

    Periods before `first_period` are not this schedule's business: a book
    founded in 2023 does not settle the EU's 2005.
    """

    __slots__ = ("_calendar", "_fired", "first_period")

    def __init__(
        self,
        calendar: Calendar,
        fired: set[tuple[DeadlineKind, int]] | None = None,
        first_period: int | None = None,
    ) -> None:
        self._calendar = calendar
        self._fired: set[tuple[DeadlineKind, int]] = set(fired or ())
        self.first_period = calendar.first_year if first_period is None else first_period

    @property
    def fired(self) -> frozenset[tuple[DeadlineKind, int]]:
        return frozenset(self._fired)

    def pending(self, now: datetime) -> list[Deadline]:
        """Return the deadlines at or before `now` not fired yet, in order, marking none."""
        return [
            deadline
            for deadline in self._calendar.deadlines(now.year)
            if deadline.due <= now
            and deadline.period >= self.first_period
            and (deadline.kind, deadline.period) not in self._fired
        ]

    def mark_fired(self, deadline: Deadline) -> None:
        """Record that `deadline` has been handled; it is never handed out again."""
        key = (deadline.kind, deadline.period)
        assert key not in self._fired, f"{deadline} fired twice"
        self._fired.add(key)

    def due(self, now: datetime) -> list[Deadline]:
        """Return the deadlines at or before `now` not handed out yet, and mark them fired."""
        due = self.pending(now)
        for deadline in due:
            self.mark_fired(deadline)
        return due
