"""What a run shows: summary.json and the CSVs, the equilibrium beside the run, charts, comparisons."""
