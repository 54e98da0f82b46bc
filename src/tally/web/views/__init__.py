"""Back-office views, one module per area. Views read models and call services; no business logic."""
