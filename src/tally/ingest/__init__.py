"""Sources and bills: what Tally reads, and every file it has received (Django app)."""
