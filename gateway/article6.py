"""Paris Agreement Article 6.2 accounting at the linking gateway: authorisations,
first transfers and corresponding adjustments (reference D22; DOMAIN.md, Article 6.2).

`Article6Ledger` is a pure, single-writer state machine in memory. It does
no I/O and reads no clock: every command checks everything first (the first
failed check raises `GatewayError` and changes nothing), then builds one
event and applies it through `apply`, which is also the replay path and
never validates. The gateway journals the events; `encode_event` /
`decode_event` turn them into canonical plain data and back, and replaying
them into a fresh ledger gives the same `state_digest()`.

The model, and the choices made where the guidance leaves room:

- **Parties.** A Party is named by its registry code (`CH`, `EU`, `KR`:
  two to four capital letters). It declares once its NDC implementation
  period (first and last year, inclusive) and its method for corresponding
  adjustments, `annual` or `multi-year` (decision 2/CMA.3, annex para 7 —
  the mapping of the two words onto para 7's options is [U]). The method is
  recorded and reported; the ledger keeps quantities per vintage year,
  from which either method's adjustment is derived outside it.
- **Authorisation.** A Party authorises serial ranges of its own units
  (origin == party) as ITMOs, for `ndc` and/or
  `other_international_mitigation` purposes, at a canonical time. Ranges of
  one serial space (origin, unit type, vintage) never overlap. A block's
  own `article6_authorized` flag is the issuing registry's mark and is not
  consulted: this ledger's authorisations are the record.
- **Transfers.** `check_transfer` runs, in this order: the transfer is
  well formed (9024: at least one and at most `BLOCKS_PER_TRANSFER_MAX`
  blocks, no serial listed twice, two different parties); every serial is
  authorised (9006, naming the first unauthorised range; with `at`, only
  authorisations dated at or before `at` count: no transfer before
  authorisation); both parties are registered (9023); every block's
  vintage lies in both parties' NDC periods, and a serial's first transfer
  comes from its authorising (origin) Party (9007: otherwise no
  corresponding adjustment can be applied for it). The last clause is ours:
  the Party that applies the first-transfer adjustment is the one that
  authorised the unit.
- **First transfer.** A serial's first international transfer is the first
  `record_transfer` that carries it (the "first transfer" of decision
  2/CMA.3 annex para 2(b) taken as the first international transfer). A
  block may be first-transferred in part; it is split at serial granularity.
- **Corresponding adjustments.** Every recorded transfer adjusts, for each
  block's vintage year, the transferring Party by +q (ITMOs transferred are
  added to its emissions balance) and the acquiring Party by −q (ITMOs
  acquired are subtracted). A unit passed A → B → C nets to +q for A, 0 for
  B and −q for C. The +q of a first-transferred serial is recorded with
  reason `first_transfer`, the +q of a later transfer with reason
  `transfer`, every −q with reason `acquisition`.
- **The identity** "Σ first transfers = Σ adjustments" (DOMAIN.md) is
  checked by `Article6Report.balances()` as two equalities: (1) the sum of
  every signed adjustment over all Parties and years is zero; (2) the
  tonnes first transferred (counted from the first-transferred serials of
  each event, per transferring Party and vintage) equal the sum of the
  adjustments recorded with reason `first_transfer`. The two sides of (2)
  are kept in separate state, so a fault in either shows.

Every collection is bounded (`*_MAX` below); past a bound the command is
refused with 9024 and a message naming the bound.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Any, ClassVar, NoReturn

from gateway.errors import GatewayError, LinkCode
from registry import canonical
from registry.clock import format_time, parse_time
from registry.serial_ranges import RangeSet
from registry.units import UnitBlock

PARTIES_MAX = 200  # UNFCCC has 198 Parties
AUTHORISATIONS_MAX = 10_000
TRANSFERS_MAX = 1_000_000
BLOCKS_PER_TRANSFER_MAX = 1_000
ID_LENGTH_MAX = 64
YEAR_MIN = 1990
YEAR_MAX = 9999
SERIAL_MAX = 2**63 - 2  # RangeSet searches with 2**63 as a sentinel

_PARTY_RE = re.compile(r"[A-Z]{2,4}")
_UNIT_TYPE_RE = re.compile(r"[A-Z0-9]{1,16}")
_ID_RE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{ID_LENGTH_MAX - 1}}}")

SerialSpace = tuple[str, str, int]  # (origin, unit type, vintage), as UnitBlock.serial_key


class AdjustmentMethod(StrEnum):
    """How a Party applies corresponding adjustments over its NDC period (2/CMA.3 para 7)."""

    ANNUAL = "annual"
    MULTI_YEAR = "multi-year"


class Purpose(StrEnum):
    """What an ITMO is authorised for."""

    NDC = "ndc"
    OTHER_INTERNATIONAL_MITIGATION = "other_international_mitigation"


class AdjustmentReason(StrEnum):
    """Why a corresponding adjustment was recorded."""

    FIRST_TRANSFER = "first_transfer"  # +q by the transferring (authorising) Party
    TRANSFER = "transfer"  # +q by a Party passing on ITMOs first transferred earlier
    ACQUISITION = "acquisition"  # -q by the acquiring Party


_METHODS = frozenset(item.value for item in AdjustmentMethod)
_PURPOSES = frozenset(item.value for item in Purpose)


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Article6PartyRegistered:
    """A Party's NDC implementation period [first, last] and adjustment method."""

    KIND: ClassVar[str] = "article6_party_registered"

    party: str
    ndc_first_year: int
    ndc_last_year: int
    method: AdjustmentMethod

    def covers(self, year: int) -> bool:
        """Return whether `year` lies in the NDC implementation period."""
        return self.ndc_first_year <= year <= self.ndc_last_year

    def to_data(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "ndc_first_year": self.ndc_first_year,
            "ndc_last_year": self.ndc_last_year,
            "method": self.method.value,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Article6PartyRegistered:
        return cls(
            data["party"],
            data["ndc_first_year"],
            data["ndc_last_year"],
            AdjustmentMethod(data["method"]),
        )


@dataclass(frozen=True, slots=True)
class Article6Authorised:
    """A Party's authorisation of serials [start, end] of its own units as ITMOs."""

    KIND: ClassVar[str] = "article6_authorised"

    authorisation_id: str
    party: str
    unit_type: str
    vintage: int
    start: int
    end: int
    purposes: frozenset[Purpose]
    authorised_at: str

    @property
    def serial_key(self) -> SerialSpace:
        return (self.party, self.unit_type, self.vintage)

    @property
    def quantity(self) -> int:
        return self.end - self.start + 1

    def to_data(self) -> dict[str, Any]:
        return {
            "authorisation_id": self.authorisation_id,
            "party": self.party,
            "unit_type": self.unit_type,
            "vintage": self.vintage,
            "start": self.start,
            "end": self.end,
            "purposes": sorted(purpose.value for purpose in self.purposes),
            "authorised_at": self.authorised_at,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Article6Authorised:
        return cls(
            data["authorisation_id"],
            data["party"],
            data["unit_type"],
            data["vintage"],
            data["start"],
            data["end"],
            frozenset(Purpose(purpose) for purpose in data["purposes"]),
            data["authorised_at"],
        )


@dataclass(frozen=True, slots=True)
class CorrespondingAdjustment:
    """One signed adjustment of a Party's emissions balance for one year, from one transfer."""

    transfer_id: str
    party: str
    year: int
    reason: AdjustmentReason
    quantity_t: int  # > 0 for first_transfer and transfer, < 0 for acquisition

    def to_data(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "party": self.party,
            "year": self.year,
            "reason": self.reason.value,
            "quantity_t": self.quantity_t,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CorrespondingAdjustment:
        return cls(
            data["transfer_id"],
            data["party"],
            data["year"],
            AdjustmentReason(data["reason"]),
            data["quantity_t"],
        )


@dataclass(frozen=True, slots=True)
class Article6TransferRecorded:
    """A completed international transfer: its blocks, the serials first transferred
    by it, and the corresponding adjustments it triggers."""

    KIND: ClassVar[str] = "article6_transfer_recorded"

    transfer_id: str
    from_party: str
    to_party: str
    completed_at: str
    blocks: tuple[UnitBlock, ...]
    first_transfers: tuple[UnitBlock, ...]
    adjustments: tuple[CorrespondingAdjustment, ...]

    @property
    def quantity_t(self) -> int:
        return sum(block.quantity for block in self.blocks)

    def to_data(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "from_party": self.from_party,
            "to_party": self.to_party,
            "completed_at": self.completed_at,
            "blocks": [block.to_data() for block in self.blocks],
            "first_transfers": [block.to_data() for block in self.first_transfers],
            "adjustments": [row.to_data() for row in self.adjustments],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Article6TransferRecorded:
        return cls(
            data["transfer_id"],
            data["from_party"],
            data["to_party"],
            data["completed_at"],
            tuple(UnitBlock.from_data(block) for block in data["blocks"]),
            tuple(UnitBlock.from_data(block) for block in data["first_transfers"]),
            tuple(CorrespondingAdjustment.from_data(row) for row in data["adjustments"]),
        )


Article6Event = Article6PartyRegistered | Article6Authorised | Article6TransferRecorded

_EVENT_TYPES: dict[str, Any] = {
    Article6PartyRegistered.KIND: Article6PartyRegistered,
    Article6Authorised.KIND: Article6Authorised,
    Article6TransferRecorded.KIND: Article6TransferRecorded,
}


def encode_event(event: Article6Event) -> tuple[str, dict[str, Any]]:
    """Return the journal kind and canonical data of `event`."""
    return event.KIND, event.to_data()


def decode_event(kind: str, data: dict[str, Any]) -> Article6Event:
    """Rebuild an event from its journal kind and data."""
    event_type = _EVENT_TYPES.get(kind)
    if event_type is None:
        raise ValueError(f"unknown Article 6 event kind {kind!r}")
    event: Article6Event = event_type.from_data(data)
    return event


# ---------------------------------------------------------------- the report

REPORT_COLUMNS = (
    "party",
    "year",
    "first transferred (t)",
    "transferred (t)",
    "acquired (t)",
    "adjustment (t)",
)


@dataclass(frozen=True, slots=True)
class Article6ReportRow:
    """One Party's Article 6.2 quantities for one vintage year (or a total, party "*")."""

    party: str
    year: int  # 0 in the totals row
    first_transferred_t: int  # counted from first-transferred serials
    first_transfer_adjustment_t: int  # counted from adjustments with reason first_transfer
    transferred_t: int
    acquired_t: int
    adjustment_t: int  # transferred_t - acquired_t, signed

    def __post_init__(self) -> None:
        # A row is derived, never entered: an inconsistent one is a bug.
        assert self.adjustment_t == self.transferred_t - self.acquired_t, self
        assert 0 <= self.first_transfer_adjustment_t <= self.transferred_t, self
        assert self.acquired_t >= 0 and self.first_transferred_t >= 0, self

    def to_data(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "year": self.year,
            "first_transferred_t": self.first_transferred_t,
            "first_transfer_adjustment_t": self.first_transfer_adjustment_t,
            "transferred_t": self.transferred_t,
            "acquired_t": self.acquired_t,
            "adjustment_t": self.adjustment_t,
        }

    def cells(self) -> tuple[str, ...]:
        return (
            self.party,
            str(self.year) if self.year else "",
            f"{self.first_transferred_t:,}",
            f"{self.transferred_t:,}",
            f"{self.acquired_t:,}",
            f"{self.adjustment_t:+,}",
        )


@dataclass(frozen=True, slots=True)
class Article6Report:
    """Article 6.2 quantities per (Party, vintage year), sorted by Party then year."""

    rows: tuple[Article6ReportRow, ...]

    def totals(self) -> Article6ReportRow:
        """Return the sums over every Party and year as a row for party "*"."""
        return Article6ReportRow(
            "*",
            0,
            sum(row.first_transferred_t for row in self.rows),
            sum(row.first_transfer_adjustment_t for row in self.rows),
            sum(row.transferred_t for row in self.rows),
            sum(row.acquired_t for row in self.rows),
            sum(row.adjustment_t for row in self.rows),
        )

    def balances(self) -> bool:
        """Return whether Σ adjustment_t over all rows is 0 and Σ first_transferred_t
        equals Σ first_transfer_adjustment_t (module docstring, "The identity")."""
        totals = self.totals()
        return (
            totals.adjustment_t == 0
            and totals.first_transferred_t == totals.first_transfer_adjustment_t
        )

    def to_rows(self) -> list[tuple[str, ...]]:
        """Return text cells under `REPORT_COLUMNS`: one row per (Party, year), then totals."""
        return [row.cells() for row in self.rows] + [self.totals().cells()]

    def to_data(self) -> dict[str, Any]:
        return {
            "rows": [row.to_data() for row in self.rows],
            "totals": self.totals().to_data(),
            "balances": self.balances(),
        }


# ---------------------------------------------------------------- the ledger


class Article6Ledger:
    """Article 6.2 accounting: Parties, authorisations, first transfers, adjustments.

    A pure state machine (module docstring): commands validate, then build
    one event and `apply` it; `apply` is the replay path and never validates.
    """

    def __init__(self) -> None:
        self._parties: dict[str, Article6PartyRegistered] = {}
        self._authorisations: dict[str, Article6Authorised] = {}
        # Derived from _authorisations: the authorised serials, and who authorised them when.
        self._authorised: dict[SerialSpace, RangeSet] = {}
        self._authorisations_in: dict[SerialSpace, list[Article6Authorised]] = {}
        self._transfer_ids: set[str] = set()
        self._first: dict[SerialSpace, RangeSet] = {}  # serials ever transferred
        # The two sides of the identity, kept apart: tonnes first transferred per
        # (transferring party, vintage) counted from serials, and adjustment totals.
        self._first_t: dict[tuple[str, int], int] = {}
        self._adjusted: dict[tuple[str, int, AdjustmentReason], int] = {}
        self._adjustments: list[CorrespondingAdjustment] = []

    # ------------------------------------------------------------ commands

    def register_party(
        self,
        party: str,
        ndc_first_year: int,
        ndc_last_year: int,
        method: AdjustmentMethod | str,
    ) -> Article6PartyRegistered:
        """Register a Party with its NDC implementation period and adjustment method."""
        if type(party) is not str or not _PARTY_RE.fullmatch(party):
            _invalid(f"a Party is a registry code of 2-4 capital letters, was {party!r}")
        if party in self._parties:
            known = self._parties[party]
            _invalid(
                f"Party {party} is already registered (NDC {known.ndc_first_year}-"
                f"{known.ndc_last_year}, {known.method.value}); a registration is not amended"
            )
        for name, year in (("first", ndc_first_year), ("last", ndc_last_year)):
            _check_year(f"NDC {name} year", year)
        if ndc_last_year < ndc_first_year:
            _invalid(
                f"NDC period of {party} ends {ndc_last_year} before it starts {ndc_first_year}"
            )
        methods = ", ".join(item.value for item in AdjustmentMethod)
        if not isinstance(method, str) or method not in _METHODS:
            _invalid(f"adjustment method must be one of {methods}, was {method!r}")
        if len(self._parties) >= PARTIES_MAX:
            _invalid(f"the ledger holds its maximum of {PARTIES_MAX} Parties")
        event = Article6PartyRegistered(
            party, ndc_first_year, ndc_last_year, AdjustmentMethod(method)
        )
        self.apply(event)
        return event

    def authorise(
        self,
        authorisation_id: str,
        party: str,
        unit_type: str,
        vintage: int,
        start: int,
        end: int,
        purposes: Collection[Purpose | str],
        authorised_at: str,
    ) -> Article6Authorised:
        """Authorise serials [start, end] of `party`'s own units as ITMOs."""
        _check_id("authorisation id", authorisation_id)
        if authorisation_id in self._authorisations:
            known = self._authorisations[authorisation_id]
            _invalid(f"authorisation {authorisation_id} already exists ({_range_text(known)})")
        if type(party) is not str or party not in self._parties:
            raise GatewayError(
                LinkCode.ARTICLE6_PARTY_UNKNOWN,
                f"Party {party!r} must register its NDC period before it authorises ITMOs",
            )
        if type(unit_type) is not str or not _UNIT_TYPE_RE.fullmatch(unit_type):
            _invalid(f"unit type must be 1-16 capitals or digits, was {unit_type!r}")
        _check_year("vintage", vintage)
        if not (type(start) is int and type(end) is int and 1 <= start <= end <= SERIAL_MAX):
            _invalid(
                f"serial range must satisfy 1 <= start <= end <= {SERIAL_MAX:,}, "
                f"was {start!r}-{end!r}"
            )
        chosen = _purposes(purposes)
        _check_time("authorised_at", authorised_at)
        space = (party, unit_type, vintage)
        taken = self._authorised.get(space)
        if taken is not None and taken.overlaps(start, end):
            clash = next(
                a for a in self._authorisations_in[space] if a.start <= end and start <= a.end
            )
            _invalid(
                f"{party}:{unit_type}:{vintage}:{start}-{end} overlaps authorisation "
                f"{clash.authorisation_id} ({_range_text(clash)})"
            )
        if len(self._authorisations) >= AUTHORISATIONS_MAX:
            _invalid(f"the ledger holds its maximum of {AUTHORISATIONS_MAX:,} authorisations")
        event = Article6Authorised(
            authorisation_id, party, unit_type, vintage, start, end, chosen, authorised_at
        )
        self.apply(event)
        return event

    def check_transfer(
        self,
        blocks: Sequence[UnitBlock],
        from_party: str,
        to_party: str,
        *,
        at: str | None = None,
    ) -> None:
        """Raise `GatewayError` with the first failed check's code; change nothing.

        Order: 9024 malformed, 9006 not authorised (with `at`: not authorised
        by then), 9023 Party unknown, 9007 no corresponding adjustment possible.
        """
        _check_blocks(blocks, from_party, to_party)
        if at is not None:
            _check_time("transfer time", at)
        for block in blocks:
            self._check_authorised(block, at)
        for party in (from_party, to_party):
            if type(party) is not str or party not in self._parties:
                raise GatewayError(
                    LinkCode.ARTICLE6_PARTY_UNKNOWN,
                    f"Party {party!r} has not registered an NDC period; "
                    f"registered: {', '.join(sorted(self._parties)) or 'none'}",
                )
        for block in blocks:
            self._check_adjustable(block, from_party, to_party)

    def check_room(self, pending: int = 0) -> None:
        """Raise 9024 unless `pending` more transfers, and one besides, can still be recorded."""
        if len(self._transfer_ids) + pending >= TRANSFERS_MAX:
            _invalid(
                f"the ledger holds {len(self._transfer_ids):,} transfers and {pending:,} are "
                f"pending, its maximum is {TRANSFERS_MAX:,}"
            )

    def record_transfer(
        self,
        transfer_id: str,
        blocks: Sequence[UnitBlock],
        from_party: str,
        to_party: str,
        completed_at: str,
    ) -> Article6TransferRecorded:
        """Record a completed transfer: its first transfers and corresponding adjustments.

        Runs `check_transfer` again, at `completed_at`: its checks only grow
        easier to pass as Parties, authorisations and first transfers are
        added, so a transfer checked at proposal passes here unless its id
        repeats or an authorisation is dated after the completion.
        """
        _check_id("transfer id", transfer_id)
        if transfer_id in self._transfer_ids:
            _invalid(f"transfer {transfer_id} is already recorded")
        _check_time("completed_at", completed_at)
        if len(self._transfer_ids) >= TRANSFERS_MAX:
            _invalid(f"the ledger holds its maximum of {TRANSFERS_MAX:,} transfers")
        self.check_transfer(blocks, from_party, to_party, at=completed_at)
        first = tuple(
            block.with_range(low, high)
            for block in blocks
            for low, high in _gaps(self._first.get(block.serial_key), block.start, block.end)
        )
        event = Article6TransferRecorded(
            transfer_id,
            from_party,
            to_party,
            completed_at,
            tuple(blocks),
            first,
            _adjustments_of(transfer_id, blocks, first, from_party, to_party),
        )
        self.apply(event)
        return event

    # ------------------------------------------------------------ queries

    def party(self, party: str) -> Article6PartyRegistered | None:
        return self._parties.get(party)

    def authorisations(self) -> tuple[Article6Authorised, ...]:
        """Return every authorisation, by id."""
        return tuple(item for _, item in sorted(self._authorisations.items()))

    def is_authorised(self, block: UnitBlock) -> bool:
        """Return whether every serial of `block` is authorised as an ITMO."""
        authorised = self._authorised.get(block.serial_key)
        return authorised is not None and authorised.covers(block.start, block.end)

    def first_transferred(self, party: str | None = None) -> int:
        """Return tonnes first transferred (by `party`, or by all Parties)."""
        return sum(t for (who, _), t in self._first_t.items() if party is None or who == party)

    def adjustments(
        self, party: str | None = None, year: int | None = None
    ) -> tuple[CorrespondingAdjustment, ...]:
        """Return the corresponding adjustments in the order recorded, filtered."""
        return tuple(
            row
            for row in self._adjustments
            if (party is None or row.party == party) and (year is None or row.year == year)
        )

    def report(self) -> Article6Report:
        """Return quantities per (Party, vintage year) with which the identity is checked."""
        keys = {key for key in self._first_t} | {(p, y) for p, y, _ in self._adjusted}
        rows = []
        for party, year in sorted(keys):
            first_adjusted = self._adjusted.get((party, year, AdjustmentReason.FIRST_TRANSFER), 0)
            later = self._adjusted.get((party, year, AdjustmentReason.TRANSFER), 0)
            acquired = -self._adjusted.get((party, year, AdjustmentReason.ACQUISITION), 0)
            transferred = first_adjusted + later
            rows.append(
                Article6ReportRow(
                    party,
                    year,
                    self._first_t.get((party, year), 0),
                    first_adjusted,
                    transferred,
                    acquired,
                    transferred - acquired,
                )
            )
        return Article6Report(tuple(rows))

    def to_snapshot(self) -> dict[str, Any]:
        """Return the whole state as canonical plain data, in a defined order."""
        return {
            "parties": [item.to_data() for _, item in sorted(self._parties.items())],
            "authorisations": [item.to_data() for item in self.authorisations()],
            "transfers": sorted(self._transfer_ids),
            "first_transferred_serials": [
                {
                    "origin": origin,
                    "unit_type": unit_type,
                    "vintage": vintage,
                    "ranges": [[low, high] for low, high in ranges],
                }
                for (origin, unit_type, vintage), ranges in sorted(self._first.items())
            ],
            "first_transferred": [
                {"party": party, "year": year, "quantity_t": quantity_t}
                for (party, year), quantity_t in sorted(self._first_t.items())
            ],
            "adjustments": [row.to_data() for row in self._adjustments],
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Article6Ledger:
        """Rebuild a ledger from `to_snapshot()` data (trusted, like replay)."""
        ledger = cls()
        for item in data["parties"]:
            ledger.apply(Article6PartyRegistered.from_data(item))
        for item in data["authorisations"]:
            ledger.apply(Article6Authorised.from_data(item))
        ledger._transfer_ids = set(data["transfers"])
        for item in data["first_transferred_serials"]:
            space = (item["origin"], item["unit_type"], item["vintage"])
            ledger._first[space] = RangeSet([(low, high) for low, high in item["ranges"]])
        for item in data["first_transferred"]:
            ledger._first_t[(item["party"], item["year"])] = item["quantity_t"]
        for item in data["adjustments"]:
            ledger._add_adjustment(CorrespondingAdjustment.from_data(item))
        return ledger

    def state_digest(self) -> str:
        """Return SHA-256 over the canonical snapshot: equal digests, equal states."""
        return hashlib.sha256(canonical.encode(self.to_snapshot())).hexdigest()

    @classmethod
    def replay(cls, events: Iterable[Article6Event]) -> Article6Ledger:
        """Return a fresh ledger with `events` applied in order."""
        ledger = cls()
        for event in events:
            ledger.apply(event)
        return ledger

    # ------------------------------------------------------------ apply

    def apply(self, event: Article6Event) -> None:
        """Apply one event. Also the replay path: it never validates, only asserts."""
        match event:
            case Article6PartyRegistered(party=party):
                self._parties[party] = event
            case Article6Authorised():
                self._authorisations[event.authorisation_id] = event
                space = event.serial_key
                # RangeSet.add asserts the range overlaps nothing: a second check of 9024.
                self._authorised.setdefault(space, RangeSet()).add(event.start, event.end)
                self._authorisations_in.setdefault(space, []).append(event)
            case Article6TransferRecorded():
                self._apply_transfer(event)
            case _:
                raise AssertionError(f"not an Article 6 event: {event!r}")

    def _apply_transfer(self, event: Article6TransferRecorded) -> None:
        # Pair assertions: record_transfer built these facts; check them where they land.
        assert event.transfer_id not in self._transfer_ids, event.transfer_id
        assert sum(row.quantity_t for row in event.adjustments) == 0, event
        first_t = sum(block.quantity for block in event.first_transfers)
        first_adjusted_t = sum(
            row.quantity_t
            for row in event.adjustments
            if row.reason is AdjustmentReason.FIRST_TRANSFER
        )
        assert first_t == first_adjusted_t, event
        self._transfer_ids.add(event.transfer_id)
        for block in event.first_transfers:
            # RangeSet.add asserts no serial is first-transferred twice.
            self._first.setdefault(block.serial_key, RangeSet()).add(block.start, block.end)
            key = (event.from_party, block.vintage)
            self._first_t[key] = self._first_t.get(key, 0) + block.quantity
        for row in event.adjustments:
            self._add_adjustment(row)

    def _add_adjustment(self, row: CorrespondingAdjustment) -> None:
        self._adjustments.append(row)
        key = (row.party, row.year, row.reason)
        self._adjusted[key] = self._adjusted.get(key, 0) + row.quantity_t

    # ------------------------------------------------------------ checks

    def _check_authorised(self, block: UnitBlock, at: str | None) -> None:
        gaps = _gaps(self._authorised.get(block.serial_key), block.start, block.end)
        if gaps:
            low, high = gaps[0]
            raise GatewayError(
                LinkCode.ARTICLE6_NOT_AUTHORISED,
                f"{block} is not wholly authorised as ITMOs: serials "
                f"{block.origin}:{block.unit_type}:{block.vintage}:{low}-{high} "
                f"({high - low + 1:,} t) have no Article 6.2 authorisation",
            )
        if at is None:
            return
        moment = parse_time(at)
        for item in self._authorisations_in[block.serial_key]:
            overlaps = item.start <= block.end and block.start <= item.end
            if overlaps and parse_time(item.authorised_at) > moment:
                raise GatewayError(
                    LinkCode.ARTICLE6_NOT_AUTHORISED,
                    f"{block} is authorised by {item.authorisation_id} at {item.authorised_at}, "
                    f"after the transfer at {at}: no transfer before authorisation",
                )

    def _check_adjustable(self, block: UnitBlock, from_party: str, to_party: str) -> None:
        for party in (from_party, to_party):
            registered = self._parties[party]
            if not registered.covers(block.vintage):
                role = "transferring" if party == from_party else "acquiring"
                raise GatewayError(
                    LinkCode.CORRESPONDING_ADJUSTMENT_MISSING,
                    f"{block}: vintage {block.vintage} is outside the NDC period "
                    f"{registered.ndc_first_year}-{registered.ndc_last_year} of the {role} "
                    f"Party {party}; no corresponding adjustment can be applied",
                )
        if from_party != block.origin:
            gaps = _gaps(self._first.get(block.serial_key), block.start, block.end)
            if gaps:
                low, high = gaps[0]
                raise GatewayError(
                    LinkCode.CORRESPONDING_ADJUSTMENT_MISSING,
                    f"{block}: serials {low}-{high} have never been transferred "
                    f"internationally; their first transfer must come from the authorising "
                    f"Party {block.origin}, not {from_party}",
                )


# ---------------------------------------------------------------- helpers


def _invalid(message: str) -> NoReturn:
    raise GatewayError(LinkCode.ARTICLE6_AUTHORISATION_INVALID, message)


def _check_id(what: str, value: object) -> None:
    if type(value) is not str or not _ID_RE.fullmatch(value):
        _invalid(
            f"{what} must be 1-{ID_LENGTH_MAX} letters, digits or ._:- "
            f"starting with a letter or digit, was {value!r}"
        )


def _check_year(what: str, year: object) -> None:
    if type(year) is not int or not YEAR_MIN <= year <= YEAR_MAX:
        _invalid(f"{what} must be a year {YEAR_MIN}-{YEAR_MAX}, was {year!r}")


def _check_time(what: str, text: object) -> None:
    try:
        valid = type(text) is str and format_time(parse_time(text)) == text
    except ValueError:
        valid = False
    if not valid:
        _invalid(f"{what} must be canonical UTC time text like 2030-01-01T00:00:00Z, was {text!r}")


def _purposes(purposes: Collection[Purpose | str]) -> frozenset[Purpose]:
    known = ", ".join(item.value for item in Purpose)
    if isinstance(purposes, str) or not isinstance(purposes, Collection) or not purposes:
        _invalid(f"purposes must be a non-empty set of {known}, was {purposes!r}")
    unknown = sorted(repr(p) for p in purposes if not isinstance(p, str) or p not in _PURPOSES)
    if unknown:
        _invalid(f"unknown purpose {', '.join(unknown)}; expected some of {known}")
    return frozenset(Purpose(p) for p in purposes)


def _check_blocks(blocks: Sequence[UnitBlock], from_party: str, to_party: str) -> None:
    """Refuse (9024) a transfer that is empty, too large, lists a serial twice or goes nowhere."""
    if from_party == to_party:
        _invalid(f"a transfer from {from_party} to {to_party} is not international")
    if not 1 <= len(blocks) <= BLOCKS_PER_TRANSFER_MAX:
        _invalid(f"a transfer carries 1-{BLOCKS_PER_TRANSFER_MAX:,} blocks, was {len(blocks):,}")
    ordered = sorted(blocks, key=lambda block: (block.serial_key, block.start))
    for previous, block in pairwise(ordered):
        if previous.serial_key == block.serial_key and block.start <= previous.end:
            _invalid(f"blocks {previous} and {block} of one transfer overlap")


def _gaps(ranges: RangeSet | None, start: int, end: int) -> list[tuple[int, int]]:
    """Return the sub-ranges of [start, end] not in `ranges`, in serial order."""
    gaps: list[tuple[int, int]] = []
    cursor = start
    for low, high in ranges or ():
        if high < cursor:
            continue
        if low > end:
            break
        if low > cursor:
            gaps.append((cursor, low - 1))
        cursor = high + 1
        if cursor > end:
            break
    if cursor <= end:
        gaps.append((cursor, end))
    return gaps


def _adjustments_of(
    transfer_id: str,
    blocks: Sequence[UnitBlock],
    first: Sequence[UnitBlock],
    from_party: str,
    to_party: str,
) -> tuple[CorrespondingAdjustment, ...]:
    """Return one adjustment per (Party, year, reason), sorted, from a transfer's blocks."""
    totals: dict[tuple[str, int, AdjustmentReason], int] = {}

    def add(party: str, year: int, reason: AdjustmentReason, quantity_t: int) -> None:
        key = (party, year, reason)
        totals[key] = totals.get(key, 0) + quantity_t

    for block in blocks:
        add(from_party, block.vintage, AdjustmentReason.TRANSFER, block.quantity)
        add(to_party, block.vintage, AdjustmentReason.ACQUISITION, -block.quantity)
    for block in first:
        add(from_party, block.vintage, AdjustmentReason.FIRST_TRANSFER, block.quantity)
        add(from_party, block.vintage, AdjustmentReason.TRANSFER, -block.quantity)
    return tuple(
        CorrespondingAdjustment(transfer_id, party, year, reason, quantity_t)
        for (party, year, reason), quantity_t in sorted(totals.items())
        if quantity_t != 0
    )


def _range_text(item: Article6Authorised) -> str:
    return f"{item.party}:{item.unit_type}:{item.vintage}:{item.start}-{item.end}"
