"""Links between registries as data: who may send what to whom, when, and how much.

A `Link` is a frozen value read from TOML (`load_links`); its state changes
only through `transition`, which returns a new `Link`. `Link.allows` runs the
link's checks in a fixed order and raises `GatewayError` with the first
failed 9xxx code. `LinkNetwork` answers where a unit of a given origin may
travel across several links (indirect links, reference A25): a link passes
third-origin units only when it allows re-export.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.errors import GatewayError, LinkCode
from registry.account_ids import is_registry_code
from registry.accounts import AccountKind
from registry.config_reader import YEAR_MAX, ConfigError, Table, load_toml
from registry.errors import CheckCode
from registry.formatting import share_over_cap

LINKS_MAX = 100  # links in one file, and in one network
WINDOWS_MAX = 20  # transfer windows of one link
CLOSED_DATES_MAX = 400  # listed exception dates of one window
DAYS_AHEAD_MAX = 800  # how far `next_opening` looks before giving up
MINUTES_PER_DAY = 1440
VINTAGE_MIN = 1990
VINTAGE_MAX = 9999
ANSWER_TIMEOUT_MINUTES = 1440  # a day for the destination to answer a forwarded transfer
ANSWER_TIMEOUT_MINUTES_MAX = 60 * 24 * 30
# The log refuses a proposal older than this when it arrives (UKTL's "transaction
# older than N hours", reference A19, D7; N is configurable there, a day here [U]).
PROPOSAL_MAX_AGE_MINUTES = 1440
# The origin asks the log to end a transfer with no final word after this: longer
# than the longest wait for a window (EU–CH: Thursday to Tuesday) plus an answer [U].
ORIGIN_TIMEOUT_MINUTES = 60 * 24 * 7
ORIGIN_TIMEOUT_MINUTES_MAX = 60 * 24 * 90

_UNIT_CODE_RE = re.compile(r"[A-Z0-9]{1,16}")
_LINK_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_CLOCK_RE = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")
_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}


class Direction(StrEnum):
    """Which way units may cross: both ways, or only from registry A to registry B."""

    BILATERAL = "bilateral"
    UNILATERAL = "unilateral"


class SuspensionRule(StrEnum):
    """What the log does with a link's open transfers when a party registry is suspended."""

    TERMINATE = "terminate"  # end them at once; the units return to the origin
    HOLD = "hold"  # keep them, locked, until the registry resumes or the origin's time-out


class LinkState(StrEnum):
    """Where a link is in its life; only an active link carries units."""

    PROPOSED = "proposed"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


_TRANSITIONS: dict[LinkState, frozenset[LinkState]] = {
    LinkState.PROPOSED: frozenset({LinkState.ACTIVE}),
    LinkState.ACTIVE: frozenset({LinkState.SUSPENDED, LinkState.TERMINATED}),
    LinkState.SUSPENDED: frozenset({LinkState.ACTIVE, LinkState.TERMINATED}),
    # De-linking is final (Ontario 2018): a new link would be a new agreement.
    LinkState.TERMINATED: frozenset(),
}


def allowed_transitions(state: LinkState) -> frozenset[LinkState]:
    """Return the states a link in `state` may move to."""
    return _TRANSITIONS[state]


@dataclass(frozen=True, slots=True)
class TransferWindow:
    """Weekdays and local clock times when cross-link transfers execute.

    EU–CH: transfers to the other registry run only on set days, every
    Tuesday and Thursday since 2023 (reference A20). `weekdays` are 0 Monday
    .. 6 Sunday; the window is [opens_minute, closes_minute) of local time in
    `timezone`, on days from `first_day` to `last_day` (inclusive, None = no
    bound), except `closed_dates`.
    """

    weekdays: frozenset[int]
    timezone: str = "UTC"
    opens_minute: int = 0
    closes_minute: int = MINUTES_PER_DAY
    first_day: date | None = None
    last_day: date | None = None
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays must be a non-empty subset of 0..6, not {self.weekdays}")
        if not 0 <= self.opens_minute < self.closes_minute <= MINUTES_PER_DAY:
            raise ValueError(
                f"window must open before it closes within a day, "
                f"not {self.opens_minute}..{self.closes_minute} minutes"
            )
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValueError(f"window ends {self.last_day} before it starts {self.first_day}")
        if len(self.closed_dates) > CLOSED_DATES_MAX:
            raise ValueError(f"more than {CLOSED_DATES_MAX} closed dates")
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at the first transfer

    def to_data(self) -> dict[str, Any]:
        return {
            "weekdays": sorted(self.weekdays),
            "timezone": self.timezone,
            "opens_minute": self.opens_minute,
            "closes_minute": self.closes_minute,
            "first_day": None if self.first_day is None else self.first_day.isoformat(),
            "last_day": None if self.last_day is None else self.last_day.isoformat(),
            "closed_dates": sorted(day.isoformat() for day in self.closed_dates),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TransferWindow:
        first, last = data["first_day"], data["last_day"]
        return cls(
            weekdays=frozenset(data["weekdays"]),
            timezone=data["timezone"],
            opens_minute=data["opens_minute"],
            closes_minute=data["closes_minute"],
            first_day=None if first is None else date.fromisoformat(first),
            last_day=None if last is None else date.fromisoformat(last),
            closed_dates=frozenset(date.fromisoformat(day) for day in data["closed_dates"]),
        )

    def _opens_on(self, day: date) -> bool:
        return (
            day.weekday() in self.weekdays
            and (self.first_day is None or day >= self.first_day)
            and (self.last_day is None or day <= self.last_day)
            and day not in self.closed_dates
        )

    def _local(self, day: date, minute: int) -> datetime:
        # Wall-clock time in the zone; a time inside a DST gap resolves as fold=0.
        if minute == MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), 0
        wall = datetime.combine(
            day, time(minute // 60, minute % 60), tzinfo=ZoneInfo(self.timezone)
        )
        return wall.astimezone(UTC)

    def is_open(self, moment: datetime) -> bool:
        """Return whether a transfer at `moment` (timezone-aware) falls inside this window."""
        _require_aware(moment)
        local = moment.astimezone(ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        return self._opens_on(local.date()) and self.opens_minute <= minute < self.closes_minute

    def next_opening(self, moment: datetime) -> datetime | None:
        """Return the first instant >= `moment` inside the window (UTC), None if none is near.

        A proposal outside a window is not dropped: it waits for this instant.
        """
        _require_aware(moment)
        if self.is_open(moment):
            return moment.astimezone(UTC)
        today = moment.astimezone(ZoneInfo(self.timezone)).date()
        for offset in range(DAYS_AHEAD_MAX):
            day = today + timedelta(days=offset)
            if self.last_day is not None and day > self.last_day:
                return None
            if self._opens_on(day):
                opening = self._local(day, self.opens_minute)
                if opening >= moment:
                    return opening
        return None


@dataclass(frozen=True, slots=True)
class Link:
    """One link between registries `registry_a` and `registry_b`, as data.

    A unilateral link carries units from A to B only. `exchange_rate` is how
    many domestic tonnes one foreign unit counts for at surrender;
    `exchange_rate_into` overrides it per receiving registry. `entity_share_cap`
    bounds foreign units as a share of an entity's obligation (AU–EU: 50%).
    `per_transfer_limit_t` applies to transfers into accounts not on the
    trusted list (EU: 2,000,000 since Sept 2023). `reexport_allowed` lets
    units of a third origin pass (indirect links). `article6` marks a Paris
    Article 6.2 link: each unit must be authorised and its first transfer
    needs a corresponding adjustment.
    """

    link_id: str
    registry_a: str
    registry_b: str
    direction: Direction
    unit_types: frozenset[str]
    effective_from: datetime
    effective_to: datetime | None = None
    state: LinkState = LinkState.PROPOSED
    vintage_first: int = VINTAGE_MIN
    vintage_last: int = VINTAGE_MAX
    exchange_rate: Fraction = Fraction(1)
    exchange_rate_into: tuple[tuple[str, Fraction], ...] = ()
    period_cap_t: int | None = None
    entity_share_cap: Fraction | None = None
    importing_account_kinds: frozenset[AccountKind] = frozenset(
        {AccountKind.COMPLIANCE, AccountKind.TRADING, AccountKind.EXCHANGE_CUSTODY}
    )
    windows: tuple[TransferWindow, ...] = ()
    per_transfer_limit_t: int | None = None
    reexport_allowed: bool = False
    article6: bool = False
    answer_timeout_minutes: int = ANSWER_TIMEOUT_MINUTES
    proposal_max_age_minutes: int = PROPOSAL_MAX_AGE_MINUTES
    origin_timeout_minutes: int = ORIGIN_TIMEOUT_MINUTES
    on_suspension: SuspensionRule = SuspensionRule.TERMINATE
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.registry_a == self.registry_b:
            raise ValueError(f"link {self.link_id}: a registry cannot link to itself")
        if not self.unit_types:
            raise ValueError(f"link {self.link_id}: no eligible unit types")
        if self.vintage_last < self.vintage_first:
            raise ValueError(f"link {self.link_id}: vintage range is empty")
        _require_aware(self.effective_from)
        if self.effective_to is not None:
            _require_aware(self.effective_to)
            if self.effective_to <= self.effective_from:
                raise ValueError(f"link {self.link_id}: ends before it starts")
        rates = [self.exchange_rate, *(rate for _, rate in self.exchange_rate_into)]
        if any(rate <= 0 for rate in rates):
            raise ValueError(f"link {self.link_id}: exchange rates must be > 0")
        for registry, _ in self.exchange_rate_into:
            if registry not in (self.registry_a, self.registry_b):
                raise ValueError(f"link {self.link_id}: rate for {registry}, not a party")
        if self.entity_share_cap is not None and not 0 <= self.entity_share_cap <= 1:
            raise ValueError(f"link {self.link_id}: entity share cap outside 0..1")
        for limit in (self.period_cap_t, self.per_transfer_limit_t):
            if limit is not None and limit < 0:
                raise ValueError(f"link {self.link_id}: negative quantitative limit")
        if len(self.windows) > WINDOWS_MAX:
            raise ValueError(f"link {self.link_id}: more than {WINDOWS_MAX} windows")
        if not 1 <= self.answer_timeout_minutes <= ANSWER_TIMEOUT_MINUTES_MAX:
            raise ValueError(
                f"link {self.link_id}: answer time-out must be 1..{ANSWER_TIMEOUT_MINUTES_MAX} "
                f"minutes, was {self.answer_timeout_minutes}"
            )
        if not 1 <= self.proposal_max_age_minutes <= ORIGIN_TIMEOUT_MINUTES_MAX:
            raise ValueError(
                f"link {self.link_id}: proposal maximum age must be "
                f"1..{ORIGIN_TIMEOUT_MINUTES_MAX} minutes, was {self.proposal_max_age_minutes}"
            )
        if (
            not self.answer_timeout_minutes
            < self.origin_timeout_minutes
            <= ORIGIN_TIMEOUT_MINUTES_MAX
        ):
            raise ValueError(
                f"link {self.link_id}: the origin's time-out must be longer than the answer "
                f"time-out ({self.answer_timeout_minutes} minutes) and at most "
                f"{ORIGIN_TIMEOUT_MINUTES_MAX}, was {self.origin_timeout_minutes}"
            )

    @property
    def proposal_max_age(self) -> timedelta:
        return timedelta(minutes=self.proposal_max_age_minutes)

    @property
    def origin_timeout(self) -> timedelta:
        """How long the origin waits for the final word before asking the log to end it."""
        return timedelta(minutes=self.origin_timeout_minutes)

    @property
    def answer_timeout(self) -> timedelta:
        """How long the gateway waits for the destination's answer before terminating."""
        return timedelta(minutes=self.answer_timeout_minutes)

    def to_data(self) -> dict[str, Any]:
        """Return the link as canonical plain data (for the gateway's journal)."""
        return {
            "link_id": self.link_id,
            "registry_a": self.registry_a,
            "registry_b": self.registry_b,
            "direction": self.direction.value,
            "state": self.state.value,
            "unit_types": sorted(self.unit_types),
            "vintage_first": self.vintage_first,
            "vintage_last": self.vintage_last,
            "exchange_rate": str(self.exchange_rate),
            "exchange_rate_into": [[code, str(rate)] for code, rate in self.exchange_rate_into],
            "period_cap_t": self.period_cap_t,
            "entity_share_cap": (
                None if self.entity_share_cap is None else str(self.entity_share_cap)
            ),
            "importing_account_kinds": sorted(kind.value for kind in self.importing_account_kinds),
            "per_transfer_limit_t": self.per_transfer_limit_t,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": None if self.effective_to is None else self.effective_to.isoformat(),
            "reexport_allowed": self.reexport_allowed,
            "article6": self.article6,
            "answer_timeout_minutes": self.answer_timeout_minutes,
            "proposal_max_age_minutes": self.proposal_max_age_minutes,
            "origin_timeout_minutes": self.origin_timeout_minutes,
            "on_suspension": self.on_suspension.value,
            "windows": [window.to_data() for window in self.windows],
            "notes": self.notes,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Link:
        """Rebuild a link from `to_data`'s output (trusted data: the gateway's own journal)."""
        share = data["entity_share_cap"]
        until = data["effective_to"]
        return cls(
            link_id=data["link_id"],
            registry_a=data["registry_a"],
            registry_b=data["registry_b"],
            direction=Direction(data["direction"]),
            state=LinkState(data["state"]),
            unit_types=frozenset(data["unit_types"]),
            vintage_first=data["vintage_first"],
            vintage_last=data["vintage_last"],
            exchange_rate=Fraction(data["exchange_rate"]),
            exchange_rate_into=tuple(
                (code, Fraction(rate)) for code, rate in data["exchange_rate_into"]
            ),
            period_cap_t=data["period_cap_t"],
            entity_share_cap=None if share is None else Fraction(share),
            importing_account_kinds=frozenset(
                AccountKind(kind) for kind in data["importing_account_kinds"]
            ),
            per_transfer_limit_t=data["per_transfer_limit_t"],
            effective_from=datetime.fromisoformat(data["effective_from"]),
            effective_to=None if until is None else datetime.fromisoformat(until),
            reexport_allowed=data["reexport_allowed"],
            article6=data["article6"],
            answer_timeout_minutes=data["answer_timeout_minutes"],
            # Journals written before these settings existed replay with the defaults.
            proposal_max_age_minutes=data.get("proposal_max_age_minutes", PROPOSAL_MAX_AGE_MINUTES),
            origin_timeout_minutes=data.get("origin_timeout_minutes", ORIGIN_TIMEOUT_MINUTES),
            on_suspension=SuspensionRule(data.get("on_suspension", SuspensionRule.TERMINATE)),
            windows=tuple(TransferWindow.from_data(window) for window in data["windows"]),
            notes=data["notes"],
        )

    @property
    def parties(self) -> frozenset[str]:
        return frozenset({self.registry_a, self.registry_b})

    def transition(self, new_state: LinkState) -> Link:
        """Return this link in `new_state`, or raise 9005 when the move is not allowed."""
        if new_state not in _TRANSITIONS[self.state]:
            allowed = ", ".join(sorted(_TRANSITIONS[self.state])) or "none, it is final"
            raise GatewayError(
                LinkCode.LINK_NOT_ACTIVE,
                f"link {self.link_id}: cannot go from {self.state} to {new_state} "
                f"(allowed from {self.state}: {allowed})",
            )
        return replace(self, state=new_state)

    def permits_direction(self, from_registry: str, to_registry: str) -> bool:
        """Return whether units may cross from `from_registry` to `to_registry` on this link."""
        if {from_registry, to_registry} != self.parties:
            return False
        return self.direction is Direction.BILATERAL or from_registry == self.registry_a

    def admits_origin(self, origin: str) -> bool:
        """Return whether units issued by `origin` may cross (third origins need re-export)."""
        return origin in self.parties or self.reexport_allowed

    def in_effect(self, moment: datetime) -> bool:
        """Return whether `moment` falls in [effective_from, effective_to)."""
        _require_aware(moment)
        return self.effective_from <= moment and (
            self.effective_to is None or moment < self.effective_to
        )

    def window_open(self, moment: datetime) -> bool:
        """Return whether a transfer at `moment` is inside a window (no windows: always)."""
        return not self.windows or any(window.is_open(moment) for window in self.windows)

    def next_opening(self, moment: datetime) -> datetime | None:
        """Return when a proposal made at `moment` may execute (None: no window ahead)."""
        if self.window_open(moment):
            return moment.astimezone(UTC)
        openings = [w.next_opening(moment) for w in self.windows]
        found = [opening for opening in openings if opening is not None]
        return min(found) if found else None

    def longest_wait_days(self, start: datetime, days: int = 14) -> int:
        """Return the longest wait, in whole days rounded up, for a window over `days` days
        from `start` (0 without windows: units may cross at any moment)."""
        if not self.windows:
            return 0
        longest = 0
        for offset in range(days):
            moment = start + timedelta(days=offset)
            opening = self.next_opening(moment)
            if opening is not None:
                wait = opening - moment
                longest = max(longest, wait.days + (1 if wait.seconds else 0))
        return longest

    def allows(
        self,
        from_registry: str,
        to_registry: str,
        unit_type: str,
        vintage: int,
        origin: str,
        moment: datetime,
        *,
        quantity_t: int = 0,
        account_kind: AccountKind | None = None,
        trusted: bool = False,
        authorised: bool = False,
        adjusted: bool = False,
    ) -> None:
        """Raise `GatewayError` with the first failed check's code; return None if allowed.

        The window check runs last: a proposal that fails only on time is
        queued for `next_opening`, so everything else must already hold.
        """
        name = f"link {self.link_id}"
        if {from_registry, to_registry} != self.parties:
            raise GatewayError(
                LinkCode.DIRECTION_NOT_PERMITTED,
                f"{name} joins {self.registry_a} and {self.registry_b}, "
                f"not {from_registry} -> {to_registry}",
            )
        if self.state is not LinkState.ACTIVE:
            raise GatewayError(LinkCode.LINK_NOT_ACTIVE, f"{name} is {self.state}, not active")
        if not self.in_effect(moment):
            until = self.effective_to.isoformat() if self.effective_to else "open end"
            raise GatewayError(
                LinkCode.LINK_NOT_ACTIVE,
                f"{name} is in effect from {self.effective_from.isoformat()} to {until}, "
                f"not at {moment.isoformat()}",
            )
        if not self.permits_direction(from_registry, to_registry):
            raise GatewayError(
                LinkCode.DIRECTION_NOT_PERMITTED,
                f"{name} is unilateral {self.registry_a} -> {self.registry_b}, "
                f"found {from_registry} -> {to_registry}",
            )
        self._check_units(unit_type, vintage, origin)
        if self.article6 and not authorised:
            raise GatewayError(
                LinkCode.ARTICLE6_NOT_AUTHORISED,
                f"{name} is an Article 6.2 link; {unit_type} {vintage} is not authorised",
            )
        if self.article6 and not adjusted:
            raise GatewayError(
                LinkCode.CORRESPONDING_ADJUSTMENT_MISSING,
                f"{name}: no corresponding adjustment recorded for {unit_type} {vintage}",
            )
        self._check_account(account_kind, quantity_t, trusted)
        if not self.window_open(moment):
            raise GatewayError(
                LinkCode.OUTSIDE_TRANSFER_WINDOW,
                f"{name} is closed at {moment.isoformat()}; next opening "
                f"{_iso(self.next_opening(moment))}",
            )

    def _check_units(self, unit_type: str, vintage: int, origin: str) -> None:
        name = f"link {self.link_id}"
        if not self.admits_origin(origin):
            raise GatewayError(
                LinkCode.ORIGIN_NOT_ADMITTED,
                f"{name} carries units of {self.registry_a} or {self.registry_b} only "
                f"(no re-export), found origin {origin}",
            )
        if unit_type not in self.unit_types:
            raise GatewayError(
                LinkCode.ORIGIN_NOT_ADMITTED,
                f"{name} admits {', '.join(sorted(self.unit_types))}, found {unit_type}",
            )
        if not self.vintage_first <= vintage <= self.vintage_last:
            raise GatewayError(
                LinkCode.ORIGIN_NOT_ADMITTED,
                f"{name} admits vintages {self.vintage_first}..{self.vintage_last}, "
                f"found {vintage}",
            )

    def _check_account(
        self, account_kind: AccountKind | None, quantity_t: int, trusted: bool
    ) -> None:
        name = f"link {self.link_id}"
        if account_kind is not None and account_kind not in self.importing_account_kinds:
            kinds = ", ".join(sorted(self.importing_account_kinds))
            raise GatewayError(
                CheckCode.ACQUIRING_ACCOUNT_TYPE_MAY_NOT_HOLD_UNITS,
                f"{name} imports into {kinds} accounts, found {account_kind}",
            )
        limit = self.per_transfer_limit_t
        if limit is not None and not trusted and quantity_t > limit:
            raise GatewayError(
                LinkCode.TRANSFER_LIMIT_EXCEEDED,
                f"{name}: transfer of {quantity_t:,} t to a non-trusted account exceeds "
                f"the per-transfer limit of {limit:,} t",
            )

    def check_period_cap(self, moved_in_period_t: int, quantity_t: int) -> None:
        """Raise 9010 if `quantity_t` more would take the period's flow over `period_cap_t`."""
        cap = self.period_cap_t
        if cap is not None and moved_in_period_t + quantity_t > cap:
            raise GatewayError(
                LinkCode.TRANSFER_LIMIT_EXCEEDED,
                f"link {self.link_id}: {quantity_t:,} t more would bring this period to "
                f"{moved_in_period_t + quantity_t:,} t, over the cap of {cap:,} t",
            )

    def check_entity_share(self, foreign_t: int, obligation_t: int) -> None:
        """Raise 9003 if `foreign_t` units from this link exceed the entity's share cap.

        Evaluated on the surrender batch against the obligation, not per
        transfer (reference A26): AU–EU allowed at most 50% international units.
        """
        cap = self.entity_share_cap
        if cap is None:
            return
        if foreign_t < 0 or obligation_t < 0:
            raise ValueError(f"negative quantities: {foreign_t} t of {obligation_t} t")
        if foreign_t > cap * obligation_t:
            found = (
                share_over_cap(foreign_t, obligation_t, cap)
                if obligation_t
                else f"{foreign_t:,} t against an obligation of 0 t"
            )
            raise GatewayError(
                LinkCode.ENTITY_FOREIGN_UNIT_CAP,
                f"link {self.link_id}: foreign units {found}",
            )

    def rate_into(self, registry: str) -> Fraction:
        """Return how many domestic tonnes of `registry` one unit arriving there counts for."""
        if registry not in self.parties:
            raise ValueError(f"link {self.link_id}: {registry} is not a party")
        return dict(self.exchange_rate_into).get(registry, self.exchange_rate)

    def counts_for(self, registry: str, quantity_t: int) -> Fraction:
        """Return the compliance value in `registry` of `quantity_t` units that came over."""
        if quantity_t < 0:
            raise ValueError(f"quantity must be >= 0, not {quantity_t}")
        return quantity_t * self.rate_into(registry)


def transition(link: Link, new_state: LinkState) -> Link:
    """Return `link` in `new_state`, or raise GatewayError 9005 for a forbidden move."""
    return link.transition(new_state)


@dataclass(frozen=True, slots=True)
class LinkNetwork:
    """Several links; answers where units of an origin may travel (indirect links, A25).

    A hop x -> y is open to a unit of `origin` and `unit_type` when some link
    between x and y permits that direction, lists the unit type, and admits
    the origin: the origin is one of the link's two parties, or the link
    allows re-export of third-origin units. State and dates count only when
    a `moment` is given.
    """

    links: tuple[Link, ...]

    def __post_init__(self) -> None:
        if len(self.links) > LINKS_MAX:
            raise ValueError(f"more than {LINKS_MAX} links in one network")
        ids = [link.link_id for link in self.links]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate link ids in {sorted(ids)}")

    def hop_allowed(
        self,
        origin: str,
        unit_type: str | None,
        from_registry: str,
        to_registry: str,
        moment: datetime | None = None,
    ) -> bool:
        """Return whether some link lets a unit of `origin` go `from_registry` -> `to_registry`."""
        return any(
            _link_open_to(link, origin, unit_type, from_registry, to_registry, moment)
            for link in self.links
        )

    def route_allowed(
        self,
        origin: str,
        path: Sequence[str],
        unit_type: str | None = None,
        moment: datetime | None = None,
    ) -> bool:
        """Return whether a unit issued by `origin` may travel `path`, which starts at `origin`."""
        if not path or path[0] != origin:
            return False
        return all(
            self.hop_allowed(origin, unit_type, here, there, moment)
            for here, there in pairwise(path)
        )

    def may_reach(
        self, origin: str, unit_type: str | None, registry: str, moment: datetime | None = None
    ) -> bool:
        """Return whether a unit issued by `origin` can reach `registry` by any route."""
        return registry in self.reachable(origin, unit_type, moment)

    def reachable(
        self, origin: str, unit_type: str | None, moment: datetime | None = None
    ) -> frozenset[str]:
        """Return every registry a unit of `origin` can reach, `origin` included."""
        # Whether a hop is open depends on the unit, not on the route so far,
        # so a breadth-first search over registries is exact.
        seen = {origin}
        queue = deque([origin])
        while queue:
            here = queue.popleft()
            for link in self.links:
                if here not in link.parties:
                    continue
                (there,) = link.parties - {here}
                if there not in seen and _link_open_to(
                    link, origin, unit_type, here, there, moment
                ):
                    seen.add(there)
                    queue.append(there)
        return frozenset(seen)


def _link_open_to(
    link: Link,
    origin: str,
    unit_type: str | None,
    from_registry: str,
    to_registry: str,
    moment: datetime | None,
) -> bool:
    if not link.permits_direction(from_registry, to_registry) or not link.admits_origin(origin):
        return False
    if unit_type is not None and unit_type not in link.unit_types:
        return False
    if moment is not None:
        return link.state is LinkState.ACTIVE and link.in_effect(moment)
    return True


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"moment {moment.isoformat()} has no time zone")


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "none ahead"


# --- the TOML loader ----------------------------------------------------------


_TOP_KEYS = {"link", "unverified"}
_LINK_KEYS = {
    "id",
    "registry_a",
    "registry_b",
    "direction",
    "state",
    "unit_types",
    "vintage_first",
    "vintage_last",
    "exchange_rate",
    "exchange_rate_into",
    "period_cap_t",
    "entity_share_cap",
    "importing_account_kinds",
    "per_transfer_limit_t",
    "effective_from",
    "effective_to",
    "reexport_allowed",
    "article6",
    "answer_timeout_minutes",
    "proposal_max_age_minutes",
    "origin_timeout_minutes",
    "on_suspension",
    "windows",
    "notes",
}
_WINDOW_KEYS = {"weekdays", "timezone", "opens", "closes", "first_day", "last_day", "closed_dates"}


def load_links(path: Path | str) -> list[Link]:
    """Read the `[[link]]` tables of a TOML file, refusing any mistake with a `ConfigError`."""
    path = Path(path)
    data = load_toml(path)
    top = Table(path, "", data)
    top.refuse_unknown(_TOP_KEYS)
    for key_path in _strings(top, "unverified", _always, "a list of key paths"):
        if not _names_a_key(data, key_path):
            raise ConfigError(path, "unverified", f"{key_path!r} names no key this file sets")
    tables = top.tables("link")
    if not tables:
        raise ConfigError(path, "link", "expected at least one [[link]] table")
    if len(tables) > LINKS_MAX:
        raise ConfigError(path, "link", f"more than {LINKS_MAX} links ({len(tables)})")
    top.done()
    links = [_read_link(path, table) for table in tables]
    ids = [link.link_id for link in links]
    for index, link_id in enumerate(ids):
        if link_id in ids[:index]:
            raise ConfigError(path, f"link[{index}].id", f"duplicate link id {link_id!r}")
    return links


def load_network(paths: Iterable[Path | str]) -> LinkNetwork:
    """Read several link files into one `LinkNetwork`."""
    links: list[Link] = []
    for path in paths:
        links.extend(load_links(path))
    return LinkNetwork(tuple(links))


def _read_link(path: Path, table: Table) -> Link:
    table.refuse_unknown(_LINK_KEYS)
    link_id = _matching(table, "id", _LINK_ID_RE, "a lower-case id like 'eu-ch'")
    registry_a = _registry(table, "registry_a")
    registry_b = _registry(table, "registry_b")
    if registry_a == registry_b:
        raise ConfigError(
            path, table.key_path("registry_b"), f"same registry as registry_a ({registry_a})"
        )
    parties = {registry_a, registry_b}
    unit_types = _strings(table, "unit_types", _UNIT_CODE_RE.fullmatch, "unit codes like 'EUA'")
    if not unit_types:
        raise ConfigError(path, table.key_path("unit_types"), "expected at least one unit type")
    # A written vintage is a year the registry knows; left out, the range is open.
    vintage_first = table.whole("vintage_first", VINTAGE_MIN, YEAR_MAX, VINTAGE_MIN)
    vintage_last = table.whole("vintage_last", vintage_first, YEAR_MAX, VINTAGE_MAX)
    exchange_rate = _rate(table, "exchange_rate", Fraction(1))
    rates_table = table.table("exchange_rate_into", required=False)
    rates: list[tuple[str, Fraction]] = []
    if rates_table is not None:
        rates_table.refuse_unknown(parties)
        rates = [(code, _rate(rates_table, code, None)) for code in sorted(parties)]
        rates = [(code, rate) for code, rate in rates if rate is not None]
    share = table.share("entity_share_cap", None)
    kinds = _strings(table, "importing_account_kinds", _is_kind, "account kinds like 'compliance'")
    effective_from = _moment(table, "effective_from", required=True)
    assert effective_from is not None  # required=True never returns None
    effective_to = _moment(table, "effective_to", required=False)
    if effective_to is not None and effective_to <= effective_from:
        raise ConfigError(
            path, table.key_path("effective_to"), "expected a moment after effective_from"
        )
    windows = [_read_window(path, window) for window in table.tables("windows")]
    if len(windows) > WINDOWS_MAX:
        raise ConfigError(path, table.key_path("windows"), f"more than {WINDOWS_MAX} windows")
    answer_timeout = table.whole(
        "answer_timeout_minutes", 1, ANSWER_TIMEOUT_MINUTES_MAX, ANSWER_TIMEOUT_MINUTES
    )
    link = Link(
        link_id=link_id,
        registry_a=registry_a,
        registry_b=registry_b,
        direction=table.choice("direction", _by_value(Direction)),
        state=table.choice("state", _by_value(LinkState)),
        unit_types=frozenset(unit_types),
        vintage_first=vintage_first,
        vintage_last=vintage_last,
        exchange_rate=exchange_rate,
        exchange_rate_into=tuple(rates),
        period_cap_t=_limit(table, "period_cap_t"),
        entity_share_cap=share,
        per_transfer_limit_t=_limit(table, "per_transfer_limit_t"),
        effective_from=effective_from,
        effective_to=effective_to,
        reexport_allowed=table.get("reexport_allowed", bool, False),
        article6=table.get("article6", bool, False),
        answer_timeout_minutes=answer_timeout,
        proposal_max_age_minutes=table.whole(
            "proposal_max_age_minutes", 1, ORIGIN_TIMEOUT_MINUTES_MAX, PROPOSAL_MAX_AGE_MINUTES
        ),
        origin_timeout_minutes=table.whole(
            "origin_timeout_minutes",
            answer_timeout + 1,
            ORIGIN_TIMEOUT_MINUTES_MAX,
            max(ORIGIN_TIMEOUT_MINUTES, answer_timeout + 1),
        ),
        on_suspension=table.choice(
            "on_suspension", _by_value(SuspensionRule), SuspensionRule.TERMINATE
        ),
        windows=tuple(windows),
        notes=table.get("notes", str, ""),
        **({"importing_account_kinds": frozenset(AccountKind(k) for k in kinds)} if kinds else {}),
    )
    table.done()
    return link


def _read_window(path: Path, table: Table) -> TransferWindow:
    table.refuse_unknown(_WINDOW_KEYS)
    names = _strings(table, "weekdays", _WEEKDAYS.__contains__, "weekday names like 'tuesday'")
    if not names:
        raise ConfigError(path, table.key_path("weekdays"), "expected at least one weekday")
    zone = table.get("timezone", str, "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            path, table.key_path("timezone"), f"unknown IANA time zone {zone!r}"
        ) from None
    opens = _clock(table, "opens", 0)
    closes = _clock(table, "closes", MINUTES_PER_DAY)
    if not opens < closes:
        raise ConfigError(path, table.key_path("closes"), "expected a time after 'opens'")
    first_day = _day(table, "first_day")
    last_day = _day(table, "last_day")
    if first_day and last_day and last_day < first_day:
        raise ConfigError(path, table.key_path("last_day"), "expected a day on or after first_day")
    closed = table.get("closed_dates", list, [])
    if len(closed) > CLOSED_DATES_MAX or not all(_is_day(day) for day in closed):
        raise ConfigError(
            path,
            table.key_path("closed_dates"),
            f"expected up to {CLOSED_DATES_MAX} dates (YYYY-MM-DD)",
        )
    table.done()
    return TransferWindow(
        weekdays=frozenset(_WEEKDAYS[name] for name in names),
        timezone=zone,
        opens_minute=opens,
        closes_minute=closes,
        first_day=first_day,
        last_day=last_day,
        closed_dates=frozenset(closed),
    )


_PATH_STEP_RE = re.compile(r"([a-z_0-9]+)(?:\[([0-9]+)\])?")


def _names_a_key(data: dict[str, Any], key_path: str) -> bool:
    """Return whether `key_path` ("link[0].windows[1].opens") names a value in `data`."""
    here: Any = data
    for step in key_path.split("."):
        match = _PATH_STEP_RE.fullmatch(step)
        if match is None or not isinstance(here, dict) or match[1] not in here:
            return False
        here = here[match[1]]
        if match[2] is not None:
            index = int(match[2])
            if not isinstance(here, list) or index >= len(here):
                return False
            here = here[index]
    return True


def _always(_: str) -> bool:
    return True


def _is_kind(text: str) -> bool:
    return text in {kind.value for kind in AccountKind}


def _is_day(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _by_value(enum: type[Direction] | type[LinkState] | type[SuspensionRule]) -> dict[str, Any]:
    return {member.value: member for member in enum}


def _matching(table: Table, key: str, pattern: re.Pattern[str], expected: str) -> str:
    text = table.get(key, str)
    if not pattern.fullmatch(text):
        raise ConfigError(table.path, table.key_path(key), f"expected {expected}, found {text!r}")
    return text


def _registry(table: Table, key: str) -> str:
    code = table.get(key, str)
    if not is_registry_code(code):
        raise ConfigError(
            table.path, table.key_path(key), f"expected two capital letters A-Z, found {code!r}"
        )
    return code


def _strings(table: Table, key: str, valid: Any, expected: str) -> list[str]:
    items = table.get(key, list, [])
    if not all(isinstance(item, str) and valid(item) for item in items):
        raise ConfigError(table.path, table.key_path(key), f"expected {expected}, found {items!r}")
    if len(set(items)) != len(items):
        raise ConfigError(table.path, table.key_path(key), f"duplicate entries in {items!r}")
    return list(items)


def _limit(table: Table, key: str) -> int | None:
    return table.tonnes(key, None)


def _rate(table: Table, key: str, default: Fraction | None) -> Any:
    return table.rate(key, default)


def _moment(table: Table, key: str, required: bool) -> datetime | None:
    """Read a TOML date (midnight UTC) or an offset date-time as an aware datetime."""
    value = table.get(key, date) if required else table.get(key, date, None)
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigError(
                table.path, table.key_path(key), f"expected a UTC offset on {value.isoformat()}"
            )
        return value
    return datetime.combine(value, time(0), tzinfo=UTC)


def _day(table: Table, key: str) -> date | None:
    value = table.get(key, date, None)
    if value is not None and not _is_day(value):
        raise ConfigError(table.path, table.key_path(key), f"expected a date, found {value!r}")
    return value


def _clock(table: Table, key: str, default: int) -> int:
    text = table.get(key, str, None)
    if text is None:
        return default
    match = _CLOCK_RE.fullmatch(text)
    minute = int(match[1]) * 60 + int(match[2]) if match else -1
    if not 0 <= minute <= MINUTES_PER_DAY:
        raise ConfigError(
            table.path, table.key_path(key), f"expected HH:MM (00:00-24:00), found {text!r}"
        )
    return minute
