"""`etslink verify`: Hypothesis state machines over a scenario's rules, and their rule oracles."""
