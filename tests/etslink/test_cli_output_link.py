"""`etslink link …`, `jurisdictions`, `assess-link` and `verify` for tools and narrow terminals.

Every listing or report has `--json` (a schema-tagged document whose numbers are
numbers) and, where it is a table, `--csv`; tables fit the terminal, leaving
columns out with a note rather than cutting an id or a number; money reads in
major units with its currency; bad input is one line and a non-zero exit; a
preset given as a scenario, and a TOML syntax error, say what and where.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import Result

from etslink.scenario import load_scenario
from registry.config_reader import ConfigError, load_toml

# The module's fixtures, re-exported (`x as x`) for pytest to find here.
from tests.etslink.test_link_cli import FEDERATION, FIXTURES, TUESDAY, _run, _transfer
from tests.etslink.test_link_cli import federation_dir as federation_dir
from tests.etslink.test_link_cli import founded as founded

KOREA_PRESET = FIXTURES / "jurisdictions" / "korea.toml"


def _json(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _csv(result: Result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


# ---------------------------------------------------------------- link commands


def test_link_show_json_has_every_field_of_each_link_with_numbers_as_numbers(
    federation_dir: Path,
) -> None:
    assert _transfer(1000, TUESDAY).exit_code == 0

    doc = _json(_run("link", "show", FEDERATION, "--json"))

    assert doc["schema"] == "etslink.link.show/1"
    assert doc["gateway"] == "GW" and doc["simulated_now"] == "2024-03-05T10:00:00Z"
    (link,) = doc["links"]
    assert link["link_id"] == "eu-ch" and link["direction"] == "bilateral"
    assert link["unit_types"] == ["CHU", "CHUA", "EUA", "EUAA"]
    assert link["exchange_rate"] == 1 and link["per_transfer_limit_t"] == 2_000_000
    assert link["completed"] == 1 and link["flows_t"] == {"2024": 1000}


def test_link_show_at_60_columns_leaves_columns_out_and_says_so(
    federation_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")

    shown = _run("link", "show", FEDERATION)

    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert all(len(line) <= 60 for line in lines[1:]), shown.output  # [0]: the heading
    assert any(line.startswith("eu-ch   EU ↔ CH   active") for line in lines)
    assert "left out at 60 columns" in shown.output and "--json" in shown.output


def test_link_transfers_csv_has_the_full_ids_and_the_transfer_status_numbering(
    federation_dir: Path,
) -> None:
    assert _transfer(1000, TUESDAY).exit_code == 0

    (row,) = _csv(_run("link", "transfers", FEDERATION, "--csv"))

    assert row["transfer_id"] == "EU-000001" and row["from_account"] == "EU-121-1000007-0-60"
    assert (row["status"], row["status_name"], row["quantity_t"]) == ("4", "COMPLETED", "1000")


def test_link_transfer_json_is_the_record_alone_and_time_notes_go_to_stderr(
    federation_dir: Path,
) -> None:
    moved = _transfer(1000, TUESDAY, "--json")

    doc = _json(moved)
    (record,) = doc["transfers"]
    assert record["transfer_id"] == "EU-000001" and record["status"] == 4
    assert "simulated time: 2024-03-05T10:00:00Z" in moved.stderr


def test_link_reconcile_names_its_status_apart_from_a_transfers(federation_dir: Path) -> None:
    assert _transfer(1000, TUESDAY).exit_code == 0

    shown = _run("link", "reconcile", FEDERATION)
    doc = _json(_run("link", "reconcile", FEDERATION, "--json"))

    # Transfer status 5 is TERMINATED: a reconciliation's 5 is never printed bare.
    assert shown.output.count("reconciliation COMPLETED (5)") >= 2
    assert "COMPLETED (5)" not in shown.output.replace("reconciliation COMPLETED (5)", "")
    assert [
        (r["registry"], r["reconciliation_status"], r["consistent"]) for r in doc["registries"]
    ] == [
        ("EU", 5, True),
        ("CH", 5, True),
    ]
    assert {(row["registry"], row["side"], row["registry_total_t"]) for row in doc["totals"]} == {
        ("EU", "away", 1000),
        ("CH", "foreign", 1000),
    }
    assert doc["discrepancies"] == []


def test_link_article6_and_alerts_and_stuck_report_as_json(federation_dir: Path) -> None:
    article6 = _json(_run("link", "article6", FEDERATION, "--json"))
    alerts = _json(_run("link", "alerts", FEDERATION, "--json"))
    stuck = _json(_run("link", "transfers", FEDERATION, "--stuck", "--json"))

    assert article6["schema"] == "etslink.link.article6/1"
    assert article6["balances"] is True and article6["adjustments"] == []
    assert alerts["alerts"] == [] and alerts["window_hours"] == 72
    assert (stuck["at_log"], stuck["at_origin"], stuck["alerts"]) == ([], [], [])


def test_bad_input_to_link_commands_is_one_line_and_a_non_zero_exit(
    federation_dir: Path, tmp_path: Path
) -> None:
    unknown_link = _run("link", "suspend", FEDERATION, "no-such-link", "--reason", "audit")
    missing = _run("link", "show", str(tmp_path / "missing.toml"))
    bad_at = _run("link", "reconcile", FEDERATION, "--at", "2024-03-99")
    zero = _transfer(0, TUESDAY)
    unknown_registry = _run("link", "reconcile", FEDERATION, "XX")

    assert unknown_link.exit_code == 1 and "9018" in unknown_link.output
    assert zero.output.strip() == (
        "error: --quantity: expected a whole number of tonnes of 1 or more, found 0"
    )
    assert missing.exit_code == 2
    assert missing.output.strip() == f"error: {tmp_path / 'missing.toml'}: (file): no such file"
    assert bad_at.exit_code == 2 and "expected an ISO 8601 time" in bad_at.output
    assert zero.exit_code == 2
    assert unknown_registry.exit_code == 2 and "XX: not a registry" in unknown_registry.output
    for result in (unknown_link, missing, bad_at, zero, unknown_registry):
        assert len(result.stderr.strip().splitlines()) <= 4, result.output  # click's usage: 4
        assert result.stderr.strip().splitlines()[-1].lower().startswith("error"), result.stderr
        assert "Traceback" not in result.output


def test_a_federation_whose_store_is_down_is_one_line(tmp_path: Path) -> None:
    down = tmp_path / "down.toml"
    down.write_text(
        Path(FEDERATION)
        .read_text()
        .replace("sqlite:///eu.db", "postgresql+psycopg://nobody@127.0.0.1:1/eu")
        .replace('"../links/', f'"{FIXTURES / "links"}/')
        .replace("sqlite:///eu-ch-gateway.db", f"sqlite:///{tmp_path / 'gw.db'}")
    )

    result = _run("link", "setup", str(down))

    assert result.exit_code == 1
    assert result.output.startswith("error: cannot open the store postgresql+psycopg://")
    assert len(result.output.strip().splitlines()) == 1


# ---------------------------------------------------------------- jurisdictions, assess-link


def test_jurisdictions_shows_money_in_major_units_and_gives_tools_minor_units(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "240")
    table = _run("jurisdictions")
    rows = {row["key"]: row for row in _csv(_run("jurisdictions", "--csv"))}
    korea = _json(_run("jurisdictions", "show", "korea", "--json"))

    assert "EUR 100.00/t" in table.output and "KRW 100,000/t" in table.output
    assert "CHF 125.00/t" in table.output
    assert (rows["eu"]["penalty_fixed_per_t_minor"], rows["eu"]["penalty_fixed_per_t"]) == (
        "10000",
        "100.0",
    )
    assert korea["schema"] == "etslink.jurisdictions.show/1"
    assert (korea["currency"], korea["penalty_cap_per_t_minor"], korea["penalty_cap_per_t"]) == (
        "KRW",
        100_000,
        100_000,
    )
    assert korea["stability"]["trigger_multiple"] == 3
    assert korea["stability"]["reserve_release_share_max"] == 0.25
    assert len(korea["unverified_paths"]) == korea["unverified"] == 12


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_jurisdictions_and_assess_link_fit_the_terminal(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    for args in (
        ("jurisdictions",),
        ("jurisdictions", "show", "korea"),
        ("assess-link", "korea", "china-national"),
    ):
        result = _run(*args)
        assert result.exit_code == 0, result.output
        too_wide = [line for line in result.output.splitlines() if len(line) > columns]
        assert not too_wide, (args, too_wide)
    listing = _run("jurisdictions").output
    assert "china-national" in listing  # an id is never cut


def test_assess_link_csv_has_one_row_per_point() -> None:
    rows = _csv(_run("assess-link", "korea", "china-national", "--csv"))

    assert [row["verdict"] for row in rows].count("BARRIER") == 1
    cap = next(row for row in rows if row["key"] == "cap-type")
    assert (cap["a_value"], cap["b_value"]) == ("absolute", "intensity")


def test_assess_link_of_an_unknown_preset_is_one_line() -> None:
    result = _run("assess-link", "korea", "atlantis")

    assert result.exit_code == 2
    assert result.output.startswith("error: B: no preset 'atlantis'; presets: australia")
    assert len(result.output.strip().splitlines()) == 1


def test_verify_refuses_a_seed_that_is_not_a_whole_number() -> None:
    result = _run("verify", str(FIXTURES / "scenarios" / "kazakhstan.toml"), "--seed", "abc")

    assert result.exit_code == 2
    assert "a seed is a whole number like 42, found 'abc'" in result.output


# ---------------------------------------------------------------- loader messages


def test_a_preset_given_as_a_scenario_says_so_and_names_the_scenarios_using_it() -> None:
    with pytest.raises(ConfigError) as refused:
        load_scenario(KOREA_PRESET)

    message = str(refused.value)
    assert message.startswith(f"{KOREA_PRESET}: (file): this is the jurisdiction preset 'korea'")
    assert "not a scenario" in message and "northeast-asia.toml" in message
    assert "etslink run " in message and "etslink jurisdictions show korea" in message


def test_verify_of_a_preset_is_one_line_naming_how_to_run_a_scenario() -> None:
    result = _run("verify", str(KOREA_PRESET))

    assert result.exit_code == 2
    assert "jurisdiction preset 'korea', not a scenario" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_toml_syntax_error_on_line_7_is_reported_at_line_7(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    lines = ["[scenario]", 'name = "x"', "", "[calendar]", "years = 1", "", "start = = 2024"]
    broken.write_text("\n".join(lines) + "\n\n[[registry]]\ncode = 'KR'\n")

    with pytest.raises(ConfigError) as refused:
        load_scenario(broken)

    assert str(refused.value) == f"{broken}: line 7, column 9: not valid TOML: Invalid value"


def test_a_string_cut_by_a_line_end_is_placed_on_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "unclosed.toml"
    broken.write_text('a = 1\nb = """\nx = 2\n"""\n\nc = 3\nname = "Z\n\nd = 4\n')

    with pytest.raises(ConfigError) as refused:
        load_toml(broken)

    message = str(refused.value)
    assert message.startswith(f"{broken}: line 7")
    assert "line 7, column 10: not valid TOML: Illegal character" in message


def test_a_multi_line_string_never_closed_is_placed_where_it_opens(tmp_path: Path) -> None:
    # tomllib says "at end of document"; the line that opens the string is the useful place.
    broken = tmp_path / "unclosed.toml"
    broken.write_text('a = 1\nb = [\n  2,\n]\n\nc = 3\nnarrative = """\nkey = 1\n\nz = 2\n')

    with pytest.raises(ConfigError) as refused:
        load_toml(broken)

    assert str(refused.value) == (
        f"{broken}: line 7: not valid TOML: Unterminated string: "
        "the value that starts on line 7 is never closed"
    )
