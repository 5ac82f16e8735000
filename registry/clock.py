"""Simulated time: one clock, passed in; nothing reads the wall clock for business."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta


class SimulatedClock:
    """A monotonic simulated clock in UTC. It moves only when told to."""

    __slots__ = ("_now",)

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2020, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError(f"simulated time never goes backwards (asked to move by {delta})")
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> datetime:
        moment = moment.astimezone(UTC)
        if moment < self._now:
            raise ValueError(
                f"simulated time never goes backwards ({moment} is before {self._now})"
            )
        self._now = moment
        return self._now


def format_time(moment: datetime) -> str:
    """Render a moment canonically: UTC, second resolution, ISO 8601 with 'Z'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Read `format_time`'s text back; refuse (ValueError) any other form or a bad date."""
    match = TIME_RE.fullmatch(text) if type(text) is str else None
    if match is None:
        raise ValueError(f"expected time text like 2024-03-05T10:00:00Z, was {text!r}")
    year, month, day, hour, minute, second = map(int, match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ASCII digits only: a regex \d would also take other scripts' digits.
TIME_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")


SCHEDULE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # schedules count from a midnight UTC


def boundaries(after: datetime, until: datetime, interval: timedelta, most: int) -> list[datetime]:
    """Return the moments k × `interval` from midnight UTC that fall in (after, until].

    Daily jobs (reconciliation, settlement) run at each one time passes;
    at most `most` of them, so a jump of decades stays bounded.
    """
    if interval <= timedelta(0):
        raise ValueError(f"a schedule's interval must be positive, was {interval}")
    moment = SCHEDULE_EPOCH + ((after - SCHEDULE_EPOCH) // interval + 1) * interval
    found: list[datetime] = []
    while moment <= until and len(found) < most:
        found.append(moment)
        moment += interval
    return found
