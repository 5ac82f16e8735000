"""The `etslink link` commands, end to end: EU and Swiss registries in their own SQLite files.

The federation fixture names its stores relative to the current directory,
so each test runs in its own temporary directory.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from etslink.cli import cli

FIXTURES = Path(__file__).parents[2] / "fixtures"
FEDERATION = str(FIXTURES / "federations" / "eu-switzerland.toml")
EU_SESSION = str(FIXTURES / "registries" / "eu-2024.toml")
CH_SESSION = str(FIXTURES / "registries" / "ch-2024.toml")
TUESDAY = "2024-03-05T10:00:00Z"  # EU–CH transfers run on Tuesdays and Thursdays since 2023
WEDNESDAY = "2024-03-06T10:00:00Z"
THURSDAY = "2024-03-07T09:00:00Z"


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _transfer(quantity: int, at: str | None = None, *extra: str) -> Result:
    args = [
        "link",
        "transfer",
        FEDERATION,
        "--from",
        "EU",
        "--from-account",
        "broker",
        "--to",
        "CH",
        "--to-account",
        "cement",
        "--unit",
        "EUA",
        "--quantity",
        str(quantity),
        *extra,
    ]
    if at is not None:
        args += ["--at", at]
    return _run(*args)


def _make_registries_and_gateway() -> None:
    for session, db in ((EU_SESSION, "eu.db"), (CH_SESSION, "ch.db")):
        made = _run("registry", "session", session, "--db", f"sqlite:///{db}", "--replace")
        assert made.exit_code == 0, made.output
    setup = _run("link", "setup", FEDERATION)
    assert setup.exit_code == 0, setup.output


@pytest.fixture(scope="module")
def founded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding both registries and the gateway, set up once for the module."""
    directory = tmp_path_factory.mktemp("founded")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        _make_registries_and_gateway()
    return directory


@pytest.fixture
def federation_dir(founded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the founded stores and keys, as the current directory."""
    for item in founded.iterdir():
        shutil.copy2(item, tmp_path / item.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_walk_through_moves_eu_allowances_to_a_swiss_account_and_reconciles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _make_registries_and_gateway()
    assert (tmp_path / "eu-ch-gateway.db.GW.key.pem").exists()

    moved = _transfer(1000, TUESDAY)
    assert moved.exit_code == 0, moved.output
    assert "EU-000001" in moved.output and "COMPLETED (4)" in moved.output

    shown = _run("link", "show", FEDERATION)
    assert shown.exit_code == 0, shown.output
    assert "EU ↔ CH" in shown.output and "2024: 1,000" in shown.output

    reconciled = _run("link", "reconcile", FEDERATION)
    assert reconciled.exit_code == 0, reconciled.output
    assert reconciled.output.count("reconciliation COMPLETED (5)") >= 2

    held = _run("registry", "holdings", "cement", "--db", "sqlite:///ch.db")
    assert "EUA" in held.output and "1,000" in held.output


def test_setup_again_is_refused_and_says_how_to_start_over(federation_dir: Path) -> None:
    again = _run("link", "setup", FEDERATION)
    assert again.exit_code == 1
    assert "already exists" in again.output and "--replace" in again.output


def test_setup_before_the_registries_exist_says_how_to_make_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run("link", "setup", FEDERATION)
    assert result.exit_code == 1
    assert "etslink registry session" in result.output
    assert not (tmp_path / "eu-ch-gateway.db").exists()


def test_wednesday_transfer_waits_and_advancing_to_thursday_completes_it(
    federation_dir: Path,
) -> None:
    waiting = _transfer(500, WEDNESDAY)
    assert waiting.exit_code == 0, waiting.output
    assert "PROPOSED (1)" in waiting.output
    assert "opens 2024-03-06T23:00:00Z" in waiting.output  # Thursday 00:00 Brussels time

    listed = _run("link", "transfers", FEDERATION, "--open")
    assert "EU-000001" in listed.output and "Open transfers (1)" in listed.output

    advanced = _run("link", "advance", FEDERATION, "--at", THURSDAY)
    assert advanced.exit_code == 0, advanced.output
    assert "EU-000001: PROPOSED → COMPLETED (4)" in advanced.output

    assert "Open transfers (0)" in _run("link", "transfers", FEDERATION, "--open").output


def test_suspended_link_refuses_a_transfer_with_9005_until_resumed(federation_dir: Path) -> None:
    suspended = _run("link", "suspend", FEDERATION, "eu-ch", "--reason", "registry audit")
    assert suspended.exit_code == 0, suspended.output
    assert "suspended" in suspended.output and "no transfers were in flight" in suspended.output

    refused = _transfer(100, TUESDAY)
    assert refused.exit_code == 1
    assert "REJECTED (6)" in refused.output and "9005" in refused.output

    resumed = _run("link", "resume", FEDERATION, "eu-ch", "--reason", "audit closed")
    assert resumed.exit_code == 0, resumed.output
    moved = _transfer(100)
    assert moved.exit_code == 0, moved.output
    assert "EU-000002" in moved.output and "COMPLETED (4)" in moved.output
    # The rejected units were unlocked: the broker's 250,000 t less the 100 t that crossed.
    held = _run("registry", "holdings", "broker", "--db", "sqlite:///eu.db")
    assert "249,900" in held.output


def test_suspending_terminates_a_waiting_transfer_and_returns_its_units(
    federation_dir: Path,
) -> None:
    assert _transfer(500, WEDNESDAY).exit_code == 0
    suspended = _run("link", "suspend", FEDERATION, "eu-ch", "--reason", "registry audit")
    assert suspended.exit_code == 0, suspended.output
    assert "terminated in flight (1)" in suspended.output
    assert "TERMINATED (5)" in suspended.output
    held = _run("registry", "holdings", "broker", "--db", "sqlite:///eu.db")
    assert "250,000" in held.output


def test_a_registry_suspended_by_its_own_command_ends_the_transfer_waiting_for_its_window(
    federation_dir: Path,
) -> None:
    """EU, 19 January 2011: the registry's suspension reaches the log as a signed notice the
    next time the federation opens, and the waiting transfer ends (9028); its units return."""
    assert _transfer(500, WEDNESDAY).exit_code == 0
    suspended = _run(
        "registry", "suspend", "--reason", "registry thefts", "--db", "sqlite:///eu.db"
    )
    assert suspended.exit_code == 0, suspended.output

    listed = _run("link", "transfers", FEDERATION)
    assert "TERMINATED (5)" in listed.output and "9028 REGISTRY_SUSPENDED" in listed.output
    held = _run("registry", "holdings", "broker", "--db", "sqlite:///eu.db")
    assert "250,000" in held.output
    stuck = _run("link", "transfers", FEDERATION, "--stuck")
    assert stuck.exit_code == 0, stuck.output
    assert "No transfer is locked at its origin past its time-out." in stuck.output
    assert "No protocol alerts." in stuck.output


def test_transfer_over_the_balance_is_refused_3005_and_changes_nothing(
    federation_dir: Path,
) -> None:
    refused = _transfer(250_001, TUESDAY)
    assert refused.exit_code == 1
    assert "3005" in refused.output
    assert "Transfers (0)" in _run("link", "transfers", FEDERATION).output
    held = _run("registry", "holdings", "broker", "--db", "sqlite:///eu.db")
    assert "250,000" in held.output
    assert "EU-000001" in _transfer(1).output  # the generated id was not used up


def test_unknown_key_in_the_federation_file_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    text = Path(FEDERATION).read_text().replace('code = "CH"', 'code = "CH"\ncolour = "red"')
    broken = tmp_path / "federations" / "broken.toml"
    broken.parent.mkdir()
    broken.write_text(text)
    (tmp_path / "links").mkdir()
    shutil.copy(FIXTURES / "links" / "eu-switzerland.toml", tmp_path / "links")
    result = _run("link", "show", str(broken))
    assert result.exit_code == 2
    assert "registry[1].colour" in result.output and "unknown key" in result.output


def test_reconcile_of_one_registry_after_a_transfer_is_consistent(federation_dir: Path) -> None:
    assert _transfer(1000, TUESDAY).exit_code == 0
    result = _run("link", "reconcile", FEDERATION, "CH")
    assert result.exit_code == 0, result.output
    assert "Reconciliation of CH" in result.output
    assert "reconciliation COMPLETED (5)" in result.output
    assert "Reconciliation of EU" not in result.output


def test_article6_report_prints_and_balances(federation_dir: Path) -> None:
    result = _run("link", "article6", FEDERATION)
    assert result.exit_code == 0, result.output
    assert "Article 6.2 corresponding adjustments" in result.output
    assert "no Article 6 transfers recorded" in result.output and "✓ balances" in result.output


def test_time_never_goes_backwards(federation_dir: Path) -> None:
    assert _transfer(10, TUESDAY).exit_code == 0
    result = _run("link", "advance", FEDERATION, "--at", "2024-03-01T00:00:00Z")
    assert result.exit_code == 2
    assert "never goes backwards" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["suspend", FEDERATION, "eu-ch", "--reason", "audit"],
        ["resume", FEDERATION, "eu-ch", "--reason", "audit"],
        ["terminate", FEDERATION, "eu-ch", "--reason", "audit"],
        ["reconcile", FEDERATION],
        ["advance", FEDERATION],
    ],
    ids=lambda command: command[0],
)
def test_every_link_command_refuses_an_at_in_the_past_with_one_line_and_writes_nothing(
    federation_dir: Path, command: list[str]
) -> None:
    assert _transfer(10, TUESDAY).exit_code == 0
    stores = sorted(federation_dir.glob("*.db"))
    before = [sqlite3.connect(db).execute("SELECT * FROM journal").fetchall() for db in stores]
    result = _run("link", *command, "--at", "2024-03-01T00:00:00Z")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        "error: --at 2024-03-01T00:00:00Z is before the federation's simulated now "
        f"{TUESDAY}; simulated time never goes backwards"
    )
    after = [sqlite3.connect(db).execute("SELECT * FROM journal").fetchall() for db in stores]
    assert after == before
    past_transfer = _transfer(10, "2024-03-01T00:00:00Z")
    assert past_transfer.exit_code == 2 and "never goes backwards" in past_transfer.output


def test_an_edited_gateway_journal_exits_3(federation_dir: Path) -> None:
    connection = sqlite3.connect(federation_dir / "eu-ch-gateway.db")
    changed = connection.execute(
        "UPDATE journal SET body = body || ' ' WHERE stream = 'GW' AND seq = 2"
    ).rowcount
    connection.commit()
    connection.close()
    assert changed == 1
    result = _run("link", "show", FEDERATION)
    assert result.exit_code == 3
    assert "does not verify" in result.output


ARTICLE6_LINK = """
[[link]]
id = "ch-eu-itmo"
registry_a = "CH"
registry_b = "EU"
direction = "unilateral"
state = "active"
unit_types = ["CHU"]
effective_from = 2021-01-01
article6 = true
"""

ARTICLE6_FEDERATION = """
name = "Swiss ITMOs to the EU (illustrative)"
links = ["itmo-link.toml"]

[gateway]
db = "sqlite:///itmo-gateway.db"

[[registry]]
code = "EU"
db = "sqlite:///eu.db"

[[registry]]
code = "CH"
db = "sqlite:///ch.db"

[[article6.party]]
code = "CH"
ndc_first_year = 2021
ndc_last_year = 2030
method = "annual"

[[article6.party]]
code = "EU"
ndc_first_year = 2021
ndc_last_year = 2030
method = "annual"

[[article6.authorisation]]
id = "CH-ITMO-2024-1"
party = "CH"
unit_type = "CHU"
vintage = 2024
start = 1
end = 400000
purposes = ["ndc"]
"""


def test_article6_transfer_records_balancing_adjustments_for_both_parties(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "itmo-link.toml").write_text(ARTICLE6_LINK)
    federation = tmp_path / "itmo.toml"
    federation.write_text(ARTICLE6_FEDERATION)
    for session, db in ((EU_SESSION, "eu.db"), (CH_SESSION, "ch.db")):
        assert _run("registry", "session", session, "--db", f"sqlite:///{db}").exit_code == 0
    setup = _run("link", "setup", str(federation))
    assert setup.exit_code == 0, setup.output
    moved = _run(
        "link", "transfer", str(federation), "--from", "CH", "--from-account", "trader",
        "--to", "EU", "--to-account", "broker", "--unit", "CHU", "--quantity", "700",
        "--at", TUESDAY,
    )  # fmt: skip
    assert moved.exit_code == 0, moved.output
    assert "COMPLETED (4)" in moved.output
    report = _run("link", "article6", str(federation))
    assert report.exit_code == 0, report.output
    lines = report.output.splitlines()
    assert any("CH" in line and "2024" in line and "+700" in line for line in lines)
    assert any("EU" in line and "2024" in line and "-700" in line for line in lines)
    assert "✓ balances" in report.output
