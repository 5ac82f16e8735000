"""Bad input on the command line: one error line, exit 2 (or 1 for a refusal), nothing written.

Files nested thousands deep or not UTF-8, a `--at` before the store's
simulated now, and account labels with invisible characters, each tried on
the commands a person would type.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from etslink.cli import cli
from registry.config_reader import NESTING_DEPTH_MAX

FIXTURES = Path(__file__).parents[2] / "fixtures"
KOREA_SESSION = FIXTURES / "registries" / "korea-phase1.toml"
NESTED = b"a = " + b"[" * 5_000 + b"]" * 5_000 + b"\n"
NOT_UTF8 = b'# a file saved as Latin-1\nname = "Z\xfcrich"\n'


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _one_error_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    return lines[0]


def _journal_rows(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT stream, seq, hash FROM journal ORDER BY 1, 2").fetchall()


@pytest.fixture
def korea(tmp_path: Path) -> Path:
    """A stored Korean registry session; returns its SQLite file."""
    db = tmp_path / "kr.db"
    made = _run("registry", "session", str(KOREA_SESSION), "--db", f"sqlite:///{db}")
    assert made.exit_code == 0, made.output
    return db


# ---------------------------------------------------------------- files


# Each command that reads a file a person wrote; FILE stands for it.
FILE_COMMANDS = [
    ("registry", "session", "FILE", "--db", "sqlite:///kr.db"),
    ("compliance", "session", "FILE", "--db", "sqlite:///kr.db"),
    ("link", "setup", "FILE"),
    ("link", "show", "FILE"),
    ("run", "FILE", "--out", "reports"),
    ("verify", "FILE"),
    ("compare", "FILE", "FILE", "--out", "reports"),
]


@pytest.mark.parametrize("command", FILE_COMMANDS, ids=lambda command: " ".join(command[:2]))
@pytest.mark.parametrize(("content", "expected"), [(NESTED, "nested deeper"), (NOT_UTF8, "UTF-8")])
def test_a_broken_file_is_one_error_line_exit_2_and_nothing_is_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
    content: bytes,
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_bytes(content)
    result = _run(*(str(broken) if word == "FILE" else word for word in command))
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert str(broken) in line and expected in line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken.toml"]


def test_nesting_just_within_the_limit_is_read_and_refused_for_what_it_is(tmp_path: Path) -> None:
    broken = tmp_path / "nested.toml"
    depth = NESTING_DEPTH_MAX - 1
    broken.write_text("a = " + "[" * depth + "]" * depth + "\n")
    result = _run("registry", "session", str(broken), "--db", f"sqlite:///{tmp_path / 'kr.db'}")
    assert result.exit_code == 2
    assert "required table is missing" in _one_error_line(result)
    assert not (tmp_path / "kr.db").exists()


# ---------------------------------------------------------------- --at in the past


@pytest.mark.parametrize(
    "command",
    [
        ["issue", "KAU", "2016", "1000"],
        ["transfer", "power", "broker", "KAU", "100"],
        ["open-account", "trading", "Late Broker", "--label", "late"],
        ["suspend", "--reason", "audit"],
    ],
    ids=lambda command: command[0],
)
def test_registry_at_before_the_stores_now_is_exit_2_naming_it_and_changes_nothing(
    korea: Path, command: list[str]
) -> None:
    before = _journal_rows(korea)
    result = _run("registry", *command, "--db", f"sqlite:///{korea}", "--at", "2001-01-01")
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert (
        "--at 2001-01-01T00:00:00Z is before registry KR's simulated now 2016-06-28T10:00:00Z;"
        in line
    )
    assert "never goes backwards" in line
    assert _journal_rows(korea) == before


def test_registry_at_after_the_stores_now_moves_time_and_is_accepted(korea: Path) -> None:
    result = _run(
        "registry", "transfer", "power", "broker", "KAU", "100",
        "--db", f"sqlite:///{korea}", "--at", "2017-01-04",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("label", "shown"),
    [("pos\u202eco", "U+202E"), ("pos\u200bco", "U+200B"), ("pos\u0000co", "U+0000")],
)
def test_open_account_with_an_invisible_character_is_refused_9107_and_changes_nothing(
    korea: Path, label: str, shown: str
) -> None:
    before = _journal_rows(korea)
    result = _run(
        "registry", "open-account", "trading", "Look-alike", "--label", label,
        "--db", f"sqlite:///{korea}",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert "refused with check 9107" in line and shown in line
    assert label not in line
    assert _journal_rows(korea) == before
