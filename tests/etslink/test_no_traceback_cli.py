"""Every command, fed the mistakes a careless person makes, answers without a traceback.

The commands are found by walking the CLI, so a new command is covered the day
it is added. Each gets: no arguments; each positional argument set to values of
the wrong kind (a missing file, a folder, an empty file, a binary file, a TOML
file with a syntax error, a jurisdiction preset where a scenario belongs,
negative and huge numbers, unknown ids); store URLs that name an unsupported
database, a server that does not answer or a file that does not exist; `--at`,
`--seed` and numeric options with text, negative and out-of-range values. A
bad input may be refused (exit 1), a usage error (exit 2) or an integrity error
(exit 3); it must never end in an exception the CLI did not turn into a message.
A few run through the installed `etslink` script to check that what a person
sees is one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from etslink.cli import cli
from etslink.cli.support import MomentType

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "fixtures"
KOREA_SESSION = FIXTURES / "registries" / "korea-phase1.toml"
PRESET = FIXTURES / "jurisdictions" / "korea.toml"

UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:9/etslink_nowhere"
BAD_STORES = ("mysql://user@localhost/etslink", UNREACHABLE_PG, "sqlite:///no-such-store.db", "x")
BAD_TEXT = ("nosuch", "-5", "", "KR-100-1000000-0-00", "\u200b", "x" * 5_000)
BAD_INTEGERS = ("-5", "0", "abc", "1.5", "9" * 40)
BAD_MOMENTS = ("yesterday", "2024-13-45", "1990-01-01", "2024-03-05T10:00:00+25:00")


def _leaf_commands() -> Iterator[tuple[tuple[str, ...], click.Command]]:
    def walk(
        command: click.Command, path: tuple[str, ...]
    ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
        if isinstance(command, click.Group):
            if command.invoke_without_command and path:
                yield path, command
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, f"{' '.join((*path, name))} is listed but not found"
                yield from walk(sub, (*path, name))
        else:
            yield path, command

    yield from walk(cli, ())


COMMANDS = list(_leaf_commands())


def _bad_files(folder: Path) -> dict[str, Path]:
    files = {
        "missing": folder / "missing.toml",
        "folder": folder / "a-folder",
        "empty": folder / "empty.toml",
        "binary": folder / "binary.toml",
        "broken": folder / "broken.toml",
        "preset": PRESET,
    }
    files["folder"].mkdir(exist_ok=True)
    files["empty"].write_text("")
    files["binary"].write_bytes(bytes(range(256)) * 4)
    files["broken"].write_text('name = "x"\n\n[registry\ncap_t = 5\n')
    return files


def _positional_values(command: click.Command, variant: int, files: dict[str, Path]) -> list[str]:
    """Return a value of the wrong kind for every positional argument (variant picks which)."""
    values: list[str] = []
    file_values = list(files.values())
    for param in command.params:
        if not isinstance(param, click.Argument):
            continue
        nargs = 1 if param.nargs in (1, -1) else param.nargs
        for _ in range(nargs):
            if isinstance(param.type, click.Path | click.File):
                values.append(str(file_values[variant % len(file_values)]))
            elif isinstance(param.type, click.types._NumberParamTypeBase):
                values.append(BAD_INTEGERS[variant % len(BAD_INTEGERS)])
            else:
                values.append(BAD_TEXT[variant % len(BAD_TEXT)])
    return values


def _option_names(command: click.Command) -> dict[str, click.Option]:
    return {
        param.name: param
        for param in command.params
        if isinstance(param, click.Option) and param.name is not None
    }


def _required_options(options: dict[str, click.Option]) -> list[str]:
    """Return plausible values for the options a command requires, so that the bad
    positional values reach the code behind the usage check."""
    values: list[str] = []
    for option in options.values():
        if not option.required:
            continue
        if isinstance(option.type, click.Choice):
            value = str(option.type.choices[0])
        elif isinstance(option.type, click.types._NumberParamTypeBase):
            value = "2016"
        elif isinstance(option.type, MomentType):
            value = "2030-01-01"
        else:
            value = "nosuch"
        values.extend([option.opts[0], value])
    return values


def _argument_vectors(
    command: click.Command, files: dict[str, Path], store: str
) -> list[list[str]]:
    options = _option_names(command)
    with_store = ["--db", store] if "db" in options else []
    with_store += _required_options(options)
    vectors: list[list[str]] = [[]]
    variants = max(len(files), len(BAD_TEXT), len(BAD_INTEGERS))
    for variant in range(variants):
        vectors.append([*_positional_values(command, variant, files), *with_store])
    sample = _positional_values(command, 0, files)
    if "db" in options:
        vectors.extend([*sample, "--db", bad] for bad in BAD_STORES)
    if "at" in options:
        vectors.extend([*sample, *with_store, "--at", bad] for bad in BAD_MOMENTS)
    for name, option in options.items():
        if name == "at" or option.is_flag:
            continue
        flag = option.opts[0]
        if isinstance(option.type, click.types._NumberParamTypeBase) or name == "seed":
            vectors.extend([*sample, *with_store, flag, bad] for bad in BAD_INTEGERS)
        elif not isinstance(option.type, click.Path | click.Choice) and name != "db":
            vectors.append([*sample, *with_store, flag, BAD_TEXT[0]])
    return vectors


@pytest.fixture(scope="module")
def korea_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("korea")
    url = f"sqlite:///{folder / 'kr.db'}"
    made = CliRunner().invoke(cli, ["registry", "session", str(KOREA_SESSION), "--db", url])
    assert made.exit_code == 0, made.output
    return url


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_every_bad_input_is_a_message_and_an_exit_code_never_a_traceback(
    path: tuple[str, ...], command: click.Command, korea_store: str, tmp_path: Path
) -> None:
    files = _bad_files(tmp_path)
    runner = CliRunner()
    previous = Path.cwd()
    os.chdir(tmp_path)  # relative stores a federation file names are looked for here
    try:
        for vector in _argument_vectors(command, files, korea_store):
            args = [*path, *vector]
            result = runner.invoke(cli, args, catch_exceptions=True)
            crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
            assert not crashed, (
                f"`etslink {' '.join(args)}` raised {type(result.exception).__name__}: "
                f"{result.exception}\n{result.output}"
            )
            assert "Traceback" not in result.output, args
    finally:
        os.chdir(previous)


def test_the_walk_finds_every_command_group() -> None:
    """If the walk found nothing, every test above would pass without trying anything."""
    names = {path[0] for path, _ in COMMANDS}
    assert {"registry", "link", "compliance", "run", "compare", "verify"} <= names
    assert len(COMMANDS) >= 40


# ---------------------------------------------------------------- through the script


SCRIPT_CASES = [
    (["registry", "holdings", "--db", "mysql://user@localhost/etslink"], "unsupported store URL"),
    (["registry", "holdings", "--db", UNREACHABLE_PG], "cannot open the store"),
    (["registry", "transfer", "a", "b", "KAU", "-100"], "-100 is a negative number"),
    (["run", str(FIXTURES / "scenarios" / "eu-switzerland.toml"), "--seed", "abc"], "whole number"),
    (["run", str(PRESET)], "preset"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args, says", SCRIPT_CASES, ids=[" ".join(a[:2]) for a, _ in SCRIPT_CASES])
def test_the_script_answers_a_mistake_in_one_line_and_a_non_zero_exit(
    args: list[str], says: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from etslink.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "COLUMNS": "80", "ETSLINK_DEBUG": ""},
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert says in done.stderr, done.stderr
    message = [line for line in done.stderr.splitlines() if line.lower().startswith("error")]
    assert len(message) == 1, done.stderr
