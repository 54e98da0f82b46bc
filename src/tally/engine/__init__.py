"""The reconciliation engine: plans, compiled to one query per day, run day by day."""
