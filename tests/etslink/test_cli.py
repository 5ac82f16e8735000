"""The `etslink registry` commands, end to end on a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from etslink.cli import cli

FIXTURE = str(Path(__file__).parents[2] / "fixtures" / "registries" / "korea-phase1.toml")


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kr.db'}"


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_session_creates_the_registry_and_verifies_it(store: str, tmp_path: Path) -> None:
    result = _run("registry", "session", FIXTURE, "--db", store)
    assert result.exit_code == 0, result.output
    assert "conservation" in result.output and "journal verified" in result.output
    assert (tmp_path / "kr.db.KR.key.pem").exists()
    verified = _run("registry", "verify", "--db", store)
    assert verified.exit_code == 0, verified.output


def test_session_refuses_to_overwrite_without_replace(store: str) -> None:
    assert _run("registry", "session", FIXTURE, "--db", store).exit_code == 0
    again = _run("registry", "session", FIXTURE, "--db", store)
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert _run("registry", "session", FIXTURE, "--db", store, "--replace").exit_code == 0


def test_session_with_a_failing_operation_stores_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        Path(FIXTURE).read_text().replace("quantity = 1_500_000", "quantity = 999_000_000")
    )
    db = tmp_path / "broken.db"
    result = _run("registry", "session", str(broken), "--db", f"sqlite:///{db}")
    assert result.exit_code == 1
    assert "nothing was stored" in result.output
    assert not db.exists()


def test_transfer_accepted_then_refused_with_code_and_nonzero_exit(store: str) -> None:
    assert _run("registry", "session", FIXTURE, "--db", store).exit_code == 0
    accepted = _run("registry", "transfer", "power", "broker", "KAU", "100", "--db", store)
    assert accepted.exit_code == 0, accepted.output
    assert "accepted" in accepted.output
    refused = _run("registry", "transfer", "power", "broker", "KAU", "999999999", "--db", store)
    assert refused.exit_code == 1
    assert "3005" in refused.output
    holdings = _run("registry", "holdings", "broker", "--db", store)
    assert "500,100" in holdings.output


def test_commands_on_a_missing_store_explain_how_to_start(tmp_path: Path) -> None:
    result = _run("registry", "holdings", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert result.exit_code == 1
    # Followed literally, the hint creates this store, not etslink.db in the current folder.
    assert f"registry session fixtures/registries/korea-phase1.toml --db sqlite:///{tmp_path}" in (
        result.output
    )
    assert not (tmp_path / "none.db").exists()


def test_verify_exits_3_when_the_journal_was_edited(store: str, tmp_path: Path) -> None:
    import sqlite3

    assert _run("registry", "session", FIXTURE, "--db", store).exit_code == 0
    connection = sqlite3.connect(tmp_path / "kr.db")
    changed = connection.execute("UPDATE journal SET body = body || ' ' WHERE seq = 12").rowcount
    assert changed == 1
    connection.commit()
    connection.close()
    result = _run("registry", "verify", "--db", store)
    assert result.exit_code == 3, result.output
    assert "does not verify" in result.output
