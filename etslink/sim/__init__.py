"""The simulation: the world a scenario builds, the kernel that runs it, agents, the run record."""
