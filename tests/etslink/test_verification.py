"""`etslink verify`: the scenario state machine, its oracles, and the command.

The budget of the runs over shipped scenarios follows the Hypothesis profile
(tests/conftest.py): a few examples by default, many under
HYPOTHESIS_PROFILE=thorough. Each invariant check is shown to fire: the oracle
is broken for one test (monkeypatch) and the same steps pass once it is restored.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import settings

import etslink.verify.machine as verification
import etslink.verify.oracles as rule_oracles
from compliance.book import ComplianceBook
from compliance.presets import load_preset
from compliance.regime import QuantitativeLimit, UnitOrigin
from etslink.cli import cli
from etslink.scenario import Overrides, Scenario, apply_overrides, load_scenario
from etslink.verify.machine import (
    UNEXPECTED,
    InvariantBroken,
    ScenarioMachine,
    VerificationResult,
    machine_for,
    parse_steps,
    replay,
    verify,
)
from etslink.verify.oracles import (
    admission_refusal,
    link_breach,
    period_cap_breach,
    surrender_cap_breach,
)
from gateway.links import Direction, Link, LinkState
from registry import UnitKind, UnitType
from registry.units import UnitBlock

ROOT = Path(__file__).parents[2]
SHIPPED = sorted((ROOT / "fixtures" / "scenarios").glob("*.toml"))
DRILLS = ROOT / "fixtures" / "scenarios" / "verify"
BROKEN = DRILLS / "offsets-reexport-broken.toml"
FIXED = DRILLS / "offsets-reexport-fixed.toml"

# The profile's budget, scaled down: the default profile keeps this file near 30 s. Twenty
# examples at least: with ten, whether any generated transfer crossed the Australia–EU
# one-way link depended on how Hypothesis's examples happened to fall (seen both ways).
EXAMPLES = max(20, settings().max_examples // 3)
STEPS = max(15, settings().stateful_step_count // 2)

SZA_TO_CH = ("transfer_sz_to_ch_on_sz_ch", {"accounts": "sz-industry-1 -> ch-cement-1"})
CCER_CN_TO_SZ = ("transfer_cn_to_sz_on_cn_sz", {"accounts": "cn-power-1 -> sz-industry-1"})


@pytest.fixture(scope="module")
def broken_result() -> VerificationResult:
    """The broken drill verified with the command's default budget and the scenario's seed."""
    return verify(load_scenario(BROKEN), examples=100, steps=20)


@pytest.fixture(scope="module")
def fixed() -> Scenario:
    return load_scenario(FIXED)


@pytest.fixture
def fixed_state(fixed: Scenario) -> Iterator[ScenarioMachine]:
    state = machine_for(fixed)()
    state.invariants_hold()
    yield state
    state.teardown()


def _sza_to_ch(state: ScenarioMachine, quantity: int = 10) -> None:
    name, arguments = SZA_TO_CH
    getattr(state, name)(**arguments, unit="SZA", quantity=quantity)


# ---------------------------------------------------------------- scenarios


@pytest.mark.parametrize("path", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_every_shipped_scenario_keeps_every_invariant(path: Path) -> None:
    result = verify(load_scenario(path), examples=EXAMPLES, steps=STEPS)

    assert result.passed, f"{result.invariant}: {result.detail}\n" + "\n".join(result.steps)
    assert result.examples_run >= EXAMPLES
    assert result.steps == ()
    activity = dict(result.activity)
    assert activity["surrenders accepted"] > 0
    if load_scenario(path).links:  # not a vacuous pass: units crossed the scenario's links
        assert activity["transfers completed"] > 0


def test_the_fixed_drill_keeps_every_invariant(fixed: Scenario) -> None:
    result = verify(fixed, examples=2 * EXAMPLES, steps=STEPS)

    assert result.passed, f"{result.invariant}: {result.detail}\n" + "\n".join(result.steps)
    assert "transfer_sz_to_ch_on_sz_ch" in result.rules
    assert all(count > 0 for _, count in result.activity), result.activity


def test_ccers_reaching_switzerland_through_shenzhen_are_the_counter_example(
    broken_result: VerificationResult,
) -> None:
    result = broken_result

    assert not result.passed
    assert result.invariant == "admission"
    assert "sz-ch" in result.detail and "CCER" in result.detail and "(CH)" in result.detail
    calls = parse_steps(result.steps)
    assert [name for name, _ in calls] == [CCER_CN_TO_SZ[0], SZA_TO_CH[0]]
    assert all(arguments["unit"] == "CCER" for _, arguments in calls)
    assert all(arguments["quantity"] == 1 for _, arguments in calls)
    assert result.steps[0] == "state = VerifyMachine()"
    assert result.steps[-1] == "state.teardown()"
    assert "reexport_allowed" in result.explanation


def test_the_counter_example_replays_as_printed(broken_result: VerificationResult) -> None:
    namespace: dict[str, Any] = {}
    with pytest.raises(InvariantBroken) as broken:
        exec(compile(broken_result.replay_script(), "replay", "exec"), namespace)

    assert broken.value.invariant_name == "admission"
    assert broken.value.detail == broken_result.detail


def test_the_same_seed_gives_the_same_counter_example(broken_result: VerificationResult) -> None:
    again = verify(load_scenario(BROKEN), examples=100, steps=20)

    assert again == broken_result


def test_a_scenario_with_faults_keeps_every_invariant_under_lost_and_repeated_messages(
    tmp_path: Path,
) -> None:
    shutil.copytree(DRILLS / "links", tmp_path / "links")
    faulty = tmp_path / "faulty.toml"
    faults = '\n[faults]\ndrop = "1/10"\nduplicate = "1/10"\ndelay = "1/5"\n'
    faulty.write_text(FIXED.read_text() + faults)

    result = verify(load_scenario(faulty), examples=EXAMPLES, steps=STEPS)

    assert result.passed, f"{result.invariant}: {result.detail}\n" + "\n".join(result.steps)
    assert "deliver_held_messages" in result.rules


def test_a_budget_outside_the_limits_is_refused(fixed: Scenario) -> None:
    with pytest.raises(ValueError, match="examples must be 1"):
        verify(fixed, examples=0)
    with pytest.raises(ValueError, match="steps must be 1"):
        verify(fixed, steps=10_000)


# ---------------------------------------------------------------- the oracles, by example


def _unit(code: str, kind: UnitKind, origin: str) -> UnitType:
    return UnitType(code, kind, origin)


def _link(**changes: Any) -> Link:
    base = Link(
        link_id="sz-ch",
        registry_a="SZ",
        registry_b="CH",
        direction=Direction.UNILATERAL,
        unit_types=frozenset({"SZA"}),
        effective_from=datetime(2021, 7, 16, tzinfo=UTC),
        state=LinkState.ACTIVE,
    )
    return dataclasses.replace(base, **changes)


def test_switzerland_admits_a_linked_allowance_and_refuses_an_offset() -> None:
    # Swiss ETS: CHU, and foreign allowances over links (fixtures/jurisdictions/switzerland.toml).
    regime = load_preset("switzerland")
    links = (_link(),)

    assert (
        admission_refusal(regime, links, _unit("SZA", UnitKind.ALLOWANCE, "SZ"), "SZ", 2022) is None
    )
    refusal = admission_refusal(
        regime, links, _unit("CCER", UnitKind.OFFSET_CREDIT, "CN"), "CN", 2022
    )
    assert refusal is not None and "does not admit CCER" in refusal


def test_shenzhen_refuses_foreign_allowances_it_takes_no_link_units() -> None:
    regime = load_preset("shenzhen")  # foreign_units_via_links = false
    refusal = admission_refusal(
        regime, (_link(),), _unit("CHU", UnitKind.ALLOWANCE, "CH"), "CH", 2022
    )

    assert refusal is not None and "no foreign units" in refusal


def test_the_national_market_refuses_pilot_units_by_origin() -> None:
    # China national: pilot allowances not usable nationally (ineligible_origins SZ, BJ).
    regime = load_preset("china-national")
    refusal = admission_refusal(regime, (), _unit("CCER", UnitKind.OFFSET_CREDIT, "SZ"), "SZ", 2022)

    assert refusal is not None and "origin SZ ineligible" in refusal


def test_a_zero_offset_cap_bans_offsets_and_the_preset_cap_does_not() -> None:
    regime = load_preset("shenzhen")  # CCERs up to 10%
    ccer = _unit("CCER", UnitKind.OFFSET_CREDIT, "CN")

    assert admission_refusal(regime, (), ccer, "CN", 2022) is None
    banned = apply_overrides(regime, Overrides(offset_cap=Fraction(0)))
    refusal = admission_refusal(banned, (), ccer, "CN", 2022)
    assert refusal is not None and "is 0%" in refusal


def test_new_zealand_bans_overseas_units_from_2015() -> None:
    # New Zealand: overseas units limit 0 (fixtures/jurisdictions/new-zealand.toml).
    regime = load_preset("new-zealand")
    link = _link(registry_a="NZ", registry_b="AU", unit_types=frozenset({"AUU"}))
    auu = _unit("AUU", UnitKind.ALLOWANCE, "AU")

    assert admission_refusal(regime, (link,), auu, "AU", 2016) is not None


def _ccer(quantity: int) -> UnitBlock:
    return UnitBlock("CN", "CCER", 2022, 1, quantity)


def test_surrendering_ccers_over_shenzhens_ten_percent_breaks_the_cap() -> None:
    regime = load_preset("shenzhen")
    units = {"CCER": _unit("CCER", UnitKind.OFFSET_CREDIT, "CN")}

    def breach(quantity: int, obligation: int | None) -> str | None:
        return surrender_cap_breach(regime, (), units, "sz-1", 2022, obligation, [_ccer(quantity)])

    assert breach(100, 1_000) is None
    found = breach(101, 1_000)
    assert found is not None and "over the cap of 10% (100 t)" in found
    unknown = breach(1, None)
    assert unknown is not None and "before its obligation was known" in unknown


def test_a_links_foreign_share_cap_binds_at_surrender() -> None:
    regime = load_preset("switzerland")
    link = _link(entity_share_cap=Fraction(1, 2))
    units = {"SZA": _unit("SZA", UnitKind.ALLOWANCE, "SZ")}
    block = UnitBlock("SZ", "SZA", 2022, 1, 600)

    found = surrender_cap_breach(regime, (link,), units, "ch-1", 2022, 1_000, [block])

    assert found is not None and "foreign share cap 50%" in found


def test_a_transfer_over_a_link_it_should_not_cross_is_a_breach() -> None:
    link = _link(effective_to=datetime(2023, 1, 1, tzinfo=UTC))
    during = (datetime(2022, 3, 1, tzinfo=UTC), datetime(2022, 3, 2, tzinfo=UTC))
    after = (datetime(2023, 3, 1, tzinfo=UTC), datetime(2023, 3, 2, tzinfo=UTC))
    sza = frozenset({"SZA"})

    assert link_breach(link, "T1", "SZ", "CH", sza, True, *during) is None
    assert "not active" in (link_breach(link, "T1", "SZ", "CH", sza, False, *during) or "")
    assert "effective dates" in (link_breach(link, "T1", "SZ", "CH", sza, True, *after) or "")
    assert "unilateral" in (link_breach(link, "T1", "CH", "SZ", sza, True, *during) or "")
    ccer = frozenset({"CCER"})
    assert "carried CCER" in (link_breach(link, "T1", "SZ", "CH", ccer, True, *during) or "")


def test_a_flow_over_the_period_cap_is_a_breach() -> None:
    links = {"sz-ch": _link(period_cap_t=1_000)}

    assert period_cap_breach(links, {("sz-ch", 2022): 1_000}) is None
    found = period_cap_breach(links, {("sz-ch", 2022): 1_001})
    assert found is not None and "over its period cap of 1,000 t" in found


# ---------------------------------------------------------------- each check can fire


def test_conservation_fires_when_a_block_disappears(fixed_state: ScenarioMachine) -> None:
    registry = fixed_state.world.registries["SZ"]
    account = registry.account(fixed_state.world.entities["sz-industry-1"].account_id)
    (block, *_) = account.holding.blocks()

    account.holding.remove(block)  # lost without a record: what the check exists for
    with pytest.raises(InvariantBroken) as broken:
        fixed_state.invariants_hold()
    assert broken.value.invariant_name == "conservation"

    account.holding.add(block)
    fixed_state.invariants_hold()


def test_link_rules_fire_when_the_model_says_the_link_was_suspended(
    fixed: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = machine_for(fixed)
    steps = [(SZA_TO_CH[0], {**SZA_TO_CH[1], "unit": "SZA", "quantity": 10})]
    monkeypatch.setattr(
        ScenarioMachine,
        "_gateway_link_states",
        lambda self: dict.fromkeys(self.world.federation.gateway.links, LinkState.SUSPENDED),
    )
    outcome = replay(machine, steps)
    assert outcome is not None and outcome[0] == "link-rules" and "not active" in outcome[1]

    monkeypatch.undo()
    assert replay(machine, steps) is None


def test_link_rules_fire_when_the_period_cap_is_made_tiny(
    fixed: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = machine_for(fixed)
    steps = [(SZA_TO_CH[0], {**SZA_TO_CH[1], "unit": "SZA", "quantity": 10})]
    original = verification.period_cap_breach

    def tiny_caps(links: dict[str, Link], flows: dict[tuple[str, int], int]) -> str | None:
        capped = {key: dataclasses.replace(link, period_cap_t=1) for key, link in links.items()}
        return original(capped, flows)

    monkeypatch.setattr(verification, "period_cap_breach", tiny_caps)
    outcome = replay(machine, steps)
    assert outcome is not None and outcome[0] == "link-rules" and "period cap" in outcome[1]

    monkeypatch.undo()
    assert replay(machine, steps) is None


def test_surrender_caps_fire_when_allowances_are_capped_at_zero(
    fixed: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = machine_for(fixed)
    steps = [
        (
            "surrender_in_sz",
            {"entity": "sz-industry-1", "unit": "SZA", "quantity": 10, "last_year": False},
        )
    ]
    zero = QuantitativeLimit("allowances (broken oracle)", Fraction(0), frozenset(UnitKind))
    monkeypatch.setattr(rule_oracles, "effective_limits", lambda *_: (zero,))
    outcome = replay(machine, steps)
    assert outcome is not None and outcome[0] == "surrender-caps"

    monkeypatch.undo()
    assert replay(machine, steps) is None


def test_admission_fires_when_the_oracle_admits_nothing(
    fixed: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rule_oracles, "linked_valuation", lambda *_: lambda _unit: None)
    result = verify(fixed, examples=3 * EXAMPLES, steps=STEPS)

    assert result.invariant == "admission", result
    assert "does not admit" in result.detail
    (step,) = parse_steps(result.steps)  # the first arrival anywhere is the counter-example
    assert step[0].startswith("transfer_")

    monkeypatch.undo()
    assert replay(machine_for(fixed), parse_steps(result.steps)) is None


def test_an_error_without_a_check_code_is_reported_with_its_steps(
    fixed: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("book on fire")

    monkeypatch.setattr(ComplianceBook, "surrender", crash)
    result = verify(fixed, examples=3 * EXAMPLES, steps=STEPS)

    assert result.invariant == UNEXPECTED
    assert result.detail == "RuntimeError: book on fire"
    assert [name for name, _ in parse_steps(result.steps)][-1].startswith("surrender_in_")


def test_a_zero_offset_cap_override_makes_shenzhen_ccers_a_counter_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = load_scenario(FIXED)
    zero = Overrides(offset_cap=Fraction(0))
    registries = tuple(
        dataclasses.replace(item, overrides=zero, regime=apply_overrides(item.regime, zero))
        if item.code == "SZ"
        else item
        for item in scenario.registries
    )
    steps = [(CCER_CN_TO_SZ[0], {**CCER_CN_TO_SZ[1], "unit": "CCER", "quantity": 1})]

    outcome = replay(machine_for(dataclasses.replace(scenario, registries=registries)), steps)

    assert outcome is not None and outcome[0] == "admission" and "is 0%" in outcome[1]
    assert replay(machine_for(scenario), steps) is None


def test_limits_of_the_regime_the_oracle_reads_are_the_presets() -> None:
    limits = rule_oracles.effective_limits(load_preset("shenzhen"), 2022)

    assert [(limit.share, limit.origin) for limit in limits] == [(Fraction(1, 10), UnitOrigin.ANY)]


# ---------------------------------------------------------------- the command


def _verify_cli(*args: str) -> Any:
    return CliRunner().invoke(cli, ["verify", *args], catch_exceptions=False)


def test_verify_exits_0_when_every_invariant_holds() -> None:
    result = _verify_cli(str(FIXED), "--examples", "3", "--steps", "5")

    assert result.exit_code == 0, result.output
    assert "passed" in result.output
    for invariant in verification.INVARIANTS:
        assert invariant in result.output


def test_verify_exits_1_and_prints_the_replayable_steps_on_a_counter_example(
    broken_result: VerificationResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The search itself ran in `broken_result`; this checks what the command makes of it.
    monkeypatch.setattr("etslink.cli.verify.verify", lambda *_: broken_result)

    result = _verify_cli(str(BROKEN))

    assert result.exit_code == 1, result.output
    assert "counter-example: invariant admission" in result.output
    assert "transfer_sz_to_ch_on_sz_ch(accounts='sz-industry-1 -> ch-cement-1'" in result.output
    assert "unit='CCER'" in result.output
    assert "VerifyMachine = machine_for(load_scenario(" in result.output


def test_verify_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = _verify_cli(str(tmp_path / "nowhere.toml"))

    assert result.exit_code == 2
    assert "nowhere.toml: no such file, nor a shipped scenario of that name" in result.output


def test_verify_of_a_malformed_scenario_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(FIXED.read_text().replace("seed = 7", "seed = 7\nspeed = 3"))

    result = _verify_cli(str(bad))

    assert result.exit_code == 2
    assert "bad.toml" in result.output and "speed" in result.output


def test_verify_of_a_scenario_whose_messages_never_arrive_says_why(tmp_path: Path) -> None:
    shutil.copytree(DRILLS / "links", tmp_path / "links")
    lossy = tmp_path / "lossy.toml"
    lossy.write_text(FIXED.read_text() + '\n[faults]\ndrop = "1"\n')

    result = _verify_cli(str(lossy))

    assert result.exit_code == 2
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "faults.drop is 1; verify needs a chance below 1" in said


def test_verify_refuses_a_budget_of_zero_examples() -> None:
    result = _verify_cli(str(FIXED), "--examples", "0")

    assert result.exit_code == 2
    assert "--examples" in result.output
