"""Use cases: import a bill, run a plan, apply declarations. Web, CLI and worker all call these."""
