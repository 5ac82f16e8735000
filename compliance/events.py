"""The compliance journal: the book's own events, and the encoding of every event it records.

A compliance book journals to its own stream (`<registry>.compliance`) with
the registry's journal machinery: MRV events (entity registered, verifier
accredited or revoked, report submitted, verification recorded, year
closed) and the book's (entity bound to an account, average price set,
deadline handled with its outcomes). Units themselves move only in the
registry's journal; the book reads surrenders back from the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from compliance.calendar import DeadlineKind
from compliance.gases import Gas
from compliance.mrv import (
    EmissionsReport,
    EntityRegistered,
    EstimateBasis,
    MonitoringPlan,
    MrvEvent,
    RegisteredEntity,
    ReportSubmitted,
    VerificationRecorded,
    VerificationStatement,
    VerifiedEmissions,
    Verifier,
    VerifierAccredited,
    VerifierRevoked,
    YearClosed,
)
from compliance.penalties import PenaltyAssessment
from registry.keys import VerifyKey


@dataclass(frozen=True, slots=True)
class BookFounded:
    """The first event of a book: which regime (preset key) it keeps for which registry,
    from which compliance period on."""

    regime_key: str
    registry_code: str
    first_period: int


@dataclass(frozen=True, slots=True)
class EntityBound:
    """A registered entity's compliance account in the registry."""

    entity_id: str
    account_id: str


@dataclass(frozen=True, slots=True)
class AveragePriceSet:
    year: int
    price_minor: int


class Status(StrEnum):
    COMPLIANT = "compliant"
    SHORTFALL = "shortfall"


@dataclass(frozen=True, slots=True)
class PeriodOutcome:
    """One entity's result at one surrender deadline."""

    entity_id: str
    period: int
    emissions_t: int
    estimated: bool
    carried_in_t: int
    obligation_t: int
    surrendered_value: Fraction
    shortfall_t: int
    status: Status
    penalty: PenaltyAssessment


@dataclass(frozen=True, slots=True)
class DeadlineHandled:
    kind: DeadlineKind
    period: int
    outcomes: tuple[PeriodOutcome, ...]


BookEvent = BookFounded | EntityBound | AveragePriceSet | DeadlineHandled
ComplianceEvent = MrvEvent | BookEvent


def encode_event(event: ComplianceEvent) -> tuple[str, dict[str, Any]]:
    """Return the journal kind and canonical data of `event`."""
    match event:
        case EntityRegistered(entity=entity):
            return "entity_registered", {
                "entity_id": entity.entity_id,
                "name": entity.name,
                "plan": entity.plan.to_data(),
            }
        case VerifierAccredited(verifier=verifier):
            return "verifier_accredited", verifier.to_data()
        case VerifierRevoked(verifier_id=verifier_id):
            return "verifier_revoked", {"verifier_id": verifier_id}
        case ReportSubmitted(report=report):
            return "report_submitted", report.to_data()
        case VerificationRecorded(statement=statement, version=version):
            return "verification_recorded", {"statement": statement.to_data(), "version": version}
        case YearClosed():
            return "year_closed", event.to_data()
        case BookFounded(
            regime_key=regime_key, registry_code=registry_code, first_period=first_period
        ):
            return "book_founded", {
                "regime_key": regime_key,
                "registry_code": registry_code,
                "first_period": first_period,
            }
        case EntityBound(entity_id=entity_id, account_id=account_id):
            return "entity_bound", {"entity_id": entity_id, "account_id": account_id}
        case AveragePriceSet(year=year, price_minor=price_minor):
            return "average_price_set", {"year": year, "price_minor": price_minor}
        case DeadlineHandled(kind=kind, period=period, outcomes=outcomes):
            return "deadline_handled", {
                "kind": kind.name,
                "period": period,
                "outcomes": [outcome_data(outcome) for outcome in outcomes],
            }
    raise AssertionError(f"no encoding for {type(event).__name__}")


def decode_event(kind: str, data: dict[str, Any]) -> ComplianceEvent:
    """Rebuild an event from its journal kind and data."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ValueError(f"unknown compliance event kind {kind!r}")
    return decoder(data)


def _plan(data: dict[str, Any]) -> MonitoringPlan:
    return MonitoringPlan(
        data["entity_id"],
        frozenset(Gas(gas) for gas in data["gases"]),
        data["indirect"],
        data["method"],
    )


def _report(data: dict[str, Any]) -> EmissionsReport:
    return EmissionsReport(
        data["entity_id"],
        data["year"],
        {Gas(gas): kg for gas, kg in data["direct_kg"].items()},
        {Gas(gas): kg for gas, kg in data["indirect_kg"].items()},
        data["output_units"],
        data["energy_kl_coe"],
        data["version"],
    )


def _statement(data: dict[str, Any]) -> VerificationStatement:
    return VerificationStatement(
        data["verifier_id"],
        data["entity_id"],
        data["year"],
        data["report_sha256"],
        data["verified_t"],
        bytes.fromhex(data["signature"]),
    )


def _year_closed(data: dict[str, Any]) -> YearClosed:
    emissions = VerifiedEmissions(data["emissions_t"], data["estimated"], data["verifier_id"])
    return YearClosed(
        data["entity_id"], data["year"], emissions, EstimateBasis(data["basis"]), data["basis_t"]
    )


def outcome_data(outcome: PeriodOutcome) -> dict[str, Any]:
    """Return an outcome as canonical plain data."""
    penalty = outcome.penalty
    return {
        "entity_id": outcome.entity_id,
        "period": outcome.period,
        "emissions_t": outcome.emissions_t,
        "estimated": outcome.estimated,
        "carried_in_t": outcome.carried_in_t,
        "obligation_t": outcome.obligation_t,
        "surrendered_value": str(outcome.surrendered_value),
        "shortfall_t": outcome.shortfall_t,
        "status": outcome.status.value,
        "penalty": {
            "shortfall_t": penalty.shortfall_t,
            "fine_minor": penalty.fine_minor,
            "added_obligation_t": penalty.added_obligation_t,
            "allowance_share_min": str(penalty.allowance_share_min),
            "carried_t": penalty.carried_t,
            "rule_text": penalty.rule_text,
        },
    }


def _outcome(data: dict[str, Any]) -> PeriodOutcome:
    penalty = data["penalty"]
    return PeriodOutcome(
        data["entity_id"],
        data["period"],
        data["emissions_t"],
        data["estimated"],
        data["carried_in_t"],
        data["obligation_t"],
        Fraction(data["surrendered_value"]),
        data["shortfall_t"],
        Status(data["status"]),
        PenaltyAssessment(
            penalty["shortfall_t"],
            penalty["fine_minor"],
            penalty["added_obligation_t"],
            Fraction(penalty["allowance_share_min"]),
            penalty["carried_t"],
            penalty["rule_text"],
        ),
    )


_DECODERS: dict[str, Any] = {
    "entity_registered": lambda d: EntityRegistered(
        RegisteredEntity(d["entity_id"], d["name"], _plan(d["plan"]))
    ),
    "verifier_accredited": lambda d: VerifierAccredited(
        Verifier(d["verifier_id"], d["name"], VerifyKey.from_raw(bytes.fromhex(d["verify_key"])))
    ),
    "verifier_revoked": lambda d: VerifierRevoked(d["verifier_id"]),
    "report_submitted": lambda d: ReportSubmitted(_report(d)),
    "verification_recorded": lambda d: VerificationRecorded(
        _statement(d["statement"]), d["version"]
    ),
    "year_closed": _year_closed,
    "book_founded": lambda d: BookFounded(d["regime_key"], d["registry_code"], d["first_period"]),
    "entity_bound": lambda d: EntityBound(d["entity_id"], d["account_id"]),
    "average_price_set": lambda d: AveragePriceSet(d["year"], d["price_minor"]),
    "deadline_handled": lambda d: DeadlineHandled(
        DeadlineKind[d["kind"]], d["period"], tuple(_outcome(o) for o in d["outcomes"])
    ),
}
