"""Assessment checks, discovered by walking this package (see base.py)."""
