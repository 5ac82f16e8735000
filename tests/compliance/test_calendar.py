"""The compliance calendar: deadlines fire once, in order, however the clock moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from compliance.calendar import Calendar, DeadlineKind, DeadlineRule, DeadlineSchedule, Phase

KOREA = Calendar(
    first_year=2015,
    period_years=1,
    rules=(
        DeadlineRule(DeadlineKind.REPORT_DUE, 1, 3, 31),
        DeadlineRule(DeadlineKind.SURRENDER_DUE, 1, 6, 30),
    ),
    phases=(Phase("1", 2015, 2017), Phase("2", 2018, 2020), Phase("3", 2021, 2025)),
)
CALIFORNIA = Calendar(
    first_year=2013,
    period_years=1,
    rules=(DeadlineRule(DeadlineKind.SURRENDER_DUE, 1, 11, 1, 17, 0, "America/Los_Angeles"),),
)
TOKYO = Calendar(
    first_year=2010,
    period_years=5,
    # Fulfilment for FY2010-14 was due at the end of September 2016 (TMG).
    rules=(DeadlineRule(DeadlineKind.SURRENDER_DUE, 2, 9, 30),),
)


def test_korea_surrender_for_2015_is_due_30_june_2016_icap_news_263() -> None:
    deadline = KOREA.deadline(DeadlineKind.SURRENDER_DUE, 2015)
    assert deadline is not None
    assert deadline.due == datetime(2016, 6, 30, tzinfo=UTC)


def test_california_annual_surrender_1_november_5pm_pacific_is_midnight_utc_17_ccr_95856() -> None:
    deadline = CALIFORNIA.deadline(DeadlineKind.SURRENDER_DUE, 2022)
    assert deadline is not None
    # 1 Nov is still daylight time (PDT, UTC-7): 17:00 PDT is 00:00 UTC on 2 Nov.
    assert deadline.due == datetime(2023, 11, 2, 0, 0, tzinfo=UTC)


def test_tokyo_periods_are_five_years_and_fulfilment_falls_after_the_period_tmg() -> None:
    assert TOKYO.period_of(2014) == 2010
    assert TOKYO.period_of(2015) == 2015
    deadline = TOKYO.deadline(DeadlineKind.SURRENDER_DUE, 2010)
    assert deadline is not None
    assert deadline.due == datetime(2016, 9, 30, tzinfo=UTC)


def test_phases_are_found_by_year() -> None:
    phase = KOREA.phase_of(2019)
    assert phase is not None and phase.name == "2"
    assert KOREA.phase_of(2030) is None


def test_a_jump_over_several_years_fires_every_deadline_once_in_order() -> None:
    schedule = DeadlineSchedule(KOREA)
    fired = schedule.due(datetime(2019, 1, 1, tzinfo=UTC))
    assert [(d.kind, d.period) for d in fired] == [
        (DeadlineKind.REPORT_DUE, 2015),
        (DeadlineKind.SURRENDER_DUE, 2015),
        (DeadlineKind.REPORT_DUE, 2016),
        (DeadlineKind.SURRENDER_DUE, 2016),
        (DeadlineKind.REPORT_DUE, 2017),
        (DeadlineKind.SURRENDER_DUE, 2017),
    ]
    assert schedule.due(datetime(2019, 1, 1, tzinfo=UTC)) == []


@given(st.lists(st.integers(min_value=1, max_value=24 * 400), min_size=1, max_size=40))
def test_deadlines_fire_once_and_in_order_whatever_the_clock_steps(steps_h: list[int]) -> None:
    schedule = DeadlineSchedule(KOREA)
    now = datetime(2015, 1, 1, tzinfo=UTC)
    fired = []
    for step in steps_h:
        now += timedelta(hours=step)
        batch = schedule.due(now)
        assert all(deadline.due <= now for deadline in batch)
        fired.extend(batch)
    assert fired == sorted(fired)
    expected = [d for d in KOREA.deadlines(now.year) if d.due <= now]
    assert fired == expected
