"""Plans, runs and the breaks they find, with their workflow (Django app)."""
