"""dockerfile checks: one module per check."""
