"""Reconciliation of each registry's record of link crossings against the gateway's.

Rules from shared/reference/registry-and-linking.md: A10 (three phases,
Kyoto/UK reconciliation statuses) and D16 (reconciliation drift: a lost
notification or a double-applied block must be detected). The gateway's
record here is a hand-kept stub, `GatewayRecord`. It notes each completed
crossing the way the gateway does, and it stands beside two real ledgers.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import GatewayError, LinkCode
from gateway.messages import TransactionStatus
from gateway.reconciliation import (
    SIGNATURE_DOMAIN,
    HoldingsStatement,
    ReconciliationStatus,
    Side,
    SignedStatement,
    TotalsRow,
    block_hash,
    canonical_ranges,
    reconcile,
    sign_statement,
    statement_from_ledger,
)
from gateway.trust import TrustStore
from registry import canonical
from registry.accounts import AccountKind
from registry.events import LockPurpose
from registry.keys import SigningKey
from registry.ledger import SERIAL_MAX, Ledger
from registry.serial_ranges import RangeSet
from registry.units import UnitBlock, UnitKind, UnitType

EUA = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
CHU = UnitType("CHU", UnitKind.ALLOWANCE, "CH")
EUA_2021 = ("EU", "EUA", 2021)
CHU_2021 = ("CH", "CHU", 2021)
AS_OF = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
AS_OF_TEXT = "2026-03-03T18:00:00Z"
LABELS = ("operator", "trader", "custody")

EU_SIGNING = SigningKey.generate()
CH_SIGNING = SigningKey.generate()

COMPLETED = ReconciliationStatus.COMPLETED
TOTALS = LinkCode.RECONCILIATION_TOTALS_INCONSISTENT
BLOCKS = LinkCode.RECONCILIATION_BLOCKS_INCONSISTENT


class GatewayRecord:
    """The gateway's record of crossings, per registry, noted as each transfer completes."""

    def __init__(self, *codes: str) -> None:
        self.foreign: dict[str, dict[tuple[str, str, int], RangeSet]] = {c: {} for c in codes}
        self.away: dict[str, dict[tuple[str, str, int], RangeSet]] = {c: {} for c in codes}

    def note(self, from_registry: str, to_registry: str, blocks: tuple[UnitBlock, ...]) -> None:
        for block in blocks:
            key, start, end = block.serial_key, block.start, block.end
            if block.origin == from_registry:
                self.away[from_registry].setdefault(key, RangeSet()).add(start, end)
            else:
                self.foreign[from_registry][key].remove(start, end)
            if block.origin == to_registry:
                self.away[to_registry][key].remove(start, end)
            else:
                self.foreign[to_registry].setdefault(key, RangeSet()).add(start, end)

    def reconcile(self, ledger: Ledger) -> Any:
        statement = statement_from_ledger(ledger, AS_OF)
        return reconcile(ledger.code, self.foreign[ledger.code], self.away[ledger.code], statement)


def two_registries() -> tuple[Ledger, Ledger, GatewayRecord]:
    """The EU and Swiss registries, each with 1,000 t of its own allowances, and the gateway."""
    eu, ch = Ledger(), Ledger()
    eu.create("EU", "Union Registry")
    ch.create("CH", "Swiss Emissions Trading Registry")
    for ledger in (eu, ch):
        ledger.register_unit_type(EUA)
        ledger.register_unit_type(CHU)
        ledger.open_account(AccountKind.COMPLIANCE, "Operator", "operator")
        ledger.open_account(AccountKind.TRADING, "Trader", "trader")
        ledger.open_account(AccountKind.EXCHANGE_CUSTODY, "Exchange", "custody")
    for ledger, unit_type in ((eu, "EUA"), (ch, "CHU")):
        ledger.issue(unit_type, 2021, 1_000)
        issuance = ledger.singleton(AccountKind.ISSUANCE).account_id
        ledger.allocate(issuance, "operator", unit_type, 1_000)
    return eu, ch, GatewayRecord("EU", "CH")


_transfer_ids = itertools.count(1)


def send(
    source: Ledger,
    target: Ledger,
    gateway: GatewayRecord | None,
    unit_type: str,
    quantity: int,
    from_label: str = "operator",
    to_label: str = "trader",
) -> tuple[UnitBlock, ...]:
    """Run one completed transfer: lock, import, export; the gateway notes it unless None."""
    transfer_id = f"T{next(_transfer_ids)}"
    locked = source.lock(
        transfer_id, from_label, unit_type, quantity, LockPurpose.EXTERNAL_TRANSFER
    )
    target.import_blocks(transfer_id, source.code, to_label, locked.blocks)
    source.export_locked(transfer_id, transfer_id, target.code)
    if gateway is not None:
        gateway.note(source.code, target.code, locked.blocks)
    return locked.blocks


def crossed() -> tuple[Ledger, Ledger, GatewayRecord]:
    """EUA 1-300 to CH, 1-100 of them back home; CHU 1-200 to EU, spread over two accounts."""
    eu, ch, gateway = two_registries()
    send(eu, ch, gateway, "EUA", 300)
    send(ch, eu, gateway, "CHU", 200)
    send(ch, eu, gateway, "EUA", 100, from_label="trader", to_label="operator")
    eu.transfer("trader", "custody", "CHU", 50)
    return eu, ch, gateway


def _statement(**changes: Any) -> HoldingsStatement:
    fields: dict[str, Any] = {
        "registry": "EU",
        "as_of": AS_OF_TEXT,
        "foreign": {CHU_2021: ((1, 200),)},
        "away": {EUA_2021: ((101, 300), (401, 500))},
    }
    fields.update(changes)
    return HoldingsStatement(**fields)


def _trust() -> TrustStore:
    store = TrustStore()
    store.add("EU", EU_SIGNING.verify_key)
    store.add("CH", CH_SIGNING.verify_key)
    return store


def _serial_counts(ranges: Any) -> Counter[int]:
    return Counter(serial for start, end in ranges for serial in range(start, end + 1))


# ---------------------------------------------------------------- statuses and hashes


def test_reconciliation_statuses_keep_the_kyoto_and_uk_numbering():
    # Reference A10: ITLReconciliationStatus 0-7, the UK adds 98 and 99.
    assert {status.name: int(status) for status in ReconciliationStatus} == {
        "CONFIRMED": 0,
        "INITIATED": 1,
        "VALIDATED": 2,
        "TOTALS_INCONSISTENT": 3,
        "UNIT_BLOCKS_INCONSISTENT": 4,
        "COMPLETED": 5,
        "COMPLETED_WITH_MANUAL_INTERVENTION": 6,
        "START_REQUEST_DENIED": 7,
        "TOTALS_BY_ACCOUNT_TYPE_INCONSISTENT": 98,
        "MANUAL_INTERVENTION_REQUIRED": 99,
    }


def test_a_printed_reconciliation_status_is_never_taken_for_a_transfer_status():
    # Transfer status 5 is TERMINATED: a bare "COMPLETED (5)" would read as a contradiction.
    transfer_labels = {f"{status.name} ({int(status)})" for status in TransactionStatus}
    for status in ReconciliationStatus:
        assert status.label.startswith("reconciliation ")
        assert not any(label in status.label for label in transfer_labels)
    assert ReconciliationStatus.COMPLETED.label == "reconciliation COMPLETED (5)"


def test_block_hash_is_sha256_over_the_canonical_ranges_in_any_order():
    # Pinned so that another implementation of either side can compute the same hash.
    expected = hashlib.sha256(b"[[1,300],[401,500]]").hexdigest()
    assert block_hash([(1, 300), (401, 500)]) == expected
    assert block_hash([(401, 500), (1, 150), (151, 300)]) == expected
    assert block_hash([(1, 300), (401, 501)]) != expected
    assert block_hash([]) == hashlib.sha256(b"[]").hexdigest()


def test_canonical_ranges_merge_neighbours_and_write_a_serial_held_twice_twice():
    assert canonical_ranges([(151, 300), (1, 150), (401, 500)]) == ((1, 300), (401, 500))
    assert canonical_ranges([(1, 10), (5, 15)]) == ((1, 15), (5, 10))
    assert canonical_ranges([(5, 15), (1, 10)]) == canonical_ranges([(1, 15), (5, 10)])
    assert canonical_ranges([(1, 10), (1, 10), (1, 10)]) == ((1, 10),) * 3


# ---------------------------------------------------------------- agreeing registries


def test_registries_that_agree_with_the_gateway_reconcile_completed():
    eu, ch, gateway = crossed()
    eu_report, ch_report = gateway.reconcile(eu), gateway.reconcile(ch)
    assert eu_report.status is COMPLETED and eu_report.is_consistent
    assert ch_report.status is COMPLETED and ch_report.is_consistent
    assert eu_report.discrepancies == () and ch_report.discrepancies == ()
    assert eu_report.rows == (
        TotalsRow(Side.FOREIGN, CHU_2021, 200, 200, COMPLETED),
        TotalsRow(Side.AWAY, EUA_2021, 200, 200, COMPLETED),
    )
    assert ch_report.rows == (
        TotalsRow(Side.FOREIGN, EUA_2021, 200, 200, COMPLETED),
        TotalsRow(Side.AWAY, CHU_2021, 200, 200, COMPLETED),
    )
    # The foreign CHU sit in two EU accounts; the statement merges them.
    statement = statement_from_ledger(eu, AS_OF)
    assert statement == _statement(away={EUA_2021: ((101, 300),)})
    assert eu_report.as_of == AS_OF_TEXT


def test_empty_range_sets_in_the_gateways_record_count_as_absent():
    eu, ch, gateway = two_registries()
    send(eu, ch, gateway, "EUA", 300)
    send(ch, eu, gateway, "EUA", 300, from_label="trader", to_label="operator")
    assert gateway.away["EU"][EUA_2021] == RangeSet()  # kept, but empty
    report = gateway.reconcile(eu)
    assert report.status is COMPLETED
    assert report.rows == ()


# ---------------------------------------------------------------- broken on purpose (D16)
#
# The ledger refuses to hold a serial twice (10005, 10006) and asserts against a
# double import, so no command can break it. These tests forge, through the
# account's holding or the ledger's private records, the state a storage or
# replay bug would leave, and check that reconciliation catches it.


def test_a_block_dropped_from_a_holding_is_a_totals_discrepancy_naming_the_missing_serials():
    eu, ch, gateway = crossed()
    ch.account("trader").holding.remove(UnitBlock("EU", "EUA", 2021, 151, 200))
    report = gateway.reconcile(ch)
    assert report.status is ReconciliationStatus.TOTALS_INCONSISTENT
    assert not report.is_consistent
    [found] = report.discrepancies
    assert (found.code, found.side, found.key) == (TOTALS, Side.FOREIGN, EUA_2021)
    assert (found.gateway_total_t, found.registry_total_t) == (200, 150)
    assert (found.missing, found.extra) == (((151, 200),), ())
    assert found.gateway_hash == block_hash([(101, 300)])
    assert found.registry_hash == block_hash([(101, 150), (201, 300)])
    for words in ("registry CH", "EU EUA 2021", "200 t", "150 t", "serials 151-200 (50 t)"):
        assert words in found.message
    assert gateway.reconcile(eu).is_consistent  # EU's own record of its serials abroad is sound


@pytest.mark.parametrize("second_account", ["trader", "operator"])
def test_a_double_applied_import_shows_the_serials_held_twice_as_extra(second_account: str):
    eu, ch, gateway = two_registries()
    [block] = send(eu, ch, gateway, "EUA", 300)
    ch.account(second_account).holding.add(block)  # the same import credited a second time
    report = gateway.reconcile(ch)
    [found] = report.discrepancies
    assert (found.code, found.side, found.key) == (TOTALS, Side.FOREIGN, EUA_2021)
    assert (found.gateway_total_t, found.registry_total_t) == (300, 600)
    assert (found.missing, found.extra) == ((), ((1, 300),))
    assert report.status is ReconciliationStatus.TOTALS_INCONSISTENT


def test_equal_totals_over_different_serials_is_a_blocks_discrepancy():
    _eu, ch, gateway = crossed()
    trader = ch.account("trader").holding
    trader.remove(UnitBlock("EU", "EUA", 2021, 101, 110))
    trader.add(UnitBlock("EU", "EUA", 2021, 301, 310))  # serials EU still holds
    report = gateway.reconcile(ch)
    assert report.status is ReconciliationStatus.UNIT_BLOCKS_INCONSISTENT
    [found] = report.discrepancies
    assert (found.code, found.side, found.key) == (BLOCKS, Side.FOREIGN, EUA_2021)
    assert (found.gateway_total_t, found.registry_total_t) == (200, 200)
    assert found.gateway_hash != found.registry_hash
    assert (found.missing, found.extra) == (((101, 110),), ((301, 310),))
    assert "totals agree at 200 t but the serials differ" in found.message
    assert report.rows[0].status is ReconciliationStatus.UNIT_BLOCKS_INCONSISTENT


def test_a_completion_the_gateway_never_recorded_shows_at_both_registries():
    eu, ch, gateway = two_registries()
    send(eu, ch, None, "EUA", 300)  # the gateway's record missed the completion
    eu_report, ch_report = gateway.reconcile(eu), gateway.reconcile(ch)
    [away] = eu_report.discrepancies
    [foreign] = ch_report.discrepancies
    assert (away.side, away.key, away.gateway_total_t, away.registry_total_t) == (
        Side.AWAY,
        EUA_2021,
        0,
        300,
    )
    assert (foreign.side, foreign.key, foreign.extra) == (Side.FOREIGN, EUA_2021, ((1, 300),))
    assert (away.missing, away.extra) == ((), ((1, 300),))
    assert "EU's own EUA 2021 units held abroad (away)" in away.message


def test_an_away_record_that_lost_serials_is_a_discrepancy_on_the_away_side():
    eu, _ch, gateway = crossed()
    eu._away[EUA_2021].remove(201, 250)  # private: no command forgets a serial abroad
    report = gateway.reconcile(eu)
    [found] = report.discrepancies
    assert (found.code, found.side, found.key) == (TOTALS, Side.AWAY, EUA_2021)
    assert (found.missing, found.extra) == (((201, 250),), ())
    assert report.rows[0].status is COMPLETED  # the foreign side still agrees


def test_report_data_is_canonical_json_for_the_cli():
    _eu, ch, gateway = crossed()
    ch.account("trader").holding.remove(UnitBlock("EU", "EUA", 2021, 151, 200))
    data = canonical.decode(canonical.encode(gateway.reconcile(ch).to_data()))
    assert (data["registry"], data["as_of"], data["status"]) == ("CH", AS_OF_TEXT, 3)
    assert data["status_name"] == "TOTALS_INCONSISTENT"
    [found] = data["discrepancies"]
    assert (found["code"], found["side"], found["missing"], found["extra"]) == (
        9020,
        "foreign",
        [[151, 200]],
        [],
    )
    assert data["rows"][1] == {
        "side": "away",
        "origin": "CH",
        "unit_type": "CHU",
        "vintage": 2021,
        "gateway_total_t": 200,
        "registry_total_t": 200,
        "status": "COMPLETED",
    }


def test_a_statement_from_another_registry_is_refused():
    _eu, ch, gateway = crossed()
    statement = statement_from_ledger(ch, AS_OF)
    with pytest.raises(GatewayError) as caught:
        reconcile("EU", gateway.foreign["EU"], gateway.away["EU"], statement)
    assert caught.value.code == LinkCode.MESSAGE_MALFORMED


def test_a_gateway_record_on_the_wrong_side_is_a_programming_error():
    misplaced = {EUA_2021: RangeSet([(1, 10)])}  # EU's own serials cannot be foreign in EU
    with pytest.raises(ValueError, match="its own serials are away"):
        reconcile("EU", misplaced, {}, _statement(foreign={}, away={}))


# ---------------------------------------------------------------- a reference model


_PIECES = st.lists(
    st.tuples(st.integers(1, 40), st.integers(0, 8)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=6,
)


@given(reported=_PIECES, recorded=_PIECES)
def test_discrepancy_serials_match_a_serial_count_model(
    reported: list[tuple[int, int]], recorded: list[tuple[int, int]]
):
    """Per serial: missing = gateway count - registry count, extra the reverse (floored at 0)."""
    gateway_set = RangeSet()
    for serial in sorted(_serial_counts(recorded)):
        gateway_set.add(serial, serial)
    registry_counts = _serial_counts(reported)
    foreign = {EUA_2021: canonical_ranges(reported)} if reported else {}
    statement = HoldingsStatement("CH", AS_OF_TEXT, foreign, {})
    assert _serial_counts(statement.foreign.get(EUA_2021, ())) == registry_counts
    report = reconcile("CH", {EUA_2021: gateway_set}, {}, statement)
    gateway_counts = _serial_counts(gateway_set)
    missing = gateway_counts - registry_counts  # Counter subtraction floors at zero
    extra = registry_counts - gateway_counts
    if not missing and not extra:
        assert report.status is COMPLETED and report.discrepancies == ()
        return
    [found] = report.discrepancies
    assert _serial_counts(found.missing) == missing
    assert _serial_counts(found.extra) == extra
    assert (found.gateway_total_t, found.registry_total_t) == (
        gateway_counts.total(),
        registry_counts.total(),
    )
    same_total = gateway_counts.total() == registry_counts.total()
    assert found.code is (BLOCKS if same_total else TOTALS)


# ---------------------------------------------------------------- random crossings


_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["EU", "CH"]),  # where the units are
        st.booleans(),  # across the link, else between two accounts of the same registry
        st.sampled_from(["EUA", "CHU"]),
        st.sampled_from(["operator", "trader"]),
        st.sampled_from(["operator", "trader"]),
        st.integers(1, 100),  # percent of the account's balance
    ),
    max_size=12,
)


def random_crossings(operations: list[Any]) -> tuple[Ledger, Ledger, GatewayRecord]:
    """Cross 100 t each way into custody accounts, which stay put, then run `operations`."""
    eu, ch, gateway = two_registries()
    send(eu, ch, gateway, "EUA", 100, to_label="custody")
    send(ch, eu, gateway, "CHU", 100, to_label="custody")
    ledgers = {"EU": eu, "CH": ch}
    for where, crosses, unit_type, from_label, to_label, percent in operations:
        source = ledgers[where]
        balance = source.account(from_label).holding.balance(unit_type)
        if not balance:
            continue
        quantity = max(1, balance * percent // 100)
        if crosses:
            target = ch if source is eu else eu
            send(source, target, gateway, unit_type, quantity, from_label, to_label)
        elif from_label != to_label:
            source.transfer(from_label, to_label, unit_type, quantity)
    return eu, ch, gateway


@given(operations=_OPERATIONS)
def test_random_crossings_always_reconcile(operations: list[Any]):
    eu, ch, gateway = random_crossings(operations)
    for ledger in (eu, ch):
        ledger.check_conservation()
        report = gateway.reconcile(ledger)
        assert report.status is COMPLETED, [d.message for d in report.discrepancies]
        statement = statement_from_ledger(ledger, AS_OF)
        # What the accounts hold agrees with the ledger's own foreign record.
        assert statement.foreign == {k: tuple(v) for k, v in ledger.foreign().items()}
        data = canonical.decode(canonical.encode(statement.to_data()))
        assert HoldingsStatement.from_data(data) == statement


def _sub_range(data: st.DataObject, start: int, end: int) -> tuple[int, int]:
    low = data.draw(st.integers(start, end))
    return low, data.draw(st.integers(low, end))


def _corruptions(ledger: Ledger) -> dict[str, list[Any]]:
    """Return, per kind of corruption, what in `ledger` it could be applied to."""
    held = [(record, block) for record in ledger.accounts() for block in record.holding.blocks()]
    return {
        "drop a foreign holding": [item for item in held if item[1].origin != ledger.code],
        "hold foreign serials twice": [item for item in held if item[1].origin != ledger.code],
        "forget serials abroad": [
            (key, piece) for key, ranges in ledger.away().items() for piece in ranges
        ],
        "invent serials abroad": [item for item in held if item[1].origin == ledger.code],
    }


def corrupt(ledger: Ledger, data: st.DataObject) -> tuple[Side, Any, Any, Any]:
    """Break one serial range of `ledger` and return the expected (side, key, missing, extra)."""
    options = {kind: items for kind, items in _corruptions(ledger).items() if items}
    kind = data.draw(st.sampled_from(sorted(options)))
    target = data.draw(st.sampled_from(options[kind]))
    if kind == "forget serials abroad":
        key, (start, end) = target
        piece = _sub_range(data, start, end)
        ledger._away[key].remove(*piece)  # private: no command forgets a serial abroad
        return Side.AWAY, key, (piece,), ()
    record, block = target
    piece = _sub_range(data, block.start, block.end)
    if kind == "drop a foreign holding":
        record.holding.remove(block.with_range(*piece))
        return Side.FOREIGN, block.serial_key, (piece,), ()
    if kind == "hold foreign serials twice":
        others = [label for label in LABELS if ledger.account(label) is not record]
        other = data.draw(st.sampled_from(others))
        ledger.account(other).holding.add(block.with_range(*piece))
        return Side.FOREIGN, block.serial_key, (), (piece,)
    # Private: a serial at home recorded as abroad is what a half-applied export leaves.
    ledger._away.setdefault(block.serial_key, RangeSet()).add(*piece)
    return Side.AWAY, block.serial_key, (), (piece,)


@given(operations=_OPERATIONS, data=st.data())
def test_any_single_range_corruption_is_detected_on_its_side_and_key(
    operations: list[Any], data: st.DataObject
):
    eu, ch, gateway = random_crossings(operations)
    broken = data.draw(st.sampled_from([eu, ch]))
    side, key, missing, extra = corrupt(broken, data)
    report = gateway.reconcile(broken)
    assert report.status is ReconciliationStatus.TOTALS_INCONSISTENT
    found = [(d.code, d.side, d.key, d.missing, d.extra) for d in report.discrepancies]
    assert found == [(TOTALS, side, key, missing, extra)]
    assert gateway.reconcile(ch if broken is eu else eu).is_consistent


# ---------------------------------------------------------------- data and signatures


def test_a_statement_round_trips_through_canonical_bytes():
    statement = _statement()
    data = canonical.decode(canonical.encode(statement.to_data()))
    assert data["away"] == [
        {"origin": "EU", "unit_type": "EUA", "vintage": 2021, "ranges": [[101, 300], [401, 500]]}
    ]
    assert HoldingsStatement.from_data(data) == statement


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(data: dict[str, Any]) -> Any:
        place: Any = data
        for step in path[:-1]:
            place = place[step]
        place[path[-1]] = value
        return data

    return change


_CHU_ENTRY = {"origin": "CH", "unit_type": "CHU", "vintage": 2021, "ranges": [[1, 200]]}
_CHU_2020 = {"origin": "CH", "unit_type": "CHU", "vintage": 2020, "ranges": [[1, 5]]}

MALFORMED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "not a dict": lambda data: [data],
    "missing field": lambda data: {k: v for k, v in data.items() if k != "as_of"},
    "unknown field": lambda data: {**data, "total_t": 300},
    "float vintage": _set(("foreign", 0, "vintage"), 2021.0),
    "bool vintage": _set(("foreign", 0, "vintage"), True),
    "vintage out of range": _set(("foreign", 0, "vintage"), 1800),
    "unsorted ranges": _set(("away", 0, "ranges"), [[401, 500], [101, 300]]),
    "unmerged neighbours": _set(("away", 0, "ranges"), [[101, 300], [301, 350]]),
    "start after end": _set(("away", 0, "ranges"), [[300, 101]]),
    "serial zero": _set(("away", 0, "ranges"), [[0, 5]]),
    "serial over the maximum": _set(("away", 0, "ranges"), [[1, SERIAL_MAX + 1]]),
    "three-part range": _set(("away", 0, "ranges"), [[1, 5, 9]]),
    "ranges not a list": _set(("away", 0, "ranges"), "101-300"),
    "no ranges": _set(("away", 0, "ranges"), []),
    "own origin on the foreign side": _set(("foreign", 0, "origin"), "EU"),
    "other origin on the away side": _set(("away", 0, "origin"), "CH"),
    "unit type not alphanumeric": _set(("foreign", 0, "unit_type"), "CH-U"),
    "repeated serial space": _set(("foreign",), [_CHU_ENTRY, _CHU_ENTRY]),
    "serial spaces out of order": _set(("foreign",), [_CHU_ENTRY, _CHU_2020]),
    "time not canonical": _set(("as_of",), "2026-3-3T18:00:00Z"),
    "not a time": _set(("as_of",), "yesterday"),
    "registry code lower case": _set(("registry",), "eu"),
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_statement_data_is_refused_with_9013(change: Callable[[Any], Any]):
    data = change(copy.deepcopy(_statement().to_data()))
    with pytest.raises(GatewayError) as caught:
        HoldingsStatement.from_data(data)
    assert caught.value.code == LinkCode.MESSAGE_MALFORMED


def test_a_statement_built_in_process_from_non_canonical_ranges_is_a_programming_error():
    with pytest.raises(ValueError, match="not canonical"):
        _statement(away={EUA_2021: ((401, 500), (101, 300))})
    with pytest.raises(ValueError, match="must be a tuple"):
        _statement(away={EUA_2021: [(101, 300)]})


def test_a_signed_statement_verifies_and_round_trips():
    signed = sign_statement(_statement(), EU_SIGNING)
    assert signed.signer_id == "EU"
    assert signed.verify(_trust()) == _statement()
    data = canonical.decode(canonical.encode(signed.to_data()))
    assert SignedStatement.from_data(data).verify(_trust()) == _statement()
    # The domain tag is part of what is signed.
    plain = canonical.encode({"domain": SIGNATURE_DOMAIN, "statement": _statement().to_data()})
    assert EU_SIGNING.verify_key.verify(signed.signature, plain)


TAMPERING: dict[str, Callable[[dict[str, Any]], Any]] = {
    "as_of": _set(("statement", "as_of"), "2026-03-04T18:00:00Z"),
    "foreign ranges": _set(("statement", "foreign", 0, "ranges"), [[1, 199]]),
    "away ranges": _set(("statement", "away", 0, "ranges"), [[101, 300]]),
    "a serial space dropped": _set(("statement", "foreign"), []),
    "a signature byte": lambda data: {
        **data,
        "signature": f"{int(data['signature'][:2], 16) ^ 1:02x}{data['signature'][2:]}",
    },
}


@pytest.mark.parametrize("change", TAMPERING.values(), ids=TAMPERING.keys())
def test_a_statement_changed_after_signing_is_refused_with_9008(change: Callable[[Any], Any]):
    data = change(sign_statement(_statement(), EU_SIGNING).to_data())
    tampered = SignedStatement.from_data(data)
    with pytest.raises(GatewayError) as caught:
        tampered.verify(_trust())
    assert caught.value.code == LinkCode.SIGNATURE_INVALID


def test_a_statement_signed_with_another_registrys_key_is_refused():
    forged = SignedStatement(_statement(), "EU", CH_SIGNING.sign(_statement().signed_bytes()))
    with pytest.raises(GatewayError) as caught:
        forged.verify(_trust())
    assert caught.value.code == LinkCode.SIGNATURE_INVALID


def test_a_registry_may_not_sign_another_registrys_statement_even_with_its_own_trusted_key():
    vouched = SignedStatement(_statement(), "CH", CH_SIGNING.sign(_statement().signed_bytes()))
    with pytest.raises(GatewayError, match="signs only its own statement") as caught:
        vouched.verify(_trust())
    assert caught.value.code == LinkCode.SIGNATURE_INVALID


def test_a_statement_from_an_unknown_signer_is_refused():
    statement = _statement(registry="NO", foreign={CHU_2021: ((1, 5),)}, away={})
    signed = sign_statement(statement, SigningKey.generate())
    with pytest.raises(GatewayError) as caught:
        signed.verify(_trust())
    assert caught.value.code == LinkCode.SIGNATURE_INVALID


@pytest.mark.parametrize("signature", ["AB" * 64, "zz", "ab cd"])
def test_a_signature_that_is_not_lower_case_hex_is_malformed(signature: str):
    data = sign_statement(_statement(), EU_SIGNING).to_data()
    with pytest.raises(GatewayError) as caught:
        SignedStatement.from_data({**data, "signature": signature})
    assert caught.value.code == LinkCode.MESSAGE_MALFORMED
