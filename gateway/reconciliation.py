"""Reconciliation: each registry's own account of units that crossed links, against the gateway's.

In Kyoto practice (reference A10) the transaction log starts a reconciliation.
Phase 1 compares totals, phase 2 the unit blocks, and phase 3 the audit trail
of the inconsistent blocks. When a registry and the log disagree, the case goes
to manual intervention (D16). Here every comparison is made per serial space
(origin, unit type, vintage) and per side:

- *foreign*: serials of another origin that are held in the registry;
- *away*: the registry's own serials that are held in other registries.

Phase 1 compares tonnes (9020). Where the tonnes agree, phase 2 compares a
SHA-256 over the canonical ranges, `block_hash` (9021). Phase 3 is our own
audit: it names the exact serials that are missing at the registry and the
ones that are extra there.

Choices made here:

- The foreign side of a statement is read from what the registry's accounts
  actually hold, not from the ledger's own `foreign` record, so a corrupted
  holding shows up. The away side is the ledger's `away` record, because
  serials abroad are held nowhere here that could be read.
- A serial held twice (a double-applied import) is reported twice. Statement
  ranges are a multiset, written canonically as layers: first the serials
  held at least once, merged, then those held at least twice, and so on, all
  sorted (`canonical_ranges`). A union would hide the double credit. For a
  sound registry the layers are just the merged ranges.
- The gateway's record is a set (`RangeSet`) and never holds a serial twice.
- `reconcile` compares and nothing more. Deciding when to run, and refusing
  a reconciliation while transfers are in flight (9022), is the gateway's job.
- A statement is signed by its own registry over its canonical data, under
  the domain tag `SIGNATURE_DOMAIN`. Such a signature cannot stand for a
  transfer message, and no transfer message's signature can stand for it.
- Peer data that is not canonical (unsorted or unmerged ranges, keys out of
  order, a float, an unknown field) is refused with 9013. Then one statement
  has exactly one encoding, and so one signature. A malformed statement built
  in process is a programming error and raises ValueError.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gateway import peer_data
from gateway.errors import GatewayError, LinkCode
from registry import canonical
from registry.account_ids import is_registry_code
from registry.clock import format_time, parse_time
from registry.keys import SigningKey
from registry.ledger import SERIAL_MAX, VINTAGE_MAX, VINTAGE_MIN, Ledger
from registry.serial_ranges import RangeSet

if TYPE_CHECKING:
    from gateway.trust import TrustStore

# Names what a signature is over, so that it is valid for nothing else.
SIGNATURE_DOMAIN = "etslink.gateway.reconciliation"
KEYS_PER_SIDE_MAX = 10_000
RANGES_PER_KEY_MAX = 100_000
UNIT_TYPE_LENGTH_MAX = 20
# A message names at most this many ranges and counts the rest.
RANGES_IN_MESSAGE_MAX = 5
# Hashes and texts of serial spaces' ranges kept for the next day's reconciliation.
HASHES_CACHED_MAX = 256

SerialKey = tuple[str, str, int]
SerialRange = tuple[int, int]
Ranges = tuple[SerialRange, ...]


class ReconciliationStatus(IntEnum):
    """A reconciliation's status in the Kyoto / UK numbering (reference A10)."""

    CONFIRMED = 0
    INITIATED = 1
    VALIDATED = 2
    TOTALS_INCONSISTENT = 3
    UNIT_BLOCKS_INCONSISTENT = 4
    COMPLETED = 5
    COMPLETED_WITH_MANUAL_INTERVENTION = 6
    START_REQUEST_DENIED = 7
    TOTALS_BY_ACCOUNT_TYPE_INCONSISTENT = 98  # UK
    MANUAL_INTERVENTION_REQUIRED = 99  # UK

    @property
    def label(self) -> str:
        """Return the status as printed: "reconciliation COMPLETED (5)".

        The word "reconciliation" keeps it apart from a transfer's status, whose
        numbering differs (a transfer's COMPLETED is 4; its 5 is TERMINATED).
        """
        return f"reconciliation {self.name} ({int(self)})"


class Side(StrEnum):
    """Which of a registry's two records of link crossings a comparison is about."""

    FOREIGN = "foreign"  # other origins' serials held here
    AWAY = "away"  # own serials held in other registries


# ---------------------------------------------------------------- serial ranges


def canonical_ranges(pieces: Iterable[SerialRange]) -> Ranges:
    """Return a multiset of serial ranges in canonical form: merged layers, sorted.

    Layer k holds the serials that appear at least k times. Equal multisets
    give equal tuples.
    """
    pairs = []
    for start, end in pieces:  # checked in the order given, as `_sweep` does
        if not 1 <= start <= end:
            raise ValueError(f"bad serial range {start}-{end}")
        pairs.append((start, end))
    merged = _merged_if_disjoint(pairs)
    if merged is not None:
        return merged
    return _layers((start, end, count) for start, end, count, _ in _sweep(pairs, ()))


def _merged_if_disjoint(pairs: list[SerialRange]) -> Ranges | None:
    """Return the one layer of `pairs` merged, or None when two of them overlap.

    A sound registry holds each serial once, so its pieces never overlap and
    the canonical form is just the sorted pieces with adjacent ones joined:
    what `_layers(_sweep(...))` returns for them, in one sort and one pass.
    """
    merged: list[SerialRange] = []
    previous_end = -1  # serials start at 1: nothing touches this
    for start, end in sorted(pairs):
        if start <= previous_end:
            return None  # a serial held twice: only the general sweep layers it
        if start == previous_end + 1:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
        previous_end = end
    return tuple(merged)


def _is_one_merged_layer(ranges: Ranges) -> bool:
    """Return whether `ranges` are valid, sorted, and with a gap between each two.

    Such ranges are their own canonical form, so it need not be rebuilt to
    check or hash them; anything else (several layers, unsorted, invalid)
    goes through `canonical_ranges`.
    """
    previous_end = -1  # serials start at 1: a start below 1 fails here
    for start, end in ranges:
        if start <= previous_end + 1 or end < start:
            return False
        previous_end = end
    return True


def block_hash(ranges: Iterable[SerialRange]) -> str:
    """Return the SHA-256 hex digest of the canonical encoding of `ranges`.

    Both sides use it in phase 2, so equal multisets of serials hash equal
    whatever the order they are given in.
    """
    ranges = tuple(ranges)
    if not _is_one_merged_layer(ranges):
        ranges = canonical_ranges(ranges)
    return _canonical_hash(ranges)


@functools.lru_cache(maxsize=HASHES_CACHED_MAX)
def _canonical_hash(ranges: Ranges) -> str:
    """Return the SHA-256 hex digest of canonical ranges' encoding.

    Cached: every registry is reconciled daily, and a serial space's ranges on
    both sides stay the same between the days units cross.
    """
    plain = [[start, end] for start, end in ranges]
    return hashlib.sha256(canonical.encode(plain)).hexdigest()


def quantity_t(ranges: Iterable[SerialRange]) -> int:
    """Return the tonnes in `ranges`, counting a serial once per appearance."""
    total_t = 0
    for start, end in ranges:
        total_t += end - start + 1
    return total_t


def _sweep(
    first: Iterable[SerialRange], second: Iterable[SerialRange]
) -> list[tuple[int, int, int, int]]:
    """Return the elementary segments (start, end, count in first, count in second), in order.

    Only segments that at least one of the two multisets holds are returned.
    """
    deltas: dict[int, list[int]] = {}
    for index, pieces in enumerate((first, second)):
        for start, end in pieces:
            if not 1 <= start <= end:
                raise ValueError(f"bad serial range {start}-{end}")
            deltas.setdefault(start, [0, 0])[index] += 1
            deltas.setdefault(end + 1, [0, 0])[index] -= 1
    segments: list[tuple[int, int, int, int]] = []
    count_first = count_second = 0
    for here, after in itertools.pairwise(sorted(deltas)):
        count_first += deltas[here][0]
        count_second += deltas[here][1]
        if count_first or count_second:
            segments.append((here, after - 1, count_first, count_second))
    return segments


def _layers(segments: Iterable[tuple[int, int, int]]) -> Ranges:
    """Return the merged layers of ordered, disjoint segments (start, end, count), sorted."""
    opened: list[int] = []  # opened[k]: where the current range of layer k+1 began
    ranges: list[SerialRange] = []
    previous_end = 0
    for start, end, count in segments:
        if count <= 0:
            continue
        if opened and start != previous_end + 1:  # a gap closes every layer
            ranges.extend((began, previous_end) for began in opened)
            opened.clear()
        while len(opened) > count:
            ranges.append((opened.pop(), start - 1))
        opened.extend([start] * (count - len(opened)))
        previous_end = end
    ranges.extend((began, previous_end) for began in opened)
    return tuple(sorted(ranges))


def _excess(first: Ranges, second: Ranges) -> Ranges:
    """Return, canonically, the serials `first` holds more often than `second`."""
    return _layers(
        (start, end, count_first - count_second)
        for start, end, count_first, count_second in _sweep(first, second)
    )


# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class HoldingsStatement:
    """A registry's own account of the serials that crossed links, as of a moment.

    `foreign` and `away` map each serial space (origin, unit type, vintage)
    to its canonical ranges (`canonical_ranges`). A space with no serials is
    left out.
    """

    registry: str
    as_of: str
    foreign: Mapping[SerialKey, Ranges]
    away: Mapping[SerialKey, Ranges]

    def __post_init__(self) -> None:
        if type(self.registry) is not str or not is_registry_code(self.registry):
            raise ValueError(f"registry must be a two-letter code, was {self.registry!r}")
        _check_time("as_of", self.as_of)
        # Copied and wrapped read-only, so that a statement never changes after it is made.
        object.__setattr__(
            self, "foreign", _checked_side(self.registry, Side.FOREIGN, self.foreign)
        )
        object.__setattr__(self, "away", _checked_side(self.registry, Side.AWAY, self.away))

    def side(self, side: Side) -> Mapping[SerialKey, Ranges]:
        return self.foreign if side is Side.FOREIGN else self.away

    def to_data(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "as_of": self.as_of,
            "foreign": _side_data(self.foreign),
            "away": _side_data(self.away),
        }

    @classmethod
    def from_data(cls, data: Any) -> HoldingsStatement:
        """Rebuild a statement from a peer's data; refuse anything not canonical with 9013."""
        fields = peer_data.fields(data, WIRE_STATEMENT_KEYS, "statement")
        registry = peer_data.text(fields, "registry")
        as_of = peer_data.text(fields, "as_of")
        foreign = _side_from_data(fields, Side.FOREIGN)
        away = _side_from_data(fields, Side.AWAY)
        try:
            statement = cls(registry, as_of, foreign, away)
        except ValueError as error:
            raise peer_data.malformed(f"statement: {error}") from None
        return statement

    def signed_bytes(self) -> bytes:
        """Return the canonical bytes a signature is over: the domain tag, then the data."""
        return ('{"domain":' + _DOMAIN_TEXT + ',"statement":' + self.text() + "}").encode()

    def text(self) -> str:
        """Return `canonical.encode_text(self.to_data())`, written directly.

        Every field was checked when the statement was made (codes, canonical
        time, int serials and vintages), so the text is that of its data; each
        serial space's part is cached, since statements repeat day after day.
        """
        return (
            '{"as_of":'
            + canonical.quote(self.as_of)
            + ',"away":'
            + _side_text(self.away)
            + ',"foreign":'
            + _side_text(self.foreign)
            + ',"registry":'
            + canonical.quote(self.registry)
            + "}"
        )


def statement_from_ledger(ledger: Ledger, as_of: datetime) -> HoldingsStatement:
    """Return the registry's statement as of `as_of`, read from its actual holdings.

    Every block held in any account whose origin is not the registry's own
    counts as foreign, however many accounts hold it. The away side is the
    ledger's record of its own serials held abroad.
    """
    return HoldingsStatement(ledger.code, format_time(as_of), _foreign_side(ledger), _away(ledger))


class StatementReader:
    """Read one ledger's statements, as `statement_from_ledger`, for a daily schedule.

    The foreign side is read again from the holdings only when one of them has
    changed since the last read (`Holding.stamp`): between the days units move,
    a registry's statement is the same but for its time.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._stamps: list[int] | None = None
        self._foreign: dict[SerialKey, Ranges] = {}

    def statement(self, as_of: datetime) -> HoldingsStatement:
        ledger = self.ledger
        stamps = [record.holding.stamp for record in ledger.accounts()]
        if stamps != self._stamps:
            self._foreign = _foreign_side(ledger)
            self._stamps = stamps
        return HoldingsStatement(ledger.code, format_time(as_of), self._foreign, _away(ledger))


def _foreign_side(ledger: Ledger) -> dict[SerialKey, Ranges]:
    """Return the foreign serials held in any of the ledger's accounts, canonically."""
    own = ledger.code
    # A unit type has one origin: the ledger checks every block against it when it
    # issues or imports. So only foreign types are read, and domestic blocks, most
    # of a registry's, are not walked daily.
    foreign_types = sorted(code for code, unit in ledger.unit_types.items() if unit.origin != own)
    pieces: dict[SerialKey, list[SerialRange]] = {}
    for record in ledger.accounts():
        holding = record.holding
        for code in foreign_types:
            if not holding.balance(code):
                continue
            for block in holding.blocks(code):
                if block.origin != own:
                    pieces.setdefault(block.serial_key, []).append((block.start, block.end))
    return {key: canonical_ranges(ranges) for key, ranges in pieces.items()}


def _away(ledger: Ledger) -> dict[SerialKey, Ranges]:
    return {key: tuple(ranges) for key, ranges in ledger.away().items()}


@dataclass(frozen=True, slots=True)
class SignedStatement:
    """A statement with an Ed25519 signature over `statement.signed_bytes()`."""

    statement: HoldingsStatement
    signer_id: str
    signature: bytes

    def verify(self, trust_store: TrustStore) -> HoldingsStatement:
        """Return the statement if its own registry's trusted key signed it as it is now.

        Refuse with 9008 a signer other than the statement's registry (even
        a trusted one), an unknown or revoked signer, or a signature that
        does not hold.
        """
        if self.signer_id != self.statement.registry:
            raise GatewayError(
                LinkCode.SIGNATURE_INVALID,
                f"statement of registry {self.statement.registry!r} is signed by "
                f"{self.signer_id!r}; a registry signs only its own statement",
            )
        trust_store.verify(self.signer_id, self.statement.signed_bytes(), self.signature)
        return self.statement

    def to_data(self) -> dict[str, Any]:
        return {
            "statement": self.statement.to_data(),
            "signer_id": self.signer_id,
            "signature": self.signature.hex(),
        }

    def text(self) -> str:
        """Return `canonical.encode_text(self.to_data())`, written directly (keys in order)."""
        return (
            '{"signature":'
            + canonical.quote(self.signature.hex())
            + ',"signer_id":'
            + canonical.quote(self.signer_id)
            + ',"statement":'
            + self.statement.text()
            + "}"
        )

    @classmethod
    def from_data(cls, data: Any) -> SignedStatement:
        fields = peer_data.fields(data, WIRE_SIGNED_KEYS, "signed statement")
        signature = peer_data.signature(fields)
        statement = HoldingsStatement.from_data(fields["statement"])
        return cls(statement, peer_data.text(fields, "signer_id"), signature)


def sign_statement(statement: HoldingsStatement, key: SigningKey) -> SignedStatement:
    """Sign `statement` as its registry."""
    return SignedStatement(statement, statement.registry, key.sign(statement.signed_bytes()))


# ---------------------------------------------------------------- comparison


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """Where a registry's account of one serial space disagrees with the gateway's record.

    `missing` holds the serials in the gateway's record that the registry
    does not report. `extra` holds the serials the registry reports that are
    not in the gateway's record, including a second copy of a serial held
    twice.
    """

    code: LinkCode
    registry: str
    side: Side
    key: SerialKey
    gateway_total_t: int
    registry_total_t: int
    gateway_hash: str
    registry_hash: str
    missing: Ranges
    extra: Ranges
    message: str

    def __post_init__(self) -> None:
        # Paired with reconcile: what it found must explain itself.
        assert self.code in _DISCREPANCY_CODES, f"{self.code} is not a reconciliation code"
        assert self.missing or self.extra, "a discrepancy names the serials that differ"
        assert quantity_t(self.extra) - quantity_t(self.missing) == (
            self.registry_total_t - self.gateway_total_t
        ), "missing and extra serials must account for the difference in totals"

    @property
    def missing_t(self) -> int:
        return quantity_t(self.missing)

    @property
    def extra_t(self) -> int:
        return quantity_t(self.extra)

    def to_data(self) -> dict[str, Any]:
        origin, unit_type, vintage = self.key
        return {
            "code": int(self.code),
            "registry": self.registry,
            "side": self.side.value,
            "origin": origin,
            "unit_type": unit_type,
            "vintage": vintage,
            "gateway_total_t": self.gateway_total_t,
            "registry_total_t": self.registry_total_t,
            "gateway_hash": self.gateway_hash,
            "registry_hash": self.registry_hash,
            "missing": [[start, end] for start, end in self.missing],
            "extra": [[start, end] for start, end in self.extra],
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class TotalsRow:
    """One line of the comparison table: a serial space, a side and both totals."""

    side: Side
    key: SerialKey
    gateway_total_t: int
    registry_total_t: int
    status: ReconciliationStatus  # COMPLETED, TOTALS_ or UNIT_BLOCKS_INCONSISTENT

    def to_data(self) -> dict[str, Any]:
        origin, unit_type, vintage = self.key
        return {
            "side": self.side.value,
            "origin": origin,
            "unit_type": unit_type,
            "vintage": vintage,
            "gateway_total_t": self.gateway_total_t,
            "registry_total_t": self.registry_total_t,
            "status": self.status.name,
        }


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """The outcome of one registry's reconciliation, with rows and discrepancies.

    Rows and discrepancies are ordered by side (foreign, then away), then by
    serial space.
    """

    registry: str
    as_of: str
    status: ReconciliationStatus
    discrepancies: tuple[Discrepancy, ...]
    rows: tuple[TotalsRow, ...]

    @property
    def is_consistent(self) -> bool:
        return self.status is ReconciliationStatus.COMPLETED

    def to_data(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "as_of": self.as_of,
            "status": int(self.status),
            "status_name": self.status.name,
            "discrepancies": [item.to_data() for item in self.discrepancies],
            "rows": [row.to_data() for row in self.rows],
        }


def reconcile(
    registry_code: str,
    gateway_foreign: Mapping[SerialKey, RangeSet],
    gateway_away: Mapping[SerialKey, RangeSet],
    statement: HoldingsStatement,
) -> ReconciliationReport:
    """Compare a registry's statement with the gateway's record of it, per side and serial space.

    Phase 1: totals that differ give a 9020 discrepancy. Phase 2: equal
    totals over different serials give 9021. Either way phase 3 names the
    missing and the extra serials. An empty RangeSet in the gateway's record
    counts as absent. A statement from another registry is refused with 9013.
    """
    if statement.registry != registry_code:
        raise peer_data.malformed(
            f"statement is from registry {statement.registry!r}, "
            f"expected one from {registry_code!r}"
        )
    rows: list[TotalsRow] = []
    discrepancies: list[Discrepancy] = []
    for side, gateway_side in ((Side.FOREIGN, gateway_foreign), (Side.AWAY, gateway_away)):
        recorded = _recorded_side(registry_code, side, gateway_side)
        reported = statement.side(side)
        for key in sorted(recorded.keys() | reported.keys()):
            row, discrepancy = _compare(
                registry_code, side, key, recorded.get(key, ()), reported.get(key, ())
            )
            rows.append(row)
            if discrepancy is not None:
                discrepancies.append(discrepancy)
    codes = {item.code for item in discrepancies}
    if LinkCode.RECONCILIATION_TOTALS_INCONSISTENT in codes:
        status = ReconciliationStatus.TOTALS_INCONSISTENT
    elif codes:
        status = ReconciliationStatus.UNIT_BLOCKS_INCONSISTENT
    else:
        status = ReconciliationStatus.COMPLETED
    return ReconciliationReport(
        registry_code, statement.as_of, status, tuple(discrepancies), tuple(rows)
    )


def _compare(
    registry: str, side: Side, key: SerialKey, recorded: Ranges, reported: Ranges
) -> tuple[TotalsRow, Discrepancy | None]:
    """Compare one serial space on one side: phase 1 totals, phase 2 hashes, phase 3 serials."""
    gateway_t, registry_t = _quantity_of(recorded), _quantity_of(reported)
    gateway_hash, registry_hash = _hash_of(recorded), _hash_of(reported)
    if gateway_t != registry_t:
        code = LinkCode.RECONCILIATION_TOTALS_INCONSISTENT
        status = ReconciliationStatus.TOTALS_INCONSISTENT
    elif gateway_hash != registry_hash:
        code = LinkCode.RECONCILIATION_BLOCKS_INCONSISTENT
        status = ReconciliationStatus.UNIT_BLOCKS_INCONSISTENT
    else:
        return TotalsRow(side, key, gateway_t, registry_t, ReconciliationStatus.COMPLETED), None
    missing, extra = _excess(recorded, reported), _excess(reported, recorded)
    message = _message(registry, side, key, code, gateway_t, registry_t, missing, extra)
    discrepancy = Discrepancy(
        code,
        registry,
        side,
        key,
        gateway_t,
        registry_t,
        gateway_hash,
        registry_hash,
        missing,
        extra,
        message,
    )
    return TotalsRow(side, key, gateway_t, registry_t, status), discrepancy


# Both sides of a serial space are the same from one day's reconciliation to the next
# until units cross: their totals and hashes are kept. Keys are checked int ranges
# (the gateway's RangeSets, a checked statement's tuples).
@functools.lru_cache(maxsize=HASHES_CACHED_MAX)
def _quantity_of(ranges: Ranges) -> int:
    return quantity_t(ranges)


@functools.lru_cache(maxsize=HASHES_CACHED_MAX)
def _hash_of(ranges: Ranges) -> str:
    return block_hash(ranges)


def _message(
    registry: str,
    side: Side,
    key: SerialKey,
    code: LinkCode,
    gateway_t: int,
    registry_t: int,
    missing: Ranges,
    extra: Ranges,
) -> str:
    origin, unit_type, vintage = key
    if side is Side.FOREIGN:
        where = f"{origin} {unit_type} {vintage} units held in {registry} (foreign)"
    else:
        where = f"{registry}'s own {unit_type} {vintage} units held abroad (away)"
    if code is LinkCode.RECONCILIATION_TOTALS_INCONSISTENT:
        finding = (
            f"totals differ: the gateway records {gateway_t:,} t, "
            f"registry {registry} reports {registry_t:,} t"
        )
    else:
        finding = f"totals agree at {gateway_t:,} t but the serials differ"
    return (
        f"registry {registry}, {where}: {finding}; "
        f"in the gateway's record but not at the registry: {_describe(missing)}; "
        f"at the registry but not in the gateway's record: {_describe(extra)}. "
        "Trace the transfers of these serials in both journals, correct the side in error, "
        "then reconcile again"
    )


def _describe(ranges: Ranges) -> str:
    if not ranges:
        return "none"
    shown = ", ".join(f"{start}-{end}" for start, end in ranges[:RANGES_IN_MESSAGE_MAX])
    more = len(ranges) - RANGES_IN_MESSAGE_MAX
    rest = f" and {more:,} more ranges" if more > 0 else ""
    return f"serials {shown}{rest} ({quantity_t(ranges):,} t)"


def _recorded_side(
    registry: str, side: Side, record: Mapping[SerialKey, RangeSet]
) -> dict[SerialKey, Ranges]:
    """Return the gateway's record of one side as canonical ranges, empty spaces left out."""
    recorded: dict[SerialKey, Ranges] = {}
    for key, ranges in record.items():
        if not isinstance(ranges, RangeSet):
            raise TypeError(f"the gateway's record of {key} is not a RangeSet: {ranges!r}")
        if not ranges:
            continue
        _check_side_key(registry, side, key)
        recorded[key] = tuple(ranges)
    return recorded


# ---------------------------------------------------------------- checks and strict readers


_DOMAIN_TEXT = canonical.quote(SIGNATURE_DOMAIN)
WIRE_STATEMENT_KEYS = frozenset({"registry", "as_of", "foreign", "away"})
WIRE_ENTRY_KEYS = frozenset({"origin", "unit_type", "vintage", "ranges"})
WIRE_SIGNED_KEYS = frozenset({"statement", "signer_id", "signature"})
_DISCREPANCY_CODES = frozenset(
    {LinkCode.RECONCILIATION_TOTALS_INCONSISTENT, LinkCode.RECONCILIATION_BLOCKS_INCONSISTENT}
)


def _checked_side(
    registry: str, side: Side, mapping: Mapping[SerialKey, Ranges]
) -> Mapping[SerialKey, Ranges]:
    """Check one side of a statement and return it as a read-only mapping ordered by key."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{side.value} must be a mapping, was {type(mapping).__name__}")
    if len(mapping) > KEYS_PER_SIDE_MAX:
        raise ValueError(f"{side.value}: at most {KEYS_PER_SIDE_MAX:,} serial spaces")
    for key, ranges in mapping.items():
        _check_key(key)
        _check_side_key(registry, side, key)
        _check_ranges(key, ranges)
    return MappingProxyType(dict(sorted(mapping.items())))


def _check_key(key: Any) -> None:
    if type(key) is not tuple or len(key) != 3:
        raise ValueError(f"a serial space is (origin, unit type, vintage), was {key!r}")
    origin, unit_type, vintage = key
    if type(origin) is not str or not is_registry_code(origin):
        raise ValueError(f"{key}: origin must be a two-letter registry code")
    if (
        type(unit_type) is not str
        or not 1 <= len(unit_type) <= UNIT_TYPE_LENGTH_MAX
        or not unit_type.isascii()
        or not unit_type.isalnum()
    ):
        raise ValueError(f"{key}: unit type must be 1 to {UNIT_TYPE_LENGTH_MAX} letters and digits")
    if type(vintage) is not int or not VINTAGE_MIN <= vintage <= VINTAGE_MAX:
        raise ValueError(f"{key}: vintage must be a year from {VINTAGE_MIN} to {VINTAGE_MAX}")


def _check_side_key(registry: str, side: Side, key: SerialKey) -> None:
    """Foreign spaces are of other origins, away spaces of the registry's own."""
    own = key[0] == registry
    if own != (side is Side.AWAY):
        raise ValueError(
            f"{key} cannot be on the {side.value} side of registry {registry}: "
            + ("its own serials are away, not foreign" if own else "foreign serials are not away")
        )


def _check_ranges(key: SerialKey, ranges: Any) -> None:
    # A list would make equal statements compare unequal and the value mutable.
    if type(ranges) is not tuple or not 1 <= len(ranges) <= RANGES_PER_KEY_MAX:
        raise ValueError(f"{key}: ranges must be a tuple of 1 to {RANGES_PER_KEY_MAX:,} ranges")
    one_merged_layer = True  # as _is_one_merged_layer, in the same pass as the checks
    previous_end = -1
    for piece in ranges:
        if (
            type(piece) is not tuple
            or len(piece) != 2
            or type(piece[0]) is not int
            or type(piece[1]) is not int
            or not 1 <= piece[0] <= piece[1] <= SERIAL_MAX
        ):
            raise ValueError(f"{key}: bad serial range {piece!r}, need 1 <= start <= end")
        if piece[0] <= previous_end + 1:
            one_merged_layer = False
        previous_end = piece[1]
    if not one_merged_layer and canonical_ranges(ranges) != ranges:
        raise ValueError(f"{key}: ranges are not canonical (sorted, merged layers): {ranges}")


def _check_time(name: str, value: Any) -> None:
    try:
        canonical_text = format_time(parse_time(value))
    except (TypeError, ValueError):
        canonical_text = None
    # strptime also reads "2026-3-2T...": only the canonical text is one moment's one spelling.
    if canonical_text != value:
        raise ValueError(f"{name} must be canonical time text, was {value!r}")


def _side_data(mapping: Mapping[SerialKey, Ranges]) -> list[dict[str, Any]]:
    return [
        {
            "origin": origin,
            "unit_type": unit_type,
            "vintage": vintage,
            "ranges": [[start, end] for start, end in ranges],
        }
        for (origin, unit_type, vintage), ranges in mapping.items()
    ]


def _side_text(mapping: Mapping[SerialKey, Ranges]) -> str:
    return "[" + ",".join(_entry_text(key, ranges) for key, ranges in mapping.items()) + "]"


@functools.lru_cache(maxsize=HASHES_CACHED_MAX)
def _entry_text(key: SerialKey, ranges: Ranges) -> str:
    """Return the canonical text of one `_side_data` entry (keys in sorted order)."""
    origin, unit_type, vintage = key
    pieces = ",".join([f"[{start},{end}]" for start, end in ranges])
    return (
        '{"origin":'
        + canonical.quote(origin)
        + ',"ranges":['
        + pieces
        + '],"unit_type":'
        + canonical.quote(unit_type)
        + ',"vintage":'
        + str(vintage)
        + "}"
    )


def _side_from_data(fields: dict[str, Any], side: Side) -> dict[SerialKey, Ranges]:
    entries = fields[side.value]
    if type(entries) is not list or len(entries) > KEYS_PER_SIDE_MAX:
        raise peer_data.malformed(
            f"{side.value} must be a list of at most {KEYS_PER_SIDE_MAX:,} entries"
        )
    mapping: dict[SerialKey, Ranges] = {}
    previous: SerialKey | None = None
    for entry in entries:
        entry_fields = peer_data.fields(entry, WIRE_ENTRY_KEYS, f"{side.value} entry")
        key = (
            peer_data.text(entry_fields, "origin"),
            peer_data.text(entry_fields, "unit_type"),
            peer_data.integer(entry_fields, "vintage"),
        )
        if previous is not None and key <= previous:
            raise peer_data.malformed(
                f"{side.value}: serial spaces must be sorted and distinct at {key}"
            )
        previous = key
        pieces = entry_fields["ranges"]
        if type(pieces) is not list or len(pieces) > RANGES_PER_KEY_MAX:
            raise peer_data.malformed(
                f"{key}: ranges must be a list of at most {RANGES_PER_KEY_MAX:,}"
            )
        for piece in pieces:  # checked in one loop: statements hold thousands of ranges
            if (
                type(piece) is not list
                or len(piece) != 2
                or type(piece[0]) is not int
                or type(piece[1]) is not int
            ):
                raise peer_data.malformed(
                    f"{key}: a serial range is [start, end] of integers, was {piece!r}"
                )
        mapping[key] = tuple([(start, end) for start, end in pieces])
    return mapping
