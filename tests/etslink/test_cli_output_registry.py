"""`etslink registry …` and `etslink compliance …` for tools and for narrow terminals.

`--json` and `--csv` carry every field in full (ids whole, tonnes as numbers, money
as `…_minor` integers beside major-unit numbers and the currency); tables fit 60,
80 and 120 columns without cutting an id or a number; every command spells a
reason `--reason`; a hint that names a command carries the store's `--db`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from etslink.cli import cli
from etslink.cli.support import DEFAULT_DB, start_hint

FIXTURES = Path(__file__).parents[2] / "fixtures"
REGISTRY_FIXTURE = FIXTURES / "registries" / "korea-phase1.toml"
COMPLIANCE_FIXTURE = FIXTURES / "compliance" / "korea-2015.toml"
ACCOUNT_ID = re.compile(r"KR-\d{3}-\d{7}-\d-\d{2}")
WIDTHS = (60, 80, 120)


def _run(*args: str, columns: int = 80) -> Result:
    runner = CliRunner(env={"COLUMNS": str(columns)})
    return runner.invoke(cli, list(args), catch_exceptions=False)


def _json(*args: str) -> dict[str, Any]:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _csv(*args: str) -> list[dict[str, str]]:
    result = _run(*args, "--csv")
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.fixture(scope="module")
def korea(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store left by the shipped Korea registry session; tests here only read it."""
    db = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'kr.db'}"
    assert _run("registry", "session", str(REGISTRY_FIXTURE), "--db", db).exit_code == 0
    return db


@pytest.fixture(scope="module")
def korea_2015(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store left by the shipped K-ETS 2015 compliance session; tests here only read it."""
    db = f"sqlite:///{tmp_path_factory.mktemp('compliance') / 'kr.db'}"
    assert _run("compliance", "session", str(COMPLIANCE_FIXTURE), "--db", db).exit_code == 0
    return db


@pytest.fixture
def fresh(tmp_path: Path) -> str:
    """A store of its own for a test that changes it."""
    db = f"sqlite:///{tmp_path / 'kr.db'}"
    assert _run("registry", "session", str(REGISTRY_FIXTURE), "--db", db).exit_code == 0
    return db


# ---------------------------------------------------------------- --json and --csv


def test_holdings_json_carries_full_account_ids_and_tonnes_as_numbers(korea: str) -> None:
    document = _json("registry", "holdings", "--db", korea)
    assert document["schema"] == "etslink.registry-holdings/1"
    issuance = next(row for row in document["holdings"] if row["label"] == "issuance")
    assert issuance == {
        "account_id": "KR-100-1000001-0-12",
        "label": "issuance",
        "account_kind": "issuance",
        "unit_type": "KAU",
        "vintage": 2015,
        "quantity_t": 430_000_000,
    }
    assert all(ACCOUNT_ID.fullmatch(row["account_id"]) for row in document["holdings"])
    kau = next(row for row in document["totals"] if row["unit_type"] == "KAU")
    assert kau["issued_t"] == 540_000_000 and kau["surrendered_t"] == 108_400_000


def test_holdings_blocks_csv_gives_one_row_per_serial_block(korea: str) -> None:
    rows = _csv("registry", "holdings", "power", "--blocks", "--db", korea)
    assert [(row["serial_start"], row["serial_end"], row["quantity_t"]) for row in rows] == [
        ("31500001", "31550000", "50000"),
        ("89550001", "90000000", "450000"),
    ]
    assert {row["account_id"] for row in rows} == {"KR-120-1000007-0-93"}


def test_accounts_csv_lists_every_account_with_its_full_id_and_balance(korea: str) -> None:
    rows = _csv("registry", "accounts", "--db", korea)
    assert len(rows) == 11
    assert all(ACCOUNT_ID.fullmatch(row["account_id"]) for row in rows)
    broker = next(row for row in rows if row["label"] == "broker")
    assert broker["balance_t"] == "500000" and broker["status"] == "open"


def test_journal_json_carries_the_full_hash_and_the_event_data(korea: str) -> None:
    document = _json("registry", "journal", "--last", "3", "--db", korea)
    assert document["head_seq"] == 34
    events = document["events"]
    assert [event["seq"] for event in events] == [32, 33, 34]
    assert all(re.fullmatch(r"[0-9a-f]{64}", event["hash"]) for event in events)
    assert events[-1]["data"]["transaction_type"] == "surrender"
    assert events[-1]["data"]["from_account"] == "KR-120-1000009-0-83"


def test_verify_json_reports_the_head_and_conservation(korea: str) -> None:
    document = _json("registry", "verify", "--db", korea)
    assert document["events"] == 34 and len(document["head"]) == 64
    assert document["chain_verified"] is True and document["conservation"] is True


def test_transfer_json_prints_the_accepted_event(fresh: str) -> None:
    result = _run("registry", "transfer", "power", "broker", "KAU", "100", "--db", fresh, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["kind"] == "units_moved" and document["seq"] == 35
    assert document["data"]["to_account"] == "KR-121-1000010-0-69"
    assert sum(b["end"] - b["start"] + 1 for b in document["data"]["blocks"]) == 100


def test_compliance_status_json_gives_fines_in_minor_and_major_units_with_currency(
    korea_2015: str,
) -> None:
    document = _json("compliance", "status", "--db", korea_2015)
    assert document["schema"] == "etslink.compliance-status/1"
    assert document["currency"] == "KRW" and document["fines_minor"] == 9_900_000_000
    cement = next(
        row for row in document["status"] if (row["entity_id"], row["period"]) == ("cement", 2015)
    )
    assert cement["state"] == "shortfall" and cement["shortfall_t"] == 300_000
    # The won has no minor unit: major and minor are the same whole number.
    assert cement["fine_minor"] == 9_900_000_000 and cement["fine"] == 9_900_000_000
    assert cement["currency"] == "KRW"
    steel_2016 = next(
        row for row in document["status"] if (row["entity_id"], row["period"]) == ("steel", 2016)
    )
    assert steel_2016["obligation_t"] is None and steel_2016["state"] == "open"
    [penalty] = document["penalties"]
    assert penalty["entity_id"] == "cement" and penalty["fine_minor"] == 9_900_000_000
    assert {"entity_id": "cement", "period": 2015, "surrendered_t": "9500000"} in document["exact"]


def test_compliance_status_csv_has_one_row_per_entity_and_period(korea_2015: str) -> None:
    rows = _csv("compliance", "status", "--db", korea_2015)
    assert len(rows) == 8
    petrochem = next(r for r in rows if (r["entity_id"], r["period"]) == ("petrochem", "2015"))
    assert petrochem["emissions_t"] == "11400000" and petrochem["emissions_estimated"] == "True"


def test_compliance_entity_json_judges_each_position(korea_2015: str) -> None:
    document = _json("compliance", "entity", "steel", "--db", korea_2015)
    assert document["entity"]["account_id"] == "KR-120-1000006-0-98"
    assert document["judged_period"] == 2016
    kcu = next(row for row in document["positions"] if row["unit_type"] == "KCU")
    assert kcu["quantity_t"] == 65_000 and kcu["may_surrender_t"] is None
    offsets = next(row for row in document["limits"] if row["limit"] == "offsets-phase-1-2")
    assert offsets["share"] == 0.1 and offsets["allowed_t"] is None


def test_compliance_session_json_lists_every_step_and_the_verified_journals(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'kr.db'}"
    document = _json("compliance", "session", str(COMPLIANCE_FIXTURE), "--db", db)
    assert all(step["as_expected"] for step in document["steps"])
    assert {step["code"] for step in document["steps"] if not step["accepted"]} >= {9204, 9211}
    assert document["journals"]["KR.compliance"]["events"] > 0
    assert document["fines_minor"] == 9_900_000_000


# ---------------------------------------------------------------- tables that fit


@pytest.mark.parametrize("columns", WIDTHS)
def test_accounts_table_shows_every_id_and_balance_whole_and_fits(korea: str, columns: int) -> None:
    result = _run("registry", "accounts", "--db", korea, columns=columns)
    assert result.exit_code == 0, result.output
    _assert_fits(result.output, columns)
    for row in _json("registry", "accounts", "--db", korea)["accounts"]:
        assert row["account_id"] in result.output
        assert f"{row['balance_t']:,}" in result.output


@pytest.mark.parametrize("columns", WIDTHS)
def test_holdings_table_shows_ids_and_quantities_whole_and_fits(korea: str, columns: int) -> None:
    result = _run("registry", "holdings", "--db", korea, columns=columns)
    assert result.exit_code == 0, result.output
    _assert_fits(result.output, columns)
    for row in _json("registry", "holdings", "--db", korea)["holdings"]:
        assert row["account_id"] in result.output
        assert f"{row['quantity_t']:,}" in result.output


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize(
    "command",
    [["holdings", "--blocks"], ["journal", "--last", "5"], ["holdings", "power"]],
    ids=" ".join,
)
def test_registry_tables_fit_and_keep_serials_whole(
    korea: str, command: list[str], columns: int
) -> None:
    result = _run("registry", *command, "--db", korea, columns=columns)
    assert result.exit_code == 0, result.output
    _assert_fits(result.output, columns)
    assert "KR-120-1000007-0-93" in result.output or command[0] == "journal"
    if command[0] == "holdings" and "--blocks" in command:
        assert "89550001" in result.output and "90000000" in result.output


def test_a_narrow_table_names_the_columns_it_left_out(korea: str) -> None:
    result = _run("registry", "accounts", "--db", korea, columns=80)
    assert "left out at 80 columns: kind" in result.output
    wide = _run("registry", "accounts", "--db", korea, columns=120)
    assert "left out" not in wide.output


@pytest.mark.parametrize("columns", WIDTHS)
def test_compliance_status_table_shows_figures_whole_and_fits(
    korea_2015: str, columns: int
) -> None:
    result = _run("compliance", "status", "--db", korea_2015, columns=columns)
    assert result.exit_code == 0, result.output
    _assert_fits(result.output, columns)
    for figure in ("20,350,000", "49,000,000", "9,500,000", "KRW 9,900,000,000"):
        assert figure in result.output
    assert "unverified" in result.output


@pytest.mark.parametrize("columns", WIDTHS)
def test_compliance_entity_tables_fit(korea_2015: str, columns: int) -> None:
    result = _run("compliance", "entity", "steel", "--db", korea_2015, columns=columns)
    assert result.exit_code == 0, result.output
    _assert_fits(result.output, columns)
    assert "KR-120-1000006-0-98" in result.output and "1,685,000" in result.output


def _assert_fits(output: str, columns: int) -> None:
    assert "…" not in output  # no cell cut short
    assert max(len(line.rstrip()) for line in output.splitlines()) <= columns


# ---------------------------------------------------------------- one convention


def test_suspend_takes_its_reason_as_an_option_and_requires_it(fresh: str) -> None:
    missing = _run("registry", "suspend", "--db", fresh)
    assert missing.exit_code == 2 and "Missing option '--reason'" in missing.output
    positional = _run("registry", "suspend", "audit", "--db", fresh)
    assert positional.exit_code == 2
    accepted = _run("registry", "suspend", "--reason", "audit", "--db", fresh)
    assert accepted.exit_code == 0, accepted.output
    resumed = _run("registry", "resume", "--reason", "audit done", "--db", fresh)
    assert resumed.exit_code == 0, resumed.output


def test_block_takes_an_optional_reason_and_quarantine_requires_one(fresh: str) -> None:
    assert _run("registry", "block", "broker", "--db", fresh).exit_code == 0
    assert (
        _run("registry", "unblock", "broker", "--reason", "cleared", "--db", fresh).exit_code == 0
    )
    missing = _run("registry", "quarantine", "KAU", "2015", "1", "10", "--db", fresh)
    assert missing.exit_code == 2


def test_at_takes_iso_8601_with_or_without_z(fresh: str) -> None:
    for moment in ("2016-07-01", "2016-07-02T10:00:00Z", "2016-07-03T10:00:00+09:00"):
        result = _run(
            "registry", "transfer", "power", "broker", "KAU", "1", "--at", moment, "--db", fresh
        )
        assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- errors


def test_a_missing_store_hint_carries_the_db_so_it_works_when_followed(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'none.db'}"
    result = _run("registry", "holdings", "--db", db)
    assert result.exit_code == 1
    assert f"'etslink registry session fixtures/registries/korea-phase1.toml --db {db}'" in (
        result.output
    )
    compliance = _run("compliance", "status", "--db", db)
    assert f"'etslink compliance session fixtures/compliance/korea-2015.toml --db {db}'" in (
        compliance.output
    )


def test_an_empty_store_hint_names_the_command_that_fills_it(tmp_path: Path) -> None:
    (tmp_path / "empty.db").write_bytes(b"")
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    result = _run("compliance", "status", "--db", db)
    assert result.exit_code == 1
    assert "holds no registry yet" in result.output
    assert f"compliance session fixtures/compliance/korea-2015.toml --db {db}'" in result.output


@pytest.mark.parametrize(
    ("arguments", "exit_code", "expected"),
    [
        (["registry", "holdings", "nobody"], 1, "no account 'nobody' in registry KR"),
        (["registry", "accounts", "--registry", "XX"], 1, "no registry 'XX'"),
        (["registry", "transfer", "power", "cement", "KAU", "0"], 1, "3008"),
        (["registry", "transfer", "power", "cement", "KAU", "5", "--vintage", "1800"], 1, "9106"),
        (["registry", "transfer", "power", "cement", "KAU", "5", "--at", "2016-13-01"], 2, "ISO"),
        (["registry", "transfer", "power", "cement", "KAU", "5", "--at", "2001-01-01"], 2, "--at"),
        (["registry", "issue", "KAU", "2015", "-5"], 2, "negative number"),
        (["registry", "journal", "--last", "0"], 2, "--last"),
        (["compliance", "entity", "nobody"], 1, "9201"),
        (["compliance", "entity", "steel", "--period", "1900"], 2, "--period"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_bad_input_is_one_line_and_a_nonzero_exit_never_a_traceback(
    korea_2015: str, arguments: list[str], exit_code: int, expected: str
) -> None:
    # Through `main`, as a shell runs it: it names negative numbers and hides tracebacks.
    done = subprocess.run(
        [sys.executable, "-c", "from etslink.cli import main; main()", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80", "ETSLINK_DB": korea_2015},
        check=False,
    )
    assert done.returncode == exit_code, done.stderr
    assert "Traceback" not in done.stderr and expected in done.stderr
    assert done.stdout == ""
    assert len([line for line in done.stderr.splitlines() if line.startswith("error")]) <= 1


def test_a_hint_for_a_server_store_carries_its_url_and_the_default_store_needs_none() -> None:
    url = "postgresql+psycopg://etslink@db.example/etslink"
    start = "etslink registry session fixtures/registries/korea-phase1.toml"
    assert start_hint(url) == f"{start} --db {url}"
    assert start_hint(DEFAULT_DB) == start
    assert start_hint("sqlite:///my store.db", "etslink compliance status") == (
        "etslink compliance status --db 'sqlite:///my store.db'"
    )
