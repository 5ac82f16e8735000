"""The EU transfer-controls session runs as written (Reg. (EU) 2019/1122 Art. 35, A12/A13)."""

from __future__ import annotations

from pathlib import Path

from etslink.sessions.registry import build_registry, load_session, run_operations
from registry import Registry, SigningKey, SimulatedClock
from registry.controls import DelayRule, TransferStatus

FIXTURE = Path(__file__).parents[2] / "fixtures" / "registries" / "eu-2024-controls.toml"


def test_the_eu_controls_session_stops_the_phished_transfer_and_pays_the_trusted_broker() -> None:
    session = load_session(FIXTURE)
    assert session.controls is not None and session.controls.four_eyes
    assert session.controls.payee_delay_rule is DelayRule.EU_WORKING_DAYS

    def create(code: str, name: str, unit_types: object) -> Registry:
        clock = SimulatedClock(session.start)
        return Registry.create("sqlite://", code, name, SigningKey.generate(), clock, unit_types)  # type: ignore[arg-type]

    registry = build_registry(session, create)
    result = run_operations(registry, session)
    assert result.failed is None, result.failed
    ledger = registry.ledger
    assert ledger.controls.controlled_transfer("EU-T1").status is TransferStatus.CANCELLED
    assert ledger.controls.controlled_transfer("EU-T2").status is TransferStatus.COMPLETED
    assert registry.account("stranger").holding.balance() == 0
    assert registry.account("broker").holding.balance() == 250_000
    registry.check_conservation()
