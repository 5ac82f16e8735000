"""Article 6.2 accounting: authorisation, first transfers, corresponding adjustments.

Rule tests name their source in shared/reference/registry-and-linking.md
(D22 ITMO misuse: 9006 unauthorised, 9007 no corresponding adjustment,
invariant Σ first-transferred = Σ adjustments) and shared/DOMAIN.md (Paris
Article 6.2). A state machine drives the ledger beside a reference model
of serial → holder and per-(party, year) tonnes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from gateway.article6 import (
    REPORT_COLUMNS,
    AdjustmentMethod,
    AdjustmentReason,
    Article6Authorised,
    Article6Event,
    Article6Ledger,
    Article6PartyRegistered,
    Article6Report,
    Article6ReportRow,
    Article6TransferRecorded,
    CorrespondingAdjustment,
    Purpose,
    decode_event,
    encode_event,
)
from gateway.errors import GatewayError, LinkCode
from registry import canonical
from registry.units import UnitBlock

AUTHORISED_AT = "2024-01-01T00:00:00Z"
COMPLETED_AT = "2024-06-04T10:00:00Z"
NDC = frozenset({Purpose.NDC})


def _ghana_switzerland() -> Article6Ledger:
    """Return a ledger with GH and CH registered and GH ITMO 2025 serials 1-1,000 authorised."""
    ledger = Article6Ledger()
    ledger.register_party("GH", 2020, 2030, "annual")
    ledger.register_party("CH", 2021, 2030, "multi-year")
    ledger.authorise("GH-A1", "GH", "ITMO", 2025, 1, 1_000, NDC, AUTHORISED_AT)
    return ledger


def _itmo(start: int, end: int, origin: str = "GH", vintage: int = 2025) -> UnitBlock:
    return UnitBlock(origin, "ITMO", vintage, start, end, "", True)


def _refused(ledger: Article6Ledger, code: LinkCode, command: Any, *args: Any) -> str:
    """Run `command`, expect `code`, check nothing changed, and return the message."""
    before = ledger.state_digest()
    with pytest.raises(GatewayError) as refusal:
        command(*args)
    assert refusal.value.code == code, refusal.value.message
    assert ledger.state_digest() == before
    return refusal.value.message


def _through_text(event: Article6Event) -> Article6Event:
    """Return `event` after a trip through canonical JSON text, as the journal stores it."""
    kind, data = encode_event(event)
    return decode_event(kind, canonical.decode(canonical.encode_text(data)))


# ---------------------------------------------------------------- parties


def test_registering_a_party_twice_is_refused_with_9024_and_changes_nothing() -> None:
    ledger = _ghana_switzerland()
    message = _refused(
        ledger,
        LinkCode.ARTICLE6_AUTHORISATION_INVALID,
        ledger.register_party,
        "CH",
        2031,
        2035,
        "annual",
    )
    assert "already registered (NDC 2021-2030, multi-year)" in message
    registered = ledger.party("CH")
    assert registered is not None
    assert (registered.ndc_first_year, registered.method) == (2021, AdjustmentMethod.MULTI_YEAR)


@pytest.mark.parametrize(
    ("party", "first", "last", "method", "expected"),
    [
        ("ch", 2021, 2030, "annual", "2-4 capital letters"),
        ("SWISS", 2021, 2030, "annual", "2-4 capital letters"),
        ("CH", 2031, 2030, "annual", "ends 2030 before it starts 2031"),
        ("CH", 1989, 2030, "annual", "NDC first year must be a year 1990-9999"),
        ("CH", 2021, True, "annual", "NDC last year must be a year"),
        ("CH", 2021, 2030, "biennial", "annual, multi-year"),
        ("CH", 2021, 2030, ["annual"], "annual, multi-year"),
    ],
)
def test_malformed_party_registration_is_refused_with_9024(
    party: str, first: int, last: int, method: str, expected: str
) -> None:
    ledger = Article6Ledger()
    message = _refused(
        ledger,
        LinkCode.ARTICLE6_AUTHORISATION_INVALID,
        ledger.register_party,
        party,
        first,
        last,
        method,
    )
    assert expected in message
    assert ledger.party(party) is None


# ---------------------------------------------------------------- authorisation


def test_authorisation_by_an_unregistered_party_is_refused_with_9023() -> None:
    ledger = _ghana_switzerland()
    message = _refused(
        ledger,
        LinkCode.ARTICLE6_PARTY_UNKNOWN,
        ledger.authorise,
        "TH-A1",
        "TH",
        "ITMO",
        2025,
        1,
        10,
        NDC,
        AUTHORISED_AT,
    )
    assert "'TH' must register" in message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"authorisation_id": "GH-A1", "start": 2_001, "end": 2_100}, "GH-A1 already exists"),
        ({"authorisation_id": ""}, "authorisation id must be"),
        ({"start": 1_000, "end": 1_500}, "overlaps authorisation GH-A1 (GH:ITMO:2025:1-1000)"),
        ({"start": 10, "end": 9}, "1 <= start <= end"),
        ({"start": 0, "end": 9}, "1 <= start <= end"),
        ({"purposes": frozenset({"ndc", "offsetting"})}, "unknown purpose 'offsetting'"),
        ({"purposes": frozenset()}, "non-empty set"),
        ({"purposes": frozenset({1})}, "unknown purpose 1;"),
        ({"purposes": "ndc"}, "non-empty set"),
        ({"unit_type": "itmo"}, "unit type must be"),
        ({}, None),  # control: a valid authorisation adjoining GH-A1
        ({"authorised_at": "2024-01-01 00:00"}, "canonical UTC time text"),
        ({"authorised_at": "2024-01-01T00:00:00+00:00"}, "canonical UTC time text"),
    ],
)
def test_invalid_authorisation_is_refused_with_9024_and_changes_nothing(
    changes: dict[str, Any], expected: str | None
) -> None:
    ledger = _ghana_switzerland()
    arguments: dict[str, Any] = {
        "authorisation_id": "GH-A2",
        "party": "GH",
        "unit_type": "ITMO",
        "vintage": 2025,
        "start": 1_001,
        "end": 2_000,
        "purposes": NDC,
        "authorised_at": AUTHORISED_AT,
    } | changes
    if expected is None:
        ledger.authorise(**arguments)
        assert ledger.is_authorised(_itmo(1, 2_000))  # adjacent ranges together cover 1-2,000
        return
    message = _refused(
        ledger,
        LinkCode.ARTICLE6_AUTHORISATION_INVALID,
        lambda: ledger.authorise(**arguments),
    )
    assert expected in message


def test_is_authorised_needs_every_serial_of_the_block_in_its_own_serial_space() -> None:
    ledger = _ghana_switzerland()
    assert ledger.is_authorised(_itmo(1, 1_000))
    assert ledger.is_authorised(_itmo(500, 500))
    assert not ledger.is_authorised(_itmo(1_000, 1_001))
    assert not ledger.is_authorised(_itmo(1, 10, vintage=2026))
    assert not ledger.is_authorised(_itmo(1, 10, origin="CH"))


# ---------------------------------------------------------------- transfer checks


def test_transfer_of_a_partly_unauthorised_block_is_refused_with_9006_naming_the_gap() -> None:
    """D22: no first transfer before authorisation."""
    ledger = _ghana_switzerland()
    ledger.authorise("GH-A2", "GH", "ITMO", 2025, 1_201, 1_500, NDC, AUTHORISED_AT)
    message = _refused(
        ledger,
        LinkCode.ARTICLE6_NOT_AUTHORISED,
        ledger.check_transfer,
        [_itmo(901, 1_500)],
        "GH",
        "CH",
    )
    assert "GH:ITMO:2025:1001-1200 (200 t) have no Article 6.2 authorisation" in message
    _refused(
        ledger,
        LinkCode.ARTICLE6_NOT_AUTHORISED,
        ledger.record_transfer,
        "T1",
        [_itmo(1, 10), _itmo(901, 1_500)],
        "GH",
        "CH",
        COMPLETED_AT,
    )
    assert ledger.adjustments() == ()


def test_transfer_completed_before_its_authorisation_is_refused_with_9006() -> None:
    """D22: the authorisation must precede the transfer, by its own date too."""
    ledger = _ghana_switzerland()
    message = _refused(
        ledger,
        LinkCode.ARTICLE6_NOT_AUTHORISED,
        ledger.record_transfer,
        "T1",
        [_itmo(1, 10)],
        "GH",
        "CH",
        "2023-12-31T23:59:59Z",
    )
    assert "authorised by GH-A1 at 2024-01-01T00:00:00Z, after the transfer" in message
    ledger.record_transfer("T1", [_itmo(1, 10)], "GH", "CH", AUTHORISED_AT)
    assert ledger.first_transferred() == 10


def test_transfer_to_an_unregistered_party_is_refused_with_9023() -> None:
    ledger = _ghana_switzerland()
    message = _refused(
        ledger,
        LinkCode.ARTICLE6_PARTY_UNKNOWN,
        ledger.check_transfer,
        [_itmo(1, 10)],
        "GH",
        "SE",
    )
    assert "'SE' has not registered" in message and "registered: CH, GH" in message


def test_transfer_naming_no_party_at_all_is_refused_with_9023() -> None:
    ledger = _ghana_switzerland()
    _refused(
        ledger, LinkCode.ARTICLE6_PARTY_UNKNOWN, ledger.check_transfer, [_itmo(1, 1)], "GH", None
    )


def test_authorisation_is_checked_before_the_parties() -> None:
    """The first failed check stops: an unauthorised block to an unknown Party is a 9006."""
    ledger = _ghana_switzerland()
    _refused(
        ledger,
        LinkCode.ARTICLE6_NOT_AUTHORISED,
        ledger.check_transfer,
        [_itmo(2_001, 2_010)],
        "GH",
        "SE",
    )


@pytest.mark.parametrize(
    ("acquirer_period", "vintage", "role"),
    [((2026, 2035), 2025, "acquiring Party SE"), ((2021, 2030), 2019, "transferring Party GH")],
)
def test_vintage_outside_an_ndc_period_is_refused_with_9007(
    acquirer_period: tuple[int, int], vintage: int, role: str
) -> None:
    """D22: a use without a corresponding adjustment; none can be applied outside the NDC."""
    ledger = _ghana_switzerland()
    ledger.register_party("SE", *acquirer_period, "annual")
    ledger.authorise("GH-A9", "GH", "ITMO", vintage, 5_001, 5_100, NDC, AUTHORISED_AT)
    block = UnitBlock("GH", "ITMO", vintage, 5_001, 5_100)
    message = _refused(
        ledger,
        LinkCode.CORRESPONDING_ADJUSTMENT_MISSING,
        ledger.check_transfer,
        [block],
        "GH",
        "SE",
    )
    assert f"vintage {vintage} is outside the NDC period" in message and role in message


def test_first_transfer_by_a_party_other_than_the_authorising_one_is_refused_with_9007() -> None:
    ledger = _ghana_switzerland()
    message = _refused(
        ledger,
        LinkCode.CORRESPONDING_ADJUSTMENT_MISSING,
        ledger.check_transfer,
        [_itmo(1, 10)],
        "CH",
        "GH",
    )
    assert "serials 1-10 have never been transferred internationally" in message
    ledger.record_transfer("T1", [_itmo(1, 10)], "GH", "CH", COMPLETED_AT)
    ledger.check_transfer([_itmo(1, 10)], "CH", "GH")  # no longer a first transfer


@pytest.mark.parametrize(
    ("blocks", "to_party", "expected"),
    [
        ([], "CH", "1-1,000 blocks, was 0"),
        ([_itmo(1, 10), _itmo(10, 20)], "CH", "of one transfer overlap"),
        ([_itmo(1, 10)], "GH", "from GH to GH is not international"),
    ],
)
def test_malformed_transfer_is_refused_with_9024(
    blocks: list[UnitBlock], to_party: str, expected: str
) -> None:
    ledger = _ghana_switzerland()
    message = _refused(
        ledger,
        LinkCode.ARTICLE6_AUTHORISATION_INVALID,
        ledger.record_transfer,
        "T1",
        blocks,
        "GH",
        to_party,
        COMPLETED_AT,
    )
    assert expected in message


def test_recording_a_transfer_id_twice_is_refused_with_9024_and_changes_nothing() -> None:
    ledger = _ghana_switzerland()
    ledger.record_transfer("T1", [_itmo(1, 10)], "GH", "CH", COMPLETED_AT)
    message = _refused(
        ledger,
        LinkCode.ARTICLE6_AUTHORISATION_INVALID,
        ledger.record_transfer,
        "T1",
        [_itmo(11, 20)],
        "GH",
        "CH",
        COMPLETED_AT,
    )
    assert "transfer T1 is already recorded" in message
    assert ledger.first_transferred() == 10


# ---------------------------------------------------------------- accounting


def test_ghana_to_switzerland_bilateral_first_transfer_and_onward_transfer() -> None:
    """A Ghana–Switzerland-style Article 6.2 bilateral, the shape of the first ITMO transfers
    in 2024. The figures (1,000 t authorised, 600 t then 400 t, vintage 2025, an onward
    transfer to a third Party) are illustrative round numbers, not the real ones."""
    ledger = _ghana_switzerland()
    ledger.register_party("SE", 2021, 2030, "annual")
    first = ledger.record_transfer("T1", [_itmo(1, 600)], "GH", "CH", COMPLETED_AT)
    assert first.first_transfers == (_itmo(1, 600),)
    assert first.adjustments == (
        CorrespondingAdjustment("T1", "CH", 2025, AdjustmentReason.ACQUISITION, -600),
        CorrespondingAdjustment("T1", "GH", 2025, AdjustmentReason.FIRST_TRANSFER, 600),
    )
    ledger.record_transfer("T2", [_itmo(601, 1_000)], "GH", "CH", "2024-06-06T10:00:00Z")
    onward = ledger.record_transfer("T3", [_itmo(501, 600)], "CH", "SE", "2024-07-02T10:00:00Z")
    assert onward.first_transfers == ()
    assert [(row.party, row.reason, row.quantity_t) for row in onward.adjustments] == [
        ("CH", AdjustmentReason.TRANSFER, 100),
        ("SE", AdjustmentReason.ACQUISITION, -100),
    ]
    assert ledger.first_transferred() == ledger.first_transferred("GH") == 1_000
    assert ledger.first_transferred("CH") == 0
    assert [row.quantity_t for row in ledger.adjustments(party="CH")] == [-600, -400, 100]
    assert ledger.adjustments(year=2024) == ()
    report = ledger.report()
    assert [
        (r.party, r.year, r.first_transferred_t, r.transferred_t, r.acquired_t, r.adjustment_t)
        for r in report.rows
    ] == [
        ("CH", 2025, 0, 100, 1_000, -900),
        ("GH", 2025, 1_000, 1_000, 0, 1_000),
        ("SE", 2025, 0, 0, 100, -100),
    ]
    assert report.balances()
    assert report.to_rows() == [
        ("CH", "2025", "0", "100", "1,000", "-900"),
        ("GH", "2025", "1,000", "1,000", "0", "+1,000"),
        ("SE", "2025", "0", "0", "100", "-100"),
        ("*", "", "1,000", "1,100", "1,100", "+0"),
    ]
    assert len(REPORT_COLUMNS) == len(report.to_rows()[0])
    assert report.to_data()["totals"]["first_transferred_t"] == 1_000
    assert report.to_data()["balances"] is True


def test_a_block_partly_transferred_before_is_first_transferred_only_in_its_new_serials() -> None:
    ledger = _ghana_switzerland()
    ledger.record_transfer("T1", [_itmo(101, 200), _itmo(301, 400)], "GH", "CH", COMPLETED_AT)
    ledger.record_transfer("T2", [_itmo(101, 200), _itmo(301, 400)], "CH", "GH", COMPLETED_AT)
    event = ledger.record_transfer("T3", [_itmo(1, 500)], "GH", "CH", COMPLETED_AT)
    assert event.first_transfers == (_itmo(1, 100), _itmo(201, 300), _itmo(401, 500))
    assert [(row.party, row.reason, row.quantity_t) for row in event.adjustments] == [
        ("CH", AdjustmentReason.ACQUISITION, -500),
        ("GH", AdjustmentReason.FIRST_TRANSFER, 300),
        ("GH", AdjustmentReason.TRANSFER, 200),
    ]
    assert ledger.first_transferred("GH") == 500
    assert ledger.report().balances()


def test_a_report_whose_adjustments_do_not_net_to_zero_does_not_balance() -> None:
    one_sided = Article6Report((Article6ReportRow("GH", 2025, 10, 10, 10, 0, 10),))
    assert not one_sided.balances()
    missing_first = Article6Report(
        (
            Article6ReportRow("GH", 2025, 10, 0, 10, 0, 10),
            Article6ReportRow("CH", 2025, 0, 0, 0, 10, -10),
        )
    )
    assert missing_first.totals().adjustment_t == 0
    assert not missing_first.balances()
    balanced = Article6Report(
        (
            Article6ReportRow("GH", 2025, 10, 10, 10, 0, 10),
            Article6ReportRow("CH", 2025, 0, 0, 0, 10, -10),
        )
    )
    assert balanced.balances()


# ---------------------------------------------------------------- replay


def test_events_round_trip_through_canonical_text_and_replay_to_the_same_state() -> None:
    ledger = Article6Ledger()
    events: list[Article6Event] = [
        ledger.register_party("GH", 2020, 2030, AdjustmentMethod.ANNUAL),
        ledger.register_party("CH", 2021, 2030, "multi-year"),
        ledger.authorise(
            "GH-A1",
            "GH",
            "ITMO",
            2025,
            1,
            1_000,
            {"ndc", Purpose.OTHER_INTERNATIONAL_MITIGATION},
            AUTHORISED_AT,
        ),
        ledger.record_transfer("T1", [_itmo(1, 600)], "GH", "CH", COMPLETED_AT),
        ledger.record_transfer("T2", [_itmo(501, 550)], "CH", "GH", COMPLETED_AT),
        ledger.record_transfer("T3", [_itmo(401, 700)], "GH", "CH", COMPLETED_AT),
    ]
    assert [type(event) for event in events] == [
        Article6PartyRegistered,
        Article6PartyRegistered,
        Article6Authorised,
        Article6TransferRecorded,
        Article6TransferRecorded,
        Article6TransferRecorded,
    ]
    decoded = [_through_text(event) for event in events]
    assert decoded == events
    replayed = Article6Ledger.replay(decoded)
    assert replayed.state_digest() == ledger.state_digest()
    restored = Article6Ledger.from_snapshot(
        canonical.decode(canonical.encode(ledger.to_snapshot()))
    )
    assert restored.state_digest() == ledger.state_digest()
    # The restored ledger refuses and accepts exactly what the live one does.
    _refused(
        restored,
        LinkCode.ARTICLE6_AUTHORISATION_INVALID,
        restored.record_transfer,
        "T3",
        [_itmo(1, 1)],
        "GH",
        "CH",
        COMPLETED_AT,
    )
    after = [
        led.record_transfer("T4", [_itmo(651, 800)], "GH", "CH", COMPLETED_AT)
        for led in (ledger, restored, replayed)
    ]
    assert after[0].first_transfers == (_itmo(701, 800),)
    assert after[0] == after[1] == after[2]
    assert ledger.state_digest() == restored.state_digest() == replayed.state_digest()


def test_an_unknown_event_kind_is_not_decoded() -> None:
    with pytest.raises(ValueError, match="unknown Article 6 event kind 'article6_burned'"):
        decode_event("article6_burned", {})


# ---------------------------------------------------------------- state machine

POOL = ("CH", "GH", "SE", "SG", "JP")  # the first three are registered at the start
UNIT_TYPES = ("ITMO", "VCU")
VINTAGES = (2024, 2025, 2026)
SERIALS_MAX = 40

Space = tuple[str, str, int]
Serial = tuple[Space, int]


class Article6Machine(RuleBasedStateMachine):
    """Drive the ledger beside a reference model: serial -> holder, authorised serials,
    first-transferred serials, and per-(party, year) tonnes."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Article6Ledger()
        self.events: list[Article6Event] = []
        self.ndc: dict[str, tuple[int, int]] = {}
        self.holder: dict[Serial, str] = {}  # authorised serial -> party holding it
        self.first_serials: set[Serial] = set()
        self.first_t: dict[tuple[str, int], int] = {}
        self.transferred_t: dict[tuple[str, int], int] = {}
        self.acquired_t: dict[tuple[str, int], int] = {}
        self.transfers = 0

    def _expect_refusal(self, code: LinkCode, command: Any, *args: Any) -> None:
        before = self.ledger.state_digest()
        with pytest.raises(GatewayError) as refusal:
            command(*args)
        assert refusal.value.code == code, refusal.value.message
        assert self.ledger.state_digest() == before

    @initialize(
        first=st.lists(st.sampled_from((2020, 2021, 2025)), min_size=3, max_size=3),
        method=st.sampled_from(list(AdjustmentMethod)),
    )
    def register_three_parties(self, first: list[int], method: str) -> None:
        for party, year in zip(POOL[:3], first, strict=True):
            self.register_party(party, year, 5, method)

    @precondition(lambda self: len(self.ndc) < len(POOL))
    @rule(
        party=st.sampled_from(POOL),
        first=st.sampled_from((2020, 2025, 2026)),
        length=st.integers(0, 10),
        method=st.sampled_from(list(AdjustmentMethod)),
    )
    def register_party(self, party: str, first: int, length: int, method: str) -> None:
        if party in self.ndc:
            self._expect_refusal(
                LinkCode.ARTICLE6_AUTHORISATION_INVALID,
                self.ledger.register_party,
                party,
                first,
                first + length,
                method,
            )
            return
        self.events.append(self.ledger.register_party(party, first, first + length, method))
        self.ndc[party] = (first, first + length)

    @rule(
        party=st.sampled_from(POOL),
        unit_type=st.sampled_from(UNIT_TYPES),
        vintage=st.sampled_from(VINTAGES),
        start=st.integers(1, SERIALS_MAX),
        length=st.integers(1, 15),
    )
    def authorise(self, party: str, unit_type: str, vintage: int, start: int, length: int) -> None:
        space = (party, unit_type, vintage)
        end = start + length - 1
        args = (f"A{len(self.events)}", party, unit_type, vintage, start, end, NDC, AUTHORISED_AT)
        if party not in self.ndc:
            self._expect_refusal(LinkCode.ARTICLE6_PARTY_UNKNOWN, self.ledger.authorise, *args)
        elif any((space, s) in self.holder for s in range(start, end + 1)):
            self._expect_refusal(
                LinkCode.ARTICLE6_AUTHORISATION_INVALID, self.ledger.authorise, *args
            )
        else:
            self.events.append(self.ledger.authorise(*args))
            for serial in range(start, end + 1):
                self.holder[(space, serial)] = party  # authorised units start at their origin

    def _runs_held_by(self, party: str) -> list[tuple[Space, int, int]]:
        runs: list[tuple[Space, int, int]] = []
        for space, serial in sorted(key for key, who in self.holder.items() if who == party):
            if runs and runs[-1][0] == space and runs[-1][2] + 1 == serial:
                runs[-1] = (space, runs[-1][1], serial)
            else:
                runs.append((space, serial, serial))
        return runs

    def _expected_code(
        self, blocks: list[UnitBlock], sender: str, receiver: str
    ) -> LinkCode | None:
        """Return the refusal the model predicts, None for success: 9006, 9023, 9007."""
        serials = [(b.serial_key, s) for b in blocks for s in range(b.start, b.end + 1)]
        if any(serial not in self.holder for serial in serials):
            return LinkCode.ARTICLE6_NOT_AUTHORISED
        if sender not in self.ndc or receiver not in self.ndc:
            return LinkCode.ARTICLE6_PARTY_UNKNOWN
        for block in blocks:
            for party in (sender, receiver):
                first, last = self.ndc[party]
                if not first <= block.vintage <= last:
                    return LinkCode.CORRESPONDING_ADJUSTMENT_MISSING
        if any(s[0][0] != sender and s not in self.first_serials for s in serials):
            return LinkCode.CORRESPONDING_ADJUSTMENT_MISSING
        return None

    def _transfer(self, blocks: list[UnitBlock], sender: str, receiver: str) -> None:
        expected = self._expected_code(blocks, sender, receiver)
        transfer_id = f"T{self.transfers}"
        args = (transfer_id, blocks, sender, receiver, COMPLETED_AT)
        if expected is not None:
            self._expect_refusal(expected, self.ledger.record_transfer, *args)
            return
        self.ledger.check_transfer(blocks, sender, receiver)
        self.events.append(self.ledger.record_transfer(*args))
        self.transfers += 1
        for block in blocks:
            year = block.vintage
            for serial in range(block.start, block.end + 1):
                key = (block.serial_key, serial)
                if key not in self.first_serials:
                    self.first_serials.add(key)
                    self.first_t[(sender, year)] = self.first_t.get((sender, year), 0) + 1
                self.holder[key] = receiver
            self.transferred_t[(sender, year)] = (
                self.transferred_t.get((sender, year), 0) + block.quantity
            )
            self.acquired_t[(receiver, year)] = (
                self.acquired_t.get((receiver, year), 0) + block.quantity
            )

    @precondition(lambda self: bool(self.holder))
    @rule(data=st.data())
    def transfer_held_units(self, data: st.DataObject) -> None:
        sender = data.draw(st.sampled_from(sorted(set(self.holder.values()))))
        registered = [p for p in sorted(self.ndc) if p != sender]
        receiver = data.draw(st.sampled_from(registered or [p for p in POOL if p != sender]))
        runs = self._runs_held_by(sender)
        chosen = data.draw(st.lists(st.sampled_from(runs), min_size=1, max_size=3, unique=True))
        blocks = []
        for (origin, unit_type, vintage), low, high in chosen:
            start = data.draw(st.integers(low, high))
            end = data.draw(st.integers(start, high))
            blocks.append(UnitBlock(origin, unit_type, vintage, start, end))
        self._transfer(blocks, sender, receiver)

    @precondition(lambda self: any(who != key[0][0] for key, who in self.holder.items()))
    @rule(data=st.data())
    def return_units_to_their_origin(self, data: st.DataObject) -> None:
        """Bring units home, so that a later transfer mixes first and repeated transfers."""
        abroad = sorted({(who, key[0][0]) for key, who in self.holder.items() if who != key[0][0]})
        sender, origin = data.draw(st.sampled_from(abroad))
        runs = [run for run in self._runs_held_by(sender) if run[0][0] == origin]
        (origin, unit_type, vintage), low, high = data.draw(st.sampled_from(runs))
        self._transfer([UnitBlock(origin, unit_type, vintage, low, high)], sender, origin)

    @rule(
        origin=st.sampled_from(POOL),
        unit_type=st.sampled_from(UNIT_TYPES),
        vintage=st.sampled_from(VINTAGES),
        start=st.integers(1, SERIALS_MAX + 10),
        length=st.integers(1, 10),
        sender=st.sampled_from(POOL),
        receiver=st.sampled_from(POOL),
    )
    def transfer_any_serials(
        self,
        origin: str,
        unit_type: str,
        vintage: int,
        start: int,
        length: int,
        sender: str,
        receiver: str,
    ) -> None:
        """Transfer serials that may be unauthorised, held elsewhere, or between unknowns.

        The ledger does not track holdings (the registries do): a transfer of
        serials held by another Party is accepted here once they have been
        first transferred, and the model follows.
        """
        block = UnitBlock(origin, unit_type, vintage, start, start + length - 1)
        if sender == receiver:
            self._expect_refusal(
                LinkCode.ARTICLE6_AUTHORISATION_INVALID,
                self.ledger.record_transfer,
                "T-self",
                [block],
                sender,
                receiver,
                COMPLETED_AT,
            )
            return
        self._transfer([block], sender, receiver)

    @invariant()
    def report_matches_the_model_and_balances(self) -> None:
        report = self.ledger.report()
        keys = sorted(set(self.first_t) | set(self.transferred_t) | set(self.acquired_t))
        expected = []
        for party, year in keys:
            transferred = self.transferred_t.get((party, year), 0)
            acquired = self.acquired_t.get((party, year), 0)
            first = self.first_t.get((party, year), 0)
            expected.append((party, year, first, first, transferred, acquired))
        found = [
            (
                row.party,
                row.year,
                row.first_transferred_t,
                row.first_transfer_adjustment_t,
                row.transferred_t,
                row.acquired_t,
            )
            for row in report.rows
        ]
        assert found == expected
        assert report.balances()

    @invariant()
    def adjustments_net_to_zero_and_first_transfers_count_each_serial_once(self) -> None:
        assert sum(row.quantity_t for row in self.ledger.adjustments()) == 0
        for party in POOL:
            assert sum(row.quantity_t for row in self.ledger.adjustments(party=party)) == sum(
                r.adjustment_t for r in self.ledger.report().rows if r.party == party
            )
        assert self.ledger.first_transferred() == len(self.first_serials)
        for serial in list(self.holder)[:5]:
            space, number = serial
            block = UnitBlock(*space, number, number)
            assert self.ledger.is_authorised(block)

    @invariant()
    def replay_and_snapshot_give_the_live_digest(self) -> None:
        digest = self.ledger.state_digest()
        replayed = Article6Ledger.replay(_through_text(event) for event in self.events)
        assert replayed.state_digest() == digest
        assert Article6Ledger.from_snapshot(self.ledger.to_snapshot()).state_digest() == digest


TestArticle6Machine = Article6Machine.TestCase


def test_room_for_transfers_is_checked_before_they_are_recorded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The gateway asks before it forwards, so a completion never finds the ledger full."""
    import gateway.article6 as article6_module

    monkeypatch.setattr(article6_module, "TRANSFERS_MAX", 2)
    ledger = article6_module.Article6Ledger()
    ledger.check_room(pending=1)
    with pytest.raises(GatewayError) as refused:
        ledger.check_room(pending=2)
    assert refused.value.code == LinkCode.ARTICLE6_AUTHORISATION_INVALID
