"""Business days: weekdays less a jurisdiction's public holidays, and the sessions on them.

Holidays come from the `holidays` library: TARGET2's closing days for the EU (ECB:
New Year, Good Friday, Easter Monday, 1 May, 25 and 26 December), California's state
holidays, Korea's. The WCI holds joint auctions in February, May, August and November
(CARB auction notices).
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.business_days import (
    TradingCalendar,
    auction_sessions,
    auction_sessions_max,
    business_days,
    holiday_calendar_error,
    is_business_day,
    public_holidays,
    session_days,
)
from compliance.presets import list_presets, load_preset

CALENDARS = sorted({load_preset(key).trading.holidays for key in list_presets()} | {""})
WCI = TradingCalendar("US-CA", (2, 5, 8, 11), 1)


def test_good_friday_2020_is_no_business_day_on_target2_but_is_in_korea() -> None:
    good_friday = date(2020, 4, 10)
    assert not is_business_day("ECB", good_friday)
    assert is_business_day("KR", good_friday)


def test_weekends_are_never_business_days_even_without_holidays() -> None:
    assert not is_business_day("", date(2020, 1, 19))  # a Sunday
    assert not is_business_day("", date(2018, 5, 12))  # a Saturday
    assert is_business_day("", date(2020, 1, 20))


def test_a_day_is_a_joint_business_day_only_if_it_is_one_in_every_calendar() -> None:
    # 15 January 2018: Martin Luther King Jr. Day in California, a working day in Québec.
    days = business_days(["US-CA", "CA-QC"], date(2018, 1, 15), date(2018, 1, 16))
    assert days == [date(2018, 1, 16)]


def test_every_shipped_preset_names_a_holiday_calendar_the_library_keeps() -> None:
    for key in list_presets():
        code = load_preset(key).trading.holidays
        assert code and holiday_calendar_error(code) is None, (key, code)


@pytest.mark.parametrize(
    ("code", "problem"),
    [("XX", "no country or financial calendar 'XX'"), ("US-ZZ", "no subdivision 'ZZ' of US")],
)
def test_an_unknown_holiday_calendar_is_named_in_the_error(code: str, problem: str) -> None:
    error = holiday_calendar_error(code)
    assert error is not None and problem in error


@given(
    year=st.integers(2005, 2035),
    code=st.sampled_from(CALENDARS),
    asked=st.integers(1, 366),
    start_day=st.integers(0, 364),
)
def test_sessions_are_increasing_business_days_and_as_many_as_asked_or_there_are(
    year: int, code: str, asked: int, start_day: int
) -> None:
    first = date.fromordinal(date(year, 1, 1).toordinal() + start_day)
    available = business_days([code], first, date(year, 12, 31))
    chosen = session_days(available, asked)
    assert all(is_business_day(code, day) for day in chosen)
    assert all(day.weekday() < 5 and day not in public_holidays(code, year) for day in chosen)
    assert all(a < b for a, b in pairwise(chosen))
    assert len(chosen) == min(asked, len(available))


def test_wci_auctions_fall_on_mid_month_sessions_of_february_may_august_november() -> None:
    sessions = session_days(business_days(["US-CA"], date(2018, 1, 1), date(2018, 12, 31)), 50)
    numbers = auction_sessions(WCI, sessions, 4)
    days = sorted(sessions[number - 1] for number in numbers)
    assert [day.month for day in days] == [2, 5, 8, 11]
    assert date(2018, 5, 12) not in days  # a Saturday, where evenly spaced days put it
    assert all(is_business_day("US-CA", day) for day in days)


def test_a_calendar_without_auction_months_spreads_the_auctions_over_the_year() -> None:
    sessions = [date(2020, 1, 1 + k) for k in range(12)]
    assert auction_sessions(TradingCalendar(), sessions, 4) == {2, 5, 8, 11}
    assert auction_sessions(TradingCalendar(), sessions[:2], 4) == {1, 2}  # never more


def test_an_auction_month_offers_at_most_its_auctions_per_month() -> None:
    sessions = [date(2020, 3, day) for day in (2, 3, 4, 5, 6, 9, 10)]
    monthly = TradingCalendar("", (3,), 1)
    assert auction_sessions(monthly, sessions, 12) == {4}  # one, mid-month
    assert auction_sessions(TradingCalendar("", (4,), 1), sessions, 12) == set()


def test_the_eu_calendar_offers_up_to_144_auctions_a_year_and_never_more_than_its_sessions() -> (
    None
):
    """EU preset [trading]: every month, at most 12 auctions each (the common platform
    auctions on Mondays, Tuesdays and Thursdays, EEX [P]): 144 a year; the WCI's four."""
    eu = load_preset("eu").trading
    assert auction_sessions_max(eu, 250) == 144
    assert auction_sessions_max(eu, 50) == 50  # never more than the year's sessions
    assert auction_sessions_max(WCI, 250) == 4
    assert auction_sessions_max(TradingCalendar(), 20) == 20  # no calendar: every session
    sessions = session_days(business_days(["ECB"], date(2021, 1, 1), date(2021, 12, 31)), 250)
    assert len(auction_sessions(eu, sessions, 144)) == 144
