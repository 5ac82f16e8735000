"""Link-rule and protocol check codes (9001-9031, etslink's own) and the error that carries them.

The numbering is the project's plan in reference/registry-and-linking.md §b5;
the gateway raises a registry code where a real one exists (2006: the
acquiring account's kind may not hold these units).
"""

from __future__ import annotations

from enum import IntEnum

from registry.errors import CheckCode, RegistryError


class LinkCode(IntEnum):
    """A numbered link check; the first one that fails stops processing."""

    ORIGIN_NOT_ADMITTED = 9001
    DIRECTION_NOT_PERMITTED = 9002
    ENTITY_FOREIGN_UNIT_CAP = 9003
    OUTSIDE_TRANSFER_WINDOW = 9004
    LINK_NOT_ACTIVE = 9005
    ARTICLE6_NOT_AUTHORISED = 9006
    CORRESPONDING_ADJUSTMENT_MISSING = 9007
    SIGNATURE_INVALID = 9008
    MESSAGE_VERSION_MISMATCH = 9009
    TRANSFER_LIMIT_EXCEEDED = 9010
    # Protocol message checks.
    MESSAGE_OUT_OF_SEQUENCE = 9011
    MESSAGE_REPLAYED = 9012
    MESSAGE_MALFORMED = 9013
    MESSAGE_MISADDRESSED = 9014
    # Gateway operations.
    TRANSFER_TIMED_OUT = 9015
    UNITS_IN_FLIGHT = 9016
    UNKNOWN_TRANSFER = 9017
    UNKNOWN_LINK = 9018
    UNKNOWN_PARTICIPANT = 9019
    # Reconciliation discrepancies (reference A10: phase 1 totals, phase 2 blocks).
    RECONCILIATION_TOTALS_INCONSISTENT = 9020
    RECONCILIATION_BLOCKS_INCONSISTENT = 9021
    RECONCILIATION_NOT_QUIESCENT = 9022
    # Article 6.2.
    ARTICLE6_PARTY_UNKNOWN = 9023
    ARTICLE6_AUTHORISATION_INVALID = 9024
    # The network did not settle: messages still undelivered after the rounds allowed.
    MESSAGES_UNDELIVERED = 9025
    # The gateway holds as many open transfers as it may; new ones are refused until some end.
    GATEWAY_BUSY = 9026
    # What the log knows of units and registries from their notices (reference D5, D2).
    UNITS_TERMINAL = 9027  # surrendered, cancelled or retired: they never move again
    REGISTRY_SUSPENDED = 9028  # a party registry notified a registry-wide suspension
    # Time and liveness.
    PROPOSAL_STALE = 9029  # older than the link's maximum age (reference A19, D7)
    SEQUENCE_TAKEN = 9030  # a sequence number taken by another message, not a real retry
    TRANSFER_WITHDRAWN = 9031  # the origin's time-out passed without a final word


class GatewayError(RegistryError):
    """A gateway command was refused; nothing changed. Carries a LinkCode (or a CheckCode)."""

    def __init__(self, code: LinkCode | CheckCode, message: str) -> None:
        super().__init__(code, message)
