"""A run's timeline: the events a scenario's calendar puts on the kernel, when and in what order.

- **Years.** A year opens at 00:00 UTC on 1 January (the scenario's start in its first
  year) and closes at 00:00 UTC on 1 January of the next.
- **Sessions.** A year's sessions fall on its business days from the scenario's start on:
  days that are business days in every registry of the scenario (weekdays less each
  one's public holidays, `compliance.business_days`), so each venue trades only on its
  own business days. Of the D such days, session k of the n the scenario asks for
  (`trading_days_per_year`) falls on day floor(k × D / n), all D of them if n ≥ D; a run
  cut short keeps the first sessions. `calendar.business_days = false` spreads them over
  calendar days instead. Each session opens at `SESSION_HOUR` UTC and closes at
  `CLOSE_HOUR` the same day: day orders still resting are cancelled. Settlement runs at
  each midnight.
- **Auctions** fall on the morning of the sessions their government schedules by its
  regime's auction calendar (`Government.auction_days`), before the session trades.
- **Month ends.** After the last session of each month the month's prices go to the price
  controls.
- **Links.** A link that is not merely proposed opens at its effective date and closes at
  its end date, when those fall inside the run.
- **Programme exits.** A registry's `[[exits]]` day inside the run, at 00:00 UTC: after
  the links' events and the close of the year before, before the year it would open.
- **Deadlines.** Every compliance deadline of every registry's periods that falls inside
  the run is an event; its handler lets the books settle what is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from compliance import business_days
from compliance.calendar import DeadlineKind
from etslink.scenario import Scenario
from etslink.sim.kernel import (
    AuctionsDue,
    DeadlineDue,
    Event,
    LinkClosed,
    LinkOpened,
    MonthEnded,
    Phase,
    ProgrammeExited,
    SessionClosed,
    SessionOpened,
    YearClosed,
    YearOpened,
)
from gateway.links import LinkState

SESSION_HOUR = 10  # the session opens at 10:00 UTC
CLOSE_HOUR = 16  # and closes at 16:00 UTC; settlement at the next midnight
Entry = tuple[datetime, Phase, Event]


def year_sessions(scenario: Scenario, year: int) -> list[date]:
    """Return the days of the year's sessions, from the scenario's start on (see above)."""
    calendar = scenario.calendar
    opening = max(date(year, 1, 1), calendar.start)
    last = date(year, 12, 31)
    if calendar.business_days:
        codes = [item.regime.trading.holidays for item in scenario.registries]
        days = business_days.business_days(codes, opening, last)
    else:
        days = [opening + timedelta(days=k) for k in range((last - opening).days + 1)]
    return business_days.session_days(days, calendar.trading_days_per_year)


def year_entries(
    scenario: Scenario,
    year: int,
    index: int,
    sessions: Sequence[date],
    rounds_before: int,
    auction_days: Mapping[str, set[int]],
) -> list[Entry]:
    """Return a year's events: open, sessions with their auctions, month ends, close.

    `sessions` are the days the run trades in the year; round numbers run on from the
    `rounds_before` sessions of the earlier years.
    """
    start = max(date(year, 1, 1), scenario.calendar.start)
    entries: list[Entry] = [
        (datetime.combine(start, time(0), tzinfo=UTC), Phase.YEAR_OPEN, YearOpened(year, index))
    ]
    moments = [datetime.combine(day, time(SESSION_HOUR), tzinfo=UTC) for day in sessions]
    for number, moment in enumerate(moments, start=1):
        round_number = rounds_before + number
        due = tuple(sorted(code for code, numbers in auction_days.items() if number in numbers))
        if due:
            entries.append((moment, Phase.AUCTION, AuctionsDue(year, number, due)))
        entries.append((moment, Phase.SESSION, SessionOpened(year, number, round_number)))
        closing = moment.replace(hour=CLOSE_HOUR)
        entries.append((closing, Phase.SESSION_CLOSE, SessionClosed(year, number, round_number)))
        last_of_month = number == len(moments) or moments[number].month != moment.month
        if last_of_month:
            entries.append((closing, Phase.MONTH_END, MonthEnded(year, moment.month)))
    close = datetime(year + 1, 1, 1, tzinfo=UTC)
    entries.append((close, Phase.YEAR_CLOSE, YearClosed(year, index)))
    return entries


def link_entries(scenario: Scenario, start: datetime, end: datetime) -> list[Entry]:
    """Return each link's opening and closing inside [start, end]."""
    entries: list[Entry] = []
    for link in sorted(scenario.links, key=lambda item: item.link_id):
        if link.state is LinkState.PROPOSED:
            continue
        opens = max(link.effective_from, start)
        if opens <= end and (link.effective_to is None or link.effective_to > opens):
            entries.append((opens, Phase.LINK, LinkOpened(link.link_id)))
        if link.effective_to is not None and start <= link.effective_to <= end:
            entries.append((link.effective_to, Phase.LINK, LinkClosed(link.link_id)))
    return entries


def exit_entries(scenario: Scenario, start: datetime, end: datetime) -> list[Entry]:
    """Return each programme exit inside [start, end], at 00:00 UTC of its day."""
    entries: list[Entry] = []
    for item in sorted(scenario.exits, key=lambda exit_: exit_.registry):
        moment = datetime.combine(item.day, time(0), tzinfo=UTC)
        if start <= moment <= end:
            entries.append((moment, Phase.EXIT, ProgrammeExited(item.registry)))
    return entries


def deadline_entries(scenario: Scenario, start: datetime, end: datetime) -> list[Entry]:
    """Return every registry's compliance deadlines that fall inside [start, end]."""
    entries: list[Entry] = []
    for item in scenario.registries:
        calendar = item.regime.calendar
        for deadline in calendar.deadlines(end.year):
            if start <= deadline.due <= end:
                event = DeadlineDue(item.code, DeadlineKind(deadline.kind).name, deadline.period)
                entries.append((deadline.due, Phase.DEADLINE, event))
    return entries


def all_entries(parts: Iterable[list[Entry]]) -> list[Entry]:
    return [entry for part in parts for entry in part]


__all__ = [
    "CLOSE_HOUR",
    "SESSION_HOUR",
    "deadline_entries",
    "exit_entries",
    "link_entries",
    "year_entries",
    "year_sessions",
]
