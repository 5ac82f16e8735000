"""Check codes and the typed error a rejected registry command raises.

The numbering follows the Kyoto transaction log and the UK ETS registry
(1xxx transferring account, 2xxx acquiring account, 3xxx units and
quantities, 10xxx the hub log). Codes 91xx are etslink's own registry checks;
9001-9099 are the gateway's (link rules, protocol, reconciliation).
"""

from __future__ import annotations

from enum import IntEnum


class CheckCode(IntEnum):
    """A numbered business check; the first one that fails stops processing."""

    TRANSFERRING_ACCOUNT_CHECK_DIGITS_INVALID = 1001
    TRANSFERRING_ACCOUNT_DOES_NOT_EXIST = 1002
    TRANSFERRING_ACCOUNT_CLOSED = 1003
    TRANSFERRING_ACCOUNT_SUSPENDED = 1004
    OTHER_PENDING_TRANSACTION_OF_SAME_TYPE = 1006
    TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE = 1007
    ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID = 2001
    ACQUIRING_ACCOUNT_DOES_NOT_EXIST = 2002
    ACQUIRING_ACCOUNT_CLOSED = 2003
    ACQUIRING_ACCOUNT_SUSPENDED = 2004
    ACQUIRING_ACCOUNT_TYPE_MAY_NOT_HOLD_UNITS = 2006
    TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE = 2007
    TRANSFER_OUTSIDE_TRUSTED_LIST_NOT_ALLOWED = 2507
    ACQUIRING_ACCOUNT_EQUALS_TRANSFERRING = 2508
    QUANTITY_EXCEEDS_BALANCE = 3005
    INVALID_UNIT_TYPE = 3006
    QUANTITY_NOT_POSITIVE_INTEGER = 3008
    ACQUIRING_ACCOUNT_HAS_PENDING_TRANSACTION_OF_SAME_TYPE = 3013
    TRANSACTION_DURING_RECONCILIATION = 3016
    ISSUANCE_OVER_CAP = 3500
    BLOCKS_NOT_HELD = 10005
    TRANSACTION_ID_EXISTS = 10006
    # etslink's own registry checks (91xx).
    UNITS_QUARANTINED = 9101
    REGISTRY_SUSPENDED = 9102
    ACCOUNT_NOT_EMPTY = 9103
    ISSUANCE_OVERLAPS_ISSUED_SERIALS = 9104
    UNKNOWN_LOCK = 9105
    INVALID_VINTAGE = 9106
    INVALID_ARGUMENT = 9107
    ACCOUNT_STATUS_CONFLICT = 9108
    UNIT_TYPE_ALREADY_REGISTERED = 9109
    INVALID_SERIAL_RANGE = 9110
    PROJECT_ID_INVALID = 9111
    # Transfer controls (registry.controls).
    HOLDING_LIMIT_EXCEEDED = 9112
    TRANSFER_NEEDS_APPROVAL = 9113
    UNKNOWN_CONTROLLED_TRANSFER = 9114
    APPROVER_IS_INITIATOR = 9115
    NOT_A_REPRESENTATIVE = 9116
    TRANSFER_NOT_PENDING = 9117


class RegistryError(Exception):
    """A command was refused; nothing changed. Carries a stable `code`."""

    def __init__(self, code: IntEnum, message: str) -> None:
        # `code` is a CheckCode here; other packages extend the numbering with
        # their own IntEnum (compliance's 92xx) and subclass this error.
        super().__init__(f"[{int(code)}] {message}")
        self.code = code
        self.message = message


class JournalIntegrityError(Exception):
    """The stored journal does not verify: a broken chain, signature or snapshot."""


class ConcurrentWriterError(Exception):
    """Another writer appended to this journal; this instance must be reopened."""


class StoreError(Exception):
    """The store cannot serve the request (missing registry, existing registry, ...)."""
