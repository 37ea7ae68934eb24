"""terraform checks: one module per check."""
