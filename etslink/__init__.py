"""etslink's emulator shell: scenarios, the simulation, reports, session files and the CLI.

Rooms: `economics` (MAC curves, equilibria, efficiency), `scenario` (the file format and
its loader), `sim` (the world, the kernel, agents, the run record), `reports` (what a run
writes and shows), `sessions` (scripted registry, compliance and federation files),
`verify` (state machines over a scenario's rules) and `cli` (the `etslink` command).

A script runs a scenario with the names below:

    import etslink
    scenario = etslink.load_scenario(etslink.scenario_path("kazakhstan"))
    result = etslink.run_scenario(scenario, "out/kazakhstan")
    result.record.trades  # the frozen RunRecord the reports are written from

`scenario_path` returns a file's own path, or the scenario of that name shipped inside
the package (`etslink/fixtures/scenarios/`, `fixtures/scenarios/` in a checkout).

`import etslink` loads nothing more: each name is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.lazy_names import lazy_names

if TYPE_CHECKING:
    from etslink.scenario.loader import load_scenario
    from etslink.scenario.model import Scenario
    from etslink.scenario.shipped import scenario_path
    from etslink.sim.record import RunRecord
    from etslink.sim.run import RunResult, run_scenario

# Where each public name lives; `__getattr__` imports its module when it is first asked for.
_HOMES: dict[str, str] = {
    "RunRecord": "etslink.sim.record",
    "RunResult": "etslink.sim.run",
    "Scenario": "etslink.scenario.model",
    "load_scenario": "etslink.scenario.loader",
    "scenario_path": "etslink.scenario.shipped",
    "run_scenario": "etslink.sim.run",
}

__all__ = [
    "RunRecord",
    "RunResult",
    "Scenario",
    "load_scenario",
    "run_scenario",
    "scenario_path",
]

__getattr__, __dir__ = lazy_names(globals(), _HOMES)
