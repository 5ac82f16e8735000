"""External transfers under four-eyes and the payee delay (Reg. (EU) 2019/1122 Art. 35, A12/A13).

The endpoint proposes an initiated transfer only once a second representative
approved it and its delay has run out; until then nothing is locked or sent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.endpoint import TransferOrder
from gateway.messages import TransactionStatus
from registry import CheckCode, RegistryError
from registry.controls import ControlSettings, DelayRule, TransferStatus
from tests.gateway.federation_builders import START, TRADER, build_world

EU_CONTROLS = ControlSettings(
    four_eyes=True, payee_delay_rule=DelayRule.FIXED, untrusted_delay_minutes=48 * 60
)


def test_an_external_transfer_waits_for_a_second_approval_and_its_delay_then_completes() -> None:
    world = build_world()
    federation = world.federation
    eu, ch = world.registry("EU"), world.registry("CH")
    endpoint = federation.endpoints["EU"]
    ch_trader = ch.account(TRADER).account_id
    order = TransferOrder("eu-ch-1", TRADER, "CH", ch_trader, "EUA", 300, 2024)
    eu.configure_controls(EU_CONTROLS)
    eu.add_representative(TRADER, "anna")
    eu.add_representative(TRADER, "ben")
    with pytest.raises(RegistryError) as caught:
        federation.propose("EU", [order])  # a direct proposal from a gated account
    assert caught.value.code is CheckCode.TRANSFER_NEEDS_APPROVAL
    held_t = eu.account(TRADER).holding.balance()

    assert endpoint.initiate(order, "anna") == []
    assert endpoint.approve("eu-ch-1", "ben") == []  # 48 h delay to a non-trusted payee
    assert eu.ledger.controls.controlled_transfer("eu-ch-1").status is TransferStatus.DELAYED
    assert eu.ledger.locks() == [] and eu.account(TRADER).holding.balance() == held_t

    world.clock.set(START + timedelta(hours=47))
    assert endpoint.propose_due() == []
    world.clock.set(START + timedelta(hours=48))  # Thursday: an EU-CH transfer day
    assert len(endpoint.propose_due()) == 1
    assert eu.ledger.controls.controlled_transfer("eu-ch-1").status is TransferStatus.PROPOSED
    federation.pump()
    assert endpoint.status("eu-ch-1") is TransactionStatus.COMPLETED
    assert eu.account(TRADER).holding.balance() == held_t - 300
    federation.flush()
    federation.check_conservation()


def test_an_external_transfer_cancelled_during_its_delay_is_never_proposed() -> None:
    world = build_world()
    federation = world.federation
    eu, ch = world.registry("EU"), world.registry("CH")
    endpoint = federation.endpoints["EU"]
    order = TransferOrder("eu-ch-2", TRADER, "CH", ch.account(TRADER).account_id, "EUA", 300, 2024)
    eu.configure_controls(EU_CONTROLS)
    eu.add_representative(TRADER, "anna")
    eu.add_representative(TRADER, "ben")
    endpoint.initiate(order, "anna")
    endpoint.approve("eu-ch-2", "ben")
    endpoint.cancel("eu-ch-2", "anna")
    world.clock.set(START + timedelta(hours=48))
    assert endpoint.propose_due() == []
    assert eu.ledger.controls.controlled_transfer("eu-ch-2").status is TransferStatus.CANCELLED
    assert eu.ledger.locks() == []
