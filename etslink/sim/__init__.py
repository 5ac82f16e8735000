"""The simulation: the world a scenario builds, the kernel that runs it, its agents, the run record."""
