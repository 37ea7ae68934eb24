"""k8s checks: one module per check."""
