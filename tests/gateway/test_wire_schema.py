"""docs/wire/: the JSON Schemas of the signed messages agree with the code that reads them.

The committed files are the ones `gateway.wire_schema` generates; every message the code
builds is valid under its schema; malformed data is refused by both the receiver
(`message_from_data`, 9013) and the schema; and what the receiver refuses beyond the
schema is listed here case by case, as docs/wire/README.md lists it rule by rule.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import wire_schema
from gateway.errors import GatewayError, LinkCode
from gateway.messages import (
    BLOCKS_PER_TRANSFER_MAX,
    CODES_PER_REFUSAL_MAX,
    ID_LENGTH_MAX,
    MESSAGE_KINDS,
    PROTOCOL_VERSION,
    SEQUENCE_MAX,
    TEXT_LENGTH_MAX,
    TRANSFERS_PER_MESSAGE_MAX,
    Acceptance,
    Change,
    Completion,
    Forward,
    Message,
    Notice,
    Refusal,
    Rejection,
    SignedMessage,
    Termination,
    UnitChange,
    Withdrawal,
    message_from_data,
)
from gateway.reconciliation import HoldingsStatement, SignedStatement, canonical_ranges
from registry.ledger import SERIAL_MAX
from tests.gateway.test_messages import _every_kind as _examples
from tests.gateway.test_messages import _ids, _proposals

DOCS = Path(__file__).parents[2] / "docs" / "wire"
SCHEMAS = wire_schema.message_schemas()
VALIDATORS = {kind: jsonschema.Draft202012Validator(schema) for kind, schema in SCHEMAS.items()}
SIGNATURE = b"\x07" * 64


def _valid(kind: str, data: Any) -> bool:
    return VALIDATORS[kind].is_valid(data)


def _parse(kind: str, data: Any) -> object:
    if kind == "statement":
        return HoldingsStatement.from_data(data)
    if kind == "signed-statement":
        return SignedStatement.from_data(data)
    if kind == "signed":
        return SignedMessage.from_data(data)
    return message_from_data(data)


def _refusal_code(kind: str, data: Any) -> LinkCode | None:
    try:
        _parse(kind, data)
    except GatewayError as error:
        return LinkCode(error.code)
    return None


# The committed files ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(wire_schema.render()))
def test_the_committed_wire_docs_are_the_ones_the_code_generates(name: str) -> None:
    path = DOCS / name

    assert path.exists() and path.read_text(encoding="utf-8") == wire_schema.render()[name], (
        f"docs/wire/{name} differs from the code; run python -m gateway.wire_schema docs/wire/"
    )


def test_the_command_writes_a_fresh_folder_and_check_reports_a_stale_file(tmp_path: Path) -> None:
    assert wire_schema.main(["--check", str(tmp_path)]) == 1
    assert wire_schema.main([str(tmp_path)]) == 0
    assert wire_schema.main(["--check", str(tmp_path)]) == 0
    (tmp_path / "proposal.schema.json").write_text("{}\n", encoding="utf-8")
    assert wire_schema.main(["--check", str(tmp_path)]) == 1
    assert wire_schema.main([]) == 2


def test_there_is_one_schema_per_message_kind_plus_envelopes_and_statements() -> None:
    assert set(SCHEMAS) == {*MESSAGE_KINDS, "signed", "statement", "signed-statement"}
    for schema in SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_schema_limits_are_the_parsers_constants() -> None:
    defs = SCHEMAS["signed"]["$defs"]

    assert defs["proposal"]["properties"]["transfers"]["maxItems"] == TRANSFERS_PER_MESSAGE_MAX
    assert defs["transfer"]["properties"]["blocks"]["maxItems"] == BLOCKS_PER_TRANSFER_MAX
    assert defs["serial"]["maximum"] == SERIAL_MAX
    assert defs["id"]["maxLength"] == ID_LENGTH_MAX
    assert defs["text"]["maxLength"] == TEXT_LENGTH_MAX
    assert defs["refusal"]["properties"]["codes"]["maxItems"] == CODES_PER_REFUSAL_MAX
    assert defs["acceptance"]["properties"]["sequence"]["maximum"] == SEQUENCE_MAX
    version = defs["acceptance"]["properties"]["version"]
    assert version["prefixItems"][0]["const"] == PROTOCOL_VERSION[0]
    assert defs["change"]["properties"]["change"]["enum"] == [c.value for c in Change]


# Valid messages of every kind -----------------------------------------------------------

_texts = st.text(max_size=20)
_id_lists = st.lists(_ids, min_size=1, max_size=6, unique=True)
_headers = st.fixed_dictionaries(
    {
        "sender_id": _ids,
        "recipient_id": _ids,
        "sequence": st.integers(1, SEQUENCE_MAX),
        "transaction_id": _ids,
        "version": st.tuples(st.just(PROTOCOL_VERSION[0]), st.integers(0, 50)),
    }
)


@st.composite
def _refusals(draw: st.DrawFn) -> tuple[Refusal, ...]:
    refusals = []
    for transfer_id in draw(_id_lists):
        codes = draw(st.lists(st.integers(-1, 99_999), min_size=1, max_size=CODES_PER_REFUSAL_MAX))
        messages = draw(st.lists(_texts, min_size=len(codes), max_size=len(codes)))
        refusals.append(Refusal(transfer_id, tuple(codes), tuple(messages)))
    return tuple(refusals)


@st.composite
def _changes(draw: st.DrawFn) -> UnitChange:
    change = draw(st.sampled_from(Change))
    serials = []
    if change.names_serials:
        for _ in range(draw(st.integers(1, 4))):
            start = draw(st.integers(1, SERIAL_MAX))
            end = draw(st.integers(start, SERIAL_MAX))
            serials.append((draw(_ids), draw(_ids), draw(st.integers(0, 9999)), start, end))
    return UnitChange(change, tuple(serials), draw(_texts))


@st.composite
def _forwards(draw: st.DrawFn) -> Forward:
    proposal = draw(_proposals())
    recipient = proposal.transfers[0].to_registry
    addressed = [t.transaction_id for t in proposal.transfers if t.to_registry == recipient]
    return Forward(
        **{**draw(_headers), "recipient_id": recipient},
        proposal=SignedMessage(proposal, proposal.sender_id, SIGNATURE),
        transfers=tuple(addressed),
    )


@st.composite
def _every_kind(draw: st.DrawFn) -> Message:
    kind = draw(st.sampled_from(sorted(MESSAGE_KINDS)))
    if kind == "proposal":
        return draw(_proposals())
    if kind == "forward":
        return draw(_forwards())
    header = draw(_headers)
    if kind in ("acceptance", "completion", "withdrawal"):
        field = {"acceptance": "accepted", "completion": "completed", "withdrawal": "withdrawn"}
        answer = {"acceptance": Acceptance, "completion": Completion, "withdrawal": Withdrawal}
        return answer[kind](**header, **{field[kind]: tuple(draw(_id_lists))})
    if kind in ("rejection", "termination"):
        refused = Rejection if kind == "rejection" else Termination
        return refused(**header, refusals=draw(_refusals()))
    assert kind == "notice"
    return Notice(**header, changes=tuple(draw(st.lists(_changes(), min_size=1, max_size=4))))


_ranges = st.lists(
    st.tuples(st.integers(1, 10**6), st.integers(0, 10**3)), min_size=1, max_size=6
).map(lambda pieces: canonical_ranges([(start, start + length) for start, length in pieces]))


@st.composite
def _statements(draw: st.DrawFn) -> HoldingsStatement:
    registry = draw(st.sampled_from(["EU", "CH", "UK"]))
    others = [code for code in ("EU", "CH", "UK", "NZ") if code != registry]
    unit_types = st.sampled_from(["EUA", "CHU", "UKA", "CER1"])
    vintages = st.integers(1990, 2200)
    foreign = draw(
        st.dictionaries(st.tuples(st.sampled_from(others), unit_types, vintages), _ranges)
    )
    away = draw(st.dictionaries(st.tuples(st.just(registry), unit_types, vintages), _ranges))
    moment = draw(st.sampled_from(["2026-03-02T10:00:00Z", "2024-02-29T23:59:59Z"]))
    return HoldingsStatement(registry, moment, foreign, away)


@given(_every_kind())
def test_every_message_the_code_builds_is_valid_under_its_schema_and_in_its_envelope(
    message: Message,
) -> None:
    data = message.to_data()
    signed = SignedMessage(message, message.sender_id, SIGNATURE).to_data()

    assert message_from_data(data) == message
    assert _valid(message.KIND, data), list(VALIDATORS[message.KIND].iter_errors(data))
    assert _valid("signed", signed)
    for other in MESSAGE_KINDS:
        assert _valid(other, data) == (other == message.KIND)


@given(_statements())
def test_every_statement_the_code_builds_is_valid_under_its_schema(
    statement: HoldingsStatement,
) -> None:
    data = statement.to_data()
    signed = SignedStatement(statement, statement.registry, SIGNATURE).to_data()

    assert HoldingsStatement.from_data(data) == statement
    assert _valid("statement", data), list(VALIDATORS["statement"].iter_errors(data))
    assert _valid("signed-statement", signed)


# Malformed data: refused by the receiver and by the schema ------------------------------


def _base(kind: str) -> dict[str, Any]:
    header: dict[str, Any] = {
        "sender_id": "EU",
        "recipient_id": "GW",
        "sequence": 1,
        "transaction_id": "EU-1",
    }
    examples = {message.KIND: message for message in _examples()}
    examples["notice"] = Notice(
        **header,
        changes=(
            UnitChange(Change.SURRENDERED, (("EU", "EUA", 2025, 1, 10),), "surrendered"),
            UnitChange(Change.SUSPENDED, (), "registry suspended"),
        ),
    )
    examples["withdrawal"] = Withdrawal(**header, withdrawn=("EU-1",))
    if kind == "statement":
        return HoldingsStatement(
            "EU", "2026-03-02T10:00:00Z", {("CH", "CHU", 2025): ((1, 10), (20, 30))}, {}
        ).to_data()
    if kind == "signed":
        proposal = examples["proposal"]
        return SignedMessage(proposal, proposal.sender_id, SIGNATURE).to_data()
    return examples[kind].to_data()


Mutation = Callable[[dict[str, Any]], None]


def _set(*path: Any, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _delete(*path: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _extend(*path: Any, count: int) -> Mutation:
    """Make the list at `path` `count` items long, naming distinct transfers where it can."""

    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path:
            node = node[key]
        first = node[0]
        while len(node) < count:
            item = copy.deepcopy(first)
            if type(item) is str:
                item = f"T-{len(node)}"
            elif type(item) is dict and "transaction_id" in item:
                item["transaction_id"] = f"T-{len(node)}"
            node.append(item)

    return mutate


def _repeat_first(*path: Any) -> Mutation:
    """Append a copy of the first item of the list at `path`: the same transfer named twice."""

    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path:
            node = node[key]
        node.append(copy.deepcopy(node[0]))

    return mutate


_BLOCK = ("transfers", 0, "blocks", 0)
MALFORMED: dict[str, tuple[str, Mutation]] = {
    "missing field": ("proposal", _delete("proposed_at")),
    "missing header field": ("acceptance", _delete("sequence")),
    "extra field": ("acceptance", _set("note", value="hello")),
    "extra block field": ("proposal", _set(*_BLOCK, "quantity", value=10)),
    "unknown kind": ("acceptance", _set("kind", value="accept")),
    "float sequence": ("completion", _set("sequence", value=1.5)),
    "string sequence": ("completion", _set("sequence", value="1")),
    "sequence zero": ("completion", _set("sequence", value=0)),
    "sequence over the maximum": ("completion", _set("sequence", value=SEQUENCE_MAX + 1)),
    "boolean vintage": ("proposal", _set(*_BLOCK, "vintage", value=True)),
    "float serial": ("proposal", _set(*_BLOCK, "end", value=100.5)),
    "negative serial": ("proposal", _set(*_BLOCK, "start", value=-5)),
    "serial zero": ("proposal", _set(*_BLOCK, "start", value=0)),
    "serial over SERIAL_MAX": ("proposal", _set(*_BLOCK, "end", value=SERIAL_MAX + 1)),
    "vintage over 9999": ("proposal", _set(*_BLOCK, "vintage", value=10_000)),
    "negative vintage": ("proposal", _set(*_BLOCK, "vintage", value=-1)),
    "authorisation not a boolean": ("proposal", _set(*_BLOCK, "article6_authorized", value=0)),
    "no blocks": ("proposal", _set("transfers", 0, "blocks", value=[])),
    "too many blocks": ("proposal", _extend("transfers", 0, "blocks", count=1_001)),
    "no transfers": ("proposal", _set("transfers", value=[])),
    "too many transfers": ("proposal", _extend("transfers", count=TRANSFERS_PER_MESSAGE_MAX + 1)),
    "too many accepted": ("acceptance", _extend("accepted", count=TRANSFERS_PER_MESSAGE_MAX + 1)),
    "repeated accepted id": ("acceptance", _set("accepted", value=["EU-1", "EU-1"])),
    "empty id": ("completion", _set("sender_id", value="")),
    "id too long": ("completion", _set("recipient_id", value="X" * (ID_LENGTH_MAX + 1))),
    "id not a string": ("withdrawal", _set("withdrawn", value=[7])),
    "bad version shape": ("acceptance", _set("version", value=[1])),
    "version not integers": ("acceptance", _set("version", value=["1", "0"])),
    "negative minor version": ("acceptance", _set("version", value=[1, -1])),
    "time text without Z": ("proposal", _set("proposed_at", value="2026-03-02T10:00:00")),
    "time text with a zone": ("proposal", _set("proposed_at", value="2026-03-02T10:00:00+01:00")),
    "time text with a line feed": ("proposal", _set("proposed_at", value="2026-03-02T10:00:00Z\n")),
    "short time text": ("proposal", _set("proposed_at", value="2026-3-2T10:00:00Z")),
    "refusal code out of range": ("rejection", _set("refusals", 0, "codes", 0, value=100_000)),
    "refusal code below -1": ("rejection", _set("refusals", 0, "codes", 0, value=-2)),
    "refusal without codes": ("termination", _set("refusals", 0, "codes", value=[])),
    "refusal message too long": (
        "rejection",
        _set("refusals", 0, "messages", 0, value="x" * (TEXT_LENGTH_MAX + 1)),
    ),
    "unknown change": ("notice", _set("changes", 0, "change", value="burnt")),
    "surrender naming no serials": ("notice", _set("changes", 0, "serials", value=[])),
    "suspension naming serials": (
        "notice",
        _set("changes", 1, "serials", value=[["EU", "EUA", 2025, 1, 10]]),
    ),
    "notice serial range too short": ("notice", _set("changes", 0, "serials", 0, value=[1, 10])),
    "forward carrying an acceptance": (
        "forward",
        _set("proposal", "message", value=_base("acceptance")),
    ),
    "forward proposal signature not hex": ("forward", _set("proposal", "signature", value="zz")),
    "envelope signature in upper case": ("signed", _set("signature", value="AB" * 64)),
    "envelope missing signer": ("signed", _delete("signer_id")),
    "statement registry not a code": ("statement", _set("registry", value="eu")),
    "statement unit type not alphanumeric": (
        "statement",
        _set("foreign", 0, "unit_type", value="CH-U"),
    ),
    "statement unit type with a line feed": (
        "statement",
        _set("foreign", 0, "unit_type", value="CHU\n"),
    ),
    "statement vintage before 1990": ("statement", _set("foreign", 0, "vintage", value=1989)),
    "statement range of three": ("statement", _set("foreign", 0, "ranges", 0, value=[1, 2, 3])),
    "statement range over SERIAL_MAX": (
        "statement",
        _set("foreign", 0, "ranges", 1, value=[20, SERIAL_MAX + 1]),
    ),
    "statement without ranges": ("statement", _set("foreign", 0, "ranges", value=[])),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_data_is_refused_by_the_receiver_and_by_the_schema(case: str) -> None:
    kind, mutate = MALFORMED[case]
    data = _base(kind)
    assert _refusal_code(kind, data) is None and _valid(kind, data)
    mutate(data)

    assert _refusal_code(kind, data) is LinkCode.MESSAGE_MALFORMED
    assert not _valid(kind, data)


def test_another_major_version_is_refused_by_the_schema_and_by_the_receiver_with_9009() -> None:
    data = _base("completion")
    data["version"] = [PROTOCOL_VERSION[0] + 1, 0]

    assert _refusal_code("completion", data) is LinkCode.MESSAGE_VERSION_MISMATCH
    assert not _valid("completion", data)


# Beyond the schema: the receiver refuses what the schema cannot say ---------------------

# Each case names the rule of `wire_schema.BEYOND_SCHEMA` (numbered from 1) it shows.
BEYOND: dict[str, tuple[int, str, Mutation]] = {
    "integral float sequence": (1, "completion", _set("sequence", value=1.0)),
    "integral float serial": (1, "proposal", _set(*_BLOCK, "end", value=100.0)),
    "block range reversed": (2, "proposal", _set(*_BLOCK, "start", value=101)),
    "notice range reversed": (2, "notice", _set("changes", 0, "serials", 0, 3, value=11)),
    "statement range reversed": (2, "statement", _set("foreign", 0, "ranges", 0, value=[9, 1])),
    "repeated transfer id": (3, "proposal", _repeat_first("transfers")),
    "transfer leaving another registry": (
        3,
        "proposal",
        _set("transfers", 0, "from_registry", value="CH"),
    ),
    "forward naming a transfer not in its proposal": (
        4,
        "forward",
        _set("transfers", value=["EU-2"]),
    ),
    "forward to a registry the transfer does not go to": (
        4,
        "forward",
        _set("recipient_id", value="UK"),
    ),
    "repeated refused transfer": (5, "rejection", _repeat_first("refusals")),
    "more codes than messages": (5, "rejection", _set("refusals", 0, "messages", value=["one"])),
    "30 February": (6, "proposal", _set("proposed_at", value="2026-02-30T10:00:00Z")),
    "month 13": (6, "proposal", _set("proposed_at", value="2026-13-02T10:00:00Z")),
    "statement entries out of order": (
        7,
        "statement",
        _set(
            "foreign",
            value=[
                {"origin": "CH", "unit_type": "CHU", "vintage": 2026, "ranges": [[1, 2]]},
                {"origin": "CH", "unit_type": "CHU", "vintage": 2025, "ranges": [[1, 2]]},
            ],
        ),
    ),
    "own serials on the foreign side": (7, "statement", _set("foreign", 0, "origin", value="EU")),
    "statement ranges not merged": (
        7,
        "statement",
        _set("foreign", 0, "ranges", value=[[1, 10], [11, 12]]),
    ),
}


@pytest.mark.parametrize("case", sorted(BEYOND))
def test_the_receiver_refuses_beyond_the_schema_what_the_index_lists(case: str) -> None:
    _rule, kind, mutate = BEYOND[case]
    data = _base(kind)
    mutate(data)

    assert _refusal_code(kind, data) is LinkCode.MESSAGE_MALFORMED
    assert _valid(kind, data), "the schema says this now: move the case to MALFORMED"


def test_every_rule_beyond_the_schema_but_the_signature_checks_has_a_case() -> None:
    # The last rule (signer, signature, version, sequence) is tests/gateway/test_messages.py's.
    rules = {rule for rule, _kind, _mutate in BEYOND.values()}

    assert rules == set(range(1, len(wire_schema.BEYOND_SCHEMA)))
    for rule in wire_schema.BEYOND_SCHEMA:
        assert rule in wire_schema.index_page()


# Differential: whatever the receiver reads, the schema admits ---------------------------

_values = st.one_of(
    st.integers(-2, 3),
    st.sampled_from([SERIAL_MAX, SERIAL_MAX + 1, SEQUENCE_MAX + 1, 9999, 10_000, 100_000]),
    st.text(max_size=3),
    st.sampled_from(["EU", "GW", "EU-1", "2026-03-02T10:00:00Z", "surrendered", "proposal"]),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just([]),
    st.just({}),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if type(node) is dict:
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif type(node) is list:
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


_KINDS = sorted({*MESSAGE_KINDS, "signed", "statement"})


@given(st.sampled_from(_KINDS), st.data())
def test_whatever_the_receiver_reads_the_schema_admits(kind: str, data: st.DataObject) -> None:
    value = _base(kind)
    path = data.draw(st.sampled_from(_paths(value)))
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    node: Any = value
    for key in path[:-1]:
        node = node[key]
    if action == "replace":
        node[path[-1]] = data.draw(_values)
    elif action == "delete":
        del node[path[-1]]
    elif type(node) is dict:
        node[data.draw(st.text(max_size=3))] = data.draw(_values)
    else:
        node.append(data.draw(_values))

    read = _refusal_code(kind, value) is None
    # The schema is stricter than the reader in one place: a signer or signature of another
    # form is read, then refused by `verify` (9008).
    if read and path[-1] not in ("signer_id", "signature"):
        assert _valid(kind, value), list(VALIDATORS[kind].iter_errors(value))
