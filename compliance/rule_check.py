"""`RuleCheck`: one regime's registry and compliance book in memory, for testing a rule.

A rule test (a regulator's policy team, or our own tests) states a case in a
few lines: open a registry under a preset, add entities, give them units,
report verified emissions in tonnes, surrender, move time past deadlines and
read the outcome. Nothing is bypassed: units are issued and moved by the
registry, surrenders are judged by `ComplianceBook.surrender`, emissions go
through MRV (a report, and a statement signed by a verifier the check
accredits), and deadlines are handled by `ComplianceBook.advance`. A refusal
is the same `RegistryError` / `ComplianceError`, code and message, that the
registry or the book gives; a refused command changes nothing.

The store is SQLite in memory (`sqlite://`); the registry's and the
verifier's keys are fresh for each check and never leave it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction

from compliance.book import ComplianceBook, SurrenderRequest
from compliance.calendar import DeadlineKind
from compliance.errors import ComplianceCode, ComplianceError
from compliance.events import PeriodOutcome, Status
from compliance.gases import Gas
from compliance.mrv import EmissionsReport, MonitoringPlan, Verifier, sign_verification
from compliance.penalties import PenaltyAssessment
from compliance.presets import load_preset
from compliance.regime import Regime
from compliance.surrender_rules import SurrenderAssessment
from registry import (
    AccountKind,
    CheckCode,
    Registry,
    RegistryError,
    SigningKey,
    SimulatedClock,
    UnitKind,
    UnitType,
)

STORE_URL = "sqlite://"  # in memory: a check leaves nothing behind
KG_PER_T = 1_000
VERIFIER_ID = "rule-check-verifier"
MONITORING_METHOD = "calculation"
PROJECT_ID = "rule-check-project"  # what offset credits a check gives are issued for


@dataclass(frozen=True, slots=True)
class SurrenderedUnits:
    """What one entity surrendered of one unit type for one period.

    `share` is of the period's obligation, the base every quantitative limit
    is a share of (None while the obligation is not known: no verified
    emissions yet). `value` is what the units count for (foreign units at
    the link's exchange rate; the regime's own at 1).
    """

    unit_type: str
    kind: UnitKind
    origin: str
    quantity_t: int
    value: Fraction
    share: Fraction | None


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """One entity's settled compliance period: status, shortfall, penalty, what it gave."""

    entity_id: str
    period: int
    status: Status
    emissions_t: int
    estimated: bool  # the emissions are a conservative estimate, not verified
    obligation_t: int  # emissions plus what was carried in
    surrendered: tuple[SurrenderedUnits, ...]
    surrendered_value: Fraction
    shortfall_t: int
    penalty: PenaltyAssessment

    @property
    def compliant(self) -> bool:
        return self.status is Status.COMPLIANT

    @property
    def fine_minor(self) -> int:
        """Return the fine in the regime's currency's minor units (cents; whole won)."""
        return self.penalty.fine_minor

    @property
    def carried_t(self) -> int:
        """Return what is still owed into the next period (make-good, or an added obligation)."""
        return self.penalty.carried_t + self.penalty.added_obligation_t

    def surrendered_t(self, unit_type: str) -> int:
        """Return the tonnes of `unit_type` surrendered for the period (0 if none)."""
        return sum(units.quantity_t for units in self.surrendered if units.unit_type == unit_type)

    def share(self, unit_type: str) -> Fraction:
        """Return `unit_type`'s share of the obligation (0 if none was surrendered)."""
        if self.obligation_t == 0:
            return Fraction(0)
        return Fraction(self.surrendered_t(unit_type), self.obligation_t)


class RuleCheck:
    """One regime's registry and compliance book in memory, driven in a few lines.

    `regime` is a preset key (`etslink jurisdictions` lists them) or a
    `Regime`. `start` (an ISO date or date-time, UTC unless it says
    otherwise; default 1 January of the regime's first year) starts the
    simulated clock; the book settles periods from the one `start` is in.
    The registry knows the regime's allowance and its eligible unit types
    (the others as domestic offset credits), plus `unit_types`.
    """

    def __init__(
        self,
        regime: str | Regime,
        start: str | date | datetime | None = None,
        unit_types: Iterable[UnitType] = (),
    ) -> None:
        self.regime = load_preset(regime) if isinstance(regime, str) else regime
        first = datetime(self.regime.calendar.first_year, 1, 1, tzinfo=UTC)
        self.clock = SimulatedClock(first if start is None else utc_moment(start))
        key = SigningKey.generate()
        self.registry = Registry.create(
            STORE_URL,
            self.regime.registry_code,
            self.regime.name,
            key,
            self.clock,
            preset_unit_types(self.regime, unit_types),
        )
        self.book = ComplianceBook.create(self.registry, self.regime, key)
        self._verifier_key = SigningKey.generate()
        self.book.accredit_verifier(
            Verifier(VERIFIER_ID, "Rule-check verifier", self._verifier_key.verify_key)
        )

    @property
    def now(self) -> datetime:
        return self.clock.now()

    # ------------------------------------------------------------ entities and units

    def entity(self, entity_id: str, name: str = "") -> str:
        """Open a compliance account and register a covered entity with it; return its id.

        Its monitoring plan covers every gas the regime covers, and indirect
        emissions where the regime counts them.
        """
        coverage = self.regime.coverage
        plan = MonitoringPlan(
            entity_id, coverage.gases, coverage.indirect_emissions, MONITORING_METHOD
        )
        label = entity_id.replace("-", "_")  # an account label may not hold '-'
        holder = name or entity_id
        opened = self.registry.open_account(AccountKind.COMPLIANCE, holder, label)
        self.book.register_entity(entity_id, holder, opened.account_id, plan)
        return entity_id

    def give(
        self,
        entity_id: str,
        unit_type: str,
        quantity_t: int,
        vintage: int | None = None,
        project_id: str = PROJECT_ID,
    ) -> None:
        """Put `quantity_t` of `unit_type` (vintage: default this year) in the entity's account.

        The regime's allowance is allocated by the book; any other unit type
        is issued by the registry (an offset credit for `project_id`) and
        transferred, serial for serial.
        """
        account = self.book.account_of(entity_id)
        if type(quantity_t) is not int or quantity_t <= 0:
            raise RegistryError(
                CheckCode.QUANTITY_NOT_POSITIVE_INTEGER,
                f"give a positive whole number of tonnes, was {quantity_t!r}",
            )
        year = self.now.year if vintage is None else vintage
        if unit_type == self.regime.allowance_unit_type:
            self.book.allocate(year, {entity_id: quantity_t})
            return
        known = self.registry.ledger.unit_types.get(unit_type)
        offset = known is not None and known.kind is UnitKind.OFFSET_CREDIT
        issued = self.registry.issue(
            unit_type, year, quantity_t, None, project_id if offset else ""
        )
        self.registry.transfer_blocks(issued.account_id, account, [issued.block])

    def holding_t(self, entity_id: str, unit_type: str, vintage: int | None = None) -> int:
        """Return the tonnes of `unit_type` in the entity's account."""
        account = self.registry.account(self.book.account_of(entity_id))
        return account.holding.balance(unit_type, vintage)

    # ------------------------------------------------------------ MRV

    def report(
        self,
        entity_id: str,
        year: int,
        tonnes: int | None = None,
        *,
        gases: Mapping[Gas | str, int] | None = None,
    ) -> int:
        """Report the entity's emissions for `year` and have them verified; return tonnes CO2e.

        `tonnes` is tonnes of CO2; `gases` maps each gas (`"CH4"`, `Gas.N2O`)
        to tonnes of that gas, which the regime's GWP set converts. The
        report goes through MRV as filed, then the check's accredited
        verifier signs a statement over it and the book records it. A second
        report of the same year is a correction (the next version).
        """
        quantities_t = _quantities_t(tonnes, gases)
        version = len(self.book.mrv.reports(entity_id, year)) + 1
        direct_kg = {gas: quantity_t * KG_PER_T for gas, quantity_t in quantities_t.items()}
        report = EmissionsReport(entity_id, year, direct_kg, version=version)
        self.book.submit_report(report)
        statement = sign_verification(self._verifier_key, VERIFIER_ID, report, self.regime)
        self.book.record_verification(statement)
        return statement.verified_t

    # ------------------------------------------------------------ surrender and time

    def surrender(
        self,
        entity_id: str,
        unit_type: str,
        quantity_t: int,
        *,
        period: int,
        vintage: int | None = None,
    ) -> SurrenderAssessment:
        """Surrender `quantity_t` of `unit_type` (only `vintage`, if given) for `period`.

        Judged by the book together with everything the entity surrendered
        for the period before; all of it moves or none.
        """
        request = SurrenderRequest(unit_type, quantity_t, vintage)
        return self.book.surrender(entity_id, period, [request])

    def set_average_price(self, year: int, price_minor: int) -> None:
        """Record the year's average market price (penalties that multiply it: Korea)."""
        self.book.set_average_price(year, price_minor)

    def advance_to(self, moment: str | date | datetime) -> list[RuleOutcome]:
        """Move the clock to `moment` and handle every deadline up to it; return the outcomes."""
        target = utc_moment(moment)
        if target < self.now:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"simulated time never goes backwards: asked for {target:%Y-%m-%d %H:%M} UTC, "
                f"now is {self.now:%Y-%m-%d %H:%M} UTC",
            )
        self.clock.set(target)
        return [self._rule_outcome(outcome) for outcome in self.book.advance()]

    # ------------------------------------------------------------ outcomes

    def surrendered(self, entity_id: str, period: int) -> tuple[SurrenderedUnits, ...]:
        """Return what the entity surrendered for `period`, by unit type, with shares."""
        settled = self._settled(entity_id, period)
        obligation_t = (
            self.book.obligation_t(entity_id, period) if settled is None else settled.obligation_t
        )
        return self._surrendered(entity_id, period, obligation_t)

    def outcome(self, entity_id: str, period: int) -> RuleOutcome:
        """Return the entity's settled outcome for `period`; refused until its deadline passed."""
        settled = self._settled(entity_id, period)
        if settled is not None:
            return self._rule_outcome(settled)
        deadline = self.regime.calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
        due = (
            "not set" if deadline is None else f"{deadline.due.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        )
        raise ComplianceError(
            ComplianceCode.PERIOD_INVALID,
            f"period {period!r} of {entity_id} is not settled: its surrender deadline is "
            f"{due}, now is {self.now:%Y-%m-%d %H:%M} UTC; advance_to a moment after it",
        )

    def _settled(self, entity_id: str, period: int) -> PeriodOutcome | None:
        self.book.account_of(entity_id)  # an unknown entity is refused (9201)
        return next((o for o in self.book.outcomes(entity_id) if o.period == period), None)

    def _rule_outcome(self, outcome: PeriodOutcome) -> RuleOutcome:
        return RuleOutcome(
            entity_id=outcome.entity_id,
            period=outcome.period,
            status=outcome.status,
            emissions_t=outcome.emissions_t,
            estimated=outcome.estimated,
            obligation_t=outcome.obligation_t,
            surrendered=self._surrendered(outcome.entity_id, outcome.period, outcome.obligation_t),
            surrendered_value=outcome.surrendered_value,
            shortfall_t=outcome.shortfall_t,
            penalty=outcome.penalty,
        )

    def _surrendered(
        self, entity_id: str, period: int, obligation_t: int | None
    ) -> tuple[SurrenderedUnits, ...]:
        account = self.book.account_of(entity_id)
        quantities_t: dict[str, int] = {}
        for record in self.registry.ledger.surrenders(account, period):
            for block in record.blocks:
                quantities_t[block.unit_type] = (
                    quantities_t.get(block.unit_type, 0) + block.quantity
                )
        return tuple(
            self._units(code, quantity_t, obligation_t)
            for code, quantity_t in sorted(quantities_t.items())
        )

    def _units(self, code: str, quantity_t: int, obligation_t: int | None) -> SurrenderedUnits:
        unit_type = self.registry.ledger.unit_types[code]
        rate = self.book.valuation(unit_type)
        value = quantity_t * rate if rate is not None else Fraction(0)
        share = Fraction(quantity_t, obligation_t) if obligation_t else None
        return SurrenderedUnits(code, unit_type.kind, unit_type.origin, quantity_t, value, share)


def preset_unit_types(regime: Regime, extra: Iterable[UnitType] = ()) -> list[UnitType]:
    """Return the unit types a regime's registry needs: its allowance, its eligible types
    (those not in `extra` as domestic offset credits) and `extra`, sorted by code."""
    catalogue = {unit_type.code: unit_type for unit_type in extra}
    allowance = regime.allowance_unit_type
    if allowance and allowance not in catalogue:
        catalogue[allowance] = UnitType(
            allowance, UnitKind.ALLOWANCE, regime.registry_code, regime.name
        )
    for code in regime.surrender.eligible_unit_types - set(catalogue):
        catalogue[code] = UnitType(code, UnitKind.OFFSET_CREDIT, regime.registry_code)
    return [catalogue[code] for code in sorted(catalogue)]


def utc_moment(moment: str | date | datetime) -> datetime:
    """Return `moment` (an ISO date or date-time, a date or a datetime) as an aware datetime.

    A date is its midnight; a moment without a UTC offset is taken as UTC.
    """
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"expected an ISO date or date-time like '2016-07-01', was {moment!r}",
            ) from None
    elif not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _quantities_t(tonnes: int | None, gases: Mapping[Gas | str, int] | None) -> dict[Gas, int]:
    """Return tonnes by gas from a report's `tonnes` (of CO2) or `gases`, exactly one given."""
    if (tonnes is None) == (gases is None):
        raise ComplianceError(
            ComplianceCode.EMISSIONS_INVALID,
            "report either `tonnes` (of CO2) or `gases` (tonnes of each gas), not "
            + ("both" if gases is not None else "neither"),
        )
    if gases is None:
        assert tonnes is not None, "exactly one of the two, checked above"
        gases = {Gas.CO2: tonnes}
    quantities_t: dict[Gas, int] = {}
    for name, quantity_t in gases.items():
        try:
            gas = Gas(name)
        except ValueError:
            raise ComplianceError(
                ComplianceCode.GAS_NOT_COVERED,
                f"{name!r} is not a gas etslink knows; gases: {', '.join(g.value for g in Gas)}",
            ) from None
        if type(quantity_t) is not int or quantity_t < 0:
            raise ComplianceError(
                ComplianceCode.EMISSIONS_INVALID,
                f"{gas.value} emissions must be whole tonnes >= 0, was {quantity_t!r}",
            )
        quantities_t[gas] = quantity_t
    return quantities_t
