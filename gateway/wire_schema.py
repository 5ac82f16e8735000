"""JSON Schemas (draft 2020-12) of the signed messages, built from the parser's own limits.

Each schema is made from the constants `gateway.messages` and
`gateway.reconciliation` check peer data against (the protocol version, the
batch and block limits, `SERIAL_MAX`, the time text, the `Change` names), and
the field names are asserted to be the parser's own key sets, so a limit
changed in the code changes the schema and the committed files in docs/wire/
go stale (tests/gateway/test_wire_schema.py fails until they are written
again). What the receiver checks beyond a schema — rules across fields — is
`BEYOND_SCHEMA`, and the index page says it too.

`python -m gateway.wire_schema docs/wire/` writes one `<kind>.schema.json`
per message and README.md; `--check` compares only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway import messages, reconciliation
from gateway.errors import LinkCode
from gateway.messages import (
    BLOCKS_PER_TRANSFER_MAX,
    CODES_PER_REFUSAL_MAX,
    ID_LENGTH_MAX,
    PROTOCOL_VERSION,
    SEQUENCE_MAX,
    SIGNATURE_DOMAIN,
    SIGNATURE_LENGTH,
    TEXT_LENGTH_MAX,
    TRANSFERS_PER_MESSAGE_MAX,
    Change,
    TransactionStatus,
)
from gateway.reconciliation import (
    KEYS_PER_SIDE_MAX,
    RANGES_PER_KEY_MAX,
    UNIT_TYPE_LENGTH_MAX,
)
from registry import clock
from registry.clock import format_time
from registry.docs import markdown_table
from registry.ledger import SERIAL_MAX, VINTAGE_MAX, VINTAGE_MIN

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = "urn:etslink:wire:"
# A block's vintage and a refusal's code as `gateway.messages` reads them from a peer.
BLOCK_VINTAGE_MIN, BLOCK_VINTAGE_MAX = 0, 9999
REFUSAL_CODE_MIN, REFUSAL_CODE_MAX = -1, 99_999
# The end of the text in every pattern: a plain `$` also matches before a final
# line feed in some engines (Python's `re`), which the parser refuses.
_END = r"(?![\s\S])"
_TIME_LENGTH = len(format_time(datetime(2000, 1, 1, tzinfo=UTC)))


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _array(items: dict[str, Any], most: int, least: int = 0, **more: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items, "maxItems": most}
    if least:
        schema["minItems"] = least
    return {**schema, **more}


def _integer(least: int, most: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": least, "maximum": most}


def _obj(properties: dict[str, Any], keys: frozenset[str], **more: Any) -> dict[str, Any]:
    """Return an object schema with exactly `properties`, which must be the parser's `keys`."""
    assert properties.keys() == keys, f"schema fields {sorted(properties)} != {sorted(keys)}"
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
        **more,
    }


def _common_defs() -> dict[str, dict[str, Any]]:
    serial_range = {
        "type": "array",
        "prefixItems": [_ref("serial"), _ref("serial")],
        "items": False,
        "minItems": 2,
        "description": "[start, end], inclusive; start <= end (checked beyond the schema)",
    }
    return {
        "id": {"type": "string", "minLength": 1, "maxLength": ID_LENGTH_MAX},
        "text": {"type": "string", "maxLength": TEXT_LENGTH_MAX},
        "time": {
            "type": "string",
            "pattern": "^" + clock.TIME_RE.pattern + _END,
            "minLength": _TIME_LENGTH,
            "maxLength": _TIME_LENGTH,
            "description": "UTC time text, e.g. 2026-03-02T10:00:00Z; the date must exist",
        },
        "serial": _integer(1, SERIAL_MAX),
        "block_vintage": _integer(BLOCK_VINTAGE_MIN, BLOCK_VINTAGE_MAX),
        "transfer_ids": _array(
            _ref("id"),
            TRANSFERS_PER_MESSAGE_MAX,
            1,
            uniqueItems=True,
            description="transaction ids of transfers of the batch, each named once",
        ),
        "block": _obj(
            {
                "origin": {"type": "string"},
                "unit_type": {"type": "string"},
                "vintage": _ref("block_vintage"),
                "start": _ref("serial"),
                "end": _ref("serial"),
                "project_id": {"type": "string", "description": '"" for allowances'},
                "article6_authorized": {"type": "boolean"},
            },
            messages.WIRE_BLOCK_KEYS,
            description="an inclusive serial range [start, end]; start <= end (beyond schema)",
        ),
        "transfer": _obj(
            {
                "transaction_id": _ref("id"),
                "from_registry": _ref("id"),
                "from_account": _ref("id"),
                "to_registry": _ref("id"),
                "to_account": _ref("id"),
                "blocks": _array(_ref("block"), BLOCKS_PER_TRANSFER_MAX, 1),
            },
            messages.WIRE_TRANSFER_KEYS,
        ),
        "refusal": _obj(
            {
                "transaction_id": _ref("id"),
                "codes": _array(
                    _integer(REFUSAL_CODE_MIN, REFUSAL_CODE_MAX),
                    CODES_PER_REFUSAL_MAX,
                    1,
                    description="check codes: the log's (9xxx, docs/hub-check-codes.md) "
                    "or a registry's; -1 is a stopped transaction",
                ),
                "messages": _array(
                    _ref("text"),
                    CODES_PER_REFUSAL_MAX,
                    1,
                    description="one message per code, in the same order",
                ),
            },
            messages.WIRE_REFUSAL_KEYS,
        ),
        "change_serial_range": {
            "type": "array",
            "prefixItems": [
                _ref("id"),
                _ref("id"),
                _ref("block_vintage"),
                _ref("serial"),
                _ref("serial"),
            ],
            "items": False,
            "minItems": 5,
            "description": "[origin, unit type, vintage, start, end]; start <= end (beyond)",
        },
        "change": _obj(
            {
                "change": {"enum": [change.value for change in Change]},
                "serials": _array(_ref("change_serial_range"), BLOCKS_PER_TRANSFER_MAX),
                "reason": _ref("text"),
            },
            messages.WIRE_CHANGE_KEYS,
            # A change of units names their serials; one of the registry's state names none.
            allOf=[
                {
                    "if": {
                        "properties": {
                            "change": {"enum": [c.value for c in Change if c.names_serials]}
                        }
                    },
                    "then": {"properties": {"serials": {"minItems": 1}}},
                    "else": {"properties": {"serials": {"maxItems": 0}}},
                }
            ],
        ),
        "signature": {
            "type": "string",
            "pattern": "^[0-9a-f]*" + _END,
            "minLength": 2 * SIGNATURE_LENGTH,
            "maxLength": 2 * SIGNATURE_LENGTH,
            "description": "the Ed25519 signature, lower-case hex",
        },
        "serial_range": serial_range,
        "registry_code": {
            "type": "string",
            "pattern": "^[A-Z]{2}" + _END,
            "minLength": 2,
            "maxLength": 2,
        },
        "side_entry": _obj(
            {
                "origin": _ref("registry_code"),
                "unit_type": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9]+" + _END,
                    "maxLength": UNIT_TYPE_LENGTH_MAX,
                },
                "vintage": _integer(VINTAGE_MIN, VINTAGE_MAX),
                "ranges": _array(_ref("serial_range"), RANGES_PER_KEY_MAX, 1),
            },
            reconciliation.WIRE_ENTRY_KEYS,
        ),
        "side": _array(_ref("side_entry"), KEYS_PER_SIDE_MAX),
    }


_BODIES: Mapping[str, Callable[[], dict[str, Any]]] = {
    "proposal": lambda: {
        "transfers": _array(_ref("transfer"), TRANSFERS_PER_MESSAGE_MAX, 1),
        "proposed_at": _ref("time"),
    },
    "forward": lambda: {"proposal": _ref("signed-proposal"), "transfers": _ref("transfer_ids")},
    "acceptance": lambda: {"accepted": _ref("transfer_ids")},
    "rejection": lambda: {"refusals": _array(_ref("refusal"), TRANSFERS_PER_MESSAGE_MAX, 1)},
    "termination": lambda: {"refusals": _array(_ref("refusal"), TRANSFERS_PER_MESSAGE_MAX, 1)},
    "completion": lambda: {"completed": _ref("transfer_ids")},
    "notice": lambda: {"changes": _array(_ref("change"), TRANSFERS_PER_MESSAGE_MAX, 1)},
    "withdrawal": lambda: {"withdrawn": _ref("transfer_ids")},
}


def _message(kind: str) -> dict[str, Any]:
    header = {
        "kind": {"const": kind},
        "sender_id": _ref("id"),
        "recipient_id": _ref("id"),
        "sequence": {
            **_integer(1, SEQUENCE_MAX),
            "description": "the sender's count of messages on the channel (sender, recipient)",
        },
        "transaction_id": _ref("id"),
        "version": {
            "type": "array",
            "prefixItems": [{"const": PROTOCOL_VERSION[0]}, {"type": "integer", "minimum": 0}],
            "items": False,
            "minItems": 2,
            "description": "[major, minor]; another major is refused with "
            f"{int(LinkCode.MESSAGE_VERSION_MISMATCH)}, any minor is read",
        },
    }
    keys = messages.WIRE_HEADER_KEYS | messages.WIRE_BODY_KEYS[kind]
    return _obj({**header, **_BODIES[kind]()}, keys)


def _signed(message: dict[str, Any]) -> dict[str, Any]:
    return _obj(
        {
            "message": message,
            "signer_id": {**_ref("id"), "description": "must be the message's sender_id"},
            "signature": _ref("signature"),
        },
        messages.WIRE_SIGNED_KEYS,
    )


def _all_defs() -> dict[str, dict[str, Any]]:
    defs = _common_defs()
    for kind in messages.MESSAGE_KINDS:
        defs[kind] = _message(kind)
    defs["signed-proposal"] = _signed(_ref("proposal"))
    defs["signed"] = _signed({"oneOf": [_ref(kind) for kind in messages.MESSAGE_KINDS]})
    defs["statement"] = _obj(
        {
            "registry": _ref("registry_code"),
            "as_of": _ref("time"),
            "foreign": _ref("side"),
            "away": _ref("side"),
        },
        reconciliation.WIRE_STATEMENT_KEYS,
    )
    defs["signed-statement"] = _obj(
        {
            "statement": _ref("statement"),
            "signer_id": {**_ref("id"), "description": "must be the statement's registry"},
            "signature": _ref("signature"),
        },
        reconciliation.WIRE_SIGNED_KEYS,
    )
    return defs


# What each schema describes, and who sends it to whom, in the order the index lists them.
TITLES: Mapping[str, str] = {
    "signed": "A signed message: any kind below, in its sender's signed envelope",
    "proposal": "TransferProposal: the origin registry proposes transfers whose blocks it locked",
    "forward": "Forward: the log countersigns transfers of a proposal to their destination",
    "acceptance": "Acceptance: the destination registry accepts the named transfers",
    "rejection": "Rejection: the log or the destination refuses the named transfers",
    "completion": "Completion: the log's final word that the named transfers completed",
    "termination": "Termination: the log's final word that the named transfers ended unfinished",
    "notice": "Notice: a registry tells the log what changed its units' fate or its own state",
    "withdrawal": "Withdrawal: the origin asks to end transfers whose time-out passed",
    "statement": "HoldingsStatement: a registry's own account of the serials that crossed links",
    "signed-statement": "A holdings statement with its registry's signature",
}


def _refs(node: Any) -> Iterator[str]:
    if type(node) is dict:
        for key, value in node.items():
            if key == "$ref":
                yield value.removeprefix("#/$defs/")
            else:
                yield from _refs(value)
    elif type(node) is list:
        for item in node:
            yield from _refs(item)


def message_schemas() -> dict[str, dict[str, Any]]:
    """Return each wire kind's JSON Schema, self-contained: the definitions it uses go with it."""
    defs = _all_defs()
    schemas: dict[str, dict[str, Any]] = {}
    for kind, title in TITLES.items():
        needed = {kind}
        pending = [kind]
        while pending:
            for name in _refs(defs[pending.pop()]):
                if name not in needed:
                    needed.add(name)
                    pending.append(name)
        schemas[kind] = {
            "$schema": DRAFT,
            "$id": SCHEMA_ID_BASE + kind,
            "title": title,
            "$ref": f"#/$defs/{kind}",
            "$defs": {name: defs[name] for name in sorted(needed)},
        }
    return schemas


# Rules the receiver checks that the schemas cannot say: the test pins each one.
BEYOND_SCHEMA: tuple[str, ...] = (
    "Numbers are integers written without a fraction or exponent: `1.0` is refused "
    "(JSON Schema counts it an integer), and so are NaN and infinities.",
    "A serial range's `start` is at most its `end` (blocks, notice serials, statement ranges).",
    "A proposal's transfers have distinct `transaction_id`s, and each leaves the sender: "
    "`from_registry` equals the message's `sender_id`.",
    "A forward's `transfers` are transfers of the carried proposal addressed to the "
    "forward's `recipient_id`.",
    "A rejection's or termination's refusals name distinct transfers, and each refusal has "
    "as many `messages` as `codes`.",
    "Time text names a date that exists (not 2026-02-30T00:00:00Z, not month 13).",
    "A statement's entries are sorted by (origin, unit_type, vintage) and distinct; foreign "
    "entries are of other origins than `registry`, away entries of its own; each entry's "
    "ranges are canonical (sorted, merged layers).",
    "Only after the shape: the signer is the sender and the signature holds under the "
    f"signer's trusted key ({int(LinkCode.SIGNATURE_INVALID)}), the major version is ours "
    f"({int(LinkCode.MESSAGE_VERSION_MISMATCH)}), the sequence is the channel's next "
    f"({int(LinkCode.MESSAGE_OUT_OF_SEQUENCE)}), and it is not a replay "
    f"({int(LinkCode.MESSAGE_REPLAYED)}).",
)


# ------------------------------------------------------------------------ the index page

_SEND: tuple[tuple[str, str, str, str], ...] = (
    # kind, from → to, step of the two-phase transfer, status the transfer takes
    ("proposal", "origin registry → log", "1: propose (blocks locked pending-out)", "PROPOSED"),
    (
        "forward",
        "log → destination registry",
        "2: the log's checks passed",
        "CHECKED_NO_DISCREPANCY",
    ),
    ("acceptance", "destination registry → log", "3: the destination accepts", "ACCEPTED"),
    ("rejection", "log → origin; destination → log", "2 or 3: refused", "REJECTED"),
    ("completion", "log → origin and destination", "4: finalise and credit", "COMPLETED"),
    (
        "termination",
        "log → origin (and destination)",
        "after a time-out or withdrawal",
        "TERMINATED",
    ),
    ("withdrawal", "origin registry → log", "after the origin's time-out", "—"),
    ("notice", "registry → log", "any time; checked at 1 and 4", "—"),
    ("statement", "registry → log (signed-statement)", "reconciliation, between transfers", "—"),
)

_SATP: tuple[tuple[str, str, str], ...] = (
    (
        "proposal",
        "transfer proposal + lock assertion",
        "one signed message: the blocks are locked before it is sent, so there is no separate "
        "proposal receipt or transfer commence; it goes to the log (a hub), not the peer",
    ),
    (
        "forward",
        "— (no hub in SATP)",
        "the log relays the origin's signed proposal whole with its countersignature",
    ),
    ("acceptance", "proposal receipt / commit ready", "one answer per transfer of a batch"),
    ("rejection", "reject / session abort", "carries check codes per transfer"),
    (
        "completion",
        "commit final assertion + transfer complete",
        "sent by the log to both sides; no acknowledgement of the final receipt",
    ),
    ("termination", "session abort", "the log's decision, final for the transfers it names"),
    ("withdrawal", "— (origin-side abort request)", "answered by the log's final notice"),
    ("notice", "—", "Kyoto/ITL-style notification of surrender, cancellation, quarantine…"),
    ("statement", "—", "Kyoto-style reconciliation (totals, then blocks)"),
)


def index_page() -> str:
    """Return docs/wire/README.md: the messages, who sends them, signing, and the rules beyond."""
    assert {row[0] for row in _SEND} | {"signed", "signed-statement"} == set(TITLES)
    assert {row[0] for row in _SATP} == {row[0] for row in _SEND}
    major, minor = PROTOCOL_VERSION
    send = [
        (
            f"[`{kind}`]({kind}.schema.json)",
            TITLES[kind].split(":", 1)[1].strip(),
            route,
            step,
            status if status == "—" else f"{int(TransactionStatus[status])} {status}",
        )
        for kind, route, step, status in _SEND
    ]
    satp = [(f"`{kind}`", term, note) for kind, term, note in _SATP]
    beyond = "\n".join(f"{n}. {rule}" for n, rule in enumerate(BEYOND_SCHEMA, start=1))
    return f"""# The etslink wire protocol

Generated by `python -m gateway.wire_schema docs/wire/` from `gateway/messages.py` and
`gateway/reconciliation.py`; tests/gateway/test_wire_schema.py fails when these files
differ from what the code generates. Protocol version {major}.{minor}. Each
`<kind>.schema.json` is a self-contained JSON Schema (draft 2020-12).

A registry talks only to the log (the linking gateway), never to another registry. An
external transfer is two-phase: the origin locks and proposes, the log checks and
forwards, the destination accepts or rejects, the log completes (or terminates) and both
registries apply the outcome. A batch carries up to {TRANSFERS_PER_MESSAGE_MAX:,} transfers,
each answered on its own.

## Messages

{markdown_table(("schema", "what it is", "from → to", "step", "status the transfer takes"), send)}

[`signed`](signed.schema.json) is the envelope every message travels in, and
[`signed-statement`](signed-statement.schema.json) the one a statement travels in.

## Encoding and signature

- Canonical JSON: UTF-8, object keys sorted by code point, no white space between
  tokens (`","` and `":"`), strings escaped as Python's `json` does with
  `ensure_ascii=False` (`"`, `\\\\` and control characters escaped, everything else
  literal), integers only — no floats, no NaN. A receiver also reads other JSON spellings
  of the same data, but verifies the signature over the canonical bytes.
- Header of every message: `kind`, `sender_id`, `recipient_id`, `sequence` (per channel
  (sender, recipient), from 1), `transaction_id`, `version` `[major, minor]`.
- A message's signature is Ed25519 ({SIGNATURE_LENGTH} bytes, lower-case hex in the
  envelope) over the canonical bytes of
  `{{"domain":"{SIGNATURE_DOMAIN}","kind":<kind>,"message":<the message>}}`.
  The envelope is `{{"message":…,"signature":…,"signer_id":…}}`; the signer is the
  message's sender. A `forward` carries the origin's envelope whole, so the destination
  checks both signatures.
- A statement's signature is over
  `{{"domain":"{reconciliation.SIGNATURE_DOMAIN}","statement":<the statement>}}`; its
  signer is the statement's `registry`. The two domains keep a signature valid for one
  purpose only.
- Malformed data is refused with {int(LinkCode.MESSAGE_MALFORMED)}
  (`{LinkCode.MESSAGE_MALFORMED.name}`); the codes are in
  [docs/hub-check-codes.md](../hub-check-codes.md).
- Patterns end in `(?![\\s\\S])` (end of text): a plain `$` also matches before a final
  line feed in some regular-expression engines.

## Checked by the receiver beyond the schema

{beyond}

## SATP vocabulary

The IETF Secure Asset Transfer Protocol (draft-ietf-satp-core) runs between two
gateways; etslink has a hub between registries, as the Kyoto ITL does. The mapping is
approximate:

{markdown_table(("etslink", "nearest SATP term", "where etslink differs"), satp)}
"""


def render() -> dict[str, str]:
    """Return each file of docs/wire/ by name, as the code generates it."""
    files = {
        f"{kind}.schema.json": json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        for kind, schema in message_schemas().items()
    }
    files["README.md"] = index_page()
    return files


def main(argv: list[str]) -> int:
    """Write (or with --check, compare) the files of the folder given; 1 if any was stale."""
    check = "--check" in argv
    folders = [arg for arg in argv if arg != "--check"]
    if len(folders) != 1:
        print("usage: python -m gateway.wire_schema [--check] docs/wire/", file=sys.stderr)
        return 2
    folder = Path(folders[0])
    stale = []
    for name, text in render().items():
        path = folder / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"stale in {folder}: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
