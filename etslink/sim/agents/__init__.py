"""The agents of a run: covered firms, dealers, zero-intelligence traders and governments."""
