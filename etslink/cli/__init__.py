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

import os
import re
import sys

import click

from etslink.cli.assess import assess_link_command
from etslink.cli.compare import compare_command
from etslink.cli.compliance import compliance
from etslink.cli.jurisdiction import jurisdictions
from etslink.cli.link import link
from etslink.cli.registry import registry
from etslink.cli.run import run_command
from etslink.cli.support import errors
from etslink.cli.verify import verify_command


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
        error.show()
        sys.exit(error.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.Abort:
        errors.print("aborted")
        sys.exit(1)
    except (KeyboardInterrupt, EOFError):
        errors.print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)  # the reader (e.g. `head`) stopped reading: not an error
    except Exception as error:
        if os.environ.get("ETSLINK_DEBUG"):
            raise
        errors.print(
            f"error: unexpected {type(error).__name__}: {error} (a bug in etslink: please "
            "report it; ETSLINK_DEBUG=1 shows the traceback)",
            markup=False,
            highlight=False,
        )
        sys.exit(EXIT_BUG)
    sys.exit(outcome if isinstance(outcome, int) else 0)


_NEGATIVE = re.compile(r"-[0-9][0-9_,.]*")
EXIT_BUG = 4


@click.group()
@click.version_option(package_name="etslink")
def cli() -> None:
    """etslink: a multi-registry allowance-trading emulator."""


cli.add_command(registry)
cli.add_command(jurisdictions)
cli.add_command(compliance)
cli.add_command(link)
cli.add_command(assess_link_command)
cli.add_command(run_command)
cli.add_command(compare_command)
cli.add_command(verify_command)
