"""The hub's check-code table in docs/hub-check-codes.md, rendered from the gateway's codes.

Each `LinkCode` has one row here (family, meaning, the status a transfer takes, what the
operator does), and so do the registry codes the log raises where its check is the
registry's (3016, 10005, 10006, 9101). `python -m gateway.docs docs/hub-check-codes.md`
rewrites the table between `<!-- hub-check-codes:start -->` and
`<!-- hub-check-codes:end -->` with `registry.docs`'s machinery; `--check` compares only.
A `LinkCode` without a row here stops the rendering, so the table cannot fall behind.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.errors import LinkCode
from registry.docs import main as render_main
from registry.docs import markdown_table
from registry.errors import CheckCode


@dataclass(frozen=True, slots=True)
class HubRow:
    """One code as the operator reads it: family, meaning, resulting status, what to do."""

    code: LinkCode | CheckCode
    family: str
    meaning: str
    status: str  # 6 rejected, 5 terminated, "message", "alert", "waits", …
    action: str


# In the order the table shows them: the gateway's own codes, then the registry's.
ROWS: tuple[HubRow, ...] = (
    HubRow(
        LinkCode.ORIGIN_NOT_ADMITTED,
        "link rules",
        "the unit's origin, type or vintage is not admitted on this link",
        "6",
        "Check the link file's `unit_types` and vintages against what was sent; nothing to undo.",
    ),
    HubRow(
        LinkCode.DIRECTION_NOT_PERMITTED,
        "link rules",
        "the link does not carry units in this direction (unilateral, e.g. EU → AU)",
        "6",
        "Nothing to undo; a two-way link is a new link file.",
    ),
    HubRow(
        LinkCode.ENTITY_FOREIGN_UNIT_CAP,
        "link rules",
        "the acquiring entity's foreign-unit cap would be exceeded (e.g. AU 50%)",
        "6",
        "Nothing to undo.",
    ),
    HubRow(
        LinkCode.OUTSIDE_TRANSFER_WINDOW,
        "link rules",
        "outside the link's transfer windows (EU–CH: Tuesdays and Thursdays)",
        "waits",
        (
            "Nothing: the transfer is checked again when the window opens (`link transfers` "
            "shows when)."
        ),
    ),
    HubRow(
        LinkCode.LINK_NOT_ACTIVE,
        "link status",
        "link proposed, suspended, terminated or not in effect; or units frozen by a termination",
        "6 or 5",
        "Resume the link if the suspension is over (`link resume`); frozen units stay frozen.",
    ),
    HubRow(
        LinkCode.ARTICLE6_NOT_AUTHORISED,
        "Article 6",
        "the unit is not authorised for this use before its first transfer",
        "6",
        "The transferring Party authorises it (`[article6]` in the federation file).",
    ),
    HubRow(
        LinkCode.CORRESPONDING_ADJUSTMENT_MISSING,
        "Article 6",
        "no corresponding adjustment can be recorded (NDC period)",
        "6",
        "Check the Parties' NDC periods.",
    ),
    HubRow(
        LinkCode.SIGNATURE_INVALID,
        "message",
        (
            "signature invalid: unknown or revoked key, a signer other than the sender, a "
            "changed message"
        ),
        "message",
        "Look for tampering or a key rotation not yet made on both sides.",
    ),
    HubRow(
        LinkCode.MESSAGE_VERSION_MISMATCH,
        "message",
        "another major protocol version",
        "message",
        "Upgrade one side.",
    ),
    HubRow(
        LinkCode.TRANSFER_LIMIT_EXCEEDED,
        "limits",
        (
            "per-transfer or per-period cap of the link exceeded (EU: 2,000,000 t to a "
            "non-trusted account)"
        ),
        "6",
        "Nothing to undo; propose less, or in the next period.",
    ),
    HubRow(
        LinkCode.MESSAGE_OUT_OF_SEQUENCE,
        "message",
        "out of sequence: a message ahead of one not yet received",
        "message",
        "Nothing: the sender sends the missing message again.",
    ),
    HubRow(
        LinkCode.MESSAGE_REPLAYED,
        "message",
        "replayed: an exact copy of a message taken before",
        "message",
        "Nothing: a late retry changes nothing.",
    ),
    HubRow(
        LinkCode.MESSAGE_MALFORMED,
        "message",
        "malformed: a missing field, a float, a bad serial range",
        "message",
        "Fix the sender.",
    ),
    HubRow(
        LinkCode.MESSAGE_MISADDRESSED,
        "message",
        "addressed to another participant",
        "message",
        "Fix the sender's routing.",
    ),
    HubRow(
        LinkCode.TRANSFER_TIMED_OUT,
        "time-out",
        (
            "the destination did not answer in the link's answer time-out, or the transfer "
            "was still open at the link's origin time-out"
        ),
        "5",
        (
            "Nothing to undo: the units are back at the origin; find out why the destination "
            "or the log was unreachable."
        ),
    ),
    HubRow(
        LinkCode.UNITS_IN_FLIGHT,
        "double spend",
        "the serials are already in another open transfer",
        "6",
        "Nothing to undo; look for a registry proposing the same units twice.",
    ),
    HubRow(
        LinkCode.UNKNOWN_TRANSFER,
        "lookup",
        "unknown transfer (an answer to nothing the log holds)",
        "message",
        "Nothing.",
    ),
    HubRow(
        LinkCode.UNKNOWN_LINK,
        "lookup",
        "unknown link, or no link joins the two registries",
        "6",
        "Check the federation's links (`link show`).",
    ),
    HubRow(
        LinkCode.UNKNOWN_PARTICIPANT,
        "lookup",
        "unknown or unadmitted registry",
        "6",
        "Admit the registry (`link setup`), or fix the destination code.",
    ),
    HubRow(
        LinkCode.RECONCILIATION_TOTALS_INCONSISTENT,
        "reconciliation",
        "totals of a registry's crossed units differ from the log's (phase 1)",
        "alert, then 3016",
        "Investigate, correct by hand, then `link resolve CODE --note …`.",
    ),
    HubRow(
        LinkCode.RECONCILIATION_BLOCKS_INCONSISTENT,
        "reconciliation",
        "blocks differ (phase 2)",
        "alert, then 3016",
        "As 9020.",
    ),
    HubRow(
        LinkCode.RECONCILIATION_NOT_QUIESCENT,
        "reconciliation",
        "asked while the registry has transfers or messages open",
        "—",
        "Reconcile again once they have settled (scheduled runs retry daily).",
    ),
    HubRow(
        LinkCode.ARTICLE6_PARTY_UNKNOWN,
        "Article 6",
        "Party unknown",
        "6",
        "Register the Party.",
    ),
    HubRow(
        LinkCode.ARTICLE6_AUTHORISATION_INVALID,
        "Article 6",
        "authorisation invalid",
        "6",
        "Check the authorisation's range and purposes.",
    ),
    HubRow(
        LinkCode.MESSAGES_UNDELIVERED,
        "network",
        "messages still undelivered after the rounds allowed",
        "—",
        "A registry is unreachable or refuses a message for good; `link transfers --stuck`.",
    ),
    HubRow(
        LinkCode.GATEWAY_BUSY,
        "capacity",
        "the log holds its limit of open transfers (1,000,000)",
        "6",
        "Let transfers complete; propose again.",
    ),
    HubRow(
        LinkCode.UNITS_TERMINAL,
        "unit state",
        (
            "the serials are terminal: a registry notified them surrendered, cancelled or "
            "retired (Hungary 2010, reference D5)"
        ),
        "6, or 5 if notified while open",
        "Treat as an attempted resale of used units: suspend the registry's key and investigate.",
    ),
    HubRow(
        LinkCode.REGISTRY_SUSPENDED,
        "registry status",
        "a party registry notified a registry-wide suspension (EU, 19 January 2011)",
        "6, or 5 / held if notified while open",
        "Nothing until the registry resumes; on a `hold` link its open transfers then go on.",
    ),
    HubRow(
        LinkCode.PROPOSAL_STALE,
        "time",
        (
            "the proposal is older than the link's `proposal_max_age_minutes` when it reaches"
            " the log (reference A19, D7)"
        ),
        "6",
        (
            "Nothing to undo: the origin unlocks; find out what delayed it, and propose again"
            " if still wanted."
        ),
    ),
    HubRow(
        LinkCode.SEQUENCE_TAKEN,
        "message, alert",
        (
            "a sequence number was taken by another message signed with the sender's key: the"
            " key or the channel is in other hands"
        ),
        "message and alert",
        (
            "Revoke and rotate the registry's key; review what the injected message did "
            "(`link transfers --stuck` lists the alert). The honest sender re-sequences by "
            "itself."
        ),
    ),
    HubRow(
        LinkCode.TRANSFER_WITHDRAWN,
        "time",
        "the origin withdrew the transfer: no final word within its origin time-out",
        "5",
        (
            "Nothing to undo: the units are back at the origin; find out why the log's answer"
            " did not arrive."
        ),
    ),
    HubRow(
        CheckCode.TRANSACTION_DURING_RECONCILIATION,
        "reconciliation",
        "a party registry has an unresolved reconciliation; no transfer may start",
        "6",
        "Resolve the reconciliation (`link resolve`).",
    ),
    HubRow(
        CheckCode.BLOCKS_NOT_HELD,
        "holdings",
        (
            "the log records the serials elsewhere, or a proposal names serials twice; also a"
            " notice about serials the log records in another registry (alert)"
        ),
        "6, or alert",
        "Reconcile the origin; a forged proposal or notice means its key is in other hands.",
    ),
    HubRow(
        CheckCode.TRANSACTION_ID_EXISTS,
        "holdings",
        "transaction id already used",
        "6 or message",
        "Nothing: propose under a new id.",
    ),
    HubRow(
        CheckCode.UNITS_QUARANTINED,
        "unit state",
        (
            "the serials are quarantined, by the log's operator or by the registry that holds"
            " them (reference D2)"
        ),
        "6, or 5 if quarantined while open",
        "Trace the serials; lift the quarantine when they are cleared.",
    ),
)


def hub_check_code_table() -> str:
    """Return the markdown table of the hub's codes; refuse a LinkCode without a row."""
    listed = [row.code for row in ROWS]
    missing = [code.name for code in LinkCode if code not in listed]
    twice = sorted({int(code) for code in listed if listed.count(code) > 1})
    if missing or twice:
        raise ValueError(
            f"gateway/docs.py: link codes without a row {missing}, codes with two rows {twice}"
        )
    return markdown_table(
        ("code", "family", "meaning", "status", "what the operator does"),
        [(str(int(row.code)), row.family, row.meaning, row.status, row.action) for row in ROWS],
    )


TABLES: Mapping[str, Callable[[], str]] = {"hub-check-codes": hub_check_code_table}

__all__ = ["ROWS", "TABLES", "HubRow", "hub_check_code_table"]

if __name__ == "__main__":
    sys.exit(render_main(sys.argv[1:], TABLES))
