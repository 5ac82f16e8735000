"""Compliance check codes (92xx, etslink's own) and the error that carries them."""

from __future__ import annotations

from enum import IntEnum

from registry.errors import RegistryError


class ComplianceCode(IntEnum):
    """A numbered compliance check; the first one that fails stops processing."""

    UNKNOWN_ENTITY = 9201
    REPORT_YEAR_INVALID = 9202
    EMISSIONS_INVALID = 9203
    VERIFIER_NOT_ACCREDITED = 9204
    VERIFICATION_SIGNATURE_INVALID = 9205
    VERIFICATION_MISMATCH = 9206
    CORRECTION_AFTER_DEADLINE = 9207
    SURRENDER_AFTER_DEADLINE = 9208
    UNIT_NOT_ELIGIBLE = 9209
    VINTAGE_NOT_ELIGIBLE = 9210
    QUANTITATIVE_LIMIT_EXCEEDED = 9211
    NO_VERIFIED_EMISSIONS = 9212
    GAS_NOT_COVERED = 9213
    ENTITY_ALREADY_REGISTERED = 9214
    PRICE_SERIES_INVALID = 9215
    ALLOCATION_INPUT_INVALID = 9216
    BORROWING_LIMIT_EXCEEDED = 9217
    PERIOD_INVALID = 9218
    REGIME_MISMATCH = 9219
    PERIOD_SETTLED = 9220
    UNTIMELY_SURRENDER_ALLOWANCES_SHORT = 9221


class ComplianceError(RegistryError):
    """A compliance command was refused; nothing changed. Carries a ComplianceCode."""

    def __init__(self, code: ComplianceCode, message: str) -> None:
        super().__init__(code, message)
