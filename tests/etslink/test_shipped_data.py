"""The shipped scenarios are found by name, and a path is only ever a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from etslink.scenario import (
    SHIPPED_KINDS,
    UnknownScenarioError,
    load_scenario,
    scenario_path,
    shipped_dir,
    shipped_scenarios,
)

ROOT = Path(__file__).parents[2]


def test_a_shipped_scenario_is_found_by_its_name_with_or_without_toml() -> None:
    shipped = shipped_dir("scenarios") / "eu-switzerland.toml"
    assert scenario_path("eu-switzerland") == shipped
    assert scenario_path("eu-switzerland.toml") == shipped
    assert load_scenario(scenario_path("eu-switzerland")).name == "eu-switzerland"


def test_an_existing_file_wins_over_a_shipped_scenario_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu-switzerland.toml").write_text("[scenario]\n", encoding="utf-8")
    assert scenario_path("eu-switzerland.toml") == Path("eu-switzerland.toml")


def test_a_folder_of_reports_named_like_the_scenario_does_not_hide_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu-switzerland").mkdir()  # what `etslink run eu-switzerland` writes
    assert scenario_path("eu-switzerland") == shipped_dir("scenarios") / "eu-switzerland.toml"


def test_a_mistyped_path_is_refused_not_replaced_by_a_shipped_scenario() -> None:
    with pytest.raises(UnknownScenarioError) as caught:
        scenario_path("no-such-folder/eu-switzerland.toml")
    assert "eu-switzerland" in caught.value.message  # the shipped ones are listed


def test_an_unknown_name_lists_the_shipped_scenarios() -> None:
    with pytest.raises(UnknownScenarioError) as caught:
        scenario_path("atlantis")
    assert caught.value.path == "atlantis"
    assert ", ".join(shipped_scenarios()) in caught.value.message


def test_every_shipped_kind_is_a_folder_of_the_checkouts_fixtures() -> None:
    for kind in SHIPPED_KINDS:
        assert shipped_dir(kind).is_dir()
        assert shipped_dir(kind).resolve() == (ROOT / "fixtures" / kind).resolve()
    assert sorted(p.name for p in (ROOT / "fixtures").iterdir()) == sorted(SHIPPED_KINDS)
