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
    """Run the CLI, turning known failures into a message and an exit code."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)


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
