"""`etslink verify`: Hypothesis state machines over a scenario's rules, and the rule oracles they check."""
