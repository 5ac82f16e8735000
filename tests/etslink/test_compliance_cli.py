"""The `etslink compliance` commands, end to end on a SQLite file.

The shipped session follows the K-ETS rules of the korea preset: offsets at
most 10% of the obligation (FNI), surrender by 30 June of the following year
(ICAP news 263), and a penalty of 3x the year's average price, at most
KRW 100,000/t (climate-laws.org).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from etslink.cli import cli
from etslink.sessions.compliance import load_compliance_session, verifier_key

FIXTURE = Path(__file__).parents[2] / "fixtures" / "compliance" / "korea-2015.toml"
REGISTRY_FIXTURE = Path(__file__).parents[2] / "fixtures" / "registries" / "korea-phase1.toml"
SURRENDERS_HEADING = (
    "# ---------------------------------------------------------------- surrender, June 2016"
)


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kr.db'}"


def _run(*args: str) -> Result:
    # Wide enough that every column is shown and no row wraps, whatever the terminal.
    return CliRunner(env={"COLUMNS": "300"}).invoke(cli, list(args), catch_exceptions=False)


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = FIXTURE.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "variant.toml"
    path.write_text(text.replace(old, new))
    return path


def _row(output: str, first: str, *cells: str) -> str:
    """Return the one table row whose first column is `first` and that holds every cell
    (not a note under the table: "cement 2015: 3 × average price …")."""
    rows = [
        line
        for line in output.splitlines()
        if line.split()[:1] == [first]
        and not any(word.endswith(":") for word in line.split()[1:2])
        and all(cell in line for cell in cells)
    ]
    assert len(rows) == 1, (first, cells, rows)
    return rows[0]


def test_shipped_korea_session_runs_every_step_as_written_and_settles_2015(
    store: str, tmp_path: Path
) -> None:
    result = _run("compliance", "session", str(FIXTURE), "--db", store)
    assert result.exit_code == 0, result.output
    for code in ("refused 9204", "refused 9205", "refused 9207", "refused 9211", "refused 9220"):
        assert code in result.output
    assert "compliant" in _row(result.output, "steel", "2015", "20,350,000")
    petrochem = _row(result.output, "petrochem", "2015", "11,400,000")
    assert "compliant; emissions estimated" in petrochem
    cement = _row(result.output, "cement", "2015", "9,800,000")
    assert "shortfall" in cement and "300,000" in cement
    # 300,000 t x min(3 x KRW 11,000, KRW 100,000) = KRW 9,900,000,000.
    assert "300,000" in _row(result.output, "cement", "2015", "KRW 9,900,000,000")
    assert "journals verified" in result.output and "KR.compliance" in result.output
    assert (tmp_path / "kr.db.KR.key.pem").exists()
    assert _run("registry", "verify", "--db", store).exit_code == 0


def test_status_on_the_stored_session_shows_the_settled_year_and_the_open_one(store: str) -> None:
    assert _run("compliance", "session", str(FIXTURE), "--db", store).exit_code == 0
    result = _run("compliance", "status", "--db", store)
    assert result.exit_code == 0, result.output
    assert "300,000" in _row(result.output, "cement", "2015", "KRW 9,900,000,000")
    assert "emissions estimated" in _row(result.output, "petrochem", "2015")
    assert "unverified" in _row(result.output, "steel", "2016")
    assert "4 settled, 1 short; fines KRW 9,900,000,000 in all" in result.output


def test_entity_shows_its_open_period_and_what_it_may_still_surrender(store: str) -> None:
    assert _run("compliance", "session", str(FIXTURE), "--db", store).exit_code == 0
    result = _run("compliance", "entity", "steel", "--db", store)
    assert result.exit_code == 0, result.output
    assert "unverified" in _row(result.output, "2016", "2017-06-30 14:59")
    assert "all 1,685,000" in _row(result.output, "KAU", "2015", "banked")
    # The offset cap is a share of the 2016 obligation, not known before verification.
    assert "after verification" in _row(result.output, "KCU", "2015", "65,000")
    assert "compliant" in _row(result.output, "steel", "2015", "20,350,000")


def test_entity_after_the_deadline_may_surrender_nothing_more_for_that_period(store: str) -> None:
    assert _run("compliance", "session", str(FIXTURE), "--db", store).exit_code == 0
    result = _run("compliance", "entity", "cement", "--period", "2015", "--db", store)
    assert result.exit_code == 0, result.output
    assert "none" in _row(result.output, "KAU", "2015", "300,000")
    assert "KAU 2015 (KR): the surrender deadline for 2015 passed" in result.output


def test_entity_before_surrendering_sees_the_room_left_under_the_offset_cap(
    tmp_path: Path,
) -> None:
    text = FIXTURE.read_text()
    before_surrenders = tmp_path / "before.toml"
    before_surrenders.write_text(text[: text.index(SURRENDERS_HEADING)])
    store = f"sqlite:///{tmp_path / 'before.db'}"
    assert _run("compliance", "session", str(before_surrenders), "--db", store).exit_code == 0
    result = _run("compliance", "entity", "steel", "--db", store)
    assert result.exit_code == 0, result.output
    # 10% of 20,350,000 t: 2,035,000 t of the 2,100,000 t of KCU held.
    assert "2,035,000" in _row(result.output, "KCU", "2015", "2,100,000")
    assert "all 20,000,000" in _row(result.output, "KAU", "2015", "current")
    assert "20,350,000" in _row(result.output, "2015", "2016-06-30 14:59")


def test_a_step_accepted_against_its_expect_code_stores_nothing(tmp_path: Path) -> None:
    broken = _variant(
        tmp_path,
        'units = [{ unit_type = "KAU", quantity = 18_250_000 }, '
        '{ unit_type = "KCU", quantity = 2_100_000 }]',
        'units = [{ unit_type = "KAU", quantity = 18_250_000 }, '
        '{ unit_type = "KCU", quantity = 2_000_000 }]',
    )
    db = tmp_path / "broken.db"
    result = _run("compliance", "session", str(broken), "--db", f"sqlite:///{db}")
    assert result.exit_code == 1
    assert "steps[16] (surrender) did not go as written" in result.output
    assert "nothing was stored" in result.output
    assert "accepted, expected refusal 9211" in result.output
    assert not db.exists()
    assert not (tmp_path / "broken.db.KR.key.pem").exists()


def test_an_unexpected_refusal_names_the_step_and_stores_nothing(tmp_path: Path) -> None:
    broken = _variant(
        tmp_path,
        'units = [{ unit_type = "KAU", quantity = 49_000_000 }]',
        'units = [{ unit_type = "KAU", quantity = 59_000_000 }]',
    )
    db = tmp_path / "broken.db"
    result = _run("compliance", "session", str(broken), "--db", f"sqlite:///{db}")
    assert result.exit_code == 1
    assert "refused 3005" in result.output
    assert "steps[18] (surrender) did not go as written; nothing was stored" in result.output
    assert not db.exists()


def test_an_unknown_key_is_an_error_naming_the_file_and_the_key(tmp_path: Path) -> None:
    broken = _variant(tmp_path, "quantity = 2_500_000", "quantity = 2_500_000\nquantiy = 1")
    result = _run("compliance", "session", str(broken), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2
    assert str(broken) in result.output
    assert "steps[1].quantiy: unknown key" in result.output
    assert not (tmp_path / "x.db").exists()


def test_an_unknown_key_in_an_entity_is_named_too(tmp_path: Path) -> None:
    broken = _variant(tmp_path, "indirect = true ", "indirekt = true ")
    result = _run("compliance", "session", str(broken), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2
    assert "entities[0].indirekt: unknown key" in result.output


def test_steps_out_of_time_order_are_refused_before_anything_runs(tmp_path: Path) -> None:
    broken = _variant(tmp_path, "at = 2016-03-15T00:00:00Z", "at = 2016-03-01T00:00:00Z")
    result = _run("compliance", "session", str(broken), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2
    assert "steps[13].at: steps go in time order" in result.output
    assert "is before 2016-03-10T00:00:00Z (steps[10].at)" in result.output


def test_a_session_starting_after_the_regimes_first_year_settles_from_its_own_start(
    tmp_path: Path,
) -> None:
    # Korea starts in 2015; a book founded in 2016 settles 2016 on, not 2015.
    late = tmp_path / "late.toml"
    late.write_text(
        '[session]\nregime = "korea"\nstart = 2016-01-01T00:00:00Z\n'
        '[[unit_types]]\ncode = "KAU"\nkind = "allowance"\n'
        '[[steps]]\nop = "advance"\nto = 2017-07-01T00:00:00Z\n'
    )
    result = _run("compliance", "session", str(late), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 0, result.output


def test_an_unknown_regime_is_named_with_the_presets_that_exist(tmp_path: Path) -> None:
    broken = _variant(tmp_path, 'regime = "korea"', 'regime = "koria"')
    result = _run("compliance", "session", str(broken), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2
    assert "session.regime" in result.output and "korea" in result.output


def test_an_entity_on_a_missing_account_is_a_set_up_error(tmp_path: Path) -> None:
    broken = _variant(tmp_path, 'account = "power"', 'account = "powr"')
    result = _run("compliance", "session", str(broken), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2
    assert "entities[1].account: refused with check" in result.output


def test_session_refuses_to_overwrite_without_replace(store: str) -> None:
    assert _run("compliance", "session", str(FIXTURE), "--db", store).exit_code == 0
    again = _run("compliance", "session", str(FIXTURE), "--db", store)
    assert again.exit_code == 1
    assert "already exists" in again.output
    replaced = _run("compliance", "session", str(FIXTURE), "--db", store, "--replace")
    assert replaced.exit_code == 0, replaced.output


def test_status_of_a_registry_without_a_book_says_how_to_start_one(store: str) -> None:
    assert _run("registry", "session", str(REGISTRY_FIXTURE), "--db", store).exit_code == 0
    result = _run("compliance", "status", "--db", store)
    assert result.exit_code == 1
    assert "no compliance book" in result.output and "compliance session" in result.output


def test_entity_that_is_not_registered_is_refused_with_its_code(store: str) -> None:
    assert _run("compliance", "session", str(FIXTURE), "--db", store).exit_code == 0
    result = _run("compliance", "entity", "nobody", "--db", store)
    assert result.exit_code == 1
    assert "9201" in result.output


def test_status_exits_3_when_the_book_journal_was_edited(store: str, tmp_path: Path) -> None:
    assert _run("compliance", "session", str(FIXTURE), "--db", store).exit_code == 0
    connection = sqlite3.connect(tmp_path / "kr.db")
    changed = connection.execute(
        "UPDATE journal SET body = replace(body, '9800000', '9500000') "
        "WHERE stream = 'KR.compliance' AND body LIKE '%9800000%'"
    ).rowcount
    assert changed > 0
    connection.commit()
    connection.close()
    result = _run("compliance", "status", "--db", store)
    assert result.exit_code == 3
    assert "does not verify" in result.output


def test_verifier_keys_follow_the_seed_so_every_run_signs_the_same() -> None:
    session = load_compliance_session(FIXTURE)
    kfq = next(spec.verifier for spec in session.verifiers if spec.verifier.verifier_id == "kfq")
    assert kfq.verify_key.raw == verifier_key("korea-2015", "kfq").verify_key.raw
    assert verifier_key("korea-2015", "kfq").fingerprint != verifier_key("other", "kfq").fingerprint
