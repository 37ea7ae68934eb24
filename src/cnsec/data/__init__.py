"""Data security: keys, envelope encryption, file and per-value encryption, secret scanning."""
