"""`etslink link alerts`: circular trading across the EU and Swiss registries (reference D4)."""

from __future__ import annotations

from pathlib import Path

# The module's fixtures, re-exported (`x as x`) for pytest to find here.
from tests.etslink.test_link_cli import (
    FEDERATION,
    THURSDAY,
    TUESDAY,
    _run,
    _transfer,
)
from tests.etslink.test_link_cli import federation_dir as federation_dir
from tests.etslink.test_link_cli import founded as founded


def _send_back(quantity: int, at: str) -> None:
    back = _run(
        "link",
        "transfer",
        FEDERATION,
        "--from",
        "CH",
        "--from-account",
        "cement",
        "--to",
        "EU",
        "--to-account",
        "broker",
        "--unit",
        "EUA",
        "--quantity",
        str(quantity),
        "--at",
        at,
    )
    assert back.exit_code == 0 and "COMPLETED (4)" in back.output, back.output


def test_allowances_sent_to_switzerland_and_back_within_72_hours_are_an_alert(
    federation_dir: Path,
) -> None:
    out = _transfer(1000, TUESDAY)
    assert out.exit_code == 0 and "COMPLETED (4)" in out.output, out.output
    _send_back(1000, THURSDAY)

    flagged = _run("link", "alerts", FEDERATION)

    assert flagged.exit_code == 0, flagged.output
    assert "Circular trading alerts (1)" in flagged.output
    assert "serials" in flagged.output and "1,000" in flagged.output
    assert "EU-000001" in flagged.output


def test_the_same_round_trip_outside_a_24_hour_window_is_not_flagged(
    federation_dir: Path,
) -> None:
    assert _transfer(1000, TUESDAY).exit_code == 0
    _send_back(1000, THURSDAY)

    quiet = _run("link", "alerts", FEDERATION, "--window-hours", "24")

    assert quiet.exit_code == 0, quiet.output
    assert "No circular trading found." in quiet.output


def test_no_transfers_no_alerts(federation_dir: Path) -> None:
    result = _run("link", "alerts", FEDERATION)
    assert result.exit_code == 0, result.output
    assert "No circular trading found." in result.output
