"""The simulation kernel: one timeline, ordered by moment, phase and scheduling order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etslink.sim.kernel import (
    Kernel,
    MonthEnded,
    Phase,
    SessionClosed,
    SessionOpened,
    YearOpened,
    acting_order,
    agent_random,
)

START = datetime(2020, 1, 1, tzinfo=UTC)


def _kernel() -> tuple[Kernel, list[datetime], list[object]]:
    moved: list[datetime] = []
    seen: list[object] = []
    kernel = Kernel(START, moved.append)
    for kind in (YearOpened, SessionOpened, SessionClosed, MonthEnded):
        kernel.subscribe(kind, lambda event, moment: seen.append(event))
    return kernel, moved, seen


def test_events_run_by_moment_then_phase_then_the_order_they_were_scheduled() -> None:
    kernel, moved, seen = _kernel()
    day = START + timedelta(days=1)
    kernel.schedule(day, Phase.MONTH_END, MonthEnded(2020, 1))
    kernel.schedule(day, Phase.SESSION, SessionOpened(2020, 1, 1))
    kernel.schedule(day, Phase.SESSION, SessionOpened(2020, 2, 2))
    kernel.schedule(START, Phase.YEAR_OPEN, YearOpened(2020, 0))
    kernel.schedule(day, Phase.SESSION_CLOSE, SessionClosed(2020, 1, 1))
    kernel.run()
    assert seen == [
        YearOpened(2020, 0),
        SessionOpened(2020, 1, 1),
        SessionOpened(2020, 2, 2),
        SessionClosed(2020, 1, 1),
        MonthEnded(2020, 1),
    ]
    assert moved == [day]  # time moved once, to the day; the start is where it stood


def test_nothing_may_be_scheduled_before_the_kernels_time() -> None:
    kernel, _, _ = _kernel()
    kernel.schedule(START + timedelta(days=2), Phase.SESSION, SessionOpened(2020, 1, 1))
    kernel.run()
    with pytest.raises(ValueError, match="already"):
        kernel.schedule(START + timedelta(days=1), Phase.SESSION, SessionOpened(2020, 2, 2))


def test_a_handler_may_schedule_what_follows_and_run_stops_at_until() -> None:
    kernel, _, seen = _kernel()

    def next_session(event: SessionOpened, moment: datetime) -> None:
        if event.number < 3:
            later = moment + timedelta(days=7)
            kernel.schedule(later, Phase.SESSION, SessionOpened(2020, event.number + 1, 0))

    kernel.subscribe(SessionOpened, next_session)
    kernel.schedule(START, Phase.SESSION, SessionOpened(2020, 1, 0))
    kernel.run(until=START + timedelta(days=7))
    assert [e.number for e in seen if isinstance(e, SessionOpened)] == [1, 2]
    kernel.run()
    assert [e.number for e in seen if isinstance(e, SessionOpened)] == [1, 2, 3]


def test_an_agents_draws_do_not_depend_on_which_other_agents_exist() -> None:
    alone = [agent_random(7, "firm-1").random() for _ in range(3)]
    _ = [agent_random(7, name).random() for name in ("zi-1", "zi-2", "dealer-1")]
    assert [agent_random(7, "firm-1").random() for _ in range(3)] == alone
    assert agent_random(8, "firm-1").random() != alone[0]


@given(st.sets(st.text("abcdef-123", min_size=1, max_size=8), min_size=2, max_size=20))
def test_adding_an_agent_leaves_the_others_acting_order_unchanged(names: set[str]) -> None:
    everyone = sorted(names)
    newcomer, others = everyone[0], everyone[1:]
    with_newcomer = acting_order(3, 11, everyone)
    without = acting_order(3, 11, others)
    assert [name for name in with_newcomer if name != newcomer] == without
    assert sorted(with_newcomer) == everyone
