"""Circular-trading detection (reference D4, VAT carousel: flag A → B → C → A within T hours
and wash trades; an alert, not a refusal; DOMAIN.md "Incidents to defend against")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.circular_trading import (
    AccountRef,
    CircularTradingAlert,
    CompletedTransfer,
    CycleEvidence,
    CycleRules,
    find_circular_trading,
)
from gateway.endpoint import TransferOrder
from gateway.journal_transfers import read_transfer_history
from gateway.messages import TransactionStatus
from registry.accounts import AccountKind
from registry.journal import read_entries
from registry.units import UnitBlock
from tests.gateway.federation_builders import OPERATOR, START, TRADER, build_world

T0 = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
A, B, C, D = (AccountRef("EU", name) for name in ("a", "b", "c", "d"))
HOUR = timedelta(hours=1)


def _eua(start: int, end: int) -> tuple[UnitBlock, ...]:
    return (UnitBlock("EU", "EUA", 2024, start, end),)


def _move(
    transfer_id: str,
    source: AccountRef,
    destination: AccountRef,
    hours: float,
    blocks: tuple[UnitBlock, ...],
) -> CompletedTransfer:
    return CompletedTransfer(transfer_id, source, destination, T0 + hours * HOUR, blocks)


def test_a_path_whose_serials_stop_coming_round_needs_the_same_quantity_all_the_way() -> None:
    """Found by the thorough profile: B→C carries serial 1, C→A carries serials 1-10 (so
    serial 1 went on, but the quantity became 10), A→B carries serial 2. Neither the
    serials nor the quantity went round: no alert."""
    transfers = [
        _move("t1", B, C, 0, _eua(1, 1)),
        _move("t2", C, A, 0, _eua(1, 10)),
        _move("t3", A, B, 1, _eua(2, 2)),
    ]

    assert find_circular_trading(transfers).alerts == ()


def test_wash_trade_back_within_the_window_is_flagged_with_the_serials_that_came_back() -> None:
    transfers = [
        _move("t1", A, B, 0, _eua(1, 100)),
        _move("t2", B, A, 71, _eua(51, 150)),
    ]

    report = find_circular_trading(transfers)

    assert report.alerts == (
        CircularTradingAlert(
            CycleEvidence.SERIALS,
            (A, B, A),
            ("t1", "t2"),
            50,
            T0,
            T0 + 71 * HOUR,
            timedelta(hours=72),
        ),
    )
    assert report.searches_cut == 0


def test_wash_trade_back_after_the_window_is_not_flagged() -> None:
    transfers = [_move("t1", A, B, 0, _eua(1, 100)), _move("t2", B, A, 72.5, _eua(1, 100))]

    assert find_circular_trading(transfers).alerts == ()
    # A longer window, configured, sees it.
    rules = CycleRules(window=timedelta(hours=96))
    assert [alert.transfer_ids for alert in find_circular_trading(transfers, rules).alerts] == [
        ("t1", "t2")
    ]


def test_return_before_the_outward_transfer_is_not_a_cycle() -> None:
    transfers = [_move("back", B, A, 0, _eua(1, 100)), _move("out", A, B, 1, _eua(1, 100))]

    # B → A → B is a cycle from B; A → B → A is not: the units came back before they left.
    (alert,) = find_circular_trading(transfers).alerts
    assert alert.accounts == (B, A, B)


def test_same_quantity_in_other_serials_is_a_weak_quantity_cycle() -> None:
    transfers = [
        _move("t1", A, B, 0, _eua(1, 500)),
        _move("t2", B, C, 5, _eua(1_001, 1_500)),
        _move("t3", C, A, 9, _eua(2_001, 2_500)),
    ]

    (alert,) = find_circular_trading(transfers).alerts

    assert alert.evidence is CycleEvidence.QUANTITY
    assert alert.accounts == (A, B, C, A)
    assert alert.quantity_t == 500


def test_other_serials_and_another_quantity_are_not_a_cycle_unless_tolerated() -> None:
    transfers = [
        _move("t1", A, B, 0, _eua(1, 500)),
        _move("t2", B, A, 5, _eua(1_001, 1_480)),  # 480 t: 4% less
    ]

    assert find_circular_trading(transfers).alerts == ()
    tolerant = CycleRules(quantity_tolerance=Fraction(5, 100))
    (alert,) = find_circular_trading(transfers, tolerant).alerts
    assert alert.evidence is CycleEvidence.QUANTITY and alert.quantity_t == 480


def test_chain_that_does_not_close_is_not_flagged() -> None:
    transfers = [
        _move("t1", A, B, 0, _eua(1, 100)),
        _move("t2", B, C, 1, _eua(1, 100)),
        _move("t3", C, D, 2, _eua(1, 100)),
    ]

    assert find_circular_trading(transfers).alerts == ()


def test_cycle_longer_than_hops_max_is_not_flagged() -> None:
    accounts = [AccountRef("EU", f"x{index}") for index in range(4)]
    transfers = [
        _move(f"t{index}", accounts[index], accounts[(index + 1) % 4], index, _eua(1, 10))
        for index in range(4)
    ]

    assert find_circular_trading(transfers, CycleRules(hops_max=3)).alerts == ()
    assert len(find_circular_trading(transfers, CycleRules(hops_max=4)).alerts) == 1


def test_trade_through_exchange_custody_back_to_the_seller_is_flagged() -> None:
    custody = AccountRef("EU", "custody")
    transfers = [
        _move("sell-a", A, custody, 0, _eua(1, 100)),
        _move("buy-b", custody, B, 1, _eua(1, 100)),
        _move("sell-b", B, custody, 2, _eua(1, 100)),
        _move("buy-a", custody, A, 3, _eua(1, 100)),
    ]

    report = find_circular_trading(transfers, intermediaries=frozenset({custody}))

    assert [alert.accounts for alert in report.alerts] == [(A, custody, B, custody, A)]
    # Without naming custody an intermediary, only 2-cycles through it show, not A-B-A.
    plain = find_circular_trading(transfers)
    assert {alert.hops for alert in plain.alerts} == {2}


def test_a_search_cut_short_by_its_limit_is_counted() -> None:
    fan_out = [
        _move(f"f{index}", B, AccountRef("EU", f"y{index}"), 1, _eua(1, 10)) for index in range(50)
    ]
    transfers = [_move("t1", A, B, 0, _eua(1, 10)), *fan_out, _move("back", B, A, 2, _eua(1, 10))]

    report = find_circular_trading(transfers, CycleRules(steps_per_start_max=10))

    assert report.searches_cut == 1
    assert report.alerts == ()


def test_cycle_across_two_registries_through_the_gateway_is_flagged() -> None:
    world = build_world()
    federation = world.federation
    eu, ch = world.registry("EU"), world.registry("CH")
    eu_trader = eu.account(TRADER).account_id
    ch_trader = ch.account(TRADER).account_id
    ch_operator = ch.account(OPERATOR).account_id
    out = TransferOrder("eu-ch-1", eu_trader, "CH", ch_trader, "EUA", 300, 2024)
    assert federation.transfer("EU", out) is TransactionStatus.COMPLETED
    world.clock.set(START + 2 * HOUR)
    ch.transfer(ch_trader, ch_operator, "EUA", 300, 2024)
    world.clock.set(START + 48 * HOUR)  # Thursday: an EU-CH transfer day
    home = TransferOrder("ch-eu-1", ch_operator, "EU", eu_trader, "EUA", 300, 2024)
    assert federation.transfer("CH", home) is TransactionStatus.COMPLETED
    federation.flush()

    history = read_transfer_history(
        {code: read_entries(world.engine, code) for code in ("EU", "CH", "AU")}
    )
    report = find_circular_trading(history.transfers, intermediaries=history.custody_accounts)

    (alert,) = report.alerts
    assert alert.evidence is CycleEvidence.SERIALS
    assert alert.accounts == (
        AccountRef("EU", eu_trader),
        AccountRef("CH", ch_trader),
        AccountRef("CH", ch_operator),
        AccountRef("EU", eu_trader),
    )
    assert alert.transfer_ids[0] == "eu-ch-1" and alert.transfer_ids[2] == "ch-eu-1"
    assert alert.quantity_t == 300
    assert history.unmatched_imports == ()
    custody = eu.account("custody")
    assert custody.kind is AccountKind.EXCHANGE_CUSTODY
    assert AccountRef("EU", custody.account_id) in history.custody_accounts


def test_rules_refuse_a_window_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="window must be positive"):
        CycleRules(window=timedelta(0))


# ---------------------------------------------------------------- properties

ACCOUNTS = [AccountRef(registry, f"n{index}") for registry in ("EU", "CH") for index in range(6)]
WINDOW = timedelta(hours=72)
NOISE_SERIAL_MAX = 10_000


@st.composite
def _noise(draw: st.DrawFn) -> list[CompletedTransfer]:
    count = draw(st.integers(0, 60))
    transfers = []
    for index in range(count):
        source, destination = draw(
            st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2, unique=True)
        )
        start = draw(st.integers(1, NOISE_SERIAL_MAX - 50))
        size = draw(st.sampled_from([1, 10, 50]))
        hours = draw(st.integers(0, 400))
        transfers.append(
            _move(f"n{index}", source, destination, hours, _eua(start, start + size - 1))
        )
    return transfers


def _is_real_cycle(alert: CircularTradingAlert, by_id: dict[str, CompletedTransfer]) -> bool:
    """Check an alert against the input alone (module docstring's definition)."""
    steps = [by_id[transfer_id] for transfer_id in alert.transfer_ids]
    chained = all(
        step.source == alert.accounts[index] and step.destination == alert.accounts[index + 1]
        for index, step in enumerate(steps)
    )
    inner = alert.accounts[1:-1]
    simple = alert.accounts[0] not in inner and len(set(inner)) == len(inner)
    timed = all(before.at <= after.at for before, after in pairwise(steps))
    within = steps[-1].at - steps[0].at <= WINDOW and 2 <= len(steps) <= 6
    if alert.evidence is CycleEvidence.SERIALS:
        shared = {
            serial for block in steps[0].blocks for serial in range(block.start, block.end + 1)
        }
        for step in steps[1:]:
            shared &= {s for block in step.blocks for s in range(block.start, block.end + 1)}
        evidence = len(shared) == alert.quantity_t > 0
    else:
        evidence = len({step.quantity_t for step in steps}) == 1
    return chained and simple and timed and within and evidence


@given(_noise())
def test_every_alert_is_a_real_cycle_within_the_window(transfers: list[CompletedTransfer]) -> None:
    by_id = {transfer.transfer_id: transfer for transfer in transfers}

    report = find_circular_trading(transfers)

    assert report.searches_cut == 0
    for alert in report.alerts:
        assert _is_real_cycle(alert, by_id), alert
    assert len({alert.transfer_ids for alert in report.alerts}) == len(report.alerts)


@given(
    _noise(),
    st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=6, unique=True),
    st.integers(0, 300),
    st.lists(st.integers(0, 14), min_size=6, max_size=6),
    st.data(),
)
def test_every_planted_cycle_within_the_window_is_found(
    noise: list[CompletedTransfer],
    path: list[AccountRef],
    start_hour: int,
    gaps_hours: list[int],
    data: st.DataObject,
) -> None:
    # Planted serials lie above the noise's, with a quantity the noise never moves.
    serials = _eua(NOISE_SERIAL_MAX + 1, NOISE_SERIAL_MAX + 7)
    planted = []
    hour = start_hour
    for index, source in enumerate(path):
        destination = path[(index + 1) % len(path)]
        planted.append(_move(f"p{index}", source, destination, hour, serials))
        hour += gaps_hours[index]
    positions = sorted(
        data.draw(st.lists(st.integers(0, len(noise)), min_size=len(path), max_size=len(path)))
    )
    transfers = list(noise)
    for offset, (position, transfer) in enumerate(zip(positions, planted, strict=True)):
        transfers.insert(position + offset, transfer)
    within = planted[-1].at - planted[0].at <= WINDOW

    report = find_circular_trading(transfers)

    planted_ids = tuple(transfer.transfer_id for transfer in planted)
    found = [alert for alert in report.alerts if alert.transfer_ids == planted_ids]
    assert report.searches_cut == 0
    assert len(found) == (1 if within else 0)
    if within:
        assert found[0].evidence is CycleEvidence.SERIALS and found[0].quantity_t == 7
