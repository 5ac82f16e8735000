"""What a run shows: summary.json and CSVs, the equilibrium beside the run, charts, comparisons."""
