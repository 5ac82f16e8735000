"""The `etslink` command line.

`etslink registry session FILE` runs a scripted registry session on the
embedded SQLite default; `etslink registry …` works on the registry it
left (or any `--db` URL); `etslink jurisdictions` lists the presets;
`etslink compliance …` runs and inspects compliance sessions; `etslink link …`
joins registries through a linking gateway; `etslink assess-link A B`
assesses two presets for a link; `etslink run SCENARIO` runs a scenario
and writes its reports; `etslink compare A B` runs two side by side (a
linked scenario and its unlinked twin); `etslink verify SCENARIO` checks
its rules with Hypothesis state machines. A refused command prints its
check code and message and exits 1; a mistake in a file or an option (a
`--at` in the past) prints one line and exits 2; a store that does not verify
exits 3.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console


def main() -> None:
    """Run the CLI: every failure a person can cause ends in one line and an exit code.

    Click's own usage errors exit 2; a negative number where an option was
    expected (`transfer … KAU -100`) is named as such; an error nobody foresaw
    prints one line naming it (the traceback only with ETSLINK_DEBUG=1) and exits 4.
    """
    try:
        outcome = cli.main(standalone_mode=False)
    except click.NoSuchOption as error:
        if _NEGATIVE.fullmatch(error.option_name):
            token = next(
                (arg for arg in sys.argv[1:] if arg.startswith(error.option_name)),
                error.option_name,
            )
            error.message = (
                f"{token} is a negative number: quantities, prices, years and "
                "counts on the command line are positive"
            )
        _show(error)
    except click.ClickException as error:
        _show(error)
    except click.Abort:
        _errors().print("aborted")
        sys.exit(1)
    except (KeyboardInterrupt, EOFError):
        _errors().print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)  # the reader (e.g. `head`) stopped reading: not an error
    except Exception as error:
        if os.environ.get("ETSLINK_DEBUG"):
            raise
        _errors().print(
            f"error: unexpected {type(error).__name__}: {error} (a bug in etslink: please "
            "report it; ETSLINK_DEBUG=1 shows the traceback)",
            markup=False,
            highlight=False,
        )
        sys.exit(EXIT_BUG)
    sys.exit(outcome if isinstance(outcome, int) else 0)


_NEGATIVE = re.compile(r"-[0-9][0-9_,.]*")
EXIT_BUG = 4


def _show(error: click.ClickException) -> None:
    """Print a usage mistake as one line naming the command's help, and exit with its code."""
    message = error.format_message()
    context = getattr(error, "ctx", None)
    if context is not None:
        message += f" (see '{context.command_path} --help')"
    click.echo(f"error: {message}", err=True)
    sys.exit(error.exit_code)


def _errors() -> Console:
    """Return the stderr console: imported only when a failure is shown, because
    `etslink.cli.support` loads the registry store (and with it SQLAlchemy)."""
    from etslink.cli.support import errors

    return errors


# Each command's module, the name of its click command there, and the line `etslink
# --help` shows for it. The help lists the commands without importing their modules
# (some load SQLAlchemy, Hypothesis or matplotlib); a command's module is imported when
# that command runs or shows its own help.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "assess-link": (
        "etslink.cli.assess",
        "assess_link_command",
        "Assess a link between two jurisdiction presets.",
    ),
    "compare": (
        "etslink.cli.compare",
        "compare_command",
        "Run two scenarios (a linked one and its twin) side by side.",
    ),
    "compliance": (
        "etslink.cli.compliance",
        "compliance",
        "Run a compliance cycle: MRV, surrender, deadlines, penalties.",
    ),
    "jurisdictions": (
        "etslink.cli.jurisdiction",
        "jurisdictions",
        "List the jurisdiction presets and their key rules.",
    ),
    "link": (
        "etslink.cli.link",
        "link",
        "Join registries through a linking gateway; reconcile them.",
    ),
    "registry": (
        "etslink.cli.registry",
        "registry",
        "Work with one registry: units, accounts, its journal.",
    ),
    "run": (
        "etslink.cli.run",
        "run_command",
        "Run a scenario day by day; write its reports and charts.",
    ),
    "verify": (
        "etslink.cli.verify",
        "verify_command",
        "Check a scenario's rules with Hypothesis state machines.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands, listed in `COMMANDS`, are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), f"{module}.{attribute} is not a command"
        assert command.name == cmd_name, f"{module}.{attribute} is named {command.name!r}"
        self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command with its line from `COMMANDS`, importing none of them."""
        rows = []
        for name in self.list_commands(ctx):
            if name in COMMANDS:
                rows.append((name, COMMANDS[name][2]))
            else:  # added with `add_command`: already imported
                limit = formatter.width - 6 - len(name)
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="etslink")
def cli() -> None:
    """etslink: a multi-registry allowance-trading emulator."""
