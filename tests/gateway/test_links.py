"""Links as data: state transitions, windows, the 9xxx checks, the network, the loader.

Rule tests name their source in shared/reference/registry-and-linking.md
(A14 EU per-transfer limit, A20 EU–CH windows, A21 AU–EU interim link,
A22 Ontario de-linking, A25 indirect links, D20/D21/D24 link violations).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import GatewayError, LinkCode
from gateway.links import (
    Direction,
    Link,
    LinkNetwork,
    LinkState,
    TransferWindow,
    allowed_transitions,
    load_links,
    load_network,
    transition,
)
from registry.accounts import AccountKind
from registry.config_reader import ConfigError
from registry.errors import CheckCode, RegistryError

LINKS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "links"
BRUSSELS = ZoneInfo("Europe/Brussels")

# 2024-01-08 is a Monday, 2024-01-09 a Tuesday.
MONDAY_NOON = datetime(2024, 1, 8, 12, 0, tzinfo=BRUSSELS)
TUESDAY_NOON = datetime(2024, 1, 9, 12, 0, tzinfo=BRUSSELS)
WEDNESDAY_NOON = datetime(2024, 1, 10, 12, 0, tzinfo=BRUSSELS)


def _one(name: str) -> Link:
    (link,) = load_links(LINKS_DIR / name)
    return link


def _eu_ch() -> Link:
    return _one("eu-switzerland.toml")


def _au_eu_active() -> Link:
    return _one("australia-eu-interim.toml").transition(LinkState.ACTIVE)


def _simple(
    link_id: str,
    a: str,
    b: str,
    direction: Direction = Direction.BILATERAL,
    reexport: bool = False,
    units: frozenset[str] = frozenset({"X"}),
    state: LinkState = LinkState.ACTIVE,
) -> Link:
    return Link(
        link_id=link_id,
        registry_a=a,
        registry_b=b,
        direction=direction,
        unit_types=units,
        effective_from=datetime(2020, 1, 1, tzinfo=UTC),
        state=state,
        reexport_allowed=reexport,
    )


def _code(error: pytest.ExceptionInfo[GatewayError]) -> int:
    return int(error.value.code)


# --- errors -------------------------------------------------------------------


def test_link_codes_follow_the_9xxx_plan_of_reference_b5_without_gaps() -> None:
    # The reference's examples keep their numbers; the gateway's own follow on.
    assert [int(code) for code in LinkCode] == list(range(9001, 9001 + len(LinkCode)))
    assert LinkCode.ORIGIN_NOT_ADMITTED == 9001
    assert LinkCode.OUTSIDE_TRANSFER_WINDOW == 9004
    assert LinkCode.ARTICLE6_NOT_AUTHORISED == 9006
    assert LinkCode.SIGNATURE_INVALID == 9008
    assert LinkCode.TRANSFER_LIMIT_EXCEEDED == 9010


def test_gateway_error_is_a_registry_error_with_the_code_in_its_message() -> None:
    error = GatewayError(LinkCode.LINK_NOT_ACTIVE, "link x is suspended")
    assert isinstance(error, RegistryError)
    assert error.code is LinkCode.LINK_NOT_ACTIVE
    assert str(error) == "[9005] link x is suspended"


# --- state transitions --------------------------------------------------------

LEGAL = {
    (LinkState.PROPOSED, LinkState.ACTIVE),
    (LinkState.ACTIVE, LinkState.SUSPENDED),
    (LinkState.SUSPENDED, LinkState.ACTIVE),
    (LinkState.ACTIVE, LinkState.TERMINATED),
    (LinkState.SUSPENDED, LinkState.TERMINATED),
}
ALL_PAIRS = list(itertools.product(LinkState, LinkState))


@pytest.mark.parametrize(("start", "end"), sorted(LEGAL))
def test_legal_transition_returns_a_new_link_and_leaves_the_old_one(
    start: LinkState, end: LinkState
) -> None:
    link = _simple("a-b", "AA", "BB", state=start)
    moved = transition(link, end)
    assert moved.state is end
    assert link.state is start
    assert replace(moved, state=start) == link


@pytest.mark.parametrize(("start", "end"), [pair for pair in ALL_PAIRS if pair not in LEGAL])
def test_illegal_transition_is_refused_with_9005_naming_both_states(
    start: LinkState, end: LinkState
) -> None:
    link = _simple("a-b", "AA", "BB", state=start)
    with pytest.raises(GatewayError) as error:
        link.transition(end)
    assert _code(error) == LinkCode.LINK_NOT_ACTIVE
    assert f"from {start} to {end}" in error.value.message


def test_terminated_is_final() -> None:
    assert allowed_transitions(LinkState.TERMINATED) == frozenset()
    with pytest.raises(GatewayError, match="none, it is final"):
        _simple("a-b", "AA", "BB", state=LinkState.TERMINATED).transition(LinkState.ACTIVE)


# --- transfer windows (A20) ---------------------------------------------------


def test_eu_ch_window_is_open_on_tuesday_and_thursday_only_since_2023() -> None:
    link = _eu_ch()
    opens = [link.window_open(MONDAY_NOON + timedelta(days=day)) for day in range(7)]
    assert opens == [False, True, False, True, False, False, False]


def test_a_monday_proposal_waits_for_tuesday() -> None:
    link = _eu_ch()
    assert link.next_opening(MONDAY_NOON) == datetime(2024, 1, 9, 0, 0, tzinfo=BRUSSELS)
    assert link.next_opening(TUESDAY_NOON) == TUESDAY_NOON.astimezone(UTC)


def test_a_wednesday_proposal_waits_for_thursday() -> None:
    expected = datetime(2024, 1, 11, 0, 0, tzinfo=BRUSSELS)
    assert _eu_ch().next_opening(WEDNESDAY_NOON) == expected


def test_window_day_is_decided_in_its_own_time_zone() -> None:
    link = _eu_ch()
    # Monday 23:30 UTC is already Tuesday 00:30 in Brussels (UTC+1 in January).
    assert link.window_open(datetime(2024, 1, 8, 23, 30, tzinfo=UTC))
    # Tuesday 23:30 UTC is Wednesday in Brussels: closed.
    assert not link.window_open(datetime(2024, 1, 9, 23, 30, tzinfo=UTC))
    # Monday 22:30 UTC in summer (UTC+2) is Tuesday 00:30 in Brussels.
    assert link.window_open(datetime(2024, 7, 1, 22, 30, tzinfo=UTC))
    assert not link.window_open(datetime(2024, 7, 1, 21, 30, tzinfo=UTC))


def test_eu_ch_before_2023_uses_the_working_day_window() -> None:
    # Monday 2022-12-05 falls under the pre-2023 stand-in window [U].
    assert _eu_ch().window_open(datetime(2022, 12, 5, 12, tzinfo=BRUSSELS))


def test_window_opens_at_its_local_clock_time_across_a_dst_change() -> None:
    window = TransferWindow(
        weekdays=frozenset(range(7)),
        timezone="America/Los_Angeles",
        opens_minute=9 * 60,
        closes_minute=17 * 60,
    )
    # 2024-03-10 is the first day of Pacific daylight time.
    before = datetime(2024, 3, 9, 18, 0, tzinfo=UTC)  # 10:00 PST on the 9th: open
    assert window.is_open(before)
    after_close = datetime(2024, 3, 10, 2, 0, tzinfo=UTC)  # 18:00 PST on the 9th
    assert window.next_opening(after_close) == datetime(2024, 3, 10, 16, 0, tzinfo=UTC)


def test_window_closes_before_its_closing_minute_and_skips_closed_dates() -> None:
    window = TransferWindow(
        weekdays=frozenset({1}),
        timezone="Europe/Brussels",
        opens_minute=10 * 60,
        closes_minute=16 * 60,
        closed_dates=frozenset({date(2024, 1, 9)}),
    )
    assert not window.is_open(datetime(2024, 1, 16, 16, 0, tzinfo=BRUSSELS))
    assert window.is_open(datetime(2024, 1, 16, 15, 59, tzinfo=BRUSSELS))
    assert window.next_opening(MONDAY_NOON) == datetime(2024, 1, 16, 10, tzinfo=BRUSSELS)


def test_window_with_a_last_day_has_no_opening_after_it() -> None:
    window = TransferWindow(weekdays=frozenset({0}), last_day=date(2024, 1, 8))
    assert window.next_opening(TUESDAY_NOON) is None


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        _eu_ch().window_open(datetime(2024, 1, 9, 12))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weekdays": frozenset()},
        {"weekdays": frozenset({7})},
        {"weekdays": frozenset({1}), "opens_minute": 600, "closes_minute": 600},
        {"weekdays": frozenset({1}), "timezone": "Mars/Olympus_Mons"},
    ],
)
def test_malformed_window_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(Exception):  # noqa: B017 - ValueError or ZoneInfoNotFoundError
        TransferWindow(**kwargs)  # type: ignore[arg-type]


@given(
    st.datetimes(
        min_value=datetime(2023, 1, 1),
        max_value=datetime(2030, 12, 31),
        timezones=st.just(UTC),
    )
)
def test_next_opening_is_open_and_no_earlier_open_minute_was_skipped(moment: datetime) -> None:
    link = _eu_ch()
    opening = link.next_opening(moment)
    assert opening is not None
    assert opening >= moment
    assert link.window_open(opening)
    assert opening - moment < timedelta(days=5)
    if opening > moment:  # every minute between is closed (sampled by the hour)
        step = moment
        while step < opening - timedelta(minutes=1):
            assert not link.window_open(step)
            step += timedelta(hours=1)


# --- the 9xxx checks, each with its code --------------------------------------


def _allows(link: Link, **overrides: object) -> None:
    arguments: dict[str, object] = {
        "from_registry": "EU",
        "to_registry": "CH",
        "unit_type": "EUA",
        "vintage": 2024,
        "origin": "EU",
        "moment": TUESDAY_NOON,
    }
    arguments.update(overrides)
    link.allows(**arguments)  # type: ignore[arg-type]


def test_eu_ch_transfer_on_tuesday_is_allowed_both_ways() -> None:
    link = _eu_ch()
    _allows(link)
    _allows(link, from_registry="CH", to_registry="EU", unit_type="CHU", origin="CH")
    _allows(link, unit_type="EUAA")


def test_units_going_home_are_admitted() -> None:
    # A CHU held in the EU registry may return to Switzerland.
    _allows(_eu_ch(), unit_type="CHU", origin="CH")


def test_third_origin_unit_is_refused_9001() -> None:
    with pytest.raises(GatewayError) as error:
        _allows(_eu_ch(), origin="NO")
    assert _code(error) == LinkCode.ORIGIN_NOT_ADMITTED
    assert "found origin NO" in error.value.message


def test_unit_type_not_on_the_link_is_refused_9001() -> None:
    with pytest.raises(GatewayError) as error:
        _allows(_eu_ch(), unit_type="CER")
    assert _code(error) == LinkCode.ORIGIN_NOT_ADMITTED


def test_vintage_outside_the_range_is_refused_9001() -> None:
    link = replace(_eu_ch(), vintage_first=2021, vintage_last=2030)
    _allows(link, vintage=2021)
    with pytest.raises(GatewayError) as error:
        _allows(link, vintage=2020)
    assert _code(error) == LinkCode.ORIGIN_NOT_ADMITTED
    assert "2021..2030, found 2020" in error.value.message


def test_registries_that_are_not_the_links_parties_are_refused_9002() -> None:
    with pytest.raises(GatewayError) as error:
        _allows(_eu_ch(), to_registry="KR")
    assert _code(error) == LinkCode.DIRECTION_NOT_PERMITTED


def test_au_eu_lets_euas_into_australia() -> None:
    # A21: from 1 Jul 2015 Australian liable entities could use EUAs (one way).
    link = _au_eu_active()
    moment = datetime(2016, 3, 1, tzinfo=UTC)
    link.allows("EU", "AU", "EUA", 2016, "EU", moment)


def test_au_units_into_the_eu_are_refused_9002() -> None:
    # D20: EU acceptance of AU units before the two-way date -> 9002.
    link = replace(_au_eu_active(), unit_types=frozenset({"EUA", "ACU"}))
    moment = datetime(2016, 3, 1, tzinfo=UTC)
    with pytest.raises(GatewayError) as error:
        link.allows("AU", "EU", "ACU", 2016, "AU", moment)
    assert _code(error) == LinkCode.DIRECTION_NOT_PERMITTED
    assert "unilateral EU -> AU" in error.value.message


def test_au_eu_as_shipped_never_operated_and_is_refused_9005() -> None:
    link = _one("australia-eu-interim.toml")
    assert link.state is LinkState.PROPOSED
    with pytest.raises(GatewayError) as error:
        link.allows("EU", "AU", "EUA", 2016, "EU", datetime(2016, 3, 1, tzinfo=UTC))
    assert _code(error) == LinkCode.LINK_NOT_ACTIVE


@pytest.mark.parametrize("state", [LinkState.SUSPENDED, LinkState.TERMINATED])
def test_suspended_or_terminated_link_refuses_9005(state: LinkState) -> None:
    link = _eu_ch().transition(state)
    with pytest.raises(GatewayError) as error:
        _allows(link)
    assert _code(error) == LinkCode.LINK_NOT_ACTIVE
    assert f"is {state}, not active" in error.value.message


def test_before_effective_from_is_refused_9005() -> None:
    # A20: the registry link runs since 21 Sep 2020.
    link = _eu_ch()
    with pytest.raises(GatewayError) as error:
        _allows(link, moment=datetime(2020, 9, 17, 12, tzinfo=BRUSSELS))
    assert _code(error) == LinkCode.LINK_NOT_ACTIVE
    _allows(link, moment=datetime(2020, 9, 22, 12, tzinfo=BRUSSELS))


def test_au_eu_ends_at_its_effective_to() -> None:
    link = _au_eu_active()
    link.allows("EU", "AU", "EUA", 2018, "EU", datetime(2018, 6, 30, 23, 59, tzinfo=UTC))
    with pytest.raises(GatewayError) as error:
        link.allows("EU", "AU", "EUA", 2018, "EU", datetime(2018, 7, 1, tzinfo=UTC))
    assert _code(error) == LinkCode.LINK_NOT_ACTIVE


def test_ontario_units_after_delinking_are_refused_9005() -> None:
    # A22 / D21: Ontario left WCI by law in July 2018.
    on_ca, on_qc = load_links(LINKS_DIR / "ontario-wci.toml")
    for link, other, unit in ((on_ca, "CA", "CCA"), (on_qc, "QC", "QCA")):
        with pytest.raises(GatewayError) as error:
            link.allows(other, "ON", unit, 2018, other, datetime(2018, 3, 1, tzinfo=UTC))
        assert _code(error) == LinkCode.LINK_NOT_ACTIVE


def test_ontario_link_as_it_ran_in_spring_2018_allowed_transfers_until_3_july() -> None:
    (on_ca, _) = load_links(LINKS_DIR / "ontario-wci.toml")
    running = replace(on_ca, state=LinkState.ACTIVE)
    running.allows("ON", "CA", "OCA", 2018, "ON", datetime(2018, 3, 1, tzinfo=UTC))
    with pytest.raises(GatewayError) as error:
        running.allows("ON", "CA", "OCA", 2018, "ON", datetime(2018, 7, 3, tzinfo=UTC))
    assert _code(error) == LinkCode.LINK_NOT_ACTIVE


def test_article6_link_refuses_unauthorised_units_9006_then_missing_adjustment_9007() -> None:
    link = replace(_eu_ch(), article6=True)
    with pytest.raises(GatewayError) as error:
        _allows(link, adjusted=True)
    assert _code(error) == LinkCode.ARTICLE6_NOT_AUTHORISED
    with pytest.raises(GatewayError) as error:
        _allows(link, authorised=True)
    assert _code(error) == LinkCode.CORRESPONDING_ADJUSTMENT_MISSING
    _allows(link, authorised=True, adjusted=True)


def test_account_kind_not_importing_is_refused_2006() -> None:
    link = _eu_ch()
    _allows(link, account_kind=AccountKind.COMPLIANCE)
    with pytest.raises(GatewayError) as error:
        _allows(link, account_kind=AccountKind.RESERVE)
    assert error.value.code is CheckCode.ACQUIRING_ACCOUNT_TYPE_MAY_NOT_HOLD_UNITS


def test_over_2_million_to_a_non_trusted_account_is_refused_9010() -> None:
    # A14 / D24: 2,000,000 allowances per transfer to a non-TAL account since Sept 2023.
    link = _eu_ch()
    _allows(link, quantity_t=2_000_000)
    with pytest.raises(GatewayError) as error:
        _allows(link, quantity_t=2_000_001)
    assert _code(error) == LinkCode.TRANSFER_LIMIT_EXCEEDED
    assert "2,000,001 t" in error.value.message
    _allows(link, quantity_t=2_000_001, trusted=True)


def test_outside_the_window_is_refused_9004_naming_the_next_opening() -> None:
    with pytest.raises(GatewayError) as error:
        _allows(_eu_ch(), moment=MONDAY_NOON)
    assert _code(error) == LinkCode.OUTSIDE_TRANSFER_WINDOW
    assert "2024-01-08T23:00:00+00:00" in error.value.message


def test_first_failed_check_stops_state_before_origin_before_window() -> None:
    suspended = _eu_ch().transition(LinkState.SUSPENDED)
    with pytest.raises(GatewayError) as error:
        _allows(suspended, origin="NO", moment=MONDAY_NOON)
    assert _code(error) == LinkCode.LINK_NOT_ACTIVE
    with pytest.raises(GatewayError) as error:
        _allows(_eu_ch(), origin="NO", moment=MONDAY_NOON)
    assert _code(error) == LinkCode.ORIGIN_NOT_ADMITTED
    with pytest.raises(GatewayError) as error:
        _allows(_eu_ch(), quantity_t=3_000_000, moment=MONDAY_NOON)
    assert _code(error) == LinkCode.TRANSFER_LIMIT_EXCEEDED


def test_au_entity_over_half_its_liability_in_euas_is_refused_9003() -> None:
    # A21 / D20: international units <= 50% of liability.
    link = _au_eu_active()
    link.check_entity_share(foreign_t=500, obligation_t=1_000)
    with pytest.raises(GatewayError) as error:
        link.check_entity_share(foreign_t=501, obligation_t=1_000)
    assert _code(error) == LinkCode.ENTITY_FOREIGN_UNIT_CAP
    assert "501 t of 1,000 t is 50.1%, over the cap of 50% (500 t)" in error.value.message
    with pytest.raises(GatewayError) as error:
        link.check_entity_share(foreign_t=500_001, obligation_t=1_000_000)
    assert "500,001 t of 1,000,000 t is 50.0001%, over the cap of 50%" in error.value.message


def test_link_without_share_cap_accepts_any_share() -> None:
    _eu_ch().check_entity_share(foreign_t=10**9, obligation_t=1)


def test_period_cap_is_refused_9010_when_exceeded() -> None:
    link = replace(_eu_ch(), period_cap_t=1_000)
    link.check_period_cap(moved_in_period_t=900, quantity_t=100)
    with pytest.raises(GatewayError) as error:
        link.check_period_cap(moved_in_period_t=900, quantity_t=101)
    assert _code(error) == LinkCode.TRANSFER_LIMIT_EXCEEDED


def test_exchange_rate_sets_compliance_value_per_receiving_side() -> None:
    link = replace(
        _simple("a-b", "AA", "BB"),
        exchange_rate=Fraction(1, 2),
        exchange_rate_into=(("AA", Fraction(3, 2)),),
    )
    assert link.counts_for("BB", 10) == 5
    assert link.counts_for("AA", 10) == 15
    assert _eu_ch().counts_for("CH", 7) == 7
    with pytest.raises(ValueError):
        link.counts_for("CC", 1)


@pytest.mark.parametrize(
    "overrides",
    [
        {"registry_b": "EU"},
        {"unit_types": frozenset()},
        {"vintage_first": 2030, "vintage_last": 2020},
        {"effective_to": datetime(2019, 1, 1, tzinfo=UTC)},
        {"exchange_rate": Fraction(0)},
        {"entity_share_cap": Fraction(3, 2)},
        {"effective_from": datetime(2020, 1, 1)},
    ],
)
def test_inconsistent_link_is_refused_at_construction(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(_eu_ch(), **overrides)  # type: ignore[arg-type]


# --- the network and indirect links (A25) -------------------------------------


def test_third_origin_units_pass_only_where_the_link_allows_reexport() -> None:
    # NO units reach EU on a NO-EU link; EU-CH without re-export keeps them out of CH.
    no_eu = _simple("no-eu", "NO", "EU", units=frozenset({"EUA", "NOU"}))
    eu_ch = replace(_eu_ch(), windows=())
    network = LinkNetwork((no_eu, eu_ch))
    assert network.may_reach("NO", "NOU", "EU")
    assert not network.may_reach("NO", "NOU", "CH")
    assert not network.route_allowed("NO", ["NO", "EU", "CH"])
    opened = LinkNetwork(
        (no_eu, replace(eu_ch, reexport_allowed=True, unit_types=eu_ch.unit_types | {"NOU"}))
    )
    assert opened.may_reach("NO", "NOU", "CH")
    assert opened.route_allowed("NO", ["NO", "EU", "CH"], unit_type="NOU")


def test_unit_type_not_on_a_link_stops_the_route() -> None:
    network = LinkNetwork((replace(_eu_ch(), windows=()),))
    assert network.may_reach("EU", "EUA", "CH")
    assert not network.may_reach("EU", "CER", "CH")


def test_unilateral_link_is_one_way_in_the_network() -> None:
    network = LinkNetwork((_au_eu_active(),))
    assert network.may_reach("EU", "EUA", "AU")
    assert not network.may_reach("AU", "EUA", "EU")
    assert not network.route_allowed("AU", ["AU", "EU"])


def test_route_must_start_at_the_origin() -> None:
    network = LinkNetwork((_simple("a-b", "AA", "BB"),))
    assert network.route_allowed("AA", ["AA", "BB", "AA"])
    assert not network.route_allowed("AA", ["BB", "AA"])
    assert not network.route_allowed("AA", [])


def test_with_a_moment_only_active_links_in_effect_count() -> None:
    ontario = load_network([LINKS_DIR / "ontario-wci.toml", LINKS_DIR / "california-quebec.toml"])
    assert ontario.may_reach("ON", "OCA", "CA")  # structurally linked
    assert not ontario.may_reach("ON", "OCA", "CA", moment=datetime(2018, 3, 1, tzinfo=UTC))
    assert ontario.may_reach("CA", "CCA", "QC", moment=datetime(2018, 3, 1, tzinfo=UTC))


def test_duplicate_link_ids_in_a_network_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        LinkNetwork((_simple("a-b", "AA", "BB"), _simple("a-b", "BB", "CC")))


REGISTRIES = ["AA", "BB", "CC", "DD", "EE"]
UNITS = ["X", "Y"]


@st.composite
def networks(draw: st.DrawFn) -> LinkNetwork:
    count = draw(st.integers(min_value=0, max_value=8))
    links = []
    for index in range(count):
        a, b = draw(st.lists(st.sampled_from(REGISTRIES), min_size=2, max_size=2, unique=True))
        links.append(
            _simple(
                f"l{index}",
                a,
                b,
                direction=draw(st.sampled_from(Direction)),
                reexport=draw(st.booleans()),
                units=frozenset(draw(st.lists(st.sampled_from(UNITS), min_size=1, unique=True))),
            )
        )
    return LinkNetwork(tuple(links))


def _naive_may_reach(network: LinkNetwork, origin: str, unit: str, target: str) -> bool:
    """Try every simple path from `origin`: the reference model for `may_reach`."""
    if target == origin:
        return True
    others = [registry for registry in REGISTRIES if registry != origin]
    for length in range(1, len(others) + 1):
        for middle in itertools.permutations(others, length):
            path = [origin, *middle]
            if middle[-1] == target and all(
                any(_naive_hop(link, origin, unit, here, there) for link in network.links)
                for here, there in itertools.pairwise(path)
            ):
                return True
    return False


def _naive_hop(link: Link, origin: str, unit: str, here: str, there: str) -> bool:
    one_way = link.direction is Direction.UNILATERAL
    joins = (link.registry_a, link.registry_b) == (here, there) or (
        not one_way and (link.registry_b, link.registry_a) == (here, there)
    )
    third = origin not in (link.registry_a, link.registry_b)
    return joins and unit in link.unit_types and (not third or link.reexport_allowed)


@given(networks(), st.sampled_from(REGISTRIES), st.sampled_from(UNITS))
def test_may_reach_agrees_with_a_naive_path_search(
    network: LinkNetwork, origin: str, unit: str
) -> None:
    for target in REGISTRIES:
        assert network.may_reach(origin, unit, target) == _naive_may_reach(
            network, origin, unit, target
        )


@given(networks(), st.sampled_from(REGISTRIES), st.sampled_from(UNITS), st.data())
def test_every_hop_of_an_allowed_route_obeys_the_reexport_rule(
    network: LinkNetwork, origin: str, unit: str, data: st.DataObject
) -> None:
    path = [origin, *data.draw(st.lists(st.sampled_from(REGISTRIES), max_size=4))]
    allowed = network.route_allowed(origin, path, unit)
    by_hand = all(
        any(_naive_hop(link, origin, unit, here, there) for link in network.links)
        for here, there in itertools.pairwise(path)
    )
    assert allowed == by_hand


# --- the shipped files and the loader -----------------------------------------


def test_every_shipped_link_file_loads() -> None:
    files = sorted(LINKS_DIR.glob("*.toml"))
    assert [path.name for path in files] == [
        "australia-eu-interim.toml",
        "california-quebec.toml",
        "eu-switzerland.toml",
        "ontario-wci.toml",
    ]
    network = load_network(files)
    assert len(network.links) == 5


def test_shipped_eu_ch_matches_its_sources() -> None:
    # A20 (registry link 21 Sep 2020, all allowance types both ways), A14 (2 M).
    link = _eu_ch()
    assert (link.registry_a, link.registry_b, link.direction) == ("EU", "CH", Direction.BILATERAL)
    assert link.unit_types == {"EUA", "EUAA", "CHU", "CHUA"}
    assert link.effective_from == datetime(2020, 9, 21, tzinfo=UTC)
    assert link.per_transfer_limit_t == 2_000_000
    assert link.state is LinkState.ACTIVE


def test_shipped_au_eu_matches_its_sources() -> None:
    # A21: unilateral EU -> AU from 1 Jul 2015, international units <= 50%.
    link = _one("australia-eu-interim.toml")
    assert (link.registry_a, link.registry_b, link.direction) == (
        "EU",
        "AU",
        Direction.UNILATERAL,
    )
    assert link.entity_share_cap == Fraction(1, 2)
    assert link.effective_from == datetime(2015, 7, 1, tzinfo=UTC)


def test_shipped_california_quebec_and_ontario_match_their_sources() -> None:
    ca_qc = _one("california-quebec.toml")
    assert ca_qc.effective_from == datetime(2014, 1, 1, tzinfo=UTC)
    assert ca_qc.direction is Direction.BILATERAL
    for link in load_links(LINKS_DIR / "ontario-wci.toml"):  # A22
        assert link.state is LinkState.TERMINATED
        assert link.effective_from == datetime(2018, 1, 1, tzinfo=UTC)
        assert link.effective_to == datetime(2018, 7, 3, tzinfo=UTC)


GOOD = """
[[link]]
id = "a-b"
registry_a = "AA"
registry_b = "BB"
direction = "bilateral"
state = "active"
unit_types = ["X"]
effective_from = 2020-01-01
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "links.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_file_loads_with_defaults(tmp_path: Path) -> None:
    (link,) = load_links(_write(tmp_path, GOOD))
    assert link.exchange_rate == 1
    assert link.windows == ()
    assert link.per_transfer_limit_t is None


def test_offset_date_time_is_read_exactly(tmp_path: Path) -> None:
    text = GOOD.replace("2020-01-01", "2020-01-01T10:00:00+01:00")
    (link,) = load_links(_write(tmp_path, text))
    assert link.effective_from == datetime(2020, 1, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("edit", "key", "expected"),
    [
        (('direction = "bilateral"', 'direction = "both"'), "link[0].direction", "one of"),
        (('state = "active"', 'state = "live"'), "link[0].state", "one of"),
        (('registry_b = "BB"', 'registry_b = "bb"'), "link[0].registry_b", "capital"),
        (('registry_b = "BB"', 'registry_b = "AA"'), "link[0].registry_b", "same registry"),
        (('unit_types = ["X"]', "unit_types = []"), "link[0].unit_types", "at least one"),
        (('unit_types = ["X"]', 'unit_types = ["eua"]'), "link[0].unit_types", "unit codes"),
        (('id = "a-b"', 'id = "A B"'), "link[0].id", "lower-case"),
        (("effective_from = 2020-01-01", ""), "link[0].effective_from", "missing"),
        (
            ("effective_from = 2020-01-01", "effective_from = 2020-01-01T10:00:00"),
            "link[0].effective_from",
            "UTC offset",
        ),
        (("state", "quantiy = 3\nstate"), "link[0].quantiy", "unknown key"),
        (("state", "exchange_rate = 1.5\nstate"), "link[0].exchange_rate", "expected str"),
        (("state", 'exchange_rate = "0"\nstate'), "link[0].exchange_rate", "rate 1/1000..1000"),
        (("state", 'exchange_rate = "1e400"\nstate'), "link[0].exchange_rate", "no exponent"),
        (("state", 'exchange_rate = "1001"\nstate'), "link[0].exchange_rate", "rate 1/1000..1000"),
        (("state", "period_cap_t = 1_000_000_000_000_001\nstate"), "link[0].period_cap_t", "1..1"),
        (("state", "vintage_last = 9998\nstate"), "link[0].vintage_last", "..2200"),
        (("state", 'entity_share_cap = "3/2"\nstate'), "link[0].entity_share_cap", "<= 1"),
        (("state", "per_transfer_limit_t = 0\nstate"), "link[0].per_transfer_limit_t", "1.."),
        (("state", "period_cap_t = 2.5\nstate"), "link[0].period_cap_t", "whole number"),
        (
            ("state", 'importing_account_kinds = ["vault"]\nstate'),
            "link[0].importing_account_kinds",
            "account kinds",
        ),
        (
            ("state", "effective_to = 2019-01-01\nstate"),
            "link[0].effective_to",
            "after effective_from",
        ),
    ],
)
def test_loader_error_names_file_and_key(
    tmp_path: Path, edit: tuple[str, str], key: str, expected: str
) -> None:
    old, new = edit
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as error:
        load_links(path)
    assert error.value.path == str(path)
    assert error.value.key == key
    assert expected in error.value.message


@pytest.mark.parametrize(
    ("window", "key", "expected"),
    [
        ('weekdays = ["tuesdy"]', "link[0].windows[0].weekdays", "weekday names"),
        (
            'weekdays = ["tuesday"]\ntimezone = "Europe/Brusels"',
            "link[0].windows[0].timezone",
            "IANA",
        ),
        ('weekdays = ["tuesday"]\nopens = "25:00"', "link[0].windows[0].opens", "HH:MM"),
        (
            'weekdays = ["tuesday"]\nopens = "16:00"\ncloses = "10:00"',
            "link[0].windows[0].closes",
            "after 'opens'",
        ),
        (
            'weekdays = ["tuesday"]\nclosed_dates = ["soon"]',
            "link[0].windows[0].closed_dates",
            "dates",
        ),
        ('weekdays = ["tuesday"]\nhours = 3', "link[0].windows[0].hours", "unknown key"),
    ],
)
def test_window_loader_error_names_file_and_key(
    tmp_path: Path, window: str, key: str, expected: str
) -> None:
    path = _write(tmp_path, GOOD + "\n[[link.windows]]\n" + window + "\n")
    with pytest.raises(ConfigError) as error:
        load_links(path)
    assert (error.value.path, error.value.key) == (str(path), key)
    assert expected in error.value.message


def test_file_level_mistakes_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_links(tmp_path / "missing.toml")
    assert error.value.key == "(file)"
    with pytest.raises(ConfigError) as error:
        load_links(_write(tmp_path, "unverified = []\n"))
    assert error.value.key == "link"
    with pytest.raises(ConfigError) as error:
        load_links(_write(tmp_path, GOOD + GOOD))
    assert error.value.key == "link[1].id"
    assert "duplicate" in error.value.message
    with pytest.raises(ConfigError) as error:
        load_links(_write(tmp_path, 'unverified = ["link[0].vintage_last"]\n' + GOOD))
    assert error.value.key == "unverified"
    with pytest.raises(ConfigError) as error:
        load_links(_write(tmp_path, "linkz = 1\n" + GOOD))
    assert error.value.key == "linkz"


def test_rates_windows_and_limits_load_from_a_file(tmp_path: Path) -> None:
    text = GOOD + (
        'exchange_rate = "1/2"\n'
        "period_cap_t = 1000\n"
        'importing_account_kinds = ["compliance"]\n'
        "[link.exchange_rate_into]\n"
        'AA = "3/2"\n'
        "[[link.windows]]\n"
        'weekdays = ["tuesday"]\n'
        'timezone = "Asia/Seoul"\n'
        'opens = "10:00"\n'
        'closes = "16:00"\n'
        "closed_dates = [2024-01-09]\n"
    )
    (link,) = load_links(_write(tmp_path, text))
    assert link.counts_for("BB", 4) == 2
    assert link.counts_for("AA", 4) == 6
    assert link.period_cap_t == 1000
    assert link.importing_account_kinds == {AccountKind.COMPLIANCE}
    (window,) = link.windows
    assert (window.opens_minute, window.closes_minute) == (600, 960)
    seoul = ZoneInfo("Asia/Seoul")
    assert link.next_opening(MONDAY_NOON) == datetime(2024, 1, 16, 10, tzinfo=seoul)


def test_rate_for_a_registry_that_is_not_a_party_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + '[link.exchange_rate_into]\nCC = "2"\n')
    with pytest.raises(ConfigError) as error:
        load_links(path)
    assert error.value.key == "link[0].exchange_rate_into.CC"
