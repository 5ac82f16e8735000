"""Transfer controls a registry may switch on, and the pure rules behind them.

Real registries differ, so each control is a setting (`ControlSettings`),
journaled when it is set:

- Four-eyes approval: a transfer one authorised representative initiates
  waits (status 0) until a different representative of the same account
  approves it. Reg. (EU) 2019/1122 Art. 35(1), reference A12.
- Trusted account list (TAL): a transfer to a payee not on the list, or
  added to it too recently, waits out a delay (status 30) during which it
  can be cancelled (status 7). Art. 35(2)-(4), reference A13, D1.
- Same-type concurrency: a second transaction of a type from the same
  transferring account (1006), or to an acquiring account with one pending
  (3013), is refused while the first is not final. Reference A16, D11.
- Holding limit: a transfer that would take an entity's allowances over its
  limit is refused (9112). 17 CCR §95920, reference A27, D18.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import IntEnum, StrEnum
from typing import Any

from registry.accounts import AccountKind

REPRESENTATIVES_PER_ACCOUNT_MAX = 20
TRUSTED_PER_ACCOUNT_MAX = 1_000
OPEN_TRANSFERS_MAX = 100_000
RELEASES_PER_CALL_MAX = 10_000
DELAY_MINUTES_MAX = 366 * 24 * 60
WORKING_DAYS_MAX = 30
# The WCI general holding limit formula, 17 CCR §95920 (reference A27 and section (c)):
# 0.1 × 25,000,000 + 0.025 × (annual allowance budget − 25,000,000). [V rule, U formula]
WCI_BASE_BUDGET_T = 25_000_000
WCI_BUDGET_MAX_T = 10**12

# Account kinds whose holders' transfers the controls govern: the holders' own
# accounts. Issuance and reserve accounts are the administrator's; exchange
# custody moves only by the exchange's settlement, which nets many trades into
# one transfer per cycle and must not wait for a second person.
CONTROLLED_KINDS = frozenset({AccountKind.COMPLIANCE, AccountKind.TRADING})
# Kinds whose allowances count toward an entity's holding limit. Exchange
# custody stands for WCI's exchange-clearing account, which §95920 excludes
# (A27); issuance and reserve accounts belong to the administrator.
HOLDING_LIMIT_KINDS = frozenset({AccountKind.COMPLIANCE, AccountKind.TRADING})


class TransferStatus(IntEnum):
    """Kyoto / UK registry transaction statuses (reference A7) a controlled transfer takes."""

    AWAITING_APPROVAL = 0
    PROPOSED = 1
    COMPLETED = 4
    TERMINATED = 5
    CANCELLED = 7
    DELAYED = 30

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({TransferStatus.COMPLETED, TransferStatus.TERMINATED, TransferStatus.CANCELLED})


class DelayRule(StrEnum):
    """How long a transfer waits before it executes, and a new trusted payee before it counts."""

    NONE = "none"  # no trusted list: an approved transfer executes at once
    FIXED = "fixed"  # plain durations: `untrusted_delay_minutes`, `trusted_add_delay_minutes`
    EU_WORKING_DAYS = "eu_working_days"  # the Union Registry's windows and working days (A13)


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """A registry's transfer controls. The defaults switch every control off.

    `holding_limit_t` fixes the limit; `holding_limit_budget_t` computes it
    with the WCI formula instead. At most one of the two is set.
    """

    four_eyes: bool = False
    payee_delay_rule: DelayRule = DelayRule.NONE
    untrusted_delay_minutes: int = 26 * 60
    trusted_add_delay_minutes: int = 7 * 24 * 60
    trusted_add_working_days: int = 4
    utc_offset_minutes: int = 60
    refuse_concurrent_same_type: bool = False
    holding_limit_t: int | None = None
    holding_limit_budget_t: int | None = None

    def problem(self) -> str | None:
        """Return what is wrong with these settings, or None when they are usable."""
        for name in ("four_eyes", "refuse_concurrent_same_type"):
            if type(getattr(self, name)) is not bool:
                return f"{name} must be true or false"
        if type(self.payee_delay_rule) is not DelayRule:
            return f"payee_delay_rule must be one of {', '.join(rule for rule in DelayRule)}"
        for name, high in (
            ("untrusted_delay_minutes", DELAY_MINUTES_MAX),
            ("trusted_add_delay_minutes", DELAY_MINUTES_MAX),
            ("trusted_add_working_days", WORKING_DAYS_MAX),
        ):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= high:
                return f"{name} must be a whole number 0..{high}, was {value!r}"
        offset = self.utc_offset_minutes
        if type(offset) is not int or not -14 * 60 <= offset <= 14 * 60:
            return f"utc_offset_minutes must be a whole number -840..840, was {offset!r}"
        if self.holding_limit_t is not None and self.holding_limit_budget_t is not None:
            return "set holding_limit_t or holding_limit_budget_t, not both"
        limit = self.holding_limit_t
        if limit is not None and (type(limit) is not int or not 0 <= limit <= WCI_BUDGET_MAX_T):
            return f"holding_limit_t must be a whole number 0..{WCI_BUDGET_MAX_T:,}, was {limit!r}"
        budget = self.holding_limit_budget_t
        if budget is not None and (
            type(budget) is not int or not WCI_BASE_BUDGET_T <= budget <= WCI_BUDGET_MAX_T
        ):
            return (
                f"holding_limit_budget_t must be a whole number {WCI_BASE_BUDGET_T:,}.."
                f"{WCI_BUDGET_MAX_T:,} (the formula is sourced for budgets over 25 Mt), "
                f"was {budget!r}"
            )
        return None

    @property
    def holding_limit(self) -> int | None:
        """Return the holding limit in tonnes, or None when there is none."""
        if self.holding_limit_budget_t is not None:
            return wci_general_holding_limit(self.holding_limit_budget_t)
        return self.holding_limit_t

    @property
    def gates_transfers(self) -> bool:
        """Return whether a holder's transfer must be initiated (and perhaps approved) first."""
        return self.four_eyes or self.payee_delay_rule is not DelayRule.NONE

    def to_data(self) -> dict[str, Any]:
        return {
            "four_eyes": self.four_eyes,
            "payee_delay_rule": self.payee_delay_rule.value,
            "untrusted_delay_minutes": self.untrusted_delay_minutes,
            "trusted_add_delay_minutes": self.trusted_add_delay_minutes,
            "trusted_add_working_days": self.trusted_add_working_days,
            "utc_offset_minutes": self.utc_offset_minutes,
            "refuse_concurrent_same_type": self.refuse_concurrent_same_type,
            "holding_limit_t": self.holding_limit_t,
            "holding_limit_budget_t": self.holding_limit_budget_t,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ControlSettings:
        return cls(
            data["four_eyes"],
            DelayRule(data["payee_delay_rule"]),
            data["untrusted_delay_minutes"],
            data["trusted_add_delay_minutes"],
            data["trusted_add_working_days"],
            data["utc_offset_minutes"],
            data["refuse_concurrent_same_type"],
            data["holding_limit_t"],
            data["holding_limit_budget_t"],
        )


@dataclass(frozen=True, slots=True)
class PendingTransfer:
    """A transfer a representative initiated, as it stands. `to_registry` is the
    registry's own code for an internal transfer."""

    transaction_id: str
    from_account: str
    to_registry: str
    to_account: str
    unit_type: str
    quantity: int
    vintage: int | None
    initiator: str
    status: TransferStatus = TransferStatus.AWAITING_APPROVAL
    approver: str = ""
    execute_at: datetime | None = None
    code: int = 0
    message: str = ""

    def external(self, own_code: str) -> bool:
        return self.to_registry != own_code


def wci_general_holding_limit(budget_t: int) -> int:
    """Return the WCI general holding limit for an annual allowance budget, in whole tonnes.

    0.1 × 25,000,000 + 0.025 × (budget − 25,000,000), rounded down: a limit
    never grants a fraction of a tonne more than the formula.
    """
    assert budget_t >= WCI_BASE_BUDGET_T
    return WCI_BASE_BUDGET_T // 10 + (budget_t - WCI_BASE_BUDGET_T) * 25 // 1000


# ---------------------------------------------------------------- delays (A13)

_WINDOW_OPEN = time(10, 0)
_WINDOW_CLOSE = time(16, 0)
_NOON = time(12, 0)


def execute_at(settings: ControlSettings, approved_at: datetime, trusted: bool) -> datetime:
    """Return when a transfer approved at `approved_at` executes.

    Under the EU rule (A13, Art. 35(2)-(4)), local time at a fixed UTC
    offset, Monday to Friday as working days (public holidays and summer
    time are not modelled): to a trusted payee, at once inside 10:00-16:00,
    else at the next 10:00 of a working day; to any other payee, at 12:00
    on the next working day if approved before 12:00 on a working day,
    else at 12:00 on the second working day (the "26-hour delay"). A moment
    on a non-working day counts as the start of the next working day.
    """
    rule = settings.payee_delay_rule
    if rule is DelayRule.NONE:
        return approved_at
    if rule is DelayRule.FIXED:
        if trusted:
            return approved_at
        return approved_at + timedelta(minutes=settings.untrusted_delay_minutes)
    offset = timedelta(minutes=settings.utc_offset_minutes)
    local = approved_at + offset
    if trusted:
        if _working(local) and _WINDOW_OPEN <= local.time() < _WINDOW_CLOSE:
            return approved_at
        if _working(local) and local.time() < _WINDOW_OPEN:
            return _at(local.date(), _WINDOW_OPEN, approved_at) - offset
        return _at(_next_working(local.date()), _WINDOW_OPEN, approved_at) - offset
    target = _next_working(local.date())
    if not (_working(local) and local.time() < _NOON):
        target = _next_working(target)
    return _at(target, _NOON, approved_at) - offset


def trusted_effective_at(settings: ControlSettings, added_at: datetime) -> datetime:
    """Return when a payee added to a trusted list at `added_at` starts to count as trusted.

    EU rule (A13): after `trusted_add_working_days` working days (4), the delay
    counting only inside the 10:00-16:00 window, i.e. 6 h per working day.
    The 7 days A13 gives for Kyoto person-holding accounts are not told apart:
    set the number of days per registry.
    """
    rule = settings.payee_delay_rule
    if rule is DelayRule.NONE:
        return added_at
    if rule is DelayRule.FIXED:
        return added_at + timedelta(minutes=settings.trusted_add_delay_minutes)
    offset = timedelta(minutes=settings.utc_offset_minutes)
    local = added_at + offset
    window = datetime.combine(local.date(), _WINDOW_CLOSE, local.tzinfo) - datetime.combine(
        local.date(), _WINDOW_OPEN, local.tzinfo
    )
    remaining = window * settings.trusted_add_working_days
    day = local.date()
    moment = local
    # Bounded: each pass uses a day, at most WORKING_DAYS_MAX working days plus weekends.
    for _ in range(WORKING_DAYS_MAX * 2 + 7):
        if remaining <= timedelta(0):
            break
        opens = datetime.combine(day, _WINDOW_OPEN, local.tzinfo)
        closes = datetime.combine(day, _WINDOW_CLOSE, local.tzinfo)
        if _working(opens) and moment < closes:
            start = max(moment, opens)
            used = min(closes - start, remaining)
            remaining -= used
            moment = start + used
        if remaining > timedelta(0):
            day = day + timedelta(days=1)
            moment = datetime.combine(day, time(0, 0), local.tzinfo)
    assert remaining <= timedelta(0), "working-day count outran its bound"
    return moment - offset


def _working(moment: Any) -> bool:
    return bool(moment.weekday() < 5)


def _next_working(day: Any) -> Any:
    day = day + timedelta(days=1)
    while day.weekday() >= 5:
        day = day + timedelta(days=1)
    return day


def _at(day: Any, clock_time: time, like: datetime) -> datetime:
    return datetime.combine(day, clock_time, like.tzinfo)
