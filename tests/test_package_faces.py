"""Package faces stay light (DESIGN.md), every name they export resolves, and the CLI
lists its commands without importing them."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from types import ModuleType

import click
import pytest

from etslink.cli import COMMANDS, cli

FACES = ["compliance", "etslink", "etslink.scenario", "exchange", "gateway", "registry"]

# What loads the store, the gateway, the simulation or a heavy third-party package.
HEAVY = (
    "sqlalchemy",
    "matplotlib",
    "hypothesis",
    "holidays",
    "cryptography",
    "gateway",
    "registry.store",
    "registry.registry",
    "registry.ledger",
    "registry.journal",
    "compliance.",
    "exchange.market",
    "exchange.engine",
    "etslink.sim",
    "etslink.scenario.",
    "etslink.cli.",
)


def _loaded_by(code: str) -> list[str]:
    """Return the modules a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(shown.splitlines()[-1])


def _heavy(modules: list[str], face: str = "") -> list[str]:
    """Return the heavy modules among `modules`; `face` itself is not one of them."""
    return [name for name in modules if name != face and name.startswith(HEAVY)]


@pytest.mark.parametrize("face", FACES)
def test_importing_a_package_face_loads_none_of_its_heavy_modules(face: str) -> None:
    loaded = _loaded_by(f"import {face}")
    assert _heavy(loaded, face) == []


def test_importing_the_order_book_loads_no_store_gateway_or_sqlalchemy() -> None:
    loaded = _loaded_by("import exchange.book")
    ours = [m for m in loaded if m.split(".")[0] in ("registry", "gateway", "compliance")]
    assert ours == ["registry", "registry.lazy_names"]  # the registry face: the lazy helper
    assert [m for m in loaded if m.startswith("exchange.")] == ["exchange.book", "exchange.errors"]
    assert _heavy(loaded) == []


def test_importing_the_cli_loads_no_command_module_nor_heavy_package() -> None:
    loaded = _loaded_by("import etslink.cli")
    assert _heavy(loaded) == []
    assert "rich" not in loaded


def test_the_jurisdictions_command_loads_no_store_and_no_keys() -> None:
    """`etslink jurisdictions` reads presets only: the shared CLI support must not load
    SQLAlchemy or cryptography before a command opens a store (cli_bench's 0.6 s)."""
    loaded = _loaded_by("import etslink.cli.jurisdiction")
    assert [m for m in loaded if m.startswith(("sqlalchemy", "cryptography"))] == []


def test_the_cli_help_lists_every_command_without_importing_one() -> None:
    code = (
        "import sys\n"
        "from etslink.cli import cli\n"
        "sys.argv = ['etslink', '--help']\n"
        "cli.main(standalone_mode=False)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    ).stdout
    *help_lines, modules_line = shown.splitlines()
    assert _heavy(json.loads(modules_line)) == []
    for name, (_, _, line) in COMMANDS.items():
        assert any(text.split() == [name, *line.split()] for text in help_lines), name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_command_resolves_to_the_click_command_of_that_name(name: str) -> None:
    with click.Context(cli) as context:
        command = cli.get_command(context, name)
    module, attribute, line = COMMANDS[name]
    assert command is getattr(importlib.import_module(module), attribute)
    assert command.name == name
    assert len(name) + len(line) <= 72, "the help line fits an 80-column terminal"


def test_the_cli_lists_the_table_and_knows_no_other_command() -> None:
    with click.Context(cli) as context:
        assert cli.list_commands(context) == sorted(COMMANDS)
        assert cli.get_command(context, "no-such-command") is None


@pytest.mark.parametrize("face", FACES)
def test_every_exported_name_resolves_from_its_home_module(face: str) -> None:
    package: ModuleType = importlib.import_module(face)
    exported = package.__all__
    homes = package._HOMES
    assert sorted(exported) == sorted(homes)
    for name in exported:
        value = getattr(package, name)
        assert getattr(sys.modules[homes[name]], name) is value
    assert set(exported) <= set(dir(package))
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018
