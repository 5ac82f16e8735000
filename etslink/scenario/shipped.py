"""The files that ship inside the etslink package: presets, sessions, links and scenarios.

They live in `etslink/fixtures/`, except the jurisdiction presets, which are the
`compliance` package's (`compliance/jurisdictions/`); a checkout reaches every kind as
`fixtures/<kind>/`. They are found with `importlib.resources`, so an installed etslink
runs them without the source tree: `scenario_path("eu-switzerland")` is the shipped
EU–Switzerland scenario.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from registry.config_reader import ConfigError

# The folders of `etslink/fixtures/`, one per kind of file.
SHIPPED_KINDS = ("compliance", "federations", "jurisdictions", "links", "registries", "scenarios")
SCENARIOS_MAX = 200  # scenario files the shipped folder may hold

_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,63}")


class UnknownScenarioError(ConfigError):
    """Neither a file nor a shipped scenario has the name asked for; the message lists
    the shipped ones."""


def shipped_dir(kind: str) -> Path:
    """Return the folder of the shipped files of `kind` (one of `SHIPPED_KINDS`)."""
    assert kind in SHIPPED_KINDS, f"no shipped kind {kind!r}; kinds: {SHIPPED_KINDS}"
    # pip installs a wheel as plain files, so the package data is a real folder. The
    # presets are the compliance package's data, and compliance says where they are.
    if kind == "jurisdictions":
        from compliance.presets import PRESETS_DIR

        return PRESETS_DIR
    return Path(str(files("etslink") / "fixtures" / kind))


def shipped_scenarios() -> list[str]:
    """Return the names of the shipped scenarios ("eu-switzerland", ...), sorted."""
    names = sorted(path.stem for path in shipped_dir("scenarios").glob("*.toml"))
    assert len(names) <= SCENARIOS_MAX, f"{len(names)} shipped scenarios, at most {SCENARIOS_MAX}"
    return names


def scenario_path(text: str | Path) -> Path:
    """Return the scenario file `text` names: that file when it exists, else the shipped
    scenario of that name ("eu-switzerland" or "eu-switzerland.toml").

    A name with a folder in it is only ever a path: a mistyped path is refused, never
    quietly replaced by a shipped scenario of the same file name.
    """
    path = Path(text)
    try:
        if path.is_file():
            return path
    except OSError:  # a name longer than the file system allows, say: no such file
        pass
    name = path.name.removesuffix(".toml")
    if path.parent == Path(".") and _NAME_RE.fullmatch(name):
        shipped = shipped_dir("scenarios") / f"{name}.toml"
        if shipped.is_file():
            return shipped
    known = ", ".join(shipped_scenarios()) or "none"
    raise UnknownScenarioError(
        path, "(file)", f"no such file, nor a shipped scenario of that name; shipped: {known}"
    )
