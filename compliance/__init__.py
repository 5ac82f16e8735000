"""Each regime's compliance rules as data, and the book that applies them to a registry.

`load_preset("korea")` reads a jurisdiction's `Regime`; `ComplianceBook` ties it to a
`Registry` (MRV, allocation, surrender judged as a whole, deadlines and penalties);
`RuleCheck` opens both in memory to test a rule in a few lines (docs/rule-checks.md).

`import compliance` loads nothing more than the registry's light face: each name is
imported on first use (and with it what it needs, such as the store and SQLAlchemy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.lazy_names import lazy_names

if TYPE_CHECKING:
    from compliance.book import ComplianceBook, SurrenderRequest
    from compliance.calendar import Calendar, Deadline, DeadlineKind, DeadlineRule, Phase
    from compliance.errors import ComplianceCode, ComplianceError
    from compliance.events import PeriodOutcome, Status
    from compliance.gases import Gas
    from compliance.mrv import (
        EmissionsReport,
        MonitoringPlan,
        MrvLedger,
        VerificationStatement,
        Verifier,
        sign_verification,
    )
    from compliance.penalties import PenaltyAssessment, assess_penalty
    from compliance.presets import UnknownPresetError, list_presets, load_preset, load_regime
    from compliance.regime import (
        AllocationMethod,
        AllocationRule,
        CapType,
        ConservativeEstimate,
        Coverage,
        EstimateRule,
        PenaltyKind,
        PenaltyRule,
        QuantitativeLimit,
        Regime,
        StabilityRules,
        SurrenderRules,
        UnitOrigin,
    )
    from compliance.rule_check import RuleCheck, RuleOutcome, SurrenderedUnits, preset_unit_types
    from compliance.surrender_rules import LimitUse, SurrenderAssessment, assess_surrender

# Where each public name lives; `__getattr__` imports its module when it is first asked for.
_HOMES: dict[str, str] = {
    "ComplianceBook": "compliance.book",
    "SurrenderRequest": "compliance.book",
    "Calendar": "compliance.calendar",
    "Deadline": "compliance.calendar",
    "DeadlineKind": "compliance.calendar",
    "DeadlineRule": "compliance.calendar",
    "Phase": "compliance.calendar",
    "ComplianceCode": "compliance.errors",
    "ComplianceError": "compliance.errors",
    "PeriodOutcome": "compliance.events",
    "Status": "compliance.events",
    "Gas": "compliance.gases",
    "EmissionsReport": "compliance.mrv",
    "MonitoringPlan": "compliance.mrv",
    "MrvLedger": "compliance.mrv",
    "VerificationStatement": "compliance.mrv",
    "Verifier": "compliance.mrv",
    "sign_verification": "compliance.mrv",
    "PenaltyAssessment": "compliance.penalties",
    "assess_penalty": "compliance.penalties",
    "UnknownPresetError": "compliance.presets",
    "list_presets": "compliance.presets",
    "load_preset": "compliance.presets",
    "load_regime": "compliance.presets",
    "AllocationMethod": "compliance.regime",
    "AllocationRule": "compliance.regime",
    "CapType": "compliance.regime",
    "ConservativeEstimate": "compliance.regime",
    "Coverage": "compliance.regime",
    "EstimateRule": "compliance.regime",
    "PenaltyKind": "compliance.regime",
    "PenaltyRule": "compliance.regime",
    "QuantitativeLimit": "compliance.regime",
    "Regime": "compliance.regime",
    "StabilityRules": "compliance.regime",
    "SurrenderRules": "compliance.regime",
    "UnitOrigin": "compliance.regime",
    "RuleCheck": "compliance.rule_check",
    "RuleOutcome": "compliance.rule_check",
    "SurrenderedUnits": "compliance.rule_check",
    "preset_unit_types": "compliance.rule_check",
    "LimitUse": "compliance.surrender_rules",
    "SurrenderAssessment": "compliance.surrender_rules",
    "assess_surrender": "compliance.surrender_rules",
}

__all__ = [
    "AllocationMethod",
    "AllocationRule",
    "Calendar",
    "CapType",
    "ComplianceBook",
    "ComplianceCode",
    "ComplianceError",
    "ConservativeEstimate",
    "Coverage",
    "Deadline",
    "DeadlineKind",
    "DeadlineRule",
    "EmissionsReport",
    "EstimateRule",
    "Gas",
    "LimitUse",
    "MonitoringPlan",
    "MrvLedger",
    "PenaltyAssessment",
    "PenaltyKind",
    "PenaltyRule",
    "PeriodOutcome",
    "Phase",
    "QuantitativeLimit",
    "Regime",
    "RuleCheck",
    "RuleOutcome",
    "StabilityRules",
    "Status",
    "SurrenderAssessment",
    "SurrenderRequest",
    "SurrenderRules",
    "SurrenderedUnits",
    "UnitOrigin",
    "UnknownPresetError",
    "VerificationStatement",
    "Verifier",
    "assess_penalty",
    "assess_surrender",
    "list_presets",
    "load_preset",
    "load_regime",
    "preset_unit_types",
    "sign_verification",
]

__getattr__, __dir__ = lazy_names(globals(), _HOMES)
