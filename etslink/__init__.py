"""etslink's emulator shell: scenarios, the simulation, reports, session files and the CLI.

Rooms: `economics` (MAC curves, equilibria, efficiency), `scenario` (the file format and
its loader), `sim` (the world, the kernel, agents, the run record), `reports` (what a run
writes and shows), `sessions` (scripted registry, compliance and federation files),
`verify` (state machines over a scenario's rules) and `cli` (the `etslink` command).
"""
