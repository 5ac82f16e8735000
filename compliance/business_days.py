"""Business days: the days a jurisdiction's exchange sessions and auctions may fall on.

A business day is a weekday (Monday to Friday) that is not a public holiday in the
jurisdiction's holiday calendar, as the maintained `holidays` library keeps it. A
calendar is named by a code (`TradingCalendar.holidays`, a preset's `[trading]`):

- a country, ISO 3166-1 alpha-2 ("KR", "JP", "CH"), or one of its subdivisions,
  "<country>-<subdivision>" ("US-CA" for California, "CA-QC" for Québec);
- a financial-market calendar the library keeps ("ECB": the TARGET2 closing days, which
  the EU's common auction platform follows);
- "" (the default): every weekday, no public holidays.

`session_days` spreads a year's sessions over its business days; `auction_sessions` puts
a regime's scheduled auctions on those sessions by its auction calendar.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

SATURDAY = 5  # date.weekday(): Monday is 0, so Saturday and Sunday are 5 and 6
AUCTIONS_PER_MONTH_MAX = 23  # at most one a business day
HOLIDAY_YEARS_CACHED_MAX = 512  # (calendar, year) pairs whose holidays stay in memory


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """A regime's trading calendar: whose public holidays it keeps, and when it auctions.

    `auction_months` are the months that hold scheduled auctions (WCI: February, May,
    August, November), `auctions_per_month` how many each of them holds at most; no
    months means no auction calendar: a scenario's auctions are spread over the year.
    """

    holidays: str = ""
    auction_months: tuple[int, ...] = ()
    auctions_per_month: int = 1

    def __post_init__(self) -> None:
        assert all(1 <= month <= 12 for month in self.auction_months), self.auction_months
        assert list(self.auction_months) == sorted(set(self.auction_months)), self.auction_months
        assert 1 <= self.auctions_per_month <= AUCTIONS_PER_MONTH_MAX, self.auctions_per_month


def holiday_calendar_error(code: str) -> str | None:
    """Return why `code` names no holiday calendar the library keeps, or None if it does."""
    if code == "" or code in holidays.list_supported_financial():
        return None
    country, _, subdivision = code.partition("-")
    subdivisions = holidays.list_supported_countries().get(country)
    if subdivisions is None:
        return f"no country or financial calendar {country!r} in the holidays library"
    if subdivision and subdivision not in subdivisions:
        return f"no subdivision {subdivision!r} of {country} in the holidays library"
    return None


@lru_cache(maxsize=HOLIDAY_YEARS_CACHED_MAX)
def public_holidays(code: str, year: int) -> frozenset[date]:
    """Return the public holidays of calendar `code` in `year` (none for "")."""
    if code == "":
        return frozenset()
    assert holiday_calendar_error(code) is None, holiday_calendar_error(code)
    if code in holidays.list_supported_financial():
        return frozenset(holidays.financial_holidays(code, years=year))
    country, _, subdivision = code.partition("-")
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def is_business_day(code: str, day: date) -> bool:
    """Return whether `day` is a weekday and no public holiday of calendar `code`."""
    return day.weekday() < SATURDAY and day not in public_holidays(code, day.year)


def business_days(codes: Iterable[str], first: date, last: date) -> list[date]:
    """Return the days in [first, last] that are business days in every calendar of `codes`."""
    wanted = sorted(set(codes))
    days = []
    day = first
    while day <= last:
        if all(is_business_day(code, day) for code in wanted):
            days.append(day)
        day += timedelta(days=1)
    return days


def session_days(days: Sequence[date], asked: int) -> list[date]:
    """Return `asked` of the business `days` spread evenly, or all of them if fewer.

    Session k of n is day floor(k × len(days) / n): the first falls on the first day and
    each later one at least a day after the one before.
    """
    assert asked >= 1, asked
    if asked >= len(days):
        return list(days)
    return [days[k * len(days) // asked] for k in range(asked)]


def _middle(items: Sequence[int], count: int) -> list[int]:
    """Return `count` of `items` (or all, if fewer), each in the middle of its share."""
    count = min(count, len(items))
    if count <= 0:
        return []
    return [items[(2 * k + 1) * len(items) // (2 * count)] for k in range(count)]


def auction_sessions_max(calendar: TradingCalendar, sessions_per_year: int) -> int:
    """Return the most scheduled auctions a year of `sessions_per_year` sessions can hold.

    A calendar with auction months offers at most `auctions_per_month` sessions in each of
    them (EU: 12 months × 12), and never more than the year's sessions; one without
    offers every session. A year whose auction months hold fewer sessions offers fewer
    (`auction_sessions` takes what there is).
    """
    assert sessions_per_year >= 0, sessions_per_year
    if not calendar.auction_months:
        return sessions_per_year
    return min(sessions_per_year, len(calendar.auction_months) * calendar.auctions_per_month)


def auction_sessions(calendar: TradingCalendar, sessions: Sequence[date], count: int) -> set[int]:
    """Return the numbers (1-based) of the `sessions` that hold the year's scheduled auctions.

    Each auction month of the calendar offers up to `auctions_per_month` of its sessions,
    in the middle of their shares of the month; of those, `count` are chosen the same way
    over the year (all of them if there are fewer). A calendar without auction months
    offers every session.
    """
    numbers = list(range(1, len(sessions) + 1))
    if calendar.auction_months:
        offered = []
        for month in calendar.auction_months:
            in_month = [n for n in numbers if sessions[n - 1].month == month]
            offered.extend(_middle(in_month, calendar.auctions_per_month))
        numbers = offered
    return set(_middle(numbers, count))


__all__ = [
    "TradingCalendar",
    "auction_sessions",
    "auction_sessions_max",
    "business_days",
    "holiday_calendar_error",
    "is_business_day",
    "public_holidays",
    "session_days",
]
