"""Monitoring, reporting and verification (MRV): from a report by gas to verified tonnes.

An entity registers with a monitoring plan, reports each year's emissions in
whole kilograms of each gas, direct and indirect (purchased electricity and
heat) kept apart, and an accredited verifier signs a statement over the
report's canonical encoding. The ledger records verified emissions only from
an accredited verifier whose signature holds for that report. At the
regime's verification deadline `MrvLedger.close_year` records the verified
figure or, failing that, a conservative estimate marked `estimated`.

Choices the issue leaves open, made here:

- A report may hold gases the regime does not cover (recorded, not counted),
  but nothing the entity's monitoring plan excludes: a gas outside the plan,
  or indirect emissions when the plan has none, is refused with 9213. The
  plan is what the entity committed to monitor and how.
- `EmissionsReport.covered_t` rounds half up once, on the total of the
  covered gases (direct, plus indirect where the regime covers them).
  `direct_t` and `indirect_t` show the two parts, each rounded on its own,
  so they may differ from `covered_t` by a tonne.
- One deadline settles a year: the calendar's VERIFICATION_DUE for the
  compliance period the year belongs to, or REPORT_DUE where a calendar has
  no verification rule. Until then a report may be corrected (each correction
  is the next version and supersedes the last; a verification counts only for
  the version it names). From then on nothing about the year changes (9207):
  late reports, late corrections and late verifications alike.
- A conservative estimate is never lower than what the entity itself
  reported: the base is the larger of the regime's rule over verified history
  and the latest unverified report, times (1 + uplift), rounded up. Earlier
  estimates are not history. With neither, the ledger's `fallback_t` is used
  as configured (no uplift); without one, closing is refused with 9212.
- A verification recorded before a verifier's accreditation is revoked still
  counts: it was valid when recorded.

Malformed set-up arguments (an empty name, a plan for another entity, a
naive datetime) are programming errors and raise ValueError; every refusal
of a report, verification or close carries a `ComplianceCode`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from compliance.calendar import DeadlineKind
from compliance.errors import ComplianceCode, ComplianceError
from compliance.gases import GWP_SETS, Gas, co2e_t
from compliance.regime import EstimateRule, Regime
from registry import canonical
from registry.clock import format_time
from registry.keys import SigningKey, VerifyKey

QUANTITY_KG_MAX = 10**13  # 10 Gt of one gas: far above any one company's yearly emissions
OUTPUT_UNITS_MAX = 10**15
ENERGY_KL_COE_MAX = 10**9
VERSIONS_MAX = 100  # reports (first plus corrections) per entity and year
TEXT_LENGTH_MAX = 200
SIGNATURE_LENGTH = 64  # Ed25519
# Names what a verifier's signature is over, so it cannot be replayed as another message.
STATEMENT_KIND = "etslink.mrv.verification.v1"


class EntityLevel(StrEnum):
    """Which inclusion threshold an entity's own figure is measured against."""

    COMPANY = "company"  # Coverage.entity_threshold_t, e.g. Korea >= 125,000 t
    INSTALLATION = "installation"  # Coverage.installation_threshold_t, e.g. Korea >= 25,000 t


class EstimateBasis(StrEnum):
    """What a closed year's figure rests on."""

    VERIFIED = "verified"  # not an estimate: the verified report
    PREVIOUS_YEARS = "previous_years"  # the highest of the last verified years
    LAST_VERIFIED = "last_verified"  # the most recent verified year
    UNVERIFIED_REPORT = "unverified_report"  # the entity's own, unverified figure
    FALLBACK = "fallback"  # the ledger's configured figure


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class MonitoringPlan:
    """What an entity commits to monitor: which gases, whether indirect emissions, and how."""

    entity_id: str
    gases: frozenset[Gas]
    indirect: bool
    method: str

    def __post_init__(self) -> None:
        _check_text("entity id", self.entity_id)
        _check_text("monitoring method", self.method)
        if not self.gases or not all(isinstance(gas, Gas) for gas in self.gases):
            raise ValueError(f"a monitoring plan names one or more Gas values, not {self.gases!r}")
        if type(self.indirect) is not bool:
            raise ValueError(f"indirect must be True or False, was {self.indirect!r}")
        object.__setattr__(self, "gases", frozenset(self.gases))

    def to_data(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "gases": sorted(gas.value for gas in self.gases),
            "indirect": self.indirect,
            "method": self.method,
        }


@dataclass(frozen=True, slots=True)
class EmissionsReport:
    """One entity's emissions for one year, in whole kilograms of each gas.

    The quantity maps are copied into read-only mappings, so a submitted
    report cannot change under the ledger. The ledger, not the constructor,
    judges the quantities, so that a bad report is refused with a code.
    """

    entity_id: str
    year: int
    direct_kg: Mapping[Gas, int]
    indirect_kg: Mapping[Gas, int] = field(default_factory=dict)
    output_units: int = 0
    energy_kl_coe: int = 0  # kilolitres of crude-oil equivalent (Tokyo's threshold)
    version: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "direct_kg", MappingProxyType(dict(self.direct_kg)))
        object.__setattr__(self, "indirect_kg", MappingProxyType(dict(self.indirect_kg)))

    def to_data(self) -> dict[str, Any]:
        """Return the report as canonical plain data, gases by name in sorted order."""
        return {
            "entity_id": self.entity_id,
            "year": self.year,
            "direct_kg": _by_name(self.direct_kg),
            "indirect_kg": _by_name(self.indirect_kg),
            "output_units": self.output_units,
            "energy_kl_coe": self.energy_kl_coe,
            "version": self.version,
        }

    def sha256(self) -> str:
        """Return the hex SHA-256 of the report's canonical encoding: what a verifier signs."""
        return hashlib.sha256(canonical.encode(self.to_data())).hexdigest()

    def covered_t(self, regime: Regime) -> int:
        """Return tonnes CO2e the regime counts: its gases, indirect only if it covers them."""
        parts = [self.direct_kg]
        if regime.coverage.indirect_emissions:
            parts.append(self.indirect_kg)
        totals_kg: dict[Gas, int] = {}
        for part in parts:
            for gas, quantity_kg in part.items():
                if gas in regime.coverage.gases:
                    totals_kg[gas] = totals_kg.get(gas, 0) + quantity_kg
        return co2e_t(totals_kg, regime.gwp_set)

    def direct_t(self, regime: Regime) -> int:
        """Return tonnes CO2e of the direct emissions of the regime's gases."""
        return co2e_t(_covered(self.direct_kg, regime), regime.gwp_set)

    def indirect_t(self, regime: Regime) -> int:
        """Return tonnes CO2e of the indirect emissions of the regime's gases, covered or not."""
        return co2e_t(_covered(self.indirect_kg, regime), regime.gwp_set)

    def reaches_threshold(self, regime: Regime, level: EntityLevel) -> bool:
        """Return whether this year's figures reach the regime's inclusion threshold for `level`."""
        emissions_t = self.covered_t(regime)
        return regime.coverage.covers(
            entity_t=emissions_t if level is EntityLevel.COMPANY else None,
            installation_t=emissions_t if level is EntityLevel.INSTALLATION else None,
            energy_kl_coe=self.energy_kl_coe,
        )


@dataclass(frozen=True, slots=True)
class Verifier:
    """An accredited third-party verifier and the Ed25519 key its statements verify with."""

    verifier_id: str
    name: str
    verify_key: VerifyKey

    def __post_init__(self) -> None:
        _check_text("verifier id", self.verifier_id)
        _check_text("verifier name", self.name)
        if not isinstance(self.verify_key, VerifyKey):
            raise ValueError(f"a verifier's key is a VerifyKey, not {type(self.verify_key)}")

    def to_data(self) -> dict[str, Any]:
        return {
            "verifier_id": self.verifier_id,
            "name": self.name,
            "verify_key": self.verify_key.raw.hex(),
        }


@dataclass(frozen=True, slots=True)
class VerificationStatement:
    """A verifier's signed word that one report, by its hash, comes to `verified_t` tonnes."""

    verifier_id: str
    entity_id: str
    year: int
    report_sha256: str
    verified_t: int
    signature: bytes

    def signed_data(self) -> dict[str, Any]:
        """Return every field but the signature, tagged with what kind of message this is."""
        return {
            "kind": STATEMENT_KIND,
            "verifier_id": self.verifier_id,
            "entity_id": self.entity_id,
            "year": self.year,
            "report_sha256": self.report_sha256,
            "verified_t": self.verified_t,
        }

    def signed_bytes(self) -> bytes:
        return canonical.encode(self.signed_data())

    def verifies(self, verify_key: VerifyKey) -> bool:
        """Return whether the signature holds under `verify_key` (False for malformed fields)."""
        if type(self.signature) is not bytes or len(self.signature) != SIGNATURE_LENGTH:
            return False
        try:
            data = self.signed_bytes()
        except canonical.CanonicalEncodingError:
            return False
        return verify_key.verify(self.signature, data)

    def to_data(self) -> dict[str, Any]:
        return {**self.signed_data(), "signature": self.signature.hex()}


def sign_verification(
    signing_key: SigningKey, verifier_id: str, report: EmissionsReport, regime: Regime
) -> VerificationStatement:
    """Sign a statement that `report` comes to its covered tonnes under `regime`."""
    unsigned = VerificationStatement(
        verifier_id, report.entity_id, report.year, report.sha256(), report.covered_t(regime), b""
    )
    return replace(unsigned, signature=signing_key.sign(unsigned.signed_bytes()))


@dataclass(frozen=True, slots=True)
class VerifiedEmissions:
    """An entity-year's emissions as recorded: `t` tonnes CO2e, estimated or verified by whom."""

    t: int
    estimated: bool
    verifier_id: str | None


@dataclass(frozen=True, slots=True)
class RegisteredEntity:
    entity_id: str
    name: str
    plan: MonitoringPlan


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class EntityRegistered:
    entity: RegisteredEntity


@dataclass(frozen=True, slots=True)
class VerifierAccredited:
    verifier: Verifier


@dataclass(frozen=True, slots=True)
class VerifierRevoked:
    verifier_id: str


@dataclass(frozen=True, slots=True)
class ReportSubmitted:
    """A report, or a correction superseding the previous version."""

    report: EmissionsReport


@dataclass(frozen=True, slots=True)
class VerificationRecorded:
    """A verification of one report version; it counts while that version is current."""

    statement: VerificationStatement
    version: int


@dataclass(frozen=True, slots=True)
class YearClosed:
    """An entity-year settled at its deadline; `basis_t` is the figure before any uplift."""

    entity_id: str
    year: int
    emissions: VerifiedEmissions
    basis: EstimateBasis
    basis_t: int

    def to_data(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "year": self.year,
            "emissions_t": self.emissions.t,
            "estimated": self.emissions.estimated,
            "verifier_id": self.emissions.verifier_id,
            "basis": self.basis.value,
            "basis_t": self.basis_t,
        }


MrvEvent = (
    EntityRegistered
    | VerifierAccredited
    | VerifierRevoked
    | ReportSubmitted
    | VerificationRecorded
    | YearClosed
)
_Event = TypeVar("_Event", bound=MrvEvent)


# ---------------------------------------------------------------- the ledger


class MrvLedger:
    """One regime's MRV record: entities, verifiers, reports, verifications, closed years.

    A pure state machine: each command checks everything first, the first
    failed check raising ComplianceError, and only then applies one event,
    which it returns. Time comes in as `now`; nothing here reads a clock.
    """

    def __init__(self, regime: Regime, fallback_t: int | None = None) -> None:
        _check_regime(regime)
        if fallback_t is not None and (type(fallback_t) is not int or fallback_t < 0):
            raise ValueError(f"fallback_t is a whole number of tonnes or None, was {fallback_t!r}")
        self.regime = regime
        self.fallback_t = fallback_t
        self._entities: dict[str, RegisteredEntity] = {}
        self._verifiers: dict[str, Verifier] = {}
        self._revoked: set[str] = set()
        self._reports: dict[str, dict[int, list[EmissionsReport]]] = {}
        self._verifications: dict[str, dict[tuple[int, int], VerificationStatement]] = {}
        self._closed: dict[str, dict[int, YearClosed]] = {}

    # ------------------------------------------------------------ commands

    def register_entity(self, entity_id: str, name: str, plan: MonitoringPlan) -> EntityRegistered:
        """Register a covered entity with its monitoring plan."""
        _check_text("entity id", entity_id)
        _check_text("entity name", name)
        if plan.entity_id != entity_id:
            raise ValueError(f"the monitoring plan is for {plan.entity_id!r}, not {entity_id!r}")
        if entity_id in self._entities:
            raise ComplianceError(
                ComplianceCode.ENTITY_ALREADY_REGISTERED,
                f"entity {entity_id!r} is already registered as {self._entities[entity_id].name!r}",
            )
        return self._apply(EntityRegistered(RegisteredEntity(entity_id, name, plan)))

    def accredit_verifier(self, verifier: Verifier) -> VerifierAccredited:
        """Accredit a verifier, or replace an accredited verifier's key."""
        return self._apply(VerifierAccredited(verifier))

    def revoke_verifier(self, verifier_id: str) -> VerifierRevoked:
        """Withdraw a verifier's accreditation; its earlier verifications still count."""
        self._accredited(verifier_id)
        return self._apply(VerifierRevoked(verifier_id))

    def submit_report(self, report: EmissionsReport, now: datetime) -> ReportSubmitted:
        """Record a report, or a correction that supersedes the current version."""
        _check_now(now)
        entity = self._entity(report.entity_id)
        self._check_year(report.year, now)
        self._check_open(report.entity_id, report.year, now, "a report")
        _check_quantities(report)
        _check_plan(entity.plan, report)
        versions = self._reports[report.entity_id].get(report.year, [])
        expected = len(versions) + 1
        if report.version != expected:
            what = "a first report" if expected == 1 else f"a correction of version {expected - 1}"
            raise ComplianceError(
                ComplianceCode.EMISSIONS_INVALID,
                f"{report.entity_id} {report.year}: expected version {expected} ({what}), "
                f"was version {report.version}",
            )
        return self._apply(ReportSubmitted(report))

    def record_verification(
        self, statement: VerificationStatement, now: datetime
    ) -> VerificationRecorded:
        """Record a verifier's statement over the current report of its entity and year."""
        _check_now(now)
        verifier = self._accredited(statement.verifier_id)
        if not statement.verifies(verifier.verify_key):
            raise ComplianceError(
                ComplianceCode.VERIFICATION_SIGNATURE_INVALID,
                f"the statement on {statement.entity_id!r} {statement.year!r} does not verify "
                f"under verifier {verifier.verifier_id}'s key {verifier.verify_key.fingerprint}: "
                "it is unsigned, altered after signing, or signed with another key",
            )
        self._entity(statement.entity_id)
        self._check_year(statement.year, now)
        self._check_open(statement.entity_id, statement.year, now, "a verification")
        report = self._check_statement_matches(statement)
        return self._apply(VerificationRecorded(statement, report.version))

    def close_year(self, entity_id: str, year: int, now: datetime) -> YearClosed:
        """Settle an entity-year at its deadline: verified emissions, else an estimate."""
        _check_now(now)
        self._entity(entity_id)
        self._check_year(year, now)
        due = self.deadline(year)
        if now < due:
            raise ComplianceError(
                ComplianceCode.REPORT_YEAR_INVALID,
                f"{entity_id} {year} cannot be closed before its deadline {format_time(due)}, "
                f"was {format_time(now)}",
            )
        closed = self._closed[entity_id].get(year)
        if closed is not None:
            raise ComplianceError(
                ComplianceCode.CORRECTION_AFTER_DEADLINE,
                f"{entity_id} {year} was already closed at {closed.emissions.t:,} t",
            )
        statement = self._current_verification(entity_id, year)
        if statement is not None:
            emissions = VerifiedEmissions(statement.verified_t, False, statement.verifier_id)
            event = YearClosed(entity_id, year, emissions, EstimateBasis.VERIFIED, emissions.t)
        else:
            event = self._estimate(entity_id, year)
        return self._apply(event)

    # ------------------------------------------------------------ queries

    def deadline(self, year: int) -> datetime:
        """Return the moment reports and verifications for `year` are due (year valid)."""
        calendar = self.regime.calendar
        period = calendar.period_of(year)
        due = calendar.deadline(DeadlineKind.VERIFICATION_DUE, period)
        if due is None:
            due = calendar.deadline(DeadlineKind.REPORT_DUE, period)
        assert due is not None, "checked in __init__"
        return due.due

    def verified_emissions(self, entity_id: str, year: int) -> VerifiedEmissions:
        """Return the recorded emissions: final once closed, else the verified current report."""
        self._entity(entity_id)
        closed = self._closed[entity_id].get(year)
        if closed is not None:
            return closed.emissions
        statement = self._current_verification(entity_id, year)
        if statement is None:
            report = self.report(entity_id, year)
            found = (
                "no report" if report is None else f"report version {report.version}, unverified"
            )
            raise ComplianceError(
                ComplianceCode.NO_VERIFIED_EMISSIONS,
                f"{entity_id} {year} has no verified emissions ({found})",
            )
        return VerifiedEmissions(statement.verified_t, False, statement.verifier_id)

    def closed(self, entity_id: str, year: int) -> YearClosed | None:
        self._entity(entity_id)
        return self._closed[entity_id].get(year)

    def report(self, entity_id: str, year: int) -> EmissionsReport | None:
        """Return the current (latest) version of the report, if any."""
        versions = self.reports(entity_id, year)
        return versions[-1] if versions else None

    def reports(self, entity_id: str, year: int) -> tuple[EmissionsReport, ...]:
        """Return every version of the report, oldest first."""
        self._entity(entity_id)
        return tuple(self._reports[entity_id].get(year, ()))

    def entity(self, entity_id: str) -> RegisteredEntity:
        return self._entity(entity_id)

    def is_accredited(self, verifier_id: str) -> bool:
        return verifier_id in self._verifiers

    def to_snapshot(self) -> dict[str, Any]:
        """Return the whole state as canonical plain data, in a defined order."""
        return {
            "regime": self.regime.key,
            "fallback_t": self.fallback_t,
            "entities": [
                {"entity_id": item.entity_id, "name": item.name, "plan": item.plan.to_data()}
                for _, item in sorted(self._entities.items())
            ],
            "verifiers": [item.to_data() for _, item in sorted(self._verifiers.items())],
            "revoked": sorted(self._revoked),
            "reports": [
                report.to_data()
                for entity_id in sorted(self._reports)
                for _, versions in sorted(self._reports[entity_id].items())
                for report in versions
            ],
            "verifications": [
                {**statement.to_data(), "version": version}
                for entity_id in sorted(self._verifications)
                for (_, version), statement in sorted(self._verifications[entity_id].items())
            ],
            "closed": [
                record.to_data()
                for entity_id in sorted(self._closed)
                for _, record in sorted(self._closed[entity_id].items())
            ],
        }

    def state_digest(self) -> str:
        """Return SHA-256 over the canonical snapshot: equal digests, equal states."""
        return hashlib.sha256(canonical.encode(self.to_snapshot())).hexdigest()

    # ------------------------------------------------------------ apply

    def apply(self, event: MrvEvent) -> None:
        """Apply one event. Also the replay path: it never validates."""
        self._apply(event)

    def _apply(self, event: _Event) -> _Event:
        match event:
            case EntityRegistered(entity=entity):
                self._entities[entity.entity_id] = entity
                self._reports[entity.entity_id] = {}
                self._verifications[entity.entity_id] = {}
                self._closed[entity.entity_id] = {}
            case VerifierAccredited(verifier=verifier):
                self._verifiers[verifier.verifier_id] = verifier
                self._revoked.discard(verifier.verifier_id)
            case VerifierRevoked(verifier_id=verifier_id):
                del self._verifiers[verifier_id]
                self._revoked.add(verifier_id)
            case ReportSubmitted(report=report):
                versions = self._reports[report.entity_id].setdefault(report.year, [])
                assert report.version == len(versions) + 1, "versions follow one another"
                versions.append(report)
            case VerificationRecorded(statement=statement, version=version):
                key = (statement.year, version)
                self._verifications[statement.entity_id][key] = statement
            case YearClosed(entity_id=entity_id, year=year):
                self._closed[entity_id][year] = event
            case _:
                raise AssertionError(f"no apply rule for {type(event).__name__}")
        return event

    # ------------------------------------------------------------ checks

    def _entity(self, entity_id: str) -> RegisteredEntity:
        entity = self._entities.get(entity_id) if isinstance(entity_id, str) else None
        if entity is None:
            raise ComplianceError(
                ComplianceCode.UNKNOWN_ENTITY,
                f"entity {entity_id!r} is not registered with {self.regime.name}; "
                "register it with a monitoring plan first",
            )
        return entity

    def _accredited(self, verifier_id: str) -> Verifier:
        verifier = self._verifiers.get(verifier_id) if isinstance(verifier_id, str) else None
        if verifier is None:
            why = "was revoked" if verifier_id in self._revoked else "was never granted"
            raise ComplianceError(
                ComplianceCode.VERIFIER_NOT_ACCREDITED,
                f"verifier {verifier_id!r} is not accredited with {self.regime.name} "
                f"(its accreditation {why}); only an accredited verifier's statement is recorded",
            )
        return verifier

    def _check_year(self, year: int, now: datetime) -> None:
        calendar = self.regime.calendar
        if type(year) is not int:
            raise ComplianceError(
                ComplianceCode.REPORT_YEAR_INVALID, f"the year must be a whole number, was {year!r}"
            )
        if year < calendar.first_year:
            raise ComplianceError(
                ComplianceCode.REPORT_YEAR_INVALID,
                f"year {year} is before {self.regime.name} starts ({calendar.first_year})",
            )
        if calendar.last_year is not None and year > calendar.last_year:
            raise ComplianceError(
                ComplianceCode.REPORT_YEAR_INVALID,
                f"year {year} is after {self.regime.name} ends ({calendar.last_year})",
            )
        year_end = datetime(year + 1, 1, 1, tzinfo=UTC)
        if now < year_end:
            raise ComplianceError(
                ComplianceCode.REPORT_YEAR_INVALID,
                f"year {year} has not ended: it ends {format_time(year_end)}, "
                f"now is {format_time(now)}",
            )

    def _check_open(self, entity_id: str, year: int, now: datetime, what: str) -> None:
        closed = self._closed[entity_id].get(year)
        if closed is not None:
            raise ComplianceError(
                ComplianceCode.CORRECTION_AFTER_DEADLINE,
                f"{entity_id} {year} is closed at {closed.emissions.t:,} t "
                f"({'estimated' if closed.emissions.estimated else 'verified'}); "
                f"{what} can no longer change it",
            )
        due = self.deadline(year)
        if now >= due:
            raise ComplianceError(
                ComplianceCode.CORRECTION_AFTER_DEADLINE,
                f"{what} for {entity_id} {year} was due before {format_time(due)}, "
                f"was {format_time(now)}; the year is settled by its close",
            )

    def _check_statement_matches(self, statement: VerificationStatement) -> EmissionsReport:
        where = f"{statement.entity_id} {statement.year}"
        report = self.report(statement.entity_id, statement.year)
        if report is None:
            raise ComplianceError(
                ComplianceCode.VERIFICATION_MISMATCH,
                f"{where} has no report on file to verify; submit the report first",
            )
        if statement.report_sha256 != report.sha256():
            raise ComplianceError(
                ComplianceCode.VERIFICATION_MISMATCH,
                f"the statement is for report {str(statement.report_sha256)[:16]}…, but {where}'s "
                f"current report (version {report.version}) is {report.sha256()[:16]}…",
            )
        covered_t = report.covered_t(self.regime)
        if statement.verified_t != covered_t:
            raise ComplianceError(
                ComplianceCode.VERIFICATION_MISMATCH,
                f"the statement verifies {statement.verified_t:,} t, but {where}'s report comes "
                f"to {covered_t:,} t CO2e under {self.regime.name} ({self.regime.gwp_set} GWPs)",
            )
        if (statement.year, report.version) in self._verifications[statement.entity_id]:
            raise ComplianceError(
                ComplianceCode.VERIFICATION_MISMATCH,
                f"{where} report version {report.version} is already verified; "
                "a new verification needs a corrected report",
            )
        return report

    # ------------------------------------------------------------ estimates

    def _current_verification(self, entity_id: str, year: int) -> VerificationStatement | None:
        report = self.report(entity_id, year)
        if report is None:
            return None
        return self._verifications[entity_id].get((year, report.version))

    def _verified_history_t(self, entity_id: str, year: int) -> list[int]:
        """Return verified tonnes of the years before `year`, most recent first."""
        years = set(self._closed[entity_id]) | set(self._reports[entity_id])
        history: list[int] = []
        for earlier in sorted((y for y in years if y < year), reverse=True):
            closed = self._closed[entity_id].get(earlier)
            if closed is not None:
                if not closed.emissions.estimated:
                    history.append(closed.emissions.t)
                continue
            statement = self._current_verification(entity_id, earlier)
            if statement is not None:
                history.append(statement.verified_t)
        return history

    def _estimate(self, entity_id: str, year: int) -> YearClosed:
        rule = self.regime.estimate
        candidates: list[tuple[int, EstimateBasis]] = []
        history_t = self._verified_history_t(entity_id, year)
        if history_t and rule.rule is EstimateRule.HIGHEST_OF_PREVIOUS_YEARS:
            candidates.append((max(history_t[: rule.years]), EstimateBasis.PREVIOUS_YEARS))
        elif history_t:
            candidates.append((history_t[0], EstimateBasis.LAST_VERIFIED))
        report = self.report(entity_id, year)
        if report is not None:
            candidates.append((report.covered_t(self.regime), EstimateBasis.UNVERIFIED_REPORT))
        if candidates:
            # The rule's figure wins a tie; max() keeps the first of equal keys.
            basis_t, basis = max(candidates, key=lambda candidate: candidate[0])
            estimate_t = math.ceil(basis_t * (1 + rule.uplift))
        elif self.fallback_t is not None:
            basis_t, basis, estimate_t = self.fallback_t, EstimateBasis.FALLBACK, self.fallback_t
        else:
            raise ComplianceError(
                ComplianceCode.NO_VERIFIED_EMISSIONS,
                f"{entity_id} {year} has no report, no verified history and the ledger has no "
                "fallback figure: nothing to base a conservative estimate on; "
                "configure MrvLedger(fallback_t=...)",
            )
        emissions = VerifiedEmissions(estimate_t, True, None)
        return YearClosed(entity_id, year, emissions, basis, basis_t)


# ---------------------------------------------------------------- pure checks


def _check_regime(regime: Regime) -> None:
    gwps = GWP_SETS.get(regime.gwp_set)
    if gwps is None:
        raise ValueError(
            f"{regime.key}: unknown GWP set {regime.gwp_set!r} (have {sorted(GWP_SETS)})"
        )
    missing = sorted(gas.value for gas in regime.coverage.gases if gas not in gwps)
    if missing:
        raise ValueError(f"{regime.key}: the {regime.gwp_set} GWP set has no value for {missing}")
    estimate = regime.estimate
    if estimate.years < 1 or estimate.uplift < 0:
        raise ValueError(f"{regime.key}: estimate needs years >= 1 and uplift >= 0, was {estimate}")
    calendar = regime.calendar
    period = calendar.first_year
    due = calendar.deadline(DeadlineKind.VERIFICATION_DUE, period) or calendar.deadline(
        DeadlineKind.REPORT_DUE, period
    )
    if due is None:
        raise ValueError(f"{regime.key}: the calendar has no VERIFICATION_DUE or REPORT_DUE rule")
    period_end = datetime(calendar.period_last_year(period) + 1, 1, 1, tzinfo=UTC)
    if due.due < period_end:
        raise ValueError(
            f"{regime.key}: reports fall due {format_time(due.due)}, "
            f"before their period ends {format_time(period_end)}"
        )


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, was {now!r}")


def _check_text(what: str, value: str) -> None:
    if type(value) is not str or not 0 < len(value) <= TEXT_LENGTH_MAX:
        raise ValueError(f"{what} must be 1 to {TEXT_LENGTH_MAX} characters, was {value!r}")


def _check_quantities(report: EmissionsReport) -> None:
    where = f"{report.entity_id} {report.year}"
    for part, quantities in (("direct", report.direct_kg), ("indirect", report.indirect_kg)):
        for gas, quantity_kg in quantities.items():
            if not isinstance(gas, Gas):
                raise ComplianceError(
                    ComplianceCode.EMISSIONS_INVALID,
                    f"{where}: {part} emissions are keyed by Gas, found {gas!r}",
                )
            _check_whole(where, f"{part} {gas.value} (kg)", quantity_kg, QUANTITY_KG_MAX)
    _check_whole(where, "output (units)", report.output_units, OUTPUT_UNITS_MAX)
    _check_whole(where, "energy use (kL crude-oil eq.)", report.energy_kl_coe, ENERGY_KL_COE_MAX)
    if type(report.version) is not int or not 1 <= report.version <= VERSIONS_MAX:
        raise ComplianceError(
            ComplianceCode.EMISSIONS_INVALID,
            f"{where}: the version must be 1 to {VERSIONS_MAX}, was {report.version!r}",
        )


def _check_whole(where: str, what: str, value: int, maximum: int) -> None:
    if type(value) is not int or not 0 <= value <= maximum:
        raise ComplianceError(
            ComplianceCode.EMISSIONS_INVALID,
            f"{where}: {what} must be a whole number from 0 to {maximum:,}, was {value!r}",
        )


def _check_plan(plan: MonitoringPlan, report: EmissionsReport) -> None:
    for part, quantities in (("direct", report.direct_kg), ("indirect", report.indirect_kg)):
        outside = sorted(gas.value for gas in quantities if gas not in plan.gases)
        if outside:
            raise ComplianceError(
                ComplianceCode.GAS_NOT_COVERED,
                f"{report.entity_id}'s monitoring plan covers "
                f"{', '.join(sorted(gas.value for gas in plan.gases))}; the report's {part} "
                f"emissions include {', '.join(outside)}: amend the plan or drop the gas",
            )
    if report.indirect_kg and not plan.indirect:
        raise ComplianceError(
            ComplianceCode.GAS_NOT_COVERED,
            f"{report.entity_id}'s monitoring plan excludes indirect emissions (purchased "
            "electricity and heat), but the report has some: amend the plan or drop them",
        )


def _by_name(quantities: Mapping[Gas, int]) -> dict[str, int]:
    return {str(gas): quantities[gas] for gas in sorted(quantities, key=str)}


def _covered(quantities: Mapping[Gas, int], regime: Regime) -> dict[Gas, int]:
    return {gas: kg for gas, kg in quantities.items() if gas in regime.coverage.gases}
