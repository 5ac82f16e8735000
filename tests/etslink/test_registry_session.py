"""The registry session file: strict loading and the scripted run."""

from __future__ import annotations

from pathlib import Path

import pytest

from etslink.sessions.registry import build_registry, load_session, run_operations
from registry import CheckCode, Registry, SigningKey, SimulatedClock
from registry.config_reader import ConfigError

FIXTURE = Path(__file__).parents[2] / "fixtures" / "registries" / "korea-phase1.toml"

MINIMAL = """
[registry]
code = "KR"
name = "Korea"

[[unit_types]]
code = "KAU"
kind = "allowance"

[[accounts]]
label = "steel"
kind = "compliance"
holder = "Steel Co"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "session.toml"
    path.write_text(text)
    return path


def _in_memory(session):  # type: ignore[no-untyped-def]
    return build_registry(
        session,
        lambda code, name, unit_types: Registry.create(
            "sqlite://",
            code,
            name,
            SigningKey.generate(),
            SimulatedClock(session.start),
            unit_types,
        ),
    )


def test_shipped_korea_session_runs_every_operation_as_written() -> None:
    session = load_session(FIXTURE)
    registry = _in_memory(session)
    result = run_operations(registry, session)
    assert result.failed is None
    assert len(result.outcomes) == len(session.operations)
    registry.check_conservation()
    refused = {outcome.code for outcome in result.outcomes if not outcome.accepted}
    assert refused == {
        CheckCode.ISSUANCE_OVER_CAP,
        CheckCode.QUANTITY_EXCEEDS_BALANCE,
        CheckCode.ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID,
        CheckCode.REGISTRY_SUSPENDED,
        CheckCode.TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE,
    }


def test_unknown_key_names_file_key_and_the_known_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        MINIMAL + '\n[[operations]]\nop = "issue"\nunit_type = "KAU"\n'
        "vintage = 2015\nquantiy = 5\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_session(path)
    assert caught.value.key == "operations[0].quantiy"
    assert "unknown key" in caught.value.message
    assert str(path) in str(caught.value)


def test_missing_required_key_is_reported_with_its_path(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        MINIMAL + '\n[[operations]]\nop = "transfer"\nfrom = "steel"\n'
        'unit_type = "KAU"\nquantity = 5\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_session(path)
    assert caught.value.key == "operations[0].to"


def test_quantity_written_as_float_is_refused_at_load(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        MINIMAL + '\n[[operations]]\nop = "issue"\nunit_type = "KAU"\n'
        "vintage = 2015\nquantity = 5.0\n",
    )
    with pytest.raises(ConfigError, match="whole number"):
        load_session(path)


def test_unknown_operation_and_unknown_check_code_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected one of"):
        load_session(_write(tmp_path, MINIMAL + '\n[[operations]]\nop = "steal"\n'))
    with pytest.raises(ConfigError, match="not a check code"):
        load_session(
            _write(
                tmp_path,
                MINIMAL + '\n[[operations]]\nop = "resume"\nreason = "x"\nexpect_code = 4242\n',
            )
        )


def test_bad_registry_code_and_bad_toml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="two capital letters"):
        load_session(_write(tmp_path, MINIMAL.replace('code = "KR"', 'code = "Korea"')))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_session(_write(tmp_path, "[registry\n"))


def test_session_stops_at_an_operation_that_was_expected_to_be_refused_but_was_accepted(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path,
        MINIMAL
        + """
[[operations]]
op = "issue"
unit_type = "KAU"
vintage = 2015
quantity = 10
expect_code = 3005

[[operations]]
op = "issue"
unit_type = "KAU"
vintage = 2015
quantity = 10
""",
    )
    session = load_session(path)
    result = run_operations(_in_memory(session), session)
    assert result.failed is not None and result.failed.operation.index == 0
    assert len(result.outcomes) == 1
